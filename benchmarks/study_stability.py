"""Does a theme that readers call mixed or a grab-bag fall apart when the week is resampled?

    make demo                      # once: fills data/demo/pipeline.sqlite3 with the vectors
    python -m benchmarks.study_stability [--draws 20] [--keep 0.8]

Rounds 8, 9 and 14 scored a dozen measures of a theme's vectors and words against blind
readers' verdicts (`study_coherence`); none told coherent themes from the rest on held-out
inputs. All of them look at the theme once. This one asks how the linkage behaves when the week
changes a little, the cluster-validity test of Hennig's `clusterboot`: the linkage
(`cluster._linkage_groups`, as find_themes runs it) is repeated on `--draws` random subsets of
`--keep` of the input's papers (the background papers stay, as in a build), and each theme
scores the mean, over draws, of the best Jaccard overlap between its papers in the draw and a
group of that draw's linkage (`stability`); `core_stability` does the same for the theme's own
linkage group of the full input (the group holding most of its papers), which leaves out the
papers joined after the linkage.

Pairs with the eighteenth round's blind readings of this code (`labels/theme-r18-*.jsonl`: the
demo weeks, 52 themes; four unseen inputs, 330 themes) by input, name and size, and prints the
ROC AUC of "coherent" against "mixed or grab-bag", and of "not a grab-bag" against "grab-bag",
with size and cohesion beside it (0.5: chance).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import bench_names
from benchmarks.study_coherence import ML_CATEGORIES, auc
from pipeline.config import load_settings
from pipeline.topics import cluster

ROOT = Path(__file__).resolve().parent.parent
READINGS = (
    ROOT / "benchmarks/labels/theme-r18-demo-oai97.jsonl",
    ROOT / "benchmarks/labels/theme-r18-ml151-oai131.jsonl",
)
#: The readings' input names → how bench_names draws that input (after the demo weeks).
UNSEEN = {
    "oai slice 1 (700, seed 97)": ("oai97", 0),
    "oai slice 2 (700, seed 97)": ("oai97", 1),
    "oai slice 1 (700, seed 131)": ("oai131", 0),
    "ML slice (1000, seed 151) of cs.LG/stat.ML/cs.CL/cs.CV/cs.AI/cs.NE/cs.IR": ("ml151", 0),
}
MEASURES = ("size", "cohesion", "stability", "core_stability")
WIDTHS = ("<16", ">16", ">10", ">16", ">10")


def inputs(store: Path) -> list[tuple[str, dict[str, Any], int]]:
    """(reading's input name, input, seed) for every input the r18 readings judged."""
    seed = load_settings(ROOT / "examples/demo.toml").themes.seed
    found = [(item["name"], item, seed) for item in bench_names.demo_inputs(store)]
    drawn = {
        "oai97": bench_names.oai_inputs(2, bench_names.SLICE_SIZE, 97, unseen_after=(17,),
                                        unseen_slices=3),
        "oai131": bench_names.oai_inputs(1, bench_names.SLICE_SIZE, 131, unseen_after=(17,),
                                         unseen_slices=3),
        "ml151": bench_names.oai_inputs(1, 1000, 151, unseen_after=(17,), unseen_slices=3,
                                        categories=ML_CATEGORIES),
    }  # fmt: skip
    found += [(name, drawn[key][k], 0) for name, (key, k) in UNSEEN.items()]
    return found


def _groups(
    ids: Sequence[str], x: np.ndarray, context: Any, seed: int, rows: np.ndarray
) -> list[set[str]]:
    """The linkage groups (as paper ids) of the input's papers at `rows`."""
    keep = sorted(rows.tolist(), key=lambda i: ids[i])
    sub_ids = [ids[i] for i in keep]
    groups, _, _ = cluster._linkage_groups(x[keep], sub_ids, seed=seed, context=context)
    return [{sub_ids[int(i)] for i in g} for g in groups]


def _best_jaccard(members: set[str], groups: Sequence[set[str]]) -> float:
    if not members:
        return 0.0
    return max((len(members & g) / len(members | g) for g in groups), default=0.0)


def measures(item: dict[str, Any], vocabulary: Any, seed: int, draws: int, keep: float
             ) -> list[dict[str, Any]]:  # fmt: skip
    """Each theme of one input with its size, cohesion and stabilities."""
    ids = list(item["ids"])
    x = np.asarray(item["vectors"], dtype=np.float32)
    context = None
    if item["background_ids"]:
        context = (list(item["background_ids"]), np.asarray(item["background_vectors"]))
    themes, _ = bench_names.item_themes(item, vocabulary, seed)
    full = _groups(ids, x, context, seed, np.arange(len(ids)))
    rng = np.random.default_rng(0)
    samples = []
    for _ in range(draws):
        rows = np.sort(rng.choice(len(ids), size=round(keep * len(ids)), replace=False))
        samples.append(({ids[int(i)] for i in rows}, _groups(ids, x, context, seed, rows)))
    row = {pid: i for i, pid in enumerate(ids)}
    found = []
    for theme in themes:
        members = set(theme.paper_ids)
        core = max(full, key=lambda g: (len(g & members), -len(g)))
        found.append(
            {
                "input": item["name"],
                "name": theme.label,
                "size": len(members),
                "cohesion": cluster.cohesion(x[[row[p] for p in theme.paper_ids]]),
                "stability": float(
                    np.mean([_best_jaccard(members & s, groups) for s, groups in samples])
                ),
                "core_stability": float(
                    np.mean([_best_jaccard(core & s, groups) for s, groups in samples])
                ),
            }
        )
    return found


def verdicts() -> dict[tuple[str, str, int], str]:
    """(input, name shown, size) → the reader's coherence verdict."""
    found = {}
    for path in READINGS:
        for line in path.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            found[(r["input"], r["name_shown"], int(r["n_papers"]))] = r["coherence"]
    return found


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=ROOT / "data/demo/pipeline.sqlite3")
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--keep", type=float, default=0.8)
    parser.add_argument("--json", type=Path, help="also write every theme's measures here")
    args = parser.parse_args(argv)
    vocabulary = bench_names.area_vocabulary()
    judged = verdicts()
    rows = []
    for name, item, seed in inputs(args.store):
        for r in measures(item, vocabulary, seed, args.draws, args.keep):
            verdict = judged.get((name, r["name"], r["size"]))
            if verdict is not None:
                rows.append(dict(r, input=name, verdict=verdict))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    sets = {
        "demo": [r for r in rows if r["input"].startswith("demo")],
        "unseen": [r for r in rows if not r["input"].startswith("demo")],
    }
    for part, found in sets.items():
        counts = {
            v: sum(r["verdict"] == v for r in found) for v in ("coherent", "mixed", "grab-bag")
        }
        print(f"{part}: {len(found)} themes paired, {counts}")
    head = ("measure", "coherent: demo", "unseen", "grab-bag: demo", "unseen")
    print("\n" + "".join(f"{h:{w}s}" for h, w in zip(head, WIDTHS, strict=True)))
    for measure in MEASURES:
        line = f"{measure:16s}"
        for split in ("coherent", "grab-bag"):
            for part, found in sets.items():
                if split == "coherent":
                    good = [r[measure] for r in found if r["verdict"] == "coherent"]
                    bad = [r[measure] for r in found if r["verdict"] != "coherent"]
                else:
                    good = [r[measure] for r in found if r["verdict"] != "grab-bag"]
                    bad = [r[measure] for r in found if r["verdict"] == "grab-bag"]
                width = 16 if part == "demo" else 10
                line += f"{auc(good, bad):>{width}.2f}" if good and bad else f"{'-':>{width}s}"
        print(line)


if __name__ == "__main__":
    main()
