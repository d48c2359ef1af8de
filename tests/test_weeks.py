"""run/weeks.py: which zones draw a week's boundaries, and which week holds a paper (pure)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from pipeline.run.weeks import boundary_zones, next_week, not_begun, week_of_day


def _days(moment: datetime) -> Callable[[str], date]:
    """A paper's day in each zone, for one published at `moment`."""
    return lambda zone: moment.astimezone(ZoneInfo(zone)).date()


def test_next_week_crosses_the_year() -> None:
    assert next_week("2025-W52") == "2026-W01"
    assert next_week("2026-W53") == "2027-W01"


def test_boundary_zones_are_those_recorded_else_the_readers() -> None:
    recorded = {"2025-W25": "UTC"}
    assert boundary_zones("2025-W25", recorded, "Asia/Tokyo") == ("UTC", "Asia/Tokyo")
    assert boundary_zones("2025-W24", recorded, "Asia/Tokyo") == ("Asia/Tokyo", "UTC")
    assert boundary_zones("2025-W30", recorded, "Asia/Tokyo") == ("Asia/Tokyo", "Asia/Tokyo")


def test_week_of_day_follows_a_boundary_drawn_in_another_zone() -> None:
    sunday_evening = _days(datetime(2025, 6, 15, 20, tzinfo=UTC))  # Monday 05:00 in Tokyo
    monday_early = _days(datetime(2025, 6, 16, 3, tzinfo=UTC))  # Sunday 20:00 in Los Angeles
    assert week_of_day(sunday_evening, {}, "Asia/Tokyo") == "2025-W25"
    assert week_of_day(sunday_evening, {"2025-W25": "UTC"}, "Asia/Tokyo") == "2025-W24"
    assert week_of_day(monday_early, {}, "America/Los_Angeles") == "2025-W24"
    assert week_of_day(monday_early, {"2025-W25": "UTC"}, "America/Los_Angeles") == "2025-W25"
    assert week_of_day(lambda zone: date(2025, 6, 18), {"2025-W25": "UTC"}, "UTC") == "2025-W25"


def test_a_week_has_begun_at_its_monday_midnight_in_the_zone_that_starts_it() -> None:
    sunday_late = datetime(2025, 6, 15, 23, 30, tzinfo=UTC)
    assert not_begun("2025-W25", "UTC", now=sunday_late) == (
        "week 2025-W25 has not begun yet: it starts on Monday 2025-06-16, 00:00 UTC"
    )
    assert not_begun("2025-W25", "UTC", now=datetime(2025, 6, 16, tzinfo=UTC)) is None
    assert not_begun("2025-W25", "Asia/Tokyo", now=sunday_late) is None  # Monday 08:30 there
    assert not_begun("2025-W24", "UTC", now=sunday_late) is None  # under way: not refused
