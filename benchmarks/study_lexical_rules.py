"""Which lexical evidence should move a learnt boundary (issue 16, round 4): dev sets only.

Same set-up as study_keyword_rules.py (boundaries fitted on a seeded 2,000-paper sample, the
round-2 rule on top; scored on the two DEV sets only, never a held-out one), but decided as the
build decides: inside when the adjusted margin is ≥ 0, listed when the rank (the margin without
keyword evidence) is within also_margin (0.5 sd) of the paper's best inside topic. Compared: the
shipped rule; strong keyword evidence (a keyword in the title, or two keywords named) always
listed (the build's `calibrate.lift_strong_ranks`), or given a larger slack; stemmed keywords
(Snowball); the topic's name and description words as weak evidence; a pseudo-relevance
expansion (words most over-represented among the topic's surest papers) as weak evidence; a
wider also_margin. Printed: macro F1 per dev set and the topics below keyword matching.

Example: HF_HUB_OFFLINE=1 python -m benchmarks.study_lexical_rules
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from benchmarks import study_keyword_rules as skr
from pipeline import run
from pipeline.config import load_settings
from pipeline.models import Paper, Topic
from pipeline.topics import assign, calibrate

BRITISH = re.compile(r"(?<=[a-z]{2})is(ation|ations|e|ed|es|ing|er|ers)\b")
WORD = re.compile(r"[a-z0-9]+")
_STOP_TEXT = (
    "a an and or of for the to in on with by from as at that this these those is are be was "
    "were it its their they we our such other many one two more most than into without why "
    "what how which who whom when where make making made use using used data model models "
    "learn learning neural network networks"
)
STOP = set(_STOP_TEXT.split())


@functools.cache
def _stemmer() -> Any:
    """Snowball's English stemmer (the `bench` extra: pip install -e '.[bench]')."""
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def stems(text: str) -> list[str]:
    """Lower-cased words, British -ise as -ize, Snowball-stemmed."""
    return _stemmer().stemWords(WORD.findall(BRITISH.sub(r"iz\1", text.casefold())))


def stem_string(text: str) -> str:
    return " " + " ".join(stems(text)) + " "


def variant_counts(papers: Sequence[Paper], topics: Sequence[Topic]) -> tuple[np.ndarray, ...]:
    """(in title?, distinct keywords in text, keyword occurrences in text) with stemmed phrases
    (acronyms as today: case-sensitive)."""
    n, k = len(papers), len(topics)
    title_hit, distinct, occurrences = np.zeros((n, k)), np.zeros((n, k)), np.zeros((n, k))
    acr = [[kw for kw in t.keywords if assign._ACRONYM.match(kw)] for t in topics]
    phrases = [[stem_string(kw) for kw in t.keywords if not assign._ACRONYM.match(kw)]
               for t in topics]  # fmt: skip
    acr_re = [
        re.compile(r"(?<![A-Za-z0-9])(" + "|".join(map(re.escape, a)) + r")s?(?![A-Za-z0-9])")
        if a else None
        for a in acr
    ]  # fmt: skip
    for i, p in enumerate(papers):
        title, text = stem_string(p.title), stem_string(p.text)
        for j in range(k):
            found = [ph for ph in phrases[j] if ph in text]
            occ = sum(text.count(ph) for ph in found)
            t_hit = any(ph in title for ph in phrases[j])
            if acr_re[j] is not None:
                matches = acr_re[j].findall(p.text)
                found += sorted(set(matches))
                occ += len(matches)
                t_hit = t_hit or bool(acr_re[j].search(p.title))
            title_hit[i, j], distinct[i, j], occurrences[i, j] = t_hit, len(set(found)), occ
    return title_hit, distinct, occurrences


def plain_counts(papers: Sequence[Paper], topics: Sequence[Topic]) -> tuple[np.ndarray, ...]:
    """The same three counts with today's matcher (no stemming)."""
    n, k = len(papers), len(topics)
    title_hit, distinct, occurrences = np.zeros((n, k)), np.zeros((n, k)), np.zeros((n, k))
    matchers = [assign.KeywordMatcher(t.keywords) for t in topics]
    for i, p in enumerate(papers):
        words, twords = assign._normal_words(p.text), assign._normal_words(p.title)
        for j, m in enumerate(matchers):
            found = m.matches(p.text, words)
            title_hit[i, j] = bool(m.matches(p.title, twords))
            distinct[i, j] = len(found)
            occurrences[i, j] = sum(
                words.count(assign._normal_words(f)) if f in m._phrases else p.text.count(f)
                for f in found
            )
    return title_hit, distinct, occurrences


def description_words(topic: Topic) -> set[str]:
    """Content-word stems of the topic's name and description, not already in its keywords."""
    keyword_stems = {s for kw in topic.keywords for s in stems(kw)}
    words = set(stems(f"{topic.name} {topic.description}")) - keyword_stems
    return {w for w in words if w not in {s for s in stems(" ".join(STOP))} and len(w) > 2}


def description_counts(papers: Sequence[Paper], topics: Sequence[Topic]) -> np.ndarray:
    """(n, k) how many of the topic's description-word stems each paper names."""
    words = [description_words(t) for t in topics]
    out = np.zeros((len(papers), len(topics)))
    for i, p in enumerate(papers):
        have = set(stems(p.text))
        out[i] = [len(w & have) for w in words]
    return out


def expansion_counts(papers: Sequence[Paper], margins: np.ndarray, named: np.ndarray,
                     n_terms: int = 15) -> np.ndarray:  # fmt: skip
    """(n, k) how many of a topic's expansion terms each paper names: the stems most over-
    represented among the surest papers (a keyword and margin ≥ 1) against all papers."""
    bags = [set(stems(p.text)) - {s for s in stems(" ".join(STOP))} for p in papers]
    vocab: dict[str, int] = {}
    for bag in bags:
        for w in bag:
            vocab[w] = vocab.get(w, 0) + 1
    n = len(papers)
    out = np.zeros(margins.shape)
    for j in range(margins.shape[1]):
        sure = np.flatnonzero(named[:, j] & (margins[:, j] >= 1.0))
        if len(sure) < 5:
            continue
        df: dict[str, int] = {}
        for r in sure:
            for w in bags[r]:
                df[w] = df.get(w, 0) + 1
        lift = {w: (c / len(sure)) / ((vocab[w] + 1) / n) for w, c in df.items() if c >= 3}
        terms = set(sorted(lift, key=lambda w: (-lift[w], w))[:n_terms])
        out[:, j] = [len(terms & bag) for bag in bags]
    return out


def decide(adjusted: np.ndarray, rank: np.ndarray, also_margin: float = 0.5) -> np.ndarray:
    """As the build: inside when the adjusted margin is ≥ 0; listed when its rank is within
    also_margin of the best-ranked topic the paper is inside."""
    inside = adjusted >= 0
    ranks = np.where(inside, rank, -np.inf)
    return inside & (ranks >= ranks.max(axis=1, keepdims=True) - also_margin)


def lifted(rank: np.ndarray, adjusted: np.ndarray, strong: np.ndarray) -> np.ndarray:
    """The build's rank lift (calibrate.lift_strong_ranks) for strongly named topics."""
    return calibrate.lift_strong_ranks(rank, adjusted >= 0, strong)


def rules() -> dict[str, Callable[[dict[str, np.ndarray]], np.ndarray]]:
    """Every compared rule: features in, (n, k) bool membership out."""

    def adjusted(f: dict[str, np.ndarray], hit: np.ndarray, slack: np.ndarray | float = 0.5,
                 bar_relief: np.ndarray | float = 0.0) -> np.ndarray:  # fmt: skip
        return np.where(hit, f["m"] + slack, f["m"] - f["bar"] * (1 - bar_relief))

    out: dict[str, Callable[[dict[str, np.ndarray]], np.ndarray]] = {
        "shipped (round 2)": lambda f: decide(adjusted(f, f["named"]), f["m"]),
        "strong (title or 2 keywords) always listed": lambda f: decide(
            adj := adjusted(f, f["named"]), lifted(f["m"], adj, f["hits"] >= 2)
        ),
        "title keyword always listed (chosen)": lambda f: decide(
            adj := adjusted(f, f["named"]), lifted(f["m"], adj, f["title"] > 0)
        ),
        "stemmed keywords (Snowball), rule only": lambda f: decide(
            adjusted(f, f["s_distinct"] > 0), f["m"]
        ),
        "stemmed keywords + strong always listed": lambda f: decide(
            adj := adjusted(f, f["s_distinct"] > 0),
            lifted(f["m"], adj, (f["s_distinct"] + f["s_title"]) >= 2),
        ),
    }
    for slack in (1.0, 2.0, 99.0):
        out[f"strong: slack {slack} (not 0.5)"] = lambda f, s=slack: decide(
            adjusted(f, f["named"], np.where(f["hits"] >= 2, s, 0.5)), f["m"]
        )
        out[f"title: slack {slack}, listed"] = lambda f, s=slack: decide(
            adj := adjusted(f, f["named"], np.where(f["title"] > 0, s, 0.5)),
            lifted(f["m"], adj, f["title"] > 0),
        )
    for k in (1, 2, 3):
        for relief in (0.5, 1.0):
            out[f"description words ≥ {k}: bar × {1 - relief}"] = lambda f, k=k, r=relief: decide(
                adjusted(f, f["named"], bar_relief=np.where(f["desc"] >= k, r, 0.0)), f["m"]
            )
    for k in (2, 3, 5):
        for relief in (0.5, 1.0):
            out[f"expansion terms ≥ {k}: bar × {1 - relief}"] = lambda f, k=k, r=relief: decide(
                adjusted(f, f["named"], bar_relief=np.where(f["prf"] >= k, r, 0.0)), f["m"]
            )
    for slack in (1.0, 2.0, 99.0):
        out[f"any keyword: slack {slack} (not 0.5), title listed"] = lambda f, s=slack: decide(
            adj := adjusted(f, f["named"], s), lifted(f["m"], adj, f["title"] > 0)
        )
    for relief in (0.5, 1.0):
        out[f"no keyword: bar × {1 - relief}, title listed"] = lambda f, r=relief: decide(
            adj := adjusted(f, f["named"], bar_relief=r), lifted(f["m"], adj, f["title"] > 0)
        )
    for also in (1.0, 99.0):
        out[f"also_margin {also} sd (not 0.5)"] = lambda f, a=also: decide(
            adjusted(f, f["named"]), f["m"], a
        )
    return out


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    if importlib.util.find_spec("snowballstemmer") is None:
        sys.exit("study_lexical_rules needs Snowball's stemmer: pip install -e '.[bench]'")
    embedder = run.make_embedder(load_settings(skr.ev.TOPIC_FILES["dev"]))
    sets = []
    for d in skr.load_dev_sets(embedder):
        margins, named, frequency = skr.features(d.papers, d.vectors, d.topics, embedder)
        bar = skr.NO_KEYWORD_BAR * np.maximum(0.0, 2 * frequency - 1)
        f = {"m": margins, "bar": np.broadcast_to(bar, margins.shape), "named": named}
        f["title"], f["distinct"], f["occ"] = plain_counts(d.papers, d.topics)
        f["hits"] = np.minimum(f["title"] + f["distinct"], assign.MAX_KEYWORD_HITS)
        f["s_title"], f["s_distinct"], f["s_occ"] = variant_counts(d.papers, d.topics)
        f["desc"] = description_counts(d.papers, d.topics)
        f["prf"] = expansion_counts(d.papers, margins, named)
        sets.append((d.name, f, d.gold, d.rows))
    print(f"{'rule':56}" + "".join(f"{name:>22}" for name, *_ in sets))
    for name, rule in rules().items():
        cells = ""
        for _, f, gold, rows in sets:
            f1, base = skr.macro(rule(f), gold, rows), skr.macro(f["named"], gold, rows)
            below = int(np.nansum((base < 0.95) & (f1 < base - 1e-9)))
            cells += f"{np.nanmean(f1):>14.3f} ({below} below)"
        print(f"{name:56}{cells}", flush=True)


if __name__ == "__main__":
    main()
