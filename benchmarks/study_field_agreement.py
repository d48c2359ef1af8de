"""Does a theme's *learnt*-field agreement predict the readers' coherence? (issue 17; no)

    make demo                      # once: fills data/demo/pipeline.sqlite3 with the vectors
    HF_HUB_OFFLINE=1 python -m benchmarks.study_field_agreement

The share of a theme's papers in its commonest primary arXiv category predicted the readers'
coherence verdicts on the twelfth round's readings (AUC 0.71-0.91, `study_categories
--agreement`), but only arXiv papers carry categories: the demo's do not. This learns the field
from the packaged model's vectors as `study_fields` does (a logistic regression on the OAI 2016
records' categories, summed into its FIELDS), with out-of-fold predictions so no OAI paper is
scored by a model that saw it (the demo's papers by the model fitted on all), and scores each
theme readers judged (the demo weeks, OAI slices 41 and 61, the ML slice 71, the category
readings): `hard`, the share of its papers whose likeliest field is the theme's commonest;
`soft`, the largest mean field probability over its papers; `cat`, the true primary-category
agreement where categories exist. Prints the ROC AUC of each against "coherent" per reading
(themes this checkout no longer finds, by input, name and size, drop out). Recorded in
benchmarks/README.md, thirteenth round: 0.69-0.79 (soft) on the older readings, 0.55 on the
thirteenth's themes of every size; no gate was built on it.
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections import Counter
from typing import Any

import numpy as np

from benchmarks import bench_names, study_fields
from benchmarks import eval_topics as ev
from benchmarks import study_categories as sc
from benchmarks.study_coherence import auc, read_inputs, verdicts
from pipeline.config import load_settings

ROOT = study_fields.ROOT
READINGS = (
    "theme-categories-r12.jsonl",
    "theme-categories-r12-fresh.jsonl",
    "theme-categories-r12-third.jsonl",
    "theme-categories-r13.jsonl",
)
SEEDS = (431, 433, 457, 461, 463, 467, 479, 487, 503, 509, 521)


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold

    with gzip.open(ROOT / "benchmarks/data/oai-cs-2016-papers.jsonl.gz", "rt") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    papers, _ = ev.load_corpus()
    if [p.paper_id for p in papers] != [r["id"] for r in rows]:
        raise SystemExit("the corpus and its records are not in one order")
    vectors = ev.load_vectors(papers, study_fields.MODEL)
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    held = study_fields._held_ids()
    counts = Counter(r["categories"][0] for r in rows if r["id"] not in held)
    kept = {c for c, n in counts.items() if n >= study_fields.MIN_PAPERS}
    labels = np.array([
        "" if r["id"] in held else next((c for c in r["categories"] if c in kept), "")
        for r in rows
    ])  # fmt: skip
    use = labels != ""
    out_of_fold = np.zeros((len(rows), len(study_fields.FIELDS)))
    for train, test in KFold(5, shuffle=True, random_state=0).split(vectors):
        fit = train[use[train]]
        model = LogisticRegression(C=1.0, max_iter=3000).fit(vectors[fit], labels[fit])
        weights = study_fields.field_matrix(model.classes_)
        out_of_fold[test] = model.predict_proba(vectors[test]) @ weights.T
    full = LogisticRegression(C=1.0, max_iter=3000).fit(vectors[use], labels[use])
    full_weights = study_fields.field_matrix(full.classes_)
    probability = {r["id"]: out_of_fold[i] for i, r in enumerate(rows)}
    first = {r["id"]: r["categories"][0] for r in rows}

    def scores(ids: list[str]) -> tuple[float, float, float]:
        p = np.array([probability[pid] for pid in ids])
        hard = Counter(p.argmax(axis=1)).most_common(1)[0][1] / len(p)
        cat = float("nan")
        if all(pid in first for pid in ids):
            cat = Counter(first[pid] for pid in ids).most_common(1)[0][1] / len(ids)
        return hard, float(p.mean(axis=0).max()), cat

    judged: list[tuple[str, bool, int, tuple[float, float, float]]] = []
    vocabulary = bench_names.area_vocabulary()
    seed = load_settings(ROOT / "examples/demo.toml").themes.seed
    read = verdicts()
    for part, item, item_seed in read_inputs(ROOT / "data/demo/pipeline.sqlite3", seed):
        if not all(pid in probability for pid in item["ids"]):  # the demo's: no OAI record
            unit = np.asarray(item["vectors"], dtype=np.float64)
            unit /= np.linalg.norm(unit, axis=1, keepdims=True)
            rows_p = full.predict_proba(unit) @ full_weights.T
            for pid, row in zip(item["ids"], rows_p, strict=True):
                probability[pid] = row
        themes, _ = bench_names.item_themes(item, vocabulary, item_seed)
        for theme in themes:
            verdict = read.get((item["name"], theme.label, len(theme.paper_ids)))
            if verdict:
                judged.append((part, verdict == "coherent", len(theme.paper_ids),
                               scores(list(theme.paper_ids))))  # fmt: skip
    found = {
        (item["name"], theme.label, len(theme.paper_ids)): theme
        for item, themes, _ in sc.slice_items(list(SEEDS))
        for theme in themes
    }
    for name in READINGS:
        lines = (ev.HERE / "labels" / name).read_text(encoding="utf-8").splitlines()
        for r in map(json.loads, lines):
            if r.get("part", "group") != "group" or r["kind"] != "build":
                continue
            theme = found.get((r["slice"], r["heading"], r["n_papers"]))
            if theme is not None:
                judged.append((name.removeprefix("theme-categories-").removesuffix(".jsonl"),
                               r["coherence"] == "coherent", len(theme.paper_ids),
                               scores(list(theme.paper_ids))))  # fmt: skip
    print(f"{'reading':10s} {'n':>4s} {'coherent':>9s} {'hard':>6s} {'soft':>6s} {'cat':>6s} "
          f"{'size':>6s}  (ROC AUC against 'coherent')")  # fmt: skip
    for part in dict.fromkeys(j[0] for j in judged):
        _row(part, [j for j in judged if j[0] == part])


def _row(part: str, rows: list[tuple[str, bool, int, Any]]) -> None:
    def area(values: list[float]) -> float:
        pos = [v for (_, c, _, _), v in zip(rows, values, strict=True) if c and v == v]
        neg = [v for (_, c, _, _), v in zip(rows, values, strict=True) if not c and v == v]
        return auc(pos, neg) if pos and neg else float("nan")

    figures = [area([r[3][k] for r in rows]) for k in range(3)] + [area([r[2] for r in rows])]
    share = np.mean([r[1] for r in rows])
    print(f"{part:10s} {len(rows):4d} {share:9.0%} " + " ".join(f"{f:6.2f}" for f in figures))


if __name__ == "__main__":
    main()
