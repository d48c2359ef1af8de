"""Discovered themes under a config edit (issue 17): adding a topic moves the papers it takes,
and the themes it takes a few papers from keep their grouping and their names."""

from __future__ import annotations

import numpy as np
from test_cluster import _themes_of

from pipeline.topics.cluster import find_themes


def _bridged_week() -> tuple[np.ndarray, list[str], list[str], list[str]]:
    """Areas A and B (cosine ~0.3 apart) and between them T, a topic's area close to both."""
    rng = np.random.default_rng(3)
    u = np.eye(1, 32, 0, dtype=np.float32)[0]
    v = 0.3 * u + np.sqrt(1 - 0.3**2) * np.eye(1, 32, 1, dtype=np.float32)[0]
    t = (u + v) / np.linalg.norm(u + v)
    x = np.vstack([np.repeat(c[None, :], 6, axis=0) for c in (u, v, t)])
    x += rng.normal(scale=0.04, size=x.shape).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = [f"arxiv:{i:03d}" for i in range(len(x))]
    words = ["protein folding structure"] * 12 + ["speech recognition audio"] * 6
    texts = [f"{w} variant{i}" for i, w in enumerate(words)]
    return x, ids, texts, ids[12:]


def test_adding_a_topic_moves_only_the_papers_it_takes() -> None:
    # Issue 17: with T's papers taken by a new topic, A and B were clustered without them and
    # split into two themes; the groups now come from the whole week, so the papers no topic
    # takes keep their grouping whatever the topics take.
    x, ids, texts, topic_ids = _bridged_week()
    no_topic, _ = find_themes(ids, x, texts, seed=0, min_theme_size=3, max_themes=8)
    rest = [i for i, p in enumerate(ids) if p not in topic_ids]
    taken = [i for i, p in enumerate(ids) if p in topic_ids]
    with_topic, _ = _themes_of(x, ids, texts, rest, taken=taken)
    kept = set(ids) - set(topic_ids)
    before = {frozenset(set(t.paper_ids) & kept) for t in no_topic} - {frozenset()}
    assert {frozenset(t.paper_ids) for t in with_topic} == before


def _protein_week(n_folding: int) -> tuple[np.ndarray, list[str], list[str]]:
    """12 protein papers on one direction (`n_folding` on folding, the rest on docking) and 6
    speech papers on another."""
    rng = np.random.default_rng(5)
    u, w = np.eye(2, 32, dtype=np.float32)
    x = np.vstack([np.repeat(u[None], 12, 0), np.repeat(w[None], 6, 0)])
    x += rng.normal(scale=0.04, size=x.shape).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = [f"arxiv:{i:03d}" for i in range(18)]
    texts = [f"Protein folding with structure sample{i}." for i in range(n_folding)]
    texts += [f"Protein docking with structure sample{i}." for i in range(n_folding, 12)]
    texts += [f"Speech recognition of audio sample{i}." for i in range(12, 18)]
    return x, ids, texts


def test_a_topic_taking_a_few_papers_of_a_theme_neither_renames_nor_dissolves_it() -> None:
    # Issue 17: names came from the shown papers against a background that then held the taken
    # ones, so a topic taking 2 of 12 papers changed which phrase was distinctive (renames in
    # `topics --compare`) or left none (the theme dissolved). A theme is now named by its whole
    # group while that name fits most of the papers it shows.
    x, ids, texts = _protein_week(8)
    before, _ = _themes_of(x, ids, texts, list(range(18)))
    after, _ = _themes_of(x, ids, texts, list(range(2, 18)), taken=[0, 1])
    assert [t.label for t in after] == [t.label for t in before]
    assert "Protein folding" in [t.label for t in after]


def test_a_theme_whose_name_fits_only_the_taken_papers_is_named_by_what_is_shown() -> None:
    x, ids, texts = _protein_week(7)
    # The topic takes 4 of the 7 folding papers: "Protein folding" would fit 3 of the 8 shown.
    after, _ = _themes_of(x, ids, texts, list(range(4, 18)), taken=[0, 1, 2, 3])
    assert "Protein docking" in [t.label for t in after]


def test_a_theme_shows_no_key_phrase_only_the_taken_papers_use() -> None:
    # Issue 17: a theme named from its whole group listed the taken papers' phrases as its key
    # phrases (the demo's image theme showed "VLM" after the multimodal topic took every
    # vision-language paper). Its id still comes from all the terms, so it does not change.
    x, ids, texts = _protein_week(12)
    for i in range(12):
        texts[i] = f"Protein folding {'with cryo microscopy' if i < 3 else 'of enzymes'} s{i}."
    before, _ = _themes_of(x, ids, texts, list(range(18)))
    after, _ = _themes_of(x, ids, texts, list(range(3, 18)), taken=[0, 1, 2])
    folding = next(t for t in before if t.label.startswith("Protein folding"))
    shown = next(t for t in after if t.theme_id == folding.theme_id)
    assert "cryo microscopy" in folding.terms
    assert shown.label == folding.label and "cryo microscopy" not in shown.terms


def test_a_name_part_only_the_taken_papers_use_is_not_shown() -> None:
    # Issue 17: "Diffusion and sample quality" named demo papers none of which is about sample
    # quality: that half of the whole group's name came from the papers a topic took.
    x, ids, texts = _protein_week(12)
    for i in range(4):
        texts[i] = f"Protein folding with cryo microscopy sample{i}."
    before, _ = _themes_of(x, ids, texts, list(range(18)))
    after, _ = _themes_of(x, ids, texts, list(range(4, 18)), taken=[0, 1, 2, 3])
    assert "Protein folding and cryo microscopy" in [t.label for t in before]
    assert "Protein folding" in [t.label for t in after]
