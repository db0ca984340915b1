"""In-process calls to a WSGI application: the environ moto's own HTTP server would build, the answer as
an HTTP client would read it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from moto.server import MotoRequestHandler
from werkzeug.serving import BaseWSGIServer, make_server

from simulator.backend.moto_embedded import _keep_metadata_underscores
from simulator.gateway.in_process import Environ, InProcess
from simulator.gateway.upstream import Upstream

# Keys that differ between any two servers or requests: the input stream, the client's port, the socket.
_PER_CONNECTION = {"wsgi.input", "wsgi.errors", "werkzeug.socket", "REMOTE_PORT", "SERVER_SOFTWARE"}

CASES: list[tuple[str, str, list[tuple[str, str]], bytes]] = [
    ("GET", "/", [("host", "h")], b""),
    ("GET", "/bucket/key%20with%20spaces", [("host", "h")], b""),
    ("GET", "/bucket/a+b%2Bc", [("host", "h")], b""),
    ("GET", "/bucket/dir%2Fkey", [("host", "h")], b""),
    ("GET", "/bucket/%E2%82%AC%20%D0%BA%D0%BB%D1%8E%D1%87", [("host", "h")], b""),
    ("GET", "/bucket/\xe2\x82\xac-raw", [("host", "h")], b""),  # raw UTF-8 bytes, read as latin-1
    ("GET", "//bucket//double", [("host", "h")], b""),
    ("GET", "/bucket/%25literal%2541", [("host", "h")], b""),
    ("GET", "/bucket/not-utf8-%FF%FE", [("host", "h")], b""),
    ("GET", "http://absolute:9/bucket/k?a=1", [("host", "h")], b""),
    ("GET", "/bucket?list-type=2&prefix=a%2Fb%20c&delimiter=%2F", [("host", "h")], b""),
    ("GET", "/bucket/k?x-id=GetObject&versionId=a+b", [("host", "h")], b""),
    ("HEAD", "/bucket/k", [("host", "h"), ("range", "bytes=0-1")], b""),
    ("DELETE", "/bucket/k", [("host", "h")], b""),
    ("POST", "/", [("host", "h"), ("content-type", "application/x-amz-json-1.1")], b""),
    (
        "POST",
        "/",
        [("host", "h"), ("content-type", "application/x-www-form-urlencoded"), ("x-amz-target", "T.Op")],
        b"Action=GetCallerIdentity&Version=2011-06-15",
    ),
    (
        "PUT",
        "/bucket/meta",
        [
            ("host", "127.0.0.1:4566"),
            ("x-amz-meta-my_key", "under"),
            ("x-amz-meta-other_key", "one"),
            ("x-amz-meta-other_key", "two"),
            ("x-amz-meta-plain", "dash"),
            ("x-amz-meta-both_ways", "underscored"),
            ("x-amz-meta-both-ways", "dashed"),
            ("x_not_meta", "dropped"),
            ("x-amz-tagging", "a=1"),
            ("x-amz-tagging", "b=2"),
            ("content-type", "text/plain"),
        ],
        b"body bytes \x00\xff",
    ),
]


@pytest.fixture
def recorded() -> Iterator[tuple[list[Environ], BaseWSGIServer]]:
    """moto's HTTP server as ThreadedMotoServer runs it, serving an application that keeps each environ."""
    seen: list[Environ] = []

    def app(environ: Environ, start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        seen.append({**environ, "body": body})
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield seen, server
    server.shutdown()
    thread.join(5)


@pytest.mark.parametrize(("method", "target", "headers", "body"), CASES)
def test_environ_is_the_one_motos_server_builds(recorded, method, target, headers, body):
    seen, server = recorded
    netloc = f"127.0.0.1:{server.server_address[1]}"
    upstream = Upstream(f"http://{netloc}")
    assert upstream.send(method, target, headers, body).status == 200
    upstream.close()

    def in_process_app(environ: Environ, start_response: Any) -> list[bytes]:
        return server.app(environ, start_response)

    assert (
        InProcess(in_process_app, netloc, _keep_metadata_underscores)
        .send(method, target, headers, body)
        .status
        == 200
    )
    over_http, in_process = ({k: v for k, v in e.items() if k not in _PER_CONNECTION} for e in seen)
    assert in_process == over_http


def _app(status: str, headers: list[tuple[str, str]], chunks: list[bytes]) -> Any:
    def app(environ: Environ, start_response: Any) -> list[bytes]:
        start_response(status, headers)
        return chunks

    return app


def test_answer_status_headers_body():
    app = _app("201 Created", [("Content-Type", "text/plain"), ("X-A", "1")], [b"ab", b"", b"cd"])
    answer = InProcess(app, "h:1").send("PUT", "/x", [], b"data")
    assert (answer.status, answer.reason, answer.body) == (201, "Created", b"abcd")
    assert answer.headers[:2] == (("Content-Type", "text/plain"), ("X-A", "1"))
    assert [name for name, _ in answer.headers[2:]] == ["Date"]  # an HTTP server adds one


def test_a_date_the_application_sets_is_kept():
    answer = InProcess(_app("200 OK", [("date", "then")], [b""]), "h:1").send("GET", "/", [], b"")
    assert answer.headers == (("date", "then"),)


@pytest.mark.parametrize(
    ("method", "status"), [("HEAD", "200 OK"), ("GET", "204 No Content"), ("GET", "304 X")]
)
def test_no_body_for_head_204_304(method, status):
    app = _app(status, [("Content-Length", "5")], [b"hello"])
    answer = InProcess(app, "h:1").send(method, "/", [], b"")
    assert answer.body == b"" and ("Content-Length", "5") in answer.headers


def test_write_callable_and_close():
    closed = []

    class Result:
        def __iter__(self) -> Iterator[bytes]:
            yield b"-iterated"

        def close(self) -> None:
            closed.append(True)

    def app(environ: Environ, start_response: Any) -> Result:
        start_response("200 OK", [])(b"written")
        return Result()

    assert InProcess(app, "h:1").send("GET", "/", [], b"").body == b"written-iterated"
    assert closed == [True]


def test_an_error_page_replaces_the_first_start_response():
    def app(environ: Environ, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("A", "1")])
        start_response("500 Internal Server Error", [("B", "2")], (None, None, None))
        return [b"oops"]

    answer = InProcess(app, "h:1").send("GET", "/", [], b"")
    assert (answer.status, answer.headers[0], answer.body) == (500, ("B", "2"), b"oops")


def test_a_failing_application_answers_500_and_is_logged(caplog):
    def app(environ: Environ, start_response: Any) -> list[bytes]:
        raise NotImplementedError("moto does not do this")

    def silent(environ: Environ, start_response: Any) -> list[bytes]:
        return [b"no start_response"]

    with caplog.at_level(logging.ERROR, logger="simulator.gateway.in_process"):
        for broken in (app, silent):
            answer = InProcess(broken, "h:1").send("POST", "/op", [], b"")
            assert answer.status == 500
            assert answer.body == b"The AWS backend failed on this request; see the simulator's log."
    assert [r.getMessage() for r in caplog.records] == ["backend: internal error on POST /op"] * 2
    assert "moto does not do this" in caplog.text


def test_netloc_names_server_and_port():
    transport = InProcess(_app("200 OK", [], []), "127.0.0.1:4566")
    environ = transport.environ("GET", "/", [("Host", "x")], b"")
    assert transport.netloc == "127.0.0.1:4566"
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"], environ["HTTP_HOST"]) == (
        "127.0.0.1",
        "4566",
        "x",
    )
