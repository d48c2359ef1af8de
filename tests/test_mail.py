"""mail.py against a real SMTP server on 127.0.0.1: plain, STARTTLS and implicit TLS, with login."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from smtpserver import PASSWORD, USER, Inbox, free_port, scripted_server, smtp_server

from pipeline.digest.mail import SmtpServer, mail_address, make_message, send_message
from pipeline.errors import DeliveryError

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _message() -> object:
    return make_message(
        subject="Digest · 2025-W24\nBcc: victim@example.org",
        sender="digest@example.org",
        recipients=["ada@example.org", "alan@example.org"],
        text="Plain text body\n",
        html='<p>HTML body</p><img alt="chart" src="2025-W24-trends.png">',
        images={"2025-W24-trends.png": PNG},
    )


def test_send_message_delivers_text_html_and_inline_chart() -> None:
    with smtp_server("none") as (inbox, port, _):
        send_message(_message(), SmtpServer("127.0.0.1", port, security="none"))  # type: ignore[arg-type]
    assert inbox.recipients == [["ada@example.org", "alan@example.org"]]
    received = inbox.messages[0]
    assert received["Subject"] == "Digest · 2025-W24 Bcc: victim@example.org"  # one header line
    assert received["Bcc"] is None
    assert received.get_content_type() == "multipart/alternative"
    text = received.get_body(preferencelist=("plain",))
    html = received.get_body(preferencelist=("html",))
    assert text is not None and text.get_content().replace("\r\n", "\n") == "Plain text body\n"
    assert html is not None and "<p>HTML body</p>" in html.get_content()
    images = [p for p in received.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0].get_content() == PNG
    cid = images[0]["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html.get_content()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_send_message_logs_in_over_tls(security: str, tmp_path: Path) -> None:
    with smtp_server(security, folder=tmp_path) as (inbox, port, cert):
        server = SmtpServer(
            "127.0.0.1", port, security=security, username=USER, password=PASSWORD, ca_file=cert
        )
        send_message(_message(), server)  # type: ignore[arg-type]
    assert inbox.logins == [USER]
    assert len(inbox.messages) == 1


def test_send_message_wrong_password_is_a_delivery_error_without_the_password(
    tmp_path: Path,
) -> None:
    with smtp_server("starttls", folder=tmp_path) as (inbox, port, cert):
        server = SmtpServer("127.0.0.1", port, username=USER, password="wrong-horse", ca_file=cert)
        with pytest.raises(DeliveryError, match="rejected the login") as info:
            send_message(_message(), server)  # type: ignore[arg-type]
    assert "wrong-horse" not in str(info.value) and "wrong-horse" not in repr(server)
    assert inbox.messages == []


def test_send_message_refuses_an_untrusted_certificate(tmp_path: Path) -> None:
    with smtp_server("starttls", folder=tmp_path) as (inbox, port, _):
        server = SmtpServer("127.0.0.1", port, username=USER, password=PASSWORD)
        with pytest.raises(DeliveryError, match="TLS"):
            send_message(_message(), server)  # type: ignore[arg-type]
    assert inbox.messages == []


def test_send_message_to_a_closed_port_is_a_delivery_error() -> None:
    server = SmtpServer("127.0.0.1", free_port(), security="none", timeout_s=5)
    with pytest.raises(DeliveryError, match="cannot reach SMTP server"):
        send_message(_message(), server)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("replies", "message"),
    [
        (
            [b"HTTP/1.1 400 Bad Request\r\n\r\n"],
            "answered 'HTTP/1.1 400 Bad Request' instead of an SMTP greeting ('220 ...'):"
            " is smtp_port an SMTP server's port?",
        ),
        ([b"\xff\xfegarbage\r\n"], "answered '\ufffd\ufffdgarbage' instead of an SMTP greeting"),
        ([b"554 5.3.2 not now\r\n"], "answered '554 5.3.2 not now' instead of an SMTP greeting"),
        (
            [b"220 ok\r\n", *[b"SSH-2.0-OpenSSH_9.6\r\n"] * 4],
            "answered 'SSH-2.0-OpenSSH_9.6', which",
        ),
        ([b""], "closed the connection without a greeting"),
        ([b"220 ok\r\n"], "closed the connection after '220 ok'"),
    ],
)
def test_send_message_to_a_server_that_does_not_speak_smtp_quotes_what_it_said(
    replies: list[bytes], message: str
) -> None:
    # Round 9: a greeting that is not "220 ..." gave "SMTP server h:p failed: (-1, b'/1.1 400
    # Bad Request')": smtplib drops the first four characters of a reply with no status code.
    with scripted_server(replies) as port:
        server = SmtpServer("127.0.0.1", port, security="none", timeout_s=5)
        with pytest.raises(DeliveryError) as caught:
            send_message(_message(), server)  # type: ignore[arg-type]
    assert str(caught.value).startswith(f"SMTP server 127.0.0.1:{port} {message}")
    assert "\n" not in str(caught.value)


def _to(*recipients: str) -> object:
    return make_message(
        subject="Digest", sender="digest@example.org", recipients=recipients, text="t", html="h"
    )


def test_send_message_to_a_non_ascii_address_needs_smtputf8_and_says_so() -> None:
    # A server without SMTPUTF8 (RFC 6531) cannot take zoë@example.org; the error blamed the
    # security setting: "SMTP server 127.0.0.1:N does not support none".
    with smtp_server("none", smtputf8=False) as (inbox, port, _):
        server = SmtpServer("127.0.0.1", port, security="none", timeout_s=5)
        with pytest.raises(DeliveryError) as caught:
            send_message(_to("ada@example.org", "zoë@example.org"), server)  # type: ignore[arg-type]
    assert str(caught.value) == (
        f"SMTP server 127.0.0.1:{port} does not accept non-ASCII addresses (no SMTPUTF8),"
        " which 'zoë@example.org' needs"
    )
    assert inbox.messages == []
    with smtp_server("none") as (inbox, port, _):  # one that offers SMTPUTF8 takes it
        send_message(_to("zoë@example.org"), SmtpServer("127.0.0.1", port, security="none"))  # type: ignore[arg-type]
    assert inbox.recipients == [["zoë@example.org"]]


def test_a_non_ascii_domain_is_sent_idna_encoded_to_a_server_without_smtputf8() -> None:
    # Round 28 (users): forscher@universität.de failed "does not accept non-ASCII addresses (no
    # SMTPUTF8)", though only a non-ASCII local part needs SMTPUTF8: a domain has its ASCII
    # form (IDNA 2008, UTS #46: case folded, ß kept as a letter of its own, not "ss").
    message = make_message(
        subject="Digest",
        sender="digest@Bücher.example",
        recipients=["forscher@universität.de", "ada@straße.de", "alan@example.org"],
        text="t",
        html="h",
    )
    with smtp_server("none", smtputf8=False) as (inbox, port, _):
        send_message(message, SmtpServer("127.0.0.1", port, security="none", timeout_s=5))  # type: ignore[arg-type]
    ascii_forms = [
        "forscher@xn--universitt-y5a.de",
        "ada@xn--strae-oqa.de",
        "alan@example.org",
    ]
    assert inbox.recipients == [ascii_forms]
    (raw,) = inbox.raw
    assert raw.isascii()
    (received,) = inbox.messages
    assert [a.addr_spec for a in received["To"].addresses] == ascii_forms
    assert received["From"] == "digest@xn--bcher-kva.example"
    assert received["Message-ID"].endswith("@xn--bcher-kva.example>")
    assert mail_address("forscher@universität.de") == "forscher@xn--universitt-y5a.de"
    assert mail_address("Forscher@Example.ORG") == "Forscher@Example.ORG"  # ASCII: as written


def test_a_non_ascii_local_part_still_needs_smtputf8_and_says_so_as_written() -> None:
    # Its domain is not encoded either: the error names the address as the config writes it.
    with smtp_server("none", smtputf8=False) as (inbox, port, _):
        server = SmtpServer("127.0.0.1", port, security="none", timeout_s=5)
        with pytest.raises(DeliveryError) as caught:
            send_message(_to("zoë@universität.de"), server)  # type: ignore[arg-type]
    assert str(caught.value) == (
        f"SMTP server 127.0.0.1:{port} does not accept non-ASCII addresses (no SMTPUTF8),"
        " which 'zoë@universität.de' needs"
    )
    assert inbox.messages == []


@pytest.mark.parametrize(
    ("security", "username", "message"),
    [
        ("starttls", None, "does not support STARTTLS"),
        ("none", USER, "offers no login (AUTH): is a login needed there?"),
    ],
)
def test_send_message_names_the_extension_a_server_lacks(
    security: str, username: str | None, message: str
) -> None:
    # A server without AUTH was reported as not supporting the security setting ("does not
    # support none"), whatever it lacked.
    with smtp_server("none") as (inbox, port, _):
        server = SmtpServer(
            "127.0.0.1", port, security=security, username=username, password=PASSWORD
        )
        with pytest.raises(DeliveryError) as caught:
            send_message(_to("ada@example.org"), server)  # type: ignore[arg-type]
    assert str(caught.value) == f"SMTP server 127.0.0.1:{port} {message}"
    assert inbox.messages == []


class _RefusesEveryone(Inbox):
    """A server with no mailbox for any of the digest's recipients (they all left)."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        # Gmail's reply takes two lines: one line of ours must still say it on one line.
        return f"550-5.1.1 <{address}>: no such\r\n550 5.1.1 user"


def test_a_server_that_refuses_every_recipient_says_what_it_answered_each() -> None:
    # Round 18: one recipient refused was named with the server's reply; all of them refused
    # gave "refused every recipient" and nothing more, so a reader could not tell a mistyped
    # domain (550 no such user) from a relay that wants a login (554 relay access denied).
    refusing = smtp_server("none", inbox=_RefusesEveryone())
    with refusing as (inbox, port, _), pytest.raises(DeliveryError) as caught:
        send_message(_message(), SmtpServer("127.0.0.1", port, security="none"))  # type: ignore[arg-type]
    assert str(caught.value) == (
        f"SMTP server 127.0.0.1:{port} refused every recipient:"
        " ada@example.org (550 5.1.1 <ada@example.org>: no such 5.1.1 user),"
        " alan@example.org (550 5.1.1 <alan@example.org>: no such 5.1.1 user)"
    )
    assert inbox.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_starttls_to_a_port_that_speaks_tls_first_says_so(tmp_path: Path) -> None:
    """security "starttls" (the default) with smtp_port 465, a port that waits for the TLS
    handshake: after timeout_s the send said the server "closed the connection without a
    greeting", sending the reader to look for a refusal. It closed nothing: it waited."""
    with smtp_server("ssl", folder=tmp_path) as (inbox, port, cert):
        server = SmtpServer("127.0.0.1", port, timeout_s=1, ca_file=cert)
        with pytest.raises(DeliveryError) as info:
            send_message(_message(), server)  # type: ignore[arg-type]
    assert str(info.value) == (
        f"SMTP server 127.0.0.1:{port} sent no greeting within 1 s: does the port speak TLS"
        ' first (465, say)? then set security = "ssl"'
    )
    assert inbox.messages == []


def test_implicit_tls_to_a_starttls_port_says_so(tmp_path: Path) -> None:
    """security "ssl" with smtp_port 587: "TLS with SMTP server … failed: WRONG_VERSION_NUMBER"."""
    with smtp_server("starttls", folder=tmp_path) as (inbox, port, cert):
        server = SmtpServer("127.0.0.1", port, security="ssl", timeout_s=5, ca_file=cert)
        with pytest.raises(DeliveryError) as info:
            send_message(_message(), server)  # type: ignore[arg-type]
    assert str(info.value).endswith(
        ': it answered in plain text, as a STARTTLS port (587) does: set security = "starttls"'
    ), info.value
    assert inbox.messages == []


def test_a_server_that_stops_answering_is_said_to_have_timed_out() -> None:
    """A relay that took the greeting and EHLO, then went silent: "closed the connection after
    '250 ok'" where nothing was closed."""
    replies = [b"220 ok\r\n", b"250 ok\r\n"]
    with scripted_server(replies, linger_s=5) as port:
        server = SmtpServer("127.0.0.1", port, security="none", timeout_s=1)
        with pytest.raises(DeliveryError) as info:
            send_message(_message(), server)  # type: ignore[arg-type]
    assert (
        str(info.value) == f"SMTP server 127.0.0.1:{port} did not answer within 1 s after '250 ok'"
    )


@pytest.mark.parametrize(
    "subject",
    [
        "研究ダイジェスト · مختارات البحث — weekly papers on reasoning and vision · 2025-W24",
        "每周论文摘要 机器学习 自然语言处理 计算机视觉 强化学习 机器人 扩散模型"
        " 多模态 推理 · 2025-W24",
        "Еженедельный дайджест статей по машинному обучению и обработке языка · 2025-W24",
        "Digest · 2025-W24",
        "A plain ASCII digest title that is long enough to be folded over two lines · 2025-W24",
    ],
)
def test_a_long_non_ascii_subject_arrives_with_its_spaces(subject: str) -> None:
    """A subject in Chinese, Japanese or Arabic long enough to be folded lost the space where
    the fold fell: the mail library put it between two encoded words, which a reader drops
    (RFC 2047), so '机器人 扩散模型' arrived as '机器人扩散模型' and 'مختارات البحث' as one word."""
    message = make_message(
        subject=subject,
        sender="digest@example.org",
        recipients=["ada@example.org"],
        text="t",
        html="h",
    )
    with smtp_server("none") as (inbox, port, _):
        send_message(message, SmtpServer("127.0.0.1", port, security="none"))
    assert inbox.messages[0]["Subject"] == subject
    header = inbox.raw[0].split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert all(len(line) <= 78 for line in header.split("\r\n")), header


class _TakesItSlowly(Inbox):
    """A relay that takes the whole message, then answers its end ('.') after 3 s: overloaded,
    or scanning it for viruses."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import asyncio

        reply = await super().handle_DATA(server, session, envelope)  # queued for delivery
        await asyncio.sleep(3)
        return reply


def test_a_server_silent_after_the_whole_message_says_it_may_have_been_delivered() -> None:
    # Round 28: the send timed out after the message was sent whole, and said only "did not
    # answer within 1 s after '354 …'", as if nothing had gone out; the server took it, the
    # next build mailed the week again, and readers got it twice with nothing saying why.
    inbox = _TakesItSlowly()
    with smtp_server(inbox=inbox) as (_, port, _):
        server = SmtpServer("127.0.0.1", port, security="none", timeout_s=1)
        with pytest.raises(DeliveryError) as info:
            send_message(_message(), server)  # type: ignore[arg-type]
        message = str(info.value)
        assert message.startswith(f"SMTP server 127.0.0.1:{port} did not answer within 1 s")
        assert "after the whole message was sent" in message, message
        assert "may have been delivered" in message and "mails it again" in message, message
    assert len(inbox.messages) == 1  # it was delivered
