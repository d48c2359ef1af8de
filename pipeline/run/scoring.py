"""Topic scoring and theme finding for one week, as `build`, `tune` and the benchmarks share it.

Glue between the store (cached vectors, example papers), the embedder and the pure `topics`
stage: it reads settings and passes plain parameters down.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import numpy as np

from pipeline.config import Settings
from pipeline.embed import Embedder, content_hash
from pipeline.embed.cache import ensure_text_vectors
from pipeline.models import Assignment, Paper, Theme, Topic, Week
from pipeline.store import Store
from pipeline.topics import assign, cluster


def assign_papers(
    settings: Settings,
    store: Store,
    embedder: Embedder,
    papers: Sequence[Paper],
    vectors: np.ndarray,
    topics: Sequence[Topic],
    *,
    now: datetime,
) -> tuple[assign.TopicScores, dict[str, float], list[Assignment]]:
    """Score papers against topics and pick each one's primary topic, as every build does.

    Returns the scores, the per-topic thresholds used, and the assignments (in paper order).
    """
    scored = score_papers(settings, store, embedder, papers, vectors, topics, now=now)
    thresholds = topic_thresholds(settings, topics)
    assignments = assign.assign_topics(
        [p.paper_id for p in papers],
        [p.text for p in papers],
        scored.combined,
        topics,
        thresholds=thresholds,
        also_margin=settings.themes.also_margin,
    )
    return scored, thresholds, assignments


def score_papers(
    settings: Settings,
    store: Store,
    embedder: Embedder,
    papers: Sequence[Paper],
    vectors: np.ndarray,
    topics: Sequence[Topic],
    *,
    now: datetime,
) -> assign.TopicScores:
    """Each paper's evidence for each topic: best prototype cosine plus keyword hits."""
    prototypes, owners = prototype_items(store, topics)
    proto_vectors, _ = ensure_text_vectors(store, embedder, prototypes, now=now)
    paper_vectors = vectors if len(papers) else np.zeros((0, 1), dtype=np.float32)
    semantic = assign.semantic_scores(paper_vectors, proto_vectors, owners, len(topics))
    return assign.combine_scores(
        semantic,
        [p.title for p in papers],
        [p.text for p in papers],
        topics,
        keyword_weight=settings.themes.keyword_weight,
    )


def find_week_themes(
    settings: Settings,
    week: Week,
    rows: Sequence[int],
    *,
    embedder: Embedder | None = None,
    store: Store | None = None,
    now: datetime | None = None,
) -> tuple[list[Theme], list[str]]:
    """Cluster the papers at `rows` (those no topic took) into discovered themes.

    `embedder` (the papers' own) checks that name candidates are about the theme; with `store`
    and `now` their vectors are cached there, so a rebuild does not load the model for them.
    """
    rows = list(rows)
    taken = set(rows)
    texts = week.texts
    return cluster.find_themes(
        [week.papers[i].paper_id for i in rows],
        week.vectors[rows] if rows else np.zeros((0, 1), dtype=np.float32),
        [texts[i] for i in rows],
        seed=settings.themes.seed,
        min_theme_size=settings.themes.min_theme_size,
        max_themes=settings.themes.max_themes,
        background=[text for i, text in enumerate(texts) if i not in taken],
        embed_phrases=_phrase_embedder(embedder, store, now),
    )


def _phrase_embedder(
    embedder: Embedder | None, store: Store | None, now: datetime | None
) -> Callable[[Sequence[str]], np.ndarray] | None:
    if embedder is None or store is None or now is None:
        return None if embedder is None else embedder.embed
    cached_by: Embedder = embedder
    cache: Store = store
    when: datetime = now

    def embed(phrases: Sequence[str]) -> np.ndarray:
        items = [(f"phrase:{content_hash(p)}", content_hash(p), p) for p in phrases]
        return ensure_text_vectors(cache, cached_by, items, now=when)[0]

    return embed


def prototype_items(
    store: Store, topics: Sequence[Topic]
) -> tuple[list[tuple[str, str, str]], list[int]]:
    """(item_id, content_hash, text) of every topic prototype, and the topic index of each."""
    items: list[tuple[str, str, str]] = []
    owners: list[int] = []
    for index, topic in enumerate(topics):
        for key, text in topic_prototypes(store, topic):
            items.append((f"topic:{topic.slug}:{key}", content_hash(text), text))
            owners.append(index)
    return items, owners


def topic_prototypes(store: Store, topic: Topic) -> list[tuple[str, str]]:
    """(key, text) of what a topic is compared with: its own text, then each example paper.

    An example that is an arXiv id of a stored paper stands for that paper's title and abstract;
    any other example (a title, or an id not stored yet) is embedded as written.
    """
    found = [("text", assign.topic_text(topic))]
    for number, example in enumerate(topic.examples):
        paper = store.get_paper(_example_id(example))
        found.append((f"example{number}", paper.text if paper is not None else example))
    return found


def _example_id(example: str) -> str:
    text = example.strip()
    text = text.removeprefix("arxiv:").removeprefix("arXiv:")
    return f"arxiv:{text.split('v')[0]}" if text[:4].isdigit() and "." in text[:6] else text


def topic_thresholds(settings: Settings, topics: Sequence[Topic]) -> dict[str, float]:
    """Each topic's own min_similarity, else the [themes] default."""
    default = settings.themes.min_similarity
    return {t.slug: t.min_similarity if t.min_similarity is not None else default for t in topics}
