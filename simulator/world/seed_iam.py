"""Seed a world's IAM: customer managed policies, roles and users, created or brought in line.

An existing role (or user) ends up exactly as the world declares it: trust policy, description,
permissions boundary and tags replaced, inline policies put and those the world no longer names
deleted, attached managed policies made to match. An existing customer managed policy gets the world's
document as a new default version when it differs (IAM keeps five versions: the oldest other one goes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, Literal

from .converge import mismatch, or_none, policy_json, same_document, sync_tags, tag_dict, tag_list
from .model import ManagedPolicy, Role, User, World
from .paths import join_path

Step = Callable[[str], AbstractContextManager[None]]
_MAX_POLICY_VERSIONS = 5


def seed_iam(iam: Any, world: World, step: Step) -> None:
    for name, policy in world.policies.items():  # first: roles and users attach them
        path = join_path("policies", name)
        with step(path):
            _managed_policy(iam, world, name, policy, f"{world.source}: {path}")
    entities: list[tuple[Literal["role", "user"], str, Role | User]] = [
        *(("role", name, role) for name, role in world.roles.items()),
        *(("user", name, user) for name, user in world.users.items()),
    ]
    for kind, name, entity in entities:
        path = join_path(f"{kind}s", name)
        with step(path):
            _Entity(iam, kind, name, entity, f"{world.source}: {path}").seed()


def _managed_policy(iam: Any, world: World, name: str, policy: ManagedPolicy, where: str) -> None:
    args = {"Description": policy.description} if policy.description else {}
    document = policy_json(policy.document)
    if or_none(
        lambda: iam.create_policy(PolicyName=name, Path=policy.path, PolicyDocument=document, **args),
        "EntityAlreadyExists",
    ):
        return
    arn = world.policy_arn(name)
    try:
        current = iam.get_policy(PolicyArn=arn)["Policy"]
    except iam.exceptions.NoSuchEntityException:  # the name is taken under another path
        raise mismatch(
            where, f"customer managed policy {name!r}", "another path", f"path {policy.path}"
        ) from None
    default = iam.get_policy_version(PolicyArn=arn, VersionId=current["DefaultVersionId"])["PolicyVersion"]
    if same_document(default["Document"], policy.document):
        return
    versions = [
        v
        for page in iam.get_paginator("list_policy_versions").paginate(PolicyArn=arn)
        for v in page["Versions"]
    ]
    if len(versions) >= _MAX_POLICY_VERSIONS:
        oldest = min((v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"])
        iam.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=document, SetAsDefault=True)


class _Entity:
    """A role or a user: the same IAM calls with ``Role``/``User`` in their names."""

    def __init__(
        self, iam: Any, kind: Literal["role", "user"], name: str, spec: Role | User, where: str
    ) -> None:
        self.iam = iam
        self.kind = kind
        self.noun = "Role" if kind == "role" else "User"
        self.name = name
        self.spec = spec
        self.where = where
        self.ident = {f"{self.noun}Name": name}

    def call(self, verb: str, **args: Any) -> Any:
        """The IAM call ``verb`` with ``*`` the kind: ``call("put_*_policy", ...)`` is ``put_role_policy``."""
        return getattr(self.iam, verb.replace("*", self.kind))(**self.ident, **args)

    def pages(self, operation: str, key: str) -> Iterator[Any]:
        paginator = self.iam.get_paginator(operation.replace("*", self.kind))
        for page in paginator.paginate(**self.ident):
            yield from page[key]

    def seed(self) -> None:
        spec = self.spec
        args: dict[str, Any] = {"Path": spec.path, "Tags": tag_list(spec.tags)}
        if spec.boundary:
            args["PermissionsBoundary"] = spec.boundary
        if isinstance(spec, Role):
            args["AssumeRolePolicyDocument"] = policy_json(spec.trust)
            if spec.description:
                args["Description"] = spec.description
        existed = or_none(lambda: self.call("create_*", **args), "EntityAlreadyExists") is None
        if existed:
            self.update()
        for policy_name, document in spec.inline.items():
            self.call("put_*_policy", PolicyName=policy_name, PolicyDocument=policy_json(document))
        attached = (
            {p["PolicyArn"] for p in self.pages("list_attached_*_policies", "AttachedPolicies")}
            if existed
            else set()
        )
        for arn in spec.managed:
            if arn not in attached:
                self.call("attach_*_policy", PolicyArn=arn)
        if existed:  # what an earlier world gave it and this one does not
            for policy_name in [
                n for n in self.pages("list_*_policies", "PolicyNames") if n not in spec.inline
            ]:
                self.call("delete_*_policy", PolicyName=policy_name)
            for arn in attached - set(spec.managed):
                self.call("detach_*_policy", PolicyArn=arn)

    def update(self) -> None:
        """Trust, description, boundary and tags of the existing entity; its path cannot change."""
        spec = self.spec
        current = self.call("get_*")[self.noun]
        if current["Path"] != spec.path:
            raise mismatch(
                self.where, f"{self.kind} {self.name!r}", f"path {current['Path']}", f"path {spec.path}"
            )
        if isinstance(spec, Role):
            self.iam.update_assume_role_policy(RoleName=self.name, PolicyDocument=policy_json(spec.trust))
            if current.get("Description", "") != spec.description:
                self.iam.update_role(RoleName=self.name, Description=spec.description)
        boundary = current.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
        if spec.boundary and boundary != spec.boundary:
            self.call("put_*_permissions_boundary", PermissionsBoundary=spec.boundary)
        elif boundary and not spec.boundary:
            self.call("delete_*_permissions_boundary")
        sync_tags(
            tag_dict(list(self.pages("list_*_tags", "Tags"))),
            spec.tags,
            lambda tags: self.call("tag_*", Tags=tag_list(tags)),
            lambda keys: self.call("untag_*", TagKeys=keys),
        )
