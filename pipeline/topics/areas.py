"""Research-area names for discovered themes (pure, given vectors and texts).

Extracted phrases name a theme by its words ("Subsystem and read", "Patient and insight"); a
reader names it by its area ("Storage systems"). So a theme is named, when one fits, from a
vocabulary of names a researcher would write (pipeline/data/areas.txt, written independently of
this project's data; `[themes] areas` can name another file). Each area's cosine to each paper
of the week, less the area's mean cosine over the week, scores how much the paper is about it
(a broad area such as "Machine learning" is close to every paper, so raw cosine would always
pick it; dividing by the spread as well let areas nobody in the week is about win on noise); a
paper is near an area among its AREA_TOP best. An area is a candidate for a theme when it is
near at least MIN_AREA_FIT of its papers, scores MIN_AREA_SCORE on average and lies within
MIN_AREA_COSINE of the theme's centroid; then the texts must bear it out (`_grounded`): the
papers use the name as a phrase (MIN_PHRASE_PAPERS of them, or one when the area is very
close to the centroid), every word of it is in MIN_WORD_SHARE of them, and
MIN_AREA_FIT of them are near the area AND contain a word of the name that marks the theme.
The theme takes the candidate with the best mean score times that share; two themes never share
a name (the better pair keeps it). A name under FIELD_SHARE of the theme's papers write is too
narrow: the field it is listed under (`Areas.fields`) names the theme instead when most of its
papers write the field's words (`_widen`). A theme no area fits takes the field most of its
closest areas are listed under, when its papers bear that out and no other theme has it as its
name (`_by_field`; themes that take one field are shown as one: cluster.find_themes); else it
keeps its extracted phrases (labels.name_groups), unless its titles do not write them: then the
broad area its papers lie towards names it (`name_broadly`). Last, a theme of
NEAREST_AREA_PAPERS or more still named by its phrases takes the area nearest its centroid
where its texts bear every word of it out (`name_by_nearest`: "Graph algorithms" for "Graph and
vertex"). Imports numpy, config's file rules, phrases and words.
"""

from __future__ import annotations

import functools
import itertools
import operator
import re
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from pipeline.config.rules import parse_area_fields, parse_area_names, parse_broad_areas
from pipeline.topics.phrases import stored_words, word_root
from pipeline.topics.words import BROAD_TERMS

#: A paper fits an area when the area is among its this many best (less the week's mean)...
AREA_TOP = 25
#: An area names a theme only when it fits at least this share of the theme's papers...
MIN_AREA_FIT = 0.5
#: ...and their mean score for it (cosine less the week's mean cosine) is at least this...
MIN_AREA_SCORE = 0.1
#: ...and its cosine to the theme's centroid at least this: the relative score alone would let
#: the least unrelated area of a vocabulary that has no name for the theme's subject name it.
MIN_AREA_COSINE = 0.3
#: Every word of the name (stop words aside) must be in at least this share of the theme's
#: papers: a vocabulary's nearest name is often one whose key word no paper uses ("Algorithmic
#: trading" for bandit papers, "Zero-knowledge proofs" for argumentation).
MIN_WORD_SHARE = 0.25
#: A name word marks a theme when it is at least this many times as common there as in the
#: week; a paper fits the name only if it has a marking word ("Graph neural networks" needs
#: "graph", not "network").
DISTINCT_RATIO = 2.0
#: ...and is in under this share of the week's papers: "learning" in a theme where every paper
#: says it does not make "Continual learning" fit papers that never say "continual".
COMMON_WORD_SHARE = 0.2
#: At least this many of the theme's papers must use the name itself (its words together, in
#: order, inflections and stop words aside): each word of "Quantum key distribution" or
#: "Traffic simulation" is in papers on quantum theory or on network traffic, the area is not.
#: One paper is enough for an area within CLOSE_AREA_COSINE of the theme's centroid. (Read
#: blind on held-out arXiv themes, every name a reader found misleading was used by one paper
#: and lay under cosine 0.61 of its theme; benchmarks/README.md, fifth round.)
MIN_PHRASE_PAPERS = 2
CLOSE_AREA_COSINE = 0.65
#: Papers (the most central) and week papers the words are counted on.
CHECK_PAPERS = 100
WEEK_SAMPLE = 1000


#: A theme's area name that under this share of its papers write (as a phrase) is too narrow
#: for it: it is named by the area's field instead (`Areas.fields`: "Speech and audio" for
#: speech papers of which two are on emotion recognition), when most of them write the field's
#: words. Readers' main complaint about area names (benchmarks/README.md, sixth round).
FIELD_SHARE = 0.5
#: A theme no area names is named by a field when at least FIELD_VOTES of its FIELD_VOTERS
#: best areas (by mean score) are listed under it and MIN_AREA_FIT of its papers write a word
#: of those names or the field's that marks the theme (`_by_field`): a reader names such a
#: theme by its field ("Medicine and health" over imaging, surgery and survival papers) where
#: its own words made "Foundation and dataset" (benchmarks/README.md, seventh round).
FIELD_VOTERS = 5
FIELD_VOTES = 3
#: A theme named by its own phrases whose titles under this share write a word of the name is
#: weakly named ("Tight", "Pilot and technology", "Maximum")...
WEAK_TITLE_FIT = 0.5
#: ...and takes the broad area (`Areas.broad`) its papers score best on instead, when that
#: area is among the AREA_TOP best of at least this share of its papers, MIN_AREA_FIT of them
#: write a word of its name that marks the theme, and it lies within BROAD_COSINE of their
#: centroid (`name_broadly`): "Algorithms and data structures", "AI policy and governance",
#: "Causal inference" (benchmarks/README.md, tenth round).
BROAD_FIT = 0.6
BROAD_COSINE = 0.5
#: A theme of at least this many papers and this share of the week's themed papers is a whole
#: field of the week ("3D scene understanding" over 144 computer-vision papers, "Reasoning and
#: reinforcement learning" over 130 LLM papers: readers called both poor): whatever its name,
#: when under WEAK_TITLE_FIT of its titles write it, the broad area its papers score best on
#: names it ("Computer vision", "Large language models"), if it scores MIN_AREA_SCORE and lies
#: within MIN_AREA_COSINE of their centroid (`name_broadly`).
LARGE_THEME_PAPERS = 20
LARGE_THEME_SHARE = 0.1


@dataclass(frozen=True)
class Areas:
    """Area names and their vectors (row i is names[i]; any length, they are normalised),
    each name's field (`parse_area_fields`: the `# Field` line it is listed under), if any, and
    the names of whole research areas (`parse_broad_areas`: those under "# Broad areas")."""

    names: tuple[str, ...]
    vectors: np.ndarray
    fields: Mapping[str, str] = field(default_factory=dict)
    broad: frozenset[str] = frozenset()

    def theme_names(self) -> frozenset[str]:
        """Every name this vocabulary can give a theme: its areas (broad ones included) and
        their fields. Chosen afresh each week; never replaced by key phrases."""
        return frozenset({*self.names, *self.fields.values(), *self.broad})


@functools.cache
def area_names(source: str = "builtin") -> tuple[str, ...]:
    """The vocabulary `[themes] areas` names: "builtin" (pipeline/data/areas.txt) or a file
    (checked when the config was loaded); "off" gives none."""
    if source == "off":
        return ()
    shown = str(Path("pipeline/data/areas.txt")) if source == "builtin" else source
    return parse_area_names(_vocabulary(source), source=shown)


def area_fields(source: str = "builtin") -> dict[str, str]:
    """Each name of the vocabulary `[themes] areas` names → its field (`parse_area_fields`)."""
    return dict(_area_fields(source))


@functools.cache
def broad_areas(source: str = "builtin") -> frozenset[str]:
    """The names of whole research areas in the vocabulary `[themes] areas` names
    (`parse_broad_areas`)."""
    return frozenset() if source == "off" else parse_broad_areas(_vocabulary(source))


@functools.cache
def _area_fields(source: str) -> tuple[tuple[str, str], ...]:
    return () if source == "off" else tuple(parse_area_fields(_vocabulary(source)).items())


@functools.cache
def _vocabulary(source: str) -> str:
    """The text of the vocabulary file `source` names ("builtin": the packaged one)."""
    if source == "builtin":
        return resources.files("pipeline").joinpath("data/areas.txt").read_text("utf-8")
    return Path(source).read_text(encoding="utf-8-sig")


class WeekScores:
    """How much each paper of a week is about each area, measured once for every naming of
    that week (cluster.find_themes names its themes, then the loose groups of what is left):
    the papers' unit vectors, each area's cosine less its mean over the week (`scores`),
    whether an area is among a paper's AREA_TOP best (`in_top`), and the texts' words."""

    def __init__(self, week_vectors: np.ndarray, areas: Areas, texts: Sequence[str]) -> None:
        self.unit_areas = _unit(areas.vectors)
        self.unit_week = _unit(week_vectors)
        cosine = self.unit_week @ self.unit_areas.T
        self.scores = cosine - cosine.mean(axis=0)  # less each area's mean over the week
        top = min(AREA_TOP, self.scores.shape[1])
        best = np.argpartition(-self.scores, top - 1, axis=1)[:, :top]
        self.in_top = np.zeros(self.scores.shape, dtype=bool)
        np.put_along_axis(self.in_top, best, True, axis=1)
        self.words = _Words(texts)


def name_by_area(
    groups: Sequence[np.ndarray],
    week_vectors: np.ndarray,
    areas: Areas,
    *,
    texts: Sequence[str],
    shown: Sequence[np.ndarray] | None = None,
    week: WeekScores | None = None,
) -> list[str | None]:
    """Each group's area name, or None when no area fits it (see the module docstring).

    `groups` are row indices into `week_vectors` and `texts`, the vectors and texts of every
    paper of the week (the groups' and the rest), which the areas' scores are measured against.
    `shown` (row for row with `groups`: the part of each group a reader sees, when the group
    is named whole): the area must also be near MIN_AREA_FIT of those papers, and their texts
    bear it out (one of them using the name is enough). `week`: these vectors' and texts'
    WeekScores, when the caller names the same week more than once.
    """
    if not groups or not len(areas.names) or week_vectors.shape[0] < 2:
        return [None] * len(groups)
    week = week or WeekScores(week_vectors, areas, texts)
    unit_areas, unit_week, scores = week.unit_areas, week.unit_week, week.scores
    in_top, words = week.in_top, week.words
    name_words, name_parts = _name_words(areas.names)
    candidates: list[tuple[float, int, int]] = []  # (-score, group, area)
    leading: list[np.ndarray] = []  # per group, its FIELD_VOTERS best areas by mean score
    for k, group in enumerate(groups):
        mean = scores[group].mean(axis=0)
        best_areas = np.argsort(-mean, kind="stable")[:FIELD_VOTERS]
        leading.append(best_areas[mean[best_areas] >= MIN_AREA_SCORE])
        centroid = _unit(unit_week[group].mean(axis=0, keepdims=True))[0]
        close = unit_areas @ centroid
        good = (in_top[group].mean(axis=0) >= MIN_AREA_FIT) & (mean >= MIN_AREA_SCORE)
        central = _most_central(group, unit_week)
        for area in (int(c) for c in np.flatnonzero(good & (close >= MIN_AREA_COSINE))):
            using = 1 if close[area] >= CLOSE_AREA_COSINE else MIN_PHRASE_PAPERS
            grounded = _grounded(
                name_words[area], name_parts[area], central, in_top[:, area], words, using=using
            )
            if grounded is not None and shown is not None:  # and by the papers a reader sees
                seen = _most_central(shown[k], unit_week)
                if _grounded(name_words[area], name_parts[area], seen, in_top[:, area], words,
                             using=1) is None:  # fmt: skip
                    grounded = None
            if grounded is not None:
                candidates.append((-float(mean[area]) * grounded, k, area))
    chosen: list[int | None] = [None] * len(groups)
    taken: set[int] = set()
    for _, k, area in sorted(candidates):  # best pairs first; ties by group, then area order
        if chosen[k] is None and area not in taken:
            chosen[k] = area
            taken.add(area)
    rows = groups if shown is None else shown
    named = _widen(chosen, rows, areas, words, unit_week)
    return _by_field(named, leading, rows, areas, words, unit_week)


def name_broadly(
    groups: Sequence[np.ndarray],
    names: Sequence[str],
    weak: Sequence[bool],
    titles: Sequence[str],
    areas: Areas,
    week: WeekScores,
) -> list[str | None]:
    """For each theme whose phrase name is weak, the broad area that names it instead, or None.

    `groups`: rows of the week (`week`'s rows; `titles` row for row with them); `names`: every
    theme's current name, none of which a broad area may repeat; `weak`: which themes are
    named by their own phrases (not by an area or field). A phrase name that under
    WEAK_TITLE_FIT of the theme's titles write (a word of it) tells a reader little ("Tight"
    over four graph-algorithm papers). The broad area (`Areas.broad`) its papers score best on
    (mean score) names it instead when that area is near BROAD_FIT of them (among their
    AREA_TOP best), lies within BROAD_COSINE of their centroid, and MIN_AREA_FIT of its most
    central papers write a word of the area's name that marks the theme (`_marking`). A broad
    area made only of the words of whole fields of AI ("Machine learning", "Large language
    models") names nothing here. A theme of LARGE_THEME_PAPERS and LARGE_THEME_SHARE of the
    themed papers is a field of the week: whatever its name (but a broad area's or a field's),
    when under WEAK_TITLE_FIT of its titles write it, the broad area its papers score best on
    names it, whole-field ones included, if it scores MIN_AREA_SCORE on average and lies within
    MIN_AREA_COSINE of their centroid ("Computer vision" over 144 papers on 3D scenes, video and
    VLMs). The themes whose area scores best choose first; two themes never share a name."""
    # "Machine learning", "Deep learning", "Large language models": whole fields of AI, which
    # name no small theme in particular (their words are all _BROAD_WORDS).
    every = [a for a, name in enumerate(areas.names) if name in areas.broad]
    broad = [a for a in every if not set(_words_of(areas.names[a])) <= _BROAD_WORDS]
    result: list[str | None] = [None] * len(groups)
    if not every:
        return result
    taken = {name.casefold() for name in names if name}
    known = {n.casefold() for n in areas.broad} | {f.casefold() for f in areas.fields.values()}
    large = max(LARGE_THEME_PAPERS, LARGE_THEME_SHARE * sum(len(g) for g in groups))
    candidates: list[tuple[float, int, int]] = []
    name_words, _ = _name_words(areas.names)
    for k, group in enumerate(groups):
        big = len(group) >= large and names[k].casefold() not in known
        if not (weak[k] or big) or not len(group):
            continue
        own = set(_words_of(names[k]))
        title_fit = float(np.mean([bool(own & set(_words_of(titles[int(r)]))) for r in group]))
        if title_fit >= WEAK_TITLE_FIT:
            continue
        pool = every if big else broad
        if not pool:
            continue
        mean = week.scores[group][:, pool].mean(axis=0)
        best = int(np.argmax(mean))
        area = pool[best]
        centroid = _unit(week.unit_week[group].mean(axis=0, keepdims=True))[0]
        close = float(week.unit_areas[area] @ centroid)
        if big:  # a whole field of the week: its papers seldom write its name
            if mean[best] >= MIN_AREA_SCORE and close >= MIN_AREA_COSINE:
                candidates.append((-float(mean[best]), k, area))
            continue
        if week.in_top[group, area].mean() < BROAD_FIT:
            continue
        central = _most_central(group, week.unit_week)
        words = week.words
        marking = _marking(name_words[area], central, words)
        fit = float(np.mean([words.has_any(int(r), marking) for r in central]))
        if marking and fit >= MIN_AREA_FIT and close >= BROAD_COSINE:
            candidates.append((-float(mean[best]), k, area))
    for _, k, area in sorted(candidates):
        name = areas.names[area]
        if name.casefold() not in taken:
            result[k] = name
            taken.add(name.casefold())
    return result


#: A theme its own phrases name takes the area nearest its centroid (`name_by_nearest`) when
#: the area's name lies within this cosine of it, and the theme holds NEAREST_AREA_PAPERS papers
#: or more. On arXiv slices and calendar weeks, blind readers preferred the area's name on all
#: 15 renames of nine papers or more ("Graph algorithms", "Compressed sensing"), and on 10 of 13
#: on a dense 10k-paper week (where 4 fewer names fit most titles); of 6-8 papers, three of
#: eight areas misled ("Link prediction" over citation analysis), and of 3-5 papers seven of
#: fourteen ("Mobile app security"); benchmarks/README.md, twenty-fifth and twenty-sixth rounds.
NEAREST_AREA_COSINE = 0.5
NEAREST_AREA_PAPERS = 10


def name_by_nearest(
    groups: Sequence[np.ndarray],
    labels: Sequence[str],
    x: np.ndarray,
    areas: Areas,
    texts: Sequence[str],
    *,
    fixed: Collection[str],
) -> list[str]:
    """Each group's name: a group named by its own phrases (`labels`, one a group; not in
    `fixed`, the names a vocabulary or arXiv gives) takes the research area whose name lies
    nearest its centroid when that is within NEAREST_AREA_COSINE, the group is the week's
    group nearest to that area (of all `groups`, named as they may be), the group holds
    NEAREST_AREA_PAPERS papers or more, every word of the name is in MIN_WORD_SHARE of its
    papers' `texts`, and no other group bears the name. "Graph and vertex" (28 papers) becomes
    "Graph algorithms". `x`: the papers' vectors, rows as in `groups` and `texts`. Larger
    groups choose first."""
    names = list(labels)
    if not groups or not len(areas.names):
        return names
    keep = {n.casefold() for n in fixed}
    centres = _unit(np.stack([_unit(x[g]).mean(axis=0) for g in groups]))
    scores = _unit(areas.vectors) @ centres.T  # areas x groups
    words = _Words(texts)
    taken = {n.casefold() for n in names}
    order = sorted(range(len(groups)), key=lambda k: (-len(groups[k]), int(groups[k][0])))
    for k in order:
        if names[k].casefold() in keep or len(groups[k]) < NEAREST_AREA_PAPERS:
            continue
        best = int(np.argmax(scores[:, k]))
        name = areas.names[best]
        if scores[best, k] < NEAREST_AREA_COSINE or int(np.argmax(scores[best])) != k:
            continue
        if name.casefold() in taken:
            continue
        own = _words_of(name)
        rows = groups[k]
        if not own or min(words.share(w, rows) for w in own) < MIN_WORD_SHARE:
            continue
        taken.add(name.casefold())
        names[k] = name
    return names


def _by_field(
    named: list[str | None],
    leading: Sequence[np.ndarray],
    rows: Sequence[np.ndarray],
    areas: Areas,
    words: _Words,
    unit_week: np.ndarray,
) -> list[str | None]:
    """Each theme's name, a theme no area names taking the field (`Areas.fields`) that
    FIELD_VOTES of its `leading` areas (its best by mean score) are listed under, when the
    texts bear it out: MIN_AREA_FIT of its most central papers (`rows`) write a word that marks
    the theme (as in `_grounded`) and comes from the field's name or those areas' names (two
    such words, or one and the field's own words in MIN_WORD_SHARE of them). A field another
    theme has as its name names none; several themes may take one field (the
    caller shows them as one theme: cluster.find_themes), so which of them is larger decides
    nothing (adding a topic would rename the other)."""
    taken = {name.casefold() for name in named if name}
    result = list(named)
    for k, name in enumerate(named):
        if name is None:
            field_name = _field_of(leading[k], rows[k], areas, words, unit_week)
            if field_name is not None and field_name.casefold() not in taken:
                result[k] = field_name
    return result


def _field_of(
    leading: np.ndarray, rows: np.ndarray, areas: Areas, words: _Words, unit_week: np.ndarray
) -> str | None:
    """The field FIELD_VOTES of the `leading` areas share, if the texts at `rows` bear it out."""
    votes: dict[str, list[int]] = {}
    for area in (int(a) for a in leading):
        field_name = areas.fields.get(areas.names[area])
        if field_name:
            votes.setdefault(field_name, []).append(area)
    chosen = [f for f, voters in votes.items() if len(voters) >= FIELD_VOTES]
    if not chosen:
        return None
    central = _most_central(rows, unit_week)
    own = [w for w in _words_of(chosen[0]) if w not in _BROAD_WORDS]
    voters = {w for a in votes[chosen[0]] for w in _words_of(areas.names[a])}
    # "machine" bears out no field of machine learning; a word no paper writes marks nothing.
    vocabulary = sorted((voters - _BROAD_WORDS) | set(own))
    marking = [w for w in _marking(vocabulary, central, words) if words.share(w, central) > 0]
    fit = float(np.mean([words.has_any(int(r), marking) for r in central]))
    # One word shared by every voter ("code" of "Code generation", "Code summarization") can
    # be another field's word ("erasure code"): then the field's own words must be written, or
    # a second marking word as widely ("search", in 2 of 14 coding-theory papers, made them
    # "Software engineering": benchmarks/README.md, thirteenth round).
    written = [w for w in marking if words.share(w, central) >= MIN_WORD_SHARE]
    borne = len(written) >= 2 or any(words.share(w, central) >= MIN_WORD_SHARE for w in own)
    return chosen[0] if marking and fit >= MIN_AREA_FIT and borne else None


def _widen(
    chosen: list[int | None],
    rows: Sequence[np.ndarray],
    areas: Areas,
    words: _Words,
    unit_week: np.ndarray,
) -> list[str | None]:
    """Each theme's area name (`chosen`: its row of `areas`), or its field instead when under
    FIELD_SHARE of the theme's papers (`rows`, the most central) write the name, FIELD_SHARE
    of them write one of the field's parts and no other theme is named so; the largest theme
    first, so it keeps a shared field."""
    named = [None if area is None else areas.names[area] for area in chosen]
    used = {name.casefold() for name in named if name}
    parts = _name_words(areas.names)[1]
    for k in sorted(range(len(named)), key=lambda k: (-len(rows[k]), k)):
        area = chosen[k]
        wider = areas.fields.get(areas.names[area]) if area is not None else None
        if area is None or not wider or wider.casefold() in used:
            continue
        central = _most_central(rows[k], unit_week)
        enough = FIELD_SHARE * len(central)
        if words.using(parts[area], central) < enough and (
            words.using(_name_words((wider,))[1][0], central) >= enough
        ):
            named[k] = wider
            used.add(wider.casefold())
    return named


@functools.cache
def _name_words(
    names: tuple[str, ...],
) -> tuple[list[tuple[str, ...]], list[list[tuple[str, ...]]]]:
    """Each name's words and the words of each of its parts, read once per vocabulary."""
    return [_words_of(name) for name in names], [
        [_words_of(part) for part in _PARTS.split(name)] for name in names
    ]


def central_rows(x: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """The `n` rows of `group` closest to its centroid, most central first (the one rule for
    "most central": names are checked on them, cluster labels themes from them)."""
    return group[np.argsort(-(x[group] @ x[group].mean(axis=0)), kind="stable")[:n]]


def _most_central(rows: np.ndarray, unit_week: np.ndarray) -> np.ndarray:
    """The CHECK_PAPERS of `rows` closest to their centroid."""
    return central_rows(unit_week, rows, CHECK_PAPERS)


def _marking(candidates: Sequence[str], rows: np.ndarray, words: _Words) -> list[str]:
    """The `candidates` that mark the papers at `rows`: DISTINCT_RATIO times as common there
    as in the week, and in under COMMON_WORD_SHARE of the week."""
    return [
        w
        for w in candidates
        if words.share(w, rows) >= DISTINCT_RATIO * words.week_share(w)
        and words.week_share(w) < COMMON_WORD_SHARE
    ]


def _grounded(
    name: tuple[str, ...],
    parts: Sequence[tuple[str, ...]],
    rows: np.ndarray,
    in_top: np.ndarray,
    words: _Words,
    *,
    using: int,
) -> float | None:
    """How well a name's words bear out an area the vectors chose for the papers at `rows`.

    None when under `using` of them use the name itself (one of its `parts`, when it joins two
    with "and"), when a word is in under MIN_WORD_SHARE of them, or when under MIN_AREA_FIT of
    them both have the area among their best and contain one of the words that mark the group
    (DISTINCT_RATIO times as common there as in the week, and not common in the week: any word
    when none does). Else the share of papers that fit, times 1 + the share of the name's words
    that mark the group."""
    if not name or words.using(parts, rows) < using:
        return None
    if min(words.share(w, rows) for w in name) < MIN_WORD_SHARE:
        return None
    marking = _marking(name, rows, words)
    wanted = marking or list(name)
    fit = float(np.mean([in_top[r] and words.has_any(int(r), wanted) for r in rows]))
    if fit < MIN_AREA_FIT:
        return None
    return fit * (1.0 + len(marking) / len(name))


_TOKEN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_PARTS = re.compile(r",|\band\b")
_STOP = frozenset(["a", "an", "and", "as", "by", "for", "from", "in", "of", "on", "the", "to"])


#: ASCII letters lower-cased, digits and hyphens kept, every other ASCII character a space.
_ASCII_WORDS = str.maketrans(
    {c: c.lower() if c.isalnum() or c == "-" else " " for c in map(chr, range(128))}
)
#: A hyphen without a letter or digit on one side of it (in `_ASCII_WORDS`' output).
_LONE_HYPHEN = re.compile(r"-(?:(?![a-z0-9])|(?<![a-z0-9]-))")


def _words_of(text: str) -> tuple[str, ...]:
    return tuple(word_root(w) for w in _tokens(text) if w not in _STOP)


def _tokens(text: str) -> list[str]:
    """`_TOKEN.findall(text.lower())`; for an ASCII text (nearly every abstract) one translate
    and split, in half the pattern's time: no match spans a character `_ASCII_WORDS` makes a
    space, and a match holds a hyphen exactly when a letter or digit is on both sides of it."""
    if not text.isascii():
        return _TOKEN.findall(text.lower())
    words = text.translate(_ASCII_WORDS)
    if "-" in words:
        words = _LONE_HYPHEN.sub(" ", words)
    return words.split()


#: Words of the names of whole fields of AI ("machine learning", "neural network", "LLM"):
#: in a theme they mark no field in particular.
_BROAD_WORDS = frozenset(w for term in BROAD_TERMS for w in _words_of(term))


class _Words:
    """The words of the week's texts, read once per text and only when asked for."""

    def __init__(self, texts: Sequence[str]) -> None:
        self._texts = texts
        self._sets: dict[int, frozenset[str]] = {}
        self._runs: dict[int, str] = {}
        n = len(texts)
        self._sample = np.unique(np.linspace(0, n - 1, min(n, WEEK_SAMPLE)).astype(int))
        self._week: Counter[str] | None = None  # in how many sample texts each word is
        self._roots = _Roots()
        self._shared: dict[str, str] = {}  # each kept word's one string object

    def of(self, row: int) -> frozenset[str]:
        if row not in self._sets:
            self._read(row)
        return self._sets[row]

    def using(self, parts: Sequence[Sequence[str]], rows: np.ndarray) -> int:
        """How many of the texts at `rows` have one of the name's parts ("Speech and audio":
        "speech", "audio") with its words together, in order."""
        named = [part for part in parts if part]
        phrases = [f" {' '.join(part)} " for part in named]
        listed, runs = self._read_all(rows), self._runs
        if len(phrases) == 1:  # most names: counted in C
            # Only a text with the name's first word can hold the name: its set is looked at
            # first, and only those texts' words are searched.
            having = itertools.compress(
                listed,
                map(
                    operator.contains,
                    map(self._sets.__getitem__, listed),
                    itertools.repeat(named[0][0]),
                ),
            )
            return sum(
                map(operator.contains, map(runs.__getitem__, having), itertools.repeat(phrases[0]))
            )
        return sum(any(p in run for p in phrases) for run in map(runs.__getitem__, listed))

    def _read_all(self, rows: np.ndarray) -> list[int]:
        """`rows` as Python ints, each text among them read (once)."""
        listed: list[int] = np.asarray(rows, dtype=np.int64).tolist()
        for row in listed:
            if row not in self._sets:
                self._read(row)
        return listed

    def _read(self, row: int) -> None:
        text = self._texts[row]
        kept = stored_words(text)  # a paper's words kept between builds (run/readings.py)
        if kept is not None:
            words = kept.split()
            # One string object per distinct word for all the week's texts, as `_roots` gives
            # a text read afresh (a fifth of a build's peak memory otherwise).
            self._sets[row] = frozenset(map(self._shared.setdefault, words, words))
            self._runs[row] = f" {kept} "
            return
        # `_words_of`, each distinct token's root looked up once for the week's texts.
        found = tuple(filter(None, map(self._roots.__getitem__, _tokens(text))))
        self._sets[row] = frozenset(found)
        self._runs[row] = f" {' '.join(found)} "

    def has_any(self, row: int, words: Sequence[str]) -> bool:
        found = self.of(row)
        return any(w in found for w in words)

    def share(self, word: str, rows: np.ndarray) -> float:
        listed, sets = self._read_all(rows), self._sets
        # Counted in C: the week's share of each word reads its WEEK_SAMPLE texts.
        found = sum(map(operator.contains, map(sets.__getitem__, listed), itertools.repeat(word)))
        return found / max(len(rows), 1)

    def week_share(self, word: str) -> float:
        """`share(word, sample)`: the sample's words counted once, for every word asked."""
        if self._week is None:
            listed = self._read_all(self._sample)
            self._week = Counter(itertools.chain.from_iterable(map(self._sets.__getitem__, listed)))
        return self._week[word] / max(len(self._sample), 1)


def words_reader() -> Callable[[str], str]:
    """A text's words as `_Words` reads them (`_words_of`: roots, stop words left out), in
    order and space-separated: what run/readings.py keeps of a paper's text for later builds
    (phrases.pack_reading). Each distinct token's root is looked up once per reader."""
    roots = _Roots()
    return lambda text: " ".join(filter(None, map(roots.__getitem__, _tokens(text))))


class _Roots(dict[str, str]):
    """Token → its `word_root`, or "" for a stop word (a root is never empty): filled as
    tokens are first seen, for one `_Words`."""

    def __missing__(self, token: str) -> str:
        root = self[token] = "" if token in _STOP else word_root(token)
        return root


def _unit(rows: np.ndarray) -> np.ndarray:
    x = np.asarray(rows, dtype=np.float32)
    unit: np.ndarray = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return unit
