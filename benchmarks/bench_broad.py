"""Two-level themes, tried for issue 17 and not shipped: a big week's themes gathered into
`max_themes` broad ones, forcing the joins down to exactly `max_themes` or cutting the
centroid linkage at a similarity.

    python -m benchmarks.bench_broad [--vectors benchmarks/.cache/oai-cs-2016-all-MiniLM-L6-v2.npy]

On the first 1,000 / 2,625 / 7,000 records of the OAI corpus (no topics), the fine themes are
`cluster.find_themes` with no cap; their centroids are joined by average linkage and the 24
largest broad groups kept. Per variant: share in Other, purity (papers in their broad group's
majority primary arXiv category), share of broad groups with a majority category, NMI / ARI.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np

from benchmarks.bench_bertopic import CORPUS, load_corpus, load_vectors, scores
from pipeline.topics import cluster

ROOT = Path(__file__).resolve().parent.parent
CUTS: tuple[float | None, ...] = (None, 0.35, 0.40, 0.45, 0.50)  # None: forced to max_themes


def main() -> None:
    from scipy.cluster.hierarchy import fcluster, linkage

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--vectors", type=Path, default=ROOT / "benchmarks/.cache/oai-cs-2016-all-MiniLM-L6-v2.npy"
    )
    parser.add_argument("--max-themes", type=int, default=24)
    args = parser.parse_args()
    ids, texts, truth, _ = load_corpus(CORPUS)
    vectors = load_vectors(args.vectors, texts)
    for n in (1000, 2625, 7000):
        themes, _ = cluster.find_themes(
            ids[:n], vectors[:n], texts[:n], seed=0, min_theme_size=3, max_themes=10**6
        )
        category = dict(zip(ids[:n], truth[:n], strict=True))
        row = {pid: i for i, pid in enumerate(ids[:n])}
        x = vectors[:n] / np.linalg.norm(vectors[:n], axis=1, keepdims=True)
        centroids = np.stack([x[[row[p] for p in t.paper_ids]].mean(axis=0) for t in themes])
        centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
        tree = linkage(centroids.astype(np.float64), method="average", metric="cosine")
        for cut_at in CUTS:
            if cut_at is None:
                cut = fcluster(tree, t=args.max_themes, criterion="maxclust")
            else:
                cut = fcluster(tree, t=1.0 - cut_at, criterion="distance")
            parts = [np.flatnonzero(cut == k) for k in np.unique(cut)]
            parts.sort(key=lambda p: -sum(len(themes[k].paper_ids) for k in p))
            shown = [[q for k in p for q in themes[k].paper_ids] for p in parts[: args.max_themes]]
            top = [Counter(category[q] for q in m).most_common(1)[0][1] for m in shown]
            where = {q: i for i, m in enumerate(shown) for q in m}
            found = [str(where.get(p, "other")) for p in ids[:n]]
            n_shown = sum(len(m) for m in shown)
            print(
                f"{n} papers, {'forced' if cut_at is None else f'cut {cut_at:.2f}'}: "
                f"{len(parts)} broad groups, Other {1 - n_shown / n:.1%}, "
                f"purity {sum(top) / n_shown:.3f}, with a majority category "
                f"{np.mean([t / len(m) >= 0.5 for t, m in zip(top, shown, strict=True)]):.0%}, "
                f"{scores(found, truth[:n], 'other')}"
            )


if __name__ == "__main__":
    main()
