"""Dense weeks grouped at the density the thresholds were set for (issue 17, twentieth round).

    make demo                      # once: fills data/demo/pipeline.sqlite3 with the vectors
    HF_HUB_OFFLINE=1 python -m benchmarks.study_dense_weeks [--ref 599898a]
    HF_HUB_OFFLINE=1 python -m benchmarks.study_dense_weeks --ab-reading F --ab-key K

The linkage merges papers while their mean cosine is at least 0.40 (cluster.MIN_LINK_SIMILARITY),
a level set on weeks whose papers sit at 0.11 from each other on average (arXiv slices of every
field). Papers of one machine-learning week sit at 0.19 (cs.LG-listed OAI papers) to 0.33
(ICLR 2021), so at 0.40 the groups there are whole fields. `cluster._grouping_vectors` takes
from each vector of a week of `cluster.FULL_DENSE_PAPERS` or more the share of the week's mean
direction that brings its mean cosine down to `cluster.REFERENCE_DENSITY`, before grouping (part
of the way on a week of more than `cluster.MIN_DENSE_PAPERS`).

Without options: per input (the demo weeks; a 700-paper OAI slice; 1,000 ICLR 2021 papers of
part 1; 1,000 cs.LG-listed OAI papers, seed 151: the inputs read before), the week's density
and, for git `--ref` and this checkout, the themes, "Other" and the largest themes' sizes.

`--ab-reading F --ab-key K`: a blind A/B reading on inputs no reading or choice of this rule
saw (`fresh_inputs`): every theme one side has and the other has no match for (Jaccard under
`study_hybrid_linkage.SAME_THEME`), shuffled per input, titles only; the key says which side.
Recorded in benchmarks/README.md, twentieth round.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import bench_names, eval_topics
from benchmarks import study_hybrid_linkage as sh

#: main just before the rule was merged: the grouping it is compared with by default.
BEFORE = "599898a"
#: arXiv listings a machine-learning reader subscribes to (bench_names' ML slices).
ML = ("cs.LG", "stat.ML", "cs.CL", "cs.CV", "cs.AI", "cs.NE", "cs.IR")


def density(item: dict[str, Any]) -> float:
    """The mean cosine between two papers of the input's week (taken papers included)."""
    v = np.asarray(item["vectors"], dtype=np.float64)
    if len(item.get("background_ids", [])):
        v = np.vstack([v, np.asarray(item["background_vectors"], dtype=np.float64)])
    u = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    n = len(u)
    total = float(np.sum(u.sum(axis=0) ** 2))
    return (total - n) / (n * (n - 1))


def dev_inputs() -> list[dict[str, Any]]:
    """The inputs read before, on which the rule was looked at."""
    inputs = bench_names.demo_inputs(bench_names.ROOT / "data/demo/pipeline.sqlite3")
    inputs += sh.fresh_inputs(211)
    inputs += bench_names.oai_inputs(1, 1000, 151, unseen_after=[17], categories=ML)
    return inputs


def fresh_inputs(seed: int = 229) -> list[dict[str, Any]]:
    """Dense weeks no reading has shown and no choice of this rule saw: 1,000 papers of ICLR
    2021 part 2 (read once, as built, in the seventeenth round; now a draw with `seed`) and the
    cs.LG-listed OAI papers that no earlier slice holds (seeds 17, 71, 97, 131, 151, 211, 223),
    up to 1,000, drawn with `seed`; no topics."""
    from benchmarks import bench_bertopic_venue as bv

    seen: set[str] = set()
    for k in (97, 131):
        for i in bench_names.oai_inputs(3, 700, k, unseen_after=[17], unseen_slices=3):
            seen |= set(i["ids"])
    for k in (17,):
        for i in bench_names.oai_inputs(3, 700, k):
            seen |= set(i["ids"])
    for k in (71, 151):
        for i in bench_names.oai_inputs(1, 1000, k, unseen_after=[17], categories=ML):
            seen |= set(i["ids"])
    seen |= set(sh.fresh_inputs(211)[0]["ids"]) | set(sh.fresh_inputs_r20(223)[0]["ids"])
    papers, listed = eval_topics.load_corpus()
    pool = bench_names.oai_inputs(1, 7000, 17)[0]
    ml = {p.paper_id for p, cats in zip(papers, listed, strict=True) if cats & set(ML)}
    rows = [i for i, pid in enumerate(pool["ids"]) if pid in ml and pid not in seen]
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(rows, min(1000, len(rows)), replace=False))
    oai = sh._subset(pool, take, f"cs.LG-listed OAI, {len(take)} papers (seed {seed})")
    part2, _ = bv.load_all(parts=(2,))
    return [oai, sh.venue_week(oai, part2, bv.week_vectors(part2), seed, "ICLR 2021 part 2")]


def unread_week() -> dict[str, Any]:
    """The venue papers no theme reading has drawn (twenty-first round): ICLR 2021 part 1 less
    its seed-211 draw (nineteenth round), and NeurIPS 2023 less its seed-223 draw (twentieth),
    as one week of about 1,000 machine-learning papers of two venues and years; no topics.
    Not unseen by the rules: part 1 whole chose the size cut (seventeenth round) and NeurIPS
    prompted the dense rule; no reader has seen these papers."""
    from benchmarks import bench_bertopic_venue as bv
    from benchmarks import eval_venue as ev

    template = sh.fresh_inputs(211)[0]
    iclr, _ = bv.load_all(parts=(1,))
    neurips, _ = ev.load(1, "neurips2023")
    vectors = [
        bv.week_vectors(iclr),
        eval_topics.load_vectors(
            neurips, "all-MiniLM-L6-v2", corpus=ev.corpus_name(1, "neurips2023")
        ),
    ]
    papers, rows = [], []
    for venue, seed, vecs in zip((iclr, neurips), (211, 223), vectors, strict=True):
        drawn = set(np.random.default_rng(seed).choice(len(venue), 1000, replace=False).tolist())
        for i, paper in enumerate(venue):
            if i not in drawn:
                papers.append(paper)
                rows.append(vecs[i])
    order = sorted(range(len(papers)), key=lambda i: papers[i].paper_id)
    name = f"ICLR 2021 part 1 and NeurIPS 2023, the {len(papers)} papers no reading drew"
    return sh.week_of(template, name, papers, np.asarray(rows), order)


def whole_reading(item: dict[str, Any], result: Any, seed: int = 21) -> tuple[str, list[Any]]:
    """Every theme of one input as built, shuffled, titles only, for a blind reader."""
    lines = ["# Discovered themes of several weeks of papers", "", f"# Week: {item['name']}", ""]
    key: list[dict[str, Any]] = []
    about = {"shipped": {"other": len(result["other"]) / len(item["ids"]),
                         "themes": len(result["themes"])}}  # fmt: skip
    items = [("shipped", t[0], t[1]) for t in result["themes"]]
    sh.shuffled_items(lines, key, np.random.default_rng(seed), item, items, "side", about)
    return "\n".join(lines) + "\n", key


def both(inputs: list[dict[str, Any]], ref: str) -> tuple[list[Any], list[Any]]:
    """find_themes on every input with git `ref`'s pipeline and with this checkout's."""
    vectors = bench_names.area_vectors()
    for item in inputs:
        item["area_vectors"] = vectors
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        source = bench_names.export(ref, tmp)
        return bench_names.run_pipeline(source, inputs, tmp), bench_names.run_pipeline(
            bench_names.ROOT, inputs, tmp
        )


def ab_reading(inputs: list[dict[str, Any]], old: list[Any], new: list[Any], seed: int = 20
               ) -> tuple[str, list[dict[str, Any]]]:  # fmt: skip
    """The themes each side has that the other has no match for, shuffled per input."""
    lines = ["# Discovered themes of several weeks of papers", ""]
    key: list[dict[str, Any]] = []
    rng = np.random.default_rng(seed)
    for item, a, b in zip(inputs, old, new, strict=True):
        sides = {"ref": a, "branch": b}
        items = sh.unmatched({s: [(t[0], t[1]) for t in r["themes"]] for s, r in sides.items()})
        lines += [f"# Week: {item['name']}", ""]
        about = {s: {"other": len(r["other"]) / len(item["ids"]), "themes": len(r["themes"])}
                 for s, r in sides.items()}  # fmt: skip
        sh.shuffled_items(lines, key, rng, item, items, "side", about)
    return "\n".join(lines) + "\n", key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default=BEFORE, help="git revision of the 'old' grouping")
    parser.add_argument("--ab-reading", type=Path, help="write a blind A/B reading here")
    parser.add_argument("--ab-key", type=Path, help="...and its key (JSONL) here")
    parser.add_argument(
        "--whole-reading", type=Path, help="write every theme of the unread week (unread_week) here"
    )
    args = parser.parse_args()
    if args.whole_reading:
        item = unread_week()
        item["area_vectors"] = bench_names.area_vectors()
        with tempfile.TemporaryDirectory() as name:
            (result,) = bench_names.run_pipeline(bench_names.ROOT, [item], Path(name))
        text, key = whole_reading(item, result)
        args.whole_reading.write_text(text, encoding="utf-8")
        if args.ab_key:
            args.ab_key.write_text("".join(json.dumps(k) + "\n" for k in key), encoding="utf-8")
        other = len(result["other"]) / len(item["ids"])
        print(f"{item['name']}: density {density(item):.3f}, {len(result['themes'])} themes,"
              f" Other {other:.1%}; {len(key)} items written")  # fmt: skip
        return
    inputs = fresh_inputs() if args.ab_reading else dev_inputs()
    old, new = both(inputs, args.ref)
    for item, a, b in zip(inputs, old, new, strict=True):
        n = len(item["ids"])
        print(f"{item['name'][:44]:44s} density {density(item):.3f}")
        for side, r in (("ref", a), ("this", b)):
            sizes = sorted((len(t[1]) for t in r["themes"]), reverse=True)
            print(f"    {side:5s} themes {len(r['themes']):3d}  Other {len(r['other']) / n:6.1%}"
                  f"  largest {sizes[:8]}")  # fmt: skip
    if args.ab_reading:
        text, key = ab_reading(inputs, old, new)
        args.ab_reading.write_text(text, encoding="utf-8")
        if args.ab_key:
            args.ab_key.write_text("".join(json.dumps(k) + "\n" for k in key), encoding="utf-8")
        print(f"{text.count('## Item')} items written to {args.ab_reading}")


if __name__ == "__main__":
    main()
