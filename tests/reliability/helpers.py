"""Small shared pieces of the reliability suite: configs on disk, in-process ingest, DB checks."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import conftest

from pipeline import run
from pipeline.config import load_settings
from pipeline.embed import Embedder
from pipeline.models import RunReport
from pipeline.store import Store

TESTS = Path(__file__).resolve().parent.parent
DATA = TESTS / "data"
FEEDS = DATA / "feeds"
#: A known-good source that must land in every run that also carries a bad one.
GOOD_FILE = DATA / "files" / "arxiv-week-2025-06_2025-06-06-08h_first5.jsonl"
GOOD_COUNT = 5
KINDS = ("arxiv-rss", "arxiv-api", "hf-daily", "rss", "file")
NOW = datetime(2025, 6, 16, 8, tzinfo=UTC)


def write_config(
    root: Path,
    sources: Sequence[tuple[str, str, str]],
    *,
    week: str = "2025-W23",
    digest: dict[str, object] | None = None,
    embed: dict[str, object] | None = None,
    **sections: object,
) -> Path:
    """config.toml under `root` with the given (name, kind, url) sources and no topics.

    The shared builder (conftest.write_config) on CPU; `digest` and `sections` add TOML keys.
    """
    return conftest.write_config(
        root,
        embed={"device": "cpu", **(embed or {})},
        digest={"week": week, **(digest or {})},
        sources=[{"name": name, "kind": kind, "url": url} for name, kind, url in sources],
        **sections,
    )


def ingest(config: Path, embedder: Embedder, *, now: datetime = NOW) -> RunReport:
    """`digest ingest` in-process: real settings, real store, real fetch and parsers."""
    settings = load_settings(config)
    with Store.open(settings.database_path) as store:
        return run.run_ingest(settings, store, embedder, now=now)


def build(config: Path, embedder: Embedder, *, now: datetime = NOW) -> RunReport:
    """`digest build` in-process."""
    settings = load_settings(config)
    with Store.open(settings.database_path) as store:
        return run.run_build(settings, store, embedder, now=now)


def query(
    db: Path, sql: str, params: Sequence[object] = (), *, immutable: bool = False
) -> list[tuple[object, ...]]:
    """Read the database directly (read-only), bypassing the store's own code.

    `immutable` reads a file on a read-only filesystem, where WAL mode cannot create its -shm.
    """
    mode = "immutable=1" if immutable else "mode=ro"
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?{mode}", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()
