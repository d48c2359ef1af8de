"""A cold `digest build` against a warm one: what a fresh process pays beyond the build (round 22).

    python -m benchmarks.bench_cold --demo DEMO_TOML --real REAL_TOML [--rounds 3]
        [--checkout PATH ...] [--python PY] [--collections]

Users run `digest build` from cron, so every build is a cold process. For each configuration
(`--demo`: examples/demo.toml pointed at a copy of data/demo, built with --week 2025-W24;
`--real`: a copy of benchmarks/.cache/real-week's config.toml, none.jsonl and data/, its
configured week) and each checkout (`--checkout`, default this one; several alternate within a
round, each on its own copy of the configuration's folder, made once and built once untimed so
that its derived memo is warm, as a cron build finds it), a round times, each in a fresh process
with PYTHONPATH and the working folder set to the checkout:

- cold: `python -m pipeline --config C build [--week W]`, wall (perf_counter around the child)
  and CPU (the child's user + system time, the growth of RUSAGE_CHILDREN when it is reaped:
  the rusage /usr/bin/time prints);
- start-up: `python -c pass` and `python -c "import pipeline.cli"`, wall and CPU alike;
- warm: one process runs `service.runner.run_locked(settings, Command.BUILD, week=W)` (what the
  CLI calls, lock and run record included) twice and reports the second call's wall
  (perf_counter) and CPU (process_time).

gap = cold - warm - `python -c pass` (wall, and CPU alike): what a cron build costs over the
interpreter's start-up and a warm build. Every build, cold and warm, groups its week afresh (the
weeks' kept builds are forgotten before it, round 27), as a cron build after an ingest that
added papers does; a rebuild of an unchanged week would show the kept build and never import
SciPy. With `--collections` (round 23) a round also runs the
cold build once more with a `gc.callbacks` hook that sums the CPU of the garbage collector's
runs in that process (`gc_cpu`; the slowest run and what it freed: `gc_max`, `gc_max_freed`).

The children may write and read bytecode caches (PYTHONDONTWRITEBYTECODE is dropped from their
environment), as an installed package's are written when it is installed: without them every
cold process compiled pipeline's ~80 modules again (about 0.1 s of CPU here), which no cron
build of an installed digest pays.
Each figure is printed per round; the summary gives each side's median. Timing figures, never
asserts: the host is shared, compare side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEMO_WEEK = "2025-W24"

WARM = """
import json, sqlite3, sys, time
from pipeline.config import load_settings
from pipeline.models import Command
from pipeline.service import runner
settings = load_settings(sys.argv[1])
week = sys.argv[2] or None
out = []
for _ in range(2):
    kept = sqlite3.connect(settings.database_path)
    with kept:  # each build groups the week afresh (FORGET below)
        kept.execute("UPDATE meta SET value = '{}' WHERE key LIKE 'themes-anchor:%'")
    kept.close()
    wall, cpu = time.perf_counter(), time.process_time()
    runner.run_locked(settings, Command.BUILD, week=week)
    out.append((time.perf_counter() - wall, time.process_time() - cpu))
print(json.dumps({"first": out[0], "warm": out[1]}))
"""


# The cold build again, `gc.callbacks` timing each collection (process CPU), printed at exit.
COLLECTIONS = """
import atexit, gc, json, runpy, sys, time
runs, started = [], []
def hook(phase, info):
    if phase == "start":
        started[:] = [time.process_time()]
    else:
        runs.append((time.process_time() - started[0], info["collected"]))
gc.callbacks.append(hook)
atexit.register(lambda: print(json.dumps(runs)))
sys.argv = ["digest", *sys.argv[1:]]
runpy.run_module("pipeline", run_name="__main__", alter_sys=True)
"""


def child(argv: list[str], checkout: Path) -> tuple[float, float, str]:
    """Run `argv` in a fresh process from `checkout`: (wall s, CPU s, stdout)."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "HF_HUB_OFFLINE": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package's bytecode is cached
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=checkout, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    # communicate() reaped the child; its rusage is the difference of RUSAGE_CHILDREN.
    if proc.returncode:
        raise SystemExit(f"{argv} failed ({proc.returncode}):\n{err}")
    return wall, _cpu_of(proc), out


_seen_cpu = 0.0


def _cpu_of(proc: subprocess.Popen[str]) -> float:
    """The CPU time (user + system) of the child just reaped: RUSAGE_CHILDREN grows by it."""
    global _seen_cpu
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = usage.ru_utime + usage.ru_stime
    cpu, _seen_cpu = total - _seen_cpu, total
    return cpu


def prepare(config: Path, checkout: Path, work: Path) -> Path:
    """A private copy of `config`'s folder for `checkout` (config, its files, data/; digests/
    empty), built once (untimed) so that its derived memo is warm; its config's path."""
    if work.exists():
        shutil.rmtree(work)
    source = config.parent
    if config.name == "demo.toml":  # examples/demo.toml: data and digests are ../data, ../digests
        shutil.copytree(source.parent, work, ignore=shutil.ignore_patterns("digests"))
        copy = work / source.name / config.name
        (work / "digests" / "demo").mkdir(parents=True)
    else:
        shutil.copytree(source, work, ignore=shutil.ignore_patterns("digests"))
        copy = work / config.name
        (work / "digests").mkdir()
    child([sys.executable, "-m", "pipeline", "--config", str(copy), *_week(copy)], checkout)
    return copy


def _week(config: Path) -> list[str]:
    return ["build", "--week", DEMO_WEEK] if config.name == "demo.toml" else ["build"]


def _forget_kept_builds(config: Path, checkout: Path) -> None:
    """Forget the weeks' kept builds (run.scoring.ANCHOR_META, round 27) in `config`'s store, so
    that the next build groups its week afresh, as the first build after an ingest that added
    papers does (a rebuild of an unchanged week shows the kept build and never groups it)."""
    child([sys.executable, "-c", FORGET, str(config)], checkout)


FORGET = """
import sqlite3, sys
from pipeline.config import load_settings
db = sqlite3.connect(load_settings(sys.argv[1]).database_path)
with db:
    db.execute("UPDATE meta SET value = '{}' WHERE key LIKE 'themes-anchor:%'")
"""


def one_round(
    config: Path, checkout: Path, python: str, collections: bool = False
) -> dict[str, Any]:
    _forget_kept_builds(config, checkout)
    cold_wall, cold_cpu, _ = child(
        [python, "-m", "pipeline", "--config", str(config), *_week(config)], checkout
    )
    gc_figures: dict[str, float] = {}
    if collections:
        _forget_kept_builds(config, checkout)
        _, _, out = child(
            [python, "-c", COLLECTIONS, "--config", str(config), "-q", *_week(config)], checkout
        )
        runs = json.loads(out.strip().splitlines()[-1])
        slowest = max(runs, default=(0.0, 0))
        gc_figures = {
            "gc_cpu": sum(cpu for cpu, _ in runs),
            "gc_max": slowest[0],
            "gc_max_freed": slowest[1],
        }
    pass_wall, pass_cpu, _ = child([python, "-c", "pass"], checkout)
    cli_wall, cli_cpu, _ = child([python, "-c", "import pipeline.cli"], checkout)
    week = DEMO_WEEK if config.name == "demo.toml" else ""
    _, _, out = child([python, "-c", WARM, str(config), week], checkout)
    runs = json.loads(out.strip().splitlines()[-1])
    warm_wall, warm_cpu = runs["warm"]
    return {
        "cold_wall": cold_wall,
        "cold_cpu": cold_cpu,
        "pass_wall": pass_wall,
        "pass_cpu": pass_cpu,
        "cli_wall": cli_wall,
        "cli_cpu": cli_cpu,
        "warm_wall": warm_wall,
        "warm_cpu": warm_cpu,
        "first_in_process_wall": runs["first"][0],
        "gap_wall": cold_wall - warm_wall - pass_wall,
        "gap_cpu": cold_cpu - warm_cpu - pass_cpu,
        **gc_figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, help="examples/demo.toml of a copy of the demo")
    parser.add_argument("--real", type=Path, help="config.toml of a copy of the real week")
    parser.add_argument("--checkout", type=Path, action="append", help="default: this one")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-cold"))
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument(
        "--collections", action="store_true", help="also time the collector in a cold build"
    )
    args = parser.parse_args()
    checkouts = [c.resolve() for c in args.checkout or [ROOT]]
    configs = {name: c.resolve() for name, c in (("demo", args.demo), ("real", args.real)) if c}
    copies = {
        (name, str(co)): prepare(config, co, args.work / f"{name}-{i}")
        for name, config in configs.items()
        for i, co in enumerate(checkouts)
    }
    results: dict[str, list[dict[str, Any]]] = {f"{n} {c}": [] for n, c in copies}
    for r in range(args.rounds):
        for name in configs:
            for co in checkouts:
                figures = one_round(copies[name, str(co)], co, args.python, args.collections)
                results[f"{name} {co}"].append(figures)
                print(f"round {r + 1} {name} {co}: " + _line(figures), flush=True)
    print("medians:")
    for key, rows in results.items():
        print(f"  {key}: " + _line({k: statistics.median(r[k] for r in rows) for k in rows[0]}))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


def _line(f: dict[str, float]) -> str:
    return (
        f"cold {f['cold_wall']:.2f} s wall / {f['cold_cpu']:.2f} s CPU; "
        f"warm {f['warm_wall']:.2f} / {f['warm_cpu']:.2f}; "
        f"python -c pass {f['pass_wall']:.3f} / {f['pass_cpu']:.3f}; "
        f"import pipeline.cli {f['cli_wall']:.2f} / {f['cli_cpu']:.2f}; "
        f"gap {f['gap_wall']:.2f} / {f['gap_cpu']:.2f}"
        + (
            f"; collections {f['gc_cpu']:.3f} s CPU, slowest {f['gc_max']:.3f}"
            f" (freed {f['gc_max_freed']:.0f})"
            if "gc_cpu" in f
            else ""
        )
    )


if __name__ == "__main__":
    main()
