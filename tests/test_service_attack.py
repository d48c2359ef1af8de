"""Running the service for a year (round 14): e-mail sent exactly once and to whom it says,
a store whose embedding cache was damaged. Real SMTP servers on loopback, real SQLite, real
processes; the fake embedder stands in for the model."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import FakeEmbedder, file_source, mail_to_loopback, make_paper, write_config
from smtpserver import Inbox, free_port, smtp_server

from pipeline import run
from pipeline.cli import cli
from pipeline.config import load_settings
from pipeline.embed.cache import ensure_vectors
from pipeline.models import Command
from pipeline.service import runner
from pipeline.store import Store

ROOT = Path(__file__).resolve().parents[1]
E2E = Path(__file__).parent / "data" / "e2e" / "arxiv-2025-06-10.jsonl"
NOW = datetime(2025, 6, 16, 8, tzinfo=UTC)


def _config(tmp_path: Path, port: int, **email: object) -> Path:
    return write_config(
        tmp_path,
        email={**mail_to_loopback(port), **email},
        sources=[file_source("d10", E2E)],
    )


# --- e-mail: once, and only to whom the server took it for ------------------------------------


class _SendsMeanwhile(Inbox):
    """A server that, before it accepts the first message, lets `digest send` of the same week
    run to its end in another process: a user or a second timer sending while a build mails."""

    def __init__(self, config: Path, week: str) -> None:
        super().__init__()
        self.config, self.week = config, week
        self.meanwhile: tuple[int, str] | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.meanwhile is None:
            self.meanwhile = (-1, "")
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "pipeline", "--config", str(self.config),
                "send", "--week", self.week,
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            out, _ = await process.communicate()
            self.meanwhile = (process.returncode or 0, out.decode())
        return await super().handle_DATA(server, session, envelope)


def test_send_while_a_build_mails_the_same_week_does_not_mail_it_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Round 14: `digest send` took no lock. While a build with send_after_build was handing
    # the week to the SMTP server (not yet recorded as sent), `digest send --week W` found it
    # unsent too, and the recipients got the digest twice.
    monkeypatch.setattr(run, "make_embedder", lambda settings: FakeEmbedder())
    port = free_port()
    config = _config(tmp_path, port)
    settings = load_settings(config)
    inbox = _SendsMeanwhile(config, "2025-W24")
    with smtp_server("none", port=port, inbox=inbox):
        report = runner.run_locked(settings, Command.RUN, week="2025-W24", now=NOW)
    assert report.error is None and report.emailed_to == ["me@example.org"]
    assert inbox.meanwhile is not None
    code, said = inbox.meanwhile
    assert code == 1 and "another run holds the lock: `digest run`" in said
    assert len(inbox.messages) == 1


class _RefusesOne(Inbox):
    """A server that has no mailbox for one address (550), as a real one does after someone
    left: it takes the message for the others."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address == "gone@example.org":
            return "550 5.1.1 <gone@example.org>: no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_recipient_the_server_refuses_is_named_and_not_reported_as_mailed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Round 14: the refusal went to the log only; the run said "e-mailed 2025-W24 to
    # me@example.org, gone@example.org" and the store recorded both as sent.
    monkeypatch.setattr(run, "make_embedder", lambda settings: FakeEmbedder())
    inbox = _RefusesOne()
    with smtp_server("none", inbox=inbox) as (_, port, _):
        config = _config(tmp_path, port, recipients=["me@example.org", "gone@example.org"])
        result = CliRunner().invoke(cli, ["--config", str(config), "run", "--week", "2025-W24"])
    assert result.exit_code == 0, result.output
    assert "e-mailed 2025-W24 to me@example.org\n" in result.output
    assert (
        "SMTP server refused gone@example.org (550 5.1.1 <gone@example.org>: no such user):"
        " 2025-W24 was not e-mailed to it" in result.output
    )
    assert inbox.recipients == [["me@example.org"]]
    with Store.open(load_settings(config).database_path) as store:
        assert store.get_delivery("2025-W24") is not None
        (sent_to,) = store._select("SELECT recipients FROM deliveries")[0]
    assert sent_to == '["me@example.org"]'


@pytest.mark.parametrize(
    "address",
    ["you@example,org", "Boss<boss@example.org>", "me@example.org>", "a;b@example.org",
     "me@example..org", "me@example.org.", ".you@example.org"],
)  # fmt: skip
def test_check_config_names_a_recipient_the_to_header_would_split_or_refuse(
    tmp_path: Path, address: str
) -> None:
    # Round 14: any text with one '@' and no space passed; "you@example,org" was mailed to
    # "you@example" and to "org", and the run reported it e-mailed to "you@example,org".
    config = _config(tmp_path, 25, recipients=["me@example.org", address])
    result = CliRunner().invoke(cli, ["--config", str(config), "check-config"])
    assert result.exit_code == 2
    assert f"email.recipients[1]: must be an e-mail address, got {address!r}" in result.output


def test_every_recipient_check_config_accepts_makes_a_to_header() -> None:
    # Review of round 14: ".you@example.org" passed check-config, and every build that
    # mailed it ended in "TypeError: 'ValueTerminal' object does not support item assignment"
    # from the standard library's header parser (a local part that starts with a dot).
    from pipeline.config.rules import _EMAIL
    from pipeline.digest.mail import make_message

    locals_ = [".you", "..you", ".", "you.", "a..b", "o'brien", "a+tag", "jos\u00e9"]
    accepted = [f"{x}@example.org" for x in locals_ if _EMAIL.fullmatch(f"{x}@example.org")]
    assert len(accepted) >= 5, accepted
    for address in accepted:
        for recipients in ([address], ["me@example.org", address], [address, "me@example.org"]):
            message = make_message(
                subject="s", sender="me@example.org", recipients=recipients, text="t", html="h"
            )
            assert [a.addr_spec for a in message["To"].addresses] == recipients


# --- the store: a damaged embedding-cache row -------------------------------------------------


@pytest.mark.parametrize(
    "damage",
    ["substr(vector, 1, 1021)", "substr(vector, 1, 512)", "'not a vector'", "x''"],
)
def test_a_damaged_embedding_row_is_embedded_again_not_a_traceback(
    tmp_path: Path, damage: str
) -> None:
    # Round 14: a vector row cut short (or overwritten by another program) made numpy raise
    # "buffer size must be a multiple of element size", or np.stack fail on a shorter vector,
    # in every build, `explain` and `topics` of that paper's week.
    papers = [
        make_paper(f"arxiv:2506.0000{i}", f"Paper {i}", f"words of paper {i}") for i in (1, 2)
    ]
    path = tmp_path / "pipeline.sqlite3"
    embedder = FakeEmbedder()
    with Store.open(path) as store:
        ensure_vectors(store, embedder, papers, now=NOW)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(f"UPDATE embeddings SET vector = {damage} WHERE item_id = 'arxiv:2506.00002'")
    conn.close()
    with Store.open(path) as store:
        vectors, n_embedded = ensure_vectors(store, embedder, papers, now=NOW)
        again, n_again = ensure_vectors(store, embedder, papers, now=NOW)
    assert vectors.shape == (2, FakeEmbedder.dim) and n_embedded == 1
    assert (again == vectors).all() and n_again == 0  # the recomputed vector was stored


@pytest.mark.parametrize("damage", ["substr(centroid, 1, 6)", "'not a vector'", "x''"])
def test_a_damaged_theme_centroid_is_left_out_not_a_traceback(tmp_path: Path, damage: str) -> None:
    # Found in review (round 14): the week sections' theme centroids had the damage 2b8199e
    # handles for embedding rows; a centroid cut short or overwritten made numpy raise in
    # every build that reads the earlier weeks. A damaged one is not matched, as if absent.
    from pipeline.store import WeekSection

    path = tmp_path / "pipeline.sqlite3"
    centroid = np.array([0.6, 0.8], dtype=np.float32)
    with Store.open(path) as store:
        store.save_week_sections(
            "2025-W24",
            [WeekSection("2025-W24", "t", "theme", "x", (), 5, "arxiv:1", centroid)],
            NOW,
        )
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(f"UPDATE week_sections SET centroid = {damage}")
    conn.close()
    with Store.open(path) as store:
        (section,) = store.list_week_sections(["2025-W24"])
    assert section.centroid is None and section.n_papers == 5
