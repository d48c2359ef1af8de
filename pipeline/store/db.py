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


class Database:
    """A connection to the pipeline database with the plumbing each table module uses."""

    def __init__(self, connection: sqlite3.Connection, label: str) -> None:
        self._conn = connection
        self._label = label

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

    def _select(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._wrap("read"):
            return self._conn.execute(sql, params).fetchall()


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
