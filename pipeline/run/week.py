"""Load one week once: its papers from the store and their vectors (embedding what is missing).

`run` (build) and `tune` (topics, explain) share it, so both see exactly the same data.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pipeline.embed import Embedder
from pipeline.embed.cache import ensure_vectors
from pipeline.models import Paper, Week
from pipeline.run.weeks import (
    boundary_zones,
    iso_week,
    next_week,
    resolve_week,
    week_bounds,
    week_of_day,
)
from pipeline.store import Store, effective_day


def load_week(
    store: Store,
    embedder: Embedder,
    week: str,
    *,
    now: datetime,
    progress: bool = False,
    timezone: str = "UTC",
) -> tuple[Week, int]:
    """The week's papers (by paper_id) and vectors; also how many vectors were computed now.

    The week is the reader's: Monday to Sunday in `timezone` (`[digest] timezone`), as the
    digest's title dates say; a paper's day is `store.effective_day` there. A boundary an
    earlier digest drew in another zone stays where it was drawn (`weeks.boundary_zones`).
    A paper a digest listed stays in that digest's week, whatever day a later source gives it.
    """
    papers = week_papers(store, week, timezone)
    vectors, n_embedded = ensure_vectors(store, embedder, papers, now=now, progress=progress)
    index = {p.paper_id: i for i, p in enumerate(papers)}
    return Week(week, tuple(papers), vectors, index), n_embedded


def week_papers(store: Store, week: str, timezone: str) -> list[Paper]:
    """The papers of `week` by paper_id: those its days hold that no other week's digest
    listed first, and those its own digest listed first, whatever their day is now (an
    `arxiv-api` source lists a paper the day it is submitted, arXiv's RSS announces it days
    later: the paper would be in two digests)."""
    start, end = week_bounds(week)
    first, last = week_zones(store, week, timezone)
    dated = store.list_papers_between(start, end, timezone=last, start_timezone=first)
    listed = store.list_listed_weeks([p.paper_id for p in dated])
    papers = {p.paper_id: p for p in dated if listed.get(p.paper_id, week) == week}
    kept = [i for i in store.list_paper_ids_listed_in(week) if i not in papers]
    papers.update((p.paper_id, p) for p in store.list_papers(kept))
    return [papers[i] for i in sorted(papers)]


def choose_week(choice: str, store: Store, *, now: datetime, timezone: str) -> str:
    """Resolve a configured or given week choice against what the store holds."""
    span = store.get_date_range(timezone=timezone)
    return resolve_week(choice, latest_day=span[1] if span else None, now=now, timezone=timezone)


def week_zones(store: Store, week: str, timezone: str) -> tuple[str, str]:
    """The time zones `week` starts and ends in: as recorded by earlier digests, else `timezone`."""
    recorded = store.list_week_boundaries([week, next_week(week)])
    return boundary_zones(week, recorded, timezone)


def record_week_boundaries(store: Store, week: str, timezone: str) -> None:
    """Fix the boundaries a digest of `week` just drew (a build's; `tune` only reads them)."""
    first, last = week_zones(store, week, timezone)
    store.save_week_boundaries({week: first, next_week(week): last})


def paper_week(store: Store, paper: Paper, timezone: str) -> str:
    """The week whose digest lists a stored paper for a reader in `timezone`, as `load_week`
    draws the weeks."""
    listed = store.list_listed_weeks([paper.paper_id])
    if paper.paper_id in listed:
        return listed[paper.paper_id]
    near = iso_week(effective_day(paper, ZoneInfo(timezone)))
    recorded = store.list_week_boundaries([near, next_week(near)])
    return week_of_day(lambda zone: effective_day(paper, ZoneInfo(zone)), recorded, timezone)
