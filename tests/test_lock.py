"""lock.py with real processes: refusal naming the holder, waiting, and a crash that frees it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.errors import LockError
from pipeline.service.lock import RunLock, read_holder

ROOT = Path(__file__).resolve().parent.parent
HOLD = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from pipeline.service.lock import RunLock\n"
    "lock = RunLock(Path(sys.argv[1]))\n"
    "lock.acquire('ingest')\n"
    "print('locked', flush=True)\n"
    "time.sleep(float(sys.argv[2]))\n"
    "lock.release()\n"
)


def _holder_process(path: Path, hold_s: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(hold_s)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "locked"
    return process


def test_acquire_refuses_and_names_the_holder_in_another_process(tmp_path: Path) -> None:
    path = tmp_path / "data" / "pipeline.lock"
    holder = _holder_process(path, 30)
    try:
        with pytest.raises(LockError) as caught:
            RunLock(path).acquire("run")
        message = str(caught.value)
        assert f"`digest ingest` (pid {holder.pid} on " in message
        assert str(path) in message
        seen = read_holder(path)
        assert seen is not None and seen.pid == holder.pid and seen.command == "ingest"
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_holder_cannot_leave_the_lock_stuck(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.lock"
    holder = _holder_process(path, 30)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert path.read_text()  # the dead holder's name is still in the file…
    assert read_holder(path) is None  # …but nobody holds the lock
    with RunLock(path).hold("build"):
        seen = read_holder(path)
        assert seen is not None and seen.pid == os.getpid() and seen.command == "build"
    assert read_holder(path) is None


def test_acquire_waits_for_the_holder_to_finish(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.lock"
    holder = _holder_process(path, 1.0)
    started = time.monotonic()
    try:
        with RunLock(path).hold("run", wait_s=20):
            waited = time.monotonic() - started
    finally:
        holder.wait()
    assert 0.3 < waited < 20


def test_acquire_gives_up_after_waiting(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.lock"
    with RunLock(path).hold("serve"), pytest.raises(LockError, match=r"after waiting 0\.5 s"):
        RunLock(path).acquire("run", wait_s=0.5)


def test_release_is_idempotent_and_the_lock_is_reusable(tmp_path: Path) -> None:
    lock = RunLock(tmp_path / "pipeline.lock")
    lock.acquire("ingest")
    lock.release()
    lock.release()
    with lock.hold("build"):
        assert read_holder(lock.path) is not None
