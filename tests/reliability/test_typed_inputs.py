"""Issue 15: what a user types is validated where it is typed — exit 2 naming the key, no traceback.

Weeks on the command line and in config.toml, folders that are files, header values that are not
ASCII, file sources that do not exist where the config says, a model that is not on this machine,
and the warnings check-config owes (empty contact, numeric cron weekdays). Also: a stored paper
dated 9999-12-31 with week = "latest" must not crash builds.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import FakeEmbedder, make_paper

from pipeline.cli import cli
from pipeline.ingest.normalize import update_paper
from pipeline.store import Store
from reliability import tally
from reliability.helpers import GOOD_FILE, build, ingest, query, write_config

NO_BACKFILL: dict[str, object] = {"arxiv": {"backfill": False}}


def _invoke(args: list[str], env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(cli, args, env=env)
    tally.add("configs tried")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        tally.add("tracebacks")
        raise result.exception
    return result


# Each crashed or was accepted on main (config.toml already refused 2025-W53 and 0000-W01).
CLI_WEEKS = ["2025-W53", "0000-W01", "0001-W01", "9999-W52", "２０２５-W01"]
CONFIG_WEEKS = ["0001-W01", "9999-W52", "２０２５-W01", "2025-W０1"]


@pytest.mark.parametrize("week", CLI_WEEKS)
@pytest.mark.parametrize("command", ["build", "run"])
def test_a_bad_week_on_the_command_line_is_a_usage_error(
    tmp_path: Path, command: str, week: str
) -> None:
    config = write_config(tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL)
    result = _invoke(["--config", str(config), command, "--week", week])
    assert result.exit_code == 2, result.output
    assert "--week" in result.stderr, result.stderr
    assert not (tmp_path / "digests").exists()  # nothing was written before the check


@pytest.mark.parametrize("week", CONFIG_WEEKS)
def test_a_bad_week_in_config_fails_check_config_naming_the_key(tmp_path: Path, week: str) -> None:
    config = write_config(tmp_path, [("good", "file", str(GOOD_FILE))], week=week)
    result = _invoke(["--config", str(config), "check-config"])
    assert result.exit_code == 2 and "digest.week" in result.stderr, result.stderr


@pytest.mark.parametrize("command", [["check-config"], ["status"], ["build"], ["ingest"]])
def test_a_digests_dir_that_is_a_file_is_named_before_any_work(
    tmp_path: Path, command: list[str]
) -> None:
    config = write_config(tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL)
    (tmp_path / "digests").write_text("I am a file\n", encoding="utf-8")
    result = _invoke(["--config", str(config), *command])
    assert result.exit_code == 2, result.output
    assert "paths.digests_dir" in result.stderr and "not a folder" in result.stderr


def test_a_data_dir_under_a_file_is_named_before_any_work(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, [("good", "file", str(GOOD_FILE))], paths={"data_dir": "blocker/data"}
    )
    (tmp_path / "blocker").write_text("", encoding="utf-8")
    result = _invoke(["--config", str(config), "status"])
    assert result.exit_code == 2 and "paths.data_dir" in result.stderr, result.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_data_dir_is_named(tmp_path: Path) -> None:
    config = write_config(tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL)
    (tmp_path / "data").mkdir(mode=0o500)
    result = _invoke(["--config", str(config), "check-config"])
    assert result.exit_code == 2 and "paths.data_dir" in result.stderr, result.output


@pytest.mark.parametrize(
    ("key", "value"), [("contact", "jösé@example.org"), ("user_agent", "bøt/1")]
)
def test_a_non_ascii_header_value_fails_check_config(tmp_path: Path, key: str, value: str) -> None:
    config = write_config(
        tmp_path,
        [("good", "file", str(GOOD_FILE))],
        fetch={key: value},
    )
    result = _invoke(["--config", str(config), "check-config"])
    assert result.exit_code == 2 and f"fetch.{key}" in result.stderr, result.stderr


def test_file_sources_are_found_relative_to_the_config_or_named(tmp_path: Path) -> None:
    """A config copied elsewhere whose relative file sources are missing is not 'ok'."""
    (tmp_path / "here.jsonl").write_bytes(GOOD_FILE.read_bytes())
    sources = [("here", "file", "here.jsonl"), ("gone", "file", "data/missing.jsonl")]
    config = write_config(tmp_path, sources, **NO_BACKFILL)
    result = _invoke(["--config", str(config), "check-config"])
    assert result.exit_code == 2, result.output
    assert "sources[1].url" in result.stderr and "missing.jsonl" in result.stderr
    assert "sources[0]" not in result.stderr


def test_check_config_warns_on_empty_contact_and_numeric_cron_weekdays(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        [("arxiv", "arxiv-api", "https://export.arxiv.org/api/query?search_query=cat:cs.LG")],
        schedule={"ingest_cron": "0 2 * * 1-5"},
    )
    result = _invoke(["--config", str(config), "check-config"])
    assert result.exit_code == 0, result.output
    assert "warning: fetch.contact" in result.stderr
    assert "warning: schedule.ingest_cron" in result.stderr and "mon-fri" in result.stderr


def test_a_keyword_or_filter_phrase_without_a_letter_or_digit_fails_check_config(
    tmp_path: Path,
) -> None:
    # Phrases are matched on their words; "(" or ".*" has none, so it silently matched nothing
    # as a keyword and, in [filters] include, switched the filter off (every paper kept).
    topic = {"slug": "t", "name": "T", "description": "d.", "keywords": ["(", "C++"]}
    config = write_config(
        tmp_path,
        [("good", "file", str(GOOD_FILE))],
        topics=[{**topic, "exclude": [".*"]}],
        filters={"include": ["+"]},
    )
    result = _invoke(["--config", str(config), "check-config"])
    assert result.exit_code == 2, result.output
    for key in ("topics[0].keywords[0]", "topics[0].exclude[0]", "filters.include[0]"):
        assert f"{key}: must contain a letter or digit" in result.stderr, result.stderr
    assert "keywords[1]" not in result.stderr  # C++ is a phrase


PAPERS_WITH_C = [
    ("2506.00001", "Fuzzing C++ compilers with large language models", "We fuzz c++ front ends."),
    ("2506.00002", "Schauder bases in C[0,1]", "Appendix C holds the proofs."),
    ("2506.00003", "A static analyzer for C# programs", "Built on Roslyn."),
    ("2506.00004", "Graph neural networks", "Message passing."),
]


@pytest.mark.parametrize(
    ("filters", "kept"),
    [
        ({"include": ["C++"]}, ["2506.00001"]),
        ({"include": ["C#", "c++ compilers"]}, ["2506.00001", "2506.00003"]),
        ({"exclude": ["C++"]}, ["2506.00002", "2506.00003", "2506.00004"]),
        ({"exclude": ["C#"]}, ["2506.00001", "2506.00002", "2506.00004"]),
        ({"include": ["appendix c"]}, ["2506.00002"]),
    ],
)
def test_a_filter_phrase_with_plus_or_hash_matches_as_written(
    tmp_path: Path, filters: dict[str, list[str]], kept: list[str]
) -> None:
    """Round 9: [filters] read "C++" and "C#" as the word "c", as keywords did until round 8:
    include = ["C++"] kept the C[0,1] paper, exclude = ["C++"] dropped it and the C# one."""
    feed = tmp_path / "papers.jsonl"
    feed.write_text(
        "".join(
            json.dumps(
                {
                    "created": "2025-06-09 17:59:59",
                    "title": title,
                    "abstract": abstract,
                    "url": f"http://arxiv.org/abs/{arxiv_id}v1",
                }
            )
            + "\n"
            for arxiv_id, title, abstract in PAPERS_WITH_C
        ),
        encoding="utf-8",
    )
    config = write_config(tmp_path, [("papers", "file", str(feed))], **NO_BACKFILL, filters=filters)
    tally.add("hostile inputs tried")
    report = ingest(config, FakeEmbedder())
    assert report.sources[0].n_filtered == len(PAPERS_WITH_C) - len(kept)
    rows = query(tmp_path / "data" / "pipeline.sqlite3", "SELECT paper_id FROM papers")
    assert sorted(str(r[0]).removeprefix("arxiv:") for r in rows) == kept


def test_a_model_not_available_offline_fails_check_config(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        [("good", "file", str(GOOD_FILE))],
        embed={"model": "no-such-org/no-such-model-for-tests"},
    )
    result = _invoke(["--config", str(config), "check-config"], env={"HF_HUB_OFFLINE": "1"})
    assert result.exit_code == 2 and "embed.model" in result.stderr, result.output


def _config_with_a_far_paper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, day: date) -> Path:
    """A config with topic "far" and a store holding arxiv:2506.99991, announced on `day` and
    stored on 2025-06-16; the fake embedder."""
    topic = {"slug": "far", "name": "Far", "description": "the end of time", "examples": []}
    config = write_config(
        tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL, topics=[topic]
    )
    far = make_paper("arxiv:2506.99991", "A paper from the end of time", announced=day)
    with Store.open(tmp_path / "data" / "pipeline.sqlite3") as store:
        store.upsert_papers([far], "good", datetime(2025, 6, 16, tzinfo=UTC), merge=update_paper)
    monkeypatch.setattr("pipeline.run.make_embedder", lambda settings: FakeEmbedder())
    return config


def test_a_paper_dated_9999_12_31_does_not_crash_a_latest_build(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL, week="latest"
    )
    ingest(config, FakeEmbedder())
    far = make_paper(
        "url:https://example.org/far",
        "A paper from the end of time",
        published=datetime(9999, 12, 31, tzinfo=UTC),
        announced=date(9999, 12, 31),
    )
    with Store.open(tmp_path / "data" / "pipeline.sqlite3") as store:
        store.upsert_papers([far], "good", datetime(2025, 6, 16, tzinfo=UTC), merge=update_paper)
    tally.add("hostile inputs tried")
    report = build(config, FakeEmbedder())
    assert report.week and report.week.startswith("2025-"), report.week


@pytest.mark.parametrize("day", [date(1, 1, 1)])
def test_explain_and_mark_a_paper_dated_where_no_digest_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, day: date
) -> None:
    """Round 8: `explain` (and `mark`, predicting moves) of such a paper scored its week
    9999-W52 and ended in 'OverflowError: date value out of range'. (Since round 17 a paper
    dated 9999 is in the week it was stored: `test_explain_a_paper_dated_9999_...` below.)"""
    config = _config_with_a_far_paper(tmp_path, monkeypatch, day)
    tally.add("hostile inputs tried")
    result = _invoke(["--config", str(config), "explain", "2506.99991"])
    assert result.exit_code == 1, result.output
    assert f"arxiv:2506.99991 is dated {day.isoformat()}: no digest covers that week" in (
        result.stderr
    )
    result = _invoke(["--config", str(config), "mark", "2506.99991", "--topic", "far"])
    assert result.exit_code == 0, result.output
    assert "so no moves are predicted" in result.output
    assert '"arxiv:2506.99991", # A paper from the end of time' in config.read_text("utf-8")


def test_explain_a_paper_dated_9999_names_the_week_it_was_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A date that far after the paper was stored is not used (round 17): `explain` names the
    week of the day it was stored, with no OverflowError on the way."""
    config = _config_with_a_far_paper(tmp_path, monkeypatch, date.max)
    tally.add("hostile inputs tried")
    result = _invoke(["--config", str(config), "explain", "2506.99991"])
    assert result.exit_code == 0, result.output
    assert "2025-W25: in section topic far" in result.output, result.output


def test_a_full_disk_while_writing_outputs_is_an_error_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC injected at the first fsync of a digest output: exit 1 naming the file."""
    import errno

    from pipeline.digest import outputs

    config = write_config(tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL)
    ingest(config, FakeEmbedder())

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(outputs.os, "fsync", full)
    monkeypatch.setattr("pipeline.run.make_embedder", lambda settings: FakeEmbedder())
    tally.add("storage faults tried")
    result = _invoke(["--config", str(config), "build", "--week", "2025-W23"])
    assert result.exit_code == 1, result.output
    assert "cannot write" in result.stderr and "No space left" in result.stderr, result.stderr
    assert not list((tmp_path / "digests").glob(".*.tmp"))
