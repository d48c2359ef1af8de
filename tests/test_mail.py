"""mail.py against a real SMTP server on 127.0.0.1: plain, STARTTLS and implicit TLS, with login."""

from __future__ import annotations

from pathlib import Path

import pytest
from smtpserver import PASSWORD, USER, free_port, smtp_server

from pipeline.digest.mail import SmtpServer, make_message, send_message
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
