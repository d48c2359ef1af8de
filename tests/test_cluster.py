"""cluster.py: themes from leftovers; deterministic, order-independent, safe on tiny inputs."""

from __future__ import annotations

import ast
import subprocess
import sys

import numpy as np
import pytest
from conftest import FakeEmbedder

from pipeline.topics import cluster
from pipeline.topics.cluster import MIN_COHESION, cohesion, find_themes
from pipeline.topics.labels import describes, label_groups, name_groups
from pipeline.topics.phrases import generic_words, phrases

GROUPS = {
    "graph": "graph neural network message passing node classification graph",
    "speech": "speech recognition audio acoustic speaker speech",
    "proteins": "protein folding structure prediction amino acid protein",
}


def _corpus(n_per_group: int = 6) -> tuple[list[str], list[str], list[str]]:
    ids, texts, truth = [], [], []
    for g, (name, words) in enumerate(GROUPS.items()):
        for i in range(n_per_group):
            ids.append(f"arxiv:{g}{i:03d}")
            texts.append(f"{words} variant{i} study{i % 2}")
            truth.append(name)
    return ids, texts, truth


def _run(ids: list[str], texts: list[str]) -> tuple[list, list[str]]:
    vectors = FakeEmbedder().embed(texts)
    return find_themes(ids, vectors, texts, seed=0, min_theme_size=3, max_themes=8)


def test_find_themes_recovers_separated_groups() -> None:
    ids, texts, truth = _corpus()
    themes, other = _run(ids, texts)
    by_id = dict(zip(ids, truth, strict=True))
    assert len(themes) == 3
    for theme in themes:
        assert len({by_id[p] for p in theme.paper_ids}) == 1
    assert other == []


def test_find_themes_is_independent_of_input_order() -> None:
    ids, texts, _ = _corpus()
    first = _run(ids, texts)
    perm = np.random.default_rng(1).permutation(len(ids))
    second = _run([ids[i] for i in perm], [texts[i] for i in perm])
    assert first == second


def test_find_themes_labels_with_distinctive_phrases() -> None:
    ids, texts, _truth = _corpus()
    themes, _ = _run(ids, texts)
    labels = {t.label for t in themes}
    assert any("speech" in label for label in labels)
    assert any("protein" in label for label in labels)
    for theme in themes:
        assert 1 <= len(theme.terms) <= 4
        assert theme.representative in theme.paper_ids


def test_find_themes_on_tiny_input_returns_everything_as_other() -> None:
    ids, texts, _ = _corpus()
    themes, other = _run(ids[:2], texts[:2])
    assert themes == [] and other == sorted(ids[:2])
    assert _run([], []) == ([], [])


def test_label_groups_skips_terms_seen_in_only_one_paper() -> None:
    labels = label_groups([["alpha beta", "alpha gamma"], ["delta", "delta"]], n_terms=3)
    assert labels[0] == ["alpha"]
    assert labels[1] == ["delta"]


def test_phrases_never_span_stop_words_urls_or_acronyms_and_fold_plurals() -> None:
    found = phrases(
        "Agents and policies (RL) for robotics: see https://x.org/a-b. Strategies $O(n)$ win."
        " Code: github.com/lab/repo."
    )
    assert "agent" in found and "policy" in found and "robotics" in found
    assert "strategy" in found and "win" in found
    assert not any(" " in p and {"agent", "policy"} <= set(p.split()) for p in found)
    assert not any("rl" in p.split() or "https" in p or "org" in p for p in found)
    assert not any("github" in p or "repo" in p for p in found)


def test_label_groups_prefers_the_phrase_over_its_generic_word() -> None:
    rl = [f"Reinforcement learning for control task {i}. We train a policy." for i in range(5)]
    other = [f"Speech recognition with learning of acoustic units {i}." for i in range(5)]
    labels = label_groups([rl, other], n_terms=2)
    assert labels[0][0] == "reinforcement learning"  # not "learning", not "reinforcement"
    assert labels[1][0] in {"speech recognition", "acoustic unit"}


def test_label_groups_contrasts_with_the_background() -> None:
    group = [f"Protein folding with transformer encoders, run {i}." for i in range(4)]
    week = [f"Transformer encoder for translation, take {i}." for i in range(40)]
    assert "transformer encoder" in label_groups([group], n_terms=4)[0]
    with_week = label_groups([group], n_terms=4, background=week)[0]
    assert with_week[0] == "protein folding" and "transformer encoder" not in with_week


def test_label_groups_never_labels_with_generic_words_alone() -> None:
    generic = sorted(generic_words())[:3]
    docs = [f"{' '.join(generic)} graph coloring {i}" for i in range(4)]
    labels = label_groups([docs, ["speech audio", "speech audio"]], n_terms=4)
    assert labels[0] and all(not set(t.split()) <= generic_words() for t in labels[0])


def test_match_themes_pairs_close_centroids_one_to_one() -> None:
    from pipeline.topics.continuity import match_themes

    new = {"a": np.array([1.0, 0.0]), "b": np.array([0.99, 0.14]), "c": np.array([0.0, 1.0])}
    old = {"old-x": np.array([1.0, 0.0]), "old-y": np.array([-1.0, 0.0])}
    assert match_themes(new, old, min_similarity=0.85) == {"a": "old-x"}
    assert match_themes(new, {}, min_similarity=0.85) == {}


def test_match_themes_leaves_a_refused_pair_free_for_the_next_closest() -> None:
    from pipeline.topics.continuity import match_themes

    new = {"a": np.array([1.0, 0.0]), "b": np.array([0.99, 0.14])}
    old = {"old-x": np.array([1.0, 0.0])}
    refuse_a = lambda new_id, old_id: new_id != "a"  # noqa: E731
    assert match_themes(new, old, min_similarity=0.85, accept=refuse_a) == {"b": "old-x"}


def test_find_themes_chooses_the_number_of_themes_from_the_data() -> None:
    ids, texts, _ = _corpus(n_per_group=8)
    vectors = FakeEmbedder().embed(texts)
    themes, _ = find_themes(ids, vectors, texts, seed=0, min_theme_size=3, max_themes=8)
    assert len(themes) == 3  # not max_themes, not 2


def test_find_themes_folds_a_stray_paper_into_the_nearest_theme() -> None:
    ids, texts, _ = _corpus(n_per_group=8)
    ids.append("arxiv:9000")
    texts.append("speech recognition audio acoustic speaker speech graph")
    vectors = FakeEmbedder().embed(texts)
    themes, other = find_themes(ids, vectors, texts, seed=0, min_theme_size=3, max_themes=8)
    assert other == []
    assert any("arxiv:9000" in t.paper_ids for t in themes)


def test_find_themes_on_a_large_week_chooses_k_on_a_sample_and_labels_central_papers() -> None:
    # Over SELECTION_SAMPLE papers: k is chosen on a sample, then one fit labels everyone.
    rng = np.random.default_rng(0)
    centres = np.eye(3, 16, dtype=np.float32)
    words = list(GROUPS.values())
    truth = rng.integers(0, 3, size=1500)
    x = centres[truth] + rng.normal(scale=0.05, size=(1500, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = [f"arxiv:{i:05d}" for i in range(1500)]
    texts = [f"{words[g]} run{i}" for i, g in enumerate(truth)]
    themes, other = find_themes(ids, x, texts, seed=0, min_theme_size=3, max_themes=8)
    assert other == []
    by_id = dict(zip(ids, truth.tolist(), strict=True))
    # Each theme is pure, and every true group is found (a big week has at least MIN_K themes,
    # so one group may be split in two).
    for theme in themes:
        assert len({by_id[p] for p in theme.paper_ids}) == 1
    assert {by_id[t.paper_ids[0]] for t in themes} == {0, 1, 2}
    assert 3 <= len(themes) <= 4
    vocabulary = set(" ".join(words).split())
    assert all(set(t.terms[0].split()) <= vocabulary for t in themes)  # labels: the group's words
    assert (themes, other) == find_themes(
        ids[::-1], x[::-1], texts[::-1], seed=0, min_theme_size=3, max_themes=8
    )


def test_find_themes_gives_alike_labelled_themes_distinct_ids() -> None:
    # Two well-separated groups of papers that use the same words get the same label terms;
    # their ids must still differ (the digest, and the week's stored sections, key on them).
    rng = np.random.default_rng(3)
    centres = np.eye(2, 8, dtype=np.float32)
    truth = np.repeat([0, 1], 6)
    x = centres[truth] + rng.normal(scale=0.01, size=(12, 8)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = [f"arxiv:{i:03d}" for i in range(12)]
    texts = ["graph neural network message passing"] * 12
    week = ["protein folding structure"] * 20  # the rest of the week: the phrases are distinctive
    themes, _ = find_themes(ids, x, texts, seed=0, min_theme_size=3, max_themes=4, background=week)
    assert len(themes) >= 2
    assert len({t.theme_id for t in themes}) == len(themes)


def test_find_themes_links_with_one_blas_thread_and_never_imports_scikit_learn() -> None:
    # threadpoolctl limits only libraries already loaded: SciPy's OpenBLAS used to load inside
    # the limit and kept every core (issue 17: 20 s vs 4 s cold). scikit-learn was imported to
    # load its OpenMP first, for a clustering that no longer uses it: 1.0-1.5 s of every
    # `digest build` process (round 21); a build needs only the BLAS limited.
    script = """
import sys
import numpy as np
import scipy.cluster.hierarchy as hierarchy
from threadpoolctl import threadpool_info
from pipeline.topics import cluster
seen = []
real = hierarchy.linkage
def record(*args, **kwargs):
    seen.extend(threadpool_info())
    return real(*args, **kwargs)
hierarchy.linkage = record
x = np.repeat(np.eye(2, 8, dtype=np.float32), 4, axis=0)
texts = ["graph neural network message passing"] * 4 + ["protein folding structure"] * 4
cluster.find_themes([f"p{i}" for i in range(8)], x, texts, seed=0, min_theme_size=2,
                    max_themes=4)
print(sorted({(d["internal_api"], d["user_api"], d["num_threads"]) for d in seen}))
print(sorted(name for name in sys.modules if name.split(".")[0] == "sklearn"))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300
    )
    *_, pools_line, sklearn_line = done.stdout.strip().splitlines()
    pools = ast.literal_eval(pools_line)
    assert any(api == "blas" for _, api, _ in pools), pools  # the linkage ran, BLAS loaded
    assert all(n_threads == 1 for _, api, n_threads in pools if api == "blas"), pools
    assert ast.literal_eval(sklearn_line) == []


def test_cohesion_is_the_mean_cosine_between_distinct_papers() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(7, 5))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    pairs = [float(x[i] @ x[j]) for i in range(7) for j in range(7) if i != j]
    assert cohesion(x) == pytest.approx(np.mean(pairs))
    assert cohesion(x[:1]) == 1.0


def _blobs(n_groups: int, n_per_group: int, *, scale: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.eye(n_groups, 32, dtype=np.float32)
    x = np.repeat(centres, n_per_group, axis=0)
    x += rng.normal(scale=scale, size=x.shape).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _themes_of(
    x: np.ndarray,
    ids: list[str],
    texts: list[str],
    rows: list[int],
    *,
    taken: list[int] | None = None,
) -> tuple[list, list[str]]:
    """find_themes (seed 0, themes of 3+, at most 8) on the papers at `rows`; those at `taken`
    are the papers a topic took (the week's other papers, passed with their ids)."""
    context: dict[str, object] = {}
    if taken:
        context = {
            "background": [texts[i] for i in taken],
            "background_vectors": x[taken],
            "background_ids": [ids[i] for i in taken],
        }
    return find_themes(
        [ids[i] for i in rows],
        x[rows],
        [texts[i] for i in rows],
        seed=0,
        min_theme_size=3,
        max_themes=8,
        **context,
    )


def test_find_themes_shows_each_area_as_its_own_theme_up_to_max_themes() -> None:
    # Six separated areas: six one-area themes (the old KMeans, given k <= 2, mixed three areas
    # per theme). With room for four, all six are still themes (the digest lists the two
    # smallest under "More themes"): a coherent area is never sent to "Other" for the count.
    x = _blobs(6, 8, scale=0.15)  # cosine ~0.6 within an area
    truth = np.repeat(np.arange(6), 8)
    x, truth = x[:-2], truth[:-2]  # area 5 is the smallest
    ids = [f"arxiv:{i:03d}" for i in range(len(x))]
    texts = [f"area{g} topic{g} words{g}" for g in truth]
    by_id = dict(zip(ids, truth.tolist(), strict=True))
    for max_themes in (8, 4):
        themes, other = find_themes(ids, x, texts, seed=0, min_theme_size=3, max_themes=max_themes)
        assert sorted(len({by_id[p] for p in t.paper_ids}) for t in themes) == [1] * 6
        assert other == []
        sizes = [len(t.paper_ids) for t in themes]
        assert sizes == sorted(sizes, reverse=True)
    assert all(cohesion(x[[ids.index(p) for p in t.paper_ids]]) >= MIN_COHESION for t in themes)


def test_find_themes_over_the_linkage_sample_joins_the_rest_to_the_nearest_theme(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cluster, "LINKAGE_SAMPLE", 30)
    x = _blobs(3, 20, scale=0.15)
    truth = np.repeat(np.arange(3), 20)
    ids = [f"arxiv:{i:03d}" for i in range(len(x))]
    texts = [f"area{g} topic{g}" for g in truth]
    themes, other = find_themes(ids, x, texts, seed=0, min_theme_size=3, max_themes=8)
    by_id = dict(zip(ids, truth.tolist(), strict=True))
    assert sorted(len(t.paper_ids) for t in themes) == [20, 20, 20] and other == []
    assert all(len({by_id[p] for p in t.paper_ids}) == 1 for t in themes)
    # The sample is drawn by hashing ids: dropping papers outside it changes no other paper.
    sampled = _sampled(x, ids)
    assert len(sampled) == 30
    fewer = [i for i, p in enumerate(ids) if p in sampled or i % 2 == 0]
    again, _ = _themes_of(x, ids, texts, fewer)
    assert {frozenset(t.paper_ids) & sampled for t in again} == {
        frozenset(t.paper_ids) & sampled for t in themes
    }


def _sampled(x: np.ndarray, ids: list[str]) -> set[str]:
    rows, _, _ = cluster._linkage_groups(x, ids, seed=0)
    return {ids[int(i)] for g in rows for i in g}


def test_find_themes_sends_papers_that_cohere_with_nothing_to_other() -> None:
    # Two tight areas and a scatter of unrelated papers: the scatter is "Other", not a theme.
    tight = _blobs(2, 10, scale=0.05)
    scatter = np.eye(12, 32, k=20, dtype=np.float32)  # orthogonal to the areas and each other
    x = np.vstack([tight, scatter])
    ids = [f"arxiv:{i:03d}" for i in range(len(x))]
    texts = ["speech audio"] * 10 + ["graph network"] * 10 + [f"stray{i}" for i in range(12)]
    themes, other = find_themes(ids, x, texts, seed=0, min_theme_size=3, max_themes=4)
    assert sorted(len(t.paper_ids) for t in themes) == [10, 10]
    assert other == ids[20:]


def test_name_groups_joins_two_phrases_and_keeps_acronyms_in_their_case() -> None:
    llm = [f"LLMs are open to jailbreak prompts; case {i} of an LLM." for i in range(6)]
    speech = [f"Speech synthesis of music audio sample{i}." for i in range(6)]
    names = name_groups([llm, speech])
    # "LLM" fits too, but a field's name adds nothing to a lead that fits alone (issue 17);
    # its case is kept where it leads (tests/test_labels.py).
    assert names[0].name == "Jailbreak prompt"
    assert names[0].fit == 1.0
    assert names[1].name.startswith(("Speech", "Music"))
    assert " and " in names[1].name


def test_name_groups_names_only_what_fits_most_of_the_group() -> None:
    # Each distinctive phrase is in a quarter of the papers: no name fits most of them.
    mixed = [
        f"{word} case{i}"
        for word in ("tabla drums", "glacier melt", "bond yields", "moth wings")
        for i in range(4)
    ]
    name = name_groups([mixed])[0]
    assert name.name == ""
    assert name.fit < 0.5
    # One phrase in most papers leads; a phrase in a sixth of them is not joined to it.
    fitting = [f"Glacier melt rates {i}" for i in range(10)] + ["tabla drums"] * 2
    name = name_groups([fitting])[0]
    assert name.name.startswith("Glacier melt")
    assert "tabla" not in name.name.lower()
    assert name.fit >= 0.5


def test_describes_reads_a_name_joined_with_and() -> None:
    texts = ["speech recognition systems", "music generation models", "graph networks"]
    assert describes(["Speech recognition and music generation"], texts) == pytest.approx(2 / 3)


def test_theme_of_papers_maps_every_clustered_paper_and_adding_a_topic_moves_only_its_papers() -> (
    None
):
    # Four areas; a new topic takes one area's papers. Every other paper keeps its theme.
    x = _blobs(4, 8, scale=0.15)
    truth = np.repeat(np.arange(4), 8)
    ids = [f"arxiv:{i:03d}" for i in range(len(x))]
    texts = [f"area{g} topic{g} words{g}" for g in truth]
    before = cluster.theme_of_papers(
        *find_themes(ids, x, texts, seed=0, min_theme_size=3, max_themes=8)
    )
    assert set(before) == set(ids)
    rest = [i for i in range(len(ids)) if truth[i] != 2]
    after = cluster.theme_of_papers(*_themes_of(x, ids, texts, rest))
    assert {pid: before[pid] for pid in after} == after


def test_name_groups_keeps_title_case_hyphenated_words_in_lower_case() -> None:
    # Titles write "Retrieval-Augmented Generation"; the name must not copy that case, but an
    # acronym written with a hyphen ("O-RAN") keeps its own.
    group = [f"Retrieval-Augmented Generation for O-RAN, case {i}" for i in range(6)]
    assert name_groups([group])[0].name == "Retrieval-augmented generation and O-RAN"
    wifi = [f"Indoor Localization with Wi-Fi, case {i}" for i in range(6)]
    assert name_groups([wifi])[0].name == "Indoor localization and Wi-Fi"


def test_name_groups_joins_a_second_phrase_only_when_a_title_names_it() -> None:
    # "find gap" is as distinctive as "GPU" in the abstracts, but no title says it: it is
    # prose, and the second phrase is the next one a title names.
    texts = [
        f"Code generation for GPUs, study {i}. Our manual analysis finds gaps." for i in range(6)
    ]
    titles = [f"Code generation for GPUs, study {i}" for i in range(6)]
    assert name_groups([texts])[0].name == "Code generation and find gap"
    assert name_groups([texts], titles=[titles])[0].name == "Code generation and GPU"


def test_name_groups_keeps_a_lower_case_first_letter_and_series() -> None:
    texts = [f"fMRI time series of subject {i}" for i in range(6)]
    name = name_groups([texts])[0].name
    assert name.startswith("fMRI")
    assert "series" in name


def test_groups_named_alike_are_shown_as_one_theme() -> None:
    # Issue 17, round 7: three small groups that one field names (areas._by_field) read as one
    # theme of that field, not as three headings; the largest group's key phrases stay.
    from pipeline.topics.cluster import _merge_alike
    from pipeline.topics.labels import GroupName

    groups = [np.array([0, 1]), np.array([2, 3, 4]), np.array([5, 6]), np.array([7])]
    names = [
        GroupName("Natural language processing", ("phishing",), 0.5),
        GroupName("Natural language processing", ("gender",), 0.5),
        GroupName("Robotics", ("grasp",), 0.5),
        GroupName("natural language processing", ("corpus",), 0.5),
    ]
    merged, kept = _merge_alike(groups, names)
    assert [g.tolist() for g in merged] == [[0, 1, 2, 3, 4, 7], [5, 6]]
    assert [n.terms for n in kept] == [("gender",), ("grasp",)]


def test_papers_no_theme_holds_become_a_theme_only_under_a_research_area() -> None:
    # Issue 17, round 8: five storage papers too loosely related for the linkage (mean cosine
    # about 0.36 < 0.40) were all "Other"; grouped again more loosely they are a theme when an
    # area names them, and five equally loose papers no area names stay "Other".
    from pipeline.topics.areas import Areas

    rng = np.random.default_rng(3)
    dim = 512
    basis = np.eye(dim, dtype=np.float32)
    names = ("Speech recognition", "Storage systems", *(f"Area {k}" for k in range(2, 60)))
    vocabulary = Areas(names, basis[:60])

    def loose(axis: int, n: int) -> np.ndarray:
        noise = rng.standard_normal((n, dim)) * (np.arange(dim) >= 100)
        noise /= np.linalg.norm(noise, axis=1, keepdims=True)
        return 0.6 * basis[axis] + 0.8 * noise

    tight = basis[0] + 0.05 * rng.standard_normal((8, dim))
    x = np.vstack([tight, loose(1, 5), loose(90, 5)]).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = [f"arxiv:{i:03d}" for i in range(len(x))]
    texts = (
        [f"speech recognition of spoken words {i}" for i in range(8)]
        + [f"storage systems for disks and flash {i}" for i in range(5)]
        + [f"a subject of its own number {i}" for i in range(5)]
    )
    assert all(0.3 <= cohesion(x[a:b]) < 0.4 for a, b in ((8, 13), (13, 18)))
    _, plain_other = find_themes(ids, x, texts, seed=0, min_theme_size=3, max_themes=4)
    assert sorted(plain_other) == ids[8:]
    themes, other = find_themes(
        ids, x, texts, seed=0, min_theme_size=3, max_themes=4, areas=vocabulary
    )
    assert {t.label: sorted(t.paper_ids) for t in themes} == {
        "Speech recognition": ids[:8],
        "Storage systems": ids[8:13],
    }
    assert other == ids[13:]


def test_a_theme_of_one_field_keeps_its_id_when_a_topic_shrinks_its_largest_group() -> None:
    # Issue 17, round 9 (found from outside): groups one field names are shown as one theme
    # whose key phrases are its largest group's; its id came from them, so a `digest mark`
    # that let a topic take papers of that group changed the theme's id while its name and
    # most of its papers stayed, and `topics --compare` counted every paper as moved.
    from pipeline.topics.cluster import _merge_alike, _themes
    from pipeline.topics.labels import GroupName

    rng = np.random.default_rng(5)
    x = rng.normal(size=(8, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = [f"2506.{k:05d}" for k in range(8)]
    docs = [f"paper {k} on phishing and gender in text corpora" for k in range(8)]

    def theme_id(groups: list[np.ndarray]) -> str:
        names = [
            GroupName("Natural language processing", ("phishing",), 0.5, area=True),
            GroupName("Natural language processing", ("gender",), 0.5, area=True),
        ]
        themes = _themes(x, ids, *_merge_alike(groups, names), docs)
        assert [t.label for t in themes] == ["Natural language processing"]
        return themes[0].theme_id

    before = theme_id([np.array([0, 1, 2, 3, 4]), np.array([5, 6, 7])])
    after = theme_id([np.array([0, 1]), np.array([5, 6, 7])])  # a topic took 2, 3, 4
    assert before == after


def test_a_theme_whose_titles_do_not_write_its_phrase_name_takes_its_broad_area() -> None:
    # Issue 17, round 10: a theme no area named by the usual rules kept a phrase name that its
    # titles do not write; a reader calls it poor. The broad area its papers lie towards names
    # it when its papers write that area's marking word ("storage").
    from pipeline.topics.areas import Areas

    rng = np.random.default_rng(4)
    dim = 512
    basis = np.eye(dim, dtype=np.float32)
    names = ("Speech recognition", "Storage systems", *(f"Area {k}" for k in range(2, 60)))
    # ...among a week of 56 papers: "storage" marks the theme only when the week seldom says it.
    spread = rng.standard_normal((40, dim)) * (np.arange(dim) >= 100)
    x = np.vstack(
        [
            basis[0] + 0.05 * rng.standard_normal((8, dim)),
            basis[1] + 0.05 * rng.standard_normal((8, dim)),
            spread,
        ]
    ).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = [f"arxiv:{i:03d}" for i in range(len(x))]
    texts = (
        [f"speech recognition of spoken words {i}" for i in range(8)]
        + [f"caching layers for flash storage and their wear {i}" for i in range(8)]
        + [f"a subject of its own number {i}" for i in range(40)]
    )
    titles = (
        [f"Recognising speech, part {i}" for i in range(8)]
        + [f"A note on devices, part {i}" for i in range(8)]
        + [f"Subject {i}" for i in range(40)]
    )

    def labels(vocabulary: Areas) -> dict[str, list[str]]:
        themes, _ = find_themes(
            ids, x, texts, seed=0, min_theme_size=3, max_themes=4, areas=vocabulary, titles=titles
        )
        return {t.label: sorted(t.paper_ids) for t in themes}

    before = labels(Areas(names, basis[:60]))
    assert before["Speech recognition"] == ids[:8] and "Storage systems" not in before
    after = labels(Areas(names, basis[:60], broad=frozenset({"Storage systems"})))
    assert after == {"Speech recognition": ids[:8], "Storage systems": ids[8:16]}


def _subfields(sizes: tuple[int, ...], *, seed: int = 0) -> np.ndarray:
    """Papers of one field in sub-fields of `sizes`: mean cosine about 0.45 across sub-fields
    (one group at MIN_LINK_SIMILARITY 0.40) and 0.65 within one (apart at 0.50)."""
    rng = np.random.default_rng(seed)
    dim = 256
    rows = []
    for k, n in enumerate(sizes):
        centre = np.zeros(dim)
        centre[0], centre[1 + k] = np.sqrt(0.45), np.sqrt(0.20)
        rows.append(centre + rng.normal(scale=np.sqrt(0.35 / dim), size=(n, dim)))
    x = np.vstack(rows).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _linked(x: np.ndarray) -> list[set[int]]:
    groups, _, _ = cluster._linkage_groups(x, [f"arxiv:{i:04d}" for i in range(len(x))], seed=0)
    return [set(g.tolist()) for g in groups]


def test_a_group_too_large_to_read_is_cut_into_its_sub_fields() -> None:
    # Two sub-fields of 30 papers: one linkage group of 60 > MAX_GROUP_PAPERS at 0.40, so it is
    # cut tighter, into the sub-fields. Of 20 each, the 40 stay one group.
    assert cluster.MAX_GROUP_PAPERS == 50
    assert _linked(_subfields((30, 30))) == [set(range(30)), set(range(30, 60))]
    assert _linked(_subfields((20, 20))) == [set(range(40))]


def test_a_large_group_is_cut_by_its_size_in_the_whole_week_whatever_the_topics_take() -> None:
    # Sub-fields of 30: a topic takes 20 papers of the first. The group is still cut, because
    # its size counts the taken papers too, so the papers left keep their sub-field's theme.
    x = _subfields((30, 30))
    ids = [f"arxiv:{i:04d}" for i in range(len(x))]
    texts = [f"field{int(i >= 30)} subject{int(i >= 30)} method{int(i >= 30)}" for i in range(60)]
    before = cluster.theme_of_papers(
        *find_themes(ids, x, texts, seed=0, min_theme_size=3, max_themes=8)
    )
    assert len(set(before.values()) - {"other"}) == 2
    taken = list(range(20))
    after = cluster.theme_of_papers(*_themes_of(x, ids, texts, list(range(20, 60)), taken=taken))
    same = {pid: before[pid] for pid in after}
    assert {pid: after[pid] for pid in after} == same


def test_a_large_group_with_no_sub_fields_is_not_cut_into_fragments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One blob of 150 papers, mean cosine about 0.45 and no sub-structure: cutting it tighter
    # only peels fragments off a core, then shatters it (each fragment named for nothing). It
    # stays one group; a cut that took any two parts would have cut it.
    rng = np.random.default_rng(3)
    dim = 384
    centre = rng.normal(size=dim)
    x = centre / np.linalg.norm(centre) + rng.normal(scale=1.1 / np.sqrt(dim), size=(150, dim))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    assert cohesion(x) >= MIN_COHESION
    whole = _linked(x)
    assert max(len(g) for g in whole) == 150
    monkeypatch.setattr(cluster, "SUBFIELD_PAPERS", 1)
    assert max(len(g) for g in _linked(x)) < 150


def _dense_week(n_fields: int) -> tuple[list[str], np.ndarray, list[str]]:
    """A dense week: every paper shares one direction with the week (0.30), one with its field's
    other subject (0.45 in all) and one with its own subject (0.62 in all); 10 papers a subject,
    two subjects a field. Each subject has its own words."""
    syllables = ["ba", "ko", "ri", "mu", "te", "lo", "shi", "dan"]
    ids, texts, rows = [], [], []
    n_subjects, per = 2 * n_fields, 10
    dims = 1 + n_fields + n_subjects + n_subjects * per
    for s in range(n_subjects):
        word = "".join(syllables[(s // 8**k) % 8] for k in range(3)) + "ation"
        for i in range(per):
            row = np.zeros(dims)
            row[0] = np.sqrt(0.30)
            row[1 + s // 2] = np.sqrt(0.15)
            row[1 + n_fields + s] = np.sqrt(0.17)
            row[1 + n_fields + n_subjects + s * per + i] = np.sqrt(0.38)
            ids.append(f"arxiv:{s:03d}{i:02d}")
            texts.append(f"Learning {word} models: a study of {word} for {word} tasks, case {i}.")
            rows.append(row)
    return ids, np.asarray(rows, dtype=np.float32), texts


def _subjects(themes: list) -> list[set[str]]:
    return [{pid[6:9] for pid in t.paper_ids} for t in themes]


def test_a_dense_week_is_grouped_by_subject_not_by_field() -> None:
    n_fields = cluster.FULL_DENSE_PAPERS // 20  # a week of the size from which it is grouped so
    ids, vectors, texts = _dense_week(n_fields)
    themes, _ = find_themes(ids, vectors, texts, seed=0, min_theme_size=3, max_themes=8)
    assert len(themes) >= 1.5 * n_fields  # at a fixed 0.40 its themes were its fields
    assert all(len(subjects) == 1 for subjects in _subjects(themes))


def test_a_dense_week_under_the_size_keeps_its_fields_together() -> None:
    n_fields = cluster.MIN_DENSE_PAPERS // 20  # a week of the size under which nothing changes
    ids, vectors, texts = _dense_week(n_fields)
    themes, _ = find_themes(ids, vectors, texts, seed=0, min_theme_size=3, max_themes=8)
    assert themes and all(len(subjects) == 2 for subjects in _subjects(themes))


def test_a_week_between_the_sizes_is_brought_part_of_the_way() -> None:
    # Half-way between the sizes, half-way to the reference density: the papers of one field's
    # two subjects sit closer than on a full-size week, further apart than on the plain cosine.
    n_fields = (cluster.MIN_DENSE_PAPERS + cluster.FULL_DENSE_PAPERS) // 40
    _, vectors, _ = _dense_week(n_fields)
    grouped, _ = cluster._grouping_vectors(vectors, None)
    full = cluster.REFERENCE_DENSITY
    mean = grouped.mean(axis=0)
    plain = vectors.mean(axis=0)
    assert full < float(mean @ mean) < float(plain @ plain)
    between = float(grouped[0] @ grouped[10])  # two subjects of field 0
    assert 0.31 < between < 0.44  # 0.45 on the plain cosine, about 0.30 at full size


def test_the_dense_week_rule_moves_only_what_the_topics_take() -> None:
    # The week's mean direction is measured on every paper, the topics' included, so which
    # papers a topic takes does not move the others' groups.
    n_fields = cluster.FULL_DENSE_PAPERS // 20
    ids, vectors, texts = _dense_week(n_fields)
    taken = list(range(0, len(ids), 7))
    rest = [i for i in range(len(ids)) if i not in set(taken)]
    mine, _ = find_themes([ids[i] for i in rest], vectors[rest], [texts[i] for i in rest],
                          seed=0, min_theme_size=3, max_themes=8,
                          background=[texts[i] for i in taken], background_vectors=vectors[taken],
                          background_ids=[ids[i] for i in taken])  # fmt: skip
    alone, _ = find_themes(ids, vectors, texts, seed=0, min_theme_size=3, max_themes=8)
    kept = {frozenset(t.paper_ids) for t in mine}
    expected = {frozenset(p for p in t.paper_ids if ids.index(p) not in set(taken)) for t in alone}
    assert kept == expected
