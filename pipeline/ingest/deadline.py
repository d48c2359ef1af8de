"""An httpcore network backend that ends every socket call by the request's deadline.

httpcore bounds each socket read on its own, so a server dripping a byte a second never times out.
`fetch` sets `REQUEST_END` around each request; every read, write, connect and TLS handshake of
the client's streams then gets at most the time left (ReadTimeout once it is spent).

Name resolution is bounded too: `socket.getaddrinfo` has no timeout of its own (a resolver that
never answers held a source forever), so `connect_tcp` resolves in a daemon thread, waits at most
the connect timeout or the time left, and connects to the addresses it got, in order."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

import httpcore

#: The monotonic time the request in flight (in this thread or task) must end by, or None.
REQUEST_END: ContextVar[float | None] = ContextVar("request_end", default=None)


def _time_left(timeout: float | None) -> float | None:
    """`timeout` shortened to what is left of the request's deadline; ReadTimeout past it."""
    end = REQUEST_END.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the whole request took too long")
    return left if timeout is None else min(timeout, left)


def resolve(host: str, port: int, timeout: float | None) -> list[str]:
    """The addresses of `host`, asked of the OS resolver in a daemon thread given `timeout` s.

    ConnectTimeout when the resolver has not answered in time (its thread is left to finish on
    its own), ConnectError when it fails (no such host, no network, a name it cannot be asked).
    """
    answer: list[list[str] | OSError | UnicodeError] = []

    def ask() -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            answer.append(list(dict.fromkeys(str(info[4][0]) for info in infos)))
        except (OSError, UnicodeError) as e:
            # UnicodeError: a name no resolver can be asked (an empty label, one over 63
            # characters); uncaught, it ended the thread and read as "no DNS answer".
            answer.append(e)

    thread = threading.Thread(target=ask, name=f"resolve {host}", daemon=True)
    thread.start()
    thread.join(timeout)
    if not answer:
        raise httpcore.ConnectTimeout(f"no DNS answer for {host} within {timeout:g} s")
    if isinstance(answer[0], UnicodeError):
        problem = f"host name {host!r} cannot be looked up ({answer[0]})"
        raise httpcore.ConnectError(problem) from answer[0]
    if isinstance(answer[0], OSError):
        raise httpcore.ConnectError(str(answer[0])) from answer[0]
    return answer[0]


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read, write and TLS handshake ends by the request deadline.

    httpcore computes the read timeout once per response head: a server dripping a byte a second
    keeps each read under it forever. Asking the deadline on every socket call bounds the whole.
    """

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _time_left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _time_left(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, _time_left(timeout))
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend with every stream a `_DeadlineStream`."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        """Resolve `host` within the time left, then connect to its addresses in turn."""
        errors: list[httpcore.ConnectError] = []
        for address in resolve(host, port, _time_left(timeout)):
            try:
                stream = self._inner.connect_tcp(
                    address, port, _time_left(timeout), local_address, socket_options
                )
            except httpcore.ConnectError as e:  # refused on this address: try the next
                errors.append(e)
                continue
            return _DeadlineStream(stream)
        raise errors[-1] if errors else httpcore.ConnectError(f"no address for {host}")

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(path, _time_left(timeout), socket_options)
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)
