"""The schema as numbered migrations: append new ones, never edit one that has shipped."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from datetime import date, timedelta

_SCHEMA_V1 = (
    # Datetimes are ISO 8601 UTC text, dates ISO dates, tuples JSON arrays, Signals a JSON object.
    # title_key is the caller's normalised title (for dedup); effective_date is announced, else
    # date(published), else date(first_seen), computed at write time (migration 8: first_seen
    # also when the others lie days after it).
    """CREATE TABLE papers (
        paper_id TEXT PRIMARY KEY, title TEXT NOT NULL, abstract TEXT NOT NULL,
        authors TEXT NOT NULL, categories TEXT NOT NULL, url TEXT, pdf_url TEXT,
        version INTEGER, doi TEXT, published TEXT, announced TEXT, announce_type TEXT,
        first_seen TEXT NOT NULL, signals TEXT NOT NULL,
        title_key TEXT, effective_date TEXT NOT NULL
    )""",
    "CREATE INDEX papers_doi ON papers (doi)",
    "CREATE INDEX papers_title_key ON papers (title_key)",
    "CREATE INDEX papers_effective_date ON papers (effective_date)",
    """CREATE TABLE paper_sources (
        paper_id TEXT NOT NULL REFERENCES papers (paper_id) ON DELETE CASCADE,
        source TEXT NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
        PRIMARY KEY (paper_id, source)
    )""",
    # item_id is a paper_id or a caller key such as 'topic:nas'; vector is float32 bytes.
    """CREATE TABLE embeddings (
        item_id TEXT NOT NULL, model TEXT NOT NULL, content_hash TEXT NOT NULL,
        dim INTEGER NOT NULL, vector BLOB NOT NULL, created TEXT NOT NULL,
        PRIMARY KEY (item_id, model)
    )""",
    """CREATE TABLE runs (
        run_id INTEGER PRIMARY KEY AUTOINCREMENT, command TEXT NOT NULL, started TEXT NOT NULL,
        finished TEXT, status TEXT NOT NULL, report TEXT
    )""",
    """CREATE TABLE source_status (
        source TEXT PRIMARY KEY, last_success TEXT, last_error TEXT, last_error_at TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0, last_n_entries INTEGER
    )""",
    """CREATE TABLE http_cache (
        url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, updated TEXT NOT NULL
    )""",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


def _migration_1(conn: sqlite3.Connection) -> None:
    """Create the initial schema."""
    for statement in _SCHEMA_V1:
        conn.execute(statement)


def _migration_2(conn: sqlite3.Connection) -> None:
    """Record what each source delivered per day, for gap detection and the Coverage section.

    day is an arXiv announcement date for arXiv sources (origin 'feed', or 'api'/'oai' when it
    was backfilled) and the fetch date for other sources; n_filtered counts entries that keyword
    filters removed.
    """
    conn.execute(
        """CREATE TABLE source_days (
            source TEXT NOT NULL, day TEXT NOT NULL, origin TEXT NOT NULL,
            n_entries INTEGER NOT NULL, n_filtered INTEGER NOT NULL DEFAULT 0,
            fetched TEXT NOT NULL, PRIMARY KEY (source, day, origin)
        )"""
    )


def _migration_3(conn: sqlite3.Connection) -> None:
    """Weekly sections (topics and discovered themes) with counts and centroids (issue 3).

    One row per (week, key): key is a topic slug or a theme id; kind 'topic' or 'theme'; terms a
    JSON array; centroid float32 bytes (themes only), so next week's clusters can be matched to it.
    """
    conn.execute(
        """CREATE TABLE week_sections (
            week TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL, label TEXT NOT NULL,
            terms TEXT NOT NULL, n_papers INTEGER NOT NULL, representative TEXT,
            centroid BLOB, created TEXT NOT NULL,
            PRIMARY KEY (week, key)
        )"""
    )
    conn.execute("CREATE INDEX week_sections_key ON week_sections (key)")


def _migration_4(conn: sqlite3.Connection) -> None:
    """Digests e-mailed, one row per week, so a week is mailed once however often `run` runs
    (issue 13); recipients a JSON array."""
    conn.execute(
        """CREATE TABLE deliveries (
            week TEXT PRIMARY KEY, sent_at TEXT NOT NULL, recipients TEXT NOT NULL
        )"""
    )


def _migration_5(conn: sqlite3.Connection) -> None:
    """The time zone each week boundary (the Monday 00:00 that starts `week`) was drawn in, fixed
    by the first digest that used it, so a later [digest] timezone moves no paper across a
    boundary a digest already drew: it would be mailed twice, or never.

    Weeks built before this (their sections saved, their digest mailed, or a run that wrote
    one) were built with UTC weeks: both boundaries of each are recorded as UTC.
    """
    conn.execute("CREATE TABLE week_boundaries (week TEXT PRIMARY KEY, timezone TEXT NOT NULL)")
    built = conn.execute(
        "SELECT week FROM week_sections UNION SELECT week FROM deliveries"
        " UNION SELECT json_extract(report, '$.week') FROM runs"
        " WHERE command IN ('build', 'run') AND json_valid(report)"
        " AND json_extract(report, '$.digest_path') IS NOT NULL"
    ).fetchall()
    weeks = {w for (week,) in built if week for w in (week, _next_week(week))}
    conn.executemany(
        "INSERT INTO week_boundaries (week, timezone) VALUES (?, 'UTC')",
        [(w,) for w in sorted(weeks)],
    )


def _migration_6(conn: sqlite3.Connection) -> None:
    """An index on lower(doi): an ingest looks up every new paper that has a DOI by it, case
    aside (`find_paper_id_by_doi`), and without this index each lookup read the whole papers
    table (about 0.3 s a paper in a store of 1.5 million, three years of a busy field)."""
    conn.execute("CREATE INDEX papers_doi_lower ON papers (lower(doi))")


def _migration_7(conn: sqlite3.Connection) -> None:
    """papers.sample_key (`sample_key` of the id), indexed: the background topic boundaries are
    fitted on is the MAX_BACKGROUND papers whose key is lowest (`run.boundaries`), and without
    the column the first build after each ingest read every stored id and hashed it in Python
    (about 3 s at 1.5 million papers) where the index gives the same sample in one short read."""
    conn.execute("ALTER TABLE papers ADD COLUMN sample_key TEXT")
    conn.create_function("pipeline_sample_key", 1, sample_key, deterministic=True)
    conn.execute("UPDATE papers SET sample_key = pipeline_sample_key(paper_id)")
    conn.execute("CREATE INDEX papers_sample_key ON papers (sample_key)")


def _migration_8(conn: sqlite3.Connection) -> None:
    """A paper dated more than two days after it was first stored (a feed's clock, a mistyped
    year) is placed by the day it was first stored (`papers.effective_day`): before, it sat in
    the week of that date, which no digest had been built for, out of sight. The SQL is that
    rule on UTC days (effective_date is the source's day unless it was moved)."""
    conn.execute(
        "UPDATE papers SET effective_date = date(first_seen)"
        " WHERE effective_date > date(first_seen, '+2 days')"
    )


def _migration_9(conn: sqlite3.Connection) -> None:
    """The week whose digest first listed each paper, so a paper a later source dates in
    another week (arXiv's RSS announcing, days later, a paper an `arxiv-api` source listed on
    the day it was submitted) is not listed again by that week's digest. Weeks built before
    this recorded none: their papers are placed by their day, as they were."""
    conn.execute("CREATE TABLE listed_papers (paper_id TEXT PRIMARY KEY, week TEXT NOT NULL)")
    conn.execute("CREATE INDEX listed_papers_week ON listed_papers (week)")


def _migration_10(conn: sqlite3.Connection) -> None:
    """Papers' readings for naming themes (run/readings.py: a paper's phrases, specially
    written tokens and words, compressed), one row a paper, under a stamp of its text and the
    reading rules, so a build does not read every paper's text again. A cache: deleting its
    rows loses nothing. (IF NOT EXISTS: a file whose version was set back, as the tests of
    older schemas do, may hold it already.)"""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS paper_readings"
        " (paper_id TEXT PRIMARY KEY, stamp BLOB NOT NULL, reading BLOB NOT NULL)"
    )


def _migration_11(conn: sqlite3.Connection) -> None:
    """http_cache.filters: a stamp of the filters a feed's response was read with, saved beside
    its ETag and Last-Modified. A feed whose filters were edited since is asked unconditionally
    once (round 28: unchanged, it answered 304 Not Modified and the edit did nothing until the
    feed changed). Validators saved before this have none: each such feed is read whole once.
    (The column is looked for first: a file whose version was set back, as the tests of older
    schemas do, may hold it already.)"""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(http_cache)")}
    if "filters" not in columns:
        conn.execute("ALTER TABLE http_cache ADD COLUMN filters TEXT")


def _migration_12(conn: sqlite3.Connection) -> None:
    """An index on papers.url (the link a digest shows): `digest explain` and `mark` find a
    paper stored under its DOI by the publisher's link the digest gives it
    (`list_paper_ids_by_url`), which without it read the whole table. (IF NOT EXISTS: a file
    whose version was set back, as the tests of older schemas do, may hold it already.)"""
    conn.execute("CREATE INDEX IF NOT EXISTS papers_url ON papers (url)")


def sample_key(paper_id: str) -> str:
    """The sha256 of a paper id, in hex: an order of the papers that does not depend on the
    order they were stored in (a fixed sample is a prefix of it)."""
    return hashlib.sha256(paper_id.encode()).hexdigest()


def _next_week(week: str) -> str:
    """'2025-W52' → '2026-W01' (the store's own arithmetic: it imports no stage)."""
    year, number = week.split("-W")
    following = date.fromisocalendar(int(year), int(number), 1) + timedelta(weeks=1)
    iso_year, iso_number, _ = following.isocalendar()
    return f"{iso_year}-W{iso_number:02d}"


# Append new migrations; never edit one that has shipped. user_version = len(applied).
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
    _migration_5,
    _migration_6,
    _migration_7,
    _migration_8,
    _migration_9,
    _migration_10,
    _migration_11,
    _migration_12,
)
SCHEMA_VERSION = len(MIGRATIONS)
