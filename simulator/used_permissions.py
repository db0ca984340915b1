"""What each role of a task was asked for, and the least-privilege policy that allows exactly that.

Every authorization the gateway made for a task's sessions (allowed or denied, the KMS calls services
make on the caller's behalf included) becomes one ``UsedPermission``; ``least_privilege_policies`` turns
them into one identity policy per role: the actions on the resources the task touched, a KMS use made
through a service limited to that service (``kms:ViaService``), as IAM Access Analyzer's policy
generation does from CloudTrail.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .gateway.authorizer import DecisionRecord

_VIA_SERVICE_KEY = "kms:ViaService"


@dataclass(frozen=True, order=True)
class UsedPermission:
    """One action on one resource that a role of the task needed, and whether it had it."""

    phase: str
    role_arn: str
    action: str
    resource: str
    via_service: str | None  # kms:ViaService of a KMS use a service made for the caller
    allowed: bool

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "phase": self.phase,
            "roleArn": self.role_arn,
            "action": self.action,
            "resource": self.resource,
            "allowed": self.allowed,
        }
        if self.via_service:
            document["viaService"] = self.via_service
        return document


def used_permissions(
    records: Iterable[tuple[DecisionRecord, str, str]], task_id: str | None = None
) -> list[UsedPermission]:
    """``records``: (decision, phase, role ARN) triples; each distinct use once, sorted. A use that was
    both allowed and denied (a resource policy, a condition) counts as denied. A resource named after
    ``task_id`` (the awslogs stream, the task's own ARN) is any task's: the id becomes ``*``."""
    seen: dict[tuple[str, str, str, str, str | None], bool] = {}
    for record, phase, role_arn in records:
        via = record.context.get(_VIA_SERVICE_KEY) if record.via else None
        resource = record.resource.replace(task_id, "*") if task_id else record.resource
        key = (phase, role_arn, record.action, resource, str(via) if via else None)
        seen[key] = seen.get(key, True) and record.decision.allowed
    return sorted(UsedPermission(*key, allowed=allowed) for key, allowed in seen.items())


def least_privilege_policies(permissions: Iterable[UsedPermission]) -> dict[str, dict[str, Any]]:
    """Role ARN -> the identity policy allowing exactly the uses listed. Actions needing the same
    resources share a statement."""
    by_role: dict[str, dict[str | None, dict[str, set[str]]]] = defaultdict(lambda: defaultdict(dict))
    for use in permissions:
        by_role[use.role_arn][use.via_service].setdefault(use.action, set()).add(use.resource)
    for uses in by_role.values():
        for actions in uses.values():
            for action, resources in actions.items():
                if "*" in resources:  # an action that takes no resource ARN covers every resource
                    actions[action] = {"*"}
    return {role: _policy(uses) for role, uses in sorted(by_role.items())}


def _policy(uses: Mapping[str | None, Mapping[str, set[str]]]) -> dict[str, Any]:
    statements = []
    for via, actions in sorted(uses.items(), key=lambda item: item[0] or ""):
        by_resources: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for action, resources in actions.items():
            by_resources[tuple(sorted(resources))].append(action)
        for resources, grouped in sorted(by_resources.items(), key=lambda item: sorted(item[1])):
            statement: dict[str, Any] = {
                "Effect": "Allow",
                "Action": _one_or_list(sorted(grouped)),
                "Resource": _one_or_list(list(resources)),
            }
            if via:
                statement["Condition"] = {"StringEquals": {_VIA_SERVICE_KEY: via}}
            statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def _one_or_list(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else values
