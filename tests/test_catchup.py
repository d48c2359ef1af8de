"""Catch-up after downtime: the pure decision, then the same decision read from a real store,
real digests and the crontab lines with an injected clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import FakeEmbedder, file_source, mail_to_loopback, make_settings
from smtpserver import free_port, smtp_server

from pipeline import run
from pipeline.config import Settings
from pipeline.digest.build import iso_week
from pipeline.models import Command
from pipeline.service import runner
from pipeline.service.catchup import failed_before, missed_weeks, plan_catch_up, skipped_before

E2E = Path(__file__).parent / "data" / "e2e" / "arxiv-2025-06-10.jsonl"
MON_0700 = datetime(2025, 6, 16, 7, 0, tzinfo=UTC)
WEEK_END = datetime(2025, 6, 16, tzinfo=UTC)


W24 = [("2025-W24", WEEK_END)]


def _plan(**kwargs: object) -> tuple[str, ...]:
    return tuple(map(str, plan_catch_up(**kwargs)))  # type: ignore[arg-type]


def test_plan_catch_up_runs_a_missed_ingest() -> None:
    plan = _plan(
        ingest_due=datetime(2025, 6, 13, 2, tzinfo=UTC),
        last_ingest=datetime(2025, 6, 12, 2, tzinfo=UTC),
        build_due=None,
        weeks=W24,
        done={"2025-W24"},
    )
    assert plan == ("ingest",)


def test_plan_catch_up_skips_an_ingest_that_ran_after_it_was_due() -> None:
    due = datetime(2025, 6, 13, 2, tzinfo=UTC)
    kwargs = {"build_due": MON_0700, "weeks": W24, "done": {"2025-W24"}}
    assert _plan(ingest_due=due, last_ingest=due, **kwargs) == ()
    assert _plan(ingest_due=None, last_ingest=None, **kwargs) == ()


@pytest.mark.parametrize(
    ("build_due", "done", "expected"),
    [
        (MON_0700, set(), ("build 2025-W24",)),  # the scheduled build came after the week: missed
        (datetime(2025, 6, 9, 7, tzinfo=UTC), set(), ()),  # not yet due for this week
        (MON_0700, {"2025-W24"}, ()),  # the digest exists
        (None, set(), ()),
    ],
)
def test_plan_catch_up_builds_a_missing_digest_only_once_its_build_was_due(
    build_due: datetime | None, done: set[str], expected: tuple[str, ...]
) -> None:
    last = datetime(2025, 6, 16, 2, tzinfo=UTC)
    plan = _plan(ingest_due=last, last_ingest=last, build_due=build_due, weeks=W24, done=done)
    assert plan == expected


def test_plan_catch_up_puts_ingest_before_build() -> None:
    plan = _plan(ingest_due=MON_0700, last_ingest=None, build_due=MON_0700, weeks=W24, done=())
    assert plan == ("ingest", "build 2025-W24")


def test_missed_weeks_are_those_since_the_last_done_oldest_first_and_capped() -> None:
    assert missed_weeks("2025-W24", {"2025-W21"}, limit=8) == ["2025-W22", "2025-W23", "2025-W24"]
    assert missed_weeks("2025-W02", {"2024-W51"}, limit=8) == ["2024-W52", "2025-W01", "2025-W02"]
    assert missed_weeks("2025-W24", {"2025-W23"}, limit=8) == ["2025-W24"]
    assert missed_weeks("2025-W24", set(), limit=8) == ["2025-W24"]  # a new install: this week
    assert missed_weeks("2025-W24", {"2024-W10"}, limit=3) == ["2025-W22", "2025-W23", "2025-W24"]
    assert missed_weeks("2025-W24", {"2026-W01"}, limit=8) == ["2025-W24"]  # a later week: clock


def test_missed_weeks_with_none_done_reach_back_to_the_first_week_built() -> None:
    # A new install whose first digest (W22) was written but not e-mailed: with nothing done,
    # catch-up looked at the current week alone, and W22 was never mailed.
    assert missed_weeks("2025-W24", set(), limit=8, tried={"2025-W22"}) == [
        "2025-W22",
        "2025-W23",
        "2025-W24",
    ]
    assert missed_weeks("2025-W24", set(), limit=2, tried={"2025-W20"}) == ["2025-W23", "2025-W24"]
    assert missed_weeks("2025-W24", set(), limit=8, tried={"2025-W25"}) == ["2025-W24"]
    done, tried = {"2025-W21"}, {"2025-W19", "2025-W21", "2025-W23"}
    assert missed_weeks("2025-W24", done, limit=8, tried=tried) == [
        "2025-W22",
        "2025-W23",
        "2025-W24",
    ]


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


def _build(settings: Settings, now: datetime, week: str | None = None) -> str:
    with run.open_store(settings) as store:  # recorded, as run_command does
        run_id = store.start_run("build", now)
        report = run.run_build(settings, store, FakeEmbedder(), now=now, week=week)
        status = "failed" if report.error else "ok"
        store.finish_run(run_id, now, status, run.report_dict(report))
    return report.week or ""


def _planned(settings: Settings, now: datetime) -> tuple[str, ...]:
    return tuple(map(str, runner.plan_catch_up(settings, now=now)))


def test_catch_up_after_simulated_downtime(settings: Settings) -> None:
    at = lambda *args: datetime(*args, tzinfo=UTC)  # noqa: E731
    # Never run: a fresh install ingests and builds at once.
    assert _planned(settings, now=at(2025, 6, 16, 8)) == ("ingest", "build 2025-W24")
    _ingest(settings, at(2025, 6, 16, 2, 0, 5))
    assert _build(settings, at(2025, 6, 16, 7)) == "2025-W24"
    assert _planned(settings, now=at(2025, 6, 16, 8)) == ()

    # Down from Monday until Thursday morning: Tuesday to Thursday's ingests were missed.
    assert _planned(settings, now=at(2025, 6, 19, 10)) == ("ingest",)
    _ingest(settings, at(2025, 6, 19, 10))
    assert _planned(settings, now=at(2025, 6, 19, 11)) == ()

    # Down over the weekend until Monday 09:00: the ingest and the W25 digest were missed…
    assert _planned(settings, now=at(2025, 6, 23, 9)) == ("ingest", "build 2025-W25")
    # …but at 05:00, after the 02:00 ingest, the 07:00 build is not due yet.
    _ingest(settings, at(2025, 6, 23, 2, 0, 5))
    assert _planned(settings, now=at(2025, 6, 23, 5)) == ()
    assert _planned(settings, now=at(2025, 6, 23, 9)) == ("build 2025-W25",)
    assert _build(settings, at(2025, 6, 23, 9)) == "2025-W25"
    assert _planned(settings, now=at(2025, 6, 23, 9, 1)) == ()


def test_a_failed_ingest_is_retried_on_start(settings: Settings) -> None:
    now = datetime(2025, 6, 16, 2, 0, 5, tzinfo=UTC)
    with run.open_store(settings) as store:
        run_id = store.start_run("ingest", now)
        store.finish_run(run_id, now, "failed", {"error": "network down"})
    later = datetime(2025, 6, 16, 3, tzinfo=UTC)
    assert str(runner.plan_catch_up(settings, now=later)[0]) == "ingest"


# --- weeks missed while down, and e-mails that failed -------------------------------------------

AT = datetime(2025, 6, 26, 10, tzinfo=UTC)  # a Thursday in W26: W23, W24 and W25 are complete


def _three_weeks(tmp_path: Path, port: int) -> Settings:
    """Two papers announced in each of W23, W24, W25; W22 built on 2 June; send_after_build."""
    days = {"2025-W23": "2025-06-03", "2025-W24": "2025-06-10", "2025-W25": "2025-06-17"}
    lines = [
        json.dumps(
            {
                "id": f"arxiv:2506.0{n}{k}",
                "title": f"Sparse attention study {n}{k} for {week}",
                "abstract": "We study sparse attention for long-context language models.",
                "announced": day,
            }
        )
        for n, (week, day) in enumerate(days.items(), start=1)
        for k in range(2)
    ]
    (tmp_path / "papers.jsonl").write_text("\n".join(lines) + "\n")
    settings = make_settings(
        tmp_path,
        schedule={"ingest_cron": "0 2 * * mon-fri", "build_cron": "0 7 * * mon"},
        email=mail_to_loopback(port),
        sources=[file_source("papers", "papers.jsonl")],
    )
    with run.open_store(settings) as store:
        run_id = store.start_run("build", datetime(2025, 6, 2, 7, tzinfo=UTC))
        store.finish_run(run_id, datetime(2025, 6, 2, 7, tzinfo=UTC), "ok", {"week": "2025-W22"})
    return settings


def _run_plan(settings: Settings, now: datetime) -> None:
    for step in runner.plan_catch_up(settings, now=now):
        if step.week is None:
            _ingest(settings, now)
        else:
            _build(settings, now, step.week)


def test_three_weeks_down_builds_and_mails_each_missed_week_once_in_order(
    tmp_path: Path,
) -> None:
    # Down from 2 June to 26 June: catch-up built W25 only, and W23 and W24 were never built.
    with smtp_server("none") as (inbox, port, _):
        settings = _three_weeks(tmp_path, port)
        assert _planned(settings, AT) == (
            "ingest",
            "build 2025-W23",
            "build 2025-W24",
            "build 2025-W25",
        )
        _run_plan(settings, AT)
        assert _planned(settings, AT) == ()  # a restart right after plans nothing more
        _run_plan(settings, AT)
    subjects = [str(m["Subject"]) for m in inbox.messages]
    assert [s[-8:] for s in subjects] == ["2025-W23", "2025-W24", "2025-W25"]
    for week in ("2025-W23", "2025-W24", "2025-W25"):
        assert (settings.paths.digests_dir / f"{week}.md").exists()


def test_a_week_whose_e_mail_failed_is_built_and_mailed_again_on_catch_up(
    tmp_path: Path,
) -> None:
    # The digest was written but the SMTP server was down: catch-up said "nothing was missed"
    # (the .md existed), so the week was never e-mailed.
    settings = _three_weeks(tmp_path, free_port())  # nothing listens there
    _ingest(settings, datetime(2025, 6, 23, 2, tzinfo=UTC))
    for week in ("2025-W23", "2025-W24"):
        _build(settings, datetime(2025, 6, 23, 7, tzinfo=UTC), week)
    with run.open_store(settings) as store:
        store.save_delivery("2025-W23", datetime(2025, 6, 23, 7, tzinfo=UTC), ["me@example.org"])
    assert _build(settings, datetime(2025, 6, 23, 7, tzinfo=UTC)) == "2025-W25"  # not sent
    assert (settings.paths.digests_dir / "2025-W25.md").exists()
    _ingest(settings, AT)
    assert _planned(settings, AT) == ("build 2025-W24", "build 2025-W25")  # W23 was sent
    with smtp_server("none") as (inbox, port, _):
        settings = _three_weeks(tmp_path, port)
        _run_plan(settings, AT)
        assert _planned(settings, AT) == ()
        _run_plan(settings, AT)
    assert [str(m["Subject"])[-8:] for m in inbox.messages] == ["2025-W24", "2025-W25"]


def test_digest_run_after_three_weeks_down_builds_and_mails_each_missed_week_once_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Round 9: `digest serve` caught up every missed week, but cron and systemd timers call
    # `digest run`, which built only the last complete week: after three weeks down, W23 and
    # W24 never got a digest or an e-mail.
    monkeypatch.setattr(run, "make_embedder", lambda settings: FakeEmbedder())
    with smtp_server("none") as (inbox, port, _):
        settings = _three_weeks(tmp_path, port)
        assert runner.missed_before(settings, now=AT) == ["2025-W23", "2025-W24"]
        report = runner.run_locked(settings, Command.RUN, now=AT)
        assert report.error is None and report.week == "2025-W25"
        assert [c.week for c in report.caught_up] == ["2025-W23", "2025-W24"]
        assert "missed week 2025-W23 (2 papers)" in run.describe_report(report)
        assert runner.missed_before(settings, now=AT) == []
        runner.run_locked(settings, Command.RUN, now=AT)  # the next day's run: nothing more
    assert [str(m["Subject"])[-8:] for m in inbox.messages] == ["2025-W23", "2025-W24", "2025-W25"]
    for week in ("2025-W23", "2025-W24", "2025-W25"):
        assert (settings.paths.digests_dir / f"{week}.md").exists()


def test_digest_run_of_a_given_week_or_a_new_install_builds_only_that_week(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run, "make_embedder", lambda settings: FakeEmbedder())
    settings = _three_weeks(tmp_path, free_port())
    report = runner.run_locked(settings, Command.RUN, week="2025-W25", now=AT)
    assert report.caught_up == []  # a week given on the command line is built alone
    (tmp_path / "new").mkdir()
    fresh = make_settings(tmp_path / "new", sources=[file_source("p", tmp_path / "papers.jsonl")])
    assert runner.missed_before(fresh, now=AT) == []  # nothing was ever built: only this week


def test_weeks_left_out_for_the_catch_up_limit_are_named() -> None:
    weeks = missed_weeks("2025-W24", {"2024-W10"}, limit=3)
    assert skipped_before(weeks, {"2024-W10"}) == "2025-W21"
    assert skipped_before(["2025-W22", "2025-W23"], {"2025-W21"}) is None
    assert skipped_before(["2025-W24"], set()) is None


def test_a_week_built_before_it_ended_is_built_again_on_catch_up(tmp_path: Path) -> None:
    """A user looked at the week under way (`digest build --week 2025-W24` on Wednesday), and the
    machine slept through Monday's scheduled build. The catch-up took W24 for done (its last
    build succeeded), so its digest kept Wednesday's papers alone, and the papers of Thursday
    to Sunday were in no digest: W25's build lists a week's late papers only when that week was
    built after it ended. A week whose last build came before it ended is built again once it
    has ended and its scheduled build has passed, as the scheduled build would have."""
    papers = tmp_path / "papers.jsonl"

    def add(paper: str, day: str) -> None:
        record = {
            "id": f"arxiv:{paper}",
            "title": f"Sparse attention study {paper}",
            "abstract": "We study sparse attention for long-context language models.",
            "announced": day,
        }
        with papers.open("a", encoding="utf-8") as file:
            file.write(json.dumps(record) + "\n")

    add("2506.00001", "2025-06-03")  # W23
    settings = make_settings(
        tmp_path,
        schedule={"ingest_cron": "0 2 * * mon-fri", "build_cron": "0 7 * * mon"},
        sources=[file_source("papers", papers)],
    )
    at = lambda *args: datetime(*args, tzinfo=UTC)  # noqa: E731
    _ingest(settings, at(2025, 6, 9, 2))
    assert _build(settings, at(2025, 6, 9, 7)) == "2025-W23"
    add("2506.00002", "2025-06-10")  # Tuesday of W24
    _ingest(settings, at(2025, 6, 11, 2))
    assert _build(settings, at(2025, 6, 11, 12), "2025-W24") == "2025-W24"  # a look mid-week
    add("2506.00003", "2025-06-12")  # Thursday of W24
    _ingest(settings, at(2025, 6, 13, 2))
    # Asleep from Friday to Tuesday: Monday's 02:00 ingest and 07:00 build were missed.
    assert _planned(settings, at(2025, 6, 17, 9)) == ("ingest", "build 2025-W24")
    _run_plan(settings, at(2025, 6, 17, 9))
    assert _planned(settings, at(2025, 6, 17, 10)) == ()
    listed = json.loads((settings.paths.digests_dir / "2025-W24.json").read_text("utf-8"))
    ids = {p["paper_id"] for s in listed["sections"] for p in s["papers"]}
    assert ids == {"arxiv:2506.00002", "arxiv:2506.00003"}


def _latest_after_three_weeks_down(tmp_path: Path, port: int) -> Settings:
    """`[digest] week = "latest"`: W22's paper ingested and its digest mailed on 2 June; the
    papers of W23, W24 and W25 are in the source (a backfill's) but not yet in the store."""
    papers = tmp_path / "papers.jsonl"
    old = {"id": "arxiv:2505.00001", "title": "Sparse attention study for 2025-W22",
           "abstract": "We study sparse attention for long-context language models.",
           "announced": "2025-05-27"}  # fmt: skip
    papers.write_text(json.dumps(old) + "\n")
    settings = make_settings(
        tmp_path,
        digest={"week": "latest"},
        schedule={"ingest_cron": "0 2 * * mon-fri", "build_cron": "0 7 * * mon"},
        email=mail_to_loopback(port),
        sources=[file_source("papers", "papers.jsonl")],
    )
    _ingest(settings, datetime(2025, 6, 2, 2, tzinfo=UTC))
    assert _build(settings, datetime(2025, 6, 2, 7, tzinfo=UTC)) == "2025-W22"
    _three_weeks(tmp_path, port)  # writes W23-W25's papers into papers.jsonl
    with papers.open("a") as f:
        f.write(json.dumps(old) + "\n")
    return settings


def test_digest_run_with_week_latest_after_three_weeks_down_builds_each_missed_week_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Round 29: with "latest", `digest run` chose the weeks it had missed before its ingest,
    # when the newest week in the store was still W22: it built and mailed W25 alone, and W23
    # and W24 only on the next day's run, after W25.
    monkeypatch.setattr(run, "make_embedder", lambda settings: FakeEmbedder())
    with smtp_server("none") as (inbox, port, _):
        settings = _latest_after_three_weeks_down(tmp_path, port)
        inbox.messages.clear()
        report = runner.run_locked(settings, Command.RUN, now=AT)
        assert report.error is None and report.week == "2025-W25"
        assert [c.week for c in report.caught_up] == ["2025-W23", "2025-W24"]
        runner.run_locked(settings, Command.RUN, now=AT)  # the next day's run: nothing more
    assert [str(m["Subject"])[-8:] for m in inbox.messages] == ["2025-W23", "2025-W24", "2025-W25"]


def test_runs_over_90_days_old_are_forgotten_but_not_what_status_and_catch_up_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Round 29: the runs table was never pruned (hourly ingests: about 5 MB a year). A year of
    # daily ingests and weekly builds before the three weeks down of `_three_weeks`.
    monkeypatch.setattr(run, "make_embedder", lambda settings: FakeEmbedder())
    settings = _three_weeks(tmp_path, free_port())
    report = {"n_new": 5, "sources": [{"name": "papers", "n_entries": 40, "error": None}]}
    with run.open_store(settings) as store:
        for day in range(366):
            at = datetime(2024, 6, 1, 2, tzinfo=UTC) + timedelta(days=day)
            store.finish_run(store.start_run("ingest", at), at, "ok", report)
            if at.weekday() == 0:  # a build on Mondays: the week before; one failed, then redone
                week = iso_week(at.date() - timedelta(days=7))
                for status in ("failed", "ok") if day < 7 else ("ok",):
                    store.finish_run(store.start_run("build", at), at, status, {"week": week})
        builds = store.list_week_builds()
    assert runner.missed_before(settings, now=AT) == ["2025-W23", "2025-W24"]

    runner.run_locked(settings, Command.INGEST, now=AT)  # forgets what it may

    with run.open_store(settings, writing=False) as store:
        kept = store.list_runs(10_000)
        assert store.list_week_builds() == builds  # each week's latest build, as catch-up reads
        last_ok = store.get_last_run(("ingest", "run"), status="ok")
    assert last_ok is not None and last_ok.started == AT
    ingests = [r.started for r in kept if r.command == "ingest"]
    assert min(ingests) >= AT - timedelta(days=90) - timedelta(days=20)  # the newest 20 are kept
    assert len(kept) < 150
    assert runner.missed_before(settings, now=AT) == ["2025-W23", "2025-W24"]
    status = runner.gather_status(settings, now=AT)
    assert len(status.runs) == 10 and status.runs[0].started == AT and status.healthy


def test_a_week_whose_e_mail_failed_before_later_weeks_were_mailed_is_mailed_on_catch_up(
    tmp_path: Path,
) -> None:
    # Round 29: three weeks down; the catch-up's first build (W23) found the SMTP server not
    # yet reachable, and W24 and W25 went out. W23 lay before the last week done, where the
    # catch-up did not look: it was never e-mailed, and status said all was well.
    settings = _three_weeks(tmp_path, free_port())  # nothing listens there
    _ingest(settings, AT)
    _build(settings, AT, "2025-W23")
    with smtp_server("none") as (inbox, port, _):
        settings = _three_weeks(tmp_path, port)
        for week in ("2025-W24", "2025-W25"):
            _build(settings, AT, week)
        assert _planned(settings, AT) == ("build 2025-W23",)
        assert runner.missed_before(settings, now=AT) == ["2025-W23"]
        _run_plan(settings, AT)
        assert _planned(settings, AT) == ()
    assert [str(m["Subject"])[-8:] for m in inbox.messages] == ["2025-W24", "2025-W25", "2025-W23"]


def test_failed_before_names_the_tried_weeks_not_done_within_the_limit() -> None:
    weeks = ["2025-W25"]
    done = {"2025-W22", "2025-W24"}
    tried = {"2025-W10", "2025-W22", "2025-W23", "2025-W24"}
    assert failed_before(weeks, done, tried, limit=8) == ["2025-W23"]  # W10: over 8 weeks back
    assert failed_before(weeks, done | {"2025-W23"}, tried, limit=8) == []
    assert failed_before([], done, tried, limit=8) == []
