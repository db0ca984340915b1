"""Read a world file (YAML or JSON) into a ``World``, rejecting anything AWS or the format would reject.

Every error names the file and the place inside it: ``world.yaml: roles.app-role.inline.read: ...``.
Every policy document is checked with the IAM policy parser, as IAM would on ``PutRolePolicy`` etc.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from ..aws_session import model_session
from ..errors import InputError
from ..iam.model import PolicyKind
from ..iam.policy import MalformedPolicyDocument, parse_policy
from .aws_managed import aws_managed_arn, aws_managed_names, is_aws_managed_arn
from .model import (
    DynamoTable,
    EcrRepository,
    KmsKey,
    LogGroup,
    ManagedPolicy,
    PolicyDocument,
    Role,
    S3Bucket,
    Scp,
    Secret,
    SnsTopic,
    SqsQueue,
    SsmParameter,
    User,
    World,
)
from .paths import join_path

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
TOP_LEVEL_KEYS = (
    "account",
    "region",
    "description",
    "roles",
    "users",
    "policies",
    "scps",
    "kms_keys",
    "ssm_parameters",
    "secrets",
    "ecr_repositories",
    "log_groups",
    "s3_buckets",
    "sqs_queues",
    "sns_topics",
    "dynamodb_tables",
)
PARAMETER_TYPES = ("String", "StringList", "SecureString")
KEY_TYPES = ("S", "N", "B")


def load_world(path: str | Path) -> World:
    """Load and validate a world file; ``.json`` files are parsed as JSON, anything else as YAML."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("world file not found", where=source) from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read world file: {err}", where=source) from None
    return world_from_dict(parse_document(text, source, json_only=path.suffix.lower() == ".json"), source)


def parse_document(text: str, source: str, *, json_only: bool = False) -> Any:
    """YAML (duplicate keys rejected) or JSON text to Python data; syntax errors name line:column."""
    if json_only:
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise InputError(f"invalid JSON: {err.msg}", where=f"{source}:{err.lineno}:{err.colno}") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise InputError(f"invalid YAML: {err.problem or err.context}", where=where) from None
    except yaml.YAMLError as err:
        raise InputError(f"invalid YAML: {err}", where=source) from None


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice in one mapping (plain YAML keeps the last silently)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            continue  # unhashable keys fail in construct_mapping with YAML's own message
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def world_from_dict(data: Any, source: str = "<world>") -> World:
    """Validate already-parsed world data (e.g. a dict built in a test) into a ``World``."""
    return _WorldReader(source).read(data)


# --- small typed readers; ``path`` is the place inside the file ---------------------------------


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "boolean",
        int: "number",
        float: "number",
        str: "string",
        list: "list",
        dict: "mapping",
    }.get(type(value), type(value).__name__)


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


@cache
def _region_partitions() -> dict[str, str]:
    """Region -> partition, from botocore's partitions data (a tenth of the time of asking the endpoints
    data); a partition's ``<id>-global`` entry is the endpoint of its global services, not a region."""
    data = model_session().get_component("data_loader").load_data("partitions")
    return {
        region: partition["id"]
        for partition in data["partitions"]
        for region in partition["regions"]
        if region != f"{partition['id']}-global"
    }


@cache
def _ecr_name_pattern() -> re.Pattern[str]:
    shape = model_session().get_service_model("ecr").shape_for("RepositoryName")
    return re.compile(shape.metadata["pattern"])


class _WorldReader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.world = World(source=source)

    # generic helpers ----------------------------------------------------------------------------
    def error(self, path: str, message: str) -> InputError:
        return InputError(message, where=f"{self.source}: {path}" if path else self.source)

    def mapping(self, value: Any, path: str, allowed: Iterable[str] | None = None) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(path, f"expected a mapping, got {_type_name(value)}")
        for key in value:
            if not isinstance(key, str):
                raise self.error(join_path(path, key), f"keys must be strings, got {_type_name(key)} {key!r}")
        if allowed is not None:
            allowed = tuple(allowed)
            for key in value:
                if key not in allowed:
                    raise self.error(
                        join_path(path, key),
                        f"unknown key {key!r}{_suggest(key, allowed)} (allowed: {', '.join(allowed)})",
                    )
        return value

    def string(self, value: Any, path: str, *, what: str = "a string") -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)  # `port: 5432` means the text 5432
        hint = " (quote it)" if isinstance(value, bool) else ""
        raise self.error(path, f"expected {what}, got {_type_name(value)}{hint}")

    def name(self, value: Any, path: str) -> str:
        text = self.string(value, path)
        if not text:
            raise self.error(path, "must not be empty")
        return text

    def optional_string(self, value: Any, path: str) -> str:
        return "" if value is None else self.string(value, path)

    def string_list(self, value: Any, path: str) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list):
            raise self.error(path, f"expected a list of strings, got {_type_name(value)}")
        return [self.name(item, join_path(path, i)) for i, item in enumerate(value)]

    def choice(self, value: Any, path: str, choices: tuple[str, ...]) -> str:
        text = self.string(value, path)
        if text not in choices:
            raise self.error(path, f"{text!r} is not one of {', '.join(choices)}{_suggest(text, choices)}")
        return text

    def tags(self, value: Any, path: str) -> dict[str, str]:
        tags = self.mapping(value, path)
        for key in tags:
            if not key:
                raise self.error(path, "tag keys must not be empty")
            if len(key) > 128:
                raise self.error(join_path(path, key), "tag keys are at most 128 characters")
        result = {key: self.string(v, join_path(path, key)) for key, v in tags.items()}
        for key, tag_value in result.items():
            if len(tag_value) > 256:
                raise self.error(join_path(path, key), "tag values are at most 256 characters")
        return result

    def policy(self, value: Any, path: str, *, name: str, kind: PolicyKind) -> PolicyDocument:
        """A policy document (mapping, or JSON text), checked like IAM checks it."""
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as err:
                raise self.error(path, f"policy is not valid JSON: {err}") from None
        document = self.mapping(value, path)
        if not document:
            raise self.error(path, "policy document is empty")
        try:
            parse_policy(document, name=name, kind=kind)
        except MalformedPolicyDocument as err:
            raise self.error(path, str(err)) from None
        return document

    def optional_policy(self, value: Any, path: str, *, name: str, kind: PolicyKind) -> PolicyDocument | None:
        return None if value is None else self.policy(value, path, name=name, kind=kind)

    def named(self, value: Any, path: str) -> dict[str, Any]:
        """A collection given as a mapping name -> spec, or as a list of names (specs left empty)."""
        if isinstance(value, list):
            names = [self.name(item, join_path(path, i)) for i, item in enumerate(value)]
            for i, item in enumerate(names):
                if item in names[:i]:
                    raise self.error(join_path(path, i), f"{item!r} is listed twice")
            return dict.fromkeys(names)
        if value is not None and not isinstance(value, dict):
            raise self.error(path, f"expected a mapping or a list of names, got {_type_name(value)}")
        return self.mapping(value, path)

    def each(
        self, data: dict[str, Any], key: str, read: Callable[[str, Any, str], Any], *, names_ok: bool = False
    ) -> dict[str, Any]:
        """Read ``data[key]``: a mapping name -> spec (or, with ``names_ok``, a list of names)."""
        value = data.get(key)
        items = self.named(value, key) if names_ok else self.mapping(value, key)
        return {name: read(name, spec, join_path(key, name)) for name, spec in items.items()}

    # the world ----------------------------------------------------------------------------------
    def read(self, data: Any) -> World:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise self.error("", f"a world file is a mapping at the top level, got {_type_name(data)}")
        # keys starting with "x-" hold YAML anchors for reuse, as in docker-compose files
        data = {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("x-"))}
        data = self.mapping(data, "", TOP_LEVEL_KEYS)
        world = self.world
        world.account = self.account(data.get("account", DEFAULT_ACCOUNT))
        world.region = self.region(data.get("region", DEFAULT_REGION))
        world.partition = _region_partitions()[world.region]
        self.optional_string(data.get("description"), "description")
        # customer managed policies first: roles and users refer to them
        world.policies = self.each(data, "policies", self.managed_policy)
        world.scps = self.scps(data.get("scps"))
        world.kms_keys = self.each(data, "kms_keys", self.kms_key)
        self.check_unique_aliases()
        world.roles = self.each(data, "roles", self.role)
        world.users = self.each(data, "users", self.user)
        world.ssm_parameters = self.each(data, "ssm_parameters", self.parameter)
        world.secrets = self.each(data, "secrets", self.secret)
        world.ecr_repositories = self.each(data, "ecr_repositories", self.repository, names_ok=True)
        world.log_groups = self.each(data, "log_groups", self.log_group, names_ok=True)
        world.s3_buckets = self.each(data, "s3_buckets", self.bucket, names_ok=True)
        world.sqs_queues = self.each(data, "sqs_queues", self.queue, names_ok=True)
        world.sns_topics = self.each(data, "sns_topics", self.topic, names_ok=True)
        world.dynamodb_tables = self.each(data, "dynamodb_tables", self.table)
        return world

    def account(self, value: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool) and len(str(value)) != 12:
            raise self.error("account", f'{value} is not a 12-digit account id (quote it: "0123...")')
        text = self.string(value, "account")
        if not re.fullmatch(r"\d{12}", text):
            raise self.error("account", f"{text!r} is not a 12-digit AWS account id")
        return text

    def region(self, value: Any) -> str:
        text = self.string(value, "region")
        regions = _region_partitions()
        if text not in regions:
            raise self.error("region", f"unknown region {text!r}{_suggest(text, regions)}")
        return text

    # IAM ----------------------------------------------------------------------------------------
    def managed_policy(self, name: str, value: Any, path: str) -> ManagedPolicy:
        self.check_iam_name(name, path, 128)
        return ManagedPolicy(
            name=name, document=self.policy(value, path, name=name, kind=PolicyKind.IDENTITY)
        )

    def scps(self, value: Any) -> list[Scp]:
        if value is None:
            return []
        if isinstance(value, list):
            items = [(f"scp-{i}", doc, join_path("scps", i)) for i, doc in enumerate(value)]
        elif isinstance(value, dict):
            if "Statement" in value:
                raise self.error(
                    "scps", "expected a list of policy documents (or a mapping name -> document)"
                )
            items = [
                (name, doc, join_path("scps", name)) for name, doc in self.mapping(value, "scps").items()
            ]
        else:
            raise self.error(
                "scps", f"expected a list (or mapping) of policy documents, got {_type_name(value)}"
            )
        return [
            Scp(name, self.policy(doc, path, name=name, kind=PolicyKind.SCP)) for name, doc, path in items
        ]

    def check_iam_name(self, name: str, path: str, limit: int) -> None:
        if not re.fullmatch(r"[\w+=,.@-]+", name) or len(name) > limit:
            raise self.error(path, f"invalid IAM name {name!r}: up to {limit} of letters, digits and +=,.@_-")

    def iam_path(self, value: Any, path: str) -> str:
        text = "/" if value is None else self.string(value, path)
        if not re.fullmatch(r"/([\x21-\x7e]*/)?", text):
            raise self.error(path, f"invalid IAM path {text!r}: it starts and ends with '/'")
        return text

    def trust(self, value: Any, path: str, role: str) -> PolicyDocument:
        if value is None or isinstance(value, str | list):
            principals = self.string_list(value, path) or ["ecs-tasks"]
            return {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": self.trust_principal(principals),
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        return self.policy(value, path, name=f"{role} trust policy", kind=PolicyKind.TRUST)

    @staticmethod
    def trust_principal(shorthands: list[str]) -> dict[str, Any]:
        services, accounts = [], []
        for item in shorthands:
            if item.startswith("arn:") or re.fullmatch(r"\d{12}", item):
                accounts.append(item)
            else:
                services.append(item if "." in item else f"{item}.amazonaws.com")
        principal: dict[str, Any] = {}
        if services:
            principal["Service"] = services[0] if len(services) == 1 else services
        if accounts:
            principal["AWS"] = accounts[0] if len(accounts) == 1 else accounts
        return principal

    def policy_ref(self, ref: str, path: str) -> str:
        """A managed policy reference -> its ARN: a name under ``policies``, an AWS managed policy name,
        or either one's ARN."""
        world = self.world
        if ref.startswith("arn:"):
            if is_aws_managed_arn(ref):
                return ref
            name = ref.rsplit("/", 1)[-1]
            if name in world.policies and world.policy_arn(name) == ref:
                return ref
            raise self.error(path, f"{ref!r} is neither an AWS managed policy nor a policy under `policies`")
        if ref in world.policies:
            return world.policy_arn(ref)
        arn = aws_managed_arn(ref, world.partition)
        if arn:
            return arn
        raise self.error(
            path,
            f"unknown managed policy {ref!r}: not under `policies` and not an AWS managed policy"
            f"{_suggest(ref, [*world.policies, *aws_managed_names()])}",
        )

    def identity_parts(self, spec: dict[str, Any], path: str) -> dict[str, Any]:
        managed_path = join_path(path, "managed")
        managed = tuple(
            self.policy_ref(ref, join_path(managed_path, i))
            for i, ref in enumerate(self.string_list(spec.get("managed"), managed_path))
        )
        inline_path = join_path(path, "inline")
        inline = {
            name: self.policy(doc, join_path(inline_path, name), name=name, kind=PolicyKind.IDENTITY)
            for name, doc in self.mapping(spec.get("inline"), inline_path).items()
        }
        for name in inline:
            self.check_iam_name(name, join_path(inline_path, name), 128)
        boundary_path = join_path(path, "boundary")
        boundary = spec.get("boundary")
        return {
            "managed": managed,
            "inline": inline,
            "boundary": None
            if boundary is None
            else self.policy_ref(self.name(boundary, boundary_path), boundary_path),
            "tags": self.tags(spec.get("tags"), join_path(path, "tags")),
            "path": self.iam_path(spec.get("path"), join_path(path, "path")),
        }

    def role(self, name: str, value: Any, path: str) -> Role:
        self.check_iam_name(name, path, 64)
        spec = self.mapping(
            value, path, ("trust", "managed", "inline", "boundary", "tags", "path", "description")
        )
        return Role(
            name=name,
            trust=self.trust(spec.get("trust"), join_path(path, "trust"), name),
            description=self.optional_string(spec.get("description"), join_path(path, "description")),
            **self.identity_parts(spec, path),
        )

    def user(self, name: str, value: Any, path: str) -> User:
        self.check_iam_name(name, path, 64)
        spec = self.mapping(value, path, ("managed", "inline", "boundary", "tags", "path"))
        return User(name=name, **self.identity_parts(spec, path))

    # KMS ----------------------------------------------------------------------------------------
    def kms_key(self, name: str, value: Any, path: str) -> KmsKey:
        spec = self.mapping(value, path, ("alias", "aliases", "policy", "description", "tags"))
        aliases = [
            *self.string_list(spec.get("alias"), join_path(path, "alias")),
            *self.string_list(spec.get("aliases"), join_path(path, "aliases")),
        ]
        for alias in aliases:
            where = join_path(path, "alias")
            if not alias.startswith("alias/"):
                raise self.error(where, f"alias {alias!r} must start with 'alias/' (alias/{alias})")
            if alias.startswith("alias/aws/"):
                raise self.error(
                    where, f"alias {alias!r}: the prefix alias/aws/ is reserved for AWS managed keys"
                )
            if not re.fullmatch(r"alias/[a-zA-Z0-9/_-]+", alias):
                raise self.error(where, f"alias {alias!r} may only contain letters, digits, /, _ and -")
        return KmsKey(
            name=name,
            aliases=tuple(aliases),
            policy=self.optional_policy(
                spec.get("policy"), join_path(path, "policy"), name=name, kind=PolicyKind.RESOURCE
            ),
            description=self.optional_string(spec.get("description"), join_path(path, "description")),
            tags=self.tags(spec.get("tags"), join_path(path, "tags")),
        )

    def check_unique_aliases(self) -> None:
        owner: dict[str, str] = {}
        for key in self.world.kms_keys.values():
            for alias in key.aliases:
                if alias in owner:
                    raise self.error(
                        join_path(join_path("kms_keys", key.name), "alias"),
                        f"alias {alias!r} is already used by key {owner[alias]!r}",
                    )
                owner[alias] = key.name

    def key_ref(self, value: Any, path: str) -> str | None:
        """A KMS key: a world key name or alias, an AWS managed alias (alias/aws/...) or a key/alias ARN."""
        if value is None:
            return None
        ref = self.name(value, path)
        if ref.startswith(("arn:", "alias/aws/")) or self.world.find_key(ref):
            return ref
        known = [*self.world.kms_keys, *(a for k in self.world.kms_keys.values() for a in k.aliases)]
        raise self.error(path, f"unknown KMS key {ref!r} (not under `kms_keys`){_suggest(ref, known)}")

    # resources ----------------------------------------------------------------------------------
    def parameter(self, name: str, value: Any, path: str) -> SsmParameter:
        if "/" in name and not name.startswith("/"):
            raise self.error(path, f"parameter name {name!r}: a hierarchical name must start with '/'")
        if re.match(r"/?(aws|ssm)", name, re.IGNORECASE):
            raise self.error(path, f"parameter name {name!r}: names beginning with aws or ssm are reserved")
        if not re.fullmatch(r"[a-zA-Z0-9_.\-/]{1,2048}", name):
            raise self.error(path, f"parameter name {name!r} may only contain letters, digits and _.-/")
        if not isinstance(value, dict):  # shorthand: the value itself
            value = {"value": value, "type": "StringList"} if isinstance(value, list) else {"value": value}
        spec = self.mapping(value, path, ("value", "type", "key", "description", "tags"))
        kind = self.choice(spec.get("type", "String"), join_path(path, "type"), PARAMETER_TYPES)
        raw = spec.get("value")
        if raw is None:
            raise self.error(join_path(path, "value"), "a parameter needs a value")
        if isinstance(raw, list):
            if kind != "StringList":
                raise self.error(join_path(path, "value"), f"a list value needs type StringList, not {kind}")
            text = ",".join(
                self.string(item, join_path(join_path(path, "value"), i)) for i, item in enumerate(raw)
            )
        else:
            text = self.string(raw, join_path(path, "value"))
        if not text:
            raise self.error(join_path(path, "value"), "a parameter value must not be empty")
        if spec.get("key") is not None and kind != "SecureString":
            raise self.error(
                join_path(path, "key"), f"only a SecureString parameter has a KMS key (type is {kind})"
            )
        return SsmParameter(
            name=name,
            value=text,
            type=kind,  # type: ignore[arg-type]  # checked by choice()
            key=self.key_ref(spec.get("key"), join_path(path, "key")),
            description=self.optional_string(spec.get("description"), join_path(path, "description")),
            tags=self.tags(spec.get("tags"), join_path(path, "tags")),
        )

    def secret(self, name: str, value: Any, path: str) -> Secret:
        if not re.fullmatch(r"[a-zA-Z0-9/_+=.@-]{1,512}", name):
            raise self.error(path, f"secret name {name!r} may only contain letters, digits and /_+=.@-")
        if not isinstance(value, dict):
            value = {"value": value}
        spec = self.mapping(value, path, ("value", "key", "policy", "description", "tags"))
        raw = spec.get("value")
        if raw is None:
            raise self.error(
                join_path(path, "value"), "a secret needs a value (a string, or a mapping stored as JSON)"
            )
        text = json.dumps(raw) if isinstance(raw, dict | list) else self.string(raw, join_path(path, "value"))
        return Secret(
            name=name,
            value=text,
            key=self.key_ref(spec.get("key"), join_path(path, "key")),
            policy=self.optional_policy(
                spec.get("policy"), join_path(path, "policy"), name=name, kind=PolicyKind.RESOURCE
            ),
            description=self.optional_string(spec.get("description"), join_path(path, "description")),
            tags=self.tags(spec.get("tags"), join_path(path, "tags")),
        )

    def repository(self, name: str, value: Any, path: str) -> EcrRepository:
        if not _ecr_name_pattern().fullmatch(name) or not 2 <= len(name) <= 256:
            raise self.error(path, f"invalid repository name {name!r}: lowercase letters, digits and ._-/")
        spec = self.mapping(value, path, ("images", "policy", "tags"))
        images_path = join_path(path, "images")
        images = {}
        for tag, image in self.mapping(spec.get("images"), images_path).items():
            if not re.fullmatch(r"[\w][\w.-]{0,127}", tag):
                raise self.error(join_path(images_path, tag), f"invalid image tag {tag!r}")
            images[tag] = self.name(image, join_path(images_path, tag))
        return EcrRepository(
            name=name,
            images=images,
            policy=self.optional_policy(
                spec.get("policy"), join_path(path, "policy"), name=name, kind=PolicyKind.RESOURCE
            ),
            tags=self.tags(spec.get("tags"), join_path(path, "tags")),
        )

    def log_group(self, name: str, value: Any, path: str) -> LogGroup:
        if not re.fullmatch(r"[\w/.#-]{1,512}", name):
            raise self.error(path, f"invalid log group name {name!r}: letters, digits and _-/.#")
        spec = self.mapping(value, path, ("retention_days", "tags"))
        retention = spec.get("retention_days")
        if retention is not None and (
            not isinstance(retention, int) or isinstance(retention, bool) or retention < 1
        ):
            raise self.error(join_path(path, "retention_days"), "expected a positive number of days")
        return LogGroup(
            name=name, retention_days=retention, tags=self.tags(spec.get("tags"), join_path(path, "tags"))
        )

    def bucket(self, name: str, value: Any, path: str) -> S3Bucket:
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", name) or ".." in name:
            raise self.error(
                path, f"invalid bucket name {name!r}: 3-63 lowercase letters, digits, '.' and '-'"
            )
        spec = self.mapping(value, path, ("policy", "objects", "encryption", "tags"))
        objects_path = join_path(path, "objects")
        objects: dict[str, str] = {}
        object_keys: dict[str, str] = {}
        for key, item in self.mapping(spec.get("objects"), objects_path).items():
            objects[key], kms_key = self.s3_object(item, join_path(objects_path, key))
            if kms_key is not None:
                object_keys[key] = kms_key
        for key in objects:
            if not key or len(key.encode()) > 1024:
                raise self.error(join_path(objects_path, key), "object keys are 1 to 1024 bytes")
        kms_key, bucket_key = self.bucket_encryption(spec.get("encryption"), join_path(path, "encryption"))
        return S3Bucket(
            name=name,
            policy=self.optional_policy(
                spec.get("policy"), join_path(path, "policy"), name=name, kind=PolicyKind.RESOURCE
            ),
            objects=objects,
            tags=self.tags(spec.get("tags"), join_path(path, "tags")),
            kms_key=kms_key,
            bucket_key=bucket_key,
            object_keys=object_keys,
        )

    def s3_object(self, value: Any, path: str) -> tuple[str, str | None]:
        """An object's content, and the KMS key (SSE-KMS) it names for itself, if any."""
        if not isinstance(value, dict):
            return self.string(value, path), None
        if "content" not in value:
            raise self.error(
                path, "expected a string (the object's content) or a mapping with `content` and `kms_key`"
            )
        spec = self.mapping(value, path, ("content", "kms_key"))
        content = self.string(spec["content"], join_path(path, "content"))
        return content, self.key_ref(spec.get("kms_key"), join_path(path, "kms_key"))

    def bucket_encryption(self, value: Any, path: str) -> tuple[str | None, bool]:
        """Default encryption: SSE-KMS under ``kms_key`` (and an S3 Bucket Key with ``bucket_key``)."""
        if value is None:
            return None, False
        spec = self.mapping(value, path, ("kms_key", "bucket_key"))
        if spec.get("kms_key") is None:
            raise self.error(
                join_path(path, "kms_key"),
                "default encryption needs a kms_key (a bucket without `encryption` uses SSE-S3)",
            )
        bucket_key = spec.get("bucket_key", False)
        if not isinstance(bucket_key, bool):
            raise self.error(
                join_path(path, "bucket_key"), f"expected true or false, got {_type_name(bucket_key)}"
            )
        return self.key_ref(spec["kms_key"], join_path(path, "kms_key")), bucket_key

    def queue(self, name: str, value: Any, path: str) -> SqsQueue:
        if not re.fullmatch(r"[\w-]{1,80}", name.removesuffix(".fifo")):
            raise self.error(path, f"invalid queue name {name!r}: up to 80 letters, digits, _ and -")
        return SqsQueue(name=name, **self.policy_and_tags(name, value, path))

    def topic(self, name: str, value: Any, path: str) -> SnsTopic:
        if not re.fullmatch(r"[\w-]{1,256}", name.removesuffix(".fifo")):
            raise self.error(path, f"invalid topic name {name!r}: up to 256 letters, digits, _ and -")
        return SnsTopic(name=name, **self.policy_and_tags(name, value, path))

    def policy_and_tags(self, name: str, value: Any, path: str) -> dict[str, Any]:
        """A resource declared by its resource policy and tags alone (queues, topics)."""
        spec = self.mapping(value, path, ("policy", "tags"))
        return {
            "policy": self.optional_policy(
                spec.get("policy"), join_path(path, "policy"), name=name, kind=PolicyKind.RESOURCE
            ),
            "tags": self.tags(spec.get("tags"), join_path(path, "tags")),
        }

    def table(self, name: str, value: Any, path: str) -> DynamoTable:
        if not re.fullmatch(r"[\w.-]{3,255}", name):
            raise self.error(path, f"invalid table name {name!r}: 3-255 letters, digits, _ . and -")
        spec = self.mapping(value, path, ("hash_key", "hash_key_type", "range_key", "range_key_type", "tags"))
        if spec.get("hash_key") is None:
            raise self.error(
                join_path(path, "hash_key"), "a table needs a hash_key (its partition key attribute)"
            )
        range_key = spec.get("range_key")
        return DynamoTable(
            name=name,
            hash_key=self.name(spec["hash_key"], join_path(path, "hash_key")),
            hash_key_type=self.choice(
                spec.get("hash_key_type", "S"), join_path(path, "hash_key_type"), KEY_TYPES
            ),  # type: ignore[arg-type]
            range_key=None if range_key is None else self.name(range_key, join_path(path, "range_key")),
            range_key_type=self.choice(
                spec.get("range_key_type", "S"), join_path(path, "range_key_type"), KEY_TYPES
            ),  # type: ignore[arg-type]
            tags=self.tags(spec.get("tags"), join_path(path, "tags")),
        )
