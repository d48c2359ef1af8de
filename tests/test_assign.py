"""assign.py: thresholds per topic, exclusion vetoes, 'also relevant', deterministic ties."""

from __future__ import annotations

import numpy as np

from pipeline.models import Topic
from pipeline.topics.assign import (
    MAX_KEYWORD_HITS,
    assign_topics,
    combine_scores,
    has_phrase,
    keyword_hits,
    matched_keywords,
    score_topics,
    semantic_scores,
    topic_text,
)

TOPICS = [
    Topic("nas", "NAS", "architecture search"),
    Topic("mm", "Multimodal", "vision language", exclude=("survey",)),
]


def _assign(scores: list[list[float]], texts: list[str] | None = None, **kw: object):
    ids = [f"p{i}" for i in range(len(scores))]
    texts = texts or ["text"] * len(scores)
    thresholds = kw.pop("thresholds", {"nas": 0.5, "mm": 0.4})
    return assign_topics(
        ids,
        texts,
        np.array(scores, dtype=np.float32),
        TOPICS,
        thresholds=thresholds,
        also_margin=float(kw.pop("also_margin", 0.05)),  # type: ignore[arg-type]
    )


def test_assign_topics_uses_each_topics_own_threshold() -> None:
    result = _assign([[0.45, 0.45]])
    assert result[0].primary == "mm"  # 0.45 clears mm's 0.4 but not nas's 0.5


def test_assign_topics_leaves_papers_under_every_threshold_unassigned() -> None:
    result = _assign([[0.3, 0.2]])
    assert result[0].primary is None
    assert result[0].score == 0.3


def test_assign_topics_lists_close_runner_up_as_also_relevant() -> None:
    close, far = _assign([[0.62, 0.60], [0.62, 0.41]])
    assert (close.primary, close.also) == ("nas", ("mm",))
    assert (far.primary, far.also) == ("nas", ())


def test_assign_topics_exclude_phrase_vetoes_a_topic() -> None:
    result = _assign([[0.1, 0.9]], texts=["A survey of vision language models"])
    assert result[0].primary is None


def test_assign_topics_breaks_exact_ties_by_slug() -> None:
    result = _assign([[0.7, 0.7]], thresholds={"nas": 0.5, "mm": 0.5}, also_margin=0.0)
    assert result[0].primary == "mm" and result[0].also == ("nas",)


def test_has_phrase_matches_whole_words_only() -> None:
    assert has_phrase("Neural Architecture Search works", ["architecture search"])
    assert not has_phrase("resurveying", ["survey"])


def test_score_topics_is_cosine_of_unit_vectors() -> None:
    papers = np.array([[1.0, 0.0], [0.6, 0.8]], dtype=np.float32)
    topics = np.array([[1.0, 0.0]], dtype=np.float32)
    assert np.allclose(score_topics(papers, topics), [[1.0], [0.6]])


def test_topic_text_puts_name_first_and_lists_keywords() -> None:
    text = topic_text(Topic("nas", "NAS", "Search.", keywords=("darts", "supernet")))
    assert text == "NAS. Search. Keywords: darts, supernet."


def test_matched_keywords_folds_plurals_hyphens_and_case() -> None:
    text = "We study Vision Language Models and state-space models."
    found = matched_keywords(text, ["vision-language model", "state space model", "Mamba"])
    assert found == ["vision-language model", "state space model"]


def test_matched_keywords_matches_acronyms_case_sensitively() -> None:
    assert matched_keywords("Our NAS method and two VLMs", ["NAS", "VLM"]) == ["NAS", "VLM"]
    assert matched_keywords("the nasal cavity; vlm", ["NAS", "VLM"]) == []


def test_keyword_hits_counts_title_twice_and_caps() -> None:
    topics = [Topic("a", "A", "d", keywords=("mamba",)), Topic("b", "B", "d", keywords=("x", "y"))]
    hits = keyword_hits("Mamba", "Mamba. A mamba model.", topics)
    assert hits.tolist() == [2.0, 0.0]
    many = [Topic("c", "C", "d", keywords=("p", "q", "r", "s"))]
    assert keyword_hits("p q r s", "p q r s", many).tolist() == [MAX_KEYWORD_HITS]


def test_semantic_scores_take_each_topics_best_prototype() -> None:
    papers = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    prototypes = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], dtype=np.float32)
    scores = semantic_scores(papers, prototypes, [0, 0, 1], 2)
    assert np.allclose(scores, [[1.0, 0.6], [1.0, 0.8]])


def test_combine_scores_adds_the_keyword_bonus() -> None:
    topics = [Topic("nas", "NAS", "d", keywords=("architecture search",))]
    semantic = np.array([[0.5], [0.5]], dtype=np.float32)
    scored = combine_scores(
        semantic,
        ["Fast architecture search", "Other"],
        ["Fast architecture search. We search.", "Other. Nothing."],
        topics,
        keyword_weight=0.05,
    )
    assert np.allclose(scored.combined[:, 0], [0.6, 0.5])
    assert scored.keywords[:, 0].tolist() == [2.0, 0.0]
