"""Candidate label phrases and surface forms (pipeline/topics/phrases.py): the faster code of
round 14 gives what the plain loops below (the code before it) gave, on real abstracts."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from string import ascii_lowercase

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


def reference_surface_forms(texts: list[str]) -> phrases_mod.Surface:
    """surface_forms() read token by token: every token of every text folded and checked, in
    order, a capitalised token counted where it follows a lower-case word (or one of a run of
    capitalised words that does) after the title, unless the run ends in a parenthesised
    acronym; a capital needs two texts, one in a run of several (or in a Title-Case hyphenated
    word) no text in lower case."""
    seen: dict[str, Counter[str]] = {}
    plain: Counter[str] = Counter()
    capitalised: Counter[str] = Counter()
    inside: Counter[str] = Counter()
    expands = re.compile(r"\s*\(\s*[^()\s]{1,12}\s*\)")
    for text in texts:
        cleaned = phrases_mod._clean(text)
        chosen: set[str] = set()
        lower: set[str] = set()
        written = set(phrases_mod._TOKEN.findall(cleaned))
        for token in written:
            lower.add(singular(token))
            special = token[0].isalnum() and not token.islower() and written_specially(token)
            named = (
                token[0].islower()
                and "-" in token
                and any(p[:1].isupper() and p[1:2].islower() for p in token.split("-")[1:])
            )
            if special or named:
                chosen.add(token)
        prose = phrases_mod._clean(text, parens=False)
        start = prose.find(". ")
        after_word = False  # the token before is a lower-case word, or a counted capital's run
        run: list[str] = []
        first: set[str] = set()
        inner: set[str] = set()
        end = 0
        for match in [*phrases_mod._TOKEN.finditer(prose), None]:
            token = "" if match is None else match.group()
            at = len(prose) if match is None else match.start()
            spaced = at > end and prose[end:at].isspace()
            capital = token[:1].isupper() and (token[1:2].islower() or token[1:2] == "-")
            if capital and spaced and after_word and 0 <= start < at:
                run.append(token)
                after_word = True  # the run goes on
            else:
                if run and not expands.match(prose, end):
                    titled = any(p[:1].isupper() for p in run[0].split("-")[1:])
                    (inner if titled or len(run) > 1 else first).update(run)
                run = []
                before = prose[at - 1] if at else " "
                glued = before.isalnum() or before in "-_"
                word = token[:1] in ascii_lowercase or (token[:1].isdigit() and len(token) > 1)
                after_word = bool(token) and word and not glued
            end = at if match is None else match.end()
        chosen.update(t for t in first if not written_specially(t) and t in written)
        inside_only = {t for t in inner - first if not written_specially(t) and t in written}
        plain.update(lower)
        for token in chosen:
            seen.setdefault(singular(token.lower()), Counter())[token] += 1
        for token in inside_only:
            seen.setdefault(singular(token.lower()), Counter())[token] += 1
        capitals = {
            singular(t.lower()) for t in chosen if t[0].isupper() and not written_specially(t)
        }
        capitalised.update(capitals)
        inside.update({singular(t.lower()) for t in inside_only} - capitals)
    forms = {}
    special_words = set()
    for word, counts in seen.items():
        ordered = sorted(
            counts.items(),
            key=lambda item: (
                -item[1],
                phrases_mod._shown_form(item[0], word).isupper(),
                item[0],
            ),
        )
        chosen_so = [k for t, k in counts.items() if written_specially(t) or t[0].islower()]
        capital = capitalised[word] + (0 if plain[word] else inside[word])
        if max(chosen_so, default=0) > plain[word] or capital >= max(2, plain[word] + 1):
            forms[word] = phrases_mod._shown_form(ordered[0][0], word)
        if any(k > plain[word] for t, k in counts.items() if written_specially(t)):
            special_words.add(word)
    return phrases_mod.Surface(forms, frozenset(special_words))


@pytest.mark.parametrize("n_max", [1, 2, 3, 4])
def test_phrases_are_the_plain_loops_on_real_abstracts_and_titles(n_max: int) -> None:
    for text in [*TEXTS, *TITLES, "", "the and of", "Graph neural networks (GNNs), e.g. LLMs"]:
        assert phrases(text, n_max) == reference_phrases(text, n_max)


def test_surface_forms_are_the_token_by_token_reading_on_real_abstracts() -> None:
    groups = [TEXTS[i : i + k] for k in (1, 5, 20) for i in range(0, len(TEXTS), k)]
    groups += [TEXTS, TITLES, [], ["LLMs and llms", "LLMs, LLM", "llm"], ["GANs", "GAN", "gan"]]
    groups += [[f"T. {t}" for t in TEXTS], [t.replace(". ", ". of ") for t in TEXTS[:40]], ODD]
    groups += [[text] for text in ODD]
    for texts in groups:
        assert surface_forms(texts) == reference_surface_forms(texts)
    # the real texts write acronyms and capitalise names in prose: the check is not vacuous
    forms = surface_forms(TEXTS).forms
    assert any(f.isupper() for f in forms.values())
    assert any(f[:1].isupper() and f[1:].islower() for f in forms.values())


#: Texts at the edges of a capitalised run: after digits, hyphens, "3D", punctuation, a
#: second sentence, a run through a mixed-case name.
ODD = [
    "T. 2a Gaussian, x3D Markov 13D Monte Carlo; a--b Carlo, 3D Gaussian Splatting.",
    "T. of a-b Gaussian.",
    "T. of GaussianNet Splatting, of LLM Splatting, a non-Gaussian to-N x-Ray. So Bayesian.",
    "No title end Gaussian here",
    "T.  of\n Gaussian\tprocesses of ÜGaussian (LLMs) Gaussian",
    "T. über Gaussian",
    "T. a ü Gaussian",
    "T. a_b Gaussian, a's Bayesian",
    "T. 2a Gaussian",
    "T. 5G Gaussian",
    "Title Gaussian of Gaussian. A Bayesian of Gaussian",
    "T. with Deep Reinforcement Learning (DRL) and 3D Gaussian Splatting (3DGS) of Monte Carlo",
    "T. a Radio Access Network ( RAN ), a Gaussian (see Bishop) and a Gaussian (x",
    "T. a Gaussian",
    "T. in Human-Robot Interaction, of Navier-Stokes flows and Navier-stokes, a Tree-based",
    "T. using Deep Q-Networks, a Q-learning agent and an X-",
]


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
