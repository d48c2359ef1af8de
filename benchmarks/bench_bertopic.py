"""Our discovered themes against BERTopic on the same vectors, at the finest labels we have
(issue 17): the primary arXiv category of the 7,000 records of the 2016 OAI corpus, their
natural mix (~70 categories, most small).

    pip install bertopic               # benchmark only: never a dependency of the pipeline
    python -m benchmarks.bench_bertopic [--vectors /tmp/oai-vectors.npy] [--sizes 1000,7000]

Vectors are the real model's (all-MiniLM-L6-v2) for `title. abstract`, cached in the .npy given
(embedded on the first run: ~5 min per 1,000 papers on a busy 2-core machine). Our partition is
`cluster.find_themes` with the shipped [themes] defaults (every paper goes to clustering: no
topics); BERTopic runs with its defaults (UMAP 5-d, HDBSCAN min_cluster_size 10) and a fixed
UMAP seed, on precomputed embeddings. Both leave papers unthemed ("Other" / outliers -1): NMI
and ARI count those as one more cluster, as `digest eval` does; the share is printed beside.
Subsets are the first n records in id order.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np

from pipeline.topics import cluster

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "benchmarks/data/oai-cs-2016-papers.jsonl.gz"


def load_corpus(path: Path) -> tuple[list[str], list[str], list[str]]:
    """Ids, `title. abstract` texts and primary categories of the corpus records."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    texts = [f"{r['title']}. {r['abstract']}".strip() for r in rows]
    return [r["id"] for r in rows], texts, [r["categories"][0] for r in rows]


def load_vectors(path: Path, texts: list[str]) -> np.ndarray:
    """The cached vectors, or the real model's, saved to `path` for the next run."""
    if path.exists():
        vectors = np.load(path)
        if vectors.shape[0] == len(texts):
            return vectors
    from pipeline.embed import SentenceTransformerEmbedder

    vectors = SentenceTransformerEmbedder(device="cpu").embed(texts)
    np.save(path, vectors)
    return vectors


def ours(ids: list[str], vectors: np.ndarray, texts: list[str], *, max_themes: int) -> list[str]:
    """Each paper's theme id, "other" for Other."""
    themes, other = cluster.find_themes(
        ids, vectors, texts, seed=0, min_theme_size=3, max_themes=max_themes
    )
    where = cluster.theme_of_papers(themes, other)
    return [where[pid] for pid in ids]


def bertopic(vectors: np.ndarray, texts: list[str]) -> list[str]:
    """Each paper's BERTopic topic (-1 = outlier)."""
    from bertopic import BERTopic
    from umap import UMAP

    umap = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=42)
    model = BERTopic(umap_model=umap, embedding_model=None, calculate_probabilities=False)
    topics, _ = model.fit_transform(texts, embeddings=vectors)
    return [str(t) for t in topics]


def scores(found: list[str], truth: list[str], outlier: str) -> dict[str, float]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    return {
        "nmi": round(float(normalized_mutual_info_score(truth, found)), 3),
        "ari": round(float(adjusted_rand_score(truth, found)), 3),
        "groups": len(set(found) - {outlier}),
        "unthemed": round(sum(1 for f in found if f == outlier) / len(found), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--vectors", type=Path, default=Path("/tmp/oai-cs-2016-vectors.npy"))
    parser.add_argument("--sizes", default="1000,7000")
    parser.add_argument("--max-themes", type=int, default=24, help="ours (shipped: 24)")
    parser.add_argument("--skip-bertopic", action="store_true")
    args = parser.parse_args()
    ids, texts, truth = load_corpus(args.corpus)
    vectors = load_vectors(args.vectors, texts)
    for n in [int(s) for s in args.sizes.split(",")]:
        line = {"papers": n, "categories": len(set(truth[:n]))}
        methods = (("ours", "other"),) + (() if args.skip_bertopic else (("bertopic", "-1"),))
        for name, outlier in methods:
            start = time.perf_counter()
            if name == "ours":
                found = ours(ids[:n], vectors[:n], texts[:n], max_themes=args.max_themes)
            else:
                found = bertopic(vectors[:n], texts[:n])
            line[name] = scores(found, truth[:n], outlier) | {
                "seconds": round(time.perf_counter() - start, 1)
            }
        print(json.dumps(line))


if __name__ == "__main__":
    main()
