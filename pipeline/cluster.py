"""Papers that matched no topic → discovered themes, each labelled with distinctive phrases (pure).

Deterministic: input is sorted by paper id before clustering and every estimator is seeded, so the
same papers give the same themes whatever order they arrive in. scikit-learn is imported lazily.
Imports only models and numpy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from pipeline.models import Theme


def find_themes(
    paper_ids: Sequence[str],
    vectors: np.ndarray,
    texts: Sequence[str],
    *,
    seed: int,
    min_theme_size: int,
    max_themes: int,
) -> tuple[list[Theme], list[str]]:
    """Cluster the papers; return the themes (largest first) and the ids left in "Other"."""
    order = sorted(range(len(paper_ids)), key=lambda i: paper_ids[i])
    ids = [paper_ids[i] for i in order]
    if len(ids) < max(min_theme_size, 2):
        return [], ids
    x = np.asarray(vectors, dtype=np.float32)[order]
    docs = [texts[i] for i in order]
    labels = _cluster_labels(x, seed=seed, min_theme_size=min_theme_size, max_themes=max_themes)
    groups = [np.flatnonzero(labels == k) for k in sorted(set(labels.tolist())) if k >= 0]
    groups = [g for g in groups if len(g) >= min_theme_size]
    if not groups:
        return [], ids
    terms = label_groups([[docs[i] for i in _central(x, g)] for g in groups], n_terms=3)
    themes = []
    themed: set[int] = set()
    for group, group_terms in zip(groups, terms, strict=True):
        centroid = x[group].mean(axis=0)
        rep = group[int(np.argmax(x[group] @ centroid))]
        members = tuple(sorted(ids[i] for i in group))
        themes.append(
            Theme(
                theme_id=_theme_id(group_terms, members),
                label=", ".join(group_terms) if group_terms else "Miscellaneous",
                terms=tuple(group_terms),
                paper_ids=members,
                representative=ids[rep],
            )
        )
        themed.update(group.tolist())
    themes.sort(key=lambda t: (-len(t.paper_ids), t.theme_id))
    other = [ids[i] for i in range(len(ids)) if i not in themed]
    return themes, other


#: k is chosen on at most this many papers; the final KMeans then runs once on all of them, so
#: a 50k-paper week costs one fit, not one per candidate k (issue 8: no step worse than n log n).
SELECTION_SAMPLE = 1000
#: Themes are labelled from at most this many papers each, the ones nearest the centroid: the
#: label cost stays flat as a week grows, and central papers are the ones a label should describe.
LABEL_SAMPLE = 100


def _cluster_labels(
    x: np.ndarray, *, seed: int, min_theme_size: int, max_themes: int
) -> np.ndarray:
    """KMeans with k chosen by silhouette on a seeded sample, then one fit on everything."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from threadpoolctl import threadpool_limits

    # float64: scikit-learn's float32 distance path upcasts chunk by chunk, ~5x slower here.
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    n_distinct = len(np.unique(x, axis=0))
    k_max = min(max_themes, n // min_theme_size, n_distinct)
    if k_max < 2:
        return np.zeros(n, dtype=int)
    rng = np.random.default_rng(seed)
    sample = (
        np.sort(rng.choice(n, SELECTION_SAMPLE, replace=False)) if n > SELECTION_SAMPLE else None
    )
    xs = x if sample is None else x[sample]
    best: Any = None
    best_score = -1.0
    # One thread for the many small fits: OpenMP start-up and spinning cost more than the fits
    # themselves at this size, and much more on a loaded machine.
    with threadpool_limits(1):
        for k in range(2, min(k_max, len(np.unique(xs, axis=0))) + 1):
            model = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(xs)
            score = silhouette_score(xs, model.labels_, metric="cosine", random_state=seed)
            if score > best_score:
                best, best_score = model, float(score)
    if best is None:
        return np.zeros(n, dtype=int)
    if sample is None:
        return np.asarray(best.labels_)
    # Start from the sample's centres: one short Lloyd run instead of a fresh multi-init search.
    final = KMeans(n_clusters=best.n_clusters, init=best.cluster_centers_, n_init=1)
    return np.asarray(final.fit_predict(x))


def _central(x: np.ndarray, group: np.ndarray) -> np.ndarray:
    """The group's members nearest its centroid (all of them for small groups), in input order."""
    if len(group) <= LABEL_SAMPLE:
        return group
    closeness = x[group] @ x[group].mean(axis=0)
    return np.sort(group[np.argsort(-closeness, kind="stable")[:LABEL_SAMPLE]])


def label_groups(groups: Sequence[Sequence[str]], *, n_terms: int) -> list[list[str]]:
    """Class-based TF-IDF over 1–3-grams: the phrases most distinctive of each group."""
    from sklearn.feature_extraction.text import CountVectorizer

    joined = [" ".join(docs) for docs in groups]
    vectorizer = CountVectorizer(
        ngram_range=(1, 3), stop_words="english", min_df=1, token_pattern=r"(?u)\b[a-zA-Z][\w-]+\b"
    )
    counts = vectorizer.fit_transform(joined).toarray().astype(np.float64)
    vocab = vectorizer.get_feature_names_out()
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    avg_words = counts.sum() / max(len(groups), 1)
    idf = np.log1p(avg_words / np.maximum(counts.sum(axis=0), 1.0))
    weights = tf * idf
    # A phrase must occur in at least two papers of the group to label it.
    doc_freq = [_doc_freq(vectorizer, docs) for docs in groups]
    labels = []
    for row, df in zip(weights, doc_freq, strict=True):
        chosen: list[str] = []
        for j in np.argsort(-row, kind="stable"):
            term = str(vocab[j])
            if row[j] <= 0 or df.get(term, 0) < 2:
                continue
            if any(term in c or c in term for c in chosen):
                continue
            chosen.append(term)
            if len(chosen) == n_terms:
                break
        labels.append(chosen)
    return labels


def _doc_freq(vectorizer: object, docs: Sequence[str]) -> dict[str, int]:
    analyzer = vectorizer.build_analyzer()  # type: ignore[attr-defined]
    freq: dict[str, int] = {}
    for doc in docs:
        for term in set(analyzer(doc)):
            freq[term] = freq.get(term, 0) + 1
    return freq


def _theme_id(terms: Sequence[str], members: Sequence[str]) -> str:
    basis = "|".join(terms) if terms else "|".join(members)
    return "theme-" + hashlib.sha1(basis.encode("utf-8")).hexdigest()[:8]
