"""Benchmark: topic F1, theme NMI/ARI vs KMeans baselines, unthemed fraction, run time.

Runs `digest eval` (the same code as the command) with the default config.toml on every labelled
file in benchmarks/labels/, dev and held-out splits side by side; the report carries both KMeans
baselines (k by silhouette, and k told the true number of groups). Vectors are cached in the store
(data/pipeline.sqlite3), so only the first run embeds (~1,600 abstracts, a few minutes on 2 cores).

Example: make eval    (or: HF_HUB_OFFLINE=1 python benchmarks/compare.py)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline import run, tune  # noqa: E402
from pipeline.config import load_settings  # noqa: E402
from pipeline.embed.cache import ensure_vectors  # noqa: E402

FILES = (
    "seed-trending-dev",
    "seed-trending-heldout",
    "week-2025-06-dev",
    "week-2025-06-heldout",
    "oai-2016-dev",
    "oai-2016-heldout",
)
#: The four hand-grouped files together: 285 papers in 20 groups, so NMI varies less by seed.
COMBINED = {"hand-grouped-all": FILES[:4]}
FOCUS = ("nas", "efficient-attention", "multimodal")


SEEDS = 8


def oracle_spread(store: Any, embedder: Any, labels: list[tune.LabelledPaper]) -> dict[str, Any]:
    """KMeans told the true number of groups, over SEEDS seeds: how much one run's NMI varies."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score
    from threadpoolctl import threadpool_limits

    grouped = [item for item in labels if item.group is not None]
    if len(grouped) < 20:
        return {}
    vectors, _ = ensure_vectors(
        store, embedder, [item.paper for item in grouped], now=datetime.now(UTC)
    )
    groups = [str(item.group) for item in grouped]
    with threadpool_limits(limits=1):
        scores = [
            normalized_mutual_info_score(
                groups,
                KMeans(n_clusters=len(set(groups)), n_init=4, random_state=seed).fit_predict(
                    vectors
                ),
            )
            for seed in range(SEEDS)
        ]
    return {
        "baseline_kmeans_nmi_seeds": {
            "mean": round(float(np.mean(scores)), 4),
            "min": round(float(np.min(scores)), 4),
            "max": round(float(np.max(scores)), 4),
        }
    }


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    settings = load_settings(ROOT / "config.toml")
    embedder = run.make_embedder(settings)
    results = {}
    with run.open_store(settings) as store:
        sets = {name: (name,) for name in FILES} | COMBINED
        for name, parts in sets.items():
            labels = [
                item
                for part in parts
                for item in tune.load_labels(ROOT / "benchmarks" / "labels" / f"{part}.jsonl")
            ]
            started = time.perf_counter()
            report = tune.run_eval(settings, store, embedder, labels)
            report["seconds_total"] = round(time.perf_counter() - started, 2)
            report.update(oracle_spread(store, embedder, labels))
            focus = [report["topics"][s]["f1"] for s in FOCUS if report["topics"][s]["f1"]]
            report["focus_macro_f1"] = round(float(np.mean(focus)), 4) if focus else None
            results[name] = report
            print(_line(name, report), flush=True)
    out = ROOT / "benchmarks" / "themes-results.json"
    out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"written {out.relative_to(ROOT)}")


def _line(name: str, r: dict) -> str:
    parts = [f"{name:22} n={r['n_papers']:4} groups={r.get('n_groups')}"]
    if r.get("focus_macro_f1") is not None:
        f1 = " ".join(f"{s}={r['topics'][s]['f1']}" for s in FOCUS)
        parts.append(f"F1 nas/ea/mm macro={r['focus_macro_f1']} ({f1}) all-topic={r['macro_f1']}")
    if r.get("nmi") is not None:
        parts.append(
            f"NMI ours={r['nmi']} kmeans(k=groups)={r.get('baseline_kmeans_nmi')} "
            f"kmeans(silhouette)={r.get('baseline_silhouette_kmeans_nmi')} ARI={r['ari']}"
        )
        if "baseline_kmeans_nmi_seeds" in r:
            spread = r["baseline_kmeans_nmi_seeds"]
            parts.append(f"kmeans(k=groups) over {SEEDS} seeds {spread['min']}–{spread['max']}")
    parts.append(f"unthemed={r['unthemed_fraction']} time={r['seconds_total']}s")
    return " | ".join(parts)


if __name__ == "__main__":
    main()
