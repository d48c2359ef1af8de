"""Which measure tells a theme name that fits most of its papers from one that does not? (issue 17)

    make demo                      # once: fills data/demo/pipeline.sqlite3 with the vectors
    python -m benchmarks.study_name_fit [--store data/demo/pipeline.sqlite3]

Issue 17 asks for "every name fitting most of its papers". Blind readers marked, for every
theme they read, whether its name fits most of its titles (`name_fits_most`) and how good the
name is (good / fair / poor / misleading). This clusters the inputs those readings were made
on with this checkout (as `study_coherence` does: the demo weeks, the demo's June 2025 papers
as one week with and without topics, held-out OAI slices 41 and 61 and the dense ML slice
71), pairs each theme with its reading (same input, name and size: themes this checkout
changed drop out) and prints, per measure, the ROC AUC of "fits" against "does not fit" and
of "good or fair" against "poor or misleading" (0.5: chance), with how many themes a cut at
0.5 would flag on each side.

Measures, per theme (the papers shown): `title_any`, the share of titles with a word of its
name (stop words aside; what `areas.name_broadly` uses); `title_mark`, the same counting only
the name's words that say something (not generic academic vocabulary, not a word of a whole
field such as "network", "learning", "model"); `text_mark`, the same over title and abstract;
`area_top`, for a name that is a research area, the share of papers with it among their 25
best areas (NaN otherwise).
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import bench_names
from benchmarks.study_coherence import auc, read_inputs
from pipeline.config import load_settings
from pipeline.topics import areas as areas_mod
from pipeline.topics.areas import Areas
from pipeline.topics.phrases import generic_words, word_root

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "benchmarks/labels"
#: Per set: its readings (a theme read twice takes the later verdict).
READINGS = {
    "demo": ("theme-demo-r8.jsonl", "theme-demo-r10.jsonl"),
    "june-topics": ("theme-june-topics-r10.jsonl",),
    "june-none": ("theme-june-none-r10.jsonl",),
    "oai41": ("theme-oai41-r7.jsonl",),
    "oai61": ("theme-oai61-r8.jsonl",),
    "ml71": ("theme-ml71-r9.jsonl",),
}
MEASURES = ("title_any", "title_mark", "text_mark", "area_top")


def readings() -> dict[tuple[str, str, int], dict[str, Any]]:
    """(input, name, size) → the reader's record."""
    found = {}
    for files in READINGS.values():
        for name in files:
            for line in (LABELS / name).read_text(encoding="utf-8").splitlines():
                r = json.loads(line)
                where = r.get("input") or f"demo {r['week']}"
                found[(where, r["name_shown"], int(r["n_papers"]))] = r
    return found


def _roots(text: str) -> set[str]:
    return set(areas_mod._words_of(text))


def measures(item: dict[str, Any], vocabulary: Areas, seed: int) -> list[dict[str, Any]]:
    """Each theme of one input with its measures (see the module docstring)."""
    ids, texts, titles = item["ids"], item["texts"], item["titles"]
    vectors = np.asarray(item["vectors"], dtype=np.float32)
    themes, _ = bench_names.item_themes(item, vocabulary, seed)
    week = vectors
    if item["background_ids"]:
        week = np.vstack([vectors, np.asarray(item["background_vectors"])])
    scores = areas_mod._unit(week) @ areas_mod._unit(vocabulary.vectors).T
    scores = scores - scores.mean(axis=0)
    top = np.argsort(-scores, axis=1)[:, :25]
    area_row = {name: a for a, name in enumerate(vocabulary.names)}
    plain = {word_root(w) for w in generic_words()} | areas_mod._BROAD_WORDS
    row = {pid: i for i, pid in enumerate(ids)}
    found = []
    for theme in themes:
        rows = [row[pid] for pid in theme.paper_ids]
        words = _roots(theme.label)
        marking = words - plain
        area = area_row.get(theme.label)
        found.append(
            {
                "input": item["name"],
                "name": theme.label,
                "size": len(rows),
                "title_any": float(np.mean([bool(words & _roots(titles[r])) for r in rows])),
                "title_mark": float(np.mean([bool(marking & _roots(titles[r])) for r in rows])),
                "text_mark": float(np.mean([bool(marking & _roots(texts[r])) for r in rows])),
                "area_top": math.nan
                if area is None
                else float(np.mean([area in top[r] for r in rows])),
            }
        )
    return found


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=ROOT / "data/demo/pipeline.sqlite3")
    parser.add_argument("--list", action="store_true", help="print every paired theme")
    args = parser.parse_args(argv)
    vocabulary = bench_names.area_vocabulary()
    seed = load_settings(ROOT / "examples/demo.toml").themes.seed
    rows = []
    for part, item, item_seed in read_inputs(args.store, seed, june=True):
        rows += [dict(r, part=part) for r in measures(item, vocabulary, item_seed)]
    read = readings()
    paired = [(r, read[(r["input"], r["name"], r["size"])]) for r in rows
              if (r["input"], r["name"], r["size"]) in read]  # fmt: skip
    print(f"{len(paired)} of {len(rows)} themes paired with a reading")
    for part in READINGS:
        here = [(r, v) for r, v in paired if r["part"] == part]
        fits = sum(bool(v.get("name_fits_most")) for _, v in here)
        print(f"  {part:12s} {len(here):3d} themes, {fits} fit most")
    head = f"{'measure':12s} {'AUC fits':>9s} {'AUC good/fair':>14s}"
    print(f"\n{head}  flagged < 0.5 (fit / not fit)")
    for measure in MEASURES:
        have = [(r, v) for r, v in paired if not math.isnan(r[measure])]
        fit = [r[measure] for r, v in have if v.get("name_fits_most")]
        unfit = [r[measure] for r, v in have if not v.get("name_fits_most")]
        good = [r[measure] for r, v in have if v.get("name") in ("good", "fair")]
        bad = [r[measure] for r, v in have if v.get("name") in ("poor", "misleading")]
        flagged = (sum(m < 0.5 for m in fit), sum(m < 0.5 for m in unfit))
        print(
            f"{measure:12s} {auc(fit, unfit):9.2f} {auc(good, bad):14.2f}  "
            f"{flagged[0]} of {len(fit)} / {flagged[1]} of {len(unfit)}"
        )
    if args.list:
        for r, v in sorted(paired, key=lambda p: p[0]["title_mark"]):
            print(
                f"{r['title_any']:.2f} {r['title_mark']:.2f} {r['text_mark']:.2f} "
                f"{r['area_top']:.2f} {v.get('name_fits_most')!s:5s} {v.get('name'):10s} "
                f"{v.get('coherence'):9s} {r['size']:4d} {r['name']} [{r['part']}]"
            )


if __name__ == "__main__":
    main()
