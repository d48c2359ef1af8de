"""crontab.py: 5- and 6-field lines, previous and next fire times around a moment."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.service.crontab import early_build, make_trigger, next_fire, previous_fire


def test_previous_and_next_fire_of_a_weekday_line() -> None:
    trigger = make_trigger("0 2 * * mon-fri", "UTC")
    saturday = datetime(2025, 6, 14, 12, 0, tzinfo=UTC)
    assert previous_fire(trigger, saturday) == datetime(2025, 6, 13, 2, 0, tzinfo=UTC)
    assert next_fire(trigger, saturday) == datetime(2025, 6, 16, 2, 0, tzinfo=UTC)


def test_previous_fire_includes_the_moment_itself_and_next_excludes_it() -> None:
    trigger = make_trigger("0 7 * * mon", "UTC")
    monday_seven = datetime(2025, 6, 16, 7, 0, tzinfo=UTC)
    assert previous_fire(trigger, monday_seven) == monday_seven
    assert next_fire(trigger, monday_seven) == datetime(2025, 6, 23, 7, 0, tzinfo=UTC)


def test_a_sixth_leading_field_gives_seconds() -> None:
    trigger = make_trigger("*/5 * * * * *", "UTC")
    now = datetime(2025, 6, 16, 7, 0, 12, 500_000, tzinfo=UTC)
    assert previous_fire(trigger, now) == datetime(2025, 6, 16, 7, 0, 10, tzinfo=UTC)
    assert next_fire(trigger, now) == datetime(2025, 6, 16, 7, 0, 15, tzinfo=UTC)


def test_lines_are_read_in_their_time_zone() -> None:
    trigger = make_trigger("0 7 * * mon", "Europe/Berlin")  # CEST = UTC+2 in June
    fire = next_fire(trigger, datetime(2025, 6, 15, tzinfo=UTC))
    assert fire is not None and fire.astimezone(UTC) == datetime(2025, 6, 16, 5, 0, tzinfo=UTC)


def test_previous_fire_finds_a_yearly_line() -> None:
    trigger = make_trigger("0 0 1 1 *", "UTC")
    now = datetime(2025, 12, 31, tzinfo=UTC)
    assert previous_fire(trigger, now) == datetime(2025, 1, 1, tzinfo=UTC)


def _previous_fire_within(trigger: object, now: datetime, timeout_s: float = 10.0) -> object:
    """previous_fire run in a thread: a hang fails the test instead of stalling the suite."""
    found: list[object] = []
    worker = threading.Thread(target=lambda: found.append(previous_fire(trigger, now)), daemon=True)
    worker.start()
    worker.join(timeout_s)
    assert found, f"previous_fire did not return within {timeout_s} s at {now}"
    return found[0]


@pytest.mark.parametrize(
    "now, expected",
    [
        # Europe/Berlin falls back on 26 Oct 2025: 02:30 happens at 00:30 and at 01:30 UTC;
        # the line fires at the first (round 29), as serve's scheduler does.
        (datetime(2025, 10, 26, 1, 45, tzinfo=UTC), datetime(2025, 10, 26, 0, 30, tzinfo=UTC)),
        (datetime(2025, 10, 26, 12, tzinfo=UTC), datetime(2025, 10, 26, 0, 30, tzinfo=UTC)),
        (datetime(2025, 10, 27, 1, tzinfo=UTC), datetime(2025, 10, 26, 0, 30, tzinfo=UTC)),
        (datetime(2025, 10, 27, 23, tzinfo=UTC), datetime(2025, 10, 27, 1, 30, tzinfo=UTC)),
        (datetime(2025, 10, 28, 0, tzinfo=UTC), datetime(2025, 10, 27, 1, 30, tzinfo=UTC)),
    ],
)
def test_previous_fire_returns_across_a_dst_fall_back(now: datetime, expected: datetime) -> None:
    # Round 9: APScheduler 3 answers "the fire after 02:30 CET" with that same 02:30 CET, so
    # previous_fire looped forever for a day after the change: `digest status` hung, and
    # `digest serve`'s catch-up job held the only job thread, so no ingest or build ran again.
    trigger = make_trigger("30 2 * * *", "Europe/Berlin")
    fire = _previous_fire_within(trigger, now)
    assert isinstance(fire, datetime) and fire.astimezone(UTC) == expected


def test_previous_fire_of_a_seconds_line_across_a_dst_fall_back() -> None:
    trigger = make_trigger("*/20 * * * * *", "Europe/Berlin")
    for minutes in (0, 29, 61, 119):
        now = datetime(2025, 10, 26, 0, 0, 10, tzinfo=UTC) + timedelta(minutes=minutes)
        fire = _previous_fire_within(trigger, now)
        assert isinstance(fire, datetime) and fire.astimezone(UTC) == now - timedelta(seconds=10)


@pytest.mark.parametrize("line", ["0 2 * *", "* * * * * * *", "61 * * * *", "0 7 * * funday"])
def test_make_trigger_rejects_bad_lines(line: str) -> None:
    with pytest.raises(ValueError):
        make_trigger(line, "UTC")


def test_a_utc_monday_build_comes_before_the_week_ends_in_los_angeles() -> None:
    # Round 10 (found from outside): [schedule] timezone left at UTC with [digest] timezone
    # "America/Los_Angeles" fires the Monday 07:00 build on Sunday 23:00 (winter) there, so
    # each "last-complete" build made the digest of the week before.
    now = datetime(2025, 12, 1, tzinfo=UTC)
    early = early_build("0 7 * * mon", "UTC", "America/Los_Angeles", now)
    assert early is not None
    here, there = early
    assert (here.strftime("%a %H:%M"), there.strftime("%a %H:%M")) == ("Mon 07:00", "Sun 23:00")
    # East of UTC, or read in the digest's own zone, the week has ended when it fires.
    assert early_build("0 7 * * mon", "UTC", "Asia/Tokyo", now) is None
    assert early_build("0 7 * * mon", "America/Los_Angeles", "America/Los_Angeles", now) is None
    # In summer (UTC-7) Monday 07:00 UTC is Monday 00:00 there: on time; the next winter's is not.
    summer = datetime(2025, 6, 1, tzinfo=UTC)
    found = early_build("0 7 * * mon", "UTC", "America/Los_Angeles", summer)
    assert found is not None and found[0].month == 11


def _fires_as_the_scheduler_asks(line: str, start: datetime, n: int) -> list[datetime]:
    """The first `n` fire times after `start` (UTC), asked as APScheduler's scheduler asks after
    each fire: "the fire after this one", a moment (on the UTC clock) after it ran."""
    trigger = make_trigger(line, "Europe/Berlin")
    fire = trigger.get_next_fire_time(None, start)
    fires = []
    while fire is not None and len(fires) < n:
        fires.append(fire.astimezone(UTC))
        fire = trigger.get_next_fire_time(fire, fire.astimezone(UTC) + timedelta(milliseconds=50))
    return fires


def _utc(day: int, hour: int, minute: int = 0, month: int = 10) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    "line, start, expected",
    [
        # Europe/Berlin falls back on 26 Oct 2025: 02:00-03:00 happens at 00:00 and 01:00 UTC.
        # A daily 02:30 fires once, at the first 02:30 (00:30 UTC), then the next day.
        ("30 2 * * *", _utc(25, 12), [_utc(26, 0, 30), _utc(27, 1, 30), _utc(28, 1, 30)]),
        ("0 2 * * sun", _utc(25, 12), [_utc(26, 0), _utc(2, 1, month=11)]),
        # An hourly line fires each hour that passes, both 02:00s included.
        ("0 * * * *", _utc(25, 23, 30), [_utc(26, h) for h in range(5)]),
        (
            "*/20 * * * *",
            _utc(25, 23, 50),
            [_utc(26, 0) + timedelta(minutes=20 * k) for k in range(7)],
        ),
        # Spring forward on 30 Mar 2025 skips 02:00-03:00: 02:30 fires at 03:30 CEST, once.
        ("30 2 * * *", _utc(29, 12, month=3), [_utc(30, 1, 30, month=3), _utc(31, 0, 30, month=3)]),
        ("0 * * * *", _utc(29, 23, 30, month=3), [_utc(30, h, month=3) for h in range(4)]),
    ],
)
def test_a_fixed_time_fires_once_across_a_dst_change(
    line: str, start: datetime, expected: list[datetime]
) -> None:
    # Round 29: `digest serve` with a local [schedule] timezone ran a daily 02:30 job (and a
    # weekly Sunday 02:00 build) twice on the night the clocks go back, an hour apart: cron
    # runs a job at a fixed time once. A line whose hour is "*" fires in both passes.
    assert _fires_as_the_scheduler_asks(line, start, len(expected)) == expected


def test_the_schedulers_own_loop_fires_a_daily_line_once_across_a_fall_back() -> None:
    from apscheduler.job import Job
    from apscheduler.schedulers.background import BackgroundScheduler

    trigger = make_trigger("30 2 * * *", "Europe/Berlin")
    job = Job(BackgroundScheduler(), id="build", func=print, trigger=trigger, executor="default",
              args=(), kwargs={}, name="build", misfire_grace_time=3600, coalesce=True,
              max_instances=1, next_run_time=_utc(26, 0, 30))  # fmt: skip
    # What APScheduler's scheduler asks when it wakes just after the second 02:30 (CET).
    assert job._get_run_times(_utc(26, 1, 30) + timedelta(milliseconds=50)) == [_utc(26, 0, 30)]
