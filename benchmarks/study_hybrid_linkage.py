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

The readings recorded there (nineteenth and twentieth rounds) were made at 8f0cd55 and before:
since the twentieth round a week of 500 papers or more is grouped on density-corrected
vectors (cluster._grouping_vectors), so the same command now groups such inputs differently.

The linkage below is a copy of cluster._linkage_groups with the one line of the similarity
changed: a study of a rule the build does not have, kept out of the package.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_mutual_info_score as ami
from sklearn.metrics import adjusted_rand_score as ari

from benchmarks import bench_names, eval_topics
from pipeline.models import Paper
from pipeline.topics import cluster

#: The TF-IDF cosine two papers of different subjects typically have (its median on the slices).
BASELINE = 0.02
_LEXICAL: dict[str, Any] = {"weight": 0.0}
#: Two builds' themes that overlap this much (Jaccard) are one theme to a reader: the A/B
#: reading shows only the themes the other build has no such match for.
SAME_THEME = 0.75


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


def fresh_inputs(seed: int = 211) -> list[dict[str, Any]]:
    """Inputs the weights were not chosen on (nineteenth round): 700 OAI papers that none of
    the seed-17, 97 and 131 slices holds, and 1,000 ICLR 2021 papers of part 1 (a dense
    machine-learning week of another year and source), both drawn with `seed`, no topics."""
    from benchmarks import bench_bertopic_venue as bv

    seen = {pid for k in (97, 131) for i in bench_names.oai_inputs(3, 700, k, unseen_after=[17],
                                                                   unseen_slices=3)
            for pid in i["ids"]}  # fmt: skip
    pool = bench_names.oai_inputs(1, 7000 - 2100, 17, unseen_after=[17], unseen_slices=3)[0]
    rows = [i for i, pid in enumerate(pool["ids"]) if pid not in seen]
    rng = np.random.default_rng(seed)
    oai = _subset(pool, np.sort(rng.choice(rows, 700, replace=False)), f"oai 700 (seed {seed})")
    papers, _ = bv.load_all(parts=(1,))
    iclr = venue_week(oai, papers, bv.week_vectors(papers), seed, "ICLR 2021 part 1")
    return [oai, iclr]


def venue_week(template: dict[str, Any], papers: Sequence[Paper], vectors: np.ndarray, seed: int,
               venue: str) -> dict[str, Any]:  # fmt: skip
    """1,000 of a venue's `papers` (and their `vectors`, row for row) drawn with `seed`, as an
    input shaped like `template` (no topics)."""
    chosen = np.sort(np.random.default_rng(seed).choice(len(papers), 1000, replace=False))
    return week_of(template, f"{venue}, 1,000 papers (seed {seed})", papers, vectors, chosen)


def week_of(template: dict[str, Any], name: str, papers: Sequence[Paper], vectors: np.ndarray,
            rows: Sequence[int]) -> dict[str, Any]:  # fmt: skip
    """The `papers` at `rows` (and their `vectors`, row for row with `papers`), in that order,
    as an input shaped like `template` and called `name`."""
    return dict(
        template,
        name=name,
        ids=[papers[i].paper_id for i in rows],
        vectors=np.asarray(vectors, dtype=np.float32)[np.asarray(rows, dtype=int)],
        texts=[papers[i].text for i in rows],
        titles=[papers[i].title for i in rows],
    )


def fresh_inputs_r20(seed: int = 223) -> list[dict[str, Any]]:
    """Inputs for the twentieth round's reading, which neither the weight's choice nor the
    nineteenth round's reading saw: 700 OAI papers that no seed-17, 97 or 131 slice and not the
    nineteenth round's 700 (seed 211) hold, and 1,000 NeurIPS 2023 papers (another venue and
    year than any theme reading so far; issue 16's held-out set, never used for themes), both
    drawn with `seed`, no topics."""
    from benchmarks import eval_venue as ev

    read = set(fresh_inputs(211)[0]["ids"])
    seen = {pid for k in (97, 131) for i in bench_names.oai_inputs(3, 700, k, unseen_after=[17],
                                                                   unseen_slices=3)
            for pid in i["ids"]} | read  # fmt: skip
    pool = bench_names.oai_inputs(1, 7000 - 2100, 17, unseen_after=[17], unseen_slices=3)[0]
    rows = [i for i, pid in enumerate(pool["ids"]) if pid not in seen]
    rng = np.random.default_rng(seed)
    oai = _subset(pool, np.sort(rng.choice(rows, 700, replace=False)), f"oai 700 (seed {seed})")
    papers, _ = ev.load(1, "neurips2023")
    vectors = eval_topics.load_vectors(
        papers, "all-MiniLM-L6-v2", corpus=ev.corpus_name(1, "neurips2023")
    )
    return [oai, venue_week(oai, papers, vectors, seed, "NeurIPS 2023")]


def _subset(item: dict[str, Any], rows: np.ndarray, name: str) -> dict[str, Any]:
    keys = ("ids", "texts", "titles")
    return dict(item, name=name, vectors=item["vectors"][rows],
                **{k: [item[k][int(i)] for i in rows] for k in keys})  # fmt: skip


def ab_reading(inputs: list[dict[str, Any]], weight: float, areas: Any, seed: int = 19
               ) -> tuple[str, list[dict[str, Any]]]:  # fmt: skip
    """The themes of the build (w = 0) and of `weight` that the other does not have (a theme
    of SAME_THEME overlap, under any name, counts as had), mixed in a shuffled order per
    input, for a blind reader: the reading's text and its key (item → input, build, name, size)."""
    lines = ["# Discovered themes of several weeks of papers", ""]
    key: list[dict[str, Any]] = []
    rng = np.random.default_rng(seed)
    for item in inputs:
        found = {}
        for w in (0.0, weight):
            _LEXICAL["weight"] = w
            _fit_words(item)
            themes, other = bench_names.item_themes(item, areas, 0)
            found[w] = ([(t.label, tuple(t.paper_ids)) for t in themes], len(other))
        items = unmatched({w: found[w][0] for w in found})
        sets = {w: [set(ids) for _, ids in found[w][0]] for w in found}
        shared = sum(_closest(s, sets[weight]) >= SAME_THEME for s in sets[0.0])
        lines += [f"# {item['name']}", ""]
        about = {w: {"other": found[w][1] / len(item["ids"]), "themes": len(found[w][0]),
                     "shared_themes": shared} for w in found}  # fmt: skip
        shuffled_items(lines, key, rng, item, items, "weight", about)
    return "\n".join(lines) + "\n", key


def unmatched(sides: dict[Any, list[tuple[str, Sequence[str]]]]
              ) -> list[tuple[Any, str, Sequence[str]]]:  # fmt: skip
    """Of two sides' themes (side → [(name, ids)]), each (side, name, ids) that no theme of the
    other side matches: a theme of SAME_THEME overlap, under any name, counts as had."""
    (a, a_themes), (b, b_themes) = sides.items()
    sets = {a: [set(ids) for _, ids in a_themes], b: [set(ids) for _, ids in b_themes]}
    other = {a: b, b: a}
    return [
        (side, name, ids)
        for side, themes in sides.items()
        for name, ids in themes
        if _closest(set(ids), sets[other[side]]) < SAME_THEME
    ]


def shuffled_items(lines: list[str], key: list[dict[str, Any]], rng: np.random.Generator,
                   item: dict[str, Any], items: Sequence[tuple[Any, str, Sequence[str]]],
                   side_key: str, about: Mapping[Any, dict[str, Any]]) -> None:  # fmt: skip
    """Append `items` ((side, name, ids) of one input) in a shuffled order to a blind reading
    (`lines`: each item numbered, with its titles) and its key (item → input, side under
    `side_key`, name, size, and what `about` says of that side)."""
    titles = dict(zip(item["ids"], item["titles"], strict=True))
    for k in rng.permutation(len(items)):
        side, name, ids = items[int(k)]
        key.append({"item": len(key) + 1, "input": item["name"], side_key: side,
                    "name_shown": name, "n_papers": len(ids), **about[side]})  # fmt: skip
        lines.append(f"## Item {len(key)}: {name}  ({len(ids)} papers)")
        lines += [f"- {titles[p]}" for p in ids]
        lines.append("")


def _closest(members: set[str], others: list[set[str]]) -> float:
    """The best Jaccard overlap of `members` with one of `others`."""
    return max((len(members & o) / len(members | o) for o in others), default=0.0)


def _fit_words(item: dict[str, Any]) -> None:
    texts = list(item["texts"]) + list(item["background"])
    all_ids = list(item["ids"]) + list(item["background_ids"])
    vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=2)
    _LEXICAL["matrix"] = vectorizer.fit_transform(texts)
    _LEXICAL["row"] = {pid: i for i, pid in enumerate(all_ids)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.3, 0.6, 1.0])
    parser.add_argument("--ab-reading", type=Path, help="write an A/B reading of fresh inputs")
    parser.add_argument("--ab-key", type=Path, help="...and its key (JSONL) here")
    parser.add_argument("--ab-weight", type=float, default=0.6)
    parser.add_argument("--ab-round", type=int, choices=(19, 20), default=19,
                        help="19: the demo weeks and the nineteenth round's inputs; 20: the "
                             "twentieth round's (fresh_inputs_r20)")  # fmt: skip
    args = parser.parse_args()
    if args.ab_reading:
        if args.ab_round == 20:
            inputs = fresh_inputs_r20()
        else:
            fresh = bench_names.demo_inputs(bench_names.ROOT / "data/demo/pipeline.sqlite3")
            inputs = [fresh[0], fresh[2], *fresh_inputs()]  # W23 and W25 (seen), then unseen
        original = cluster._linkage_groups
        cluster._linkage_groups = hybrid_linkage  # type: ignore[assignment]
        try:
            text, key = ab_reading(inputs, args.ab_weight, bench_names.area_vocabulary())
        finally:
            cluster._linkage_groups = original
        args.ab_reading.write_text(text, encoding="utf-8")
        if args.ab_key:
            args.ab_key.write_text("".join(json.dumps(k) + "\n" for k in key), encoding="utf-8")
        return
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
    _fit_words(item)
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
