"""Warm build time of two checkouts side by side, on one prepared week, runs alternating.

    python -m benchmarks.compare_builds OTHER_CHECKOUT [--size 10000] [--rounds 3] [--corpus PATH]

Prepares one `--size`-paper week (the bench_speed week: real OAI abstracts, synthetic cached
vectors, the demo's topics; topic vectors from the real model in a first build) with this
checkout's code, then runs `--rounds` rounds of: OTHER_CHECKOUT, then this checkout, each in a
fresh process (PYTHONPATH set to the checkout) on its own copy of the week, timing one warm-up
build and then `--builds` builds in-process (wall and process CPU). A process's figure is the
best of its builds, as bench_speed's `build_10k_s`; the summary gives each side's median and the
median of the per-round ratios (this / other), which holds when the machine's speed drifts.
Both checkouts must be able to read the store this one writes (same schema).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks import speed_data
from benchmarks.bench_speed import WEEK, prepare_week
from pipeline import run
from pipeline.embed import SentenceTransformerEmbedder

# Runs in the child, with only the measured checkout on PYTHONPATH: public run functions only.
CHILD = """
import json, shutil, sys, time
from datetime import UTC, datetime
from pathlib import Path
import pipeline
from pipeline import run
from pipeline.config import load_settings
source, work, week, n_builds = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
shutil.copytree(source, work)
settings = load_settings(work / "config.toml")
embedder = run.make_embedder(settings)
now = datetime(2016, 3, 14, 8, 0, tzinfo=UTC)
wall, cpu = [], []
with run.open_store(settings) as store:
    for _ in range(1 + n_builds):
        start, start_cpu = time.perf_counter(), time.process_time()
        run.run_build(settings, store, embedder, now=now, week=week)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
print(json.dumps({"package": pipeline.__file__, "warmup_s": wall[0], "wall_s": wall[1:],
                  "cpu_s": cpu[1:]}))
"""


def prepare(corpus: Path, size: int, folder: Path) -> Path:
    """The prepared week's folder (config.toml, data/), topic vectors cached by a first build."""
    records = speed_data.read_oai(corpus)
    settings = prepare_week(records, size, folder)
    with run.open_store(settings) as store:
        embedder = SentenceTransformerEmbedder(settings.embed.model, device="cpu")
        run.run_build(settings, store, embedder, now=speed_data.bench_now(), week=WEEK)
    shutil.rmtree(settings.paths.digests_dir)  # each run starts without sidecars
    return folder


def time_checkout(checkout: Path, prepared: Path, work: Path, n_builds: int) -> dict[str, Any]:
    """One child process on a copy of the prepared week: its best wall and CPU build times."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-c", CHILD, str(prepared), str(work), WEEK, str(n_builds)]
    # cwd: `python -c` puts the working folder first on sys.path, before PYTHONPATH.
    done = subprocess.run(
        command, env=env, cwd=checkout, capture_output=True, text=True, check=False
    )
    shutil.rmtree(work, ignore_errors=True)
    if done.returncode != 0:
        raise SystemExit(f"build in {checkout} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["package"].startswith(str(checkout.resolve())):
        raise SystemExit(f"{checkout}: the child imported {result['package']} instead")
    return {**result, "best_wall_s": min(result["wall_s"]), "best_cpu_s": min(result["cpu_s"])}


def summarise(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians per side and the median of the per-round ratios this / other."""
    out: dict[str, Any] = {}
    for key in ("best_wall_s", "best_cpu_s"):
        this = [r[key] for r in runs["this"]]
        other = [r[key] for r in runs["other"]]
        ratios = [t / o for t, o in zip(this, other, strict=True)]
        out[key] = {
            "other_median": round(statistics.median(other), 3),
            "this_median": round(statistics.median(this), 3),
            "ratio_median": round(statistics.median(ratios), 3),
        }
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", type=Path, help="the other checkout (e.g. a worktree of main)")
    parser.add_argument("--size", type=int, default=10_000, help="papers in the week")
    parser.add_argument(
        "--corpus",
        type=Path,
        default=speed_data.default_corpus(),
        help="OAI-PMH XML file or folder (default: the shared 7,000 records, else the sample)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="processes per checkout")
    parser.add_argument("--builds", type=int, default=2, help="timed builds per process")
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    args = parser.parse_args(argv)
    this_checkout, other = speed_data.ROOT, args.other.resolve()
    runs: dict[str, list[dict[str, Any]]] = {"other": [], "this": []}
    with tempfile.TemporaryDirectory(prefix="compare-builds-") as tmp:
        print(f"preparing a {args.size:,}-paper week …", flush=True)
        prepared = prepare(args.corpus, args.size, Path(tmp) / "week")
        for round_number in range(1, args.rounds + 1):
            for side, checkout in (("other", other), ("this", this_checkout)):
                result = time_checkout(checkout, prepared, Path(tmp) / "run", args.builds)
                runs[side].append(result)
                print(
                    f"round {round_number} {side:<5} best wall {result['best_wall_s']:.3f} s,"
                    f" best CPU {result['best_cpu_s']:.3f} s",
                    flush=True,
                )
    summary = summarise(runs)
    for key, figures in summary.items():
        print(
            f"{key}: other {figures['other_median']}  this {figures['this_median']}"
            f"  ratio this/other (median of rounds) {figures['ratio_median']}"
        )
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "summary": summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()
