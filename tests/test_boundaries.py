"""run/boundaries: the background a topic boundary is learnt from."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from pipeline.embed import content_hash
from pipeline.models import Paper
from pipeline.run import boundaries
from pipeline.store import Store

NOW = datetime(2025, 6, 10, tzinfo=UTC)


def _stored(papers: list[Paper]) -> Store:
    store = Store.open(":memory:")
    store.upsert_papers(papers, "test", NOW, merge=lambda stored, new: new)
    vectors = np.eye(len(papers), 4, dtype=np.float32)
    store.save_vectors(
        "m",
        [(p.paper_id, content_hash(p.text), v) for p, v in zip(papers, vectors, strict=True)],
        NOW,
    )
    return store


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
