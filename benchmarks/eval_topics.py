"""Topics as a newcomer writes them, scored against arXiv categories (issue 16).

`make eval-topics` (or `python -m benchmarks.eval_topics`). The corpus is the 7,000 arXiv OAI
records bundled as data/oai-cs-2016-papers.jsonl.gz (make_topic_corpus.py); gold is an
independent source, the arXiv categories each paper carries (GOLD below). The topics in
topics/newcomer-{dev,heldout}.toml were written as a newcomer writes them (a name, one sentence,
3–5 keywords; no threshold, no examples) before looking at any paper's categories. Papers are
split in two halves by a hash of their id; every figure is measured on the held-out half, and
only the dev topics on the dev half were looked at while choosing how boundaries are learnt.

Scoring runs the build's own code (`run.assign_papers`) on an in-memory store holding the whole
corpus; a paper counts as in a topic when it is its primary topic or listed as "also relevant".
Compared: plain keyword matching of the same keywords; the fixed threshold every topic had
before issue 16 ([themes] min_similarity, then 0.45 by default; and 0.58, then config.toml's); the
boundary learnt from the store; and the learnt boundary with 5 and 20 examples per topic (and 5
counter-examples), drawn at random (seed 0) from the dev half's gold papers / the dev half's
wrong inclusions. Vectors are cached in benchmarks/.cache (git-ignored): the first run embeds
7,000 abstracts (30–40 minutes on 2 busy CPU cores).

A second set, closer to the issue's acceptance case (topics/newcomer-2025.toml): eight ML topics
judged on hand-labelled papers of one June-2025 arXiv week: labels/newcomer-2025.jsonl (200 "dev"
papers, 200 "heldout" ones labelled after the decision rule was chosen), newcomer-2025-b.jsonl
(200 other papers labelled by a second annotator, "heldout-b"), newcomer-2025-dev-b.jsonl
(the 200 dev papers labelled again by the second annotator, "dev-b") and newcomer-2025-c.jsonl
(the other 207 papers, labelled by a third annotator, "heldout-c"), with the whole week (807
papers, data/arxiv-week-2025-06-papers.jsonl.gz) as the store. How the labels were made:
benchmarks/README.md.

Example: python -m benchmarks.eval_topics --json benchmarks/topics-results.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
import zlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import run
from pipeline.config import Settings, load_settings
from pipeline.embed import ProgressCallback, content_hash
from pipeline.models import Paper, Topic
from pipeline.store import Store
from pipeline.topics import assign, calibrate

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "data" / "oai-cs-2016-papers.jsonl.gz"
CACHE = HERE / ".cache"
TOPIC_FILES = {"dev": HERE / "topics" / "newcomer-dev.toml",
               "heldout": HERE / "topics" / "newcomer-heldout.toml",
               # round 10: written blind from the category names alone, by a writer who saw no
               # paper, code or other topics file; never used to choose anything
               "fresh": HERE / "topics" / "newcomer-fresh.toml"}  # fmt: skip
WEEK_CORPUS = HERE / "data" / "arxiv-week-2025-06-papers.jsonl.gz"
WEEK_TOPICS = HERE / "topics" / "newcomer-2025.toml"
WEEK_LABELS = HERE / "labels" / "newcomer-2025.jsonl"
# A second annotator (round 4): 200 other papers of the week ("heldout-b", a second held-out
# set), and the first annotator's 200 dev papers labelled again from whole abstracts ("dev-b").
WEEK_LABEL_FILES = {
    WEEK_LABELS: "",
    HERE / "labels" / "newcomer-2025-b.jsonl": "-b",
    HERE / "labels" / "newcomer-2025-dev-b.jsonl": "-b",
    # A third annotator (round 5): the 207 week papers in no file above ("heldout-c").
    HERE / "labels" / "newcomer-2025-c.jsonl": "-c",
}
WEEK_SPLITS = ("dev", "dev-b", "heldout", "heldout-b", "heldout-c")
GOLD = {
    "security": "cs.CR", "vision": "cs.CV", "robotics": "cs.RO", "retrieval": "cs.IR",
    "databases": "cs.DB", "networking": "cs.NI", "nlp": "cs.CL", "game-theory": "cs.GT",
    "logic": "cs.LO", "social-networks": "cs.SI", "hci": "cs.HC", "software-engineering": "cs.SE",
    "programming-languages": "cs.PL", "distributed": "cs.DC", "evolutionary": "cs.NE",
    "geometry": "cs.CG",
    # the fresh topics (round 10)
    "information-theory": "cs.IT", "algorithms": "cs.DS", "complexity": "cs.CC",
    "control": "cs.SY", "society": "cs.CY", "digital-libraries": "cs.DL", "sound": "cs.SD",
    "multiagent": "cs.MA",
}  # fmt: skip
NOW = datetime(2016, 3, 9, tzinfo=UTC)


class CachedEmbedder:
    """The real model, but texts already embedded (the corpus) come from the on-disk cache."""

    def __init__(self, known: dict[str, np.ndarray]) -> None:
        self._known = known
        self._model = run.make_embedder(load_settings(TOPIC_FILES["dev"]))

    @property
    def name(self) -> str:
        return self._model.name

    def embed(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if content_hash(t) not in self._known]
        if missing:
            for text, vector in zip(missing, self._model.embed(missing), strict=True):
                self._known[content_hash(text)] = vector
        return np.stack([self._known[content_hash(t)] for t in texts])


def load_corpus() -> tuple[list[Paper], list[set[str]]]:
    """The bundled papers (in id order) and the categories of each."""
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    papers = [Paper(r["id"], r["title"], r["abstract"], first_seen=NOW) for r in rows]
    return papers, [set(r["categories"]) for r in rows]


def load_week() -> tuple[list[Paper], dict[str, dict[str, set[str]]]]:
    """The June-2025 week's papers (in id order) and, per split, each labelled id's topics."""
    with gzip.open(WEEK_CORPUS, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    papers = [Paper(r["id"], r["title"], r["abstract"], first_seen=NOW) for r in rows]
    splits: dict[str, dict[str, set[str]]] = {}
    for path, suffix in WEEK_LABEL_FILES.items():
        with path.open(encoding="utf-8") as f:
            for r in (json.loads(line) for line in f if line.strip()):
                split = splits.setdefault(r["split"] + suffix, {})
                if r["id"] in split:
                    raise ValueError(f"{path.name}: {r['id']} is labelled twice")
                split[r["id"]] = set(r["topics"])
    return papers, splits


def load_vectors(
    papers: Sequence[Paper], embedder_name: str, corpus: str = "oai-cs-2016"
) -> np.ndarray:
    """The corpus vectors, from the cache when its content hashes match, else embedded now."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"{corpus}-{embedder_name.replace('/', '_')}.npy"
    hashes = CACHE / (path.stem + ".hashes")
    wanted = "\n".join(content_hash(p.text) for p in papers)
    if path.exists() and hashes.exists() and hashes.read_text() == wanted:
        return np.load(path)
    print(f"embedding {len(papers)} abstracts (once; cached in {CACHE}) ...", flush=True)
    model = run.make_embedder(load_settings(TOPIC_FILES["dev"]))
    vectors = model.embed([p.text for p in papers])
    np.save(path, vectors)
    hashes.write_text(wanted)
    return vectors


def corpus_store(papers: list[Paper], vectors: np.ndarray, source: str) -> tuple[Store, Any]:
    """An in-memory store holding `papers` and their vectors, and an embedder that knows them."""
    embedder = CachedEmbedder(
        {content_hash(p.text): v for p, v in zip(papers, vectors, strict=True)}
    )
    store = Store.open(":memory:")
    store.upsert_papers(papers, source, NOW, merge=lambda stored, new: new)
    store.save_vectors(
        embedder.name,
        [(p.paper_id, content_hash(p.text), v) for p, v in zip(papers, vectors, strict=True)],
        NOW,
    )
    return store, embedder


def heldout_half(papers: Sequence[Paper]) -> np.ndarray:
    """True for the held-out half: a stable hash of the id, not its position."""
    return np.array([zlib.crc32(p.paper_id.encode()) % 2 == 1 for p in papers])


def memberships(
    settings: Settings, store: Store, embedder: Any, papers: list[Paper], vectors: np.ndarray
) -> np.ndarray:
    """(n_papers, n_topics) bool: the topic is the paper's primary or 'also relevant' one."""
    topics = settings.topics_as_models()
    _, _, assignments = run.assign_papers(
        settings, store, embedder, papers, vectors, topics, now=NOW
    )
    slugs = [t.slug for t in topics]
    out = np.zeros((len(papers), len(topics)), dtype=bool)
    for row, a in enumerate(assignments):
        for slug in (a.primary, *a.also):
            if slug is not None:
                out[row, slugs.index(slug)] = True
    return out


def keyword_matches(papers: Sequence[Paper], topics: Sequence[Topic]) -> np.ndarray:
    """Plain keyword matching (what the cv-arxiv-daily family does): any keyword in the text."""
    matchers = [assign.KeywordMatcher(t.keywords) for t in topics]
    return np.array([assign.keyword_hits(p.title, p.text, topics, matchers) > 0 for p in papers])


def f1_scores(predicted: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    """Precision, recall and F1 of one topic's boolean column."""
    tp = int((predicted & gold).sum())
    precision = tp / predicted.sum() if predicted.sum() else 0.0
    recall = tp / gold.sum() if gold.sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def with_topics(settings: Settings, topics: Sequence[Topic]) -> Settings:
    """Settings whose [[topics]] are `topics` (examples, thresholds changed)."""
    entries = [
        settings.topics[0].model_validate({k: v for k, v in t.__dict__.items() if v is not None})
        for t in topics
    ]
    return settings.model_copy(update={"topics": tuple(entries)})


def draw(rows: np.ndarray, n: int, seed: int) -> list[int]:
    """n rows drawn at random (seeded), in draw order."""
    if len(rows) == 0 or n == 0:
        return []
    return [int(r) for r in np.random.default_rng(seed).permutation(rows)[:n]]


def evaluate(name: str, papers: list[Paper], categories: list[set[str]], vectors: np.ndarray,
             store: Store, embedder: Any) -> dict[str, Any]:  # fmt: skip
    """Every variant on one topic file; figures on the held-out half."""
    settings = load_settings(TOPIC_FILES[name])
    topics = settings.topics_as_models()
    gold = np.array([[GOLD[t.slug] in c for t in topics] for c in categories])
    test, dev = heldout_half(papers), ~heldout_half(papers)
    variants: dict[str, np.ndarray] = {"keywords": keyword_matches(papers, topics)}
    for threshold in (calibrate.DEFAULT_SIMILARITY, 0.58):
        fixed = [replace(t, min_similarity=threshold) for t in topics]
        variants[f"fixed {threshold:.2f}"] = memberships(
            with_topics(settings, fixed), store, embedder, papers, vectors
        )
    learnt = memberships(settings, store, embedder, papers, vectors)
    variants["learnt"] = learnt
    for n in (5, 20):
        taught = [
            replace(t, examples=tuple(papers[r].paper_id
                                      for r in draw(np.flatnonzero(dev & gold[:, j]), n, seed=j)))
            for j, t in enumerate(topics)
        ]  # fmt: skip
        variants[f"learnt + {n} examples"] = memberships(
            with_topics(settings, taught), store, embedder, papers, vectors
        )
    wrong_rows = [np.flatnonzero(dev & learnt[:, j] & ~gold[:, j]) for j in range(len(topics))]
    wrong = [
        replace(t, counter_examples=tuple(papers[r].paper_id for r in draw(wrong_rows[j], 5, j)))
        for j, t in enumerate(topics)
    ]
    variants["learnt + 5 counter-examples"] = memberships(
        with_topics(settings, wrong), store, embedder, papers, vectors
    )
    return score_variants(topics, variants, gold, test)


def score_variants(
    topics: Sequence[Topic], variants: dict[str, np.ndarray], gold: np.ndarray, rows: np.ndarray
) -> dict[str, Any]:
    """Per topic, its gold support and each variant's precision / recall / F1 on `rows`, and
    each variant's macro F1 over the topics."""
    result: dict[str, Any] = {"n_papers": int(rows.sum()), "topics": {}, "macro_f1": {}}
    for j, topic in enumerate(topics):
        result["topics"][topic.slug] = {
            "support": int(gold[rows, j].sum()),
            **{k: f1_scores(v[rows, j], gold[rows, j]) for k, v in variants.items()},
        }
    for key in variants:
        scores = [result["topics"][t.slug][key]["f1"] for t in topics]
        result["macro_f1"][key] = round(float(np.mean(scores)), 4)
    return result


def evaluate_week(papers: list[Paper], splits: dict[str, dict[str, set[str]]],
                  vectors: np.ndarray, store: Store, embedder: Any) -> dict[str, Any]:  # fmt: skip
    """Keywords, the old fixed threshold and the learnt boundary on the hand-labelled week."""
    settings = load_settings(WEEK_TOPICS)
    topics = settings.topics_as_models()
    fixed = [replace(t, min_similarity=calibrate.DEFAULT_SIMILARITY) for t in topics]
    variants = {
        "keywords": keyword_matches(papers, topics),
        f"fixed {calibrate.DEFAULT_SIMILARITY:.2f}": memberships(
            with_topics(settings, fixed), store, embedder, papers, vectors
        ),
        "learnt": memberships(settings, store, embedder, papers, vectors),
    }
    results = {}
    for split in WEEK_SPLITS:
        labels = splits[split]
        rows = np.array([p.paper_id in labels for p in papers])
        gold = np.array([[t.slug in labels.get(p.paper_id, set()) for t in topics]
                         for p in papers])  # fmt: skip
        result: dict[str, Any] = {"n_papers": int(rows.sum()), "topics": {}, "macro_f1": {}}
        scored = [j for j in range(len(topics)) if gold[rows, j].any()]
        for j in scored:
            result["topics"][topics[j].slug] = {
                "support": int(gold[rows, j].sum()),
                **{k: f1_scores(v[rows, j], gold[rows, j]) for k, v in variants.items()},
            }
        for key in variants:
            f1s = [result["topics"][topics[j].slug][key]["f1"] for j in scored]
            result["macro_f1"][key] = round(float(np.mean(f1s)), 4)
        results[f"2025-{split}"] = result
    return results


def describe(name: str, result: dict[str, Any]) -> str:
    """One table per topic file: per-topic F1 of each variant, then the macro F1."""
    keys = list(result["macro_f1"])
    short = [k.replace("learnt + ", "+").replace(" examples", "ex").replace("counter-", "ctr-")
             for k in keys]  # fmt: skip
    where = "hand-labelled" if name.startswith("2025") else "held-out half"
    lines = [f"\n{name} topics, {where}: {result['n_papers']} papers",
             f"{'topic':22} {'n':>4} " + " ".join(f"{s:>11}" for s in short)]  # fmt: skip
    for slug, row in result["topics"].items():
        cells = " ".join(f"{row[k]['f1']:11.3f}" for k in keys)
        lines.append(f"{slug:22} {row['support']:4d} {cells}")
    lines.append(f"{'macro F1':27} " + " ".join(f"{result['macro_f1'][k]:11.3f}" for k in keys))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--only", choices=[*TOPIC_FILES, "2025"], help="one topic file (one set) only"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    p = 1 / (1 + np.exp(-calibrate.EVIDENCE_CUT))
    print(f"learnt = the boundary learnt from the store, then one evidence model across topics"
          f" (calibrate.EVIDENCE_WEIGHTS, round 6: inside at P >= {p:.2f})")  # fmt: skip
    papers, categories = load_corpus()
    name = run.make_embedder(load_settings(TOPIC_FILES["dev"])).name
    vectors = load_vectors(papers, name)
    embedder = CachedEmbedder(
        {content_hash(p.text): v for p, v in zip(papers, vectors, strict=True)}
    )
    results = {}
    with Store.open(":memory:") as store:
        store.upsert_papers(papers, "oai-cs-2016", NOW, merge=lambda stored, new: new)
        store.save_vectors(
            embedder.name,
            [(p.paper_id, content_hash(p.text), v) for p, v in zip(papers, vectors, strict=True)],
            NOW,
        )
        for split in [args.only] if args.only else TOPIC_FILES:
            if split in TOPIC_FILES:
                results[split] = evaluate(split, papers, categories, vectors, store, embedder)
                print(describe(split, results[split]), flush=True)
    if args.only in (None, "2025"):
        week, labels = load_week()
        week_vectors = load_vectors(week, name, corpus="week-2025-06")
        embedder = CachedEmbedder(
            {content_hash(p.text): v for p, v in zip(week, week_vectors, strict=True)}
        )
        with Store.open(":memory:") as store:
            store.upsert_papers(week, "week-2025-06", NOW, merge=lambda stored, new: new)
            store.save_vectors(
                embedder.name,
                [
                    (p.paper_id, content_hash(p.text), v)
                    for p, v in zip(week, week_vectors, strict=True)
                ],
                NOW,
            )
            for split, result in evaluate_week(week, labels, week_vectors, store, embedder).items():
                results[split] = result
                print(describe(split, result), flush=True)
    print(f"\n{time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
