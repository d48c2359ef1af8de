"""Does the cohesion of a theme's *titles* predict the readers' coherence verdicts? (issue 17)

    make demo                      # once: fills data/demo/pipeline.sqlite3 with the vectors
    HF_HUB_OFFLINE=1 python -m benchmarks.study_title_cohesion

Readers judge a theme by its titles ("at least 75 % of a theme's titles fit one area a reader
would name"), while the build groups papers by their whole abstracts, whose method vocabulary
("learning", "embedding", "benchmark") is shared across subjects: the grab-bags readers named
most often ("Learning", "Embedding" over four W25 papers each) cohere as well by their
abstracts as themes they read as coherent. This embeds every title alone with the packaged
model (cached in benchmarks/.cache) and scores each theme readers judged, reproduced with this
checkout as `study_field_agreement` does (the demo weeks, OAI slices 41 and 61, the ML slice
71, the category readings of rounds 12-13; themes this checkout no longer finds, by input,
name and size, drop out): `title`, the mean cosine between its papers' title vectors;
`abstract`, the same over the build's own vectors (title and abstract); `title/week`, the
title cohesion less the mean title cosine of the input's papers; and size. Prints the ROC AUC
of each against "coherent" per reading. Recorded in benchmarks/README.md, fourteenth round
(AUC 0.68 over 572 themes; not adopted).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from benchmarks import bench_names, study_fields
from benchmarks import eval_topics as ev
from benchmarks import study_categories as sc
from benchmarks.study_coherence import read_inputs, verdicts
from benchmarks.study_field_agreement import READINGS, SEEDS, _row
from pipeline import run
from pipeline.config import load_settings
from pipeline.embed import content_hash

ROOT = study_fields.ROOT


def title_vectors(titles: dict[str, str]) -> dict[str, np.ndarray]:
    """Unit vectors of the titles alone (paper id → vector), cached by content hash."""
    ev.CACHE.mkdir(exist_ok=True)
    path = ev.CACHE / "titles-all-MiniLM-L6-v2.npz"
    cached: dict[str, np.ndarray] = {}
    if path.exists():
        with np.load(path) as saved:
            cached = {key: saved[key] for key in saved.files}
    keys = {pid: content_hash(title) for pid, title in titles.items()}
    missing = sorted({pid for pid, key in keys.items() if key not in cached})
    if missing:
        print(f"embedding {len(missing)} titles (once; cached in {ev.CACHE}) ...", flush=True)
        embedder = run.make_embedder(load_settings(ROOT / "examples/demo.toml"))
        for pid, vector in zip(missing, embedder.embed([titles[p] for p in missing]), strict=True):
            cached[keys[pid]] = np.asarray(vector, dtype=np.float32)
        np.savez(path, **cached)
    return {pid: cached[key] / np.linalg.norm(cached[key]) for pid, key in keys.items()}


def cohesion(rows: np.ndarray) -> float:
    """Mean cosine between distinct rows (unit vectors)."""
    n = len(rows)
    sims = rows @ rows.T
    return float((sims.sum() - n) / (n * (n - 1))) if n > 1 else 1.0


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    judged: list[tuple[str, bool, int, tuple[float, float, float]]] = []
    vocabulary = bench_names.area_vocabulary()
    seed = load_settings(ROOT / "examples/demo.toml").themes.seed
    read = verdicts()
    inputs: list[tuple[str, dict[str, Any], list[Any]]] = []
    for part, item, item_seed in read_inputs(ROOT / "data/demo/pipeline.sqlite3", seed):
        themes, _ = bench_names.item_themes(item, vocabulary, item_seed)
        keyed = [(t, read.get((item["name"], t.label, len(t.paper_ids)))) for t in themes]
        inputs.append((part, item, keyed))
    found = {
        (item["name"], theme.label, len(theme.paper_ids)): (item, theme)
        for item, themes, _ in sc.slice_items(list(SEEDS))
        for theme in themes
    }
    for name in READINGS:
        lines = (ev.HERE / "labels" / name).read_text(encoding="utf-8").splitlines()
        part = name.removeprefix("theme-categories-").removesuffix(".jsonl")
        for r in map(json.loads, lines):
            if r.get("part", "group") != "group" or r["kind"] != "build":
                continue
            hit = found.get((r["slice"], r["heading"], r["n_papers"]))
            if hit is not None:
                inputs.append((part, hit[0], [(hit[1], r["coherence"])]))
    titles = {
        pid: title
        for _, item, _ in inputs
        for pid, title in zip(item["ids"], item["titles"], strict=True)
    }
    vectors = title_vectors(titles)
    for part, item, keyed in inputs:
        own = {pid: k for k, pid in enumerate(item["ids"])}
        unit = np.asarray(item["vectors"], dtype=np.float64)
        unit /= np.linalg.norm(unit, axis=1, keepdims=True)
        week_titles = np.stack([vectors[pid] for pid in item["ids"]])
        week_mean = float(np.mean(week_titles.mean(axis=0) @ week_titles.T))
        for theme, verdict in keyed:
            if not verdict:
                continue
            ids = list(theme.paper_ids)
            t = cohesion(np.stack([vectors[pid] for pid in ids]))
            a = cohesion(unit[[own[pid] for pid in ids]])
            judged.append((part, verdict == "coherent", len(ids), (t, a, t - week_mean)))
    print(f"{'reading':10s} {'n':>4s} {'coherent':>9s} {'title':>6s} {'abstr':>6s} "
          f"{'t/week':>6s} {'size':>6s}  (ROC AUC against 'coherent')")  # fmt: skip
    for part in dict.fromkeys(j[0] for j in judged):
        _row(part, [j for j in judged if j[0] == part])
    _row("all", judged)


if __name__ == "__main__":
    main()
