"""The connection every part of the store shares: transactions, error wrapping, time encoding.

sqlite3 errors the user can act on (locked, read-only, corrupt, disk full) become `StoreError`;
`ProgrammingError` / `IntegrityError` are our bugs and propagate.
"""

from __future__ import annotations

import contextlib
import os
import resource
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pipeline.errors import StoreError

# SQLite's default limit on host parameters is 999 on old builds; stay under it.
_CHUNK = 900
# Errors that mean our SQL is wrong, not that the database is unusable: let them propagate.
_BUG_ERRORS = (sqlite3.ProgrammingError, sqlite3.IntegrityError, sqlite3.InterfaceError)
# SQLite's primary result codes for a damaged file, and for faults after which we vouch for
# nothing (the store's stamp is removed, so the next writer reads the file whole: issue 7).
_DAMAGE_CODES = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}
_SUSPECT_CODES = {*_DAMAGE_CODES, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL}
# What SQLite reports when a write does not fit: "database or disk is full" (ENOSPC, or a
# short write), or "disk I/O error" (EFBIG: the file size limit, `ulimit -f`).
_ROOM_CODES = {sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR}
# Free space under this, on the store's disk, after a failed write: it was the disk being full.
_LOW_SPACE = 1 << 20
RESTORE_ADVICE = "restore it from a backup, or move it aside"
DAMAGE_ADVICE = f"nothing was written to it: {RESTORE_ADVICE}"


class Database:
    """A connection to the pipeline database with the plumbing each table module uses."""

    def __init__(self, connection: sqlite3.Connection, label: str) -> None:
        self._conn = connection
        self._label = label
        self._wrote = False  # a transaction committed through this connection

    @contextmanager
    def _wrap(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.DatabaseError as e:
            if isinstance(e, _BUG_ERRORS):
                raise
            if _error_code(e) in _SUSPECT_CODES:
                self._suspect_damage()
            if _error_code(e) in _DAMAGE_CODES:
                # Its transaction rolled back; earlier ones of this Store may be in the file.
                advice = self._damage_advice()
                raise StoreError(f"database {self._label} is damaged ({e}); {advice}") from e
            no_room = out_of_room(self._label, f"cannot {action}", e)
            if no_room is not None:
                raise StoreError(no_room) from e
            raise StoreError(f"database {self._label}: cannot {action}: {e}") from e

    def _damage_advice(self) -> str:
        """What to do about damage found: restore the file, or move it aside."""
        return RESTORE_ADVICE if self._wrote else DAMAGE_ADVICE

    def _suspect_damage(self) -> None:
        """Called when SQLite reports damage or an I/O fault; the store forgets its stamp."""

    @contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction, rolled back on any error, with sqlite errors wrapped."""
        with self._wrap(action):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
                self._wrote = True
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.rollback()
                raise

    def _select(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._wrap("read"):
            return self._conn.execute(sql, params).fetchall()

    def _select_in(
        self, sql: str, values: Sequence[Any], params: Sequence[Any] = ()
    ) -> Iterator[sqlite3.Row]:
        """The rows of `sql` for `values`, _CHUNK at a time (SQLite caps a statement's
        parameters): its "{marks}" becomes one "?" a value, after the `params`."""
        for start in range(0, len(values), _CHUNK):
            chunk = list(values[start : start + _CHUNK])
            yield from self._select(sql.format(marks=",".join("?" * len(chunk))), [*params, *chunk])


def out_of_room(label: str, failed: str, error: sqlite3.DatabaseError) -> str | None:
    """The message for `error` when it was the store `label` finding no room for a write
    (`_out_of_room`): its path, what `failed`, why, that nothing was lost and what to do; None
    for any other error."""
    code = _error_code(error)
    if code not in _ROOM_CODES:
        return None
    room = _out_of_room(label, full=code == sqlite3.SQLITE_FULL)
    if room is None:
        return None
    what, todo = room
    return (
        f"database {label}: {failed}: {what}; nothing was lost (what was stored before is"
        f" kept, and this run's unfinished change was rolled back): {todo}, then run it again"
        f" (SQLite: {error})"
    )


def _out_of_room(label: str, *, full: bool) -> tuple[str, str] | None:
    """Why a write to the store `label` (its path) found no room, and what to do, in words a
    user acts on: the file size limit (`ulimit -f`) its file or log reached, or the disk that
    holds it full (SQLite said so, `full`, or an I/O error left under 1 MiB free); None when
    neither is so (another I/O fault: SQLite's own words then)."""
    if label == ":memory:":
        return None
    path = Path(label)
    limit, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    if limit != resource.RLIM_INFINITY:
        sizes = []
        for name in (path.name, f"{path.name}-wal", f"{path.name}-journal"):
            with contextlib.suppress(OSError):
                sizes.append(path.with_name(name).stat().st_size)
        # A write past the limit is cut at it; SQLite writes pages, so say so a page short.
        if sizes and max(sizes) + 65536 >= limit:
            return (
                f"the file size limit (ulimit -f) of {limit:,} bytes was reached",
                "raise it (`ulimit -f unlimited`, or LimitFSIZE= in the service's unit)",
            )
    try:
        found = os.statvfs(path.parent)
    except OSError:
        return None
    free = found.f_bavail * found.f_frsize
    if full or free < _LOW_SPACE:
        return (
            f"no space left on the disk that holds it ({free:,} bytes free in {path.parent})",
            "free some space",
        )
    return None


def _error_code(error: sqlite3.DatabaseError) -> int | None:
    """SQLite's primary result code of `error` (its extended code's low byte), if it has one."""
    code = getattr(error, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


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
