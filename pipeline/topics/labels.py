"""Names for groups of papers: the 1–3-word phrases most distinctive of each group (pure).

For discovered themes' names (`name_groups`, from cluster.find_themes), suggested topic keywords
(tune) and whether an earlier theme's name still fits this week's papers (`describes`, from
continuity). Phrases come from topics/phrases; SciPy is imported lazily."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.topics.phrases import (
    Surface,
    acronyms,
    is_label,
    overlaps,
    phrase_forms,
    phrase_list,
    phrase_set,
    repeats,
    same_word,
    surface_forms,
    title_support,
    written_specially,
)
from pipeline.topics.words import BROAD_TERMS, is_noun_phrase

#: A label phrase must appear in at least this share of its theme's label papers (and in two).
MIN_PHRASE_SHARE = 0.1
#: A phrase is replaced by a longer one containing it that appears in at least this share of
#: the papers it appears in ("learning" → "reinforcement learning").
PROMOTE_SHARE = 0.5


def label_groups(
    groups: Sequence[Sequence[str]],
    *,
    n_terms: int,
    background: Sequence[str] = (),
    nouns: bool = False,
    min_words: int = 1,
) -> list[list[str]]:
    """The 1–3-word phrases most distinctive of each group against the others and `background`.

    Candidates are runs of words between punctuation and stop words (so no phrase spans "and"),
    URLs, LaTeX and parenthesised acronyms removed. A phrase scores by the share of the group's
    papers it appears in times the log of how much more often it appears there than in the
    other papers (a longer phrase counts more). It must appear in two papers of the group and in
    MIN_PHRASE_SHARE of them, must not be generic academic vocabulary alone, must not share a
    word with a phrase already chosen, and gives way to a longer phrase containing it that
    covers most of its papers. With `nouns`, only noun phrases (words.is_noun_phrase), as for
    a name: what a keyword or a name must be ("kv cache eviction", not "kernel meet"); only
    phrases of `min_words` words or more are candidates.
    """
    counts = _count_phrases(groups, background)
    if counts is None:
        return [[] for _ in groups]
    allowed = counts.n_words >= min_words
    if nouns:
        allowed &= _nominal(counts, set().union(*(surface_forms(g).special for g in groups)))
    return [
        [counts.vocab[j] for j in _distinctive(counts, row, n_terms, allowed=allowed)]
        for row in range(len(groups))
    ]


@dataclass(frozen=True)
class _Counts:
    """Which label papers (the groups', then the background's) contain which phrase."""

    matrix: Any  # scipy.sparse CSR, papers × phrases, binary
    vocab: list[str]
    # per phrase, phrases.is_label: read only where a phrase is in `need` of a group's papers
    # or in two of them (`_nominal`); False for the rest
    usable: np.ndarray
    n_words: np.ndarray
    doc_freq: np.ndarray  # groups × phrases
    total: np.ndarray
    sizes: list[int]
    # groups × phrases, bool: whether the phrase can label the group: usable, and in two of its
    # papers and MIN_PHRASE_SHARE of them (in its one paper, for a group of one)
    eligible: np.ndarray


def _count_phrases(groups: Sequence[Sequence[str]], background: Sequence[str]) -> _Counts | None:
    """The phrases in two texts or more (sorted), and which texts contain them; None if none.

    What scikit-learn's CountVectorizer(analyzer=phrases, binary=True, min_df=2) gave, counted
    from each text's phrases (`phrase_list`, each once): its per-phrase Python loop was a third
    of the naming. Each distinct phrase is numbered as first met, in C (`setdefault` with a
    running count: numbers unique, not consecutive), and counted and mapped to its column in
    numpy."""
    from scipy.sparse import csr_matrix

    sizes = [len(g) for g in groups]
    docs = [doc for group in groups for doc in group]
    found = [phrase_list(doc) for doc in [*docs, *background]]
    lengths = np.fromiter(map(len, found), dtype=np.int64, count=len(found))
    number: dict[str, int] = {}
    running = itertools.count()
    numbers = np.fromiter(
        map(number.setdefault, itertools.chain.from_iterable(found), running),
        dtype=np.int64,
        count=int(lengths.sum()),
    )
    n_numbers = next(running)
    in_texts = np.bincount(numbers, minlength=n_numbers)
    named = np.flatnonzero(in_texts >= 2)
    if not len(named):  # no phrase in two papers
        return None
    terms = np.empty(n_numbers, dtype=object)
    terms[np.fromiter(number.values(), dtype=np.int64, count=len(number))] = list(number)
    twice = terms[named].tolist()
    # In code-point order, as sorted() orders str: numpy compares a str array's code points
    # (no phrase holds the NUL a str array would drop from its end), in a third of the time.
    order = np.argsort(np.array(twice, dtype=str), kind="stable")
    vocab: list[str] = [twice[i] for i in order.tolist()]
    column = np.full(n_numbers, -1, dtype=np.int64)
    column[named[order]] = np.arange(len(vocab))
    every = column[numbers]
    kept = every >= 0
    indices = every[kept].astype(np.int32)
    indptr = np.concatenate([[0], np.cumsum(kept)])[np.concatenate([[0], np.cumsum(lengths)])]
    matrix = csr_matrix(
        (np.ones(len(indices), dtype=np.int64), indices, indptr), shape=(len(found), len(vocab))
    )
    matrix.sort_indices()
    owner = np.repeat(np.arange(len(groups)), sizes)
    doc_freq = np.asarray((_membership(owner, len(groups)) @ matrix[: len(docs)]).todense())
    # Per group, the papers a label phrase must be in: two and MIN_PHRASE_SHARE of them (its
    # one paper, for a group of one).
    need = np.array([max(min(2, size), MIN_PHRASE_SHARE * size) for size in sizes])
    # Whether a phrase may label at all, looked at only where it is asked (it can label a
    # group, or `_nominal` looks at it); False elsewhere, where no caller reads it.
    usable = np.zeros(len(vocab), dtype=bool)
    asked = (doc_freq >= need[:, None]).any(axis=0) | (doc_freq.max(axis=0) >= 2)
    for j in np.flatnonzero(asked).tolist():
        usable[j] = is_label(vocab[j])
    return _Counts(
        matrix=matrix,
        vocab=vocab,
        usable=usable,
        n_words=np.array([term.count(" ") + 1 for term in vocab], dtype=np.float64),
        doc_freq=doc_freq,
        total=np.asarray(matrix.sum(axis=0)).ravel(),
        sizes=sizes,
        eligible=(doc_freq >= need[:, None]) & usable,
    )


def _distinctive(
    counts: _Counts, row: int, n_terms: int, *, allowed: np.ndarray | None = None
) -> list[int]:
    """Column indices of group `row`'s n_terms most distinctive phrases, best first, among the
    `allowed` ones (all usable phrases when None)."""
    df, size = counts.doc_freq[row], counts.sizes[row]
    wanted = counts.eligible[row] if allowed is None else counts.eligible[row] & allowed
    # Only the phrases that can label the group are scored (a few hundred of a 10k week's
    # 38,000; the others scored 0): each one's score is the same number as over every column.
    columns = np.flatnonzero(wanted)
    inside = df[columns] / max(size, 1)
    outside = (counts.total[columns] - df[columns]) / max(counts.matrix.shape[0] - size, 1)
    score = inside * np.log((inside + 1e-3) / (outside + 1e-3)) * np.sqrt(counts.n_words[columns])
    chosen: list[int] = []
    # A stable sort of the phrases that score, in column order: the loop stopped at the first
    # that did not score.
    positive = np.flatnonzero(score > 0)
    scoring, scores = columns[positive], score[positive]
    longer = _Longer(counts.vocab, df, counts.n_words, scoring, scores)
    for j in scoring[np.argsort(-scores, kind="stable")]:
        if len(chosen) == n_terms:
            break
        term = longer.phrase(int(j))
        if not any(overlaps(counts.vocab[term], counts.vocab[c]) for c in chosen):
            chosen.append(term)
    return chosen


class _Longer:
    """A group's scoring phrases (`scoring`, in column order, with their `scores`), to find
    for one of them the longer phrase that covers most of it."""

    def __init__(
        self,
        vocab: Sequence[str],
        df: np.ndarray,
        n_words: np.ndarray,
        scoring: np.ndarray,
        scores: np.ndarray,
    ) -> None:
        self._vocab, self._df, self._n_words = vocab, df, n_words
        self._scoring, self._scores = scoring, scores
        self._scoring_df, self._scoring_words = df[scoring], n_words[scoring]

    def phrase(self, j: int) -> int:
        """j, or the most frequent longer scoring phrase containing vocab[j] that covers most
        of it."""
        vocab, df = self._vocab, self._df
        padded = f" {vocab[j]} "
        wider = np.flatnonzero(
            (self._scoring_df >= PROMOTE_SHARE * df[j]) & (self._scoring_words > self._n_words[j])
        )
        longer = [int(i) for i in wider if padded in f" {vocab[int(self._scoring[i])]} "]
        if not longer:
            return j
        scoring, scores = self._scoring, self._scores
        best = max(longer, key=lambda i: (df[scoring[i]], scores[i], vocab[int(scoring[i])]))
        return int(scoring[best])


def _membership(owner: np.ndarray, n_groups: int) -> object:
    from scipy.sparse import csr_matrix

    n = len(owner)
    return csr_matrix((np.ones(n), (owner, np.arange(n))), shape=(n_groups, n))


def describes(terms: Sequence[str], texts: Sequence[str]) -> float:
    """The share of `texts` containing at least one of the label phrases `terms`.

    A name such as "Speech and music generation" counts as its phrases ("speech", "music
    generation"): names are joined with "and" and phrases never span it.
    """
    if not texts:
        return 0.0
    wanted = phrase_forms(terms)
    return sum(1 for text in texts if wanted & phrase_set(text)) / len(texts)


#: Distinctive phrases per group that the name is chosen from.
NAME_CANDIDATES = 8
MAX_NAME_WORDS = 4
#: A name must fit most of its group: at least this share of the texts contain one of its
#: phrases (issue 17: "a name must fit most of them"), its first phrase at least LEAD_SHARE
#: of them and a second phrase at least PART_SHARE ("Binary gender and english" is no name for
#: gender and culture in NLP where "english" is in a fifth of the papers).
NAME_FIT = 0.5
LEAD_SHARE = 0.3
PART_SHARE = 0.2
#: A candidate phrase stands for the mean vector of the papers (the groups' and the
#: background's) that contain it, so no embedding model is needed. Under this cosine to the
#: group's centroid the phrase is prose spread over the week ("clarify", "evolve", "manual"),
#: not the group's subject. Calibrated on demo week 2025-W24's names (benchmarks/README.md).
MIN_NAME_RELEVANCE = 0.6
#: With the groups' titles, a name's second phrase must be in phrases.MIN_TITLE_PAPERS of
#: them: chosen by distinctiveness alone it often was prose in small themes ("Agent and
#: evolve", "Code and manual"). A lead with a word in a title is tried first.
#: A second phrase in at least this share (one in ten) of the texts outside the group (the
#: other groups' and the week's other papers) is the week's common vocabulary, not this
#: group's subject: it joins a name only when the lead alone does not fit ("Land cover and
#: dataset").
COMMON_SHARE = 0.1


@dataclass(frozen=True)
class GroupName:
    """A group's name as a reader sees it, its key phrases and the share of texts it fits.

    An empty name means no candidate fits most of the group: the group is not named from noise.
    `area`: the name is a research area's or field's (topics/areas.py), not the group's phrases.
    """

    name: str
    terms: tuple[str, ...]
    fit: float
    area: bool = False


def name_groups(
    groups: Sequence[Sequence[str]],
    *,
    background: Sequence[str] = (),
    vectors: np.ndarray | None = None,
    titles: Sequence[Sequence[str]] | None = None,
) -> list[GroupName]:
    """A 1–4-word name for each group of texts that fits most of the group's own texts.

    Candidates are the group's most distinctive phrases (`label_groups`: the share of the
    group's texts containing a phrase against its share of the other texts), a purely lexical
    test. With `vectors` (unit rows for the groups' texts, then the background's), a candidate
    whose papers' mean vector is under MIN_NAME_RELEVANCE from the group's centroid is dropped
    first: KeyBERT-style, but from the papers' cached vectors, so a build never loads the
    embedding model to name its themes (issue 17). Candidates are noun phrases
    (words.is_noun_phrase); only when none names a group are all its phrases tried. The name
    is the first candidate in LEAD_SHARE of the texts (with `titles`, one with a word in them
    first), joined by "and" to another within MAX_NAME_WORDS that is in a title when together
    they cover NAME_FIT of the texts ("Speech and music"), or alone when it does; else the next
    candidate leads. The second must not repeat the first (phrases.repeats) nor be broad
    (BROAD_TERMS, COMMON_SHARE) when the first fits alone. When none fits, the name is empty.
    Words keep the case the texts write them in ("LLM", "MRI", "3D", "Gaussian":
    phrases.surface_forms). `fit` is the share of the texts containing one of the name's
    phrases.
    """
    # Surface forms first: inside phrases.reading_once they also read the groups' phrases,
    # which the counts then take from one tokenisation of each text.
    surfaces = [surface_forms(texts) for texts in groups]
    counts = _count_phrases(groups, background)
    if counts is None:
        return [GroupName("", (), 0.0) for _ in groups]
    relevance = _Relevance(counts, np.asarray(vectors)) if vectors is not None else None
    nominal = _nominal(counts, set().union(*(s.special for s in surfaces)))
    expansions = acronyms(itertools.chain(*groups))
    # Every group's noun-phrase candidates first, so that their relevance is measured at once.
    first = [
        _distinctive(counts, row, NAME_CANDIDATES, allowed=nominal) for row in range(len(groups))
    ]
    if relevance is not None:
        relevance.measure(itertools.chain.from_iterable(first))
    names = []
    for row, surface in enumerate(surfaces):
        # Noun phrases first; only a group none of them names is named as before, adjectives
        # included ("Parallel and distributed"), rather than sent to Other unnamed.
        nouns: list[int] = []
        for allowed in (nominal, None):
            if allowed is nominal:
                found = first[row]
            else:
                found = _distinctive(counts, row, NAME_CANDIDATES, allowed=allowed)
            if relevance is not None:
                found = relevance.relevant(row, found)
            name = _name_of(
                counts,
                row,
                found,
                surface,
                titled=_titled(found, counts.vocab, titles, row, expansions),
                expansions=expansions,
            )
            if name.name:
                break
            nouns = found if allowed is nominal else nouns
        if len(nouns) >= 2:
            # Its key phrases stay noun phrases ("extracting structured", "span diverse" and
            # "encompass" were shown under themes a research area names, which show no name
            # of these phrases).
            terms = tuple(_as_written(counts.vocab[j], surface.forms) for j in nouns[:4])
            name = dataclasses.replace(name, terms=terms)
        names.append(name)
    return names


def _titled(
    found: Sequence[int],
    vocab: Sequence[str],
    titles: Sequence[Sequence[str]] | None,
    row: int,
    expansions: Mapping[str, frozenset[str]],
) -> tuple[set[int], set[int]] | None:
    """The candidates group `row`'s titles write, and those with a word in them."""
    if titles is None:
        return None
    support = title_support([vocab[j] for j in found], titles[row], expansions)
    return (
        {j for j, s in zip(found, support, strict=True) if s.phrase},
        {j for j, s in zip(found, support, strict=True) if s.word},
    )


def _nominal(counts: _Counts, special: set[str]) -> np.ndarray:
    """Per phrase: whether it can name an area, a noun phrase (words.is_noun_phrase); only
    the phrases in two papers of a group are candidates, the rest are not looked at."""
    result = np.zeros(len(counts.vocab), dtype=bool)
    for j in np.flatnonzero(counts.usable & (counts.doc_freq.max(axis=0) >= 2)):
        result[j] = is_noun_phrase(counts.vocab[j], special)
    return result


def _relevance(counts: _Counts, vectors: np.ndarray) -> np.ndarray:
    """groups × phrases: cosine between each group's centroid and the mean vector of the
    papers containing each phrase; 0 for a phrase that can label no group (`_Counts.eligible`)."""
    from threadpoolctl import threadpool_limits

    x = vectors.astype(np.float64)
    # Only the phrases that can label a group (an eighth of them on a 10k week) are summed and
    # compared (the zero rows of the rest cost 80 % of this, round 18); the rest stay 0.
    columns = np.flatnonzero(counts.eligible.any(axis=0))
    phrase_vectors = counts.matrix.T.tocsr()[columns] @ x
    phrase_vectors /= np.maximum(np.linalg.norm(phrase_vectors, axis=1, keepdims=True), 1e-12)
    bounds = np.cumsum([0, *counts.sizes])
    centroids = np.stack([x[a:b].mean(axis=0) for a, b in itertools.pairwise(bounds)])
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    result = np.zeros((len(counts.sizes), len(counts.vocab)))
    # One BLAS thread: the same cosines to the last bit on any machine (a threaded product's
    # last bits depend on how it splits the work, so on the number of cores).
    with threadpool_limits(limits=1, user_api="blas"):
        result[:, columns] = centroids @ phrase_vectors.T
    return result


class _Relevance:
    """`_relevance`'s test for the phrases a name is chosen from: a group's candidates with
    cosine MIN_NAME_RELEVANCE or more, computed only for the candidates (a few thousand
    phrases of a 10k week, against the 8,900 that can label some group and the 38,800 columns
    `_relevance` fills). A candidate's mean vector and a group's centroid are `_relevance`'s;
    the cosine is a small product of its own, whose last bits can differ from the full
    product's (BLAS sums differently at other shapes), so a cosine within RELEVANCE_MARGIN of
    the bound decides nothing: that group's candidates are then judged by `_relevance`
    itself, and every decision is the full product's."""

    def __init__(self, counts: _Counts, vectors: np.ndarray) -> None:
        self._counts, self._vectors = counts, vectors
        self._x = vectors.astype(np.float64)
        self._by_phrase = counts.matrix.T.tocsr()
        bounds = np.cumsum([0, *counts.sizes])
        centroids = np.stack([self._x[a:b].mean(axis=0) for a, b in itertools.pairwise(bounds)])
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
        self._centroids = centroids
        self._phrase_vectors: dict[int, np.ndarray] = {}
        self._full: np.ndarray | None = None

    def measure(self, columns: Iterable[int]) -> None:
        """The mean vectors of the phrases at `columns` (those not measured yet), at once."""
        missing = sorted({j for j in columns if j not in self._phrase_vectors})
        if missing:
            summed = self._by_phrase[missing] @ self._x
            summed /= np.maximum(np.linalg.norm(summed, axis=1, keepdims=True), 1e-12)
            self._phrase_vectors.update(zip(missing, summed, strict=True))

    def relevant(self, row: int, found: Sequence[int]) -> list[int]:
        """The `found` phrases (columns) whose cosine to group `row` is MIN_NAME_RELEVANCE or
        more, in order."""
        if not found:
            return []
        self.measure(found)
        cosine = np.stack([self._phrase_vectors[j] for j in found]) @ self._centroids[row]
        if np.any(np.abs(cosine - MIN_NAME_RELEVANCE) <= RELEVANCE_MARGIN):
            if self._full is None:
                self._full = _relevance(self._counts, self._vectors)
            cosine = self._full[row, list(found)]
        return [j for j, c in zip(found, cosine.tolist(), strict=True) if c >= MIN_NAME_RELEVANCE]


#: How near MIN_NAME_RELEVANCE a candidate's cosine by `_Relevance`'s own product must be for
#: `_relevance`'s full product to decide (two products of the same unit vectors differ by
#: 1e-16 or so).
RELEVANCE_MARGIN = 1e-9


def _name_of(
    counts: _Counts,
    row: int,
    found: Sequence[int],
    surface: Surface,
    *,
    titled: tuple[set[int], set[int]] | None = None,
    expansions: Mapping[str, frozenset[str]] | None = None,
) -> GroupName:
    start = sum(counts.sizes[:row])
    size = counts.sizes[row]
    if not found or not size:
        return GroupName("", (), 0.0)
    # The candidates' columns of the group's rows, dense (at most LABEL_PAPERS × NAME_CANDIDATES):
    # one slice, not a sparse column slice per candidate (three quarters of this function).
    # Read from the CSR arrays (each entry a 1: a text holds each phrase once), not a sparse
    # slice: what `matrix[rows][:, found].toarray()`'s nonzero rows were, in a fifth of it.
    matrix = counts.matrix
    lo, hi = int(matrix.indptr[start]), int(matrix.indptr[start + size])
    columns = matrix.indices[lo:hi]
    rows = np.repeat(np.arange(size), np.diff(matrix.indptr[start : start + size + 1]))
    papers = {j: set(rows[columns == j].tolist()) for j in found}
    outside = (counts.total - counts.doc_freq[row]) / max(counts.matrix.shape[0] - size, 1)
    pick = _Pick(counts.vocab, found, papers, size, outside, expansions or {})
    # The candidates the titles write, and those with a word in them (phrases.title_support).
    in_titles, with_title_word = (set(found), set(found)) if titled is None else titled
    terms = tuple(counts.vocab[j] for j in found[:4])
    # Titles name a subject ("indoor localization"), abstract prose seldom does ("suite"):
    # first a lead with a word in the titles, then any lead (a group's few titles may not
    # repeat its subject).
    first = [j for j in found if j in with_title_word]
    for leads in (first, found):
        for lead in leads:
            parts = pick.parts(lead, in_titles)
            if len(parts) == 2 and parts[0] not in with_title_word:
                parts = parts[::-1]  # the titles' subject first: "Human mobility and car"
            if parts:
                fit = len(set().union(*(papers[j] for j in parts))) / size
                return _shown_name(pick.written(parts, surface), counts, surface, fit, terms)
    return GroupName("", terms, max(len(p) for p in papers.values()) / size)


@dataclass(frozen=True)
class _Pick:
    """A group's name candidates and which papers each is in, to choose a name's parts."""

    vocab: Sequence[str]
    found: Sequence[int]
    papers: dict[int, set[int]]
    size: int
    outside: np.ndarray  # per phrase, its share of the texts outside the group
    expansions: Mapping[str, frozenset[str]]

    def share(self, *parts: int) -> float:
        return len(set().union(*(self.papers[j] for j in parts))) / self.size

    def parts(self, lead: int, titled: set[int]) -> tuple[int, ...]:
        """`lead` and the second phrase that makes the name fit, or `lead` alone, or none.

        The second must be in the titles, not repeat the lead (words or acronyms: "AI
        system" and "artificial intelligence") and not be a broad term the rest of the week
        also uses ("Land cover and dataset") unless the lead needs it to fit."""
        if self.share(lead) < LEAD_SHARE:
            return ()
        seconds = [
            j
            for j in self.found
            if j in titled
            and j != lead
            and self.share(j) >= PART_SHARE
            and self.share(lead, j) >= NAME_FIT
            and len(f"{self.vocab[lead]} {self.vocab[j]}".split()) <= MAX_NAME_WORDS
            and not repeats(self.vocab[lead], self.vocab[j], self.expansions)
        ]
        specific = [j for j in seconds if not self.broad(j)]
        if specific:
            return (lead, specific[0])
        if self.share(lead) >= NAME_FIT:
            return (self._narrowest(lead),)
        # The lead's other forms ("caching" for "cache") count as the lead: one word, which
        # `written` shows in one form ("Cache and caching" named a theme of 12 papers).
        forms = tuple(
            j for j in self.found if j != lead and same_word(self.vocab[lead], self.vocab[j])
        )
        if forms and self.share(lead, *forms) >= NAME_FIT:
            return (lead, *forms)
        return (lead, seconds[0]) if seconds else ()

    def written(self, parts: tuple[int, ...], surface: Surface) -> tuple[int, ...]:
        """The parts a name shows: one form of a word written in several (`parts` from
        `parts`), a noun first ("sparsity", not "sparse"), then the form in more texts."""
        if len(parts) < 2 or not same_word(self.vocab[parts[0]], self.vocab[parts[1]]):
            return parts
        special = surface.special
        best = min(
            parts,
            key=lambda j: (not is_noun_phrase(self.vocab[j], special), -len(self.papers[j]), j),
        )
        return (best,)

    def broad(self, j: int) -> bool:
        """A phrase the rest of the week also uses, or a whole field's name."""
        return bool(self.outside[j] >= COMMON_SHARE) or self.vocab[j] in BROAD_TERMS

    def _narrowest(self, lead: int) -> int:
        """An acronym that fits as well and whose words include the lead's ("LLM" for
        "language"): the narrower name of the same subject."""
        words = set(self.vocab[lead].split())
        for j in self.found:
            expansion = self.expansions.get(self.vocab[j], frozenset())
            if words <= expansion and self.share(j) >= NAME_FIT:
                return j
        return lead


def _as_written(phrase: str, surface: Mapping[str, str]) -> str:
    """A folded phrase with each word as the texts write it ("llm" → "LLM")."""
    return " ".join(surface.get(w, w) for w in phrase.split())


def _shown_name(
    parts: Sequence[int],
    counts: _Counts,
    surface: Surface,
    fit: float,
    terms: tuple[str, ...],
) -> GroupName:
    shown = [_as_written(counts.vocab[j], surface.forms) for j in parts]
    name = " and ".join(shown)
    lead = tuple(counts.vocab[j] for j in parts)
    rest = tuple(t for t in terms if t not in lead)
    if not written_specially(name.split(" ", 1)[0]):  # "fMRI", "iPhone" keep their case
        name = name[:1].upper() + name[1:]
    terms = tuple(_as_written(t, surface.forms) for t in (lead + rest)[:4])
    return GroupName(name, terms, fit)
