"""store.intact: a writer reads the whole file (quick_check) only when it may have changed since
our last clean close; commands that only read do not, but `status` when a writer would (round 12).

Each open's SQL is watched through `sqlite3.Connection.set_trace_callback`, so a test sees
whether `PRAGMA quick_check` ran without mocking it away.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FakeEmbedder, file_source, mount, tmpfs, write_config

from pipeline import run
from pipeline.cli import cli
from pipeline.config import load_settings
from pipeline.errors import StoreError
from pipeline.service import runner
from pipeline.store import MIGRATIONS, SCHEMA_VERSION, Store, intact

E2E = Path(__file__).parent / "data" / "e2e" / "arxiv-2025-06-10.jsonl"
NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every SQL statement run on a connection opened from now on."""
    seen: list[str] = []
    real = sqlite3.connect

    def connect(*args: object, **kwargs: object) -> sqlite3.Connection:
        conn = real(*args, **kwargs)  # type: ignore[arg-type]
        conn.set_trace_callback(seen.append)
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)
    return seen


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run, "make_embedder", lambda settings: FakeEmbedder())


def _checks(statements: list[str]) -> int:
    return sum("quick_check" in s for s in statements)


def _store_with_rows(path: Path, n: int = 300) -> None:
    with Store.open(path) as store:
        for i in range(n):
            store.set_meta(f"key{i}", "x" * 200)


def _open_and_close(path: Path) -> None:
    with Store.open(path) as store:
        store.get_meta("key0")


# --- the pure decision ----------------------------------------------------------------------


def test_needs_check_only_a_matching_stamp_under_a_week_old_spares_it() -> None:
    state = intact.FileState(device=1, inode=2, size=4096, mtime_ns=10, ctime_ns=11)
    fresh = intact.Stamp(state, NOW - timedelta(days=6, hours=23))
    assert not intact.needs_check(fresh, state, now=NOW)
    assert intact.needs_check(None, state, now=NOW)  # no stamp
    assert intact.needs_check(fresh, None, now=NOW)  # a -wal file holds data
    for changed in (
        {"size": 8192},
        {"mtime_ns": 12},
        {"ctime_ns": 12},
        {"inode": 3},
        {"device": 9},
    ):
        other = intact.FileState(**{**vars(state), **changed})
        assert intact.needs_check(fresh, other, now=NOW), changed
    assert intact.needs_check(intact.Stamp(state, NOW - timedelta(days=7)), state, now=NOW)
    assert intact.needs_check(intact.Stamp(state, NOW + timedelta(hours=1)), state, now=NOW)


# --- writers --------------------------------------------------------------------------------


def test_open_does_not_read_an_unchanged_store_whole_again(
    tmp_path: Path, statements: list[str]
) -> None:
    # Round 11 measured `PRAGMA quick_check` on every opening for writing: 2.8 s at 2.24 GB
    # with the file cached, 83 s from disk, though the file was as our last close left it.
    path = tmp_path / "db.sqlite3"
    _store_with_rows(path)
    assert _checks(statements) == 1  # a new file: checked
    statements.clear()
    for _ in range(3):
        _open_and_close(path)
    assert _checks(statements) == 0
    with Store.open(path) as store:  # and a write in between keeps it so
        store.set_meta("more", "y")
    _open_and_close(path)
    assert _checks(statements) == 0


def test_open_checks_a_store_another_program_wrote(tmp_path: Path, statements: list[str]) -> None:
    path = tmp_path / "db.sqlite3"
    _store_with_rows(path)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("UPDATE meta SET value = 'z' WHERE key = 'key1'")
    other.close()
    statements.clear()
    _open_and_close(path)
    assert _checks(statements) == 1
    _open_and_close(path)  # checked and closed cleanly: stamped again
    assert _checks(statements) == 1


@pytest.mark.parametrize("damage", ["zeros", "truncated", "header"])
def test_open_refuses_a_store_damaged_right_after_a_clean_close(
    tmp_path: Path, damage: str
) -> None:
    # Within the filesystem's clock tick of our close: the mtime alone could not tell.
    path = tmp_path / "db.sqlite3"
    _store_with_rows(path, 2000)
    content = path.read_bytes()
    if damage == "zeros":
        middle = len(content) // 2
        broken = content[:middle] + b"\0" * 8192 + content[middle + 8192 :]
    elif damage == "truncated":
        broken = content[: len(content) // 3]
    else:
        broken = os.urandom(100) + content[100:]
    path.write_bytes(broken)
    with pytest.raises(StoreError, match="is damaged"):
        Store.open(path)
    assert path.read_bytes() == broken
    assert not intact.stamp_path(path).exists()  # the next writer checks too


def test_open_checks_a_store_restored_from_a_backup_with_its_stamp(
    tmp_path: Path, statements: list[str]
) -> None:
    # `cp -p` over the file keeps its inode and puts the backup's size and mtime back: only
    # the ctime, which no program can set, tells the restored file from the one stamped.
    path = tmp_path / "db.sqlite3"
    _store_with_rows(path)
    backup = tmp_path / "backup"
    backup.mkdir()
    shutil.copy2(path, backup / path.name)
    shutil.copy2(intact.stamp_path(path), backup / intact.stamp_path(path).name)
    with Store.open(path) as store:
        store.set_meta("key1", "changed")
    inode = path.stat().st_ino
    shutil.copy2(backup / path.name, path)
    shutil.copy2(backup / intact.stamp_path(path).name, intact.stamp_path(path))
    assert path.stat().st_ino == inode
    statements.clear()
    _open_and_close(path)
    assert _checks(statements) == 1


@pytest.mark.parametrize("stamp", ["missing", "garbled", "not json", "naive time", "a week old"])
def test_open_checks_when_the_stamp_is_missing_garbled_or_old(
    tmp_path: Path, statements: list[str], stamp: str
) -> None:
    path = tmp_path / "db.sqlite3"
    _store_with_rows(path)
    file = intact.stamp_path(path)
    data = json.loads(file.read_text())
    if stamp == "missing":
        file.unlink()
    elif stamp == "garbled":
        file.write_text(json.dumps({**data, "file": {**data["file"], "size": "4096"}}))
    elif stamp == "not json":
        file.write_bytes(b"\xff\x00")
    elif stamp == "naive time":
        file.write_text(json.dumps({**data, "checked": "2026-12-03T10:00:00"}))
    else:
        old = datetime.now(UTC) - intact.FULL_CHECK_EVERY - timedelta(minutes=1)
        file.write_text(json.dumps({**data, "checked": old.isoformat()}))
    statements.clear()
    _open_and_close(path)
    assert _checks(statements) == 1
    checked = datetime.fromisoformat(json.loads(file.read_text())["checked"])
    assert datetime.now(UTC) - checked < timedelta(minutes=1)  # the full check renews it
    _open_and_close(path)
    assert _checks(statements) == 1


_CRASH = """
import os, sys
from pipeline.store import Store
store = Store.open(sys.argv[1])
store.set_meta("written", "before the crash")
os._exit(9)  # no close: the transaction is in the -wal file only
"""


def test_open_checks_a_store_whose_writer_died_without_closing(
    tmp_path: Path, statements: list[str]
) -> None:
    path = tmp_path / "db.sqlite3"
    _store_with_rows(path)
    env = {**os.environ, "PYTHONPATH": str(Path(run.__file__).parents[2])}
    done = subprocess.run([sys.executable, "-c", _CRASH, str(path)], env=env, check=False)
    assert done.returncode == 9
    statements.clear()
    with Store.open(path) as store:
        assert store.get_meta("written") == "before the crash"
    assert _checks(statements) == 1


_HOLD = """
import sys, time
from pipeline.store import Store
store = Store.open(sys.argv[1])
store.set_meta("holder", "wrote")
print("open", flush=True)
sys.stdin.readline()
store.set_meta("holder", "wrote again")
store.close()
print("closed", flush=True)
"""


def test_two_writers_at_once_stay_correct_and_the_last_close_stamps(
    tmp_path: Path, statements: list[str]
) -> None:
    # serve's child and a user's `digest explain` (which caches vectors) may write at once.
    path = tmp_path / "db.sqlite3"
    _store_with_rows(path)
    env = {**os.environ, "PYTHONPATH": str(Path(run.__file__).parents[2])}
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(path)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "open"
        statements.clear()
        with Store.open(path) as store:  # its -wal file holds data: checked, as today
            store.set_meta("mine", "wrote")
        assert _checks(statements) == 1
        with Store.open(path) as store:  # it is still open: we close first, no stamp vouches
            store.set_meta("mine", "wrote again")
        assert _checks(statements) == 2
        holder.stdin.write("go\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "closed"
    finally:
        holder.kill()
        holder.wait()
    statements.clear()
    with Store.open(path) as store:  # the holder closed last, cleanly: it stamped
        assert store.get_meta("holder") == "wrote again"
        assert store.get_meta("mine") == "wrote again"
    assert _checks(statements) == 0


def test_two_stores_in_one_process_the_first_to_close_does_not_stamp(
    tmp_path: Path, statements: list[str]
) -> None:
    path = tmp_path / "db.sqlite3"
    _store_with_rows(path)
    first, second = Store.open(path), Store.open(path)
    first.set_meta("a", "1")
    second.set_meta("b", "2")
    first.close()
    second.set_meta("c", "3")
    second.close()
    statements.clear()
    with Store.open(path) as store:
        assert [store.get_meta(k) for k in "abc"] == ["1", "2", "3"]
    assert _checks(statements) == 0


def test_a_store_that_wrote_nothing_does_not_vouch_for_a_change_made_meanwhile(
    tmp_path: Path, statements: list[str]
) -> None:
    path = tmp_path / "db.sqlite3"
    _store_with_rows(path)
    with Store.open(path) as store:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("UPDATE meta SET value = 'z' WHERE key = 'key1'")
        other.close()
        store.get_meta("key1")
    statements.clear()
    _open_and_close(path)
    assert _checks(statements) == 1


def test_an_unchanged_store_keeps_its_mtime(tmp_path: Path) -> None:
    # A backup tool that compares size and mtime must not copy 4 GB because we looked at it.
    path = tmp_path / "db.sqlite3"
    _store_with_rows(path)
    old = path.stat().st_mtime_ns - intact.RECENT_NS - 1
    os.utime(path, ns=(old, old))
    _open_and_close(path)  # changed behind our back (utime): checked, stamped as it is
    before = path.stat()
    _open_and_close(path)
    assert path.stat().st_mtime_ns == before.st_mtime_ns == old


def test_damage_a_reader_meets_makes_the_next_writer_check(tmp_path: Path) -> None:
    # Damage that leaves size and times alone (a bad sector): the stamp still matches, so the
    # writer would trust it; the reader that meets the damage removes it.
    path = tmp_path / "db.sqlite3"
    with Store.open(path) as store:
        for i in range(400):
            run_id = store.start_run("ingest", NOW)
            store.finish_run(run_id, NOW, "ok", {"note": "x" * 300, "i": i})
    content = path.read_bytes()
    middle = len(content) // 2 // 4096 * 4096
    path.write_bytes(content[:middle] + b"\0" * 4096 + content[middle + 4096 :])
    stamp = json.loads(intact.stamp_path(path).read_text())
    stamp["file"] = vars(intact.observe(path))  # as a bad sector would leave it
    intact.stamp_path(path).write_text(json.dumps(stamp))
    with Store.open_to_read(path) as store, pytest.raises(StoreError, match="is damaged"):
        store.list_runs(10_000)
    assert not intact.stamp_path(path).exists()
    with pytest.raises(StoreError, match="is damaged"):
        Store.open(path)


# --- readers --------------------------------------------------------------------------------


def _ingested(tmp_path: Path) -> Path:
    config = write_config(
        tmp_path,
        paths={"data_dir": str(tmp_path / "data"), "digests_dir": "out"},
        digest={"week": "2025-W24"},
        sources=[file_source("d10", E2E)],
    )
    assert CliRunner().invoke(cli, ["--config", str(config), "ingest"]).exit_code == 0
    return config


def _status(config: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), "status"])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_catch_up_planning_never_reads_the_store_whole(
    tmp_path: Path, statements: list[str]
) -> None:
    # The plan paid the writers' check though it writes nothing: 4.7 s at 100 weeks; the jobs
    # it plans are writers, which check as they must.
    config = _ingested(tmp_path)
    db = tmp_path / "data" / "pipeline.sqlite3"
    intact.stamp_path(db).unlink()  # a writer would check now
    before = db.read_bytes(), db.stat().st_mtime_ns
    statements.clear()
    settings = load_settings(config)
    runner.plan_catch_up(settings, now=datetime(2025, 6, 16, 8, tzinfo=UTC))
    runner.missed_before(settings, now=datetime(2025, 6, 16, 8, tzinfo=UTC))
    assert _checks(statements) == 0
    assert (db.read_bytes(), db.stat().st_mtime_ns) == before


def test_status_reads_the_store_whole_only_when_the_next_writer_would(
    tmp_path: Path, statements: list[str]
) -> None:
    # `digest status` paid the writers' check on every call (3.1 s at 100 weeks); its exit
    # status is the store's health, so it still checks whenever a writer would.
    config = _ingested(tmp_path)
    db = tmp_path / "data" / "pipeline.sqlite3"
    before = db.read_bytes(), db.stat().st_mtime_ns
    statements.clear()
    code, out, _ = _status(config)
    assert code == 0 and "d10: ok" in out
    assert _checks(statements) == 0  # as our last clean close left it
    intact.stamp_path(db).unlink()  # now a writer would check
    assert _status(config) == (code, out, "")
    assert _checks(statements) == 1
    assert (db.read_bytes(), db.stat().st_mtime_ns) == before  # read, never written


def test_status_reports_damage_the_next_writer_would_refuse(tmp_path: Path) -> None:
    # Deep in the file, where listing the runs does not read: the writer's check finds it,
    # so `status` must too, or a monitor reading its exit status sees a healthy store while
    # every job fails.
    config = _ingested(tmp_path)
    db = tmp_path / "data" / "pipeline.sqlite3"
    content = db.read_bytes()
    middle = len(content) // 2 // 4096 * 4096
    db.write_bytes(content[:middle] + b"\0" * 4096 + content[middle + 4096 :])
    code, _, err = _status(config)
    assert code == 1 and "is damaged" in err
    with pytest.raises(StoreError, match="is damaged"):
        Store.open(db)


def test_status_reads_while_another_process_holds_the_store_for_writing(
    tmp_path: Path,
) -> None:
    config = _ingested(tmp_path)
    code, expected, _ = _status(config)
    db = tmp_path / "data" / "pipeline.sqlite3"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE'); c.execute(\"DELETE FROM runs\")\n"
            "print('holding', flush=True); sys.stdin.readline()\n",
            str(db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        assert _status(config) == (code, expected, "")  # its uncommitted delete is not seen
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()


def test_status_after_a_reader_then_an_emptied_file_is_still_refused(tmp_path: Path) -> None:
    # A reader leaves an empty -wal file behind; a store then truncated to 0 bytes beside its
    # digests was taken for a new database because a -wal file existed.
    config = write_config(
        tmp_path,
        paths={"data_dir": str(tmp_path / "data"), "digests_dir": "out"},
        digest={"week": "2025-W24"},
        sources=[file_source("d10", E2E)],
    )
    assert CliRunner().invoke(cli, ["--config", str(config), "run"]).exit_code == 0
    db = tmp_path / "data" / "pipeline.sqlite3"
    db.write_bytes(b"")
    Path(f"{db}-wal").write_bytes(b"")
    code, _, err = _status(config)
    assert code == 1 and "is empty (0 bytes)" in err
    assert db.stat().st_size == 0


def test_open_to_read_migrates_an_older_schema_first(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    for number, migration in enumerate(MIGRATIONS[:-1], start=1):
        migration(conn)
        conn.execute(f"PRAGMA user_version = {number}")
    conn.close()
    with Store.open_to_read(path) as store:
        assert store.schema_version() == SCHEMA_VERSION


def test_open_to_read_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    _store_with_rows(path, 1)
    with Store.open_to_read(path) as store, pytest.raises(StoreError, match="readonly"):
        store.set_meta("key0", "w")


def test_open_to_read_a_damaged_file_says_what_a_writer_says(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    path.write_bytes(b"not a database\n" * 100)
    said = f"database {path} is damaged (file is not a database); nothing was written to it"
    with pytest.raises(StoreError, match="^" + said.replace("(", r"\(").replace(")", r"\)")):
        Store.open_to_read(path)
    assert path.read_bytes() == b"not a database\n" * 100


@pytest.fixture
def read_only_fs(tmp_path: Path) -> Iterator[Path]:
    """A real small tmpfs that the test remounts read-only, or a skip saying why not."""
    with tmpfs(tmp_path / "fs", "8m") as target:
        yield target


def test_status_works_on_a_read_only_filesystem_and_prints_the_same(
    tmp_path: Path, read_only_fs: Path
) -> None:
    # A backup mounted read-only, or a data folder on a filesystem remounted read-only after an
    # error: `status` failed ("cannot be opened for writing ... read-only") though it only reads.
    config = write_config(
        tmp_path,
        paths={"data_dir": str(read_only_fs / "data"), "digests_dir": "out"},
        digest={"week": "2025-W24"},
        sources=[file_source("d10", E2E)],
    )
    assert CliRunner().invoke(cli, ["--config", str(config), "ingest"]).exit_code == 0
    expected = _status(config)
    for suffix in ("-wal", "-shm"):  # as a clean close of the last connection leaves it
        Path(f"{read_only_fs / 'data' / 'pipeline.sqlite3'}{suffix}").unlink(missing_ok=True)
    mount("-o", "remount,ro", str(read_only_fs))
    try:
        assert _status(config) == expected
        ingest = CliRunner().invoke(cli, ["--config", str(config), "ingest"])
        assert ingest.exit_code == 1 and "read-only" in ingest.stderr  # a writer is refused
    finally:
        mount("-o", "remount,rw", str(read_only_fs))
