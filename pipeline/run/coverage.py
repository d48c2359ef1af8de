"""Build-time glue about sources: Coverage rows and the Hugging Face signal refresh."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import PurePath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from pipeline.config import Settings
from pipeline.digest import coverage
from pipeline.ingest import freshness
from pipeline.models import Paper, SourceCount
from pipeline.run.weeks import week_bounds
from pipeline.store import SourceStatus, Store

if TYPE_CHECKING:  # the fetching side is imported by the refresh that uses it, not by every build
    import httpx

    from pipeline.ingest import fetch


def describe_week_coverage(
    settings: Settings,
    store: Store,
    papers: Sequence[Paper],
    *,
    week: str,
    now: datetime,
    problems: Sequence[str] = (),
) -> tuple[list[SourceCount], list[str]]:
    """Coverage rows and notes: per-source counts, failures, gaps and backfills in the week.

    One row per enabled source, then one per source disabled in or removed from the config
    whose papers or fetch days are in the week, so the rows still add up to the week's papers.
    """
    start, end = week_bounds(week)
    counts = Counter(source for p in papers for source in p.sources)
    status = {s.source: s for s in store.list_source_status()}
    days = store.list_source_days(start, end)
    kinds = {s.name: s.kind for s in settings.sources}
    configured = {s.name: "enabled" if s.enabled else "disabled" for s in settings.sources}
    read = set(counts) | {d.source for d in days}
    names = [s.name for s in settings.enabled_sources]
    names += [s.name for s in settings.sources if not s.enabled and s.name in read]
    names += sorted(read - set(configured))
    windows = []
    for name in names:
        state = configured.get(name, "removed")
        health = status.get(name) if state == "enabled" else None
        failing = health is not None and health.consecutive_failures > 0
        windows.append(
            coverage.SourceWindow(
                name=name,
                kind=kinds.get(name, ""),
                n_papers=counts.get(name, 0),
                days=tuple(
                    (d.day, d.origin, d.n_entries, d.n_filtered) for d in days if d.source == name
                ),
                last_error=_published(settings, name, health.last_error)
                if failing and health
                else None,
                down_since=_down_since(health) if failing else None,
                configured=state,
            )
        )
    last = min(end, freshness.latest_announcement_day(now))
    return coverage.describe_coverage(
        windows,
        week=week,
        expected_days=freshness.announcement_days(start, last),
        n_papers=len(papers),
        refresh_problems=problems,
    )


def _published(settings: Settings, name: str, error: str | None) -> str | None:
    """A source's last error as the digest may publish it: a local file's path (a home folder,
    a user name) written as the file's name alone (round 25: the Coverage section, on the web
    and in every reader's inbox, carried it whole). The run's output keeps the whole path."""
    source = next((s for s in settings.sources if s.name == name), None)
    if error is None or source is None:
        return error
    url = settings.resolve_url(source)
    if url.startswith(("http://", "https://")):
        return error
    parts = urlsplit(url)
    path = unquote(parts.path) if parts.scheme == "file" else url
    for shown in sorted({url, path, source.url}, key=len, reverse=True):
        if shown:
            error = error.replace(shown, PurePath(path).name)
    return error


def _down_since(health: SourceStatus | None) -> datetime | None:
    """When a failing source last worked; None if it never has."""
    return health.last_success if health is not None else None


def refresh_week_signals(
    settings: Settings,
    store: Store,
    client: httpx.Client | None,
    start: date,
    end: date,
    *,
    now: datetime,
    pacer: fetch.Pacer | None = None,
) -> list[str]:
    """Re-fetch the week's Hugging Face pages so upvotes and stars are current at build time.

    `pacer` is the run's: a host the ingest found unreachable is not asked again.
    """
    if not settings.digest.refresh_signals:
        return []
    if not any(s.kind == "hf-daily" for s in settings.enabled_sources):
        return []
    from pipeline.run import ingest

    today = now.date()
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    days = [d for d in days if d <= today]
    http = client or make_client(settings)
    try:
        return ingest.refresh_signals(
            settings, store, http, days, now=now, pacer=pacer or ingest.make_pacer(settings)
        )
    finally:
        if client is None:
            http.close()


def make_client(settings: Settings) -> httpx.Client:
    """The HTTP client of a run: one connection at a time (arXiv's terms ask API clients that)."""
    from pipeline.ingest import fetch

    return fetch.make_client(
        user_agent=settings.user_agent, timeout_s=settings.fetch.timeout_s, max_connections=1
    )
