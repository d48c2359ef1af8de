"""Topic scoring and theme finding for one week, as `build`, `tune` and the benchmarks share it.

Glue between the store (cached vectors, example papers), the embedder and the pure `topics`
stage: it reads settings and passes plain parameters down.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
import sys
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import unquote

import numpy as np

from pipeline.config import Settings
from pipeline.digest.summary import latex_to_text
from pipeline.embed import Embedder, content_hash
from pipeline.embed.cache import ensure_text_vectors
from pipeline.models import Assignment, Paper, Theme, Topic, Week, compute_now
from pipeline.run import boundaries as boundaries_mod
from pipeline.run import derived
from pipeline.store import AREA_ITEM, TOPIC_ITEM, Store
from pipeline.topics import anchor, assign, calibrate, categories, cluster, labels, phrases
from pipeline.topics import areas as areas_mod

logger = logging.getLogger(__name__)


def assign_papers(
    settings: Settings,
    store: Store,
    embedder: Embedder,
    papers: Sequence[Paper],
    vectors: np.ndarray,
    topics: Sequence[Topic],
    *,
    now: datetime,
    memo: derived.Memo | None = None,
) -> tuple[assign.TopicScores, dict[str, float], list[Assignment]]:
    """Score papers against topics and pick each one's primary topic, as every build does.

    Returns the scores, the per-topic thresholds on `scores.margin` (0: each topic's boundary),
    and the assignments (in paper order). The keywords `memo` holds are not looked for again.
    """
    scored = score_papers(settings, store, embedder, papers, vectors, topics, now=now, memo=memo)
    thresholds = {t.slug: 0.0 for t in topics}
    margin = scored.margin if scored.margin is not None else scored.combined
    assignments = assign.assign_topics(
        [p.paper_id for p in papers],
        [p.text for p in papers],
        margin,
        topics,
        thresholds=thresholds,
        # also_margin is in cosine units; margins count FIXED_SCALE steps of cosine.
        also_margin=settings.themes.also_margin / calibrate.FIXED_SCALE,
        vetoed={t.slug: counter_example_ids(store, t) for t in topics},
        rank=scored.rank,
    )
    return scored, thresholds, assignments


def topic_relevance(
    scored: assign.TopicScores, assignments: Sequence[Assignment], topics: Sequence[Topic]
) -> dict[str, float]:
    """Each topic paper's fit to its primary topic on the scale the digest's ranking weighs
    upvotes and stars against (digest.rank, README "Ranking"): cosine + keyword bonus. The
    boundary margin decides membership; in standard deviations or 0.1-cosine steps (1-4 for
    most papers) it made a 2-upvote paper lead one with 118 upvotes. `assignments` are in the
    order of `scored`'s rows."""
    column = {topic.slug: k for k, topic in enumerate(topics)}
    return {
        a.paper_id: float(scored.combined[row, column[a.primary]])
        for row, a in enumerate(assignments)
        if a.primary is not None
    }


def score_papers(
    settings: Settings,
    store: Store,
    embedder: Embedder,
    papers: Sequence[Paper],
    vectors: np.ndarray,
    topics: Sequence[Topic],
    *,
    now: datetime,
    memo: derived.Memo | None = None,
) -> assign.TopicScores:
    """Each paper's evidence for each topic: prototype cosine, keyword hits (those `memo` holds
    not looked for again), boundary margin.

    A topic without its own min_similarity gets a boundary learnt from the whole store
    (`boundaries.learn_boundaries`); with too little evidence, the [themes] min_similarity if
    set, else a threshold read from the store's scores for it (`calibrate.store_threshold`;
    calibrate.DEFAULT_SIMILARITY on a store too small for that).
    """
    proto_vectors, owners, examples = _prototypes(store, embedder, topics, now=now)
    paper_vectors = vectors if len(papers) else np.zeros((0, 1), dtype=np.float32)
    semantic = assign.semantic_scores(paper_vectors, proto_vectors, owners, len(topics))
    scored = assign.combine_scores(
        semantic,
        [p.title for p in papers],
        [p.text for p in papers],
        topics,
        keyword_weight=settings.themes.keyword_weight,
        remember=memo.remembering(derived.code_version([assign])) if memo else compute_now,
    )
    learnt = _learn(settings, store, embedder, papers, paper_vectors, topics,
                    (proto_vectors, owners, examples))  # fmt: skip
    boundaries = [
        b if isinstance(b, calibrate.Boundary) and judged_by(settings, t, b) == "learnt" else None
        for t, b in zip(topics, learnt, strict=True)
    ]
    fixed = [
        None if b is not None else fixed_threshold(settings, t, found)
        for t, b, found in zip(topics, boundaries, learnt, strict=True)
    ]
    own_text = boundaries_mod.text_cosines(
        paper_vectors, (proto_vectors, owners), examples, len(topics)
    )
    margin, rank, raw = calibrate.margin_views(scored, paper_vectors, own_text, boundaries, fixed)
    return dataclasses.replace(scored, margin=margin, rank=rank, raw=raw)


Learnt = calibrate.Boundary | calibrate.Fallback | None


def learn_topic_boundaries(
    settings: Settings,
    store: Store,
    embedder: Embedder,
    papers: Sequence[Paper],
    vectors: np.ndarray,
    topics: Sequence[Topic],
    *,
    now: datetime,
) -> list[Learnt]:
    """Each topic's boundary learnt from the store, or the threshold read from it, as
    `score_papers` uses them (cached: after a build this reads them back and fits nothing)."""
    context = _prototypes(store, embedder, topics, now=now)
    return _learn(settings, store, embedder, papers, vectors, topics, context)


def judged_by(settings: Settings, topic: Topic, found: Learnt) -> str:
    """How a topic is judged: "own" (its min_similarity), "learnt" (a boundary learnt from the
    store), or, with too little evidence, "themes" ([themes] min_similarity), "store" (a
    threshold read from the store) or "default" (calibrate.DEFAULT_SIMILARITY)."""
    if topic.min_similarity is not None:
        return "own"
    if isinstance(found, calibrate.Boundary):
        return "learnt"
    if settings.themes.min_similarity is not None:
        return "themes"
    return "store" if isinstance(found, calibrate.Fallback) else "default"


def fixed_threshold(settings: Settings, topic: Topic, found: Learnt) -> float:
    """The threshold a topic without a learnt boundary is judged by (`judged_by`)."""
    how = judged_by(settings, topic, found)
    if how == "own" and topic.min_similarity is not None:
        return topic.min_similarity
    if how == "themes" and settings.themes.min_similarity is not None:
        return settings.themes.min_similarity
    if how == "store" and isinstance(found, calibrate.Fallback):
        return found.threshold
    return calibrate.DEFAULT_SIMILARITY


def _prototypes(
    store: Store, embedder: Embedder, topics: Sequence[Topic], *, now: datetime
) -> tuple[np.ndarray, list[int], list[list[int]]]:
    """Every topic prototype's vector, the topic index of each, and per topic the columns
    that are its example papers."""
    prototypes, owners = prototype_items(store, topics)
    proto_vectors, _ = ensure_text_vectors(store, embedder, prototypes, now=now)
    examples = [
        [col for col, (item, _, _) in enumerate(prototypes) if _is_example(item, t)] for t in topics
    ]
    return proto_vectors, owners, examples


def _learn(
    settings: Settings,
    store: Store,
    embedder: Embedder,
    papers: Sequence[Paper],
    vectors: np.ndarray,
    topics: Sequence[Topic],
    context: tuple[np.ndarray, list[int], list[list[int]]],
) -> list[Learnt]:
    if not len(papers) or all(t.min_similarity is not None for t in topics):
        return [None] * len(topics)
    proto_vectors, owners, examples = context
    return boundaries_mod.learn_boundaries(
        store,
        embedder.name,
        topics,
        papers,
        vectors,
        prototypes=(proto_vectors, owners),
        examples=examples,
        keyword_weight=settings.themes.keyword_weight,
    )


def _is_example(item_id: str, topic: Topic) -> bool:
    return item_id.startswith(f"{TOPIC_ITEM}{topic.slug}:example")


def prototype_items(
    store: Store, topics: Sequence[Topic]
) -> tuple[list[tuple[str, str, str]], list[int]]:
    """(item_id, content_hash, text) of every topic prototype, and the topic index of each."""
    items: list[tuple[str, str, str]] = []
    owners: list[int] = []
    for index, topic in enumerate(topics):
        for key, text in topic_prototypes(store, topic):
            items.append((f"{TOPIC_ITEM}{topic.slug}:{key}", content_hash(text), text))
            owners.append(index)
    return items, owners


def topic_prototypes(store: Store, topic: Topic) -> list[tuple[str, str]]:
    """(key, text) of what a topic is compared with: its own text, then each example paper.

    An example that is an arXiv id, a DOI or a link of a stored paper stands for that paper's
    title and abstract; one that names no stored paper is left out (`unstored_examples`); a
    title is embedded as written.
    """
    found = [("text", assign.topic_text(topic))]
    vetoed = counter_example_ids(store, topic)
    for number, example in enumerate(topic.examples):
        paper = _example_paper(store, example)
        if paper is not None and paper.paper_id in vetoed:
            continue  # also a counter-example, written another way: it counts as that only
        if paper is not None or not names_by_id(example):
            found.append((f"example{number}", paper.text if paper is not None else example))
    return found


def contradicted_examples(store: Store, topic: Topic) -> list[str]:
    """A topic's examples that name a paper its counter_examples name too, written another way
    ("2506.13755" and "https://arxiv.org/abs/2506.13755v2"; written alike, the config is
    refused): each counts as a counter-example only (`topic_prototypes`)."""
    if not topic.counter_examples:
        return []
    vetoed = counter_example_ids(store, topic)
    return [
        example
        for example in topic.examples
        if (paper := _example_paper(store, example)) is not None and paper.paper_id in vetoed
    ]


def unstored_examples(store: Store, topic: Topic) -> list[str]:
    """A topic's examples written as an id, DOI or link that no stored paper has: left out of
    its prototypes and its boundary until the paper is ingested. Embedded as written, the
    characters "2402.03300" pulled the learnt boundary towards nothing: three famous papers
    a week's feed does not list took 8 of 28 papers out of a topic."""
    return [
        example
        for example in topic.examples
        if names_by_id(example) and _example_paper(store, example) is None
    ]


def _example_paper(store: Store, example: str) -> Paper | None:
    paper = store.get_paper(paper_ref_id(example))
    if paper is None and names_by_id(example):  # a DOI or link, as a paper is stored under
        found = stored_paper_ids(store, example)
        paper = store.get_paper(found[0]) if found else None
    return paper


def example_number(item_id: str) -> int | None:
    """The position in its topic's `examples` of a prototype item (`prototype_items`), or None
    for the topic's own text."""
    found = re.search(r":example(\d+)$", item_id)
    return int(found[1]) if found else None


def counter_example_ids(store: Store, topic: Topic) -> frozenset[str]:
    """The stored paper ids a topic's counter_examples name (arXiv ids, links or titles)."""
    return frozenset(
        stored_paper_id(store, reference) or paper_ref_id(reference)
        for reference in topic.counter_examples
    )


def stored_paper_id(store: Store, reference: str) -> str | None:
    """The id of the stored paper a reference names: an arXiv id or link (`paper_ref_id`),
    else its title as a digest shows it (case, punctuation and spacing aside; a title too
    short to identify a paper matches nothing; of two papers with one title, the lower id);
    None when no stored paper matches."""
    found = stored_paper_ids(store, reference)
    return found[0] if found else None


def stored_paper_ids(store: Store, reference: str) -> list[str]:
    """Every stored paper a reference names: the one of an arXiv id or link, a DOI or a link
    (the ids a paper without an arXiv id is stored under: doi:…, url:…), those whose link a
    digest shows is the reference (`ids_by_link`: a journal paper's publisher page), else all
    those with that title, as fed or as the digest shows it (LaTeX converted); two papers may
    share one: a reference must then name the id."""
    from pipeline.ingest import clean, ids

    text = _as_written(reference)
    doi, url = clean.clean_doi(text), ids.normalize_url(text)
    candidates = [
        paper_ref_id(text),
        f"doi:{doi.lower()}" if doi else "",
        f"url:{url}" if url else "",
        # A feed's http link opens as https in a browser (and the other way round): one page.
        f"url:{_other_scheme(url)}" if url else "",
    ]
    for paper_id in filter(None, candidates):
        if store.get_paper(paper_id) is not None:
            return [paper_id]
    found = ids_by_link(store, reference)
    if found:
        return found
    title_key = ids.matchable_title(reference)
    if not title_key:
        return []
    found = store.list_paper_ids_by_title_key(title_key)
    if found:
        return found
    # A title with LaTeX is shown converted ("Learning α-divergences in O(n²)"): compare the
    # converted titles that hold the reference's plain words (its longest eight), a few read on
    # demand. One word alone ("Learning") let a title naming no paper, a counter-example typed
    # from memory, convert thousands of titles of a years-old store at every build.
    found_words = {w.casefold() for w in re.findall(r"[A-Za-z]{4,}", reference)}
    words = sorted(found_words, key=lambda w: (-len(w), w))[:8]
    if not words:
        return []
    return [
        paper_id
        for paper_id, title in store.list_titles_with_markup(words)
        if ids.matchable_title(latex_to_text(title)) == title_key
    ]


def ids_by_link(store: Store, reference: str) -> list[str]:
    """The stored papers whose link, as a digest shows it, is the reference: a journal paper
    stored under its DOI is linked to its publisher's page, which names no id (round 28: that
    link, copied from the digest, was 'no stored paper' to `explain` and `mark`, and as an
    example it taught the build nothing). Over http or https, with or without a closing
    slash, tracking parameters aside, as `stored_paper_ids` reads a url: id."""
    from pipeline.ingest import ids

    text = unwrapped(reference).rstrip(".,;")
    if ids.normalize_url(text) is None:
        return []
    shown = ids.strip_tracking(text).rstrip("/")
    rest = shown.partition("://")[2]
    links = [f"{s}://{rest}{end}" for s in ("https", "http") for end in ("", "/")]
    return store.list_paper_ids_by_url(links)


def _as_written(reference: str) -> str:
    """A reference as its id, DOI or link is read: out of the brackets it was copied in
    (`unwrapped`), a doi.org link given its scheme if an address bar dropped it and its path
    unescaped ("10.1000%2Fx")."""
    text = unwrapped(reference)
    if re.match(r"(?i)(?:dx\.)?doi\.org/", text):  # an address bar copied without its scheme
        text = "https://" + text
    if re.match(r"(?i)https?://(?:dx\.)?doi\.org/", text):  # "10.1000%2Fx": a DOI escaped
        text = unquote(text)
    return text


def _other_scheme(url: str) -> str:
    """The same link over https for http, over http for https."""
    scheme, sep, rest = url.partition("://")
    other = {"http": "https", "https": "http"}.get(scheme.lower())
    return f"{other}{sep}{rest}" if other else ""


def names_by_id(reference: str) -> bool:
    """Whether a reference is an arXiv id, a DOI or a link (else it is read as a title)."""
    from pipeline.ingest import clean, ids

    text = _as_written(reference)
    return bool(
        paper_ref_id(text).startswith("arxiv:") or clean.clean_doi(text) or ids.normalize_url(text)
    )


def too_short_a_title(reference: str) -> bool:
    """Whether a reference is no id, DOI or link, and a title too short to name one paper
    (`stored_paper_ids` does not look such titles up)."""
    from pipeline.ingest import ids

    if names_by_id(reference):
        return False
    return ids.matchable_title(reference) is None  # as stored_paper_ids reads a title


#: arXiv's "Cite as:" line and the stamp down a PDF's margin, which a reader copies:
#: "arXiv:2506.13755v2 [cs.LG] 16 Jun 2025" (category, then the day, after the id).
_CITED = re.compile(
    r"(?i)(arxiv:\S+)\s+\[[a-z-]+(?:\.[a-z-]+)?\](?:\s+\d{1,2}\s+[a-z]{3}\s+\d{4})?"
)


#: Brackets a reference is copied in: a plain-text e-mail's <link>, Markdown's (link) or
#: [link], a sentence's "(arXiv:…)", guillemets and quotes.
_WRAPPERS = frozenset(zip("<([\u2039\u00ab\u201c\"'", ">)]\u203a\u00bb\u201d\"'", strict=True))


def unwrapped(reference: str) -> str:
    """A reference without surrounding space and the brackets or quotes it was copied in:
    "<https://arxiv.org/abs/2506.13755>" → "https://arxiv.org/abs/2506.13755"."""
    text = reference.strip()
    while len(text) > 2 and (text[0], text[-1]) in _WRAPPERS:
        text = text[1:-1].strip()
    return text


#: A PDF saved from arXiv, as its download is named: "2506.13755v2.pdf", a second download of it
#: "2506.13755v2 (1).pdf"; at the end of a path (either slash) or a file:// URL.
_SAVED_PDF = re.compile(r"(?i)(?:.*[/\\])?(\d{4}\.\d{4,5}(?:v\d+)?)(?:\s*\(\d+\))?\.pdf")


def is_pdf_file(reference: str) -> bool:
    """Whether a reference is a PDF file on disk (a path or a file:// URL), not a link."""
    text = unwrapped(reference)
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]+)://", text)
    return text.lower().endswith(".pdf") and (scheme is None or scheme[1].lower() == "file")


#: A Hugging Face daily-papers page of an arXiv paper (https://huggingface.co/papers/2506.13755).
_HF_PAPER = re.compile(
    r"(?i)(?:https?://)?(?:www\.)?(?:huggingface|hf)\.co/papers/(\d{4}\.\d{4,5}(?:v\d+)?)/?"
    r"(?:[?#].*)?"
)


def paper_ref_id(reference: str) -> str:
    """arxiv:2506.13755, 2506.13755v2, an abs or pdf link, a Hugging Face papers link,
    arXiv's citation ("arXiv:2506.13755 [cs.LG]"), a PDF saved from arXiv
    (~/Downloads/2506.13755v2.pdf), any of them copied with the end of its sentence ("…,", "….")
    → 'arxiv:2506.13755'; else as written.

    A link copied without its scheme (arxiv.org/pdf/2506.13755) is read as https. The version
    picks nothing, so one no paper has (2506.13755v99999999999) still names the paper: as an
    example in config.toml it failed every build. A PDF file is never opened: only arXiv's own
    name for it is read.
    """
    from pipeline.ingest import ids

    text = unwrapped(reference).rstrip(".,;:")
    cited = _CITED.fullmatch(text)
    if cited is not None:
        text = cited[1]
    hugging = _HF_PAPER.fullmatch(text)
    if hugging is not None:
        text = hugging[1]
    saved = _SAVED_PDF.fullmatch(unquote(text)) if is_pdf_file(text) else None
    if saved is not None:
        text = saved[1]
    if re.match(r"(?i)(?:www\.|export\.)?arxiv\.org/", text):
        text = "https://" + text
    parsed = ids.parse_arxiv_id(text, any_version=True)
    return f"arxiv:{parsed[0]}" if parsed is not None else reference.strip()


def area_vectors(
    settings: Settings, store: Store, embedder: Embedder, *, now: datetime
) -> areas_mod.Areas | None:
    """The research areas that name discovered themes (`[themes] areas`), with their vectors
    (cached in the store: only the first build with a model embeds the few hundred names);
    None when naming by area is off."""
    names = areas_mod.area_names(settings.themes.areas)
    if not names:
        return None
    items = [(AREA_ITEM + name, content_hash(name), name) for name in names]
    vectors, _ = ensure_text_vectors(store, embedder, items, now=now)
    source = settings.themes.areas
    return areas_mod.Areas(
        names, vectors, areas_mod.area_fields(source), areas_mod.broad_areas(source)
    )


def find_week_themes(
    settings: Settings,
    week: Week,
    rows: Sequence[int],
    *,
    areas: areas_mod.Areas | None,
    last: Sequence[anchor.Placed] = (),
) -> tuple[list[Theme], list[str]]:
    """Discovered themes of the papers at `rows` (those no topic took), named by research
    area where one fits (`areas`, from `area_vectors`; None: by phrases only).

    `last`: the week's last builds (`get_kept_builds`, newest first). One that left exactly these
    papers untaken is shown again as it was; otherwise the newest is changed only as far as
    the change of untaken papers requires (topics/anchor.py), so a config edit moves only the
    papers a topic takes or releases and the themes it empties or whose name it takes away.
    Without one, the themes are found afresh as below.

    The groups are found among all the week's papers (cluster.find_themes' `background_ids`),
    so which papers the topics take does not change how the others are grouped.

    Needs only the week's cached vectors: theme names are checked against the papers' own
    vectors and texts, so a build never loads the embedding model for them.

    What no theme holds is then grouped by the papers' arXiv categories
    (`[themes] arxiv_categories`, topics/categories.py); the rest is "Other". With that option
    a theme named by its own phrases takes the name of the field most of its papers are in.
    Last, a theme of areas_mod.NEAREST_AREA_PAPERS or more still named by its phrases takes
    the research area nearest it where its texts bear the name out (`areas_mod.name_by_nearest`).
    """
    rows = list(rows)
    untaken = set(rows)
    if last:
        free = {week.papers[i].paper_id for i in rows}
        for build in last:
            if build.untaken() == free:
                kept = [pid for pid, k in build.place.items() if k == anchor.OTHER]
                return list(build.themes), sorted(kept)
        return anchor.anchored(
            last[0],
            free,
            ids=[p.paper_id for p in week.papers],
            vectors=week.vectors,
            texts=week.texts,
            titles=[p.title for p in week.papers],
            seed=settings.themes.seed,
            min_theme_size=settings.themes.min_theme_size,
            areas=areas,
            fixed=kept_names(settings, areas),
        )
    taken = [i for i in range(len(week.papers)) if i not in untaken]
    texts = week.texts
    themes, other = cluster.find_themes(
        [week.papers[i].paper_id for i in rows],
        week.vectors[rows] if rows else np.zeros((0, 1), dtype=np.float32),
        [texts[i] for i in rows],
        seed=settings.themes.seed,
        min_theme_size=settings.themes.min_theme_size,
        max_themes=settings.themes.max_themes,
        background=[texts[i] for i in taken],
        background_vectors=week.vectors[taken],
        background_ids=[week.papers[i].paper_id for i in taken],
        titles=[week.papers[i].title for i in rows],
        background_titles=[week.papers[i].title for i in taken],
        areas=areas,
    )
    fixed = areas.theme_names() if areas is not None else frozenset()
    if settings.themes.arxiv_categories:

        def central(ids: Sequence[str]) -> str:
            rows = np.array([week.index[pid] for pid in ids])
            return week.papers[int(areas_mod.central_rows(week.vectors, rows, 1)[0])].paper_id

        listed = {p.paper_id: p.categories for p in week.papers}
        themes, other = categories.group_by_category(
            other, listed, themes, min_size=settings.themes.min_theme_size, central=central
        )
        # A theme named by its phrases whose papers mostly share a field takes the field's name.
        themes = categories.name_by_category(themes, listed, fixed=fixed)
    if areas is None or not themes:
        return themes, other
    # One its phrases still name takes the area nearest it, where the texts bear it out.
    groups = [np.array([week.index[pid] for pid in t.paper_ids]) for t in themes]
    named = areas_mod.name_by_nearest(
        groups, [t.label for t in themes], week.vectors, areas, texts,
        fixed={*fixed, *categories.category_names().values()},
    )  # fmt: skip
    return [
        dataclasses.replace(t, label=n) if n != t.label else t
        for t, n in zip(themes, named, strict=True)
    ], other


def kept_names(settings: Settings, areas: areas_mod.Areas | None) -> tuple[str, ...]:
    """Theme names continuity never replaces by key phrases, and that an anchored rebuild keeps
    on a theme that lost papers (topics/anchor.py): the research areas and fields, and with
    `[themes] arxiv_categories` the categories' names. A phrase name that happens to read like
    a category ("Graphics", "Logic") stays a phrase name when the option is off."""
    return (
        *(sorted(areas.theme_names()) if areas is not None else ()),
        *(categories.category_names().values() if settings.themes.arxiv_categories else ()),
    )


# --- the week's last builds (topics/anchor.py) ---------------------------------------------

#: The meta key of a week's kept builds, before the week (benchmarks set it to "{}", no build).
ANCHOR_META = "themes-anchor:"
#: Builds of a week kept: a config edited and edited back finds its own build again.
ANCHOR_BUILDS = 3
#: What the discovered themes are computed by (and this module, which calls them); another
#: version's builds are not anchors.
_THEMES_CODE = (anchor, areas_mod, categories, cluster, labels, phrases)


def make_anchor_key(settings: Settings, week: Week, areas: areas_mod.Areas | None) -> str | None:
    """What a week's themes depend on besides which papers the topics take: the week's papers
    and vectors, the `[themes]` settings that group and name them, the areas' names and
    vectors, and the code; None when the code's version cannot be read (nothing is kept)."""
    code = derived.code_version([*_THEMES_CODE, sys.modules[__name__]], ["numpy", "scipy"])
    if code is None:
        return None
    t = settings.themes
    digest = hashlib.sha256(code.encode())
    digest.update(json.dumps([t.min_theme_size, t.max_themes, t.seed, t.arxiv_categories]).encode())
    for paper in week.papers:
        digest.update(f"\0{paper.paper_id}\0{','.join(paper.categories)}".encode())
    digest.update(np.ascontiguousarray(week.vectors, dtype=np.float32).tobytes())
    if areas is not None:
        digest.update("\0".join(areas.names).encode())
        digest.update(json.dumps(sorted(areas.fields.items())).encode())
        digest.update(np.ascontiguousarray(areas.vectors, dtype=np.float32).tobytes())
    return digest.hexdigest()


def get_kept_builds(store: Store, week: Week, key: str | None) -> list[anchor.Placed]:
    """The week's last builds kept under `key` (newest first); none for another key, and a
    bad entry is none (the themes are then found afresh)."""
    raw = store.get_meta(ANCHOR_META + week.week) if key is not None else None
    if raw is None:
        return []
    ids = [p.paper_id for p in week.papers]
    try:
        entry = json.loads(raw)
        if entry.get("key") != key:
            return []
        found = []
        for build in entry["builds"]:
            shown, place = build["themes"], [int(k) for k in build["place"]]
            if len(place) != len(ids) or any(k >= len(shown) or k < anchor.TAKEN for k in place):
                return []
            members: list[list[str]] = [[] for _ in shown]
            for pid, k in zip(ids, place, strict=True):
                if k >= 0:
                    members[k].append(pid)
            themes = tuple(
                Theme(
                    str(t["id"]),
                    str(t["label"]),
                    tuple(map(str, t["terms"])),
                    tuple(sorted(m)),
                    str(t["representative"]),
                )
                for t, m in zip(shown, members, strict=True)
            )
            found.append(anchor.Placed(themes, dict(zip(ids, place, strict=True))))
        return found
    except (ValueError, TypeError, KeyError, AttributeError):
        logger.warning("%s: ignoring a malformed record of its last build's themes", week.week)
        return []


def save_kept_build(
    store: Store, week: Week, key: str | None, built: anchor.Placed, last: Sequence[anchor.Placed]
) -> None:
    """Keep `built` as the week's newest build, with up to ANCHOR_BUILDS - 1 of the `last`
    that left other papers untaken."""
    if key is None:
        return
    mine = built.untaken()
    builds = [built, *[b for b in last if b.untaken() != mine]][:ANCHOR_BUILDS]
    ids = [p.paper_id for p in week.papers]
    value = {
        "key": key,
        "builds": [
            {
                "themes": [
                    {
                        "id": t.theme_id,
                        "label": t.label,
                        "terms": list(t.terms),
                        "representative": t.representative,
                    }
                    for t in b.themes
                ],
                "place": [b.place.get(pid, anchor.TAKEN) for pid in ids],
            }
            for b in builds
        ],
    }
    store.set_meta(ANCHOR_META + week.week, json.dumps(value, separators=(",", ":")))
