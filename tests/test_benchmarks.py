"""Every benchmark script still imports and answers `--help` (issue: r29-bench).

`make eval`, `make eval-topics`, `make bench`, `make bench-embed` and the `python -m benchmarks.X`
lines of README.md and benchmarks/README.md are how the figures are checked from outside; a
script whose helper module was renamed, or whose optional import (BERTopic, Snowball, the
`bench` extra) is needed at import time, fails here instead of in a reader's hands. Cheap: no
script does its work (no embedding, no store); `--help` must exit 0 before any of it starts.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py") if p.stem != "__init__")
#: Imported by the scripts; no command of their own.
HELPERS = {"speed_data", "steptimer"}


def test_every_script_is_covered() -> None:
    assert len(BENCHMARKS) > 50
    assert set(BENCHMARKS) >= HELPERS


@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_imports_and_answers_help(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    module = importlib.import_module(f"benchmarks.{name}")
    if name in HELPERS:
        return
    monkeypatch.setattr(sys, "argv", [f"{name}.py", "--help"])
    with pytest.raises(SystemExit) as done:
        module.main()
    assert done.value.code == 0
    assert "usage:" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("name", "written"), [("make_topic_corpus", "CORPUS"), ("make_acm_labels", "LABELS")]
)
def test_generator_without_the_shared_pages_keeps_the_bundled_file(
    name: str, written: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `python benchmarks/make_topic_corpus.py` from a checkout whose ../shared it did not find
    # used to rewrite benchmarks/data/oai-cs-2016-papers.jsonl.gz with 0 papers, exit 0.
    monkeypatch.syspath_prepend(str(ROOT))
    module = importlib.import_module(f"benchmarks.{name}")
    target = getattr(module, written)
    before = target.read_bytes()
    monkeypatch.setattr(sys, "argv", [f"{name}.py", "--source", str(tmp_path)])
    with pytest.raises(SystemExit) as done:
        module.main()
    assert "no OAI-PMH pages" in str(done.value.code)
    assert target.read_bytes() == before
