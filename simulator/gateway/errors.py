"""AWS error responses as each protocol family writes them, so SDKs raise the same error as on AWS.

Three families: JSON services (``{"__type": ..., "message": ...}`` + ``x-amzn-ErrorType``), query
services (``<ErrorResponse><Error><Type>Sender</Type>...``) and S3 (``<Error><Code>...``). A JSON
service that was a query service before (``awsQueryCompatible``, e.g. SQS) also sends the old code
in ``x-amzn-query-error``, which botocore reports as the error code.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from enum import Enum, IntEnum
from xml.sax.saxutils import escape

_SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
_INVALID_TOKEN = "The security token included in the request is invalid."
_EXPIRED_TOKEN = "The security token included in the request is expired"


@dataclass(frozen=True)
class Rendering:
    code: str
    status: int
    message: str


class Problem(Enum):
    """What went wrong, with its code, HTTP status and default message per family (json, query, s3)."""

    MISSING_AUTH = (
        Rendering("MissingAuthenticationTokenException", 400, "Missing Authentication Token"),
        Rendering("MissingAuthenticationToken", 403, "Request is missing Authentication Token"),
        Rendering("AccessDenied", 403, "Access Denied"),
    )
    MALFORMED_AUTH = (
        Rendering("IncompleteSignatureException", 400, "The request signature is malformed."),
        Rendering("IncompleteSignature", 400, "The request signature is malformed."),
        Rendering("AuthorizationHeaderMalformed", 400, "The authorization header is malformed."),
    )
    UNKNOWN_ACCESS_KEY = (
        Rendering("UnrecognizedClientException", 400, _INVALID_TOKEN),
        Rendering("InvalidClientTokenId", 403, _INVALID_TOKEN),
        Rendering(
            "InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records."
        ),
    )
    INVALID_TOKEN = (
        Rendering("UnrecognizedClientException", 400, _INVALID_TOKEN),
        Rendering("InvalidClientTokenId", 403, _INVALID_TOKEN),
        Rendering("InvalidToken", 400, "The provided token is malformed or otherwise invalid."),
    )
    EXPIRED_TOKEN = (
        Rendering("ExpiredTokenException", 400, _EXPIRED_TOKEN),
        Rendering("ExpiredToken", 400, _EXPIRED_TOKEN),
        Rendering("ExpiredToken", 400, "The provided token has expired."),
    )
    SIGNATURE_MISMATCH = (
        Rendering("InvalidSignatureException", 400, _SIGNATURE_MISMATCH),
        Rendering("SignatureDoesNotMatch", 403, _SIGNATURE_MISMATCH),
        Rendering(
            "SignatureDoesNotMatch",
            403,
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
        ),
    )
    CLOCK_SKEW = (
        Rendering("InvalidSignatureException", 400, "Signature expired"),
        Rendering("SignatureDoesNotMatch", 403, "Signature expired"),
        Rendering(
            "RequestTimeTooSkewed",
            403,
            "The difference between the request time and the current time is too large.",
        ),
    )
    PRESIGN_EXPIRED = (
        Rendering("InvalidSignatureException", 400, "Signature expired"),
        Rendering("SignatureDoesNotMatch", 403, "Signature expired"),
        Rendering("AccessDenied", 403, "Request has expired"),
    )
    PAYLOAD_HASH_MISMATCH = (
        Rendering("InvalidSignatureException", 400, _SIGNATURE_MISMATCH),
        Rendering("SignatureDoesNotMatch", 403, _SIGNATURE_MISMATCH),
        Rendering(
            "XAmzContentSHA256Mismatch",
            400,
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        ),
    )
    UNKNOWN_OPERATION = (
        Rendering("UnknownOperationException", 400, "The operation is not recognised."),
        Rendering("InvalidAction", 400, "The action is not valid for this web service."),
        Rendering("MethodNotAllowed", 405, "The specified method is not allowed against this resource."),
    )
    MALFORMED_BODY = (
        Rendering("SerializationException", 400, "The request body could not be read."),
        Rendering("MalformedQueryString", 400, "The request body could not be read."),
        Rendering("MalformedXML", 400, "The XML you provided was not well-formed."),
    )
    INVALID_PARAMETERS = (
        Rendering("ValidationException", 400, "The request parameters are not valid."),
        Rendering("ValidationError", 400, "The request parameters are not valid."),
        Rendering("InvalidArgument", 400, "The request parameters are not valid."),
    )
    MALFORMED_POLICY = (
        Rendering("MalformedPolicyDocumentException", 400, "The policy document is malformed."),
        Rendering("MalformedPolicyDocument", 400, "The policy document is malformed."),
        Rendering("MalformedPolicy", 400, "Policies must be valid JSON and the first byte must be '{'"),
    )
    TOO_LARGE = (
        Rendering("RequestEntityTooLargeException", 413, "Request entity too large"),
        Rendering("RequestEntityTooLarge", 413, "Request entity too large"),
        Rendering("EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size"),
    )
    ACCESS_DENIED = (
        Rendering("AccessDeniedException", 400, "Access denied"),
        Rendering("AccessDenied", 403, "Access denied"),
        Rendering("AccessDenied", 403, "Access Denied"),
    )
    INTERNAL = (
        Rendering("InternalFailure", 500, "The simulator's gateway failed on this request; see its log."),
        Rendering("InternalFailure", 500, "The simulator's gateway failed on this request; see its log."),
        Rendering("InternalError", 500, "The simulator's gateway failed on this request; see its log."),
    )
    BACKEND_UNAVAILABLE = (
        Rendering("ServiceUnavailableException", 503, "The AWS backend is not reachable."),
        Rendering("ServiceUnavailable", 503, "The AWS backend is not reachable."),
        Rendering("ServiceUnavailable", 503, "The AWS backend is not reachable."),
    )


class GatewayError(Exception):
    """A request the gateway answers itself with ``problem``'s error (``message`` overrides the default)."""

    def __init__(self, problem: Problem, message: str | None = None) -> None:
        super().__init__(message or problem.value[0].message)
        self.problem = problem
        self.message = message


class Family(IntEnum):
    """Protocol family; the value indexes a ``Problem``'s renderings."""

    JSON = 0
    QUERY = 1
    S3 = 2


@dataclass(frozen=True)
class ErrorStyle:
    """How one service writes errors: its family and the quirks of its JSON error bodies."""

    family: Family
    query_compatible: bool = False
    coral_type: bool = False  # __type as "com.amazon.coral.service#Code" (DynamoDB, query-compatible)
    message_key: str = "message"


# Services whose JSON errors carry the Coral namespace and a capitalised ``Message`` key.
_CORAL_SERVICES = frozenset({"dynamodb", "dynamodbstreams"})
_CAPITAL_MESSAGE = frozenset({"dynamodb", "dynamodbstreams", "secretsmanager"})


def style_for(service_name: str, protocol: str, metadata: dict | None = None) -> ErrorStyle:
    """The error style of a service from its botocore model protocol and metadata."""
    if service_name == "s3":
        return ErrorStyle(Family.S3)
    if protocol in ("query", "ec2", "rest-xml"):
        return ErrorStyle(Family.QUERY)
    compatible = metadata is not None and "awsQueryCompatible" in metadata  # e.g. SQS
    return ErrorStyle(
        Family.JSON,
        query_compatible=compatible,
        coral_type=compatible or service_name in _CORAL_SERVICES,
        message_key="Message" if service_name in _CAPITAL_MESSAGE else "message",
    )


@dataclass(frozen=True)
class ErrorResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def render(
    style: ErrorStyle, problem: Problem, message: str | None = None, *, head: bool = False
) -> ErrorResponse:
    """The HTTP response AWS sends for ``problem`` in ``style`` (no body for a HEAD request)."""
    rendering = problem.value[style.family]
    query_code = problem.value[Family.QUERY].code
    text = message if message is not None else rendering.message
    request_id = str(uuid.uuid4())
    headers: list[tuple[str, str]]
    if style.family is Family.JSON:
        error_type = f"com.amazon.coral.service#{rendering.code}" if style.coral_type else rendering.code
        body = json.dumps({"__type": error_type, style.message_key: text}).encode()
        headers = [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", rendering.code),
        ]
        if style.query_compatible:
            headers.append(("x-amzn-query-error", f"{query_code};Sender"))
    elif style.family is Family.QUERY:
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{escape(rendering.code)}</Code><Message>{escape(text)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    else:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(rendering.code)}</Code><Message>{escape(text)}</Message>"
            f"<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>"
        ).encode()
        headers = [
            ("Content-Type", "application/xml"),
            ("x-amz-request-id", request_id),
            ("x-amz-id-2", request_id),
        ]
    return ErrorResponse(rendering.status, tuple(headers), b"" if head else body)
