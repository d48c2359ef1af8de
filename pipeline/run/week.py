"""Load one week once: its papers from the store and their vectors (embedding what is missing).

`run` (build) and `tune` (topics, explain) share it, so both see exactly the same data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pipeline.embed import Embedder
from pipeline.embed.cache import ensure_vectors
from pipeline.models import Paper, Week
from pipeline.run import boundaries
from pipeline.run.weeks import (
    boundary_zones,
    iso_week,
    next_week,
    resolve_week,
    week_bounds,
    week_end,
    week_of_day,
)
from pipeline.store import Store, effective_day

logger = logging.getLogger(__name__)


def load_week(
    store: Store,
    embedder: Embedder,
    week: str,
    *,
    now: datetime,
    progress: bool = False,
    timezone: str = "UTC",
    on_missing: Callable[[int, int], None] | None = None,
) -> tuple[Week, int]:
    """The week's papers (by paper_id) and vectors; also how many vectors were computed now.

    The week is the reader's: Monday to Sunday in `timezone` (`[digest] timezone`), as the
    digest's title dates say; a paper's day is `store.effective_day` there. A boundary an
    earlier digest drew in another zone stays where it was drawn (`weeks.boundary_zones`).
    A paper a digest listed stays in that digest's week, whatever day a later source gives it.
    `on_missing(n, total)` is told, before they are embedded, how many of the week's papers
    have no vector yet.
    """
    papers = week_papers(store, week, timezone)
    vectors, n_embedded = ensure_vectors(
        store,
        embedder,
        papers,
        now=now,
        progress=progress,
        on_missing=None if on_missing is None else lambda n: on_missing(n, len(papers)),
    )
    ensure_sample_vectors(store, embedder, now=now, progress=progress)
    index = {p.paper_id: i for i, p in enumerate(papers)}
    return Week(week, tuple(papers), vectors, index), n_embedded


def ensure_sample_vectors(
    store: Store, embedder: Embedder, *, now: datetime, progress: bool = False
) -> int:
    """Embed the stored papers topic boundaries are learnt from (`boundaries`: the fixed sample
    of MAX_BACKGROUND ids that hash lowest) that have no vector from `embedder` yet; how many.

    Round 29: after `[embed] model` changed, only each week's papers were embedded with the new
    model, and the boundaries, which use the sample's papers that have a vector from it, were
    learnt from one week's papers (new papers seldom join the sample): for good. Once after a
    change (2,000 papers), then nothing: an ingest embeds a new paper that joins the sample."""
    ids = sorted(store.list_sample_paper_ids(boundaries.MAX_BACKGROUND))
    if store.count_vectors_of(embedder.name, ids) == len(ids):
        return 0  # as after every ingest: a paper whose text changed was embedded again then
    sample = store.list_papers(ids)

    def say(n_missing: int) -> None:
        logger.warning(
            "%d of the %d stored papers topic boundaries are learnt from have no vector from %s"
            " yet ([embed] model changed, or their text did): embedding them first, once",
            n_missing,
            len(sample),
            embedder.name,
        )

    _, n_embedded = ensure_vectors(
        store, embedder, sample, now=now, progress=progress, on_missing=say
    )
    return n_embedded


def week_papers(store: Store, week: str, timezone: str) -> list[Paper]:
    """The papers of `week` by paper_id: those its days hold that no other week's digest
    listed first, and those its own digest listed first, whatever their day is now (an
    `arxiv-api` source lists a paper the day it is submitted, arXiv's RSS announces it days
    later: the paper would be in two digests).

    A week whose digest was built after the week ended is closed: a rebuild lists what it
    listed, and a paper stored later with a day in it (an `arxiv-api` source's, a backfill's,
    a file's new line) is late. A late paper belongs to the first week after its own that is
    not closed (within LATE_WEEKS of it): the next digest built lists it, once."""
    closed = closed_weeks(store, week, timezone)
    own = store.list_paper_ids_listed_in(week)
    if week in closed:
        return store.list_papers(sorted(own))
    start, end = week_bounds(week)
    first, last = week_zones(store, week, timezone)
    dated = store.list_papers_between(start, end, timezone=last, start_timezone=first)
    listed = store.list_listed_weeks([p.paper_id for p in dated])
    papers = {p.paper_id: p for p in dated if listed.get(p.paper_id, week) == week}
    kept = [i for i in own if i not in papers]
    papers.update((p.paper_id, p) for p in store.list_papers(kept))
    papers.update((p.paper_id, p) for p in late_papers(store, week, timezone, closed))
    return [papers[i] for i in sorted(papers)]


def closed_weeks(store: Store, until: str, timezone: str) -> set[str]:
    """The weeks up to `until` whose digest listed papers and was last built after the week
    ended (the Monday 00:00 after it, in the zone its end was drawn in)."""
    built = store.list_listing_weeks(until)
    recorded = store.list_week_boundaries(sorted({*built, *(next_week(w) for w in built)}))
    closed = set()
    for w, at in built.items():
        if at is None:
            continue
        _, zone = boundary_zones(w, recorded, timezone)
        if at >= week_end(w, zone):
            closed.add(w)
    return closed


#: How many weeks back a late paper's own week may lie (`late_papers`): arXiv's backfill reaches
#: at most 90 days back, Hugging Face pages feature papers of the weeks before. Looking back
#: further read every paper of every closed week at each build (0.6-0.9 s on a year of 150k
#: papers, where these 13 weeks take 0.2 s).
LATE_WEEKS = 13

#: Most missed weeks `digest run` and `digest serve` build on catch-up, oldest first (a digest a
#: year late helps nobody): after a longer outage the first digest built is that many weeks
#: before the run's own, and it lists the late papers (`placement`).
MAX_CATCH_UP_WEEKS = 8


def late_papers(store: Store, week: str, timezone: str, closed: set[str]) -> list[Paper]:
    """The papers no digest listed whose own week is a closed one of the LATE_WEEKS before
    `week`."""
    since = iso_week(week_bounds(week)[0] - timedelta(weeks=LATE_WEEKS))
    before = sorted(w for w in closed if since <= w < week)
    if not before:
        return []
    start = week_bounds(before[0])[0] - timedelta(days=1)
    end = week_bounds(week)[0] + timedelta(days=1)
    candidates = store.list_unlisted_papers_between(start, end)
    return [p for p in candidates if own_week(store, p, timezone) in before]


def own_week(store: Store, paper: Paper, timezone: str) -> str:
    """The week of a stored paper's day for a reader in `timezone`, as `load_week` draws the
    weeks (a boundary an earlier digest drew stays in the zone it was drawn in)."""
    near = iso_week(effective_day(paper, ZoneInfo(timezone)))
    recorded = store.list_week_boundaries([near, next_week(near)])
    return week_of_day(lambda zone: effective_day(paper, ZoneInfo(zone)), recorded, timezone)


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


def too_late(own: str, week: str) -> bool:
    """Whether a late paper of week `own` is too late for the digest of `week` (`late_papers`:
    its own week lies over LATE_WEEKS before it)."""
    return week_bounds(week)[0] - week_bounds(own)[0] > timedelta(weeks=LATE_WEEKS)


def placement(
    store: Store, paper: Paper, timezone: str, latest: str | None = None
) -> tuple[str, bool]:
    """The week whose digest lists a stored paper for a reader in `timezone`, as `load_week`
    draws the weeks, and whether the paper is too late for any digest: the week whose digest
    listed it, else its own week, else (a late paper, its own week closed) the week of the next
    digest built: the week after the newest closed one, or, when `digest run` would build
    `latest` (its `[digest] week`) and the weeks since are more than MAX_CATCH_UP_WEEKS, the
    oldest it builds; its own week when that lies over LATE_WEEKS before it (too late: no
    digest lists it nor will)."""
    listed = store.list_listed_weeks([paper.paper_id])
    if paper.paper_id in listed:
        return listed[paper.paper_id], False
    own = own_week(store, paper, timezone)
    closed = closed_weeks(store, "9999-W99", timezone)
    if own not in closed:
        return own, False
    week = next_week(max(closed))  # the next digest built, as builds go forward
    if latest is not None and week <= latest:  # round 24: after an outage, catch-up's first
        oldest = week_bounds(latest)[0] - timedelta(weeks=MAX_CATCH_UP_WEEKS - 1)
        week = max(week, iso_week(oldest))
    return (own, True) if too_late(own, week) else (week, False)
