"""When a store opened for writing must be read whole first (issue 7), and the stamp that spares it.

`Store.open` refuses to write into a damaged file, but `PRAGMA quick_check` reads every page: 2.8 s
for a 2.24 GB store in the page cache, 83 s from disk. When a writing Store closes cleanly it
records the file as it left it beside it (`<db>.checked`: device, inode, size, mtime and ctime in
nanoseconds, and when the file was last checked whole). The next writer skips the check only when
`needs_check` says the file is exactly so, no -wal file holds data and the last full check is under
FULL_CHECK_EVERY old. Anything else (a restore, a copy, a truncation, a crash mid-write, another
program's write, a missing or garbled stamp) means: check. Imports nothing of the package.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

logger = logging.getLogger(__name__)

#: A full check at least this often: damage that leaves size and times alone (a bad sector, a
#: bit flipped by the disk) is found within a week.
FULL_CHECK_EVERY = timedelta(days=7)
#: A file modified this recently may be modified again within the same clock tick of the
#: filesystem (1 ns to 2 s), leaving its mtime as it was: the stamp then sets a fresh mtime.
RECENT_NS = 3_000_000_000
_FORMAT = 1


@dataclass(frozen=True)
class FileState:
    """What `os.stat` says of the database file. ctime cannot be set by a program: a file
    restored with its old mtime (`cp -p`, `touch -r`, `rsync -t`) still differs."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def from_stat(cls, st: os.stat_result) -> FileState:
        """The state of a stat result."""
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@dataclass(frozen=True)
class Stamp:
    """The file as a clean close of ours left it, and when it was last checked whole."""

    state: FileState
    checked: datetime


def stamp_path(database: Path) -> Path:
    """Where the stamp of `database` is kept: beside it, `<name>.checked`."""
    return database.with_name(database.name + ".checked")


def wal_path(database: Path) -> Path:
    """SQLite's write-ahead log of `database` in WAL mode: beside it, `<name>-wal`."""
    return database.with_name(database.name + "-wal")


def observe(database: Path) -> FileState | None:
    """The database file's state; None when it is missing or a -wal file holds data (a writer
    has it open, or one ended without closing: its transactions are not in the file yet)."""
    try:
        if wal_path(database).stat().st_size > 0:
            return None
    except FileNotFoundError:
        pass
    except OSError:
        return None
    try:
        return FileState.from_stat(database.stat())
    except OSError:
        return None


def needs_check(stamp: Stamp | None, state: FileState | None, *, now: datetime) -> bool:
    """Whether the file must be read whole before writing: anything but a stamp that matches
    it exactly and a full check under FULL_CHECK_EVERY old (one "from the future" too)."""
    if stamp is None or state is None or stamp.state != state:
        return True
    age = now - stamp.checked
    return not timedelta(0) <= age < FULL_CHECK_EVERY


def load_stamp(database: Path) -> Stamp | None:
    """The stamp beside `database`; None when it is missing, unreadable or garbled."""
    try:
        data = json.loads(stamp_path(database).read_text(encoding="utf-8"))
        if data.get("format") != _FORMAT:
            return None
        fields = {name: data["file"][name] for name in FileState.__dataclass_fields__}
        if not all(type(value) is int for value in fields.values()):
            return None
        checked = datetime.fromisoformat(data["checked"])
        if checked.tzinfo is None:
            return None
        return Stamp(FileState(**fields), checked.astimezone(UTC))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def save_stamp(
    database: Path,
    *,
    opened: FileState | None,
    known: Stamp | None,
    checked: datetime,
    wrote: bool,
) -> None:
    """After a writing Store closed cleanly: stamp the file as it is now, unless a -wal file
    holds data (another connection has it open), or this Store wrote nothing and the file still
    changed since it was `opened` (another program did that: not ours to vouch for). A recent
    mtime is replaced by a fresh one first (`RECENT_NS`); a filesystem that cannot keep it to
    the nanosecond gets no stamp. Failing to write the stamp only means a full check next time."""
    state = observe(database)
    if state is None or (not wrote and state != opened):
        return
    if known is not None and known == Stamp(state, checked):
        return  # it says so already: leave the file and its times alone
    try:
        if time.time_ns() - state.mtime_ns < RECENT_NS:
            fresh = time.time_ns()
            os.utime(database, ns=(database.stat().st_atime_ns, fresh))
            state = observe(database)
            if state is None or state.mtime_ns != fresh:
                return
        _write_atomically(stamp_path(database), _stamp_json(Stamp(state, checked)))
    except OSError as e:  # a read-only folder, a full disk: the next writer checks
        logger.debug("no stamp written for %s: %s", database, e)


def forget_stamp(database: Path) -> None:
    """Remove the stamp (damage was seen): the next writer reads the file whole."""
    try:
        stamp_path(database).unlink(missing_ok=True)
    except OSError as e:
        logger.debug("cannot remove the stamp of %s: %s", database, e)


def _stamp_json(stamp: Stamp) -> str:
    data = {"format": _FORMAT, "file": asdict(stamp.state), "checked": stamp.checked.isoformat()}
    return json.dumps(data, indent=1) + "\n"


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
