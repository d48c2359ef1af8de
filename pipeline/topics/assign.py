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


_NOT_WORD = re.compile(r"[^a-z0-9]+")
# Plural folding only ("models" → "model", not "class" → "clas"): a word of 4+ characters ending
# in one "s". Done as one regex pass, not per word: it runs on every paper of the week.
_PLURAL = re.compile(r"(?<=[a-z0-9]{2}[a-rt-z0-9])s\b")


def _normal_words(text: str) -> str:
    """Lower case, hyphens and slashes as spaces, plurals folded: ' vision language model '."""
    words = _PLURAL.sub("", _NOT_WORD.sub(" ", text.casefold()).strip())
    return f" {words} "


class KeywordMatcher:
    """One topic's keyword phrases, prepared once: its acronyms (NAS, VLM) as one compiled
    alternation, its other phrases in the normalised form they are looked up in."""

    def __init__(self, keywords: Sequence[str]) -> None:
        self._keywords = tuple(dict.fromkeys(keywords))
        acronyms = [k for k in self._keywords if _ACRONYM.match(k)]
        self._phrases = {
            k: phrase
            for k in self._keywords
            if k not in acronyms and (phrase := _normal_words(k)).strip()
        }
        self._acronyms: re.Pattern[str] | None = None
        if acronyms:
            # Longest first, so "VLMs" is not read as "VLM" + "s" when both are keywords.
            ordered = sorted(acronyms, key=len, reverse=True)
            alternation = "|".join(re.escape(a) for a in ordered)
            self._acronyms = re.compile(rf"(?<![A-Za-z0-9])({alternation})s?(?![A-Za-z0-9])")

    def matches(self, text: str, words: str) -> list[str]:
        """Keywords found in `text`, whose `_normal_words` form is `words`, in keyword order."""
        found = set(self._acronyms.findall(text)) if self._acronyms is not None else set()
        found.update(k for k, phrase in self._phrases.items() if phrase in words)
        return [k for k in self._keywords if k in found]


def matched_keywords(text: str, keywords: Sequence[str]) -> list[str]:
    """The keyword phrases found in text: acronyms (NAS, VLM) case-sensitively, the rest loosely.

    "vision-language model" matches "Vision Language Models"; "NAS" matches "NAS" or "NASs" but not
    "nas" inside "Nasdaq" or lower-case prose.
    """
    return KeywordMatcher(keywords).matches(text, _normal_words(text))


def keyword_hits(
    title: str,
    text: str,
    topics: Sequence[Topic],
    matchers: Sequence[KeywordMatcher] | None = None,
) -> np.ndarray:
    """(n_topics,) capped count of keyword phrases in text; a phrase in the title counts twice."""
    matchers = matchers or [KeywordMatcher(t.keywords) for t in topics]
    text_words, title_words = _normal_words(text), _normal_words(title)
    counts = [
        len(m.matches(text, text_words)) + len(m.matches(title, title_words)) for m in matchers
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
    """Per-paper, per-topic evidence: cosine, keyword hits, combined score, margin."""

    semantic: np.ndarray  # (n_papers, n_topics) best prototype cosine
    keywords: np.ndarray  # (n_papers, n_topics) capped keyword hit counts
    combined: np.ndarray  # semantic + keyword_weight * keywords
    # (n_papers, n_topics) distance from each topic's boundary (≥ 0: inside); see topic_margins.
    margin: np.ndarray | None = None
    # (n_papers, n_topics) the same without keyword evidence: orders the topics a paper is in.
    rank: np.ndarray | None = None


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
    if topics:
        # Every topic's keywords in one matcher: one pass over each text finds all their acronyms.
        everything = KeywordMatcher([k for t in topics for k in t.keywords])
        per_topic = [set(t.keywords) for t in topics]
        for row, (title, text) in enumerate(zip(titles, texts, strict=True)):
            in_text = set(everything.matches(text, _normal_words(text)))
            in_title = set(everything.matches(title, _normal_words(title)))
            hits[row] = [len(k & in_text) + len(k & in_title) for k in per_topic]
        np.minimum(hits, MAX_KEYWORD_HITS, out=hits)
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
    vetoed: Mapping[str, frozenset[str]] | None = None,
    rank: np.ndarray | None = None,
) -> list[Assignment]:
    """Each paper's primary topic (best score over its threshold, not vetoed) and 'also' list.

    A paper is vetoed from a topic by the topic's `exclude` phrases or by being one of the
    `vetoed[slug]` paper ids (its counter-examples). With `rank`, the topics a paper is in are
    ordered (primary first, 'also' within `also_margin` of it) by `rank` instead of `scores`:
    keyword evidence then decides whether a paper is in a topic, not which of its topics leads.
    """
    vetoed = vetoed or {}
    order = scores if rank is None else rank
    result = []
    for row, (paper_id, text) in enumerate(zip(paper_ids, texts, strict=True)):
        candidates: list[tuple[float, float, str]] = []
        all_scores = []
        for col, topic in enumerate(topics):
            score = float(scores[row, col])
            all_scores.append((topic.slug, round(score, 4)))
            if score < thresholds[topic.slug]:
                continue
            if topic.exclude and has_phrase(text, topic.exclude):
                continue
            if paper_id in vetoed.get(topic.slug, ()):
                continue
            candidates.append((float(order[row, col]), score, topic.slug))
        # Highest first; the slug breaks ties so the result never depends on dict order.
        candidates.sort(key=lambda c: (-c[0], c[2]))
        if not candidates:
            best = max((s for _, s in all_scores), default=0.0)
            result.append(Assignment(paper_id, None, best, (), tuple(all_scores)))
            continue
        top_rank, top_score, primary = candidates[0]
        also = tuple(slug for rank_, _, slug in candidates[1:] if rank_ >= top_rank - also_margin)
        result.append(Assignment(paper_id, primary, top_score, also, tuple(all_scores)))
    return result


# --- boundaries learnt from the store (issue 16) ----------------------------------------------

#: Below this many weak positives (keyword hits plus examples) in the store, a topic has too
#: little to learn from and falls back to the fixed `min_similarity` threshold.
MIN_WEAK_POSITIVES = 5
#: Fixed-threshold margins are (score - min_similarity) / FIXED_SCALE, so that they compare with
#: learnt margins (in standard deviations of the topic's score over the store): 0.1 is about one
#: standard deviation of a topic's cosine over a store of arXiv abstracts.
FIXED_SCALE = 0.1
#: Part of every cached boundary's key: bump it when fit_boundary changes what it computes.
BOUNDARY_VERSION = 4
#: A paper that names one of the topic's keywords is inside from this many standard deviations
#: below the learnt threshold: the keyword is evidence the embedding does not see. Chosen on the
#: dev sets only (benchmarks/README.md, "Keyword evidence").
KEYWORD_SLACK = 0.5
#: A paper that names none of the keywords must be this many standard deviations above the
#: threshold, times (2c - 1) where c is the estimated share of the topic's papers that carry a
#: keyword: when the keywords cover nearly the whole topic (c near 1), a paper without any is
#: rarely in it; when they cover half of it or less, the learnt threshold stands as it is.
NO_KEYWORD_BAR = 1.0
#: With this many examples or more, the examples (not only the keyword hits) say what share of
#: the topic lies above each threshold.
MIN_EXAMPLES_FOR_RECALL = 3
#: The share of a boundary's direction that comes from the topic's examples, when it has some.
EXAMPLE_SHARE = 0.5


@dataclass(frozen=True)
class Boundary:
    """A topic's boundary learnt from the store, without labels.

    A paper's score is its projection on `direction` (from the store's mean towards the topic's
    weak positives) plus its best prototype cosine, compared with `threshold`, in units of
    `scale` (the score's standard deviation over the store). Keyword evidence then moves the
    bar (see `margins`): a paper naming a keyword needs less, one naming none needs more when
    the keywords cover most of the topic (`label_frequency` near 1).
    """

    direction: np.ndarray
    threshold: float
    scale: float
    n_weak_positive: int
    label_frequency: float  # estimated share of the topic's papers that carry a keyword

    def margins(
        self, vectors: np.ndarray, cosines: np.ndarray, hits: np.ndarray | None = None
    ) -> np.ndarray:
        """(n,) signed distance of each paper from the boundary, in standard deviations (≥ 0:
        inside). With `hits` (keyword hit counts), a paper with a hit is KEYWORD_SLACK closer
        to the inside, one without is `no_keyword_bar` further from it."""
        if vectors.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        score = vectors @ self.direction + cosines
        raw = (score - self.threshold) / self.scale
        if hits is not None:
            named = np.asarray(hits) > 0
            raw = np.where(named, raw + KEYWORD_SLACK, raw - self.no_keyword_bar)
        return np.asarray(raw, dtype=np.float32)

    @property
    def no_keyword_bar(self) -> float:
        """How far above the threshold a paper naming no keyword must be: NO_KEYWORD_BAR ×
        (2c - 1), 0 when c ≤ 0.5."""
        return NO_KEYWORD_BAR * max(0.0, 2.0 * self.label_frequency - 1.0)

    def to_json(self) -> dict[str, object]:
        """A JSON-able form, for the boundary cache."""
        return {
            "direction": [round(float(v), 7) for v in self.direction],
            "threshold": self.threshold,
            "scale": self.scale,
            "n_weak_positive": self.n_weak_positive,
            "label_frequency": self.label_frequency,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Boundary:
        """The inverse of `to_json`; KeyError/TypeError/ValueError on a malformed entry."""
        return cls(
            np.asarray(data["direction"], dtype=np.float32),
            float(data["threshold"]),  # type: ignore[arg-type]
            float(data["scale"]),  # type: ignore[arg-type]
            int(data["n_weak_positive"]),  # type: ignore[call-overload]
            float(data["label_frequency"]),  # type: ignore[arg-type]
        )


def fit_boundary(
    vectors: np.ndarray,
    cosines: np.ndarray,
    hits: np.ndarray,
    *,
    example_vectors: np.ndarray | None = None,
    example_cosines: np.ndarray | None = None,
) -> Boundary | None:
    """Learn one topic's boundary from the store's papers (`vectors`, unit rows), or None.

    Positive-unlabelled learning: papers with a keyword hit (and the topic's examples) are weak
    positives, the store is the background. The direction is the weak positives' mean minus the
    store's mean; the score adds the cosine with the topic's text (`cosines`; `example_cosines`
    for the examples), so the topic's own words still count. The threshold maximises an F1
    estimated without labels: if keyword hits are a fair sample of the topic's papers, the share
    c of hits among the surest papers (score above the hits' median) estimates how many papers
    carry a keyword, so hits above a threshold / c estimates the true positives above it and
    hits / c all of them. With MIN_EXAMPLES_FOR_RECALL examples or more, their leave-one-out
    scores estimate the recall at each threshold instead, and the topic's size is the mean of
    the two estimates. Counter-examples are not seen here: they are vetoed in `assign_topics`,
    so marking one moves that paper and no other. None when there are fewer than
    MIN_WEAK_POSITIVES weak positives.
    """
    weak = np.asarray(hits, dtype=np.float32) > 0
    dim = vectors.shape[1] if vectors.ndim == 2 else 0
    examples = example_vectors if example_vectors is not None else np.zeros((0, dim), np.float32)
    n_weak = int(weak.sum()) + len(examples)
    if n_weak < MIN_WEAK_POSITIVES or vectors.shape[0] < 2 * MIN_WEAK_POSITIVES:
        return None
    # Examples are certain where keyword hits are guesses: together they weigh EXAMPLE_SHARE.
    share = EXAMPLE_SHARE
    example_weight = (
        max(1.0, share / (1 - share) * weak.sum() / len(examples)) if len(examples) else 0.0
    )
    weak_sum, example_sum = vectors[weak].sum(axis=0), examples.sum(axis=0)
    total = weak.sum() + example_weight * len(examples)
    background_mean = vectors.mean(axis=0)
    direction = _unit((weak_sum + example_weight * example_sum) / total - background_mean)
    if direction is None:
        return None
    score = vectors @ direction + cosines
    example_scores = None
    if len(examples) >= MIN_EXAMPLES_FOR_RECALL and example_cosines is not None:
        # Leave-one-out: each example scored by the direction the others give, so the examples
        # that shaped the direction do not look surer than the topic's unseen papers.
        rest = total - example_weight
        example_scores = np.zeros(len(examples), dtype=np.float32)
        for i, (vector, cosine) in enumerate(zip(examples, example_cosines, strict=True)):
            without = (weak_sum + example_weight * (example_sum - vector)) / rest
            loo = _unit(without - background_mean)
            example_scores[i] = float(vector @ (loo if loo is not None else direction)) + cosine
    threshold, frequency = _estimated_f1_threshold(score, weak, example_scores)
    scale = float(score.std()) or 1.0
    return Boundary(direction, threshold, scale, n_weak, frequency)


def _unit(vector: np.ndarray) -> np.ndarray | None:
    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype(np.float32) if norm > 0 else None


def _estimated_f1_threshold(
    score: np.ndarray, weak: np.ndarray, example_scores: np.ndarray | None = None
) -> tuple[float, float]:
    """The threshold with the best label-free F1 estimate, and the estimated label frequency."""
    candidates = np.unique(np.quantile(score, np.linspace(0.0, 0.999, 400)))
    order = np.sort(score)
    n_above = len(order) - np.searchsorted(order, candidates, side="left")
    sizes, frequency = [], 1.0
    if weak.any():
        surest = score >= np.median(score[weak])
        frequency = float(weak[surest].mean())
        sizes.append(weak.sum() / frequency)
        weak_sorted = np.sort(score[weak])
        weak_above = len(weak_sorted) - np.searchsorted(weak_sorted, candidates, side="left")
        recall = weak_above / weak.sum()
    if example_scores is not None and len(example_scores):
        # Half the examples score above their median: so do about half the topic's papers.
        sizes.append(2.0 * float((score >= np.median(example_scores)).sum()))
        examples_sorted = np.sort(example_scores)
        recall = (
            len(examples_sorted) - np.searchsorted(examples_sorted, candidates, side="left")
        ) / len(examples_sorted)
    if not sizes:  # only a few examples: keep the papers as close as their median
        return float(np.median(score)), 1.0
    n_topic = float(np.mean(sizes))
    estimated_f1 = 2 * recall * n_topic / (n_above + n_topic)
    # Ties go to the higher threshold: np.argmax takes the first, so search from the top.
    best = len(candidates) - 1 - int(np.argmax(estimated_f1[::-1]))
    return float(candidates[best]), frequency


def topic_margins(
    scores: TopicScores,
    vectors: np.ndarray,
    text_cosines: np.ndarray,
    boundaries: Sequence[Boundary | None],
    fixed: Sequence[float | None],
    *,
    keyword_evidence: bool = True,
) -> np.ndarray:
    """(n_papers, n_topics) margins: a topic with a fixed threshold (`fixed[t]`, its
    min_similarity) or no boundary is judged by (combined - threshold) / FIXED_SCALE, the others
    by their learnt boundary over the vectors, their cosine with the topic's own text and
    whether they name one of its keywords (`Boundary.margins`; not with `keyword_evidence`
    False, the order `assign_topics` ranks a paper's topics in).
    `fixed[t]` must be set where `boundaries[t]` is None."""
    margins = np.zeros(scores.combined.shape, dtype=np.float32)
    for col, (boundary, threshold) in enumerate(zip(boundaries, fixed, strict=True)):
        if threshold is not None or boundary is None:
            if threshold is None:
                raise ValueError(f"topic column {col} has neither a boundary nor a threshold")
            margins[:, col] = (scores.combined[:, col] - threshold) / FIXED_SCALE
        else:
            hits = scores.keywords[:, col] if keyword_evidence else None
            margins[:, col] = boundary.margins(vectors, text_cosines[:, col], hits)
    return margins
