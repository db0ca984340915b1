"""From the gateway's decisions to one least-privilege policy per role."""

from __future__ import annotations

from datetime import UTC, datetime

from simulator.gateway.authorizer import DecisionRecord
from simulator.iam.model import Decision, PolicyKind
from simulator.used_permissions import UsedPermission, least_privilege_policies, used_permissions

EXEC = "arn:aws:iam::111122223333:role/exec"
APP = "arn:aws:iam::111122223333:role/app"
TASK_ID = "0123456789abcdef0123456789abcdef"
KEY = "arn:aws:kms:us-east-1:111122223333:key/k1"
STREAM = f"arn:aws:logs:us-east-1:111122223333:log-group:/ecs/app:log-stream:app/app/{TASK_ID}"


def record(action: str, resource: str, *, allowed: bool = True, via: str | None = None) -> DecisionRecord:
    decision = (
        Decision("Allow", None, (), "") if allowed else Decision("ImplicitDeny", PolicyKind.IDENTITY, (), "")
    )
    context = {"kms:ViaService": f"{via}.us-east-1.amazonaws.com"} if via else {}
    return DecisionRecord(
        "label", "arn:aws:sts::111122223333:assumed-role/x/y", action.split(":")[0], "Op", action, resource,
        decision, None, None, datetime.now(UTC), via=via, context=context,
    )  # fmt: skip


def test_each_use_once_denied_if_ever_denied_and_the_task_id_generalized() -> None:
    uses = used_permissions(
        [
            (
                record("ssm:GetParameters", "arn:aws:ssm:us-east-1:111122223333:parameter/a"),
                "execution",
                EXEC,
            ),
            (
                record("ssm:GetParameters", "arn:aws:ssm:us-east-1:111122223333:parameter/a"),
                "execution",
                EXEC,
            ),
            (record("kms:Decrypt", KEY, via="ssm"), "execution", EXEC),
            (record("logs:CreateLogStream", STREAM), "execution", EXEC),
            (record("s3:GetObject", "arn:aws:s3:::b/k"), "runtime", APP),
            (record("s3:GetObject", "arn:aws:s3:::b/k", allowed=False), "runtime", APP),
        ],
        TASK_ID,
    )
    assert [(u.action, u.resource, u.allowed) for u in uses] == [
        ("kms:Decrypt", KEY, True),
        ("logs:CreateLogStream", STREAM.replace(TASK_ID, "*"), True),
        ("ssm:GetParameters", "arn:aws:ssm:us-east-1:111122223333:parameter/a", True),
        ("s3:GetObject", "arn:aws:s3:::b/k", False),
    ]
    assert uses[0].via_service == "ssm.us-east-1.amazonaws.com"
    assert uses[0].to_json()["viaService"] == "ssm.us-east-1.amazonaws.com"
    assert "viaService" not in uses[1].to_json()


def test_one_policy_per_role_actions_sharing_resources_share_a_statement() -> None:
    def use(action: str, resource: str, via: str | None = None) -> UsedPermission:
        return UsedPermission("execution", EXEC, action, resource, via, True)

    policies = least_privilege_policies(
        [
            use("logs:CreateLogStream", "arn:stream/*"),
            use("logs:PutLogEvents", "arn:stream/*"),
            use("ecr:GetAuthorizationToken", "*"),
            use("kms:Decrypt", KEY, "secretsmanager.us-east-1.amazonaws.com"),
            use("kms:Decrypt", KEY),
            use("ecr:BatchGetImage", "arn:repo/a"),
            use("ecr:BatchGetImage", "arn:repo/b"),
            UsedPermission("runtime", APP, "sqs:SendMessage", "*", None, False),
            UsedPermission("runtime", APP, "sqs:SendMessage", "arn:queue", None, False),
        ]
    )
    assert list(policies) == [APP, EXEC]
    assert policies[APP]["Statement"] == [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]
    assert policies[EXEC]["Statement"] == [
        {"Effect": "Allow", "Action": "ecr:BatchGetImage", "Resource": ["arn:repo/a", "arn:repo/b"]},
        {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY},
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "arn:stream/*",
        },
        {
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": KEY,
            "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}},
        },
    ]
