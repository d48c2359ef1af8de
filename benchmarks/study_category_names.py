"""Would a phrase-named theme read better under its papers' arXiv category? (issue 17)

    HF_HUB_OFFLINE=1 python -m benchmarks.study_category_names [--seeds 541 547 557]
        [--reading F --key K]

The thirteenth round's reading found this build's theme names fitting most titles 56 % of the
time on arXiv slices, the category themes' names 92 %. Many of the build's themes are named by
their own phrases ("Code", "Graph and tight lower bound") though most of their papers share an
arXiv category. This builds OAI 2016 slices as `study_categories` does (700 papers, the newcomer
dev topics taking their papers first, the category step on) and lists each theme whose name is
made of its phrases (not an area, field or broad area of the vocabulary, not a category's name)
and of whose papers at least AGREEMENT share their first field category (`categories.field_of`):
the candidate is that category's name, unless another theme of the slice bears it (then none);
two themes that would take one name leave it to the larger. `--reading` writes every candidate
with both headings in random order (names and titles only), `--key` which heading was which;
with `--as-shown`, each heading of a theme among the `max_themes` largest is followed by the
caption a digest prints under it (its key phrases), as the digest shows it.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks import bench_names
from benchmarks import eval_topics as ev
from benchmarks.study_categories import listed_categories, slice_items
from pipeline.config.settings import ThemesSettings
from pipeline.topics import categories

#: Share of a theme's papers whose first field category must be the same.
AGREEMENT = 0.5


def candidates(themes: Sequence[Any], listed: dict[str, list[str]], vocabulary: Any) -> list[
        tuple[Any, str]]:  # fmt: skip
    """(theme, category name) for each phrase-named theme of one slice that one category's
    papers make at least AGREEMENT of."""
    names = categories.category_names()
    by_area = vocabulary.theme_names()
    taken = {t.label.casefold() for t in themes}
    found: dict[str, tuple[Any, str]] = {}
    for theme in sorted(themes, key=lambda t: (-len(t.paper_ids), t.theme_id)):
        if theme.label in by_area or theme.label in names.values():
            continue
        fields = Counter(categories.field_of(listed.get(pid, ())) for pid in theme.paper_ids)
        fields.pop(None, None)
        if not fields:
            continue
        code, n = fields.most_common(1)[0]
        name = names[code]
        if n / len(theme.paper_ids) >= AGREEMENT and name.casefold() not in taken:
            found.setdefault(name, (theme, name))  # the larger theme keeps a shared name
    return list(found.values())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[541, 547, 557])
    parser.add_argument("--reading", type=Path)
    parser.add_argument("--key", type=Path)
    parser.add_argument(
        "--as-shown",
        action="store_true",
        help="under each heading, the caption a digest prints for a theme among the "
        "max_themes largest (its key phrases), as the digest shows it",
    )
    args = parser.parse_args(argv)
    listed = listed_categories()
    vocabulary = bench_names.area_vocabulary()
    papers, _ = ev.load_corpus()
    title = {p.paper_id: p.title for p in papers}
    items: list[tuple[str, Any, str, bool]] = []
    for item, themes, _ in slice_items(args.seeds):
        by_size = sorted(themes, key=lambda t: (-len(t.paper_ids), t.theme_id))
        full = {t.theme_id for t in by_size[: ThemesSettings().max_themes]}
        found = candidates(themes, listed, vocabulary)
        phrase_named = sum(t.label not in vocabulary.theme_names() for t in themes)
        print(f"{item['name']}: {len(themes)} themes, {phrase_named} not named by an area or "
              f"field, {len(found)} with a dominant category")  # fmt: skip
        for theme, name in found:
            print(f"   {theme.label!r} -> {name!r} ({len(theme.paper_ids)} papers)")
            items.append((item["name"], theme, name, theme.theme_id in full))
    if args.reading:
        rng = random.Random(2028)
        rng.shuffle(items)
        lines, keys = [], []
        for n, (where, theme, name, shown_full) in enumerate(items, start=1):
            a, b = (theme.label, name) if rng.random() < 0.5 else (name, theme.label)
            lines += [f"## Item {n}", ""]
            if args.as_shown and shown_full:
                size = len(theme.paper_ids)
                caption = (
                    f"*Discovered theme · {size} papers · key phrases: {', '.join(theme.terms)}*"
                )
                lines += [
                    f"- Heading A: {a}",
                    f"  {caption}",
                    f"- Heading B: {b}",
                    f"  {caption}",
                    "",
                ]
            else:
                lines += [f"- Heading A: {a}", f"- Heading B: {b}", ""]
            lines += [f"  - {title[p]}" for p in theme.paper_ids] + [""]
            keys.append({"item": n, "slice": where, "n_papers": len(theme.paper_ids),
                         "phrase": theme.label, "category": name, "full": shown_full,
                         "A": "phrase" if a == theme.label else "category"})  # fmt: skip
        args.reading.write_text("\n".join(lines), encoding="utf-8")
        if args.key:
            args.key.write_text("".join(json.dumps(k) + "\n" for k in keys), encoding="utf-8")


if __name__ == "__main__":
    main()
