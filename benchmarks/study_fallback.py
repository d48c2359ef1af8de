"""A topic that cannot learn its boundary yet: the fixed threshold against one read from the
store's own scores (issue 16, round 9).

A topic learns its boundary from the store once MIN_WEAK_POSITIVES (5) stored papers name one of
its keywords or are its examples (topics/calibrate.py). Until then — a new install whose store
holds a day or two of papers, or a niche topic — it is judged by the fixed `[themes]
min_similarity` (0.45 by default): the case of issue 16's opening table. This study judges every
topic that way, as if none had learnt, and compares label-free thresholds on the same score (the
cosine with the topic's text plus the keyword bonus, `assign.combine_scores`):

- fixed 0.45 (the default before this round, calibrate.DEFAULT_SIMILARITY) and 0.58 (the
  shipped configs' before this round);
- z k: the topic's mean score over the store plus k standard deviations of it, for k in K_VALUES;
- z2 >= f: the same with k = 2, but at least f, for f in FLOORS;
- build: what `digest build` now does in that case (`calibrate.store_threshold`, FALLBACK_SD
  standard deviations over run/boundaries' sample of at most 2,000 stored papers, at least
  FALLBACK_FLOOR).

Chosen on the dev sets only (OAI dev topics on the dev half, 2025 dev and dev-b): the rule with
the best mean macro F1. `--heldout` then scores the held-out sets (OAI held-out topics and OAI dev
topics on the held-out half, 2025 heldout, -b, -c) for every rule, once.

Example: HF_HUB_OFFLINE=1 python -m benchmarks.study_fallback [--heldout]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from benchmarks import eval_topics as ev
from benchmarks.study_meta_model import corpus_store
from pipeline.config import load_settings
from pipeline.models import Paper
from pipeline.run import scoring
from pipeline.store import Store
from pipeline.topics import calibrate

K_VALUES = (1.0, 1.5, 2.0, 2.5, 3.0)
FLOORS = (0.25, 0.3, 0.35, 0.4)


def rules(settings: Any, store: Store, embedder: Any, papers: list[Paper], vectors: np.ndarray
          ) -> dict[str, np.ndarray]:  # fmt: skip
    """Each rule's memberships (n_papers, n_topics) over the store's papers."""
    topics = settings.topics_as_models()
    found = {}
    for threshold in (calibrate.DEFAULT_SIMILARITY, 0.58):
        fixed = [replace(t, min_similarity=threshold) for t in topics]
        found[f"fixed {threshold:.2f}"] = ev.memberships(
            ev.with_topics(settings, fixed), store, embedder, papers, vectors
        )
    fixed = [replace(t, min_similarity=calibrate.DEFAULT_SIMILARITY) for t in topics]
    scored = scoring.score_papers(
        ev.with_topics(settings, fixed), store, embedder, papers, vectors, fixed, now=ev.NOW
    )
    # What a build does with a topic that cannot learn (calibrate.store_threshold, read from
    # run/boundaries' background sample), every topic forced to that case.
    saved = calibrate.MIN_WEAK_POSITIVES
    calibrate.MIN_WEAK_POSITIVES = len(papers) + 1
    try:
        found["build"] = ev.memberships(settings, store, embedder, papers, vectors)
    finally:
        calibrate.MIN_WEAK_POSITIVES = saved
    mean, sd = scored.combined.mean(axis=0), scored.combined.std(axis=0)
    for k in K_VALUES:
        cut = [replace(t, min_similarity=float(mean[j] + k * sd[j])) for j, t in enumerate(topics)]
        found[f"z {k:g}"] = ev.memberships(
            ev.with_topics(settings, cut), store, embedder, papers, vectors
        )
    for floor in FLOORS:
        cut = [
            replace(t, min_similarity=max(floor, float(mean[j] + 2 * sd[j])))
            for j, t in enumerate(topics)
        ]
        found[f"z2 >= {floor:g}"] = ev.memberships(
            ev.with_topics(settings, cut), store, embedder, papers, vectors
        )
    return found


def macro(found: dict[str, np.ndarray], gold: np.ndarray, rows: np.ndarray) -> dict[str, float]:
    """Macro F1 of each rule over the topics with a gold paper among `rows`."""
    scored = [j for j in range(gold.shape[1]) if gold[rows, j].any()]
    return {
        name: float(np.mean([ev.f1_scores(m[rows, j], gold[rows, j])["f1"] for j in scored]))
        for name, m in found.items()
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heldout", action="store_true", help="also score the held-out sets")
    args = parser.parse_args(argv)
    table: dict[str, dict[str, float]] = {}
    papers, categories = ev.load_corpus()
    vectors = ev.load_vectors(papers, "all-MiniLM-L6-v2")
    store, embedder = corpus_store(papers, vectors, "oai-cs-2016")
    test = ev.heldout_half(papers)
    for name in ("dev", "heldout"):
        settings = load_settings(ev.TOPIC_FILES[name])
        topics = settings.topics_as_models()
        gold = np.array([[ev.GOLD[t.slug] in c for t in topics] for c in categories])
        found = rules(settings, store, embedder, papers, vectors)
        if name == "dev":
            table["OAI dev topics, dev half (dev)"] = macro(found, gold, ~test)
        if args.heldout:
            table[f"OAI {name} topics, held-out half"] = macro(found, gold, test)
    store.close()
    week, splits = ev.load_week()
    week_vectors = ev.load_vectors(week, "all-MiniLM-L6-v2", corpus="week-2025-06")
    store, embedder = corpus_store(week, week_vectors, "week-2025-06")
    settings = load_settings(ev.WEEK_TOPICS)
    topics = settings.topics_as_models()
    found = rules(settings, store, embedder, week, week_vectors)
    for split in ev.WEEK_SPLITS:
        if split.startswith("heldout") and not args.heldout:
            continue
        labels = splits[split]
        rows = np.array([p.paper_id in labels for p in week])
        gold = np.array([[t.slug in labels.get(p.paper_id, set()) for t in topics] for p in week])
        table[f"2025 {split}" + (" (dev)" if split.startswith("dev") else "")] = macro(
            found, gold, rows
        )
    store.close()
    names = list(next(iter(table.values())))
    print(f"{'set':36s}" + "".join(f"{n:>11s}" for n in names))
    for where, row in table.items():
        print(f"{where:36s}" + "".join(f"{row[n]:11.3f}" for n in names))
    dev = [row for where, row in table.items() if where.endswith("(dev)")]
    means = {n: float(np.mean([row[n] for row in dev])) for n in names}
    print(f"{'mean of the dev sets':36s}" + "".join(f"{means[n]:11.3f}" for n in names))
    rules_only = [n for n in names if n != "build"]
    print(f"chosen on dev: {max(rules_only, key=lambda n: means[n])}")


if __name__ == "__main__":
    main()
