"""run.derived: per-paper values kept between builds, never stale, never changing an output."""

from __future__ import annotations

import json
import types
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline import run
from pipeline.digest import build
from pipeline.run import derived
from pipeline.topics import assign
from tests.conftest import make_settings

SOURCE = Path(__file__).parent / "data/feeds/hf_daily_papers_api_2026-06-12_30entries.json"
NOW = datetime(2026, 6, 15, 8, tzinfo=UTC)


def _counting(calls: list[tuple[str, ...]], value: object):  # type: ignore[no-untyped-def]
    def compute() -> object:
        calls.append(("computed",))
        return value

    return compute


def test_a_value_is_computed_once_and_read_back_by_the_next_memo(tmp_path: Path) -> None:
    path = tmp_path / derived.FILE
    calls: list[tuple[str, ...]] = []
    memo = derived.Memo(path)
    remember = memo.remembering("v1")
    assert remember(("a", "b"), _counting(calls, ["x", "y"])) == ["x", "y"]
    assert remember(("a", "b"), _counting(calls, ["other"])) == ["x", "y"]  # same build
    memo.save()
    again = derived.Memo(path).remembering("v1")
    assert again(("a", "b"), _counting(calls, ["other"])) == ["x", "y"]
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("version", "inputs"),
    [
        ("v2", ("a", "b")),  # other code
        ("v1", ("a", "c")),  # other text
        ("v1", ("ab", "")),  # the same characters, split otherwise
        ("v1", ("a", "b", "")),  # one input more
    ],
)
def test_other_code_or_other_inputs_miss(
    tmp_path: Path, version: str, inputs: tuple[str, ...]
) -> None:
    path = tmp_path / derived.FILE
    memo = derived.Memo(path)
    memo.remembering("v1")(("a", "b"), lambda: "old")
    memo.save()
    assert derived.Memo(path).remembering(version)(inputs, lambda: "new") == "new"


def test_without_a_version_or_a_file_nothing_is_remembered(tmp_path: Path) -> None:
    calls: list[tuple[str, ...]] = []
    for memo, version in ((derived.Memo(tmp_path / derived.FILE), None), (derived.Memo(None), "v")):
        remember = memo.remembering(version)
        remember(("a",), _counting(calls, 1))
        remember(("a",), _counting(calls, 1))
        memo.save()
    assert len(calls) == 4
    assert not (tmp_path / derived.FILE).exists()


def test_a_build_keeps_only_what_it_used_and_writes_nothing_when_that_is_unchanged(
    tmp_path: Path,
) -> None:
    path = tmp_path / derived.FILE
    memo = derived.Memo(path)
    remember = memo.remembering("v")
    remember(("old",), lambda: 1)
    remember(("kept",), lambda: 2)
    memo.save()
    memo = derived.Memo(path)
    memo.remembering("v")(("kept",), lambda: 0)
    memo.save()
    assert len(json.loads(path.read_text())["values"]) == 1
    written = path.stat().st_mtime_ns
    memo = derived.Memo(path)
    assert memo.remembering("v")(("kept",), lambda: 0) == 2
    memo.save()
    assert path.stat().st_mtime_ns == written


@pytest.mark.parametrize("text", ["", "{not json", '{"format": 99, "values": {}}', "[1, 2]"])
def test_an_unreadable_or_foreign_file_is_an_empty_memo(tmp_path: Path, text: str) -> None:
    path = tmp_path / derived.FILE
    path.write_text(text)
    assert derived.Memo(path).remembering("v")(("a",), lambda: "computed") == "computed"


def test_the_code_version_follows_the_source_and_the_libraries(tmp_path: Path) -> None:
    source = tmp_path / "stage.py"
    source.write_text("X = 1\n")
    module = types.ModuleType("stage")
    module.__file__ = str(source)
    first = derived.code_version([module])
    assert first == derived.code_version([module])
    assert derived.code_version([module], ["pylatexenc"]) != first
    source.write_text("X = 2\n")
    assert derived.code_version([module]) != first
    source.unlink()
    assert derived.code_version([module]) is None
    assert derived.code_version([build], ["no-such-library-here"]) is None


def test_a_rebuild_reads_the_summaries_and_keywords_back_and_writes_the_same_files(
    tmp_path: Path, fake_embedder: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(
        tmp_path,
        paths={"data_dir": "data", "digests_dir": "out"},
        sources=[{"name": "hf", "kind": "hf-daily", "url": str(SOURCE)}],
        topics=[
            {
                "slug": "agents",
                "name": "Agents",
                "description": "language model agents that act, plan and use tools",
                "keywords": ["agent", "agents", "LLM"],
            }
        ],
        digest={"refresh_signals": False},
    )
    summaries: list[str] = []
    readable = build.readable
    monkeypatch.setattr(build, "readable", lambda p: summaries.append(p.paper_id) or readable(p))
    found: list[str] = []
    original = assign.KeywordMatcher.found
    monkeypatch.setattr(
        assign.KeywordMatcher, "found", lambda self, t, x: found.append(t) or original(self, t, x)
    )
    files = []
    with run.open_store(settings) as store:
        run.run_ingest(settings, store, fake_embedder, now=NOW)  # type: ignore[arg-type]
        for _ in range(2):
            summaries.clear()
            found.clear()
            run.run_build(settings, store, fake_embedder, now=NOW, week="2026-W24")  # type: ignore[arg-type]
            files.append({p.name: p.read_bytes() for p in sorted((tmp_path / "out").iterdir())})
            if not files[1:]:
                assert summaries and found  # the first build computes them
    assert not summaries and not found  # the second reads them back
    assert files[0] == files[1]
    assert (tmp_path / "data" / derived.FILE).is_file()
