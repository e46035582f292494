"""A real HTTP server on loopback for the collector's tests and benchmarks.

One `ThreadingHTTPServer` in a daemon thread, with a small routing table: static routes
(with ETag / Last-Modified and 304 answers), files, custom handlers, and ready-made faults
(slow, status, flaky, redirects, endless body, gzip bomb, rate limiting). Every request is
recorded so tests can count what the fetcher really sent.
"""

from __future__ import annotations

import functools
import sys
import threading
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import NamedTuple
from urllib.parse import urlsplit

import pytest

Handler = Callable[[BaseHTTPRequestHandler], None]

_DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class RequestRecord(NamedTuple):
    method: str
    path: str  # with query string
    headers: dict[str, str]  # lower-case names
    body: bytes


def respond(
    handler: BaseHTTPRequestHandler,
    body: bytes | str = b"",
    *,
    status: int = 200,
    content_type: str = "text/html; charset=utf-8",
    headers: dict[str, str] | None = None,
) -> None:
    """Write one complete response (with Content-Length, so keep-alive keeps working)."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    if status in (204, 304):
        data = b""
    handler.send_response(status)
    if status not in (204, 304):
        handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    if data and handler.command != "HEAD":
        handler.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler stuck in a slow route must not block shutdown
    allow_reuse_address = True
    owner: LoopbackServer

    def handle_error(self, request: object, client_address: object) -> None:
        # Stay quiet on stderr; a handler's own bug is kept for the test to inspect.
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, _DISCONNECTS):
            self.owner.errors.append(error)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like real sites, so pooling is exercised
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib name)
        pass

    def _dispatch(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        owner._record(RequestRecord(self.command, self.path, headers, body))
        route = owner._route(self.path)
        try:
            if route is None:
                respond(self, "not found", status=404, content_type="text/plain")
            else:
                route(self)
        except _DISCONNECTS:
            self.close_connection = True

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _dispatch  # noqa: N815 (stdlib API)


class LoopbackServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.requests: list[RequestRecord] = []
        self.errors: list[BaseException] = []  # exceptions raised by handlers (not disconnects)
        self._routes: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> LoopbackServer:
        self._stopping.clear()
        server = _Server((self.host, 0), _RequestHandler)
        server.owner = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # wakes delayed and endless handlers
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("LoopbackServer is not started")
        return f"http://{self.host}:{self._server.server_address[1]}"

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("LoopbackServer is not started")
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    # --- bookkeeping -----------------------------------------------------------------

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self.requests.append(record)

    def _route(self, path: str) -> Handler | None:
        with self._lock:
            return self._routes.get(path) or self._routes.get(urlsplit(path).path)

    def count(self, path: str) -> int:
        """Requests seen for `path` (exact match when it has a query, else any query)."""
        with self._lock:
            if "?" in path:
                return sum(1 for r in self.requests if r.path == path)
            return sum(1 for r in self.requests if urlsplit(r.path).path == path)

    def sleep(self, seconds: float) -> bool:
        """Wait in a handler; returns early (True) when the server is stopping."""
        return self._stopping.wait(seconds)

    # --- routes ----------------------------------------------------------------------

    def add_handler(self, path: str, fn: Handler) -> None:
        with self._lock:
            self._routes[path] = fn

    def add(
        self,
        path: str,
        body: bytes | str,
        *,
        status: int = 200,
        content_type: str = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        delay: float = 0.0,
    ) -> None:
        extra = dict(headers or {})
        if etag is not None:
            extra["ETag"] = etag
        if last_modified is not None:
            extra["Last-Modified"] = last_modified

        def handle(req: BaseHTTPRequestHandler) -> None:
            if delay and self.sleep(delay):
                return
            if _not_modified(req, etag, last_modified):
                respond(req, status=304, headers=extra)
            else:
                respond(req, body, status=status, content_type=content_type, headers=extra)

        self.add_handler(path, handle)

    def add_file(self, path: str, file: Path, content_type: str) -> None:
        # Read at request time so a test may rewrite the file between fetches.
        self.add_handler(
            path, lambda req: respond(req, Path(file).read_bytes(), content_type=content_type)
        )

    # --- faults ----------------------------------------------------------------------

    def add_slow(self, path: str, seconds: float, body: bytes | str = "slow") -> None:
        self.add(path, body, delay=seconds)

    def add_status(self, path: str, status: int, headers: dict[str, str] | None = None) -> None:
        self.add(
            path, f"status {status}", status=status, content_type="text/plain", headers=headers
        )

    def add_flaky(
        self, path: str, failures: int, then_body: bytes | str = "ok", *, status: int = 500
    ) -> None:
        """`status` (5xx) for the first `failures` requests, then 200 with `then_body`."""
        self._add_countdown(path, failures, then_body, status=status, headers={})

    def add_rate_limited(
        self, path: str, retry_after: str = "1", then_body: bytes | str = "ok", *, times: int = 1
    ) -> None:
        """429 with Retry-After for the first `times` requests, then 200 with `then_body`."""
        self._add_countdown(
            path, times, then_body, status=429, headers={"Retry-After": retry_after}
        )

    def _add_countdown(
        self,
        path: str,
        failures: int,
        then_body: bytes | str,
        *,
        status: int,
        headers: dict[str, str],
    ) -> None:
        remaining = [failures]

        def handle(req: BaseHTTPRequestHandler) -> None:
            with self._lock:
                fail = remaining[0] > 0
                remaining[0] -= 1
            if fail:
                respond(
                    req,
                    f"status {status}",
                    status=status,
                    content_type="text/plain",
                    headers=headers,
                )
            else:
                respond(req, then_body)

        self.add_handler(path, handle)

    def add_redirect(self, path: str, to: str, *, status: int = 302) -> None:
        self.add_handler(path, lambda req: respond(req, status=status, headers={"Location": to}))

    def add_redirect_loop(self, path: str) -> None:
        """`path` -> `path?again` -> `path` -> ... (both hit this route)."""

        def handle(req: BaseHTTPRequestHandler) -> None:
            target = path if urlsplit(req.path).query else path + "?again"
            respond(req, status=302, headers={"Location": target})

        self.add_handler(path, handle)

    def add_endless(self, path: str, chunk_size: int = 64 * 1024) -> None:
        """A body without length that never ends, until the client hangs up or we stop."""
        chunk = b"x" * chunk_size

        def handle(req: BaseHTTPRequestHandler) -> None:
            req.close_connection = True
            req.send_response(200)
            req.send_header("Content-Type", "text/plain")
            req.send_header("Connection", "close")
            req.end_headers()
            while not self._stopping.is_set():
                req.wfile.write(chunk)

        self.add_handler(path, handle)

    def add_gzip_bomb(self, path: str, decompressed_size: int = 200 * 1024 * 1024) -> None:
        """Content-Encoding: gzip; a few hundred KB on the wire, `decompressed_size` of zeros."""
        payload = _gzip_zeros(decompressed_size)
        self.add_handler(
            path,
            lambda req: respond(
                req, payload, content_type="text/html", headers={"Content-Encoding": "gzip"}
            ),
        )


def _not_modified(req: BaseHTTPRequestHandler, etag: str | None, last_modified: str | None) -> bool:
    # RFC 9110: If-None-Match wins over If-Modified-Since when both are sent.
    if_none_match = req.headers.get("If-None-Match")
    if etag is not None and if_none_match is not None:
        tags = [t.strip() for t in if_none_match.split(",")]
        return etag in tags or "*" in tags
    since = req.headers.get("If-Modified-Since")
    return last_modified is not None and since is not None and since == last_modified


@functools.lru_cache(maxsize=4)
def _gzip_zeros(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip container
    block = bytes(1024 * 1024)
    parts = []
    for start in range(0, size, len(block)):
        parts.append(packer.compress(block[: min(len(block), size - start)]))
    parts.append(packer.flush())
    return b"".join(parts)


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    """A started loopback server on 127.0.0.1, stopped after the test."""
    server = LoopbackServer().start()
    try:
        yield server
    finally:
        server.stop()
    # A bug in a test's own handler otherwise shows only as a dropped connection.
    assert not server.errors, f"loopback handlers raised: {server.errors!r}"
