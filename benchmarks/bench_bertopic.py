"""Our discovered themes against BERTopic on the same vectors, at the finest labels we have
(issue 17): the primary arXiv category of the 7,000 records of the 2016 OAI corpus, their
natural mix (~70 categories, most small).

    pip install -e '.[bench]'          # BERTopic, benchmark only: never a pipeline dependency
    python -m benchmarks.bench_bertopic [--vectors /tmp/oai-vectors.npy] [--sizes 1000,7000]
    python -m benchmarks.bench_bertopic --gold acm|msc [--vectors …]   # fine: authors' classes
    python -m benchmarks.bench_bertopic --gold acm --skip-bertopic --areas  # ours, as a build

Vectors are the real model's (all-MiniLM-L6-v2) for `title. abstract`, cached in the .npy given
(embedded on the first run: ~5 min per 1,000 papers on a busy 2-core machine). Our partition is
`cluster.find_themes` with the shipped [themes] defaults (every paper goes to clustering: no
topics); BERTopic runs with its defaults (UMAP 5-d, HDBSCAN min_cluster_size 10) and a fixed
UMAP seed, on precomputed embeddings. Both leave papers unthemed ("Other" / outliers -1): NMI
and ARI count those as one more cluster, as `digest eval` does; the share is printed beside.
Subsets are the first n records in id order.

`--gold acm|msc`: finer, independent labels, the ACM or MSC classes the authors gave their
paper (labels/oai-2016-classes.jsonl, from make_acm_labels.py; 578 and 387 papers). Both methods
still cluster every paper of the subset (default: all 7,000, a week of mixed papers); scores are
computed on the papers with such a class only, gold = their first listed class, at two levels:
ACM as given ("I.2.7") and its first two parts ("I.2"); MSC's 5-character code ("68T05"; papers
whose first code is shorter are left out at this level) and its 2-digit top ("68"). Beside NMI
and ARI: AMI (NMI corrected for chance) and `nmi_shuffled`, the NMI of the same groups with the
papers shuffled among them, the chance level that NMI's bias towards many groups gives. Unthemed
papers count as one cluster; their share in the labelled subset is printed, as are each level's
labelled papers, gold classes and the groups these papers fall in.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from pipeline.topics import cluster
from pipeline.topics.areas import Areas, area_fields, area_names, broad_areas

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "benchmarks/data/oai-cs-2016-papers.jsonl.gz"
CLASSES = ROOT / "benchmarks/labels/oai-2016-classes.jsonl"


def load_corpus(path: Path) -> tuple[list[str], list[str], list[str], list[str]]:
    """Ids, `title. abstract` texts, primary categories and titles of the corpus records."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    texts = [f"{r['title']}. {r['abstract']}".strip() for r in rows]
    titles = [r["title"] for r in rows]
    return [r["id"] for r in rows], texts, [r["categories"][0] for r in rows], titles


def acm_levels(classes: list[str]) -> dict[str, str]:
    """The first ACM class as given ("I.2.7") and its first two parts ("I.2")."""
    first = classes[0]
    return {"acm": first, "acm-2": ".".join(first.split(".")[:2])}


def msc_levels(codes: list[str]) -> dict[str, str]:
    """The first MSC code when it is a full 5-character one ("68T05"), and its top ("68")."""
    first = codes[0]
    return ({"msc": first} if len(first) == 5 else {}) | {"msc-2": first[:2]}


def load_classes(path: Path, gold: str) -> dict[str, dict[str, str]]:
    """Level → {paper id: its first class at that level}, for the papers with a `gold` class."""
    levels: dict[str, dict[str, str]] = {}
    with path.open(encoding="utf-8") as f:
        for row in (json.loads(line) for line in f if line.strip()):
            if row[gold]:
                found = acm_levels(row[gold]) if gold == "acm" else msc_levels(row[gold])
                for level, label in found.items():
                    levels.setdefault(level, {})[row["id"]] = label
    return levels


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


@contextmanager
def unsplit() -> Iterator[None]:
    """Themes with no group cut for size (`cluster.MAX_GROUP_PAPERS` off), as before the
    seventeenth round; the shipped limit is back on leaving."""
    shipped = cluster.MAX_GROUP_PAPERS
    cluster.MAX_GROUP_PAPERS = 1 << 62
    try:
        yield
    finally:
        cluster.MAX_GROUP_PAPERS = shipped


def ours(
    ids: list[str],
    vectors: np.ndarray,
    texts: list[str],
    *,
    max_themes: int,
    areas: Areas | None = None,
    titles: list[str] | None = None,
) -> list[str]:
    """Each paper's theme id, "other" for Other (`areas`, `titles`: named, and fields merged,
    as a build does with the shipped vocabulary)."""
    themes, other = cluster.find_themes(
        ids, vectors, texts, seed=0, min_theme_size=3, max_themes=max_themes, areas=areas,
        titles=titles,
    )  # fmt: skip
    where = cluster.theme_of_papers(themes, other)
    return [where[pid] for pid in ids]


def shipped_areas() -> Areas:
    """The shipped research-area vocabulary, embedded by the real model, as a build names."""
    from pipeline.embed import SentenceTransformerEmbedder

    names = area_names("builtin")
    embedded = SentenceTransformerEmbedder(device="cpu").embed(list(names))
    return Areas(names, embedded, area_fields("builtin"), broad_areas("builtin"))


def require_bertopic() -> None:
    """Exit with the install line, before any work, when BERTopic is not installed."""
    if importlib.util.find_spec("bertopic") is None:
        sys.exit(
            "BERTopic is not installed: pip install -e '.[bench]', or run with --skip-bertopic"
        )


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


def fine_scores(
    ids: list[str], found: list[str], levels: dict[str, dict[str, str]], outlier: str
) -> dict[str, object]:
    """Scores on the labelled papers only, per level; groups and unthemed share over all too."""
    from sklearn.metrics import adjusted_mutual_info_score, normalized_mutual_info_score

    out: dict[str, object] = {
        "groups_all": len(set(found) - {outlier}),
        "unthemed_all": round(sum(1 for f in found if f == outlier) / len(found), 3),
    }
    for level, gold in levels.items():
        where = [i for i, pid in enumerate(ids) if pid in gold]
        sub = [found[i] for i in where]
        truth = [gold[ids[i]] for i in where]
        ami = round(float(adjusted_mutual_info_score(truth, sub)), 3)
        # NMI at chance: the same group sizes, papers shuffled among them (20 draws, seed 0).
        rng = np.random.default_rng(0)
        chance = np.mean(
            [normalized_mutual_info_score(truth, rng.permutation(sub)) for _ in range(20)]
        )
        out[level] = scores(sub, truth, outlier) | {
            "ami": ami,
            "nmi_shuffled": round(float(chance), 3),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--vectors", type=Path, default=Path("/tmp/oai-cs-2016-vectors.npy"))
    parser.add_argument("--sizes", help="default 1000,7000 (category), 7000 (acm, msc)")
    parser.add_argument(
        "--gold",
        choices=("category", "acm", "msc"),
        default="category",
        help="primary arXiv category (default), or the authors' first ACM / MSC class",
    )
    parser.add_argument("--max-themes", type=int, default=24, help="ours (shipped: 24)")
    parser.add_argument("--skip-bertopic", action="store_true")
    parser.add_argument(
        "--areas",
        action="store_true",
        help="ours with the shipped area vocabulary, as a build names (and merges) themes",
    )
    args = parser.parse_args()
    if not args.skip_bertopic:
        require_bertopic()
    ids, texts, truth, titles = load_corpus(args.corpus)
    vectors = load_vectors(args.vectors, texts)
    vocabulary = shipped_areas() if args.areas else None
    sizes = args.sizes or ("1000,7000" if args.gold == "category" else "7000")
    fine = {} if args.gold == "category" else load_classes(CLASSES, args.gold)
    for n in [int(s) for s in sizes.split(",")]:
        if fine:
            first = set(ids[:n])
            levels = {k: {p: c for p, c in v.items() if p in first} for k, v in fine.items()}
            line: dict[str, object] = {"papers": n, "gold": args.gold} | {
                level: {"labelled": len(gold), "classes": len(set(gold.values()))}
                for level, gold in levels.items()
            }
        else:
            line = {"papers": n, "categories": len(set(truth[:n]))}
        methods = (("ours", "other"),) + (() if args.skip_bertopic else (("bertopic", "-1"),))
        for name, outlier in methods:
            start = time.perf_counter()
            if name == "ours":
                found = ours(
                    ids[:n], vectors[:n], texts[:n], max_themes=args.max_themes,
                    areas=vocabulary, titles=titles[:n] if args.areas else None,
                )  # fmt: skip
            else:
                found = bertopic(vectors[:n], texts[:n])
            seconds = {"seconds": round(time.perf_counter() - start, 1)}
            if fine:
                line[name] = fine_scores(ids[:n], found, levels, outlier) | seconds
            else:
                line[name] = scores(found, truth[:n], outlier) | seconds
        print(json.dumps(line))


if __name__ == "__main__":
    main()
