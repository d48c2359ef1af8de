"""run/boundaries: the background a topic boundary is learnt from."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from conftest import FakeEmbedder, graph_papers, make_settings

from pipeline import run
from pipeline.embed import content_hash
from pipeline.models import Paper, Topic
from pipeline.run import boundaries, scoring
from pipeline.store import Store
from pipeline.topics import calibrate

NOW = datetime(2025, 6, 10, tzinfo=UTC)


def _stored(papers: list[Paper]) -> Store:
    return _with_vectors(papers, np.eye(len(papers), 4, dtype=np.float32), "m")


def test_background_is_a_fixed_sample_plus_the_scored_papers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(boundaries, "MAX_BACKGROUND", 5)
    papers = [
        Paper(f"arxiv:2506.{i:05d}", f"Paper {i}", f"abstract {i}", first_seen=NOW)
        for i in range(12)
    ]
    week = [Paper("arxiv:2506.99999", "New", "a new paper", first_seen=NOW)]
    chosen = []
    for order in (papers, papers[::-1]):
        with _stored(order) as store:
            found, vectors = boundaries._background(store, "m", week, np.ones((1, 4), np.float32))
        assert len(found) == len(vectors) == 6
        assert found[-1].paper_id == week[0].paper_id
        chosen.append({p.paper_id for p in found})
    # The same papers whatever order they were stored in.
    assert chosen[0] == chosen[1]


def test_store_threshold_is_the_mean_plus_two_sd_of_the_topic_score_over_enough_papers() -> None:
    scores = np.linspace(0.2, 0.6, 100)
    found = calibrate.store_threshold(scores)
    assert found is not None and found.n_papers == 100
    assert found.threshold == pytest.approx(scores.mean() + 2 * scores.std(), abs=1e-6)
    assert calibrate.store_threshold(scores[: calibrate.MIN_FALLBACK_PAPERS - 1]) is None


def _calls(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """A list that grows by one at each call of `calibrate.<name>`, which still runs."""
    calls: list[int] = []
    real = getattr(calibrate, name)
    monkeypatch.setattr(calibrate, name, lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def _with_vectors(papers: list[Paper], vectors: np.ndarray, model: str) -> Store:
    store = Store.open(":memory:")
    store.upsert_papers(papers, "test", NOW, merge=lambda stored, new: new)
    rows = [(p.paper_id, content_hash(p.text), v) for p, v in zip(papers, vectors, strict=True)]
    store.save_vectors(model, rows, NOW)
    return store


def _bioacoustics_store() -> tuple[list[Paper], np.ndarray, FakeEmbedder]:
    """60 papers: 55 that share a phrase with a bioacoustics topic's text, 5 on its subject;
    none names its keyword, so the topic cannot learn a boundary."""
    filler = ["method", "data", "results", "model"]
    papers = [
        Paper(
            f"arxiv:2506.{i:05d}",
            f"Study {i} of recorded signals",
            f"We analyse animal sounds recorded in the wild with {' '.join(filler[: i % 4])}",
            first_seen=NOW,
        )
        for i in range(55)
    ] + [
        Paper(
            f"arxiv:2506.{100 + i:05d}",
            f"Animal sounds recorded in the wild {i}",
            "Animal vocalisations and bird song recorded in the wild: sounds of wild animals",
            first_seen=NOW,
        )
        for i in range(5)
    ]
    embedder = FakeEmbedder()
    vectors = embedder.embed([p.text for p in papers])
    return papers, vectors, embedder


def test_a_topic_that_cannot_learn_is_judged_by_a_threshold_read_from_the_store(
    tmp_path: Path,
) -> None:
    # Issue 16, round 9: a newcomer's topic with fewer than 5 keyword papers in the store was
    # judged by the fixed [themes] min_similarity (0.45; config.toml shipped 0.58): one cosine
    # for every topic's text, too low here (the topic took all 55 papers that share only
    # "animal sounds recorded in the wild" with it) and too high elsewhere. With every topic
    # judged so (benchmarks/study_fallback.py): dev macro F1 0.561 (0.45), 0.672 (mean + 2 sd).
    papers, vectors, embedder = _bioacoustics_store()
    topic = Topic(
        slug="bioacoustics",
        name="Bioacoustics",
        description="Animal sounds recorded in the wild: bird song and animal vocalisations.",
        keywords=("bioacoustics",),
    )
    taken = {}
    for label, themes in (("fixed", {"min_similarity": 0.45}), ("store", {})):
        (tmp_path / label).mkdir()
        settings = make_settings(tmp_path / label, themes=themes)
        with Store.open(":memory:") as store:
            store.upsert_papers(papers, "test", NOW, merge=lambda stored, new: new)
            store.save_vectors(
                embedder.name,
                [
                    (p.paper_id, content_hash(p.text), v)
                    for p, v in zip(papers, vectors, strict=True)
                ],
                NOW,
            )
            _, _, assigned = run.assign_papers(
                settings, store, embedder, papers, vectors, [topic], now=NOW
            )
        taken[label] = {a.paper_id for a in assigned if a.primary == "bioacoustics"}
    on_subject = {p.paper_id for p in papers[55:]}
    assert len(taken["fixed"] - on_subject) > 20  # the fixed cosine takes the field's papers
    assert taken["store"] == on_subject


def test_a_topic_no_stored_paper_is_about_takes_nothing(tmp_path: Path) -> None:
    # Round 9: the mean + 2 sd alone takes the top few percent of any store: a bioacoustics
    # topic took 12 papers a week of the demo's ML store (threshold 0.17). A floor keeps it empty.
    papers = [
        Paper(f"arxiv:2506.{i:05d}", f"Compiler pass {i}", f"Register allocation {i} in compilers")
        for i in range(60)
    ]
    embedder = FakeEmbedder()
    vectors = embedder.embed([p.text for p in papers])
    topic = Topic(
        slug="bioacoustics",
        name="Bioacoustics",
        description="Animal sounds recorded in the wild: bird song and animal vocalisations.",
        keywords=("bioacoustics",),
    )
    settings = make_settings(tmp_path)
    with _with_vectors(papers, vectors, embedder.name) as store:
        _, _, assigned = run.assign_papers(
            settings, store, embedder, papers, vectors, [topic], now=NOW
        )
    assert [a.paper_id for a in assigned if a.primary == "bioacoustics"] == []


def test_a_second_build_reuses_the_boundaries_the_first_fitted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found timing the warm 10k build (round 15): the first build after an ingest fits the
    # topics' boundaries, then stores the research areas' name vectors while naming its themes;
    # that moved the store's vector watermark, so the second build refitted every boundary.
    from pipeline.embed.cache import ensure_text_vectors

    papers = [
        Paper(f"arxiv:2506.{i:05d}", f"Compiler pass {i}", f"Register allocation {i} in compilers")
        for i in range(60)
    ]
    embedder = FakeEmbedder()
    vectors = embedder.embed([p.text for p in papers])
    topic = Topic("compilers", "Compilers", "compiler optimisation", keywords=("register",))
    settings = make_settings(tmp_path)
    fits = _calls(monkeypatch, "fit_boundary")
    with _with_vectors(papers, vectors, embedder.name) as store:
        run.assign_papers(settings, store, embedder, papers, vectors, [topic], now=NOW)
        assert len(fits) == 1
        items = [(f"area:{name}", content_hash(name), name) for name in ("Compilers", "Robotics")]
        ensure_text_vectors(store, embedder, items, now=NOW)  # as theme naming does
        run.assign_papers(settings, store, embedder, papers, vectors, [topic], now=NOW)
        assert len(fits) == 1, "the second build refitted the boundary"
        # A paper's new vector still does move it: the background changed.
        store.save_vectors(embedder.name, [("arxiv:2506.99999", "h", vectors[0])], NOW)
        run.assign_papers(settings, store, embedder, papers, vectors, [topic], now=NOW)
        assert len(fits) == 2


def _graph_store() -> tuple[list[Paper], np.ndarray, FakeEmbedder, Topic]:
    """10 papers naming "graph neural network", each with words of its own; 16 that share their
    common words but name no keyword; 80 of other fields."""
    named, unnamed, other = graph_papers(
        lambda pid, title, abstract: Paper(pid, title, abstract, first_seen=NOW),
        named=10,
        others=80,
    )
    papers = named + unnamed + other
    embedder = FakeEmbedder()
    topic = Topic("gnn", "Graph neural networks", "Neural networks on graphs.",
                  keywords=("graph neural network",))  # fmt: skip
    return papers, embedder.embed([p.text for p in papers]), embedder, topic


def test_a_topic_keeps_at_most_half_as_many_names_none_papers_as_keyword_papers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 16, round 23: papers inside a learnt topic that name none of its keywords were 18 %
    # gold on NeurIPS 2023; over the store a topic keeps at most NAMES_NONE_SHARE of them per
    # keyword paper inside, those of the highest margins.
    papers, vectors, embedder, topic = _graph_store()
    settings = make_settings(tmp_path)
    taken = {}
    for share in (calibrate.NAMES_NONE_SHARE, 100.0):
        monkeypatch.setattr(calibrate, "NAMES_NONE_SHARE", share)
        with _with_vectors(papers, vectors, embedder.name) as store:
            scored, _, assigned = run.assign_papers(
                settings, store, embedder, papers, vectors, [topic], now=NOW
            )
        inside = {a.paper_id for a in assigned if a.primary == "gnn"}
        none = {p.paper_id for p in papers[10:26]} & inside
        taken[share] = (len(inside) - len(none), none)
        margins = {p.paper_id: float(m) for p, m in zip(papers, scored.raw[:, 0], strict=True)}
    (n_named, kept), (n_named_all, all_none) = taken[0.5], taken[100.0]
    assert n_named == n_named_all == 10
    assert len(all_none) > 5  # without the cut the topic takes more than half as many
    assert len(kept) == 5 and kept < all_none
    # The ones kept are those the topic's boundary puts furthest inside.
    assert min(margins[p] for p in kept) > max(margins[p] for p in all_none - kept)


def test_the_names_none_cuts_are_cached_and_read_again_when_the_topics_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    papers, vectors, embedder, topic = _graph_store()
    other = Topic("compilers", "Compilers", "Compiler optimisation.", keywords=("register",))
    settings = make_settings(tmp_path)
    reads = _calls(monkeypatch, "names_none_cuts")
    with _with_vectors(papers, vectors, embedder.name) as store:
        found = scoring.learn_topic_boundaries(
            settings, store, embedder, papers, vectors, [topic, other], now=NOW
        )
        assert isinstance(found[0], calibrate.Boundary) and found[0].names_none_cut > 0
        assert len(reads) == 1
        again = scoring.learn_topic_boundaries(
            settings, store, embedder, papers, vectors, [topic, other], now=NOW
        )
        assert len(reads) == 1, "a warm build read the cuts again"
        assert [b.names_none_cut for b in again if isinstance(b, calibrate.Boundary)] == [
            b.names_none_cut for b in found if isinstance(b, calibrate.Boundary)
        ]
        # Without the other topic no boundary is refitted, but the cuts (which the gap to the
        # paper's best topic enters) are read again.
        fits = _calls(monkeypatch, "fit_boundary")
        alone = scoring.learn_topic_boundaries(
            settings, store, embedder, papers, vectors, [topic], now=NOW
        )
        assert fits == [] and len(reads) == 2
        assert isinstance(alone[0], calibrate.Boundary)
        # A malformed entry is a miss, not an error.
        store.set_meta(boundaries._CUTS_META, "{not json")
        scoring.learn_topic_boundaries(settings, store, embedder, papers, vectors, [topic], now=NOW)
        assert len(reads) == 3
