"""E-mail: a rendered digest → a multipart message (text + HTML, chart inline) → an SMTP server.

The one module that speaks SMTP, as `fetch` is the one that speaks HTTP. Security is STARTTLS or
implicit TLS (certificates verified); 'none' is for a relay on the same host and never carries a
password. Credentials arrive as arguments (run reads them from environment variables named in the
config) and are never logged or put in error messages. Imports errors, the standard library and
`idna`.

An address whose domain is not ASCII (`forscher@universität.de`) goes as its ASCII form
(`mail_address`: `forscher@xn--universitt-y5a.de`), which every server takes; only a local part
beyond ASCII needs the server's SMTPUTF8 (RFC 6531), and one without it is named (`_lacks`).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.header import Header
from email.message import EmailMessage
from email.policy import Policy
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, BinaryIO

import idna

from pipeline.errors import DeliveryError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to submit mail; `password` is kept out of repr()."""

    host: str
    port: int
    security: str = "starttls"  # "starttls" | "ssl" | "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_s: float = 30.0
    ca_file: Path | None = None


def make_message(
    *,
    subject: str,
    sender: str,
    recipients: Sequence[str],
    text: str,
    html: str,
    images: Mapping[str, bytes] | None = None,
) -> EmailMessage:
    """multipart/alternative (text, then HTML); images named in the HTML's src go inline.
    Addresses go as `mail_address` writes them."""
    message = EmailMessage()
    one_line = " ".join(subject.split())  # no header injection through newlines
    message["Subject"] = one_line if one_line.isascii() else _EncodedSubject(one_line)
    sender = mail_address(sender)
    message["From"] = sender
    message["To"] = ", ".join(mail_address(r) for r in recipients)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(text, subtype="plain", charset="utf-8")
    cids = {name: make_msgid(domain="digest.local") for name in (images or {})}
    for name, cid in cids.items():
        html = html.replace(f'src="{name}"', f'src="cid:{cid[1:-1]}"')
    message.add_alternative(html, subtype="html", charset="utf-8")
    if cids:
        html_part = message.get_body(preferencelist=("html",))
        assert isinstance(html_part, EmailMessage)  # we just added it
        for name, cid in cids.items():
            html_part.add_related(
                (images or {})[name], "image", "png", cid=cid, filename=name, disposition="inline"
            )
    return message


def mail_address(address: str) -> str:
    """`address` as it is sent: with a domain beyond ASCII in its ASCII form, when its local
    part is ASCII (`forscher@universität.de` → `forscher@xn--universitt-y5a.de`); else as
    written. Round 28: such an address needed SMTPUTF8 (smtplib asks for it for any address
    beyond ASCII), and a server without it refused the digest.

    IDNA 2008 with UTS #46 mapping (the `idna` package, non-transitional), not Python's own
    "idna" codec (IDNA 2003): that one maps ß to "ss" and ς to σ, so `ada@straße.de` would go
    to strasse.de, another domain (DENIC registers straße.de as xn--strae-oqa.de); the mapping
    folds case (`Universität.DE`) as a reader types it. A domain IDNA 2008 refuses (a symbol,
    a misplaced hyphen) is left as written: the server needs SMTPUTF8 for it, and says so."""
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii() or not local.isascii():
        return address
    try:
        return f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"
    except UnicodeError:  # idna.IDNAError and its kin
        return address


def _readable(address: str) -> str:
    """An address as sent, its domain's ASCII form (`xn--`) shown as the letters it stands for,
    as a reader wrote it in the config (the server's reply beside it quotes the form sent)."""
    local, at, domain = address.rpartition("@")
    if not at or "xn--" not in domain.lower():
        return address
    try:
        return f"{local}@{idna.decode(domain)}"
    except UnicodeError:  # idna.IDNAError and its kin
        return address


class _EncodedSubject(str):
    """A Subject with non-ASCII text, folded into encoded words that hold its spaces.

    The email policy's own folder put a space between two encoded words where it broke the
    line, and a reader drops such a space (RFC 2047, 6.2): a long Chinese or Arabic subject
    arrived with two of its words run together. A value with a `name` is a header object to
    the policy, which stores it as it is and lets it fold itself (`email.policy`).
    """

    name = "Subject"

    def fold(self, *, policy: Policy) -> str:
        encoded = Header(str(self), "utf-8", header_name=self.name).encode(linesep=policy.linesep)
        return f"{self.name}: {encoded}{policy.linesep}"


def send_message(message: EmailMessage, server: SmtpServer) -> dict[str, str]:
    """Submit the message; DeliveryError says what failed (never with the password).

    Returns the recipients the server refused while taking the message for the others (each
    with its reply): the caller must not report the digest as sent to them.
    """
    context = _tls_context(server.ca_file)
    where = f"{server.host}:{server.port}"
    replies = _Replies()
    step = "starttls"  # what SMTPNotSupportedError is about: the extension the step needs
    try:
        smtp: smtplib.SMTP
        if server.security == "ssl":
            smtp = _SMTPSSL(
                server.host, server.port, timeout=server.timeout_s, context=context, replies=replies
            )
        else:
            smtp = _SMTP(server.host, server.port, timeout=server.timeout_s, replies=replies)
        try:
            smtp.ehlo()
            if server.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if server.username:
                step = "login"
                smtp.login(server.username, server.password or "")
            step = "send"
            refused = smtp.send_message(message)
        except BaseException:
            smtp.close()
            raise
    except smtplib.SMTPConnectError as e:  # a greeting other than 220
        raise DeliveryError(
            f"SMTP server {where} answered {replies.quoted()} instead of an SMTP greeting"
            " ('220 ...')" + (": is smtp_port an SMTP server's port?" if e.smtp_code == -1 else "")
        ) from e
    except smtplib.SMTPAuthenticationError as e:
        raise DeliveryError(f"SMTP server {where} rejected the login (code {e.smtp_code})") from e
    except smtplib.SMTPNotSupportedError as e:
        raise DeliveryError(f"SMTP server {where} {_lacks(step, message)}") from e
    except smtplib.SMTPRecipientsRefused as e:  # each with its reply: no such user, no relay
        answers = _replies_to(e.recipients).items()
        named = ", ".join(f"{_readable(a)} ({reply})" for a, reply in answers)
        raise DeliveryError(f"SMTP server {where} refused every recipient: {named}") from e
    except smtplib.SMTPResponseException as e:
        if e.smtp_code == -1:  # no status code: smtplib's message lacks the first 4 characters
            raise DeliveryError(
                f"SMTP server {where} answered {replies.quoted()}, which is not SMTP"
            ) from e
        answer = (
            e.smtp_error.decode("utf-8", errors="replace")
            if isinstance(e.smtp_error, bytes)
            else e.smtp_error
        )
        raise DeliveryError(f"SMTP server {where} failed: {e.smtp_code} {answer}") from e
    except smtplib.SMTPServerDisconnected as e:
        if isinstance(e.__context__, TimeoutError):  # smtplib says "closed" for a read timeout
            raise DeliveryError(_silent(server, replies)) from e
        after = f"after {replies.quoted()}" if replies.last else "without a greeting"
        raise DeliveryError(f"SMTP server {where} closed the connection {after}") from e
    except smtplib.SMTPException as e:
        raise DeliveryError(f"SMTP server {where} failed: {e}") from e
    except ssl.SSLError as e:
        plain = server.security == "ssl" and e.reason == "WRONG_VERSION_NUMBER"
        hint = (
            ': it answered in plain text, as a STARTTLS port (587) does: set security = "starttls"'
            if plain
            else ""
        )
        raise DeliveryError(f"TLS with SMTP server {where} failed: {e.reason or e}{hint}") from e
    except OSError as e:
        raise DeliveryError(f"cannot reach SMTP server {where}: {e.strerror or e}") from e
    _quit(smtp, where)
    refusals = _replies_to(refused)
    for address, reply in refusals.items():
        logger.warning("SMTP server %s refused %s: %s", where, address, reply)
    logger.info("sent %r via %s", message["Subject"], where)
    return refusals


def _silent(server: SmtpServer, replies: _Replies) -> str:
    """What to say of a server that stopped answering within timeout_s. Before, smtplib's "closed
    the connection without a greeting" sent the reader to look for a refusal; with security
    "starttls" on a port that speaks TLS first (465) the greeting never comes."""
    where = f"{server.host}:{server.port}"
    if replies.last.startswith(b"354"):  # round 28: the message had gone out whole
        return (
            f"SMTP server {where} did not answer within {server.timeout_s:g} s after the whole"
            " message was sent: it may have been delivered, and the next build mails it again"
            " (a longer [email] timeout_s waits for a slow server)"
        )
    if replies.last:
        waited = f"{server.timeout_s:g} s after {replies.quoted()}"
        return f"SMTP server {where} did not answer within {waited}"
    hint = (
        ': does the port speak TLS first (465, say)? then set security = "ssl"'
        if server.security != "ssl"
        else ""
    )
    return f"SMTP server {where} sent no greeting within {server.timeout_s:g} s{hint}"


def _tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """The TLS context, trusting `ca_file` when given. A ca_file that is missing or holds no PEM
    certificate is named (DeliveryError): before, the send ended in a traceback
    (FileNotFoundError, ssl.SSLError) before any connection was made."""
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except ssl.SSLError as e:  # read, but no certificate in it (a key, a DER file, a typo'd copy)
        raise DeliveryError(
            f"email.ca_file {ca_file} holds no PEM certificate ({e.reason or e})"
        ) from e
    except OSError as e:
        raise DeliveryError(f"cannot read email.ca_file {ca_file}: {e.strerror or e}") from e


def _replies_to(refused: Mapping[str, tuple[int, bytes]]) -> dict[str, str]:
    """Each refused address with the server's reply to it ('550 5.1.1 ... no such user'), on
    one line: smtplib joins the lines of a multi-line reply (Gmail's) with newlines."""
    return {
        address: " ".join([str(code), *reason.decode("utf-8", errors="replace").split()])
        for address, (code, reason) in refused.items()
    }


def _quit(smtp: smtplib.SMTP, where: str) -> None:
    """End a session whose message the server has taken. Whatever QUIT gets (a 421 from a
    relay shutting down, a dropped connection, a timeout) the message is on its way: raising
    here reported the digest as not sent, and each later run mailed it again."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError) as e:
        logger.info("SMTP server %s took the message; ending the session failed: %s", where, e)
    finally:
        smtp.close()


def _lacks(step: str, message: EmailMessage) -> str:
    """What the server lacks for `step`, said to the reader who must change something."""
    if step == "login":
        return "offers no login (AUTH): is a login needed there?"
    if step == "send":  # smtplib needs SMTPUTF8 only for a non-ASCII address (RFC 6531)
        addresses = [a.addr_spec for key in ("From", "To") for a in message[key].addresses]
        named = ", ".join(repr(a) for a in addresses if not a.isascii())
        return f"does not accept non-ASCII addresses (no SMTPUTF8), which {named} needs"
    return "does not support STARTTLS"


class _Replies:
    """The last line an SMTP server sent. For a reply with no status code smtplib keeps only what
    follows its first four characters ("HTTP/1.1 400 Bad Request" became "/1.1 400 Bad Request"),
    so an error could not quote what the server said."""

    def __init__(self) -> None:
        self.last = b""

    def quoted(self) -> str:
        """The line as a quoted, one-line string of at most 100 characters."""
        text = self.last.decode("utf-8", errors="replace").strip()
        return repr(text if len(text) <= 100 else text[:97] + "...") if text else "nothing"


class _ReplyFile:
    """The file smtplib reads replies from, noting each line in `_Replies`."""

    def __init__(self, file: BinaryIO, replies: _Replies) -> None:
        self._file = file
        self._replies = replies

    def readline(self, size: int = -1) -> bytes:
        line = self._file.readline(size)
        if line:
            self._replies.last = line
        return line

    def close(self) -> None:
        self._file.close()


class _SMTP(smtplib.SMTP):
    """smtplib.SMTP whose replies are read through `_ReplyFile`."""

    def __init__(self, *args: Any, replies: _Replies, **kwargs: Any) -> None:
        self._replies = replies
        super().__init__(*args, **kwargs)

    def getreply(self) -> tuple[int, bytes]:
        if self.file is None and self.sock is not None:  # a new connection, or after STARTTLS
            self.file = _ReplyFile(self.sock.makefile("rb"), self._replies)
        return super().getreply()


class _SMTPSSL(_SMTP, smtplib.SMTP_SSL):
    """The same over implicit TLS."""
