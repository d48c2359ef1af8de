"""The backfill of missed arXiv announcement days, through the arXiv API or OAI-PMH.

    for each missed announcement day of an arxiv-rss source (freshness.find_gaps):
        pages = API query by submittedDate window (≤ 2,000 a page)  or  OAI-PMH ListRecords
        entries get announced = that day; store them; record the day as origin 'api'/'oai'

A failed backfill day is logged and retried on the next run, never recorded as done.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import httpx

from pipeline.config import Settings, SourceSettings
from pipeline.errors import FetchError, ParseError
from pipeline.ingest import fetch, freshness
from pipeline.ingest.sources.arxiv import parse_arxiv_api_page
from pipeline.ingest.sources.oai import parse_arxiv_oai
from pipeline.models import Entry
from pipeline.run.ingest import _get, arxiv_categories, store_entries
from pipeline.store import Store

logger = logging.getLogger(__name__)

_MAX_PAGES = 100  # a runaway server (a token that never ends) stops here
#: How often a page inside the API's result set may come back empty before the day fails.
_EMPTY_PAGE_TRIES = 3
_ORIGIN_NAMES = {"feed": "feed", "api": "arXiv API", "oai": "arXiv OAI-PMH"}


@dataclass
class Backfill:
    """What backfilling one source did: days filled (with counts) and days that failed."""

    source: str
    filled: list[tuple[date, str, int]] = field(default_factory=list)  # (day, origin, n)
    failed: list[tuple[date, str]] = field(default_factory=list)
    n_new: int = 0
    paper_ids: list[str] = field(default_factory=list)

    def describe(self) -> tuple[str, ...]:
        """'2025-06-11 via arXiv API: 8 papers' for each filled day."""
        return tuple(
            f"{day.isoformat()} via {_ORIGIN_NAMES[origin]}: {n} papers"
            for day, origin, n in self.filled
        )


def find_source_gaps(settings: Settings, store: Store, name: str, *, now: datetime) -> list[date]:
    """Announcement days the arXiv source `name` has not delivered yet (within backfill_days)."""
    last = freshness.latest_announcement_day(now)
    start = last - timedelta(days=settings.arxiv.backfill_days)
    seen = {d.day for d in store.list_source_days(start, last, source=name)}
    return freshness.find_gaps(
        seen,
        first_day=store.get_first_source_day(name),
        last_day=last,
        max_days=settings.arxiv.backfill_days,
    )


def backfill_gaps(
    settings: Settings,
    store: Store,
    client: httpx.Client,
    *,
    now: datetime,
    pacer: fetch.Pacer | None = None,
) -> list[Backfill]:
    """Fill every missed announcement day of every arxiv-rss source through the API or OAI-PMH."""
    if not settings.arxiv.backfill:
        return []
    results = []
    for source in settings.enabled_sources:
        if source.kind != "arxiv-rss":
            continue
        gaps = find_source_gaps(settings, store, source.name, now=now)
        if not gaps:
            continue
        categories = arxiv_categories(settings, source)
        if not categories:
            logger.warning(
                "source %s: missing %s but cannot backfill: set `categories` for it"
                " (or `[arxiv] backfill = false` when replaying recorded feeds)",
                source.name,
                ", ".join(d.isoformat() for d in gaps),
            )
            continue
        results.append(
            _backfill_source(settings, store, client, source, categories, gaps, now, pacer)
        )
    return results


def _backfill_source(
    settings: Settings,
    store: Store,
    client: httpx.Client,
    source: SourceSettings,
    categories: list[str],
    gaps: list[date],
    now: datetime,
    pacer: fetch.Pacer | None,
) -> Backfill:
    origin = settings.arxiv.backfill_via
    result = Backfill(source.name)
    for day in gaps:
        try:
            if origin == "api":
                entries = _fetch_api_day(settings, client, source.name, categories, day, pacer)
            else:
                entries = _fetch_oai_day(settings, client, source.name, categories, day, pacer)
        except (FetchError, ParseError) as e:
            logger.warning("source %s: backfill of %s failed: %s", source.name, day, e)
            result.failed.append((day, str(e)))
            if isinstance(e, _Incomplete):  # keep what came; the day is asked again next run
                kept = [_as_announced(entry, day, categories) for entry in e.entries]
                stored = store_entries(settings, store, source, kept, now=now, record_days=False)
                result.n_new += stored.n_new
                result.paper_ids.extend(stored.paper_ids)
            continue
        dated = [_as_announced(e, day, categories) for e in entries]
        stored = store_entries(settings, store, source, dated, now=now, record_days=False)
        # Count the papers now dated that day: one the API window repeats from a neighbouring
        # day keeps its earlier announcement and is not counted twice.
        n_kept = sum(p.announced == day for p in store.list_papers(list(stored.paper_ids)))
        store.save_source_day(
            source.name, day, origin, now, n_entries=n_kept, n_filtered=stored.n_filtered
        )
        logger.info("source %s: backfilled %s via %s: %d papers", source.name, day, origin, n_kept)
        result.filled.append((day, origin, n_kept))
        result.n_new += stored.n_new
        result.paper_ids.extend(stored.paper_ids)
    return result


class _Incomplete(FetchError):
    """The arXiv API stopped giving entries before its total: what it gave (`entries`) is
    stored, but the day is not recorded as filled."""

    def __init__(self, message: str, entries: list[Entry]) -> None:
        super().__init__(message)
        self.entries = entries


def _as_announced(entry: Entry, day: date, categories: Sequence[str]) -> Entry:
    """A backfilled entry as the day's feed would have listed it: 'new' if its primary
    category is followed, else 'cross'."""
    primary = entry.categories[0] if entry.categories else None
    kind = "new" if primary in categories else "cross"
    return dataclasses.replace(entry, announced=day, announce_type=kind)


def _fetch_api_day(
    settings: Settings,
    client: httpx.Client,
    name: str,
    categories: Sequence[str],
    day: date,
    pacer: fetch.Pacer | None,
) -> list[Entry]:
    entries: list[Entry] = []
    given = 0  # the API's entries so far, those skipped as bad too: the next page's start
    empty = 0  # pages in a row that gave nothing inside the result set
    for _ in range(_MAX_PAGES + _EMPTY_PAGE_TRIES):
        url = freshness.api_query_url(
            settings.arxiv.api_url,
            categories,
            day,
            start=given,
            max_results=settings.arxiv.page_size,
        )
        content = _get(settings, client, url, pacer)
        page, total = parse_arxiv_api_page(content, f"{name} (backfill {day})")
        entries += page
        # Counting only the entries kept asked again for one skipped (no title); one last in
        # the day came back alone, a page of nothing usable, and the day failed at every run
        # (round 29).
        given += len(page) + page.n_bad
        if total is None or given >= total:
            return entries
        if page or page.n_bad:
            empty = 0
            continue
        # An empty page inside the result set is the API's flake, not its end (round 27):
        # taken for the end, the day was recorded as filled and the rest never fetched.
        empty += 1
        if empty == _EMPTY_PAGE_TRIES:
            raise _Incomplete(
                f"the arXiv API gave no entries at {given} of its {total}"
                f" results for {day}, {empty} times; the {len(entries)} it gave are stored,"
                " and the day is fetched again next run",
                entries,
            )
        logger.info("%s: empty arXiv API page at %d of %d; asking again", name, given, total)
    raise FetchError(f"{name}: backfill of {day} did not end after {_MAX_PAGES} pages")


def _fetch_oai_day(
    settings: Settings,
    client: httpx.Client,
    name: str,
    categories: Sequence[str],
    day: date,
    pacer: fetch.Pacer | None,
) -> list[Entry]:
    """OAI-PMH lists records by datestamp (any change), so keep only those submitted in the
    day's window and carrying a followed category."""
    begin, end = freshness.submission_window(day)
    wanted = set(categories)
    entries: list[Entry] = []
    for oai_set in freshness.oai_sets(categories):
        url = freshness.oai_list_url(settings.arxiv.oai_url, oai_set, day)
        for _ in range(_MAX_PAGES):
            page, token = parse_arxiv_oai(
                _get(settings, client, url, pacer), f"{name} (backfill {day})"
            )
            entries += [
                e
                for e in page
                if wanted & set(e.categories)
                and e.published is not None
                and begin.date() <= e.published.date() <= end.date()
            ]
            if token is None:
                break
            url = freshness.oai_resume_url(settings.arxiv.oai_url, token)
        else:
            raise FetchError(f"{name}: OAI-PMH backfill of {day} did not end after {_MAX_PAGES}")
    return entries
