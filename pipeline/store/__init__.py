"""SQLite storage: schema, migrations, and every SQL statement in the package.

Modules: `schema` (numbered migrations), `db` (connection plumbing), `papers`, `vectors`,
`runs` (runs, source health, HTTP cache, week sections, meta), `readings` (papers' readings for
naming themes, a cache), `intact` (when a writer must read the file whole first: issue 7);
`Store` combines them.

The only module that talks to the database. It stores papers (combining a stored paper with a
new sighting by the merge rule the caller passes: the rules live in `ingest.normalize`),
embeddings keyed by (item, model, content hash), runs, source health, HTTP validators and small
key/value state. Imports only `models` and `errors`. Non-goals: deciding what a paper *is* or
how two records of it combine (normalize), when to re-embed (the caller compares hashes), or
holding a lock between runs. sqlite3 errors the user can act on (locked, read-only, corrupt,
disk full) become `StoreError`; `ProgrammingError` / `IntegrityError` are our bugs and propagate.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from pipeline.errors import NewerStoreError, StoreError
from pipeline.models import WeekSection
from pipeline.store import intact
from pipeline.store.db import out_of_room
from pipeline.store.intact import wal_path
from pipeline.store.papers import MAX_DAYS_AHEAD, Papers, UpsertResult, day_ahead, effective_day
from pipeline.store.readings import Readings
from pipeline.store.runs import RunRow, Runs, SourceDay, SourceStatus
from pipeline.store.schema import MIGRATIONS, SCHEMA_VERSION
from pipeline.store.vectors import AREA_ITEM, TOPIC_ITEM, Vectors

__all__ = [
    "AREA_ITEM",
    "MAX_DAYS_AHEAD",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "TOPIC_ITEM",
    "RunRow",
    "SourceDay",
    "SourceStatus",
    "Store",
    "UpsertResult",
    "WeekSection",
    "day_ahead",
    "effective_day",
    "wal_path",
]

logger = logging.getLogger(__name__)


class Store(Papers, Vectors, Runs, Readings):
    """A connection to the pipeline database: `Store.open(path)` to write (the file is checked
    first: issue 7), `Store.open_to_read(path)` for commands that only read."""

    def __init__(self, connection: sqlite3.Connection, label: str) -> None:
        super().__init__(connection, label)
        self._path: Path | None = None  # the database file (None: ':memory:')
        self._opened: intact.FileState | None = None  # the file as it was before opening
        self._stamp: intact.Stamp | None = None  # the stamp found beside it then
        self._checked: datetime | None = None  # a writing Store's last full check: stamped
        self._closed = False

    @classmethod
    def open(
        cls,
        path: Path | str,
        *,
        busy_timeout_s: float = 5.0,
        read_only: bool = False,
        as_found: bool = False,
    ) -> Store:
        """Open (creating if needed) and migrate the database at `path`, or ':memory:'.

        For writing, the file is first read whole (`PRAGMA quick_check`) unless the stamp of
        the last clean close matches it and the last full check is under a week old
        (`intact.needs_check`); a damaged file is a StoreError and nothing is written to it.
        `read_only`: no check, every write a StoreError (an older schema too: it is not
        migrated, unless `as_found`: then it is opened as it is, for a reader that knows
        `schema_version` may be older); see `open_to_read`.
        """
        label = str(path)
        file = None if label == ":memory:" else Path(path)
        opened, stamp = None, None
        if file is not None and not read_only:
            opened, stamp = intact.observe(file), intact.load_stamp(file)
        conn = _connect(label, file, busy_timeout_s=busy_timeout_s, read_only=read_only)
        store = cls(conn, label)
        store._path = file
        try:
            with store._wrap("open"):
                if not read_only:
                    now = datetime.now(UTC)
                    full = intact.needs_check(stamp, opened, now=now)
                    store._prepare_to_write(check=full)
                    store._opened, store._stamp = opened, stamp
                    store._checked = stamp.checked if stamp and not full else now
                conn.execute("PRAGMA foreign_keys = ON")
                store._migrate(read_only=read_only, as_found=as_found)
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def open_to_read(
        cls,
        path: Path | str,
        *,
        busy_timeout_s: float = 5.0,
        verify: bool = False,
        as_found: bool = False,
    ) -> Store:
        """Open the database at `path` for a command that only reads: no integrity check (a
        reader cannot spread damage) and no write (`read_only`). A file it cannot read as it
        is (missing or empty, an older schema to migrate, a damaged first page, no -wal file
        in a folder it cannot write) is opened by `open` instead, which creates, migrates or
        refuses it in the words a writer gets.

        `verify` (`digest status`, whose exit status reports the store's health): read the
        file whole when the next writer would (`intact.needs_check`), so a store a writer
        would refuse is reported damaged; a file as our last clean close left it is not read.

        `as_found` (`digest status`): an older schema (or none, an empty file) is read as it is,
        never migrated: the caller reads `schema_version` and only the tables that schema has.
        """
        try:
            store = cls.open(path, busy_timeout_s=busy_timeout_s, read_only=True, as_found=as_found)
        except StoreError:
            return cls.open(path, busy_timeout_s=busy_timeout_s)
        try:
            if verify:
                store._verify()
        except BaseException:
            store.close()
            raise
        return store

    def _verify(self) -> None:
        """A reader's check: `PRAGMA quick_check` when a writer opening now would run it."""
        if self._path is None:
            return
        now = datetime.now(UTC)
        if not intact.needs_check(
            intact.load_stamp(self._path), intact.observe(self._path), now=now
        ):
            return
        with self._wrap("check"):
            self._quick_check()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection; a writing Store then stamps the file. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._conn.close()
        if self._path is not None and self._checked is not None:
            intact.save_stamp(
                self._path,
                opened=self._opened,
                known=self._stamp,
                checked=self._checked,
                wrote=self._wrote,
            )

    def schema_version(self) -> int:
        """The file's schema version (`PRAGMA user_version`)."""
        with self._wrap("read"):
            version: int = self._conn.execute("PRAGMA user_version").fetchone()[0]
        return version

    def _suspect_damage(self) -> None:
        """Damage or an I/O fault was seen: no stamp now or at close, so the next writer (this
        Store's included) reads the file whole."""
        self._checked = None
        if self._path is not None:
            intact.forget_stamp(self._path)

    def _quick_check(self) -> None:
        """Read the file whole (`PRAGMA quick_check`); StoreError, and no stamp, if damaged."""
        problems = [row[0] for row in self._conn.execute("PRAGMA quick_check(3)")]
        if problems != ["ok"]:
            self._suspect_damage()
            raise StoreError(
                f"database {self._label} is damaged ({'; '.join(problems)});"
                f" {self._damage_advice()}"
            )

    def _damage_advice(self) -> str:
        """Restore or move aside; and, with a -wal file beside the database, that a file put in
        its place is read through it (round 27: a backup restored beside the log a power cut
        left was read as damaged, and so was every backup restored after it)."""
        advice = super()._damage_advice()
        if self._path is None:
            return advice
        wal = intact.wal_path(self._path)
        try:
            if wal.stat().st_size == 0:
                return advice
        except OSError:
            return advice
        shm = self._path.with_name(self._path.name + "-shm")
        return (
            f"{advice}; {wal} lies beside it, the log of a run that did not finish, which"
            " SQLite reads into the file as its own: if the file was put in place of the one"
            " the log was written with (a backup restored, a copy),"
            f" move {wal.name} and {shm.name} aside too"
        )

    def _prepare_to_write(self, *, check: bool) -> None:
        """Refuse to write into a damaged file: our writes could spread the damage (issue 7).
        With `check` read it whole first; then switch to WAL."""
        try:
            if check:
                self._quick_check()
            self._conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as e:  # cannot open or lock it: not damage
            no_room = out_of_room(self._label, "cannot be opened for writing", e)
            if no_room is not None:  # round 28: a full disk said "disk I/O error"
                raise StoreError(no_room) from e
            raise StoreError(
                f"database {self._label} cannot be opened for writing ({e}): "
                "is the file or its folder read-only, or the disk full?"
            ) from e

    def _migrate(self, *, read_only: bool = False, as_found: bool = False) -> None:
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise NewerStoreError(
                f"database {self._label} has schema version {version}, newer than this "
                f"program's {SCHEMA_VERSION}; upgrade the program"
            )
        if version == SCHEMA_VERSION or (read_only and as_found):
            return
        if read_only:
            raise StoreError(
                f"database {self._label} has schema version {version}, older than this "
                f"program's {SCHEMA_VERSION}: open it for writing to migrate it"
            )
        with self._write("migrate") as conn:
            # Re-read inside the write lock: another process may have migrated meanwhile.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
                migration(conn)
                conn.execute(f"PRAGMA user_version = {number}")
        # Round 29: said nowhere, so the first anyone heard of it was the version they went
        # back to refusing the store. A new store (version 0) has nothing to say.
        if 0 < version < SCHEMA_VERSION:
            logger.warning(
                "database %s: migrated from schema version %d to %d, this program's; a version"
                " of the program whose schema is older refuses it from now on (to go back,"
                " restore a copy of the store made before the upgrade)",
                self._label,
                version,
                SCHEMA_VERSION,
            )


def _connect(
    label: str, file: Path | None, *, busy_timeout_s: float, read_only: bool
) -> sqlite3.Connection:
    """A connection to ':memory:' or `file`: created if missing, unless `read_only`."""
    try:
        if file is None:
            conn = sqlite3.connect(":memory:", timeout=busy_timeout_s, isolation_level=None)
        else:
            if not read_only:
                file.parent.mkdir(parents=True, exist_ok=True)
            target = f"{file.resolve().as_uri()}?mode={'ro' if read_only else 'rwc'}"
            if read_only and _is_frozen(file):
                target += "&immutable=1"
            conn = sqlite3.connect(target, timeout=busy_timeout_s, isolation_level=None, uri=True)
    except (OSError, sqlite3.OperationalError) as e:
        raise StoreError(f"cannot open database {label}: {e}") from e
    conn.row_factory = sqlite3.Row
    return conn


def _is_frozen(file: Path) -> bool:
    """Whether nobody can change `file` while we read it: on a filesystem mounted read-only,
    with no -wal file. SQLite cannot create the -wal and -shm files a reader of a WAL database
    needs there, and reads it as `immutable` (no locks) instead."""
    try:
        read_only_mount = bool(os.statvfs(file.parent).f_flag & os.ST_RDONLY)
    except OSError:
        return False
    return read_only_mount and not wal_path(file).exists()
