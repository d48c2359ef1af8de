"""Papers → configured topics: semantic similarity plus keyword evidence, per-topic thresholds.

Takes vectors and plain parameters, never Settings or a Store. A paper's score for a topic is the
cosine between the paper and the topic's best prototype (its description text, or one of its
example papers) plus `keyword_weight` per keyword phrase the paper contains (title hits count
twice, at most MAX_KEYWORD_HITS in all). Each paper gets at most one primary topic (its digest
section) and may list other topics it is "also relevant to". Pure; imports only models, numpy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.models import Assignment, Topic

#: More keyword hits than this add nothing: one strong phrase repeated should not dominate.
MAX_KEYWORD_HITS = 3
_WORD = re.compile(r"[a-z0-9]+")
# One token with two or more capitals (NAS, DARTS, FlashAttention) is matched case-sensitively.
_ACRONYM = re.compile(r"^\S*[A-Z]\S*[A-Z]\S*$")


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


def _stem(word: str) -> str:
    # Plural folding only ("models" → "model", not "class" → "clas"): enough for key phrases.
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _normal_words(text: str) -> str:
    """Lower case, hyphens and slashes as spaces, plurals folded: ' vision language model '."""
    return " " + " ".join(_stem(w) for w in _WORD.findall(text.casefold())) + " "


def matched_keywords(text: str, keywords: Sequence[str]) -> list[str]:
    """The keyword phrases found in text: acronyms (NAS, VLM) case-sensitively, the rest loosely.

    "vision-language model" matches "Vision Language Models"; "NAS" matches "NAS" or "NASs" but not
    "nas" inside "Nasdaq" or lower-case prose.
    """
    words = _normal_words(text)
    found = []
    for keyword in keywords:
        if _ACRONYM.match(keyword):
            pattern = r"(?<![A-Za-z0-9])" + re.escape(keyword) + r"s?(?![A-Za-z0-9])"
            hit = re.search(pattern, text) is not None
        else:
            phrase = _normal_words(keyword)
            hit = phrase.strip() != "" and phrase in words
        if hit:
            found.append(keyword)
    return found


def keyword_hits(title: str, text: str, topics: Sequence[Topic]) -> np.ndarray:
    """(n_topics,) capped count of keyword phrases in text; a phrase in the title counts twice."""
    counts = [
        len(matched_keywords(text, t.keywords)) + len(matched_keywords(title, t.keywords))
        for t in topics
    ]
    return np.minimum(np.asarray(counts, dtype=np.float32), MAX_KEYWORD_HITS)


def score_topics(paper_vectors: np.ndarray, topic_vectors: np.ndarray) -> np.ndarray:
    """Cosine similarity matrix (n_papers, n_topics) of unit vectors."""
    if paper_vectors.size == 0 or topic_vectors.size == 0:
        return np.zeros((paper_vectors.shape[0], topic_vectors.shape[0]), dtype=np.float32)
    return np.asarray(paper_vectors @ topic_vectors.T, dtype=np.float32)


def semantic_scores(
    paper_vectors: np.ndarray,
    prototype_vectors: np.ndarray,
    prototype_topics: Sequence[int],
    n_topics: int,
) -> np.ndarray:
    """(n_papers, n_topics): each topic's best cosine over its prototypes (text, examples)."""
    out = np.full((paper_vectors.shape[0], n_topics), -1.0, dtype=np.float32)
    if n_topics == 0 or paper_vectors.shape[0] == 0 or len(prototype_topics) == 0:
        return np.maximum(out, 0.0)
    cosines = score_topics(paper_vectors, prototype_vectors)
    for col, topic in enumerate(prototype_topics):
        out[:, topic] = np.maximum(out[:, topic], cosines[:, col])
    return out


@dataclass(frozen=True)
class TopicScores:
    """Per-paper, per-topic evidence: cosine, keyword hits, and the combined score."""

    semantic: np.ndarray  # (n_papers, n_topics) best prototype cosine
    keywords: np.ndarray  # (n_papers, n_topics) capped keyword hit counts
    combined: np.ndarray  # semantic + keyword_weight * keywords


def combine_scores(
    semantic: np.ndarray,
    titles: Sequence[str],
    texts: Sequence[str],
    topics: Sequence[Topic],
    *,
    keyword_weight: float,
) -> TopicScores:
    """Add lexical evidence to the semantic scores."""
    hits = np.zeros(semantic.shape, dtype=np.float32)
    for row, (title, text) in enumerate(zip(titles, texts, strict=True)):
        if topics:
            hits[row] = keyword_hits(title, text, topics)
    combined = np.asarray(semantic + keyword_weight * hits, dtype=np.float32)
    return TopicScores(semantic, hits, combined)


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
