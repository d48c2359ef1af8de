"""A real HTTP server on 127.0.0.1 for tests, answering each path from a script of responses."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    """One scripted response; `delay_s` sleeps before answering, `truncate` lies about length.

    `etag`: sent as the ETag, and a request whose If-None-Match names it is answered 304 Not
    Modified with no body, as a real server answers a conditional request."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    truncate: bool = False
    etag: str | None = None


@dataclass
class Hit:
    path: str
    at: float
    headers: dict[str, str]


class FeedServer:
    """Serves scripted replies per path; the last reply of a script repeats.

    A route may name a path with its query string (matched exactly) or without one (matching any
    query); `hits` records every request with a server-side monotonic timestamp.
    """

    def __init__(self) -> None:
        self.scripts: dict[str, list[Reply]] = {}
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server._answer(self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def route(self, path: str, *replies: Reply) -> str:
        self.scripts[path] = list(replies)
        return self.base + path

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.hits.append(Hit(handler.path, time.monotonic(), dict(handler.headers.items())))
            # An exact path (with its query) wins; else the route for the path without query.
            script = self.scripts.get(handler.path) or self.scripts.get(
                handler.path.split("?", 1)[0], [Reply(404, b"not found")]
            )
            reply = script.pop(0) if len(script) > 1 else script[0]
        if reply.delay_s:
            time.sleep(reply.delay_s)
        if reply.etag is not None:
            headers = {**reply.headers, "ETag": reply.etag}
            if handler.headers.get("If-None-Match") == reply.etag:
                reply = Reply(304, b"", headers)
            else:
                reply = Reply(reply.status, reply.body, headers, truncate=reply.truncate)
        handler.send_response(reply.status)
        for key, value in reply.headers.items():
            handler.send_header(key, value)
        length = len(reply.body) * 2 if reply.truncate else len(reply.body)
        handler.send_header("Content-Length", str(length))
        handler.end_headers()
        try:
            handler.wfile.write(reply.body)
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        if reply.truncate:
            handler.close_connection = True


@contextmanager
def serve() -> Iterator[FeedServer]:
    """Start a FeedServer on an ephemeral loopback port for the duration of the block."""
    server = FeedServer()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
