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
        # Europe/Berlin falls back on 26 Oct 2025: 02:30 happens at 00:30 and at 01:30 UTC.
        (datetime(2025, 10, 26, 1, 45, tzinfo=UTC), datetime(2025, 10, 26, 1, 30, tzinfo=UTC)),
        (datetime(2025, 10, 26, 12, tzinfo=UTC), datetime(2025, 10, 26, 1, 30, tzinfo=UTC)),
        (datetime(2025, 10, 27, 1, tzinfo=UTC), datetime(2025, 10, 26, 1, 30, tzinfo=UTC)),
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
