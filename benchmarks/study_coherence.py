"""Can a measured cohesion tell the themes readers call coherent from the rest? (issue 17)

    make demo                      # once: fills data/demo/pipeline.sqlite3 with the vectors
    python -m benchmarks.study_coherence [--store data/demo/pipeline.sqlite3]

Issue 17 asks that a theme be shown only when its papers hang together, by a cohesion
calibrated against readers' judgements. This clusters the demo weeks (as `digest build` does)
and two held-out OAI slices (seed 41 as `bench_names --no-demo --oai-slices 1 --slice-seed 41
--unseen-after 17 29` does, seed 61 with `--unseen-after 17 29 41 53`) with this checkout,
pairs each theme with a blind reader's verdict on it (READINGS: same input, same name, same
size, so themes this checkout changed drop out; a theme read twice takes the later verdict),
and prints for each measure the ROC AUC of "coherent" against "mixed or grab-bag" on each set
(0.5: no better than chance).

Measures, per theme: its size; `cohesion` (mean cosine between its papers); the cosine to the
centroid under which its weakest quarter lies; the best share of its papers that have one area
of the `areas` vocabulary among their 25 best, or one field among their 3 best; the share of
its papers the linkage did not put in its group (joined later as the nearest theme); the share
of its linkage group the topics took; the share of its papers its name's phrases describe, and
of its titles with a word of its name; how many linkage groups it was made from. Added in the
ninth round: `contrast` (cohesion less the mean cosine of its papers to the whole week, the
topics' papers included: a week of one field is alike everywhere), `neighbours` (the share of
its papers' NEIGHBOURS nearest papers of the week that are in it) and `separation` (the mean,
over its papers, of the cosine to its centroid less that to the nearest other theme's).
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import bench_names
from pipeline.config import load_settings
from pipeline.topics import areas as areas_mod
from pipeline.topics import cluster, labels
from pipeline.topics.areas import Areas
from pipeline.topics.phrases import word_root

ROOT = Path(__file__).resolve().parent.parent
#: Per set: the readings paired with this checkout's themes (same input, name and size).
READINGS = {
    "demo": (
        ROOT / "benchmarks/labels/theme-demo-r7-final.jsonl",
        ROOT / "benchmarks/labels/theme-demo-r8.jsonl",
    ),
    "oai41": (ROOT / "benchmarks/labels/theme-oai41-r7.jsonl",),
    "oai61": (ROOT / "benchmarks/labels/theme-oai61-r8.jsonl",),
    "ml71": (ROOT / "benchmarks/labels/theme-ml71-r9.jsonl",),
}
MEASURES = (
    "size", "cohesion", "weak_quarter", "best_area", "best_field", "joined", "taken",
    "name_fit", "title_fit", "groups", "contrast", "neighbours", "separation", "name_lift",
    "title_lift",
)  # fmt: skip
#: The dense machine-learning week of the ninth round's reading (`bench_names --categories`).
ML_CATEGORIES = ("cs.LG", "stat.ML", "cs.CL", "cs.CV", "cs.AI", "cs.NE", "cs.IR")
#: Nearest papers of the week per member that `neighbours` looks at (fewer in smaller themes).
NEIGHBOURS = 5


def measures(item: dict[str, Any], vocabulary: Areas, seed: int) -> list[dict[str, Any]]:
    """Each theme of one input with its measures (see the module docstring)."""
    ids, texts, titles = item["ids"], item["texts"], item["titles"]
    vectors = np.asarray(item["vectors"], dtype=np.float32)
    context = None
    if item["background_ids"]:
        context = (list(item["background_ids"]), np.asarray(item["background_vectors"]))
    themes, _ = bench_names.item_themes(item, vocabulary, seed)
    order = sorted(range(len(ids)), key=lambda i: ids[i])
    sorted_ids = [ids[i] for i in order]
    x = vectors[order]
    groups, whole, _ = cluster._linkage_groups(x, sorted_ids, seed=seed, context=context)
    linked: dict[str, tuple[int, int, int]] = {}  # paper → (group, shown size, whole size)
    for k, (group, full) in enumerate(zip(groups, whole, strict=True)):
        if len(group) >= item["min_theme_size"] and cluster.cohesion(x[group]) >= (
            cluster.MIN_COHESION
        ):
            for i in group:
                linked[sorted_ids[int(i)]] = (k, len(group), len(full))
    week = vectors if context is None else np.vstack([vectors, context[1]])
    unit = areas_mod._unit(week)
    scores = unit @ areas_mod._unit(vocabulary.vectors).T
    best = np.argsort(-(scores - scores.mean(axis=0)), axis=1)
    fields = [vocabulary.fields.get(name) for name in vocabulary.names]
    row = {pid: i for i, pid in enumerate(ids)}
    similar = unit[: len(ids)] @ unit.T  # the theme papers against the whole week
    np.fill_diagonal(similar, -np.inf)
    centres = {
        t.theme_id: areas_mod._unit(
            unit[[row[p] for p in t.paper_ids]].mean(axis=0, keepdims=True)
        )[0]
        for t in themes
    }
    words = [{word_root(w) for w in re.findall(r"[a-z0-9]+", t.lower())} for t in texts]
    title_words = [{word_root(w) for w in re.findall(r"[a-z0-9]+", t.lower())} for t in titles]
    found = []
    for theme in themes:
        rows = [row[pid] for pid in theme.paper_ids]
        n = len(rows)
        k = max(1, min(n - 1, NEIGHBOURS))
        nearest = np.argsort(-similar[rows], axis=1, kind="stable")[:, :k]
        others = [c for tid, c in centres.items() if tid != theme.theme_id]
        own = unit[rows] @ centres[theme.theme_id]
        rival = (unit[rows] @ np.stack(others).T).max(axis=1) if others else np.zeros(n)
        near = Counter(a for r in rows for a in set(best[r, :25].tolist()))
        by_field = Counter(f for r in rows for f in {fields[a] for a in best[r, :3]} if f)
        members = unit[rows]
        centre = areas_mod._unit(members.mean(axis=0, keepdims=True))[0]
        name_words = {word_root(w) for w in re.findall(r"[a-z0-9]+", theme.label.lower())}
        name_words -= {word_root(w) for w in areas_mod._STOP}
        title_fit = np.mean(
            [
                bool(name_words & {word_root(w) for w in re.findall(r"[a-z0-9]+", t)})
                for t in (titles[r].lower() for r in rows)
            ]
        )
        link = [linked[pid] for pid in theme.paper_ids if pid in linked]
        has_name = [bool(name_words & set(words[r])) for r in range(len(ids))]
        in_title = [bool(name_words & set(title_words[r])) for r in range(len(ids))]
        found.append(
            {
                "input": item["name"],
                "name": theme.label,
                "size": n,
                "cohesion": cluster.cohesion(members),
                "weak_quarter": float(np.sort(members @ centre)[max(0, n // 4 - 1)]),
                "best_area": near.most_common(1)[0][1] / n,
                "best_field": by_field.most_common(1)[0][1] / n if by_field else 0.0,
                "joined": 1 - len(link) / n,
                "taken": max((1 - shown / full for _, shown, full in link), default=0.0),
                "name_fit": labels.describes([theme.label], [texts[r] for r in rows]),
                "title_fit": float(title_fit),
                "groups": len({g for g, _, _ in link}),
                # how much closer its papers are to each other than to the week's papers
                "contrast": cluster.cohesion(members) - float((members @ unit.T).mean()),
                "neighbours": float(np.isin(nearest, rows).mean()),
                "separation": float(np.mean(own - rival)),
                # how much more often its papers carry a word of its name than the week's do
                "name_lift": float(np.mean([has_name[r] for r in rows]))
                / max(float(np.mean(has_name)), 1e-3),
                "title_lift": float(np.mean([in_title[r] for r in rows]))
                / max(float(np.mean(in_title)), 1e-3),
            }
        )
    return found


def read_inputs(
    store: Path, demo_seed: int, *, june: bool = False
) -> Iterator[tuple[str, dict[str, Any], int]]:
    """(set, input, seed) of every input readers judged: the demo weeks (with `june`, also
    their papers as one week with and without topics), OAI slices 41 and 61 and the ML
    slice 71, as bench_names drew them for those readings."""
    for item in bench_names.demo_inputs(store):
        yield "demo", item, demo_seed
    for kind in ("topics", "none") if june else ():
        for item in bench_names.demo_inputs(store, june=kind):
            yield f"june-{kind}", item, demo_seed
    slices = {"oai41": (41, (17, 29)), "oai61": (61, (17, 29, 41, 53))}
    for part, (slice_seed, earlier) in slices.items():
        for item in bench_names.oai_inputs(
            1, bench_names.SLICE_SIZE, slice_seed, unseen_after=earlier
        ):
            yield part, item, 0
    for item in bench_names.oai_inputs(
        1, 1000, 71, unseen_after=(17,), categories=ML_CATEGORIES, unseen_slices=3
    ):
        yield "ml71", item, 0


def verdicts() -> dict[tuple[str, str, int], str]:
    """(input, name, size) → the reader's coherence verdict (the later reading of a theme
    read twice)."""
    found = {}
    for paths in READINGS.values():
        for line in (ln for p in paths for ln in p.read_text(encoding="utf-8").splitlines()):
            r = json.loads(line)
            where = r.get("input") or f"demo {r['week']}"
            found[(where, r["name_shown"], int(r["n_papers"]))] = r["coherence"]
    return found


def auc(positive: Sequence[float], negative: Sequence[float]) -> float:
    """P(a positive scores above a negative), ties counting half (the ROC AUC)."""
    wins = sum((p > q) + 0.5 * (p == q) for p in positive for q in negative)
    return wins / (len(positive) * len(negative))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=ROOT / "data/demo/pipeline.sqlite3")
    args = parser.parse_args(argv)
    vocabulary = bench_names.area_vocabulary()
    seed = load_settings(ROOT / "examples/demo.toml").themes.seed
    rows = []
    for part, item, item_seed in read_inputs(args.store, seed):
        rows += [dict(r, part=part) for r in measures(item, vocabulary, item_seed)]
    judged = verdicts()
    print(f"{'measure':14s}" + "".join(f"{part:>18s}" for part in READINGS))
    sets = {}
    for part in READINGS:
        sets[part] = [
            (r, judged[(r["input"], r["name"], r["size"])])
            for r in rows
            if r.get("part", "demo") == part and (r["input"], r["name"], r["size"]) in judged
        ]
    counts = {
        part: f"{sum(v == 'coherent' for _, v in p)}/{len(p)} coherent" for part, p in sets.items()
    }
    print(f"{'(themes)':14s}" + "".join(f"{counts[part]:>18s}" for part in READINGS))
    for measure in MEASURES:
        line = f"{measure:14s}"
        for part in READINGS:
            good = [r[measure] for r, v in sets[part] if v == "coherent"]
            bad = [r[measure] for r, v in sets[part] if v != "coherent"]
            line += f"{auc(good, bad):>18.2f}"
        print(line)
    print("\ngrab-bag against the rest (AUC of not being a grab-bag)")
    for measure in MEASURES:
        line = f"{measure:14s}"
        for part in READINGS:
            good = [r[measure] for r, v in sets[part] if v != "grab-bag"]
            bad = [r[measure] for r, v in sets[part] if v == "grab-bag"]
            line += f"{auc(good, bad):>18.2f}" if good and bad else f"{'-':>18s}"
        print(line)


if __name__ == "__main__":
    main()
