"""The `digest` command: parse options, call one function in `run`, print its report.

Owns logging set-up and exit codes: 0 ran (also when nothing was new), 1 a PipelineError or every
source failed, 2 a usage or configuration error. Heavy libraries are never imported here, so
`digest --help` stays instant.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import logging
import logging.handlers
import math
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from pipeline.errors import ConfigError, PipelineError, UsageError, redact
from pipeline.models import Command

if TYPE_CHECKING:
    from pipeline.config import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

logger = logging.getLogger("pipeline")


class _RedactSecrets(logging.Filter):
    """Every logged line passes through `errors.redact`: httpx logs each request's full URL at
    INFO, and a URL may carry user:password@ or api_key= (issue 15)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class _LogFile(logging.handlers.WatchedFileHandler):
    """The --log-file handler: a file it cannot write (its disk full, or gone read-only) is
    said once on stderr (a warning: not under -q), where every line goes too. Round 26:
    Python's own handling wrote "--- Logging error ---" and a 40-line traceback to stderr (the
    journal, cron's mail) for every log line of every run once logs had filled the disk."""

    _said = False

    def handleError(self, record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            super().handleError(record)  # a bug (a bad format string): Python's report
            return
        if not self._said and logging.getLogger().isEnabledFor(logging.WARNING):  # not -q
            self._said = True
            sys.stderr.write(
                f"warning: cannot write the log file {self.baseFilename}"
                f" ({error.strerror or error}): its lines go to stderr only\n"
            )


def _setup_logging(verbose: int, quiet: bool, log_file: Path | None = None) -> None:
    levels = {0: logging.WARNING, 1: logging.INFO}
    level = logging.ERROR if quiet else levels.get(verbose, logging.DEBUG)
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if log_file is not None:
        # Its folder is made as data_dir is: the deploy docs' crontab logs to data/digest.log,
        # and on a fresh install (no data/ before the first run) every run failed there, its
        # error sent to /dev/null, and cron mailed `digest status`: "health: ok (no runs yet)".
        log_file.parent.mkdir(parents=True, exist_ok=True)
        # Watched: logrotate may move the file away; the handler then reopens it.
        handlers.append(_LogFile(log_file, encoding="utf-8", errors="surrogateescape"))
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    for handler in handlers:
        handler.addFilter(_RedactSecrets())
    # APScheduler logs every job start and end at INFO: only worth seeing with -vv.
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if verbose >= 2 else logging.WARNING)


class FilePath(click.Path):
    """A file's path option. An empty value is refused naming the option: `--config
    "$DIGEST_CONFIG"` with the variable unset in a crontab or unit file was read as the current
    folder ("cannot read config file .: Is a directory")."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("is empty (an unset variable in a crontab or unit file?)", param, ctx)
        return super().convert(value, param, ctx)


class _Commands(click.Group):
    """The `digest` group: a stop (SIGTERM, SIGINT: `Stopped`) that no command turned into its
    own words yet exits 128 + the signal. Round 25: one in the first second of a command (its
    imports, its logging set up) reached click, which said "Aborted!" and exited 1, a failure
    to cron and systemd."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as e:
            _exit_stopped(e, "nothing was left half-written")


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=FilePath(path_type=Path, dir_okay=False),
    default=Path("config.toml"),
    show_default=True,
    help="Configuration file.",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors (no warnings).")
@click.option(
    "--log-file",
    type=FilePath(path_type=Path, dir_okay=False),
    default=None,
    help="Also append log lines to this file.",
)
@click.pass_context
def cli(
    ctx: click.Context, config_path: Path, verbose: int, quiet: bool, log_file: Path | None
) -> None:
    """Track new papers from feeds and write a themed weekly digest.

    Example: digest --config examples/demo.toml run
    """
    _names_as_bytes()
    try:
        # A service's log is its only output: `serve` logs at INFO unless told otherwise.
        serving = ctx.invoked_subcommand == "serve" and not verbose
        _setup_logging(1 if serving else verbose, quiet, log_file)
    except OSError as e:
        raise click.BadParameter(
            f"cannot open {log_file}: {e.strerror}", param_hint="--log-file"
        ) from None
    ctx.obj = {"config_path": config_path, "verbose": verbose, "quiet": quiet, "log_file": log_file}


def _names_as_bytes() -> None:
    """Print a path whose name is not UTF-8 (a folder named on a Latin-1 system: Python reads
    its bytes as lone surrogates) as its bytes, as `ls` does: under a UTF-8 locale stdout
    refused them, a UnicodeEncodeError traceback after the work was done (round 24). Under
    a locale that is not UTF-8 (`de_DE.ISO-8859-1`, a console's cp1252), a character it
    cannot show (an arrow, a title in another script) is written escaped, `\\u2192`: it
    ended `explain` in the same traceback (round 25)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None:
            continue
        encoding = (getattr(stream, "encoding", "") or "").lower().replace("_", "-")
        utf8 = encoding in ("utf-8", "utf8")
        with contextlib.suppress(ValueError, io.UnsupportedOperation, LookupError):
            reconfigure(errors="surrogateescape" if utf8 else "backslashreplace")


@contextmanager
def _exit_on_errors() -> Iterator[None]:
    """ConfigError, UsageError exit 2, any other PipelineError 1, with its message: no traceback."""
    try:
        yield
    except (ConfigError, UsageError) as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_USAGE)
    except PipelineError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_FAILED)


def _settings(ctx: click.Context) -> Any:
    """Validated settings whose data and digests folders are usable; ConfigError otherwise."""
    from pipeline.config import check_paths, load_settings

    path = ctx.obj["config_path"]
    settings = load_settings(path)
    problems = check_paths(settings)
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        raise ConfigError(f"{path} has {len(problems)} {noun}:", problems=tuple(problems))
    return settings


def _execute(ctx: click.Context, command: Command, as_json: bool, **options: Any) -> None:
    """Load settings, run one command of `run`, print the report, exit with its code."""
    from pipeline import run
    from pipeline.service import runner

    try:
        with _exit_on_errors():
            settings = _settings(ctx)
            report = runner.run_locked(settings, command, **options)
    except KeyboardInterrupt as e:
        _exit_stopped(
            e,
            f"the {command} (if it had started) is recorded as interrupted; stored data is "
            "consistent and no partial digest was written",
        )
    if as_json:
        click.echo(json.dumps(run.report_dict(report), indent=2, sort_keys=True))
    else:
        click.echo(run.describe_report(report))
        if command in (Command.BUILD, Command.RUN):
            _hint_if_empty(ctx, settings, report)
    sys.exit(EXIT_FAILED if report.error or report.all_sources_failed else EXIT_OK)


def _exit_stopped(e: KeyboardInterrupt, what: str) -> NoReturn:
    """Exit 128 + the signal that stopped the command, saying `what` it left behind."""
    signum = getattr(e, "signum", signal.SIGINT)
    click.echo(f"stopped by {signal.Signals(signum).name}: {what}", err=True)
    sys.exit(128 + signum)


def _hint_if_empty(ctx: click.Context, settings: Any, report: Any) -> None:
    """After a build that found no paper in its week, say which week to build instead."""
    from pipeline import run

    if not report.week or report.digest_path or report.error or report.all_sources_failed:
        return
    with run.open_store(settings, writing=False) as store:
        hint = _empty_week_hint(settings, store, report.week, "build")
    if hint:
        click.echo(hint)


def _empty_week_hint(settings: Any, store: Any, week: str, command: str) -> str:
    """What to run when `week` holds no stored paper: the newest week that holds some (a
    replay of old files, or a first run on a Monday, builds an empty "last-complete" week), or
    an ingest when the store is empty; "" when `week` is that newest week already."""
    from pipeline import run
    from pipeline.config import digest_command

    digest = digest_command(settings.config_path)
    if store.get_date_range() is None:
        return f"hint: the store holds no papers yet; run `{digest} ingest` first"
    newest = run.choose_week(
        "latest", store, now=datetime.now(UTC), timezone=settings.digest.timezone
    )
    if newest == week:
        return ""
    return (
        f"hint: the newest week with stored papers is {newest}: "
        f"`{digest} {command} --week {newest}`"
    )


def _json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")(func)


class _Seconds(click.FloatRange):
    """A finite number of seconds, 0 or more: NaN passed FloatRange(min=0) (it is not below
    0), and a run waiting NaN or infinite seconds for the lock never gave up."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        seconds = super().convert(value, param, ctx)
        if not math.isfinite(seconds):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return seconds


def _wait_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--wait",
        "wait_s",
        type=_Seconds(min=0),
        default=0.0,
        metavar="SECONDS",
        help="If another run holds the lock, wait up to SECONDS for it (default: refuse at once).",
    )(func)


def _week_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--week", default=None, metavar="YYYY-Www", help="ISO week (default: [digest] week)."
    )(func)


@cli.command()
@_json_option
@_wait_option
@click.pass_context
def ingest(ctx: click.Context, as_json: bool, wait_s: float) -> None:
    """Fetch every enabled source into the store and embed new papers.

    Example: digest ingest
    """
    _execute(ctx, Command.INGEST, as_json, wait_s=wait_s)


@cli.command()
@_week_option
@_json_option
@_wait_option
@click.pass_context
def build(ctx: click.Context, week: str | None, as_json: bool, wait_s: float) -> None:
    """Write digests/<week>.md from the papers already stored.

    Example: digest build --week 2025-W24
    """
    _execute(ctx, Command.BUILD, as_json, week=_check_week(week), wait_s=wait_s)


@cli.command(name="run")
@_week_option
@_json_option
@_wait_option
@click.pass_context
def run_cmd(ctx: click.Context, week: str | None, as_json: bool, wait_s: float) -> None:
    """Ingest, then build the digest (what cron calls), after any weeks missed since the last one.

    Without --week and with [digest] week = "last-complete", each earlier week since the last
    one done that has no digest or was not e-mailed is built first, oldest first (at most 8).

    Example: digest run --json
    """
    _execute(ctx, Command.RUN, as_json, week=_check_week(week), wait_s=wait_s)


@cli.command()
@click.option(
    "--week", required=True, metavar="YYYY-Www", help="ISO week to e-mail (built already)."
)
@click.option("--force", is_flag=True, help="Send even if this week was e-mailed before.")
@_json_option
@_wait_option
@click.pass_context
def send(ctx: click.Context, week: str, force: bool, as_json: bool, wait_s: float) -> None:
    """E-mail an already built digest to the recipients in [email], once per week.

    Example: digest send --week 2025-W24 [--force]
    """
    from pipeline import run
    from pipeline.service import runner

    checked = _check_week(week) or week
    try:
        with _exit_on_errors():
            report = runner.send_locked(_settings(ctx), checked, force=force, wait_s=wait_s)
    except KeyboardInterrupt as e:  # round 23: click said "Aborted!" and exited 1
        _exit_stopped(
            e,
            "a digest the SMTP server took is recorded as e-mailed (a later send does not "
            "repeat it); nothing else was sent",
        )
    if as_json:
        click.echo(json.dumps(run.report_dict(report), indent=2, sort_keys=True))
    else:
        click.echo(run.describe_report(report))


@cli.command(name="check-config")
@click.pass_context
def check_config(ctx: click.Context) -> None:
    """Validate the configuration and summarise it.

    Example: digest --config config.toml check-config
    """
    from pipeline.config import audit, load_settings
    from pipeline.run.report import count

    with _exit_on_errors():
        path = ctx.obj["config_path"]
        settings = load_settings(path)
        problems, warnings = audit(settings)
        problems += _claim_problems(settings) + _week_problems(settings)
        warnings += _schedule_warnings(settings) + _slug_warnings(settings)
        for warning in warnings:
            click.echo(f"warning: {warning}", err=True)
        if problems:
            noun = "problem" if len(problems) == 1 else "problems"
            raise ConfigError(f"{path} has {len(problems)} {noun}:", problems=tuple(problems))
    click.echo(
        f"{settings.config_path}: ok · {count(len(settings.enabled_sources), 'source')} enabled · "
        f"{count(len(settings.topics), 'topic')} · model {settings.embed.model}"
    )


def _claim_problems(settings: Settings) -> list[str]:
    """Another config still writing this one's digests folder or store, as its runs would be
    refused (round 25: check-config said "ok"); read without writing anything."""
    from pipeline import run

    try:
        run.check_claims(settings)
    except ConfigError as e:
        return list(e.problems)
    except PipelineError:  # a store that does not open: the runs say so in their words
        return []
    return []


def _week_problems(settings: Settings) -> list[str]:
    """A fixed [digest] week that has not begun, as `build` and `run` refuse it (round 28:
    check-config said "ok" to `week = "2030-W10"`, and each build said "the sources listed
    nothing"). Refused, not warned of: until its Monday every build and run with this file
    exits 2 for it, so "ok" would be untrue; and a week still to come is a mistake the day it
    is written (a mistyped year), there being nothing of it to build yet. Its start is drawn
    as a build draws it: in the zone the store recorded, when a store opens, else [digest]
    timezone."""
    from pipeline import run

    if settings.digest.week in ("last-complete", "latest"):
        return []  # a week that has begun, always: no store to read
    now = datetime.now(UTC)
    try:
        # As found: an older schema is not migrated by a command that only checks.
        with run.open_store(settings, writing=False, create=False, as_found=True) as store:
            problem = run.week_not_begun(settings, None, store=store, now=now)
    except PipelineError:  # a store that does not open: check-config judges the file
        problem = run.week_not_begun(settings, None, now=now)
    return [problem] if problem else []


def _slug_warnings(settings: Settings) -> list[str]:
    """A topic's slug renamed since the last digest (`run.slug_changes`), read from the store
    when there is one and it opens; check-config judges the file, not the store."""
    from pipeline import run

    if not settings.database_path.is_file():
        return []
    try:
        # As found: an older schema is not migrated by a command that only checks.
        with run.open_store(settings, writing=False, create=False, as_found=True) as store:
            return run.slug_changes(settings, store)
    except PipelineError:
        return []


def _schedule_warnings(settings: Settings) -> list[str]:
    """A build line that fires before the week ends in [digest] timezone (`crontab.early_build`):
    each "last-complete" build then makes the digest of the week before."""
    from pipeline.service.crontab import early_build

    schedule, zone = settings.schedule, settings.digest.timezone
    if settings.digest.week != "last-complete" or schedule.timezone == zone:
        return []
    early = early_build(schedule.build_cron, schedule.timezone, zone, datetime.now(UTC))
    if early is None:
        return []
    here, there = early
    return [
        f"schedule.build_cron: fires {here:%a %H:%M} {schedule.timezone}, which is"
        f" {there:%a %H:%M} in [digest] timezone {zone}, before the week has ended there:"
        " each build makes the digest of the week before, a week late; set [schedule]"
        f' timezone = "{zone}"'
    ]


@cli.command()
@click.option("--no-catch-up", is_flag=True, help="Do not run a missed ingest or build on start.")
@click.pass_context
def serve(ctx: click.Context, no_catch_up: bool) -> None:
    """Run ingest and build on the [schedule] crontab lines until stopped (SIGTERM, Ctrl-C).

    Example: digest --log-file data/digest.log serve
    """
    from pipeline import run
    from pipeline.service import schedule

    with _exit_on_errors():
        settings = _settings(ctx)
        run.check_claims(settings)  # another config's folder or store: refused, as its jobs
        guard = schedule.ServeLock(settings).hold()
    verbosity = ["-q"] if ctx.obj["quiet"] else ["-v"] * max(ctx.obj["verbose"], 1)
    log_file = ctx.obj["log_file"]
    if log_file is not None:
        verbosity += ["--log-file", str(log_file.resolve())]
    argv = schedule.child_argv(settings, python=sys.executable, verbosity=verbosity)
    child = schedule.ChildRunner(argv, wait_s=settings.schedule.misfire_grace_s)
    with guard:
        catch_up = settings.schedule.catch_up and not no_catch_up
        schedule.serve(settings, child, catch_up=catch_up, lock=guard)
    click.echo("digest serve stopped", err=True)


@cli.command()
@_json_option
@click.option("--limit", default=10, show_default=True, type=click.IntRange(min=1))
@click.pass_context
def status(ctx: click.Context, as_json: bool, limit: int) -> None:
    """Recent runs, source health, next fire times, digests; exit 1 if the last run failed.

    Example: digest status --json
    """
    from datetime import UTC, datetime

    from pipeline import run
    from pipeline.service import runner

    with _exit_on_errors():
        settings = _settings(ctx)
        # What every job of this config is refused for (exit 2), its health check says too
        # (round 26: a data_dir edited away from its store read "health: ok (no runs yet)").
        run.check_claims(settings)
        # More than SQLite's LIMIT holds ("--limit 99999999999999999999", all of them) was an
        # OverflowError traceback; every run there is fits in the largest it holds.
        state = runner.gather_status(settings, now=datetime.now(UTC), limit=min(limit, 2**63 - 1))
    if as_json:
        click.echo(json.dumps(runner.status_dict(state), indent=2, sort_keys=True))
    else:
        click.echo(runner.describe_status(state))
    sys.exit(EXIT_OK if state.healthy else EXIT_FAILED)


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGINT arrived: unwinds like Ctrl-C, so transactions roll back on the way."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _stop_on_signals() -> None:
    """Raise Stopped in the main thread on the first SIGTERM/SIGINT; ignore the later ones."""
    received: list[int] = []

    def handler(signum: int, frame: object) -> None:
        if received:
            return  # already unwinding: let the cleanup finish
        received.append(signum)
        raise Stopped(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handler)


def _check_week(week: str | None) -> str | None:
    """--week as typed: ASCII, an existing ISO week, a year in range; usage error (exit 2) else."""
    from pipeline.config import week_problem

    problem = week_problem(week) if week is not None else None
    if problem:
        raise click.BadParameter(problem, param_hint="--week")
    return week


# The tuning commands register themselves on `cli` when their module is imported.
from pipeline.cli import tuning  # noqa: E402, F401


def main() -> None:
    """Console-script entry point."""
    _stop_on_signals()
    try:
        cli(prog_name="digest")
    finally:
        _skip_the_last_collections()


def _skip_the_last_collections() -> None:
    """The process ends next: what the garbage collector tracks now (the imported libraries'
    modules, classes and functions, and a build's papers and entries in cycles, about 110,000
    objects) is left out of the full collections Python runs while shutting down. They only
    freed memory the process hands back on exit anyway, and took 0.2-0.4 s of CPU after every
    demo build (round 22). Objects are still released when their last reference goes (open files
    flushed and closed); atexit handlers (logging's flush) run as before."""
    gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    main()
