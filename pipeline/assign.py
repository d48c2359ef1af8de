"""Papers → configured topics, by cosine similarity between unit vectors (pure).

Takes vectors and plain parameters, never Settings or a Store. Each paper gets at most one primary
topic (its digest section) and may list other topics it is "also relevant to".
Imports only models and numpy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from pipeline.models import Assignment, Topic


def topic_text(topic: Topic) -> str:
    """The text a topic is embedded from: name, description, then its keyword phrases."""
    text = f"{topic.name}. {topic.description}"
    if topic.keywords:
        text += " Keywords: " + ", ".join(topic.keywords) + "."
    return text


def has_phrase(text: str, phrases: Sequence[str]) -> bool:
    """True when any phrase occurs in text as whole words, ignoring case."""
    lowered = text.casefold()
    for phrase in phrases:
        pattern = r"(?<!\w)" + re.escape(phrase.casefold()) + r"(?!\w)"
        if re.search(pattern, lowered):
            return True
    return False


def score_topics(paper_vectors: np.ndarray, topic_vectors: np.ndarray) -> np.ndarray:
    """Cosine similarity matrix (n_papers, n_topics) of unit vectors."""
    if paper_vectors.size == 0 or topic_vectors.size == 0:
        return np.zeros((paper_vectors.shape[0], topic_vectors.shape[0]), dtype=np.float32)
    return np.asarray(paper_vectors @ topic_vectors.T, dtype=np.float32)


def assign_topics(
    paper_ids: Sequence[str],
    texts: Sequence[str],
    scores: np.ndarray,
    topics: Sequence[Topic],
    *,
    thresholds: Mapping[str, float],
    also_margin: float,
) -> list[Assignment]:
    """Each paper's primary topic (best score over its threshold, not vetoed) and 'also' list."""
    result = []
    for row, (paper_id, text) in enumerate(zip(paper_ids, texts, strict=True)):
        candidates: list[tuple[float, str]] = []
        all_scores = []
        for col, topic in enumerate(topics):
            score = float(scores[row, col])
            all_scores.append((topic.slug, round(score, 4)))
            if score < thresholds[topic.slug]:
                continue
            if topic.exclude and has_phrase(text, topic.exclude):
                continue
            candidates.append((score, topic.slug))
        # Highest score first; the slug breaks ties so the result never depends on dict order.
        candidates.sort(key=lambda c: (-c[0], c[1]))
        if not candidates:
            best = max((s for _, s in all_scores), default=0.0)
            result.append(Assignment(paper_id, None, best, (), tuple(all_scores)))
            continue
        top_score, primary = candidates[0]
        also = tuple(slug for score, slug in candidates[1:] if score >= top_score - also_margin)
        result.append(Assignment(paper_id, primary, top_score, also, tuple(all_scores)))
    return result
