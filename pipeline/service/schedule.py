"""APScheduler wiring for `digest serve`: two cron jobs and a catch-up job, nothing more.

Each job runs one `digest ingest|build` in a child process (`ChildRunner`): the child takes the
run lock like a manual run (waiting up to misfire_grace_s for one to finish), a crash or a leak in
a run cannot take the service down, and the model's memory goes back to the OS between runs.
A job that fails is logged in one line (`digest ingest` exited with status 1, the store is
damaged); only a bug raises, and APScheduler logs it with its traceback. The next fire retries.
Each job first reads the config file again: edited while serve runs, a topic added reaches the
next build, and a mistake fails the job in one line that names it, until the file is fixed; a
data_dir changed moves serve's own lock (`ServeLock.follow`) to the folder the job uses. It
then opens the store: a damaged or emptied one fails the job in the store's one line (the file,
what to do) before a child starts, not in the child's line and a second one that says only "exited
with status 1".
Stopping: the scheduler runs in its own thread and SIGTERM/SIGINT set an event the main thread
waits on (`serve`); it then stops the child with SIGTERM (it rolls back and records the run as
interrupted) and returns.
Imports `service` (catch-up), `crontab`, `config`. Decisions live in `service`/`catchup`.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

from pipeline.config import Settings, check_paths, load_settings
from pipeline.errors import ConfigError, NewerStoreError, PipelineError
from pipeline.models import Command
from pipeline.service import crontab, runner

logger = logging.getLogger(__name__)


class JobFailed(Exception):
    """A scheduled command did not succeed (its own log lines say why)."""


class JobRunner(Protocol):
    """Runs one command ('ingest' or 'build') to the end; `terminate` stops the current one."""

    def __call__(self, command: Command, week: str | None = None) -> None: ...

    def terminate(self) -> None: ...


class ChildRunner:
    """Runs `<argv> <command> [--week W] --wait S` as a child process, one at a time."""

    def __init__(self, argv: Sequence[str], *, wait_s: float) -> None:
        self._argv = list(argv)
        self._wait_s = wait_s
        self._guard = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None
        self._stopping = False

    def __call__(self, command: Command, week: str | None = None) -> None:
        what = f"{command} --week {week}" if week else command
        with self._guard:
            if self._stopping:
                return
            # Own session: a terminal's Ctrl-C reaches only serve, which forwards one SIGTERM.
            # stdout (the printed report) is dropped: the child logs its summary line to stderr.
            child = subprocess.Popen(
                [
                    *self._argv,
                    command,
                    *(["--week", week] if week else []),
                    "--wait",
                    f"{self._wait_s:g}",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                start_new_session=True,
            )
            self._child = child
        try:
            code = child.wait()
        finally:
            with self._guard:
                self._child = None
        if code == 0:
            return
        if self._stopping and code in (128 + signal.SIGTERM, -signal.SIGTERM):
            logger.warning("%s was stopped; it is recorded as interrupted", what)
            return
        raise JobFailed(f"`digest {what}` exited with status {code}")

    def terminate(self) -> None:
        """Start no new child; send SIGTERM to the running one, if any."""
        with self._guard:
            self._stopping = True
            if self._child is not None and self._child.poll() is None:
                self._child.send_signal(signal.SIGTERM)


#: The signals that stop `serve`, and how often its waiting main thread looks at the scheduler.
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
STOP_POLL_S = 1.0


def child_argv(settings: Settings, *, python: str, verbosity: Sequence[str]) -> list[str]:
    """The child command line, less its command: `python -m pipeline --config FILE -v …`."""
    return [python, "-m", "pipeline", "--config", str(settings.config_path), *verbosity]


class ServeLock:
    """`serve.lock` in the data folder the config names now, held for serve's lifetime: only one
    `digest serve` runs per data folder.

    Round 26: a data_dir edited while serve ran (the store moved to a bigger disk) sent its
    jobs to the new folder, which each job reads from the config, but left the lock in the old
    one: a second `digest serve` of the new folder started, and both ran every job. The first
    job after the edit takes the lock in the new folder (failing, in one line naming the holder,
    while another serve holds it) and gives the old one back, and says so.
    """

    def __init__(self, settings: Settings) -> None:
        self._lock = runner.serve_lock(settings)
        # What this serve's scheduler runs, written in the lock for `digest status` (round 28).
        self._schedule = runner.schedule_key(settings)

    def hold(self) -> ServeLock:
        """Take the lock now (LockError naming the serve that holds it); released when the
        `with` block ends."""
        self._lock.acquire("serve", schedule=self._schedule)
        return self

    def __enter__(self) -> ServeLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def follow(self, settings: Settings) -> None:
        """Hold the lock of `settings`' data folder (the config as a job just read it)."""
        moved = runner.serve_lock(settings)
        if moved.path.resolve() == self._lock.path.resolve():
            return
        moved.acquire("serve", schedule=self._schedule)
        self._lock.release()
        logger.warning(
            "paths.data_dir changed in %s: jobs now use %s, and digest serve holds its lock"
            " there (%s)",
            settings.config_path, settings.paths.data_dir, moved.path,
        )  # fmt: skip
        self._lock = moved


def make_scheduler(
    settings: Settings, run_job: JobRunner, *, catch_up: bool, lock: ServeLock | None = None
) -> Any:
    """A BlockingScheduler with the ingest and build cron jobs (and a one-off catch-up job);
    each job moves `lock` where the config's data_dir is now (`ServeLock.follow`)."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler

    schedule = settings.schedule
    scheduler = BlockingScheduler(
        timezone=schedule.timezone,
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={
            "max_instances": 1,
            "coalesce": True,
            "misfire_grace_time": schedule.misfire_grace_s,
        },
    )
    ingest = crontab.make_trigger(schedule.ingest_cron, schedule.timezone)
    build = crontab.make_trigger(schedule.build_cron, schedule.timezone)
    # After each scheduled ingest, a week whose build was skipped (the machine slept through it)
    # or whose e-mail failed is built again: otherwise only a restart would ever retry it.
    args = (settings, run_job, lock)
    scheduler.add_job(run_ingest, ingest, args=args, id="ingest", name="ingest")
    scheduler.add_job(run_build, build, args=args, id="build", name="build")
    if catch_up:
        scheduler.add_job(run_catch_up, args=args, id="catch-up", name="catch-up")
    return scheduler


@contextmanager
def _one_line_errors(job: str) -> Iterator[None]:
    """A job's expected failure (a child that exited non-zero, an unusable store) as one error
    line: a traceback in the journal would read as a bug. A bug still propagates."""
    try:
        yield
    except ConfigError as e:  # its problems are one per line: joined, the line names them all
        logger.error("%s failed: %s", job, " ".join([e.args[0], "; ".join(e.problems)]).strip())
    except NewerStoreError as e:  # round 26: "upgrade the program" read wrong after an upgrade
        logger.error(
            "%s failed: %s, or, if it was upgraded while digest serve ran, restart digest serve:"
            " it still runs the version it started with",
            job, e,
        )  # fmt: skip
    except (JobFailed, PipelineError) as e:
        logger.error("%s failed: %s", job, e)


def reload_settings(settings: Settings) -> Settings:
    """The config file as it is now, checked as a command checks it (ConfigError otherwise).

    The child reads the file too, but its error reached only serve's stderr, and the job's own
    line said no more than "`digest ingest` exited with status 2". The crontab lines are read
    once, when serve starts: a change to them is logged until serve is restarted.
    """
    fresh = load_settings(settings.config_path)
    problems = check_paths(fresh)
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        raise ConfigError(
            f"{settings.config_path} has {len(problems)} {noun}:", problems=tuple(problems)
        )
    if fresh.schedule != settings.schedule:
        logger.warning(
            "[schedule] changed in %s: restart digest serve to apply it", fresh.config_path
        )
    return fresh


def _ready(settings: Settings, lock: ServeLock | None) -> Settings:
    """The config as it is now, its store checked (`runner.check_store`) and serve's lock in
    its data folder: what each job does before its child starts."""
    fresh = reload_settings(settings)
    runner.check_store(fresh)
    if lock is not None:
        lock.follow(fresh)
    return fresh


def run_build(settings: Settings, run_job: JobRunner, lock: ServeLock | None = None) -> None:
    """The scheduled build of the configured week."""
    with _one_line_errors("build"):
        _ready(settings, lock)
        run_job(Command.BUILD)


def run_ingest(settings: Settings, run_job: JobRunner, lock: ServeLock | None = None) -> None:
    """The scheduled ingest, then the builds of missed or unsent weeks (`run_catch_up`)."""
    with _one_line_errors("ingest"):
        settings = _ready(settings, lock)
        run_job(Command.INGEST)
        _catch_up(settings, run_job, ingest=False)


def run_catch_up(settings: Settings, run_job: JobRunner, lock: ServeLock | None = None) -> None:
    """Run what `service.plan_catch_up` says was missed on start; log what failed."""
    with _one_line_errors("catch-up"):
        settings = reload_settings(settings)
        if lock is not None:
            lock.follow(settings)
        _catch_up(settings, run_job, ingest=True)


def _catch_up(settings: Settings, run_job: JobRunner, *, ingest: bool) -> None:
    plan = runner.plan_catch_up(settings, now=datetime.now(UTC), ingest=ingest)
    if plan or ingest:
        logger.info("catch-up: %s", ", ".join(map(str, plan)) if plan else "nothing was missed")
    if plan and plan[0].command is Command.INGEST:
        with _one_line_errors("catch-up ingest"):
            run_job(Command.INGEST)
        # Round 29: with "latest" the week to build moves on with what the ingest brought
        # (two weeks down: the two weeks it backfilled), so the builds are planned after it.
        builds = runner.plan_catch_up(settings, now=datetime.now(UTC), ingest=False)
        if builds != plan[1:]:
            logger.info("catch-up after the ingest: %s", ", ".join(map(str, builds)) or "-")
        plan = builds
    for step in plan:  # one failed step is logged; the next still runs
        with _one_line_errors(f"catch-up {step}"):
            run_job(step.command, step.week)


def serve(
    settings: Settings, run_job: JobRunner, *, catch_up: bool, lock: ServeLock | None = None
) -> None:
    """Run the scheduler until SIGTERM or SIGINT (or KeyboardInterrupt), then stop cleanly.

    The scheduler runs in a thread of its own; this one (the main thread, where Python runs
    signal handlers) only waits, and a signal sets an event. Raised in the scheduler's thread, a
    signal that arrived while APScheduler submitted a job or dispatched an event was caught there
    (it catches BaseException), logged as "Error submitting job", and serve ran on deaf to the
    next ones. Must be called from the main thread.
    """
    scheduler = make_scheduler(settings, run_job, catch_up=catch_up, lock=lock)
    for job in scheduler.get_jobs():
        logger.info("job %s: %s", job.name, job.trigger)
    stop = threading.Event()
    failed: list[BaseException] = []

    def request_stop(signum: int, frame: object) -> None:
        stop.set()  # nothing raised: the main thread is only waiting

    def run() -> None:
        try:
            scheduler.start()
        except BaseException as e:  # re-raised in the main thread
            failed.append(e)

    previous = {signum: signal.signal(signum, request_stop) for signum in _STOP_SIGNALS}
    thread = threading.Thread(target=run, name="scheduler", daemon=True)
    try:
        thread.start()
        while thread.is_alive() and not stop.wait(STOP_POLL_S):
            pass
        if stop.is_set():
            logger.warning("stop requested: finishing up")
    except KeyboardInterrupt:  # a signal before the handler above was in place
        logger.warning("stop requested: finishing up")
    finally:
        run_job.terminate()
        if scheduler.running:
            scheduler.shutdown(wait=True)  # waits for the job thread, i.e. the child, to end
        thread.join()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if failed:
        raise failed[0]
