"""A week's discovered themes anchored in its last build (pure; issue 17, stability).

Rebuilding a week after a config edit used to group its papers afresh: adding one topic took
its papers, and the linkage, the leftovers' joins and the names of the groups it shrank moved
many others with them (2-4 % of the other papers of the demo weeks, over 5 % in 2-3 of 24
(topic, week) cells of every blind topic set; benchmarks/README.md). `anchored` instead starts
from where the week's last build put each paper (`Placed`) and changes only what the edit
touches:

- a paper the topics take now leaves its theme; a theme that loses none keeps its papers, name,
  key phrases and id;
- a theme that lost papers keeps its id and name while the name fits what is left as well as
  it fitted the whole (the share of its papers that use one of the name's phrases, capped at
  labels.NAME_FIT, less NAME_FIT_SLACK, and every phrase of the name the whole used still in
  one of them; a research area's, field's or arXiv category's name is kept as such); one with
  fewer than `min_theme_size` papers left, or whose name no longer fits, is grouped again on
  its own (`cluster.find_themes`, named against the rest of the week): its parts that cohere
  and have a name are themes, the rest joins the nearest kept theme when close, else "Other";
- papers the topics no longer take (a topic removed or narrowed) are grouped among themselves
  the same way; what no group holds joins the nearest theme when close, else "Other";
- every other paper stays where it was, "Other" included.

Deterministic: the same last build and the same untaken papers give the same themes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.models import Theme
from pipeline.topics import cluster
from pipeline.topics.areas import Areas, central_rows
from pipeline.topics.labels import NAME_FIT, describes
from pipeline.topics.phrases import name_parts, used_by

#: How far under its earlier share a shrunk theme's name may fit what is left: a topic taking
#: one or two papers of a theme whose name half its papers use does not take the name away
#: (round 26 traced most of the stability clause's moves to such themes scattering).
NAME_FIT_SLACK = 0.1
#: Where the last build put a paper that no theme held / that a topic took.
OTHER = -1
TAKEN = -2


@dataclass(frozen=True)
class Placed:
    """A week's themes as its last build showed them (before continuity renamed any), and
    where it put each of the week's papers: `place[paper_id]` is an index into `themes`,
    OTHER or TAKEN."""

    themes: tuple[Theme, ...]
    place: Mapping[str, int]

    def untaken(self) -> frozenset[str]:
        return frozenset(pid for pid, k in self.place.items() if k != TAKEN)


def placed(ids: Sequence[str], untaken: Collection[str], themes: Sequence[Theme]) -> Placed:
    """The `Placed` of a build that showed `themes` among the `untaken` of the week's `ids`."""
    free = set(untaken)
    place = {pid: (OTHER if pid in free else TAKEN) for pid in ids}
    for k, theme in enumerate(themes):
        for pid in theme.paper_ids:
            place[pid] = k
    return Placed(tuple(themes), place)


def anchored(
    last: Placed,
    untaken: Collection[str],
    *,
    ids: Sequence[str],
    vectors: np.ndarray,
    texts: Sequence[str],
    titles: Sequence[str],
    seed: int,
    min_theme_size: int,
    areas: Areas | None,
    fixed: Collection[str] = (),
) -> tuple[list[Theme], list[str]]:
    """The themes (largest first) and "Other" of the `untaken` papers, moved from `last` only
    as far as the change of untaken papers requires (module docstring). `ids`: the week's
    papers, row for row with `vectors`, `texts` and `titles`; `last` places exactly these.
    `fixed`: the names of research areas, fields and arXiv categories, which a theme keeps
    while `min_theme_size` of its papers are left (what a topic took of "Computer vision"
    leaves computer-vision papers)."""
    fields = {name.casefold() for name in fixed}
    index = {pid: i for i, pid in enumerate(ids)}
    free = set(untaken)
    kept: list[tuple[Theme, np.ndarray]] = []  # a theme and the rows it shows now
    regroup: list[list[int]] = []  # rows grouped again, each list on its own
    for theme in last.themes:
        every = [index[pid] for pid in theme.paper_ids]
        rows = np.array(sorted(i for i in every if ids[i] in free), dtype=np.int64)
        if len(rows) == len(every):
            kept.append((theme, rows))
        elif len(rows) >= min_theme_size and (
            theme.label.casefold() in fields
            or _still_fits(theme.label, [texts[i] for i in every], [texts[i] for i in rows])
        ):
            kept.append((_shrunk(theme, rows, ids, vectors, texts), rows))
        elif len(rows):
            regroup.append(rows.tolist())
    released = sorted(index[pid] for pid in free if last.place.get(pid, TAKEN) == TAKEN)
    if released:
        regroup.append(released)
    other = [index[pid] for pid in free if last.place.get(pid, TAKEN) == OTHER]
    found: list[Theme] = []

    def group_again(rows: Sequence[int]) -> tuple[list[Theme], list[int]]:
        """`rows` grouped on their own, named against the rest of the week: the themes found
        and the rows none holds."""
        inside = set(rows)
        rest = [i for i in range(len(ids)) if i not in inside]
        parts, left = cluster.find_themes(
            [ids[i] for i in rows], vectors[list(rows)], [texts[i] for i in rows], seed=seed,
            min_theme_size=min_theme_size, max_themes=len(rows),
            background=[texts[i] for i in rest], background_vectors=vectors[rest],
            titles=[titles[i] for i in rows], areas=areas,
        )  # fmt: skip
        return parts, [index[pid] for pid in left]

    for group in regroup:
        parts, left = group_again(group)
        for part in parts:
            named = [
                k for k, (t, _) in enumerate(kept) if t.label.casefold() == part.label.casefold()
            ]
            if named:  # a name a kept theme bears: its papers join that theme
                rows = np.array(sorted({*kept[named[0]][1].tolist(),
                                        *(index[pid] for pid in part.paper_ids)}))  # fmt: skip
                kept[named[0]] = (_grown(kept[named[0]][0], rows, ids), rows)
            elif part.label.casefold() in {t.label.casefold() for t in found}:
                left.extend(index[pid] for pid in part.paper_ids)
            else:
                found.append(part)
        other.extend(_join(kept, sorted(left), ids, vectors))
    themes = _distinct_ids([theme for theme, _ in kept] + found)
    themes.sort(key=lambda t: (-len(t.paper_ids), t.theme_id))
    themed = {pid for t in themes for pid in t.paper_ids}
    return themes, sorted(ids[i] for i in set(other) if ids[i] not in themed)


def _still_fits(name: str, before: Sequence[str], now: Sequence[str]) -> bool:
    """Whether `name` fits the texts a theme shows `now` as well as those it showed `before`:
    the share using one of its phrases over min(NAME_FIT, that share before) less
    NAME_FIT_SLACK, and every phrase the earlier texts used still used by one.
    An area's or field's name, which few texts write, stays while what is left writes it as
    often."""
    if not now:
        return False
    floor = min(NAME_FIT, describes([name], before))
    parts = name_parts(name)
    had = used_by(parts, before, 1)
    has = used_by(parts, now, 1)
    # Counted in papers: a name half of a theme's 16 papers use still fits 6 of 14, not 2 of 5.
    using, n = round(describes([name], now) * len(now)), len(now)
    return using > (floor - NAME_FIT_SLACK) * n and all(
        h for h, w in zip(has, had, strict=True) if w
    )


def _shrunk(
    theme: Theme, rows: np.ndarray, ids: Sequence[str], vectors: np.ndarray, texts: Sequence[str]
) -> Theme:
    """`theme` showing only `rows`: its key phrases those they use (cluster._themes' rule), its
    representative the most central of them; id and name kept."""
    own = {p.lower() for p in name_parts(theme.label)}
    shown = [texts[i] for i in rows]
    used = used_by(theme.terms, shown, min(2, len(shown)))
    terms = tuple(t for t, u in zip(theme.terms, used, strict=True) if u or t.lower() in own)
    return Theme(
        theme_id=theme.theme_id,
        label=theme.label,
        terms=terms or theme.terms[:1],
        paper_ids=tuple(sorted(ids[i] for i in rows)),
        representative=ids[int(central_rows(vectors, rows, 1)[0])],
    )


def _join(
    kept: list[tuple[Theme, np.ndarray]], rows: list[int], ids: Sequence[str], vectors: np.ndarray
) -> list[int]:
    """Rows join the nearest kept theme when close to what it shows (cluster.absorb); `kept`
    is updated in place. Returns the rows none took."""
    if not rows:
        return []
    if not kept:
        return rows
    groups = [shown for _, shown in kept]
    joined = cluster.absorb(vectors, groups, rows)
    held: set[int] = set()
    for k, (group, before) in enumerate(zip(joined, groups, strict=True)):
        if len(group) == len(before):
            continue
        held.update(int(i) for i in group)
        kept[k] = (_grown(kept[k][0], group, ids), group)
    return [i for i in rows if i not in held]


def _grown(theme: Theme, rows: np.ndarray, ids: Sequence[str]) -> Theme:
    """`theme` showing `rows`, papers joined to it: its name, key phrases, id and
    representative kept."""
    return Theme(
        theme_id=theme.theme_id,
        label=theme.label,
        terms=theme.terms,
        paper_ids=tuple(sorted(ids[int(i)] for i in rows)),
        representative=theme.representative,
    )


def _distinct_ids(themes: Sequence[Theme]) -> list[Theme]:
    """Themes with distinct ids: a new theme whose id a kept one bears takes its papers' id."""
    seen: set[str] = set()
    out = []
    for theme in themes:
        if theme.theme_id in seen:
            theme = Theme(
                cluster.make_theme_id((), theme.paper_ids), theme.label, theme.terms,
                theme.paper_ids, theme.representative,
            )  # fmt: skip
        seen.add(theme.theme_id)
        out.append(theme)
    return out
