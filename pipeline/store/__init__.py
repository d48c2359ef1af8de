"""SQLite storage: schema, migrations, and every SQL statement in the package.

Modules: `schema` (numbered migrations), `db` (connection plumbing), `papers`, `vectors`,
`runs` (runs, source health, HTTP cache, week sections, meta); `Store` combines them.

The only module that talks to the database. It stores papers (combining a stored paper with a
new sighting by the merge rule the caller passes: the rules live in `ingest.normalize`),
embeddings keyed by (item, model, content hash), runs, source health, HTTP validators and small
key/value state. Imports only `models` and `errors`. Non-goals: deciding what a paper *is* or
how two records of it combine (normalize), when to re-embed (the caller compares hashes), or
holding a lock between runs. sqlite3 errors the user can act on (locked, read-only, corrupt,
disk full) become `StoreError`; `ProgrammingError` / `IntegrityError` are our bugs and propagate.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pipeline.errors import StoreError
from pipeline.models import WeekSection
from pipeline.store.db import _BUG_ERRORS
from pipeline.store.papers import Papers, UpsertResult, effective_day
from pipeline.store.runs import RunRow, Runs, SourceDay, SourceStatus
from pipeline.store.schema import MIGRATIONS, SCHEMA_VERSION
from pipeline.store.vectors import Vectors

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "RunRow",
    "SourceDay",
    "SourceStatus",
    "Store",
    "UpsertResult",
    "WeekSection",
    "effective_day",
]


class Store(Papers, Vectors, Runs):
    """A connection to the pipeline database; open with `Store.open(path)`."""

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
