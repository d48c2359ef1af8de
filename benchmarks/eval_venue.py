"""Newcomer topics judged by a venue's own author keywords (issue 16, round 15).

`python -m benchmarks.eval_venue`. The issue measured its acceptance case on "about 3,000
abstracts of one ML venue with the authors' own keywords as gold". This is the nearest set we
can hold: ICLR 2021 submissions (title, abstract and the keywords their authors typed into
OpenReview), data/iclr2021-papers.jsonl.gz (SOURCES.md says where from). Papers whose authors
gave no keyword carry no gold and are left out.

The twelve topics (topics/newcomer-venue.toml) were written as a newcomer writes them, and the
gold rule below, which maps an author keyword to a topic, was written and committed before any
ICLR paper was scored. A paper is gold for a topic when one of its author keywords matches the
topic's pattern (lower case, hyphens and underscores read as spaces). Authors tag unevenly, so
gold misses papers a reader would file under a topic; precision is measured against what the
authors said, as in the issue.

Scoring runs the build's own code (`run.assign_papers`) with every paper of the set as the store;
a paper is in a topic when it is its primary topic or listed as "also relevant". Figures for
the whole set and for its two halves (by a hash of the id, as eval_topics), so a change chosen
on one half can be checked on the other. Vectors are cached in benchmarks/.cache.

Example: python -m benchmarks.eval_venue --json benchmarks/venue-results.json

Round 19 adds a third venue, `--venue neurips2023`: NeurIPS 2023 accepted papers with their
authors' keywords, data/neurips2023-papers.jsonl.gz, scored with the same topics, gold rule and
build.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import eval_topics as ev
from benchmarks.eval_topics import corpus_store
from pipeline import run
from pipeline.config import Settings, load_settings
from pipeline.models import Paper
from pipeline.store import Store

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "data" / "iclr2021-papers.jsonl.gz"
#: The rest of the paper list (its submissions 1,551 to 2,966), copied after every choice of
#: round 15 was made and scored once (`--part 2`).
CORPUS_2 = HERE / "data" / "iclr2021-papers-2.jsonl.gz"
#: NeurIPS 2023 accepted papers (round 19): orals, spotlights and the first posters of the list.
CORPUS_NEURIPS = HERE / "data" / "neurips2023-papers.jsonl.gz"
#: Each venue's parts: the file a part's papers are read from.
CORPORA = {"iclr2021": {1: CORPUS, 2: CORPUS_2}, "neurips2023": {1: CORPUS_NEURIPS}}


def corpus_name(part: int, venue: str = "iclr2021") -> str:
    """The name a part's vectors are cached under (benchmarks/.cache)."""
    return venue if part == 1 else f"{venue}-{part}"


TOPICS = HERE / "topics" / "newcomer-venue.toml"

# Which author keywords put a paper in a topic. Written before scoring (round 15).
GOLD_RULES = {
    "gnn": r"\bgraph neural net|\bgnns?\b|\bgraph convolution|\bmessage passing|\bgraph networks?\b"
    r"|\bgraph representation learning|\bgraph attention|\bgraph transformer",
    "federated": r"\bfederated\b",
    "self-supervised": r"\bself supervis",
    "interpretability": r"\binterpretab|\bexplainab|\bexplanations?\b|\bxai\b|\battribution"
    r"|\bsaliency",
    "compression": r"\bmodel compression|\bnetwork compression|\bneural network compression"
    r"|\bpruning\b|\bquantiz|\bdistillation\b|\blottery ticket|\bbinary neural net|\bbinarized",
    "speech": r"\bspeech|\baudio|\basr\b|\btext to speech|\btts\b|\bspeaker|\bvoice|\bacoustic",
    "reinforcement-learning": r"\breinforcement learning|\brl\b|\bpolicy gradient"
    r"|\bpolicy optimi[sz]ation|\bactor critic|\bq learning|\bmarl\b",
    "diffusion": r"\bdiffusion models?\b|\bdenoising diffusion|\bscore based|\bscore matching"
    r"|\bdiffusion probabilistic",
    "translation": r"\bmachine translation|\bnmt\b",
    "adversarial": r"\badversarial (robust|example|attack|training|defen|perturbation)"
    r"|\bcertifi(ed|able) robust|\brandomi[sz]ed smoothing|\brobustness certification",
    "meta-learning": r"\bmeta learn|\bmetalearn|\blearning to learn|\bmaml\b"
    r"|\bmeta (rl|reinforcement)",
    "continual": r"\bcontinual|\blifelong|\bcatastrophic forgetting|\bincremental learning"
    r"|\bclass incremental",
}


def normalise(keyword: str) -> str:
    """An author keyword as the gold rule reads it: lower case, '-' and '_' as spaces."""
    return " ".join(re.sub(r"[-_/]", " ", keyword.lower()).split())


def gold_topics(keywords: Sequence[str]) -> set[str]:
    """The topics whose pattern one of these author keywords matches."""
    normal = [normalise(k) for k in keywords]
    return {slug for slug, rule in GOLD_RULES.items() if any(re.search(rule, k) for k in normal)}


def load(part: int = 1, venue: str = "iclr2021") -> tuple[list[Paper], list[list[str]]]:
    """The set's papers with at least one author keyword (in file order), and their keywords."""
    with gzip.open(CORPORA[venue][part], "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    rows = [r for r in rows if r["keywords"]]
    papers = [Paper(r["id"], r["title"], r["abstract"], first_seen=ev.NOW) for r in rows]
    return papers, [r["keywords"] for r in rows]


def load_set(
    part: int = 1, venue: str = "iclr2021"
) -> tuple[list[Paper], Settings, np.ndarray, np.ndarray]:
    """A part's papers, the settings of its topics (TOPICS), the papers' vectors (cached) and
    the gold: (n_papers, n_topics), whether an author keyword puts the paper in the topic."""
    papers, keywords = load(part, venue)
    settings = load_settings(TOPICS)
    name = corpus_name(part, venue)
    vectors = ev.load_vectors(papers, run.make_embedder(settings).name, corpus=name)
    topics = settings.topics_as_models()
    gold = np.array([[t.slug in gold_topics(k) for t in topics] for k in keywords])
    return papers, settings, vectors, gold


def evaluate(papers: list[Paper], settings: Settings, vectors: np.ndarray, gold: np.ndarray,
             store: Store, embedder: Any, venue: str = "iclr2021") -> dict[str, Any]:  # fmt: skip
    """Keyword matching and the build's boundaries, per topic, on the whole set and each half."""
    topics = settings.topics_as_models()
    second = ev.heldout_half(papers)
    learnt = ev.memberships(settings, store, embedder, papers, vectors)
    variants = {"keywords": ev.keyword_matches(papers, topics), "learnt": learnt}
    # Examples drawn from half a's gold papers (scored on half b: the learning curve), and
    # counter-examples from half a's wrong inclusions, as eval_topics draws them.
    for n in (5, 20):
        taught = [
            replace(t, examples=tuple(papers[r].paper_id
                                      for r in ev.draw(np.flatnonzero(~second & gold[:, j]), n, j)))
            for j, t in enumerate(topics)
        ]  # fmt: skip
        variants[f"+{n} examples"] = ev.memberships(
            ev.with_topics(settings, taught), store, embedder, papers, vectors
        )
    marked = [ev.draw(np.flatnonzero(~second & learnt[:, j] & ~gold[:, j]), 5, j)
              for j in range(len(topics))]  # fmt: skip
    wrong = [
        replace(t, counter_examples=tuple(papers[r].paper_id for r in marked[j]))
        for j, t in enumerate(topics)
    ]
    corrected = ev.memberships(ev.with_topics(settings, wrong), store, embedder, papers, vectors)
    variants["+5 counter-examples"] = corrected
    results = {}
    for part, rows in (("all", np.ones(len(papers), bool)), ("half-a", ~second),
                       ("half-b", second)):  # fmt: skip
        result = ev.score_variants(topics, variants, gold, rows)
        rows_f1 = {t.slug: (result["topics"][t.slug]["keywords"]["f1"],
                            result["topics"][t.slug]["learnt"]["f1"]) for t in topics}  # fmt: skip
        result["below_keywords"] = [
            slug for slug, (kw, built) in rows_f1.items() if kw < 0.95 and built < kw
        ]
        # The macro F1 without the topics that have fewer than five gold papers on these rows.
        kept = [t.slug for t in topics if result["topics"][t.slug]["support"] >= 5]
        result["macro_f1_min5"] = {
            k: round(float(np.mean([result["topics"][s][k]["f1"] for s in kept])), 4)
            for k in variants
        }
        result["topics_min5"] = kept
        results[f"{venue}-{part}"] = result
    # What five counter-examples per topic do: each leaves its topic; how many other papers move.
    results["counter-examples"] = {
        t.slug: {
            "marked": len(marked[j]),
            "removed": int(sum(not corrected[r, j] for r in marked[j])),
            "others_moved": int(
                sum(
                    learnt[i, j] != corrected[i, j]
                    for i in range(len(papers))
                    if i not in marked[j]
                )
            ),
        }
        for j, t in enumerate(topics)
    }
    return results


def describe(name: str, result: dict[str, Any]) -> str:
    """Per-topic precision / recall / F1 of each variant, then the macro F1."""
    keys = list(result["macro_f1"])
    header = " ".join(f"{k + ' P/R/F1':>20}" for k in keys)
    lines = [f"\n{name}: {result['n_papers']} papers", f"{'topic':24} {'n':>4} {header}"]
    for slug, row in result["topics"].items():
        cells = " ".join(
            f"{row[k]['precision']:6.2f}{row[k]['recall']:6.2f}{row[k]['f1']:8.3f}" for k in keys
        )
        lines.append(f"{slug:24} {row['support']:4d} {cells}")
    lines.append(f"{'macro F1':29} " + " ".join(f"{result['macro_f1'][k]:20.3f}" for k in keys))
    if "macro_f1_min5" in result:
        n = len(result["topics_min5"])
        lines.append(
            f"{f'macro F1, {n} topics >= 5 gold':29} "
            + " ".join(f"{result['macro_f1_min5'][k]:20.3f}" for k in keys)
        )
    lines.append(f"below keyword matching (where it scores < 0.95): {result['below_keywords']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--part", type=int, choices=(1, 2), default=1,
                        help="1: the first 1,550 submissions; 2: the rest")  # fmt: skip
    parser.add_argument("--venue", choices=sorted(CORPORA), default="iclr2021",
                        help="iclr2021 (parts 1 and 2) or neurips2023 (part 1 only)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.part not in CORPORA[args.venue]:
        parser.error(f"{args.venue} has no part {args.part}")
    started = time.perf_counter()
    papers, settings, vectors, gold = load_set(args.part, args.venue)
    store, embedder = corpus_store(papers, vectors, corpus_name(args.part, args.venue))
    with store:
        results = evaluate(papers, settings, vectors, gold, store, embedder, args.venue)
    for part, result in results.items():
        if part.startswith(args.venue):
            print(describe(part, result), flush=True)
    print(
        "\ncounter-examples (5 wrong inclusions of half a per topic): removed / other papers moved"
    )
    for slug, row in results["counter-examples"].items():
        print(f"  {slug:24} {row['removed']} of {row['marked']} / {row['others_moved']}")
    print(f"\n{time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
