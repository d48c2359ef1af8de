"""schedule.py with the real APScheduler: jobs firing every second, a job that raises once and
runs again, and ChildRunner with real child processes."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import pytest
from conftest import FakeEmbedder, file_source, make_settings

from pipeline import run
from pipeline.config import Settings
from pipeline.digest.build import week_bounds
from pipeline.models import Command
from pipeline.run.weeks import earlier_weeks, resolve_week
from pipeline.service import schedule
from pipeline.service.runner import run_locked
from pipeline.store import SCHEMA_VERSION, Store


class FlakyRunner:
    """Records each command; the first ingest raises, like a run that hits a bug."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []
        self.weeks: list[str | None] = []
        self.terminated = False

    def __call__(self, command: str, week: str | None = None) -> None:
        self.calls.append((command, time.monotonic()))
        self.weeks.append(week)
        if [c for c, _ in self.calls].count("ingest") == 1 and command == "ingest":
            raise RuntimeError("injected failure")

    def terminate(self) -> None:
        self.terminated = True

    def count(self, command: str) -> int:
        return [c for c, _ in self.calls].count(command)


def _settings(tmp_path: Path, *, ingest: str, build: str) -> Settings:
    return make_settings(
        tmp_path, schedule={"ingest_cron": ingest, "build_cron": build, "misfire_grace_s": 5}
    )


def _wait_for(condition: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_jobs_fire_and_a_job_that_raises_is_logged_and_runs_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(tmp_path, ingest="* * * * * *", build="* * * * * *")
    runner = FlakyRunner()
    scheduler = schedule.make_scheduler(settings, runner, catch_up=False)
    thread = threading.Thread(target=scheduler.start, daemon=True)
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="apscheduler"):
        thread.start()
        try:
            _wait_for(lambda: runner.count("ingest") >= 3 and runner.count("build") >= 2, 10)
        finally:
            scheduler.shutdown(wait=True)
            thread.join(5)
    assert not thread.is_alive()
    first_fire = runner.calls[0][1] - started
    assert first_fire < 2.0  # an every-second line fires within a second or two
    failures = [
        r for r in caplog.records if r.exc_info and "injected failure" in str(r.exc_info[1])
    ]
    assert len(failures) == 1  # logged once, with its traceback, and the scheduler went on
    assert failures[0].exc_info is not None and failures[0].exc_info[2] is not None


def test_make_scheduler_sets_coalescing_single_instance_and_grace(tmp_path: Path) -> None:
    settings = _settings(tmp_path, ingest="0 2 * * mon-fri", build="0 7 * * mon")
    runner = FlakyRunner()
    scheduler = schedule.make_scheduler(settings, runner, catch_up=True)
    thread = threading.Thread(target=scheduler.start, kwargs={"paused": True}, daemon=True)
    thread.start()  # job defaults are applied when the scheduler starts
    _wait_for(lambda: scheduler.running, 5)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    scheduler.shutdown(wait=True)
    thread.join(5)
    assert runner.calls == []  # paused: nothing ran
    assert set(jobs) == {"ingest", "build", "catch-up"}
    for job_id in ("ingest", "build"):
        job = jobs[job_id]
        assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, 5)
    assert jobs["build"].func is schedule.run_build
    assert jobs["ingest"].func is schedule.run_ingest  # the ingest, then missed builds
    assert "day_of_week='mon-fri'" in str(jobs["ingest"].trigger)


EXIT_WITH = "import sys, time; time.sleep(float(sys.argv[1])); sys.exit(int(sys.argv[2]))"


def test_child_runner_passes_success_and_raises_on_failure() -> None:
    runner = schedule.ChildRunner([sys.executable, "-c", EXIT_WITH, "0"], wait_s=5)
    runner("0")  # exits 0: the command ran
    with pytest.raises(schedule.JobFailed, match="exited with status 3"):
        runner("3")


def test_child_runner_terminate_stops_the_child_and_starts_no_more() -> None:
    runner = schedule.ChildRunner([sys.executable, "-c", EXIT_WITH, "60"], wait_s=5)
    errors: list[BaseException] = []

    def target() -> None:
        try:
            runner("0")
        except BaseException as e:
            errors.append(e)

    thread = threading.Thread(target=target)
    thread.start()
    _wait_for(lambda: runner._child is not None, 10)
    started = time.monotonic()
    runner.terminate()
    thread.join(10)
    assert not thread.is_alive() and time.monotonic() - started < 5
    assert errors == []  # a child stopped on request is not a failure
    runner("0")  # after terminate: returns at once, starts nothing
    assert runner._child is None


def test_child_runner_passes_the_week_of_a_catch_up_build(tmp_path: Path) -> None:
    argv_file = tmp_path / "argv.json"
    script = f"import json, sys; open({str(argv_file)!r}, 'w').write(json.dumps(sys.argv[1:]))"
    runner = schedule.ChildRunner([sys.executable, "-c", script], wait_s=5)
    runner(Command.BUILD, "2025-W24")
    assert json.loads(argv_file.read_text()) == ["build", "--week", "2025-W24", "--wait", "5"]
    runner(Command.INGEST)
    assert json.loads(argv_file.read_text()) == ["ingest", "--wait", "5"]


def test_a_scheduled_ingest_builds_the_week_whose_build_the_machine_slept_through(
    tmp_path: Path,
) -> None:
    # The build fired while the machine slept, more than misfire_grace_s ago: APScheduler skips
    # it, and only a restart of serve would build the week. Now the next ingest does.
    now = datetime.now(UTC)
    week = resolve_week("last-complete", latest_day=None, now=now, timezone="UTC")
    before = earlier_weeks(week, 1)[0]
    settings = _settings(tmp_path, ingest="* * * * * *", build="0 0 * * mon")
    with Store.open(settings.database_path) as store:
        run_id = store.start_run("build", now - timedelta(days=8))
        store.finish_run(run_id, now - timedelta(days=8), "ok", {"week": before})
    runner = FlakyRunner()
    runner.calls.append(("ingest", 0.0))  # FlakyRunner fails the first ingest: not this test's
    runner.weeks.append(None)
    scheduler = schedule.make_scheduler(settings, runner, catch_up=False)
    thread = threading.Thread(target=scheduler.start, daemon=True)
    thread.start()
    try:
        _wait_for(lambda: runner.count("build") >= 1, 10)
    finally:
        scheduler.shutdown(wait=True)
        thread.join(5)
    fired = list(zip([c for c, _ in runner.calls], runner.weeks, strict=True))[1:]
    assert fired[:2] == [("ingest", None), ("build", week)]


def test_a_failed_job_and_a_damaged_store_are_one_line_errors_not_tracebacks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Each failed job was logged by APScheduler with a traceback (a StoreError's two), though
    # none was a bug: "Job "catch-up ..." raised an exception / Traceback (most recent call last)".
    # Round 10: a job on a damaged store then logged two lines, the child's (naming the file)
    # and its own "build failed: `digest build` exited with status 1"; now one, the store's.
    settings = _settings(tmp_path, ingest="* * * * * *", build="* * * * * *")
    settings.database_path.parent.mkdir(parents=True)
    settings.database_path.write_text("not a database\n")
    started = tmp_path / "child-started"
    child = f"import sys; open({str(started)!r}, 'w'); sys.exit(1)"
    runner = schedule.ChildRunner([sys.executable, "-c", child], wait_s=5)
    scheduler = schedule.make_scheduler(settings, runner, catch_up=True)
    thread = threading.Thread(target=scheduler.start, daemon=True)
    caplog.set_level(logging.INFO)

    def failed(job: str) -> list[str]:
        return [r.getMessage() for r in caplog.records if r.getMessage().startswith(job)]

    thread.start()
    try:
        _wait_for(lambda: failed("ingest failed") and failed("build failed"), 10)
    finally:
        scheduler.shutdown(wait=True)
        thread.join(5)
    assert [r for r in caplog.records if r.exc_info] == []
    damaged = f"database {settings.database_path} is damaged (file is not a database); "
    advice = "nothing was written to it: restore it from a backup, or move it aside"
    for job in ("catch-up", "build", "ingest"):
        assert set(failed(f"{job} failed")) == {f"{job} failed: {damaged}{advice}"}
    assert not started.exists()  # no child was started on it
    assert settings.database_path.read_text() == "not a database\n"


def test_a_config_broken_while_serve_runs_fails_each_job_in_one_line_until_fixed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Round 9: the child read the edited file and exited 2; its error reached only serve's
    # stderr (not --log-file), and the job's line said "`digest ingest` exited with status 2".
    settings = _settings(tmp_path, ingest="* * * * * *", build="0 0 1 1 *")
    good = settings.config_path.read_text(encoding="utf-8")
    ran = tmp_path / "ran.txt"
    # The child reads the config as `digest ingest` does: exit 2 with the error on stderr.
    child = (
        "import sys; from pipeline.config import load_settings\n"
        f"try: load_settings({str(settings.config_path)!r})\n"
        "except Exception as e: sys.exit(f'error: {e}')\n"
        f"open({str(ran)!r}, 'a').write(sys.argv[1] + '\\n')"
    )
    runner = schedule.ChildRunner([sys.executable, "-c", child], wait_s=5)
    scheduler = schedule.make_scheduler(settings, runner, catch_up=False)
    thread = threading.Thread(target=scheduler.start, daemon=True)
    caplog.set_level(logging.INFO)

    def errors() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]

    def runs() -> int:
        return len(ran.read_text().splitlines()) if ran.exists() else 0

    thread.start()
    try:
        _wait_for(lambda: runs() >= 1, 10)
        settings.config_path.write_text(good + "\n[digest\n", encoding="utf-8")  # a syntax error
        _wait_for(lambda: len(errors()) >= 1, 10)
        first = errors()[0]
        assert first.startswith("ingest failed: ") and "is not valid TOML" in first, first
        topic = '\n[[topics]]\nslug = "sparse"\nname = "Sparse attention"\n'  # no description
        settings.config_path.write_text(good + topic, encoding="utf-8")
        _wait_for(lambda: any("topics[0]" in e for e in errors()), 10)
        n_runs = runs()
        settings.config_path.write_text(good, encoding="utf-8")  # fixed: no restart needed
        _wait_for(lambda: runs() > n_runs, 10)
    finally:
        scheduler.shutdown(wait=True)
        thread.join(5)
    assert [r for r in caplog.records if r.exc_info] == []
    named = next(e for e in errors() if "topics[0]" in e)
    assert "\n" not in named and named.startswith(f"ingest failed: {settings.config_path} has 1")


def test_serve_stops_on_a_sigterm_that_arrives_while_a_job_is_submitted(tmp_path: Path) -> None:
    # APScheduler catches BaseException where it submits a job and dispatches an event; serve's
    # scheduler ran in the main thread, where the CLI's handler raised the signal: a SIGTERM
    # landing there was logged as "Error submitting job" and swallowed, the handler ignored the
    # next ones, and serve ran on (test_serve's restart hung on it under load, round 21).
    settings = _settings(tmp_path, ingest="* * * * * *", build="* * * * * *")
    script = f"""
import os, signal, sys
from apscheduler.executors.pool import ThreadPoolExecutor
from pipeline.cli import _stop_on_signals
from pipeline.config import load_settings
from pipeline.service import schedule
submit = ThreadPoolExecutor.submit_job
def submit_job(self, job, run_times):
    os.kill(os.getpid(), signal.SIGTERM)  # the signal arrives while the job is submitted
    return submit(self, job, run_times)
ThreadPoolExecutor.submit_job = submit_job
class Runner:
    def __call__(self, command, week=None):
        pass
    def terminate(self):
        print("terminated", flush=True)
_stop_on_signals()
schedule.serve(load_settings({str(settings.config_path)!r}), Runner(), catch_up=False)
print("returned", flush=True)
"""
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=30
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"serve did not stop on SIGTERM within 30 s: {e.stderr!r}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["terminated", "returned"]
    assert "Error submitting job" not in done.stderr


def test_a_store_a_newer_program_migrated_tells_serve_to_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Round 26: the program was upgraded while `digest serve` ran; a job's child (or a manual
    # `digest run`), running the new version, migrated the store, and from then on every job
    # of the serve still running the old version failed "…newer than this program's N;
    # upgrade the program", which the user had just done. The line says to restart serve.
    settings = _settings(tmp_path, ingest="0 2 * * *", build="0 7 * * mon")
    Store.open(settings.database_path).close()
    with sqlite3.connect(settings.database_path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    runner = FlakyRunner()
    caplog.set_level(logging.INFO)
    schedule.run_ingest(settings, runner)
    schedule.run_build(settings, runner)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2 and runner.calls == [], errors
    for job, line in zip(("ingest", "build"), errors, strict=True):
        assert line.startswith(f"{job} failed: database {settings.database_path} has schema")
        assert line.endswith("restart digest serve: it still runs the version it started with")


class InProcessRunner:
    """Runs each command as `digest` would (`runner.run_locked`), with the fake embedder."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.calls: list[tuple[str, str | None]] = []

    def __call__(self, command: Command, week: str | None = None) -> None:
        self.calls.append((str(command), week))
        run_locked(self.settings, command, week=week)

    def terminate(self) -> None:
        pass


def test_serve_with_week_latest_builds_on_start_the_weeks_its_catch_up_ingest_brings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Round 29: with "latest", serve's catch-up chose the weeks to build before its own ingest,
    # when the newest week in the store was the last one built: after two weeks down it said
    # "catch-up: ingest", built nothing, and the two missed weeks waited for the next weekday.
    monkeypatch.setattr(run, "make_embedder", lambda settings: FakeEmbedder())
    now = datetime.now(UTC)
    this = resolve_week("latest", latest_day=now.date(), now=now, timezone="UTC")
    built, *missed = earlier_weeks(this, 3)  # oldest first: built, then the two missed

    def paper(n: int, week: str) -> str:
        day = week_bounds(week)[0] + timedelta(days=1)
        return json.dumps({"id": f"arxiv:2501.0000{n}", "title": f"Sparse attention {n}",
                           "abstract": "We study sparse attention for long contexts.",
                           "announced": day.isoformat()})  # fmt: skip

    papers = tmp_path / "papers.jsonl"
    papers.write_text(paper(1, built) + "\n")
    settings = make_settings(
        tmp_path,
        digest={"week": "latest"},
        schedule={"ingest_cron": "0 2 * * *", "build_cron": "0 0 * * mon"},
        sources=[file_source("papers", papers)],
    )
    # The last ingest and build ran the Monday after `built` ended; serve was down since.
    then = datetime.combine(week_bounds(missed[0])[0], clock_time(1), UTC)
    assert run_locked(settings, Command.INGEST, now=then).n_new == 1
    assert run_locked(settings, Command.BUILD, now=then).week == built
    papers.write_text("\n".join([paper(1, built), paper(2, missed[0]), paper(3, missed[1])]))
    jobs = InProcessRunner(settings)
    schedule.run_catch_up(settings, jobs)
    assert jobs.calls == [("ingest", None), ("build", missed[0]), ("build", missed[1])]
