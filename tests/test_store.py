"""Tests for pipeline.store against real SQLite: temporary files and :memory:."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import stat
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.errors import StoreError
from pipeline.ingest.normalize import update_paper
from pipeline.models import Paper, Signals
from pipeline.store import MIGRATIONS, SCHEMA_VERSION, Store, UpsertResult

NOW = datetime(2026, 4, 20, 9, 30, tzinfo=UTC)
LATER = NOW + timedelta(days=1)


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.open(":memory:") as s:
        yield s


def make_paper(paper_id: str = "arxiv:2404.01234", **changes: Any) -> Paper:
    return dataclasses.replace(
        Paper(paper_id, "Sparse attention", "We study attention."), **changes
    )


FULL_PAPER = Paper(
    paper_id="arxiv:2404.01234",
    title="Sparse attention for long documents",
    abstract="We propose a sparse attention scheme.",
    authors=("Ada Lovelace", "Alan Turing"),
    categories=("cs.CL", "cs.LG"),
    url="https://arxiv.org/abs/2404.01234",
    pdf_url="https://arxiv.org/pdf/2404.01234",
    version=2,
    doi="10.1000/xyz123",
    published=datetime(2026, 4, 15, 17, 59, 1, 123456, tzinfo=UTC),
    announced=date(2026, 4, 16),
    announce_type="new",
    first_seen=datetime(2026, 4, 16, 6, 0, tzinfo=UTC),
    sources=("arxiv",),
    signals=Signals(
        upvotes=12,
        comments=3,
        github_url="https://github.com/a/b",
        github_stars=40,
        project_url="https://a.github.io/b",
        ai_summary="A sparse attention scheme.",
        ai_keywords=("sparse attention", "long context"),
    ),
)


# -- papers ------------------------------------------------------------------------------------


def test_get_paper_round_trips_every_field(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db.sqlite3") as store:
        store.upsert_papers([FULL_PAPER], "arxiv", NOW, merge=update_paper)
        got = store.get_paper(FULL_PAPER.paper_id)
    assert got == FULL_PAPER
    assert got is not None and got.published is not None
    assert got.published.tzinfo is not None and got.published.utcoffset() == timedelta(0)
    assert isinstance(got.signals.ai_keywords, tuple)


def test_get_paper_missing_is_none(store: Store) -> None:
    assert store.get_paper("arxiv:0000.00000") is None


def test_upsert_papers_stores_non_utc_datetimes_as_utc(store: Store) -> None:
    cest = datetime(2026, 4, 16, 3, 0, tzinfo=timezone(timedelta(hours=2)))
    store.upsert_papers([make_paper(published=cest)], "rss", NOW, merge=update_paper)
    got = store.get_paper("arxiv:2404.01234")
    assert got is not None and got.published == cest and got.published.tzinfo == UTC


def test_upsert_papers_sets_first_seen_to_now_when_missing(store: Store) -> None:
    store.upsert_papers([make_paper()], "arxiv", NOW, merge=update_paper)
    got = store.get_paper("arxiv:2404.01234")
    assert got is not None and got.first_seen == NOW


def test_upsert_papers_counts_new_then_unchanged(store: Store) -> None:
    assert store.upsert_papers([FULL_PAPER], "arxiv", NOW, merge=update_paper) == UpsertResult(
        1, 0, 0
    )
    assert store.upsert_papers([FULL_PAPER], "arxiv", LATER, merge=update_paper) == UpsertResult(
        0, 0, 1
    )


def test_upsert_papers_lists_every_source(store: Store) -> None:
    store.upsert_papers([make_paper()], "hf-daily", NOW, merge=update_paper)
    result = store.upsert_papers([make_paper()], "arxiv", LATER, merge=update_paper)
    assert result == UpsertResult(0, 1, 0)  # a new source is a change to the stored paper
    got = store.get_paper("arxiv:2404.01234")
    assert got is not None and got.sources == ("arxiv", "hf-daily")
    assert store.upsert_papers([make_paper()], "arxiv", LATER, merge=update_paper) == UpsertResult(
        0, 0, 1
    )


def test_upsert_papers_merges_duplicates_within_one_batch(store: Store) -> None:
    a = make_paper(categories=("cs.CL",))
    b = make_paper(categories=("cs.AI",))
    assert store.upsert_papers([a, b], "arxiv", NOW, merge=update_paper) == UpsertResult(1, 1, 0)
    got = store.get_paper("arxiv:2404.01234")
    assert got is not None and got.categories == ("cs.CL", "cs.AI")


def test_upsert_papers_is_one_transaction(store: Store) -> None:
    naive = make_paper("arxiv:2", published=datetime(2026, 4, 1))  # a bug: naive datetime
    with pytest.raises(ValueError, match="naive"):
        store.upsert_papers([make_paper("arxiv:1"), naive], "arxiv", NOW, merge=update_paper)
    assert store.list_papers(["arxiv:1", "arxiv:2"]) == []


def test_list_papers_keeps_order_and_skips_missing(store: Store) -> None:
    papers = [make_paper(f"arxiv:{i:05d}") for i in range(1000)]
    store.upsert_papers(papers, "arxiv", NOW, merge=update_paper)
    ids = ["arxiv:00999", "nope", "arxiv:00000", *[p.paper_id for p in papers[1:999]]]
    got = store.list_papers(ids)
    assert [p.paper_id for p in got] == [i for i in ids if i != "nope"]
    assert all(p.sources == ("arxiv",) for p in got)


def test_list_papers_gives_each_paper_its_own_signals_sources_and_categories(
    store: Store,
) -> None:
    plain = make_paper("arxiv:1", categories=("cs.CL",))
    full = dataclasses.replace(FULL_PAPER, paper_id="arxiv:2")
    also_plain = make_paper("arxiv:3", categories=("cs.CL",))
    store.upsert_papers([plain, full, also_plain], "arxiv", NOW, merge=update_paper)
    store.upsert_papers([full], "hf-daily", NOW, merge=update_paper)
    got = store.list_papers(["arxiv:1", "arxiv:2", "arxiv:3"])
    assert [p.signals for p in got] == [Signals(), FULL_PAPER.signals, Signals()]
    assert [p.sources for p in got] == [("arxiv",), ("arxiv", "hf-daily"), ("arxiv",)]
    assert [p.categories for p in got] == [("cs.CL",), FULL_PAPER.categories, ("cs.CL",)]
    between = store.list_papers_between(date(1900, 1, 1), date(2999, 1, 1))
    assert [p.signals for p in between] == [p.signals for p in got]


def test_list_paper_ids_lists_every_stored_id_sorted(store: Store) -> None:
    assert store.list_paper_ids() == []
    papers = [make_paper(f"arxiv:{i:05d}") for i in (3, 1, 2)]
    store.upsert_papers(papers, "arxiv", NOW, merge=update_paper)
    assert store.list_paper_ids() == ["arxiv:00001", "arxiv:00002", "arxiv:00003"]


def test_find_paper_id_by_doi_and_title_key(store: Store) -> None:
    store.upsert_papers(
        [make_paper("doi:10.1/ABC", doi="10.1/ABC"), make_paper("arxiv:1")],
        "crossref",
        NOW,
        title_keys={"arxiv:1": "sparse attention"},
        merge=update_paper,
    )
    assert store.find_paper_id_by_doi("10.1/abc") == "doi:10.1/ABC"
    assert store.find_paper_id_by_doi("10.1/other") is None
    assert store.find_paper_id_by_title_key("sparse attention") == "arxiv:1"
    assert store.find_paper_id_by_title_key("dense attention") is None
    # A later upsert without keys keeps the stored key.
    store.upsert_papers([make_paper("arxiv:1")], "crossref", LATER, merge=update_paper)
    assert store.find_paper_id_by_title_key("sparse attention") == "arxiv:1"


def test_list_papers_between_uses_announced_then_published_then_first_seen(store: Store) -> None:
    store.upsert_papers(
        [
            # announced wins over a published date outside the window
            make_paper(
                "a", announced=date(2026, 4, 14), published=datetime(2026, 3, 1, tzinfo=UTC)
            ),
            # published (its UTC date) wins over first_seen
            make_paper("b", published=datetime(2026, 4, 13, 23, 0, tzinfo=UTC), first_seen=LATER),
            # only first_seen
            make_paper("c", first_seen=datetime(2026, 4, 19, 12, tzinfo=UTC)),
            make_paper("d", announced=date(2026, 4, 20)),  # outside
            make_paper("e", published=datetime(2026, 4, 12, 23, 59, tzinfo=UTC)),  # outside
        ],
        "arxiv",
        NOW,
        merge=update_paper,
    )
    got = store.list_papers_between(date(2026, 4, 13), date(2026, 4, 19))
    assert [p.paper_id for p in got] == ["a", "b", "c"]
    assert store.get_date_range() == (date(2026, 4, 12), date(2026, 4, 20))


def test_list_papers_between_dates_a_paper_by_the_readers_day(store: Store) -> None:
    # Sunday 20:00 UTC is Monday 05:00 in Tokyo and Sunday 13:00 in Los Angeles; an
    # announcement date is a listing's date, the same everywhere.
    sunday_evening = datetime(2026, 4, 19, 20, tzinfo=UTC)
    store.upsert_papers(
        [
            make_paper("late", announced=None, published=sunday_evening),
            make_paper("seen", announced=None, published=None, first_seen=sunday_evening),
            make_paper("listed", announced=date(2026, 4, 19), published=sunday_evening),
            make_paper("early", announced=None, published=datetime(2026, 4, 13, 3, tzinfo=UTC)),
        ],
        "rss",
        NOW,
        merge=update_paper,
    )
    w16, w17 = (date(2026, 4, 13), date(2026, 4, 19)), (date(2026, 4, 20), date(2026, 4, 26))
    ids = lambda span, zone: [p.paper_id for p in store.list_papers_between(*span, timezone=zone)]  # noqa: E731
    assert ids(w16, "UTC") == ["early", "late", "listed", "seen"]
    assert ids(w16, "Asia/Tokyo") == ["early", "listed"]
    assert ids(w17, "Asia/Tokyo") == ["late", "seen"]
    assert ids(w16, "America/Los_Angeles") == ["late", "listed", "seen"]  # "early": Sunday W15
    assert store.get_date_range(timezone="Asia/Tokyo") == (date(2026, 4, 13), date(2026, 4, 20))
    assert store.get_date_range(timezone="America/Los_Angeles") == (
        date(2026, 4, 12),
        date(2026, 4, 19),
    )


def test_a_date_written_without_a_time_is_that_day_for_every_reader(store: Store) -> None:
    # A file's "published": "2025-06-16" (or an RSS dc:date) is stored as midnight UTC: in Los
    # Angeles that was Sunday 17:00, so a Monday paper joined the week before, whose digest's
    # dates end on the Sunday. A real time of day is still the reader's.
    store.upsert_papers(
        [
            make_paper("monday", announced=None, published=datetime(2025, 6, 16, tzinfo=UTC)),
            make_paper("sunday", announced=None, published=datetime(2025, 6, 15, tzinfo=UTC)),
            make_paper("evening", announced=None, published=datetime(2025, 6, 16, 3, tzinfo=UTC)),
        ],
        "rss",
        NOW,
        merge=update_paper,
    )
    w24, w25 = (date(2025, 6, 9), date(2025, 6, 15)), (date(2025, 6, 16), date(2025, 6, 22))
    for zone in ("America/Los_Angeles", "Asia/Tokyo", "Pacific/Kiritimati", "UTC"):
        ids = [p.paper_id for p in store.list_papers_between(*w25, timezone=zone)]
        assert "monday" in ids and "sunday" not in ids, zone
    assert [
        p.paper_id for p in store.list_papers_between(*w24, timezone="America/Los_Angeles")
    ] == [
        "evening",
        "sunday",
    ]
    assert store.get_date_range(timezone="America/Los_Angeles") == (
        date(2025, 6, 15),
        date(2025, 6, 16),
    )


def test_list_papers_between_starts_the_week_in_the_zone_its_first_monday_was_drawn_in(
    store: Store,
) -> None:
    # A week whose Monday was drawn in UTC (the week before was built so) and whose end is the
    # reader's in Tokyo: Sunday 20:00 UTC stays in the week before; Sunday 20:00 UTC a week
    # later is Monday in Tokyo, the week after.
    store.upsert_papers(
        [
            make_paper("before", announced=None, published=datetime(2025, 6, 15, 20, tzinfo=UTC)),
            make_paper("first", announced=None, published=datetime(2025, 6, 16, 3, tzinfo=UTC)),
            make_paper("last", announced=None, published=datetime(2025, 6, 22, 14, tzinfo=UTC)),
            make_paper("after", announced=None, published=datetime(2025, 6, 22, 20, tzinfo=UTC)),
        ],
        "rss",
        NOW,
        merge=update_paper,
    )
    w25 = (date(2025, 6, 16), date(2025, 6, 22))
    between = lambda **zones: [p.paper_id for p in store.list_papers_between(*w25, **zones)]  # noqa: E731
    assert between(timezone="Asia/Tokyo") == ["before", "first", "last"]
    assert between(timezone="Asia/Tokyo", start_timezone="UTC") == ["first", "last"]
    assert between(timezone="UTC", start_timezone="Asia/Tokyo") == [
        "after",
        "before",
        "first",
        "last",
    ]
    assert between(timezone="UTC", start_timezone="UTC") == ["after", "first", "last"]


def test_save_week_boundaries_keeps_the_zone_a_boundary_was_first_drawn_in(store: Store) -> None:
    store.save_week_boundaries({"2025-W24": "UTC", "2025-W25": "UTC"})
    store.save_week_boundaries({"2025-W25": "Asia/Tokyo", "2025-W26": "Asia/Tokyo"})
    assert store.list_week_boundaries(["2025-W24", "2025-W25", "2025-W26", "2025-W27"]) == {
        "2025-W24": "UTC",
        "2025-W25": "UTC",
        "2025-W26": "Asia/Tokyo",
    }
    assert store.list_week_boundaries([]) == {}


def test_open_records_the_weeks_an_earlier_version_built_as_utc_weeks(tmp_path: Path) -> None:
    # The previous version (schema 4) dated papers by their UTC day: each week it built (its
    # sections saved, its digest mailed, a run that wrote it) starts and ends at midnight UTC.
    from pipeline.store import MIGRATIONS

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    for migration in MIGRATIONS[:4]:
        migration(conn)
    conn.execute(
        "INSERT INTO week_sections (week, key, kind, label, terms, n_papers, created)"
        " VALUES ('2025-W24', 'graphs', 'topic', 'Graphs', '[]', 3, '2025-06-16T07:00:00+00:00')"
    )
    conn.execute("INSERT INTO deliveries VALUES ('2024-W52', '2024-12-30T07:00:00+00:00', '[]')")
    conn.execute(
        "INSERT INTO runs (command, started, status, report) VALUES ('run', "
        '\'2025-01-06T07:00:00+00:00\', \'ok\', \'{"week": "2025-W01", "digest_path": "d"}\')'
    )
    conn.execute(
        "INSERT INTO runs (command, started, status, report) VALUES ('build', "
        "'2025-03-03T07:00:00+00:00', 'ok', '{\"week\": \"2025-W09\", \"digest_path\": null}')"
    )
    conn.execute("PRAGMA user_version = 4")
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        recorded = store.list_week_boundaries(
            ["2024-W52", "2025-W01", "2025-W02", "2025-W09", "2025-W24", "2025-W25", "2025-W26"]
        )
    assert recorded == {
        "2024-W52": "UTC",
        "2025-W01": "UTC",
        "2025-W02": "UTC",
        "2025-W24": "UTC",
        "2025-W25": "UTC",
    }


def test_get_date_range_empty_is_none(store: Store) -> None:
    assert store.get_date_range() is None
    assert store.list_papers_between(date(2000, 1, 1), date(2100, 1, 1)) == []


# -- embeddings --------------------------------------------------------------------------------


def test_get_vectors_returns_only_hash_matching_rows(store: Store) -> None:
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(8).astype(np.float32) for _ in range(3))
    store.save_vectors("mini", [("arxiv:1", "h1", a), ("topic:nas", "h2", b)], NOW)
    store.save_vectors("other-model", [("arxiv:1", "h1", c)], NOW)
    got = store.get_vectors("mini", [("arxiv:1", "h1"), ("topic:nas", "stale"), ("x", "h3")])
    assert list(got) == ["arxiv:1"]
    assert got["arxiv:1"].dtype == np.float32
    np.testing.assert_array_equal(got["arxiv:1"], a)
    got["arxiv:1"][0] = 42.0  # a writable copy, not a view of the row's bytes
    assert store.count_vectors("mini") == 2
    assert store.count_vectors("other-model") == 1


def test_save_vectors_replaces_on_new_hash(store: Store) -> None:
    store.save_vectors("mini", [("arxiv:1", "h1", np.ones(4, dtype=np.float32))], NOW)
    store.save_vectors("mini", [("arxiv:1", "h2", np.full(3, 2.0))], LATER)  # float64 in
    assert store.get_vectors("mini", [("arxiv:1", "h1")]) == {}
    got = store.get_vectors("mini", [("arxiv:1", "h2")])
    np.testing.assert_array_equal(got["arxiv:1"], np.full(3, 2.0, dtype=np.float32))
    assert store.count_vectors("mini") == 1


def test_save_vectors_rejects_matrices(store: Store) -> None:
    with pytest.raises(ValueError, match="1-D"):
        store.save_vectors("mini", [("arxiv:1", "h", np.zeros((2, 2)))], NOW)


def test_get_vectors_handles_10k_items(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((10_000, 16)).astype(np.float32)
    rows = [(f"arxiv:{i}", f"h{i}", vectors[i]) for i in range(10_000)]
    with Store.open(tmp_path / "db.sqlite3") as store:
        store.save_vectors("mini", rows, NOW)
        wanted = [(f"arxiv:{i}", f"h{i}" if i % 10 else "stale") for i in range(10_000)]
        got = store.get_vectors("mini", wanted)
    assert len(got) == 9_000
    assert "arxiv:0" not in got
    for i in (1, 4_321, 9_999):
        np.testing.assert_array_equal(got[f"arxiv:{i}"], vectors[i])


# -- runs, source health, HTTP cache, meta -----------------------------------------------------


def test_runs_are_recorded_and_listed_newest_first(store: Store) -> None:
    first = store.start_run("ingest", NOW)
    second = store.start_run("run", LATER)
    store.finish_run(first, NOW + timedelta(minutes=2), "ok", {"n_new": 3, "started": NOW})
    runs = store.list_runs()
    assert [r.run_id for r in runs] == [second, first]
    assert (runs[0].status, runs[0].finished, runs[0].report) == ("running", None, {})
    assert runs[1].command == "ingest" and runs[1].started == NOW
    assert runs[1].finished == NOW + timedelta(minutes=2)
    assert runs[1].report == {"n_new": 3, "started": NOW.isoformat()}
    assert [r.run_id for r in store.list_runs(limit=1)] == [second]


def test_finish_run_unknown_id_raises(store: Store) -> None:
    with pytest.raises(ValueError, match="no run"):
        store.finish_run(99, NOW, "ok", {})


def test_source_status_counts_failures_and_resets_on_success(store: Store) -> None:
    store.record_source_result("arxiv", NOW, ok=True, n_entries=10, error=None)
    store.record_source_result("arxiv", LATER, ok=False, n_entries=0, error="HTTP 503")
    store.record_source_result("hf", NOW, ok=False, n_entries=0, error="timeout")
    store.record_source_result("arxiv", LATER, ok=False, n_entries=0, error="HTTP 500")
    arxiv, hf = store.list_source_status()
    assert (arxiv.source, arxiv.consecutive_failures, arxiv.ok) == ("arxiv", 2, False)
    assert (arxiv.last_error, arxiv.last_error_at, arxiv.last_success) == ("HTTP 500", LATER, NOW)
    assert (hf.consecutive_failures, hf.last_success) == (1, None)
    done = LATER + timedelta(days=1)
    store.record_source_result("arxiv", done, ok=True, n_entries=7, error=None)
    arxiv = store.list_source_status()[0]
    assert (arxiv.consecutive_failures, arxiv.ok, arxiv.last_success) == (0, True, done)
    assert arxiv.last_n_entries == 7
    assert arxiv.last_error == "HTTP 500"  # kept as history; compare last_error_at


def test_http_cache_round_trips(store: Store) -> None:
    url = "https://rss.arxiv.org/rss/cs.LG"
    assert store.get_http_cache(url, "f1") == (None, None)
    store.save_http_cache(url, '"abc"', "Mon, 20 Apr 2026 00:00:00 GMT", NOW, filters="f1")
    assert store.get_http_cache(url, "f1") == ('"abc"', "Mon, 20 Apr 2026 00:00:00 GMT")
    store.save_http_cache(url, None, "Tue, 21 Apr 2026 00:00:00 GMT", LATER, filters="f1")
    assert store.get_http_cache(url, "f1") == (None, "Tue, 21 Apr 2026 00:00:00 GMT")
    # Saved with other filters: none (round 28), until saved with these.
    assert store.get_http_cache(url, "f2") == (None, None)


def test_http_cache_saved_before_filters_were_has_no_validators(tmp_path: Path) -> None:
    # A store of schema 10 holds validators saved without the filters they were read with:
    # after the migration each feed is asked unconditionally once.
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    for number, migration in enumerate(MIGRATIONS[:10], start=1):
        migration(conn)
        conn.execute(f"PRAGMA user_version = {number}")
    conn.execute(
        "INSERT INTO http_cache (url, etag, last_modified, updated) VALUES (?, ?, NULL, ?)",
        ("https://example.org/feed", '"v1"', NOW.isoformat()),
    )
    conn.close()
    with Store.open(path) as store:
        assert store.get_http_cache("https://example.org/feed", "f1") == (None, None)


def test_meta_round_trips(store: Store) -> None:
    assert store.get_meta("last_digest") is None
    store.set_meta("last_digest", "2026-W16")
    store.set_meta("last_digest", "2026-W17")
    assert store.get_meta("last_digest") == "2026-W17"


# -- opening, migrations, errors ---------------------------------------------------------------


def test_open_creates_parent_dir_and_data_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "db.sqlite3"
    with Store.open(path) as store:
        store.upsert_papers([FULL_PAPER], "arxiv", NOW, merge=update_paper)
        store.save_vectors("mini", [("arxiv:1", "h", np.arange(3, dtype=np.float32))], NOW)
        store.set_meta("k", "v")
    with Store.open(str(path)) as store:
        assert store.get_paper(FULL_PAPER.paper_id) == FULL_PAPER
        assert store.count_vectors("mini") == 1
        assert store.get_meta("k") == "v"


def test_open_sets_wal_foreign_keys_and_latest_user_version(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 1
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    with Store.open(path) as store:
        assert store._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_reopen_is_a_migration_no_op(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    schema_before = conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    conn.close()
    Store.open(path).close()  # would fail with "table papers already exists" if re-applied
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == schema_before
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_open_newer_schema_raises_store_error(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        Store.open(path)


def test_open_corrupt_file_raises_store_error(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    path.write_bytes(b"this is not a database, just garbage bytes " * 100)
    with pytest.raises(StoreError, match=r"db\.sqlite3.*not a database") as info:
        Store.open(path)
    assert isinstance(info.value.__cause__, sqlite3.DatabaseError)


def test_read_only_store_raises_store_error_on_write(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with Store.open(path) as store:
        store.set_meta("k", "v")
    with Store.open(path, read_only=True) as store:
        assert store.get_meta("k") == "v"
        with pytest.raises(StoreError, match=r"db\.sqlite3.*readonly"):
            store.set_meta("k", "w")


def test_read_only_file_raises_store_error(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    path = folder / "db.sqlite3"
    Store.open(path).close()
    path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(path, os.W_OK):  # root ignores file modes: the test could not fail
            pytest.skip("running as a user that can write read-only files (root)")
        with pytest.raises(StoreError, match=r"db\.sqlite3"), Store.open(path) as store:
            store.set_meta("k", "v")
    finally:
        folder.chmod(stat.S_IRWXU)
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_open_missing_read_only_file_raises_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="missing"):
        Store.open(tmp_path / "missing.sqlite3", read_only=True)


def test_locked_database_raises_store_error(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with Store.open(path, busy_timeout_s=0.1) as store:
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # holds the write lock
            with pytest.raises(StoreError, match=r"db\.sqlite3.*locked"):
                store.set_meta("k", "v")
            with pytest.raises(StoreError, match="locked"):
                store.upsert_papers([make_paper()], "arxiv", NOW, merge=update_paper)
            assert store.get_meta("k") is None  # WAL: readers are not blocked
        finally:
            other.execute("ROLLBACK")
            other.close()
        store.set_meta("k", "v")  # usable again once the lock is released
        assert store.get_meta("k") == "v"


def test_closed_store_raises_programming_error(store: Store) -> None:
    store.close()
    with pytest.raises(sqlite3.ProgrammingError):
        store.get_meta("k")


def test_source_days_are_recorded_replaced_and_listed(tmp_path: Path) -> None:
    from datetime import date

    now = datetime(2025, 6, 12, 6, tzinfo=UTC)
    with Store.open(":memory:") as store:
        assert store.get_first_source_day("a") is None
        store.save_source_day("a", date(2025, 6, 12), "feed", now, n_entries=3)
        store.save_source_day("a", date(2025, 6, 12), "feed", now, n_entries=5, n_filtered=1)
        store.save_source_day("a", date(2025, 6, 11), "api", now, n_entries=8)
        store.save_source_day("b", date(2025, 6, 10), "feed", now, n_entries=1)
        rows = store.list_source_days(date(2025, 6, 11), date(2025, 6, 12), source="a")
        assert [(r.day.day, r.origin, r.n_entries, r.n_filtered) for r in rows] == [
            (11, "api", 8, 0),
            (12, "feed", 5, 1),
        ]
        assert store.get_first_source_day("a") == date(2025, 6, 12)  # backfills do not count
        assert len(store.list_source_days(date(2025, 6, 1), date(2025, 6, 30))) == 3


def test_open_migrates_a_version_1_database(tmp_path: Path) -> None:
    import sqlite3

    from pipeline.store import MIGRATIONS

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    MIGRATIONS[0](conn)
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        assert (
            store.list_source_days(datetime(2025, 1, 1).date(), datetime(2026, 1, 1).date()) == []
        )
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == len(MIGRATIONS)
    conn.close()


def test_deliveries_remember_the_last_send_of_each_week(store: Store) -> None:
    assert store.get_delivery("2025-W24") is None
    store.save_delivery("2025-W24", NOW, ["a@example.org"])
    assert store.get_delivery("2025-W24") == NOW
    assert store.get_delivery("2025-W25") is None
    later = NOW + timedelta(days=1)
    store.save_delivery("2025-W24", later, ["a@example.org", "b@example.org"])  # --force resend
    assert store.get_delivery("2025-W24") == later


def test_week_sections_round_trip_and_rebuild_replaces(store: Store) -> None:
    from pipeline.store import WeekSection

    centroid = np.array([0.6, 0.8], dtype=np.float32)
    first = [
        WeekSection("2025-W24", "nas", "topic", "nas", (), 3),
        WeekSection("2025-W24", "theme-1", "theme", "graphs", ("graph",), 5, "arxiv:1", centroid),
    ]
    store.save_week_sections("2025-W24", first, NOW)
    got = store.list_week_sections(["2025-W24", "2025-W23"])
    assert [(s.key, s.n_papers, s.terms) for s in got] == [
        ("nas", 3, ()),
        ("theme-1", 5, ("graph",)),
    ]
    assert got[0].centroid is None and np.allclose(got[1].centroid, centroid)
    store.save_week_sections("2025-W24", first[:1], LATER)
    assert [s.key for s in store.list_week_sections(["2025-W24"])] == ["nas"]
    assert store.list_week_sections([]) == []


def test_list_sections_before_gives_the_latest_built_weeks_before_one(store: Store) -> None:
    from pipeline.store import WeekSection

    for week, n in (("2025-W20", 1), ("2025-W22", 2), ("2025-W23", 3), ("2025-W25", 5)):
        store.save_week_sections(week, [WeekSection(week, "nas", "topic", "nas", (), n)], NOW)
    got = store.list_sections_before("2025-W24", 2)
    assert [(s.week, s.n_papers) for s in got] == [("2025-W22", 2), ("2025-W23", 3)]
    assert store.list_sections_before("2025-W20", 4) == []
    assert store.list_sections_before("2025-W24", 0) == []


def test_rekey_paper_moves_sources_vectors_week_sections_and_listing(store: Store) -> None:
    from pipeline.store import WeekSection

    old, new = "url:https://tldr.takara.ai/p/2604.26919", "arxiv:2604.26919"
    store.upsert_papers([make_paper(old)], "takara", NOW, merge=update_paper)
    store.save_vectors("mini", [(old, "h1", np.ones(4, dtype=np.float32))], NOW)
    section = WeekSection("2026-W18", "theme-1", "theme", "causal", ("causal",), 1, old)
    store.save_week_sections("2026-W18", [section], NOW)
    store.save_listed("2026-W18", [old])

    store.rekey_paper(old, new)

    assert store.get_paper(old) is None
    moved = store.get_paper(new)
    assert moved is not None and moved.sources == ("takara",) and moved.title == "Sparse attention"
    assert set(store.get_vectors("mini", [(new, "h1")])) == {new}
    assert store.get_vectors("mini", [(old, "h1")]) == {}
    assert store.list_week_sections(["2026-W18"])[0].representative == new
    # The digest that listed it still holds it: arXiv's later announcement lists it in no other.
    assert store.list_listed_weeks([old, new]) == {new: "2026-W18"}
    with pytest.raises(ValueError, match="is stored"):
        store.rekey_paper(new, new)


def test_a_paper_dated_far_after_it_was_stored_is_in_the_week_it_was_stored(store: Store) -> None:
    """A date more than two days ahead of first_seen (a feed's clock, a mistyped year) put the
    paper in a week no digest had been built for: out of sight. Two days ahead still counts
    (an arXiv announcement is dated the day after the evening it appears)."""
    seen = datetime(2026, 4, 15, 9, tzinfo=UTC)
    store.upsert_papers(
        [
            make_paper("far", published=datetime(2031, 4, 15, tzinfo=UTC)),
            make_paper("announced", announced=date(2026, 5, 1)),
            make_paper("near", announced=date(2026, 4, 17)),
        ],
        "feed",
        seen,
        merge=update_paper,
    )
    week = store.list_papers_between(date(2026, 4, 13), date(2026, 4, 19))
    assert [p.paper_id for p in week] == ["announced", "far", "near"]
    tokyo = store.list_papers_between(date(2026, 4, 13), date(2026, 4, 19), timezone="Asia/Tokyo")
    assert [p.paper_id for p in tokyo] == ["announced", "far", "near"]
    assert store.get_date_range() == (date(2026, 4, 15), date(2026, 4, 17))


def test_open_moves_papers_an_earlier_version_dated_far_ahead(tmp_path: Path) -> None:
    """A store written before the rule above kept such a paper's far week in effective_date:
    migrating it puts the paper in the week it was first stored."""
    from pipeline.store import MIGRATIONS

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    for migration in MIGRATIONS[:7]:
        migration(conn)
    for paper_id, effective in (("far", "2031-04-15"), ("near", "2026-04-17")):
        conn.execute(
            "INSERT INTO papers (paper_id, title, abstract, authors, categories, first_seen,"
            " signals, effective_date, published) VALUES (?, 't', 'a', '[]', '[]',"
            " '2026-04-15T09:00:00+00:00', '{}', ?, ?)",
            (paper_id, effective, f"{effective}T00:00:00+00:00"),
        )
    conn.execute("PRAGMA user_version = 7")
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        week = store.list_papers_between(date(2026, 4, 13), date(2026, 4, 19))
    assert [p.paper_id for p in week] == ["far", "near"]
