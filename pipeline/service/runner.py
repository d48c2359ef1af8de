"""Unattended operation around `run`: one run at a time, catch-up after downtime, status.

run_locked:    take the run lock (refuse, or wait, if another run holds it) → the weeks a
               `run` missed (`missed_before`) → run_command → log one summary line.
plan_catch_up: read the last successful ingest, each week's last build, the e-mails sent, the
               crontab lines and the digests folder → `catchup.plan_catch_up` decides what
               `digest serve` runs on start (and which builds after each scheduled ingest).
gather_status: recent runs, source health, next fire times, digests written, the lock holder.
Imports `run`, `config`, `store`, `lock`, `crontab`, `catchup` and `digest` (week arithmetic);
never writes under digests/ (only `run` does). Non-goals: scheduling itself (`schedule`).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline import run
from pipeline.config import Settings
from pipeline.errors import PipelineError, UsageError
from pipeline.models import Command, RunReport
from pipeline.run.report import count
from pipeline.run.week import MAX_CATCH_UP_WEEKS
from pipeline.run.weeks import week_end
from pipeline.service import catchup, crontab
from pipeline.service.lock import Holder, RunLock, read_holder
from pipeline.store import SCHEMA_VERSION, RunRow, SourceStatus, Store

logger = logging.getLogger(__name__)

RUN_LOCK_FILENAME = "pipeline.lock"
SERVE_LOCK_FILENAME = "serve.lock"


def run_lock(settings: Settings) -> RunLock:
    """The lock every ingest/build/run/send takes: data_dir/pipeline.lock."""
    return RunLock(settings.paths.data_dir / RUN_LOCK_FILENAME)


def serve_lock(settings: Settings) -> RunLock:
    """The lock `digest serve` holds for its lifetime, so that only one scheduler runs."""
    return RunLock(settings.paths.data_dir / SERVE_LOCK_FILENAME)


def schedule_key(settings: Settings) -> tuple[str, str, str]:
    """[schedule]'s crontab lines and zone: what `digest serve` reads once, when it starts."""
    schedule = settings.schedule
    return (schedule.ingest_cron, schedule.build_cron, schedule.timezone)


def run_locked(
    settings: Settings,
    command: Command,
    *,
    week: str | None = None,
    wait_s: float = 0.0,
    now: datetime | None = None,
) -> RunReport:
    """Run `command` holding the run lock; LockError names the holder if another run has it.

    A `run` of the configured week ("last-complete") first builds, after its ingest, the weeks
    before it missed while the machine was down (`missed_before`), as `digest serve` catches
    up: cron and systemd timers run `digest run`. An unknown command is a UsageError before the
    lock or the store is touched; a `week` that has not begun is one before anything runs
    (`run.run_command`). `now`: the clock, for tests.
    """
    command = run.check_command(command)
    started = time.monotonic()
    run.check_claims(settings)  # refused before the lock makes data_dir
    with run_lock(settings).hold(command, wait_s=wait_s):
        try:
            earlier: Callable[[Store], list[str]] | tuple[()] = ()
            if command is Command.RUN and week is None:
                # Read after the ingest (round 29): with "latest", the weeks it brings are the
                # ones missed; read before it, the newest week was the last one built.
                clock = now or datetime.now(UTC)
                earlier = functools.partial(missed_in, settings, now=clock)
            report = run.run_command(settings, command, week=week, earlier=earlier, now=now)
        except UsageError:
            raise  # a week not begun: nothing ran, the caller says so once
        except PipelineError as e:
            logger.error("%s failed after %.1f s: %s", command, time.monotonic() - started, e)
            raise
    failed = bool(report.error or report.all_sources_failed)
    level = logging.WARNING if failed else logging.INFO
    logger.log(level, "%s", summarize_report(report, duration_s=time.monotonic() - started))
    return report


def send_locked(
    settings: Settings, week: str, *, force: bool = False, wait_s: float = 0.0
) -> RunReport:
    """`digest send` holding the run lock: a build e-mailing the same week (send_after_build)
    would otherwise find it unsent as this does, and both would mail it (round 14)."""
    run.check_claims(settings)  # refused before the lock makes data_dir
    with run_lock(settings).hold(Command.SEND, wait_s=wait_s):
        return run.run_send(settings, week, force=force)


def summarize_report(report: RunReport, *, duration_s: float) -> str:
    """One log line: the command, its outcome and counts."""
    failed = [s.name for s in report.sources if not s.ok]
    outcome = "failed" if report.error or report.all_sources_failed else "ok"
    parts = [f"{report.command} {outcome} in {duration_s:.1f} s"]
    if report.command.ingests:
        parts.append(f"sources {len(report.sources) - len(failed)}/{len(report.sources)} ok")
        parts.append(f"{report.n_new} new")
    if report.n_embedded:  # a build that embeds nothing (the usual case) says nothing of it
        parts.append(f"{report.n_embedded} embedded")
    if report.digest_path:
        parts.append(f"digest {report.week} ({report.n_papers_in_digest} papers)")
    if failed:
        parts.append("failed sources: " + ", ".join(failed))
    return " · ".join([*parts, *report.not_done])


def check_store(settings: Settings) -> None:
    """Open and close the store a run would open, for writing: StoreError, naming the file and
    what to do, when it is damaged or was emptied beside written digests (`run.open_store`;
    read whole only when changed since our last clean close, or a week after the last check)."""
    with run.open_store(settings):
        pass


# --- catch-up -------------------------------------------------------------------------------


def plan_catch_up(
    settings: Settings, *, now: datetime, ingest: bool = True
) -> tuple[catchup.Step, ...]:
    """What `digest serve` should run at once: a missed ingest (unless not `ingest`), then a
    build of each week since the last one done whose digest is missing or was not e-mailed."""
    schedule = settings.schedule
    ingest_trigger = crontab.make_trigger(schedule.ingest_cron, schedule.timezone)
    build_trigger = crontab.make_trigger(schedule.build_cron, schedule.timezone)
    with run.open_store(settings, writing=False) as store:
        last = store.get_last_run((Command.INGEST, Command.RUN), status="ok")
        _, weeks, done = _weeks_to_build(settings, store, now=now)
    return catchup.plan_catch_up(
        ingest_due=crontab.previous_fire(ingest_trigger, now) if ingest else None,
        last_ingest=last.started if last else None,
        build_due=crontab.previous_fire(build_trigger, now),
        weeks=[(w, week_end(w, settings.digest.timezone)) for w in weeks],
        done=done,
    )


def missed_before(settings: Settings, *, now: datetime) -> list[str]:
    """The weeks before this run's week (`[digest] week = "last-complete"` or "latest") since
    the last one done, oldest first, at most MAX_CATCH_UP_WEEKS - 1: what `digest run` builds
    after its ingest and before its own week."""
    with run.open_store(settings, writing=False) as store:
        return missed_in(settings, store, now=now)


def missed_in(settings: Settings, store: Store, *, now: datetime) -> list[str]:
    """`missed_before`, read from an open store."""
    week, weeks, done = _weeks_to_build(settings, store, now=now)
    return [w for w in weeks if w != week and w not in done]


def _weeks_to_build(
    settings: Settings, store: Store, *, now: datetime
) -> tuple[str, list[str], set[str]]:
    """The configured week, the weeks through it that may need a build, oldest first (those
    since the last one done, or the first one built, at most MAX_CATCH_UP_WEEKS, with
    "last-complete" or "latest"; a fixed week alone), and the weeks done: their last build
    succeeded, or with none recorded their digest exists and (with send_after_build) was
    e-mailed."""
    files = {p.stem for p in run.digest_files(settings.paths.digests_dir)}
    builds = store.list_week_builds()
    outcomes = {w: status for w, (status, _) in builds.items()}
    # A week with a recipient the SMTP server refused for now is not e-mailed yet (round 28).
    deferred = store.list_deferred_weeks()
    sent = store.list_delivered_weeks() - deferred
    week = run.choose_week(settings.digest.week, store, now=now, timezone=settings.digest.timezone)
    mailed = settings.email.send_after_build
    # A week last built before it ended (a `digest build --week` of the week under way) is not
    # done once it has: its later days' papers are in no digest until it is built again (round
    # 27: a machine asleep at the scheduled build left it so for good). With "latest" a
    # scheduled build may build the week under way on purpose.
    early = set()
    if settings.digest.week == "last-complete":
        zone = settings.digest.timezone
        early = {w for w, (_, at) in builds.items() if at < week_end(w, zone) <= now}
    # A week without papers is built but writes no digest (issue 13): its build has run. A
    # digest whose e-mail failed (its build is recorded failed) is not done until it is sent.
    done = {
        w
        for w in {*outcomes, *files} - early - (deferred if mailed else set())
        if outcomes.get(w) == "ok" or (w in files and (not mailed or w in sent))
    }
    weeks = [week]
    # A fixed week has nothing to miss. "latest" does: when a week's papers arrive before the
    # week before it was mailed (its e-mail failed, or serve was down), it moves on past it.
    if settings.digest.week in ("last-complete", "latest"):
        tried = {*outcomes, *files}
        weeks = catchup.missed_weeks(week, done, limit=MAX_CATCH_UP_WEEKS, tried=tried)
        skipped = catchup.skipped_before(weeks, done)
        if skipped:
            logger.warning(
                "more than %d weeks were missed: %s and the weeks before it back to the last "
                "digest are not built (digest build --week %s builds one)",
                MAX_CATCH_UP_WEEKS, skipped, skipped,
            )  # fmt: skip
        weeks = [*catchup.failed_before(weeks, done, tried, limit=MAX_CATCH_UP_WEEKS), *weeks]
    return week, weeks, done


# --- status ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSummary:
    """One recorded run as `digest status` shows it."""

    run_id: int
    command: str
    started: datetime
    finished: datetime | None
    duration_s: float | None
    status: str  # ok | failed | interrupted | running | abandoned
    n_new: int | None
    n_embedded: int | None
    n_sources_failed: int | None
    week: str | None
    error: str | None


@dataclass(frozen=True)
class DigestFile:
    """A digest on disk."""

    week: str
    path: str
    modified: datetime
    size_bytes: int


@dataclass(frozen=True)
class Status:
    """Everything `digest status` reports."""

    now: datetime
    runs: tuple[RunSummary, ...]
    sources: tuple[SourceStatus, ...]
    next_ingest: datetime | None
    next_build: datetime | None
    digests: tuple[DigestFile, ...]
    holder: Holder | None
    enabled_sources: tuple[str, ...] = ()  # the config's, to tell a removed source by
    disabled_sources: tuple[str, ...] = ()
    store_schema: int | None = None  # the store's schema version as found; None: no store
    serve: Holder | None = None  # the `digest serve` of this data folder, if one runs
    #: [schedule] was edited since that serve started: it still fires as it started (the next
    #: fire times above are its own), until restarted.
    schedule_not_applied: bool = False
    #: The vectors stored for a model other than the one [embed] names now (model, count):
    #: kept, unused, until deleted (round 29: nothing said they were there).
    unused_vectors: tuple[tuple[str, int], ...] = ()
    embed_model: str = ""  # the name the configured model's vectors are stored under
    #: The newest run not in progress, when `runs` (cut to `--limit`) holds only the one that is.
    finished_before: RunSummary | None = None

    @property
    def schema_behind(self) -> bool:
        """The store has an older schema (or none yet): the next writer migrates it."""
        return self.store_schema is not None and self.store_schema < SCHEMA_VERSION

    def source_config(self, name: str) -> str:
        """'enabled', 'disabled', or 'removed' for a recorded source the config no longer has."""
        if name in self.enabled_sources:
            return "enabled"
        return "disabled" if name in self.disabled_sources else "removed"

    @property
    def last_run(self) -> RunSummary | None:
        """The newest run that is not still in progress."""
        return next((r for r in self.runs if r.status != "running"), self.finished_before)

    @property
    def all_sources_failing(self) -> bool:
        """Every source the config reads failed its latest fetch: no paper is coming in, even
        when the run after the failed ingest (a catch-up build) went well."""
        read = [s for s in self.sources if self.source_config(s.source) == "enabled"]
        return bool(read) and not any(s.ok for s in read)

    @property
    def ran_well(self) -> bool:
        """The last finished run did not fail or die (an interrupted one counts as well)."""
        last = self.last_run
        return last is None or last.status in ("ok", "interrupted")

    @property
    def healthy(self) -> bool:
        """False when the last run failed or died without finishing, or while every source
        fails: a health check's answer. One source of several failing is not (its line says)."""
        return self.ran_well and not self.all_sources_failing


def gather_status(settings: Settings, *, now: datetime, limit: int = 10) -> Status:
    """Read the store, the crontab lines, the digests folder and the lock into a Status."""
    holder = read_holder(run_lock(settings).path)
    rows: list[RunRow] = []
    sources: list[SourceStatus] = []
    schema = None
    model = run.make_embedder(settings).name  # loads nothing: the name vectors are kept under
    unused: dict[str, int] = {}
    if settings.database_path.exists():
        # Read whole when the next writer would: `status` exits 1 on a store a job refuses.
        # An older schema is read as it is: status never writes, so never migrates.
        with run.open_store(settings, writing=False, verify=True, as_found=True) as store:
            schema = store.schema_version()
            if schema >= 1:  # runs and source_status are as schema 1 made them
                # One more than shown: with --limit 1 during a run, the run before it is the
                # one health judges (round 29: "no runs yet", exit 0, after a failure).
                rows = store.list_runs(min(limit + 1, 2**63 - 1))
                sources = store.list_source_status()
                unused = store.count_vectors_by_model()
                unused.pop(model, None)
    # Round 28: status read the edited [schedule] while the serve that fires the jobs still ran
    # the lines it started with, so "next build" named a time nothing would build at.
    serve = read_holder(serve_lock(settings).path)
    ingest_cron, build_cron, zone = configured = schedule_key(settings)
    stale = serve is not None and serve.schedule not in (None, configured)
    if serve is not None and serve.schedule is not None:
        ingest_cron, build_cron, zone = serve.schedule
    runs = tuple(_summarize_row(row, holder, newest=i == 0) for i, row in enumerate(rows))
    return Status(
        now=now,
        runs=runs[:limit],
        finished_before=next((r for r in runs if r.status != "running"), None),
        sources=tuple(sources),
        next_ingest=crontab.next_fire(crontab.make_trigger(ingest_cron, zone), now),
        next_build=crontab.next_fire(crontab.make_trigger(build_cron, zone), now),
        digests=tuple(_list_digests(settings.paths.digests_dir)),
        holder=holder,
        enabled_sources=tuple(s.name for s in settings.enabled_sources),
        disabled_sources=tuple(s.name for s in settings.sources if not s.enabled),
        store_schema=schema,
        serve=serve,
        schedule_not_applied=stale,
        unused_vectors=tuple(sorted(unused.items())),
        embed_model=model,
    )


def _summarize_row(row: RunRow, holder: Holder | None, *, newest: bool) -> RunSummary:
    """`newest`: no run was recorded after this one (rows come newest first)."""
    report: dict[str, Any] = row.report
    status = row.status
    # The lock is taken before the run row is written, so a later holder means another run.
    # The lock admits one run at a time, so a run recorded after this one means its process
    # died too: round 28, a run killed before NTP set the clock back started "later" than the
    # holder of the lock and read "running" beside it.
    if status == "running" and (holder is None or holder.started > row.started or not newest):
        status = "abandoned"  # nobody holds the lock for it: the process died mid-run
    sources = report.get("sources")
    # A run across a clock set back (NTP) finished "before" it started: its duration is unknown.
    took = (row.finished - row.started).total_seconds() if row.finished else None
    return RunSummary(
        run_id=row.run_id,
        command=row.command,
        started=row.started,
        finished=row.finished,
        duration_s=took if took is not None and took >= 0 else None,
        status=status,
        n_new=report.get("n_new"),
        n_embedded=report.get("n_embedded"),
        n_sources_failed=sum(1 for s in sources if s.get("error")) if sources else None,
        week=report.get("week"),
        error=report.get("error"),
    )


def _list_digests(folder: Path) -> list[DigestFile]:
    files = []
    for path in run.digest_files(folder):
        stat = path.stat()
        modified = datetime.fromtimestamp(stat.st_mtime).astimezone()
        files.append(DigestFile(path.stem, str(path), modified, stat.st_size))
    return files


def status_dict(status: Status) -> dict[str, Any]:
    """The status as JSON-ready data (datetimes as ISO 8601 strings)."""
    data = asdict(status)
    del data["enabled_sources"], data["disabled_sources"]
    found = data.pop("store_schema")
    data["vectors"] = {"model": data.pop("embed_model"), "unused": dict(data.pop("unused_vectors"))}
    data["store_schema"] = None if found is None else {"found": found, "current": SCHEMA_VERSION}
    for source in data["sources"]:
        source["configured"] = status.source_config(source["source"])
    data["healthy"] = status.healthy
    del data["finished_before"]  # shown as last_run
    data["last_run"] = asdict(status.last_run) if status.last_run else None
    iso: dict[str, Any] = _iso_datetimes(data)
    return iso


def _iso_datetimes(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _iso_datetimes(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_iso_datetimes(v) for v in value]
    return value.isoformat() if isinstance(value, datetime) else value


def describe_status(status: Status) -> str:
    """Human lines: now running, recent runs, source health, next fire times, digests."""
    lines = [f"now running: {status.holder.describe()}" if status.holder else "now running: -"]
    lines.append("recent runs:" if status.runs else "recent runs: none yet")
    for r in status.runs:
        took = f"{r.duration_s:.1f} s" if r.duration_s is not None else "-"
        counts = [
            f"{r.n_new} new" if r.n_new is not None else "",
            f"week {r.week}" if r.week else "",
        ]
        if r.n_sources_failed:
            counts.append(f"{count(r.n_sources_failed, 'source')} failed")
        detail = ", ".join(c for c in counts if c)
        error = f": {r.error}" if r.error and r.status != "ok" else ""
        lines.append(
            f"  #{r.run_id} {_local(r.started)} {r.command:<6} {r.status:<11} {took:>8}"
            f"{'  ' + detail if detail else ''}{error}"
        )
    lines.append("sources:" if status.sources else "sources: none recorded yet")
    for s in status.sources:
        ok = f"last success {_local(s.last_success)}" if s.last_success else "never succeeded"
        err = f"; last error {_local(s.last_error_at)}: {s.last_error}" if s.last_error_at else ""
        state = "ok" if s.ok else f"FAILING ({s.consecutive_failures}x)"
        configured = status.source_config(s.source)
        if configured != "enabled":  # no longer read: its health is history, not a problem
            state = (
                "removed from the config" if configured == "removed" else "disabled in the config"
            )
        lines.append(f"  {s.source}: {state}, {ok}{err}")
    lines.append(f"next ingest: {_local(status.next_ingest)}")
    lines.append(f"next build:  {_local(status.next_build)}")
    if status.serve is not None:
        lines.append(f"scheduled by: {status.serve.describe()}")
    if status.schedule_not_applied:
        lines.append(
            "  [schedule] was edited since digest serve started: the times above are those it"
            " runs; restart digest serve to apply the edit"
        )
    newest = (
        f", newest {status.digests[-1].week}: {status.digests[-1].path}" if status.digests else ""
    )
    lines.append(f"digests written: {len(status.digests)}{newest}")
    if status.unused_vectors:
        kept = ", ".join(f"{model} ({n:,})" for model, n in status.unused_vectors)
        lines.append(
            f"vectors of a model [embed] model no longer names: {kept}, kept so that changing"
            " back embeds nothing; README, [embed], says how to delete them"
        )
    if status.store_schema == 0:
        lines.append("store: empty (no tables yet): the next build or ingest creates them")
    elif status.schema_behind:
        lines.append(
            f"store: schema version {status.store_schema}, older than this program's"
            f" {SCHEMA_VERSION}: the next build or ingest migrates it"
        )
    last = status.last_run
    verdict = "no runs yet" if last is None else f"last run {last.status}"
    if last is not None and status.ran_well and status.all_sources_failing:
        verdict = "every source failing"
    lines.append(f"health: {'ok' if status.healthy else 'FAILING'} ({verdict})")
    return "\n".join(lines)


def _local(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z") if moment else "-"
