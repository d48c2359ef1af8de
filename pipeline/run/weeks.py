"""Which ISO week a build means: pure, given the newest stored day, the clock and a timezone."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pipeline.digest.build import iso_week, week_bounds

__all__ = ["earlier_weeks", "iso_week", "resolve_week", "week_bounds"]


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


def earlier_weeks(week: str, n: int) -> list[str]:
    """The `n` ISO weeks before `week`, oldest first."""
    monday, _ = week_bounds(week)
    return [iso_week(monday - timedelta(weeks=k)) for k in range(n, 0, -1)]
