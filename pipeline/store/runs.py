"""Runs, source health and days, HTTP validators, week sections and boundaries, e-mails sent,
key/value state."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from pipeline.models import WeekSection
from pipeline.store.db import Database, _iso, _json_default, _opt_datetime, _parse_datetime
from pipeline.store.vectors import read_vector


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


#: How long a run is remembered (`prune_runs`), and how many of the newest are kept however old.
#: Round 29: `runs` was never pruned; hourly ingests added about 5 MB a year.
RUN_KEEP_DAYS = 90
RUN_KEEP_NEWEST = 20


class Runs(Database):
    """What each run did and what it remembers for the next one."""

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

    def prune_runs(
        self, now: datetime, *, keep_days: int = RUN_KEEP_DAYS, keep_newest: int = RUN_KEEP_NEWEST
    ) -> int:
        """Forget the runs that started over `keep_days` before `now`, but for the newest
        `keep_newest`, each week's latest build or run (`list_week_builds`: catch-up reads it)
        and the latest successful ingest or run (`get_last_run`); return how many it forgot."""
        with self._write("prune runs") as conn:
            cursor = conn.execute(
                "DELETE FROM runs WHERE started < ?"
                " AND run_id NOT IN (SELECT run_id FROM runs ORDER BY run_id DESC LIMIT ?)"
                " AND run_id NOT IN (SELECT max(run_id) FROM runs"
                "  WHERE command IN ('build', 'run') AND json_valid(report)"
                "  AND json_extract(report, '$.week') IS NOT NULL"
                "  GROUP BY json_extract(report, '$.week'))"
                " AND run_id NOT IN (SELECT max(run_id) FROM runs"
                "  WHERE command IN ('ingest', 'run') AND status = 'ok')",
                (_iso(now - timedelta(days=keep_days)), keep_newest),
            )
        return cursor.rowcount

    def get_delivery(self, week: str) -> datetime | None:
        """When the digest of `week` was last e-mailed, or None if it never was."""
        rows = self._select("SELECT sent_at FROM deliveries WHERE week = ?", (week,))
        return _parse_datetime(rows[0]["sent_at"]) if rows else None

    def list_delivered_to(self, week: str) -> list[str]:
        """The recipients the digest of `week` was e-mailed to (empty if it never was)."""
        rows = self._select("SELECT recipients FROM deliveries WHERE week = ?", (week,))
        return list(json.loads(rows[0]["recipients"])) if rows else []

    def list_delivered_weeks(self) -> set[str]:
        """Every week whose digest was e-mailed."""
        return {row["week"] for row in self._select("SELECT week FROM deliveries")}

    def save_delivery(self, week: str, now: datetime, recipients: Sequence[str]) -> None:
        """Record that the digest of `week` was e-mailed to `recipients` at `now`."""
        with self._write("record e-mail") as conn:
            conn.execute(
                "INSERT INTO deliveries (week, sent_at, recipients) VALUES (?, ?, ?)"
                " ON CONFLICT (week) DO UPDATE SET"
                " sent_at = excluded.sent_at, recipients = excluded.recipients",
                (week, _iso(now), json.dumps(list(recipients))),
            )

    # Round 28: a recipient the SMTP server refused for now (a 4xx reply: greylisting, a full
    # mailbox) while it took the week for the others, kept in meta until mailed (no migration).
    _DEFERRED = "deferred-recipients:"

    def get_deferred(self, week: str) -> list[str]:
        """The recipients of `week` the SMTP server refused for now (4xx), still to be mailed."""
        value = self.get_meta(self._DEFERRED + week)
        return list(json.loads(value)) if value else []

    def save_deferred(self, week: str, recipients: Sequence[str]) -> None:
        """Keep `recipients` as `week`'s deferred ones; none forgets the week."""
        with self._write("record e-mail") as conn:
            if recipients:
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    (self._DEFERRED + week, json.dumps(list(recipients))),
                )
            else:
                conn.execute("DELETE FROM meta WHERE key = ?", (self._DEFERRED + week,))

    def list_deferred_weeks(self) -> set[str]:
        """Every week with a recipient the SMTP server refused for now and not mailed since."""
        rows = self._select(
            "SELECT key FROM meta WHERE substr(key, 1, ?) = ?",
            (len(self._DEFERRED), self._DEFERRED),
        )
        return {row["key"][len(self._DEFERRED) :] for row in rows}

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

    def list_week_outcomes(self) -> dict[str, str]:
        """Each week a build or run wrote (or found empty): the status of the latest such run."""
        return {week: status for week, (status, _) in self.list_week_builds().items()}

    def list_week_builds(self) -> dict[str, tuple[str, datetime]]:
        """Each week a build or run wrote (or found empty): the status of the latest such run
        and when it started."""
        rows = self._select(
            "SELECT json_extract(report, '$.week') AS week, status, started FROM runs"
            " WHERE command IN ('build', 'run') AND json_valid(report)"
            " AND json_extract(report, '$.week') IS NOT NULL ORDER BY run_id"
        )
        return {row["week"]: (row["status"], _parse_datetime(row["started"])) for row in rows}

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

    def get_http_cache(self, url: str, filters: str) -> tuple[str | None, str | None]:
        """The (ETag, Last-Modified) last seen for `url` when they were saved with `filters`
        (the caller's stamp of what it kept of the response), else (None, None): validators of
        a response read with other filters, or saved before filters were (NULL), would have the
        server answer 304 Not Modified to a feed that is now read differently."""
        rows = self._select(
            "SELECT etag, last_modified FROM http_cache WHERE url = ? AND filters = ?",
            (url, filters),
        )
        return (rows[0]["etag"], rows[0]["last_modified"]) if rows else (None, None)

    def save_http_cache(
        self,
        url: str,
        etag: str | None,
        last_modified: str | None,
        now: datetime,
        *,
        filters: str,
    ) -> None:
        """Remember the validators of the latest response from `url`, read with `filters`."""
        with self._write("save HTTP cache") as conn:
            conn.execute(
                "INSERT OR REPLACE INTO http_cache (url, etag, last_modified, updated, filters)"
                " VALUES (?, ?, ?, ?, ?)",
                (url, etag, last_modified, _iso(now), filters),
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
                # A damaged one (cut short, overwritten) is not matched, as if absent.
                centroid=read_vector(row["centroid"], None),
            )
            for row in rows
        ]

    def list_sections_before(self, week: str, n_weeks: int) -> list[WeekSection]:
        """The stored sections of the latest `n_weeks` weeks before `week` that have any."""
        if n_weeks <= 0:
            return []
        rows = self._select(
            "SELECT DISTINCT week FROM week_sections WHERE week < ? ORDER BY week DESC LIMIT ?",
            (week, n_weeks),
        )
        return self.list_week_sections([row["week"] for row in reversed(rows)])

    def list_week_boundaries(self, weeks: Sequence[str]) -> dict[str, str]:
        """The recorded time zone of the boundary that starts each of `weeks` (where recorded)."""
        if not weeks:
            return {}
        marks = ",".join("?" * len(weeks))
        rows = self._select(
            f"SELECT week, timezone FROM week_boundaries WHERE week IN ({marks})", list(weeks)
        )
        return {row["week"]: row["timezone"] for row in rows}

    def save_week_boundaries(self, boundaries: Mapping[str, str]) -> None:
        """Record the time zone of the boundary that starts each week, where none is recorded
        yet: the first digest to draw a boundary fixes it."""
        with self._write("save week boundaries") as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO week_boundaries (week, timezone) VALUES (?, ?)",
                list(boundaries.items()),
            )

    def get_meta(self, key: str) -> str | None:
        """The value stored under `key`, or None."""
        rows = self._select("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0]["value"] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        """Store `value` under `key`, replacing any previous value."""
        with self._write("save meta") as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def save_week_record(self, week: str, record: Mapping[str, Any]) -> None:
        """Keep what index.md and feed.xml need of `week`'s digest (its sidecar's record
        without papers), so they list the week when it has no sidecar (round 25)."""
        self.set_meta(_RECORD_KEY + week, json.dumps(record, default=_json_default))

    def list_week_records(self, weeks: Sequence[str]) -> dict[str, Any]:
        """The records `save_week_record` kept of `weeks` (where kept), parsed (a value that is
        not JSON is left out: the caller checks what it reads)."""
        rows = self._select_in(
            "SELECT key, value FROM meta WHERE key IN ({marks})",
            [_RECORD_KEY + week for week in dict.fromkeys(weeks)],
        )
        records = {}
        for row in rows:
            try:
                records[row["key"].removeprefix(_RECORD_KEY)] = json.loads(row["value"])
            except ValueError:
                continue
        return records


#: The meta key prefix of `save_week_record`'s records.
_RECORD_KEY = "week-record:"


def _row_to_run(row: sqlite3.Row) -> RunRow:
    return RunRow(
        run_id=row["run_id"],
        command=row["command"],
        started=_parse_datetime(row["started"]),
        finished=_opt_datetime(row["finished"]),
        status=row["status"],
        report=json.loads(row["report"]) if row["report"] else {},
    )
