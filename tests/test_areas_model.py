"""Naming by research area with the real packaged model, on real abstracts (tests/data/areas)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.embed import SentenceTransformerEmbedder
from pipeline.topics.areas import Areas, area_names, name_by_area

pytestmark = [pytest.mark.model, pytest.mark.slow]

WEEK = Path(__file__).parent / "data" / "areas" / "week.jsonl"
QUANTUM, RAN = np.arange(0, 4), np.arange(4, 8)  # rows of week.jsonl (see data/SOURCES.md)


@pytest.fixture(scope="module")
def week() -> tuple[Areas, np.ndarray, list[str]]:
    papers = [json.loads(line) for line in WEEK.read_text(encoding="utf-8").splitlines()]
    texts = [f"{p['title']}. {p['abstract']}" for p in papers]
    embedder = SentenceTransformerEmbedder(device="cpu")
    names = area_names()
    return Areas(names, embedder.embed(list(names))), embedder.embed(texts), texts


def test_real_papers_of_one_area_are_named_by_it(
    week: tuple[Areas, np.ndarray, list[str]],
) -> None:
    areas, vectors, texts = week
    quantum, ran = name_by_area([QUANTUM, RAN], vectors, areas, texts=texts)
    assert quantum is not None and "Quantum" in quantum
    assert ran is not None and any(w in ran for w in ("network", "6G", "5G", "Wireless")), ran


def test_a_mix_of_two_areas_and_unrelated_papers_gets_no_area_name(
    week: tuple[Areas, np.ndarray, list[str]],
) -> None:
    areas, vectors, texts = week
    mixed = np.r_[QUANTUM[:1], RAN[:1], np.arange(8, 11)]
    assert name_by_area([mixed], vectors, areas, texts=texts) == [None]
