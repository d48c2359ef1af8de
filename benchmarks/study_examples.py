"""Examples that teach (issue 16): the learning curve over several draws of examples.

    python -m benchmarks.study_examples [--topics dev|heldout] [--draws 5] [--sizes 0,5,10,20]

`make eval-topics` draws one set of examples per topic (the first 5 and 20 of one seeded
permutation of the dev half's gold papers), so a single unlucky draw moves a topic's F1 by
0.1–0.2 and the curve is not monotone there. This draws `--draws` nested sets per topic (the
first n of permutation d, seed 1000·d + topic index) and reports, on the held-out half as
make eval-topics does, the macro F1 per size: mean over draws, and min–max; then per topic.
Choices are made on the dev topics; `--topics heldout` is for reporting. `--variant` fits the
boundaries by one of RULES instead of `calibrate.fit_boundary` (sixteenth round: which part of
the examples' rule costs F1 on the ICLR set; none was adopted).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from benchmarks import eval_topics as ev
from benchmarks import eval_venue
from benchmarks.study_meta_model import corpus_store
from pipeline import run
from pipeline.config import load_settings
from pipeline.topics import calibrate

#: How a topic's examples enter its boundary (sixteenth round; calibrate.fit_boundary is
#: "shipped"). A: the examples shape the direction only (recall and size from the keyword hits);
#: B: the threshold only (direction from the hits, the examples' recall and size as shipped);
#: C<k>: ordinary weak positives of weight k each, in the direction and in the hits' recall (size
#: from the hits); S25: the shipped rule with an examples' share of 0.25 instead of 0.5. Every
#: rule keeps the examples' cap (`calibrate._capped`). K: the shipped rule with the examples' share
#: 1 - c (at most 0.5), c the label frequency the hits alone give; K2: 0.5 when c < 0.75, else
#: 0.25 (sixteenth round, second study).
RULES = ("shipped", "A", "B", "C1", "C3", "C10", "S25", "K", "K2")


def fit_by_rule(rule: str) -> Any:
    """`calibrate.fit_boundary` with the examples entering the fit as `rule` says."""
    shipped = calibrate.fit_boundary
    if rule == "shipped":
        return shipped

    def fit(
        vectors: np.ndarray,
        cosines: np.ndarray,
        hits: np.ndarray,
        *,
        example_vectors: np.ndarray | None = None,
        example_cosines: np.ndarray | None = None,
    ) -> calibrate.Boundary | None:
        weak = np.asarray(hits, dtype=np.float32) > 0
        dim = vectors.shape[1] if vectors.ndim == 2 else 0
        examples = (
            example_vectors if example_vectors is not None else np.zeros((0, dim), np.float32)
        )
        n_weak = int(weak.sum()) + len(examples)
        if n_weak < calibrate.MIN_WEAK_POSITIVES or len(vectors) < 2 * calibrate.MIN_WEAK_POSITIVES:
            return None
        share = 0.25 if rule == "S25" else calibrate.EXAMPLE_SHARE
        if rule in ("K", "K2") and len(examples) and weak.any():
            # The examples' share of the direction by how well the hits alone cover the topic:
            # c, the hits' share among the surest papers of the hits-only direction.
            c = _hits_frequency(vectors, cosines, weak)
            share = (
                float(np.clip(1.0 - c, 0.0, 0.5)) if rule == "K" else (0.5 if c < 0.75 else 0.25)
            )
        weight = (
            max(1.0, share / (1 - share) * weak.sum() / len(examples)) if len(examples) else 0.0
        )
        if rule == "B" and len(examples):
            weight = 0.0
        elif rule.startswith("C") and len(examples):
            weight = float(rule[1:])
        weak_sum, example_sum = vectors[weak].sum(axis=0), examples.sum(axis=0)
        total = weak.sum() + weight * len(examples)
        background_mean = vectors.mean(axis=0)
        direction = calibrate._unit((weak_sum + weight * example_sum) / total - background_mean)
        if direction is None:
            return None
        score = vectors @ direction + cosines
        example_scores = None
        if len(examples) >= calibrate.MIN_EXAMPLES_FOR_RECALL and example_cosines is not None:
            example_scores = np.zeros(len(examples), dtype=np.float32)
            for i, (vector, cosine) in enumerate(zip(examples, example_cosines, strict=True)):
                without = (weak_sum + weight * (example_sum - vector)) / (total - weight)
                loo = calibrate._unit(without - background_mean)
                example_scores[i] = float(vector @ (loo if loo is not None else direction)) + cosine
        capped = example_scores is not None
        if rule == "A":
            threshold, frequency = calibrate._estimated_f1_threshold(score, weak)
        elif rule.startswith("C") and example_scores is not None:
            threshold, frequency = _pooled_threshold(score, weak, example_scores, weight)
        else:
            threshold, frequency = calibrate._estimated_f1_threshold(score, weak, example_scores)
        plain = shipped(vectors, cosines, hits) if capped else None
        if plain is not None:
            n_plain = int((plain.margins(vectors, cosines) >= 0).sum())
            threshold = calibrate._capped(threshold, score, n_plain, len(examples))
        scale = float(score.std()) or 1.0
        return calibrate.Boundary(direction, threshold, scale, n_weak, frequency)

    return fit


def _hits_frequency(vectors: np.ndarray, cosines: np.ndarray, weak: np.ndarray) -> float:
    """The label frequency c the keyword hits alone give (as `calibrate.fit_boundary` without
    examples estimates it): their share among the papers scoring above the hits' median."""
    direction = calibrate._unit(vectors[weak].mean(axis=0) - vectors.mean(axis=0))
    if direction is None:
        return 1.0
    score = vectors @ direction + cosines
    return float(weak[score >= np.median(score[weak])].mean())


def _pooled_threshold(
    score: np.ndarray, weak: np.ndarray, example_scores: np.ndarray, weight: float
) -> tuple[float, float]:
    """`calibrate._estimated_f1_threshold` with the examples joining the hits' recall at
    `weight` each, the topic's size from the hits alone (rule C)."""
    if not weak.any():
        return calibrate._estimated_f1_threshold(score, weak)
    candidates = np.unique(np.quantile(score, np.linspace(0.0, 0.999, 400)))
    order = np.sort(score)
    n_above = len(order) - np.searchsorted(order, candidates, side="left")
    frequency = float(weak[score >= np.median(score[weak])].mean())
    n_topic = weak.sum() / frequency
    weak_sorted, examples_sorted = np.sort(score[weak]), np.sort(example_scores)
    weak_above = len(weak_sorted) - np.searchsorted(weak_sorted, candidates, side="left")
    examples_above = len(examples_sorted) - np.searchsorted(
        examples_sorted, candidates, side="left"
    )
    recall = (weak_above + weight * examples_above) / (weak.sum() + weight * len(example_scores))
    estimated_f1 = 2 * recall * n_topic / (n_above + n_topic)
    best = len(candidates) - 1 - int(np.argmax(estimated_f1[::-1]))
    return float(candidates[best]), frequency


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--topics", choices=("dev", "heldout", "venue", "venue-swap"), default="dev",
        help="venue: ICLR 2021 (eval_venue), examples from half a, scored on half b;"
        " venue-swap: from half b, scored on half a (for choosing)",
    )  # fmt: skip
    parser.add_argument(
        "--missed", action="store_true",
        help="draw examples only among the gold papers the build leaves out (what a user who"
        " marks a missing paper with `digest mark` adds), not among all gold papers",
    )  # fmt: skip
    parser.add_argument("--part", type=int, choices=(1, 2), default=1,
                        help="with --topics venue*: which part of the ICLR list")  # fmt: skip
    parser.add_argument(
        "--variant", choices=RULES, default="shipped",
        help="how the examples enter a topic's boundary (RULES; sixteenth round)",
    )  # fmt: skip
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--sizes", default="0,5,10,20")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    calibrate.fit_boundary = fit_by_rule(args.variant)  # run.boundaries calls it by name
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.topics.startswith("venue"):
        papers, settings, vectors, gold = eval_venue.load_set(args.part)
        topics = settings.topics_as_models()
        source = eval_venue.corpus_name(args.part)
    else:
        papers, categories = ev.load_corpus()
        settings = load_settings(ev.TOPIC_FILES[args.topics])
        topics = settings.topics_as_models()
        vectors = ev.load_vectors(papers, run.make_embedder(settings).name)
        gold = np.array([[ev.GOLD[t.slug] in c for t in topics] for c in categories])
        source = "oai-cs-2016"
    test, dev = ev.heldout_half(papers), ~ev.heldout_half(papers)
    if args.topics == "venue-swap":
        test, dev = dev, test
    f1 = np.zeros((len(sizes), args.draws, len(topics)))
    store, embedder = corpus_store(papers, vectors, source)
    with store:
        pool = dev[:, None] & gold
        if args.missed:
            pool &= ~ev.memberships(settings, store, embedder, papers, vectors)
        for d in range(args.draws):
            for i, n in enumerate(sizes):
                if n == 0 and d > 0:
                    f1[i, d] = f1[i, 0]
                    continue
                taught = [
                    replace(t, examples=tuple(
                        papers[r].paper_id
                        for r in ev.draw(np.flatnonzero(pool[:, j]), n, seed=1000 * d + j)
                    ))
                    for j, t in enumerate(topics)
                ]  # fmt: skip
                inside = ev.memberships(
                    ev.with_topics(settings, taught), store, embedder, papers, vectors
                )
                for j in range(len(topics)):
                    f1[i, d, j] = ev.f1_scores(inside[test, j], gold[test, j])["f1"]
            print(f"draw {d + 1}/{args.draws} done", flush=True)
    kind = "missed gold papers" if args.missed else "gold papers"
    print(f"\nrule {args.variant}, {args.topics} topics, F1 on the held-out half,"
          f" {args.draws} draws of examples ({kind} of the other half)")  # fmt: skip
    print(f"{'examples':>9} {'macro F1 mean':>14} {'min':>7} {'max':>7}")
    macro = f1.mean(axis=2)
    for i, n in enumerate(sizes):
        print(f"{n:9d} {macro[i].mean():14.3f} {macro[i].min():7.3f} {macro[i].max():7.3f}")
    print(f"\n{'topic':24}" + "".join(f"{n:>8d}" for n in sizes))
    for j, t in enumerate(topics):
        print(f"{t.slug:24}" + "".join(f"{f1[i, :, j].mean():8.3f}" for i in range(len(sizes))))
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
