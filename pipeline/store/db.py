"""The connection every part of the store shares: transactions, error wrapping, time encoding.

sqlite3 errors the user can act on (locked, read-only, corrupt, disk full) become `StoreError`;
`ProgrammingError` / `IntegrityError` are our bugs and propagate.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
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
