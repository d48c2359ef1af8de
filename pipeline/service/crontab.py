"""Crontab lines → APScheduler `CronTrigger`s, and the fire times around a moment.

A line has the standard 5 fields (minute hour day month weekday) or 6 with a leading seconds
field, which lets tests fire a job every few seconds (`*/2 * * * * *`). Weekdays are best written
as names: APScheduler 3 numbers them from Monday = 0, unlike classic cron. Imports nothing from
the package; apscheduler is imported lazily so `digest --help` stays light. Pure: `now` is a
parameter, never the clock.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

_FIELDS = ("minute", "hour", "day", "month", "day_of_week")
# What a field may hold. APScheduler matched a day or month name at the start of a field and
# dropped what followed it: "mon–fri" (an en dash, as word processors and chat apps turn "-")
# fired on Mondays only, "mon#1" every Monday, "jan–mar" in January, without a word.
_ODD = re.compile(r"[^A-Za-z0-9*/,-]")
# Windows searched, shortest first, for the latest fire time before a moment: short windows keep
# a every-few-seconds line cheap, long ones still find a yearly line.
_LOOKBACKS = (
    timedelta(minutes=2),
    timedelta(hours=2),
    timedelta(days=2),
    timedelta(days=32),
    timedelta(days=367),
)


def make_trigger(expression: str, timezone: str) -> Any:
    """A CronTrigger for a 5-field (or seconds-first 6-field) line; ValueError if it is invalid."""
    from apscheduler.triggers.cron import CronTrigger

    values = expression.split()
    for value in values:
        odd = _ODD.search(value)
        if odd:  # APScheduler reads a name up to the first odd character and drops the rest
            dash = ": write '-'" if unicodedata.category(odd[0]) == "Pd" else ""
            raise ValueError(f"{value!r} holds {odd[0]!r}, which cron does not read{dash}")
    if len(values) == 5:
        return CronTrigger(**dict(zip(_FIELDS, values, strict=True)), timezone=timezone)
    if len(values) == 6:
        fields = dict(zip(("second", *_FIELDS), values, strict=True))
        return CronTrigger(**fields, timezone=timezone)
    raise ValueError(f"wrong number of fields: got {len(values)}, expected 5 (or 6 with seconds)")


def next_fire(trigger: Any, now: datetime) -> datetime | None:
    """The first fire time strictly after `now`, or None if the line never fires again."""
    fire: datetime | None = trigger.get_next_fire_time(None, now + timedelta(microseconds=1))
    return fire


def previous_fire(trigger: Any, now: datetime) -> datetime | None:
    """The latest fire time at or before `now` (within about a year), or None."""
    for lookback in _LOOKBACKS:
        fire: datetime | None = trigger.get_next_fire_time(None, now - lookback)
        if fire is None or fire > now:
            continue
        while True:
            following = _fire_after(trigger, fire)
            if following is None or following > now:
                return fire
            fire = following
    return None


# Where to look for the fire after one, nearest first: in the hour a DST fall-back repeats,
# APScheduler 3 answers "the fire after 02:30 CET" with 02:30 CET itself, so `previous_fire`
# looped forever for a day after the change. Fire times are compared in UTC: Python compares
# two times of one zone by their wall clock, and 02:30 CEST then equals 02:30 CET.
_STEPS = (timedelta(microseconds=1), timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1))


def _fire_after(trigger: Any, fire: datetime) -> datetime | None:
    """The first fire time strictly after `fire` (None if the line never fires again)."""
    for step in _STEPS:
        following: datetime | None = trigger.get_next_fire_time(fire, fire + step)
        if following is None or following.astimezone(UTC) > fire.astimezone(UTC):
            return following
    return None


def early_build(
    expression: str, schedule_timezone: str, digest_timezone: str, now: datetime
) -> tuple[datetime, datetime] | None:
    """The first of the next LATE_CHECK_FIRES fires of a build line (read in
    `schedule_timezone`) that comes before the week has ended in `digest_timezone`: the
    moment there and in `digest_timezone`, else None.

    A build of "last-complete" builds the week before its moment in `[digest] timezone`. A
    line for Monday 07:00 UTC fires on Sunday 23:00 in Los Angeles, before that week ends
    there, so it builds the week before and every digest goes out a week late."""
    from zoneinfo import ZoneInfo

    trigger = make_trigger(expression, schedule_timezone)
    fire = next_fire(trigger, now)
    for _ in range(LATE_CHECK_FIRES):
        if fire is None:
            return None
        here = fire.astimezone(ZoneInfo(schedule_timezone))
        there = fire.astimezone(ZoneInfo(digest_timezone))
        if there.isocalendar()[:2] < here.isocalendar()[:2]:
            return here, there
        fire = next_fire(trigger, fire)
    return None


#: Fires `early_build` looks at: two months of a daily line, a year of a weekly one.
LATE_CHECK_FIRES = 60
