"""Round 16: inputs an acceptance tester tries from outside — config values that are valid TOML
but clash with the digest's own names, paper references with odd versions, paths that loop.

Each crashed, failed every build, or gave a wrong answer on main. Real config files, the real
CLI (CliRunner) and store; the fake embedder stands in for the model.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import conftest
import pytest
from click.testing import CliRunner, Result
from conftest import FakeEmbedder, mail_to_loopback
from httpserver import FeedServer, Reply
from smtpserver import Inbox, smtp_server

from pipeline import run
from pipeline.cli import cli
from pipeline.config import load_settings
from pipeline.models import RunReport
from pipeline.service import runner
from pipeline.store import SCHEMA_VERSION, Store
from reliability import tally
from reliability.helpers import DATA, FEEDS, GOOD_FILE, build, ingest, query, write_config

ROOT = Path(__file__).resolve().parent.parent.parent
NO_BACKFILL: dict[str, object] = {"arxiv": {"backfill": False}}
WEEK = "2025-W23"  # GOOD_FILE's papers


def _invoke(args: list[str]) -> Result:
    result = CliRunner().invoke(cli, args)
    tally.add("configs tried")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        tally.add("tracebacks")
        raise result.exception
    return result


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pipeline.run.make_embedder", lambda settings: FakeEmbedder())


def _topic(slug: str, **keys: object) -> dict[str, object]:
    return {"slug": slug, "name": "Video", "description": "Video question answering.", **keys}


def _ingested(tmp_path: Path, topic: dict[str, object]) -> Path:
    """A config of GOOD_FILE's papers (no backfill) and `topic`, its papers ingested."""
    config = write_config(
        tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL, topics=[topic]
    )
    ingest(config, FakeEmbedder())
    return config


@pytest.mark.parametrize("slug", ["other", "theme-0a1b2c3d"])
def test_a_topic_slug_that_names_another_section_fails_check_config(
    tmp_path: Path, slug: str
) -> None:
    """A topic `other` was taken for the Other section: `explain` said its papers were "in
    section Other (no topic, no discovered theme)" while the digest listed them under the topic,
    `topics --compare` saw no move between the two, and the JSON held two sections keyed
    "other". A slug like a theme id shares the store's (week, key) rows with that theme."""
    config = write_config(
        tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL, topics=[_topic(slug)]
    )
    result = _invoke(["--config", str(config), "check-config"])
    assert result.exit_code == 2, result.output
    assert f"topics[0].slug: {slug!r} is reserved" in result.stderr, result.stderr


# An arXiv version no paper has (over six digits): ingest skips such an entry, but a reference
# the user typed (an example in config.toml, a paper given to `explain`) still names the paper.
HUGE_VERSION = "2506.05349v99999999999"


def test_an_example_with_an_out_of_range_version_does_not_fail_every_build(
    tmp_path: Path, fake_model: None
) -> None:
    """check-config said ok, then every build (and explain, topics, mark) exited 1 with "arXiv
    version out of range in '2506.05349v99999999999'", naming no key of the config."""
    topic = _topic("video", examples=[HUGE_VERSION], counter_examples=[f"arxiv:{HUGE_VERSION}"])
    config = _ingested(tmp_path, topic)
    tally.add("hostile inputs tried")
    result = _invoke(["--config", str(config), "build", "--week", WEEK])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "digests" / f"{WEEK}.md").is_file()


def test_explain_with_an_out_of_range_version_names_the_paper(
    tmp_path: Path, fake_model: None
) -> None:
    """Was exit 1, "error: arXiv version out of range", where any other version (v0, v7) of a
    stored paper is explained: the version never picks the paper."""
    _explains_the_stored_paper(tmp_path, HUGE_VERSION)


def _explains_the_stored_paper(tmp_path: Path, reference: str) -> None:
    """`explain REFERENCE` on a store holding the good file's papers names VideoMathQA."""
    config = _ingested(tmp_path, _topic("video"))
    tally.add("hostile inputs tried")
    result = _invoke(["--config", str(config), "explain", reference])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("arxiv:2506.05349: VideoMathQA"), result.output


def _loop(folder: Path, name: str) -> Path:
    """`name` in `folder`, a symbolic link to a link that points back to it."""
    (folder / f"{name}-back").symlink_to(name)
    (folder / name).symlink_to(f"{name}-back")
    return folder / name


def test_a_config_file_that_is_a_symlink_loop_is_named(tmp_path: Path) -> None:
    """Was a traceback: RuntimeError: Symlink loop from '…/config.toml'."""
    config = _loop(tmp_path, "config.toml")
    tally.add("hostile inputs tried")
    result = _invoke(["--config", str(config), "check-config"])
    assert result.exit_code == 2, result.output
    assert f"cannot read config file {config}" in result.stderr, result.stderr
    assert "symbolic link" in result.stderr, result.stderr


@pytest.mark.parametrize("key", ["data_dir", "digests_dir", "templates_dir"])
@pytest.mark.parametrize("command", ["check-config", "status"])
def test_a_folder_that_is_a_symlink_loop_is_named_by_its_key(
    tmp_path: Path, key: str, command: str
) -> None:
    """Was a traceback from every command (RuntimeError: Symlink loop from '…/loop')."""
    _loop(tmp_path, "loop")
    config = write_config(
        tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL, paths={key: "loop/sub"}
    )
    tally.add("hostile inputs tried")
    result = _invoke(["--config", str(config), command])
    assert result.exit_code == 2, result.output
    assert f"paths.{key}: " in result.stderr and "symbolic link" in result.stderr, result.stderr


def test_a_file_source_that_is_a_symlink_loop_fails_that_source_only(
    tmp_path: Path, fake_model: None
) -> None:
    """Was a traceback from `ingest`, `run` and `check-config`: the loop was met while making
    the source's relative path absolute, before the source's own error handling."""
    _loop(tmp_path, "papers.jsonl")
    sources = [("looped", "file", "papers.jsonl"), ("good", "file", str(GOOD_FILE))]
    config = write_config(tmp_path, sources, **NO_BACKFILL)
    tally.add("hostile inputs tried")
    result = _invoke(["--config", str(config), "check-config"])
    assert result.exit_code == 2, result.output
    assert "sources[0].url: " in result.stderr and "symbolic link" in result.stderr
    result = _invoke(["--config", str(config), "ingest"])
    assert result.exit_code == 0, result.output
    assert "looped: FAILED" in result.output and "good: 5 entries, 5 new" in result.output


@pytest.mark.parametrize(
    "reference", ["arXiv:2506.05349V1", "2506.05349V2", "https://arxiv.org/abs/2506.05349V1"]
)
def test_an_arxiv_id_with_a_capital_v_names_the_paper(
    tmp_path: Path, fake_model: None, reference: str
) -> None:
    """Was exit 2, "no stored paper 'arXiv:2506.05349V1'": only a lower-case 'v' was read as
    the version, so the whole reference was taken for a title."""
    _explains_the_stored_paper(tmp_path, reference)


def test_a_file_entry_whose_arxiv_id_has_a_capital_v_is_stored_under_it(tmp_path: Path) -> None:
    """Was stored as `title:…` with no version: not merged with the same paper from arXiv
    when the titles differ (a later version's), so a digest listed it twice."""
    feed = tmp_path / "papers.jsonl"
    feed.write_text('{"id": "arXiv:2506.00001V2", "title": "A hand-written entry"}\n', "utf-8")
    config = write_config(tmp_path, [("mine", "file", str(feed))], **NO_BACKFILL)
    tally.add("hostile inputs tried")
    ingest(config, FakeEmbedder())
    rows = query(tmp_path / "data" / "pipeline.sqlite3", "SELECT paper_id, version FROM papers")
    assert rows == [("arxiv:2506.00001", 2)]


LONG_REFERENCE = "Graph networks " * 340  # 5,100 characters: a paste gone wrong


@pytest.mark.parametrize("command", [["explain"], ["mark", "--topic", "video"]])
def test_a_very_long_reference_is_shortened_in_the_error(
    tmp_path: Path, fake_model: None, command: list[str]
) -> None:
    """`explain`/`mark` given 5,000 characters (a paste gone wrong) echoed them whole, twice:
    "no stored paper '…5,000 characters…' (from '…5,000 characters…')". Now both are cut at
    80 characters, the error otherwise unchanged."""
    config = _ingested(tmp_path, _topic("video"))
    tally.add("hostile inputs tried")
    result = _invoke(["--config", str(config), command[0], LONG_REFERENCE, *command[1:]])
    assert result.exit_code == 2, result.output
    shown = repr(LONG_REFERENCE.strip()[:80] + "…")
    assert f"no stored paper {shown} (from {shown}); ids look like arxiv:2506.01234" in (
        result.output
    ), result.output
    assert len(result.output) < 600, len(result.output)


def test_a_very_long_title_of_several_papers_is_shortened_in_the_error(
    tmp_path: Path, fake_model: None
) -> None:
    """A title several stored papers share was echoed whole when naming them (a stored title
    is at most 2,000 characters)."""
    title = LONG_REFERENCE[:1_500].strip()
    papers = tmp_path / "papers.jsonl"
    lines = [f'{{"id": "2506.0000{n}", "title": "{title}"}}' for n in (1, 2)]
    papers.write_text("\n".join(lines) + "\n", "utf-8")
    config = write_config(tmp_path, [("mine", "file", str(papers))], **NO_BACKFILL)
    ingest(config, FakeEmbedder())
    tally.add("hostile inputs tried")
    result = _invoke(["--config", str(config), "explain", title])
    assert result.exit_code == 2, result.output
    assert (
        f"{title[:80] + '…'!r} is the title of 2 stored papers (arxiv:2506.00001,"
        " arxiv:2506.00002): give the id of the one you mean"
    ) in result.output, result.output
    assert len(result.output) < 600, len(result.output)


@pytest.mark.parametrize(
    ("names", "problem"),
    [
        (["Video", "video!"], "topics[1].name: 'video!' has the link anchor of topics[0].name"),
        (["Coverage"], "topics[0].name: 'Coverage' is the heading of the digest's own section"),
        (["Vision", "Other papers"], "topics[1].name: 'Other papers' is the heading of"),
    ],
)
def test_topic_names_whose_headings_collide_fail_check_config(
    tmp_path: Path, names: list[str], problem: str
) -> None:
    """Two topics named alike (a copied [[topics]] block whose name was not changed) or one
    named like a section the digest writes itself: every row of the contents linked to the
    first such heading (#coverage three times), and in the .html the others were unreachable
    (python-markdown made them coverage_1, coverage_2)."""
    topics = [{**_topic(f"t{i}"), "name": name} for i, name in enumerate(names)]
    config = write_config(tmp_path, [("good", "file", str(GOOD_FILE))], topics=topics)
    result = _invoke(["--config", str(config), "check-config"])
    assert result.exit_code == 2, result.output
    assert problem in result.stderr, result.stderr


# --- round 17: what a user running it unattended meets ----------------------------------------


def test_papers_dated_ahead_are_listed_in_the_week_they_arrived_and_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A feed's clock or a mistyped year (2031 for 2025) put a paper in a week no digest was
    built for: every digest left it out and nothing said so. Now the week it was first ingested
    lists it, and the ingest warns naming it, its date and its source."""
    papers = tmp_path / "papers.jsonl"
    lines = [
        '{"id": "2506.00001", "title": "Graph networks today", "published": "2025-06-11"}',
        '{"id": "2506.00002", "title": "Graph networks from 2031", "published": "2031-06-11"}',
        '{"id": "2506.00003", "title": "Graph networks ahead", "announced": "2025-07-30"}',
        '{"id": "2506.00004", "title": "Graph networks tomorrow", "published": "2025-06-13"}',
    ]
    papers.write_text("\n".join(lines) + "\n", "utf-8")
    config = write_config(tmp_path, [("mine", "file", str(papers))], week="2025-W24", **NO_BACKFILL)
    tally.add("hostile inputs tried")
    caplog.set_level(logging.WARNING)
    ingest(config, FakeEmbedder(), now=datetime(2025, 6, 12, 8, tzinfo=UTC))
    warned = [r.getMessage() for r in caplog.records if "dated more than" in r.getMessage()]
    assert len(warned) == 1, caplog.text
    assert warned[0].startswith("source mine: 2 papers dated more than 2 days after today"), warned
    assert "arxiv:2506.00002 (2031-06-11), arxiv:2506.00003 (2025-07-30)" in warned[0], warned
    build(config, FakeEmbedder())
    digest = (tmp_path / "digests" / "2025-W24.md").read_text("utf-8")
    assert "4 papers" in digest, digest
    listed = (tmp_path / "digests" / "2025-W24.json").read_text("utf-8")
    for n in range(1, 5):
        assert f'"arxiv:2506.0000{n}"' in listed, n


def _ingest_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture, lines: list[str]) -> None:
    """Ingest `lines` as the JSONL file source "mine", warnings captured."""
    papers = tmp_path / "papers.jsonl"
    papers.write_text("\n".join(lines) + "\n", "utf-8")
    config = write_config(tmp_path, [("mine", "file", str(papers))], **NO_BACKFILL)
    tally.add("hostile inputs tried")
    caplog.set_level(logging.WARNING)
    ingest(config, FakeEmbedder())


@pytest.mark.parametrize(
    ("third_id", "kept_label", "kept_title"),
    [("arXiv:2506.00001", "line 1", "First export"), ("2506.00001v2", "line 3", "Second export")],
)
def test_a_paper_listed_twice_in_a_file_is_named_with_its_lines_and_the_one_kept(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    third_id: str,
    kept_label: str,
    kept_title: str,
) -> None:
    """Two exports appended into one file: the records of one id became one paper and nothing
    said which title and abstract won. Now the ingest names the id, its lines and the one kept
    (the first, unless a later one has a higher arXiv version)."""
    lines = [
        '{"id": "2506.00001", "title": "First export", "published": "2025-06-11"}',
        '{"id": "2506.00002", "title": "Another paper", "published": "2025-06-11"}',
        f'{{"id": "{third_id}", "title": "Second export", "published": "2025-06-11"}}',
    ]
    _ingest_lines(tmp_path, caplog, lines)
    assert (
        "mine: arxiv:2506.00001 is listed 2 times (line 1, line 3): keeping the title, abstract"
        f" and authors of {kept_label}"
    ) in caplog.text, caplog.text
    rows = query(tmp_path / "data" / "pipeline.sqlite3", "SELECT paper_id, title FROM papers")
    assert sorted(rows) == [("arxiv:2506.00001", kept_title), ("arxiv:2506.00002", "Another paper")]


def test_papers_without_an_id_that_share_a_title_are_named_with_their_lines_and_the_one_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Records without an id (no arXiv id, DOI or link) are known by their title: two of one
    title in a file became one paper, the second's abstract dropped, and nothing said so. Now
    the ingest names the title, its lines and the one kept (the first); the merge is unchanged."""
    lines = [
        '{"title": "Graph networks for weather", "abstract": "One.", "published": "2025-06-11"}',
        '{"id": "2506.00002", "title": "Another paper", "published": "2025-06-11"}',
        '{"title": "Graph Networks for Weather.", "abstract": "Two.", "published": "2025-06-11"}',
    ]
    _ingest_lines(tmp_path, caplog, lines)
    assert (
        "mine: 2 records without an id have the title 'Graph networks for weather' (line 1,"
        " line 3): they are one paper, with the title, abstract and authors of line 1"
    ) in caplog.text, caplog.text
    rows = query(tmp_path / "data" / "pipeline.sqlite3", "SELECT title, abstract FROM papers")
    assert sorted(rows) == [("Another paper", ""), ("Graph networks for weather", "One.")]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["explain", "2506.05349"], "the store holds no papers yet: run `digest ingest` first"),
        (["mark", "2506.05349", "--topic", "video"], "the store holds no papers yet"),
        (["topics", "--week", WEEK], "the store holds no papers yet; run `digest"),
        (["status"], "recent runs: none yet"),
    ],
)
def test_a_command_that_reads_on_a_fresh_config_creates_no_store(
    tmp_path: Path, fake_model: None, args: list[str], said: str
) -> None:
    """`explain`, `mark` and `topics` on a config never ingested created data/ and an empty
    pipeline.sqlite3 (a folder the user then finds beside the config, or a store made by a
    user who was only looking) before saying the store is empty. (`status` already did not.)"""
    config = write_config(
        tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL, topics=[_topic("video")]
    )
    tally.add("hostile inputs tried")
    result = _invoke(["--config", str(config), *args])
    assert said in result.output, result.output
    assert not (tmp_path / "data").exists(), list((tmp_path / "data").iterdir())


class _FailsToSayBye(Inbox):
    """A relay that takes the message, then answers QUIT with an error (a 421 as it shuts
    down): the message is already on its way to the recipients."""

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        return "421 4.3.0 closing, shutting down"


def test_a_digest_the_server_took_is_not_mailed_again_when_quit_fails(
    tmp_path: Path, fake_model: None
) -> None:
    """The server took the message, then answered QUIT with a 421: the build exited 1 with
    "e-mail not sent: SMTP server … failed: 421", recorded no delivery, and every later run
    mailed the same digest again (catch-up retries a week not e-mailed): with such a relay,
    one more copy per run. (A QUIT that times out was already taken as sent.)"""
    with smtp_server(inbox=_FailsToSayBye()) as (inbox, port, _):
        config = write_config(
            tmp_path,
            [("good", "file", str(GOOD_FILE))],
            **NO_BACKFILL,
            email=mail_to_loopback(port),
        )
        ingest(config, FakeEmbedder())
        tally.add("hostile inputs tried")
        first = _invoke(["--config", str(config), "build", "--week", WEEK])
        assert first.exit_code == 0, first.output
        again = _invoke(["--config", str(config), "build", "--week", WEEK])
        assert again.exit_code == 0, again.output
        assert f"{WEEK} was e-mailed on" in again.output, again.output
    assert len(inbox.messages) == 1


def test_a_week_mailed_before_it_ended_is_mailed_whole_once_it_has(
    tmp_path: Path, fake_model: None
) -> None:
    """`digest build --week` of the week under way (a user trying the set-up on a Thursday)
    with send_after_build mailed the papers so far; the build after the week ended said "was
    e-mailed …; not sent again", so its readers never got the whole week. A delivery made
    before the week ended now gives way, once, to the whole week."""
    with smtp_server() as (inbox, port, _):
        config = write_config(
            tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL,
            email=mail_to_loopback(port),
        )  # fmt: skip
        ingest(config, FakeEmbedder())
        settings = load_settings(config)
        thursday = datetime(2025, 6, 5, 12, tzinfo=UTC)  # WEEK runs 2 to 8 June 2025
        after = [datetime(2025, 6, 9, 6, tzinfo=UTC), datetime(2025, 6, 10, 6, tzinfo=UTC)]
        with run.open_store(settings) as store:
            reports = [
                run.run_build(settings, store, FakeEmbedder(), now=when, week=WEEK)
                for when in (thursday, *after)
            ]
    tally.add("hostile inputs tried")
    assert [r.emailed_to for r in reports] == [["me@example.org"], ["me@example.org"], []]
    assert any("was e-mailed on 2025-06-09" in line for line in reports[2].not_done)
    assert len(inbox.messages) == 2


def test_send_mails_a_week_to_a_recipient_added_since_and_only_to_them(
    tmp_path: Path, fake_model: None
) -> None:
    """A colleague added to [email] recipients after the week was mailed: `digest send --week`
    said "was e-mailed …; not sent again", and the only way to reach them, `--force`, mailed
    everyone a second copy. Now `send` mails the recipients the week's record lacks (added
    since, or refused then), and only them; `--force` still mails everyone."""
    with smtp_server() as (inbox, port, _):
        email = mail_to_loopback(port)
        sources = [("good", "file", str(GOOD_FILE))]
        config = write_config(tmp_path, sources, **NO_BACKFILL, email=email)
        ingest(config, FakeEmbedder())
        assert _invoke(["--config", str(config), "build", "--week", WEEK]).exit_code == 0
        recipients = ["me@example.org", "colleague@example.org"]
        config = write_config(
            tmp_path, sources, **NO_BACKFILL, email={**email, "recipients": recipients}
        )
        tally.add("hostile inputs tried")
        sent = _invoke(["--config", str(config), "send", "--week", WEEK])
        assert sent.exit_code == 0, sent.output
        assert f"e-mailed {WEEK} to colleague@example.org\n" in sent.output, sent.output
        again = _invoke(["--config", str(config), "send", "--week", WEEK])
        assert f"{WEEK} was e-mailed on" in again.output, again.output
        assert "not sent again" in again.output, again.output
    assert inbox.recipients == [["me@example.org"], ["colleague@example.org"]]


class _Greylists(Inbox):
    """A relay that greylists colleague@ (450 at the first try, as Postgrey does for a sender
    it has not seen) and takes every other recipient, and colleague@ at the next try."""

    def __init__(self) -> None:
        super().__init__()
        self.tried: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("colleague@") and address not in self.tried:
            self.tried.add(address)
            return "450 4.2.0 greylisted, please try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_recipient_refused_for_now_gets_the_week_at_the_next_run_and_nobody_twice(
    tmp_path: Path, fake_model: None
) -> None:
    """A relay greylisted one of two recipients (450: try again later) while it took the
    digest for the other: the run said "SMTP server refused colleague@… (450 …): … was not
    e-mailed to it", and no later run or catch-up mailed it, the week being recorded as e-mailed:
    only a `digest send` by hand reached them. A recipient refused for now (a 4xx reply) is
    kept in the store; the next build of the week (the daily run, serve's catch-up after its
    next ingest) mails it to them, and only to them."""
    inbox = _Greylists()
    with smtp_server(inbox=inbox) as (_, port, _):
        email = {
            **mail_to_loopback(port),
            "recipients": ["me@example.org", "colleague@example.org"],
        }
        config = write_config(
            tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL, email=email
        )
        ingest(config, FakeEmbedder())
        settings = load_settings(config)
        monday = datetime(2025, 6, 9, 7, tzinfo=UTC)  # WEEK ended on Monday 00:00
        with run.open_store(settings) as store:
            first = run.run_build(settings, store, FakeEmbedder(), now=monday, week=WEEK)
        assert first.emailed_to == ["me@example.org"]
        assert any(
            "450 4.2.0 greylisted" in line and "tries it again" in line for line in first.not_done
        ), first.not_done
        # serve's catch-up after the next ingest builds the week again: it is not done.
        tuesday = monday + timedelta(days=1)
        plan = runner.plan_catch_up(settings, now=tuesday, ingest=False)
        assert [str(step) for step in plan] == [f"build {WEEK}"], plan
        with run.open_store(settings) as store:
            second = run.run_build(settings, store, FakeEmbedder(), now=tuesday, week=WEEK)
            third = run.run_build(settings, store, FakeEmbedder(), now=tuesday, week=WEEK)
            delivered = store.list_delivered_to(WEEK)
        assert runner.plan_catch_up(settings, now=tuesday, ingest=False) == ()
    tally.add("hostile inputs tried")
    assert second.emailed_to == ["colleague@example.org"]
    assert third.emailed_to == [] and any("was e-mailed on" in n for n in third.not_done)
    assert inbox.recipients == [["me@example.org"], ["colleague@example.org"]]
    assert sorted(delivered) == ["colleague@example.org", "me@example.org"]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://[::1/feed", "is not a valid URL (Invalid IPv6 URL)"),
        ("https://example.org:99999/feed", "is not a valid URL (Port out of range 0-65535)"),
        ("https:///feed.xml", "has no host name"),
    ],
)
def test_a_source_url_that_is_no_url_fails_check_config(
    tmp_path: Path, url: str, problem: str
) -> None:
    """A typo in an IPv6 literal or a port passed check-config; then every `ingest` and `run`
    ended in a traceback (ValueError: Invalid IPv6 URL) before any source, the good ones
    included, was read."""
    _check_config_refuses_the_first_source(tmp_path, url, problem)


def _check_config_refuses_the_first_source(tmp_path: Path, url: str, problem: str) -> str:
    """check-config on a config whose first source has `url` and whose second is good: exit 2
    naming `problem` for sources[0].url; returns what it printed on stderr."""
    sources = [("typo", "rss", url), ("good", "file", str(GOOD_FILE))]
    config = write_config(tmp_path, sources, **NO_BACKFILL)
    tally.add("configs tried")
    result = _invoke(["--config", str(config), "check-config"])
    assert result.exit_code == 2, result.output
    assert f"sources[0].url: {problem}" in result.stderr, result.stderr
    return result.stderr


@pytest.mark.parametrize(
    ("key", "cron"), [("ingest_cron", "0 2 30 2 *"), ("build_cron", "0 7 31 4,6 *")]
)
def test_a_cron_that_never_fires_fails_check_config(tmp_path: Path, key: str, cron: str) -> None:
    """30 February, 31 April: check-config said ok, `serve` then never ran the job, and
    `status` showed "next ingest: -" under "health: ok"."""
    config = write_config(tmp_path, [("good", "file", str(GOOD_FILE))], schedule={key: cron})
    tally.add("configs tried")
    result = _invoke(["--config", str(config), "check-config"])
    assert result.exit_code == 2, result.output
    assert f"schedule.{key}: never fires: no month has the day it names" in result.stderr


@pytest.mark.parametrize("seed", [-1, 2**32, 2**64])
def test_a_themes_seed_out_of_range_fails_check_config(tmp_path: Path, seed: int) -> None:
    """check-config said ok to `[themes] seed = -1` and to 2**64; numpy's generator (the
    background sample theme naming draws in a large week) refuses a negative seed, and
    scikit-learn's KMeans (`digest eval`'s baselines) one of 2**32 or more: a later build or
    eval failed with a ValueError naming no key of the config."""
    config = write_config(tmp_path, [("good", "file", str(GOOD_FILE))], themes={"seed": seed})
    tally.add("configs tried")
    result = _invoke(["--config", str(config), "check-config"])
    assert result.exit_code == 2, result.output
    assert f"themes.seed: must be between 0 and 4294967295, got {seed}" in result.stderr


def test_the_largest_themes_seed_builds(tmp_path: Path, fake_model: None) -> None:
    """2**32 - 1, the top of the range, is a seed every use of it takes."""
    sources = [("good", "file", str(GOOD_FILE))]
    config = write_config(tmp_path, sources, **NO_BACKFILL, themes={"seed": 2**32 - 1})
    assert _invoke(["--config", str(config), "check-config"]).exit_code == 0
    ingest(config, FakeEmbedder())
    result = _invoke(["--config", str(config), "build", "--week", WEEK])
    assert result.exit_code == 0, result.output


# --- round 18: what a user meets from outside --------------------------------------------------


def test_a_record_without_an_id_that_joins_a_stored_paper_is_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A record without an id (no arXiv id, DOI or link) whose title a stored paper has (from
    another source, or an earlier run) joined that paper without a word: the user's own note
    became one more source of an arXiv paper. Now the ingest names the source, the title and
    the stored paper it joined, once; the merge and every record's data are unchanged."""
    mine = tmp_path / "mine.jsonl"
    mine.write_text('{"title": "Contrastive flow matching!", "abstract": "My notes."}\n', "utf-8")
    sources = [("good", "file", str(GOOD_FILE)), ("mine", "file", str(mine))]
    config = write_config(tmp_path, sources, **NO_BACKFILL)
    tally.add("hostile inputs tried")
    caplog.set_level(logging.WARNING)
    ingest(config, FakeEmbedder())
    warned = [r.getMessage() for r in caplog.records if "without an id" in r.getMessage()]
    assert warned == [
        "source mine: a record without an id joined a stored paper of the same title, as one"
        " more of its sources: 'Contrastive flow matching!' joined arxiv:2506.05350"
        " ('Contrastive Flow Matching', listed by good)"
    ], caplog.text
    db = tmp_path / "data" / "pipeline.sqlite3"
    assert query(db, "SELECT count(*) FROM papers") == [(5,)]
    assert query(db, "SELECT source FROM paper_sources WHERE paper_id = 'arxiv:2506.05350'") == [
        ("good",),
        ("mine",),
    ]
    caplog.clear()
    ingest(config, FakeEmbedder())  # the next run: the record already is one of its sources
    assert "without an id" not in caplog.text, caplog.text


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://exa mple.org/feed", "host name 'exa mple.org' is not valid"),
        ("http://example.org/feed\x00.xml", "holds a control character"),
        ("http://example.org/a\nfeed", "holds a control character"),
        ("http://xn--zz.example/feed", "is not a valid URL (Invalid IDNA hostname"),
        ("http://.example.org/feed", "host name '.example.org' is not valid"),
        ("http://example..org/feed", "host name 'example..org' is not valid"),
        (f"http://b\u00fccher{'a' * 70}.example/", "is not a valid URL (Invalid IDNA hostname"),
        (f"http://{'a' * 64}.example/", "host name"),
    ],
)
def test_a_source_url_the_fetch_cannot_send_fails_check_config(
    tmp_path: Path, url: str, problem: str
) -> None:
    """Each passed check-config: then an IDN label httpx cannot decode ('xn--zz') ended every
    `ingest` in a traceback (idna.core.IDNAError) before the good source was read; an empty or
    64-character label printed a resolver thread's traceback and failed as "no DNS answer within
    30 s", though no name was asked; a NUL or a line break failed the source with the URL cut
    in two in the report; a space in the host was looked up as it was."""
    stderr = _check_config_refuses_the_first_source(tmp_path, url, problem)
    assert repr(url) in stderr, stderr


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("target", ["http://xn--zz.example/feed", "http://.example.org/feed"])
def test_a_redirect_to_a_host_the_fetch_cannot_send_to_fails_that_source_only(
    tmp_path: Path, fake_model: None, server: FeedServer, target: str
) -> None:
    """A feed that redirects to such a host (no config holds it) ended `ingest` in a traceback
    (IDNAError), or printed a resolver thread's traceback and failed as "no DNS answer within
    30 s", though the name was never asked. Now that source fails like any network error,
    saying why, and the others ingest."""
    url = server.route("/feed", Reply(302, headers={"Location": target}))
    sources = [("moved", "rss", url), ("good", "file", str(GOOD_FILE))]
    config = write_config(tmp_path, sources, **NO_BACKFILL)
    tally.add("hostile inputs tried")
    started = time.monotonic()
    result = _invoke(["--config", str(config), "ingest"])
    assert result.exit_code == 0, result.output
    assert "moved: FAILED: " in result.output, result.output
    assert "good: 5 entries, 5 new" in result.output, result.output
    assert "no DNS answer" not in result.output, result.output
    assert time.monotonic() - started < 10


def _as_schema_4(database: Path) -> None:
    """The store as the version before week boundaries left it (schema 4; test_cli does this
    too): no week_boundaries table, no DOI or sample-key index, no papers.sample_key."""
    conn = sqlite3.connect(database)
    conn.execute("DROP TABLE week_boundaries")
    conn.execute("DROP INDEX papers_doi_lower")
    conn.execute("DROP INDEX papers_sample_key")
    conn.execute("ALTER TABLE papers DROP COLUMN sample_key")
    conn.execute("PRAGMA user_version = 4")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("as_json", [False, True])
def test_status_on_an_older_schema_reports_it_and_leaves_the_file_as_it_was(
    tmp_path: Path, as_json: bool
) -> None:
    """`digest status`, a read command, migrated a store an earlier version wrote (it opened it
    for writing when the read-only open met the older schema): the file changed under a user
    who was only looking, and on a store kept for the old version (a rollback) it could no
    longer be read by it. Now status reads it as it is, says which schema it found and that
    the next build or ingest migrates it, and the file keeps every byte."""
    config = write_config(tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL)
    ingest(config, FakeEmbedder())
    database = tmp_path / "data" / "pipeline.sqlite3"
    _as_schema_4(database)
    before = database.read_bytes()
    tally.add("hostile inputs tried")
    result = _invoke(["--config", str(config), "status", *(["--json"] if as_json else [])])
    assert result.exit_code == 0, result.output
    assert database.read_bytes() == before
    assert query(database, "PRAGMA user_version") == [(4,)]
    wal = database.with_name(database.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    if as_json:
        shown = json.loads(result.stdout)
        assert shown["store_schema"] == {"found": 4, "current": SCHEMA_VERSION}, shown
        assert [s["source"] for s in shown["sources"]] == ["good"], shown
    else:
        assert (
            f"store: schema version 4, older than this program's {SCHEMA_VERSION}: the next"
            " build or ingest migrates it" in result.output
        ), result.output
        assert "good: ok, last success" in result.output, result.output


@pytest.mark.parametrize("name", [f"{WEEK}.md", "index.md"])
def test_a_folder_in_place_of_an_output_fails_the_build_naming_it(
    tmp_path: Path, fake_model: None, name: str
) -> None:
    """A folder where a digest file goes (a user's `mkdir digests/2025-W23.md`, a sync tool's
    conflict copy): `build` ended in a traceback (IsADirectoryError from the rename) after
    renaming the outputs before it, and left the temp files of the others behind. Now it fails
    naming the file before renaming any, and leaves no temp file."""
    config = write_config(tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL)
    ingest(config, FakeEmbedder())
    digests = tmp_path / "digests"
    assert _invoke(["--config", str(config), "build", "--week", WEEK]).exit_code == 0
    before = {p.name: p.read_bytes() for p in digests.iterdir() if p.name != name}
    (digests / name).unlink()
    (digests / name).mkdir()
    tally.add("hostile inputs tried")
    result = _invoke(["--config", str(config), "build", "--week", WEEK])
    assert result.exit_code == 1, result.output
    assert f"cannot write {digests / name}: " in result.output, result.output
    assert sorted(p.name for p in digests.iterdir()) == sorted([*before, name])
    assert {n: (digests / n).read_bytes() for n in before} == before


def test_a_config_that_never_ends_is_refused_at_a_size_cap(tmp_path: Path) -> None:
    """`--config /dev/zero` (or /dev/urandom, a pipe that keeps writing) was read whole into
    memory: check-config ran until the kernel killed it or another process for memory (a
    `serve` on the same machine, say). Now a config is read up to 16 MiB, and past that the
    command says the file is too large to be a config (exit 2). Shown here with a pipe that
    offers 64 MiB and counts what was taken: a device such as /dev/zero never ends."""
    pipe = tmp_path / "config.toml"
    os.mkfifo(pipe)
    taken = []

    def offer() -> None:
        chunk = b"#" * (1 << 20)
        with pipe.open("wb") as out:
            try:
                for _ in range(64):
                    out.write(chunk)
                    taken.append(len(chunk))
            except BrokenPipeError:
                pass

    writer = threading.Thread(target=offer, daemon=True)
    writer.start()
    tally.add("hostile inputs tried")
    result = _invoke(["--config", str(pipe), "check-config"])
    writer.join(10)
    assert result.exit_code == 2, result.output
    assert f"cannot read config file {pipe}: over 16 MiB" in result.stderr, result.stderr
    assert sum(taken) < 32 << 20, sum(taken)


def test_a_record_whose_link_is_no_url_does_not_fail_its_file(
    tmp_path: Path, fake_model: None
) -> None:
    """One record with a link urlsplit cannot read ("http://[::1/x", a cut IPv6 literal) failed
    its whole file, "unreadable feed (ValueError: Invalid IPv6 URL)": no paper of it was stored,
    run after run. And `explain http://[::1` ended in a traceback. Now such a link is no id
    (the record is known by its title, like one without a link), the file's other papers land,
    the week builds, and explain says it names no stored paper."""
    papers = tmp_path / "papers.jsonl"
    lines = [
        '{"title": "Graph networks with a cut link", "url": "http://[::1/x",'
        ' "published": "2025-06-04"}',
        '{"title": "Graph networks with a good link", "url": "https://example.org/a",'
        ' "published": "2025-06-04"}',
    ]
    papers.write_text("\n".join(lines) + "\n", "utf-8")
    config = write_config(tmp_path, [("mine", "file", str(papers))], **NO_BACKFILL)
    tally.add("hostile inputs tried")
    result = _invoke(["--config", str(config), "ingest"])
    assert result.exit_code == 0, result.output
    assert "mine: 2 entries, 2 new" in result.output, result.output
    result = _invoke(["--config", str(config), "build", "--week", WEEK])
    assert result.exit_code == 0, result.output
    digest = (tmp_path / "digests" / f"{WEEK}.md").read_text("utf-8")
    assert "Graph networks with a cut link" in digest, digest
    assert "http://[::1" not in digest, digest
    result = _invoke(["--config", str(config), "explain", "http://[::1"])
    assert result.exit_code == 2, result.output
    assert "no stored paper 'http://[::1'" in result.output, result.output


@pytest.mark.parametrize(("made", "problem"), [("file", "is not a folder"), ("", "does not exist")])
def test_a_templates_dir_that_is_no_folder_fails_check_config(
    tmp_path: Path, made: str, problem: str
) -> None:
    """`[paths] templates_dir` naming a file (the template itself, not its folder) or a folder
    that does not exist (a typo) passed check-config, and every build used the packaged
    templates: the user's overrides were ignored without a word."""
    if made == "file":
        (tmp_path / "mine").write_text("{{ digest.title }}\n", "utf-8")
    sources = [("good", "file", str(GOOD_FILE))]
    config = write_config(tmp_path, sources, **NO_BACKFILL, paths={"templates_dir": "mine"})
    tally.add("configs tried")
    result = _invoke(["--config", str(config), "check-config"])
    assert result.exit_code == 2, result.output
    assert f"paths.templates_dir: {tmp_path / 'mine'} {problem}" in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("written", "said"),
    [(None, "cannot read email.ca_file {}: No such file"), ("key", "holds no PEM certificate")],
)
def test_an_email_ca_file_that_is_missing_or_no_certificate_is_named(
    tmp_path: Path, fake_model: None, written: str | None, said: str
) -> None:
    """`[email] ca_file` naming a file that is not there (a typo) or that holds no certificate
    (the key file, not the certificate): check-config said ok, and every build with
    send_after_build (and `digest send`) ended in a traceback, FileNotFoundError or
    ssl.SSLError, after writing the digest. Now check-config names a missing one, and a send
    says which file could not be used (exit 1), the digest written."""
    ca_file = tmp_path / "relay-ca.pem"
    if written is not None:
        ca_file.write_text("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n")
    with smtp_server() as (inbox, port, _):
        email = {**mail_to_loopback(port), "ca_file": str(ca_file)}
        sources = [("good", "file", str(GOOD_FILE))]
        config = write_config(tmp_path, sources, **NO_BACKFILL, email=email)
        tally.add("configs tried")
        checked = _invoke(["--config", str(config), "check-config"])
        if written is None:
            assert checked.exit_code == 2, checked.output
            assert f"email.ca_file: {ca_file} does not exist" in checked.stderr, checked.stderr
        ingest(config, FakeEmbedder())
        built = _invoke(["--config", str(config), "build", "--week", WEEK])
        assert built.exit_code == 1, built.output
        assert said.format(ca_file) in built.output, built.output
        assert (tmp_path / "digests" / f"{WEEK}.md").is_file()
        sent = _invoke(["--config", str(config), "send", "--week", WEEK])
        assert sent.exit_code == 1, sent.output
        assert said.format(ca_file) in sent.output, sent.output
    assert inbox.messages == []


@pytest.mark.parametrize("host", ["", "localhost"])
def test_a_file_url_with_an_escaped_space_passes_check_config(
    tmp_path: Path, fake_model: None, host: str
) -> None:
    """A file source written as a file:// URL, the form `Path.as_uri()` and a browser's address
    bar give (`file:///home/me/my%20papers/p.jsonl`, or with `localhost` as its host): the
    ingest read it, but check-config said "…/my%20papers/p.jsonl does not exist" (exit 2),
    looking for the path with its %20 (or `localhost/home/…`) as written."""
    folder = tmp_path / "my papers"
    folder.mkdir()
    papers = folder / "p.jsonl"
    papers.write_bytes(GOOD_FILE.read_bytes())
    url = papers.as_uri().replace("file://", f"file://{host}", 1)
    assert "%20" in url
    config = write_config(tmp_path, [("mine", "file", url)], **NO_BACKFILL)
    tally.add("configs tried")
    checked = _invoke(["--config", str(config), "check-config"])
    assert checked.exit_code == 0, checked.output
    result = _invoke(["--config", str(config), "ingest"])
    assert result.exit_code == 0, result.output
    assert "mine: 5 entries, 5 new" in result.output, result.output


def test_a_max_seq_length_over_what_the_model_reads_fails_check_config(tmp_path: Path) -> None:
    """`[embed] max_seq_length = 1024` ("read more of each abstract") for MiniLM, whose position
    embeddings stop at 512: check-config said ok, and every ingest that met an abstract that
    long failed in the model ("The size of tensor a (1024) must match the size of tensor b
    (512)"), naming no key, its papers stored but never embedded. 512 passes."""
    sources = [("good", "file", str(GOOD_FILE))]
    config = write_config(tmp_path, sources, embed={"max_seq_length": 1024})
    tally.add("configs tried")
    result = _invoke(["--config", str(config), "check-config"])
    assert result.exit_code == 2, result.output
    assert (
        "embed.max_seq_length: 1024 is more tokens than model 'all-MiniLM-L6-v2' reads (512)"
        in result.stderr
    ), result.stderr
    config = write_config(tmp_path, sources, embed={"max_seq_length": 512})
    assert _invoke(["--config", str(config), "check-config"]).exit_code == 0


@pytest.mark.parametrize(
    ("section", "key", "value", "said"),
    [
        ("email", "timeout_s", 1e10, "must be at most 86400"),
        ("arxiv", "politeness_s", 1e10, "must be at most 86400"),
        ("schedule", "misfire_grace_s", 10**15, "must be at most 31536000"),
    ],
)
def test_a_duration_too_long_for_the_clock_fails_check_config(
    tmp_path: Path, section: str, key: str, value: float, said: str
) -> None:
    """Durations no clock could hold passed check-config: `[email] timeout_s = 1e10` made every
    send a traceback (OverflowError: timestamp out of range for platform time_t), as did
    `[arxiv] politeness_s` at the second request to an arXiv host, and with
    `[schedule] misfire_grace_s = 10**15` `serve` logged a traceback for every job and never
    ran one. Now each is refused naming its key; a day (a year for misfire_grace_s) is
    accepted."""
    sources = [("good", "file", str(GOOD_FILE))]
    keys = mail_to_loopback(25) if section == "email" else {}
    config = write_config(tmp_path, sources, **{section: {**keys, key: value}})
    tally.add("configs tried")
    result = _invoke(["--config", str(config), "check-config"])
    assert result.exit_code == 2, result.output
    assert f"{section}.{key}: {said}" in result.stderr, result.stderr
    most = 365 * 86_400 if section == "schedule" else 86_400.0
    config = write_config(tmp_path, sources, **{section: {**keys, key: most}})
    assert _invoke(["--config", str(config), "check-config"]).exit_code == 0


def test_an_email_timeout_of_a_day_sends(tmp_path: Path, fake_model: None) -> None:
    """The longest `[email] timeout_s` check-config accepts is one the socket takes."""
    with smtp_server() as (inbox, port, _):
        email = {**mail_to_loopback(port), "timeout_s": 86_400.0}
        config = write_config(tmp_path, [("good", "file", str(GOOD_FILE))], email=email)
        ingest(config, FakeEmbedder())
        result = _invoke(["--config", str(config), "build", "--week", WEEK])
        assert result.exit_code == 0, result.output
    assert len(inbox.messages) == 1


def test_a_file_records_authors_as_name_objects_are_read_and_odd_values_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A file exported from Hugging Face's or Semantic Scholar's API lists each author as an
    object, `{"name": "Ada Lovelace"}`: every such paper was stored with no authors, and a
    `url` or `abstract` of another type (a list of links) was dropped too, without a word.
    Now `{"name": …}` objects give the names, and a value that cannot be read is named in a
    warning with its record and key, the paper landing without it."""
    _ingest_lines(
        tmp_path,
        caplog,
        [
            '{"id": "2506.00001", "title": "Graph networks by name objects",'
            ' "authors": [{"name": "Ada Lovelace", "authorId": "1"}, {"name": "Alan Turing"}],'
            ' "published": "2025-06-04"}',
            '{"id": "2506.00002", "title": "Graph networks with a list of links",'
            ' "url": ["https://example.org/a"], "authors": [{"id": 7}],'
            ' "abstract": {"text": "An abstract."}, "published": "2025-06-04"}',
        ],
    )
    stored = query(tmp_path / "data" / "pipeline.sqlite3", "SELECT paper_id, authors FROM papers")
    assert sorted(stored) == [
        ("arxiv:2506.00001", '["Ada Lovelace", "Alan Turing"]'),
        ("arxiv:2506.00002", "[]"),
    ]
    warned = [r.getMessage() for r in caplog.records if "ignoring" in r.getMessage()]
    assert warned == [
        "mine: line 2: ignoring abstract {'text': 'An abstract.'}, not text",
        "mine: line 2: ignoring url ['https://example.org/a'], not text",
        "mine: line 2: ignoring authors [{'id': 7}], not a name, a list of names or of"
        ' {"name": …} objects',
    ], caplog.text


def test_two_sources_of_one_feed_both_read_it(
    tmp_path: Path, fake_model: None, server: FeedServer
) -> None:
    """Two sources on one feed URL (one with its own `exclude`, one without): the second sent
    the ETag the first had just been given, the server answered 304 Not Modified, and the
    second stored nothing, run after run ("b: 0 entries"), its papers lost without a word.
    Now a URL more than one enabled source reads is fetched whole for each."""
    feed = (DATA / "feeds" / "arxiv_rss2_cs.LG_2026-04-27_trimmed3items.xml").read_bytes()
    url = server.route(
        "/feed", Reply(200, feed, {"Content-Type": "application/rss+xml"}, etag='"v1"')
    )
    exclude = ["learning", "model", "network", "data"]
    config = conftest.write_config(
        tmp_path,
        **NO_BACKFILL,
        sources=[
            {"name": "a", "kind": "rss", "url": url, "exclude": exclude},
            {"name": "b", "kind": "rss", "url": url},
        ],
    )
    tally.add("hostile inputs tried")
    for _ in range(2):  # the second run too: the cache holds the ETag from the first
        result = _invoke(["--config", str(config), "ingest"])
        assert result.exit_code == 0, result.output
        assert "b: 3 entries" in result.output, result.output
    stored = query(
        tmp_path / "data" / "pipeline.sqlite3",
        "SELECT count(*) FROM paper_sources WHERE source = 'b'",
    )
    assert stored == [(3,)]


def test_a_feed_compressed_without_saying_so_is_read(
    tmp_path: Path, fake_model: None, server: FeedServer
) -> None:
    """A server that sends a `.xml.gz` as it is (no Content-Encoding) or compresses twice, and
    a local `papers.jsonl.gz`: each failed its source as "not a usable feed (… not well-formed
    (invalid token))" or "not UTF-8 text (invalid start byte at byte 1)", naming no cause. Now
    gzip data is decompressed (up to fetch.max_bytes). A body that claims gzip and is not is
    named as such."""
    feed = (DATA / "feeds" / "arxiv_rss2_cs.LG_2026-04-27_trimmed3items.xml").read_bytes()
    xml = {"Content-Type": "application/rss+xml"}
    raw = server.route("/raw.xml.gz", Reply(200, gzip.compress(feed), xml))
    twice = server.route(
        "/twice",
        Reply(200, gzip.compress(gzip.compress(feed)), {**xml, "Content-Encoding": "gzip"}),
    )
    lying = server.route("/lying", Reply(200, feed, {**xml, "Content-Encoding": "gzip"}))
    local = tmp_path / "papers.jsonl.gz"
    local.write_bytes(gzip.compress(GOOD_FILE.read_bytes()))
    sources = [("raw", "rss", raw), ("twice", "rss", twice), ("local", "file", str(local))]
    config = write_config(tmp_path, [*sources, ("lying", "rss", lying)], **NO_BACKFILL)
    tally.add("hostile inputs tried")
    result = _invoke(["--config", str(config), "ingest"])
    assert result.exit_code == 0, result.output
    for name, n in [("raw", 3), ("twice", 3), ("local", 5)]:
        assert f"{name}: {n} entries" in result.output, result.output
    assert (
        f"lying: FAILED: {lying}: the body does not decompress as its Content-Encoding header says"
        in result.output
    ), result.output
    bomb = tmp_path / "bomb.jsonl.gz"
    bomb.write_bytes(gzip.compress(b" " * 2_000_000))
    config = write_config(
        tmp_path, [("bomb", "file", str(bomb))], **NO_BACKFILL, fetch={"max_bytes": 1_000_000}
    )
    result = _invoke(["--config", str(config), "ingest"])
    assert f"bomb: FAILED: {bomb}: decompresses to over the 1000000-byte cap" in result.output


def test_status_with_a_limit_past_what_sqlite_counts_lists_every_run(tmp_path: Path) -> None:
    """`digest status --limit 99999999999999999999` ("all of them") ended in a traceback,
    OverflowError: Python int too large to convert to SQLite INTEGER."""
    config = write_config(tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL)
    ingest(config, FakeEmbedder())
    tally.add("hostile inputs tried")
    result = _invoke(["--config", str(config), "status", "--limit", "9" * 20])
    assert result.exit_code == 0, result.output
    assert "good: ok, last success" in result.output, result.output


@pytest.mark.parametrize("name", ["Graph\u00a0networks", "Graph\nnetworks", "Graph \t networks"])
def test_a_topic_name_with_odd_whitespace_is_linked_from_the_contents(
    tmp_path: Path, fake_model: None, name: str
) -> None:
    """A topic name with a no-break space (pasted from a web page), a line break (a multi-line
    string) or a tab: the digest showed "## Graph networks", but its contents (and the HTML's)
    linked to #graphnetworks, which no heading has: the link went nowhere."""
    topic = {
        "slug": "graphs",
        "name": name,
        "description": "Graph networks.",
        "keywords": ["graph"],
        "min_similarity": 0.0,
    }
    config = _ingested(tmp_path, topic)
    tally.add("configs tried")
    result = _invoke(["--config", str(config), "build", "--week", WEEK])
    assert result.exit_code == 0, result.output
    digest = (tmp_path / "digests" / f"{WEEK}.md").read_text("utf-8")
    assert "\n## Graph networks\n" in digest, digest
    assert "[Graph networks](#graph-networks)" in digest, digest
    page = (tmp_path / "digests" / f"{WEEK}.html").read_text("utf-8")
    assert 'href="#graph-networks"' in page and 'id="graph-networks"' in page, page


def test_topic_names_that_differ_only_in_whitespace_fail_check_config(tmp_path: Path) -> None:
    """ "Graph networks" and "Graph\u00a0networks" (a no-break space) both show as "## Graph
    networks": check-config saw two anchors, and the contents linked both rows to the first."""
    topics = [
        {"slug": s, "name": n, "description": "Graph networks."}
        for s, n in [("a", "Graph networks"), ("b", "Graph\u00a0networks")]
    ]
    config = write_config(tmp_path, [("good", "file", str(GOOD_FILE))], topics=topics)
    tally.add("configs tried")
    result = _invoke(["--config", str(config), "check-config"])
    assert result.exit_code == 2, result.output
    assert "topics[1].name: " in result.stderr, result.stderr
    assert "has the link anchor of topics[0].name (#graph-networks)" in result.stderr


@pytest.mark.parametrize(
    ("cron", "said"),
    [
        (
            "0 2 * * mon\u2013fri",
            "'mon\u2013fri' holds '\u2013', which cron does not read: write '-'",
        ),
        ("0 7 * * mon#1", "'mon#1' holds '#', which cron does not read"),
        ("0 7 * jan\u2013mar mon", "'jan\u2013mar' holds '\u2013', which cron does not read"),
    ],
)
def test_a_cron_field_with_a_character_cron_does_not_read_fails_check_config(
    tmp_path: Path, cron: str, said: str
) -> None:
    """`ingest_cron = "0 2 * * mon–fri"` with an en dash (a word processor's or a chat app's
    "-"): check-config said ok and `serve` ingested on Mondays only, `status` showing the
    Monday as the next ingest; `mon#1` ("first Monday") fired every Monday, `jan–mar` in
    January only. The scheduler read the name before the odd character and dropped the rest."""
    config = write_config(
        tmp_path, [("good", "file", str(GOOD_FILE))], schedule={"ingest_cron": cron}
    )
    tally.add("configs tried")
    result = _invoke(["--config", str(config), "check-config"])
    assert result.exit_code == 2, result.output
    assert "schedule.ingest_cron: " in result.stderr and said in result.stderr, result.stderr


@pytest.mark.parametrize("written", ["$HOME/digest-data", "${STATE_DIRECTORY}/data"])
def test_a_folder_written_with_an_environment_variable_is_named(
    tmp_path: Path, written: str
) -> None:
    """`data_dir = "$HOME/digest-data"` (as in a shell, or systemd's ${STATE_DIRECTORY}): nothing
    expands it, so check-config said ok and the first run made a folder named "$HOME" beside
    the config and kept the store there, where the user never looked."""
    config = write_config(
        tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL, paths={"data_dir": written}
    )
    tally.add("configs tried")
    for args in (["check-config"], ["ingest"]):
        result = _invoke(["--config", str(config), *args])
        assert result.exit_code == 2, result.output
        assert (
            f"paths.data_dir: {written!r} names an environment variable, which is not expanded"
            in result.stderr
        ), (result.stderr, result.output)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


@pytest.mark.parametrize(
    ("feed", "kind", "said"),
    [
        (
            "hf_daily_papers_api_2026-06-12_30entries.json",
            "rss",
            'the source gave JSON, not a feed: Hugging Face\'s daily papers are kind "hf-daily"',
        ),
        (
            "arxiv_rss2_cs.LG_2026-04-27_trimmed3items.xml",
            "hf-daily",
            'the source gave XML, not JSON: an RSS or Atom feed is kind "rss"',
        ),
        (
            "arxiv_rss2_cs.LG_2026-04-27_trimmed3items.xml",
            "file",
            'the source gave XML, not JSON: an RSS or Atom feed is kind "rss"',
        ),
    ],
)
def test_a_source_of_the_wrong_kind_says_what_came_back(
    tmp_path: Path, server: FeedServer, feed: str, kind: str, said: str
) -> None:
    """Hugging Face's daily-papers URL under `kind = "rss"` (or a feed under "hf-daily" or
    "file"), the commonest slip in a new config: the source failed with "not a usable feed
    (SAXParseException: <unknown>:2:0: syntax error)" or "not valid JSON (Expecting value:
    line 1 column 1 (char 0))", which says neither what came back nor what to change."""
    url = server.route("/papers", Reply(200, (DATA / "feeds" / feed).read_bytes()))
    config = write_config(tmp_path, [("mine", kind, url)], **NO_BACKFILL)
    tally.add("hostile inputs tried")
    result = _invoke(["--config", str(config), "ingest"])
    assert result.exit_code == 1, result.output
    assert said in result.output, result.output


def test_a_json_file_whose_papers_are_under_another_key_says_where(
    tmp_path: Path, fake_model: None
) -> None:
    """A page saved from an API, its papers under "data" (Semantic Scholar) or "results"
    (OpenAlex): the whole object was read as one paper, and the source failed with "none of
    the 1 records has a title", sending the user to look for titles that were all there."""
    papers = tmp_path / "papers.json"
    records = [json.loads(line) for line in GOOD_FILE.read_text("utf-8").splitlines()]
    papers.write_text(json.dumps({"total": 5, "offset": 0, "data": records}), "utf-8")
    config = write_config(tmp_path, [("mine", "file", str(papers))], **NO_BACKFILL)
    tally.add("hostile inputs tried")
    result = _invoke(["--config", str(config), "ingest"])
    assert result.exit_code == 1, result.output
    assert (
        'mine: FAILED: mine: a JSON object with no title and no "papers" list (are they its'
        " 'data' list?)" in result.output
    ), result.output


def test_a_source_url_without_its_scheme_is_named_as_a_web_address(tmp_path: Path) -> None:
    """`url = "rss.arxiv.org/rss/cs.LG"`, the scheme left out (as a browser's address bar shows
    it): read as a local path beside the config, check-config said ".../rss.arxiv.org/rss/cs.LG
    does not exist", which sent the user looking for a file. Now it says what to write."""
    sources = [("lg", "arxiv-rss", "rss.arxiv.org/rss/cs.LG"), ("good", "file", str(GOOD_FILE))]
    config = write_config(tmp_path, sources, **NO_BACKFILL)
    tally.add("configs tried")
    result = _invoke(["--config", str(config), "check-config"])
    assert result.exit_code == 2, result.output
    assert (
        f"sources[0].url: {tmp_path}/rss.arxiv.org/rss/cs.LG does not exist (source 'lg'); a web"
        " address needs its scheme: https://rss.arxiv.org/rss/cs.LG" in result.stderr
    ), result.stderr


def test_a_config_saved_as_utf16_is_named_so(tmp_path: Path) -> None:
    """A config.toml saved as UTF-16 (Windows Notepad's "Unicode", PowerShell 5's `>`): the
    error said "is not UTF-8 text: 'utf-8' codec can't decode byte 0xff in position 0", which
    names a byte, not the cause. Now it says the file is UTF-16 and to save it as UTF-8."""
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        config = tmp_path / f"config-{codec}.toml"
        config.write_bytes(bom + '[digest]\ntitle = "Mine"\n'.encode(codec))
        tally.add("configs tried")
        result = _invoke(["--config", str(config), "check-config"])
        assert result.exit_code == 2, result.output
        assert f"{config} is UTF-16 text; save it as UTF-8" in result.stderr, result.stderr


@pytest.mark.parametrize("host", ["smtp.example.org:587", "smtp://smtp.example.org"])
def test_an_smtp_host_with_a_port_or_scheme_fails_check_config(
    tmp_path: Path, fake_model: None, host: str
) -> None:
    """`smtp_host = "smtp.example.org:587"` (how a mail client shows a server) or with an
    smtp:// scheme passed check-config, and every send failed later with "…:587:587: Name or
    service not known". Now check-config names the key and where the port goes."""
    email = {"smtp_host": host, "sender": "me@example.org", "recipients": ["me@example.org"]}
    config = write_config(tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL, email=email)
    tally.add("configs tried")
    result = _invoke(["--config", str(config), "check-config"])
    assert result.exit_code == 2, result.output
    assert f"email.smtp_host: {host!r} is not a host name alone" in result.stderr, result.stderr
    assert "email.smtp_port" in result.stderr, result.stderr


@pytest.mark.parametrize("wait", ["nan", "inf"])
def test_a_wait_that_is_not_a_number_of_seconds_is_refused(tmp_path: Path, wait: str) -> None:
    """`digest run --wait nan` was accepted (NaN is not below 0), and a run that found the lock
    held waited forever; `inf` is no limit either. Now both are usage errors naming --wait."""
    config = write_config(tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL)
    for command in ("ingest", "run"):
        result = _invoke(["--config", str(config), command, "--wait", wait])
        assert result.exit_code == 2, result.output
        assert "--wait" in result.output and "a number of seconds" in result.output, result.output


@pytest.mark.parametrize(
    "reference",
    [
        "2506.05349v1.pdf",
        "~/Downloads/2506.05349v2.pdf",
        "/home/me/Downloads/2506.05349 (1).pdf",
        "file:///home/me/papers/2506.05349.PDF",
        "C:\\Users\\me\\Downloads\\2506.05349v1.pdf",
    ],
)
def test_explain_a_pdf_saved_from_arxiv_reads_its_id_from_the_file_name(
    tmp_path: Path, fake_model: None, reference: str
) -> None:
    """arXiv names a downloaded PDF by its id (2506.05349v1.pdf, a second download
    '2506.05349v1 (1).pdf'): given that file, explain said "no stored paper
    '~/Downloads/2506.05349v2.pdf'", as if the paper were not stored. Nothing opens the file."""
    _explains_the_stored_paper(tmp_path, reference)


def test_explain_a_pdf_file_named_otherwise_says_a_pdf_is_not_read(
    tmp_path: Path, fake_model: None
) -> None:
    """A PDF saved under another name: the error now says the file is not opened and what to
    give instead, rather than only that no stored paper has that 'id'."""
    config = _ingested(tmp_path, _topic("video"))
    pdf = tmp_path / "VideoMathQA paper.pdf"
    pdf.write_bytes(b"%PDF-1.4\n")
    result = _invoke(["--config", str(config), "explain", str(pdf)])
    assert result.exit_code == 2, result.output
    assert "a PDF file is not opened" in result.output, result.output
    assert "arXiv's own name for it (2506.01234v2.pdf)" in result.output, result.output


def test_ingest_of_a_source_url_without_its_scheme_names_it_as_a_web_address(
    tmp_path: Path, fake_model: None
) -> None:
    """check-config said a URL written without its scheme needs https://, but a run that was
    not checked first (cron, serve) said only "lg: FAILED: …/rss.arxiv.org/rss/cs.LG: cannot
    read file: No such file or directory", in the report, the log and the digest's Coverage."""
    sources = [("lg", "arxiv-rss", "rss.arxiv.org/rss/cs.LG"), ("good", "file", str(GOOD_FILE))]
    config = write_config(tmp_path, sources, **NO_BACKFILL)
    tally.add("configs tried")
    result = _invoke(["--config", str(config), "ingest"])
    assert result.exit_code == 0, result.output
    assert (
        f"lg: FAILED: {tmp_path}/rss.arxiv.org/rss/cs.LG: cannot read file: No such file or"
        " directory; a web address needs its scheme: https://rss.arxiv.org/rss/cs.LG"
        in result.output
    ), result.output
    assert "good: 5 entries, 5 new" in result.output, result.output


def test_mark_names_the_paper_by_its_whole_title(tmp_path: Path, fake_model: None) -> None:
    """`mark` confirmed "added arxiv:2506.05349 (VideoMathQA: Benchmarking Mathematical
    Reasoning via Multimo) to video's examples": the title cut at 60 characters, mid-word and
    with nothing to say it was cut, read as the paper's title. Now the title is whole (a
    pasted 2,000-character one is cut at 200, ending in '…'), as the config's comment has it."""
    config = _ingested(tmp_path, _topic("video"))
    tally.add("hostile inputs tried")
    result = _invoke(["--config", str(config), "mark", "2506.05349", "--topic", "video"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "added arxiv:2506.05349 (VideoMathQA: Benchmarking Mathematical Reasoning via"
        " Multimodal Understanding in Videos) to video's examples"
    ), result.output


def test_an_example_that_names_no_stored_paper_is_left_out_and_named(
    tmp_path: Path, fake_model: None
) -> None:
    """README's own example (`examples = ["2312.00752"]`, Mamba) names a paper a weekly feed
    never lists: its characters were embedded as a prototype, and three such famous papers
    added to a topic took 8 of its 28 papers out on the demo week, without a word. Now an id,
    DOI or link of no stored paper is left out until the paper is ingested: `topics` names it,
    each build warns, and the week comes out as without it."""
    unstored = ["2402.03300", "doi:10.1000/no-such-paper", "https://openreview.net/forum?id=x"]
    topic = _topic("video", keywords=["video"])

    def config(name: str, examples: list[str]) -> Path:
        written = write_config(
            tmp_path,
            [("good", "file", str(GOOD_FILE))],
            **NO_BACKFILL,
            topics=[{**topic, "examples": examples}],
        )
        return written.rename(tmp_path / name)

    marked = config("marked.toml", ["2506.05349", *unstored])
    only_stored = config("stored.toml", ["2506.05349"])
    ingest(only_stored, FakeEmbedder())
    tally.add("hostile inputs tried")
    result = _invoke(["--config", str(marked), "topics", "--week", WEEK])
    assert result.exit_code == 0, result.output
    assert (
        "  examples that name no stored paper, left out until it is ingested: '2402.03300',"
        " 'doi:10.1000/no-such-paper', 'https://openreview.net/forum?id=x'" in result.output
    ), result.output
    # Only the stored example counts: the unstored ones change nothing.
    _warns_at_build_and_moves_nothing(
        marked,
        only_stored,
        "topic video: example '2402.03300' names no stored paper; it is left out until the"
        " paper is ingested",
    )


def _warns_at_build_and_moves_nothing(config: Path, same: Path, warning: str) -> None:
    """`config`'s build of WEEK warns `warning`, and its sections are those of `same`'s."""
    result = _invoke(["--config", str(config), "build", "--week", WEEK])
    assert result.exit_code == 0, result.output
    assert warning in result.stderr, result.stderr
    result = _invoke(["--config", str(config), "topics", "--week", WEEK, "--compare", str(same)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{WEEK}: 0 papers change section"), result.output


def test_an_example_that_is_also_a_counter_example_written_another_way_counts_as_one_only(
    tmp_path: Path, fake_model: None
) -> None:
    """README said a paper in both lists is a config error, but only one written alike in both
    was refused: "2506.05349" in examples and its abs link in counter_examples passed
    check-config, and the paper, kept out of the topic, still pulled its boundary as an example.
    Now it counts as a counter-example only, and each build says so."""
    topic = _topic("video", keywords=["video"])
    link = "https://arxiv.org/abs/2506.05349v2"

    def config(name: str, **lists: list[str]) -> Path:
        written = write_config(
            tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL, topics=[{**topic, **lists}]
        )
        return written.rename(tmp_path / name)

    both = config("both.toml", examples=["2506.05349"], counter_examples=[link])
    counter = config("counter.toml", counter_examples=[link])
    ingest(counter, FakeEmbedder())
    tally.add("configs tried")
    _warns_at_build_and_moves_nothing(
        both,
        counter,
        "topic video: example '2506.05349' names a paper its counter_examples name too; it"
        " counts as a counter-example only (`digest --config"
        f" {both} mark 2506.05349 --topic video` keeps it an example only, with --not a"
        " counter-example only)",
    )


def test_a_jsonl_file_with_a_line_separator_inside_a_string_is_read(
    tmp_path: Path, fake_model: None
) -> None:
    """JSON lets U+2028, U+2029 and U+0085 (NEL, cp1252's '…' read as Latin-1) stand raw in a
    string, and json.dumps(ensure_ascii=False), as a user's export script writes JSONL, leaves
    them so. The file was split at them as at line ends: "papers.jsonl: line 1: not valid JSON
    (Unterminated string …)", and the whole file failed, run after run."""
    records = [
        {"id": "2506.20001", "title": "Line separator", "abstract": "One part\u2028another."},
        {"id": "2506.20002", "title": "Next line\u0085 in a title", "abstract": "Para\u2029two."},
        {"id": "2506.20003", "title": "A plain paper", "abstract": "Plain."},
    ]
    papers = tmp_path / "papers.jsonl"
    papers.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    config = write_config(tmp_path, [("mine", "file", str(papers))], **NO_BACKFILL)
    tally.add("hostile inputs tried")
    result = _invoke(["--config", str(config), "ingest"])
    assert result.exit_code == 0, result.output
    assert "mine: 3 entries, 3 new" in result.output, result.output
    db = tmp_path / "data" / "pipeline.sqlite3"
    assert [row[0] for row in query(db, "SELECT paper_id FROM papers ORDER BY paper_id")] == [
        "arxiv:2506.20001",
        "arxiv:2506.20002",
        "arxiv:2506.20003",
    ]


def test_a_labels_file_with_a_byte_order_mark_or_a_line_separator_is_read(tmp_path: Path) -> None:
    """`digest eval --labels` refused a labels file saved by Notepad ("not valid JSON:
    Unexpected UTF-8 BOM"), which file sources read, and split a line at a raw U+2028 in an
    abstract ("Unterminated string")."""
    from pipeline.tune.evaluate import load_labels

    labels = tmp_path / "labels.jsonl"
    lines = [
        {"title": "Video QA", "abstract": "One part\u2028another.", "topics": ["video"]},
        {"title": "Flow matching", "abstract": "Next\u0085line.", "topics": []},
    ]
    text = "".join(json.dumps(line, ensure_ascii=False) + "\r\n" for line in lines)
    labels.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    tally.add("hostile inputs tried")
    found = load_labels(labels)
    assert [p.paper.title for p in found] == ["Video QA", "Flow matching"]


@pytest.mark.parametrize(
    ("written", "day"),
    [
        ("2021/09/24", "2021-09-24"),
        ("2021/9/24 16:00:00", "2021-09-24"),
        ("2021年9月24日", "2021-09-24"),
        ("2021. 9. 24.", "2021-09-24"),
        ("2021.09.24", "2021-09-24"),
        ("2021년 9월 24일", "2021-09-24"),
        ("2021/12/31", "2021-12-31"),
    ],
)
def test_a_feed_date_written_year_first_with_slashes_or_cjk_units_is_read(
    tmp_path: Path, fake_model: None, written: str, day: str
) -> None:
    """A journal feed dating its items "2021/09/24" (as Chinese, Japanese and Korean CMSs
    write them, or 2021年9月24日): feedparser read every such date as 1 December of its year,
    so a paper went to a week months away (one already built: never in a digest) or was
    warned of as dated in the future, under a day the feed never wrote."""
    feed = (FEEDS / "journal_cnki_asian-herpetological-research_rss2_zh_2021-12-21.xml").read_text(
        "utf-8"
    )
    dated = re.sub(r"<pubDate>[^<]*</pubDate>", f"<pubDate>{written}</pubDate>", feed)
    path = tmp_path / "cnki.xml"
    path.write_text(dated, "utf-8")
    config = write_config(tmp_path, [("cnki", "rss", str(path))], **NO_BACKFILL)
    tally.add("hostile inputs tried")
    ingest(config, FakeEmbedder(), now=datetime(2022, 1, 10, tzinfo=UTC))
    db = tmp_path / "data" / "pipeline.sqlite3"
    published = {str(row[0])[:10] for row in query(db, "SELECT published FROM papers")}
    assert published == {day}, published


@pytest.mark.parametrize("stamp", ["Thu, 01 Jan 1970 00:00:00 GMT", "0001-01-01T00:00:00Z"])
def test_a_feed_item_dated_at_the_epoch_is_in_the_week_it_arrived(
    tmp_path: Path, fake_model: None, stamp: str
) -> None:
    """A CMS that has no date for an item writes the Unix epoch (1970-01-01 00:00 UTC) or .NET's
    DateTime.MinValue (0001-01-01): the paper was put in 1970-W01, no digest ever listed it,
    and nothing said so. Such a stamp is no date: the paper is in the week it was ingested."""
    feed = (FEEDS / "journal_cnki_asian-herpetological-research_rss2_zh_2021-12-21.xml").read_text(
        "utf-8"
    )
    path = tmp_path / "cnki.xml"
    path.write_text(re.sub(r"<pubDate>[^<]*</pubDate>", f"<pubDate>{stamp}</pubDate>", feed))
    config = write_config(tmp_path, [("cnki", "rss", str(path))], **NO_BACKFILL, week="2022-W02")
    ingest(config, FakeEmbedder(), now=datetime(2022, 1, 10, tzinfo=UTC))
    tally.add("hostile inputs tried")
    db = tmp_path / "data" / "pipeline.sqlite3"
    assert {row[0] for row in query(db, "SELECT published FROM papers")} == {None}
    report = build(config, FakeEmbedder(), now=datetime(2022, 1, 17, tzinfo=UTC))
    assert report.n_papers_in_digest == len(query(db, "SELECT paper_id FROM papers"))


@pytest.mark.parametrize("max_bytes", [1_000_000_000_000, 2**63 - 1])
@pytest.mark.parametrize("compressed", [False, True])
def test_a_huge_max_bytes_reads_a_file_source(
    tmp_path: Path, fake_model: None, max_bytes: int, compressed: bool
) -> None:
    """`max_bytes = 1_000_000_000_000` (a terabyte: "no limit") passed check-config, and every
    ingest died in a traceback (MemoryError; OverflowError for TOML's largest integer): a local
    file was read with one read(max_bytes + 1), which asks for that much memory at once."""
    source = GOOD_FILE
    if compressed:
        source = tmp_path / "papers.jsonl.gz"
        source.write_bytes(gzip.compress(GOOD_FILE.read_bytes()))
    config = write_config(
        tmp_path, [("good", "file", str(source))], **NO_BACKFILL, fetch={"max_bytes": max_bytes}
    )
    tally.add("configs tried")
    result = _invoke(["--config", str(config), "ingest"])
    assert result.exit_code == 0, result.output
    assert "good: 5 entries, 5 new" in result.output, result.output


@pytest.mark.parametrize(
    "args",
    [
        ["--config", "", "check-config"],
        ["--log-file", "", "status"],
        ["eval", "--labels", ""],
        ["topics", "--compare", ""],
    ],
)
def test_an_empty_path_option_is_named_not_read_as_the_current_folder(
    tmp_path: Path, args: list[str]
) -> None:
    """`digest --config "$DIGEST_CONFIG" run` with the variable unset in a crontab or unit file
    said "cannot read config file .: Is a directory"; an empty --log-file, --labels or --compare
    too named '.', and `topics --compare ""` even suggested `--compare .`. Now each says which
    option is empty."""
    config = write_config(tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL)
    if args[0] != "--config":
        args = ["--config", str(config), *args]
    tally.add("configs tried")
    result = _invoke(args)
    assert result.exit_code == 2, result.output
    option = args[args.index("") - 1]
    assert f"Invalid value for '{option}': is empty" in result.output, result.output
    assert "Is a directory" not in result.output and " . " not in result.output, result.output


def test_a_file_record_dated_at_the_epoch_is_in_the_week_it_arrived(
    tmp_path: Path, fake_model: None, caplog: pytest.LogCaptureFixture
) -> None:
    """A record whose export wrote the Unix epoch for a missing date ("1970-01-01T00:00:00Z",
    what a timestamp of 0 prints as) went to 1970-W01, which no digest lists, without a word.
    Now it is ignored with a warning, as an unreadable date is, and the paper is in the week it
    was ingested. A day alone ("1970-01-01", a real paper's year) is still that day
    (test_odd_entries)."""
    papers = tmp_path / "papers.jsonl"
    records = [
        {"id": "2506.30003", "title": "An epoch dated paper", "published": "1970-01-01T00:00:00Z"},
        {"id": "2506.30004", "title": "A dated paper", "published": "2025-06-10"},
    ]
    papers.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    config = write_config(tmp_path, [("mine", "file", str(papers))], **NO_BACKFILL)
    caplog.set_level(logging.WARNING)
    ingest(config, FakeEmbedder())
    tally.add("hostile inputs tried")
    db = tmp_path / "data" / "pipeline.sqlite3"
    assert query(db, "SELECT paper_id, published FROM papers ORDER BY paper_id") == [
        ("arxiv:2506.30003", None),
        ("arxiv:2506.30004", "2025-06-10T00:00:00+00:00"),
    ]
    assert "mine: line 1: ignoring published '1970-01-01T00:00:00Z'" in caplog.text, caplog.text


def _listed(digests: Path, week: str) -> set[str]:
    """The ids of every paper the JSON sidecar of `week` lists (none when it wrote none)."""
    sidecar = digests / f"{week}.json"
    if not sidecar.is_file():
        return set()
    data = json.loads(sidecar.read_text("utf-8"))
    return {p["paper_id"] for section in data["sections"] for p in section["papers"]}


def test_a_paper_the_api_listed_before_arxiv_announced_it_is_in_one_digest(
    tmp_path: Path, fake_model: None
) -> None:
    """An `arxiv-api` source lists a paper on the day it is submitted (Thursday); arXiv's RSS
    announces it days later, in the next week. The week's digest was built from the API's date,
    then the announcement moved the paper into the next week, whose digest listed it again:
    every paper submitted late in a week was e-mailed twice. A paper stays in the digest that
    first listed it; the announcement day is still stored."""
    import arxivfeeds

    records = arxivfeeds.load_day("2025-06-12") + arxivfeeds.load_day("2025-06-13")
    api, rss = tmp_path / "api.xml", tmp_path / "rss.xml"
    api.write_bytes(arxivfeeds.api_page(records))  # submitted 11 and 12 June: 2025-W24
    rss.write_bytes(arxivfeeds.rss_day(records, datetime(2025, 6, 16).date()))  # 2025-W25
    api_only = write_config(tmp_path, [("api", "arxiv-api", str(api))], **NO_BACKFILL)
    ingest(api_only, FakeEmbedder(), now=datetime(2025, 6, 14, tzinfo=UTC))
    digests = tmp_path / "digests"
    assert _invoke(["--config", str(api_only), "build", "--week", "2025-W24"]).exit_code == 0
    assert len(_listed(digests, "2025-W24")) == len(records)
    both = write_config(
        tmp_path, [("api", "arxiv-api", str(api)), ("rss", "arxiv-rss", str(rss))], **NO_BACKFILL
    )
    ingest(both, FakeEmbedder(), now=datetime(2025, 6, 16, 8, tzinfo=UTC))
    tally.add("hostile inputs tried")
    db = tmp_path / "data" / "pipeline.sqlite3"
    assert {row[0] for row in query(db, "SELECT announced FROM papers")} == {"2025-06-16"}
    for week in ("2025-W25", "2025-W24"):
        result = _invoke(["--config", str(both), "build", "--week", week])
        assert result.exit_code == 0, result.output
    assert len(_listed(digests, "2025-W24")) == len(records)
    assert _listed(digests, "2025-W25") == set()
    result = _invoke(["--config", str(both), "explain", "2506.10982"])  # the digest's week
    assert result.exit_code == 0 and "\n2025-W24: in section" in result.output, result.output


def _rss(path: Path, items: list[tuple[str, str, str]]) -> None:
    """An RSS feed at `path` of (title, link, guid) items; an empty guid writes none."""
    body = "".join(
        f"<item><title>{title}</title><link>{link}</link>"
        + (f"<guid>{guid}</guid>" if guid else "")
        + f"<description>About {title}.</description>"
        "<pubDate>Wed, 04 Jun 2025 10:00:00 GMT</pubDate></item>"
        for title, link, guid in items
    )
    path.write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>C</title>{body}</channel></rss>',
        "utf-8",
    )


def _rss_ingested_twice(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str, items: list[tuple[str, str, str]]
) -> Path:
    """Ingest an RSS source `name` of (title, link, guid) items twice (a second run finds every
    paper stored, under the same ids), warnings captured; the store's path."""
    path = tmp_path / f"{name}.xml"
    _rss(path, items)
    config = write_config(tmp_path, [(name, "rss", str(path))], **NO_BACKFILL)
    caplog.set_level(logging.WARNING)
    for _ in range(2):
        ingest(config, FakeEmbedder())
    tally.add("hostile inputs tried")
    return tmp_path / "data" / "pipeline.sqlite3"


def test_feed_items_that_share_one_link_under_different_titles_are_all_kept(
    tmp_path: Path, fake_model: None, caplog: pytest.LogCaptureFixture
) -> None:
    """A journal feed that links every item to its issue page (or a CMS giving every item one
    guid) listed four papers; two were stored, each holding the text of the first item of its
    link, and the other two papers were lost without a word. The link names no one paper
    there: each item is known by its title, its link kept for readers."""
    items = [
        ("Protein folding with transformers", "https://j.example.org/issue/current"),
        ("Graph networks for traffic forecasting", "https://j.example.org/issue/current"),
        ("Coral reef bleaching surveys", "https://j.example.org/toc"),
        ("Bird migration under warming", "https://j.example.org/toc"),
        ("A paper with its own page", "https://j.example.org/article/5"),
    ]
    db = _rss_ingested_twice(tmp_path, caplog, "journal", [(t, u, "") for t, u in items])
    stored = query(db, "SELECT title, url FROM papers ORDER BY title")
    assert stored == sorted(items), stored
    assert "journal: 2 items share the link https://j.example.org/issue/current" in caplog.text


def _build_week(config: Path, week: str, now: datetime) -> RunReport:
    """`digest build --week WEEK` in-process at `now`."""
    settings = load_settings(config)
    with Store.open(settings.database_path) as store:
        return run.run_build(settings, store, FakeEmbedder(), now=now, week=week)


def test_a_paper_dated_into_a_week_already_built_is_listed_by_the_next_digest(
    tmp_path: Path,
) -> None:
    """A paper that arrives dated into a week whose digest was already built and e-mailed (an
    `arxiv-api` source's or a backfill's, a file appended to) was in no digest: the next week's
    digest holds only its own days, and the old week is not built again. It is listed by the
    next digest built, once; rebuilding the old week by hand lists what that week listed."""
    papers = tmp_path / "papers.jsonl"
    own = [
        {"id": "2506.40001", "title": "A paper of the first week", "published": "2025-06-10"},
        {"id": "2506.40002", "title": "A paper of the second week", "published": "2025-06-17"},
    ]
    late = {"id": "2506.40003", "title": "A paper dated back", "published": "2025-06-11"}
    papers.write_text(json.dumps(own[0]) + "\n", "utf-8")
    config = write_config(tmp_path, [("mine", "file", str(papers))], **NO_BACKFILL)
    ingest(config, FakeEmbedder(), now=datetime(2025, 6, 16, 6, tzinfo=UTC))
    _build_week(config, "2025-W24", datetime(2025, 6, 16, 7, tzinfo=UTC))
    digests = tmp_path / "digests"
    assert _listed(digests, "2025-W24") == {"arxiv:2506.40001"}
    papers.write_text("".join(json.dumps(r) + "\n" for r in [*own, late]), "utf-8")
    ingest(config, FakeEmbedder(), now=datetime(2025, 6, 18, 6, tzinfo=UTC))
    tally.add("hostile inputs tried")
    _build_week(config, "2025-W25", datetime(2025, 6, 23, 7, tzinfo=UTC))
    assert _listed(digests, "2025-W25") == {"arxiv:2506.40002", "arxiv:2506.40003"}
    for week in ("2025-W24", "2025-W25"):  # rebuilt by hand: each lists what it listed
        _build_week(config, week, datetime(2025, 6, 24, 7, tzinfo=UTC))
    assert _listed(digests, "2025-W24") == {"arxiv:2506.40001"}
    assert _listed(digests, "2025-W25") == {"arxiv:2506.40002", "arxiv:2506.40003"}
    result = _invoke(["--config", str(config), "explain", "2506.40003"])
    assert result.exit_code == 0 and "\n2025-W25: in section" in result.output, result.output


@pytest.mark.parametrize("guid", ["https://cms.example.org/feed", "10.5555/journal.issue.7"])
def test_feed_items_that_share_one_guid_are_each_a_paper(
    tmp_path: Path, fake_model: None, caplog: pytest.LogCaptureFixture, guid: str
) -> None:
    """A broken CMS feed gave every item the same guid (the feed's own address, the issue's
    DOI): the guid was each item's id, so the four papers were stored as one, the text of the
    first kept, the other three lost without a word. A guid shared by items with different
    links names no one paper: each is known by its link, with a warning naming the source."""
    items = [
        ("Protein folding with transformers", "https://cms.example.org/a/1"),
        ("Graph networks for traffic forecasting", "https://cms.example.org/a/2"),
        ("Coral reef bleaching surveys", "https://cms.example.org/a/3"),
        ("Bird migration under warming", "https://cms.example.org/a/4"),
    ]
    db = _rss_ingested_twice(tmp_path, caplog, "cms", [(t, u, guid) for t, u in items])
    stored = query(db, "SELECT paper_id, title, url FROM papers ORDER BY title")
    assert [(t, u) for _, t, u in stored] == sorted(items), stored
    assert [i for i, _, _ in stored] == [f"url:{u}" for _, u in sorted(items)]
    assert (
        f"source cms: 4 items share the guid {guid!r} under different links or titles"
        in caplog.text
    )


def test_explain_says_it_embeds_the_papers_an_ingest_left_without_vectors(
    tmp_path: Path, fake_model: None
) -> None:
    """`digest explain` and `digest topics` run while an ingest had stored papers but not yet
    embedded them (or after one was stopped) loaded the model and embedded them without a
    word: a minute of silence on a CPU, or, offline, a model error nothing explained. They
    still embed them (as the build would, so the answer is the build's), saying so first."""
    config = write_config(tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL)
    ingest(config, FakeEmbedder())
    db = tmp_path / "data" / "pipeline.sqlite3"
    tally.add("hostile inputs tried")
    for args in (["topics"], ["explain", "2506.05349"]):
        conn = sqlite3.connect(db)  # what an ingest stopped before it embedded leaves
        with conn:
            conn.execute(
                "DELETE FROM embeddings WHERE item_id LIKE 'arxiv:%'"
                " AND item_id > 'arxiv:2506.05347'"
            )
        conn.close()
        result = _invoke(["--config", str(config), *args])
        assert result.exit_code == 0, result.output
        assert (
            f"{WEEK}: no vector from {FakeEmbedder().name} yet for 3 of its 5 papers"
            in result.stderr
        ), result.stderr


def test_a_feed_that_lists_one_item_at_a_time_under_one_guid_loses_none(
    tmp_path: Path, fake_model: None, caplog: pytest.LogCaptureFixture
) -> None:
    """A CMS feed that gives every item the feed's address as its guid, and lists only its
    newest item: each fetch's item took the id of the paper the first fetch stored, and was
    merged into it, its own title and link lost without a word. A guid that names a stored
    paper of another link and title is not that paper; the first item keeps its id. A paper's
    new version under its DOI guid (bioRxiv: another title, a v2 link) is still that paper,
    under its new title since round 27 (the one source it came from relists it)."""
    guid = "https://cms.example.org/feed"
    first = ("Protein folding with transformers", "https://cms.example.org/a/1", guid)
    second = ("Coral reef bleaching surveys", "https://cms.example.org/a/2", guid)
    doi = "10.1101/2025.06.01.123456"
    v1 = ("Cells in motion", f"https://www.biorxiv.org/content/{doi}v1?rss=1", doi)
    v2 = ("Cells in motion, revised", f"https://www.biorxiv.org/content/{doi}v2?rss=1", doi)
    path = tmp_path / "cms.xml"
    config = write_config(tmp_path, [("cms", "rss", str(path))], **NO_BACKFILL)
    caplog.set_level(logging.WARNING)
    for items in ([first, v1], [second, v2], [first, second, v2]):
        _rss(path, items)
        ingest(config, FakeEmbedder())
    tally.add("hostile inputs tried")
    db = tmp_path / "data" / "pipeline.sqlite3"
    assert query(db, "SELECT paper_id, title FROM papers ORDER BY paper_id") == [
        (f"doi:{doi}", "Cells in motion, revised"),
        ("url:https://cms.example.org/a/2", "Coral reef bleaching surveys"),
        (f"url:{guid}", "Protein folding with transformers"),
    ]
    assert (
        f"source cms: the guid '{guid}' of 'Coral reef bleaching surveys' names the stored"
        f" paper url:{guid} ('Protein folding with transformers'), of another link and title"
    ) in caplog.text


def test_a_paper_dated_months_back_into_a_built_week_is_named_by_explain(
    tmp_path: Path, fake_model: None
) -> None:
    """A late paper is listed by the next digest when its own week lies within LATE_WEEKS of
    that digest's (arXiv's backfill reaches 90 days back); one dated further back into a
    built week (a file given an old line) is in no digest, and `explain` says so in one line
    where it would have ended in "not among its papers", a traceback. Round 23: it said so as
    an error (exit 1); it is the answer, with the paper's day, its week, when that week was
    built and when the paper came; and `mark` predicted "2025-W11: 0 papers change section"
    for a week that does not hold the paper, where it now says the paper is in no digest."""
    papers = tmp_path / "papers.jsonl"
    old = {"id": "2503.40001", "title": "A paper of March", "published": "2025-03-11"}
    now = {"id": "2506.40002", "title": "A paper of June", "published": "2025-06-17"}
    back = {"id": "2503.40003", "title": "A paper dated far back", "published": "2025-03-12"}
    papers.write_text(json.dumps(old) + "\n", "utf-8")
    config = write_config(tmp_path, [("mine", "file", str(papers))], **NO_BACKFILL)
    ingest(config, FakeEmbedder(), now=datetime(2025, 3, 17, 6, tzinfo=UTC))
    _build_week(config, "2025-W11", datetime(2025, 3, 17, 7, tzinfo=UTC))
    papers.write_text("".join(json.dumps(r) + "\n" for r in [old, now, back]), "utf-8")
    ingest(config, FakeEmbedder(), now=datetime(2025, 6, 18, 6, tzinfo=UTC))
    tally.add("hostile inputs tried")
    _build_week(config, "2025-W25", datetime(2025, 6, 23, 7, tzinfo=UTC))
    assert _listed(tmp_path / "digests", "2025-W25") == {"arxiv:2506.40002"}
    result = _invoke(["--config", str(config), "explain", "2503.40003"])
    # Round 23: an answer, not "error: …" and exit 1 (as for a paper dated 9999-12-31).
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "arxiv:2503.40003: A paper dated far back\n"
        "in no digest: it is dated 2025-03-12, in 2025-W11, whose digest was built on"
        " 2025-03-17, before the paper was stored (on 2025-06-18); a paper that late (over 13"
        " weeks before the next digest built) is listed by no digest\n"
    ), result.stdout
    tally.add("hostile inputs tried")
    config.write_text(
        config.read_text("utf-8")
        + '\n[[topics]]\nslug = "late"\nname = "Late"\ndescription = "Papers."\n',
        "utf-8",
    )
    marked = _invoke(["--config", str(config), "mark", "2503.40003", "--topic", "late"])
    assert marked.exit_code == 0, marked.output
    assert (
        "(arxiv:2503.40003 arrived too late for any digest, so no moves are predicted)"
    ) in marked.stdout, marked.stdout


# --- round 23: a user running it for years --------------------------------------------------


class _StopsTheSenderOnData(Inbox):
    """A relay that takes the message, and while it answers DATA the machine stops the sender
    (systemd's SIGTERM, a cron timeout): the message is on its way to the readers."""

    pid = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        if self.pid:
            os.kill(self.pid, signal.SIGTERM)
            await asyncio.sleep(0.5)  # the signal lands while the sender waits for "250"
        return reply


@pytest.mark.slow
def test_a_digest_stopped_while_the_relay_takes_it_is_mailed_once(
    tmp_path: Path, fake_model: None
) -> None:
    """A SIGTERM (systemd stopping the service, a cron timeout) after the SMTP server took the
    digest but before the delivery was recorded: the send stopped (exit 143), the store said
    the week was never e-mailed, and the next run mailed it again: readers got it twice. Now
    SIGTERM and SIGINT are held from the send to the record, and act after it."""
    inbox = _StopsTheSenderOnData()
    with smtp_server(inbox=inbox) as (_, port, _):
        config = write_config(
            tmp_path,
            [("good", "file", str(GOOD_FILE))],
            **NO_BACKFILL,
            email={**mail_to_loopback(port), "send_after_build": False},
        )
        ingest(config, FakeEmbedder())
        assert _invoke(["--config", str(config), "build", "--week", WEEK]).exit_code == 0
        tally.add("hostile inputs tried")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
        argv = [sys.executable, "-m", "pipeline", "--config", str(config), "send", "--week", WEEK]
        child = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, env=env)
        inbox.pid = child.pid
        _, err = child.communicate(timeout=120)
        inbox.pid = 0
        assert child.returncode == 128 + signal.SIGTERM, err
        assert "Traceback" not in err, err
        assert len(inbox.messages) == 1
        again = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
        assert again.returncode == 0, again.stderr
        assert f"{WEEK} was e-mailed on" in again.stdout, again.stdout
    assert len(inbox.messages) == 1


def _two_reading_lists(
    tmp_path: Path,
    *,
    paths: dict[str, str],
    email: Callable[[str], dict[str, object]] | None = None,
) -> tuple[Path, Path]:
    """Configs "mine" and "theirs" in folders of those names, each with a file source of half
    of GOOD_FILE's papers and the given `paths` (and, per name, `email`)."""
    lines = GOOD_FILE.read_text("utf-8").splitlines(keepends=True)
    configs = []
    for name, part in (("mine", lines[:3]), ("theirs", lines[3:])):
        (tmp_path / name).mkdir()
        (tmp_path / name / "p.jsonl").write_text("".join(part), "utf-8")
        extra = {"email": email(name)} if email is not None else {}
        configs.append(
            write_config(
                tmp_path / name, [(name, "file", "p.jsonl")], **NO_BACKFILL, paths=paths, **extra
            )
        )
    return configs[0], configs[1]


def test_a_second_config_sharing_one_data_dir_is_refused_naming_the_first(
    tmp_path: Path, fake_model: None
) -> None:
    """Two reading lists (two configs, two digests folders) given one `data_dir`: the second
    one's digest listed the first one's papers, not its own (the week was closed by the
    first build), and said "2025-W23 was e-mailed on …; not sent again": its readers never
    got a digest. Now its commands exit 2 naming the data_dir and the config that owns it;
    the first config, and a config whose digests folder moved, go on as before."""
    with smtp_server() as (inbox, port, _):
        mine, theirs = _two_reading_lists(
            tmp_path,
            paths={"data_dir": str(tmp_path / "data")},
            email=lambda name: {**mail_to_loopback(port), "recipients": [f"{name}@example.org"]},
        )
        assert _invoke(["--config", str(mine), "ingest"]).exit_code == 0
        assert _invoke(["--config", str(mine), "build", "--week", WEEK]).exit_code == 0
        tally.add("configs tried")
        for command in (["ingest"], ["build", "--week", WEEK], ["send", "--week", WEEK]):
            refused = _invoke(["--config", str(theirs), *command])
            assert refused.exit_code == 2, refused.output
            assert (
                f"paths.data_dir: {tmp_path / 'data'} is the store of {mine}, whose digests"
                f" are in {tmp_path / 'mine' / 'digests'}: two configs cannot share one data_dir"
            ) in refused.stderr, refused.stderr
        assert not (tmp_path / "theirs" / "digests").exists()
        again = _invoke(["--config", str(mine), "ingest"])
        assert again.exit_code == 0, again.output
        (tmp_path / "mine" / "digests").rename(tmp_path / "moved")
        moved = write_config(
            tmp_path / "mine",
            [("mine", "file", "p.jsonl")],
            **NO_BACKFILL,
            paths={"data_dir": str(tmp_path / "data"), "digests_dir": str(tmp_path / "moved")},
            email={**mail_to_loopback(port), "recipients": ["mine@example.org"]},
        )
        rebuilt = _invoke(["--config", str(moved), "build", "--week", WEEK])
        assert rebuilt.exit_code == 0, rebuilt.output
    assert inbox.recipients == [["mine@example.org"]]


def test_a_copy_of_a_store_is_not_taken_for_a_shared_one(tmp_path: Path, fake_model: None) -> None:
    """Round 23's check refused any config given a store another config had written, so a
    copy of the store (a backup restored elsewhere, a copy to try a config edit on, as
    `topics --compare` users do) was refused while the original config still had its
    digests: "two configs cannot share one data_dir", though nothing was shared. A store is
    refused only when the config that wrote it still keeps its store at that path."""
    (tmp_path / "mine").mkdir()
    shutil.copy(GOOD_FILE, tmp_path / "mine" / "p.jsonl")
    mine = write_config(tmp_path / "mine", [("mine", "file", "p.jsonl")], **NO_BACKFILL)
    assert _invoke(["--config", str(mine), "ingest"]).exit_code == 0
    assert _invoke(["--config", str(mine), "build", "--week", WEEK]).exit_code == 0
    (tmp_path / "trial").mkdir()
    shutil.copytree(tmp_path / "mine" / "data", tmp_path / "trial" / "data")
    shutil.copy(GOOD_FILE, tmp_path / "trial" / "p.jsonl")
    trial = write_config(tmp_path / "trial", [("mine", "file", "p.jsonl")], **NO_BACKFILL)
    built = _invoke(["--config", str(trial), "build", "--week", WEEK])
    assert built.exit_code == 0, built.output
    assert (tmp_path / "trial" / "digests" / f"{WEEK}.md").is_file()
    assert _invoke(["--config", str(mine), "build", "--week", WEEK]).exit_code == 0


def test_a_title_with_a_bidi_override_is_stored_and_shown_without_it(
    tmp_path: Path, fake_model: None
) -> None:
    """A feed title carrying U+202E (RIGHT-TO-LEFT OVERRIDE): the digest dropped it, but the
    store kept it, and `explain`, `topics` and the JSON sidecar printed it, so the rest of the
    terminal line read reversed ("evil" shown as "live"). The cleaning pass drops bidi
    embeddings, overrides and isolates as it drops direction marks; Arabic and Hebrew stay."""
    title = "تعلم الآلة \u202eevil\u202c and \u2067עברית\u2069 models"
    papers = tmp_path / "papers.jsonl"
    record = {"id": "2506.50001", "title": title, "published": "2025-06-04"}
    papers.write_text(json.dumps(record) + "\n", "utf-8")
    config = write_config(tmp_path, [("mine", "file", str(papers))], **NO_BACKFILL)
    ingest(config, FakeEmbedder())
    tally.add("hostile inputs tried")
    built = _invoke(["--config", str(config), "build", "--week", WEEK])
    assert built.exit_code == 0, built.output
    explained = _invoke(["--config", str(config), "explain", "2506.50001"])
    assert explained.exit_code == 0, explained.output
    shown = "تعلم الآلة evil and עברית models"
    assert f"arxiv:2506.50001: {shown}\n" in explained.stdout, explained.stdout
    sidecar = json.loads((tmp_path / "digests" / f"{WEEK}.json").read_text("utf-8"))
    titles = [p["title"] for s in sidecar["sections"] for p in s["papers"]]
    assert titles == [shown]


def _piped(text: str) -> str:
    """`/dev/fd/N` of a pipe holding `text`, as bash's `<(…)` hands a command its config."""
    read, write = os.pipe()
    os.write(write, text.encode("utf-8"))
    os.close(write)
    return f"/dev/fd/{read}"


def test_a_config_given_as_a_pipe_is_read_with_paths_from_the_working_directory(
    tmp_path: Path, fake_model: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`digest --config <(envsubst < config.tmpl) check-config`, which the README says works:
    every command said "config file not found: /dev/fd/63 (/proc/…/fd/pipe:[…])", the path
    the pipe resolves to; and `mark` given a pipe would wait on it for ever. Now a pipe is read
    as named, its relative paths resolve against the working directory, and `mark` says it
    edits a file."""
    (tmp_path / "p.jsonl").write_bytes(GOOD_FILE.read_bytes())
    config = write_config(
        tmp_path, [("good", "file", "p.jsonl")], **NO_BACKFILL, topics=[_topic("video")]
    )
    text = config.read_text("utf-8")
    config.unlink()
    monkeypatch.chdir(tmp_path)
    tally.add("configs tried")
    checked = _invoke(["--config", _piped(text), "check-config"])
    assert checked.exit_code == 0, checked.output
    ingested = _invoke(["--config", _piped(text), "ingest"])
    assert ingested.exit_code == 0, ingested.output
    assert "good: 5 entries, 5 new" in ingested.output, ingested.output
    assert (tmp_path / "data" / "pipeline.sqlite3").is_file()
    paper = "2506.05349"
    marked = _invoke(["--config", _piped(text), "mark", paper, "--topic", "video"])
    assert marked.exit_code == 2, marked.output
    assert "`digest mark` edits the config file, and /dev/fd/" in marked.stderr, marked.stderr


# --- round 24: a user running it for years ---------------------------------------------------


def _weeks_ago(n: int) -> tuple[str, datetime]:
    """The ISO week `n` weeks before this one, and its Wednesday noon (UTC)."""
    today = datetime.now(UTC)
    monday = datetime(today.year, today.month, today.day, 12, tzinfo=UTC) - timedelta(
        days=today.weekday(), weeks=n
    )
    wednesday = monday + timedelta(days=2)
    year, week, _ = wednesday.isocalendar()
    return f"{year}-W{week:02d}", wednesday


def test_explain_after_a_long_outage_names_the_week_that_lists_a_late_paper(
    tmp_path: Path, fake_model: None
) -> None:
    """The service was down for twelve weeks after a week's digest was built; a paper then
    arrives dated into that built week. `digest run` builds at most 8 missed weeks, oldest
    first, and the first of them lists the late paper; `explain` named the week after the last
    digest built, which no run builds (and whose digest, built by hand, would not list it)."""
    built, built_day = _weeks_ago(13)
    papers = tmp_path / "papers.jsonl"
    old = {"id": "2501.40001", "title": "A paper before the outage", "published": ""}
    late = {"id": "2501.40002", "title": "A paper dated back", "published": ""}
    old["published"] = built_day.date().isoformat()
    late["published"] = (built_day + timedelta(days=1)).date().isoformat()
    papers.write_text(json.dumps(old) + "\n", "utf-8")
    config = write_config(
        tmp_path, [("mine", "file", str(papers))], week="last-complete", **NO_BACKFILL
    )
    ingest(config, FakeEmbedder(), now=built_day + timedelta(days=4))
    _build_week(config, built, built_day + timedelta(days=5))  # the Monday after: closed
    papers.write_text(json.dumps(old) + "\n" + json.dumps(late) + "\n", "utf-8")
    ingest(config, FakeEmbedder(), now=datetime.now(UTC))
    tally.add("hostile inputs tried")
    first, _ = _weeks_ago(8)  # the oldest of the 8 weeks `digest run` builds now
    explained = _invoke(["--config", str(config), "explain", "2501.40002"])
    assert explained.exit_code == 0, explained.output
    assert f"\n{first}: in section" in explained.stdout, explained.stdout
    ran = _invoke(["--config", str(config), "run"])
    assert ran.exit_code == 0, ran.output
    assert _listed(tmp_path / "digests", first) == {"arxiv:2501.40002"}
    explained = _invoke(["--config", str(config), "explain", "2501.40002"])
    assert f"\n{first}: in section" in explained.stdout, explained.stdout
    assert "no digest of" not in explained.stdout, explained.stdout
    # A paper of a week the outage left unbuilt (before the 8 the run caught up) is in no
    # digest: explain named its week as if its digest listed it.
    skipped, skipped_day = _weeks_ago(10)
    gap = {"id": "2501.40003", "title": "A paper of a week not built", "published": ""}
    gap["published"] = skipped_day.date().isoformat()
    papers.write_text("".join(json.dumps(r) + "\n" for r in [old, late, gap]), "utf-8")
    ingest(config, FakeEmbedder(), now=datetime.now(UTC))
    explained = _invoke(["--config", str(config), "explain", "2501.40003"])
    assert explained.exit_code == 0, explained.output
    assert (
        f"\n{skipped}: in section Other (no topic, no discovered theme)\n(no digest of {skipped}"
        f" was built, though later weeks' were: the paper is in none until `digest --config"
        f" {config} build --week {skipped}` builds it)\n"
    ) in explained.stdout, explained.stdout


def test_a_second_config_sharing_one_digests_dir_is_refused_naming_the_first(
    tmp_path: Path, fake_model: None
) -> None:
    """Two reading lists (two configs, two data_dirs) given one `digests_dir`: each build
    overwrote the other's week files, `index.md` and `feed.xml` without a word (round 23
    refused only a shared data_dir). The digests folder now names the config that writes it
    (`.written-by.json`); another config's build exits 2 naming the folder and that config,
    leaving every file as it was. A whole setup copied elsewhere, or a config that is gone,
    hands the folder over."""
    mine, theirs = _two_reading_lists(tmp_path, paths={"digests_dir": "../digests"})
    digests = tmp_path / "digests"
    assert _invoke(["--config", str(mine), "run"]).exit_code == 0
    before = {p.name: p.read_bytes() for p in digests.iterdir()}
    assert f"{WEEK}.md" in before
    tally.add("configs tried")
    for command in (["run"], ["build", "--week", WEEK]):
        refused = _invoke(["--config", str(theirs), *command])
        assert refused.exit_code == 2, refused.output
        assert (
            f"paths.digests_dir: {digests} holds the digests of {mine}: two configs cannot"
            " share one digests_dir"
        ) in refused.stderr, refused.stderr
        assert {p.name: p.read_bytes() for p in digests.iterdir()} == before
    theirs_db = tmp_path / "theirs" / "data" / "pipeline.sqlite3"  # refused before the ingest
    assert not theirs_db.exists() or query(theirs_db, "SELECT count(*) FROM papers") == [(0,)]
    assert _invoke(["--config", str(mine), "build", "--week", WEEK]).exit_code == 0
    shutil.copytree(tmp_path, tmp_path.parent / f"{tmp_path.name}-copy")  # a whole setup copied
    copy = tmp_path.parent / f"{tmp_path.name}-copy"
    copied = _invoke(["--config", str(copy / "mine" / "config.toml"), "build", "--week", WEEK])
    assert copied.exit_code == 0, copied.output
    assert _invoke(["--config", str(mine), "build", "--week", WEEK]).exit_code == 0
    mine.unlink()  # the first reading list given up: its folder is free
    taken = _invoke(["--config", str(theirs), "build", "--week", WEEK])
    assert taken.exit_code == 0, taken.output


def test_a_topic_slug_renamed_between_weeks_is_said_at_check_config_and_build(
    tmp_path: Path, fake_model: None
) -> None:
    """A topic's slug ties its weeks together (the trend, the chart line). Renamed between two
    weeks (`rl` to `agents`, a tidier name), the next digest showed the topic as "new" and its
    line started over, and nothing said why. check-config and the build now say it, naming
    both slugs and the digest the old one was last in; a rename of the name alone says
    nothing."""
    papers = _two_weeks_of_papers(tmp_path, "2506.4", "Agents")
    topic = _topic("rl", keywords=["agents"])
    config = write_config(tmp_path, [("mine", "file", str(papers))], **NO_BACKFILL, topics=[topic])
    ingest(config, FakeEmbedder(), now=datetime(2025, 6, 19, 6, tzinfo=UTC))
    assert _invoke(["--config", str(config), "build", "--week", "2025-W24"]).exit_code == 0
    renamed = write_config(
        tmp_path, [("mine", "file", str(papers))], **NO_BACKFILL, topics=[{**topic, "slug": "x"}]
    )
    tally.add("configs tried")
    checked = _invoke(["--config", str(renamed), "check-config"])
    assert checked.exit_code == 0, checked.output
    said = (
        "topics: 'rl', in 2025-W24's digest, is no longer configured, and 'x' is in no digest"
        " before it: if a topic's slug was renamed, its trend starts again"
    )
    assert f"warning: {said}" in checked.stderr, checked.stderr
    built = _invoke(["--config", str(renamed), "build", "--week", "2025-W25"])
    assert built.exit_code == 0, built.output
    assert said in built.stderr, built.stderr
    digest = (tmp_path / "digests" / "2025-W25.md").read_text("utf-8")
    assert "| [Video](#video) | 2 | new |" in digest, digest
    named = {**topic, "slug": "x", "name": "Agents"}  # built under 'x': its name is free
    write_config(tmp_path, [("mine", "file", str(papers))], **NO_BACKFILL, topics=[named])
    checked = _invoke(["--config", str(config), "check-config"])
    assert "warning" not in checked.stderr, checked.stderr


def test_check_config_leaves_a_store_of_an_older_schema_as_it_was(tmp_path: Path) -> None:
    """check-config reads the store for a topic's slug renamed since the last digest; a store
    an earlier version wrote is read as it is, never migrated by a command that only checks."""
    config = write_config(tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL)
    ingest(config, FakeEmbedder())
    database = tmp_path / "data" / "pipeline.sqlite3"
    older = SCHEMA_VERSION - 1  # the last migration creates its table IF NOT EXISTS: it runs
    with sqlite3.connect(database) as conn:
        conn.execute(f"PRAGMA user_version = {older}")
    conn.close()
    result = _invoke(["--config", str(config), "check-config"])
    assert result.exit_code == 0, result.output
    assert query(database, "PRAGMA user_version") == [(older,)]


def test_send_of_a_week_built_without_papers_says_so(tmp_path: Path, fake_model: None) -> None:
    """A week whose build found no papers writes no digest (nothing is published). `digest
    send --week` of it said "2025-W30.md does not exist: build that week first", exit 1: the
    user had built it, and building it again writes nothing again. It now says the week had no
    papers, so there is no digest to e-mail (exit 0, as the build's own answer), and mails
    nothing; a week never built still says to build it."""
    with smtp_server() as (inbox, port, _):
        config = write_config(
            tmp_path,
            [("good", "file", str(GOOD_FILE))],
            **NO_BACKFILL,
            email=mail_to_loopback(port),
        )
        ingest(config, FakeEmbedder())
        built = _invoke(["--config", str(config), "build", "--week", "2025-W30"])
        assert built.exit_code == 0 and "no papers for 2025-W30" in built.output, built.output
        tally.add("hostile inputs tried")
        sent = _invoke(["--config", str(config), "send", "--week", "2025-W30"])
        assert sent.exit_code == 0, sent.output
        assert (
            "no papers for 2025-W30: its build wrote no digest, so there is none to e-mail"
        ) in sent.output, sent.output
        never = _invoke(["--config", str(config), "send", "--week", "2025-W31"])
        assert never.exit_code == 1 and "build that week first" in never.stderr, never.output
    assert inbox.messages == []


def test_a_setup_in_a_folder_whose_name_is_not_utf8_builds(
    tmp_path: Path, fake_model: None
) -> None:
    """A folder or config file named on a Latin-1 system (`café` as the byte 0xE9), copied to
    the server as it was: every writing command ended in a UnicodeEncodeError traceback, as
    the store, which records its config since round 23, and the feed's id took the name as
    text. Its bytes are kept as they are (and the store's record reads back the same path)."""
    folder = tmp_path / os.fsdecode(b"caf\xe9")
    folder.mkdir()
    shutil.copy(GOOD_FILE, folder / "p.jsonl")
    config = write_config(folder, [("good", "file", "p.jsonl")], **NO_BACKFILL)
    config = config.rename(folder / os.fsdecode(b"r\xe9glages.toml"))
    tally.add("configs tried")
    for command in (["run"], ["build", "--week", WEEK], ["status"]):
        result = _invoke(["--config", str(config), *command])
        assert result.exit_code == 0, result.output
    assert (folder / "digests" / "feed.xml").is_file()
    assert _listed(folder / "digests", WEEK)
    (folder / "other").mkdir()  # another config given its store is refused, naming it
    other = write_config(
        folder / "other",
        [("good", "file", str(GOOD_FILE))],
        **NO_BACKFILL,
        paths={"data_dir": "../data", "digests_dir": "digests"},
    )
    refused = _invoke(["--config", str(other), "ingest"])
    shown = os.fsencode(config).decode("utf-8", "replace")  # as CliRunner reads the bytes
    assert refused.exit_code == 2 and f"is the store of {shown}" in refused.stderr, refused.output


# --- round 25 (users) -------------------------------------------------------------------------


def _marker(folder: Path) -> str:
    return (folder / run.DIGESTS_OWNER).read_text("utf-8")


def test_the_digests_folders_writer_file_names_no_absolute_path(
    tmp_path: Path, fake_model: None
) -> None:
    """Users publish the digests folder (GitHub Pages, a web server): its `.written-by.json`
    held the absolute paths of the config and the store, so the published folder told the
    world the user's home folder and name. It keeps them relative to the folder when they lie
    in its parent folder (`../config.toml`: the usual layout), and otherwise only a hash of
    them; a second config is still refused, a marker an older version wrote still read."""
    mine, theirs = _two_reading_lists(tmp_path, paths={"digests_dir": "../digests"})
    digests = tmp_path / "digests"
    assert _invoke(["--config", str(mine), "ingest"]).exit_code == 0
    assert _invoke(["--config", str(mine), "build", "--week", WEEK]).exit_code == 0
    assert str(tmp_path.resolve()) not in _marker(digests) and "mine" in _marker(digests)
    refused = _invoke(["--config", str(theirs), "build", "--week", WEEK])
    assert refused.exit_code == 2, refused.output
    assert f"{digests} holds the digests of {mine}:" in refused.stderr, refused.stderr
    # A folder published from elsewhere (/var/www/…): nothing of the config's path is kept.
    www = tmp_path / "www" / "digests"
    for config in (mine, theirs):
        write_config(
            config.parent,
            [(config.parent.name, "file", "p.jsonl")],
            **NO_BACKFILL,
            paths={"digests_dir": str(www)},
        )
    assert _invoke(["--config", str(mine), "build", "--week", WEEK]).exit_code == 0
    assert str(tmp_path.resolve()) not in _marker(www) and "mine" not in _marker(www)
    refused = _invoke(["--config", str(theirs), "build", "--week", WEEK])
    assert refused.exit_code == 2, refused.output
    assert f"paths.digests_dir: {www} holds the digests of another config" in refused.stderr
    assert _invoke(["--config", str(mine), "build", "--week", WEEK]).exit_code == 0
    # A marker an earlier version wrote (absolute paths) still names its config.
    old = {"config": str(mine), "database": str(mine.parent / "data" / "pipeline.sqlite3")}
    (www / run.DIGESTS_OWNER).write_text(json.dumps(old), "utf-8")
    refused = _invoke(["--config", str(theirs), "build", "--week", WEEK])
    assert refused.exit_code == 2 and f"holds the digests of {mine}:" in refused.stderr
    assert _invoke(["--config", str(mine), "build", "--week", WEEK]).exit_code == 0
    assert str(tmp_path.resolve()) not in _marker(www)


def test_a_refused_second_config_creates_nothing(tmp_path: Path, fake_model: None) -> None:
    """A second config refused (exit 2) because another one writes the digests folder left
    a data folder of its own behind, with an empty store, its `.checked` stamp and a lock
    file: a command refused should leave no trace."""
    mine, theirs = _two_reading_lists(tmp_path, paths={"digests_dir": "../digests"})
    assert _invoke(["--config", str(mine), "ingest"]).exit_code == 0
    assert _invoke(["--config", str(mine), "build", "--week", WEEK]).exit_code == 0
    for command in (["run"], ["build", "--week", WEEK], ["ingest"]):
        refused = _invoke(["--config", str(theirs), *command])
        assert refused.exit_code == 2, refused.output
        assert sorted(p.name for p in theirs.parent.iterdir()) == ["config.toml", "p.jsonl"]


def _two_weeks_of_papers(tmp_path: Path, prefix: str, title: str) -> Path:
    """A JSONL file of four papers (ids `prefix` + a number, titles `title` + a number), two
    in 2025-W24 and two in 2025-W25."""
    papers = tmp_path / "papers.jsonl"
    rows = [
        {"id": f"{prefix}{n:04d}", "title": f"{title} {n}", "abstract": "Agents.", "published": d}
        for n, d in enumerate(["2025-06-10", "2025-06-11", "2025-06-17", "2025-06-18"])
    ]
    papers.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return papers


def _two_weeks_built(tmp_path: Path, **sections: object) -> Path:
    """A config (with `sections`) of a file with papers of 2025-W24 and 2025-W25, both weeks
    built."""
    papers = _two_weeks_of_papers(tmp_path, "2506.5", "Paper")
    config = write_config(tmp_path, [("mine", "file", str(papers))], **NO_BACKFILL, **sections)
    assert _invoke(["--config", str(config), "ingest"]).exit_code == 0
    for week in ("2025-W24", "2025-W25"):
        assert _invoke(["--config", str(config), "build", "--week", week]).exit_code == 0
    return config


def test_index_and_feed_link_no_file_deleted_by_hand(tmp_path: Path, fake_model: None) -> None:
    """A user "cleaning up" the published folder deleted a week's `.md` (or `.html`) and kept
    its `.json`: the next build's `index.md` and `feed.xml` still linked the deleted file, a
    dead link for every reader. A week whose digest is gone is left out of both, and a page
    that is gone is not linked; `digest build --week` of it lists it again."""
    config = _two_weeks_built(tmp_path)
    digests = tmp_path / "digests"
    (digests / "2025-W24.md").unlink()
    (digests / "2025-W25.html").unlink()
    assert _invoke(["--config", str(config), "build", "--week", "2025-W25"]).exit_code == 0
    index = (digests / "index.md").read_text("utf-8")
    feed = (digests / "feed.xml").read_text("utf-8")
    assert "2025-W24" not in index and "2025-W24" not in feed, index
    assert "[2025-W25](2025-W25.md)" in index, index
    linked = re.findall(r"\]\(([^)]+)\)", index) + re.findall(r'href="([^"]+)"', feed)
    assert all((digests / name).exists() for name in linked), linked
    assert _invoke(["--config", str(config), "build", "--week", "2025-W24"]).exit_code == 0
    assert "2025-W24.md" in (digests / "index.md").read_text("utf-8")


def test_a_data_dir_changed_away_from_its_store_is_refused(
    tmp_path: Path, fake_model: None
) -> None:
    """A user moving the store (to a bigger disk, or a typo in the new path) edited data_dir
    before the store was there: the next command made a new, empty store beside the digests
    the old one built, without a word, as a store emptied by hand would (which is refused):
    the week's rebuild from nothing removed its digest, and the record of the weeks e-mailed
    was left behind, so every week would be mailed again. It is refused (exit 2), naming
    data_dir and the store the digests were built with, creating nothing."""
    config = _two_weeks_built(tmp_path)
    digests = tmp_path / "digests"
    before = sorted(p.name for p in digests.iterdir())
    with config.open("a", encoding="utf-8") as f:
        f.write('\n[paths]\ndata_dir = "data2"\n')
    for args in (
        ["check-config"],
        ["status"],
        ["build", "--week", "2025-W25"],
        ["ingest"],
        ["run"],
    ):
        result = _invoke(["--config", str(config), *args])
        assert result.exit_code == 2, (args, result.output)
        assert "paths.data_dir:" in result.output, result.output
        assert "data2" in result.output and str(Path("data", "pipeline.sqlite3")) in result.output
    assert not (tmp_path / "data2").exists()
    assert sorted(p.name for p in digests.iterdir()) == before
    shutil.move(tmp_path / "data", tmp_path / "data2")  # the store moved: it is used
    assert _invoke(["--config", str(config), "build", "--week", "2025-W25"]).exit_code == 0
    assert sorted(p.name for p in digests.iterdir()) == before


def test_an_ampersand_in_a_title_with_latex_is_kept_in_every_output(
    tmp_path: Path, fake_model: None
) -> None:
    """A title with math and an ampersand ("Q&A with $k$-NN", "Tom & Jerry: $O(n)$") is read as
    LaTeX, where a bare `&` is a table's column break, dropped: the digest, its HTML page and
    its JSON said "Q A with k-NN" and "Tom Jerry: O(n)", and explain by that title found no
    paper. Outside math the sign is kept; in a matrix it still separates columns."""
    titles = {"2506.70001": "Q&A with $k$-NN retrieval", "2506.70002": "Tom & Jerry: $O(n)$ chase"}
    papers = tmp_path / "papers.jsonl"
    papers.write_text(
        "".join(
            json.dumps({"id": i, "title": t, "abstract": "Retrieval.", "published": "2025-06-04"})
            + "\n"
            for i, t in titles.items()
        ),
        "utf-8",
    )
    config = write_config(tmp_path, [("mine", "file", str(papers))], **NO_BACKFILL)
    assert _invoke(["--config", str(config), "ingest"]).exit_code == 0
    assert _invoke(["--config", str(config), "build"]).exit_code == 0
    digests = tmp_path / "digests"
    markdown = (digests / f"{WEEK}.md").read_text("utf-8")
    page = (digests / f"{WEEK}.html").read_text("utf-8")
    shown = [
        p["title"]
        for s in json.loads((digests / f"{WEEK}.json").read_text("utf-8"))["sections"]
        for p in s["papers"]
    ]
    assert sorted(shown) == ["Q&A with k-NN retrieval", "Tom & Jerry: O(n) chase"], shown
    assert "Q&A with k-NN retrieval" in markdown and "Tom & Jerry: O(n) chase" in markdown
    assert "Q&amp;A with k-NN retrieval" in page and "Tom &amp; Jerry: O(n) chase" in page


def test_a_paper_known_by_its_doi_alone_links_to_it(tmp_path: Path, fake_model: None) -> None:
    """A JSONL export (a reference manager's, Semantic Scholar's) gives a paper's DOI and no
    link: the paper was stored as `doi:…` and listed in the digest as a bare title, with no
    link in the Markdown, the HTML or the JSON (`url` null), so a reader could not open it.
    It links to its DOI's resolver, https://doi.org/…, as an arXiv paper links to its abstract."""
    record = {"doi": "10.1234/ABC.def(2)", "title": "A DOI paper", "abstract": "Diffusion."}
    papers = tmp_path / "papers.jsonl"
    papers.write_text(json.dumps({**record, "published": "2025-06-04"}) + "\n", "utf-8")
    config = write_config(tmp_path, [("mine", "file", str(papers))], **NO_BACKFILL)
    assert _invoke(["--config", str(config), "ingest"]).exit_code == 0
    assert _invoke(["--config", str(config), "build"]).exit_code == 0
    digests = tmp_path / "digests"
    link = "https://doi.org/10.1234/abc.def%282%29"
    [paper] = [
        p
        for s in json.loads((digests / f"{WEEK}.json").read_text("utf-8"))["sections"]
        for p in s["papers"]
    ]
    assert (paper["paper_id"], paper["url"]) == ("doi:10.1234/abc.def(2)", link), paper
    assert f"[A DOI paper]({link})" in (digests / f"{WEEK}.md").read_text("utf-8")
    assert f'href="{link}"' in (digests / f"{WEEK}.html").read_text("utf-8")


@pytest.mark.parametrize("name", ["🤖", "∑ ∫", "★ — ★"])
def test_a_topic_name_of_no_letter_or_digit_fails_check_config(tmp_path: Path, name: str) -> None:
    """A topic named by an emoji alone ("🤖") has a heading with no link anchor: the digest's
    contents linked it to `#`, the top of the page, in the Markdown and the HTML alike, and
    check-config said ok. It names the topic and asks for a word; "🤖 Robots" is fine."""
    config = write_config(
        tmp_path, [("good", "file", str(GOOD_FILE))], topics=[_topic("bots", name=name)]
    )
    result = _invoke(["--config", str(config), "check-config"])
    assert result.exit_code == 2, result.output
    assert f"topics[0].name: {name!r} has no letter or digit" in result.output, result.output
    config = write_config(
        tmp_path, [("good", "file", str(GOOD_FILE))], topics=[_topic("bots", name=f"{name} Robots")]
    )
    assert _invoke(["--config", str(config), "check-config"]).exit_code == 0


def test_a_file_sources_cut_title_is_warned_of_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A JSONL record with an over-long title is cut (to the 2,000-character cap) with a
    warning; the service reads the same file at every ingest, and the warning came again
    each time, noise in its log forever. It is said for a paper new to the store only."""
    record = {"id": "2506.60000", "title": "Long " * 500, "abstract": "A.", "authors": ["A B"]}
    papers = tmp_path / "papers.jsonl"
    papers.write_text(json.dumps(record) + "\n", "utf-8")
    config = write_config(tmp_path, [("mine", "file", str(papers))], **NO_BACKFILL)
    caplog.set_level(logging.WARNING)
    for _ in range(3):
        ingest(config, FakeEmbedder())
    cut = [r.getMessage() for r in caplog.records if "cut from" in r.getMessage()]
    assert len(cut) == 1 and "mine: '2506.60000': title cut from 2499 to 2000" in cut[0], cut


def test_a_file_sources_other_warnings_are_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Round 25 said a cut title once; a file's other warnings (a date that cannot be read, an
    id written as a number, authors of the wrong type, a paper listed twice) still came at
    every ingest of the same file, noise in a service's log every run. Each is said for a
    paper new to the store only, and a line added to the file is warned of when it comes."""
    records = [
        {"id": "2506.60001", "title": "Dated", "abstract": "A.", "published": "yesterday"},
        {"id": 2506.6, "title": "Numbered", "abstract": "B.", "url": "https://ex.org/n"},
        {"id": "2506.60003", "title": "Authored", "abstract": "C.", "authors": [1, "A B"]},
        {"id": "2506.60004", "title": "Twice", "abstract": "D."},
        {"id": "2506.60004", "title": "Twice again", "abstract": "D."},
    ]
    papers = tmp_path / "papers.jsonl"
    papers.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    config = write_config(tmp_path, [("mine", "file", str(papers))], **NO_BACKFILL)
    caplog.set_level(logging.WARNING)
    for _ in range(3):
        ingest(config, FakeEmbedder())
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    for words in (
        "unreadable published 'yesterday'",
        "is a number",
        "ignoring authors",
        "listed 2 times",
    ):
        assert len([line for line in said if words in line]) == 1, (words, said)
    caplog.clear()
    added = {"id": "2506.60005", "title": "Added", "abstract": "E.", "published": "soon"}
    with papers.open("a", encoding="utf-8") as f:
        f.write(json.dumps(added) + "\n")
    ingest(config, FakeEmbedder())
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(said) == 1 and "line 6: ignoring unreadable published 'soon'" in said[0], said


@pytest.mark.parametrize("write_json", [False, True])
def test_index_and_feed_keep_every_week_without_its_sidecar(
    tmp_path: Path, fake_model: None, write_json: bool
) -> None:
    """index.md is "every week built: the archive", and feed.xml the newest 20; both were made
    from the weeks' JSON sidecars only. With `write_json = false` (a documented option) each
    build's index.md listed its own week alone and the feed held one entry; a user deleting
    the large sidecars to save space lost those weeks from both. The store keeps what they
    need of each week built, so every week whose digest is there is listed."""
    config = _two_weeks_built(tmp_path, outputs={"write_json": write_json})
    digests = tmp_path / "digests"
    for sidecar in digests.glob("*.json"):
        sidecar.unlink()
    assert _invoke(["--config", str(config), "build", "--week", "2025-W25"]).exit_code == 0
    index = (digests / "index.md").read_text("utf-8")
    assert (
        "[2025-W24](2025-W24.md) · [html](2025-W24.html) | 2025-06-09 – 2025-06-15 | 2 |" in index
    )
    assert "[2025-W25](2025-W25.md)" in index, index
    assert (digests / "feed.xml").read_text("utf-8").count("<entry>") == 2


def test_check_config_warns_of_an_e_mail_login_variable_not_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`[email] username_env`/`password_env` name environment variables; check-config said
    "ok" with neither set, and every build with send_after_build then failed "e-mail not
    sent: environment variable … is not set". It warns (exit 0: the service's environment may
    differ from the shell's), naming the key and the variable."""
    monkeypatch.delenv("DIGEST_TEST_USER", raising=False)
    monkeypatch.setenv("DIGEST_TEST_PASSWORD", "x")
    email = {
        "smtp_host": "127.0.0.1",
        "sender": "d@example.org",
        "recipients": ["me@example.org"],
        "username_env": "DIGEST_TEST_USER",
        "password_env": "DIGEST_TEST_PASSWORD",
    }
    config = write_config(tmp_path, [("good", "file", str(GOOD_FILE))], email=email)
    checked = _invoke(["--config", str(config), "check-config"])
    assert checked.exit_code == 0, checked.output
    assert (
        "warning: email.username_env: environment variable DIGEST_TEST_USER is not set here"
    ) in checked.stderr, checked.stderr
    assert "DIGEST_TEST_PASSWORD" not in checked.stderr


def test_a_terminal_that_is_not_utf8_gets_no_traceback(tmp_path: Path, fake_model: None) -> None:
    """A server or console whose locale is not UTF-8 (`LANG=de_DE.ISO-8859-1`, a Windows
    console's cp1252): `explain` ended in a UnicodeEncodeError traceback at its first arrow or
    at a title in another script, after the work was done. What the terminal cannot show is
    written escaped (`\\u2192`), the rest as it is."""
    papers = tmp_path / "papers.jsonl"
    record = {"id": "2506.80000", "title": "多模态 café models", "published": "2025-06-10"}
    papers.write_text(json.dumps(record, ensure_ascii=False) + "\n", "utf-8")
    config = write_config(tmp_path, [("mine", "file", str(papers))], **NO_BACKFILL)
    ingest(config, FakeEmbedder())
    tally.add("configs tried")
    for args in (["explain", "2506.80000"], ["build", "--week", "2025-W24"], ["status"]):
        result = CliRunner(charset="latin-1").invoke(cli, ["--config", str(config), *args])
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception
        )
        assert result.exit_code == 0, result.output
    explained = CliRunner(charset="latin-1").invoke(
        cli, ["--config", str(config), "explain", "2506.80000"]
    )
    assert "\\u591a\\u6a21\\u6001 café models" in explained.output, explained.output


def test_a_failing_local_sources_path_is_not_published(tmp_path: Path, fake_model: None) -> None:
    """A file source that fails (its file gone) is named in the digest's Coverage section and
    notes, which go to the web and to every reader's inbox: they carried its absolute path,
    the user's home folder and name. The digest names the file alone; the run's own output,
    which only the user sees, keeps the whole path."""
    home = tmp_path / "home" / "alice"
    config = write_config(
        tmp_path,
        [("good", "file", str(GOOD_FILE)), ("gone", "file", str(home / "papers.jsonl"))],
        **NO_BACKFILL,
    )
    ingested = _invoke(["--config", str(config), "ingest"])
    assert f"{home / 'papers.jsonl'}: cannot read file" in ingested.output, ingested.output
    assert _invoke(["--config", str(config), "build", "--week", WEEK]).exit_code == 0
    for name in (f"{WEEK}.md", f"{WEEK}.html", f"{WEEK}.json"):
        text = (tmp_path / "digests" / name).read_text("utf-8")
        assert "papers.jsonl: cannot read file" in text, text
        assert "alice" not in text and str(tmp_path) not in text, name


def test_explain_and_mark_name_the_papers_a_title_fragment_is_in(
    tmp_path: Path, fake_model: None
) -> None:
    """`digest explain "Flow Matching"`, part of a title copied from a digest, said only "no
    stored paper 'Flow Matching'"; the user could not tell a typo from a fragment, nor which
    papers it names. The error (still exit 2) now lists the stored papers whose titles hold
    it, with their ids, to give one of them."""
    papers = tmp_path / "papers.jsonl"
    titles = ["Contrastive Flow Matching", "Flow Matching for 100% Robots", "Video Agents"]
    rows = [
        {"id": f"2506.9{n:04d}", "title": title, "published": "2025-06-10"}
        for n, title in enumerate(titles)
    ]
    papers.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    config = write_config(tmp_path, [("mine", "file", str(papers))], **NO_BACKFILL)
    ingest(config, FakeEmbedder())
    for command in (["explain"], ["mark", "--topic", "x"]):
        result = _invoke(["--config", str(config), *command, "flow matching"])
        assert result.exit_code == 2, result.output
        assert (
            "2 stored papers' titles hold it: arxiv:2506.90000 ('Contrastive Flow Matching'),"
            " arxiv:2506.90001 ('Flow Matching for 100% Robots'): give the id of the one you"
            " mean"
        ) in result.stderr, result.stderr
    result = _invoke(["--config", str(config), "explain", "100% Robot"])
    assert "1 stored paper's title holds it: arxiv:2506.90001" in result.stderr, result.stderr
    result = _invoke(["--config", str(config), "explain", "100_ Robot"])  # LIKE's wildcards
    assert "title holds it" not in result.stderr, result.stderr


@pytest.mark.slow
def test_serve_of_a_config_refused_for_another_ones_folder_exits_at_once(
    tmp_path: Path, fake_model: None
) -> None:
    """`digest serve` of a second config given another one's digests folder started, made a
    data folder of its own, planned a catch-up of 8 weeks "back to the last digest" (the other
    config's) and ran on, each job failing as `exited with status 2`. It is refused on start
    (exit 2) naming the folder and that config, as the jobs would be, and creates nothing."""
    mine, theirs = _two_reading_lists(tmp_path, paths={"digests_dir": "../digests"})
    assert _invoke(["--config", str(mine), "ingest"]).exit_code == 0
    assert _invoke(["--config", str(mine), "build", "--week", WEEK]).exit_code == 0
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "pipeline", "--config", str(theirs), "serve"]
    try:
        served = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"serve ran on: {e.stderr!r}") from None
    assert served.returncode == 2, served.stderr
    assert f"{tmp_path / 'digests'} holds the digests of {mine}:" in served.stderr
    assert sorted(p.name for p in theirs.parent.iterdir()) == ["config.toml", "p.jsonl"]


@pytest.mark.parametrize("data_dir", ["out", "out/data"])
def test_check_config_warns_of_a_store_kept_in_the_digests_folder(
    tmp_path: Path, data_dir: str
) -> None:
    """A `data_dir` that is the `digests_dir`, or inside it, puts the store (every paper,
    the run history, the e-mail records) and its lock in the folder users publish on the web;
    check-config said "ok". It warns, naming both keys."""
    config = write_config(
        tmp_path,
        [("good", "file", str(GOOD_FILE))],
        paths={"data_dir": data_dir, "digests_dir": "out"},
    )
    checked = _invoke(["--config", str(config), "check-config"])
    assert checked.exit_code == 0, checked.output
    assert (
        f"warning: paths.data_dir: {tmp_path / data_dir} is in paths.digests_dir"
    ) in checked.stderr, checked.stderr


@pytest.mark.parametrize("command", [["build", "--week", WEEK], ["status"]])
def test_a_stop_as_a_command_starts_exits_128_plus_the_signal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    """A SIGTERM in the first second of `digest build` (systemd stopping the unit as the timer
    fires, `serve` stopping as it starts a job) said "Aborted!" and exited 1, a failure to
    cron and systemd, and no run was recorded to say otherwise; the README says 143. The
    real handler gets a real SIGTERM while the command sets itself up (its logging)."""
    config = write_config(tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL)
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        cli_module = sys.modules["pipeline.cli"]
        cli_module._stop_on_signals()  # type: ignore[attr-defined]
        monkeypatch.setattr(
            cli_module, "_names_as_bytes", lambda: os.kill(os.getpid(), signal.SIGTERM)
        )
        result = CliRunner().invoke(cli, ["--config", str(config), *command])
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    assert result.exit_code == 143, (result.output, result.exception)
    assert "Aborted!" not in result.output and "stopped by SIGTERM" in result.stderr
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("shared", ["data_dir", "digests_dir"])
def test_check_config_names_a_folder_another_config_writes(
    tmp_path: Path, fake_model: None, shared: str
) -> None:
    """check-config said "ok" for a config whose `data_dir` or `digests_dir` another config
    still writes, and its every run, build and ingest was then refused (exit 2). It names the
    same problem (exit 2), creating nothing; the first config still checks ok."""
    where = str(tmp_path / "shared") if shared == "data_dir" else "../shared"
    mine, theirs = _two_reading_lists(tmp_path, paths={shared: where})
    assert _invoke(["--config", str(mine), "ingest"]).exit_code == 0
    assert _invoke(["--config", str(mine), "build", "--week", WEEK]).exit_code == 0
    checked = _invoke(["--config", str(theirs), "check-config"])
    assert checked.exit_code == 2, checked.output
    assert f"paths.{shared}: " in checked.stderr and f"{mine}" in checked.stderr, checked.stderr
    assert sorted(p.name for p in theirs.parent.iterdir()) == ["config.toml", "p.jsonl"]
    assert _invoke(["--config", str(mine), "check-config"]).exit_code == 0


@pytest.mark.parametrize(
    ("template", "said"),
    [
        ("# {{ title \n", "line 1: unexpected end of template"),
        ("{{ title }}\n{{ records[0].nope.deeper }}\n", "line 2: 'dict object' has no attribute"),
        ('{% include "missing.j2" %}\n', "line 1: missing.j2"),
        ("{{ title + 1 }}\n", "line 1: can only concatenate str"),
    ],
)
def test_a_broken_template_of_the_users_fails_the_build_naming_it(
    tmp_path: Path, fake_model: None, template: str, said: str
) -> None:
    """A template of one's own in `templates_dir` with a mistake (a brace left open, a key the
    records lack, an include of a file not there) ended every build in a Jinja traceback. The
    build exits 2 naming the template file, its line and what is wrong; no digest file is
    written."""
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "index.md.j2").write_text(template, "utf-8")
    config = write_config(
        tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL, paths={"templates_dir": "tpl"}
    )
    ingest(config, FakeEmbedder())
    built = _invoke(["--config", str(config), "build", "--week", WEEK])
    assert built.exit_code == 2, built.output
    assert f"paths.templates_dir: {tmp_path / 'tpl' / 'index.md.j2'}, {said}" in built.stderr
    assert not list((tmp_path / "digests").glob("*.md"))


def test_a_rebuild_of_an_unchanged_week_without_its_sidecar_keeps_the_feeds_time(
    tmp_path: Path, fake_model: None
) -> None:
    """With `write_json = false` (or the sidecars deleted to save space), every rebuild of an
    unchanged week (the documented `digest run` of Monday to Friday rebuilds the last one) gave
    its feed entry a new `<updated>`: a feed reader showed the week again as updated each day,
    and feed.xml and index.md were never byte-identical. The time the store kept of the week's
    last build is kept while its digest is the same, as a sidecar's is; a week that changed
    still gets the new time."""
    config = _two_weeks_built(tmp_path, outputs={"write_json": False})
    digests = tmp_path / "digests"
    before = {name: (digests / name).read_bytes() for name in ("feed.xml", "index.md")}
    time.sleep(0.01)
    for week in ("2025-W25", "2025-W24"):
        assert _invoke(["--config", str(config), "build", "--week", week]).exit_code == 0
        for name, data in before.items():
            assert (digests / name).read_bytes() == data, (week, name)
    text = config.read_text("utf-8")
    assert "[digest]\n" in text
    config.write_text(text.replace("[digest]\n", '[digest]\ntitle = "Agents weekly"\n'), "utf-8")
    assert _invoke(["--config", str(config), "build", "--week", "2025-W24"]).exit_code == 0
    updated = re.findall(r"<updated>([^<]+)</updated>", (digests / "feed.xml").read_text("utf-8"))
    was = re.findall(r"<updated>([^<]+)</updated>", before["feed.xml"].decode("utf-8"))
    assert updated[1:] != was[1:]  # the week changed: its entry says so


def test_check_config_warns_of_a_source_listed_twice(tmp_path: Path, fake_model: None) -> None:
    """A feed pasted twice under two names (a copy of a [[sources]] block, renamed) was said
    'ok': each of its papers then counted as listed by two of the user's sources, which the
    ranking rewards (README, Ranking), so that feed's papers outranked every other feed's,
    without a word. check-config warns, naming both; the same feed read twice with other
    filters (an include for one topic's papers, say) is fine."""
    sources = [("good", "file", str(GOOD_FILE)), ("good-copy", "file", f"{GOOD_FILE}")]
    config = write_config(tmp_path, sources, **NO_BACKFILL)
    checked = _invoke(["--config", str(config), "check-config"])
    assert checked.exit_code == 0, checked.output
    assert (
        "warning: sources[1]: reads what sources[0] ('good') reads, with the same filters"
    ) in checked.stderr, checked.stderr
    ingest(config, FakeEmbedder())
    build(config, FakeEmbedder())
    sidecar = json.loads((tmp_path / "digests" / f"{WEEK}.json").read_text("utf-8"))
    assert sidecar["n_papers"] == 5  # the papers are stored once, each listed by both
    text = config.read_text("utf-8").replace(
        'name = "good-copy"', 'name = "good-copy"\nexclude = ["x"]'
    )
    config.write_text(text, "utf-8")
    checked = _invoke(["--config", str(config), "check-config"])
    assert checked.exit_code == 0 and "reads what" not in checked.stderr, checked.stderr


def test_an_e_mail_login_variable_set_empty_is_said_to_be_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_model: None
) -> None:
    """A systemd EnvironmentFile line `DIGEST_TEST_PASSWORD=` (the value lost to a quoting
    mistake) sets the variable to nothing: check-config said "ok", and every build then failed
    "environment variable DIGEST_TEST_PASSWORD (email.password_env) is not set", which the user
    could see was set. Both say it is empty."""
    monkeypatch.setenv("DIGEST_TEST_USER", "me")
    monkeypatch.setenv("DIGEST_TEST_PASSWORD", "")
    email = {
        "send_after_build": True,
        "smtp_host": "127.0.0.1",
        "sender": "d@example.org",
        "recipients": ["me@example.org"],
        "username_env": "DIGEST_TEST_USER",
        "password_env": "DIGEST_TEST_PASSWORD",
    }
    config = write_config(tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL, email=email)
    checked = _invoke(["--config", str(config), "check-config"])
    assert checked.exit_code == 0, checked.output
    assert (
        "warning: email.password_env: environment variable DIGEST_TEST_PASSWORD is empty here"
    ) in checked.stderr, checked.stderr
    ingest(config, FakeEmbedder())
    built = _invoke(["--config", str(config), "build"])
    assert built.exit_code == 1, built.output
    assert (
        "e-mail not sent: environment variable DIGEST_TEST_PASSWORD (email.password_env) is empty"
    ) in built.output, built.output


def test_a_file_source_corrected_by_its_owner_is_stored_as_corrected(
    tmp_path: Path, fake_model: None
) -> None:
    """A researcher fixed a typo in a title of their own JSONL file (and filled in an abstract
    left empty): the ingest said "1 updated", and the store, every digest and explain kept the
    old title forever (the text first stored wins, unless a higher arXiv version comes). A
    paper listed again by the one source it came from, at the same version, takes that
    source's text; one that another source also lists keeps the text it has (no flip-flop)."""
    papers = tmp_path / "papers.jsonl"
    other = tmp_path / "other.jsonl"

    def write(path: Path, *rows: dict[str, object]) -> None:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")

    mine = {
        "doi": "10.1234/own",
        "title": "Graph nets tpyo",
        "abstract": "Old.",
        "published": "2025-06-03",
    }
    shared = {
        "doi": "10.1234/shared",
        "title": "Shared paper",
        "abstract": "A.",
        "published": "2025-06-03",
    }
    write(papers, mine, shared)
    write(other, {**shared, "title": "Shared paper (other feed's title)"})
    sources = [("mine", "file", str(papers)), ("other", "file", str(other))]
    config = write_config(tmp_path, sources, **NO_BACKFILL)
    ingest(config, FakeEmbedder())
    write(papers, {**mine, "title": "Graph nets, typo fixed", "abstract": "New."}, shared)
    report = ingest(config, FakeEmbedder())
    assert [(s.name, s.n_updated) for s in report.sources] == [("mine", 1), ("other", 0)]
    db = tmp_path / "data" / "pipeline.sqlite3"
    rows = dict(query(db, "SELECT paper_id, title || ' / ' || abstract FROM papers"))
    assert rows == {
        "doi:10.1234/own": "Graph nets, typo fixed / New.",
        "doi:10.1234/shared": "Shared paper / A.",
    }
    assert _invoke(["--config", str(config), "explain", "Graph nets, typo fixed"]).exit_code == 0
    again = ingest(config, FakeEmbedder())
    assert [s.n_updated for s in again.sources] == [0, 0]


def test_a_page_the_user_made_beside_a_digest_is_never_deleted(
    tmp_path: Path, fake_model: None
) -> None:
    """With `write_html = false` and no chart, a user made each week's page (and chart, and a
    JSON of their own) with their own tools under the week's names: every rebuild (the daily
    `digest run` rebuilds the last week) deleted them, warning 'left by an earlier build', which
    was not so. A build removes only what the week's last build wrote (its record in the
    store, else its sidecar, names it); turned off since, those go as before."""
    off = {"write_html": False, "write_json": False, "chart_weeks": 0}
    config = _two_weeks_built(tmp_path, outputs=off)
    digests = tmp_path / "digests"
    own = {
        "2025-W24.html": b"<html><body>made with pandoc</body></html>\n",
        "2025-W24-trends.png": b"my own chart",
        "2025-W24.json": b'{"my": "notes"}\n',
    }
    for name, data in own.items():
        (digests / name).write_bytes(data)
    result = _invoke(["--config", str(config), "build", "--week", "2025-W24"])
    assert result.exit_code == 0, result.output
    assert "removed" not in result.output, result.output
    for name, data in own.items():
        assert (digests / name).read_bytes() == data, name
    # What a build of the week wrote still goes when its option is turned off.
    for name in own:
        (digests / name).unlink()
    on = config.read_text("utf-8").replace("write_html = false", "write_html = true")
    config.write_text(on.replace("write_json = false", "write_json = true"), "utf-8")
    assert _invoke(["--config", str(config), "build", "--week", "2025-W24"]).exit_code == 0
    assert {"2025-W24.html", "2025-W24.json"} <= {p.name for p in digests.iterdir()}
    config.write_text(on.replace(" = true", " = false"), "utf-8")
    result = _invoke(["--config", str(config), "build", "--week", "2025-W24"])
    assert result.exit_code == 0, result.output
    names = {p.name for p in digests.iterdir()}
    assert not {"2025-W24.html", "2025-W24.json"} & names, names


def test_files_of_the_users_own_in_the_digests_folder_are_not_taken_for_digests(
    tmp_path: Path, fake_model: None
) -> None:
    """A user kept notes beside the digests ('notes-W12.md', a 'reading-list-Week.json'):
    `digest status` counted the notes as a digest and named them the newest ('digests written:
    3, newest notes-W12'), `status --json` listed them as week 'notes-W12', and every build
    warned 'skipping …reading-list-Week.json: not a version-1 digest sidecar', in cron's mail
    forever. Only files named by an ISO week (2025-W24.md, 2025-W24.json) are digests."""
    config = _two_weeks_built(tmp_path)
    digests = tmp_path / "digests"
    own = {"notes-W12.md": "# my notes\n", "reading-list-Week.json": '{"read": []}\n'}
    for name, text in own.items():
        (digests / name).write_text(text, "utf-8")
    built = _invoke(["--config", str(config), "build", "--week", "2025-W25"])
    assert built.exit_code == 0, built.output
    assert "skipping" not in built.output and "reading-list" not in built.output, built.output
    status = _invoke(["--config", str(config), "status"])
    assert "digests written: 2, newest 2025-W25:" in status.output, status.output
    listed = json.loads(_invoke(["--config", str(config), "status", "--json"]).output)
    assert [d["week"] for d in listed["digests"]] == ["2025-W24", "2025-W25"], listed["digests"]
    for name, text in own.items():
        assert (digests / name).read_text("utf-8") == text
    assert "notes-W12" not in (digests / "index.md").read_text("utf-8")


@pytest.mark.parametrize("reference", ["2312.00752", "https://doi.org/10.1000/not.stored"])
def test_marking_a_paper_the_store_does_not_hold_says_the_id_was_read(
    tmp_path: Path, fake_model: None, reference: str
) -> None:
    """`digest mark 2312.00752 --topic video` (Mamba, the README's own example) said "no stored
    paper 'arxiv:2312.00752' (from '2312.00752'); ids look like arxiv:2506.01234,
    2506.01234v2 or https://arxiv.org/abs/2506.01234 …": the user was told the id was wrong
    when it was read right and the paper is simply not stored. The error (still exit 2, the
    file untouched) says so, the store's span of dates, and that such an example can be
    written by hand."""
    config = _ingested(tmp_path, _topic("video"))
    text = config.read_bytes()
    for command in (["mark", reference, "--topic", "video"], ["explain", reference]):
        result = _invoke(["--config", str(config), *command])
        assert result.exit_code == 2, result.output
        assert "ids look like" not in result.output, result.output
        assert "the id is read, but the store (papers from 2025-06-" in result.output
        assert "can be written into config.toml by hand" in result.output, result.output
    assert config.read_bytes() == text


def test_explain_says_when_the_built_digest_lists_a_paper_elsewhere(
    tmp_path: Path, fake_model: None
) -> None:
    """After `digest mark` (or any edit of the topics), `explain` of a paper of a week already
    built said "2025-W24: in section topic video", what a build would do now, while the digest
    its readers had (and its HTML, JSON and e-mail) listed it in Other: nothing said the two
    differ, and the reader of the digest was told the paper was somewhere it was not. The
    section the written digest lists it in is named beside it until the week is built again."""
    config = _two_weeks_built(tmp_path, topics=[_topic("video")])
    sidecar = json.loads((tmp_path / "digests" / "2025-W24.json").read_text("utf-8"))
    listed = {p["paper_id"]: s["kind"] for s in sidecar["sections"] for p in s["papers"]}
    assert listed["arxiv:2506.50000"] == "other", listed
    before = _invoke(["--config", str(config), "explain", "2506.50000"])
    assert before.exit_code == 0 and "its digest of" not in before.output, before.output
    marked = _invoke(["--config", str(config), "mark", "2506.50000", "--topic", "video"])
    assert marked.exit_code == 0, marked.output
    after = _invoke(["--config", str(config), "explain", "2506.50000"])
    assert after.exit_code == 0, after.output
    lines = after.output.splitlines()
    assert lines[1] == "2025-W24: in section topic video", lines
    assert lines[2].startswith("  (its digest of 2025-W24, written "), lines
    assert "lists it in Other (no topic, no discovered theme)" in lines[2], lines
    assert "the next build of 2025-W24 moves it)" in lines[2], lines
    assert _invoke(["--config", str(config), "build", "--week", "2025-W24"]).exit_code == 0
    rebuilt = _invoke(["--config", str(config), "explain", "2506.50000"])
    assert "its digest of" not in rebuilt.output, rebuilt.output


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("index.md", "# My site\n\nWelcome: the weekly digests are linked below.\n"),
        ("feed.xml", '<feed xmlns="http://www.w3.org/2005/Atom"><generator>Jekyll</generator>'),
    ],
)
def test_a_site_folder_given_as_digests_dir_keeps_its_own_index_and_feed(
    tmp_path: Path, fake_model: None, name: str, text: str
) -> None:
    """`digests_dir = "site"`, the folder a user publishes (GitHub Pages' docs/, whose index.md
    is the site's home page, or a blog's feed.xml): the first build replaced the user's file
    with the archive of digests, without a word. A folder no build has claimed yet that holds
    an index.md or feed.xml no build wrote is refused, naming the file (check-config too), and
    the file is left as it was; moved away, the build goes ahead."""
    site = tmp_path / "site"
    site.mkdir()
    (site / name).write_text(text, "utf-8")
    papers = _two_weeks_of_papers(tmp_path, "2506.5", "Paper")
    config = write_config(
        tmp_path, [("mine", "file", str(papers))], **NO_BACKFILL, paths={"digests_dir": "site"}
    )
    for command in (["check-config"], ["run", "--week", "2025-W24"]):
        result = _invoke(["--config", str(config), *command])
        assert result.exit_code == 2, result.output
        assert f"paths.digests_dir: {site / name} was not written by a digest build" in (
            result.output
        ), result.output
        assert (site / name).read_text("utf-8") == text
    assert sorted(p.name for p in site.iterdir()) == [name]
    (site / name).rename(tmp_path / name)
    built = _invoke(["--config", str(config), "run", "--week", "2025-W24"])
    assert built.exit_code == 0, built.output
    assert _invoke(["--config", str(config), "build", "--week", "2025-W24"]).exit_code == 0
