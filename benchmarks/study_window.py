"""Would clustering a sparse week together with the weeks before it help? (issue 17)

    make demo                      # once: fills data/demo/pipeline.sqlite3 with the vectors
    python -m benchmarks.study_window [--min-shown 3]

The demo weeks are sparse (114 / 420 / 273 papers) and read 59 % coherent with about a fifth
of their themed papers in "Other"; all 807 of their papers as one week read 74 % coherent with
6.7 % in "Other" (benchmarks/README.md, tenth round). Issue 17 suggests anchoring themes in
the store's history. This clusters each demo week as `digest build` does, once alone and once
with every earlier demo week's papers added as context (grouped with the week's papers, never
shown: `cluster.find_themes`' background, as the papers the topics take already are), and
prints each week's themes and "Other" side by side. `--min-shown N` also shows a group with N
or more of the week's papers when the group as a whole has `min_theme_size` (as a two-paper
theme "with 7 over three weeks").
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import bench_names
from pipeline.config import load_settings
from pipeline.topics import cluster

ROOT = Path(__file__).resolve().parent.parent


def _shown_from(min_shown: int) -> Any:
    """cluster._shown, but a group needs only `min_shown` papers of the week when it has
    `min_theme_size` with its context."""

    def shown(
        x: np.ndarray, groups: list[np.ndarray], whole: list[np.ndarray], *, min_theme_size: int
    ) -> tuple[list[np.ndarray], list[np.ndarray], list[int]]:
        can = [
            len(g) >= min_shown
            and len(w) >= min_theme_size
            and cluster.cohesion(x[g]) >= cluster.MIN_COHESION
            for g, w in zip(groups, whole, strict=True)
        ]
        kept = [g for g, ok in zip(groups, can, strict=True) if ok]
        rest = [int(i) for g, ok in zip(groups, can, strict=True) if not ok for i in g]
        return kept, [w for w, ok in zip(whole, can, strict=True) if ok], rest

    return shown


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=ROOT / "data/demo/pipeline.sqlite3")
    parser.add_argument("--min-shown", type=int, default=0, help="see the module docstring")
    args = parser.parse_args(argv)
    vocabulary = bench_names.area_vocabulary()
    seed = load_settings(ROOT / "examples/demo.toml").themes.seed
    if args.min_shown:
        cluster._shown = _shown_from(args.min_shown)  # type: ignore[assignment]
    inputs = bench_names.demo_inputs(args.store)
    for k, item in enumerate(inputs):
        for window in (False, True):
            context = {
                "background": list(item["background"]),
                "background_vectors": np.asarray(item["background_vectors"]),
                "background_ids": list(item["background_ids"]),
                "background_titles": list(item["background_titles"]),
            }
            for earlier in inputs[:k] if window else []:
                context["background"] += earlier["texts"] + earlier["background"]
                context["background_ids"] += earlier["ids"] + earlier["background_ids"]
                context["background_titles"] += earlier["titles"] + earlier["background_titles"]
                context["background_vectors"] = np.vstack(
                    [context["background_vectors"], earlier["vectors"],
                     earlier["background_vectors"]]
                )  # fmt: skip
            themes, other = cluster.find_themes(
                item["ids"], item["vectors"], item["texts"], seed=seed,
                min_theme_size=item["min_theme_size"], max_themes=item["max_themes"],
                titles=item["titles"], areas=vocabulary, **context,
            )  # fmt: skip
            n = len(item["ids"])
            label = "with earlier weeks" if window else "alone"
            print(
                f"{item['name']} {label}: {n} papers for themes, context "
                f"{len(context['background_ids'])}, {len(themes)} themes, "
                f"Other {len(other)} ({len(other) / n:.1%})"
            )
            for theme in themes:
                print(f"   {len(theme.paper_ids):3d} {theme.label}")


if __name__ == "__main__":
    main()
