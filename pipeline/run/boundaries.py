"""Topic boundaries learnt from the whole store (issue 16): gather the background, fit, cache.
A topic with too little evidence to learn one gets a threshold read from the same background.

Sequencing only; the learning itself is `topics.calibrate.fit_boundary` (pure). The background is
at most MAX_BACKGROUND stored papers that have a vector for the model (a fixed sample: those whose
id hashes lowest), plus the papers being scored (a week, or the papers of a labels file), so a
topic with two papers this week still gets a boundary drawn from thousands, and a refit after an
ingest reads and keyword-matches 2,000 papers, not the whole store. A fitted boundary is cached
in the store's meta table under a key made of the topic's text, keywords and examples, the model
and the vectors stored, so a warm build refits nothing. The learnt topics' names-none cuts
(`calibrate.names_none_cuts`: how far a paper naming none of a topic's keywords must be inside),
which depend on every learnt topic's boundary, are cached in one more entry, keyed by all of
theirs.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
from collections.abc import Sequence

import numpy as np

from pipeline.models import Paper, Topic
from pipeline.store import Store
from pipeline.topics import assign, calibrate

logger = logging.getLogger(__name__)

_META_PREFIX = "topic-boundary:"
_CUTS_META = "topic-names-none-cuts"
#: The most stored papers a boundary is fitted on. Measured on benchmarks/eval_topics.py (dev):
#: a 2,000-paper sample of the 7,000 gives the same dev macro F1 as all of them (0.661), and the
#: refit's cost (reading, keyword matching) grows with this number.
MAX_BACKGROUND = 2000


def learn_boundaries(
    store: Store,
    model: str,
    topics: Sequence[Topic],
    papers: Sequence[Paper],
    vectors: np.ndarray,
    *,
    prototypes: tuple[np.ndarray, Sequence[int]],
    examples: Sequence[Sequence[int]],
    keyword_weight: float,
) -> list[calibrate.Boundary | calibrate.Fallback | None]:
    """Each topic's boundary, cached in meta; with too little evidence to learn one, the
    threshold read from the background's scores (`calibrate.store_threshold`, the score
    being the cosine with the topic's prototypes plus `keyword_weight` per keyword named), or
    None when the background is too small for that too.

    `prototypes` are the prototype vectors and the topic index of each; `examples[t]` are the
    columns of those prototypes that are topic t's example papers. Counter-examples play no
    part: they are vetoed at assignment, so marking one moves no other paper into or out of a
    topic (README, `counter_examples`).
    """
    scope = _scope_key(store, model, papers)
    keys = [_topic_key(topic, scope, keyword_weight) for topic in topics]
    found: list[calibrate.Boundary | calibrate.Fallback | None] = []
    missing = []
    for index, (topic, key) in enumerate(zip(topics, keys, strict=True)):
        cached = _load(store, topic.slug, key)
        if cached is None:
            missing.append(index)
        found.append(cached[0] if cached is not None else None)
    proto_vectors, owners = prototypes

    @functools.cache
    def evidence() -> _StoreEvidence:
        """The store's papers a boundary is learnt from, read and scored once, when needed."""
        ids, background = _background(store, model, papers, vectors)
        # The learnt score uses the topic's own text; examples shape the direction instead.
        cosines = text_cosines(background, prototypes, examples, len(topics))
        # The score a topic that learns nothing is judged by (scoring.score_papers).
        scored = assign.combine_scores(
            assign.semantic_scores(background, proto_vectors, owners, len(topics)),
            [p.title for p in ids],
            [p.text for p in ids],
            topics,
            keyword_weight=keyword_weight,
        )
        return background, cosines, scored

    for index in missing:
        background, cosines, scored = evidence()
        topic = topics[index]
        learnt: calibrate.Boundary | calibrate.Fallback | None = calibrate.fit_boundary(
            background,
            cosines[:, index],
            scored.keywords[:, index],
            example_vectors=proto_vectors[list(examples[index])],
            example_cosines=text_cosines(
                proto_vectors[list(examples[index])], prototypes, examples, len(topics)
            )[:, index],
        )
        if learnt is None:
            learnt = calibrate.store_threshold(scored.combined[:, index])
        found[index] = learnt
        _save(store, topic.slug, keys[index], learnt)
    # The names-none cuts of the topics judged by their learnt boundary (scoring.judged_by).
    columns = [
        index
        for index, (topic, learnt) in enumerate(zip(topics, found, strict=True))
        if isinstance(learnt, calibrate.Boundary) and topic.min_similarity is None
    ]
    if not columns:
        return found
    cuts_key = _cuts_key([keys[index] for index in columns])
    cuts = _load_cuts(store, cuts_key, len(columns))
    if cuts is None:
        cuts = _names_none_cuts(evidence(), [found[index] for index in columns], columns)
        store.set_meta(_CUTS_META, json.dumps({"key": cuts_key, "cuts": cuts}))
    for index, cut in zip(columns, cuts, strict=True):
        boundary = found[index]
        assert isinstance(boundary, calibrate.Boundary)
        found[index] = dataclasses.replace(boundary, names_none_cut=cut)
    return found


#: The store's papers' vectors a boundary is learnt from, their cosines with each topic's text
#: and their scores (`assign.combine_scores`).
_StoreEvidence = tuple[np.ndarray, np.ndarray, assign.TopicScores]


def _names_none_cuts(
    evidence: _StoreEvidence,
    boundaries: Sequence[calibrate.Boundary | calibrate.Fallback | None],
    columns: Sequence[int],
) -> list[float]:
    """The learnt topics' (`columns`) names-none cuts over the store's papers, their margins
    taken as `calibrate.margin_views` takes them (evidence model, gap over these topics)."""
    background, cosines, scored = evidence
    chosen = [b for b in boundaries if isinstance(b, calibrate.Boundary)]
    if not len(background):
        return [0.0] * len(columns)
    pairs = zip(chosen, columns, strict=True)
    raw = np.stack([b.margins(background, cosines[:, col]) for b, col in pairs], axis=1)
    margin = calibrate.learnt_evidence(scored, raw, cosines, chosen, list(columns))
    return [
        round(float(c), 7) for c in calibrate.names_none_cuts(margin, scored.keywords[:, columns])
    ]


def text_cosines(
    vectors: np.ndarray,
    prototypes: tuple[np.ndarray, Sequence[int]],
    examples: Sequence[Sequence[int]],
    n_topics: int,
) -> np.ndarray:
    """(n, n_topics) cosine of each vector with each topic's own text (not its examples).

    Measured on benchmarks/eval_topics.py (dev): the cosine with the unit mean of text and
    examples instead lowered macro F1 with 5 and 20 examples (0.62 against 0.65–0.67).
    """
    proto_vectors, owners = prototypes
    example_columns = {col for columns in examples for col in columns}
    keep = [col for col in range(len(owners)) if col not in example_columns]
    return assign.semantic_scores(
        vectors, proto_vectors[keep], [owners[col] for col in keep], n_topics
    )


def _background(
    store: Store, model: str, papers: Sequence[Paper], vectors: np.ndarray
) -> tuple[list[Paper], np.ndarray]:
    """Up to MAX_BACKGROUND stored papers with a current vector for `model` (the sample is the
    ids that hash lowest, `store.list_sample_paper_ids`, so it does not depend on the order
    papers were stored in), then `papers` not among them."""
    from pipeline.embed import content_hash

    sample = store.list_sample_paper_ids(MAX_BACKGROUND)
    stored = store.list_papers(sorted(sample))
    have = store.get_vectors(model, [(p.paper_id, content_hash(p.text)) for p in stored])
    chosen = [p for p in stored if p.paper_id in have]
    rows = [have[p.paper_id] for p in chosen]
    seen = {p.paper_id for p in chosen}
    for paper, vector in zip(papers, vectors, strict=True):
        if paper.paper_id not in seen:
            chosen.append(paper)
            rows.append(vector)
    if not rows:
        return [], np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), np.float32)
    return chosen, np.stack(rows).astype(np.float32, copy=False)


def _scope_key(store: Store, model: str, papers: Sequence[Paper]) -> str:
    """What the background depends on: the model, the vectors stored (their watermark: it
    moves with each new one, where counting them read every row on every build), the store's
    span, the scored papers."""
    digest = hashlib.sha256()
    span = store.get_date_range()
    digest.update(f"{model}|{store.get_vector_watermark()}|{span}|".encode())
    for paper_id in sorted(p.paper_id for p in papers):
        digest.update(paper_id.encode() + b"\n")
    return digest.hexdigest()


def _topic_key(topic: Topic, scope: str, keyword_weight: float) -> str:
    fields = [
        assign.topic_text(topic),
        list(topic.keywords),
        list(topic.examples),
        scope,
        calibrate.BOUNDARY_VERSION,
        keyword_weight,
    ]
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()


def _cuts_key(topic_keys: Sequence[str]) -> str:
    """What the names-none cuts depend on: every learnt topic's boundary key (each holds the
    store's scope), in order, and the share kept."""
    fields = [list(topic_keys), calibrate.NAMES_NONE_SHARE, calibrate.BOUNDARY_VERSION]
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()


def _load_cuts(store: Store, key: str, n: int) -> list[float] | None:
    """The cached names-none cuts for `key` (n of them), or None; a bad entry is a miss."""
    raw = store.get_meta(_CUTS_META)
    if raw is None:
        return None
    try:
        entry = json.loads(raw)
        cuts = [float(c) for c in entry["cuts"]] if entry.get("key") == key else None
    except (ValueError, TypeError, KeyError, AttributeError):
        logger.warning("ignoring malformed cached names-none cuts")
        return None
    return cuts if cuts is not None and len(cuts) == n else None


def _load(
    store: Store, slug: str, key: str
) -> tuple[calibrate.Boundary | calibrate.Fallback | None] | None:
    """(boundary or fallback,) when the cache holds one for `key`, else None; a bad entry is
    a miss."""
    raw = store.get_meta(_META_PREFIX + slug)
    if raw is None:
        return None
    try:
        entry = json.loads(raw)
        if entry.get("key") != key:
            return None
        if entry.get("boundary") is not None:
            return (calibrate.Boundary.from_json(entry["boundary"]),)
        data = entry.get("fallback")
        return (None if data is None else calibrate.Fallback.from_json(data),)
    except (ValueError, TypeError, KeyError, AttributeError):
        logger.warning("ignoring a malformed cached boundary for topic %s", slug)
        return None


def _save(
    store: Store, slug: str, key: str, learnt: calibrate.Boundary | calibrate.Fallback | None
) -> None:
    value = {
        "key": key,
        "boundary": learnt.to_json() if isinstance(learnt, calibrate.Boundary) else None,
        "fallback": learnt.to_json() if isinstance(learnt, calibrate.Fallback) else None,
    }
    store.set_meta(_META_PREFIX + slug, json.dumps(value))
