"""The database read-only, locked by another process, corrupt, or on a full disk.

Each fault must end `digest ingest` with a clear StoreError message and exit 1, never a traceback,
and must not cost a paper that was already stored. Read-only and disk-full use a real small tmpfs
(mounted by the test; skipped with the reason where mounting is not permitted).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FakeEmbedder, file_source, mount, tmpfs, write_config

from pipeline import run
from pipeline.cli import cli
from reliability import tally
from reliability.helpers import DATA, GOOD_COUNT, GOOD_FILE, query

BIG_FILE = DATA / "reliability" / "arxiv-oai-cs-2016-page90.jsonl"


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run, "make_embedder", lambda settings: FakeEmbedder())


def _config(tmp_path: Path, data_dir: Path, *sources: Path) -> Path:
    return write_config(
        tmp_path,
        paths={"data_dir": str(data_dir)},
        sources=[file_source(f"s{i}", path) for i, path in enumerate(sources)],
    )


def _ingest(config: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), "ingest"])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        tally.add("tracebacks")
        raise result.exception
    return result.exit_code, result.stderr


def _n_papers(data_dir: Path, *, immutable: bool = False) -> int:
    db = data_dir / "pipeline.sqlite3"
    return int(query(db, "SELECT count(*) FROM papers", immutable=immutable)[0][0])


def _expect_store_error(code: int, err: str, *words: str) -> None:
    tally.add("storage faults tried")
    # The run's one-line summary is logged first; the error line names the database.
    lines = [line for line in err.splitlines() if line.startswith("error: database")]
    clear = code == 1 and bool(lines) and all(w in lines[0] for w in words)
    if not clear or "Traceback" in err:
        tally.add("storage faults without StoreError")
    assert clear, (code, err)


def _stored_intact(data_dir: Path, expected: int, *, immutable: bool = False) -> None:
    n = _n_papers(data_dir, immutable=immutable)
    tally.add("stored papers lost in storage faults", max(0, expected - n))
    assert n >= expected


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB tmpfs, or a skip saying why there cannot be one here."""
    with tmpfs(tmp_path / "fs", "1m") as target:
        yield target


def test_read_only_database_is_a_store_error_and_keeps_what_was_stored(
    tmp_path: Path, small_fs: Path
) -> None:
    data = small_fs / "data"
    assert _ingest(_config(tmp_path, data, GOOD_FILE))[0] == 0
    mount("-o", "remount,ro", str(small_fs))
    code, err = _ingest(_config(tmp_path, data, GOOD_FILE, BIG_FILE))
    _expect_store_error(code, err, "pipeline.sqlite3", "read")
    _stored_intact(data, GOOD_COUNT, immutable=True)
    mount("-o", "remount,rw", str(small_fs))
    _stored_intact(data, GOOD_COUNT)


def test_full_disk_is_a_store_error_and_keeps_what_was_stored(
    tmp_path: Path, small_fs: Path
) -> None:
    data = small_fs / "data"
    assert _ingest(_config(tmp_path, data, GOOD_FILE))[0] == 0
    filler = _fill(small_fs)
    code, err = _ingest(_config(tmp_path, data, GOOD_FILE, BIG_FILE))
    # Round 28: SQLite's "database or disk is full" alone; now what happened, in words.
    _expect_store_error(code, err, f"{data}/pipeline.sqlite3", "no space left", "nothing was lost")
    filler.unlink()
    _stored_intact(data, GOOD_COUNT)


def _fill(small_fs: Path) -> Path:
    """A file in `small_fs` that takes every free byte of it; its path."""
    filler = small_fs / "filler"
    try:
        with filler.open("wb") as handle:
            while True:
                handle.write(b"\0" * 4096)
                handle.flush()
    except OSError:
        pass
    return filler


def test_a_build_on_a_full_disk_says_so_and_keeps_what_was_stored(
    tmp_path: Path, small_fs: Path
) -> None:
    data = small_fs / "data"
    config = write_config(
        tmp_path,
        digest={"week": "2025-W23"},
        paths={"data_dir": str(data), "digests_dir": str(tmp_path / "digests")},
        sources=[file_source("s0", GOOD_FILE)],
    )
    assert _ingest(config)[0] == 0
    filler = _fill(small_fs)
    result = CliRunner().invoke(cli, ["--config", str(config), "build"])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        tally.add("tracebacks")
        raise result.exception
    words = (f"{data}/pipeline.sqlite3", "no space left", "nothing was lost")
    _expect_store_error(result.exit_code, result.stderr, *words)
    filler.unlink()
    _stored_intact(data, GOOD_COUNT)


_LIMITED = """
import resource, sys
from conftest import FakeEmbedder
from pipeline import run
from pipeline.cli import cli
run.make_embedder = lambda settings: FakeEmbedder()
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), resource.RLIM_INFINITY))
cli.main(sys.argv[2:], prog_name="digest")
"""


@pytest.mark.parametrize("command", ["ingest", "build"])
def test_a_file_size_limit_the_store_reaches_is_said_and_keeps_what_was_stored(
    tmp_path: Path, command: str
) -> None:
    """`ulimit -f` (a unit's LimitFSIZE=, a shared host's limit) reached by the store's file or
    its log during `ingest` or `build` said only SQLite's "disk I/O error" (round 28): now the
    store's path, the limit, that nothing was lost and what to do; exit 1, no traceback."""
    data = tmp_path / "data"
    paths = {"data_dir": str(data), "digests_dir": str(tmp_path / "digests")}
    config = write_config(
        tmp_path, digest={"week": "2025-W23"}, paths=paths, sources=[file_source("s0", GOOD_FILE)]
    )
    assert _ingest(config)[0] == 0
    if command == "ingest":  # four hundred more papers do not fit
        config = _config(tmp_path, data, GOOD_FILE, BIG_FILE)
    limit = (data / "pipeline.sqlite3").stat().st_size + 4096
    tests = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests), str(tests.parent)])}
    args = [sys.executable, "-c", _LIMITED, str(limit), "--config", str(config), command]
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    tally.add("storage faults tried")
    assert "Traceback" not in done.stderr, done.stderr
    words = (f"{data}/pipeline.sqlite3", f"file size limit (ulimit -f) of {limit:,} bytes")
    _expect_store_error(done.returncode, done.stderr, *words, "nothing was lost")
    _stored_intact(data, GOOD_COUNT)


def test_database_locked_by_another_process_is_a_store_error_then_recovers(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    config = _config(tmp_path, data, GOOD_FILE)
    assert _ingest(config)[0] == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(60)\n",
            str(data / "pipeline.sqlite3"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        code, err = _ingest(_config(tmp_path, data, GOOD_FILE, BIG_FILE))
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    _expect_store_error(code, err, "pipeline.sqlite3", "locked")
    assert waited >= 4  # it waited for the busy timeout before giving up
    _stored_intact(data, GOOD_COUNT)
    assert _ingest(_config(tmp_path, data, GOOD_FILE, BIG_FILE))[0] == 0  # lock gone: it works


@pytest.mark.parametrize("damage", ["header", "truncated", "zeros"])
def test_corrupt_database_is_a_store_error_and_is_left_untouched(
    tmp_path: Path, damage: str
) -> None:
    data = tmp_path / "data"
    config = _config(tmp_path, data, BIG_FILE)
    assert _ingest(config)[0] == 0
    db = data / "pipeline.sqlite3"
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    content = db.read_bytes()
    if damage == "header":
        broken = os.urandom(100) + content[100:]
    elif damage == "truncated":
        broken = content[: len(content) // 3]
    else:
        middle = len(content) // 2
        broken = content[:middle] + b"\0" * 8192 + content[middle + 8192 :]
    db.write_bytes(broken)
    code, err = _ingest(config)
    _expect_store_error(code, err, "pipeline.sqlite3")
    assert "damaged" in err or "not a database" in err
    assert db.read_bytes() == broken  # nothing rewritten or "repaired" behind the user's back


def test_a_store_emptied_beside_written_digests_is_a_store_error_not_a_fresh_start(
    tmp_path: Path,
) -> None:
    # Round 9: a database file replaced by an empty one (a failed copy, a restore) was taken by
    # SQLite for a new database: `status` read "recent runs: none yet ... health: ok" beside the
    # digests already written, and the next run started over without the e-mail records that
    # keep a week from being mailed twice.
    data = tmp_path / "data"
    config = write_config(
        tmp_path,
        paths={"data_dir": str(data), "digests_dir": "out"},
        digest={"week": "2025-W24"},
        sources=[file_source("d10", DATA / "e2e" / "arxiv-2025-06-10.jsonl")],
    )
    assert CliRunner().invoke(cli, ["--config", str(config), "run"]).exit_code == 0
    db = data / "pipeline.sqlite3"
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.write_bytes(b"")
    for command in ("status", "run", "build", "ingest"):
        result = CliRunner().invoke(cli, ["--config", str(config), command])
        _expect_store_error(result.exit_code, result.stderr, "pipeline.sqlite3", "is empty")
        assert db.stat().st_size == 0  # left as it is, for the user to restore
    db.unlink()  # what the message says to do to start over: a new store works
    assert CliRunner().invoke(cli, ["--config", str(config), "run"]).exit_code == 0


@pytest.mark.parametrize("fault", ["read-only", "full"])
def test_a_digests_folder_read_only_or_full_fails_the_build_naming_it(
    tmp_path: Path, small_fs: Path, fault: str
) -> None:
    """A build into a digests folder on a filesystem mounted read-only, or full, exits 1
    naming the file it could not write, never a traceback, and leaves the folder as it was
    (round 24: the folder's `.written-by.json` is written first)."""
    digests = small_fs / "digests"
    digests.mkdir()
    config = write_config(
        tmp_path,
        digest={"week": "2025-W23"},
        paths={"data_dir": str(tmp_path / "data"), "digests_dir": str(digests)},
        sources=[file_source("s0", GOOD_FILE)],
    )
    assert _ingest(config)[0] == 0
    if fault == "read-only":
        mount("-o", "remount,ro", str(small_fs))
    else:
        (small_fs / "filler").write_bytes(b"\0" * (1 << 20))  # tmpfs refuses what is over
    tally.add("storage faults tried")
    result = CliRunner().invoke(cli, ["--config", str(config), "build"])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        tally.add("tracebacks")
        raise result.exception
    assert result.exit_code == 1, result.output
    assert f"error: cannot write {digests}/" in result.stderr, result.stderr
    assert sorted(p.name for p in digests.iterdir()) == []


def test_a_log_file_on_a_full_disk_is_said_once_and_the_run_goes_on(
    tmp_path: Path, small_fs: Path
) -> None:
    """The deploy docs' crontab and units log with `--log-file data/digest.log`; once its disk
    filled up (logs are what fill a disk), every log line of every run wrote Python's "---
    Logging error ---" and a 40-line traceback to stderr (the journal, cron's mail). The run
    goes on as before, its lines still on stderr, and the log file's failure is said once."""
    log = small_fs / "digest.log"
    log.touch()
    (small_fs / "filler").write_bytes(b"\0" * (1 << 20))  # tmpfs refuses what is over
    config = _config(tmp_path, tmp_path / "data", GOOD_FILE)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    args = [sys.executable, "-m", "pipeline", "--config", str(config), "--log-file", str(log)]
    tally.add("storage faults tried")
    done = subprocess.run([*args, "-vv", "build"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert " INFO pipeline.service.runner: build ok" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "Logging error" not in done.stderr, done.stderr
    warned = [line for line in done.stderr.splitlines() if str(log) in line]
    assert len(warned) == 1 and "No space left on device" in warned[0], done.stderr


_CRASHED_WRITER = """
import os, sys
from pipeline.store import Store
store = Store.open(sys.argv[1])
with store._write("rewrite"):
    store._conn.execute("UPDATE papers SET abstract = abstract || ' (revised)'")
os._exit(9)  # a power cut: the transaction is in the -wal file only
"""


def test_a_backup_restored_beside_a_crashed_runs_wal_names_the_wal(tmp_path: Path) -> None:
    """A run died (power cut) and left pipeline.sqlite3-wal; the user restored last week's
    backup over the file, as the damage message says. SQLite read the old file's log into the
    backup, every command said 'is damaged …: restore it from a backup, or move it aside', and
    a backup restored again was 'damaged' again: the file was never the problem. The message
    names the log beside the file and says to move it (and -shm) aside with the old file; done,
    the backup is read as it is."""
    data = tmp_path / "data"
    config = _config(tmp_path, data, GOOD_FILE)
    assert _ingest(config)[0] == 0
    db = data / "pipeline.sqlite3"
    backup = tmp_path / "backup.sqlite3"
    backup.write_bytes(db.read_bytes())  # a clean close left no -wal: the backup is whole
    config = _config(tmp_path, data, GOOD_FILE, BIG_FILE)
    assert _ingest(config)[0] == 0
    env = {**os.environ, "PYTHONPATH": str(Path(run.__file__).parents[2])}
    crashed = subprocess.run([sys.executable, "-c", _CRASHED_WRITER, str(db)], env=env)
    assert crashed.returncode == 9
    wal = Path(f"{db}-wal")
    assert wal.stat().st_size > 0
    db.write_bytes(backup.read_bytes())  # `cp backup.sqlite3 data/pipeline.sqlite3`
    code, err = _ingest(config)
    _expect_store_error(code, err, "pipeline.sqlite3", "damaged")
    assert f"{wal} lies beside it" in err, err
    assert f"move {wal.name} and pipeline.sqlite3-shm aside too" in err, err
    assert db.read_bytes() == backup.read_bytes()  # the backup itself is left as it was
    for suffix in ("-wal", "-shm"):  # as the message says
        Path(f"{db}{suffix}").rename(tmp_path / f"old{suffix}")
    assert _ingest(config)[0] == 0
    _stored_intact(data, GOOD_COUNT)
