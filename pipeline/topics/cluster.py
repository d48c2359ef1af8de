"""Papers that matched no topic → discovered themes, named with distinctive phrases (pure).

Deterministic: input is sorted by paper id before clustering, so the same papers give the same
themes whatever order they arrive in. Themes are average-linkage clusters on cosine distance:
two groups merge while the mean cosine between their papers is at least MIN_LINK_SIMILARITY, so
the number of themes follows from the data; a group of over MAX_GROUP_PAPERS is cut tighter from
the same tree (`_split_large`), so a dense week shows sub-fields, not whole fields; a week of
more than MIN_DENSE_PAPERS denser than REFERENCE_DENSITY is grouped on its vectors less part of
its mean direction (`_grouping_vectors`; fully from FULL_DENSE_PAPERS), so the thresholds mean
there what they mean on the weeks they were set on; names, scores and stored centroids use the
vectors as given. Given the ids of the papers the topics took (`background_ids`), the groups
are found among the whole week and shown without those papers, so the linkage groups do not
depend on the config (clustering only the untaken papers regrouped 5–14 % of the demo weeks'
other papers, KMeans 40–48 %; benchmarks/README.md); where a leftover joins (by the centroid of
a group's shown papers) and whether a shrunk group still has a name do, so a topic written as a
newcomer writes one still regroups 2–4 % of the other papers (twenty-third round) when a week
is grouped afresh; a rebuild after a config edit starts from the week's last build instead
(topics/anchor.py). A group
that does not hang together (`cohesion` under MIN_COHESION) or is too small to be a theme is
not shown: its papers join the nearest theme when close to its centroid, else go to "Other"
(issue 17: a grab-bag under a made-up name is worse than an honest "Other"); so is a group no
name fits (labels.name_groups). What is then left is grouped once more, more loosely
(REST_LINK_SIMILARITY), and such a group is shown only when a research area or field names
it (`_gather_rest`), joining the theme of that name if there is one. A group is named by the
research area that fits it (topics/areas.py) or, when none does, by the field most of its
closest areas are listed under (groups that take one field are shown as one theme:
`_merge_alike`), else by its phrases; both are taken from the whole group, the papers the
topics took included, while the name fits the papers shown (most use one of its phrases, each
phrase is in one of them), so a topic taking a few of a theme's papers does not rename it
(`_name_whole`); its key phrases are those its shown papers use. A phrase name its titles do
not write then gives way to the broad area its papers lie towards (areas.name_broadly). Weeks over
LINKAGE_SAMPLE papers are clustered on a sample chosen by hashing paper ids (stable when papers
come and go); the rest join the nearest theme. Every group that coheres and has a name is a
theme, however many there are: the digest shows the `max_themes` largest in full and lists the
others compactly ("More themes") rather than sending their papers to "Other".
SciPy is imported lazily; a build never imports scikit-learn. Imports only areas, labels,
phrases, models and numpy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from pipeline.models import Theme
from pipeline.topics.areas import Areas, WeekScores, central_rows, name_broadly, name_by_area
from pipeline.topics.labels import NAME_FIT, GroupName, describes, name_groups
from pipeline.topics.phrases import name_parts, reading_once, used_by

#: Average linkage stops merging two groups when the mean cosine between their papers is
#: under this (cosine distance 0.6). Related abstracts of one field sit at 0.4–0.5.
MIN_LINK_SIMILARITY = 0.40
#: The mean cosine between two papers of a week these thresholds were set for (a week of every
#: field of arXiv). A denser week (a machine-learning week: 0.25-0.33) of more than
#: MIN_DENSE_PAPERS papers (the linkage's: the topics' included) is grouped on vectors less the
#: part of the week's mean direction that makes it denser (`_grouping_vectors`): at a fixed
#: cosine its groups were whole fields (52 % of a NeurIPS week's themes read coherent). A
#: smaller week has too few papers of one subject for the tighter groups: on the demo weeks
#: (114-420 papers) "Other" rose from 11-20 % to 26-52 % (benchmarks/README.md, twentieth round).
REFERENCE_DENSITY = 0.11
MIN_DENSE_PAPERS = 500
#: ...and fully from this many on; in between the mean cosine is brought part of the way, in
#: proportion, so a week a few papers larger than another is not grouped in another way.
FULL_DENSE_PAPERS = 1000
#: A linkage group of more than this many linked papers (the papers the topics took included,
#: so the cut does not depend on the config; of the LINKAGE_SAMPLE linked on a bigger week) is
#: cut again, tighter by SPLIT_STEP at a time up to SPLIT_SIMILARITY, until its parts are no
#: larger (`_split_large`): on a dense week of one field
#: (a venue's 1,372 submissions) 0.40 leaves groups of 120-220 papers ("Deep neural network
#: and weight", "Reinforcement learning") that no reader takes in as one theme. Each part is
#: then a group like any other (shown when big and coherent enough, named by its own papers).
#: The same average-linkage tree is cut, so a part is a subtree of the group it came from.
MAX_GROUP_PAPERS = 50
SPLIT_STEP = 0.05
SPLIT_SIMILARITY = 0.55
#: A cut is made only where it finds sub-fields: at least two parts of this many papers. A
#: cluster with no sub-structure (the speed benchmark's synthetic blobs) is otherwise peeled
#: into one core and fragments at 0.45 and shattered into 35-50 fragments at 0.50, each named
#: for nothing (1.8 times the warm 10k build's time); a venue's groups split into 2-13 parts,
#: those of 10 or more holding 53-99 % of the group (benchmarks/README.md, seventeenth round).
SUBFIELD_PAPERS = 10
#: A theme is shown only when the mean cosine between its papers (`cohesion`) is at least this.
#: Of 106 hand-judged themes of the demo weeks, 51 of the 74 at or over 0.38 read as coherent
#: and 4 as grab-bags; of the 32 under it, 9 were coherent (benchmarks/labels/theme-judgements).
MIN_COHESION = 0.38
#: A paper outside the themes joins the nearest one when its cosine to that theme's centroid is
#: at least this; otherwise it goes to "Other".
MIN_JOIN_SIMILARITY = 0.40
#: Papers no theme holds are grouped again, merging while their mean cosine is at least this;
#: such a group is shown only when a research area or field names it (`_gather_rest`). Looser
#: (0.25) made grab-bags such as motion planning with 3-SAT and bandit hardness; tighter (0.34)
#: found half as many (benchmarks/README.md, eighth round).
REST_LINK_SIMILARITY = 0.30
#: ...on at most this many of them (by hash of the id): a real week leaves a tenth of its
#: papers there; a week left mostly unthemed would pay a second full linkage for nothing.
REST_SAMPLE = 1500
#: Most papers clustered pairwise (memory and time grow with the square).
LINKAGE_SAMPLE = 3000
#: Papers per theme (the most central) that its label phrases are drawn from.
LABEL_PAPERS = 100
#: The same for a group past the max_themes largest (a big week has hundreds of small ones).
MINOR_LABEL_PAPERS = 20
#: Papers of the week outside the themes' label papers that phrases are contrasted with.
BACKGROUND_SIZE = 1000
#: The same for the loose groups of `_gather_rest`, whose names come from the areas.
REST_BACKGROUND_SIZE = 250


# Each text's phrases are read once per call (phrases.reading_once), never kept between calls.
@reading_once()
def find_themes(
    paper_ids: Sequence[str],
    vectors: np.ndarray,
    texts: Sequence[str],
    *,
    seed: int,
    min_theme_size: int,
    max_themes: int,
    background: Sequence[str] = (),
    background_vectors: np.ndarray | None = None,
    background_ids: Sequence[str] | None = None,
    titles: Sequence[str] | None = None,
    background_titles: Sequence[str] | None = None,
    areas: Areas | None = None,
) -> tuple[list[Theme], list[str]]:
    """Cluster the papers; return the themes (largest first) and the ids left in "Other".

    `background`: texts of the week's other papers (those a topic took), which label phrases
    are contrasted with besides the other themes: a phrase common to the whole week is no label.
    `background_vectors` (their vectors, row for row): with them a name candidate whose papers
    lie mostly away from the theme is dropped (labels.MIN_NAME_RELEVANCE). `titles` (the
    papers', row for row): with them a name phrase must be in some of the theme's titles.
    Papers of groups not shown (too small, not coherent, or with no name that fits most of
    their papers) join the nearest theme when close to it; what is left is "Other". Every
    other group is a theme, however many: `max_themes` only sets how many (the largest) are
    named from LABEL_PAPERS central papers rather than MINOR_LABEL_PAPERS; the digest shows
    that many in full.

    `areas` (research-area names and vectors, topics/areas.py): a group an area fits is named
    by it, whether or not a phrase names it; the others keep their phrases. Both names come
    from the whole group, `background_titles` (the taken papers', row for row) included, on
    weeks the linkage does not sample (`_name_whole`).

    `background_ids` (the background papers' ids, row for row, with `background_vectors`): the
    groups are then found among ALL the week's papers and only the papers passed in are shown.
    The linkage groups no longer depend on which papers the configured topics take; the
    leftovers' joins and the names of groups a topic shrinks still do (see the module
    docstring).
    """
    order = sorted(range(len(paper_ids)), key=lambda i: paper_ids[i])
    ids = [paper_ids[i] for i in order]
    if len(ids) < max(min_theme_size, 2):
        return [], ids
    x = np.asarray(vectors, dtype=np.float32)[order]
    docs = [texts[i] for i in order]
    context = None
    if background_ids is not None and background_vectors is not None and len(background_ids):
        context = (list(background_ids), np.asarray(background_vectors, dtype=np.float32))
    xg, grouping_context = _grouping_vectors(x, context)
    groups, whole, leftovers = _linkage_groups(xg, ids, seed=seed, context=grouping_context)
    groups, whole, rest_rows = _shown(xg, groups, whole, min_theme_size=min_theme_size)
    groups = absorb(xg, groups, sorted(leftovers + rest_rows))
    if not groups:
        return [], ids
    # Sorted, so the sample (and the labels) do not depend on the order papers arrive in.
    # Background papers without vectors count for the phrases' contrast, not their vectors.
    week_vectors = x if background_vectors is None else np.vstack([x, background_vectors])
    week_texts = [*docs, *background]
    if background_vectors is None:
        background_vectors = np.zeros((len(background), x.shape[1]), dtype=np.float32)
    bg = (list(background), np.asarray(background_vectors, dtype=np.float32))
    row_titles = None if titles is None else [titles[i] for i in order]
    # Groups past the max_themes largest (the digest lists them in one line each) are named
    # from fewer central papers, so naming a week with hundreds costs about what 24 do.
    by_size = sorted(range(len(groups)), key=lambda k: (-len(groups[k]), int(groups[k][0])))
    label_papers = [LABEL_PAPERS] * len(groups)
    for k in by_size[max_themes:]:
        label_papers[k] = MINOR_LABEL_PAPERS
    # A week the linkage samples is named by the shown papers: its groups are partly guessed
    # by centroid anyway, and naming twice (the fallback below) cost 30 % of a 10k build.
    if context is None or len(ids) + len(context[0]) > LINKAGE_SAMPLE:
        names = _name(x, docs, groups, bg, row_titles, seed=seed, label_papers=label_papers)
        named_by = groups
    else:
        week_titles = None
        if row_titles is not None:
            taken_titles = background_titles or [""] * len(background)
            week_titles = [*row_titles, *taken_titles]
        names, named_by = _name_whole(
            x, docs, groups, whole, bg, row_titles, (week_vectors, week_texts, week_titles),
            seed=seed, label_papers=label_papers,
        )  # fmt: skip
    if areas is not None:  # the research area that fits a group names it (topics/areas.py)
        shown = None if named_by is groups else groups  # named whole: check what is shown
        # Measured once, as _gather_rest names again (an empty vocabulary names nothing).
        scored = WeekScores(week_vectors, areas, week_texts) if len(areas.names) else None
        by_area = name_by_area(
            named_by, week_vectors, areas, texts=week_texts, shown=shown, week=scored
        )
        names = _by_areas(names, by_area)
        groups, names = _merge_alike(groups, names)
    # A group no phrase names fairly is not shown under a made-up name: its papers join the
    # nearest named theme when close to it, else "Other" (issue 17).
    named = [k for k, name in enumerate(names) if name.name]
    unnamed = sorted(int(i) for k, g in enumerate(groups) if not names[k].name for i in g)
    groups = absorb(xg, [groups[k] for k in named], unnamed)
    names = [names[k] for k in named]
    if areas is not None:  # what is left may still hold a few papers of one research area
        groups, names = _gather_rest(
            x, ids, docs, groups, names, areas, (week_vectors, week_texts, scored), bg,
            row_titles, seed=seed, min_theme_size=min_theme_size,
        )  # fmt: skip
    if areas is not None and scored is not None and row_titles is not None:
        # A phrase name few of its titles write gives way to the broad area it belongs to.
        broadly = name_broadly(
            groups, [n.name for n in names], [not n.area for n in names], row_titles, areas,
            scored,
        )  # fmt: skip
        names = _by_areas(names, broadly)
    themes = _themes(x, ids, groups, names, docs)
    themes.sort(key=lambda t: (-len(t.paper_ids), t.theme_id))
    themed = {pid for t in themes for pid in t.paper_ids}
    return themes, [pid for pid in ids if pid not in themed]


def _by_areas(names: Sequence[GroupName], areas: Sequence[str | None]) -> list[GroupName]:
    """Each group's name, the area's where one names it (`areas`, row for row)."""
    return [
        _area_name(area, name) if area else name for name, area in zip(names, areas, strict=True)
    ]


def _area_name(area: str, phrases: GroupName) -> GroupName:
    """A group named by a research area or field, keeping its phrases as key phrases."""
    return GroupName(area, phrases.terms or (area,), phrases.fit, area=True)


def _gather_rest(
    x: np.ndarray,
    ids: Sequence[str],
    docs: Sequence[str],
    groups: list[np.ndarray],
    names: list[GroupName],
    areas: Areas,
    week: tuple[np.ndarray, Sequence[str], WeekScores | None],
    background: tuple[list[str], np.ndarray],
    titles: Sequence[str] | None,
    *,
    seed: int,
    min_theme_size: int,
) -> tuple[list[np.ndarray], list[GroupName]]:
    """The papers no theme holds, grouped more loosely (mean cosine REST_LINK_SIMILARITY), and
    each such group of `min_theme_size` or more kept only when a research area or field names
    it (areas.name_by_area): a loose group is shown only under a name its papers bear out, so
    it reads as that area's papers rather than a grab-bag. One named like a theme joins it
    ("Robotics": three robot papers the first pass left out). `week`: the vectors and texts
    the areas' scores are measured against, the rows of `x` first, and those scores."""
    held = np.zeros(len(x), dtype=bool)
    for group in groups:
        held[group] = True
    rest = np.flatnonzero(~held)
    if len(rest) < max(min_theme_size, 2):
        return groups, names
    found, _, _ = _linkage_groups(
        x[rest],
        [ids[int(i)] for i in rest],
        seed=seed,
        similarity=REST_LINK_SIMILARITY,
        sample=REST_SAMPLE,
        split=False,
    )
    loose = [rest[g] for g in found if len(g) >= min_theme_size]
    if not loose:
        return groups, names
    by_area = name_by_area(loose, week[0], areas, texts=week[1], week=week[2])
    keep = [k for k, area in enumerate(by_area) if area]
    if not keep:
        return groups, names
    # Only their key phrases come from this (the area names them): a smaller contrast will do.
    phrases = _name(x, docs, [loose[k] for k in keep], background, titles, seed=seed,
                    label_papers=[MINOR_LABEL_PAPERS] * len(keep),
                    background_size=REST_BACKGROUND_SIZE)  # fmt: skip
    merged, kept = list(groups), list(names)
    where = {name.name.casefold(): j for j, name in enumerate(names)}
    for k, phrase in zip(keep, phrases, strict=True):
        area = str(by_area[k])
        if area.casefold() in where:
            j = where[area.casefold()]
            merged[j] = np.sort(np.concatenate([merged[j], loose[k]]))
            continue
        where[area.casefold()] = len(merged)
        merged.append(np.sort(loose[k]))
        kept.append(_area_name(area, phrase))
    return merged, kept


def _merge_alike(
    groups: Sequence[np.ndarray], names: Sequence[GroupName]
) -> tuple[list[np.ndarray], list[GroupName]]:
    """Groups named alike become one theme: several small groups of one field that no area of
    their own names ("Natural language processing" for a group on phishing, one on gender and
    one on text corpora: areas._by_field) read as one field's theme, not as three headings
    made of their words. The largest group's key phrases stay; the theme's id comes from
    the field's name (`_themes`), so it does not change when a topic shrinks that group."""
    order = sorted(range(len(groups)), key=lambda k: (-len(groups[k]), int(groups[k][0])))
    merged: list[np.ndarray] = []
    kept: list[GroupName] = []
    where: dict[str, int] = {}
    for k in order:
        label = names[k].name.casefold()
        if label and label in where:
            j = where[label]
            merged[j] = np.sort(np.concatenate([merged[j], groups[k]]))
            continue
        if label:
            where[label] = len(merged)
        merged.append(np.asarray(groups[k]))
        kept.append(names[k])
    return merged, kept


def _name(
    x: np.ndarray,
    docs: Sequence[str],
    groups: Sequence[np.ndarray],
    background: tuple[list[str], np.ndarray],
    titles: Sequence[str] | None,
    *,
    seed: int,
    label_papers: Sequence[int],
    background_size: int = BACKGROUND_SIZE,
) -> list[GroupName]:
    """Each group's name, from its most central papers against the rest and `background`
    (`background_size` of them at most, drawn at random)."""
    # Each theme is labelled from its most central papers: the phrases are as distinctive, and
    # the n-gram counting no longer grows with the week (3.7 s → bounded at 10k papers).
    central = [central_rows(x, g, n) for g, n in zip(groups, label_papers, strict=True)]
    in_label = np.zeros(len(docs), dtype=bool)
    for c in central:
        in_label[c] = True
    outside = [(docs[int(i)], x[i]) for i in np.flatnonzero(~in_label)]
    outside += zip(background[0], background[1], strict=True)
    rest = sorted(outside, key=lambda pair: pair[0])
    if len(rest) > background_size:
        keep = np.random.default_rng(seed).choice(len(rest), background_size, replace=False)
        rest = [rest[i] for i in np.sort(keep)]
    label_rows = [np.sort(c) for c in central]
    return name_groups(
        [[docs[i] for i in r] for r in label_rows],
        background=[text for text, _ in rest],
        vectors=np.vstack([x[r] for r in label_rows] + [v[None, :] for _, v in rest]),
        titles=None if titles is None else [[titles[i] for i in r] for r in label_rows],
    )


def _name_whole(
    x: np.ndarray,
    docs: Sequence[str],
    groups: Sequence[np.ndarray],
    whole: Sequence[np.ndarray],
    background: tuple[list[str], np.ndarray],
    titles: Sequence[str] | None,
    week: tuple[np.ndarray, Sequence[str], Sequence[str] | None],
    *,
    seed: int,
    label_papers: Sequence[int],
) -> tuple[list[GroupName], list[np.ndarray]]:
    """Names of the shown `groups` taken from their `whole` groups (the papers the topics took
    included), so a name does not change with the config; and the rows each was named by.

    `background`: the taken papers' texts and vectors; `week`: the week's vectors, texts and
    titles (the rows', then the taken papers'). A group whose name fits under NAME_FIT of its
    shown papers (it names what the topics took) is named by its shown papers alone (all such
    groups in one pass). Only for weeks the linkage does not sample: `whole` holds every
    paper of such a week's groups.
    """
    vectors, texts, week_titles = week
    nothing: tuple[list[str], np.ndarray] = ([], np.zeros((0, x.shape[1]), dtype=np.float32))
    names = _name(vectors, texts, whole, nothing, week_titles, seed=seed,
                  label_papers=label_papers)  # fmt: skip
    named_by = list(whole)
    # A name must fit most of the papers shown under it.
    misfits = [k for k, name in enumerate(names) if not _fits(name, [docs[i] for i in groups[k]])]
    if misfits:  # named by their shown papers alone, all in one pass
        again = _name(x, docs, [groups[k] for k in misfits], background, titles, seed=seed,
                      label_papers=[label_papers[k] for k in misfits])  # fmt: skip
        for k, name in zip(misfits, again, strict=True):
            names[k], named_by[k] = name, groups[k]
    return names, named_by


def _fits(name: GroupName, texts: Sequence[str]) -> bool:
    """Whether a name fits the papers shown under it: NAME_FIT of them use one of its phrases,
    and each of its phrases is in one of them ("Diffusion and sample quality" named from a
    group whose sample-quality papers a topic took does not)."""
    return (
        bool(name.name)
        and describes([name.name], texts) >= NAME_FIT
        and all(used_by(name_parts(name.name), texts, 1))
    )


def _themes(
    x: np.ndarray,
    ids: Sequence[str],
    groups: Sequence[np.ndarray],
    names: Sequence[GroupName],
    docs: Sequence[str],
) -> list[Theme]:
    """A Theme per named group (ids from its name's terms, distinct when two read alike).

    Its key phrases are the name's own phrases and those of its terms that its papers (`docs`,
    row for row with `x`) use, two of them or every one of a smaller theme: a theme named from
    its whole group, the papers the topics took included, does not show their phrases ("VLM"
    over image papers whose vision-language papers a topic took). The id still comes from all
    the terms, so it does not change with the config; a theme named by a research area or
    field takes its id from that name (groups of one field are shown as one: `_merge_alike`)."""
    themes: list[Theme] = []
    for group, name in zip(groups, names, strict=True):
        members = tuple(sorted(ids[i] for i in group))
        # An area's or field's name is the theme's identity: its key phrases come from
        # whichever of the groups it joins is largest, which a topic taking papers can change.
        theme_id = make_theme_id((name.name,) if name.area else name.terms, members)
        if any(t.theme_id == theme_id for t in themes):  # two themes labelled alike
            theme_id = make_theme_id((), members)
        own = {p.lower() for p in name_parts(name.name)}
        texts = [docs[i] for i in group]
        used = used_by(name.terms, texts, min(2, len(texts)))
        terms = tuple(t for t, u in zip(name.terms, used, strict=True) if u or t.lower() in own)
        themes.append(
            Theme(
                theme_id=theme_id,
                label=name.name,
                terms=terms or name.terms[:1],
                paper_ids=members,
                representative=ids[int(central_rows(x, group, 1)[0])],
            )
        )
    return themes


def theme_of_papers(themes: Sequence[Theme], other: Sequence[str]) -> dict[str, str]:
    """Each clustered paper's theme id, "other" for those in Other: what `topics --compare`
    diffs between two configs (find_themes is pure, so the same papers give the same map)."""
    found = {pid: "other" for pid in other}
    found.update({pid: theme.theme_id for theme in themes for pid in theme.paper_ids})
    return found


def cohesion(x: np.ndarray) -> float:
    """Mean cosine between distinct rows of L2-normalised `x` (1.0 for fewer than two rows).

    Unlike the mean cosine to the centroid it does not grow as a group shrinks, so a 5-paper
    and a 50-paper theme are held to the same standard.
    """
    n = x.shape[0]
    if n < 2:
        return 1.0
    total = x.astype(np.float64).sum(axis=0)
    return float((total @ total - np.einsum("ij,ij->", x, x)) / (n * (n - 1)))


def _linkage_groups(
    x: np.ndarray,
    ids: Sequence[str],
    *,
    seed: int,
    context: tuple[list[str], np.ndarray] | None = None,
    similarity: float = MIN_LINK_SIMILARITY,
    sample: int | None = None,
    split: bool = True,
) -> tuple[list[np.ndarray], list[np.ndarray], list[int]]:
    """Average-linkage groups of the (sampled) rows, the same groups whole (context rows
    included, numbered after the rows: n + i is context row i), and the rows left out of the
    sample.

    With `context` (ids and vectors of other papers of the week) the linkage runs over the
    rows and the context together, in id order, and each group keeps only its rows of `x`.
    Groups merge while their mean cosine is at least `similarity`; at most `sample` rows
    (LINKAGE_SAMPLE by default) are linked. `split`: a group of over MAX_GROUP_PAPERS linked
    rows is cut tighter (`_split_large`).
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform
    from threadpoolctl import threadpool_limits

    n = len(ids)
    if context is not None:
        all_ids = list(ids) + context[0]
        order = np.asarray(sorted(range(len(all_ids)), key=lambda i: all_ids[i]), dtype=int)
        x = np.vstack([x, context[1]])[order]
        ids = [all_ids[i] for i in order]
    else:
        order = np.arange(n)
    rows = np.arange(len(ids))
    most = LINKAGE_SAMPLE if sample is None else sample
    if len(ids) > most:  # by hash of the id: a paper's draw does not depend on others
        keys = [hashlib.sha1(f"{seed}:{pid}".encode()).hexdigest() for pid in ids]
        rows = np.sort(np.argsort(keys, kind="stable")[:most])
    unit = x[rows].astype(np.float64)
    unit /= np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
    # One BLAS thread (SciPy's and NumPy's libraries are loaded by now: threadpoolctl limits
    # only those): the same distances to the last bit on any machine, as in labels._relevance.
    with threadpool_limits(limits=1, user_api="blas"):
        distance = unit @ unit.T
        # In place: two fewer copies of the 3,000 x 3,000 matrix (72 MB each), the same values.
        np.subtract(1.0, distance, out=distance)
        np.clip(distance, 0.0, 2.0, out=distance)  # a zero vector is 1 from everything
        np.fill_diagonal(distance, 0.0)
        tree = linkage(squareform(distance, checks=False), method="average")
    cut = fcluster(tree, t=1.0 - similarity, criterion="distance")
    if split:
        cut = _split_large(tree, cut, similarity, unit)
    own = order[rows]  # each sampled row's index among the caller's rows (≥ n: context)
    pairs = [(np.sort(own[(cut == k) & (own < n)]), np.sort(own[cut == k])) for k in np.unique(cut)]
    pairs = sorted((p for p in pairs if len(p[0])), key=lambda p: int(p[0][0]))
    left_out = sorted(set(range(n)) - set(own.tolist()))
    return [p[0] for p in pairs], [p[1] for p in pairs], left_out


def _split_large(
    tree: np.ndarray, cut: np.ndarray, similarity: float, unit: np.ndarray
) -> np.ndarray:
    """`cut` (fcluster labels of `tree`'s leaves, whose unit vectors are `unit`) with every
    cluster of over MAX_GROUP_PAPERS leaves that coheres (MIN_COHESION) replaced by its clusters
    at a tighter cut, SPLIT_STEP at a time, until none is over or the cut reaches
    SPLIT_SIMILARITY, where that cut finds sub-fields (two parts of SUBFIELD_PAPERS or more).
    Other clusters are kept as they are: one that does not cohere is not shown whole, and a
    cut that only peels small parts off one core, or shatters a cluster with no sub-fields into
    fragments, would only name many small groups for "Other"."""
    from scipy.cluster.hierarchy import fcluster

    labels = np.asarray(cut, dtype=np.int64)
    level = similarity
    while level + SPLIT_STEP <= SPLIT_SIMILARITY + 1e-9:
        sizes = np.bincount(labels)
        large = [
            int(k)
            for k in np.flatnonzero(sizes > MAX_GROUP_PAPERS)
            if cohesion(unit[labels == k]) >= MIN_COHESION
        ]
        if not large:
            break
        level = round(level + SPLIT_STEP, 6)
        finer = fcluster(tree, t=1.0 - level, criterion="distance").astype(np.int64)
        # Cut only where the finer cut finds sub-fields: two parts of SUBFIELD_PAPERS or more.
        # A cut that only peels a few papers off one core waits for the next level.
        cut_up = [k for k in large if _subfields(finer[labels == k]) >= 2]
        inside = np.isin(labels, cut_up)
        # A cut cluster's leaves take fresh labels from the finer cut (subtrees of it).
        labels = np.where(inside, labels.max() + 1 + finer, labels)
        labels = np.unique(labels, return_inverse=True)[1].astype(np.int64) + 1
    return labels


def _subfields(parts: np.ndarray) -> int:
    """How many of the labels in `parts` hold SUBFIELD_PAPERS leaves or more."""
    return int(np.sum(np.unique(parts, return_counts=True)[1] >= SUBFIELD_PAPERS))


def _grouping_vectors(
    x: np.ndarray, context: tuple[list[str], np.ndarray] | None
) -> tuple[np.ndarray, tuple[list[str], np.ndarray] | None]:
    """The vectors the papers are grouped on: `x` and the context's, each less beta times the
    week's mean vector (the papers' and the context's together, so the config does not move
    it) and normalised, beta chosen so the week's mean cosine between two papers falls to
    REFERENCE_DENSITY (0 on a week no denser or under MIN_DENSE_PAPERS papers; part of the way
    on a week under FULL_DENSE_PAPERS)."""
    every = x if context is None else np.vstack([x, context[1]])
    unit = every / np.maximum(np.linalg.norm(every, axis=1, keepdims=True), 1e-12)
    mean = unit.mean(axis=0)
    density = float(mean @ mean)
    share = (len(unit) - MIN_DENSE_PAPERS) / (FULL_DENSE_PAPERS - MIN_DENSE_PAPERS)
    if density <= REFERENCE_DENSITY or share <= 0:
        return x, context
    r = density - min(1.0, share) * (density - REFERENCE_DENSITY)
    beta = 1.0 - float(np.sqrt(max(0.0, 1.0 - (density - r) / (density * (1.0 - r)))))
    shifted = unit - beta * mean
    shifted /= np.maximum(np.linalg.norm(shifted, axis=1, keepdims=True), 1e-12)
    shifted = shifted.astype(np.float32)
    n = len(x)
    return shifted[:n], (None if context is None else (context[0], shifted[n:]))


def _shown(
    x: np.ndarray, groups: list[np.ndarray], whole: list[np.ndarray], *, min_theme_size: int
) -> tuple[list[np.ndarray], list[np.ndarray], list[int]]:
    """The groups that can be themes (big enough and coherent), the same groups `whole`, and
    the rows of the others."""
    can = [len(g) >= min_theme_size and cohesion(x[g]) >= MIN_COHESION for g in groups]
    shown = [g for g, ok in zip(groups, can, strict=True) if ok]
    rest = [int(i) for g, ok in zip(groups, can, strict=True) if not ok for i in g]
    return shown, [w for w, ok in zip(whole, can, strict=True) if ok], rest


def absorb(x: np.ndarray, groups: list[np.ndarray], leftovers: list[int]) -> list[np.ndarray]:
    """Leftover papers join the nearest theme if close enough to its centroid (else "Other")."""
    if not groups or not leftovers:
        return groups
    centroids = np.stack([x[g].mean(axis=0) for g in groups])
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    similarity = x[leftovers] @ centroids.T
    joined: list[list[int]] = [g.tolist() for g in groups]
    # Each leftover's nearest theme (the first of equals, as argmax row by row) in one call.
    best = np.argmax(similarity, axis=1)
    close = similarity[np.arange(len(leftovers)), best] >= MIN_JOIN_SIMILARITY
    for paper, k, near in zip(leftovers, best.tolist(), close.tolist(), strict=True):
        if near:
            joined[k].append(paper)
    return [np.asarray(sorted(g)) for g in joined]


def make_theme_id(terms: Sequence[str], members: Sequence[str]) -> str:
    # Lower-cased: key phrases show acronyms as written ("LLM"), ids stay as they were.
    basis = "|".join(t.lower() for t in terms) if terms else "|".join(members)
    return "theme-" + hashlib.sha1(basis.encode("utf-8")).hexdigest()[:8]
