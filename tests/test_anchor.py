"""A week's themes anchored in its last build (topics/anchor.py; issue 17, stability): a config
edit moves only the papers a topic takes or releases and the themes it empties or unnames."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import FakeEmbedder, make_paper, make_settings, write_config

from pipeline import run, tune
from pipeline.cli import cli
from pipeline.config import load_settings
from pipeline.ingest.normalize import update_paper
from pipeline.models import Paper, Week
from pipeline.run import scoring
from pipeline.store import Store
from pipeline.topics import anchor
from pipeline.topics.cluster import find_themes
from pipeline.tune.topics import THEME_PREFIX

SUBJECTS = {
    "protein": "Protein folding with structure",
    "speech": "Speech recognition of audio",
    "galaxy": "Galaxy survey with redshift",
    "market": "Market volatility of stock",
}


def _week(sizes: dict[str, int], loners: int = 2) -> tuple[list[str], np.ndarray, list[str]]:
    """Groups of papers on orthogonal directions (one per subject, `sizes` papers each) and
    `loners` papers on directions of their own."""
    rng = np.random.default_rng(7)
    rows, texts = [], []
    for k, (subject, n) in enumerate(sizes.items()):
        for i in range(n):
            rows.append(np.eye(1, 48, k, dtype=np.float32)[0])
            texts.append(f"{SUBJECTS[subject]} sample{k}x{i}.")
    for j in range(loners):
        rows.append(np.eye(1, 48, 40 + j, dtype=np.float32)[0])
        texts.append(f"Unrelated note number{j} on pottery{j}.")
    x = np.vstack(rows) + rng.normal(scale=0.04, size=(len(rows), 48)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = [f"arxiv:2506.{i:05d}" for i in range(len(rows))]
    return ids, x, texts


def _fresh(ids: list[str], x: np.ndarray, texts: list[str], untaken: list[str]):
    rows = [i for i, p in enumerate(ids) if p in set(untaken)]
    taken = [i for i in range(len(ids)) if i not in rows]
    return find_themes(
        [ids[i] for i in rows], x[rows], [texts[i] for i in rows], seed=0, min_theme_size=3,
        max_themes=8, background=[texts[i] for i in taken], background_vectors=x[taken],
        background_ids=[ids[i] for i in taken], titles=[texts[i] for i in rows],
    )  # fmt: skip


def _anchored(last: anchor.Placed, ids: list[str], x: np.ndarray, texts: list[str], untaken):
    return anchor.anchored(
        last, untaken, ids=ids, vectors=x, texts=texts, titles=texts, seed=0,
        min_theme_size=3, areas=None,
    )  # fmt: skip


def _groups(themes) -> dict[str, frozenset[str]]:
    return {t.label: frozenset(t.paper_ids) for t in themes}


def test_a_topic_taking_papers_of_one_theme_leaves_every_other_paper_where_it_was() -> None:
    ids, x, texts = _week({"protein": 8, "speech": 6, "galaxy": 5})
    themes, other = _fresh(ids, x, texts, ids)
    last = anchor.placed(ids, ids, themes)
    speech = [pid for pid, t in zip(ids, texts, strict=True) if t.startswith("Speech")]
    untaken = [pid for pid in ids if pid not in speech[:2]]
    after, after_other = _anchored(last, ids, x, texts, untaken)
    before = {label: g - set(speech[:2]) for label, g in _groups(themes).items()}
    assert _groups(after) == before
    assert after_other == other
    # ids and key phrases of the untouched themes are the build's own
    kept = {t.label: t for t in themes}
    for theme in after:
        assert theme.theme_id == kept[theme.label].theme_id


def test_a_theme_a_topic_empties_gives_its_last_papers_to_the_nearest_theme_or_other() -> None:
    ids, x, texts = _week({"protein": 8, "speech": 6, "galaxy": 5})
    themes, _ = _fresh(ids, x, texts, ids)
    last = anchor.placed(ids, ids, themes)
    speech = [pid for pid, t in zip(ids, texts, strict=True) if t.startswith("Speech")]
    untaken = [pid for pid in ids if pid not in speech[:4]]  # two speech papers are left
    after, other = _anchored(last, ids, x, texts, untaken)
    assert not any(set(t.paper_ids) & set(speech) for t in after)
    assert set(speech[4:]) <= set(other)
    assert {t.label for t in after} == {t.label for t in themes} - {
        t.label for t in themes if set(t.paper_ids) & set(speech)
    }


def test_papers_a_removed_topic_releases_are_grouped_among_themselves() -> None:
    ids, x, texts = _week({"protein": 8, "speech": 6, "galaxy": 5})
    speech = [pid for pid, t in zip(ids, texts, strict=True) if t.startswith("Speech")]
    untaken = [pid for pid in ids if pid not in speech]
    themes, other = _fresh(ids, x, texts, untaken)  # built while a speech topic took them
    last = anchor.placed(ids, untaken, themes)
    after, after_other = _anchored(last, ids, x, texts, ids)  # the topic removed
    groups = _groups(after)
    assert frozenset(speech) in groups.values()
    for label, group in _groups(themes).items():
        assert groups[label] == group
    assert after_other == other


def test_a_theme_whose_name_no_longer_fits_is_named_again_from_what_is_left() -> None:
    ids, x, texts = _week({"protein": 9, "speech": 6})
    for i in range(6, 9):  # the protein theme: 6 folding papers, 3 docking papers
        texts[i] = texts[i].replace("folding", "docking")
    themes, _ = _fresh(ids, x, texts, ids)
    assert "Protein folding" in [t.label for t in themes]
    last = anchor.placed(ids, ids, themes)
    untaken = ids[4:]  # a topic takes four folding papers: 2 of the 5 left are on folding
    after, _ = _anchored(last, ids, x, texts, untaken)
    assert "Protein folding" not in [t.label for t in after]
    assert any(set(ids[4:9]) <= set(t.paper_ids) for t in after)
    # taking two keeps it: "Protein folding" still fits 4 of the 7 left
    kept, _ = _anchored(last, ids, x, texts, ids[2:])
    assert _groups(kept)["Protein folding"] == frozenset(ids[2:9])


def test_the_same_last_build_and_untaken_papers_give_the_same_themes() -> None:
    ids, x, texts = _week({"protein": 8, "speech": 6, "galaxy": 5, "market": 4})
    themes, _ = _fresh(ids, x, texts, ids)
    last = anchor.placed(ids, ids, themes)
    untaken = ids[3:]
    assert _anchored(last, ids, x, texts, untaken) == _anchored(last, ids, x, texts, untaken)


def _knife_edge_week() -> Week:
    """A theme of 8 papers whose name "Protein folding…" half of them use (the other half on
    four subjects of their own), a speech theme and a galaxy theme; no arXiv categories."""
    rng = np.random.default_rng(11)
    own = ["Enzyme kinetics in vitro.", "Gene expression atlas.", "Immune response model."]
    own.append("Membrane transport rates.")
    texts = [
        f"Protein folding of chains sample{i}." if i % 2 == 0 else own[i // 2] for i in range(8)
    ]
    texts += [f"Speech recognition of audio sample{i}." for i in range(6)]
    texts += [f"Galaxy survey with redshift sample{i}." for i in range(5)]
    x = np.vstack([np.eye(1, 32, d, dtype=np.float32)[0] for d in [0] * 8 + [1] * 6 + [2] * 5])
    x += rng.normal(scale=0.05, size=x.shape).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    papers = [
        make_paper(f"arxiv:2506.{i:05d}", t.rstrip("."), t, categories=())
        for i, t in enumerate(texts)
    ]
    return Week("2025-W25", tuple(papers), x, {p.paper_id: i for i, p in enumerate(papers)})


def test_a_topic_taking_one_paper_of_a_theme_named_at_the_edge_leaves_the_rest_in_it(
    tmp_path: Path,
) -> None:
    # Issue 17 (the stability clause, traced in round 26): a theme whose name fits exactly half
    # its papers lost the name when a topic took one of them, and with no other name fitting,
    # its seven other papers went to "Other". Anchored in the week's last build they stay.
    week = _knife_edge_week()
    settings = make_settings(tmp_path, themes={"areas": "off"})
    every = range(len(week.papers))
    themes, _ = run.find_week_themes(settings, week, every, areas=None)
    protein = next(t for t in themes if t.label.startswith("Protein folding"))
    assert len(protein.paper_ids) == 8
    last = anchor.placed([p.paper_id for p in week.papers], list(week.index), themes)
    rest = list(every)[1:]  # a new topic takes paper 0
    after, other = run.find_week_themes(settings, week, rest, areas=None, last=[last])
    assert other == []
    kept = next(t for t in after if t.theme_id == protein.theme_id)
    assert (kept.label, kept.paper_ids) == (protein.label, protein.paper_ids[1:])
    assert {t.paper_ids for t in after} - {kept.paper_ids} == {
        t.paper_ids for t in themes if t is not protein
    }


def test_a_build_whose_papers_the_topics_leave_as_before_is_shown_again_as_it_was(
    tmp_path: Path,
) -> None:
    week = _knife_edge_week()
    settings = make_settings(tmp_path, themes={"areas": "off"})
    rest = list(range(1, len(week.papers)))
    ids = [p.paper_id for p in week.papers]
    # Kept from a build anchored in another (so not what a fresh grouping gives): shown again.
    fresh, _ = run.find_week_themes(settings, week, rest, areas=None)
    built = anchor.placed(ids, ids[1:], [dataclasses.replace(fresh[0], label="Kept name")])
    again, other = run.find_week_themes(settings, week, rest, areas=None, last=[built])
    assert [t.label for t in again] == ["Kept name"]
    assert other == sorted(set(ids[1:]) - set(fresh[0].paper_ids))


def _subject_papers() -> list[Paper]:
    """Six papers on each of five subjects (words they share plus words of their own)."""
    subjects = {
        "speech": "speech recognition acoustic audio spoken",
        "protein": "protein folding amino residue structure",
        "galaxy": "galaxy redshift survey cosmology telescope",
        "market": "market volatility stock portfolio trading",
        "soil": "soil moisture crop irrigation yield",
    }
    return [
        make_paper(
            f"arxiv:2506.{k * 10 + i:05d}",
            f"{subject.title()} study {i}",
            f"{words} with {' '.join(f'w{k}{i}{j}' for j in range(3))}",
        )
        for k, (subject, words) in enumerate(subjects.items())
        for i in range(6)
    ]


def test_an_added_topic_is_built_as_compare_said_and_removing_it_restores_the_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run, "make_embedder", lambda settings: FakeEmbedder())
    themes = {"min_similarity": 0.5, "min_theme_size": 3, "areas": "off"}
    graphs = {"slug": "graphs", "name": "Graphs", "description": "graph neural network"}
    speech = {"slug": "speech", "name": "Speech", "description": "speech recognition audio"}
    plain = write_config(tmp_path, themes=themes, topics=[graphs])
    added = write_config(tmp_path, filename="added.toml", themes=themes, topics=[graphs, speech])
    papers = _subject_papers()
    now = datetime.now(UTC)
    with Store.open(load_settings(plain).database_path) as store:
        store.upsert_papers(papers, "test", now, merge=update_paper)
        run.ensure_vectors(store, FakeEmbedder(), papers, now=now)

    def build(config: Path) -> bytes:
        result = CliRunner().invoke(cli, ["--config", str(config), "build", "--week", "2025-W24"])
        assert result.exit_code == 0, result.output
        return (tmp_path / "digests/2025-W24.md").read_bytes()

    first = build(plain)
    with Store.open(load_settings(plain).database_path) as store:
        before = tune.score_week(load_settings(plain), store, FakeEmbedder(), week="2025-W24")
        predicted = tune.score_week(load_settings(added), store, FakeEmbedder(), week="2025-W24")
    assert any(s.startswith(THEME_PREFIX) for s in before.sections.values())
    taken = {pid for pid, s in predicted.sections.items() if s == "speech"}
    assert taken
    # Every paper the new topic does not take keeps its section.
    assert {p: s for p, s in predicted.sections.items() if p not in taken} == {
        p: s for p, s in before.sections.items() if p not in taken
    }
    with_topic = build(added)
    with Store.open(load_settings(plain).database_path) as store:
        built = tune.score_week(load_settings(added), store, FakeEmbedder(), week="2025-W24")
    assert built.sections == predicted.sections
    assert build(added) == with_topic  # a rebuild is byte-identical
    assert build(plain) == first  # the topic removed again: the digest it had
    # A record of the week's builds that cannot be read is none: the week is grouped afresh.
    with Store.open(load_settings(plain).database_path) as store:
        store.set_meta(scoring.ANCHOR_META + "2025-W24", '{"key": "x", "builds": [')
    assert build(plain) == first


def test_a_record_of_another_weeks_papers_or_of_foreign_form_is_no_anchor(tmp_path: Path) -> None:
    week = _knife_edge_week()
    settings = make_settings(tmp_path, themes={"areas": "off"})
    key = scoring.make_anchor_key(settings, week, None)
    assert key is not None
    themes, _ = run.find_week_themes(settings, week, range(len(week.papers)), areas=None)
    ids = [p.paper_id for p in week.papers]
    with Store.open(settings.database_path) as store:
        scoring.save_kept_build(store, week, key, anchor.placed(ids, ids, themes), [])
        [kept] = scoring.get_kept_builds(store, week, key)
        assert kept.themes == tuple(themes)
        assert scoring.get_kept_builds(store, week, "another key") == []
        fewer = Week(week.week, week.papers[1:], week.vectors[1:], dict(week.index))
        assert scoring.make_anchor_key(settings, fewer, None) != key
        store.set_meta(scoring.ANCHOR_META + week.week, json.dumps({"key": key, "builds": [{}]}))
        assert scoring.get_kept_builds(store, week, key) == []
