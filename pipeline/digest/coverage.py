"""What a digest covers: per-source rows and plain-language notes for the Coverage section (pure).

Takes plain data (what each source delivered per day, source health, paper counts, the
announcement days the window should hold) and says what is there, what was backfilled, what is
missing and why a digest is empty or short. Imports only `models` and the standard library.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from pipeline.errors import redact
from pipeline.models import SourceCount

_ORIGIN_NAMES = {"api": "the arXiv API", "oai": "arXiv OAI-PMH"}


@dataclass(frozen=True)
class SourceWindow:
    """One source's record over the window, as the caller read it from the store."""

    name: str
    kind: str
    n_papers: int
    days: tuple[tuple[date, str, int, int], ...] = ()  # (day, origin, n_entries, n_filtered)
    last_error: str | None = None
    down_since: datetime | None = None
    # "disabled" or "removed": its papers are in the week, but it is read no more, so it has
    # neither gaps nor failures to report.
    configured: str = "enabled"


def describe_coverage(
    sources: Sequence[SourceWindow],
    *,
    week: str,
    expected_days: Sequence[date],
    n_papers: int,
    refresh_problems: Sequence[str] = (),
) -> tuple[list[SourceCount], list[str]]:
    """Coverage rows, one per source, and the notes that explain gaps, failures and emptiness."""
    rows = [_row(s, expected_days) for s in sources]
    notes: list[str] = []
    for source, row in zip(sources, rows, strict=True):
        notes += _source_notes(source, row)
    n_filtered = sum(r.n_filtered for r in rows)
    if n_filtered:
        notes.append(f"Keyword filters removed {n_filtered} papers in this window.")
    if refresh_problems:
        notes.append(
            f"Hugging Face signals could not be refreshed ({len(refresh_problems)} requests "
            f"failed); upvotes and stars shown may be out of date."
        )
    if n_papers == 0:
        notes.insert(0, _why_empty(week, sources, rows, expected_days))
    return rows, notes


def _row(source: SourceWindow, expected_days: Sequence[date]) -> SourceCount:
    days = {d for d, *_ in source.days}
    gaps: tuple[str, ...] = ()
    if source.kind == "arxiv-rss" and source.days and source.configured == "enabled":
        first = min(days)
        gaps = tuple(d.isoformat() for d in expected_days if d >= first and d not in days)
    backfilled = tuple(
        f"{day.isoformat()} via {_ORIGIN_NAMES.get(origin, origin)}: {n} papers"
        for day, origin, n, _ in sorted(source.days)
        if origin != "feed"
    )
    return SourceCount(
        name=source.name,
        n_papers=source.n_papers,
        last_error=redact(source.last_error) if source.last_error else None,
        n_days=len(days),
        backfilled=backfilled,
        gaps=gaps,
        down_since=source.down_since,
        n_filtered=sum(f for *_, f in source.days),
        configured=source.configured,
    )


def _source_notes(source: SourceWindow, row: SourceCount) -> list[str]:
    notes = []
    if row.last_error:
        since = (
            f"has failed since its last success on {row.down_since:%a %d %b %Y %H:%M} UTC"
            if row.down_since
            else "has not been read successfully yet"
        )
        notes.append(
            f"Source {row.name} {since} ({row.last_error}); "
            "papers it would have listed may be missing."
        )
    for day, origin, n, _ in sorted(source.days):
        if origin == "feed":
            continue
        how = _ORIGIN_NAMES.get(origin, origin)
        if n:
            notes.append(
                f"Source {row.name} missed {day:%a %d %b %Y}; {n} papers for that day were "
                f"fetched from {how} instead."
            )
        else:
            notes.append(
                f"Source {row.name} had no announcements on {day:%a %d %b %Y}, and {how} has "
                "none either (an arXiv holiday?)."
            )
    if row.gaps:
        notes.append(
            f"Source {row.name} has nothing yet for {', '.join(row.gaps)}: the day was missed "
            "and could not be backfilled; the next run tries again."
        )
    return notes


def _why_empty(
    week: str,
    sources: Sequence[SourceWindow],
    rows: Sequence[SourceCount],
    expected_days: Sequence[date],
) -> str:
    reasons = []
    enabled = [r for r in rows if r.configured == "enabled"]
    if not enabled:
        reasons.append("no sources are enabled")
    elif all(r.last_error for r in enabled):
        reasons.append("every source is failing")
    if any(s.kind == "arxiv-rss" and s.configured == "enabled" for s in sources) and not (
        expected_days
    ):
        reasons.append("arXiv made no announcements in this window yet (none on weekends)")
    n_filtered = sum(r.n_filtered for r in rows)
    if n_filtered:
        reasons.append(f"keyword filters removed all {n_filtered} papers")
    if not reasons:
        reasons.append("the sources listed nothing in this window")
    return f"No papers for {week}: " + "; ".join(reasons) + "."
