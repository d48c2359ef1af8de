"""How far is each score from the best any threshold could do with it? (issue 16)

    HF_HUB_OFFLINE=1 python -m benchmarks.study_ceiling

Issue 16 measured, on its unseen set, that the best any single similarity score reaches with
each topic's threshold chosen by looking at the labels is 0.89 macro F1. This prints the same
ceiling on our labelled sets (study_meta_model's splits: OAI topics with arXiv-category gold on
one half of the 2016 corpus, the eight 2025 topics with three annotators' labels), per split,
for three scores of a (paper, topic) pair: the cosine with the topic's text, the learnt
boundary's margin without keyword evidence, and the build's own margin (evidence model
included); beside them what the build decides (its fixed cut at 0 and the "also relevant"
rule) and plain keyword matching. A ceiling picks, per topic, the threshold with the best F1 on
the scored rows themselves, so it is an upper bound no label-free rule can reach, and it shows
how much of the gap to a target is the threshold and how much the ranking.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np

from benchmarks import study_meta_model as smm


def best_f1(score: np.ndarray, gold: np.ndarray) -> float:
    """The best F1 of `score >= t` over every threshold t (nan without a gold paper)."""
    if not gold.any():
        return float("nan")
    order = np.argsort(-score, kind="stable")
    hits = np.cumsum(gold[order])
    k = np.arange(1, len(order) + 1)
    f1 = 2 * hits / (k + gold.sum())
    # Only cut between distinct scores: tied papers go in together.
    distinct = np.r_[score[order][1:] != score[order][:-1], True]
    return float(f1[distinct].max())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venue", action="store_true", help="also ICLR 2021's two halves")
    args = parser.parse_args(argv)
    splits = smm.load_splits(False, venue=args.venue) + smm.load_splits(True, venue=args.venue)
    print(f"{'split':38s} {'keywords':>8s} {'build':>6s} | ceilings: {'cosine':>6s} "
          f"{'boundary':>8s} {'build':>6s}")  # fmt: skip
    for s in splits:
        e, rows = s.evidence, s.rows
        build = smm.f1s(smm.decide(e, e.built), s.gold, rows)
        cells = [float(np.nanmean(s.keywords())), float(np.nanmean(build))]
        for score in (e.cosine, e.margin, e.built):
            score = np.asarray(score)
            per = [best_f1(score[rows, j], s.gold[rows, j]) for j in range(len(e.topics))]
            cells.append(float(np.nanmean(per)))
        print(f"{s.name:38s} {cells[0]:8.3f} {cells[1]:6.3f} |           {cells[2]:6.3f} "
              f"{cells[3]:8.3f} {cells[4]:6.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
