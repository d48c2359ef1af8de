"""Papers → configured topics: semantic similarity plus keyword evidence, per-topic thresholds.

Takes vectors and plain parameters, never Settings or a Store. A paper's score for a topic is the
cosine between the paper and the topic's best prototype (its description text, or one of its
example papers) plus `keyword_weight` per keyword phrase the paper contains (title hits count
twice, at most MAX_KEYWORD_HITS in all). Each paper gets at most one primary topic (its digest
section) and may list other topics it is "also relevant to". Pure; imports only models, numpy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.models import Assignment, Topic

#: More keyword hits than this add nothing: one strong phrase repeated should not dominate.
MAX_KEYWORD_HITS = 3
# One token with two or more capitals (NAS, DARTS, FlashAttention) is matched case-sensitively.
_ACRONYM = re.compile(r"^\S*[A-Z]\S*[A-Z]\S*$")


def topic_text(topic: Topic) -> str:
    """The text a topic is embedded from: name, description, then its keyword phrases."""
    text = f"{topic.name}. {topic.description}"
    if topic.keywords:
        text += " Keywords: " + ", ".join(topic.keywords) + "."
    return text


def has_phrase(text: str, phrases: Sequence[str]) -> bool:
    """True when any phrase occurs in text as whole words, ignoring case."""
    lowered = text.casefold()
    for phrase in phrases:
        pattern = r"(?<!\w)" + re.escape(phrase.casefold()) + r"(?!\w)"
        if re.search(pattern, lowered):
            return True
    return False


_NOT_WORD = re.compile(r"[^a-z0-9]+")
# The same for an ASCII text, as one C-level pass: every other character becomes a space.
_ASCII_NOT_WORD = str.maketrans(
    {c: " " for c in map(chr, range(128)) if not (c.isdigit() or "a" <= c <= "z")}
)
# Plural folding only ("models" → "model", not "class" → "clas"): a word of 4+ characters ending
# in one "s". Done as one regex pass, not per word: it runs on every paper of the week. The
# pattern starts with the literal "s" (lookbehind after it) so the scan jumps from "s" to "s".
_PLURAL = re.compile(r"s(?<=[a-z0-9]{2}[a-rt-z0-9]s)(?= |$)")


# British -ise/-yse spellings read as -ize/-yze ("quantisation" is "quantization"), on both the
# keyword and the text, so either spelling of a keyword finds either in a paper (issue 16, round
# 4; "noise" becoming "noize" on both sides is harmless).
# The scan starts at "i" or "y" (the lookbehind follows it), not at every position.
_BRITISH = re.compile(r"([iy])(?<=[a-z]{2}[iy])s(ation|ations|e|ed|es|ing|er|ers)\b")


def _normal_words(text: str) -> str:
    """Lower case, hyphens and slashes as spaces, plurals folded, British -ise as -ize:
    ' vision language model '."""
    folded = text.casefold()
    if folded.isascii():  # nearly every abstract: translate + split is ~3× the regex's speed
        words = " ".join(folded.translate(_ASCII_NOT_WORD).split())
    else:
        words = _NOT_WORD.sub(" ", folded).strip()
    words = _BRITISH.sub(r"\1z\2", words)
    return f" {_PLURAL.sub('', words)} "


#: The kinds of keyword variant a newcomer would accept as the same keyword (issue 16, round 5),
#: all generated from the keyword once, never by rewriting the paper's text (see
#: `keyword_forms`): "joined" — the words of a hyphenated keyword (or a two-word one) written
#: together ("self-supervised" finds "selfsupervised"); "plural" — plurals the text folding
#: does not undo ("policy" finds "policies", "bias" "biases"); "derived" — the last word's
#: derivational family, for a few safe suffixes only ("interpretability" ↔ "interpretable",
#: "quantization" ↔ "quantized", "compression" ↔ "compressed"); "participle" — the last word's
#: -ion / -ed / -ing / -e forms ("pruning" ↔ "pruned", "self-supervised" ↔ "self-supervision");
#: "head" — a generic word (model, network, method, …) at either end of a multi-word keyword
#: read as any other, at the end also as "-based" or "transformer" ("diffusion model" finds
#: "diffusion-based", "diffusion transformer"; never "diffusion" alone).
VARIANT_KINDS = ("joined", "plural", "derived", "participle", "head")
#: The kinds the matcher uses, chosen on the dev sets only (benchmarks/README.md, "Fifth round";
#: `python -m benchmarks.study_keyword_variants`): "participle" lifts the arXiv dev topics
#: (0.643 → 0.655) and changes nothing on the hand-labelled ones; "joined" changes no dev paper.
#: "derived" cost interpretability ("interpretable" is loose: 0.50 → 0.38), "plural" retrieval
#: ("queries"), and "head" gained nothing.
KEYWORD_VARIANTS: tuple[str, ...] = ("joined", "participle")
# Derivational families: a word ending in one suffix of a family also reads as its stem plus
# each other suffix of that family (the longest matching suffix decides; the stem keeps at least
# _MIN_STEM characters, so "mission" is not "mi" + "ss").
_DERIVED = (
    ("ability", "able"),
    ("ization", "ize", "ized", "izing"),
    ("ssion", "ss", "ssed", "ssing"),
)
_PARTICIPLE = (("ion", "ed", "ing", "e"),)
_MIN_STEM = 4
# Generic words a keyword's specific part is built around; at the end of a keyword these may
# also read as "based" ("diffusion-based") or "transformer" (not the other way round: "graph
# transformer" does not become "graph-based").
_GENERIC = ("model", "network", "method", "approach", "framework", "architecture", "system",
            "algorithm")  # fmt: skip
_GENERIC_END = (*_GENERIC, "based", "transformer")


def _swap_suffix(word: str, families: Sequence[tuple[str, ...]]) -> list[str]:
    """`word` with, in each family, its longest suffix of that family swapped for the others."""
    out = []
    for family in families:
        suffix = max((s for s in family if word.endswith(s)), key=len, default=None)
        if suffix is None or len(word) - len(suffix) < _MIN_STEM:
            continue
        stem = word[: len(word) - len(suffix)]
        out += [stem + s for s in family if s != suffix]
        if "ion" in family and stem.endswith(("iz", "yz")):
            # The text folding reads "supervised" as "supervized" but leaves "supervision".
            out.append(stem[:-1] + "sion")
    return list(dict.fromkeys(out))


def keyword_forms(keyword: str, kinds: Sequence[str] = VARIANT_KINDS) -> list[str]:
    """The normalised forms a (non-acronym) keyword is looked up in: its own first, then its
    variants of the given kinds (see VARIANT_KINDS), without repeats.

    >>> keyword_forms("diffusion model", ["head"])[:3]
    [' diffusion model ', ' diffusion network ', ' diffusion method ']
    """
    base = _normal_words(keyword).split()
    if not base:
        return []
    phrases = [base]
    if "joined" in kinds:
        groups = [_normal_words(g).split() for g in keyword.split()]
        if any(len(g) > 1 for g in groups):  # a hyphenated word: "self-supervised"
            phrases.append([w for g in groups for w in (["".join(g)] if len(g) > 1 else g)])
        if len(base) == 2:
            phrases.append(["".join(base)])
    families = [
        *(_DERIVED if "derived" in kinds else ()),
        *(_PARTICIPLE if "participle" in kinds else ()),
    ]
    phrases += [[*w[:-1], end] for w in list(phrases) for end in _swap_suffix(w[-1], families)]
    if "head" in kinds and len(base) > 1:
        if base[-1] in _GENERIC and base[-2] not in _GENERIC:
            phrases += [[*base[:-1], h] for h in _GENERIC_END if h != base[-1]]
        if base[0] in _GENERIC and base[1] not in _GENERIC:
            phrases += [[h, *base[1:]] for h in _GENERIC if h != base[0]]
    if "plural" in kinds:
        # Plurals the text folding leaves as "…ie" and "…e" ("policies", "biases", "boxes"),
        # formed from the last word as written ("bias", which the folding reads as "bia").
        written = _NOT_WORD.sub(" ", keyword.casefold()).split()[-1:] or [""]
        for words in list(phrases):
            last = written[0] if words[-1] == base[-1] else words[-1]
            if len(last) > 2 and last.endswith("y") and last[-2] not in "aeiou":
                phrases.append([*words[:-1], last[:-1] + "ie"])
            elif last.endswith(("s", "x", "z", "ch", "sh")):
                phrases.append([*words[:-1], last + "e"])
    return list(dict.fromkeys(f" {' '.join(words)} " for words in phrases))


class KeywordMatcher:
    """One topic's keyword phrases, prepared once: its acronyms (NAS, VLM) as one compiled
    alternation, its other phrases in the normalised forms they are looked up in (their own and
    their KEYWORD_VARIANTS, see `keyword_forms`); a variant found counts as its keyword."""

    def __init__(self, keywords: Sequence[str], variants: Sequence[str] | None = None) -> None:
        self._keywords = tuple(dict.fromkeys(keywords))
        kinds = KEYWORD_VARIANTS if variants is None else tuple(variants)
        acronyms = [k for k in self._keywords if _ACRONYM.match(k)]
        self._forms = {k: keyword_forms(k, kinds) for k in self._keywords if k not in acronyms}
        self._forms = {k: forms for k, forms in self._forms.items() if forms}
        # Forms by their first word: only those whose first word is among the text's words can
        # occur in it, so a text is searched for a handful of phrases, not every keyword.
        self._by_first_word: dict[str, list[tuple[str, str]]] = {}
        for keyword, forms in self._forms.items():
            for form in forms:
                self._by_first_word.setdefault(form.split()[0], []).append((keyword, form))
        self._acronym_list = tuple(acronyms)
        self._acronyms: re.Pattern[str] | None = None
        if acronyms:
            # Longest first, so "VLMs" is not read as "VLM" + "s" when both are keywords.
            ordered = sorted(acronyms, key=len, reverse=True)
            alternation = "|".join(re.escape(a) for a in ordered)
            self._acronyms = re.compile(rf"(?<![A-Za-z0-9])({alternation})s?(?![A-Za-z0-9])")

    def matches(self, text: str, words: str) -> list[str]:
        """Keywords found in `text`, whose `_normal_words` form is `words`, in keyword order."""
        found = set()
        # The regex only where an acronym occurs at all (a plain substring test is much cheaper).
        if self._acronyms is not None and any(a in text for a in self._acronym_list):
            found.update(self._acronyms.findall(text))
        for first in self._by_first_word.keys() & words.split():
            found.update(k for k, form in self._by_first_word[first] if form in words)
        return [k for k in self._keywords if k in found] if found else []

    def forms_found(self, text: str) -> list[tuple[str, str]]:
        """(keyword as written, the form found in `text`) for each keyword found, in keyword
        order: the form is the keyword itself, or the variant that matched ("diffusion based")."""
        words = _normal_words(text)
        out = []
        for keyword in self.matches(text, words):
            forms = self._forms.get(keyword, [])
            variant = (
                None
                if not forms or forms[0] in words
                else next((f for f in forms[1:] if f in words), None)
            )
            out.append((keyword, _as_written(text, variant) if variant else keyword))
        return out


def _as_written(text: str, form: str) -> str:
    """The stretch of `text` whose normalised words are `form` (its first occurrence), as the
    text spells it: "Diffusion-Based" for the form " diffusion based "."""
    spans = [m.span() for m in re.finditer(r"[^\W_]+", text)]
    words = [_normal_words(text[a:b]).strip() for a, b in spans]
    wanted = form.split()
    for i in range(len(words) - len(wanted) + 1):
        if words[i : i + len(wanted)] == wanted:
            return text[spans[i][0] : spans[i + len(wanted) - 1][1]]
    return form.strip()


def matched_keywords(text: str, keywords: Sequence[str]) -> list[str]:
    """The keyword phrases found in text: acronyms (NAS, VLM) case-sensitively, the rest loosely.

    "vision-language model" matches "Vision Language Models"; "NAS" matches "NAS" or "NASs" but not
    "nas" inside "Nasdaq" or lower-case prose.
    """
    return KeywordMatcher(keywords).matches(text, _normal_words(text))


def keyword_hits(
    title: str,
    text: str,
    topics: Sequence[Topic],
    matchers: Sequence[KeywordMatcher] | None = None,
) -> np.ndarray:
    """(n_topics,) capped count of keyword phrases in text; a phrase in the title counts twice."""
    matchers = matchers or [KeywordMatcher(t.keywords) for t in topics]
    text_words, title_words = _normal_words(text), _normal_words(title)
    counts = [
        len(m.matches(text, text_words)) + len(m.matches(title, title_words)) for m in matchers
    ]
    return np.minimum(np.asarray(counts, dtype=np.float32), MAX_KEYWORD_HITS)


def score_topics(paper_vectors: np.ndarray, topic_vectors: np.ndarray) -> np.ndarray:
    """Cosine similarity matrix (n_papers, n_topics) of unit vectors."""
    if paper_vectors.size == 0 or topic_vectors.size == 0:
        return np.zeros((paper_vectors.shape[0], topic_vectors.shape[0]), dtype=np.float32)
    return np.asarray(paper_vectors @ topic_vectors.T, dtype=np.float32)


def semantic_scores(
    paper_vectors: np.ndarray,
    prototype_vectors: np.ndarray,
    prototype_topics: Sequence[int],
    n_topics: int,
) -> np.ndarray:
    """(n_papers, n_topics): each topic's best cosine over its prototypes (text, examples)."""
    out = np.full((paper_vectors.shape[0], n_topics), -1.0, dtype=np.float32)
    if n_topics == 0 or paper_vectors.shape[0] == 0 or len(prototype_topics) == 0:
        return np.maximum(out, 0.0)
    cosines = score_topics(paper_vectors, prototype_vectors)
    for col, topic in enumerate(prototype_topics):
        out[:, topic] = np.maximum(out[:, topic], cosines[:, col])
    return out


@dataclass(frozen=True)
class TopicScores:
    """Per-paper, per-topic evidence: cosine, keyword hits, combined score, margin."""

    semantic: np.ndarray  # (n_papers, n_topics) best prototype cosine
    keywords: np.ndarray  # (n_papers, n_topics) capped keyword hit counts
    combined: np.ndarray  # semantic + keyword_weight * keywords
    # (n_papers, n_topics) distance from each topic's boundary (≥ 0: inside); see topic_margins.
    margin: np.ndarray | None = None
    # (n_papers, n_topics) the same without keyword evidence: orders the topics a paper is in.
    rank: np.ndarray | None = None
    # (n_papers, n_topics) bool: one of the topic's keywords is in the paper's title.
    titled: np.ndarray | None = None


def combine_scores(
    semantic: np.ndarray,
    titles: Sequence[str],
    texts: Sequence[str],
    topics: Sequence[Topic],
    *,
    keyword_weight: float,
) -> TopicScores:
    """Add lexical evidence to the semantic scores."""
    hits = np.zeros(semantic.shape, dtype=np.float32)
    titled = np.zeros(semantic.shape, dtype=bool)
    if topics:
        # Every topic's keywords in one matcher: one pass over each text finds all their acronyms.
        everything = KeywordMatcher([k for t in topics for k in t.keywords])
        per_topic = [set(t.keywords) for t in topics]
        for row, (title, text) in enumerate(zip(titles, texts, strict=True)):
            in_text = set(everything.matches(text, _normal_words(text)))
            in_title = set(everything.matches(title, _normal_words(title)))
            hits[row] = [len(k & in_text) + len(k & in_title) for k in per_topic]
            titled[row] = [bool(k & in_title) for k in per_topic]
        np.minimum(hits, MAX_KEYWORD_HITS, out=hits)
    combined = np.asarray(semantic + keyword_weight * hits, dtype=np.float32)
    return TopicScores(semantic, hits, combined, titled=titled)


def assign_topics(
    paper_ids: Sequence[str],
    texts: Sequence[str],
    scores: np.ndarray,
    topics: Sequence[Topic],
    *,
    thresholds: Mapping[str, float],
    also_margin: float,
    vetoed: Mapping[str, frozenset[str]] | None = None,
    rank: np.ndarray | None = None,
) -> list[Assignment]:
    """Each paper's primary topic (best score over its threshold, not vetoed) and 'also' list.

    A paper is vetoed from a topic by the topic's `exclude` phrases or by being one of the
    `vetoed[slug]` paper ids (its counter-examples). With `rank`, the topics a paper is in are
    ordered (primary first, 'also' within `also_margin` of it) by `rank` instead of `scores`:
    keyword evidence then decides whether a paper is in a topic, not which of its topics leads.
    """
    vetoed = vetoed or {}
    # Python floats once, not one numpy scalar per paper and topic (the same values).
    score_rows = np.asarray(scores).tolist() if len(paper_ids) else []
    order_rows = score_rows if rank is None else np.asarray(rank).tolist()
    slugs = [topic.slug for topic in topics]
    result = []
    for row, (paper_id, text) in enumerate(zip(paper_ids, texts, strict=True)):
        candidates: list[tuple[float, float, str]] = []
        row_scores = score_rows[row]
        all_scores = [(slug, round(row_scores[col], 4)) for col, slug in enumerate(slugs)]
        for col, topic in enumerate(topics):
            score = row_scores[col]
            if score < thresholds[topic.slug]:
                continue
            if topic.exclude and has_phrase(text, topic.exclude):
                continue
            if paper_id in vetoed.get(topic.slug, ()):
                continue
            candidates.append((order_rows[row][col], score, topic.slug))
        # Highest first; the slug breaks ties so the result never depends on dict order.
        candidates.sort(key=lambda c: (-c[0], c[2]))
        if not candidates:
            best = max((s for _, s in all_scores), default=0.0)
            result.append(Assignment(paper_id, None, best, (), tuple(all_scores)))
            continue
        top_rank, top_score, primary = candidates[0]
        also = tuple(slug for rank_, _, slug in candidates[1:] if rank_ >= top_rank - also_margin)
        result.append(Assignment(paper_id, primary, top_score, also, tuple(all_scores)))
    return result
