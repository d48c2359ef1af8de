"""Importance: the order a reader should see a week's papers in, and the "This week" picks (pure).

The trending-papers page this product is modelled on leads with what people are reading; closeness
to a topic's text alone put the nearest paper first, however little it mattered (issue 13). A
paper's importance is its relevance plus what the store knows about it, each signal capped so none
swamps the others, and each absent signal adding nothing:

    importance = relevance                               topic score or theme closeness, ~0.3–0.9
               + 0.30 · scaled(upvotes, 50)              Hugging Face daily-papers upvotes
               + 0.10 · scaled(comments, 10)             ... and comments
               + 0.10 · (a code link is known)           repository signal or URL in the abstract
               + 0.10 · scaled(github_stars, 500)
               + 0.05 · min(2, listing sources − 1)      how many of the user's sources listed it

    scaled(x, full) = min(1, log(1 + x) / log(1 + full))

A week with no signals is ranked by relevance (nudged by code links and sources). Imports only
models and the standard library.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from pipeline.models import Paper, PaperEntry, Section

#: (weight, count at which the signal is worth its whole weight)
UPVOTES = (0.30, 50)
COMMENTS = (0.10, 10)
STARS = (0.10, 500)
CODE_WEIGHT = 0.10
SOURCE_WEIGHT = 0.05


def scaled(count: int | None, full: int) -> float:
    """0 for none, rising with log(count), 1 from `full` on."""
    if not count or count <= 0:
        return 0.0
    return min(1.0, math.log1p(count) / math.log1p(full))


def importance(paper: Paper, relevance: float, *, has_code: bool) -> float:
    """Relevance plus capped community signals (see the module docstring)."""
    signals = paper.signals
    return (
        relevance
        + UPVOTES[0] * scaled(signals.upvotes, UPVOTES[1])
        + COMMENTS[0] * scaled(signals.comments, COMMENTS[1])
        + CODE_WEIGHT * has_code
        + STARS[0] * scaled(signals.github_stars, STARS[1])
        + SOURCE_WEIGHT * min(2, max(0, len(set(paper.sources)) - 1))
    )


def _count(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)


def reasons(paper: Paper, *, has_code: bool) -> tuple[str, ...]:
    """The signals behind a paper's importance, a few words each, strongest first."""
    signals = paper.signals
    found = []
    if signals.upvotes:
        found.append(f"▲ {_count(signals.upvotes)} upvote{'s' if signals.upvotes != 1 else ''}")
    if signals.comments:
        found.append(f"{signals.comments} comment{'s' if signals.comments != 1 else ''}")
    if signals.github_stars:
        found.append(f"code, ★ {_count(signals.github_stars)}")
    elif has_code:
        found.append("code available")
    n_sources = len(set(paper.sources))
    if n_sources > 1:
        found.append(f"in {n_sources} of your sources")
    return tuple(found)


def rank(entries: Sequence[PaperEntry]) -> tuple[PaperEntry, ...]:
    """Most important first; relevance, then the id, break ties (stable across reruns)."""
    return tuple(sorted(entries, key=lambda e: (-e.importance, -e.score, e.paper.paper_id)))


def pick_highlights(sections: Sequence[Section], n: int) -> tuple[PaperEntry, ...]:
    """About `n` of the most important papers across the given (ranked) sections, each section
    giving at most its fair share until every section has had its turn; each pick's reasons end
    with where it ranks ("1st of 34 in Robot learning")."""
    if n <= 0 or not sections:
        return ()
    share = max(1, math.ceil(n / len(sections)))
    candidates = [
        (entry, position, section)
        for section in sections
        for position, entry in enumerate(section.entries)
    ]
    candidates.sort(key=lambda c: (-c[0].importance, -c[0].score, c[0].paper.paper_id))
    fair = [c for c in candidates if c[1] < share]
    picked = fair[:n]
    if len(picked) < n:  # small sections leave room: fill it with the next most important
        chosen = {id(c[0]) for c in picked}
        picked += [c for c in candidates if id(c[0]) not in chosen][: n - len(picked)]
    picked.sort(key=lambda c: (-c[0].importance, -c[0].score, c[0].paper.paper_id))
    return tuple(_with_place(entry, position, section) for entry, position, section in picked)


def ordinal(n: int) -> str:
    """1 → '1st', 2 → '2nd', 11 → '11th', 23 → '23rd'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _with_place(entry: PaperEntry, position: int, section: Section) -> PaperEntry:
    place = f"{ordinal(position + 1)} of {len(section.entries)} in {section.title}"
    if len(section.entries) == 1:
        place = f"the only paper in {section.title}"
    return replace(entry, reasons=(*entry.reasons, place))
