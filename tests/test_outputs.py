"""outputs.py end to end: every file of a built week, valid (schema, feedparser), and e-mailed to a
real SMTP server on 127.0.0.1 through `digest send`."""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import UTC, date, datetime
from pathlib import Path

import feedparser
import jsonschema
import pytest
from click.testing import CliRunner
from conftest import make_paper, make_settings, write_config
from htmlcheck import active_content
from smtpserver import smtp_server

from pipeline.cli import cli
from pipeline.config import Settings, load_settings
from pipeline.digest import chart
from pipeline.digest.outputs import (
    _write_temp,
    list_records,
    plan_files,
    send_written,
    write_digest,
    write_files,
)
from pipeline.digest.publish import FEED_WEEKS, load_schema
from pipeline.errors import OutputError
from pipeline.models import Digest, PaperEntry, Section, Signals, SourceCount

NOW = datetime(2025, 6, 16, 7, tzinfo=UTC)
EVIL = '<script>alert(1)</script><img src=x onerror="alert(2)"> [x](javascript:alert(3))'


def _digest(week: str, n_topic: int, start: date) -> Digest:
    papers = [
        make_paper(
            f"arxiv:2506.{i:05d}",
            f"Linear attention paper {i}" if i else f"Evil {EVIL}",
            authors=("A. One", "B. Two", "C. Three", "D. Four", "E. Five"),
            signals=Signals(upvotes=10 - i, comments=2),
        )
        for i in range(n_topic)
    ]
    entries = tuple(PaperEntry(p, 0.6, f"Summary {EVIL}.") for p in papers)
    topic = Section("efficient-attention", "Efficient attention", "topic", entries)
    theme = Section("theme-1", f"graphs {EVIL}", "theme", entries[:1], terms=("graphs",))
    return Digest(
        week,
        start,
        date.fromordinal(start.toordinal() + 6),
        "Weekly research digest",
        n_topic,
        (topic, theme),
        (SourceCount("arxiv", n_topic),),
    )


def test_write_digest_writes_every_output_valid(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, outputs={"base_url": "https://example.org/d/"})
    write_digest(settings, _digest("2025-W23", 2, date(2025, 6, 2)), now=NOW)
    written = write_digest(settings, _digest("2025-W24", 5, date(2025, 6, 9)), now=NOW)
    folder = settings.paths.digests_dir
    names = sorted(p.name for p in written.paths)
    assert names == sorted(
        [
            "2025-W24-trends.png",
            "2025-W24.md",
            "2025-W24.html",
            "2025-W24.json",
            "index.md",
            "feed.xml",
        ]
    )
    record = json.loads((folder / "2025-W24.json").read_text(encoding="utf-8"))
    jsonschema.validate(record, load_schema())
    topic = record["sections"][0]
    assert topic["history"] == [2, 5]  # from the 2025-W23 sidecar, then this week
    assert record["files"]["chart"] == "2025-W24-trends.png"
    assert (folder / "2025-W24-trends.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (folder / "2025-W24.md").read_text(encoding="utf-8")
    assert "![Papers per topic over the last weeks](2025-W24-trends.png)" in markdown
    assert "▄█ ↑" in markdown  # sparkline and arrow for the topic
    index = (folder / "index.md").read_text(encoding="utf-8")
    assert index.index("[2025-W24](2025-W24.md)") < index.index("[2025-W23](2025-W23.md)")
    feed = feedparser.parse((folder / "feed.xml").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert [e.title for e in feed.entries] == [
        "Weekly research digest · 2025-W24",
        "Weekly research digest · 2025-W23",
    ]
    assert feed.entries[0].link == "https://example.org/d/2025-W24.html"
    assert feed.entries[0].id != feed.entries[1].id
    assert "5 papers" in feed.entries[0].summary


def test_feed_keeps_its_ids_when_digests_move_or_base_url_is_set(tmp_path: Path) -> None:
    # The ids were seeded by base_url, else by the folder's absolute path: moving the install
    # (or serving it and setting base_url) gave every past week a new id, and feed readers
    # showed them all again as new entries.
    (tmp_path / "a").mkdir()
    settings = make_settings(tmp_path / "a")
    write_digest(settings, _digest("2025-W23", 2, date(2025, 6, 2)), now=NOW)
    before = feedparser.parse((settings.paths.digests_dir / "feed.xml").read_bytes())
    (tmp_path / "a").rename(tmp_path / "b")
    moved = load_settings(write_config(tmp_path / "b", outputs={"base_url": "https://x.org/d/"}))
    write_digest(moved, _digest("2025-W24", 5, date(2025, 6, 9)), now=NOW)
    after = feedparser.parse((moved.paths.digests_dir / "feed.xml").read_bytes())
    assert after.feed.id == before.feed.id
    assert [e.id for e in after.entries][1:] == [e.id for e in before.entries]
    assert after.entries[0].id not in {e.id for e in before.entries}
    assert after.entries[1].link == "https://x.org/d/2025-W23.html"


def test_feed_carries_the_newest_weeks_and_index_lists_them_all(tmp_path: Path) -> None:
    # Round 23: feed.xml took one entry a week forever (a reader fetched years of entries at
    # each poll); it now carries the newest FEED_WEEKS, and index.md, the archive, every week.
    settings = make_settings(tmp_path, outputs={"write_html": False})
    folder = settings.paths.digests_dir
    weeks = [f"2025-W{n:02d}" for n in range(1, FEED_WEEKS + 6)]
    ids = {}
    for n, week in enumerate(weeks):
        start = date.fromisocalendar(2025, n + 1, 1)
        write_digest(settings, _digest(week, 2, start), now=NOW.replace(day=1 + n % 28))
        entries = feedparser.parse((folder / "feed.xml").read_bytes()).entries
        assert all(ids.setdefault(e.title, e.id) == e.id for e in entries)  # ids stay
    feed = feedparser.parse((folder / "feed.xml").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    newest = list(reversed(weeks))[:FEED_WEEKS]
    assert [e.title for e in feed.entries] == [f"Weekly research digest · {w}" for w in newest]
    assert feed.feed.updated == feed.entries[0].updated
    index = (folder / "index.md").read_text(encoding="utf-8")
    assert all(f"[{week}]({week}.md)" in index for week in weeks)


def test_write_digest_html_has_no_active_content_from_feed_text(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_digest(settings, _digest("2025-W24", 3, date(2025, 6, 9)), now=NOW)
    page = (settings.paths.digests_dir / "2025-W24.html").read_text(encoding="utf-8")
    assert active_content(page) == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown as text, not run or dropped
    assert "\\&lt;" not in page  # and without the Markdown escape's backslash


def test_write_digest_rerun_is_idempotent(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    digest = _digest("2025-W24", 3, date(2025, 6, 9))
    first = write_digest(settings, digest, now=NOW)
    before = {p.name: p.read_bytes() for p in first.paths}
    # A week later, unchanged content: the sidecar keeps its time, so every byte is the same.
    second = write_digest(settings, digest, now=NOW.replace(year=NOW.year + 1))
    assert {p.name: p.read_bytes() for p in second.paths} == before
    changed = write_digest(
        settings, _digest("2025-W24", 4, date(2025, 6, 9)), now=NOW.replace(year=NOW.year + 1)
    )
    record = json.loads((changed.markdown.with_suffix(".json")).read_text(encoding="utf-8"))
    assert record["generated"].startswith(str(NOW.year + 1))  # new content, new time


def test_write_digest_rerun_keeps_the_time_of_a_sidecar_reformatted_by_hand(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    digest = _digest("2025-W24", 3, date(2025, 6, 9))
    sidecar = write_digest(settings, digest, now=NOW).markdown.with_suffix(".json")
    sidecar.write_text(json.dumps(json.loads(sidecar.read_bytes())), encoding="utf-8")
    write_digest(settings, digest, now=NOW.replace(year=NOW.year + 1))
    assert json.loads(sidecar.read_bytes())["generated"] == NOW.isoformat()


def test_write_digest_lists_a_sidecar_renamed_to_this_weeks_name_under_its_own_week(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    folder = settings.paths.digests_dir
    write_digest(settings, _digest("2025-W23", 2, date(2025, 6, 2)), now=NOW)
    (folder / "2025-W23.json").rename(folder / "2025-W24.json")
    write_digest(settings, _digest("2025-W24", 3, date(2025, 6, 9)), now=NOW)
    index = (folder / "index.md").read_text(encoding="utf-8")
    assert "[2025-W23](2025-W23.md)" in index and "[2025-W24](2025-W24.md)" in index


def test_write_digest_replaces_a_corrupt_sidecar_of_its_own_week(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path)
    folder = settings.paths.digests_dir
    folder.mkdir()
    (folder / "2025-W24.json").write_text("{not json", encoding="utf-8")
    write_digest(settings, _digest("2025-W24", 3, date(2025, 6, 9)), now=NOW)
    assert "skipping" in caplog.text and "2025-W24.json" in caplog.text
    assert json.loads((folder / "2025-W24.json").read_bytes())["generated"] == NOW.isoformat()


def test_write_digest_removes_temp_files_a_killed_write_left(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    folder = settings.paths.digests_dir
    # The html one: a write in progress right now, kept.
    stale, fresh = _temp_files(
        folder, ".2025-W23.md.digest-k3j2a8b1.tmp", ".2025-W23.html.digest-a8b1k3j2.tmp"
    )
    write_digest(settings, _digest("2025-W24", 3, date(2025, 6, 9)), now=NOW)
    assert not stale.exists() and fresh.exists()
    assert (folder / "2025-W24.md").exists()


def test_write_digest_removes_temp_files_a_killed_build_left_in_the_data_folder(
    tmp_path: Path,
) -> None:
    # The build's memo (data_dir/derived-memo.json) and the summaries' file are written the
    # same way as the digests, so a build killed as it saved them left a temp file there that
    # nothing removed (round 21).
    settings = make_settings(tmp_path)
    # The summaries' one: a write in progress right now, kept.
    stale, fresh = _temp_files(
        settings.paths.data_dir,
        ".derived-memo.json.digest-k3j2a8b1.tmp",
        ".sidecar-summaries.json.digest-a8b1k3j2.tmp",
    )
    write_digest(settings, _digest("2025-W24", 3, date(2025, 6, 9)), now=NOW)
    assert not stale.exists() and fresh.exists()


def test_write_digest_keeps_the_users_own_hidden_tmp_files(tmp_path: Path) -> None:
    # Round 28: the sweep deleted every hidden `.*.tmp` older than ten minutes in the digests
    # and data folders: a user's `.notes.tmp`, an editor's swap-like file, rsync's partial
    # `.2025-W23.md.Xy12Ab.tmp`. Only the temp files this program names are its to remove.
    settings = make_settings(tmp_path)
    theirs = (
        ".notes.tmp",
        ".2025-W23.md.k3j2.tmp",  # another program's temp file of one of our outputs
        ".2025-W23.md.XyZ123.tmp",
        ".draft.digest-notes.tmp",
    )
    for folder in (settings.paths.digests_dir, settings.paths.data_dir):
        ours, _ = _temp_files(folder, ".2025-W23.md.digest-k3j2a8b1.tmp", theirs[0])
        hour_ago = time.time() - 3600
        for name in theirs:
            (folder / name).write_text("mine", encoding="utf-8")
            os.utime(folder / name, (hour_ago, hour_ago))
        write_digest(settings, _digest("2025-W24", 3, date(2025, 6, 9)), now=NOW)
        assert not ours.exists()
        assert [(folder / n).read_text(encoding="utf-8") for n in theirs] == ["mine"] * 4
    # And a temp file as a write names it, left by a killed build, is of the form swept.
    left = Path(_write_temp(settings.paths.digests_dir / "2025-W24.html", b"half"))
    os.utime(left, (time.time() - 3600,) * 2)
    write_digest(settings, _digest("2025-W24", 3, date(2025, 6, 9)), now=NOW)
    assert not left.exists()


def _temp_files(folder: Path, stale_name: str, fresh_name: str) -> tuple[Path, Path]:
    """Two temp files a write leaves in `folder`: one an hour old (a killed write's), one new."""
    folder.mkdir(parents=True)
    stale, fresh = folder / stale_name, folder / fresh_name
    for path in (stale, fresh):
        path.write_text("half a fil", encoding="utf-8")
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    return stale, fresh


def test_write_digest_skips_a_corrupt_sidecar(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path)
    folder = settings.paths.digests_dir
    folder.mkdir()
    (folder / "2025-W22.json").write_text("{not json", encoding="utf-8")
    write_digest(settings, _digest("2025-W24", 3, date(2025, 6, 9)), now=NOW)
    assert "skipping" in caplog.text and "2025-W22.json" in caplog.text
    assert "2025-W22" not in (folder / "index.md").read_text(encoding="utf-8")


# [email] keys every send test needs; each test adds its own credentials and transport.
EMAIL = {
    "smtp_host": "127.0.0.1",
    "sender": "digest@example.org",
    "recipients": ["ada@example.org"],
}


def test_digest_send_emails_the_built_week(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with smtp_server("starttls", folder=tmp_path) as (inbox, port, cert):
        email = {
            **EMAIL,
            "smtp_port": port,
            "security": "starttls",
            "ca_file": str(cert),
            "username_env": "TEST_SMTP_USER",
            "password_env": "TEST_SMTP_PASSWORD",
        }
        settings = make_settings(tmp_path, email=email)
        write_digest(settings, _digest("2025-W24", 3, date(2025, 6, 9)), now=NOW)
        monkeypatch.setenv("TEST_SMTP_USER", "digest-bot")
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret-pa55")
        result = CliRunner().invoke(
            cli, ["--config", str(settings.config_path), "send", "--week", "2025-W24"]
        )
    assert result.exit_code == 0, result.output
    assert "e-mailed 2025-W24 to ada@example.org" in result.output
    message = inbox.messages[0]
    assert message["Subject"] == "Weekly research digest · 2025-W24"
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "Linear attention paper 1 <https://arxiv.org/abs/2506.00001>" in text
    assert '<a href="https://arxiv.org/abs/2506.00001"' in html and "<script" not in html
    assert any(p.get_content_type() == "image/png" for p in message.walk())


def test_send_digest_without_credentials_in_environment_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOT_SET_SMTP_PASSWORD", raising=False)
    monkeypatch.setenv("TEST_SMTP_USER", "someone")
    settings = make_settings(
        tmp_path,
        email={**EMAIL, "username_env": "TEST_SMTP_USER", "password_env": "NOT_SET_SMTP_PASSWORD"},
    )
    write_digest(settings, _digest("2025-W24", 1, date(2025, 6, 9)), now=NOW)
    result = CliRunner().invoke(
        cli, ["--config", str(settings.config_path), "send", "--week", "2025-W24"]
    )
    assert result.exit_code == 2
    assert "NOT_SET_SMTP_PASSWORD (email.password_env) is not set" in result.output


def test_digest_send_for_a_week_not_built_says_so(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, email=EMAIL)
    result = CliRunner().invoke(
        cli, ["--config", str(settings.config_path), "send", "--week", "2025-W30"]
    )
    assert result.exit_code == 1
    assert "2025-W30.md does not exist: build that week first" in result.output


def test_write_digest_respects_disabled_outputs(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        outputs={"write_html": False, "write_json": False, "write_feed": False, "chart_weeks": 0},
    )
    written = write_digest(settings, _digest("2025-W24", 2, date(2025, 6, 9)), now=NOW)
    assert sorted(p.name for p in written.paths) == ["2025-W24.md", "index.md"]
    assert "trends.png" not in written.markdown.read_text(encoding="utf-8")


def test_index_without_a_feed_links_no_feed(tmp_path: Path) -> None:
    # Round 28: with write_feed = false, index.md (the archive a site serves) still opened with
    # "Subscribe in a feed reader: [Atom feed](feed.xml)", a link to a file no build writes (or
    # to the stale one docs/outputs.md says to delete). It offers the feed only when one is written.
    for write_feed in (False, True):
        (tmp_path / str(write_feed)).mkdir()
        settings = make_settings(tmp_path / str(write_feed), outputs={"write_feed": write_feed})
        write_digest(settings, _digest("2025-W24", 2, date(2025, 6, 9)), now=NOW)
        index = (settings.paths.digests_dir / "index.md").read_text(encoding="utf-8")
        assert ("(feed.xml)" in index) is write_feed, index
        assert (settings.paths.digests_dir / "feed.xml").exists() is write_feed
        assert "[2025-W24](2025-W24.md)" in index


def test_a_rebuild_with_an_output_turned_off_removes_that_weeks_old_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Round 22: turning off write_html, write_json or the chart left the last build's
    # 2025-W24.html, .json and -trends.png beside the fresh 2025-W24.md, out of date (another
    # week's papers, or none of the new ones) and still served. Only the week built is touched.
    week, other = _digest("2025-W24", 3, date(2025, 6, 9)), _digest("2025-W23", 2, date(2025, 6, 2))
    for digest in (other, week):
        write_digest(make_settings(tmp_path), digest, now=NOW)
    folder = tmp_path / "digests"
    before = {p.name for p in folder.iterdir()}
    assert {"2025-W24.html", "2025-W24.json", "2025-W24-trends.png"} <= before, before
    off = {"write_html": False, "write_json": False, "chart_weeks": 0}
    caplog.set_level(logging.WARNING)
    written = write_digest(
        make_settings(tmp_path, outputs=off), _digest("2025-W24", 4, date(2025, 6, 9)), now=NOW
    )
    after = {p.name for p in folder.iterdir()}
    assert after == before - {"2025-W24.html", "2025-W24.json", "2025-W24-trends.png"}, after
    assert "Linear attention paper 3" in written.markdown.read_text(encoding="utf-8")
    assert f"removed {folder / '2025-W24.html'}, left by an earlier build" in caplog.text


def test_write_files_renames_nothing_when_one_file_cannot_be_written(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    folder = settings.paths.digests_dir
    write_digest(settings, _digest("2025-W24", 3, date(2025, 6, 9)), now=NOW)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    planned = plan_files(
        settings,
        _digest("2025-W24", 4, date(2025, 6, 9)),
        list_records(folder),
        now=NOW,
        earlier={},
    )
    (tmp_path / "not-a-folder").write_text("a file", encoding="utf-8")
    items = list(planned.items())
    # A real OS error halfway through: this target's folder is a regular file.
    broken = dict([*items[:2], (tmp_path / "not-a-folder" / "x.md", b"x"), *items[2:]])
    with pytest.raises(OutputError, match="not-a-folder"):
        write_files(broken)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # no temp file left
    assert planned[folder / "2025-W24.md"] != before["2025-W24.md"]  # there was news to write


def test_plan_files_writes_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    planned = plan_files(
        settings, _digest("2025-W24", 3, date(2025, 6, 9)), [], now=NOW, earlier={}
    )
    folder = settings.paths.digests_dir
    assert {p.name for p in planned} >= {"2025-W24.md", "2025-W24.html", "index.md", "feed.xml"}
    assert not folder.exists() or not any(folder.iterdir())


def test_send_written_mails_the_built_bytes_not_the_file_on_disk(
    tmp_path: Path,
) -> None:
    with smtp_server() as (inbox, port, _):
        settings = make_settings(tmp_path, email={**EMAIL, "smtp_port": port, "security": "none"})
        written = write_digest(settings, _digest("2025-W24", 3, date(2025, 6, 9)), now=NOW)
        written.markdown.write_text("# Changed on disk after the build\n", encoding="utf-8")
        assert send_written(settings, "2025-W24", written).sent_to == ("ada@example.org",)
    text = inbox.messages[0].get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Linear attention paper 1" in text and "Changed on disk" not in text


def test_chart_counts_come_from_the_store_and_sidecars_only_fill_weeks_it_lacks(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    folder = settings.paths.digests_dir
    write_digest(settings, _digest("2025-W22", 5, date(2025, 5, 26)), now=NOW)  # a sidecar only
    write_digest(settings, _digest("2025-W23", 6, date(2025, 6, 2)), now=NOW)  # and in the store
    week = _digest("2025-W24", 3, date(2025, 6, 9))
    earlier = {"2025-W23": {"efficient-attention": 4}}
    planned = plan_files(settings, week, list_records(folder), now=NOW, earlier=earlier)
    record = json.loads(planned[folder / "2025-W24.json"])
    topic = next(s for s in record["sections"] if s["key"] == "efficient-attention")
    assert topic["history"] == [5, 4, 3]  # W22 from its sidecar, W23 from the store (not 6)


def _speech_then_quiet(
    tmp_path: Path, slugs: tuple[str, ...], quiet: tuple[str, ...] = ()
) -> tuple[Settings, Section, tuple[SourceCount, ...]]:
    """Topics `slugs`; 2025-W23 written with 4 papers in Speech and 2 in Graphs (`quiet`: the
    topics with none that week). Returns the settings, the Graphs section and the sources."""
    topics = [{"slug": s, "name": s.title(), "description": f"{s} papers"} for s in slugs]
    settings = make_settings(tmp_path, topics=topics)
    papers = [make_paper(f"arxiv:2506.{i:05d}", f"Paper {i}") for i in range(6)]
    entries = tuple(PaperEntry(p, 0.6, "S.") for p in papers)
    speech = Section("speech", "Speech", "topic", entries[:4])
    graphs = Section("graphs", "Graphs", "topic", entries[4:])
    sources = (SourceCount("arxiv", 6),)
    first = Digest(
        "2025-W23", date(2025, 6, 2), date(2025, 6, 8), "T", 6, (speech, graphs), sources,
        quiet_topics=quiet,
    )  # fmt: skip
    write_digest(settings, first, now=NOW)
    return settings, graphs, sources


def test_a_topic_with_no_paper_this_week_drops_to_zero_in_the_chart(tmp_path: Path) -> None:
    # Round 28: a configured topic with no paper this week ("No paper this week in: Speech")
    # was left out of the trend chart: its line, 4 papers last week, vanished from the legend
    # and the plot instead of falling to 0, the one week a reader most needed to see it.
    settings, graphs, sources = _speech_then_quiet(tmp_path, ("speech", "graphs"))
    folder = settings.paths.digests_dir
    week = Digest(
        "2025-W24", date(2025, 6, 9), date(2025, 6, 15), "T", 2, (graphs,), sources,
        quiet_topics=("Speech",),
    )  # fmt: skip
    planned = plan_files(settings, week, list_records(folder), now=NOW, earlier={})
    expected = chart.trend_chart(
        ["2025-W23", "2025-W24"],
        {"Graphs": [2, 2], "Speech": [4, 0]},
        title="Papers per topic, 2025-W23 to 2025-W24",
        colour_keys={"Graphs": "graphs", "Speech": "speech"},
    )
    assert planned[folder / "2025-W24-trends.png"] == expected


def test_the_summaries_file_forgets_sidecars_deleted_by_hand(tmp_path: Path) -> None:
    # Round 28: data_dir/sidecar-summaries.json kept an entry for every sidecar it had read,
    # deleted ones too (a user saving space): it grew for ever, each build rewriting it all.
    from pipeline.digest import outputs

    settings = make_settings(tmp_path)
    folder, kept = settings.paths.digests_dir, settings.paths.data_dir / outputs.SUMMARIES_FILE
    weeks = [("2025-W21", date(2025, 5, 19)), ("2025-W22", date(2025, 5, 26))]
    weeks += [("2025-W23", date(2025, 6, 2))]
    for week, start in weeks:
        write_digest(settings, _digest(week, 3, start), now=NOW)
    this = _digest("2025-W24", 3, date(2025, 6, 9))
    write_digest(settings, this, now=NOW)
    summarized = json.loads(kept.read_bytes())["files"]
    assert sorted(summarized) == ["2025-W21.json", "2025-W22.json", "2025-W23.json"]
    (folder / "2025-W21.json").unlink()
    (folder / "2025-W22.json").unlink()
    (folder / "2025-W22.json").mkdir()  # not a sidecar: skipped, so not summarized either
    write_digest(settings, this, now=NOW)
    assert sorted(json.loads(kept.read_bytes())["files"]) == ["2025-W23.json"]
    assert json.loads(kept.read_bytes())["files"]["2025-W23.json"] == summarized["2025-W23.json"]
    # index.md and feed.xml are what they were without the cache.
    built = {name: (folder / name).read_bytes() for name in ("index.md", "feed.xml")}
    kept.unlink()
    write_digest(settings, this, now=NOW)
    assert {name: (folder / name).read_bytes() for name in ("index.md", "feed.xml")} == built


def test_a_build_parses_each_earlier_sidecar_once_and_again_only_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # After a year of 10,000-paper weeks, every build parsed every earlier sidecar (500 MB) for
    # index.md and feed.xml: 19 s of each build (benchmarks/README.md, "Years of papers").
    from pipeline.digest import outputs

    settings = make_settings(tmp_path)
    folder = settings.paths.digests_dir
    weeks = [("2025-W22", date(2025, 5, 26)), ("2025-W23", date(2025, 6, 2))]
    for week, start in weeks:
        write_digest(settings, _digest(week, 3, start), now=NOW)
    parsed: list[str] = []
    real = outputs._parse_sidecar
    monkeypatch.setattr(
        outputs, "_parse_sidecar", lambda path, data: parsed.append(path.name) or real(path, data)
    )
    this = _digest("2025-W24", 3, date(2025, 6, 9))
    write_digest(settings, this, now=NOW)
    first = {name: (folder / name).read_bytes() for name in ("index.md", "feed.xml")}
    parsed.clear()
    write_digest(settings, this, now=NOW)  # a rebuild: the earlier weeks are not parsed
    assert parsed == []
    assert {name: (folder / name).read_bytes() for name in ("index.md", "feed.xml")} == first
    # An earlier sidecar rewritten (a rebuild of that week with more papers) is read again.
    write_digest(settings, _digest("2025-W22", 5, date(2025, 5, 26)), now=NOW)
    parsed.clear()
    write_digest(settings, this, now=NOW)
    # W22 is read again; W23 is not (W24's own may be: its trend now counts W22's papers).
    assert "2025-W22.json" in parsed and "2025-W23.json" not in parsed
    index = (folder / "index.md").read_text(encoding="utf-8")
    assert "| 5 |" in index  # W22's new count, from the summary read again
    # The cache is no source of truth: without it the same files come out.
    (settings.paths.data_dir / outputs.SUMMARIES_FILE).write_text("{broken", encoding="utf-8")
    write_digest(settings, this, now=NOW)
    assert (folder / "index.md").read_text(encoding="utf-8") == index


def test_the_sidecar_names_the_topics_with_no_paper_this_week(tmp_path: Path) -> None:
    # Round 29: a configured topic with no paper this week ("No paper this week in: Speech")
    # was absent from W.json, so a tool reading it could not tell a quiet topic from one
    # removed from the config. It is listed under quiet_topics with its history, ending at 0.
    settings, graphs, sources = _speech_then_quiet(
        tmp_path, ("speech", "graphs", "robots"), quiet=("Robots",)
    )
    folder = settings.paths.digests_dir
    week = Digest(
        "2025-W24", date(2025, 6, 9), date(2025, 6, 15), "T", 2, (graphs,), sources,
        quiet_topics=("Speech", "Robots"),
    )  # fmt: skip
    write_digest(settings, week, now=NOW)
    first_record = json.loads((folder / "2025-W23.json").read_bytes())
    record = json.loads((folder / "2025-W24.json").read_bytes())
    jsonschema.validate(record, load_schema())
    jsonschema.validate(first_record, load_schema())
    assert first_record["quiet_topics"] == [{"key": "robots", "title": "Robots", "history": []}]
    assert record["quiet_topics"] == [
        {"key": "speech", "title": "Speech", "history": [4, 0]},
        {"key": "robots", "title": "Robots", "history": [0, 0]},
    ]
    assert [s["key"] for s in record["sections"]] == ["graphs"]  # sections hold papers only


def test_a_rebuild_with_the_same_counts_keeps_the_chart_it_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Round 29: each build drew the week's chart again (importing matplotlib) though nothing it
    # shows had changed; the build now hands the chart its last build wrote to chart.trend_chart.
    settings, _, _ = _speech_then_quiet(tmp_path, ("speech", "graphs"))
    png = settings.paths.digests_dir / "2025-W23-trends.png"
    drawn = png.read_bytes()

    def no_drawing(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("the chart was drawn again")

    monkeypatch.setattr(chart, "render_trend_chart", no_drawing)
    _speech_then_quiet(tmp_path, ("speech", "graphs"))  # the same week, built again
    assert png.read_bytes() == drawn
