"""Turning an HTTP request into (service, operation, input parameters), per protocol, from botocore models.

Only what authorization needs is extracted: URI labels, query and header members, and the JSON, form
or XML body. Streaming payloads (an S3 object body) are never parsed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, parse_qsl
from xml.etree import ElementTree

from botocore.model import OperationModel, ServiceModel
from botocore.validate import ParamValidator

from .catalog import catalog
from .errors import GatewayError, Problem

# Virtual-host S3 addressing: BUCKET.s3[.region].amazonaws.com, BUCKET.s3-region..., BUCKET.localhost.
_S3_VIRTUAL_HOST = re.compile(r"^(?P<bucket>.+?)\.(?:s3[.-][^:]*|localhost)(?::\d+)?$", re.IGNORECASE)


@dataclass(frozen=True)
class IncomingRequest:
    """An HTTP request as the gateway received it. ``headers`` keys are lower case."""

    method: str
    path: str  # raw (percent-encoded) path, without the query
    query: str  # raw query string
    headers: Mapping[str, str]
    body: bytes
    client_ip: str = "127.0.0.1"

    @property
    def host(self) -> str:
        return self.headers.get("host", "")

    @property
    def query_params(self) -> dict[str, list[str]]:
        return parse_qs(self.query, keep_blank_values=True)


@dataclass(frozen=True)
class ParsedRequest:
    service: ServiceModel
    operation: OperationModel
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def service_name(self) -> str:
        return self.service.service_name

    @property
    def operation_name(self) -> str:
        return self.operation.name


def parse_request(request: IncomingRequest, signing_name: str) -> ParsedRequest:
    """Find the operation ``request`` calls on the service signed as ``signing_name`` and its input.

    Raises ``GatewayError`` for an unknown service or operation and for a malformed body.
    """
    models = catalog().for_signing_name(signing_name)
    try:
        return _parse_with(models, request)
    except GatewayError as first:
        others = tuple(m for m in catalog().alternatives(signing_name) if m not in models)
        if not others or first.problem is not Problem.UNKNOWN_OPERATION:
            raise
        return _parse_with(others, request)


def _parse_with(models: tuple[ServiceModel, ...], request: IncomingRequest) -> ParsedRequest:
    if not models:
        raise GatewayError(Problem.UNKNOWN_OPERATION, "No service answers this request signature scope.")
    failure: GatewayError | None = None
    for model in models:
        parser = _PARSERS.get(model.protocol)
        if parser is None:
            raise GatewayError(Problem.UNKNOWN_OPERATION, f"The {model.protocol} protocol is not supported.")
        try:
            return parser(model, request)
        except GatewayError as err:
            if err.problem is not Problem.UNKNOWN_OPERATION:
                raise
            failure = failure or err
    assert failure is not None
    raise failure


def _parse_json(model: ServiceModel, request: IncomingRequest) -> ParsedRequest:
    if "x-amz-target" not in request.headers and is_query_compatible(model):
        return _parse_query(model, request)  # an older SDK still speaking the service's query protocol
    target = request.headers.get("x-amz-target", "")
    prefix, _, name = target.rpartition(".")
    if prefix != model.metadata.get("targetPrefix") or name not in model.operation_names:
        raise GatewayError(Problem.UNKNOWN_OPERATION, f"The operation {target!r} is not recognised.")
    operation = model.operation_model(name)
    params = _json_object(request.body)
    _validate(operation, params)
    return ParsedRequest(model, operation, params)


def _validate(operation: OperationModel, params: dict[str, Any]) -> None:
    """JSON bodies are the input shape as is: check them against the model before the backend sees them,
    as the service's front end does (moto answers a wrongly shaped body with a 500)."""
    if operation.input_shape is None:
        return
    report = ParamValidator().validate(params, operation.input_shape)
    if report.has_errors():
        raise GatewayError(Problem.INVALID_PARAMETERS, report.generate_report().replace("\n", " "))


def _parse_query(model: ServiceModel, request: IncomingRequest) -> ParsedRequest:
    pairs = parse_qsl(request.query, keep_blank_values=True)
    if request.method == "POST" and request.body:
        try:
            pairs += parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError) as err:
            raise GatewayError(Problem.MALFORMED_BODY, "The request body is not a valid form.") from err
    params = dict(pairs)
    action = params.get("Action", "")
    if action not in model.operation_names:
        raise GatewayError(
            Problem.UNKNOWN_OPERATION,
            f"Could not find operation {action} for version {params.get('Version', model.api_version)}",
        )
    return ParsedRequest(model, model.operation_model(action), params)


def _parse_rest(model: ServiceModel, request: IncomingRequest) -> ParsedRequest:
    path = request.path or "/"
    if model.service_name == "s3" and (bucket := s3_virtual_host_bucket(request.host)):
        path = f"/{bucket}{path}"
    query = request.query_params
    for route in catalog().routes(model, request.method):
        labels = route.match(path, query, request.headers)
        if labels is not None:
            operation = route.operation
            params: dict[str, Any] = {**_rest_body(model, operation, request.body), **labels}
            params.update(_located_members(operation, query, request.headers))
            return ParsedRequest(model, operation, params)
    raise GatewayError(Problem.UNKNOWN_OPERATION, f"No operation matches {request.method} {request.path}.")


def _located_members(
    operation: OperationModel, query: Mapping[str, list[str]], headers: Mapping[str, str]
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for member in catalog().located_members(operation):
        if member.location == "querystring":
            if member.wire_name in query:
                values = query[member.wire_name]
                found[member.name] = values if member.is_list else values[0]
        elif (value := headers.get(member.wire_name)) is not None:
            found[member.name] = value
    return found


def _rest_body(model: ServiceModel, operation: OperationModel, body: bytes) -> dict[str, Any]:
    shape = operation.input_shape
    if shape is None or not body:
        return {}
    payload = shape.serialization.get("payload")
    if payload is not None:
        member = shape.members[payload]
        if member.type_name != "structure":
            return {}  # a blob or string payload: data, not parameters
        return {payload: _xml_object(body) if model.protocol == "rest-xml" else _json_object(body)}
    return _json_object(body) if model.protocol == "rest-json" else {}


def _json_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, ValueError) as err:
        raise GatewayError(
            Problem.MALFORMED_BODY, "Start of structure or map found where not expected."
        ) from err
    if not isinstance(value, dict):
        raise GatewayError(Problem.MALFORMED_BODY, "Start of structure or map found where not expected.")
    return value


def _xml_object(body: bytes) -> dict[str, Any]:
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        # S3 does not take document type declarations; refusing them also rules out entity expansion.
        raise GatewayError(
            Problem.MALFORMED_BODY,
            "The XML you provided was not well-formed or did not validate against our published schema",
        )
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as err:
        raise GatewayError(
            Problem.MALFORMED_BODY,
            "The XML you provided was not well-formed or did not validate against our published schema",
        ) from err
    return _xml_children(root)


def _xml_children(element: ElementTree.Element) -> dict[str, Any]:
    """Element children as a dict; a repeated tag becomes a list. Namespaces are dropped."""
    out: dict[str, Any] = {}
    for child in element:
        tag = child.tag.rpartition("}")[2]
        value: Any = _xml_children(child) if len(child) else (child.text or "")
        if tag in out:
            existing = out[tag]
            out[tag] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            out[tag] = value
    return out


def xml_texts(body: bytes) -> dict[str, str]:
    """The text of every element of a backend's XML response by its local name (a later element of the
    same name wins); empty when ``body`` is no XML."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return {}
    return {element.tag.rpartition("}")[2]: (element.text or "") for element in root.iter()}


def s3_virtual_host_bucket(host: str) -> str | None:
    """The bucket of a virtual-host-style S3 request (``BUCKET.s3.amazonaws.com``), else None."""
    found = _S3_VIRTUAL_HOST.match(host)
    return found["bucket"] if found else None


def is_query_compatible(model: ServiceModel) -> bool:
    """A JSON service that spoke the query protocol before (SQS) and still accepts it."""
    return "awsQueryCompatible" in model.metadata


def as_list(value: Any) -> list[Any]:
    """An XML-derived value that may be one item or several, as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


_PARSERS = {
    "json": _parse_json,
    "query": _parse_query,
    "ec2": _parse_query,
    "rest-json": _parse_rest,
    "rest-xml": _parse_rest,
}
