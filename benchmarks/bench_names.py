"""Discovered themes' names, old against new, side by side (issue 17, names part).

    make demo                      # once: fills data/demo/pipeline.sqlite3 with the vectors
    python -m benchmarks.bench_names [--ref main] [--store data/demo/pipeline.sqlite3]
        [--oai-slices 3] [--titles FILE] [--reading FILE] [--time]

Inputs: the papers no topic takes in each demo week (as `digest build` clusters them; the week's
other papers are the background), and `--oai-slices` random slices of 700 papers of the bundled
OAI 2016 corpus (`--slice-seed`, 17 by default; no topics: every paper is clustered; vectors
from benchmarks/.cache, embedded once). The demo weeks are where the naming rules were
developed; the OAI slices are held out (`--slice-seed 29 --unseen-after 17`: three more
slices of papers the seed-17 slices do not hold, for a second reading; `--slice-seed 41
--unseen-after 17 29` for a third).

Each input is clustered by `cluster.find_themes` twice (with this checkout's research areas,
topics/areas.py, where the pipeline takes them): once with the pipeline of git `--ref`
(exported with `git archive` into a temporary folder, run in a subprocess) and once with this
checkout's. Themes are paired by shared papers; for each pair the old and new names, the theme's
size and each name's fit (`labels.describes` on all its papers) are printed, then per input the
share of papers in "Other" and the count of names fitting at least `labels.NAME_FIT`. `--time`
times `labels.name_groups` inside find_themes on a 3,000-paper OAI input (median of 5) with both
pipelines. `--titles FILE` writes each new theme's titles beside both names, for reading;
`--reading FILE` writes them under the new name only, numbered, for a blind reader.
"""

from __future__ import annotations

import argparse
import json
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
WEEKS = ("2025-W23", "2025-W24", "2025-W25")
SLICE_SIZE = 700
SLICE_SEED = 17
TIME_SIZE = 3000

#: Run in a subprocess with the pipeline to measure first on sys.path: cluster the inputs,
#: time name_groups, write the themes.
_RUNNER = """
import inspect, pickle, sys, time
import numpy as np
from pipeline.topics import cluster, labels
spent = []
def timed(*args, **kwargs):
    start = time.perf_counter()
    try:
        return original(*args, **kwargs)
    finally:
        spent.append(time.perf_counter() - start)
original = cluster.name_groups
cluster.name_groups = timed
inputs = pickle.load(open(sys.argv[1], "rb"))
# Revisions that group the whole week take the taken papers' ids (cluster.find_themes).
whole_week = "background_ids" in inspect.signature(cluster.find_themes).parameters
# Revisions that name themes by research area take the areas' names and vectors.
by_area = "areas" in inspect.signature(cluster.find_themes).parameters
out = []
for item in inputs:
    spent.clear()
    extra = {"background_ids": item["background_ids"]} if whole_week else {}
    # Revisions that name a group from its whole (taken papers included) take their titles too.
    if "background_titles" in inspect.signature(cluster.find_themes).parameters:
        extra["background_titles"] = item["background_titles"]
    if by_area:
        from pipeline.topics import areas as area_module
        names = area_module.area_names()
        vectors = item["area_vectors"]
        # Revisions that widen a too-narrow area name to its field take the fields too.
        fields = getattr(area_module, "area_fields", dict)()
        # ...and those that name a theme by a broad area take the broad areas.
        broad = getattr(area_module, "broad_areas", frozenset)()
        extra["areas"] = area_module.Areas(names, np.stack([vectors[n] for n in names]),
                                           **({"fields": fields} if fields else {}),
                                           **({"broad": broad} if broad else {}))
    themes, other = cluster.find_themes(
        item["ids"], item["vectors"], item["texts"], seed=0,
        min_theme_size=item["min_theme_size"], max_themes=item["max_themes"],
        background=item["background"], background_vectors=item["background_vectors"],
        titles=item["titles"], **extra,
    )
    texts = dict(zip(item["ids"], item["texts"]))
    out.append({
        "themes": [
            (t.label, list(t.paper_ids),
             labels.describes([t.label], [texts[p] for p in t.paper_ids]))
            for t in themes
        ],
        "terms": [list(t.terms) for t in themes],
        "other": list(other),
        "naming_s": sum(spent),
        "name_fit": labels.NAME_FIT,
    })
pickle.dump(out, open(sys.argv[2], "wb"))
"""


def demo_inputs(store: Path, *, june: str = "") -> list[dict[str, Any]]:
    """Per demo week: the papers no topic of examples/demo.toml takes, and the rest.

    `june` "topics" or "none": the three weeks' papers as one week (all 807 bundled arXiv
    papers of June 2025, about twice the busiest demo week), with the demo's topics taking
    theirs first or with no topics."""
    from pipeline import run
    from pipeline.config import load_settings
    from pipeline.run.week import load_week

    now = datetime(2025, 6, 21, tzinfo=UTC)
    inputs = []
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "data").mkdir()
        shutil.copy(store, Path(tmp) / "data/pipeline.sqlite3")
        text = (ROOT / "examples/demo.toml").read_text(encoding="utf-8")
        text = text.replace('"../data/demo"', f'"{Path(tmp) / "data"}"').replace(
            'url = "data/', f'url = "{ROOT / "examples/data"}/'
        )
        (Path(tmp) / "config.toml").write_text(text, encoding="utf-8")
        settings = load_settings(Path(tmp) / "config.toml")
        embedder = run.make_embedder(settings)
        with run.open_store(settings) as opened:
            weeks = [load_week(opened, embedder, week, now=now)[0] for week in WEEKS]
            parts = [(list(w.papers), w.vectors) for w in weeks]
            if june:
                parts = [
                    ([p for w in weeks for p in w.papers], np.vstack([w.vectors for w in weeks]))
                ]
            for week, (papers, vectors) in zip(WEEKS, parts, strict=False):
                _, _, assignments = run.assign_papers(
                    settings,
                    opened,
                    embedder,
                    papers,
                    vectors,
                    settings.topics_as_models() if june != "none" else [],
                    now=now,
                )
                rows = [i for i, a in enumerate(assignments) if a.primary is None]
                rest = [i for i in range(len(papers)) if i not in set(rows)]
                name = f"demo June 2025 ({june} topics)" if june else f"demo {week}"
                inputs.append(week_input(name, papers, vectors, rows, rest, settings.themes))
    return inputs


def week_input(name: str, papers: Sequence[Any], vectors: np.ndarray, rows: Sequence[int],
               rest: Sequence[int], themes: Any) -> dict[str, Any]:  # fmt: skip
    """One input of find_themes as a build makes it: the papers at `rows` (no topic took them)
    with the rest of the week as background; `themes`: the [themes] settings."""
    return {
        "name": name,
        "ids": [papers[i].paper_id for i in rows],
        "vectors": vectors[list(rows)],
        "texts": [papers[i].text for i in rows],
        "titles": [papers[i].title for i in rows],
        "background": [papers[i].text for i in rest],
        "background_vectors": vectors[list(rest)],
        "background_ids": [papers[i].paper_id for i in rest],
        "background_titles": [papers[i].title for i in rest],
        "min_theme_size": themes.min_theme_size,
        "max_themes": themes.max_themes,
    }


def oai_inputs(
    n_slices: int,
    size: int,
    seed: int = SLICE_SEED,
    *,
    unseen_after: Sequence[int] = (),
    categories: Collection[str] = (),
    unseen_slices: int | None = None,
) -> list[dict[str, Any]]:
    """`n_slices` random slices of `size` OAI 2016 papers (seed `seed`), all clustered. With
    `unseen_after`, only papers that no slice drawn with those seeds holds: another held-out
    reading on papers the earlier ones did not show. With `categories`, only papers listed in
    one of these arXiv categories (cross-lists included, as a subscriber to those listings
    gets them), drawn after the earlier slices are set aside. The earlier readings drew
    `unseen_slices` slices of SLICE_SIZE each (default: `n_slices` of `size`)."""
    from benchmarks import eval_topics
    from pipeline.config.settings import ThemesSettings

    if n_slices < 1:
        return []
    papers, listed = eval_topics.load_corpus()
    vectors = eval_topics.load_vectors(papers, "all-MiniLM-L6-v2")
    pool = np.arange(len(papers))
    for earlier in unseen_after:  # each earlier reading drew from the papers left before it
        drawn = (n_slices, size) if unseen_slices is None else (unseen_slices, SLICE_SIZE)
        pool = np.setdiff1d(pool, pool[np.concatenate(_slices(len(pool), *drawn, earlier))])
    if categories:
        pool = np.array([i for i in pool if listed[i] & set(categories)], dtype=int)
    defaults = ThemesSettings()
    inputs = []
    for k, rows in enumerate(_slices(len(pool), n_slices, size, seed)):
        rows = pool[rows]
        inputs.append(
            {
                "name": f"oai slice {k + 1} ({size}, seed {seed})"
                + (f" of {'/'.join(sorted(categories))}" if categories else ""),
                "ids": [papers[i].paper_id for i in rows],
                "vectors": vectors[rows],
                "texts": [papers[i].text for i in rows],
                "titles": [papers[i].title for i in rows],
                "background": [],
                "background_vectors": np.zeros((0, vectors.shape[1]), dtype=np.float32),
                "background_ids": [],
                "background_titles": [],
                "min_theme_size": defaults.min_theme_size,
                "max_themes": defaults.max_themes,
            }
        )
    return inputs


def area_vectors() -> dict[str, np.ndarray]:
    """Each research-area name of this checkout's vocabulary → its vector (the demo's model)."""
    from pipeline import run
    from pipeline.config import load_settings
    from pipeline.topics.areas import area_names

    names = list(area_names())
    embedder = run.make_embedder(load_settings(ROOT / "examples/demo.toml"))
    return dict(zip(names, embedder.embed(names), strict=True))


def area_vocabulary() -> Any:
    """This checkout's research areas as find_themes takes them (topics/areas.Areas)."""
    from pipeline.topics import areas as areas_mod

    vectors = area_vectors()
    return areas_mod.Areas(
        tuple(vectors),
        np.stack(list(vectors.values())),
        areas_mod.area_fields(),
        areas_mod.broad_areas(),
    )


def item_themes(item: dict[str, Any], areas: Any, seed: int) -> tuple[list[Any], list[str]]:
    """find_themes on one input (`demo_inputs`, `oai_inputs`) as a build runs it: the themes
    and the ids left in "Other"."""
    from pipeline.topics import cluster

    extra: dict[str, Any] = {}
    if item["background_ids"]:
        extra = {key: item[key] for key in BACKGROUND_KEYS}
    return cluster.find_themes(
        item["ids"], np.asarray(item["vectors"], dtype=np.float32), item["texts"], seed=seed,
        min_theme_size=item["min_theme_size"], max_themes=item["max_themes"],
        titles=item["titles"], areas=areas, **extra,
    )  # fmt: skip


#: An input's papers the topics took: grouped with the others, never shown (find_themes).
BACKGROUND_KEYS = ("background", "background_vectors", "background_ids", "background_titles")


def _slices(n: int, n_slices: int, size: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.sort(rng.choice(n, size, replace=False)) for _ in range(n_slices)]


def run_pipeline(source: Path, inputs: Sequence[dict[str, Any]], tmp: Path) -> list[Any]:
    """find_themes on every input with the pipeline package found in `source`."""
    given, taken = tmp / "inputs.pickle", tmp / f"out-{abs(hash(source))}.pickle"
    with given.open("wb") as f:
        pickle.dump(list(inputs), f)
    env = {"PYTHONPATH": str(source), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    subprocess.run(
        [sys.executable, "-c", _RUNNER, str(given), str(taken)], check=True, env=env, cwd=source
    )
    with taken.open("rb") as f:
        result: list[Any] = pickle.load(f)
    return result


def export(ref: str, tmp: Path) -> Path:
    """The `pipeline` package (and its data) as of git `ref`, in a folder of its own."""
    folder = tmp / "ref"
    folder.mkdir()
    archive = subprocess.run(
        ["git", "archive", ref, "pipeline"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def paired(old: Sequence[Any], new: Sequence[Any]) -> list[tuple[int | None, int | None]]:
    """Old and new themes paired one-to-one by shared papers, largest overlap first."""
    overlap = Counter(
        (a, b)
        for a, (_, ids_a, _) in enumerate(old)
        for b, (_, ids_b, _) in enumerate(new)
        for _ in set(ids_a) & set(ids_b)
    )
    pairs: list[tuple[int | None, int | None]] = []
    used_a: set[int] = set()
    used_b: set[int] = set()
    for (a, b), _ in sorted(overlap.items(), key=lambda kv: (-kv[1], kv[0])):
        if a not in used_a and b not in used_b:
            pairs.append((a, b))
            used_a.add(a)
            used_b.add(b)
    pairs += [(a, None) for a in range(len(old)) if a not in used_a]
    pairs += [(None, b) for b in range(len(new)) if b not in used_b]
    return sorted(pairs, key=lambda p: -len(new[p[1]][1] if p[1] is not None else old[p[0]][1]))


def report(inputs: Sequence[dict[str, Any]], old: Sequence[Any], new: Sequence[Any]) -> list[str]:
    """Print the side-by-side table; return the titles listing for --titles."""
    listing = []
    for item, before, after in zip(inputs, old, new, strict=True):
        n = len(item["ids"])
        fit = after["name_fit"]
        print(f"\n# {item['name']}: {n} papers")
        for a, b in paired(before["themes"], after["themes"]):
            left = before["themes"][a] if a is not None else ("—", [], 0.0)
            right = after["themes"][b] if b is not None else ("—", [], 0.0)
            print(
                f"  {left[0]:<45.45} {len(left[1]):>3} {left[2]:.2f} | "
                f"{right[0]:<45.45} {len(right[1]):>3} {right[2]:.2f}"
            )
            if b is not None:
                titles = dict(zip(item["ids"], item["titles"], strict=True))
                listing.append(f"\n## {item['name']}: {right[0]}  (was: {left[0]})")
                listing.extend(f"    {titles[p]}" for p in right[1])
        for label, result in (("old", before), ("new", after)):
            fits = sum(1 for _, _, f in result["themes"] if f >= fit)
            print(
                f"  {label}: {len(result['themes'])} themes, {fits} names fit ≥ {fit:.0%} of their"
                f" papers, Other {len(result['other']) / n:.1%}, naming {result['naming_s']:.2f} s"
            )
    return listing


def reading(inputs: Sequence[dict[str, Any]], new: Sequence[Any]) -> str:
    """This checkout's themes as a blind reader gets them: numbered, a name and its titles."""
    lines = ["# Discovered themes of one week of arXiv papers", ""]
    item = 0
    for given, found in zip(inputs, new, strict=True):
        titles = dict(zip(given["ids"], given["titles"], strict=True))
        for name, ids, _ in found["themes"]:
            item += 1
            lines.append(f"## Item {item}: {name}  ({len(ids)} papers)")
            lines += [f"- {titles[p]}" for p in ids]
            lines.append("")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="main", help="git revision of the 'old' names")
    parser.add_argument("--store", type=Path, default=ROOT / "data/demo/pipeline.sqlite3")
    parser.add_argument("--oai-slices", type=int, default=3)
    parser.add_argument("--slice-seed", type=int, default=SLICE_SEED)
    parser.add_argument(
        "--unseen-after",
        type=int,
        nargs="*",
        default=[],
        help="draw only papers the slices of these seeds (in order) do not hold",
    )
    parser.add_argument("--no-demo", action="store_true", help="only the OAI slices")
    parser.add_argument("--slice-size", type=int, default=SLICE_SIZE)
    parser.add_argument(
        "--unseen-slices",
        type=int,
        help=f"how many slices of {SLICE_SIZE} the --unseen-after readings drew "
        "(default: --oai-slices of --slice-size)",
    )
    parser.add_argument(
        "--categories",
        default="",
        help="comma-separated arXiv categories: slices of the papers listed in one of them",
    )
    parser.add_argument(
        "--june",
        choices=("topics", "none"),
        default="",
        help="instead of the demo weeks, all their papers as one week, with the demo's "
        "topics or none",
    )
    parser.add_argument("--titles", type=Path, help="write each new theme's titles here")
    parser.add_argument(
        "--reading",
        type=Path,
        help="write each new theme's name and titles here, numbered, for a blind reader",
    )
    parser.add_argument(
        "--json", type=Path, help="write both runs' names, key phrases and themes' papers here"
    )
    parser.add_argument("--time", action="store_true", help="time naming on 3,000 papers")
    args = parser.parse_args()
    inputs = [] if args.no_demo else demo_inputs(args.store, june=args.june)
    inputs += oai_inputs(
        args.oai_slices,
        args.slice_size,
        args.slice_seed,
        unseen_after=args.unseen_after,
        categories=[c for c in args.categories.split(",") if c],
        unseen_slices=args.unseen_slices,
    )
    vectors = area_vectors()
    for item in inputs:
        item["area_vectors"] = vectors
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        source = export(args.ref, tmp)
        old, new = run_pipeline(source, inputs, tmp), run_pipeline(ROOT, inputs, tmp)
        listing = report(inputs, old, new)
        if args.time:
            big = oai_inputs(1, TIME_SIZE)
            times = {"old": [], "new": []}
            for _ in range(5):
                times["old"].append(run_pipeline(source, big, tmp)[0]["naming_s"])
                times["new"].append(run_pipeline(ROOT, big, tmp)[0]["naming_s"])
            print(
                f"\nname_groups on {TIME_SIZE} OAI papers, median of 5 (runs "
                f"interleaved): old {statistics.median(times['old']):.2f} s "
                f"{times['old']}, new {statistics.median(times['new']):.2f} s {times['new']}"
            )
    if args.titles:
        args.titles.write_text("\n".join(listing) + "\n", encoding="utf-8")
    if args.reading:
        args.reading.write_text(reading(inputs, new), encoding="utf-8")
    if args.json:
        names = [
            {
                "input": i["name"],
                "old": [t[0] for t in o["themes"]],
                "new": [t[0] for t in n["themes"]],
                "old_terms": o.get("terms", []),
                "new_terms": n.get("terms", []),
                "old_papers": [sorted(t[1]) for t in o["themes"]],
                "new_papers": [sorted(t[1]) for t in n["themes"]],
            }
            for i, o, n in zip(inputs, old, new, strict=True)
        ]
        args.json.write_text(json.dumps(names, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
