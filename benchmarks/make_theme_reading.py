"""A blind reading of the size cut's themes (issue 17, seventeenth round).

    python -m benchmarks.make_theme_reading [--part 2] [--subfield-papers 1] [--out DIR]

Clusters every paper of one ICLR 2021 part as one week, no topics, as `bench_bertopic_venue`
does, once with the groups of over `cluster.MAX_GROUP_PAPERS` cut (`--subfield-papers`: the
cut's SUBFIELD_PAPERS; 1 is the first version, which the reading in
labels/theme-iclr2-r17.jsonl judged) and once without. It writes, shuffled with seed 17 and
numbered, every theme of 8 papers or more that only the cut gives ("new"), every theme of the
uncut run that the cut replaced ("old") and 8 themes both runs give ("same"): a heading and up
to 40 titles (drawn at random past 40), to `themes.txt`; which is which to `key.json`, for after
the reading. The reader sees only themes.txt.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
from pathlib import Path

from benchmarks import bench_bertopic as bb
from benchmarks import bench_bertopic_venue as bv
from pipeline.models import Theme
from pipeline.topics import cluster

SHOWN = 40
CONTROLS = 8
MIN_PAPERS = 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", type=int, choices=(1, 2), default=2)
    parser.add_argument("--subfield-papers", type=int, default=cluster.SUBFIELD_PAPERS)
    parser.add_argument("--out", type=Path, default=Path("reading"))
    args = parser.parse_args()
    papers, _ = bv.load_all((args.part,))
    vectors = bv.week_vectors(papers)
    ids = [p.paper_id for p in papers]
    texts, titles = [p.text for p in papers], [p.title for p in papers]
    title_of = dict(zip(ids, titles, strict=True))
    areas = bb.shipped_areas()

    def themes(cut: bool) -> list[Theme]:
        saved = cluster.SUBFIELD_PAPERS
        cluster.SUBFIELD_PAPERS = args.subfield_papers
        try:
            with contextlib.nullcontext() if cut else bb.unsplit():
                found, _ = cluster.find_themes(
                    ids, vectors, texts, seed=0, min_theme_size=3, max_themes=24, areas=areas,
                    titles=titles,
                )  # fmt: skip
        finally:
            cluster.SUBFIELD_PAPERS = saved
        return found

    new, old = themes(True), themes(False)
    old_sets = {frozenset(t.paper_ids) for t in old}
    new_sets = {frozenset(t.paper_ids) for t in new}
    rng = random.Random(17)
    same = [t for t in new if frozenset(t.paper_ids) in old_sets and len(t.paper_ids) >= MIN_PAPERS]
    items = [
        *[("new", t) for t in new if frozenset(t.paper_ids) not in old_sets],
        *[("old", t) for t in old if frozenset(t.paper_ids) not in new_sets],
    ]
    items = [(kind, t) for kind, t in items if len(t.paper_ids) >= MIN_PAPERS]
    items += [("same", t) for t in rng.sample(same, min(CONTROLS, len(same)))]
    rng.shuffle(items)
    text, key = [], []
    for k, (kind, theme) in enumerate(items, 1):
        shown = [title_of[p] for p in theme.paper_ids]
        drawn = len(shown) > SHOWN
        if drawn:
            shown = random.Random(k).sample(shown, SHOWN)
        note = f", {SHOWN} titles drawn at random" if drawn else ""
        text.append(
            f"## Theme {k}: {theme.label}  ({len(theme.paper_ids)} papers{note})\n"
            + "\n".join(f"    {t}" for t in shown)
            + "\n"
        )
        key.append(
            {"theme": k, "kind": kind, "name": theme.label, "n_papers": len(theme.paper_ids)}
        )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "themes.txt").write_text("\n".join(text), encoding="utf-8")
    (args.out / "key.json").write_text(json.dumps(key, indent=0) + "\n", encoding="utf-8")
    print(f"{len(items)} themes to {args.out / 'themes.txt'}")


if __name__ == "__main__":
    main()
