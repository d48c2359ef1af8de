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
from functools import partial

import numpy as np

from pipeline.models import Assignment, Remember, Topic, compute_now

#: More keyword hits than this add nothing: one strong phrase repeated should not dominate.
MAX_KEYWORD_HITS = 3
# One token with two or more capitals (NAS, DARTS, FlashAttention) is matched case-sensitively.
_ACRONYM = re.compile(r"^\S*[A-Z]\S*[A-Z]\S*$")
# "+" and "#" are part of a name (C++, C#, F#): such a keyword is matched as written, case folded;
# read as words it was "c", which every "Appendix C" and "C[0,1]" has.
_NAME_SIGNS = re.compile(r"[+#]")


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
# The scan starts at the literal "s" (the lookbehind, after it, checks the "i" or "y" and two
# letters before), which the engine finds by a fast search: 0.4x the time of starting at [iy].
_BRITISH = re.compile(r"s(?<=[a-z]{2}[iy]s)(ation|ations|e|ed|es|ing|er|ers)\b")


def _normal_words(text: str) -> str:
    """Lower case, hyphens and slashes as spaces, plurals folded, British -ise as -ize:
    ' vision language model '."""
    folded = text.casefold()
    if folded.isascii():  # nearly every abstract: translate + split is ~3× the regex's speed
        words = " ".join(folded.translate(_ASCII_NOT_WORD).split())
    else:
        words = _NOT_WORD.sub(" ", folded).strip()
    words = _BRITISH.sub(r"z\1", words)
    return f" {_PLURAL.sub('', words)} "


class KeywordMatcher:
    """One topic's keyword phrases, prepared once: its acronyms (NAS, VLM) as one compiled
    alternation, its other phrases in the normalised form they are looked up in."""

    def __init__(self, keywords: Sequence[str]) -> None:
        self._keywords = tuple(dict.fromkeys(keywords))
        acronyms = [k for k in self._keywords if _ACRONYM.match(k)]
        signed = [k for k in self._keywords if k not in acronyms and _NAME_SIGNS.search(k)]
        # One keyword per phrase: "GNN message passing" written twice in two cases, or once
        # British and once American ("quantisation", "quantization"), is one piece of evidence,
        # not two bonuses (the first spelling is the one reported).
        self._phrases: dict[str, str] = {}
        for k in self._keywords:
            phrase = _normal_words(k)
            if k in acronyms or k in signed or not phrase.strip():
                continue
            if phrase not in self._phrases.values():
                self._phrases[k] = phrase
        # Phrases by their first word: only those whose first word is among the text's words can
        # occur in it, so a text is searched for a handful of phrases, not every keyword.
        self._by_first_word: dict[str, list[tuple[str, str]]] = {}
        for keyword, phrase in self._phrases.items():
            self._by_first_word.setdefault(phrase.split()[0], []).append((keyword, phrase))
        self._acronym_list = tuple(acronyms)
        self._acronyms: re.Pattern[str] | None = None
        if acronyms:
            # Longest first, so "VLMs" is not read as "VLM" + "s" when both are keywords.
            ordered = sorted(acronyms, key=len, reverse=True)
            alternation = "|".join(re.escape(a) for a in ordered)
            self._acronyms = re.compile(rf"(?<![A-Za-z0-9])({alternation})s?(?![A-Za-z0-9])")
        self._signed = {k.casefold(): k for k in signed}
        self._signed_pattern: re.Pattern[str] | None = None
        if signed:
            ordered = sorted(self._signed, key=len, reverse=True)
            alternation = "|".join(re.escape(k) for k in ordered)
            self._signed_pattern = re.compile(rf"(?<![\w+#])({alternation})(?![\w+#])", re.I)

    @property
    def keywords(self) -> tuple[str, ...]:
        """The keyword phrases, duplicates dropped, in the order given."""
        return self._keywords

    def found(self, title: str, text: str) -> list[list[str]]:
        """[the keywords in `text`, those in `title`] (see `matches`)."""
        return [self.matches(text, _normal_words(text)), self.matches(title, _normal_words(title))]

    def matches(self, text: str, words: str) -> list[str]:
        """Keywords found in `text`, whose `_normal_words` form is `words`, in keyword order."""
        found = set()
        # The regex only where an acronym occurs at all (a plain substring test is much cheaper).
        if self._acronyms is not None and any(a in text for a in self._acronym_list):
            found.update(self._acronyms.findall(text))
        if self._signed_pattern is not None and ("+" in text or "#" in text):
            found.update(self._signed[m.casefold()] for m in self._signed_pattern.findall(text))
        for first in self._by_first_word.keys() & words.split():
            found.update(k for k, phrase in self._by_first_word[first] if phrase in words)
        return [k for k in self._keywords if k in found] if found else []


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
    # (n_papers, n_topics) the boundary's margin alone: no evidence model, no title lift.
    raw: np.ndarray | None = None


def combine_scores(
    semantic: np.ndarray,
    titles: Sequence[str],
    texts: Sequence[str],
    topics: Sequence[Topic],
    *,
    keyword_weight: float,
    remember: Remember = compute_now,
) -> TopicScores:
    """Add lexical evidence to the semantic scores. The keywords found in each paper are
    `remember`ed under the keyword list, its title and its text."""
    hits = np.zeros(semantic.shape, dtype=np.float32)
    titled = np.zeros(semantic.shape, dtype=bool)
    if topics:
        # Every topic's keywords in one matcher: one pass over each text finds all their acronyms.
        everything = KeywordMatcher([k for t in topics for k in t.keywords])
        listed = "\n".join(everything.keywords)
        per_topic = [set(t.keywords) for t in topics]
        for row, (title, text) in enumerate(zip(titles, texts, strict=True)):
            found = remember((listed, title, text), partial(everything.found, title, text))
            if not (found[0] or found[1]):  # most papers: the row stays zero
                continue
            in_text, in_title = set(found[0]), set(found[1])
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
