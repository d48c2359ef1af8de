"""Catch-up after downtime: the pure decision, then the same decision read from a real store,
real digests and the crontab lines with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import FakeEmbedder, file_source, make_settings

from pipeline import run
from pipeline.config import Settings
from pipeline.service import runner
from pipeline.service.catchup import plan_catch_up

E2E = Path(__file__).parent / "data" / "e2e" / "arxiv-2025-06-10.jsonl"
MON_0700 = datetime(2025, 6, 16, 7, 0, tzinfo=UTC)
WEEK_END = datetime(2025, 6, 16, tzinfo=UTC)


def test_plan_catch_up_runs_a_missed_ingest() -> None:
    plan = plan_catch_up(
        ingest_due=datetime(2025, 6, 13, 2, tzinfo=UTC),
        last_ingest=datetime(2025, 6, 12, 2, tzinfo=UTC),
        build_due=None,
        week_end=WEEK_END,
        has_digest=True,
    )
    assert plan == ("ingest",)


def test_plan_catch_up_skips_an_ingest_that_ran_after_it_was_due() -> None:
    due = datetime(2025, 6, 13, 2, tzinfo=UTC)
    kwargs = {"build_due": MON_0700, "week_end": WEEK_END, "has_digest": True}
    assert plan_catch_up(ingest_due=due, last_ingest=due, **kwargs) == ()  # type: ignore[arg-type]
    assert plan_catch_up(ingest_due=None, last_ingest=None, **kwargs) == ()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("build_due", "has_digest", "expected"),
    [
        (MON_0700, False, ("build",)),  # the scheduled build came after the week: missed
        (datetime(2025, 6, 9, 7, tzinfo=UTC), False, ()),  # not yet due for this week
        (MON_0700, True, ()),  # the digest exists
        (None, False, ()),
    ],
)
def test_plan_catch_up_builds_a_missing_digest_only_once_its_build_was_due(
    build_due: datetime | None, has_digest: bool, expected: tuple[str, ...]
) -> None:
    last = datetime(2025, 6, 16, 2, tzinfo=UTC)
    plan = plan_catch_up(
        ingest_due=last,
        last_ingest=last,
        build_due=build_due,
        week_end=WEEK_END,
        has_digest=has_digest,
    )
    assert plan == expected


def test_plan_catch_up_puts_ingest_before_build() -> None:
    plan = plan_catch_up(
        ingest_due=MON_0700,
        last_ingest=None,
        build_due=MON_0700,
        week_end=WEEK_END,
        has_digest=False,
    )
    assert plan == ("ingest", "build")


# --- read from a real store, digests folder and crontab lines ---------------------------------


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    (tmp_path / "papers.jsonl").write_bytes(E2E.read_bytes())
    return make_settings(
        tmp_path,
        schedule={"ingest_cron": "0 2 * * mon-fri", "build_cron": "0 7 * * mon"},
        sources=[file_source("papers", "papers.jsonl")],
    )


def _ingest(settings: Settings, now: datetime) -> None:
    with run.open_store(settings) as store:
        run_id = store.start_run("ingest", now)
        report = run.run_ingest(settings, store, FakeEmbedder(), now=now)
        store.finish_run(run_id, now, "ok", run.report_dict(report))


def _build(settings: Settings, now: datetime) -> str:
    with run.open_store(settings) as store:  # recorded, as run_command does
        run_id = store.start_run("build", now)
        report = run.run_build(settings, store, FakeEmbedder(), now=now)
        store.finish_run(run_id, now, "ok", run.report_dict(report))
    return report.week or ""


def test_catch_up_after_simulated_downtime(settings: Settings) -> None:
    at = lambda *args: datetime(*args, tzinfo=UTC)  # noqa: E731
    # Never run: a fresh install ingests and builds at once.
    assert runner.plan_catch_up(settings, now=at(2025, 6, 16, 8)) == ("ingest", "build")
    _ingest(settings, at(2025, 6, 16, 2, 0, 5))
    assert _build(settings, at(2025, 6, 16, 7)) == "2025-W24"
    assert runner.plan_catch_up(settings, now=at(2025, 6, 16, 8)) == ()

    # Down from Monday until Thursday morning: Tuesday to Thursday's ingests were missed.
    assert runner.plan_catch_up(settings, now=at(2025, 6, 19, 10)) == ("ingest",)
    _ingest(settings, at(2025, 6, 19, 10))
    assert runner.plan_catch_up(settings, now=at(2025, 6, 19, 11)) == ()

    # Down over the weekend until Monday 09:00: the ingest and the W25 digest were missed…
    assert runner.plan_catch_up(settings, now=at(2025, 6, 23, 9)) == ("ingest", "build")
    # …but at 05:00, after the 02:00 ingest, the 07:00 build is not due yet.
    _ingest(settings, at(2025, 6, 23, 2, 0, 5))
    assert runner.plan_catch_up(settings, now=at(2025, 6, 23, 5)) == ()
    assert runner.plan_catch_up(settings, now=at(2025, 6, 23, 9)) == ("build",)
    assert _build(settings, at(2025, 6, 23, 9)) == "2025-W25"
    assert runner.plan_catch_up(settings, now=at(2025, 6, 23, 9, 1)) == ()


def test_a_failed_ingest_is_retried_on_start(settings: Settings) -> None:
    now = datetime(2025, 6, 16, 2, 0, 5, tzinfo=UTC)
    with run.open_store(settings) as store:
        run_id = store.start_run("ingest", now)
        store.finish_run(run_id, now, "failed", {"error": "network down"})
    later = datetime(2025, 6, 16, 3, tzinfo=UTC)
    assert runner.plan_catch_up(settings, now=later)[0] == "ingest"
