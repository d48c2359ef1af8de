"""Catch-up after downtime: which commands `digest serve` should run at once when it starts.

Pure: it takes the moments that matter (the latest scheduled fire times, the last successful
ingest, the end of the week a build would write) and decides; the caller reads them from the
store, the crontab lines and the clock. Imports only `models` (the Command type).
"""

from __future__ import annotations

from datetime import datetime

from pipeline.models import Command


def plan_catch_up(
    *,
    ingest_due: datetime | None,
    last_ingest: datetime | None,
    build_due: datetime | None,
    week_end: datetime,
    has_digest: bool,
) -> tuple[Command, ...]:
    """The commands to run now, in order: ('ingest', 'build'), one of them, or ().

    ingest: the latest scheduled ingest (`ingest_due`) has no successful ingest since it began.
    build: the week a build would write (ending at `week_end`) has no digest, and its scheduled
    build (the latest build fire time, `build_due`) came after the week ended, so it was missed.
    """
    plan: list[Command] = []
    if ingest_due is not None and (last_ingest is None or last_ingest < ingest_due):
        plan.append(Command.INGEST)
    if not has_digest and build_due is not None and build_due >= week_end:
        plan.append(Command.BUILD)
    return tuple(plan)
