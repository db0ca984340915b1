"""SigV4 verification: who signed a request, checked by recomputing the signature with botocore.

Header auth (``Authorization: AWS4-HMAC-SHA256 ...``) and presigned URLs (``X-Amz-Signature``) are
both read into a ``Credential``, as are the SigV2 presigned S3 URLs boto3 still makes by default in
us-east-1 (``AWSAccessKeyId=...&Signature=...&Expires=...``); the canonical request is rebuilt from exactly the headers the client
signed, and botocore's ``SigV4Auth`` / ``S3SigV4Auth`` derive the signature from the session's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import unquote, urlsplit

from botocore.auth import EMPTY_SHA256_HASH, UNSIGNED_PAYLOAD, HmacV1QueryAuth, S3SigV4Auth, SigV4Auth
from botocore.awsrequest import HTTPHeaders
from botocore.credentials import ReadOnlyCredentials

from ..sessions import Session, SessionRegistry
from .errors import GatewayError, Problem
from .parsing import IncomingRequest, s3_virtual_host_bucket

MAX_SKEW = timedelta(minutes=15)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_AUTH_FIELD = re.compile(r"(Credential|SignedHeaders|Signature)\s*=\s*([^,\s]+)")


@dataclass(frozen=True)
class Credential:
    """The signature claims of a request, read but not yet verified."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str
    token: str | None
    presigned: bool
    expires: int | None = None  # SigV4: seconds after amz_date; SigV2: epoch seconds
    version: int = 4  # 2: a SigV2 presigned S3 URL (no region in its scope)


def read_credential(request: IncomingRequest) -> Credential | None:
    """The request's SigV4 claims; None when it carries no signature at all."""
    authorization = request.headers.get("authorization")
    if authorization is not None:
        return _header_credential(request, authorization)
    query = request.query_params
    if "X-Amz-Signature" in query or "X-Amz-Credential" in query:
        return _query_credential({k: v[0] for k, v in query.items()})
    if "AWSAccessKeyId" in query and "Signature" in query:
        return _v2_query_credential({k: v[0] for k, v in query.items()})
    return None


def verify(
    request: IncomingRequest, credential: Credential, sessions: SessionRegistry, now: datetime
) -> Session:
    """The session that signed ``request``; ``GatewayError`` with AWS's reason when it is not valid."""
    session = sessions.lookup(credential.access_key_id)
    if session is None:
        revoked = sessions.was_revoked(credential.access_key_id)
        raise GatewayError(Problem.EXPIRED_TOKEN if revoked else Problem.UNKNOWN_ACCESS_KEY)
    if session.expired(now):
        raise GatewayError(Problem.EXPIRED_TOKEN)
    if not _same(session.session_token, credential.token):
        raise GatewayError(Problem.INVALID_TOKEN)
    if credential.version == 2:
        if credential.expires is not None and now.timestamp() > credential.expires:
            raise GatewayError(Problem.PRESIGN_EXPIRED)
        if not hmac.compare_digest(_v2_signature(request, credential, session), credential.signature):
            raise GatewayError(Problem.SIGNATURE_MISMATCH)
        return session
    signed_at = _parse_amz_date(credential.amz_date)
    if credential.presigned:
        if credential.expires is not None and now > signed_at + timedelta(seconds=credential.expires):
            raise GatewayError(Problem.PRESIGN_EXPIRED)
    else:
        _check_skew(signed_at, now)
    payload = _payload_hash(request, credential)
    expected = _signature(request, credential, session, payload)
    if not hmac.compare_digest(expected, credential.signature):
        raise GatewayError(Problem.SIGNATURE_MISMATCH)
    return session


def _header_credential(request: IncomingRequest, authorization: str) -> Credential:
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != "AWS4-HMAC-SHA256":
        raise GatewayError(Problem.MALFORMED_AUTH, f"Unsupported authorization type: {algorithm or 'none'}.")
    fields = dict(_AUTH_FIELD.findall(rest))
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if name not in fields]
    if missing:
        raise GatewayError(
            Problem.MALFORMED_AUTH,
            f"Authorization header requires '{missing[0]}' parameter. Authorization={authorization[:200]}",
        )
    amz_date = request.headers.get("x-amz-date") or _http_date(request.headers.get("date"))
    return _credential(
        fields["Credential"],
        fields["SignedHeaders"],
        fields["Signature"],
        amz_date,
        request.headers.get("x-amz-security-token"),
        presigned=False,
    )


def _query_credential(query: dict[str, str]) -> Credential:
    if query.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
        raise GatewayError(Problem.MALFORMED_AUTH, 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
    for name in ("X-Amz-Credential", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Date"):
        if name not in query:
            raise GatewayError(
                Problem.MALFORMED_AUTH, f"Query-string authentication requires the {name} parameter."
            )
    expires = query.get("X-Amz-Expires")
    if expires is not None and not expires.isdigit():
        raise GatewayError(Problem.MALFORMED_AUTH, "X-Amz-Expires should be a number")
    return _credential(
        query["X-Amz-Credential"],
        query["X-Amz-SignedHeaders"],
        query["X-Amz-Signature"],
        query["X-Amz-Date"],
        query.get("X-Amz-Security-Token"),
        presigned=True,
        expires=int(expires) if expires is not None else None,
    )


def _v2_query_credential(query: dict[str, str]) -> Credential:
    expires = query.get("Expires", "")
    if not expires.isdigit():
        raise GatewayError(
            Problem.MALFORMED_AUTH, "Query-string authentication requires the Expires parameter."
        )
    return Credential(
        access_key_id=query["AWSAccessKeyId"],
        date="",
        region="",
        service="s3",
        signed_headers=(),
        signature=query["Signature"],
        amz_date="",
        token=query.get("x-amz-security-token"),
        presigned=True,
        expires=int(expires),
        version=2,
    )


def _credential(
    scope: str,
    signed_headers: str,
    signature: str,
    amz_date: str | None,
    token: str | None,
    *,
    presigned: bool,
    expires: int | None = None,
) -> Credential:
    parts = scope.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts):
        raise GatewayError(
            Problem.MALFORMED_AUTH,
            f"Credential should be scoped to a valid region and service, not '{scope}'.",
        )
    if not amz_date:
        raise GatewayError(
            Problem.MISSING_AUTH,
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )
    access_key_id, date, region, service, _ = parts
    return Credential(
        access_key_id=access_key_id,
        date=date,
        region=region,
        service=service,
        signed_headers=tuple(h.strip().lower() for h in signed_headers.split(";") if h.strip()),
        signature=signature,
        amz_date=amz_date,
        token=token,
        presigned=presigned,
        expires=expires,
    )


def _same(expected: str | None, given: str | None) -> bool:
    if expected is None or given is None:
        return expected is None and given is None
    return hmac.compare_digest(expected.encode(), given.encode())


def _http_date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).astimezone(UTC).strftime(_AMZ_DATE)
    except (TypeError, ValueError):
        return None


def _parse_amz_date(value: str) -> datetime:
    # by hand: strptime is the slowest step of a verification
    try:
        if len(value) != 16 or value[8] != "T" or value[15] != "Z":
            raise ValueError(value)
        return datetime(
            int(value[0:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[9:11]),
            int(value[11:13]),
            int(value[13:15]),
            tzinfo=UTC,
        )
    except ValueError as err:
        raise GatewayError(Problem.MALFORMED_AUTH, f"Invalid date format: {value[:40]}") from err


def _check_skew(signed_at: datetime, now: datetime) -> None:
    stamp = signed_at.strftime(_AMZ_DATE)
    if signed_at < now - MAX_SKEW:
        raise GatewayError(
            Problem.CLOCK_SKEW,
            f"Signature expired: {stamp} is now earlier than {(now - MAX_SKEW).strftime(_AMZ_DATE)} "
            f"({now.strftime(_AMZ_DATE)} - 15 min.)",
        )
    if signed_at > now + MAX_SKEW:
        raise GatewayError(
            Problem.CLOCK_SKEW,
            f"Signature not yet current: {stamp} is still later than {(now + MAX_SKEW).strftime(_AMZ_DATE)} "
            f"({now.strftime(_AMZ_DATE)} + 15 min.)",
        )


def _payload_hash(request: IncomingRequest, credential: Credential) -> str:
    """The payload line of the canonical request, checking a declared body hash against the body."""
    declared = request.headers.get("x-amz-content-sha256")
    if declared is None:
        if credential.presigned and credential.service == "s3":
            return UNSIGNED_PAYLOAD
        return hashlib.sha256(request.body).hexdigest() if request.body else EMPTY_SHA256_HASH
    if _HEX_SHA256.match(declared) and not hmac.compare_digest(
        declared, hashlib.sha256(request.body).hexdigest()
    ):
        raise GatewayError(Problem.PAYLOAD_HASH_MISMATCH)
    # UNSIGNED-PAYLOAD and STREAMING-*: the literal value is what was signed; chunks are not checked.
    return declared


class _SignedHeaders(dict[str, str]):
    """The signed headers (lower-case names, repeats already comma-joined) as botocore reads them."""

    def get_all(self, name: str) -> list[str]:
        return [self[name]]


class _WireRequest:
    """The attributes botocore's signers read from a request, taken from the request as received."""

    def __init__(self, request: IncomingRequest, credential: Credential) -> None:
        self.method = request.method
        self.url = f"http://{request.host}{request.path or '/'}"
        self.headers = _SignedHeaders(
            (name, request.headers.get(name, "")) for name in credential.signed_headers
        )
        self.params = [
            (unquote(key), unquote(value))
            for key, _, value in (pair.partition("=") for pair in request.query.split("&") if pair)
            if unquote(key) != "X-Amz-Signature"
        ]
        self.body = request.body
        self.context = {"timestamp": credential.amz_date}


class _Verifier(SigV4Auth):
    """SigV4Auth over exactly the signed headers, with the payload line decided by the caller."""

    def __init__(self, credentials: ReadOnlyCredentials, service: str, region: str, payload: str) -> None:
        super().__init__(credentials, service, region)
        self._payload = payload

    def headers_to_sign(self, request: _WireRequest) -> _SignedHeaders:  # type: ignore[override]
        return request.headers

    def payload(self, request: _WireRequest) -> str:  # type: ignore[override]
        return self._payload

    def canonical_request(self, request: _WireRequest) -> str:  # type: ignore[override]
        # botocore reads X-Amz-Content-SHA256 from the headers itself; the caller already decided.
        lines = super().canonical_request(request).rsplit("\n", 1)[0]
        return f"{lines}\n{self._payload}"

    def signature(self, string_to_sign: str, request: _WireRequest) -> str:  # type: ignore[override]
        key = _signing_key(
            self.credentials.secret_key,
            request.context["timestamp"][0:8],
            self._region_name,
            self._service_name,
        )
        return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


@lru_cache(maxsize=1024)
def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """SigV4's derived key (four HMACs), the same for a whole day of one session's requests."""
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


class _V2Verifier(HmacV1QueryAuth):
    """botocore's SigV2 query signer with the URL's own expiry as the date line."""

    def __init__(self, credentials: ReadOnlyCredentials, expires: int) -> None:
        super().__init__(credentials, expires=expires)
        self._expiry = expires

    def _get_date(self) -> str:
        return str(self._expiry)


def _v2_signature(request: IncomingRequest, credential: Credential, session: Session) -> str:
    # the signed headers travel in the query string of a presigned URL
    headers = HTTPHeaders()
    for key, values in request.query_params.items():
        if key.lower() in ("content-md5", "content-type") or key.lower().startswith("x-amz-"):
            headers[key.lower()] = values[0]
    path = request.path or "/"
    if bucket := s3_virtual_host_bucket(request.host):
        path = f"/{bucket}{path}"
    credentials = ReadOnlyCredentials(session.access_key_id, session.secret_access_key, session.session_token)
    split = urlsplit(f"http://{request.host}{request.path or '/'}?{request.query}")
    return _V2Verifier(credentials, credential.expires or 0).get_signature(
        request.method, split, headers, auth_path=path
    )


class _S3Verifier(_Verifier):
    _normalize_url_path = S3SigV4Auth._normalize_url_path  # S3 signs the path as sent


def _signature(request: IncomingRequest, credential: Credential, session: Session, payload: str) -> str:
    credentials = ReadOnlyCredentials(session.access_key_id, session.secret_access_key, session.session_token)
    verifier_class = _S3Verifier if credential.service == "s3" else _Verifier
    verifier = verifier_class(credentials, credential.service, credential.region, payload)
    wire = _WireRequest(request, credential)
    canonical = verifier.canonical_request(wire)
    return verifier.signature(verifier.string_to_sign(wire, canonical), wire)
