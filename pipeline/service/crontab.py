"""Crontab lines → APScheduler `CronTrigger`s, and the fire times around a moment.

A line has the standard 5 fields (minute hour day month weekday) or 6 with a leading seconds
field, which lets tests fire a job every few seconds (`*/2 * * * * *`). Weekdays are best written
as names: APScheduler 3 numbers them from Monday = 0, unlike classic cron. Imports nothing from
the package; apscheduler is imported lazily so `digest --help` stays light. Pure: `now` is a
parameter, never the clock.
"""

from __future__ import annotations

import functools
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
    values = expression.split()
    for value in values:
        odd = _ODD.search(value)
        if odd:  # APScheduler reads a name up to the first odd character and drops the rest
            dash = ": write '-'" if unicodedata.category(odd[0]) == "Pd" else ""
            raise ValueError(f"{value!r} holds {odd[0]!r}, which cron does not read{dash}")
    if len(values) == 5:
        fields = dict(zip(_FIELDS, values, strict=True))
    elif len(values) == 6:
        fields = dict(zip(("second", *_FIELDS), values, strict=True))
    else:
        raise ValueError(
            f"wrong number of fields: got {len(values)}, expected 5 (or 6 with seconds)"
        )
    return _trigger_class()(**fields, timezone=timezone, every_hour=fields["hour"] == "*")


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


@functools.cache
def _trigger_class() -> type:
    """APScheduler's CronTrigger, firing a fixed-hour line once across a DST fall-back.

    Round 29: in the hour a fall-back repeats, APScheduler 3 fires "30 2 * * *" at 02:30 CEST
    and again at 02:30 CET, so `digest serve` with a local [schedule] timezone ran a daily
    ingest, or a Sunday build, twice that night; cron runs a job at a fixed time once. Here a
    line whose hour is not "*" fires in the first pass only; one whose hour is "*" fires in both
    (every hour that passes). A time the spring change skips (02:30) fires an hour later that
    day (03:30), once. Each answer is also later, in UTC, than the fire before it (or than now):
    asked with a local time a moment after a fire in the repeated hour, APScheduler answered
    with that same fire, or one an hour back (its issue #1021), and a caller looped (round 9).
    """
    from apscheduler.triggers.cron import CronTrigger

    class Cron(CronTrigger):  # type: ignore[misc]
        def __init__(self, *, every_hour: bool, **fields: Any) -> None:
            super().__init__(**fields)
            self.every_hour = every_hour

        def get_next_fire_time(
            self, previous_fire_time: datetime | None, now: datetime
        ) -> datetime | None:
            # APScheduler's answer is at or after now, or strictly after the previous fire.
            start = previous_fire_time or now - timedelta(microseconds=1)
            floor = start.astimezone(UTC)
            fire: datetime | None = super().get_next_fire_time(previous_fire_time, now)
            steps = iter(_STEPS_FORWARD)
            while fire is not None:
                fire = _later_fold(fire, floor)
                if fire.astimezone(UTC) <= floor:  # back or standing still: look further on
                    step = next(steps, None)
                    if step is None:
                        return None
                elif self.every_hour or not _is_repeated(fire) or fire.fold == 0:
                    return fire
                else:  # the second pass of the repeated hour: the first one fired
                    floor, steps, step = fire.astimezone(UTC), iter(_STEPS_FORWARD), _STEPS[0]
                fire = super().get_next_fire_time(None, (floor + step).astimezone(self.timezone))
            return None

    return Cron


#: How far past a fire `_trigger_class` looks again when APScheduler answers with no later one.
_STEPS_FORWARD = (*_STEPS, timedelta(days=1))


def _is_repeated(local: datetime) -> bool:
    """Whether the wall-clock time of `local` happens twice (the hour a DST fall-back repeats)."""
    first, second = local.replace(fold=0), local.replace(fold=1)
    if first.utcoffset() == second.utcoffset():
        return False
    # In a spring-forward gap the two folds differ too, but neither comes back as itself.
    back = first.astimezone(UTC).astimezone(local.tzinfo)
    return back.replace(tzinfo=None) == local.replace(tzinfo=None)


def _later_fold(fire: datetime, floor: datetime) -> datetime:
    """`fire` in the second pass of a repeated hour when APScheduler gave its first pass, at
    or before `floor` (it builds the time from its fields and drops the fold)."""
    if fire.astimezone(UTC) > floor or fire.fold or not _is_repeated(fire):
        return fire
    second = fire.replace(fold=1)
    return second if second.astimezone(UTC) > floor else fire


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
