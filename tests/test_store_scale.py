"""Store queries whose cost must follow the week, not the years of papers kept beside it.

No timing: each test reads SQLite's query plan for the statements a store method runs, or the
rows it reads, on a small real database; a full scan of `papers` or `embeddings` is what made a
step grow with the store (round 11: stores of 10, 52 and 150 weeks of 10,000 papers).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.ingest.normalize import update_paper
from pipeline.models import Paper
from pipeline.store import MIGRATIONS, SCHEMA_VERSION, Store

NOW = datetime(2026, 4, 16, 6, 0, tzinfo=UTC)


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.open(":memory:") as s:
        yield s


def _papers(n: int) -> list[Paper]:
    return [
        Paper(
            f"arxiv:2604.{i:05d}",
            f"Paper {i}",
            f"Abstract {i}.",
            doi=f"10.1000/Paper.{i}" if i % 3 == 0 else None,
            announced=date(2026, 4, 13 + i % 5),
        )
        for i in range(n)
    ]


def _plans(store: Store, call: Callable[[], Any]) -> list[str]:
    """The query plan of every SELECT `call` runs on the store's connection, one string each."""
    statements: list[str] = []
    conn = store._conn
    conn.set_trace_callback(statements.append)
    try:
        call()
    finally:
        conn.set_trace_callback(None)
    plans = []
    for sql in statements:
        if sql.lstrip().upper().startswith("SELECT"):
            rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
            plans.append(" / ".join(row[3] for row in rows))
    return plans


def test_find_paper_id_by_doi_reads_an_index_not_every_paper(store: Store) -> None:
    # Round 11: lower(doi) = lower(?) could not use the index on doi: every new paper with a
    # DOI read the whole papers table at ingest (0.3 s a paper at 1.5 million papers).
    store.upsert_papers(_papers(30), "a", NOW, merge=update_paper)
    plans = _plans(store, lambda: store.find_paper_id_by_doi("10.1000/PAPER.3"))
    assert plans and all("SCAN papers" not in plan for plan in plans), plans
    assert any("papers_doi_lower" in plan for plan in plans), plans
    assert store.find_paper_id_by_doi("10.1000/PAPER.3") == "arxiv:2604.00003"


def test_a_paper_is_found_by_its_link_through_an_index_not_every_paper(store: Store) -> None:
    # Round 28: `explain`/`mark` find a paper stored under its DOI by the publisher's link the
    # digest shows; a lookup without an index would read the whole table at each one.
    journal = Paper("doi:10.1000/j.1", "A journal paper", "", url="https://example.org/a/1")
    store.upsert_papers([*_papers(30), journal], "a", NOW, merge=update_paper)
    links = ["https://example.org/a/1", "http://example.org/a/1"]
    plans = _plans(store, lambda: store.list_paper_ids_by_url(links))
    assert plans and all("SCAN papers" not in plan for plan in plans), plans
    assert any("papers_url" in plan for plan in plans), plans
    assert store.list_paper_ids_by_url(links) == ["doi:10.1000/j.1"]


def test_a_schema_5_store_upgrades_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with Store.open(path) as new:
        new.upsert_papers(_papers(12), "a", NOW, merge=update_paper)
        new.save_vectors("m", [("arxiv:2604.00003", "h", np.ones(4, np.float32))], NOW)
        new.set_meta("k", "v")
        expected = new.list_papers(new.list_paper_ids())
    conn = sqlite3.connect(path)  # what schema 5 held: its tables, without the later changes
    conn.execute("DROP TABLE listed_papers")
    conn.execute("DROP INDEX papers_doi_lower")
    conn.execute("DROP INDEX papers_sample_key")
    conn.execute("ALTER TABLE papers DROP COLUMN sample_key")
    conn.execute("PRAGMA user_version = 5")
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        assert store.list_papers(store.list_paper_ids()) == expected
        assert store.find_paper_id_by_doi("10.1000/paper.3") == "arxiv:2604.00003"
        assert list(store.get_vectors("m", [("arxiv:2604.00003", "h")])) == ["arxiv:2604.00003"]
        assert store.get_meta("k") == "v"
        assert store.list_sample_paper_ids(100) == sorted(
            store.list_paper_ids(), key=lambda i: hashlib.sha256(i.encode()).hexdigest()
        )
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == len(MIGRATIONS)
    conn.close()


def test_the_background_sample_is_read_through_an_index(store: Store) -> None:
    # Round 11: the boundary background (the ids that hash lowest) was chosen by reading every
    # stored id and hashing it in Python, on the first build after each ingest.
    from pipeline.run import boundaries

    papers = _papers(40)
    store.upsert_papers(papers, "a", NOW, merge=update_paper)
    vectors = np.eye(40, 8, dtype=np.float32)
    plans = _plans(store, lambda: boundaries._background(store, "m", papers[:3], vectors[:3]))
    papers_plans = [plan for plan in plans if "papers" in plan]
    assert papers_plans and all(
        "SCAN papers USING INDEX papers_sample_key" in plan or "SEARCH" in plan
        for plan in papers_plans
    ), papers_plans
    assert not any("TEMP B-TREE" in plan for plan in papers_plans), papers_plans


def test_the_sample_is_the_ids_that_hash_lowest_and_follows_a_re_key(store: Store) -> None:
    import hashlib

    def by_hash(ids: list[str]) -> list[str]:
        return sorted(ids, key=lambda i: hashlib.sha256(i.encode()).hexdigest())

    store.upsert_papers(_papers(40), "a", NOW, merge=update_paper)
    assert store.list_sample_paper_ids(7) == by_hash(store.list_paper_ids())[:7]
    store.rekey_paper("arxiv:2604.00001", "url:https://example.org/one")
    store.rekey_paper("arxiv:2604.00002", "doi:10.1/two")
    assert store.list_sample_paper_ids(100) == by_hash(store.list_paper_ids())


def test_a_warm_build_keys_its_boundaries_without_reading_every_row(store: Store) -> None:
    # Round 11: the cache key counted the model's vectors (a scan of every row) on every build,
    # and the store's date range (also what each build, plan and `topics` choose a week by)
    # read the whole effective_date index: min() and max() in one SELECT.
    from pipeline.run import boundaries

    papers = _papers(20)
    store.upsert_papers(papers, "a", NOW, merge=update_paper)
    rows = [(p.paper_id, "h", np.ones(4, np.float32)) for p in papers]
    store.save_vectors("m", rows, NOW)
    plans = _plans(store, lambda: boundaries._scope_key(store, "m", papers[:3]))
    assert len(plans) == 2 and not any(
        f"SCAN {table}" in plan for plan in plans for table in ("papers", "embeddings")
    ), plans
    before = boundaries._scope_key(store, "m", papers[:3])
    store.save_vectors("m", rows[:5], NOW)  # the same items again: nothing new
    assert boundaries._scope_key(store, "m", papers[:3]) == before
    store.save_vectors("m", [("arxiv:9999.00001", "h", np.ones(4, np.float32))], NOW)
    assert boundaries._scope_key(store, "m", papers[:3]) != before
