"""Candidate label phrases and surface forms (pipeline/topics/phrases.py): the faster code of
round 14 gives what the plain loops below (the code before it) gave, on real abstracts."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from pipeline.topics import phrases as phrases_mod
from pipeline.topics.phrases import phrases, singular, surface_forms, written_specially

DATA = Path(__file__).parent / "data"


def real_papers() -> list[dict[str, str]]:
    """The real arXiv papers of tests/data (e2e days and the areas week), file by file."""
    files = [*sorted((DATA / "e2e").glob("*.jsonl")), DATA / "areas" / "week.jsonl"]
    return [json.loads(line) for f in files for line in f.read_text("utf-8").splitlines()]


TEXTS = [f"{p['title']}. {p['abstract']}" for p in real_papers()]
TITLES = [p["title"] for p in real_papers()]


def reference_phrases(text: str, n_max: int = 3) -> list[str]:
    """phrases() before round 14: every run, however short, through the general n-gram loop."""
    found: list[str] = []
    run: list[str] = []
    for token in phrases_mod._TOKEN.findall(phrases_mod._clean(text).lower()):
        word = phrases_mod._label_word(token)
        if word:
            run.append(word)
            continue
        found.extend(
            " ".join(run[i : i + n]) for n in range(1, n_max + 1) for i in range(len(run) - n + 1)
        )
        run = []
    found.extend(
        " ".join(run[i : i + n]) for n in range(1, n_max + 1) for i in range(len(run) - n + 1)
    )
    return found


def reference_surface_forms(texts: list[str]) -> dict[str, str]:
    """surface_forms() before round 14: every token of every text folded and checked."""
    seen: dict[str, Counter[str]] = {}
    plain: Counter[str] = Counter()
    for text in texts:
        special: set[str] = set()
        lower: set[str] = set()
        for token in phrases_mod._TOKEN.findall(phrases_mod._clean(text)):
            lower.add(singular(token))
            if token[0].isalnum() and not token.islower() and written_specially(token):
                special.add(token)
        plain.update(lower)
        for token in special:
            seen.setdefault(singular(token.lower()), Counter())[token] += 1
    forms = {}
    for word, counts in seen.items():
        form, n = min(counts.items(), key=lambda item: (-item[1], item[0]))
        if n > plain[word]:
            forms[word] = phrases_mod._singular_surface(form)
    return forms


@pytest.mark.parametrize("n_max", [1, 2, 3, 4])
def test_phrases_are_the_plain_loops_on_real_abstracts_and_titles(n_max: int) -> None:
    for text in [*TEXTS, *TITLES, "", "the and of", "Graph neural networks (GNNs), e.g. LLMs"]:
        assert phrases(text, n_max) == reference_phrases(text, n_max)


def test_surface_forms_are_the_token_by_token_reading_on_real_abstracts() -> None:
    groups = [TEXTS[i : i + k] for k in (1, 5, 20) for i in range(0, len(TEXTS), k)]
    groups += [TEXTS, TITLES, [], ["LLMs and llms", "LLMs, LLM", "llm"], ["GANs", "GAN", "gan"]]
    for texts in groups:
        assert surface_forms(texts) == reference_surface_forms(texts)
    assert surface_forms(TEXTS)  # the real texts write acronyms: the check is not vacuous


# Lower-casing these changes more than ASCII letters: "İ" becomes two characters, the Kelvin
# sign "K" an ASCII "k", "ẞ" "ß"; phrases() reads such a text lower-cased as before.
NON_ASCII = [
    "İstanbul traffic networks and KELVIN sensors",
    "A \u212aelvin-scale graph (GNNs) model of Straẞe networks",
    "Café recommender systems for naïve users, über-fast",
]


def test_phrases_of_ascii_and_other_texts_are_the_plain_loops() -> None:
    for text in [*NON_ASCII, *(t.upper() for t in TEXTS[:50]), *(t.title() for t in TITLES)]:
        assert phrases(text) == reference_phrases(text)


def test_reading_once_gives_the_same_phrase_sets_and_keeps_nothing_after() -> None:
    texts = [*TEXTS[:40], *NON_ASCII]
    plain = [frozenset(reference_phrases(t)) for t in texts]
    with phrases_mod.reading_once():
        surface_forms(texts[::2])  # fills the memo from its own reading of the texts
        assert [phrases_mod.phrase_set(t) for t in texts] == plain
        assert [phrases_mod.phrase_set(t) for t in texts] == plain  # from the memo
    assert phrases_mod._MEMO.get() is None
    assert [phrases_mod.phrase_set(t) for t in texts] == plain


def reference_clean(text: str) -> str:
    """_clean before round 18: every pattern run on every text."""
    text = phrases_mod._URL.sub(" . ", text)
    text = phrases_mod._DOMAIN.sub(" . ", text)
    return phrases_mod._LATEX.sub(" . ", phrases_mod._PAREN.sub(" ", text))


def test_clean_skipping_patterns_a_text_cannot_match_is_the_plain_cleaning() -> None:
    odd = [
        "See https://x.org/a (LLMs) and www.y.io, $\\alpha$ and \\beta at github.com/z.",
        "ftp://host (RL) $x$ $$ \\ \\L a(b)c",
        "",
    ]
    for text in [*TEXTS, *TITLES, *odd, *NON_ASCII]:
        assert phrases_mod._clean(text) == reference_clean(text)


def test_the_packaged_stop_words_are_scikit_learns_list() -> None:
    # pipeline/data/stop_words.txt is a copy, so that a build need not import scikit-learn;
    # a scikit-learn release that changes its list must show up here, not in the names.
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    assert phrases_mod._stop_words() == frozenset(ENGLISH_STOP_WORDS)
    assert len(phrases_mod._stop_words()) == 318
