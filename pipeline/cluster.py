"""Papers that matched no topic → discovered themes, labelled with distinctive phrases (pure).

Deterministic: input is sorted by paper id before clustering and every estimator is seeded, so the
same papers give the same themes whatever order they arrive in. The number of themes is chosen
from the data: KMeans for each k in [MIN_K, max_themes] on a seeded sample of at most SAMPLE_SIZE
papers, keeping the k with the lowest Davies–Bouldin index (silhouette, the usual choice, picks
k = 2 on real abstracts: see benchmarks/README.md); then KMeans on all papers, started from that
sample fit's centres. Nothing is quadratic in the number of papers. scikit-learn is imported
lazily. Imports only models and numpy.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources

import numpy as np

from pipeline.models import Theme

MIN_K = 4  # below this, a busy week collapses into "ML" vs "everything else"
#: A paper of a cluster too small to be a theme joins the nearest theme when its cosine to that
#: theme's centroid is at least this (p10 of pairwise cosines among related abstracts is ~0.35).
MIN_JOIN_SIMILARITY = 0.35
SAMPLE_SIZE = 2000
#: Papers per theme (the most central) that its label phrases are drawn from.
LABEL_PAPERS = 100
#: Academic boilerplate that is frequent in every cluster of abstracts and never a good label.
BOILERPLATE = frozenset(
    [
        "paper",
        "propose",
        "proposed",
        "proposes",
        "approach",
        "approaches",
        "method",
        "methods",
        "methodology",
        "result",
        "results",
        "show",
        "shows",
        "shown",
        "study",
        "studies",
        "novel",
        "new",
        "based",
        "using",
        "use",
        "used",
        "work",
        "works",
        "present",
        "presents",
        "presented",
        "introduce",
        "introduces",
        "existing",
        "state",
        "art",
        "performance",
        "experiments",
        "experimental",
        "demonstrate",
        "demonstrates",
        "problem",
        "problems",
        "framework",
        "task",
        "tasks",
        "model",
        "models",
        "data",
        "large",
        "achieve",
        "achieves",
        "significantly",
        "significant",
        "improve",
        "improves",
        "improved",
        "different",
        "various",
        "analysis",
        "provide",
        "provides",
        "address",
        "challenges",
        "challenge",
        "key",
        "effective",
        # verbs and fillers of abstract prose that read as nonsense labels ("gained increasing")
        "achieved",
        "align",
        "beneficial",
        "check",
        "differences",
        "employ",
        "employs",
        "enhancements",
        "fostering",
        "gained",
        "involve",
        "involves",
        "leverage",
        "leverages",
        "leveraging",
        "presenting",
        "remarkable",
        "removing",
        "struggle",
        "struggles",
        "success",
    ]
)
#: Papers of the week outside the themes' label papers that phrases are contrasted with.
BACKGROUND_SIZE = 1000
#: A label phrase must appear in at least this share of its theme's label papers (and in two).
MIN_PHRASE_SHARE = 0.1
#: A phrase is replaced by a longer one containing it that appears in at least this share of
#: the papers it appears in ("learning" → "reinforcement learning").
PROMOTE_SHARE = 0.5
MAX_CACHED_WORDS = 200_000

_URL = re.compile(r"(?:https?://|www\.)\S+")
_DOMAIN = re.compile(r"[\w.-]+\.(?:com|org|io|net)\b\S*")  # "github.com/x/y" without a scheme
_DOMAIN_ENDS = (".com", ".org", ".io", ".net")
_PAREN = re.compile(r"\(\s*[^()\s]{1,12}\s*\)")  # "(LLMs)", "(RL)": the acronym repeats words
_LATEX = re.compile(r"\$[^$]*\$|\\[a-zA-Z]+")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*|\S")
_ADVERB = re.compile(r"(?:ally|ously|ively|ently|antly|edly|ingly|arly)$")


def find_themes(
    paper_ids: Sequence[str],
    vectors: np.ndarray,
    texts: Sequence[str],
    *,
    seed: int,
    min_theme_size: int,
    max_themes: int,
    background: Sequence[str] = (),
) -> tuple[list[Theme], list[str]]:
    """Cluster the papers; return the themes (largest first) and the ids left in "Other".

    `background`: texts of the week's other papers (those a topic took), which label phrases
    are contrasted with besides the other themes: a phrase common to the whole week is no label.
    """
    order = sorted(range(len(paper_ids)), key=lambda i: paper_ids[i])
    ids = [paper_ids[i] for i in order]
    if len(ids) < max(min_theme_size, 2):
        return [], ids
    x = np.asarray(vectors, dtype=np.float32)[order]
    docs = [texts[i] for i in order]
    labels = _cluster_labels(x, seed=seed, min_theme_size=min_theme_size, max_themes=max_themes)
    groups = [np.flatnonzero(labels == k) for k in sorted(set(labels.tolist())) if k >= 0]
    groups = _absorb_small(x, groups, min_theme_size=min_theme_size)
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
    terms = label_groups(
        [[docs[i] for i in np.sort(c)] for c in central], n_terms=4, background=rest
    )
    themes: list[Theme] = []
    themed: set[int] = set()
    for group, core, group_terms in zip(groups, central, terms, strict=True):
        rep = core[0]
        members = tuple(sorted(ids[i] for i in group))
        theme_id = _theme_id(group_terms, members)
        if any(t.theme_id == theme_id for t in themes):  # two themes labelled alike
            theme_id = _theme_id((), members)
        themes.append(
            Theme(
                theme_id=theme_id,
                label=", ".join(group_terms[:3]) if group_terms else "Miscellaneous",
                terms=tuple(group_terms),
                paper_ids=members,
                representative=ids[rep],
            )
        )
        themed.update(group.tolist())
    themes.sort(key=lambda t: (-len(t.paper_ids), t.theme_id))
    other = [ids[i] for i in range(len(ids)) if i not in themed]
    return themes, other


def _absorb_small(
    x: np.ndarray, groups: list[np.ndarray], *, min_theme_size: int
) -> list[np.ndarray]:
    """Drop clusters under min_theme_size; their papers join the nearest theme if close enough."""
    big = [g for g in groups if len(g) >= min_theme_size]
    small = [i for g in groups if len(g) < min_theme_size for i in g.tolist()]
    if not big or not small:
        return big
    centroids = np.stack([x[g].mean(axis=0) for g in big])
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    similarity = x[small] @ centroids.T
    joined: list[list[int]] = [g.tolist() for g in big]
    for row, paper in enumerate(small):
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
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _kmeans_labels(x, seed=seed, min_theme_size=min_theme_size, max_themes=max_themes)


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


def label_groups(
    groups: Sequence[Sequence[str]], *, n_terms: int, background: Sequence[str] = ()
) -> list[list[str]]:
    """The 1–3-word phrases most distinctive of each group against the others and `background`.

    Candidates are runs of words between punctuation and stop words (so no phrase spans "and"),
    URLs, LaTeX and parenthesised acronyms removed. A phrase scores by the share of the group's
    papers it appears in times the log of how much more often it appears there than in the
    other papers (a longer phrase counts more). It must appear in two papers of the group and in
    MIN_PHRASE_SHARE of them, must not be generic academic vocabulary alone, must not share a
    word with a phrase already chosen, and gives way to a longer phrase containing it that
    covers most of its papers.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    sizes = [len(g) for g in groups]
    docs = [doc for group in groups for doc in group]
    vectorizer = CountVectorizer(analyzer=phrases, binary=True, min_df=2)
    try:
        matrix = vectorizer.fit_transform(docs + list(background)).tocsr()
    except ValueError:  # no phrase in two papers
        return [[] for _ in groups]
    vocab = [str(term) for term in vectorizer.get_feature_names_out()]
    usable = np.array([_is_label(term) for term in vocab])
    n_words = np.array([term.count(" ") + 1 for term in vocab], dtype=np.float64)
    owner = np.repeat(np.arange(len(groups)), sizes)
    doc_freq = np.asarray((_membership(owner, len(groups)) @ matrix[: len(docs)]).todense())
    total = np.asarray(matrix.sum(axis=0)).ravel()
    n_all = matrix.shape[0]
    labels = []
    for df, size in zip(doc_freq, sizes, strict=True):
        inside = df / max(size, 1)
        outside = (total - df) / max(n_all - size, 1)
        score = inside * np.log((inside + 1e-3) / (outside + 1e-3)) * np.sqrt(n_words)
        score[(df < max(min(2, size), MIN_PHRASE_SHARE * size)) | ~usable] = 0.0
        chosen: list[str] = []
        for j in np.argsort(-score, kind="stable"):
            if score[j] <= 0 or len(chosen) == n_terms:
                break
            term = _longer_phrase(int(j), vocab, df, score, n_words)
            if not any(_overlaps(term, c) for c in chosen):
                chosen.append(term)
        labels.append(chosen)
    return labels


def _longer_phrase(
    j: int, vocab: Sequence[str], df: np.ndarray, score: np.ndarray, n_words: np.ndarray
) -> str:
    """vocab[j], or the most frequent longer scoring phrase containing it that covers most of it."""
    padded = f" {vocab[j]} "
    longer = [
        int(k)
        for k in np.flatnonzero(
            (df >= PROMOTE_SHARE * df[j]) & (n_words > n_words[j]) & (score > 0)
        )
        if padded in f" {vocab[int(k)]} "
    ]
    if not longer:
        return vocab[j]
    return vocab[max(longer, key=lambda k: (df[k], score[k], vocab[k]))]


def phrases(text: str, n_max: int = 3) -> list[str]:
    """Candidate label phrases of one text: 1..n_max-word runs between stop words/punctuation."""
    words = _label_words()
    found: list[str] = []
    run: list[str] = []
    for token in _TOKEN.findall(_clean(text).lower()):
        word = words.get(token)
        if word is None:
            if len(words) > MAX_CACHED_WORDS:  # a long-lived process: keep the memo bounded
                words.clear()
            word = words[token] = _label_word(token)
        if word:
            run.append(word)
            continue
        found.extend(_ngrams(run, n_max))
        run = []
    found.extend(_ngrams(run, n_max))
    return found


def _ngrams(run: list[str], n_max: int) -> list[str]:
    return [" ".join(run[i : i + n]) for n in range(1, n_max + 1) for i in range(len(run) - n + 1)]


@cache
def _label_words() -> dict[str, str]:
    """Token → its folded form, or '' for a phrase break; filled as tokens are first seen."""
    return {}


def _label_word(token: str) -> str:
    if not token[0].isalpha() or len(token) < 2 or token in _label_stop_words():
        return ""
    return _singular(token)


def _singular(word: str) -> str:
    """'networks' → 'network', 'strategies' → 'strategy', 'patches' → 'patch'; 'analysis',
    'robotics', 'bias' stay. Labels read in the singular; plural and singular count as one."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(_KEEP_S):
        return word[:-1]
    return word


_KEEP_S = ("ss", "us", "is", "ics", "as", "os", "ys")


def _clean(text: str) -> str:
    """URLs and LaTeX become phrase breaks; parenthesised acronyms ("(LLMs)") go."""
    text = _URL.sub(" . ", text)
    if any(end in text for end in _DOMAIN_ENDS):  # the domain pattern is slow: only if needed
        text = _DOMAIN.sub(" . ", text)
    return _LATEX.sub(" . ", _PAREN.sub(" ", text))


def _is_label(phrase: str) -> bool:
    """Not generic vocabulary alone, no adverb, no one- or two-letter word on its own."""
    words = phrase.split()
    if len(words) == 1 and len(words[0]) < 3:
        return False
    if any(_ADVERB.search(w) for w in words):
        return False
    return not all(w in generic_words() for w in words)


@cache
def generic_words() -> frozenset[str]:
    """Words common to abstracts of every field (pipeline/data/generic_words.txt)."""
    text = resources.files("pipeline").joinpath("data/generic_words.txt").read_text("utf-8")
    words = [line.strip() for line in text.splitlines() if line.strip()[:1] not in ("", "#")]
    return frozenset(_singular(w) for w in words)  # compared with folded phrase words


def _membership(owner: np.ndarray, n_groups: int) -> object:
    from scipy.sparse import csr_matrix

    n = len(owner)
    return csr_matrix((np.ones(n), (owner, np.arange(n))), shape=(n_groups, n))


@cache
def _label_stop_words() -> frozenset[str]:
    return _stop_words() | BOILERPLATE


def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def _overlaps(a: str, b: str) -> bool:
    """Phrases sharing a word, plurals folded ('network' overlaps 'neural networks')."""
    wa = {w.removesuffix("s") for w in a.split()}
    wb = {w.removesuffix("s") for w in b.split()}
    return bool(wa & wb)


def describes(terms: Sequence[str], texts: Sequence[str]) -> float:
    """The share of `texts` containing at least one of the label phrases `terms`."""
    if not texts:
        return 0.0
    wanted = {" ".join(_singular(w) for w in term.lower().split()) for term in terms}
    return sum(1 for text in texts if wanted & set(phrases(text))) / len(texts)


def match_themes(
    centroids: Mapping[str, np.ndarray],
    previous: Mapping[str, np.ndarray],
    *,
    min_similarity: float,
) -> dict[str, str]:
    """This week's theme id → an earlier theme id whose centroid is close enough (one-to-one).

    Greedy by similarity, highest first; ties broken by ids so the result is deterministic.
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
        matched[new_id] = old_id
        used.add(old_id)
    return matched


def _theme_id(terms: Sequence[str], members: Sequence[str]) -> str:
    basis = "|".join(terms) if terms else "|".join(members)
    return "theme-" + hashlib.sha1(basis.encode("utf-8")).hexdigest()[:8]
