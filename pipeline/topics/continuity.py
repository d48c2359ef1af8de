"""Theme continuity across weeks: pure, given this week's themes and earlier weeks' sections.

A theme whose centroid is close to an earlier week's theme, and whose papers the earlier label
still describes, keeps the earlier id, and its label while it still fits most of them (a
research area's name, topics/areas.py, is chosen afresh each week and is not carried over); the
counts per section key over the earlier weeks become the digest's trend history; the sections to
remember for next week are returned for the caller to save.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.models import Assignment, Theme, Week, WeekSection
from pipeline.topics import labels
from pipeline.topics.phrases import name_parts

#: Cosine between theme centroids above which this week's theme is last week's theme again.
SAME_THEME_SIMILARITY = 0.85
#: ...and its label must still describe this week's papers: at least this share of them (of up
#: to LABEL_CHECK_PAPERS) contain one of its phrases. Centroids of, say, every LLM-heavy cluster
#: are alike; without this a 47-paper LLM theme inherited a 6-paper RAG theme's label.
SAME_THEME_LABEL_SHARE = 0.25
LABEL_CHECK_PAPERS = 100
#: A continued theme keeps its earlier name only while every phrase of it is still in this share
#: of its papers and the name as a whole fits most of them (labels.NAME_FIT), as a new name must;
#: otherwise it keeps its id and takes this week's name (issue 17: "language, llm, code
#: generation" was carried over to a week without a code-generation paper).
NAME_PART_SHARE = 0.1


@dataclass(frozen=True)
class Continuity:
    """This week's themes as continued, their trend history, centroids and sections to save."""

    themes: list[Theme]
    history: dict[str, tuple[int, ...]]
    centroids: dict[str, np.ndarray]
    sections: list[WeekSection]


def continue_themes(
    themes: Sequence[Theme],
    earlier_sections: Sequence[WeekSection],
    *,
    week: Week,
    assignments: Sequence[Assignment],
    earlier_weeks: Sequence[str],
    area_names: Collection[str] = (),
) -> Continuity:
    """Give recurring themes their earlier id and label; say what to remember of this week.

    `earlier_sections` are the stored sections of `earlier_weeks` (oldest first); the history
    counts each section key of this week over those weeks (empty when nothing earlier is known:
    the first digest has no trend to show). `area_names`: the research areas themes may be
    named by (topics/areas.py), whose names are chosen afresh each week, not carried over.
    """
    # A centroid of another size was drawn by another model (`[embed] model` changed since):
    # it lives in another space, and comparing it raised a numpy error in every build (round 14).
    dim = week.vectors.shape[1] if week.vectors.ndim == 2 else 0
    known = {
        s.key: s
        for s in earlier_sections
        if s.kind == "theme" and s.centroid is not None and s.centroid.shape == (dim,)
    }
    own = theme_centroids(themes, week)

    def sample(position: int) -> list[str]:
        members = themes[position].paper_ids[:LABEL_CHECK_PAPERS]
        return [week.papers[week.index[pid]].text for pid in members]

    areas = frozenset(area_names)

    def label_fits(position: str, old_key: str) -> bool:
        """Close in embedding space is not enough: the earlier label must still fit (a research
        area's name: be chosen again, or its key phrases still describe the papers)."""
        old = known[old_key]
        if old.label in areas and themes[int(position)].label == old.label:
            return True
        # An area's name need not be in the texts: its key phrases are checked instead.
        said = list(old.terms[:2]) if old.label in areas else [old.label]
        fit = labels.describes(said, sample(int(position)))
        return fit >= SAME_THEME_LABEL_SHARE

    # Matched by position, not id: ids are only unique among this week's themes.
    same = match_themes(
        {str(i): own[i] for i in range(len(themes))},
        {key: s.centroid for key, s in known.items() if s.centroid is not None},
        min_similarity=SAME_THEME_SIMILARITY,
        accept=label_fits,
    )
    claimed = set(same.values())
    kept: list[Theme] = []
    centroids: dict[str, np.ndarray] = {}
    for i, theme in enumerate(themes):
        old = known.get(same.get(str(i), ""))
        if old is not None:
            texts = sample(i)
            # An area's name, this week's or the earlier one, is never replaced by phrases.
            by_area = theme.label in areas or old.label in areas
            still = (
                not by_area
                and labels.describes([old.label], texts) >= labels.NAME_FIT
                and all(
                    labels.describes([part], texts) >= NAME_PART_SHARE
                    for part in name_parts(old.label)
                )
            )
            theme = dataclasses.replace(
                theme, theme_id=old.key, label=old.label if still else theme.label
            )
        elif theme.theme_id in claimed or theme.theme_id in centroids:
            # Its label-derived id is an earlier theme's that another cluster continues.
            theme = dataclasses.replace(theme, theme_id=f"{theme.theme_id}-{week.week.lower()}")
        centroids[theme.theme_id] = own[i]
        kept.append(theme)
    counts = {(s.week, s.key): s.n_papers for s in earlier_sections}
    keys = {a.primary for a in assignments if a.primary} | {t.theme_id for t in kept}
    history = {k: tuple(counts.get((w, k), 0) for w in earlier_weeks) for k in keys}
    if not earlier_sections:
        history = {}
    sections = week_sections(week.week, kept, assignments, centroids)
    return Continuity(kept, history, centroids, sections)


def theme_centroids(themes: Sequence[Theme], week: Week) -> list[np.ndarray]:
    """Each theme's unit-length mean vector, in theme order."""
    found = []
    for theme in themes:
        centroid = week.vectors[[week.index[pid] for pid in theme.paper_ids]].mean(axis=0)
        found.append(centroid / (np.linalg.norm(centroid) or 1.0))
    return found


def theme_scores(
    themes: Sequence[Theme], week: Week, centroids: dict[str, np.ndarray]
) -> dict[str, float]:
    """Each themed paper's cosine to its theme's centroid: how typical it is of the theme."""
    scores: dict[str, float] = {}
    for theme in themes:
        rows = [week.index[pid] for pid in theme.paper_ids]
        centroid = centroids[theme.theme_id]
        for pid, score in zip(theme.paper_ids, week.vectors[rows] @ centroid, strict=True):
            scores[pid] = float(score)
    return scores


def week_sections(
    week: str,
    themes: Sequence[Theme],
    assignments: Sequence[Assignment],
    centroids: dict[str, np.ndarray],
) -> list[WeekSection]:
    """What to remember of this week: each topic's count, each theme with its centroid."""
    topic_counts = Counter(a.primary for a in assignments if a.primary)
    rows = [
        WeekSection(week, slug, "topic", slug, (), n) for slug, n in sorted(topic_counts.items())
    ]
    for theme in themes:
        rows.append(
            WeekSection(
                week,
                theme.theme_id,
                "theme",
                theme.label,
                theme.terms,
                len(theme.paper_ids),
                theme.representative,
                centroids[theme.theme_id],
            )
        )
    return rows


def match_themes(
    centroids: Mapping[str, np.ndarray],
    previous: Mapping[str, np.ndarray],
    *,
    min_similarity: float,
    accept: Callable[[str, str], bool] | None = None,
) -> dict[str, str]:
    """This week's theme id → an earlier theme id whose centroid is close enough (one-to-one).

    Greedy by similarity, highest first; ties broken by ids so the result is deterministic.
    `accept(new_id, old_id)`, when given, can refuse a close pair; both stay free for others.
    """
    pairs = []
    for new_id, c in centroids.items():
        for old_id, p in previous.items():
            denom = float(np.linalg.norm(c) * np.linalg.norm(p)) or 1.0
            pairs.append((float(c @ p) / denom, new_id, old_id))
    pairs.sort(key=lambda t: (-t[0], t[1], t[2]))
    matched: dict[str, str] = {}
    used: set[str] = set()
    for similarity, new_id, old_id in pairs:
        if similarity < min_similarity:
            break
        if new_id in matched or old_id in used:
            continue
        if accept is not None and not accept(new_id, old_id):
            continue
        matched[new_id] = old_id
        used.add(old_id)
    return matched
