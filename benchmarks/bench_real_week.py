"""A warm build of a 10k-paper week of REAL vectors, step by step (seventeenth round).

    python -m benchmarks.bench_real_week [--builds 3] [--unsplit] [--json F] [--cpu] [--folder D]

`make bench`'s 10k week (bench_speed, compare_builds) has synthetic vectors: 25 blobs of random
unit vectors under real abstracts. Its themes are one or two, because no text fits a blob, so it
does not show what naming real themes costs. This week holds 9,966 real papers with their real
MiniLM vectors: the 7,000 OAI records of eval_topics and both parts of the ICLR 2021 set
(bench_bertopic_venue), announced over the five days of 2016-W10, in a store under
benchmarks/.cache/real-week (made on the first run; the vectors come from the caches those
benchmarks fill, embedding what is missing once). The demo's topics are configured, as in
bench_speed. It times `--builds` warm builds in this process (after one that embeds the topics)
and prints each, the best, and the steps of the best (benchmarks/steptimer.py). Each build groups
the week afresh, as the first build after an ingest that added papers does: the week's kept
builds (run.scoring.ANCHOR_META) are forgotten before it; `--anchored` keeps them, so a build
after the first shows the last one again (a rebuild of an unchanged week).
`--unsplit`: with no group cut for size (cluster.MAX_GROUP_PAPERS off), as before the
seventeenth round. Timing figures, never asserts: the machine is shared; compare side by side.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from benchmarks import bench_bertopic as bb
from benchmarks import bench_bertopic_venue as bv
from benchmarks import eval_topics as et
from benchmarks import speed_data, steptimer
from benchmarks.bench_speed import WEEK, WEEK_START, write_config
from benchmarks.steptimer import BUILD_STEPS, timed_steps
from pipeline import run
from pipeline.config import load_settings
from pipeline.embed import SentenceTransformerEmbedder
from pipeline.embed.cache import content_hash
from pipeline.run import scoring

FOLDER = speed_data.ROOT / "benchmarks" / ".cache" / "real-week"


def prepare(folder: Path) -> Path:
    """The week's config (store under `folder`, papers and vectors stored, topics embedded)."""
    config = folder / "config.toml"
    if config.exists():
        return config
    folder.mkdir(parents=True)
    iclr, _ = bv.load_all()
    oai, _ = et.load_corpus()
    vectors = np.vstack([bv.week_vectors(iclr), et.load_vectors(oai, bv.EMBEDDER)])
    papers = [
        replace(p, announced=WEEK_START + timedelta(days=i % 5)) for i, p in enumerate(iclr + oai)
    ]
    (folder / "none.jsonl").write_text("", encoding="utf-8")
    settings = load_settings(write_config(folder, folder / "none.jsonl"))
    model = SentenceTransformerEmbedder(settings.embed.model, device="cpu")
    now = speed_data.bench_now()
    with run.open_store(settings) as store:
        store.upsert_papers(papers, "bench", now, merge=lambda stored, new: new)
        store.save_vectors(
            model.name,
            [(p.paper_id, content_hash(p.text), v) for p, v in zip(papers, vectors, strict=True)],
            now,
        )
        run.run_build(settings, store, model, now=now, week=WEEK)  # embeds the topics once
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=3)
    parser.add_argument("--unsplit", action="store_true", help="no group cut for size")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--cpu", action="store_true", help="process CPU (time.process_time), not wall time"
    )
    parser.add_argument(
        "--folder", type=Path, help="the week's folder (a copy of the default one), not FOLDER"
    )
    parser.add_argument(
        "--anchored", action="store_true", help="keep the week's last build between builds"
    )
    args = parser.parse_args()
    with bb.unsplit() if args.unsplit else contextlib.nullcontext():
        runs = time_builds(args.builds, folder=args.folder, cpu=args.cpu, anchored=args.anchored)
    best = min(runs, key=lambda r: r["seconds"])
    print(f"best {best['seconds']} s; its steps: {json.dumps(best['steps'])}")
    if args.json:
        args.json.write_text(json.dumps({"unsplit": args.unsplit, "runs": runs}, indent=1) + "\n")


def time_builds(
    builds: int, *, folder: Path | None = None, cpu: bool = False, anchored: bool = False
) -> list[dict[str, Any]]:
    """`builds` warm builds of the week in this process: each one's time and steps (wall time,
    or with `cpu` this process's CPU time, all threads). `folder`: a copy of FOLDER's
    config.toml, none.jsonl and data/ (so other builds of the shared one do not interleave).
    Each groups the week afresh unless `anchored` (module docstring)."""
    settings = load_settings(folder / "config.toml" if folder else prepare(FOLDER))
    embedder = run.make_embedder(settings)
    now = speed_data.bench_now()
    runs: list[dict[str, Any]] = []
    clock = time.process_time if cpu else time.perf_counter
    with run.open_store(settings) as store, _steps_clock(clock):
        for k in range(builds):
            if not anchored:
                store.set_meta(scoring.ANCHOR_META + WEEK, "{}")
            with timed_steps(BUILD_STEPS) as steps:
                start = clock()
                report = run.run_build(settings, store, embedder, now=now, week=WEEK)
                seconds = clock() - start
            runs.append(
                {"seconds": round(seconds, 2), "steps": {s: round(t, 2) for s, t in steps.items()}}
            )
            print(f"build {k + 1}: {seconds:.2f} s, {report.n_papers_in_digest} papers", flush=True)
    return runs


@contextlib.contextmanager
def _steps_clock(clock: Callable[[], float]) -> Iterator[None]:
    """benchmarks.steptimer timing its steps by `clock` while the block runs."""
    saved = steptimer.time
    steptimer.time = SimpleNamespace(perf_counter=clock)  # type: ignore[assignment]
    try:
        yield
    finally:
        steptimer.time = saved


if __name__ == "__main__":
    main()
