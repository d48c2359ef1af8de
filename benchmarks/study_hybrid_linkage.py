"""Would the words papers share, added to their vectors' cosine, group them better? (issue 17)

    make demo                      # once: fills data/demo/pipeline.sqlite3 with the vectors
    HF_HUB_OFFLINE=1 python -m benchmarks.study_hybrid_linkage [--weights 0 0.3 0.6 1.0]

The linkage (cluster._linkage_groups) merges papers by the cosine of their MiniLM vectors only.
Two papers of one subject usually also share its specific words ("CXL", "secrecy", "orthoglide"),
which the vectors may weigh less than the method vocabulary every abstract shares. This runs
`cluster.find_themes` as a build does on the demo weeks and five OAI 2016 slices (bench_names'
inputs: seed 97, two slices, the ones read blind in the eighteenth round, and seed 131, three)
with the linkage's similarity replaced by cosine + w × (TF-IDF cosine − 0.02) (TF-IDF of the
input's abstracts, English stop words out, words in two papers or more); w = 0 is the build.
Everything after the linkage (gates, joins, names) is the build's. It prints per input the
themes, the share in "Other" and how far the grouping agrees with people: on the demo weeks,
AMI / ARI with each of the two readers who grouped W23 and W25 by hand
(`labels/theme-oracle-demo-r11-{1,2}.jsonl`); on the OAI slices, AMI with the papers' primary
arXiv category and the mean share of a theme's papers in its commonest category.
Recorded in benchmarks/README.md, eighteenth round (not adopted).

The linkage below is a copy of cluster._linkage_groups with the one line of the similarity
changed: a study of a rule the build does not have, kept out of the package.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
from collections import Counter
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_mutual_info_score as ami
from sklearn.metrics import adjusted_rand_score as ari

from benchmarks import bench_names, eval_topics
from pipeline.topics import cluster

#: The TF-IDF cosine two papers of different subjects typically have (its median on the slices).
BASELINE = 0.02
_LEXICAL: dict[str, Any] = {"weight": 0.0}


def hybrid_linkage(
    x: np.ndarray,
    ids: list[str],
    *,
    seed: int,
    context: tuple[list[str], np.ndarray] | None = None,
    similarity: float = cluster.MIN_LINK_SIMILARITY,
    sample: int | None = None,
    split: bool = True,
) -> tuple[list[np.ndarray], list[np.ndarray], list[int]]:
    """cluster._linkage_groups with the TF-IDF cosine added (`_LEXICAL`)."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    n = len(ids)
    if context is not None:
        all_ids = list(ids) + context[0]
        order = np.asarray(sorted(range(len(all_ids)), key=lambda i: all_ids[i]), dtype=int)
        x = np.vstack([x, context[1]])[order]
        ids = [all_ids[i] for i in order]
    else:
        order = np.arange(n)
    rows = np.arange(len(ids))
    most = cluster.LINKAGE_SAMPLE if sample is None else sample
    if len(ids) > most:
        keys = [hashlib.sha1(f"{seed}:{pid}".encode()).hexdigest() for pid in ids]
        rows = np.sort(np.argsort(keys, kind="stable")[:most])
    unit = x[rows].astype(np.float64)
    unit /= np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
    words = _LEXICAL["matrix"][[_LEXICAL["row"][ids[r]] for r in rows]]
    lexical = (words @ words.T).toarray() - BASELINE
    distance = np.clip(1.0 - (unit @ unit.T + _LEXICAL["weight"] * lexical), 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="average")
    cut = fcluster(tree, t=1.0 - similarity, criterion="distance")
    if split:
        cut = cluster._split_large(tree, cut, similarity, unit)
    own = order[rows]
    pairs = [(np.sort(own[(cut == k) & (own < n)]), np.sort(own[cut == k])) for k in np.unique(cut)]
    pairs = sorted((p for p in pairs if len(p[0])), key=lambda p: int(p[0][0]))
    left_out = sorted(set(range(n)) - set(own.tolist()))
    return [p[0] for p in pairs], [p[1] for p in pairs], left_out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.3, 0.6, 1.0])
    args = parser.parse_args()
    inputs = bench_names.demo_inputs(bench_names.ROOT / "data/demo/pipeline.sqlite3")
    inputs += bench_names.oai_inputs(2, 700, 97, unseen_after=[17], unseen_slices=3)
    inputs += bench_names.oai_inputs(3, 700, 131, unseen_after=[17], unseen_slices=3)
    with gzip.open(eval_topics.CORPUS, "rt", encoding="utf-8") as f:
        primary = {r["id"]: r["categories"][0] for r in map(json.loads, f)}
    readers: dict[int, dict[str, str]] = {}
    for r in (1, 2):
        path = bench_names.ROOT / f"benchmarks/labels/theme-oracle-demo-r11-{r}.jsonl"
        for line in path.open(encoding="utf-8"):
            row = json.loads(line)
            readers.setdefault(r, {})[row["paper_id"]] = row["theme"]
    areas = bench_names.area_vocabulary()
    original = cluster._linkage_groups
    cluster._linkage_groups = hybrid_linkage  # type: ignore[assignment]
    try:
        for weight in args.weights:
            _LEXICAL["weight"] = weight
            print(f"\nw = {weight}")
            for item in inputs:
                print(f"  {item['name'][:28]:28s} " + _scores(item, areas, readers, primary))
    finally:
        cluster._linkage_groups = original


def _scores(
    item: dict[str, Any], areas: Any, readers: dict[int, dict[str, str]], primary: dict[str, str]
) -> str:
    texts = list(item["texts"]) + list(item["background"])
    all_ids = list(item["ids"]) + list(item["background_ids"])
    vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=2)
    _LEXICAL["matrix"] = vectorizer.fit_transform(texts)
    _LEXICAL["row"] = {pid: i for i, pid in enumerate(all_ids)}
    themes, other = bench_names.item_themes(item, areas, 0)
    group = {pid: t.theme_id for t in themes for pid in t.paper_ids} | dict.fromkeys(other, "")
    ids = item["ids"]
    parts = [f"themes {len(themes):3d}", f"Other {len(other) / len(ids):.1%}"]
    if item["name"].startswith("demo"):
        for r, theirs in readers.items():
            common = [p for p in ids if p in theirs]
            if common:
                a, b = [theirs[p] for p in common], [group[p] for p in common]
                parts.append(f"reader {r} AMI {ami(a, b):.3f} ARI {ari(a, b):.3f}")
    else:
        agree = [
            Counter(primary[p] for p in t.paper_ids).most_common(1)[0][1] / len(t.paper_ids)
            for t in themes
        ]
        category = ami([primary[p] for p in ids], [group[p] for p in ids])
        parts.append(f"category AMI {category:.3f}, agreement {np.mean(agree):.3f}")
    return "  ".join(parts)


if __name__ == "__main__":
    main()
