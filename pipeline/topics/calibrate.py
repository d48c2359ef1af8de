"""A topic's boundary learnt from the store, no labels needed (issue 16).

Keyword-hit papers (and examples) are weak positives, the store a background; a boundary is a
direction plus a threshold chosen by an F1 estimated without labels. Pure: vectors and plain
parameters in, margins out; run/boundaries.py caches fitted boundaries in the store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from pipeline.topics.assign import TopicScores

#: Below this many weak positives (keyword hits plus examples) in the store, a topic has too
#: little to learn from and is judged by a threshold read from the store (`store_threshold`).
MIN_WEAK_POSITIVES = 5
#: That threshold is the topic's score (cosine + keyword bonus, `assign.combine_scores`) at its
#: mean over the store's papers plus this many standard deviations, and at least FALLBACK_FLOOR:
#: a relative cut alone takes the top few percent of a store that holds nothing on the topic (a
#: bioacoustics topic took 12 papers a week of the demo's ML store at 0.17). Chosen on the dev
#: sets with every topic judged so (benchmarks/study_fallback.py, round 9): dev macro F1 0.684
#: against 0.561 for the fixed 0.45 and 0.153 for 0.58; held-out 0.451-0.684 against
#: 0.276-0.658.
FALLBACK_SD = 2.0
FALLBACK_FLOOR = 0.35
#: ...read from at least this many papers; a smaller store uses DEFAULT_SIMILARITY.
MIN_FALLBACK_PAPERS = 50
DEFAULT_SIMILARITY = 0.45
#: Fixed-threshold margins are (score - min_similarity) / FIXED_SCALE, so that they compare with
#: learnt margins (in standard deviations of the topic's score over the store): 0.1 is about one
#: standard deviation of a topic's cosine over a store of arXiv abstracts.
FIXED_SCALE = 0.1
#: Part of every cached boundary's key: bump it when fit_boundary changes what it computes
#: (7: the names-none cut, `names_none_cuts`, is cached beside the boundaries).
BOUNDARY_VERSION = 7
#: Whether a paper is in a learnt topic is decided by one logistic model over evidence that
#: means the same for every topic (issue 16, round 6): the boundary's margin, the cosine with the
#: topic's text, its keywords named (in the title; capped count; any), the topic's label
#: frequency c, "names none" × (2c − 1)⁺, and the gap to the paper's best learnt topic. Fitted
#: once on the gold labels of the dev topics and papers (OAI dev topics, 2025 dev and dev-b),
#: features, C 0.01 and the threshold chosen leave-one-topic-out; refit with
#: `python -m benchmarks.study_meta_model` (benchmarks/README.md, round 6). Weights in raw
#: feature units; a paper is inside when its log-odds reach EVIDENCE_CUT (P ≥ 0.2).
EVIDENCE_WEIGHTS = {
    "cosine": 3.7577,
    "title": 0.3149,
    "hits": 0.4987,
    "named": 0.5220,
    "c": 1.3498,
    "bar": -1.6845,
    "gap": 0.4879,
}
#: The model's weight on the boundary's margin: the log-odds are put back in standard
#: deviations of the margin by dividing by it, so a margin still reads as one.
MARGIN_WEIGHT = 1.0540
EVIDENCE_INTERCEPT = -3.5371
EVIDENCE_CUT = -1.3863  # log(0.2 / 0.8)
#: The gap to the paper's best learnt topic is floored here (sd), as in the fitting.
GAP_FLOOR = -5.0
#: A learnt topic keeps at most this many papers that name none of its keywords per keyword
#: paper inside it, counted over the store, the ones with the highest margins: those beyond are
#: held out by a per-topic cut (`names_none_cuts`). On a venue's author keywords the papers a
#: topic added without naming a keyword were 18 % gold on NeurIPS 2023 (self-supervised took 37
#: representation and masked-modelling papers for one gold one) against over half on the dev
#: sets. Chosen on the dev sets (ICLR 2021, the round-20 guards) and checked once on held-out
#: ones: NeurIPS 2023 macro F1 0.662 -> 0.670, topics below keyword matching 6 -> 4
#: (benchmarks/README.md, twenty-third round; benchmarks/study_names_none.py).
NAMES_NONE_SHARE = 0.5
#: Where the cut must hold out every names-none paper, it lies this far above the best one.
NAMES_NONE_ABOVE = 1e-3
#: With this many examples or more, the examples (not only the keyword hits) say what share of
#: the topic lies above each threshold.
MIN_EXAMPLES_FOR_RECALL = 3
#: The share of a boundary's direction that comes from the topic's examples, when it has some.
EXAMPLE_SHARE = 0.5
#: A topic's examples may grow it to at most this many times the papers its keyword hits alone
#: put inside (or by this many papers per example, when more): `_capped`.
EXAMPLE_GROWTH = 2.0


@dataclass(frozen=True)
class Boundary:
    """A topic's boundary learnt from the store, without labels.

    A paper's score is its projection on `direction` (from the store's mean towards the topic's
    weak positives) plus its best prototype cosine, compared with `threshold`, in units of
    `scale` (the score's standard deviation over the store). Keyword and other evidence then
    moves that margin (`evidence_margins`, which uses `label_frequency`).
    """

    direction: np.ndarray
    threshold: float
    scale: float
    n_weak_positive: int
    label_frequency: float  # estimated share of the topic's papers that carry a keyword
    # The margin a paper naming none of the topic's keywords must reach to be inside (0: as any
    # paper); read from the store with every topic's boundary (`names_none_cuts`), so cached
    # beside the boundaries, not in `to_json`.
    names_none_cut: float = 0.0

    def margins(self, vectors: np.ndarray, cosines: np.ndarray) -> np.ndarray:
        """(n,) signed distance of each paper from the boundary, in standard deviations (≥ 0:
        inside), before any keyword evidence."""
        if vectors.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        score = vectors @ self.direction + cosines
        return np.asarray((score - self.threshold) / self.scale, dtype=np.float32)

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


@dataclass(frozen=True)
class Fallback:
    """The threshold a topic with too little evidence to learn a boundary is judged by, read
    from its scores over `n_papers` stored papers (`store_threshold`)."""

    threshold: float
    n_papers: int

    def to_json(self) -> dict[str, object]:
        return {"threshold": self.threshold, "n_papers": self.n_papers}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Fallback:
        return cls(float(data["threshold"]), int(data["n_papers"]))  # type: ignore[arg-type, call-overload]


def store_threshold(combined: np.ndarray) -> Fallback | None:
    """A topic's threshold read from its scores over the store's papers (`combined`): their
    mean plus FALLBACK_SD standard deviations, at least FALLBACK_FLOOR; None when there are
    fewer than MIN_FALLBACK_PAPERS of them. Label-free and relative, as the
    learnt boundaries are: one fixed cosine is too low for one topic's text and too high for
    another's (issue 16)."""
    if len(combined) < MIN_FALLBACK_PAPERS:
        return None
    scores = np.asarray(combined, dtype=np.float64)
    cut = max(FALLBACK_FLOOR, float(scores.mean() + FALLBACK_SD * scores.std()))
    return Fallback(round(cut, 6), len(scores))


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
    the two estimates; the examples may at most double what the hits alone take (`_capped`).
    Counter-examples are not seen here: they are vetoed in `assign_topics`, so marking one moves
    no other paper into or out of a topic. None when there are fewer than MIN_WEAK_POSITIVES
    weak positives.
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
    plain = fit_boundary(vectors, cosines, hits) if example_scores is not None else None
    if plain is not None:  # None too when the hits alone are too few to learn from
        n_plain = int((plain.margins(vectors, cosines) >= 0).sum())
        threshold = _capped(threshold, score, n_plain, len(examples))
    scale = float(score.std()) or 1.0
    return Boundary(direction, threshold, scale, n_weak, frequency)


def _capped(threshold: float, score: np.ndarray, n_plain: int, n_examples: int) -> float:
    """`threshold`, raised where needed so that the papers scoring above it are at most
    EXAMPLE_GROWTH times the `n_plain` the keyword hits alone put inside, or that number plus
    EXAMPLE_GROWTH per example when more. Papers a user marks as missed are no fair sample of
    the topic: their low scores made five of them grow self-supervised learning from 64 to
    about 250 of 1,372 ICLR 2021 papers (benchmarks/README.md, fifteenth round)."""
    cap = max(int(EXAMPLE_GROWTH * n_plain), n_plain + int(EXAMPLE_GROWTH * n_examples))
    if int((score >= threshold).sum()) <= cap:
        return threshold
    return float(np.sort(score)[::-1][cap - 1])  # more than `cap` papers reach `threshold`


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


def evidence_margins(
    raw: np.ndarray,
    cosines: np.ndarray,
    hits: np.ndarray,
    titled: np.ndarray,
    frequency: np.ndarray,
) -> np.ndarray:
    """(n, m) margins of m learnt topics after the evidence model (≥ 0: inside), in standard
    deviations: the model's log-odds minus EVIDENCE_CUT, divided by MARGIN_WEIGHT.

    `raw` are the boundaries' margins (`Boundary.margins`), `cosines` the cosines with each
    topic's text, `hits` the capped keyword counts, `titled` whether a keyword is in the title,
    `frequency` (m,) each boundary's label frequency c. The gap is taken over these m topics.
    """
    raw = np.asarray(raw, dtype=np.float64)
    if raw.size == 0:
        return raw.astype(np.float32)
    named = (np.asarray(hits) > 0).astype(np.float64)
    c = np.broadcast_to(np.asarray(frequency, dtype=np.float64)[None, :], raw.shape)
    features = {
        "cosine": cosines,
        "title": titled,
        "hits": hits,
        "named": named,
        "c": c,
        "bar": (1.0 - named) * np.maximum(0.0, 2.0 * c - 1.0),
        "gap": np.maximum(raw - raw.max(axis=1, keepdims=True), GAP_FLOOR),
    }
    log_odds = MARGIN_WEIGHT * raw + EVIDENCE_INTERCEPT
    for name, weight in EVIDENCE_WEIGHTS.items():
        log_odds = log_odds + weight * np.asarray(features[name], dtype=np.float64)
    return np.asarray((log_odds - EVIDENCE_CUT) / MARGIN_WEIGHT, dtype=np.float32)


def names_none_cuts(margin: np.ndarray, hits: np.ndarray) -> np.ndarray:
    """(m,) for m learnt topics, from their evidence margins (`evidence_margins`) and keyword
    hits over the store's papers: the margin a paper that names none of a topic's keywords must
    reach to stay inside it, so that at most NAMES_NONE_SHARE of them per keyword paper inside
    stay, those of the highest margins (0 where no more are inside). The cut lies halfway
    between the last kept margin and the first held out, so the same paper scored again in a
    week (its margin equal up to rounding) falls on the same side."""
    margin = np.asarray(margin, dtype=np.float64)
    named = np.asarray(hits) > 0
    cuts = np.zeros(margin.shape[1] if margin.ndim == 2 else 0)
    for col in range(len(cuts)):
        inside = margin[:, col] >= 0
        keep = int(NAMES_NONE_SHARE * int((inside & named[:, col]).sum()))
        none = np.sort(margin[inside & ~named[:, col], col])[::-1]
        if len(none) > keep:
            cut = (none[keep - 1] + none[keep]) / 2 if keep else none[0] + NAMES_NONE_ABOVE
            cuts[col] = float(cut)
    return cuts


def with_names_none_cuts(margin: np.ndarray, hits: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """`margin` (n, m) with each topic's names-none cut (m,) subtracted from the margins of the
    papers that name none of its keywords (`hits` 0): they are inside only from the cut up."""
    shift = np.where(np.asarray(hits) > 0, 0.0, np.asarray(cuts, dtype=np.float64)[None, :])
    return np.asarray(np.asarray(margin, dtype=np.float64) - shift, dtype=np.float32)


class MarginViews(NamedTuple):
    """A week's (n_papers, n_topics) margins three ways (`margin_views`)."""

    margin: np.ndarray  # decides whether a paper is in a topic (the evidence model's)
    rank: np.ndarray  # orders a paper's topics: no evidence model, strong titles lifted
    raw: np.ndarray  # the boundaries' and thresholds' margins alone (what explain compares)


def margin_views(
    scores: TopicScores,
    vectors: np.ndarray,
    text_cosines: np.ndarray,
    boundaries: Sequence[Boundary | None],
    fixed: Sequence[float | None],
) -> MarginViews:
    """The margins of `topic_margins`, with and without the evidence model, from one pass
    over the boundaries. A topic with a fixed threshold (`fixed[t]`, its min_similarity) or no
    boundary is judged by (combined - threshold) / FIXED_SCALE, the others by their learnt
    boundary over the vectors and their cosine with the topic's own text, then the evidence
    model (`evidence_margins`). `rank` is `raw` except that a learnt topic inside and named
    in the paper's title ranks just below the paper's best topic (`lift_strong_ranks`).
    `fixed[t]` must be set where `boundaries[t]` is None."""
    raw = np.zeros(scores.combined.shape, dtype=np.float32)
    learnt = np.zeros(len(boundaries), dtype=bool)
    for col, (boundary, threshold) in enumerate(zip(boundaries, fixed, strict=True)):
        if threshold is not None or boundary is None:
            if threshold is None:
                raise ValueError(f"topic column {col} has neither a boundary nor a threshold")
            raw[:, col] = (scores.combined[:, col] - threshold) / FIXED_SCALE
        else:
            learnt[col] = True
            raw[:, col] = boundary.margins(vectors, text_cosines[:, col])
    if not learnt.any():
        return MarginViews(raw, raw, raw)
    margin = raw.copy()
    chosen = _learnt(boundaries, learnt)
    evidence = learnt_evidence(scores, raw[:, learnt], text_cosines, chosen, learnt)
    margin[:, learnt] = with_names_none_cuts(
        evidence, scores.keywords[:, learnt], np.array([b.names_none_cut for b in chosen])
    )
    if scores.titled is None:
        return MarginViews(margin, raw, raw)
    rank = lift_strong_ranks(raw, margin >= 0, learnt[None, :] & scores.titled)
    return MarginViews(margin, rank, raw)


def learnt_evidence(
    scores: TopicScores,
    raw: np.ndarray,
    text_cosines: np.ndarray,
    chosen: Sequence[Boundary],
    learnt: np.ndarray | Sequence[int],
) -> np.ndarray:
    """The evidence model's margins (`evidence_margins`) of the learnt topics `learnt` (a mask
    or the columns of `scores` and `text_cosines`), whose boundaries are `chosen` and raw
    margins `raw` (those columns only), before any names-none cut."""
    titled = scores.titled if scores.titled is not None else np.zeros(scores.keywords.shape, bool)
    return evidence_margins(
        raw,
        text_cosines[:, learnt],
        scores.keywords[:, learnt],
        titled[:, learnt],
        np.array([b.label_frequency for b in chosen]),
    )


def topic_margins(
    scores: TopicScores,
    vectors: np.ndarray,
    text_cosines: np.ndarray,
    boundaries: Sequence[Boundary | None],
    fixed: Sequence[float | None],
    *,
    keyword_evidence: bool = True,
) -> np.ndarray:
    """(n_papers, n_topics) margins (`margin_views`): with `keyword_evidence` the evidence
    model's, which decide whether a paper is in a topic; without, the order `assign_topics`
    ranks a paper's topics in."""
    views = margin_views(scores, vectors, text_cosines, boundaries, fixed)
    return views.margin if keyword_evidence else views.rank


def _learnt(boundaries: Sequence[Boundary | None], learnt: np.ndarray) -> list[Boundary]:
    return [b for b, on in zip(boundaries, learnt, strict=True) if on and b is not None]


def lift_strong_ranks(rank: np.ndarray, inside: np.ndarray, strong: np.ndarray) -> np.ndarray:
    """`rank` with each inside topic of strong keyword evidence raised to just below the best
    rank among the paper's inside topics (never lowered), so `assign_topics` lists it with the
    paper's topics whatever `also_margin` is; the paper's primary topic does not change.

    Strong evidence is a keyword in the title (`topic_margins`): a paper whose title names the
    topic is not marginally relevant to it, even when another topic ranks higher. Chosen on the
    dev sets only (benchmarks/README.md, round 4): a keyword in the title or two keywords named
    scored the same on the hand-labelled dev set and 0.001 lower on the arXiv one."""
    candidates = np.where(inside, rank, -np.inf)
    best = candidates.max(axis=1, keepdims=True) if rank.size else candidates
    lifted = np.where(inside & strong, np.maximum(rank, best - _BELOW_BEST), rank)
    return np.asarray(lifted, dtype=np.float32)


#: How far below the paper's best topic a lifted topic ranks: small enough to pass any
#: also_margin, large enough to keep the best topic first in float32.
_BELOW_BEST = 1e-3
