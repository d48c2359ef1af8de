"""Discovered themes on the demo weeks (issue 17): size of "Other", cohesion, and how many papers
move to another theme when one topic is added to the config.

    make demo                      # once: fills data/demo/pipeline.sqlite3 with the vectors
    python -m benchmarks.bench_themes [--store data/demo/pipeline.sqlite3] [--titles FILE]
    python -m benchmarks.bench_themes --topics benchmarks/topics/added-heldout-2

For each demo week: the papers no topic takes are clustered as `digest build` does; then again
with examples/demo.toml plus a "Speech and audio" topic (the edit of issue 17), on the same store,
so that the second build starts from the first as a user's rebuild after the edit does
(topics/anchor.py; `--fresh`: each config on its own copy of the store, grouped afresh, as every
build was before round 27). A paper counts as
regrouped when its theme under the second config is not the one its first theme mapped to (old
and new themes paired one-to-one by shared papers, "Other" included). A paired theme whose name
changed is a rename: with a reason when it gave papers to or took papers from another section,
without one when only its name changed (issue 17 counts only the latter as moves). `--topics
DIR` adds each `*.toml` of DIR alone (topics written as a newcomer writes them) and sums issue
17's count per (topic, week): papers regrouped plus those of themes renamed without reason, and
the cells where that passes 5 % of the other papers (the clause). `--titles`
writes every theme's titles, the file benchmarks/labels/theme-judgements.jsonl was judged from.
Reads a copy of the store; writes nothing else.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from pipeline import run
from pipeline.config import Settings, load_settings
from pipeline.models import Theme
from pipeline.run import scoring
from pipeline.run.week import load_week
from pipeline.topics import anchor, cluster, labels
from pipeline.tune.topics import pair_by_overlap

ROOT = Path(__file__).resolve().parent.parent
WEEKS = ("2025-W23", "2025-W24", "2025-W25")
SPEECH_TOPIC = '''
[[topics]]
slug = "speech"
name = "Speech and audio"
description = """
We propose a model for speech and audio: automatic speech recognition, text-to-speech \\
synthesis, speaker diarization, spoken language models, music generation and music information \\
retrieval, audio captioning and sound event detection, evaluated on word error rate, MOS and \\
audio quality."""
keywords = ["speech recognition", "text-to-speech", "speaker", "audio", "music", "ASR", "TTS"]
'''


def week_themes(
    settings: Settings, week: str, *, keep: bool = False
) -> tuple[dict[str, str], list[Theme], dict[str, str], list[dict[str, object]]]:
    """Each unassigned paper's theme id ('other' for Other), the themes, every paper's title,
    and per theme its name, size, cohesion and the share of its papers the name fits.

    Anchored in the week's last builds kept in the store, as `digest build` is; `keep`: keep
    this one as the newest, as `digest build` does."""
    now = datetime(2025, 6, 21, tzinfo=UTC)
    embedder = run.make_embedder(settings)
    with run.open_store(settings) as store:
        loaded, _ = load_week(store, embedder, week, now=now)
        papers = list(loaded.papers)
        topics = settings.topics_as_models()
        _, _, assignments = run.assign_papers(
            settings, store, embedder, papers, loaded.vectors, topics, now=now
        )
        areas = run.area_vectors(settings, store, embedder, now=now)
        rest = [i for i, a in enumerate(assignments) if a.primary is None]
        key = scoring.make_anchor_key(settings, loaded, areas)
        last = scoring.get_kept_builds(store, loaded, key)
        themes, other = run.find_week_themes(settings, loaded, rest, areas=areas, last=last)
        if keep:
            untaken = [papers[i].paper_id for i in rest]
            built = anchor.placed([p.paper_id for p in papers], untaken, themes)
            scoring.save_kept_build(store, loaded, key, built, last)
    where = {pid: t.theme_id for t in themes for pid in t.paper_ids}
    where.update({pid: "other" for pid in other})
    rows = []
    for theme in themes:
        at = [loaded.index[pid] for pid in theme.paper_ids]
        texts = [papers[i].text for i in at]
        rows.append(
            {
                "week": week,
                "label": theme.label,
                "n_papers": len(at),
                "cohesion": round(cluster.cohesion(loaded.vectors[at]), 3),
                "name_fit": round(labels.describes([theme.label], texts), 2),
            }
        )
    return where, themes, {p.paper_id: p.title for p in papers}, rows


def regrouped(before: Mapping[str, str], after: Mapping[str, str]) -> tuple[int, int]:
    """Papers in both partitions whose group changed, after pairing groups by overlap; total."""
    common = sorted(set(before) & set(after))
    pairs = pair_by_overlap(before, after)
    return sum(1 for p in common if pairs.get(before[p]) != after[p]), len(common)


def renames(
    before: Mapping[str, str],
    after: Mapping[str, str],
    names_before: Mapping[str, str],
    names_after: Mapping[str, str],
) -> tuple[int, int]:
    """Papers of themes paired by overlap whose name changed: (with a reason: the theme gave
    papers to or took papers from another section, without one: only the name changed)."""
    pairs = pair_by_overlap(before, after)
    reason = no_reason = 0
    for old, new in pairs.items():
        if old == "other" or names_before.get(old) == names_after.get(new):
            continue
        stay = sum(1 for p in before if before[p] == old and after.get(p) == new)
        changed = any(before[p] == old for p in before if after.get(p) != new) or any(
            after[p] == new for p in after if before.get(p) != old
        )
        if changed:
            reason += stay
        else:
            no_reason += stay
    return reason, no_reason


@dataclasses.dataclass
class WeekChange:
    """One demo week under the two configs: each paper's theme, the themes, and the moves."""

    before: dict[str, str]
    themes: list[Theme]
    titles: dict[str, str]
    rows: list[dict[str, object]]
    after: dict[str, str]
    moved: int
    common: int
    renamed_with_reason: int
    renamed_without_reason: int


def week_change(settings: Mapping[str, Settings], week: str) -> WeekChange:
    """`week` built under settings["demo"] and settings["added"], compared."""
    before, themes, titles, rows = week_themes(settings["demo"], week, keep=True)
    after, themes_after, _, _ = week_themes(settings["added"], week)
    moved, common = regrouped(before, after)
    reason, no_reason = renames(
        before,
        after,
        {t.theme_id: t.label for t in themes},
        {t.theme_id: t.label for t in themes_after},
    )
    return WeekChange(before, themes, titles, rows, after, moved, common, reason, no_reason)


def configs(store: Path, folder: Path, added: str, *, fresh: bool = False) -> dict[str, Settings]:
    """examples/demo.toml, and it with `added` appended, on one copy of `store` (the edit of
    a config built before: the second is anchored in the first's builds) or, `fresh`, each on
    its own copy (the second found afresh, as a new store would)."""
    demo = (ROOT / "examples/demo.toml").read_text(encoding="utf-8")
    found = {}
    for name, text in (("demo", demo), ("added", demo + "\n" + added)):
        (folder / name / "data").mkdir(parents=True)
        shutil.copy(store, folder / name / "data/pipeline.sqlite3")
        data = folder / (name if fresh else "demo") / "data"
        text = text.replace('"../data/demo"', f'"{data}"').replace(
            'url = "data/', f'url = "{ROOT / "examples/data"}/'
        )
        (folder / name / "config.toml").write_text(text, encoding="utf-8")
        found[name] = load_settings(folder / name / "config.toml")
    return found


def summarise(store: Path, topics: list[Path], *, fresh: bool = False) -> None:
    """Each topic file added alone on each demo week: issue 17's moves, and the totals."""
    moved_all = common_all = 0
    over: list[str] = []
    shown: set[str] = set()
    for topic in topics:
        with tempfile.TemporaryDirectory() as tmp:
            settings = configs(store, Path(tmp), topic.read_text(encoding="utf-8"), fresh=fresh)
            for week in WEEKS:
                change = week_change(settings, week)
                before, after = change.before, change.after
                if week not in shown:
                    shown.add(week)
                    n_other = sum(1 for v in before.values() if v == "other")
                    print(f"{week} as configured: {len(change.themes)} themes, Other {n_other} "
                          f"of {len(before)} ({n_other / max(len(before), 1):.1%})")  # fmt: skip
                moved, common = change.moved, change.common
                no_reason = change.renamed_without_reason
                share = (moved + no_reason) / max(common, 1)
                moved_all += moved + no_reason
                common_all += common
                cell = f"{topic.stem} {week}"
                if share > 0.05:
                    over.append(f"{cell} ({moved + no_reason} of {common})")
                print(f"{cell}: {len(set(before) - set(after))} taken, {moved} of {common} others "
                      f"regrouped, {no_reason} renamed without reason: {share:.1%}")  # fmt: skip
    cells = len(topics) * len(WEEKS)
    print(f"all: {moved_all} of {common_all} other papers moved "
          f"({moved_all / max(common_all, 1):.1%}); {len(over)} of {cells} (topic, week) cells "
          f"over 5 %{': ' + ', '.join(over) if over else ''}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=ROOT / "data/demo/pipeline.sqlite3")
    parser.add_argument("--titles", type=Path, help="write each theme's titles here")
    parser.add_argument(
        "--topic", type=Path, help="a file with the [[topics]] table to add (default: SPEECH_TOPIC)"
    )
    parser.add_argument(
        "--json", type=Path, help="write one line per theme: week, name, size, cohesion, name fit"
    )
    parser.add_argument(
        "--topics", type=Path, help="a folder of [[topics]] files, each added alone; sums the moves"
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="build the second config on its own copy of the store, not anchored in the first's"
        " builds (before round 27 every build was found afresh)",
    )
    args = parser.parse_args()
    if not args.store.is_file():
        parser.error(f"no store at {args.store}: run `make demo` first, or pass --store")
    if args.topics:
        summarise(args.store, sorted(args.topics.glob("*.toml")), fresh=args.fresh)
        return
    lines = []
    records: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        added = args.topic.read_text(encoding="utf-8") if args.topic else SPEECH_TOPIC
        settings = configs(args.store, Path(tmp), added, fresh=args.fresh)
        for week in WEEKS:
            change = week_change(settings, week)
            before, after, themes = change.before, change.after, change.themes
            moved, common = change.moved, change.common
            records.extend(change.rows)
            n_other = sum(1 for v in before.values() if v == "other")
            print(
                f"{week}: {len(change.titles)} papers, {len(before)} to themes, {len(themes)} "
                f"themes, Other {n_other} ({n_other / max(len(before), 1):.0%}); with a speech "
                f"topic {len(set(before) - set(after))} taken, {moved} of {common} others "
                f"regrouped ({moved / max(common, 1):.1%}); renamed: "
                f"{change.renamed_with_reason} papers in themes that gave or took papers, "
                f"{change.renamed_without_reason} in themes whose papers stayed the same"
            )
            for theme in themes:
                lines.append(f"\n## {week} {theme.label} ({len(theme.paper_ids)} papers)")
                lines.extend(f"    {change.titles[pid]}" for pid in theme.paper_ids)
    if args.titles:
        args.titles.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if args.json:
        text = "".join(json.dumps(r) + "\n" for r in records)
        args.json.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
