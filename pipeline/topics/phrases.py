"""Candidate label phrases of a text: runs of words between stop words and punctuation (pure).

Words fold to the singular; generic words (pipeline/data/generic_words.txt, measured by
benchmarks/make_generic_words.py) never make a label alone; `surface_forms` keeps the case
researchers write words in ("LLM", "Gaussian") for names. A paper's reading can be kept between
builds (`PaperReader`, read back inside `stored_readings`: run/readings.py keeps them in the
store). Imports no other pipeline module."""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources

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
MAX_CACHED_WORDS = 200_000
#: Token → its folded form, or '' for a phrase break; filled as tokens are first seen.
_WORDS: dict[str, str] = {}
_URL = re.compile(r"(?:https?://|www\.)\S+")
_DOMAIN = re.compile(r"[\w.-]+\.(?:com|org|io|net)\b\S*")  # "github.com/x/y" without a scheme
_DOMAIN_ENDS = (".com", ".org", ".io", ".net")
_PAREN = re.compile(r"\(\s*[^()\s]{1,12}\s*\)")  # "(LLMs)", "(RL)": the acronym repeats words
_LATEX = re.compile(r"\$[^$]*\$|\\[a-zA-Z]+")
#: Words, hyphenated words, and dimensions and generations ("3D", "6G"), which name areas
#: ("3D reconstruction", "6G networks"); other numbers ("40x", "8B", "2025") break phrases.
_TOKEN = re.compile(r"(?:[A-Za-z][A-Za-z0-9]*|[0-9][DdGg](?![A-Za-z0-9]))(?:-[A-Za-z0-9]+)*|\S")
_ADVERB = re.compile(r"(?:ally|ously|ively|ently|antly|edly|ingly|arly)$")


def phrases(text: str, n_max: int = 3) -> list[str]:
    """Candidate label phrases of one text: 1..n_max-word runs between stop words/punctuation."""
    cleaned = _clean(text)
    return _phrases_of(_TOKEN.findall(cleaned if cleaned.isascii() else cleaned.lower()), n_max)


def _phrases_of(tokens: Sequence[str], n_max: int) -> list[str]:
    """The phrases of a cleaned text's tokens: lower case, or, for an ASCII text, as written
    (which `surface_forms` reads too). Lower-casing ASCII changes letters only, which every
    class of _TOKEN holds in both cases, so each token is then the written one lower-cased:
    _WORDS keys a token as found and folds its lower case."""
    words = _WORDS
    found: list[str] = []
    run: list[str] = []
    for token in tokens:
        word = words.get(token)
        if word is None:
            if len(words) > MAX_CACHED_WORDS:  # a long-lived process: keep the memo bounded
                words.clear()
            word = words[token] = _label_word(token.lower())
        if word:
            run.append(word)
        elif run:  # most tokens between two breaks are none: no n-grams to make
            found.extend(_ngrams(run, n_max))
            run = []
    if run:
        found.extend(_ngrams(run, n_max))
    return found


@dataclass
class _Reading:
    """What `reading_once` keeps for one block: each text's set of phrases (n_max 3; one
    find_themes call reads the same texts for counts, names, fits and key phrases, and
    `surface_forms` reads the groups' ASCII texts once for their phrases too), and each
    written token's fold and whether it is written specially, for every `surface_forms`
    call (each named group's texts) of the block."""

    phrases: dict[str, frozenset[str]] = field(default_factory=dict)
    folded: dict[str, str] = field(default_factory=dict)
    special: dict[str, bool] = field(default_factory=dict)


#: The block's reading, while `reading_once` holds; never kept between builds.
_MEMO: ContextVar[_Reading | None] = ContextVar("phrase_memo", default=None)


@contextmanager
def reading_once() -> Iterator[None]:
    """A block (one cluster.find_themes call) in which `phrase_set` reads each text once."""
    token = _MEMO.set(_Reading())
    try:
        yield
    finally:
        _MEMO.reset(token)


def phrase_set(text: str) -> frozenset[str]:
    """set(phrases(text)), read once per text inside `reading_once`, and taken from a kept
    reading inside `stored_readings` (a paper's text or title)."""
    reading = _MEMO.get()
    if reading is None:
        return _phrase_set(text)
    found = reading.phrases.get(text)
    if found is None:
        found = reading.phrases[text] = _phrase_set(text)
    return found


def phrase_list(text: str) -> Collection[str]:
    """The phrases of `phrase_set(text)`, each once, in no set order: a kept reading's are
    not made a set (to count them, labels._count_phrases needs none)."""
    reading = _MEMO.get()
    found = None if reading is None else reading.phrases.get(text)
    if found is not None:
        return found
    kept = _kept_phrases(text)
    return phrase_set(text) if kept is None else kept


def _phrase_set(text: str) -> frozenset[str]:
    kept = _kept_phrases(text)
    return frozenset(phrases(text) if kept is None else kept)


def _kept_phrases(text: str) -> list[str] | None:
    """Inside `stored_readings`: the phrases kept for a paper's text or title, else None."""
    stored = _STORED.get()
    part = None if stored is None else stored.phrases(text)
    if part is None:
        return None
    return part.split("\n") if part else []


#: The layout of `PaperReader.parts` (bump it when the parts change); run/readings.py keys the
#: kept readings by it and by the source of the rules that make them. 2: the tokens part holds
#: the tokens capitalised in prose too (`surface_forms`, round 25).
READING_FORMAT = 2
#: The parts of a kept reading (`StoredReadings`), in order.
_PHRASES, _SPECIAL, _FOLDED, _TITLE, _WORDS_PART = range(5)


class PaperReader:
    """Reads papers' texts and titles for keeping (`parts`), each distinct token folded and
    checked once for all the papers one reader reads."""

    def __init__(self) -> None:
        self._folded: dict[str, str] = {}
        self._special: dict[str, bool] = {}

    def parts(self, text: str, title: str) -> list[str]:
        """What naming reads of a paper's text and title, as strings to keep between builds:
        the text's phrases (`phrase_set`, one a line, sorted), its tokens written specially
        or capitalised in prose and its folded tokens (what `surface_forms` counts of it;
        space-separated, sorted), and the title's phrases. No phrase holds a line break or a
        tab, no token a space or a tab."""
        reading = _Reading()  # an ASCII text's phrases from the surface's tokenisation
        specials, folded = _surface_reading(text, self._folded, self._special, reading)
        found = reading.phrases.get(text)
        if found is None:
            found = frozenset(phrases(text))
        return [
            "\n".join(sorted(found)),
            " ".join(sorted(specials)),
            " ".join(sorted(folded)),
            "\n".join(sorted(frozenset(phrases(title)))),
        ]


def pack_reading(parts: Sequence[str]) -> bytes:
    """`PaperReader.parts` (and areas' words of the text, `areas.reading_words`) as a kept
    reading: tab-joined, UTF-8, compressed (1.1 kB of a real week's paper instead of 3.1 kB)."""
    return zlib.compress("\t".join(parts).encode("utf-8", "surrogatepass"), 1)


class StoredReadings:
    """Papers' kept readings (`pack_reading`) by their texts and by their titles, each
    decompressed when first asked for."""

    def __init__(self, by_text: Mapping[str, bytes], by_title: Mapping[str, bytes]) -> None:
        self._by_text, self._by_title = by_text, by_title
        self._parts: dict[bytes, list[str]] = {}

    def _of(self, packed: bytes) -> list[str]:
        parts = self._parts.get(packed)
        if parts is None:
            parts = zlib.decompress(packed).decode("utf-8", "surrogatepass").split("\t")
            self._parts[packed] = parts
        return parts

    def phrases(self, text: str) -> str | None:
        """The phrases part of a paper's text or title, or None."""
        packed = self._by_text.get(text)
        if packed is not None:
            return self._of(packed)[_PHRASES]
        packed = self._by_title.get(text)
        return None if packed is None else self._of(packed)[_TITLE]

    def surface(self, text: str) -> tuple[str, str] | None:
        """The tokens whose case counts (`_surface_reading`) and the folded tokens of a paper's
        text, or None."""
        packed = self._by_text.get(text)
        if packed is None:
            return None
        parts = self._of(packed)
        return parts[_SPECIAL], parts[_FOLDED]

    def words(self, text: str) -> str | None:
        """The part areas keep of a paper's text (`areas.reading_words`), or None."""
        packed = self._by_text.get(text)
        return None if packed is None else self._of(packed)[_WORDS_PART]


#: The kept readings `phrase_set`, `surface_forms` and areas' words take texts' readings
#: from, while `stored_readings` holds (a build); None: every text is read.
_STORED: ContextVar[StoredReadings | None] = ContextVar("stored_readings", default=None)


@contextmanager
def stored_readings(stored: StoredReadings) -> Iterator[None]:
    """A block (a build) in which the papers' texts and titles `stored` holds are not read
    again: their kept readings are used."""
    token = _STORED.set(stored)
    try:
        yield
    finally:
        _STORED.reset(token)


def stored_words(text: str) -> str | None:
    """Inside `stored_readings`: the areas' part kept for a paper's text, if any."""
    stored = _STORED.get()
    return None if stored is None else stored.words(text)


_NAME_JOINS = re.compile(r",|\band\b")


def name_parts(name: str) -> list[str]:
    """The phrases a name is made of: "Speech and music" → ["Speech", "music"]."""
    return [part.strip() for part in _NAME_JOINS.split(name) if part.strip()]


def phrase_forms(terms: Sequence[str]) -> set[str]:
    """The folded phrases (as `phrases` writes them) that label phrases or names stand for:
    each name's parts, lower case, singular."""
    return {
        " ".join(singular(w) for w in part.split())
        for term in terms
        for part in name_parts(term.lower())
    }


def used_by(terms: Sequence[str], texts: Sequence[str], at_least: int) -> list[bool]:
    """Per term: whether at least `at_least` of `texts` contain it (as labels.describes counts
    a text). Each text is read once, and only until every term is settled."""
    wanted = [phrase_forms([term]) for term in terms]
    hits = [0] * len(terms)
    for text in texts:
        open_terms = [k for k in range(len(terms)) if hits[k] < at_least]
        if not open_terms:
            break
        found = phrase_set(text)
        for k in open_terms:
            hits[k] += bool(wanted[k] & found)
    return [n >= at_least for n in hits]


def _ngrams(run: list[str], n_max: int) -> list[str]:
    """The 1..n_max-grams of a run, shortest first, each length left to right."""
    if n_max == 3 and len(run) <= 3:  # most runs: written out, the same list (a third faster)
        if len(run) == 1:
            return run
        if len(run) == 2:
            return [run[0], run[1], f"{run[0]} {run[1]}"]
        a, b, c = run
        return [a, b, c, f"{a} {b}", f"{b} {c}", f"{a} {b} {c}"]
    return [" ".join(run[i : i + n]) for n in range(1, n_max + 1) for i in range(len(run) - n + 1)]


def _label_word(token: str) -> str:
    if not token[-1].isalnum() or len(token) < 2 or token in _label_stop_words():
        return ""
    return singular(token)


def singular(word: str) -> str:
    """'networks' → 'network', 'strategies' → 'strategy', 'patches' → 'patch', 'videos' →
    'video'; 'analysis', 'robotics', 'bias', 'chaos' stay. Labels read in the singular;
    plural and singular count as one."""
    if word in _KEEP or word in _KEEP_OS:
        return word
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word[:-1] in _CHE:  # "caches": not "cach"
        return word[:-1]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "xes", "sses", "iases")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(_KEEP_S):
        return word[:-1]
    return word


_KEEP_S = ("ss", "us", "is", "ics", "as", "ys")
_KEEP_OS = frozenset(["chaos", "cosmos", "ethos", "kudos", "logos", "pathos", "ios", "macos"])
_KEEP = frozenset(["series", "species"])
#: Singulars ending in "che", whose plural "-ches" would otherwise lose the "e" with the "es".
_CHE = frozenset(
    [
        "cache",
        "niche",
        "avalanche",
        "headache",
        "tranche",
        "cliche",
        "psyche",
        "moustache",
        "mustache",
        "quiche",
        "creche",
        "microniche",
    ]
)
_IRREGULAR = {
    "vertices": "vertex",
    "matrices": "matrix",
    "indices": "index",
    "simplices": "simplex",
    "appendices": "appendix",
    "movies": "movie",
    "cookies": "cookie",
    "calories": "calorie",
    "zombies": "zombie",
    "selfies": "selfie",
    "heroes": "hero",
    "echoes": "echo",
    "corpora": "corpus",
}


def _clean(text: str, *, parens: bool = True) -> str:
    """URLs and LaTeX become phrase breaks; parenthesised acronyms ("(LLMs)") go, unless not
    `parens`."""
    # Each pattern runs only on a text with the characters any match of it holds.
    if "://" in text or "www." in text:
        text = _URL.sub(" . ", text)
    if any(end in text for end in _DOMAIN_ENDS):  # the domain pattern is slow: only if needed
        text = _DOMAIN.sub(" . ", text)
    if parens and "(" in text:
        text = _PAREN.sub(" ", text)
    if "$" in text or "\\" in text:
        text = _LATEX.sub(" . ", text)
    return text


def is_label(phrase: str) -> bool:
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
    return frozenset(map(singular, _word_list("generic_words.txt")))  # as phrases fold them


@cache
def _label_stop_words() -> frozenset[str]:
    return _stop_words() | BOILERPLATE


def _stop_words() -> frozenset[str]:
    """scikit-learn's English stop words, from pipeline/data/stop_words.txt: importing
    scikit-learn for them cost every `digest build` process 1.0-1.5 s, and nothing else a build
    does needs it (tests/test_phrases.py checks the copy is scikit-learn's list)."""
    return frozenset(_word_list("stop_words.txt"))


def _word_list(name: str) -> list[str]:
    """The words of pipeline/data/`name`: one a line; blank lines and "#" comments skipped."""
    text = resources.files("pipeline").joinpath(f"data/{name}").read_text("utf-8")
    words = (line.strip() for line in text.splitlines())
    return [word for word in words if word[:1] not in ("", "#")]


def overlaps(a: str, b: str, expansions: Mapping[str, frozenset[str]] | None = None) -> bool:
    """Phrases sharing a word, plurals folded ('network' overlaps 'neural networks'), or,
    with `expansions` (from `acronyms`), a word of the other's acronyms ('llm' overlaps
    'language', 'ai system' overlaps 'artificial intelligence')."""
    words_a, words_b = _singular_words(a), _singular_words(b)
    if expansions:
        words_a = words_a.union(*(expansions.get(w, ()) for w in words_a))
        words_b = words_b.union(*(expansions.get(w, ()) for w in words_b))
    return bool(words_a & words_b)


@lru_cache(maxsize=1 << 16)
def _singular_words(phrase: str) -> frozenset[str]:
    """The words of a phrase, folded (`singular`): read once for the many pairs `overlaps`
    compares a phrase in (each name candidate with those chosen before it)."""
    return frozenset(singular(w) for w in phrase.split())


#: Words sharing this many first letters share a stem ("recommendation", "recommender").
STEM_LETTERS = 7


def repeats(a: str, b: str, expansions: Mapping[str, frozenset[str]]) -> bool:
    """Whether two phrases name one thing, so "a and b" repeats itself: they overlap (a word,
    a hyphen part or an acronym's word in common: "low-rank" and "rank", "AI system" and
    "artificial intelligence"), two of their words share a stem ("recommendation" and
    "recommender system"), or one word is derived from the other ("cache" and "caching",
    "sparse" and "sparsity": `word_root`, a final "e" aside)."""
    if overlaps(a.replace("-", " "), b.replace("-", " "), expansions):
        return True
    words_a, words_b = a.replace("-", " ").split(), b.replace("-", " ").split()
    stems_a = {w[:STEM_LETTERS] for w in words_a if len(w) >= STEM_LETTERS}
    if any(w[:STEM_LETTERS] in stems_a for w in words_b):
        return True
    roots_a = {_bare_root(w) for w in words_a} - {""}
    return any(_bare_root(w) in roots_a for w in words_b)


def same_word(a: str, b: str) -> bool:
    """Whether two one-word phrases are forms of one word ("cache", "caching"; "sparse",
    "sparsity"): one derived from the other (`word_root`, a final "e" aside)."""
    if " " in a or " " in b or a == b:
        return False
    root = _bare_root(a)
    return bool(root) and root == _bare_root(b)


def _bare_root(word: str) -> str:
    """`word_root` without a final "e" ("cache" → "cach", as "caching" is), or "" for a root
    under MIN_ROOT_LETTERS letters, which tells too little ("cod" of "code" and "coding")."""
    root = word_root(word)
    root = root[:-1] if root.endswith("e") else root
    return root if len(root) >= MIN_ROOT_LETTERS else ""


#: Endings word_root folds: a word's close derivations ("reconstruction", "reconstructing").
_SUFFIXES = ("ions", "ion", "ings", "ing", "ed", "al", "ity", "ive")
#: Roots shorter than this are not compared (`_bare_root`).
MIN_ROOT_LETTERS = 4


@cache
def word_root(word: str) -> str:
    """A word folded with its close derivations, so a name's words are found however a text
    inflects them: "reconstruction", "reconstructing" → "reconstruct"; "emotional" → "emot"."""
    word = singular(word)
    for _ in range(2):
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 4:
                word = word[: -len(suffix)]
                break
        else:
            break
    return word


#: A phrase is in the titles when at least this many of them contain it.
MIN_TITLE_PAPERS = 1


@dataclass(frozen=True)
class TitleSupport:
    """Whether titles write a phrase (`phrase`) or a word of it or of its acronym (`word`)."""

    phrase: bool
    word: bool


def title_support(
    terms: Sequence[str], titles: Sequence[str], expansions: Mapping[str, frozenset[str]]
) -> list[TitleSupport]:
    """For each folded phrase, whether MIN_TITLE_PAPERS of the titles contain it, and whether
    they contain one of its words or of its acronym's ("RAG": "Retrieval-Augmented
    Generation"): titles name a subject ("speech", "O-RAN", "camera"), abstract prose
    seldom ("clarify", "evolve", "suite")."""
    in_titles = Counter(p for title in titles for p in phrase_set(title))
    need = min(MIN_TITLE_PAPERS, len(titles))

    def has_word(term: str) -> bool:
        words = set(term.split()).union(*(expansions.get(w, ()) for w in term.split()))
        return any(in_titles[w] >= need for w in words)

    return [TitleSupport(in_titles[t] >= need, has_word(t)) for t in terms]


_DEFINED = re.compile(r"\(\s*([A-Za-z][A-Za-z0-9-]{1,11})\s*\)")
_BEFORE = re.compile(r"[A-Za-z][A-Za-z-]*")


def acronyms(texts: Iterable[str]) -> dict[str, frozenset[str]]:
    """Folded acronym → the folded label words the texts define it by: "Large Language Models
    (LLMs)" gives 'llm' → {'language'} ("large", "model" are no label words), "Retrieval-
    Augmented Generation (RAG)" gives 'rag' → {'retrieval', 'augmented', 'generation'}."""
    found: dict[str, frozenset[str]] = {}
    for text in texts:
        if "(" not in text:
            continue
        for match in _DEFINED.finditer(text):
            letters = _singular_surface(match.group(1))
            if sum(c.isupper() for c in letters) < 2:  # "(see)", "(i)" define nothing
                continue
            before = _BEFORE.findall(text[max(0, match.start() - 80) : match.start()])
            words = _defined_by(before[-6:], letters.lower().replace("-", ""))
            if words:
                found.setdefault(singular(match.group(1).lower()), words)
    return found


def _defined_by(tokens: Sequence[str], letters: str) -> frozenset[str]:
    """The label words of the last tokens whose initials (of words or of hyphen parts) spell
    `letters`, or none."""
    for k in range(1, len(tokens) + 1):
        tail = tokens[-k:]
        parts = [p for t in tail for p in t.split("-") if p]
        if letters in ("".join(t[0] for t in tail).lower(), "".join(p[0] for p in parts).lower()):
            words = (_label_word(p.lower()) for p in parts)
            return frozenset(w for w in words if w)
    return frozenset()


@dataclass(frozen=True)
class Surface:
    """How a group's texts write its words (`surface_forms`): `forms`, folded word → the form
    to show it in, where that is not lower case; `special`, the folded words they write
    specially (`written_specially`: acronyms, "ResNet", "Wi-Fi"), mostly: names of things,
    which words.is_noun_phrase takes for nouns whatever their ending."""

    forms: dict[str, str]
    special: frozenset[str]


def surface_forms(texts: Sequence[str]) -> Surface:
    """How the texts write each word, where they mostly do not write it in lower case.

    The rule: a word keeps the form most texts write it in, when more texts write it so than
    write it in lower case. A form counts only where it is the authors' choice:

    - written specially anywhere: an acronym ("LLMs", shown "LLM"), mixed case ("ResNet"), a
      capital inside a hyphenated word ("non-Gaussian"); one text is enough;
    - capitalised within a sentence, past the title (a text is "title. abstract"), after a
      lower-case word or a "3D" ("of Gaussian processes", "a Bayesian model"): two texts
      must write it so (one author's habit is not the word's usual form). A capital at a
      sentence's start, after punctuation or in a Title-Case title counts neither way: a
      word written "Gaussian" only there stays lower case;
    - several capitalised words in a row, or a hyphenated word in Title Case, are a name's
      Title Case ("in Deep Learning", "a Turing Machine", "in Human-Robot Interaction"):
      they count (as above) only for a word no text writes in lower case ("Monte Carlo",
      "Navier-Stokes"), and not at all where they spell out a parenthesised acronym ("Deep
      Reinforcement Learning (DRL)": the capitals are the acronym's).

    Ties go to the form not shown in capitals throughout ("Llama" or "LLaMA" against
    "LLAMA": all capitals is often a shouting title or a table; "RPYs", shown "RPY", is in
    capitals), then to the first in code-point order ("LLaMA" before "Llama"), so no tie
    depends on set order. Texts are counted, not tokens: one paper that writes its method's
    name "EXPected Similarity Estimation" five times does not outvote three that write
    "expected". `Surface.special` is the words written specially as before (an acronym or a
    mixed-case name by more texts than write it in lower case), whatever the shown form."""
    seen: dict[str, Counter[str]] = {}
    capitalised: Counter[str] = Counter()  # per word, the texts that capitalise it in prose
    inside: Counter[str] = Counter()  # ...only in a name's Title Case ("Monte Carlo")
    # Each distinct token is folded and checked once for all the texts, not in every text
    # that writes it (a theme's papers share most of their words): half the time. Inside
    # `reading_once`, once for all the groups named.
    reading = _MEMO.get()
    folded = {} if reading is None else reading.folded
    special = {} if reading is None else reading.special
    stored = _STORED.get()
    words: list[frozenset[str]] = []  # each text's folded tokens
    for text in texts:  # one tokenisation per text: this runs over every paper of a theme
        chosen, found = _surface_reading(text, folded, special, reading, stored)
        words.append(found)
        capitals: set[str] = set()
        inner: set[str] = set()
        for token in chosen:
            if token[0] == _INNER:  # capitalised only in a name's Title Case
                token = token[1:]
                word = _word_of(token)
                inner.add(word)
            else:
                word = _word_of(token)
                if _capitalised(token):
                    capitals.add(word)
            seen.setdefault(word, Counter())[token] += 1
        capitalised.update(capitals)
        inside.update(inner - capitals)
    # The words whose case can show (written specially, or capitalised by two texts), and
    # how many texts write each in lower case (counted only for these words, each text's
    # words intersected with them at once: counting every word of every text, or each word
    # in every text, cost a fifth and more of this).
    others = {
        word: max((k for t, k in counts.items() if not _capitalised(t)), default=0)
        for word, counts in seen.items()
    }
    wanted = frozenset(w for w, k in others.items() if k or capitalised[w] + inside[w] >= 2)
    lower: Counter[str] = Counter()
    for found in words:
        lower.update(wanted.intersection(found))
    forms = {}
    specially = []
    for word, counts in seen.items():
        if word not in wanted:
            continue
        n = lower[word]
        # Written this way by more texts than write it in lower case; in a name's Title Case
        # only where no text writes it in lower case ("Carlo", not "Machine").
        capital = capitalised[word] + (0 if n else inside[word])
        if others[word] > n or capital > max(n, 1):
            forms[word] = _shown_form(_commonest(counts, word), word)
        if max((k for t, k in counts.items() if _specially(t)), default=0) > n:
            specially.append(word)
    return Surface(forms, frozenset(specially))


@lru_cache(maxsize=1 << 16)
def _word_of(token: str) -> str:
    """A token's folded word, as phrases fold it: "LLMs" → "llm", "Gaussians" → "gaussian"."""
    return singular(token.lower())


@lru_cache(maxsize=1 << 16)
def _capitalised(token: str) -> bool:
    """A token written with a capital first and not specially ("Gaussian", "Monte")."""
    return token[0].isupper() and not written_specially(token)


def _commonest(counts: Counter[str], word: str) -> str:
    """The form of `word` that most texts write (`counts`: texts per form), a tie to the form
    not shown in capitals throughout ("LLaMA", "Llama" before "LLAMA"; "RPYs", shown "RPY",
    is no case of "RPYS"), then to the first in code-point order."""
    return min(counts.items(), key=lambda i: (-i[1], _shown_form(i[0], word).isupper(), i[0]))[0]


@lru_cache(maxsize=1 << 16)
def _specially(token: str) -> bool:
    return written_specially(token)


def _surface_reading(
    text: str,
    folded: dict[str, str],
    special: dict[str, bool],
    reading: _Reading | None,
    stored: StoredReadings | None = None,
) -> tuple[list[str], frozenset[str]]:
    """A text's distinct tokens whose case counts (`surface_forms`: written specially, or
    capitalised within a sentence; _INNER first where only in a name's Title Case) and its
    folded tokens (each token through `singular`), as `surface_forms` counts them; taken
    from `stored` when it keeps the text. `folded` and `special`: each token's fold and
    check, filled as tokens are first seen. Inside `reading_once` (`reading`) an ASCII
    text's phrases are kept from the same tokenisation."""
    kept = None if stored is None else stored.surface(text)
    if kept is not None:
        return kept[0].split(), frozenset(kept[1].split())
    cleaned = _clean(text)
    written = _TOKEN.findall(cleaned)
    if reading is not None and text not in reading.phrases and cleaned.isascii():
        reading.phrases[text] = frozenset(_phrases_of(written, 3))  # its phrases too
    tokens = set(written)
    for token in tokens.difference(folded):
        folded[token] = singular(token)
        # "LLMs", "O-RAN", "ResNet", "Wi-Fi", "non-Gaussian"; not a Title-Case
        # "Retrieval-Augmented". An all-lower-case token is never written specially.
        special[token] = (
            token[0].isalnum()
            and not token.islower()
            and (
                written_specially(token) or (token[0].islower() and bool(_NAMED_PART.search(token)))
            )
        )
    chosen = list(filter(special.__getitem__, tokens))
    prose = _clean(text, parens=False) if "(" in text else cleaned  # acronyms kept, as written
    start = prose.find(". ")  # the title ends there: Title Case is no choice
    if start >= 0:
        first: set[str] = set()
        inner: set[str] = set()
        for run in _CAPITALISED.finditer(prose, start):
            at = run.start()
            # After punctuation (most runs: a sentence's first word), or spelling out an
            # acronym ("Deep Reinforcement Learning (DRL)": the capitals are the acronym's).
            if prose[at - 1] in _NOT_BEFORE_RUN or run.group(2):
                continue
            if _BEFORE_RUN.search(prose, max(start, at - 64), at):
                names = run.group(1).split()
                # Several capitalised words, or "Human-Robot": a name's Title Case
                if len(names) > 1 or _TITLE_PARTS.search(names[0]):
                    inner.update(names)
                else:
                    first.add(names[0])
        chosen.extend(t for t in first if t in tokens and not special[t])
        chosen.extend(_INNER + t for t in inner - first if t in tokens and not special[t])
    return chosen, frozenset(map(folded.__getitem__, tokens))


#: A hyphen part that is a capitalised word ("non-Gaussian"; not "to-N").
_NAMED_PART = re.compile(r"-[A-Z][a-z]")
#: A capitalised word as _TOKEN reads it ("Gaussian", "Monte", "Transformer-based",
#: "Q-Network").
_CAPITAL = r"[A-Z](?:[a-z][A-Za-z0-9]*|(?=-))(?:-[A-Za-z0-9]+)*(?![A-Za-z0-9])"
#: A run of capitalised words in prose, after a space: "of Gaussian processes", "a Markov
#: chain Monte Carlo", "3D Gaussian Splatting". Group 2: the parenthesised acronym (as _PAREN
#: finds it) the run spells out, if one follows. Found by its capitals, which are few: a
#: pattern that starts at the word before scans every word (a third of a text's reading).
_CAPITALISED = re.compile(rf"\s((?:{_CAPITAL}\s+)*{_CAPITAL})(\s*\(\s*[^()\s]{{1,12}}\s*\))?")
#: A capitalised hyphen part after the first ("Human-Robot", "Navier-Stokes").
_TITLE_PARTS = re.compile(r"-[A-Z]")
#: Marks a token `_surface_reading` finds capitalised only in a run of capitalised words (or
#: written in Title Case itself, `_TITLE_PARTS`). No token of a kept reading starts with it.
_INNER = "+"
#: Punctuation no word `_BEFORE_RUN` finds ends in: a run after it is not looked at further.
_NOT_BEFORE_RUN = frozenset(".,;:!?()[]{}\"'`/")
#: What a run counts after (`_CAPITALISED`, up to its start): a lower-case ASCII word, or a
#: "3D", "6G", not glued to a letter, digit, "_" or "-" before it; never punctuation.
_BEFORE_RUN = re.compile(r"(?<![\w-])(?:[a-z][A-Za-z0-9]*|[0-9][DdGg])(?:-[A-Za-z0-9]+)*\s*\Z")


def written_specially(token: str) -> bool:
    """A capital after a part's first letter, or short capitalised hyphen parts ("Wi-Fi")."""
    parts = token.split("-")
    if any(c.isupper() for part in parts for c in part[1:]):
        return True
    return len(parts) > 1 and all(len(p) <= 3 and p[:1].isupper() for p in parts)


def _shown_form(token: str, word: str) -> str:
    """A counted form as a name shows it, in the singular as `word` (its fold) is: an
    acronym's plural through `_singular_surface` ("LLMs" → "LLM"), another form as `word`
    with the form's capitals ("Transformers" → "Transformer", "Matrices" → "Matrix")."""
    if written_specially(token):
        return _singular_surface(token)
    return "".join(
        c.upper() if k < len(token) and token[k].isupper() else c for k, c in enumerate(word)
    )


def _singular_surface(token: str) -> str:
    """'LLMs' → 'LLM'; 'GANs' → 'GAN'; 'MRI' stays."""
    if len(token) > 2 and token.endswith("s") and token[:-1].isupper():
        return token[:-1]
    return token
