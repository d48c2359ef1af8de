"""Faster embedding options (issue 8): speed and quality of each `[embed]` setting, one table.

    python -m benchmarks.bench_embed_options [--corpus DIR_OR_XML] [--per-class 50]

Variants: backend torch / onnx / onnx-int8, each at the model's max_seq_length (256) and at 128,
timed round-robin, best of `--rounds` passes.
Quality is a stand-in for `digest eval` (not on this branch yet): macro F1 of leave-one-out 5-NN
(cosine) classification of real arXiv abstracts by primary category, `--per-class` papers from each
of the 6 commonest categories, plus the mean cosine of each variant's vectors to the torch ones.
Writes benchmarks/results_embed_options.json.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import speed_data
from pipeline.embed import Embedder, OnnxEmbedder, SentenceTransformerEmbedder

# The packaged model is complete: never let the hub client try the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

RESULTS = speed_data.ROOT / "benchmarks" / "results_embed_options.json"
VARIANTS = (
    ("torch", 0),
    ("torch", 128),
    ("onnx", 0),
    ("onnx", 128),
    ("onnx-int8", 0),
    ("onnx-int8", 128),
)


def labelled_set(
    records: Sequence[speed_data.Record], per_class: int
) -> tuple[list[str], list[str]]:
    """Texts and primary categories: `per_class` from each of the 6 commonest categories."""
    primary = Counter(r.categories[0] for r in records if r.categories)
    classes = [c for c, _ in primary.most_common(6)]
    texts, labels = [], []
    for c in classes:
        chosen = [r for r in records if r.categories and r.categories[0] == c][:per_class]
        texts += [r.text for r in chosen]
        labels += [c] * len(chosen)
    return texts, labels


def knn_macro_f1(vectors: np.ndarray, labels: Sequence[str], k: int = 5) -> float:
    """Leave-one-out k-NN by cosine: macro F1 over the classes."""
    from sklearn.metrics import f1_score

    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    neighbours = np.argsort(-sims, axis=1)[:, :k]
    truth = np.asarray(labels)
    predicted = [Counter(truth[row]).most_common(1)[0][0] for row in neighbours]
    return float(f1_score(truth, predicted, average="macro"))


def make(backend: str, seq: int, cache_dir: Path) -> Embedder:
    if backend == "torch":
        return SentenceTransformerEmbedder(device="cpu", max_seq_length=seq)
    quantize = backend == "onnx-int8"
    return OnnxEmbedder(cache_dir=cache_dir, quantize=quantize, device="cpu", max_seq_length=seq)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=speed_data.default_corpus())
    parser.add_argument("--per-class", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="timed passes per variant (best)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    texts, labels = labelled_set(speed_data.read_oai(args.corpus), args.per_class)
    print(f"{len(texts)} abstracts, {len(set(labels))} categories", flush=True)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-embed-") as tmp:
        loaded: dict[int, Embedder] = {}
        for i, (backend, seq) in enumerate(VARIANTS):
            rows.append({"backend": backend, "max_seq_length": seq or 256, "seconds": []})
            try:
                loaded[i] = make(backend, seq, Path(tmp))
                loaded[i].embed(texts[:16])  # load, export/quantise on first use; warm up
            except Exception as e:  # e.g. onnxruntime not installed: report, keep going
                rows[i]["error"] = str(e)
        # Round-robin, best of `rounds`: a busy neighbour slows one pass, not one variant.
        vectors: dict[int, np.ndarray] = {}
        for _ in range(args.rounds):
            for i, embedder in loaded.items():
                start = time.perf_counter()
                vectors[i] = embedder.embed(texts)
                rows[i]["seconds"].append(round(time.perf_counter() - start, 2))
    reference = vectors[0]
    for i, row in enumerate(rows):
        if i in vectors:
            row["texts_per_s"] = round(len(texts) / min(row["seconds"]), 2)
            row["macro_f1"] = round(knn_macro_f1(vectors[i], labels), 4)
            cosine = float(np.mean(np.sum(vectors[i] * reference, axis=1)))
            row["mean_cosine_to_torch"] = round(cosine, 4)
    base = rows[0]
    print(
        f"\n{'backend':<10} {'seq':>4} {'texts/s':>8} {'speed-up':>8} {'macro F1':>9} "
        f"{'ΔF1':>7} {'cos':>6}"
    )
    for r in rows:
        if "error" in r:
            print(f"{r['backend']:<10} {r['max_seq_length']:>4}  skipped: {r['error']}")
            continue
        print(
            f"{r['backend']:<10} {r['max_seq_length']:>4} {r['texts_per_s']:>8} "
            f"{r['texts_per_s'] / base['texts_per_s']:>8.2f} {r['macro_f1']:>9.4f} "
            f"{r['macro_f1'] - base['macro_f1']:>+7.4f} {r['mean_cosine_to_torch']:>6.3f}"
        )
    args.out.write_text(
        json.dumps(
            {"n_texts": len(texts), "classes": sorted(set(labels)), "variants": rows}, indent=2
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"\nsaved {args.out}")


if __name__ == "__main__":
    main()
