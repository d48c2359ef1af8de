"""One run at a time: an exclusive `flock` on a file under data_dir that names its holder.

The kernel releases a flock when the process holding it exits, however it exits (crash, SIGKILL,
power loss), so a dead run can never leave the lock stuck; the file's text (pid, host, command,
start) is only there to name the holder in the refusal and in `digest status`. Imports only
`errors`. Non-goals: locking across machines (flock on NFS is unreliable), queueing.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from pipeline.errors import LockError

# A contender retries this long before giving up, so that `digest status` probing the lock
# (a shared lock held for microseconds) never makes a real run fail.
_GRACE_S = 0.3

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: read from the lock file."""

    pid: int
    host: str
    command: str
    started: datetime
    #: `digest serve`'s [schedule] crontab lines and zone, as it started with them (it applies
    #: an edit only when restarted); None for a run, or a serve of an earlier version.
    schedule: tuple[str, str, str] | None = None

    def describe(self) -> str:
        """'`digest ingest` (pid 123 on host, since 2025-06-10 02:00:01 UTC)'."""
        since = self.started.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"`digest {self.command}` (pid {self.pid} on {self.host}, since {since})"


class RunLock:
    """An exclusive lock on `path`; use `with RunLock(path).hold(command):`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(
        self,
        command: str,
        *,
        wait_s: float = 0.0,
        poll_s: float = 0.2,
        schedule: tuple[str, str, str] | None = None,
    ) -> None:
        """Take the lock, waiting up to `wait_s`; LockError naming the holder if it stays taken.
        `schedule`: the crontab lines and zone `digest serve` runs, written beside its name."""
        fd = self._open()
        try:
            self._wait_for(fd, wait_s, poll_s)
        except BaseException:  # LockError, or a signal while waiting
            os.close(fd)
            raise
        self._fd = fd
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": command,
            "started": datetime.now(UTC).isoformat(),
            **({"schedule": list(schedule)} if schedule is not None else {}),
        }
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(holder).encode(), 0)
        except OSError as e:  # disk full, read-only: the flock itself is what excludes others
            logger.warning("cannot record the lock holder in %s: %s", self.path, e.strerror or e)

    def _open(self) -> int:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            if e.errno in (errno.EROFS, errno.EACCES) and self.path.exists():
                # flock needs no write access: lock, and let the store report why it can't write.
                return os.open(self.path, os.O_RDONLY)
            raise LockError(f"cannot open lock file {self.path}: {e.strerror or e}") from e

    def _wait_for(self, fd: int, wait_s: float, poll_s: float) -> None:
        deadline = time.monotonic() + max(wait_s, _GRACE_S)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockError(self._refusal(wait_s)) from None
                time.sleep(poll_s if wait_s > _GRACE_S else _GRACE_S / 6)

    def release(self) -> None:
        """Give the lock back (safe to call twice); the file stays, emptied."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        except OSError:  # opened read-only, or the disk went away: nothing to clear
            pass
        finally:
            os.close(fd)  # closing drops the flock

    def hold(self, command: str, *, wait_s: float = 0.0) -> RunLock:
        """Acquire now; release when the `with` block ends."""
        self.acquire(command, wait_s=wait_s)
        return self

    def __enter__(self) -> RunLock:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def _refusal(self, wait_s: float) -> str:
        holder = read_holder(self.path, probe=False)
        who = holder.describe() if holder else "another process (it has not written its name yet)"
        waited = f" after waiting {wait_s:g} s" if wait_s > 0 else ""
        return (
            f"another run holds the lock{waited}: {who}; lock file {self.path}. "
            "Wait for it to finish, or stop it; a crashed run releases the lock by itself."
        )


def read_holder(path: Path, *, probe: bool = True) -> Holder | None:
    """Who holds the lock at `path` now, or None if nobody does.

    With `probe`, a momentary shared lock tells whether anyone holds it at all (the text of a
    lock file left by a crashed run is ignored).
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        if probe:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                pass  # held: read who holds it
            else:
                fcntl.flock(fd, fcntl.LOCK_UN)
                return None
        text = os.pread(fd, 4096, 0).decode("utf-8", errors="replace")
    finally:
        os.close(fd)
    return _parse_holder(text)


def _parse_holder(text: str) -> Holder | None:
    try:
        data = json.loads(text)
        found = data.get("schedule")
        schedule = None
        if isinstance(found, list) and len(found) == 3:
            schedule = (str(found[0]), str(found[1]), str(found[2]))
        return Holder(
            pid=int(data["pid"]),
            host=str(data["host"]),
            command=str(data["command"]),
            started=datetime.fromisoformat(data["started"]),
            schedule=schedule,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
