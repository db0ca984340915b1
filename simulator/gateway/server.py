"""The authorizing gateway: an HTTP proxy that verifies, authorizes, then forwards to the AWS backend.

Per request: read the SigV4 claims -> verify them against the session registry -> parse the operation
from the botocore model -> derive the IAM checks -> ask the IAM engine -> forward, or answer with the
service's own error. It knows principals and requests, nothing of tasks or phases.
"""

from __future__ import annotations

import logging
import re
import ssl
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from botocore.exceptions import ClientError

from ..errors import EnvironmentProblem
from ..iam.model import PolicyKind
from ..iam.policy import MalformedPolicyDocument, Policy, combine_policies, parse_policy
from ..policy_source import PolicySource, is_aws_managed_key, is_read_operation
from ..sessions import Session, SessionRegistry
from .assumed import session_from_assume_role
from .authorizer import UNSENT_CLIENT_IP, Authorizer, DecisionRecord, RequestFacts
from .catalog import catalog
from .errors import ErrorResponse, ErrorStyle, Family, GatewayError, Problem, render, style_for
from .http1 import BodyTooLarge, MalformedMessage, header_dict, read_body, read_header_pairs
from .lookups import BackendLookups, LookupCache, UploadKeys
from .parsing import IncomingRequest, ParsedRequest, is_query_compatible, parse_request, xml_texts
from .resources import Place, check_on, checks_for, decrypted_in_response, iam_prefix, key_arn_of
from .sigv4 import Credential, read_credential, verify
from .upstream import HOP_BY_HOP, Transport

log = logging.getLogger(__name__)

MAX_BODY = 20 * 1024 * 1024  # API request bodies; every JSON and query API caps far below this
MAX_S3_BODY = 5 * 1024**3  # S3 PutObject's single-request limit
# The backend (embedded moto) usually shares this process: a request thread woken by the backend's
# answer waits for the GIL until moto's thread lets go, up to the 5 ms default switch interval.
_SWITCH_INTERVAL = 0.0005
# Content-Length is recomputed; "100 Continue" was already answered by this server.
_NOT_FORWARDED = frozenset({"content-length", "expect"})
_HANDSHAKE_SECONDS = 10
_POLICY_ARN_MEMBER = re.compile(r"PolicyArns\.member\.(\d+)\.arn")


class Gateway:
    """Authorizing front of the backend that ``upstream`` reaches (``Backend.transport()``); owns it.

    ``on_decision`` is called (from request threads) with every authorization made, allowed or denied.
    """

    def __init__(
        self,
        upstream: Transport,
        sessions: SessionRegistry,
        policies: PolicySource,
        *,
        region: str,
        on_decision: Callable[[DecisionRecord], None] | None = None,
    ) -> None:
        self.region = region
        self._sessions = sessions
        self._policies = policies
        self._upstream = upstream
        self._authorizer = Authorizer(policies, on_decision)
        self._lookup_cache = LookupCache()
        self._uploads = UploadKeys()
        self._servers: list[ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []
        self._port = 0
        self._host = "127.0.0.1"
        self._lock = threading.Lock()

    # --- lifecycle --------------------------------------------------------------------------------------

    def start(self, hosts: Sequence[str] = ("127.0.0.1",), port: int = 0) -> None:
        if self._servers:
            return
        catalog()  # load botocore's loader before the first request, not during it
        if sys.getswitchinterval() > _SWITCH_INTERVAL:
            sys.setswitchinterval(_SWITCH_INTERVAL)
        try:
            for host in hosts:
                self._listen(host, port or self._port)
        except BaseException:
            self.stop()
            raise

    def add_listener(self, host: str) -> int:
        """Listen on ``host`` too, on the gateway's port if free there, else on a new one; returns it."""
        try:
            return self._listen(host, self._port)
        except EnvironmentProblem:
            return self._listen(host, 0)

    def add_tls_listener(self, host: str, context: ssl.SSLContext) -> int:
        """Listen for TLS on ``host`` (any free port, returned), with ``context``'s certificates."""
        return self._listen(host, 0, context)

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """The first address listened on (loopback when that was every address)."""
        host = "127.0.0.1" if self._host in ("", "0.0.0.0") else self._host
        return f"http://{host}:{self._port}"

    def stop(self) -> None:
        with self._lock:
            servers, self._servers = self._servers, []
            threads, self._threads = self._threads, []
        for server in servers:
            server.shutdown()
            server.server_close()
        for thread in threads:
            thread.join(timeout=5)
        self._upstream.close()

    def __enter__(self) -> Gateway:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _listen(self, host: str, port: int, tls: ssl.SSLContext | None = None) -> int:
        try:
            server = (
                _Server((host, port), _handler_for(self))
                if tls is None
                else _TLSServer((host, port), _handler_for(self), tls)
            )
        except OSError as err:
            raise EnvironmentProblem(f"gateway cannot listen on {host}:{port}: {err.strerror}") from None
        bound = server.server_address[1]
        # A short poll: stop() waits for the serve loop to notice, once per listener.
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"gateway-{host}:{bound}",
            daemon=True,
        )
        thread.start()
        with self._lock:
            self._servers.append(server)
            self._threads.append(thread)
            if not self._port:
                self._port, self._host = bound, host
        return bound

    # --- one request ------------------------------------------------------------------------------------

    def handle(
        self, request: IncomingRequest, credential: Credential | None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Answer ``request``: the backend's response, or the service's error. Never raises."""
        style = _style_of(request, credential)
        head = request.method == "HEAD"
        try:
            if credential is None:
                raise GatewayError(Problem.MISSING_AUTH)
            session = verify(request, credential, self._sessions, datetime.now(UTC))
            parsed = parse_request(request, credential.service)
            style = _model_style(parsed, request)
            call = (parsed.service_name, parsed.operation_name)
            assumes_role = call == ("sts", "AssumeRole")
            session_policy = self._session_policy(parsed) if assumes_role else None
            if not session.superuser:
                denial = self._authorize(request, credential, session, parsed, style)
                if denial is not None:
                    return _error(style, Problem.ACCESS_DENIED, denial, head)
            response = self._forward(request)
            if not session.superuser and response[0] == 200:
                denial = self._authorize_results(request, credential, session, parsed, style, response[2])
                if denial is not None:
                    return _error(style, Problem.ACCESS_DENIED, denial, head)
            if assumes_role and response[0] == 200:
                self._register_assumed(session, parsed, response[2], session_policy)
            if call == ("s3", "CreateMultipartUpload") and response[0] == 200:
                self._remember_upload(session, parsed, credential.region or self.region, response[2])
            if not is_read_operation(parsed.operation_name):
                self._lookup_cache.clear()
                self._policies.invalidate()
            return response
        except GatewayError as err:
            return _error(style, err.problem, err.message, head)
        except OSError as err:
            log.warning("gateway: backend unreachable: %s", err)
            return _error(style, Problem.BACKEND_UNAVAILABLE, None, head)

    def _authorize(
        self,
        request: IncomingRequest,
        credential: Credential,
        session: Session,
        parsed: ParsedRequest,
        style: ErrorStyle,
    ) -> str | None:
        region = credential.region or self.region  # a SigV2 presigned URL names no region
        return self._decide(session, parsed, region, request.client_ip, style)

    def authorize_call(
        self, session: Session, service: str, operation: str, params: dict[str, Any], region: str
    ) -> str | None:
        """Authorize a call as if ``session`` had sent it, without sending it: the denial message, or None.
        Decisions are reported to ``on_decision`` as for real requests (``ecs-sim check`` relies on this)."""
        model = catalog().model(service)
        parsed = ParsedRequest(model, model.operation_model(operation), params)
        style = style_for(parsed.service_name, parsed.service.protocol, parsed.service.metadata)
        return self._decide(session, parsed, region, UNSENT_CLIENT_IP, style)

    def authorize_action(self, session: Session, action: str, resource: str, region: str) -> str | None:
        """Like ``authorize_call``, for a call named by what it needs (``action`` on ``resource``) instead of
        its parameters, as ``ecs-sim check --task-role-actions`` names the application's calls."""
        service, _, operation = action.partition(":")
        style = _signing_style(service) or ErrorStyle(Family.JSON)
        facts = RequestFacts(
            service, operation, region, UNSENT_CLIENT_IP, Problem.ACCESS_DENIED.value[style.family].code
        )
        denial = self._authorizer.authorize(session, facts, [check_on(action, resource)])
        return denial.message if denial is not None else None

    def _decide(
        self, session: Session, parsed: ParsedRequest, region: str, client_ip: str, style: ErrorStyle
    ) -> str | None:
        lookups = BackendLookups(self._upstream, self._lookup_cache, session, region, self._uploads)
        checks = checks_for(parsed, Place(region, session.principal.account), lookups)
        denial = self._authorizer.authorize(session, _facts(parsed, region, client_ip, style), checks)
        return denial.message if denial is not None else None

    def _authorize_results(
        self,
        request: IncomingRequest,
        credential: Credential,
        session: Session,
        parsed: ParsedRequest,
        style: ErrorStyle,
        body: bytes,
    ) -> str | None:
        """Decryptions only the answer reveals (GetParametersByPath): each needs kms:Decrypt too."""
        decrypted = decrypted_in_response(parsed, body)
        if not decrypted:
            return None
        facts = _facts(parsed, credential.region or self.region, request.client_ip, style)
        denial = self._authorizer.authorize_decrypts(session, facts, decrypted)
        return denial.message if denial is not None else None

    def _session_policy(self, parsed: ParsedRequest) -> Policy | None:
        """AssumeRole's session policies (``Policy``, ``PolicyArns``) as one policy: a session may do
        what any of them allows, and nothing any of them denies. Refused before the backend sees the
        call when IAM would refuse it."""
        inline = parsed.params.get("Policy")
        # The query protocol flattens the list: PolicyArns.member.N.arn
        numbered = (
            (int(found.group(1)), value)
            for key, value in parsed.params.items()
            if (found := _POLICY_ARN_MEMBER.fullmatch(key))
        )
        policies = []
        try:
            if isinstance(inline, str):
                policies.append(parse_policy(inline, name="Policy", kind=PolicyKind.SESSION))
            for _, arn in sorted(numbered):
                policies.append(self._policies.managed_policy(arn, PolicyKind.SESSION))
        except MalformedPolicyDocument as err:
            raise GatewayError(Problem.MALFORMED_POLICY, err.message) from None
        except ClientError as err:  # a managed policy the backend does not have
            raise GatewayError(
                Problem.INVALID_PARAMETERS, str(err.response["Error"].get("Message"))
            ) from None
        return combine_policies(policies, name="session policies") if policies else None

    def _remember_upload(self, session: Session, parsed: ParsedRequest, region: str, body: bytes) -> None:
        """The key of a new multipart upload, which its parts are encrypted under: the customer managed
        key its request names, none for SSE-S3 or aws/s3; unnamed, the bucket's default (not recorded)."""
        upload_id = xml_texts(body).get("UploadId")
        if not upload_id or "ServerSideEncryption" not in parsed.params:
            return
        key_id = parsed.params.get("SSEKMSKeyId")
        key_arn = None
        if isinstance(key_id, str) and not is_aws_managed_key(key_id):
            lookups = BackendLookups(self._upstream, self._lookup_cache, session, region, self._uploads)
            key_arn = key_arn_of(Place(region, session.principal.account), lookups, key_id)
        self._uploads.remember(upload_id, key_arn)

    def _register_assumed(
        self, caller: Session, parsed: ParsedRequest, body: bytes, session_policy: Policy | None
    ) -> None:
        role_arn = parsed.params.get("RoleArn")
        tags = self._policies.resource_info(role_arn).tags if isinstance(role_arn, str) else {}
        assumed = session_from_assume_role(body, caller, tags, session_policy)
        if assumed is not None:
            self._sessions.register(assumed)

    def _forward(self, request: IncomingRequest) -> tuple[int, list[tuple[str, str]], bytes]:
        target = request.path + (f"?{request.query}" if request.query else "")
        headers = [
            (k, v) for k, v in request.headers.items() if k not in HOP_BY_HOP and k not in _NOT_FORWARDED
        ]
        response = self._upstream.send(request.method, target, headers, request.body)
        relayed = [
            (k, v)
            for k, v in response.headers
            if k.lower() not in HOP_BY_HOP and (request.method == "HEAD" or k.lower() != "content-length")
        ]
        if request.method != "HEAD":
            relayed.append(("Content-Length", str(len(response.body))))
        return response.status, relayed, response.body


def _facts(parsed: ParsedRequest, region: str, client_ip: str, style: ErrorStyle) -> RequestFacts:
    return RequestFacts(
        service=iam_prefix(parsed),
        operation=parsed.operation_name,
        region=region,
        client_ip=client_ip,
        error_code=Problem.ACCESS_DENIED.value[style.family].code,
    )


def _style_of(request: IncomingRequest, credential: Credential | None) -> ErrorStyle:
    """The error style before the operation is known: from the signing name, else from the request's shape."""
    if credential is not None and (style := _signing_style(credential.service)) is not None:
        return style
    if "x-amz-target" in request.headers:
        return ErrorStyle(Family.JSON)
    if "Action=" in request.query or request.body.startswith(b"Action="):
        return ErrorStyle(Family.QUERY)
    return ErrorStyle(Family.S3)


def _signing_style(signing_name: str) -> ErrorStyle | None:
    models = catalog().for_signing_name(signing_name)
    if not models:
        return None
    return style_for(models[0].service_name, models[0].protocol, models[0].metadata)


def _model_style(parsed: ParsedRequest, request: IncomingRequest) -> ErrorStyle:
    if is_query_compatible(parsed.service) and "x-amz-target" not in request.headers:
        return ErrorStyle(Family.QUERY)  # a query-protocol client reads query errors
    return style_for(parsed.service_name, parsed.service.protocol, parsed.service.metadata)


def _error(
    style: ErrorStyle, problem: Problem, message: str | None, head: bool
) -> tuple[int, list[tuple[str, str]], bytes]:
    rendered: ErrorResponse = render(style, problem, message, head=head)
    headers = list(rendered.headers)
    headers.append(("Content-Length", str(len(rendered.body))))
    return rendered.status, headers, rendered.body


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class _TLSServer(_Server):
    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], context: ssl.SSLContext
    ) -> None:
        super().__init__(address, handler)
        self._context = context

    def finish_request(self, request: Any, client_address: Any) -> None:
        """The handshake runs here, on the request's own thread, not on the accepting one."""
        request.settimeout(_HANDSHAKE_SECONDS)  # a client that never speaks TLS must not hold a thread
        try:
            request = self._context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as err:  # a client that does not trust the CA says so here
            log.debug("gateway: TLS handshake with %s failed: %s", client_address, err)
            return
        request.settimeout(None)
        try:
            super().finish_request(request, client_address)
        finally:
            request.close()  # the server's own shutdown_request sees only the socket TLS took over


def _handler_for(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        pass

    Handler.gateway = gateway
    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    gateway: Gateway
    header_map: dict[str, str]

    def parse_request(self) -> bool:
        """The request line and headers, read with ``http1`` instead of the stdlib's email parser."""
        self.command = ""
        self.request_version = version = "HTTP/1.1"  # so an error reply has a status line
        self.close_connection = True
        self.requestline = str(self.raw_requestline, "latin-1").rstrip("\r\n")
        parts = self.requestline.split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            self.send_error(400, "Bad request line")
            return False
        self.command, self.path, version = parts
        self.request_version = version
        try:
            self.header_map = header_dict(read_header_pairs(self.rfile))
        except MalformedMessage as err:
            self.send_error(431 if "too" in str(err) else 400, str(err))
            return False
        connection = self.header_map.get("connection", "").lower()
        self.close_connection = "close" in connection or (
            version == "HTTP/1.0" and "keep-alive" not in connection
        )
        if self.header_map.get("expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return True

    def do_request(self) -> None:
        headers = self.header_map
        path, _, query = self.path.partition("?")
        if path.startswith(("http://", "https://")):  # absolute-form request target (a proxy client)
            path = "/" + path.split("/", 3)[-1] if path.count("/") >= 3 else "/"
        partial = IncomingRequest(self.command, path, query, headers, b"", self.client_address[0])
        try:
            credential = read_credential(partial)
            body = self._read_body(headers, credential)
        except GatewayError as err:
            self.close_connection = err.problem in (Problem.TOO_LARGE, Problem.MALFORMED_BODY)
            self._send(*_error(_style_of(partial, None), err.problem, err.message, self.command == "HEAD"))
            return
        request = IncomingRequest(self.command, path, query, headers, body, self.client_address[0])
        try:
            answer = self.gateway.handle(request, credential)
        except Exception:  # a bug in the gateway: answer, never forward, keep serving
            log.exception("gateway: internal error on %s %s", self.command, self.path)
            answer = _error(_style_of(request, credential), Problem.INTERNAL, None, self.command == "HEAD")
        self._send(*answer)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_request

    def _read_body(self, headers: dict[str, str], credential: Credential | None) -> bytes:
        limit = MAX_S3_BODY if credential is not None and credential.service == "s3" else MAX_BODY
        try:
            return read_body(self.rfile, headers, limit)
        except BodyTooLarge:
            raise GatewayError(Problem.TOO_LARGE) from None
        except MalformedMessage as err:
            raise GatewayError(
                Problem.MALFORMED_BODY, f"The request body could not be read: {err}."
            ) from None

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        reason = self.responses.get(status, ("",))[0]
        lines = [f"HTTP/1.1 {status} {reason}"]
        lines.extend(f"{name}: {value}" for name, value in headers)
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        self.wfile.write(head + body if len(body) < 65536 else head)
        if len(body) >= 65536:
            self.wfile.write(body)
        self.log_request(status)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("gateway: %s - %s", self.address_string(), format % args)
