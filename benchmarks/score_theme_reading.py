"""Score a blind reading of discovered themes, majority of three readers per item, per side.

    python -m benchmarks.score_theme_reading --key benchmarks/labels/theme-r27-anchor-ab-key.jsonl \
        benchmarks/labels/theme-r27-anchor-ab.jsonl

The key lists, per reader and item, the side the item came from (`side`), its week, name
(`label`) and paper ids; the readings (one JSON object a line, the twenty-sixth round's reader
brief) give per item `coherence` (coherent / mixed / grab-bag), `name` (good / fair / poor /
misleading) and `name_fits_most`. Each distinct theme (side, week, name, papers) must be read by
three readers: its coherence is the majority label (a three-way split counts as "mixed"), its
name the middle of the three grades, "fits most" the majority. Per side it prints the themes,
the share of their papers in coherent themes, grab-bags, names fitting most titles, and poor +
misleading names: the figures of benchmarks/README.md's bars (twenty-fourth round on).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

GRADES = ("good", "fair", "poor", "misleading")


def score(key_path: Path, outs: list[Path]) -> dict[str, Counter[str]]:
    """Per side: themes, papers, coherent / mixed / grab-bag, coherent papers, fits, grades."""
    key = {}
    for line in key_path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        key[(entry["reader"], entry["item"])] = entry
    votes: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for out in outs:
        for line in out.read_text(encoding="utf-8").splitlines():
            read = json.loads(line)
            entry = key[(read["reader"], read["item"])]
            if read.get("name_shown", entry["label"]) != entry["label"]:
                raise SystemExit(f"{out}: item {read['item']} names another theme than the key")
            votes[(entry["side"], entry["week"], entry["label"], tuple(entry["ids"]))].append(read)
    sides: dict[str, Counter[str]] = defaultdict(Counter)
    for (side, week, label, ids), reads in sorted(votes.items()):
        if len(reads) != 3:
            raise SystemExit(f"{side} {week} {label!r}: read {len(reads)} times, not 3")
        (top, n_top), *_ = Counter(r["coherence"] for r in reads).most_common()
        coherence = top if n_top >= 2 else "mixed"
        name = sorted((r["name"] for r in reads), key=GRADES.index)[1]
        fits = sum(bool(r["name_fits_most"]) for r in reads) >= 2
        tally = sides[side]
        tally.update({"themes": 1, "papers": len(ids), coherence: 1, name: 1, "fits": int(fits)})
        tally["coherent papers"] += len(ids) if coherence == "coherent" else 0
        print(f"{side:10} {week} {label!r:45} {len(ids):3} {coherence:9} {name:10} fits={fits}")
    return sides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key", type=Path, required=True, help="the reading's key (JSONL)")
    parser.add_argument("readings", type=Path, nargs="+", help="the readers' JSONL files")
    args = parser.parse_args()
    for side, t in score(args.key, args.readings).items():
        print(
            f"{side}: {t['themes']} themes, {t['papers']} papers; coherent / mixed / grab-bag "
            f"{t['coherent']} / {t['mixed']} / {t['grab-bag']}; papers in coherent themes "
            f"{t['coherent papers'] / t['papers']:.1%}; names fitting most titles {t['fits']} "
            f"({t['fits'] / t['themes']:.1%}); good / fair / poor / misleading "
            f"{' / '.join(str(t[g]) for g in GRADES)}"
        )


if __name__ == "__main__":
    main()
