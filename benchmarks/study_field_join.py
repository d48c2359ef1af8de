"""Papers a build moves from "Other" into a theme, read blind beside the theme's own (round 28).

    python -m benchmarks.study_field_join --before DIR --after DIR2 --reading F --key K
    python -m benchmarks.study_field_join --key K --score OUT [OUT ...]

`--before` and `--after` are two builds of the same weeks (`study_real_weeks --keep`, one folder
per week): every paper in "Other" before and in a theme after is a joined paper. Every theme
of the after-build that holds one is written out, shuffled (seed 28), with its name and its
papers in a random order, the joined ones unmarked; a theme of over MAX_SHOWN papers shows
all its joined papers and a random sample of its own. Readers judge every paper: belongs /
borderline / wrong (one JSON line per paper: {"item", "paper", "verdict"}). `--key` says which
week, theme and paper each is and whether it was joined.

`--score` prints, by the majority of the readers per paper (a three-way split counts as
"borderline"), the shares of joined papers and of the themes' own papers that belong and that
are wrong, and the verdict of benchmarks/README.md's bar (twenty-eighth round).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

SEED = 28
MAX_SHOWN = 25
VERDICTS = ("belongs", "borderline", "wrong")


def _digest(week_dir: Path) -> dict[str, Any]:
    return json.loads(next((week_dir / "digests").glob("[0-9]*.json")).read_text("utf-8"))


def joined_themes(before: Path, after: Path) -> list[tuple[str, dict[str, Any], set[str]]]:
    """(week, theme section of the after-build, its joined paper ids) for every theme of the
    after-build that holds a paper the before-build left in "Other"."""
    out = []
    for week_dir in sorted(p for p in before.iterdir() if (p / "digests").is_dir()):
        old, new = _digest(week_dir), _digest(after / week_dir.name)
        other = {
            p["paper_id"] for s in old["sections"] if s["kind"] == "other" for p in s["papers"]
        }
        for section in new["sections"]:
            if section["kind"] != "theme":
                continue
            joined = {p["paper_id"] for p in section["papers"]} & other
            if joined:
                out.append((week_dir.name, section, joined))
    return out


def write_reading(before: Path, after: Path, reading: Path, key_path: Path) -> None:
    rng = np.random.default_rng(SEED)
    themes = joined_themes(before, after)
    lines = [
        "# Themes to check paper by paper",
        "",
        "For each paper, say whether it belongs under the theme's name, given the others.",
        "",
    ]
    key = []
    for number, k in enumerate(rng.permutation(len(themes)), start=1):
        week, section, joined = themes[int(k)]
        papers = section["papers"]
        own = [p for p in papers if p["paper_id"] not in joined]
        room = max(MAX_SHOWN - len(joined), 0)
        if len(own) > room:
            own = [own[int(i)] for i in sorted(rng.choice(len(own), room, replace=False))]
        shown = [p for p in papers if p["paper_id"] in joined] + own
        shown = [shown[int(i)] for i in rng.permutation(len(shown))]
        lines.append(f"## Item {number}: {section['title']}  ({len(papers)} papers)")
        for j, paper in enumerate(shown, start=1):
            lines.append(f"{j}. {paper['title']}")
            key.append({"item": number, "paper": j, "week": week, "theme": section["title"],
                        "paper_id": paper["paper_id"],
                        "joined": paper["paper_id"] in joined})  # fmt: skip
        lines.append("")
    reading.write_text("\n".join(lines), encoding="utf-8")
    key_path.write_text("".join(json.dumps(r) + "\n" for r in key), encoding="utf-8")
    n_joined = sum(r["joined"] for r in key)
    print(f"{len(themes)} themes, {len(key)} papers shown, {n_joined} joined")


def score(key_path: Path, outs: list[Path]) -> dict[str, Any]:
    key = {(r["item"], r["paper"]): r for r in map(json.loads, key_path.read_text().splitlines())}
    votes: dict[tuple[int, int], list[str]] = {k: [] for k in key}
    for out in outs:
        for line in out.read_text("utf-8").splitlines():
            if line.strip():
                judged = json.loads(line)
                votes[(int(judged["item"]), int(judged["paper"]))].append(judged["verdict"])
    result: dict[str, Any] = {}
    for side, joined in (("joined", True), ("own", False)):
        tally: Counter[str] = Counter()
        for k, r in key.items():
            if r["joined"] != joined:
                continue
            top, count = Counter(votes[k]).most_common(1)[0] if votes[k] else ("borderline", 0)
            tally[top if count * 2 > len(votes[k]) else "borderline"] += 1
        n = sum(tally.values())
        result[side] = {"papers": n, **{v: tally[v] for v in VERDICTS},
                        "belongs_share": round(tally["belongs"] / max(n, 1), 3),
                        "wrong_share": round(tally["wrong"] / max(n, 1), 3)}  # fmt: skip
    joined_belongs = result["joined"]["belongs_share"]
    own_belongs = result["own"]["belongs_share"]
    result["bar"] = {
        "a: joined belong >= 70 %": joined_belongs >= 0.70,
        "b: no more than 10 points under own": joined_belongs >= own_belongs - 0.10,
        "c: joined wrong <= 15 %": result["joined"]["wrong_share"] <= 0.15,
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path)
    parser.add_argument("--after", type=Path)
    parser.add_argument("--reading", type=Path)
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--score", type=Path, nargs="+")
    args = parser.parse_args()
    if args.score:
        print(json.dumps(score(args.key, args.score), indent=2))
        return
    write_reading(args.before, args.after, args.reading, args.key)


if __name__ == "__main__":
    main()
