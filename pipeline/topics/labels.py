"""Names for groups of papers: the 1–3-word phrases most distinctive of each group (pure).

Used for discovered themes' names (`name_groups`, from cluster.find_themes), suggested topic
keywords (tune) and to check that an earlier theme's name still fits this week's papers (run).
Candidates are runs of words between stop words and punctuation; words common to abstracts of
every field (pipeline/data/generic_words.txt, measured by benchmarks/make_generic_words.py)
never make a label alone. scikit-learn is imported lazily. Imports only numpy.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

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
        "proposing",
        "remarkable",
        "removing",
        "struggle",
        "struggles",
        "success",
    ]
)
#: A label phrase must appear in at least this share of its theme's label papers (and in two).
MIN_PHRASE_SHARE = 0.1
#: A phrase is replaced by a longer one containing it that appears in at least this share of
#: the papers it appears in ("learning" → "reinforcement learning").
PROMOTE_SHARE = 0.5
MAX_CACHED_WORDS = 200_000
#: Token → its folded form, or '' for a phrase break; filled as tokens are first seen.
_WORDS: dict[str, str] = {}

_URL = re.compile(r"(?:https?://|www\.)\S+")
_DOMAIN = re.compile(r"[\w.-]+\.(?:com|org|io|net)\b\S*")  # "github.com/x/y" without a scheme
_DOMAIN_ENDS = (".com", ".org", ".io", ".net")
_PAREN = re.compile(r"\(\s*[^()\s]{1,12}\s*\)")  # "(LLMs)", "(RL)": the acronym repeats words
_LATEX = re.compile(r"\$[^$]*\$|\\[a-zA-Z]+")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*|\S")
_ADVERB = re.compile(r"(?:ally|ously|ively|ently|antly|edly|ingly|arly)$")


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
    words = _WORDS
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
    return bool({_singular(w) for w in a.split()} & {_singular(w) for w in b.split()})


def describes(terms: Sequence[str], texts: Sequence[str]) -> float:
    """The share of `texts` containing at least one of the label phrases `terms`.

    A name such as "Speech and music generation" counts as its phrases ("speech", "music
    generation"): names are joined with "and" and phrases never span it.
    """
    if not texts:
        return 0.0
    wanted = {
        " ".join(_singular(w) for w in part.split())
        for term in terms
        for part in name_parts(term.lower())
    }
    return sum(1 for text in texts if wanted & set(phrases(text))) / len(texts)


_NAME_JOINS = re.compile(r",|\band\b")


def name_parts(name: str) -> list[str]:
    """The phrases a name is made of: "Speech and music" → ["Speech", "music"]."""
    return [part.strip() for part in _NAME_JOINS.split(name) if part.strip()]


#: Distinctive phrases per group that the name is chosen from.
NAME_CANDIDATES = 8
MAX_NAME_WORDS = 4
#: With an embedder, a candidate whose cosine to the group's centroid is under this is prose,
#: not a subject ("remain unexplored" 0.11, "finding suggest" 0.12, "today" 0.09 against
#: "human-robot teaming" 0.54, "weather event" 0.43 on the demo weeks; benchmarks/README.md).
MIN_NAME_RELEVANCE = 0.2


@dataclass(frozen=True)
class GroupName:
    """A group's name as a reader sees it, its key phrases and the share of texts it fits."""

    name: str
    terms: tuple[str, ...]
    fit: float


def name_groups(
    groups: Sequence[Sequence[str]],
    *,
    background: Sequence[str] = (),
    centroids: np.ndarray | None = None,
    embed: Callable[[Sequence[str]], np.ndarray] | None = None,
) -> list[GroupName]:
    """A 1–4-word name for each group of texts, checked against the group's own texts.

    The name is the group's most distinctive phrase (`label_groups`) joined by "and" to the
    next one that fits in MAX_NAME_WORDS ("Speech and music", "Pose estimation and camera"):
    one phrase alone named fewer of a theme's papers and read vaguer ("Language", "Scene").
    With `embed` and the groups' unit `centroids`, candidates far from the centroid are
    dropped first, KeyBERT-style. Acronyms keep the case the texts write them in ("LLM",
    "MRI"). `fit` is the share of the texts containing one of the name's phrases.
    """
    candidates = label_groups(groups, n_terms=NAME_CANDIDATES, background=background)
    names = []
    for row, (texts, found) in enumerate(zip(groups, candidates, strict=True)):
        surface = _surface_forms(texts)
        shown = [" ".join(surface.get(w, w) for w in term.split()) for term in found]
        if embed is not None and centroids is not None and shown:
            relevance = np.asarray(embed(shown)) @ centroids[row]
            kept = [i for i in range(len(shown)) if relevance[i] >= MIN_NAME_RELEVANCE]
            found, shown = [found[i] for i in kept], [shown[i] for i in kept]
        names.append(_name_of(found, shown, texts))
    return names


def _name_of(found: Sequence[str], shown: Sequence[str], texts: Sequence[str]) -> GroupName:
    if not found:
        return GroupName("", (), 0.0)
    parts = [0]
    for j in range(1, len(found)):
        if len(found[0].split()) + len(found[j].split()) <= MAX_NAME_WORDS:
            parts.append(j)
            break
    name = " and ".join(shown[j] for j in parts)
    fit = describes([found[j] for j in parts], texts)
    return GroupName(name[:1].upper() + name[1:], tuple(found[:4]), fit)


def _surface_forms(texts: Sequence[str]) -> dict[str, str]:
    """Folded word → the form the texts mostly write it in, when that is not lower case:
    acronyms ("LLMs" → "LLM") and names written mixed-case ("ResNet"); capitalised sentence
    starts do not count."""
    seen: dict[str, Counter[str]] = {}
    for text in texts:
        for token in _TOKEN.findall(_clean(text)):
            # "LLMs", "O-RAN", "ResNet", "Wi-Fi"; not a Title-Case "Retrieval-Augmented"
            if token[0].isalpha() and _written_specially(token):
                word = _singular(token.lower())
                seen.setdefault(word, Counter())[token] += 1
    plain = Counter(_singular(token) for text in texts for token in _TOKEN.findall(_clean(text)))
    forms = {}
    for word, counts in seen.items():
        form, n = counts.most_common(1)[0]
        if n > plain[word]:  # written this way more often than in lower case
            forms[word] = _singular_surface(form)
    return forms


def _written_specially(token: str) -> bool:
    """A capital after a part's first letter, or short capitalised hyphen parts ("Wi-Fi")."""
    parts = token.split("-")
    if any(c.isupper() for part in parts for c in part[1:]):
        return True
    return len(parts) > 1 and all(len(p) <= 3 and p[:1].isupper() for p in parts)


def _singular_surface(token: str) -> str:
    """'LLMs' → 'LLM'; 'GANs' → 'GAN'; 'MRI' stays."""
    if len(token) > 2 and token.endswith("s") and token[:-1].isupper():
        return token[:-1]
    return token
