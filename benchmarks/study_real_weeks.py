"""Calendar weeks of arXiv cs with their categories, built as a user's digest is (issue 17).

    HF_HUB_OFFLINE=1 python -m benchmarks.study_real_weeks [--weeks 1602:0 1512:1]
        [--reading F --key K] [--keep DIR]

The readings of arXiv data since the thirteenth round took random 700-paper slices of the
bundled OAI 2016 corpus through `cluster.find_themes` alone (`bench_names`), so they left out
what a build does with arXiv categories (`categories.group_by_category`, `name_by_category`) and
never saw a week as arXiv announces it. arXiv numbers papers in the order they are submitted,
so the corpus's papers of one id range are about one week of cs submissions: `--weeks
1602:0` is 1602.00001-1602.02499 (the first quarter of February 2016's ids), `1512:1`
1512.02500-1512.04999. Each week goes through the real pipeline in a fresh folder: the shipped
config.toml (its topics and [themes] defaults) with one file source holding the week's records,
each with its categories and a date spread over one calendar week in id order, then `digest
ingest` and `digest build --week`; the week's digest JSON is read back. Prints every theme
(name, size, how it was named) and "Other". `--reading` writes every theme of every week,
shuffled (seed 22) and numbered, names and titles only, for blind readers; `--key` which week and
section each item is, for after the reading. `--keep` keeps the folders (else a temporary
one); with `--built` the weeks a `--keep` run built there are read again, nothing is built.

`--ab-from DIR` (with `--reading`, `--key`) builds nothing: it reads the digests a build of
another checkout left in DIR (`--keep DIR` there), renames them by this checkout's
`categories.name_by_category` (the themes as that build named them, the vocabulary's names kept,
each paper's categories from the digest) and writes, shuffled, every theme this changes and
every theme it made, for a blind A/B reading; the key says which side each item is. With
`--ab-against DIR2` (the same weeks built by this checkout, `--keep DIR2`), the two builds'
themes are compared instead: every theme not in both, from each side.
`--ab-score OUT... --key K` scores that reading by the bar of benchmarks/README.md (twenty-second
round): pooled over the readers, the share of the changed papers under a name that fits most
titles and in coherent themes, before and after, and the grab-bags among the themes made.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import os
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import tomlkit

from benchmarks import eval_topics as ev

ROOT = Path(__file__).resolve().parent.parent
QUARTER = 2500
#: A Monday per id prefix: the week the records are dated into (any week would do; the
#: digest names it).
MONDAYS = {
    "1511": date(2015, 11, 9),
    "1512": date(2015, 12, 7),
    "1601": date(2016, 1, 11),
    "1602": date(2016, 2, 1),
    "0704": date(2007, 4, 9),
    "0705": date(2007, 5, 7),
    "0706": date(2007, 6, 11),
    "0707": date(2007, 7, 9),
    "0708": date(2007, 8, 6),
}
SEED = 22


@functools.cache
def _corpus_rows() -> tuple[dict[str, Any], ...]:
    """The OAI corpus's records, categories in their order (`eval_topics.load_corpus` gives
    them as sets, and the primary category must stay first)."""
    with gzip.open(ev.CORPUS, "rt", encoding="utf-8") as f:
        return tuple(json.loads(line) for line in f if line.strip())


def week_records(prefix: str, quarter: int) -> list[dict[str, Any]]:
    """The corpus's papers of ids `prefix`.(quarter*2500+1 ... (quarter+1)*2500-1), in id order,
    as file-source records dated over the 7 days from MONDAYS[prefix]."""
    rows = _corpus_rows()
    low, high = quarter * QUARTER, (quarter + 1) * QUARTER
    chosen = []
    for row in rows:
        number = row["id"].removeprefix("arxiv:")
        head, _, tail = number.partition(".")
        if head == prefix and tail.isdigit() and low <= int(tail) < high:
            chosen.append((int(tail), number, row))
    chosen.sort()
    start = MONDAYS[prefix]
    out = []
    for k, (_, number, row) in enumerate(chosen):
        day = start + timedelta(days=k * 7 // len(chosen))
        out.append(
            {
                "id": number,
                "url": f"http://arxiv.org/abs/{number}",
                "title": row["title"],
                "abstract": row["abstract"],
                "categories": row["categories"],
                "published": f"{day.isoformat()}T12:00:00Z",
            }
        )
    return out


def write_config(folder: Path, source: Path) -> Path:
    """The shipped config.toml with its folders in `folder` and `source` its only source."""
    doc = tomlkit.parse((ROOT / "config.toml").read_text(encoding="utf-8"))
    doc["paths"]["data_dir"] = str(folder / "data")  # type: ignore[index]
    doc["paths"]["digests_dir"] = str(folder / "digests")  # type: ignore[index]
    sources = tomlkit.aot()
    table = tomlkit.table()
    table.update({"name": "week", "kind": "file", "url": str(source)})
    sources.append(table)
    doc["sources"] = sources
    path = folder / "config.toml"
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")
    return path


def build_week(folder: Path, records: list[dict[str, Any]], monday: date) -> dict[str, Any]:
    """Ingest and build the week in `folder`; its digest JSON."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "week.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    config = write_config(folder, source)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    week = f"{monday.isocalendar().year}-W{monday.isocalendar().week:02d}"
    for args in (["ingest"], ["build", "--week", week]):
        cmd = [sys.executable, "-m", "pipeline", "--config", str(config), "-q", *args]
        subprocess.run(cmd, check=True, env=env, cwd=folder)
    return json.loads((folder / "digests" / f"{week}.json").read_text(encoding="utf-8"))


def renamed(digest: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """The digest's themes as it shows them, and as this checkout's name_by_category leaves
    them (the Theme objects, largest first)."""
    from pipeline.models import Theme
    from pipeline.topics import areas, categories

    sections = [s for s in digest["sections"] if s["kind"] == "theme"]
    themes = [
        Theme(s["key"], s["title"], tuple(s["terms"]),
              tuple(p["paper_id"] for p in s["papers"]), s["papers"][0]["paper_id"])
        for s in sections
    ]  # fmt: skip
    listed = {p["paper_id"]: tuple(p["categories"]) for s in sections for p in s["papers"]}
    vocabulary = {*areas.area_names(), *areas.area_fields().values(), *areas.broad_areas()}
    return themes, categories.name_by_category(themes, listed, fixed=vocabulary)


def _digest(week_dir: Path) -> dict[str, Any]:
    return json.loads(next((week_dir / "digests").glob("[0-9]*.json")).read_text("utf-8"))


def write_ab(folder: Path, reading: Path, key_path: Path, against: Path | None = None) -> None:
    """The A/B reading of `--ab-from`: per week, the themes the rule changes ("before") and
    those it makes ("after"), shuffled together. With `against` (a folder of the same weeks
    built by another checkout), "after" is that build's themes, not a renaming."""
    rng = np.random.default_rng(SEED)
    items: list[tuple[str, str, Any, dict[str, str]]] = []
    for week_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        digest = _digest(week_dir)
        titles = {p["paper_id"]: p["title"] for s in digest["sections"] for p in s["papers"]}
        before, after = renamed(digest)
        if against is not None:
            other = _digest(against / week_dir.name)
            titles |= {p["paper_id"]: p["title"] for s in other["sections"] for p in s["papers"]}
            after = renamed(other)[0]

        def shown(themes: list[Any]) -> set[tuple[str, frozenset[str]]]:
            return {(t.label, frozenset(t.paper_ids)) for t in themes}

        same = shown(before) & shown(after)
        week = f"{week_dir.name} ({digest['week']})"
        print(f"{week}: {len(before)} themes -> {len(after)}")
        for side, themes in (("before", before), ("after", after)):
            for t in themes:
                if (t.label, frozenset(t.paper_ids)) not in same:
                    print(f"  {side:6s} {len(t.paper_ids):3d} {t.label}")
                    items.append((week, side, t, titles))
    lines = ["# Week: arXiv cs (one week)", ""]
    key = []
    for k in rng.permutation(len(items)):
        week, side, theme, titles = items[int(k)]
        key.append({"item": len(key) + 1, "input": week, "side": side,
                    "name_shown": theme.label, "n_papers": len(theme.paper_ids),
                    "paper_ids": list(theme.paper_ids)})  # fmt: skip
        lines.append(f"## Item {len(key)}: {theme.label}  ({len(theme.paper_ids)} papers)")
        lines += [f"- {titles[p]}" for p in theme.paper_ids] + [""]
    reading.write_text("\n".join(lines), encoding="utf-8")
    key_path.write_text("".join(json.dumps(r) + "\n" for r in key), encoding="utf-8")


def score_ab(key_path: Path, outs: list[Path]) -> dict[str, Any]:
    """The bar of the A/B reading, pooled over the readers' judgements (`outs`): for each side,
    the share of the changed papers under a name read as fitting most titles and the share in
    themes read coherent (each item weighs its papers), and the grab-bags among the themes made."""
    key = {r["item"]: r for r in map(json.loads, key_path.read_text("utf-8").splitlines())}
    sides: dict[str, dict[str, float]] = {}
    for side in ("before", "after"):
        papers = fits = coherent = 0
        grab_bags = 0
        for out in outs:
            for line in out.read_text("utf-8").splitlines():
                judged = json.loads(line)
                item = key[judged["item"]]
                if item["side"] != side:
                    continue
                n = item["n_papers"]
                papers += n
                fits += n * bool(judged["name_fits_most"])
                coherent += n * (judged["coherence"] == "coherent")
                grab_bags += judged["coherence"] == "grab-bag"
        sides[side] = {"papers": papers, "fit": fits / papers, "coherent": coherent / papers,
                       "grab_bags": grab_bags}  # fmt: skip
    before, after = sides["before"], sides["after"]
    passed = (after["fit"] >= before["fit"] and after["coherent"] >= before["coherent"] - 0.05
              and after["grab_bags"] == 0)  # fmt: skip
    return {**sides, "passed": passed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", nargs="+", default=["1602:0", "1512:1"])
    parser.add_argument("--reading", type=Path)
    parser.add_argument("--key", type=Path)
    parser.add_argument("--keep", type=Path)
    parser.add_argument(
        "--built", action="store_true", help="with --keep: read the weeks built there, build none"
    )
    parser.add_argument("--ab-from", type=Path)
    parser.add_argument("--ab-against", type=Path, help="with --ab-from: the other build")
    parser.add_argument("--ab-score", type=Path, nargs="+", help="the readers' JSONL files")
    args = parser.parse_args()
    if args.ab_score:
        print(json.dumps(score_ab(args.key, args.ab_score), indent=2))
        return
    if args.ab_from:
        write_ab(args.ab_from, args.reading, args.key, args.ab_against)
        return
    with tempfile.TemporaryDirectory() as scratch:
        base = args.keep or Path(scratch)
        items: list[tuple[str, dict[str, Any]]] = []
        for spec in args.weeks:
            prefix, quarter = spec.split(":")
            records = week_records(prefix, int(quarter))
            folder = base / spec.replace(":", "-")
            # --built: the digest a `--keep` run left there.
            digest = _digest(folder) if args.built else build_week(folder, records, MONDAYS[prefix])
            low, high = int(quarter) * QUARTER, (int(quarter) + 1) * QUARTER - 1
            name = (
                f"arXiv cs {prefix}.{low:05d}-{high:05d} ({digest['week']}, {len(records)} papers)"
            )
            themes = [s for s in digest["sections"] if s["kind"] == "theme"]
            other = [s for s in digest["sections"] if s["kind"] == "other"]
            themed = sum(len(s["papers"]) for s in themes)
            left = sum(len(s["papers"]) for s in other)
            print(f"\n{name}: {len(themes)} themes, {themed} papers, Other {left} "
                  f"({left / max(themed + left, 1):.1%})")  # fmt: skip
            for s in themes:
                print(f"  {len(s['papers']):4d}  {s['title']}  [{', '.join(s['terms'][:4])}]")
            items += [(name, s) for s in themes]
    if args.reading:
        rng = np.random.default_rng(SEED)
        lines = ["# Discovered themes to judge", ""]
        key = []
        for k in rng.permutation(len(items)):
            week, section = items[int(k)]
            titles = [p["title"] for p in section["papers"]]
            key.append({"item": len(key) + 1, "input": week, "name_shown": section["title"],
                        "n_papers": len(titles), "terms": section["terms"],
                        "key": section["key"]})  # fmt: skip
            lines += [f"## Item {len(key)}: {section['title']}  ({len(titles)} papers)"]
            lines += [f"- {t}" for t in titles] + [""]
        args.reading.write_text("\n".join(lines), encoding="utf-8")
        if args.key:
            args.key.write_text("".join(json.dumps(r) + "\n" for r in key), encoding="utf-8")


if __name__ == "__main__":
    main()
