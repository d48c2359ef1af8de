"""service.py: locked runs with a summary line, and `digest status` read from a real store."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import file_source, make_settings

from pipeline.cli import cli
from pipeline.config import Settings
from pipeline.errors import LockError, UsageError
from pipeline.models import Command
from pipeline.service import runner
from pipeline.store import Store

NOW = datetime(2025, 6, 18, 12, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(
        tmp_path, schedule={"ingest_cron": "0 2 * * mon-fri", "build_cron": "0 7 * * mon"}
    )


def _record(
    store: Store, command: str, status: str | None, started: datetime, **report: object
) -> None:
    run_id = store.start_run(command, started)
    if status is not None:
        store.finish_run(run_id, started + timedelta(seconds=42), status, report)


def test_run_locked_refuses_while_another_run_holds_the_lock(settings: Settings) -> None:
    with runner.run_lock(settings).hold("ingest"), pytest.raises(LockError) as caught:
        runner.run_locked(settings, Command.BUILD)
    assert "another run holds the lock: `digest ingest`" in str(caught.value)
    assert not settings.database_path.exists()  # refused before touching anything


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("bogus", "unknown command 'bogus'"),
        ("", "unknown command ''"),
        ("INGEST", "unknown command 'INGEST'"),
        (Command.SEND, "command 'send' does not run under the run lock"),
    ],
)
def test_run_locked_refuses_a_command_it_does_not_run(
    settings: Settings, command: str, message: str
) -> None:
    # Commands used to travel as strings and anything unknown silently meant `run`.
    with pytest.raises(UsageError) as caught:
        runner.run_locked(settings, command)  # type: ignore[arg-type]
    assert message in str(caught.value) and "ingest, build, run" in str(caught.value)
    assert not settings.database_path.exists()  # refused before the lock, the store or a digest
    assert not runner.run_lock(settings).path.exists()
    assert not settings.paths.digests_dir.exists()


def test_run_locked_takes_a_command_spelled_as_its_string(settings: Settings) -> None:
    report = runner.run_locked(settings, "build", week="2025-W24")  # type: ignore[arg-type]
    assert report.command is Command.BUILD


def test_run_locked_logs_one_summary_line(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="pipeline.service.runner"):
        report = runner.run_locked(settings, Command.BUILD, week="2025-W24")
    lines = [r.getMessage() for r in caplog.records if r.name == "pipeline.service.runner"]
    assert len(lines) == 1
    assert lines[0].startswith("build ok in ")
    assert " · No papers for 2025-W24" in lines[0]  # an empty week publishes nothing
    assert "embedded" not in lines[0]  # round 10: "0 embedded" said nothing a reader could use
    assert lines[0].endswith("no papers for 2025-W24: no digest written or sent")
    assert report.digest_path is None


def test_gather_status_reports_runs_sources_fire_times_and_digests(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        schedule={"ingest_cron": "0 2 * * mon-fri", "build_cron": "0 7 * * mon"},
        sources=[file_source("a", "a.jsonl"), file_source("b", "b.jsonl")],
    )
    with Store.open(settings.database_path) as store:
        _record(
            store,
            "ingest",
            "ok",
            NOW - timedelta(days=1),
            n_new=12,
            n_embedded=12,
            sources=[{"name": "a", "error": None}, {"name": "b", "error": "HTTP 503"}],
        )
        store.record_source_result("a", NOW, ok=True, n_entries=30, error=None)
        store.record_source_result("b", NOW, ok=False, n_entries=0, error="HTTP 503")
    digests = settings.paths.digests_dir
    digests.mkdir(parents=True)
    (digests / "2025-W24.md").write_text("# digest\n", encoding="utf-8")
    (digests / ".2025-W25.md.abc.tmp").write_text("half", encoding="utf-8")

    status = runner.gather_status(settings, now=NOW)
    (run,) = status.runs
    assert (run.command, run.status, run.duration_s, run.n_new, run.n_sources_failed) == (
        "ingest",
        "ok",
        42.0,
        12,
        1,
    )
    assert [(s.source, s.ok, s.last_error) for s in status.sources] == [
        ("a", True, None),
        ("b", False, "HTTP 503"),
    ]
    assert status.next_ingest == datetime(2025, 6, 19, 2, tzinfo=UTC)
    assert status.next_build == datetime(2025, 6, 23, 7, tzinfo=UTC)
    assert [d.week for d in status.digests] == ["2025-W24"]
    assert status.holder is None and status.healthy
    text = runner.describe_status(status)
    assert "b: FAILING (1x)" in text and "health: ok (last run ok)" in text


def test_a_run_whose_process_died_shows_as_abandoned_and_unhealthy(settings: Settings) -> None:
    with Store.open(settings.database_path) as store:
        _record(store, "ingest", "ok", NOW - timedelta(days=1))
        _record(store, "run", None, NOW - timedelta(hours=1))  # never finished, lock free
    status = runner.gather_status(settings, now=NOW)
    assert [r.status for r in status.runs] == ["abandoned", "ok"]
    assert not status.healthy


def test_a_run_in_progress_is_not_judged(settings: Settings) -> None:
    with runner.run_lock(settings).hold("run"), Store.open(settings.database_path) as store:
        _record(store, "ingest", "failed", NOW - timedelta(days=1), error="all sources failed")
        _record(store, "run", None, datetime.now(UTC))
        status = runner.gather_status(settings, now=NOW)
    assert [r.status for r in status.runs] == ["running", "failed"]
    assert status.holder is not None and status.holder.command == "run"
    assert status.last_run is not None and status.last_run.status == "failed"
    assert not status.healthy


def test_status_limit_1_during_a_run_still_judges_the_run_before_it(settings: Settings) -> None:
    # Round 29: `digest status --limit 1` (a health check keeping its output short) during a
    # run listed only that run, judged nothing ("no runs yet") and exited 0 after a failure.
    with runner.run_lock(settings).hold("run"), Store.open(settings.database_path) as store:
        _record(store, "ingest", "failed", NOW - timedelta(days=1), error="all sources failed")
        _record(store, "run", None, datetime.now(UTC))
        args = ["--config", str(settings.config_path), "status", "--limit", "1"]
        result = CliRunner().invoke(cli, args)
        as_json = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 1, result.output
    assert "health: FAILING (last run failed)" in result.output
    data = json.loads(as_json.output)
    assert [r["status"] for r in data["runs"]] == ["running"]
    assert data["last_run"]["status"] == "failed" and data["healthy"] is False


@pytest.mark.parametrize(("last", "code"), [("ok", 0), ("failed", 1), ("interrupted", 0)])
def test_status_command_exit_code_follows_the_last_run(
    settings: Settings, last: str, code: int
) -> None:
    with Store.open(settings.database_path) as store:
        _record(store, "build", "failed", NOW - timedelta(days=2), error="boom")
        _record(store, "ingest", last, NOW - timedelta(days=1))
    result = CliRunner().invoke(cli, ["--config", str(settings.config_path), "status", "--json"])
    assert result.exit_code == code, result.output
    data = json.loads(result.output)
    assert data["healthy"] is (code == 0)
    assert [r["status"] for r in data["runs"]] == [last, "failed"]
    assert data["runs"][1]["error"] == "boom"


def test_status_command_on_a_fresh_install(settings: Settings) -> None:
    result = CliRunner().invoke(cli, ["--config", str(settings.config_path), "status"])
    assert result.exit_code == 0, result.output
    assert "recent runs: none yet" in result.output
    assert "health: ok (no runs yet)" in result.output
    assert not settings.database_path.exists()  # status only reads


def test_a_second_serve_is_refused_and_names_the_first(settings: Settings) -> None:
    with runner.serve_lock(settings).hold("serve"):
        result = CliRunner().invoke(cli, ["--config", str(settings.config_path), "serve"])
    assert result.exit_code == 1
    assert "another run holds the lock: `digest serve` (pid" in result.output


def test_status_is_unhealthy_while_every_source_fails_though_the_last_run_was_a_build(
    tmp_path: Path,
) -> None:
    # Found following the README as a newcomer: under `serve`, an ingest whose only source
    # failed was followed by the catch-up build, recorded ok, so `digest status` said
    # "health: ok" and exited 0 while the feed had never been read; the health check
    # deploy.md gives (`digest -q status >/dev/null || notify-me`) would never fire.
    settings = make_settings(
        tmp_path,
        sources=[
            file_source("feed", tmp_path / "feed.jsonl"),
            file_source("other", tmp_path / "o"),
        ],
        schedule={"ingest_cron": "0 2 * * mon-fri", "build_cron": "0 7 * * mon"},
    )
    with Store.open(settings.database_path) as store:
        for day in (3, 2, 1):
            _record(store, "ingest", "failed", NOW - timedelta(days=day), error="all failed")
            for name in ("feed", "other"):
                store.record_source_result(
                    name, NOW - timedelta(days=day), ok=False, n_entries=0, error="HTTP 503"
                )
        _record(store, "build", "ok", NOW - timedelta(hours=20), week="2025-W24")
    status = runner.gather_status(settings, now=NOW)
    assert status.last_run is not None and status.last_run.status == "ok"
    assert not status.healthy
    assert "health: FAILING (every source failing)" in runner.describe_status(status)
    result = CliRunner().invoke(cli, ["--config", str(settings.config_path), "status"])
    assert result.exit_code == 1, result.output
    # One source of two failing is a partial failure, as before: healthy, the source FAILING.
    with Store.open(settings.database_path) as store:
        store.record_source_result("other", NOW, ok=True, n_entries=3, error=None)
    assert runner.gather_status(settings, now=NOW).healthy


def test_a_run_killed_before_the_clock_was_set_back_is_abandoned_while_another_runs(
    settings: Settings,
) -> None:
    # A build killed (kill -9, a power cut) while the clock ran an hour fast; NTP then set it
    # back, and the next run took the lock at an earlier time than the dead one had started.
    # The lock admits one run at a time: a run recorded before the one holding it is dead.
    # It read "running" beside the live run (status --json too), and last_run skipped it.
    with Store.open(settings.database_path) as store:
        _record(store, "ingest", "ok", datetime.now(UTC) - timedelta(days=1))
        _record(store, "build", None, datetime.now(UTC) + timedelta(hours=1))
    with runner.run_lock(settings).hold("run"), Store.open(settings.database_path) as store:
        _record(store, "run", None, datetime.now(UTC))
        status = runner.gather_status(settings, now=NOW)
    assert [r.status for r in status.runs] == ["running", "abandoned", "ok"]
    assert status.last_run is not None and status.last_run.status == "abandoned"
    assert not status.healthy
    data = runner.status_dict(status)
    assert [r["status"] for r in data["runs"]] == ["running", "abandoned", "ok"]


def test_status_names_the_schedule_serve_runs_after_the_config_was_edited(
    tmp_path: Path,
) -> None:
    # serve reads [schedule] once, when it starts; the user then moved the build to Tuesday
    # and status, which read the edited file, said "next build: Tuesday" while serve would
    # still build on Monday, and nothing said the edit waited for a restart.
    started = make_settings(
        tmp_path, schedule={"ingest_cron": "0 2 * * mon-fri", "build_cron": "0 7 * * mon"}
    )
    from pipeline.service import schedule

    with schedule.ServeLock(started).hold():
        edited = make_settings(
            tmp_path, schedule={"ingest_cron": "0 2 * * mon-fri", "build_cron": "0 7 * * tue"}
        )
        status = runner.gather_status(edited, now=NOW)  # a Wednesday
        text = runner.describe_status(status)
        data = runner.status_dict(status)
        result = CliRunner().invoke(cli, ["--config", str(edited.config_path), "status"])
    assert status.next_build == datetime(2025, 6, 23, 7, tzinfo=UTC)  # Monday, as serve fires
    assert status.schedule_not_applied
    assert "scheduled by: `digest serve` (pid" in text
    assert "restart digest serve to apply the edit" in text
    assert data["schedule_not_applied"] is True
    assert data["serve"]["schedule"] == ["0 2 * * mon-fri", "0 7 * * mon", "UTC"]
    assert "restart digest serve to apply the edit" in result.output, result.output
    # Restarted (or no serve at all): the config's lines, and nothing to say.
    with schedule.ServeLock(edited).hold():
        status = runner.gather_status(edited, now=NOW)
    assert status.next_build == datetime(2025, 6, 24, 7, tzinfo=UTC)
    assert not status.schedule_not_applied
    status = runner.gather_status(edited, now=NOW)
    assert status.serve is None and not status.schedule_not_applied
    assert "scheduled by" not in runner.describe_status(status)


def test_a_run_across_the_clock_set_back_has_no_negative_duration(settings: Settings) -> None:
    # NTP set the clock back an hour while a build ran: status said it took "-3558.0 s"
    # (duration_s -3558.0 in --json). Its wall-clock duration is unknown: '-' and null.
    with Store.open(settings.database_path) as store:
        run_id = store.start_run("build", NOW)
        store.finish_run(run_id, NOW - timedelta(seconds=3558), "ok", {"week": "2025-W24"})
    status = runner.gather_status(settings, now=NOW)
    (run,) = status.runs
    assert run.duration_s is None
    assert runner.status_dict(status)["runs"][0]["duration_s"] is None
    assert "-3558" not in runner.describe_status(status)
