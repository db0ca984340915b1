"""RunTask's role check: ECS (the service principal ecs-tasks.amazonaws.com) must be able to assume both
the task execution role and the task role, or RunTask fails before a task exists."""

from __future__ import annotations

from ..iam import evaluate
from ..iam.model import AuthzRequest, PolicySet, Principal, PrincipalType
from ..policy_source import PolicySource

ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com"


def unable_to_assume_message(role_arn: str) -> str:
    return (
        f"ECS was unable to assume the role '{role_arn}' that was provided for this task. Please verify that the "
        "role being passed has the proper trust relationship and permissions and that your IAM user has "
        "permissions to pass this role."
    )


def ecs_can_assume(policies: PolicySource, role_arn: str, account: str, cluster_arn: str) -> bool:
    """Whether the role exists and its trust policy lets ecs-tasks.amazonaws.com assume it (with the
    aws:SourceAccount / aws:SourceArn keys ECS sends, so confused-deputy conditions work). The trust
    policy is the role's resource policy in ``policies``, cached there until a write changes it."""
    role = policies.resource_info(role_arn)
    if not role.exists:
        return False
    service = Principal(
        arn=ECS_TASKS_SERVICE, account="", type=PrincipalType.SERVICE, service=ECS_TASKS_SERVICE
    )
    request = AuthzRequest(
        service,
        "sts:AssumeRole",
        role_arn,
        context={"aws:SourceAccount": account, "aws:SourceArn": cluster_arn},
    )
    return evaluate(request, PolicySet(resource=role.policy)).allowed
