"""The service after years of running: commands timed against stores of 10, 52, 150 weeks.

Every week's papers stay in the store (vectors included), so after three years a store holds
~1.5 million papers. This builds such stores once (cached under benchmarks/.cache/years) and
times, on each, with warm caches: `digest build` of the latest week (warm: its topic boundaries
cached), `digest ingest` of a small JSONL source with nothing new and with 50 new papers, the
first `digest build` after that ingest (boundaries refitted: what the weekly run does),
`digest status`, `digest topics`, `digest explain`, and the scheduler's catch-up planning.

    python -m benchmarks.bench_years --weeks 10,52,150 [--papers-per-week 10000] [--rounds 2]
        [--other CHECKOUT]   # run from the older of two: the newer migrates its copy of each store

A store: papers made as `speed_data.synthetic_corpus` makes them (real OAI titles and
abstracts, cycled, distinct ids; a fifth with a DOI), synthetic clustered unit vectors stored
under the real model's name (`speed_data.clustered_unit_vectors`), announced over the five
weekdays of each week, the latest week being 2016-W10. The latest week is built once for real;
each earlier week gets what a service that built it would have left: its week sections, runs
(five ingests and a run), e-mail record, week boundaries, and its digest files (copies of the
latest week's, renamed), so `index.md` and `feed.xml` read a realistic history.

Figures are wall seconds of each command as a child process (interpreter start and imports
included), the best of `--rounds` after one warm-up; catch-up planning is timed inside its
process (`service.runner.plan_catch_up`, as `digest serve` calls it on start). No asserts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from benchmarks import bench_speed, speed_data
from pipeline import run
from pipeline.config import Settings, load_settings
from pipeline.embed import SentenceTransformerEmbedder, content_hash
from pipeline.ingest import ids, normalize
from pipeline.models import Paper, WeekSection

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CACHE = speed_data.ROOT / "benchmarks" / ".cache" / "years"
LATEST_MONDAY = date(2016, 3, 7)  # 2016-W10, as bench_speed
LATEST_WEEK = "2016-W10"
#: Bumped when the way a store is made changes, so a cached one is rebuilt.
STORE_FORMAT = 1


def main(argv: Sequence[str] | None = None) -> None:
    """Build (or reuse) each store, time the commands on it, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", default="10,52,150", help="store sizes in weeks")
    parser.add_argument("--papers-per-week", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2, help="timed runs per command")
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--corpus", type=Path, default=speed_data.default_corpus())
    parser.add_argument("--only", default="", help="comma-separated command labels to time")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--other",
        type=Path,
        help="another checkout, timed on its own copy of each store, command by command in "
        "turn with this one (run from the older checkout: the newer migrates its copy)",
    )
    args = parser.parse_args(argv)
    records = speed_data.read_oai(args.corpus)
    sizes = [int(w) for w in args.weeks.split(",")]
    only = {label for label in args.only.split(",") if label}
    table: dict[int, dict[str, float | str]] = {}
    for n_weeks in sizes:
        folder = args.cache / f"w{n_weeks}-p{args.papers_per_week}"
        start = time.perf_counter()
        settings = prepare_store(records, folder, n_weeks, args.papers_per_week)
        made_s = time.perf_counter() - start
        figures: dict[str, float | str] = {
            "papers stored": f"{count_papers(settings):,}",
            "DB size (GB)": f"{store_bytes(settings) / 1e9:.2f}",
        }
        if made_s > 5:
            figures["store made in (s)"] = f"{made_s:.0f}"
        runs = [(speed_data.ROOT, settings)]
        if args.other:
            runs.append((args.other.resolve(), copy_store(folder)))
        timed = time_commands(runs, folder, rounds=args.rounds, only=only)
        if args.other:
            for label, (mine, theirs) in timed.items():
                figures[f"{label}: this / other / ratio"] = (
                    f"{mine:.2f} / {theirs:.2f} / {theirs / mine:.2f}"
                )
        else:
            figures.update({label: seconds[0] for label, seconds in timed.items()})
        table[n_weeks] = figures
        print(f"[{n_weeks} weeks done]", file=sys.stderr, flush=True)
    print_table(table)
    if args.json:
        args.json.write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")


# --- making a store -------------------------------------------------------------------------


def prepare_store(
    records: Sequence[speed_data.Record], folder: Path, n_weeks: int, per_week: int
) -> Settings:
    """The cached store of `n_weeks` weeks under `folder`, made first if missing or stale."""
    marker = folder / "ready.json"
    wanted = {"format": STORE_FORMAT, "weeks": n_weeks, "per_week": per_week}
    if marker.is_file() and json.loads(marker.read_text("utf-8")) == wanted:
        return load_settings(folder / "config.toml")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    source = folder / "small.jsonl"
    settings = load_settings(
        bench_speed.write_config(folder, source, week=LATEST_WEEK, name="small", relative=True)
    )
    model = SentenceTransformerEmbedder(settings.embed.model).name
    now = speed_data.bench_now()
    mondays = [LATEST_MONDAY - timedelta(weeks=k) for k in range(n_weeks - 1, -1, -1)]
    per_month: dict[str, int] = {}
    with run.open_store(settings) as store:
        for number, monday in enumerate(mondays):
            yymm = f"{monday.year % 100:02d}{monday.month:02d}"
            first = per_month.get(yymm, 0)
            per_month[yymm] = first + per_week
            papers = week_papers(records, monday, per_week, offset=number * per_week, first=first)
            keys = {p.paper_id: ids.normalize_title(p.title) for p in papers}
            store.upsert_papers(papers, "bench", now, merge=normalize.update_paper, title_keys=keys)
            vectors = speed_data.clustered_unit_vectors(len(papers), seed=number)
            rows = [
                (p.paper_id, content_hash(p.text), v) for p, v in zip(papers, vectors, strict=True)
            ]
            store.save_vectors(model, rows, now)
            print(f"  week {number + 1}/{n_weeks} stored", file=sys.stderr, flush=True)
    # The small source: 50 papers of the latest week, already stored once ingested.
    write_small_source(source, records, count=50, tag="seen")
    cli(settings, "ingest")
    cli(settings, "build", "--week", LATEST_WEEK)
    add_history(settings, mondays[:-1], now=now)
    marker.write_text(json.dumps(wanted), encoding="utf-8")
    return settings


def week_papers(
    records: Sequence[speed_data.Record], monday: date, n: int, *, offset: int, first: int
) -> list[Paper]:
    """`n` papers announced over the weekdays of the week starting `monday` (real texts,
    from the `offset`-th of the cycled corpus), numbered from `first` in their month."""
    # speed_data.synthetic_corpus's records from the offset-th on, without making the first ones
    corpus = [
        speed_data.synthetic_corpus([records[k % len(records)]], 1 + k // len(records))[-1]
        for k in range(offset, offset + n)
    ]
    yymm = f"{monday.year % 100:02d}{monday.month:02d}"
    papers = []
    for i, r in enumerate(corpus):
        number = offset + i
        day = monday + timedelta(days=i % 5)
        papers.append(
            Paper(
                paper_id=f"arxiv:{yymm}.{first + i:05d}",
                title=r.title,
                abstract=r.abstract,
                authors=r.authors,
                categories=r.categories,
                url=f"https://arxiv.org/abs/{r.arxiv_id}",
                version=1,
                doi=f"10.5555/bench.{number}" if number % 5 == 0 else None,
                published=datetime(day.year, day.month, day.day, tzinfo=UTC),
                announced=day,
                announce_type="new",
            )
        )
    return papers


def write_small_source(
    path: Path, records: Sequence[speed_data.Record], *, count: int, tag: str
) -> None:
    """`count` papers for the `small` source, announced in the latest week, each with a DOI
    (a journal feed's papers have one): ids and DOIs carry `tag`, so a new tag is new papers."""
    with path.open("w", encoding="utf-8") as handle:
        for i, r in enumerate(records[-count:]):
            day = LATEST_MONDAY + timedelta(days=i % 5)
            row = {
                "id": f"https://example.org/{tag}/{i}",
                "doi": f"10.5555/small.{tag}.{i}",
                "title": f"{r.title} [{tag}]",
                "abstract": r.abstract,
                "authors": list(r.authors),
                "announced": day.isoformat(),
            }
            handle.write(json.dumps(row) + "\n")


def add_history(settings: Settings, mondays: Sequence[date], *, now: datetime) -> None:
    """What building each earlier week would have left: sections, runs, e-mails, boundaries and
    digest files (the latest week's, renamed)."""
    digests = settings.paths.digests_dir
    sidecar = json.loads((digests / f"{LATEST_WEEK}.json").read_text("utf-8"))
    markdown = (digests / f"{LATEST_WEEK}.md").read_bytes()
    with run.open_store(settings) as store:
        sections = store.list_week_sections([LATEST_WEEK])
        for monday in mondays:
            week = speed_data_week(monday)
            for day in range(5):
                run_id = store.start_run("ingest", now)
                store.finish_run(run_id, now, "ok", {"n_new": 2000, "sources": [], "day": day})
            run_id = store.start_run("run", now)
            path = digests / f"{week}.md"
            store.finish_run(run_id, now, "ok", {"week": week, "digest_path": str(path)})
            store.save_week_sections(week, [_renamed(s, week) for s in sections], now)
            store.save_delivery(week, now, ["reader@example.org"])
            store.save_week_boundaries({week: "UTC"})
            sidecar["week"] = week
            (digests / f"{week}.json").write_text(json.dumps(sidecar, indent=2), "utf-8")
            path.write_bytes(markdown)


def _renamed(section: WeekSection, week: str) -> WeekSection:
    return dataclasses.replace(section, week=week)


def speed_data_week(monday: date) -> str:
    year, number, _ = monday.isocalendar()
    return f"{year}-W{number:02d}"


def copy_store(folder: Path) -> Settings:
    """A copy of the store folder for the other checkout, made once (a newer checkout migrates
    it when it first opens it, so it is never handed back to this one)."""
    copy = folder.with_name(folder.name + "-other")
    if not (copy / "ready.json").is_file():
        if copy.exists():
            shutil.rmtree(copy)
        shutil.copytree(folder, copy)
    return load_settings(copy / "config.toml")


def count_papers(settings: Settings) -> int:
    with run.open_store(settings) as store:
        return len(store.list_paper_ids())


def store_bytes(settings: Settings) -> int:
    path = settings.database_path
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


# --- timing ---------------------------------------------------------------------------------


def cli(settings: Settings, *args: str, checkout: Path = speed_data.ROOT) -> float:
    """Run `digest ARGS` of `checkout` on the store's config in a child process; its wall
    seconds."""
    command = [sys.executable, "-m", "pipeline", "--config", str(settings.config_path), "-q"]
    env = {**os.environ, "PYTHONPATH": str(checkout), "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    # cwd too: `python -m` puts the working directory ahead of PYTHONPATH on sys.path.
    done = subprocess.run(
        [*command, *args], cwd=checkout, env=env, stdout=subprocess.DEVNULL, check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode not in (0,):
        print(f"  digest {' '.join(args)} exited {done.returncode}", file=sys.stderr)
    return elapsed


_CATCH_UP = """
import sys, time
from datetime import datetime, UTC
from pipeline.config import load_settings
from pipeline.service import runner
settings = load_settings(sys.argv[1])
now = datetime(2016, 3, 14, 8, 0, tzinfo=UTC)
start = time.perf_counter()
runner.plan_catch_up(settings, now=now)
runner.missed_before(settings, now=now)
print(time.perf_counter() - start)
"""


def catch_up_s(settings: Settings, checkout: Path = speed_data.ROOT) -> float:
    """Seconds `plan_catch_up` and `missed_before` take, timed inside a child process."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _CATCH_UP, str(settings.config_path)],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def time_commands(
    runs: Sequence[tuple[Path, Settings]], folder: Path, *, rounds: int, only: set[str]
) -> dict[str, list[float]]:
    """Per command, the best of `rounds` (after a warm-up) for each (checkout, store) in `runs`,
    the checkouts taking turns command by command; each round ingests 50 new papers."""
    records = speed_data.read_oai(speed_data.default_corpus())
    explain_id = first_paper_of_latest_week(runs[0][1])

    def commands(checkout: Path, settings: Settings) -> dict[str, Callable[[], float]]:
        def digest(*args: str) -> Callable[[], float]:
            return lambda: cli(settings, *args, checkout=checkout)

        return {
            "build (warm)": digest("build", "--week", LATEST_WEEK),
            "status": digest("status"),
            "topics": digest("topics", "--week", LATEST_WEEK),
            "explain": digest("explain", explain_id),
            "ingest (nothing new)": digest("ingest"),
            "catch-up planning (in-process)": lambda: catch_up_s(settings, checkout),
            "ingest (50 new)": digest("ingest"),
            "build (after ingest)": digest("build", "--week", LATEST_WEEK),
        }

    each = [commands(checkout, settings) for checkout, settings in runs]
    best: dict[str, list[float]] = {}
    stamp = int(time.time())
    for number in range(rounds + 1):
        for label in each[0]:
            if only and label not in only:
                continue
            times = []
            for (_, settings), command in zip(runs, each, strict=True):
                source = settings.config_path.parent / "small.jsonl"
                if label == "ingest (50 new)":
                    write_small_source(source, records, count=50, tag=f"new{stamp}r{number}")
                times.append(command[label]())
                if label == "ingest (50 new)":
                    write_small_source(source, records, count=50, tag="seen")
            if number:  # the first round warms up
                old = best.get(label, [float("inf")] * len(runs))
                best[label] = [min(a, b) for a, b in zip(old, times, strict=True)]
    return best


def first_paper_of_latest_week(settings: Settings) -> str:
    with run.open_store(settings) as store:
        papers = store.list_papers_between(LATEST_MONDAY, LATEST_MONDAY)
    return papers[0].paper_id


def print_table(table: dict[int, dict[str, float | str]]) -> None:
    sizes = list(table)
    labels = list(dict.fromkeys(label for figures in table.values() for label in figures))
    header = "| seconds (best of rounds) | " + " | ".join(f"{n} weeks" for n in sizes) + " |"
    print(header)
    print("|---|" + "---:|" * len(sizes))
    for label in labels:
        cells = []
        for n in sizes:
            value = table[n].get(label, "")
            cells.append(f"{value:.2f}" if isinstance(value, float) else str(value))
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
