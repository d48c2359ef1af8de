"""Which ISO week a build means, and which time zones draw its boundaries: pure, given the
newest stored day, the clock, a timezone and the boundaries recorded by earlier digests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pipeline.digest.build import iso_week, week_bounds

__all__ = [
    "boundary_zones",
    "earlier_weeks",
    "iso_week",
    "next_week",
    "not_begun",
    "resolve_week",
    "week_bounds",
    "week_end",
    "week_of_day",
    "week_start",
]


def resolve_week(choice: str, *, latest_day: date | None, now: datetime, timezone: str) -> str:
    """'last-complete' | 'latest' | 'YYYY-Www' → an ISO week.

    'latest' is the week of `latest_day` (the newest paper stored) but never later than today's
    (a feed's paper dated 9999-12-31 crashed every build); with no papers, and for
    'last-complete', the week before `now` in `timezone`.
    """
    if choice not in ("last-complete", "latest"):
        return choice
    today = now.astimezone(ZoneInfo(timezone)).date()
    if choice == "latest" and latest_day is not None:
        return iso_week(min(latest_day, today))
    return iso_week(today - timedelta(days=7))


def week_start(week: str, zone: str) -> datetime:
    """The moment an ISO week begins: its Monday, 00:00 in `zone`."""
    monday, _ = week_bounds(week)
    return datetime(monday.year, monday.month, monday.day, tzinfo=ZoneInfo(zone))


def week_end(week: str, zone: str) -> datetime:
    """The moment an ISO week ends: the Monday after it, 00:00 in `zone`."""
    return week_start(next_week(week), zone)


def not_begun(week: str, zone: str, *, now: datetime) -> str | None:
    """Why `week` cannot be built at `now`: it has not begun (its Monday 00:00 in `zone`, the
    zone that draws its start, is later); None once it has, the week under way included."""
    start = week_start(week, zone)
    if now >= start:
        return None
    day = start.date().isoformat()
    return f"week {week} has not begun yet: it starts on Monday {day}, 00:00 {zone}"


def earlier_weeks(week: str, n: int) -> list[str]:
    """The `n` ISO weeks before `week`, oldest first."""
    monday, _ = week_bounds(week)
    return [iso_week(monday - timedelta(weeks=k)) for k in range(n, 0, -1)]


def next_week(week: str) -> str:
    """The ISO week after `week`."""
    monday, _ = week_bounds(week)
    return iso_week(monday + timedelta(weeks=1))


def boundary_zones(week: str, recorded: Mapping[str, str], timezone: str) -> tuple[str, str]:
    """The time zones in which `week` starts (its Monday 00:00) and ends (the next Monday's).

    A boundary is drawn in the zone the first digest on either side of it drew it in
    (`recorded`: week → the zone of the boundary that starts it), else in `timezone`
    ([digest] timezone). So after a change of timezone, or an upgrade from UTC weeks, the week
    after the last one built starts where that digest ended: none of its papers is listed
    again, and none it left to the next week is lost.
    """
    return recorded.get(week, timezone), recorded.get(next_week(week), timezone)


def week_of_day(day_in: Callable[[str], date], recorded: Mapping[str, str], timezone: str) -> str:
    """The week whose boundaries (`boundary_zones`) hold a paper whose day in a zone is
    `day_in(zone)`. `recorded` needs the week of its day in `timezone` and the week after.

    Zones are at most a day or two apart, so a paper moves at most to a neighbouring week.
    """
    week = iso_week(day_in(timezone))
    first, last = boundary_zones(week, recorded, timezone)
    monday, sunday = week_bounds(week)
    if day_in(first) < monday:
        return iso_week(monday - timedelta(weeks=1))
    if day_in(last) > sunday:
        return next_week(week)
    return week
