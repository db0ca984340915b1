"""A ``Transport`` that calls a WSGI application in this process: the gateway's way into embedded moto,
without a socket, an HTTP parser or a thread switch per call.

The environ is the one werkzeug's development server (moto's own HTTP server) builds for the same
request, so the application cannot tell the two ways in apart: PATH_INFO is the target's path
percent-decoded as UTF-8, and REQUEST_URI and RAW_URI keep the target as sent (moto matches S3 keys
against it: an encoded slash must stay encoded); every str is WSGI's "bytes as latin-1"; headers whose
names hold an underscore are dropped, since WSGI would fold ``X_A`` and ``X-A`` into one key, unless
``extra_environ`` puts them back (moto's server does for S3 metadata).
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote, urlsplit

from .upstream import NO_BODY_STATUSES, Response, declared_length

log = logging.getLogger(__name__)

Environ = dict[str, Any]
StartResponse = Callable[..., Callable[[bytes], object]]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]
# Called with the environ and the request's headers after the standard keys are set.
ExtraEnviron = Callable[[Environ, Sequence[tuple[str, str]]], None]

_FAILED = Response(
    500,
    "Internal Server Error",
    (("Content-Type", "text/plain; charset=utf-8"),),
    b"The AWS backend failed on this request; see the simulator's log.",
)


class InProcess:
    """Sends requests to ``app`` as if it served ``netloc`` (``host:port``, usually also served over HTTP)."""

    def __init__(self, app: WsgiApp, netloc: str, extra_environ: ExtraEnviron | None = None) -> None:
        self._app = app
        self._netloc = netloc
        self._server_name, _, self._server_port = netloc.rpartition(":")
        self._extra_environ = extra_environ

    @property
    def netloc(self) -> str:
        return self._netloc

    def send(self, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes) -> Response:
        """Never raises ``OSError``: an application that fails answers 500, as its HTTP server would."""
        try:
            environ = self.environ(method, target, headers, body)
            return _call(self._app, environ, method)
        except Exception:
            log.exception("backend: internal error on %s %s", method, target)
            return _FAILED

    def close(self) -> None:
        """Nothing to close: there are no connections."""

    def environ(self, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes) -> Environ:
        if target.startswith("//"):  # http.server's guard against open redirects, which werkzeug sees
            target = "/" + target.lstrip("/")
        url = urlsplit(target)
        environ: Environ = {
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": _as_latin1(unquote(url.path)),
            "QUERY_STRING": _as_latin1(url.query),
            "REQUEST_URI": _as_latin1(target),
            "RAW_URI": _as_latin1(target),
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": 0,
            "SERVER_NAME": self._server_name,
            "SERVER_PORT": self._server_port,
            "SERVER_PROTOCOL": "HTTP/1.1",
        }
        for name, value in headers:
            if "_" in name:
                continue
            key = name.upper().replace("-", "_")
            value = value.replace("\r\n", "")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = f"HTTP_{key}"
                if key in environ:
                    value = f"{environ[key]},{value}"
            environ[key] = value
        length = declared_length(method, body)
        if length is not None:
            environ["CONTENT_LENGTH"] = str(length)
        if url.scheme and url.netloc:  # an absolute target names the host
            environ["HTTP_HOST"] = url.netloc
        if self._extra_environ is not None:
            self._extra_environ(environ, headers)
        return environ


def _as_latin1(text: str) -> str:
    """WSGI carries bytes in str as latin-1: the UTF-8 bytes of ``text``, one char each."""
    return text.encode().decode("latin-1")


def _call(app: WsgiApp, environ: Environ, method: str) -> Response:
    started: list[tuple[str, list[tuple[str, str]]]] = []
    parts: list[bytes] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], object]:
        # Nothing is sent before the application returns, so a later call (an error page) replaces it.
        started[:] = [(status, headers)]
        return parts.append

    result = app(environ, start_response)
    try:
        parts.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    if not started:
        raise RuntimeError("the WSGI application returned without calling start_response")
    status_line, header_list = started[0]
    code, _, reason = status_line.partition(" ")
    status = int(code)
    headers = tuple(header_list)
    if not any(name.lower() == "date" for name, _ in headers):
        headers += (("Date", formatdate(usegmt=True)),)  # an HTTP server adds one
    body = b"" if method == "HEAD" or status in NO_BODY_STATUSES else b"".join(parts)
    return Response(status, reason, headers, body)
