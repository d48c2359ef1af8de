"""Speed benchmark (issue 8): prints a table and writes benchmarks/results.json.

    python -m benchmarks.bench_speed [--corpus DIR_OR_XML] [--sizes 1000,10000,50000] [--skip-embed]

Figures, all in one run on real data through the pipeline's public run functions:
  ingest   papers/s of `run_ingest` (read + parse + normalise + store) on the OAI records;
  embed    the embed stage (`embed.cache.ensure_vectors`) vs raw `SentenceTransformer.encode`,
           same texts, same process, interleaved rounds, best of each;
  rerun    a second ingest + build of the same demo papers embeds 0 texts (topics included);
  build    `digest build` of a 10k-paper week with every vector cached: in-process time, CLI wall
           time and the CLI child's peak RSS; then 1k/10k/50k scaling per step.
Vectors for the build figures are synthetic (clustered unit vectors stored under the real model's
name) so no paper needs the model; topic vectors come from the real model once, in a warm-up build.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import speed_data
from benchmarks.steptimer import BUILD_STEPS, INGEST_STEPS, timed_steps
from pipeline import run
from pipeline.config import Settings, load_settings
from pipeline.embed import SentenceTransformerEmbedder, resolve_device
from pipeline.embed.cache import ensure_vectors
from pipeline.models import Paper
from pipeline.store import Store

# The packaged model is complete: never let the hub client try the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

WEEK_START = date(2016, 3, 7)  # a Monday: the synthetic weeks are 2016-W10
WEEK = "2016-W10"
RESULTS = speed_data.ROOT / "benchmarks" / "results.json"


def write_config(
    folder: Path,
    source_file: Path,
    *,
    progress: bool = False,
    week: str = WEEK,
    name: str = "bench",
    relative: bool = False,
) -> Path:
    """A config with one `file` source (`name`; with `relative`, its file named relative to
    the config, so the folder can be copied) and the demo's topics, building `week`, data
    under `folder`."""
    demo = (speed_data.ROOT / "examples" / "demo.toml").read_text("utf-8")
    topics = demo[demo.index("[[topics]]") :]
    text = (
        f'[paths]\ndata_dir = "data"\ndigests_dir = "digests"\n\n'
        f"[fetch]\nmax_bytes = 1_000_000_000\n\n"
        f"[embed]\nprogress = {str(progress).lower()}\n\n"
        f'[digest]\nweek = "{week}"\n\n'
        f'[[sources]]\nname = "{name}"\nkind = "file"\n'
        f'url = "{source_file.name if relative else source_file}"\n\n{topics}'
    )
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- ingest ---------------------------------------------------------------------------------


def bench_ingest(records: Sequence[speed_data.Record], work: Path) -> dict[str, Any]:
    """run_ingest on the OAI records (as JSONL) with synthetic vectors, then a second ingest."""
    source = speed_data.write_jsonl(records, work / "oai.jsonl", week_start=WEEK_START)
    settings = load_settings(write_config(work, source))
    embedder = speed_data.SyntheticEmbedder(SentenceTransformerEmbedder(settings.embed.model).name)
    with run.open_store(settings) as store, timed_steps(INGEST_STEPS) as steps:
        start = time.perf_counter()
        first = run.run_ingest(settings, store, embedder, now=speed_data.bench_now())
        elapsed = time.perf_counter() - start
        second = run.run_ingest(settings, store, embedder, now=speed_data.bench_now())
    n = sum(s.n_entries for s in first.sources)
    return {
        "n_records": n,
        "n_new": first.n_new,
        "seconds": round(elapsed, 3),
        "papers_per_s": round(n / elapsed, 1),
        "second_ingest_n_embedded": second.n_embedded,
        "steps_s_both_runs": {k: round(v, 3) for k, v in steps.items()},
    }


# --- embed ----------------------------------------------------------------------------------


def demo_papers(n: int) -> list[Paper]:
    """The first `n` demo-week papers as Paper records (real abstracts)."""
    rows = speed_data.read_demo_week()[:n]
    return [Paper(f"url:{r['url']}", r["title"].strip(), r["abstract"].strip()) for r in rows]


def bench_embed(n_texts: int, rounds: int, device: str) -> dict[str, Any]:
    """Embed stage vs raw encode on the same texts, interleaved, best of `rounds` each."""
    from sentence_transformers import SentenceTransformer

    from pipeline.embed import resolve_model_path

    papers = demo_papers(n_texts)
    texts = [p.text for p in papers]
    embedder = SentenceTransformerEmbedder(device=device)
    raw = SentenceTransformer(
        resolve_model_path(embedder.model_name), device=resolve_device(device)
    )
    warm = texts[:32]
    raw.encode(warm, batch_size=embedder.batch_size, normalize_embeddings=True)
    embedder.embed(warm)
    raw_s, stage_s = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        reference = raw.encode(
            texts, batch_size=embedder.batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        raw_s.append(time.perf_counter() - start)
        with Store.open(":memory:") as store:
            start = time.perf_counter()
            vectors, n_embedded = ensure_vectors(
                store, embedder, papers, now=speed_data.bench_now()
            )
            stage_s.append(time.perf_counter() - start)
        assert n_embedded == len(papers)
    cosine = float(np.min(np.sum(vectors * reference, axis=1)))
    return {
        "n_texts": len(texts),
        "rounds": rounds,
        "device": resolve_device(device),
        "raw_encode_s": [round(s, 2) for s in raw_s],
        "stage_s": [round(s, 2) for s in stage_s],
        "raw_texts_per_s": round(len(texts) / min(raw_s), 2),
        "stage_texts_per_s": round(len(texts) / min(stage_s), 2),
        "ratio": round(min(raw_s) / min(stage_s), 3),
        "min_cosine_stage_vs_raw": round(cosine, 6),
    }


def bench_rerun(n_papers: int, work: Path) -> dict[str, Any]:
    """Ingest + build demo papers with the real model, twice; the second pass embeds nothing."""
    rows = speed_data.read_demo_week()[:n_papers]
    source = work / "demo.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    settings = load_settings(write_config(work, source))
    embedder = run.make_embedder(settings)
    # Count what reaches the model, not what the reports say: topic texts are embedded inside
    # the build without showing in its n_embedded.
    given: list[int] = []
    model_embed = embedder.embed
    embedder.embed = lambda texts, progress=None: (  # type: ignore[method-assign]
        given.append(len(texts)) or model_embed(texts, progress)
    )
    passes = []
    with run.open_store(settings) as store:
        for _ in range(2):
            given.clear()
            now = speed_data.bench_now()
            ingested = run.run_ingest(settings, store, embedder, now=now)
            week = run.choose_week("latest", store, now=now, timezone="UTC")
            built = run.run_build(settings, store, embedder, now=now, week=week)
            passes.append(
                {
                    "texts_to_model": sum(given),
                    "ingest_report": ingested.n_embedded,
                    "build_report": built.n_embedded,
                }
            )
    return {
        "n_papers": len(rows),
        "n_topics": len(settings.topics),
        "first_pass": passes[0],
        "second_pass": passes[1],
        "rerun_n_embedded": passes[1]["texts_to_model"],
    }


# --- build ----------------------------------------------------------------------------------


def prepare_week(records: Sequence[speed_data.Record], n: int, work: Path) -> Settings:
    """A store holding an n-paper week with every paper vector cached (synthetic vectors)."""
    corpus = speed_data.synthetic_corpus(records, n)
    source = speed_data.write_jsonl(corpus, work / "week.jsonl", week_start=WEEK_START)
    settings = load_settings(write_config(work, source))
    embedder = speed_data.SyntheticEmbedder(SentenceTransformerEmbedder(settings.embed.model).name)
    with run.open_store(settings) as store:
        report = run.run_ingest(settings, store, embedder, now=speed_data.bench_now())
    # A few real records share a title (or an id) and are merged by dedupe: that is fine.
    if report.all_sources_failed or report.n_new < 0.99 * n:
        raise SystemExit(f"preparing the {n}-paper week failed: {report.sources}")
    return settings


def time_build(settings: Settings, embedder: Any, repeats: int) -> dict[str, Any]:
    """In-process run_build, best of `repeats` (after one warm-up that caches topic vectors)."""
    best: dict[str, Any] | None = None
    with run.open_store(settings) as store:
        run.run_build(settings, store, embedder, now=speed_data.bench_now(), week=WEEK)
        for _ in range(repeats):
            with timed_steps(BUILD_STEPS) as steps:
                start = time.perf_counter()
                report = run.run_build(
                    settings, store, embedder, now=speed_data.bench_now(), week=WEEK
                )
                elapsed = time.perf_counter() - start
            if best is None or elapsed < best["seconds"]:
                best = {"seconds": elapsed, "steps": dict(steps), "n_embedded": report.n_embedded}
    assert best is not None
    best["steps"]["other"] = max(best["seconds"] - sum(best["steps"].values()), 0.0)
    best["n_papers"] = report.n_papers_in_digest
    return best


def cli_build(settings: Settings) -> dict[str, float]:
    """`digest build` in a child process: wall seconds and that child's peak RSS (MB)."""
    command = [sys.executable, "-m", "pipeline", "--config", str(settings.config_path), "-q"]
    command += ["build", "--week", WEEK]
    env = {**os.environ, "PYTHONPATH": str(speed_data.ROOT), "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"digest build failed (wait status {status}): {' '.join(command)}")
    return {"wall_s": round(elapsed, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def bench_build(
    records: Sequence[speed_data.Record], sizes: Sequence[int], work: Path
) -> dict[str, Any]:
    """Warm builds at each size; the 10k one also through the CLI for wall time and RSS."""
    embedder = SentenceTransformerEmbedder(device="cpu")  # embeds the topics once, in warm-ups
    by_size: dict[str, Any] = {}
    cli = None
    for n in sizes:
        folder = work / f"week-{n}"
        folder.mkdir()
        start = time.perf_counter()
        settings = prepare_week(records, n, folder)
        prepare_s = time.perf_counter() - start
        timing = time_build(settings, embedder, repeats=2 if n <= 10_000 else 1)
        timing["prepare_s"] = prepare_s
        by_size[str(n)] = _rounded(timing)
        if n == 10_000:
            cli = cli_build(settings)
    return {"by_size": by_size, "cli_10k": cli, "growth": growth(by_size)}


def growth(by_size: dict[str, Any]) -> dict[str, Any]:
    """Per step, the exponent b in t ∝ n^b between consecutive sizes (n log n ≈ 1.1–1.2)."""
    sizes = sorted(by_size, key=int)
    out: dict[str, Any] = {}
    for small, large in itertools.pairwise(sizes):
        ratio = math.log(int(large) / int(small))
        steps = {}
        for step, t_large in by_size[large]["steps"].items():
            t_small = by_size[small]["steps"].get(step, 0.0)
            if t_small >= 0.005 and t_large >= 0.005:  # below 5 ms the exponent is noise
                steps[step] = round(math.log(t_large / t_small) / ratio, 2)
        total = math.log(by_size[large]["seconds"] / by_size[small]["seconds"]) / ratio
        out[f"{small}->{large}"] = {"total": round(total, 2), "steps": steps}
    largest = by_size[sizes[-1]]["steps"]
    out["dominant_step"] = max(largest, key=largest.get)
    return out


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


# --- report ---------------------------------------------------------------------------------


def summarise(results: dict[str, Any]) -> dict[str, Any]:
    """The headline keys the issue asks for, next to the detail."""
    headline = {
        "ingest_papers_per_s": results["ingest"]["papers_per_s"],
        "embed_ratio": results["embed"]["ratio"] if results.get("embed") else None,
        "rerun_n_embedded": results["rerun"]["rerun_n_embedded"] if results.get("rerun") else None,
    }
    build = results.get("build", {})
    if "10000" in build.get("by_size", {}):
        headline["build_10k_s"] = build["by_size"]["10000"]["seconds"]
        headline["build_10k_cli_s"] = build["cli_10k"]["wall_s"]
        headline["build_peak_rss_mb"] = build["cli_10k"]["peak_rss_mb"]
    return {**headline, **results}


def print_table(results: dict[str, Any]) -> None:
    """The headline figures against the issue's goals, then the build steps per size."""
    goals = [
        ("ingest_papers_per_s", "ingest (parse+normalise+store), papers/s", None),
        ("embed_ratio", "embed stage / raw encode throughput", lambda v: v >= 0.95),
        ("rerun_n_embedded", "texts embedded by a second ingest+build", lambda v: v == 0),
        ("build_10k_s", "warm build, 10k papers, in-process s", lambda v: v <= 5),
        ("build_10k_cli_s", "warm `digest build`, 10k papers, wall s", lambda v: v <= 5),
        ("build_peak_rss_mb", "peak RSS of `digest build` 10k, MB", lambda v: v <= 1536),
    ]
    print(f"\n{'figure':<44} {'value':>10}  goal")
    for key, label, ok in goals:
        value = results.get(key)
        verdict = "-" if value is None or ok is None else ("ok" if ok(value) else "MISSED")
        print(f"{label:<44} {value if value is not None else 'skipped':>10}  {verdict}")
    if results.get("embed"):
        e = results["embed"]
        print(
            f"  (embed: raw {e['raw_texts_per_s']}/s, stage {e['stage_texts_per_s']}/s"
            f" on {e['device']})"
        )
    by_size = results.get("build", {}).get("by_size", {})
    if by_size:
        sizes = sorted(by_size, key=int)
        steps = list(by_size[sizes[-1]]["steps"])
        print(f"\n{'build step (s)':<28}" + "".join(f"{int(n):>10,}" for n in sizes))
        for step in steps:
            row = "".join(f"{by_size[n]['steps'].get(step, 0.0):>10.3f}" for n in sizes)
            print(f"{step:<28}{row}")
        print(f"{'total':<28}" + "".join(f"{by_size[n]['seconds']:>10.3f}" for n in sizes))
        growth_info = results["build"]["growth"]
        for span, info in growth_info.items():
            if span != "dominant_step":
                print(f"growth exponent {span}: total {info['total']}  {info['steps']}")
        print(f"dominant step at {int(sizes[-1]):,}: {growth_info['dominant_step']}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus",
        type=Path,
        default=speed_data.default_corpus(),
        help="OAI-PMH XML file or folder (default: the shared 7,000 records, else the sample)",
    )
    parser.add_argument("--sizes", default="1000,10000,50000", help="build sizes, comma-separated")
    parser.add_argument("--embed-texts", type=int, default=256, help="texts for the embed ratio")
    parser.add_argument("--embed-rounds", type=int, default=2)
    parser.add_argument("--rerun-papers", type=int, default=48)
    parser.add_argument("--device", default="auto", help="embedding device (auto, cpu, cuda, mps)")
    parser.add_argument("--skip-embed", action="store_true", help="no model figures (ratio, rerun)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    records = speed_data.read_oai(args.corpus)
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "corpus": str(args.corpus),
    }
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as tmp:
        work = Path(tmp)
        print(f"ingest: {len(records):,} OAI records from {args.corpus}", flush=True)
        (work / "ingest").mkdir()
        results["ingest"] = bench_ingest(records, work / "ingest")
        if not args.skip_embed:
            print(
                f"embed: {args.embed_texts} texts × {args.embed_rounds} rounds, both ways",
                flush=True,
            )
            results["embed"] = bench_embed(args.embed_texts, args.embed_rounds, args.device)
            print(f"rerun: {args.rerun_papers} demo papers, ingest+build twice", flush=True)
            (work / "rerun").mkdir()
            results["rerun"] = bench_rerun(args.rerun_papers, work / "rerun")
        sizes = [int(s) for s in args.sizes.split(",") if s]
        print(f"build: warm builds at {sizes}", flush=True)
        results["build"] = bench_build(records, sizes, work)
    results = summarise(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print_table(results)
    print(f"\nsaved {args.out}")


if __name__ == "__main__":
    main()
