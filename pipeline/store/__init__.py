"""SQLite storage: schema, migrations, and every SQL statement in the package.

The only module that talks to the database. It stores papers (combining a stored paper with a
new sighting by the merge rule the caller passes: the rules live in `ingest.normalize`),
embeddings keyed by (item, model, content hash), runs, source health, HTTP validators and small
key/value state. Imports only `models` and `errors`. Non-goals: deciding what a paper *is* or
how two records of it combine (normalize), when to re-embed (the caller compares hashes), or
holding a lock between runs. sqlite3 errors the user can act on (locked, read-only, corrupt,
disk full) become `StoreError`; `ProgrammingError` / `IntegrityError` are our bugs and propagate.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import StoreError
from pipeline.models import Paper, Signals

# SQLite's default limit on host parameters is 999 on old builds; stay under it.
_CHUNK = 900
# Errors that mean our SQL is wrong, not that the database is unusable: let them propagate.
_BUG_ERRORS = (sqlite3.ProgrammingError, sqlite3.IntegrityError, sqlite3.InterfaceError)

_SCHEMA_V1 = (
    # Datetimes are ISO 8601 UTC text, dates ISO dates, tuples JSON arrays, Signals a JSON object.
    # title_key is the caller's normalised title (for dedup); effective_date is announced, else
    # date(published), else date(first_seen), computed at write time.
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


# Append new migrations; never edit one that has shipped. user_version = len(applied).
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _migration_1,
    _migration_2,
    _migration_3,
)
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True)
class UpsertResult:
    """How many papers of a batch were new, changed, or already stored as-is."""

    n_new: int = 0
    n_updated: int = 0
    n_unchanged: int = 0


@dataclass(frozen=True)
class RunRow:
    """One recorded run of a command."""

    run_id: int
    command: str
    started: datetime
    finished: datetime | None
    status: str
    report: dict[str, Any]


@dataclass(frozen=True)
class WeekSection:
    """One digest section of one week, as remembered for continuity and trends."""

    week: str
    key: str
    kind: str  # "topic" | "theme"
    label: str
    terms: tuple[str, ...]
    n_papers: int
    representative: str | None = None
    centroid: np.ndarray | None = None


@dataclass(frozen=True)
class SourceStatus:
    """The health of one source across runs."""

    source: str
    last_success: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    last_n_entries: int | None

    @property
    def ok(self) -> bool:
        return self.consecutive_failures == 0


@dataclass(frozen=True)
class SourceDay:
    """What one source delivered for one day (see migration 2)."""

    source: str
    day: date
    origin: str
    n_entries: int
    n_filtered: int
    fetched: datetime


class Store:
    """A connection to the pipeline database; open with `Store.open(path)`."""

    def __init__(self, connection: sqlite3.Connection, label: str) -> None:
        self._conn = connection
        self._label = label

    @classmethod
    def open(
        cls, path: Path | str, *, busy_timeout_s: float = 5.0, read_only: bool = False
    ) -> Store:
        """Open (creating if needed) and migrate the database at `path`, or ':memory:'."""
        label = str(path)
        try:
            if label == ":memory:":
                conn = sqlite3.connect(":memory:", timeout=busy_timeout_s, isolation_level=None)
            else:
                file = Path(path)
                if not read_only:
                    file.parent.mkdir(parents=True, exist_ok=True)
                target = f"{file.resolve().as_uri()}?mode={'ro' if read_only else 'rwc'}"
                conn = sqlite3.connect(
                    target, timeout=busy_timeout_s, isolation_level=None, uri=True
                )
        except (OSError, sqlite3.OperationalError) as e:
            raise StoreError(f"cannot open database {label}: {e}") from e
        conn.row_factory = sqlite3.Row
        store = cls(conn, label)
        try:
            with store._wrap("open"):
                if not read_only:
                    store._check_intact()
                    conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA foreign_keys = ON")
                store._migrate()
        except BaseException:
            conn.close()
            raise
        return store

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection; safe to call twice."""
        self._conn.close()

    # -- plumbing -----------------------------------------------------------------------------

    @contextmanager
    def _wrap(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.DatabaseError as e:
            if isinstance(e, _BUG_ERRORS):
                raise
            raise StoreError(f"database {self._label}: cannot {action}: {e}") from e

    @contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction, rolled back on any error, with sqlite errors wrapped."""
        with self._wrap(action):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.rollback()
                raise

    def _check_intact(self) -> None:
        """Refuse to write into a damaged file: our writes could spread the damage (issue 7)."""
        advice = "nothing was written to it: restore it from a backup, or move it aside"
        try:
            problems = [row[0] for row in self._conn.execute("PRAGMA quick_check(3)")]
        except sqlite3.OperationalError as e:  # cannot open or lock it: not damage
            raise StoreError(
                f"database {self._label} cannot be opened for writing ({e}): "
                "is the file or its folder read-only, or the disk full?"
            ) from e
        except sqlite3.DatabaseError as e:
            if isinstance(e, _BUG_ERRORS):
                raise
            raise StoreError(f"database {self._label} is damaged ({e}); {advice}") from e
        if problems != ["ok"]:
            raise StoreError(f"database {self._label} is damaged ({'; '.join(problems)}); {advice}")

    def _migrate(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"database {self._label} has schema version {version}, newer than this "
                f"program's {SCHEMA_VERSION}; upgrade the program"
            )
        if version == SCHEMA_VERSION:
            return
        with self._write("migrate") as conn:
            # Re-read inside the write lock: another process may have migrated meanwhile.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
                migration(conn)
                conn.execute(f"PRAGMA user_version = {number}")

    def _select(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._wrap("read"):
            return self._conn.execute(sql, params).fetchall()

    # -- papers -------------------------------------------------------------------------------

    def upsert_papers(
        self,
        papers: Sequence[Paper],
        source: str,
        now: datetime,
        *,
        merge: Callable[[Paper, Paper], Paper],
        title_keys: Mapping[str, str] | None = None,
    ) -> UpsertResult:
        """Insert a batch of papers listed by `source`, or combine each with the stored one.

        `merge(stored, incoming)` is the caller's rule (`normalize.update_paper`), called inside
        this one transaction; the store holds no merge policy. A stored paper counts as updated
        when the merge changed it, its title key changed, or `source` lists it for the first
        time; otherwise as unchanged.
        """
        keys = title_keys or {}
        outcomes = {"new": 0, "updated": 0, "unchanged": 0}
        with self._write("save papers") as conn:
            for paper in papers:
                outcome = _upsert_paper(conn, paper, source, now, keys.get(paper.paper_id), merge)
                outcomes[outcome] += 1
        return UpsertResult(
            n_new=outcomes["new"],
            n_updated=outcomes["updated"],
            n_unchanged=outcomes["unchanged"],
        )

    def get_paper(self, paper_id: str) -> Paper | None:
        """The stored paper with its sources, or None."""
        rows = self._select(f"{_SELECT_PAPERS} WHERE p.paper_id = ?", (paper_id,))
        return _row_to_paper(rows[0]) if rows else None

    def list_papers(self, paper_ids: Sequence[str]) -> list[Paper]:
        """Stored papers in the order of `paper_ids`; unknown ids are skipped."""
        found: dict[str, Paper] = {}
        unique = list(dict.fromkeys(paper_ids))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for row in self._select(f"{_SELECT_PAPERS} WHERE p.paper_id IN ({marks})", chunk):
                found[row["paper_id"]] = _row_to_paper(row)
        return [found[i] for i in paper_ids if i in found]

    def find_paper_id_by_doi(self, doi: str) -> str | None:
        """The id of a stored paper with this DOI (case-insensitive), or None."""
        rows = self._select(
            "SELECT paper_id FROM papers WHERE lower(doi) = lower(?) ORDER BY paper_id LIMIT 1",
            (doi,),
        )
        return rows[0]["paper_id"] if rows else None

    def find_paper_id_by_title_key(self, title_key: str) -> str | None:
        """The id of a stored paper whose normalised title is `title_key`, or None."""
        rows = self._select(
            "SELECT paper_id FROM papers WHERE title_key = ? ORDER BY paper_id LIMIT 1",
            (title_key,),
        )
        return rows[0]["paper_id"] if rows else None

    def list_papers_between(self, start: date, end: date) -> list[Paper]:
        """Papers whose effective date lies in [start, end], ordered by paper_id."""
        rows = self._select(
            f"{_SELECT_PAPERS} WHERE p.effective_date BETWEEN ? AND ? ORDER BY p.paper_id",
            (start.isoformat(), end.isoformat()),
        )
        return [_row_to_paper(row) for row in rows]

    def get_date_range(self) -> tuple[date, date] | None:
        """The earliest and latest effective dates stored, or None when there are no papers."""
        row = self._select("SELECT min(effective_date), max(effective_date) FROM papers")[0]
        if row[0] is None:
            return None
        return date.fromisoformat(row[0]), date.fromisoformat(row[1])

    # -- embeddings ---------------------------------------------------------------------------

    def get_vectors(self, model: str, items: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:
        """Stored float32 vectors for (item_id, content_hash) pairs whose hash still matches."""
        wanted = dict(items)
        ids = list(wanted)
        vectors: dict[str, np.ndarray] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._select(
                "SELECT item_id, content_hash, vector FROM embeddings"
                f" WHERE model = ? AND item_id IN ({marks})",
                [model, *chunk],
            )
            for row in rows:
                if row["content_hash"] == wanted[row["item_id"]]:
                    vectors[row["item_id"]] = np.frombuffer(row["vector"], dtype=np.float32).copy()
        return vectors

    def save_vectors(
        self, model: str, rows: Sequence[tuple[str, str, np.ndarray]], now: datetime
    ) -> None:
        """Upsert (item_id, content_hash, vector) rows for `model`, in one transaction."""
        params = []
        for item_id, content_hash, vector in rows:
            array = np.ascontiguousarray(vector, dtype=np.float32)
            if array.ndim != 1:
                raise ValueError(f"vector for {item_id} has shape {array.shape}, expected 1-D")
            params.append((item_id, model, content_hash, len(array), array.tobytes(), _iso(now)))
        with self._write("save embeddings") as conn:
            conn.executemany(
                "INSERT INTO embeddings (item_id, model, content_hash, dim, vector, created)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (item_id, model) DO UPDATE SET"
                " content_hash = excluded.content_hash, dim = excluded.dim,"
                " vector = excluded.vector, created = excluded.created",
                params,
            )

    def count_vectors(self, model: str) -> int:
        """How many vectors are stored for `model`, whatever their hash."""
        return int(self._select("SELECT count(*) FROM embeddings WHERE model = ?", (model,))[0][0])

    # -- runs, source health, HTTP cache, meta ------------------------------------------------

    def start_run(self, command: str, now: datetime) -> int:
        """Record the start of a run and return its id."""
        with self._write("record run") as conn:
            cursor = conn.execute(
                "INSERT INTO runs (command, started, status) VALUES (?, ?, 'running')",
                (command, _iso(now)),
            )
        assert cursor.lastrowid is not None  # an INSERT into a rowid table always sets it
        return cursor.lastrowid

    def finish_run(
        self, run_id: int, now: datetime, status: str, report: Mapping[str, Any]
    ) -> None:
        """Record how a run ended, with its report as JSON."""
        text = json.dumps(report, sort_keys=True, default=_json_default)
        with self._write("record run") as conn:
            cursor = conn.execute(
                "UPDATE runs SET finished = ?, status = ?, report = ? WHERE run_id = ?",
                (_iso(now), status, text, run_id),
            )
            if cursor.rowcount == 0:
                raise ValueError(f"no run with id {run_id}")

    def list_runs(self, limit: int = 20) -> list[RunRow]:
        """The most recent runs, newest first."""
        rows = self._select("SELECT * FROM runs ORDER BY run_id DESC LIMIT ?", (limit,))
        return [_row_to_run(row) for row in rows]

    def get_last_run(self, commands: Sequence[str], *, status: str | None = None) -> RunRow | None:
        """The newest run of any of `commands` (with `status`, if given), or None."""
        marks = ",".join("?" * len(commands))
        where = f"command IN ({marks})" + (" AND status = ?" if status is not None else "")
        params = [*commands, *([status] if status is not None else [])]
        rows = self._select(
            f"SELECT * FROM runs WHERE {where} ORDER BY run_id DESC LIMIT 1", params
        )
        return _row_to_run(rows[0]) if rows else None

    def record_source_result(
        self, source: str, now: datetime, *, ok: bool, n_entries: int, error: str | None
    ) -> None:
        """Record one attempt to read `source`: success resets the failure count."""
        with self._write("record source status") as conn:
            conn.execute("INSERT OR IGNORE INTO source_status (source) VALUES (?)", (source,))
            if ok:
                conn.execute(
                    "UPDATE source_status SET last_success = ?, consecutive_failures = 0,"
                    " last_n_entries = ? WHERE source = ?",
                    (_iso(now), n_entries, source),
                )
            else:
                conn.execute(
                    "UPDATE source_status SET last_error = ?, last_error_at = ?,"
                    " consecutive_failures = consecutive_failures + 1, last_n_entries = ?"
                    " WHERE source = ?",
                    (error, _iso(now), n_entries, source),
                )

    def list_source_status(self) -> list[SourceStatus]:
        """The health of every source ever recorded, by name."""
        rows = self._select("SELECT * FROM source_status ORDER BY source")
        return [
            SourceStatus(
                source=row["source"],
                last_success=_opt_datetime(row["last_success"]),
                last_error=row["last_error"],
                last_error_at=_opt_datetime(row["last_error_at"]),
                consecutive_failures=row["consecutive_failures"],
                last_n_entries=row["last_n_entries"],
            )
            for row in rows
        ]

    def save_source_day(
        self,
        source: str,
        day: date,
        origin: str,
        now: datetime,
        *,
        n_entries: int,
        n_filtered: int = 0,
    ) -> None:
        """Record (replacing) what `source` delivered for `day` through `origin`."""
        with self._write("record source day") as conn:
            conn.execute(
                "INSERT OR REPLACE INTO source_days"
                " (source, day, origin, n_entries, n_filtered, fetched) VALUES (?, ?, ?, ?, ?, ?)",
                (source, day.isoformat(), origin, n_entries, n_filtered, _iso(now)),
            )

    def list_source_days(
        self, start: date, end: date, *, source: str | None = None
    ) -> list[SourceDay]:
        """Recorded source days in [start, end], by source, day and origin."""
        sql = "SELECT * FROM source_days WHERE day BETWEEN ? AND ?"
        params: list[Any] = [start.isoformat(), end.isoformat()]
        if source is not None:
            sql += " AND source = ?"
            params.append(source)
        rows = self._select(sql + " ORDER BY source, day, origin", params)
        return [
            SourceDay(
                source=row["source"],
                day=date.fromisoformat(row["day"]),
                origin=row["origin"],
                n_entries=row["n_entries"],
                n_filtered=row["n_filtered"],
                fetched=_parse_datetime(row["fetched"]),
            )
            for row in rows
        ]

    def get_first_source_day(self, source: str, origin: str = "feed") -> date | None:
        """The earliest day `source` delivered through `origin`, or None."""
        row = self._select(
            "SELECT min(day) FROM source_days WHERE source = ? AND origin = ?", (source, origin)
        )[0]
        return date.fromisoformat(row[0]) if row[0] else None

    def get_http_cache(self, url: str) -> tuple[str | None, str | None]:
        """The (ETag, Last-Modified) last seen for `url`, or (None, None)."""
        rows = self._select("SELECT etag, last_modified FROM http_cache WHERE url = ?", (url,))
        return (rows[0]["etag"], rows[0]["last_modified"]) if rows else (None, None)

    def save_http_cache(
        self, url: str, etag: str | None, last_modified: str | None, now: datetime
    ) -> None:
        """Remember the validators of the latest response from `url`."""
        with self._write("save HTTP cache") as conn:
            conn.execute(
                "INSERT OR REPLACE INTO http_cache (url, etag, last_modified, updated)"
                " VALUES (?, ?, ?, ?)",
                (url, etag, last_modified, _iso(now)),
            )

    def save_week_sections(self, week: str, sections: Sequence[WeekSection], now: datetime) -> None:
        """Replace everything stored for `week` by `sections` (a rebuild overwrites), atomically."""
        params = [
            (
                s.week,
                s.key,
                s.kind,
                s.label,
                json.dumps(list(s.terms)),
                s.n_papers,
                s.representative,
                None if s.centroid is None else np.asarray(s.centroid, np.float32).tobytes(),
                _iso(now),
            )
            for s in sections
        ]
        with self._write("save week sections") as conn:
            conn.execute("DELETE FROM week_sections WHERE week = ?", (week,))
            conn.executemany(
                "INSERT INTO week_sections (week, key, kind, label, terms, n_papers,"
                " representative, centroid, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params,
            )

    def list_week_sections(self, weeks: Sequence[str]) -> list[WeekSection]:
        """The stored sections of `weeks`, ordered by week then key."""
        if not weeks:
            return []
        marks = ",".join("?" * len(weeks))
        rows = self._select(
            f"SELECT * FROM week_sections WHERE week IN ({marks}) ORDER BY week, key", list(weeks)
        )
        return [
            WeekSection(
                week=row["week"],
                key=row["key"],
                kind=row["kind"],
                label=row["label"],
                terms=tuple(json.loads(row["terms"])),
                n_papers=row["n_papers"],
                representative=row["representative"],
                centroid=(
                    None
                    if row["centroid"] is None
                    else np.frombuffer(row["centroid"], dtype=np.float32).copy()
                ),
            )
            for row in rows
        ]

    def get_meta(self, key: str) -> str | None:
        """The value stored under `key`, or None."""
        rows = self._select("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0]["value"] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        """Store `value` under `key`, replacing any previous value."""
        with self._write("save meta") as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


_SELECT_PAPERS = (
    "SELECT p.*, (SELECT json_group_array(s.source) FROM paper_sources s"
    " WHERE s.paper_id = p.paper_id) AS sources FROM papers p"
)
_PAPER_COLUMNS = (
    "paper_id, title, abstract, authors, categories, url, pdf_url, version, doi, published,"
    " announced, announce_type, first_seen, signals, title_key, effective_date"
)
# ON CONFLICT DO UPDATE, not INSERT OR REPLACE: REPLACE deletes the row, which would cascade
# to paper_sources.
_UPSERT_PAPER = (
    f"INSERT INTO papers ({_PAPER_COLUMNS}) VALUES ({','.join('?' * 16)})"
    " ON CONFLICT (paper_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _PAPER_COLUMNS.split(", ")[1:])
)
_UPSERT_SOURCE = (
    "INSERT INTO paper_sources (paper_id, source, first_seen, last_seen) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (paper_id, source) DO UPDATE SET last_seen = excluded.last_seen"
)


def _upsert_paper(
    conn: sqlite3.Connection,
    paper: Paper,
    source: str,
    now: datetime,
    title_key: str | None,
    merge: Callable[[Paper, Paper], Paper],
) -> str:
    """Save one paper inside the caller's transaction; return 'new', 'updated' or 'unchanged'."""
    row = conn.execute(f"{_SELECT_PAPERS} WHERE p.paper_id = ?", (paper.paper_id,)).fetchone()
    source_params = (paper.paper_id, source, _iso(now), _iso(now))
    if row is None:
        merged = dataclasses.replace(paper, first_seen=paper.first_seen or now, sources=())
        outcome = "new"
    else:
        stored = _row_to_paper(row)
        # paper_sources, not the merge, owns the list of sources.
        merged = dataclasses.replace(merge(stored, paper), sources=stored.sources)
        if merged.paper_id != stored.paper_id:
            raise ValueError(f"merge rule changed the id of {stored.paper_id!r}")
        title_key = title_key if title_key is not None else row["title_key"]
        changed = merged != stored or title_key != row["title_key"]
        if not changed:
            conn.execute(_UPSERT_SOURCE, source_params)
            return "unchanged" if source in stored.sources else "updated"
        outcome = "updated"
    conn.execute(_UPSERT_PAPER, _paper_to_params(merged, title_key))
    conn.execute(_UPSERT_SOURCE, source_params)
    return outcome


def _paper_to_params(paper: Paper, title_key: str | None) -> tuple[Any, ...]:
    assert paper.first_seen is not None  # set by upsert_papers before saving
    if paper.announced is not None:
        effective = paper.announced
    elif paper.published is not None:
        effective = paper.published.astimezone(UTC).date()
    else:
        effective = paper.first_seen.astimezone(UTC).date()
    return (
        paper.paper_id,
        paper.title,
        paper.abstract,
        json.dumps(list(paper.authors)),
        json.dumps(list(paper.categories)),
        paper.url,
        paper.pdf_url,
        paper.version,
        paper.doi,
        _iso(paper.published) if paper.published else None,
        paper.announced.isoformat() if paper.announced else None,
        paper.announce_type,
        _iso(paper.first_seen),
        json.dumps(dataclasses.asdict(paper.signals), sort_keys=True),
        title_key,
        effective.isoformat(),
    )


def _row_to_run(row: sqlite3.Row) -> RunRow:
    return RunRow(
        run_id=row["run_id"],
        command=row["command"],
        started=_parse_datetime(row["started"]),
        finished=_opt_datetime(row["finished"]),
        status=row["status"],
        report=json.loads(row["report"]) if row["report"] else {},
    )


def _row_to_paper(row: sqlite3.Row) -> Paper:
    signals = json.loads(row["signals"])
    signals["ai_keywords"] = tuple(signals.get("ai_keywords") or ())
    return Paper(
        paper_id=row["paper_id"],
        title=row["title"],
        abstract=row["abstract"],
        authors=tuple(json.loads(row["authors"])),
        categories=tuple(json.loads(row["categories"])),
        url=row["url"],
        pdf_url=row["pdf_url"],
        version=row["version"],
        doi=row["doi"],
        published=_opt_datetime(row["published"]),
        announced=date.fromisoformat(row["announced"]) if row["announced"] else None,
        announce_type=row["announce_type"],
        first_seen=_parse_datetime(row["first_seen"]),
        sources=tuple(sorted(json.loads(row["sources"]))),
        signals=Signals(**signals),
    )


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: the store keeps UTC-aware datetimes only")
    return moment.astimezone(UTC).isoformat()


def _parse_datetime(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _opt_datetime(text: str | None) -> datetime | None:
    return _parse_datetime(text) if text else None


def _json_default(value: object) -> object:
    """Let run reports carry datetimes and dates; anything else unknown is a bug."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in a run report")
