"""Would gathering "Other" by a learnt research field help? (issue 17; not adopted)

    make demo                      # once: fills data/demo/pipeline.sqlite3 with the vectors
    python -m benchmarks.study_fields [--check]

Two readers who grouped the demo weeks by hand put most of what this project leaves in "Other"
into field-sized themes ("Algorithms and complexity", "Human-computer interaction", "Wireless
communications"); the embedding's cosine to area names tells a paper's field for only half of
them (`study_oracle`). This learns the field from labels made independently of this project:
the arXiv categories of the bundled OAI-PMH records of 2016
(benchmarks/data/oai-cs-2016-papers.jsonl.gz; the authors chose them) but the 2,107 that
`make eval`'s labelled OAI files hold (EVAL_FILES), on the vectors of the packaged model
(all-MiniLM-L6-v2, unit length). A multinomial logistic regression (C = 1) over the categories
with at least MIN_PAPERS records (a paper's label is the first of its categories that is one of
them); the categories are summed into the FIELDS below (the catch-all categories cs.LG, cs.AI,
stat.ML, cs.NE, cs.OH form no field). Five-fold cross-validation on the records prints, per
threshold on a field's summed probability, the share of papers kept and how often the field
holds one of the paper's listed categories; the lowest threshold whose precision is at least
WANTED_PRECISION is used. Then, as a build would: each paper a demo week (and three 700-paper
slices of the 2,107 held-out records, seeds 201-203) leaves in "Other" is placed in its field
when sure enough; a field's papers join the theme named like it, or become a theme named by the
field when there are `min_theme_size` of them. Prints "Other" before and after and every theme
that changed. `--check` stops after the cross-validation table. Read blind in the eleventh
round (benchmarks/labels/theme-fields-r11.jsonl): the joins were right, the new field themes
mostly mixed, so the build does not do this.
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import eval_topics

ROOT = Path(__file__).resolve().parent.parent
MODEL = "all-MiniLM-L6-v2"
MIN_PAPERS = 30
#: Labelled files whose papers the model must not learn from.
EVAL_FILES = ("oai-2016-dev.jsonl", "oai-2016-heldout.jsonl", "oai-2016-classes.jsonl")
#: Field name (as a digest heading) → the arXiv categories it sums.
FIELDS = {
    "Algorithms and complexity": ("cs.DS", "cs.CC", "cs.DM", "cs.CG", "math.CO"),
    "Logic and formal methods": ("cs.LO", "cs.FL", "cs.PL"),
    "Information theory and communications": ("cs.IT", "cs.NI"),
    "Computer security": ("cs.CR",),
    "Distributed and parallel computing": ("cs.DC",),
    "Computer architecture and hardware": ("cs.AR", "cs.ET"),
    "Human-computer interaction": ("cs.HC",),
    "Computers and society": ("cs.CY",),
    "Game theory and multi-agent systems": ("cs.GT",),
    "Databases and information retrieval": ("cs.DB", "cs.IR", "cs.DL"),
    "Software engineering": ("cs.SE",),
    "Control and optimization": ("cs.SY", "math.OC"),
    "Robotics": ("cs.RO",),
    "Computer vision": ("cs.CV", "cs.MM"),
    "Natural language processing": ("cs.CL",),
    "Speech and audio": ("cs.SD",),
    "Quantum computing": ("quant-ph",),
    "Numerical and scientific computing": ("cs.NA", "math.NA", "cs.CE", "cs.SC"),
    "Social and information networks": ("cs.SI", "physics.soc-ph"),
}
THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
WANTED_PRECISION = 0.85


def training_data() -> tuple[np.ndarray, np.ndarray, list[set[str]]]:
    """Unit vectors, labels (a category) and every paper's listed categories."""
    path = ROOT / "benchmarks/data/oai-cs-2016-papers.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    papers, _ = eval_topics.load_corpus()
    vectors = eval_topics.load_vectors(papers, MODEL)
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    held = _held_ids()
    counts = Counter(r["categories"][0] for r in rows if r["id"] not in held)
    kept = {c for c, n in counts.items() if n >= MIN_PAPERS}
    labels = [
        "" if r["id"] in held else next((c for c in r["categories"] if c in kept), "") for r in rows
    ]
    use = np.array([bool(label) for label in labels])
    listed = [set(r["categories"]) for r, u in zip(rows, use, strict=True) if u]
    return vectors[use], np.array([label for label in labels if label]), listed


def field_matrix(classes: np.ndarray) -> np.ndarray:
    """(fields × classes) 0/1: which categories each field sums."""
    return np.array(
        [[float(c in cats) for c in classes] for cats in FIELDS.values()], dtype=np.float32
    )


def gather(
    themes: list[Any],
    other: list[str],
    ids: list[str],
    vectors: np.ndarray,
    classify: Any,
    names: list[str],
    threshold: float,
    min_size: int,
) -> tuple[dict[str, set[str]], list[str]]:
    """The themes (name → ids) and "Other" after the field step described above."""
    shown = {t.label: set(t.paper_ids) for t in themes}
    row = {pid: i for i, pid in enumerate(ids)}
    if not other:
        return shown, other
    by_field = classify(vectors[[row[p] for p in other]])
    placed: dict[str, list[str]] = {}
    for pid, probabilities in zip(other, by_field, strict=True):
        if probabilities.max() >= threshold:
            placed.setdefault(names[int(probabilities.argmax())], []).append(pid)
    after = {k: set(v) for k, v in shown.items()}
    moved: set[str] = set()
    lower = {k.casefold(): k for k in after}
    for field_name, pids in placed.items():
        if field_name.casefold() in lower:
            after[lower[field_name.casefold()]] |= set(pids)
            moved |= set(pids)
        elif len(pids) >= min_size:
            after[field_name] = set(pids)
            moved |= set(pids)
    return after, [p for p in other if p not in moved]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only the cross-validation table")
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    x, y, listed = training_data()
    model = LogisticRegression(C=1.0, max_iter=3000)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    probability = cross_val_predict(model, x, y, cv=folds, method="predict_proba")
    classes = np.array(sorted(set(y)))
    by_field = probability @ field_matrix(classes).T
    best = by_field.argmax(axis=1)
    sure = by_field.max(axis=1)
    names = list(FIELDS)
    right = np.array(
        [bool(set(FIELDS[names[b]]) & cats) for b, cats in zip(best, listed, strict=True)]
    )
    print(f"{len(y)} papers, {len(classes)} categories, {len(FIELDS)} fields")
    print("threshold  kept  precision (the field holds one of the paper's categories)")
    chosen = THRESHOLDS[-1]
    for t in reversed(THRESHOLDS):
        keep = sure >= t
        precision = float(right[keep].mean()) if keep.any() else 0.0
        if precision >= WANTED_PRECISION:
            chosen = t
    for t in THRESHOLDS:
        keep = sure >= t
        precision = float(right[keep].mean()) if keep.any() else 0.0
        print(f"{t:9.2f}  {keep.mean():4.0%}  {precision:.3f}")
    print(f"lowest threshold with precision >= {WANTED_PRECISION}: {chosen}")
    if args.check:
        return
    model.fit(x, y)
    weights = field_matrix(model.classes_)

    def classify(vectors: np.ndarray) -> np.ndarray:
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.asarray(model.predict_proba(unit) @ weights.T)

    from benchmarks import bench_names
    from pipeline.config import load_settings
    from pipeline.config.settings import ThemesSettings

    vocabulary = bench_names.area_vocabulary()
    inputs: list[tuple[dict[str, Any], int]] = []
    demo_seed = load_settings(ROOT / "examples/demo.toml").themes.seed
    inputs += [(item, demo_seed) for item in bench_names.demo_inputs(
        ROOT / "data/demo/pipeline.sqlite3")]  # fmt: skip
    papers, _ = eval_topics.load_corpus()
    corpus_vectors = eval_topics.load_vectors(papers, MODEL)
    held = _held_ids()
    pool = np.array([i for i, p in enumerate(papers) if p.paper_id in held])
    defaults = ThemesSettings()
    for seed in (201, 202, 203):
        rows = np.sort(np.random.default_rng(seed).choice(pool, 700, replace=False))
        inputs.append(({
            "name": f"held-out OAI slice (700, seed {seed})",
            "ids": [papers[i].paper_id for i in rows], "vectors": corpus_vectors[rows],
            "texts": [papers[i].text for i in rows], "titles": [papers[i].title for i in rows],
            "background": [], "background_vectors": np.zeros((0, corpus_vectors.shape[1])),
            "background_ids": [], "background_titles": [],
            "min_theme_size": defaults.min_theme_size, "max_themes": defaults.max_themes,
        }, 0))  # fmt: skip
    for item, seed in inputs:
        themes, other = bench_names.item_themes(item, vocabulary, seed)
        after, left = gather(themes, other, list(item["ids"]), np.asarray(item["vectors"]),
                             classify, names, chosen, item["min_theme_size"])  # fmt: skip
        n = len(item["ids"])
        print(f"{item['name']}: Other {len(other)} ({len(other) / n:.1%}) -> {len(left)} "
              f"({len(left) / n:.1%})")  # fmt: skip
        before = {t.label: set(t.paper_ids) for t in themes}
        title = dict(zip(item["ids"], item["titles"], strict=True))
        for label, members in after.items():
            if before.get(label) != members:
                added = members - before.get(label, set())
                kind = "joined" if label in before else "new"
                print(
                    f"   {kind:6s} {label} ({len(members)}): "
                    + "; ".join(title[p][:60] for p in sorted(added))
                )


def _held_ids() -> set[str]:
    held: set[str] = set()
    for name in EVAL_FILES:
        lines = (ROOT / "benchmarks/labels" / name).read_text(encoding="utf-8").splitlines()
        held |= {json.loads(line)["id"] for line in lines if line.strip()}
    return held


if __name__ == "__main__":
    main()
