"""Papers that matched no topic → discovered themes, labelled with distinctive phrases (pure).

Deterministic: input is sorted by paper id before clustering and every estimator is seeded, so the
same papers give the same themes whatever order they arrive in. The number of themes is chosen
from the data: KMeans for each k in [MIN_K, max_themes] on a seeded sample of at most SAMPLE_SIZE
papers, keeping the k with the lowest Davies–Bouldin index (silhouette, the usual choice, picks
k = 2 on real abstracts: see benchmarks/README.md); then KMeans on all papers, started from that
sample fit's centres. A cluster whose papers do not hang together (`cohesion` under
MIN_COHESION) is then split in two until its parts do; parts too small to be a theme join the
nearest theme if close to it, else go to "Other" (issue 17: a grab-bag under a made-up name
was worse than an honest "Other"). Nothing is quadratic in the number of papers.
scikit-learn is imported lazily. Imports only labels, models and numpy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager

import numpy as np

from pipeline.models import Theme
from pipeline.topics.labels import name_groups

MIN_K = 4  # below this, a busy week collapses into "ML" vs "everything else"
#: A theme is shown only when the mean cosine between its papers (`cohesion`) is at least this;
#: a cluster below it is split in two until its parts cohere. On the demo weeks every theme a
#: reader judged mixed or a grab-bag scored under 0.37 and 6 of 8 coherent ones over 0.39
#: (benchmarks/labels/theme-judgements.jsonl).
MIN_COHESION = 0.38
#: A paper of a part too small to be a theme joins the nearest theme when its cosine to that
#: theme's centroid is at least this; otherwise it goes to "Other".
MIN_JOIN_SIMILARITY = 0.40
SAMPLE_SIZE = 2000
#: Papers per theme (the most central) that its label phrases are drawn from.
LABEL_PAPERS = 100
#: Papers of the week outside the themes' label papers that phrases are contrasted with.
BACKGROUND_SIZE = 1000


def find_themes(
    paper_ids: Sequence[str],
    vectors: np.ndarray,
    texts: Sequence[str],
    *,
    seed: int,
    min_theme_size: int,
    max_themes: int,
    background: Sequence[str] = (),
    embed_phrases: Callable[[Sequence[str]], np.ndarray] | None = None,
) -> tuple[list[Theme], list[str]]:
    """Cluster the papers; return the themes (largest first) and the ids left in "Other".

    `background`: texts of the week's other papers (those a topic took), which label phrases
    are contrasted with besides the other themes: a phrase common to the whole week is no label.
    `embed_phrases`: the papers' embedder; name candidates far from the theme are dropped.
    A cluster that does not cohere is split; what is left is "Other".
    """
    order = sorted(range(len(paper_ids)), key=lambda i: paper_ids[i])
    ids = [paper_ids[i] for i in order]
    if len(ids) < max(min_theme_size, 2):
        return [], ids
    x = np.asarray(vectors, dtype=np.float32)[order]
    docs = [texts[i] for i in order]
    labels = _cluster_labels(x, seed=seed, min_theme_size=min_theme_size, max_themes=max_themes)
    groups = [np.flatnonzero(labels == k) for k in sorted(set(labels.tolist())) if k >= 0]
    groups, leftovers = _coherent_groups(x, groups, seed=seed, min_theme_size=min_theme_size)
    groups = _absorb(x, groups, leftovers)
    if not groups:
        return [], ids
    # Each theme is labelled from its most central papers: the phrases are as distinctive, and
    # the n-gram counting no longer grows with the week (3.7 s → bounded at 10k papers).
    central = [
        g[np.argsort(-(x[g] @ x[g].mean(axis=0)), kind="stable")[:LABEL_PAPERS]] for g in groups
    ]
    in_label = np.zeros(len(docs), dtype=bool)
    for c in central:
        in_label[c] = True
    # Sorted, so the sample (and the labels) do not depend on the order papers arrive in.
    rest = sorted([docs[i] for i in np.flatnonzero(~in_label)] + list(background))
    if len(rest) > BACKGROUND_SIZE:
        keep = np.random.default_rng(seed).choice(len(rest), BACKGROUND_SIZE, replace=False)
        rest = [rest[i] for i in np.sort(keep)]
    centroids = np.stack([x[g].mean(axis=0) for g in groups])
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    names = name_groups(
        [[docs[i] for i in np.sort(c)] for c in central],
        background=rest,
        centroids=centroids,
        embed=embed_phrases,
    )
    themes: list[Theme] = []
    themed: set[int] = set()
    for group, core, name in zip(groups, central, names, strict=True):
        members = tuple(sorted(ids[i] for i in group))
        theme_id = _theme_id(name.terms, members)
        if any(t.theme_id == theme_id for t in themes):  # two themes labelled alike
            theme_id = _theme_id((), members)
        themes.append(
            Theme(
                theme_id=theme_id,
                label=name.name,
                terms=name.terms,
                paper_ids=members,
                representative=ids[core[0]],
            )
        )
        themed.update(group.tolist())
    themes.sort(key=lambda t: (-len(t.paper_ids), t.theme_id))
    other = [ids[i] for i in range(len(ids)) if i not in themed]
    return themes, other


def cohesion(x: np.ndarray) -> float:
    """Mean cosine between distinct rows of L2-normalised `x` (1.0 for fewer than two rows).

    Unlike the mean cosine to the centroid it does not grow as a group shrinks, so a 5-paper
    and a 50-paper theme are held to the same standard.
    """
    n = x.shape[0]
    if n < 2:
        return 1.0
    total = x.astype(np.float64).sum(axis=0)
    return float((total @ total - np.einsum("ij,ij->", x, x)) / (n * (n - 1)))


def _coherent_groups(
    x: np.ndarray, groups: list[np.ndarray], *, seed: int, min_theme_size: int
) -> tuple[list[np.ndarray], list[int]]:
    """Split each group in two until its parts cohere (`MIN_COHESION`).

    Returns the coherent parts of at least min_theme_size papers and the rows of the parts too
    small to split further. Each group is split on its own, so the result does not depend on
    the order they are visited in.
    """
    coherent: list[np.ndarray] = []
    leftovers: list[int] = []
    queue = list(groups)
    with one_thread():
        while queue:
            group = queue.pop()
            if len(group) >= min_theme_size and cohesion(x[group]) >= MIN_COHESION:
                coherent.append(group)
            elif len(group) < 2 * min_theme_size:
                leftovers.extend(group.tolist())
            else:
                queue.extend(_bisect(x, group, seed=seed))
    return sorted(coherent, key=lambda g: int(g[0])), sorted(leftovers)


def _bisect(x: np.ndarray, group: np.ndarray, *, seed: int) -> list[np.ndarray]:
    from sklearn.cluster import KMeans

    halves = KMeans(n_clusters=2, n_init=4, random_state=seed).fit_predict(x[group])
    parts = [group[halves == 0], group[halves == 1]]
    if min(len(p) for p in parts) == 0:  # identical vectors: nothing to split on
        return [group[:1], group[1:]]
    return parts


def _absorb(x: np.ndarray, groups: list[np.ndarray], leftovers: list[int]) -> list[np.ndarray]:
    """Leftover papers join the nearest theme if close enough to its centroid (else "Other")."""
    if not groups or not leftovers:
        return groups
    centroids = np.stack([x[g].mean(axis=0) for g in groups])
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    similarity = x[leftovers] @ centroids.T
    joined: list[list[int]] = [g.tolist() for g in groups]
    for row, paper in enumerate(leftovers):
        best = int(np.argmax(similarity[row]))
        if similarity[row, best] >= MIN_JOIN_SIMILARITY:
            joined[best].append(paper)
    return [np.asarray(sorted(g)) for g in joined]


def _cluster_labels(
    x: np.ndarray, *, seed: int, min_theme_size: int, max_themes: int
) -> np.ndarray:
    """KMeans with k chosen by Davies–Bouldin on a sample; final fit on everything.

    One BLAS/OpenMP thread: on a busy 2-core machine KMeans with its default threads was 10–40×
    slower (1.2 s vs 0.03 s for 800 papers, 12.6 s vs 1.5 s for 10,000; benchmarks/README.md).
    """
    with one_thread():
        return _kmeans_labels(x, seed=seed, min_theme_size=min_theme_size, max_themes=max_themes)


def one_thread() -> AbstractContextManager[object]:
    """A context in which scikit-learn's OpenMP and every BLAS run one thread.

    threadpoolctl limits only the libraries already loaded: entered before scikit-learn's
    OpenMP runtime and SciPy's OpenBLAS were, it left them at every core, and a cold process
    spent ~20 s instead of ~4 s in its first clustering (issue 17). So they are loaded first.
    """
    import sklearn.cluster  # noqa: F401  (loads libgomp and SciPy's OpenBLAS)
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def _kmeans_labels(x: np.ndarray, *, seed: int, min_theme_size: int, max_themes: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    n = x.shape[0]
    n_distinct = len(np.unique(x, axis=0))
    # Room for themes of twice the minimum size, so small weeks do not shatter into singletons.
    k_max = min(max_themes, n // (2 * min_theme_size), n_distinct)
    if k_max < 2:
        return np.zeros(n, dtype=int)
    centres = choose_k(x, k_min=min(MIN_K, k_max), k_max=k_max, seed=seed)
    if centres is None:
        return np.asarray(KMeans(n_clusters=k_max, n_init=4, random_state=seed).fit_predict(x))
    # Started from the sample's centres, the fit on every paper converges in a few steps:
    # 0.6 s instead of 1.5 s for four fresh starts on 10,000 papers.
    return np.asarray(KMeans(n_clusters=len(centres), init=centres, n_init=1).fit_predict(x))


def choose_k(x: np.ndarray, *, k_min: int, k_max: int, seed: int) -> np.ndarray | None:
    """Centres of the KMeans with the lowest Davies–Bouldin index for k in [k_min, k_max], fit
    on a seeded sample; None when there is no choice to make (k_min ≥ k_max)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import davies_bouldin_score

    if k_min >= k_max:
        return None
    sample = x
    if x.shape[0] > SAMPLE_SIZE:
        rows = np.random.default_rng(seed).choice(x.shape[0], SAMPLE_SIZE, replace=False)
        sample = x[np.sort(rows)]
    best, best_score = None, float("inf")
    for k in range(k_min, k_max + 1):
        model = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(sample)
        if len(set(model.labels_.tolist())) < 2:
            continue
        score = float(davies_bouldin_score(sample, model.labels_))
        if score < best_score - 1e-9:
            best, best_score = np.asarray(model.cluster_centers_, dtype=x.dtype), score
    return best


def match_themes(
    centroids: Mapping[str, np.ndarray],
    previous: Mapping[str, np.ndarray],
    *,
    min_similarity: float,
    accept: Callable[[str, str], bool] | None = None,
) -> dict[str, str]:
    """This week's theme id → an earlier theme id whose centroid is close enough (one-to-one).

    Greedy by similarity, highest first; ties broken by ids so the result is deterministic.
    `accept(new_id, old_id)`, when given, can refuse a close pair; both stay free for others.
    """
    pairs = []
    for new_id, c in centroids.items():
        for old_id, p in previous.items():
            denom = float(np.linalg.norm(c) * np.linalg.norm(p)) or 1.0
            pairs.append((float(c @ p) / denom, new_id, old_id))
    pairs.sort(key=lambda t: (-t[0], t[1], t[2]))
    matched: dict[str, str] = {}
    used: set[str] = set()
    for similarity, new_id, old_id in pairs:
        if similarity < min_similarity:
            break
        if new_id in matched or old_id in used:
            continue
        if accept is not None and not accept(new_id, old_id):
            continue
        matched[new_id] = old_id
        used.add(old_id)
    return matched


def _theme_id(terms: Sequence[str], members: Sequence[str]) -> str:
    basis = "|".join(terms) if terms else "|".join(members)
    return "theme-" + hashlib.sha1(basis.encode("utf-8")).hexdigest()[:8]
