"""Which keyword variants should count as the keyword (issue 16, round 5): dev sets only.

Runs the build's own code (`run.assign_papers`, through eval_topics.memberships) with the
matcher's `assign.KEYWORD_VARIANTS` set to each candidate, on the three DEV sets only — the OAI
dev topics on the dev half of the 7,000 OAI papers, the 2025 topics on the 200 dev papers with
the first annotator's labels ("2025 dev") and the second's ("2025 dev-b") — never on a held-out
set. The variants change both the weak positives the boundaries are fitted on and the keyword
rule. Printed per candidate: macro F1 of the learnt boundary and of plain keyword matching with
those variants, per dev set, with the number of topics where the learnt boundary is below plain
keyword matching *without* variants (where that scores under 0.95), then per-topic F1.

Example: HF_HUB_OFFLINE=1 python -m benchmarks.study_keyword_variants
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from benchmarks import eval_topics as ev
from pipeline import run
from pipeline.config import load_settings
from pipeline.embed import content_hash
from pipeline.models import Paper
from pipeline.store import Store
from pipeline.topics import assign

CANDIDATES: dict[str, tuple[str, ...]] = {
    "none (round 4)": (),
    **{kind: (kind,) for kind in assign.VARIANT_KINDS},
    "all": assign.VARIANT_KINDS,
    "all but participle": tuple(k for k in assign.VARIANT_KINDS if k != "participle"),
    "all but head": tuple(k for k in assign.VARIANT_KINDS if k != "head"),
    "joined + plural + derived": ("joined", "plural", "derived"),
    "participle + head": ("participle", "head"),
    "joined + participle + head": ("joined", "participle", "head"),
    "joined + participle": ("joined", "participle"),
}


def f1s(pred: np.ndarray, gold: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per-topic F1 on `rows` (nan where the topic has no gold paper there)."""
    out = []
    for j in range(gold.shape[1]):
        p, g = pred[rows, j], gold[rows, j]
        out.append(np.nan if not g.any() else 2 * (p & g).sum() / (p.sum() + g.sum()))
    return np.array(out)


def open_store(
    papers: Sequence[Paper], vectors: np.ndarray, source: str
) -> tuple[Store, ev.CachedEmbedder]:
    embedder = ev.CachedEmbedder(
        {content_hash(p.text): v for p, v in zip(papers, vectors, strict=True)}
    )
    store = Store.open(":memory:")
    store.upsert_papers(papers, source, ev.NOW, merge=lambda stored, new: new)
    rows = [(p.paper_id, content_hash(p.text), v) for p, v in zip(papers, vectors, strict=True)]
    store.save_vectors(embedder.name, rows, ev.NOW)
    return store, embedder


def main() -> None:
    name = run.make_embedder(load_settings(ev.TOPIC_FILES["dev"])).name
    papers, categories = ev.load_corpus()
    oai_settings = load_settings(ev.TOPIC_FILES["dev"])
    oai_topics = oai_settings.topics_as_models()
    oai_gold = np.array([[ev.GOLD[t.slug] in c for t in oai_topics] for c in categories])
    oai_vectors = ev.load_vectors(papers, name)
    week, splits = ev.load_week()
    week_settings = load_settings(ev.WEEK_TOPICS)
    week_topics = week_settings.topics_as_models()
    week_vectors = ev.load_vectors(week, name, corpus="week-2025-06")
    sets = [("oai dev", oai_settings, papers, oai_vectors, oai_gold, ~ev.heldout_half(papers))]
    for split in ("dev", "dev-b"):
        labels = splits[split]
        gold = np.array([[t.slug in labels.get(p.paper_id, set()) for t in week_topics]
                         for p in week])  # fmt: skip
        rows = np.array([p.paper_id in labels for p in week])
        sets.append((f"2025 {split}", week_settings, week, week_vectors, gold, rows))
    stores = {id(papers): open_store(papers, oai_vectors, "oai"),
              id(week): open_store(week, week_vectors, "week")}  # fmt: skip
    plain = {}
    for label, settings, ps, _, gold, rows in sets:
        plain[label] = f1s(ev.keyword_matches(ps, settings.topics_as_models()), gold, rows)
    per_topic: dict[str, list[str]] = {}
    print(f"{'variants':28}" + "".join(f"{s[0]:>30}" for s in sets))
    for cand, kinds in CANDIDATES.items():
        assign.KEYWORD_VARIANTS = kinds
        cells, started = "", time.perf_counter()
        for label, settings, ps, vectors, gold, rows in sets:
            store, embedder = stores[id(ps)]
            learnt = f1s(ev.memberships(settings, store, embedder, ps, vectors), gold, rows)
            keywords = f1s(ev.keyword_matches(ps, settings.topics_as_models()), gold, rows)
            base = plain[label]
            below = int(np.nansum((base < 0.95) & (learnt < base - 1e-9)))
            cells += f"{np.nanmean(learnt):>12.3f} ({below}) kw {np.nanmean(keywords):.3f}"
            slugs = [t.slug for t in settings.topics_as_models()]
            per_topic.setdefault(label, []).append(
                f"{cand:28}"
                + "".join(
                    f"{slug[:8]:>9}={v:.2f}"
                    for slug, v in zip(slugs, learnt, strict=True)
                    if not np.isnan(v)
                )
            )
        print(f"{cand:28}{cells}   {time.perf_counter() - started:.0f} s", flush=True)
    for label, lines in per_topic.items():
        print(f"\n{label}: per-topic F1 of the learnt boundary")
        print(
            f"{'plain keywords':28}"
            + "".join(f"{'':>9}={v:.2f}" for v in plain[label] if not np.isnan(v))
        )
        print("\n".join(lines))


if __name__ == "__main__":
    main()
