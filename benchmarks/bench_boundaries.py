"""Timing of learnt topic boundaries (issue 16): the first build after the store changed (every
boundary refitted) against a warm one (all read from the cache in the store's meta table).

Runs `run.assign_papers` (the build's own code) for 700 papers of a week against an in-memory
store holding the 7,000 OAI papers of `eval_topics.py` with their cached vectors, with the eight
dev topics of topics/newcomer-dev.toml (none has a min_similarity, so all eight are learnt).
Prints the best of three cold and three warm runs (the cache is cleared before each cold run).

Example: HF_HUB_OFFLINE=1 python -m benchmarks.bench_boundaries
"""

from __future__ import annotations

import argparse
import time

from benchmarks import eval_topics as ev
from pipeline import run
from pipeline.config import load_settings
from pipeline.embed import content_hash
from pipeline.store import Store

WEEK = 700


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    papers, _ = ev.load_corpus()
    settings = load_settings(ev.TOPIC_FILES["dev"])
    vectors = ev.load_vectors(papers, run.make_embedder(settings).name)
    embedder = ev.CachedEmbedder(
        {content_hash(p.text): v for p, v in zip(papers, vectors, strict=True)}
    )
    topics = settings.topics_as_models()
    week, week_vectors = papers[-WEEK:], vectors[-WEEK:]
    cold, warm = [], []
    with Store.open(":memory:") as store:
        store.upsert_papers(papers, "oai-cs-2016", ev.NOW, merge=lambda stored, new: new)
        store.save_vectors(
            embedder.name,
            [(p.paper_id, content_hash(p.text), v) for p, v in zip(papers, vectors, strict=True)],
            ev.NOW,
        )
        run.assign_papers(settings, store, embedder, week, week_vectors, topics, now=ev.NOW)
        for _ in range(3):
            for topic in topics:
                store.set_meta(f"topic-boundary:{topic.slug}", "{}")
            started = time.perf_counter()
            run.assign_papers(settings, store, embedder, week, week_vectors, topics, now=ev.NOW)
            cold.append(time.perf_counter() - started)
            started = time.perf_counter()
            run.assign_papers(settings, store, embedder, week, week_vectors, topics, now=ev.NOW)
            warm.append(time.perf_counter() - started)
    print(f"{len(topics)} learnt topics, {WEEK} papers, {len(papers)}-paper store")
    print(f"first build (refit all): {min(cold):.2f} s   warm build (cached): {min(warm):.2f} s")


if __name__ == "__main__":
    main()
