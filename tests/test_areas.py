"""Research-area names for discovered themes (topics/areas.py), on constructed vectors."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.config.rules import parse_area_fields, parse_broad_areas
from pipeline.topics import areas
from pipeline.topics.areas import Areas, name_by_area, parse_area_names

NAMES = (
    "Speech recognition",
    "Storage systems",
    "Malware detection",
    "Quantum computing",
    *(f"Area {k}" for k in range(4, 400)),
)
AREAS = len(NAMES)
DIM = 512


def _near(direction: np.ndarray, n: int, rng: np.random.Generator, noise: float) -> np.ndarray:
    rows = direction[None, :] + noise * rng.standard_normal((n, direction.size))
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


TEXTS = (
    ["speech recognition of spoken words"] * 8
    + ["storage systems for disks"] * 8
    + ["malware detection in binaries"] * 8
    + [f"an unrelated subject number {k}" for k in range(24)]
)


def _world() -> tuple[Areas, np.ndarray]:
    """400 areas along the first 400 axes (a vocabulary's size). The week: 8 papers near each
    of the first three areas (rows 0–23), then 24 papers spread over the axes no area names."""
    rng = np.random.default_rng(0)
    basis = np.eye(DIM, dtype=np.float32)
    spread = rng.standard_normal((24, DIM)) * np.r_[np.full(AREAS, 0.02), np.ones(DIM - AREAS)]
    week = [_near(basis[a], 8, rng, 0.05) for a in range(3)] + [spread]
    x = np.vstack(week).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return Areas(NAMES, basis[:AREAS]), x


def _only(monkeypatch: pytest.MonkeyPatch, rule: str) -> None:
    """Switch off every rule of name_by_area but `rule`."""
    off = {"MIN_AREA_FIT": 0.0, "MIN_AREA_SCORE": -99.0, "MIN_AREA_COSINE": -1.0}
    for name, value in off.items():
        if name != rule:
            monkeypatch.setattr(areas, name, value)


def test_a_group_is_named_by_the_area_its_papers_lie_towards() -> None:
    vocabulary, week = _world()
    groups = [np.arange(0, 8), np.arange(8, 16), np.arange(16, 24)]
    assert name_by_area(groups, week, vocabulary, texts=TEXTS) == list(NAMES[:3])


def test_a_group_no_area_describes_keeps_no_area_name() -> None:
    vocabulary, week = _world()
    assert name_by_area([np.arange(24, 32)], week, vocabulary, texts=TEXTS) == [None]


def test_an_area_must_fit_most_papers_not_a_few(monkeypatch: pytest.MonkeyPatch) -> None:
    vocabulary, week = _world()
    mixed = np.r_[np.arange(0, 3), np.arange(8, 11), np.arange(16, 18)]  # 3 + 3 + 2 areas
    assert name_by_area([mixed], week, vocabulary, texts=TEXTS) == [None]
    _only(monkeypatch, "MIN_AREA_FIT")
    assert name_by_area([mixed], week, vocabulary, texts=TEXTS) == [None]
    monkeypatch.setattr(areas, "MIN_AREA_FIT", 0.3)
    assert name_by_area([mixed], week, vocabulary, texts=TEXTS) in (
        ["Speech recognition"],
        ["Storage systems"],
    )


def test_the_least_unrelated_area_is_no_name(monkeypatch: pytest.MonkeyPatch) -> None:
    vocabulary, week = _world()
    # Papers about an unnamed subject (axis 450) that lean faintly towards quantum computing:
    # the area is their best by far against the week, but not close to what they are about.
    rng = np.random.default_rng(1)
    leaning = _near(0.2 * np.eye(DIM)[3] + np.eye(DIM)[450], 6, rng, 0.02)
    week = np.vstack([week, leaning]).astype(np.float32)
    group = [np.arange(len(week) - 6, len(week))]
    texts = [*TEXTS, *["quantum computing on a new subject"] * 6]
    assert name_by_area(group, week, vocabulary, texts=texts) == [None]
    _only(monkeypatch, "MIN_AREA_COSINE")
    assert name_by_area(group, week, vocabulary, texts=texts) == [None]
    monkeypatch.setattr(areas, "MIN_AREA_COSINE", 0.1)
    assert name_by_area(group, week, vocabulary, texts=texts) == ["Quantum computing"]


def test_an_area_close_to_the_whole_week_names_no_group(monkeypatch: pytest.MonkeyPatch) -> None:
    vocabulary, week = _world()
    # A broad area equally close to every paper the groups hold ("Machine learning").
    broad = np.zeros(DIM, dtype=np.float32)
    broad[:3] = 1.0
    vocabulary = Areas(("Machine learning",), broad[None, :] / np.linalg.norm(broad))
    week = week[:24]
    texts = [f"machine learning: {text}" for text in TEXTS[:24]]
    _only(monkeypatch, "MIN_AREA_SCORE")
    assert name_by_area([np.arange(0, 8)], week, vocabulary, texts=texts) == [None]
    monkeypatch.setattr(areas, "MIN_AREA_SCORE", -1.0)
    assert name_by_area([np.arange(0, 8)], week, vocabulary, texts=texts) == ["Machine learning"]


def test_two_groups_never_share_an_area_name() -> None:
    vocabulary, week = _world()
    names = name_by_area([np.arange(0, 5), np.arange(3, 8)], week, vocabulary, texts=TEXTS)
    assert names.count("Speech recognition") == 1


def test_a_name_whose_words_the_papers_do_not_use_is_refused() -> None:
    vocabulary, week = _world()
    # The vectors and the word "speech" say speech; no paper says "recognition".
    texts = ["speech and spoken words"] * 8 + TEXTS[8:]
    assert name_by_area([np.arange(0, 8)], week, vocabulary, texts=texts) == [None]
    # Said by three of the eight, the word is enough.
    texts[:3] = ["speech recognition"] * 3
    assert name_by_area([np.arange(0, 8)], week, vocabulary, texts=texts) == [NAMES[0]]


def test_a_name_one_paper_uses_needs_an_area_close_to_the_theme(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vocabulary, week = _world()
    texts = ["speech recognition"] + ["recognition of speech"] * 7 + TEXTS[8:]
    # The speech papers lie close around the area: one paper saying the name is enough...
    assert name_by_area([np.arange(0, 8)], week, vocabulary, texts=texts) == [NAMES[0]]
    # ...but not when "very close" is out of reach: then two must say it.
    monkeypatch.setattr(areas, "CLOSE_AREA_COSINE", 1.01)
    assert name_by_area([np.arange(0, 8)], week, vocabulary, texts=texts) == [None]
    texts[1] = "speech recognition again"
    assert name_by_area([np.arange(0, 8)], week, vocabulary, texts=texts) == [NAMES[0]]


def test_a_paper_fits_a_name_only_with_a_word_that_marks_the_group() -> None:
    vocabulary = Areas(("Graph neural networks",), np.eye(DIM, dtype=np.float32)[:1])
    _, week = _world()
    # Every paper of the week says "network"; only 3 of the 8 near the area say "graph".
    texts = [f"neural network {t}" for t in TEXTS]
    texts[:3] = [f"graph {t}" for t in texts[:3]]
    assert name_by_area([np.arange(0, 8)], week, vocabulary, texts=texts) == [None]
    texts[3:5] = [f"graph {t}" for t in texts[3:5]]  # 5 of the 8
    assert name_by_area([np.arange(0, 8)], week, vocabulary, texts=texts) == [
        "Graph neural networks"
    ]


def test_a_name_few_of_its_papers_write_is_widened_to_its_field() -> None:
    # Issue 17: readers found area names too narrow ("Speech emotion recognition" over speech
    # papers two of which are on emotion). When under half a theme's papers write its area's
    # name and most write the words of the field it is listed under, the field names it.
    world, week = _world()
    fields = {"Speech recognition": "Speech and audio"}
    vocabulary = Areas(world.names, world.vectors, fields)
    texts = ["speech recognition of words"] * 3 + ["spoken speech synthesis"] * 5 + TEXTS[8:]
    group = [np.arange(0, 8)]
    assert name_by_area(group, week, world, texts=texts) == ["Speech recognition"]
    assert name_by_area(group, week, vocabulary, texts=texts) == ["Speech and audio"]
    texts[3] = "speech recognition again"  # half of them write the name: it is not too narrow
    assert name_by_area(group, week, vocabulary, texts=texts) == ["Speech recognition"]


def test_a_field_most_papers_do_not_write_names_nothing() -> None:
    world, week = _world()
    vocabulary = Areas(world.names, world.vectors, {"Speech recognition": "Audio processing"})
    texts = ["speech recognition of words"] * 3 + ["spoken speech synthesis"] * 5 + TEXTS[8:]
    names = name_by_area([np.arange(0, 8)], week, vocabulary, texts=texts)
    assert names == ["Speech recognition"]


def test_fields_are_the_headings_names_are_listed_under() -> None:
    text = (
        "# Broad areas\nMachine learning\n# Speech and audio\nSpeech recognition\n"
        "Voice conversion\n# Machine learning: theory\nPAC learning\n\n# Education\n"
        "Intelligent tutoring\n# Other applications\nSports analytics\n"
    )
    assert parse_area_fields(text) == {
        "Speech recognition": "Speech and audio",
        "Voice conversion": "Speech and audio",
        "Intelligent tutoring": "Education",
    }


def test_area_names_are_read_from_a_file_with_comments() -> None:
    text = (
        "# vision\nComputer vision\n\n  Depth estimation  \n# C# is fine inside a name\nC# tools\n"
    )
    assert parse_area_names(text, source="areas.txt") == (
        "Computer vision",
        "Depth estimation",
        "C# tools",
    )


def test_a_name_given_twice_is_an_error_naming_the_line() -> None:
    with pytest.raises(ValueError, match=r"areas\.txt:3: 'computer vision' repeats line 1"):
        parse_area_names("Computer vision\nRobotics\ncomputer vision\n", source="areas.txt")


def test_the_packaged_vocabulary_loads() -> None:
    names = areas.area_names()
    assert len(names) >= 30
    assert len({n.casefold() for n in names}) == len(names)


def _spanning_world() -> tuple[Areas, np.ndarray]:
    """Eight papers (rows 0–7) between three areas of one field, none close to any one; the
    rest of the week as in `_world`."""
    world, week = _world()
    rng = np.random.default_rng(1)
    basis = np.eye(DIM, dtype=np.float32)
    week = week.copy()
    week[:8] = _near(basis[4] + basis[5] + basis[6], 8, rng, 0.04)
    names = ("Speech recognition", "Storage systems", "Malware detection", "Quantum computing",
             "Medical imaging", "Clinical decision support", "Surgical video analysis",
             *NAMES[7:])  # fmt: skip
    fields = dict.fromkeys(names[4:7], "Medicine and health")
    return Areas(names, world.vectors, fields), week


def test_a_theme_no_area_names_takes_the_field_its_best_areas_share() -> None:
    # Issue 17, round 7: a medical theme of imaging, clinical and surgical papers that no one
    # area fits was named by its phrases ("Foundation and dataset"); a reader names the field.
    vocabulary, week = _spanning_world()
    texts = ["medical scans read by a model", "clinical notes of patients", "surgical robots",
             "medical records", "clinical trials of drugs", "medical devices",
             "surgical planning", "hospital clinical triage", *TEXTS[8:]]  # fmt: skip
    group = [np.arange(0, 8)]
    assert name_by_area(group, week, vocabulary, texts=texts) == ["Medicine and health"]
    # Without fields the vocabulary has no name for it: the theme keeps its phrases.
    plain = Areas(vocabulary.names, vocabulary.vectors)
    assert name_by_area(group, week, plain, texts=texts) == [None]


def test_a_field_its_papers_do_not_bear_out_names_nothing() -> None:
    vocabulary, week = _spanning_world()
    # The vectors point at the medical areas but only 3 of 8 texts write a word of them.
    texts = ["medical scans", "clinical notes", "surgical robots", *TEXTS[8:13], *TEXTS[8:]]
    assert name_by_area([np.arange(0, 8)], week, vocabulary, texts=texts) == [None]
    # Broad words ("machine", "learning", "model") bear out no field.
    texts = ["machine learning model"] * 8 + TEXTS[8:]
    assert name_by_area([np.arange(0, 8)], week, vocabulary, texts=texts) == [None]


def test_every_theme_whose_areas_share_a_field_takes_it() -> None:
    # Which of them is larger must not decide (a topic taking one paper would rename the
    # other): both take the field, and cluster.find_themes shows them as one theme.
    vocabulary, week = _spanning_world()
    rng = np.random.default_rng(2)
    basis = np.eye(DIM, dtype=np.float32)
    week = week.copy()
    week[8:16] = _near(basis[4] + basis[5] + basis[6], 8, rng, 0.04)
    texts = ["medical video study"] * 8 + ["clinical surgical study"] * 8 + TEXTS[16:]
    names = name_by_area([np.arange(0, 8), np.arange(8, 16)], week, vocabulary, texts=texts)
    assert names == ["Medicine and health"] * 2


def _code_fields() -> tuple[Areas, np.ndarray]:
    """The spanning world with three "Code …" areas listed under "Software engineering"."""
    world, week = _spanning_world()
    names = (*world.names[:4], "Code generation", "Code search", "Code review", *NAMES[7:])
    return Areas(names, world.vectors, dict.fromkeys(names[4:7], "Software engineering")), week


def test_one_word_all_its_areas_share_does_not_bear_out_a_field_alone() -> None:
    # Held-out reading, round 7: erasure-code papers lie near "Code generation", "Code search"
    # and "Code review", and all write "code": "Software engineering" misled. The one word the
    # voters share bears the field out only with the field's own words beside it.
    vocabulary, week = _code_fields()
    texts = ["erasure code for storage", "a repair code", "code rate bounds", "codes and locality",
             "regenerating code", "code for distributed storage", "polar code", "the code length",
             *TEXTS[8:]]  # fmt: skip
    assert name_by_area([np.arange(0, 8)], week, vocabulary, texts=texts) == [None]
    texts[:4] = [f"software {t}" for t in texts[:4]]  # a quarter write the field's own words
    assert name_by_area([np.arange(0, 8)], week, vocabulary, texts=texts) == [
        "Software engineering"
    ]


def test_a_second_word_few_papers_write_does_not_bear_out_a_field() -> None:
    # Held-out reading, round 13: 14 coding-theory papers near "Code search" all wrote "code"
    # and two wrote "search": two marking words passed, and "Software engineering" named them.
    # A word bears the field out beside the shared one only when as many papers write it as
    # the field's own words would need (a quarter); here one of eight does.
    vocabulary, week = _code_fields()
    texts = ["search over erasure codes", "a repair code", "code rate bounds", "codes and locality",
             "regenerating code", "code for distributed storage", "polar code", "the code length",
             *TEXTS[8:]]  # fmt: skip
    assert name_by_area([np.arange(0, 8)], week, vocabulary, texts=texts) == [None]
    texts[1] = "search for a repair code"  # a quarter write "search"
    assert name_by_area([np.arange(0, 8)], week, vocabulary, texts=texts) == [
        "Software engineering"
    ]


def test_broad_areas_are_the_names_under_the_broad_areas_heading() -> None:
    text = (
        "# Research areas\n#\n# Broad areas\nMachine learning\nComputer vision\n\n"
        "# Speech and audio\nSpeech recognition\n# Machine learning: theory\nPAC learning\n"
    )
    assert parse_broad_areas(text) == {"Machine learning", "Computer vision"}
    assert {"Computer vision", "Algorithms and data structures"} <= areas.broad_areas()
    assert "Speech recognition" not in areas.broad_areas()


def _broadly(
    vocabulary: Areas, week: np.ndarray, texts: list[str], names: list[str], titles: list[str],
    *, weak: bool = True,
) -> list[str | None]:  # fmt: skip
    scores = areas.WeekScores(week, vocabulary, texts)
    return areas.name_broadly([np.arange(8, 16)], names, [weak], titles, vocabulary, scores)


def test_a_phrase_name_its_titles_do_not_write_gives_way_to_its_broad_area() -> None:
    # Round 10: themes no area named kept phrase names their titles seldom write ("Tight" over
    # four graph-algorithm papers, "Pilot and technology" over AI policy papers), which readers
    # called poor; the broad area their papers lie towards names them instead.
    world, week = _world()
    vocabulary = Areas(world.names, world.vectors, broad=frozenset({"Storage systems"}))
    texts = list(TEXTS)
    titles = [f"Paper {k} on caching" for k in range(len(TEXTS))]  # the week's, row for row
    names = ["Overhead and read"]
    assert _broadly(vocabulary, week, texts, names, titles) == ["Storage systems"]
    # ...not when most titles write the phrase name, nor for a name that is an area's already,
    written = titles[:8] + ["Read overhead"] * 5 + titles[13:]
    assert _broadly(vocabulary, week, texts, names, written) == [None]
    assert _broadly(vocabulary, week, texts, names, titles, weak=False) == [None]
    # ...nor by an area no broad one, nor by one whose words the papers do not write.
    assert _broadly(world, week, texts, names, titles) == [None]
    unwritten = ["caching for disks"] * 8
    assert _broadly(vocabulary, week, TEXTS[:8] + unwritten + TEXTS[16:], names, titles) == [None]
    # Another theme named so keeps the name.
    assert _broadly(vocabulary, week, texts, ["Storage systems"], titles) == [None]


def test_a_theme_that_is_a_whole_field_of_the_week_takes_the_fields_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Round 10: in a week of 807 June 2025 papers the largest themes were 144 computer-vision
    # papers named "3D scene understanding" and 130 LLM papers named "Reasoning and
    # reinforcement learning", which readers called poor: a theme that large is a field of the
    # week, named by the broad area its papers lie towards, even one of whole-field words.
    world, week = _world()
    names = ("Speech recognition", "Machine learning", *world.names[2:])
    vocabulary = Areas(names, world.vectors, broad=frozenset({"Machine learning"}))
    titles = [f"Paper {k} on devices" for k in range(len(TEXTS))]
    scores = areas.WeekScores(week, vocabulary, list(TEXTS))
    group = [np.arange(8, 16)]

    def named(current: str, *, weak: bool) -> list[str | None]:
        return areas.name_broadly(group, [current], [weak], titles, vocabulary, scores)

    # 8 papers are no field of the week, and a small theme never takes "Machine learning"...
    assert named("Overhead and read", weak=True) == [None]
    assert named("Disk caching", weak=False) == [None]
    monkeypatch.setattr(areas, "LARGE_THEME_PAPERS", 8)
    # ...but a theme that large does, whether its name is a phrase or an area's,
    assert named("Overhead and read", weak=True) == ["Machine learning"]
    assert named("Disk caching", weak=False) == ["Machine learning"]
    # unless its titles write its name, or it has a broad area's name already.
    written = titles[:8] + ["Disk caching at scale"] * 5 + titles[13:]
    assert areas.name_broadly(group, ["Disk caching"], [False], written, vocabulary, scores) == [
        None
    ]
    assert named("Machine learning", weak=False) == [None]


def test_a_texts_words_are_the_patterns_tokens_however_its_hyphens_sit() -> None:
    import itertools
    import random

    texts = [
        "LSTM- and GRU-based models", "x--y", "a-", "-a", "-", "--", "3-D", "state-of-the-art",
        "(-1)", "A - B", "e-\tx", "a\x1c-b", "naïve-Bayes", "", "Über-Net -based",
    ]  # fmt: skip
    rng = random.Random(5)
    texts += ["".join(rng.choice("aZ9-- .é\t") for _ in range(12)) for _ in range(2000)]
    for text in itertools.chain(texts, (t.upper() for t in texts)):
        assert areas._tokens(text) == areas._TOKEN.findall(text.lower()), text


def _graph_week(n_graph: int) -> tuple[list[np.ndarray], np.ndarray, Areas, list[str]]:
    """`n_graph` graph-theory papers near the "Graph algorithms" area, 12 speech papers near
    "Speech recognition", each group as the themes would hold it."""
    rng = np.random.default_rng(4)
    basis = np.eye(16, dtype=np.float32)
    x = np.vstack([_near(basis[0], n_graph, rng, 0.08), _near(basis[1], 12, rng, 0.08)])
    texts = [f"Graph algorithms for colouring the vertices, case {k}." for k in range(n_graph)]
    texts += [f"Speech recognition of spoken words, case {k}." for k in range(12)]
    vocabulary = Areas(("Graph algorithms", "Speech recognition"), basis[:2])
    groups = [np.arange(n_graph), np.arange(n_graph, n_graph + 12)]
    return groups, x.astype(np.float32), vocabulary, texts


def test_a_theme_its_phrases_name_takes_the_nearest_area_from_ten_papers() -> None:
    # Issue 17: keyword pairs ("Graph and vertex" over 28 graph-theory papers) read poor; the
    # area nearest such a theme was preferred by blind readers on every theme of nine papers
    # or more, and misled on a third of smaller ones ("Link prediction" over eight papers of
    # citation analysis), so a theme of fewer keeps its phrases.
    groups, x, vocabulary, texts = _graph_week(areas.NEAREST_AREA_PAPERS)
    labels = ["Graph and vertex", "Speech recognition"]
    fixed = {"Speech recognition"}
    named = areas.name_by_nearest(groups, labels, x, vocabulary, texts, fixed=fixed)
    assert named == ["Graph algorithms", "Speech recognition"]
    groups, x, vocabulary, texts = _graph_week(areas.NEAREST_AREA_PAPERS - 1)
    named = areas.name_by_nearest(groups, labels, x, vocabulary, texts, fixed=fixed)
    assert named == labels


def test_the_nearest_area_needs_its_words_in_the_papers_and_a_free_name() -> None:
    groups, x, vocabulary, texts = _graph_week(12)
    labels = ["Graph and vertex", "Speech recognition"]
    # No paper writes "algorithms": the area's name is not borne out by the texts.
    plain = [t.replace("algorithms", "methods") for t in texts]
    named = areas.name_by_nearest(groups, labels, x, vocabulary, plain, fixed=set())
    assert named[0] == "Graph and vertex"
    # Another theme of the week already bears the name (the speech theme, named so here).
    taken = ["Graph and vertex", "Graph algorithms"]
    named = areas.name_by_nearest(groups, taken, x, vocabulary, texts, fixed=set())
    assert named[0] == "Graph and vertex"
