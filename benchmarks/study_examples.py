"""Examples that teach (issue 16): the learning curve over several draws of examples.

    python -m benchmarks.study_examples [--topics dev|heldout] [--draws 5] [--sizes 0,5,10,20]

`make eval-topics` draws one set of examples per topic (the first 5 and 20 of one seeded
permutation of the dev half's gold papers), so a single unlucky draw moves a topic's F1 by
0.1–0.2 and the curve is not monotone there. This draws `--draws` nested sets per topic (the
first n of permutation d, seed 1000·d + topic index) and reports, on the held-out half as
make eval-topics does, the macro F1 per size: mean over draws, and min–max; then per topic.
Choices are made on the dev topics; `--topics heldout` is for reporting.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from benchmarks import eval_topics as ev
from benchmarks import eval_venue
from benchmarks.study_meta_model import corpus_store
from pipeline import run
from pipeline.config import load_settings


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--topics", choices=("dev", "heldout", "venue", "venue-swap"), default="dev",
        help="venue: ICLR 2021 (eval_venue), examples from half a, scored on half b;"
        " venue-swap: from half b, scored on half a (for choosing)",
    )  # fmt: skip
    parser.add_argument(
        "--missed", action="store_true",
        help="draw examples only among the gold papers the build leaves out (what a user who"
        " marks a missing paper with `digest mark` adds), not among all gold papers",
    )  # fmt: skip
    parser.add_argument("--part", type=int, choices=(1, 2), default=1,
                        help="with --topics venue*: which part of the ICLR list")  # fmt: skip
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--sizes", default="0,5,10,20")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.topics.startswith("venue"):
        papers, settings, vectors, gold = eval_venue.load_set(args.part)
        topics = settings.topics_as_models()
        source = eval_venue.corpus_name(args.part)
    else:
        papers, categories = ev.load_corpus()
        settings = load_settings(ev.TOPIC_FILES[args.topics])
        topics = settings.topics_as_models()
        vectors = ev.load_vectors(papers, run.make_embedder(settings).name)
        gold = np.array([[ev.GOLD[t.slug] in c for t in topics] for c in categories])
        source = "oai-cs-2016"
    test, dev = ev.heldout_half(papers), ~ev.heldout_half(papers)
    if args.topics == "venue-swap":
        test, dev = dev, test
    f1 = np.zeros((len(sizes), args.draws, len(topics)))
    store, embedder = corpus_store(papers, vectors, source)
    with store:
        pool = dev[:, None] & gold
        if args.missed:
            pool &= ~ev.memberships(settings, store, embedder, papers, vectors)
        for d in range(args.draws):
            for i, n in enumerate(sizes):
                if n == 0 and d > 0:
                    f1[i, d] = f1[i, 0]
                    continue
                taught = [
                    replace(t, examples=tuple(
                        papers[r].paper_id
                        for r in ev.draw(np.flatnonzero(pool[:, j]), n, seed=1000 * d + j)
                    ))
                    for j, t in enumerate(topics)
                ]  # fmt: skip
                inside = ev.memberships(
                    ev.with_topics(settings, taught), store, embedder, papers, vectors
                )
                for j in range(len(topics)):
                    f1[i, d, j] = ev.f1_scores(inside[test, j], gold[test, j])["f1"]
            print(f"draw {d + 1}/{args.draws} done", flush=True)
    kind = "missed gold papers" if args.missed else "gold papers"
    print(f"\n{args.topics} topics, F1 on the held-out half, {args.draws} draws of examples"
          f" ({kind} of the other half)")  # fmt: skip
    print(f"{'examples':>9} {'macro F1 mean':>14} {'min':>7} {'max':>7}")
    macro = f1.mean(axis=2)
    for i, n in enumerate(sizes):
        print(f"{n:9d} {macro[i].mean():14.3f} {macro[i].min():7.3f} {macro[i].max():7.3f}")
    print(f"\n{'topic':24}" + "".join(f"{n:>8d}" for n in sizes))
    for j, t in enumerate(topics):
        print(f"{t.slug:24}" + "".join(f"{f1[i, :, j].mean():8.3f}" for i in range(len(sizes))))
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
