"""A real SMTP server on 127.0.0.1 for tests (aiosmtpd), plain, STARTTLS or implicit TLS."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "digest-bot", "s3cret-pa55"


@dataclass
class Inbox:
    """What the server received: parsed messages with their envelope recipients."""

    messages: list[EmailMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)  # each message's bytes as received
    recipients: list[list[str]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.raw.append(envelope.content)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl CLI); skips the test without openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@contextmanager
def smtp_server(
    security: str = "none",
    *,
    folder: Path | None = None,
    smtputf8: bool = True,
    port: int | None = None,
    inbox: Inbox | None = None,
) -> Iterator[tuple[Inbox, int, Path | None]]:
    """Run a server (on `port`, else a free one); yields (inbox, port, CA file).
    'starttls'/'ssl' require a login; `smtputf8` False: a server that does not offer
    SMTPUTF8 (RFC 6531); `inbox`: an Inbox subclass with its own handlers (refusing a
    recipient, say)."""
    inbox = inbox or Inbox()
    port = port or free_port()
    cert = None
    kwargs: dict[str, Any] = {"enable_SMTPUTF8": smtputf8}
    if security != "none":
        assert folder is not None
        cert, key = make_certificate(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        kwargs.update(authenticator=inbox.authenticate, auth_required=True)
        if security == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        else:
            kwargs.update(ssl_context=context, auth_require_tls=False)
    with warnings.catch_warnings():
        # Implicit TLS: aiosmtpd cannot tell the socket is encrypted and warns about AUTH.
        warnings.simplefilter("ignore", UserWarning)
        controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield inbox, port, cert
    finally:
        controller.stop()


@contextmanager
def scripted_server(replies: list[bytes], *, linger_s: float = 0.0) -> Iterator[int]:
    """A raw TCP server on 127.0.0.1 that is not a real SMTP server: on each connection it sends
    replies[0] as the greeting, then one more reply per line it reads, then (after `linger_s`
    of silence, the connection open) hangs up. Yields the port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn, conn.makefile("rb") as lines:
                conn.settimeout(5)
                try:
                    for index, reply in enumerate(replies):
                        if index:
                            lines.readline()
                        conn.sendall(reply)
                    stop.wait(linger_s)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        listener.close()
