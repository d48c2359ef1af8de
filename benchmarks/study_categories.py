"""Would grouping "Other" by the authors' arXiv category read well? (issue 17)

    HF_HUB_OFFLINE=1 python -m benchmarks.study_categories [--seeds 41 53] [--reading F --key K]

The demo weeks' "Other" holds one-off subjects of many fields, which two readers grouped by
field by hand (`study_oracle`); a classifier of the field from the packaged embedding was too
imprecise for it (`study_fields`). arXiv papers carry their field: the categories their authors
chose. This clusters OAI 2016 slices of 700 papers as a build does, with the eight newcomer dev
topics (topics/newcomer-dev.toml) taking their papers first, so a third of each slice is gone as
on the demo weeks, then places each paper left in "Other" by `topics/categories.py` (the first
of its categories that names a field; a field with `categories.MIN_PAPERS` papers becomes a theme
named by it). Prints "Other" before and after and every group. `--reading` writes the new groups
of the slices mixed with as many of the build's own themes of the same slices (drawn at random,
seeded, from those of 12 papers or fewer; with `--any-size` from every size) for a blind reader,
numbered, names and titles only; `--key` says which was which.
`--papers` writes the papers a field joined to a theme of its name mixed with as many of those
themes' own papers (their key beside `--key`, `.papers.jsonl`). `--agreement`: whether the share
of a theme's papers in its commonest primary arXiv category predicts the readers' verdicts.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import bench_names
from benchmarks import eval_topics as ev
from benchmarks import study_meta_model as smm
from pipeline.config import load_settings
from pipeline.config.settings import ThemesSettings
from pipeline.topics import areas, categories

SLICES = 3
SIZE = 700


def listed_categories() -> dict[str, list[str]]:
    """Each OAI paper's categories in the record's order (the primary one first)."""
    with gzip.open(ev.CORPUS, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return {r["id"]: list(r["categories"]) for r in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[41, 53])
    parser.add_argument("--reading", type=Path)
    parser.add_argument("--key", type=Path)
    parser.add_argument(
        "--papers", type=Path, help="also: papers joined to a theme, and as many of its own"
    )
    parser.add_argument(
        "--any-size",
        action="store_true",
        help="draw the build's themes for --reading from every size (default: 12 papers or "
        "fewer, as in the twelfth round's readings)",
    )
    parser.add_argument(
        "--agreement",
        action="store_true",
        help="instead: how well the share of a theme's papers in its commonest primary arXiv "
        "category predicts the readers' coherence of this build's themes in the readings",
    )
    args = parser.parse_args()
    if args.agreement:
        agreement_study()
        return
    papers, _ = ev.load_corpus()
    listed = listed_categories()
    vectors = ev.load_vectors(papers, "all-MiniLM-L6-v2")
    defaults = ThemesSettings()
    row_of = {p.paper_id: i for i, p in enumerate(papers)}
    items: list[dict[str, Any]] = []

    def central(ids: list[str]) -> str:
        rows = np.array([row_of[p] for p in ids])
        return papers[int(areas.central_rows(vectors, rows, 1)[0])].paper_id

    for item, themes, other in slice_items(args.seeds):
        after, left = categories.group_by_category(
            other, listed, themes, min_size=defaults.min_theme_size, central=central
        )
        n, bg = len(item["ids"]), item["background_ids"]
        own = {t.theme_id for t in themes}
        new = [t for t in after if t.theme_id not in own]
        joined = sum(len(t.paper_ids) for t in after if t.theme_id in own) - sum(
            len(t.paper_ids) for t in themes
        )
        print(f"{item['name']}: {n} papers for themes ({len(bg)} taken by topics), "
              f"{len(themes)} themes; Other {len(other)} ({len(other) / n:.1%}) -> "
              f"{len(left)} ({len(left) / n:.1%}); {len(new)} category themes, "
              f"{joined} papers joined a theme of the field's name")  # fmt: skip
        for t in new:
            print(f"   {t.label} ({t.terms[0]}, {len(t.paper_ids)})")
        before = {t.theme_id: set(t.paper_ids) for t in themes}
        joins = [
            (t.label, pid, pid not in before[t.theme_id])
            for t in after
            if t.theme_id in own and len(t.paper_ids) > len(before[t.theme_id])
            for pid in t.paper_ids
        ]
        items.append({"slice": item["name"], "themes": themes, "new": new, "joins": joins})
    if args.reading:
        write_reading(items, papers, args.reading, args.key, any_size=args.any_size)
    if args.papers:
        write_papers(items, papers, args.papers, args.key)


def slice_items(seeds: Sequence[int]) -> Iterator[tuple[dict[str, Any], list[Any], list[str]]]:
    """Per slice of `seeds`: find_themes' input (the dev topics' papers as background), this
    build's themes and the ids left in "Other"."""
    papers, _ = ev.load_corpus()
    vectors = ev.load_vectors(papers, "all-MiniLM-L6-v2")
    store, embedder = smm.corpus_store(papers, vectors, "oai-cs-2016")
    settings = load_settings(ev.TOPIC_FILES["dev"])
    taken = ev.memberships(settings, store, embedder, papers, vectors).any(axis=1)
    store.close()
    vocabulary = bench_names.area_vocabulary()
    defaults = ThemesSettings()
    for seed in seeds:
        for k, rows in enumerate(bench_names._slices(len(papers), SLICES, SIZE, seed)):
            mine = [int(i) for i in rows if not taken[i]]
            bg = [int(i) for i in rows if taken[i]]
            name = f"oai slice {k + 1} (seed {seed})"
            item = bench_names.week_input(name, papers, vectors, mine, bg, defaults)
            themes, other = bench_names.item_themes(item, vocabulary, defaults.seed)
            yield item, themes, other


def agreement_study() -> None:
    """ROC AUC of a theme's primary-category agreement (and of its size) against "coherent",
    per reading, over this build's own themes the readers judged beside the category themes.
    (The themes are found with this checkout's code: a judged theme it no longer finds, by
    slice, name and size, drops out and is counted. cs.CY became a catch-all after the second
    reading, which changed only the category themes; the thirteenth round's field rule renamed
    one theme of the second reading.)"""
    from sklearn.metrics import roc_auc_score

    listed = listed_categories()
    themes = {
        (item["name"], theme.label, len(theme.paper_ids)): theme
        for item, found, _ in slice_items([431, 433, 457, 461, 463, 467, 479, 487, 503, 509, 521])
        for theme in found
    }
    for name in (
        "theme-categories-r12.jsonl",
        "theme-categories-r12-fresh.jsonl",
        "theme-categories-r12-third.jsonl",
        "theme-categories-r13.jsonl",
    ):
        path = ev.HERE / "labels" / name
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        rows = [r for r in rows if r.get("part", "group") == "group" and r["kind"] == "build"]
        coherent, share, size = [], [], []
        found = [(r, themes.get((r["slice"], r["heading"], r["n_papers"]))) for r in rows]
        lost = sum(theme is None for _, theme in found)
        for r, theme in found:
            if theme is None:
                continue
            firsts = Counter(listed[pid][0] for pid in theme.paper_ids)
            coherent.append(r["coherence"] == "coherent")
            share.append(firsts.most_common(1)[0][1] / len(theme.paper_ids))
            size.append(len(theme.paper_ids))
        y, x = np.array(coherent), np.array(share)
        print(f"{name}: {len(y)} judgements ({lost} of themes this checkout no longer finds "
              f"left out), {y.mean():.0%} coherent; AUC of the agreement "
              f"{roc_auc_score(y, x):.2f}, of the size {roc_auc_score(y, size):.2f}; coherent "
              f"with agreement < 0.5: {y[x < 0.5].mean():.0%} of {int((x < 0.5).sum())}, "
              f">= 0.5: {y[x >= 0.5].mean():.0%} of {int((x >= 0.5).sum())}")  # fmt: skip


def write_reading(items: list[dict[str, Any]], papers: list[Any], reading: Path,
                  key: Path | None, *, any_size: bool = False) -> None:  # fmt: skip
    """The new groups and as many of the build's themes (of 12 papers or fewer, or with
    `any_size` of every size), shuffled; names and titles only."""
    title = {p.paper_id: p.title for p in papers}
    rng = random.Random(2026)
    entries = []
    for item in items:
        entries += [(item["slice"], "category", t) for t in item["new"]]
        own = [t for t in item["themes"] if any_size or len(t.paper_ids) <= 12]
        drawn = rng.sample(own, min(len(own), len(item["new"])))
        entries += [(item["slice"], "build", t) for t in drawn]
    rng.shuffle(entries)
    lines, keys = [], []
    for n, (where, kind, t) in enumerate(entries, start=1):
        lines.append(f"## {n}. {t.label}\n")
        lines += [f"- {title[p]}" for p in t.paper_ids]
        lines.append("")
        keys.append({"item": n, "slice": where, "kind": kind, "label": t.label,
                     "n_papers": len(t.paper_ids)})  # fmt: skip
    reading.write_text("\n".join(lines), encoding="utf-8")
    if key is not None:
        key.write_text("".join(json.dumps(k) + "\n" for k in keys), encoding="utf-8")


def write_papers(items: list[dict[str, Any]], papers: list[Any], path: Path,
                 key: Path | None) -> None:  # fmt: skip
    """Each paper a field joined to a theme, and as many of that theme's own papers, shuffled:
    one line each, the heading and the title, for a reader to judge whether it belongs."""
    title = {p.paper_id: p.title for p in papers}
    rng = random.Random(2027)
    entries = []
    for item in items:
        joined = [(h, pid, "joined") for h, pid, new in item["joins"] if new]
        own = [(h, pid, "own") for h, pid, new in item["joins"] if not new]
        entries += joined + rng.sample(own, min(len(own), len(joined)))
    rng.shuffle(entries)
    lines = [f"{n}. [{h}] {title[pid]}" for n, (h, pid, _) in enumerate(entries, start=1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if key is not None:
        rows = [{"item": n, "heading": h, "paper_id": pid, "kind": kind}
                for n, (h, pid, kind) in enumerate(entries, start=1)]  # fmt: skip
        key.with_suffix(".papers.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8"
        )


if __name__ == "__main__":
    main()
