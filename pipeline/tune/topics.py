"""`digest topics`: per-topic scores of a week, suggested keywords, `--compare` of two configs."""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import run
from pipeline.config import Settings, digest_command
from pipeline.embed import Embedder
from pipeline.errors import shortened
from pipeline.models import Paper, Topic
from pipeline.run import scoring
from pipeline.run.report import count
from pipeline.store import Store
from pipeline.topics import assign, calibrate, labels, words

logger = logging.getLogger(__name__)

#: How `WeekScores.sections` spells a discovered theme: the prefix, then its name.
THEME_PREFIX = "theme: "


@dataclass(frozen=True)
class WeekScores:
    """One week's papers with their topic evidence, assignments and digest sections."""

    week: str
    papers: list[Paper]
    scores: assign.TopicScores
    assignments: list[Any]
    topics: tuple[Topic, ...]
    sections: dict[str, str]  # paper_id → topic slug, 'theme: <label>' or 'other'
    # Per topic: judged by a boundary learnt from the store, else by a threshold (`fixed`): its
    # own min_similarity or, with too few keyword papers to learn from, [themes] min_similarity
    # when set, else one read from the store (`judged_by` says which: scoring.fixed_threshold).
    fixed: tuple[float, ...] = ()  # the threshold of each topic not "learnt"
    judged_by: tuple[str, ...] = ()  # "own", "learnt", "themes", "store" or "default"
    store_papers: tuple[int, ...] = ()  # papers a "store" threshold was read from
    # Per topic: examples written as an id, DOI or link of no stored paper (left out).
    unstored: tuple[tuple[str, ...], ...] = ()
    # Per topic: the margin a paper naming none of a learnt topic's keywords must reach
    # (`calibrate.names_none_cuts`; 0 for other topics and where no cut is needed).
    names_none_cuts: tuple[float, ...] = ()

    @property
    def learnt(self) -> tuple[bool, ...]:
        """Per topic: judged by a boundary learnt from the store."""
        return tuple(how == "learnt" for how in self.judged_by)

    @property
    def margin(self) -> np.ndarray:
        """(n_papers, n_topics) distance from each topic's boundary; ≥ 0 is inside."""
        return self.scores.margin if self.scores.margin is not None else self.scores.combined

    @property
    def rank(self) -> np.ndarray:
        """`margin` without keyword evidence (what orders a paper's topics)."""
        return self.scores.rank if self.scores.rank is not None else self.margin


def score_week(
    settings: Settings, store: Store, embedder: Embedder, *, week: str | None = None
) -> WeekScores:
    """Score, assign and cluster one week's stored papers exactly as `digest build` would."""
    now = datetime.now().astimezone()
    chosen = run.choose_week(
        week or settings.digest.week, store, now=now, timezone=settings.digest.timezone
    )
    loaded, _ = run.load_week(
        store,
        embedder,
        chosen,
        now=now,
        timezone=settings.digest.timezone,
        progress=settings.embed.progress,
        on_missing=partial(_say_embedding, chosen, embedder.name),
    )
    papers = list(loaded.papers)
    topics = settings.topics_as_models()
    scored, _, assignments = run.assign_papers(
        settings, store, embedder, papers, loaded.vectors, topics, now=now
    )
    themes = run.continue_week_themes(
        settings, store, embedder, loaded, assignments, now=now
    ).themes
    sections = {a.paper_id: a.primary or "other" for a in assignments}
    sections.update({pid: THEME_PREFIX + t.label for t in themes for pid in t.paper_ids})
    found = scoring.learn_topic_boundaries(
        settings, store, embedder, papers, loaded.vectors, topics, now=now
    )
    return WeekScores(
        chosen,
        papers,
        scored,
        assignments,
        topics,
        sections,
        fixed=tuple(
            scoring.fixed_threshold(settings, t, f) for t, f in zip(topics, found, strict=True)
        ),
        judged_by=tuple(
            scoring.judged_by(settings, t, f) for t, f in zip(topics, found, strict=True)
        ),
        store_papers=tuple(f.n_papers if isinstance(f, calibrate.Fallback) else 0 for f in found),
        unstored=tuple(tuple(scoring.unstored_examples(store, t)) for t in topics),
        names_none_cuts=tuple(
            f.names_none_cut if isinstance(f, calibrate.Boundary) else 0.0 for f in found
        ),
    )


def _say_embedding(week: str, model: str, n_missing: int, n_papers: int) -> None:
    """Say, before the model is loaded, that papers of the week are embedded first (a
    command that reads would otherwise sit silent for a minute, or fail offline unexplained)."""
    logger.warning(
        "%s: no vector from %s yet for %d of its %d papers (an ingest is still embedding"
        " them, or was stopped before it did, or the model changed): embedding them first,"
        " as `digest build` would",
        week,
        model,
        n_missing,
        n_papers,
    )


def describe_boundary(week: WeekScores, col: int) -> str:
    """How topic `col` is judged this week: its own threshold, a learnt boundary, or, because
    too few stored papers name its keywords, [themes] min_similarity or a threshold read from
    the store."""
    topic = week.topics[col]
    if topic.min_similarity is not None:
        return f"fixed min_similarity {topic.min_similarity:.2f}"
    how = week.judged_by[col] if col < len(week.judged_by) else "default"
    if how == "learnt":
        return "boundary learnt from the store"
    threshold = week.fixed[col] if col < len(week.fixed) else None
    value = f"{threshold:.2f}" if threshold is not None else "?"
    if how == "themes":
        return f"fixed [themes] min_similarity {value}: {NOT_LEARNT}"
    if how == "store":
        return (
            f"threshold {value} read from the store (its score's mean + "
            f"{calibrate.FALLBACK_SD:g} sd over {week.store_papers[col]} papers, at least"
            f" {calibrate.FALLBACK_FLOOR:g}): {NOT_LEARNT}"
        )
    return f"fixed {value}: {NOT_LEARNT}; too few stored papers to read a threshold from"


# Why a topic without its own min_similarity has no learnt boundary (calibrate.fit_boundary).
NOT_LEARNT = (
    f"no boundary learnt, as fewer than {calibrate.MIN_WEAK_POSITIVES} stored papers name its"
    " keywords or are its examples (or the store holds under"
    f" {2 * calibrate.MIN_WEAK_POSITIVES} papers)"
)


def describe_topics(week: WeekScores, *, n_near: int = 3, n_keywords: int = 5) -> str:
    """Per topic: count, the papers just inside and just outside its boundary, keywords to add."""
    lines = [f"{week.week}: {count(len(week.papers), 'paper')}"]
    texts = [p.text for p in week.papers]
    for col, topic in enumerate(week.topics):
        column = week.margin[:, col]
        members = [i for i, a in enumerate(week.assignments) if a.primary == topic.slug]
        boundary = describe_boundary(week, col)
        inside = sorted((i for i in range(len(column)) if column[i] >= 0), key=lambda i: column[i])
        # Its section holds the papers it is the primary topic of; a paper inside its boundary
        # may lead with another topic (then this one is "also relevant").
        lines.append(
            f"\n{topic.slug} ({topic.name}): {count(len(members), 'paper')} in its section,"
            f" {len(inside)} inside its boundary; {boundary}"
        )
        unstored = week.unstored[col] if col < len(week.unstored) else ()
        if unstored:
            lines.append(
                f"  examples that name no stored paper, left out until it is ingested:"
                f" {', '.join(map(repr, unstored))}"
            )
        outside = sorted((i for i in range(len(column)) if column[i] < 0), key=lambda i: -column[i])
        for label, rows in (("just inside", inside[:n_near]), ("just outside", outside[:n_near])):
            for i in rows:
                paper = week.papers[i]
                lines.append(
                    f"  {label} {column[i]:+.2f}  {paper.paper_id}  {shortened(paper.title, 70)}"
                )
        members_set = set(members)
        suggested = suggest_keywords(
            [texts[i] for i in members],
            topic,
            n=n_keywords,
            background=[text for i, text in enumerate(texts) if i not in members_set],
        )
        if suggested:
            lines.append("  suggested keywords: " + ", ".join(suggested))
    return "\n".join(lines)


def suggest_keywords(
    texts: Sequence[str], topic: Topic, *, n: int, background: Sequence[str] = ()
) -> list[str]:
    """Noun phrases of two words or more frequent in the topic's papers, rarer in `background`,
    not yet among its keywords, none about the paper itself ("project page"). A verb or
    adjective a few papers share ("meet", "broad") or a single word ("token", "budget") matches
    papers on anything; every paper naming a keyword counts as evidence for the topic (README,
    "Topics")."""
    if len(texts) < 2:
        return []
    terms = labels.label_groups(
        [list(texts)],
        n_terms=n + len(topic.keywords) + 3,  # room for the ones dropped below
        background=background,
        nouns=True,
        min_words=2,
    )[0]
    have = {k.casefold() for k in topic.keywords}
    return [
        t
        for t in terms
        if t.casefold() not in have and not words.SELF_REFERENCE.intersection(t.split())
    ][:n]


@dataclass(frozen=True)
class Comparison:
    """What changes between two configs on one week: moved papers and section sizes."""

    week: str
    moved: list[tuple[str, str, str, str]]  # (paper_id, title, section before, section after)
    sizes: dict[str, tuple[int, int]]  # section → (papers before, papers after)
    # A theme section, or a topic slug the other config no longer has → the one that holds
    # most of its papers there.
    renamed: dict[str, str] = dataclasses.field(default_factory=dict)
    # Topics only the other config has that take no paper of the week (no size changes).
    empty_new: tuple[str, ...] = ()


#: Where a paper is under a config whose week does not hold it (another [digest] timezone).
OUTSIDE = "(outside the week)"


def compare_configs(before: WeekScores, after: WeekScores) -> Comparison:
    """Every paper whose section (topic, discovered theme or other) changes, and section sizes.

    A discovered theme that keeps most of its papers under the other config but comes out
    under another name is the same section, renamed (`renamed`): its papers that stay are not
    counted as moved, so a theme that gains one paper and swaps its name's halves is not a move
    of all its papers (issue 17). So is a topic whose slug only the other config lacks, when
    most of its papers are in a topic only the other config has: a slug changed, not a move.
    """
    titles = {p.paper_id: p.title for p in (*before.papers, *after.papers)}
    renamed = _renamed_themes(before.sections, after.sections) | _renamed_topics(before, after)
    same = {new: old for old, new in renamed.items()}
    # A config with another [digest] timezone holds other papers in the week: each that joins
    # or leaves it moves from or to OUTSIDE (it was counted "from other", or not at all).
    moved = [
        (pid, titles[pid], _section(before, pid), _section(after, pid))
        for pid in dict.fromkeys([*before.sections, *after.sections])
        if _section(before, pid) != same.get(_section(after, pid), _section(after, pid))
    ]
    old = Counter(before.sections.values())
    new = Counter(same.get(s, s) for s in after.sections.values())
    order = [t.slug for t in after.topics] + sorted(set(old) | set(new))
    sizes = {key: (old[key], new[key]) for key in dict.fromkeys(order)}
    known = {t.slug for t in before.topics}
    empty = tuple(t.slug for t in after.topics if t.slug not in known and not new[t.slug])
    return Comparison(after.week, sorted(moved), sizes, renamed, empty)


def _section(week: WeekScores, paper_id: str) -> str:
    return week.sections.get(paper_id, OUTSIDE)


def _renamed_themes(before: dict[str, str], after: dict[str, str]) -> dict[str, str]:
    """Theme sections of `before` → the differently named theme of `after` holding most of
    their papers, paired one to one, largest overlap first."""
    return _renamed(before, after, is_theme, is_theme)


def _renamed_topics(before: WeekScores, after: WeekScores) -> dict[str, str]:
    """Topic slugs of `before` that `after` lacks → the slug new in `after` holding most of
    their papers, paired one to one, largest overlap first."""
    gone = {t.slug for t in before.topics} - {t.slug for t in after.topics}
    new = {t.slug for t in after.topics} - {t.slug for t in before.topics}
    return _renamed(before.sections, after.sections, gone.__contains__, new.__contains__)


def is_theme(section: str) -> bool:
    """Whether a section of `WeekScores.sections` is a discovered theme (not a topic, "other")."""
    return section.startswith(THEME_PREFIX)


def _renamed(
    before: Mapping[str, str],
    after: Mapping[str, str],
    old: Callable[[str], bool],
    new: Callable[[str], bool],
) -> dict[str, str]:
    """Sections of `before` that `old` admits → the section of `after` that `new` admits and
    that holds most of their papers (pair_by_overlap, by majority), when it has another name."""
    pairs = pair_by_overlap(
        {pid: s for pid, s in before.items() if old(s)},
        {pid: s for pid, s in after.items() if new(s)},
        majority=True,
    )
    return {a: b for a, b in pairs.items() if a != b}


def pair_by_overlap(
    before: Mapping[str, str], after: Mapping[str, str], *, majority: bool = False
) -> dict[str, str]:
    """Each group of `before` (item → group) → the group of `after` sharing the most of its
    items, one to one, largest overlap first (ties by names). With `majority`, only when that
    is more than half of the `before` group."""
    overlap = Counter((old, after[item]) for item, old in before.items() if item in after)
    size = Counter(before.values())
    pairs: dict[str, str] = {}
    taken: set[str] = set()
    for (old, new), n in sorted(overlap.items(), key=lambda kv: (-kv[1], kv[0])):
        if old in pairs or new in taken or (majority and 2 * n <= size[old]):
            continue
        pairs[old] = new
        taken.add(new)
    return pairs


def _why_renamed(comparison: Comparison, old: str, new: str) -> str:
    """What changed in a renamed theme's papers: those it gave to or took from other sections
    ("1 paper to speech"), or that only the name changed (issue 17: a rename counts as a move
    when nothing explains it)."""
    gave = Counter(after for _, _, before, after in comparison.moved if before == old)
    took = Counter(before for _, _, before, after in comparison.moved if after == new)
    reasons = [f"{count(n, 'paper')} to {section}" for section, n in sorted(gave.items())]
    reasons += [f"{count(n, 'paper')} from {section}" for section, n in sorted(took.items())]
    return ", ".join(reasons) or "the same papers: only the name changed"


def describe_comparison(comparison: Comparison, other: str) -> str:
    """The comparison as lines: moved papers, renamed themes, each section's size before →
    after."""
    n_moved = count(len(comparison.moved), "paper")
    verb = "changes" if len(comparison.moved) == 1 else "change"
    lines = [f"{comparison.week}: {n_moved} {verb} section under {other}"]
    lines += [
        f"  {pid}  {old} → {new}  {shortened(title, 60)}"
        for pid, title, old, new in comparison.moved
    ]
    if any(OUTSIDE in (old, new) for _, _, old, new in comparison.moved):
        lines.append(
            f"{OUTSIDE}: the two configs' [digest] timezone put that paper in another week"
        )
    renamed = sorted(comparison.renamed.items())
    for kind, pairs in (
        ("topics", [(old, new) for old, new in renamed if not is_theme(old)]),
        ("themes", [(old, new) for old, new in renamed if is_theme(old)]),
    ):
        if pairs:
            lines.append(f"{kind} renamed (most of their papers stay):")
            lines += [
                f"  {old} → {new}  ({_why_renamed(comparison, old, new)})" for old, new in pairs
            ]
    changed = {key: (a, b) for key, (a, b) in comparison.sizes.items() if a != b}
    same = sum(1 for a, b in comparison.sizes.values() if a == b and (a or b))
    # Only the sections that change: a week of 250 themes listed every one, the few that moved
    # lost among them.
    if changed:
        lines.append("sections that change size (papers before → after):")
        width = max(40, *(len(key) for key in changed))
        lines += [f"  {key:{width}} {a:4d} → {b:4d}" for key, (a, b) in changed.items()]
    if same:
        lines.append(
            "1 other section keeps its size" if same == 1 else f"{same} other sections keep theirs"
        )
    # Round 29: a topic added in the other config that takes nothing was not named at all, and
    # "0 papers change section" read as if the new topic had not been read.
    if comparison.empty_new:
        command = f"{digest_command(Path(other))} topics --week {comparison.week}"
        lines.append(
            f"new in {other}, taking no paper of {comparison.week}:"
            f" {', '.join(comparison.empty_new)} (`{command}` shows the papers nearest its"
            " boundary)"
        )
    return "\n".join(lines)
