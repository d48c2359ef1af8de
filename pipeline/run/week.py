"""Load one week once: its papers from the store and their vectors (embedding what is missing).

`run` (build) and `tune` (topics, explain) share it, so both see exactly the same data.
"""

from __future__ import annotations

from datetime import datetime

from pipeline.embed import Embedder
from pipeline.embed.cache import ensure_vectors
from pipeline.models import Week
from pipeline.run.weeks import resolve_week, week_bounds
from pipeline.store import Store


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
    digest's title dates say; a paper's day is `store.effective_day` there.
    """
    start, end = week_bounds(week)
    papers = store.list_papers_between(start, end, timezone=timezone)
    vectors, n_embedded = ensure_vectors(store, embedder, papers, now=now, progress=progress)
    index = {p.paper_id: i for i, p in enumerate(papers)}
    return Week(week, tuple(papers), vectors, index), n_embedded


def choose_week(choice: str, store: Store, *, now: datetime, timezone: str) -> str:
    """Resolve a configured or given week choice against what the store holds."""
    span = store.get_date_range(timezone=timezone)
    return resolve_week(choice, latest_day=span[1] if span else None, now=now, timezone=timezone)
