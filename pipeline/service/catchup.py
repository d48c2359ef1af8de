"""Catch-up after downtime: which commands `digest serve` should run at once when it starts.

Pure: it takes the moments that matter (the latest scheduled fire times, the last successful
ingest, the end of each week a build would write) and decides; the caller reads them from the
store, the crontab lines and the clock. Imports only `models` (the Command type) and the ISO-week
arithmetic of `digest.build`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pipeline.digest.build import iso_week, week_bounds
from pipeline.models import Command


@dataclass(frozen=True)
class Step:
    """One command to run; a build names its week."""

    command: Command
    week: str | None = None

    def __str__(self) -> str:
        return f"{self.command} {self.week}" if self.week else str(self.command)


def plan_catch_up(
    *,
    ingest_due: datetime | None,
    last_ingest: datetime | None,
    build_due: datetime | None,
    weeks: Sequence[tuple[str, datetime]],
    done: Collection[str],
) -> tuple[Step, ...]:
    """The steps to run now, in order: the ingest first, then one build per missed week.

    ingest: the latest scheduled ingest (`ingest_due`) has no successful ingest since it began.
    build: each of `weeks` (week, the moment it ends; oldest first) that is not `done` and whose
    scheduled build (the latest build fire time, `build_due`) came after it ended, so was missed.
    """
    plan: list[Step] = []
    if ingest_due is not None and (last_ingest is None or last_ingest < ingest_due):
        plan.append(Step(Command.INGEST))
    for week, week_end in weeks:
        if week not in done and build_due is not None and build_due >= week_end:
            plan.append(Step(Command.BUILD, week))
    return tuple(plan)


def missed_weeks(
    week: str, done: Collection[str], *, limit: int, tried: Collection[str] = ()
) -> list[str]:
    """The weeks after the newest `done` one before `week`, through `week`, oldest first: at
    most `limit` of them. When none before it was ever done, those since the oldest `tried`
    one (built, but its e-mail failed), else only `week` (a new install)."""
    monday, _ = week_bounds(week)
    weeks = [week]
    for n in range(1, limit):
        earlier = iso_week(monday - timedelta(weeks=n))
        if earlier in done:
            return weeks[::-1]
        weeks.append(earlier)
    if any(w < week for w in done):
        return weeks[::-1]
    oldest = min((w for w in tried if w < week), default=week)
    return [w for w in weeks[::-1] if w >= oldest]


def failed_before(
    weeks: Sequence[str], done: Collection[str], tried: Collection[str], *, limit: int
) -> list[str]:
    """The weeks before `weeks` (`missed_weeks`'), within `limit` weeks of its last, that a
    build tried but that are not done (their build or e-mail failed), oldest first.

    Round 29: after three weeks down, the catch-up's first build found the SMTP server not yet
    reachable and the next two mailed their weeks; the failed week lay before the last one
    done, where `missed_weeks` does not look, and it was never e-mailed."""
    if not weeks:
        return []
    monday, _ = week_bounds(weeks[-1])
    window = {iso_week(monday - timedelta(weeks=n)) for n in range(limit)}
    return sorted(w for w in window if w < weeks[0] and w in tried and w not in done)


def skipped_before(weeks: Sequence[str], done: Collection[str]) -> str | None:
    """The newest week `missed_weeks` left out for its limit (the week before `weeks` when it
    is not done but an older one is), or None when nothing was left out."""
    if not weeks:
        return None
    monday, _ = week_bounds(weeks[0])
    before = iso_week(monday - timedelta(weeks=1))
    if before in done or not any(w < before for w in done):
        return None
    return before
