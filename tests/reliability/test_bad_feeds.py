"""Every recorded feed file, and broken variants of each, through the real ingest path.

Each file is offered as every source kind in one run beside a known-good source: nothing may raise,
each failure must be a per-source error naming the source and a reason, and the good source lands.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import FakeEmbedder

from reliability import tally
from reliability.helpers import FEEDS, GOOD_COUNT, GOOD_FILE, KINDS, ingest, query, write_config

FIXTURES = sorted(p for p in FEEDS.rglob("*") if p.is_file())


def _check_run(tmp_path: Path, files: list[tuple[str, Path]], counter: str) -> list[str]:
    """Ingest `files` (label, path) as every kind beside the good source; return the problems."""
    sources = [("good", "file", str(GOOD_FILE))]
    for label, path in files:
        sources += [(f"{label}-{kind}", kind, str(path)) for kind in KINDS]
    config = write_config(tmp_path, sources)
    tally.add(counter, len(sources) - 1)
    try:
        report = ingest(config, FakeEmbedder())
    except Exception as e:  # any escape here is a traceback the user would see
        tally.add("tracebacks")
        return [f"{[p.name for _, p in files]}: {type(e).__name__}: {e}"]
    problems = []
    by_name = {s.name: s for s in report.sources}
    if not (by_name["good"].ok and by_name["good"].n_entries == GOOD_COUNT):
        tally.add("good sources lost")
        problems.append(f"good source did not land: {by_name['good']}")
    n_good = query(
        tmp_path / "data" / "pipeline.sqlite3",
        "SELECT count(*) FROM paper_sources WHERE source = 'good'",
    )[0][0]
    if n_good != GOOD_COUNT:
        tally.add("good sources lost")
        problems.append(f"good source stored {n_good} papers, expected {GOOD_COUNT}")
    urls = dict((name, url) for name, _, url in sources)
    for result in report.sources:
        if result.ok:
            continue
        reason = (result.error or "").replace(urls[result.name], "").strip(" :")
        names_it = result.name in (result.error or "") or urls[result.name] in (result.error or "")
        if not (names_it and len(reason) >= 8):
            tally.add("failures without source and reason")
            problems.append(f"{result.name}: unclear error {result.error!r}")
    return problems


@pytest.mark.parametrize("path", FIXTURES, ids=[str(p.relative_to(FEEDS)) for p in FIXTURES])
def test_every_feed_file_ingests_as_every_kind_without_a_traceback(
    tmp_path: Path, path: Path
) -> None:
    assert _check_run(tmp_path, [("feed", path)], "feed inputs tried") == []


def _variants(content: bytes, rng: random.Random) -> list[bytes]:
    """Broken copies: cut at random points (a dropped connection), bytes flipped, NULs inserted."""
    out = [content[: rng.randrange(len(content))] for _ in range(3)]
    flipped = bytearray(content)
    for _ in range(max(1, len(content) // 500)):
        flipped[rng.randrange(len(content))] = rng.randrange(256)
    out.append(bytes(flipped))
    at = rng.randrange(len(content))
    out.append(content[:at] + b"\x00\xff\xfe" + content[at:])
    return out


@pytest.mark.parametrize("path", FIXTURES, ids=[str(p.relative_to(FEEDS)) for p in FIXTURES])
def test_broken_variants_of_every_feed_fail_per_source_only(tmp_path: Path, path: Path) -> None:
    content = path.read_bytes()
    if not content:
        pytest.skip("empty file: nothing to break")
    rng = random.Random(f"{path.name}-7")  # seeded: a failure names a reproducible variant
    files = []
    for i, variant in enumerate(_variants(content, rng)):
        target = tmp_path / f"v{i}-{path.name}"
        target.write_bytes(variant)
        files.append((f"v{i}", target))
    assert _check_run(tmp_path, files, "broken feed variants tried") == []
