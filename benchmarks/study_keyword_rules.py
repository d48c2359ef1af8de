"""How keyword evidence should combine with a learnt boundary (issue 16, round 2): dev sets only.

Fits each topic's boundary (`calibrate.fit_boundary`, no keyword rule) on a seeded 2,000-paper
sample of the corpus, then scores decision rules on the two DEV sets — the dev topics on the dev
half of the 7,000 OAI papers (arXiv-category gold) and the 2025 topics on the 200 "dev" papers of
labels/newcomer-2025.jsonl (hand labels) — never on a held-out set. A paper is in a topic when
its adjusted margin is ≥ 0 and within 0.5 (also_margin) of its best topic's: the adjusted margin
is m + slack for a paper naming a keyword and m - bar for one naming none. Printed: macro F1 per
dev set and how many topics fall below plain keyword matching (where it scores under 0.95).

Example: HF_HUB_OFFLINE=1 python -m benchmarks.study_keyword_rules
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from benchmarks import eval_topics as ev
from pipeline import run
from pipeline.config import load_settings
from pipeline.models import Paper, Topic
from pipeline.topics import assign, calibrate

#: The round-2 keyword rule, shipped in calibrate.py until round 6 replaced it by the evidence
#: model (benchmarks/README.md): a keyword moves the margin +0.5 sd, none -1.0 × (2c - 1)⁺ sd.
KEYWORD_SLACK = 0.5
NO_KEYWORD_BAR = 1.0

Features = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def features(papers: list[Paper], vectors: np.ndarray, topics: list[Topic],
             embedder: run.Embedder) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """(margins, keyword hit?, label frequency per topic) from boundaries fitted on a sample."""
    cosines = vectors @ embedder.embed([assign.topic_text(t) for t in topics]).T
    matchers = [assign.KeywordMatcher(t.keywords) for t in topics]
    hits = np.array([assign.keyword_hits(p.title, p.text, topics, matchers) for p in papers])
    sample = np.sort(np.random.default_rng(0).permutation(len(papers))[:2000])
    margins, frequency = fitted_margins(vectors, cosines, hits, sample)
    return margins, hits > 0, frequency


def fitted_margins(
    vectors: np.ndarray, cosines: np.ndarray, hits: np.ndarray, sample: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each topic's boundary fitted on the `sample` rows: (every paper's margins, the
    boundaries' label frequencies)."""
    margins, frequency = np.zeros_like(cosines), np.zeros(cosines.shape[1])
    for j in range(cosines.shape[1]):
        boundary = calibrate.fit_boundary(vectors[sample], cosines[sample, j], hits[sample, j])
        assert boundary is not None
        margins[:, j] = boundary.margins(vectors, cosines[:, j])
        frequency[j] = boundary.label_frequency
    return margins, frequency


def macro(pred: np.ndarray, gold: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per-topic F1 on `rows` (nan where the topic has no gold paper there)."""
    out = []
    for j in range(gold.shape[1]):
        p, g = pred[rows, j], gold[rows, j]
        out.append(np.nan if not g.any() else 2 * (p & g).sum() / (p.sum() + g.sum()))
    return np.array(out)


@dataclass(frozen=True)
class DevSet:
    """One dev set: its papers, their vectors, the topics, gold membership and the dev rows."""

    name: str
    papers: list[Paper]
    vectors: np.ndarray
    topics: list[Topic]
    gold: np.ndarray
    rows: np.ndarray


def load_dev_sets(embedder: run.Embedder) -> list[DevSet]:
    """The dev sets every study chooses on: OAI dev topics (dev half); the 2025 dev papers with
    the first annotator's labels ("2025 dev") and with the second annotator's ("2025 dev-b")."""
    papers, categories = ev.load_corpus()
    topics = load_settings(ev.TOPIC_FILES["dev"]).topics_as_models()
    gold = np.array([[ev.GOLD[t.slug] in c for t in topics] for c in categories])
    oai = DevSet("oai dev", papers, ev.load_vectors(papers, embedder.name), list(topics), gold,
                 ~ev.heldout_half(papers))  # fmt: skip
    week, splits = ev.load_week()
    topics = load_settings(ev.WEEK_TOPICS).topics_as_models()
    vectors = ev.load_vectors(week, embedder.name, corpus="week-2025-06")
    sets = [oai]
    for split in ("dev", "dev-b"):
        labels = splits[split]
        gold = np.array([[t.slug in labels.get(p.paper_id, set()) for t in topics]
                         for p in week])  # fmt: skip
        rows = np.array([p.paper_id in labels for p in week])
        sets.append(DevSet(f"2025 {split}", week, vectors, list(topics), gold, rows))
    return sets


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    embedder = run.make_embedder(load_settings(ev.TOPIC_FILES["dev"]))
    sets = [(d.name, *features(d.papers, d.vectors, d.topics, embedder), d.gold, d.rows)
            for d in load_dev_sets(embedder)]  # fmt: skip
    rules: dict[str, Callable[[np.ndarray], tuple[float, np.ndarray]]] = {
        "learnt margin only": lambda c: (0.0, 0.0 * c),
        "keyword OR margin > 0": lambda c: (99.0, 0.0 * c),
    }
    for slack in (0.5, 1.0):
        for bar in (0.0, 0.5, 1.0):
            rules[f"slack {slack}, bar {bar}"] = lambda c, s=slack, b=bar: (s, b + 0.0 * c)
            rules[f"slack {slack}, bar {bar}*(2c-1)+"] = lambda c, s=slack, b=bar: (
                s,
                b * np.maximum(0.0, 2 * c - 1),
            )
    print(f"{'rule':32}" + "".join(f"{name:>22}" for name, *_ in sets))
    for name, rule in rules.items():
        cells = ""
        for _, margins, named, frequency, gold, rows in sets:
            slack, bar = rule(frequency)
            adjusted = np.where(named, margins + slack, margins - bar[None, :])
            if slack == 99.0:
                inside = named | (margins >= 0)
            else:
                top = adjusted.max(axis=1, keepdims=True)
                inside = (adjusted >= 0) & (adjusted >= top - 0.5)
            f1, base = macro(inside, gold, rows), macro(named, gold, rows)
            below = int(np.nansum((base < 0.95) & (f1 < base - 1e-9)))
            cells += f"{np.nanmean(f1):>14.3f} ({below} below)"
        print(f"{name:32}{cells}")


if __name__ == "__main__":
    main()
