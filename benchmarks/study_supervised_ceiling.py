"""How far can ANY classifier of these papers go, trained on the gold itself? (issue 16, round 28)

    HF_HUB_OFFLINE=1 python -m benchmarks.study_supervised_ceiling [--folds 5]

Issue 16 asks for macro F1 ≥ 0.88 with topics written as a newcomer writes them and no labels.
The eighth round's ceiling (`study_ceiling`) fixed the ranking and let the labels choose each
topic's threshold. This goes further and lets the labels choose the ranking too: per topic, a
logistic regression is trained on the gold labels of four fifths of the papers and scores the
fifth (stratified folds, seeded), with the threshold then chosen per topic on all the
out-of-fold scores, as `study_ceiling` chooses it. Its features hold everything the build knows
and more:

- `words`: the title (twice) and abstract as TF-IDF of words and word pairs (fitted on the
  training folds), what a per-topic lexical model would learn from;
- `vector`: the packaged model's embedding of the paper (what the build clusters and scores);
- `build`: the build's own evidence for the (paper, topic) pair: its margin (evidence model
  included), the cosine with the topic's text, the keyword count and the keyword-in-title flag
  (`study_meta_model.collect`, checked against the build's memberships).

Sets: the venues whose authors' keywords are the gold (`eval_venue`: ICLR 2021 parts 1 and 2,
NeurIPS 2023; the issue's kind of set), topics with five gold papers or more. Beside the ceilings:
plain keyword matching and the build (`study_meta_model.decide` on the build's margins), on the
same topics.

A label-free rule sees neither the gold nor a classifier fitted to it, so these figures are an
upper bound on what the build's representation (the packaged model's vectors and the papers'
words) supports on these sets, short of a different model. Timing-free; about 3 minutes on 2
cores with the vectors cached (benchmarks/.cache).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from benchmarks import eval_venue
from benchmarks import study_meta_model as smm
from benchmarks.study_ceiling import best_f1

SETS = (("iclr2021", 1), ("iclr2021", 2), ("neurips2023", 1))
MIN_GOLD = 5
#: Feature sets compared (each a tuple of the blocks above).
BLOCKS = {
    "words": ("words",),
    "build": ("build",),
    "words + vector + build": ("words", "vector", "build"),
}
SEED = 0
C = 10.0


def out_of_fold(
    texts: Sequence[str], vectors: np.ndarray, build: np.ndarray, gold: np.ndarray,
    blocks: tuple[str, ...], folds: int,
) -> np.ndarray:  # fmt: skip
    """Each paper's probability from the model that did not train on it."""
    scores = np.zeros(len(gold))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=SEED)
    for train, test in splitter.split(vectors, gold):
        parts = []
        if "words" in blocks:
            tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
            tfidf.fit([texts[i] for i in train])
            parts.append(tfidf.transform(texts))
        if "vector" in blocks:
            parts.append(csr_matrix(vectors))
        if "build" in blocks:
            parts.append(csr_matrix(build))
        x = hstack(parts).tocsr()
        model = LogisticRegression(C=C, max_iter=5000, class_weight="balanced")
        model.fit(x[train], gold[train])
        scores[test] = model.predict_proba(x[test])[:, 1]
    return scores


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    header = f"{'set':16s} {'topics':>6s} {'keywords':>8s} {'build':>6s} | label-trained ceilings: "
    print(header + " ".join(f"{name:>22s}" for name in BLOCKS))
    for venue, part in SETS:
        papers, settings, vectors, gold = eval_venue.load_set(part, venue)
        e = smm.checked_evidence(settings, papers, vectors, eval_venue.corpus_name(part, venue))
        built = smm.decide(e, e.built)
        texts = [f"{p.title}. {p.title}. {p.abstract}" for p in papers]
        kept = [j for j in range(gold.shape[1]) if gold[:, j].sum() >= MIN_GOLD]
        keywords, build = [], []
        ceilings: dict[str, list[float]] = {name: [] for name in BLOCKS}
        for j in kept:
            y = gold[:, j].astype(int)
            keywords.append(best_f1((e.hits[:, j] > 0).astype(float), y.astype(bool)))
            build.append(best_f1(built[:, j].astype(float), y.astype(bool)))
            evidence = np.stack(
                [e.built[:, j], e.cosine[:, j], e.hits[:, j], e.titled[:, j]], axis=1
            ).astype(np.float64)
            for name, blocks in BLOCKS.items():
                scores = out_of_fold(texts, vectors, evidence, y, blocks, args.folds)
                ceilings[name].append(best_f1(scores, y.astype(bool)))
        label = f"{venue}-{part}"
        cells = " ".join(f"{np.mean(v):22.3f}" for v in ceilings.values())
        print(f"{label:16s} {len(kept):6d} {np.mean(keywords):8.3f} {np.mean(build):6.3f} | "
              f"{'':24s}{cells}")  # fmt: skip


if __name__ == "__main__":
    main()
