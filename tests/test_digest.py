"""digest.py: week arithmetic, summaries that never cut a sentence, grouping and ranking."""

from __future__ import annotations

from datetime import date

from conftest import make_paper

from pipeline.digest.build import (
    build_digest,
    find_code_url,
    iso_week,
    plain_text,
    split_sentences,
    summarize,
    week_bounds,
)
from pipeline.models import Assignment, Signals, Theme, Topic


def test_week_bounds_monday_to_sunday() -> None:
    assert week_bounds("2025-W24") == (date(2025, 6, 9), date(2025, 6, 15))
    assert week_bounds("2026-W01") == (date(2025, 12, 29), date(2026, 1, 4))


def test_iso_week_round_trips_week_bounds() -> None:
    for week in ("2025-W01", "2025-W24", "2020-W53"):
        start, end = week_bounds(week)
        assert iso_week(start) == week == iso_week(end)


def test_split_sentences_keeps_abbreviations_inside_sentences() -> None:
    text = "We study models, e.g. transformers. Results improve by 3.5 points. Code is public."
    assert split_sentences(text) == [
        "We study models, e.g. transformers.",
        "Results improve by 3.5 points.",
        "Code is public.",
    ]


def test_summarize_prefers_the_contribution_sentence_and_ends_on_a_full_stop() -> None:
    abstract = (
        "Large language models are everywhere. They are expensive to run. "
        "In this paper we propose Quux, a method that halves inference cost. "
        "Quux is simple. It works on every benchmark we tried, and more."
    )
    summary = summarize(abstract)
    assert summary.startswith("In this paper we propose Quux")
    assert summary.endswith(".")
    assert summary in abstract


def test_summarize_never_cuts_mid_sentence_on_long_abstracts() -> None:
    long_sentence = "We propose " + "a very long clause, " * 40 + "and stop here."
    abstract = long_sentence + " Another sentence follows."
    summary = summarize(abstract)
    assert summary == long_sentence


def test_find_code_url_from_signals_then_abstract() -> None:
    with_signal = make_paper(
        "arxiv:1", "T", "x", signals=Signals(github_url="https://github.com/a/b")
    )
    assert find_code_url(with_signal) == "https://github.com/a/b"
    in_text = make_paper("arxiv:2", "T", "Code: https://github.com/org/repo.")
    assert find_code_url(in_text) == "https://github.com/org/repo"
    assert find_code_url(make_paper("arxiv:3", "T", "No code.")) is None


def test_build_digest_groups_topics_themes_and_other_in_order() -> None:
    papers = [make_paper(f"arxiv:{i}", f"Paper {i}", "We propose things.") for i in range(6)]
    topics = [Topic("nas", "NAS", "architecture search"), Topic("mm", "Multimodal", "vision")]
    assignments = [
        Assignment("arxiv:0", "nas", 0.7),
        Assignment("arxiv:1", "nas", 0.9, also=("mm",)),
        Assignment("arxiv:2", "mm", 0.6),
        Assignment("arxiv:3", None, 0.1),
        Assignment("arxiv:4", None, 0.1),
        Assignment("arxiv:5", None, 0.1),
    ]
    themes = [Theme("theme-x", "graphs, gnn", ("graphs", "gnn"), ("arxiv:3", "arxiv:4"), "arxiv:3")]
    digest = build_digest(papers, assignments, themes, topics, week="2025-W24", title="T")
    assert [s.key for s in digest.sections] == ["nas", "mm", "theme-x", "other"]
    nas = digest.sections[0]
    assert [e.paper.paper_id for e in nas.entries] == ["arxiv:1", "arxiv:0"]  # by score
    assert nas.entries[0].also == ("Multimodal",)
    assert [e.paper.paper_id for e in digest.sections[3].entries] == ["arxiv:5"]
    assert digest.n_papers == 6


def test_build_digest_ranks_upvoted_papers_first() -> None:
    papers = [
        make_paper("arxiv:a", "A", signals=Signals(upvotes=3)),
        make_paper("arxiv:b", "B", signals=Signals(upvotes=40)),
    ]
    topics = [Topic("t", "T", "d")]
    assignments = [Assignment("arxiv:a", "t", 0.9), Assignment("arxiv:b", "t", 0.5)]
    digest = build_digest(papers, assignments, [], topics, week="2025-W24", title="T")
    assert [e.paper.paper_id for e in digest.sections[0].entries] == ["arxiv:b", "arxiv:a"]


def test_build_digest_uses_ai_summary_when_present() -> None:
    paper = make_paper("arxiv:a", "A", "We propose X.", signals=Signals(ai_summary="HF says so."))
    digest = build_digest(
        [paper], [Assignment("arxiv:a", None, 0.0)], [], [], week="2025-W24", title="T"
    )
    assert digest.sections[0].entries[0].summary == "HF says so."


def test_plain_text_turns_common_latex_into_readable_text() -> None:
    assert plain_text(r"models, \emph{i.e.,} Show-o2") == "models, i.e., Show-o2"
    assert (
        plain_text(r"\textbf{ViMaR (\emph{fast})} is $3\times$ faster")
        == "ViMaR (fast) is 3× faster"
    )
    assert (
        plain_text(r"see \href{https://x.org}{our page} and 50\% less")
        == "see our page and 50% less"
    )
    assert plain_text("costs $O(n)$ time") == "costs O(n) time"
    assert plain_text(r"the RRG algorithm \cite{f-isaom-10} that") == "the RRG algorithm that"


def test_summarize_drops_openers_that_point_at_left_out_sentences() -> None:
    abstract = (
        "Long videos are hard. To address this, we propose AdaVideoRAG, a retrieval framework. "
        "It adapts granularity."
    )
    assert summarize(abstract).startswith("We propose AdaVideoRAG, a retrieval framework.")
    kept = "To train agents we propose a new curriculum. It works."
    assert summarize(kept).startswith("To train agents we propose")


def test_trend_marks_new_growing_shrinking() -> None:
    from pipeline.digest.build import trend

    assert trend((0, 0, 0), 5) == "new"
    assert trend((4, 4, 4), 9) == "growing"
    assert trend((10, 10), 5) == "shrinking"
    assert trend((10, 10), 10) == ""
    assert trend((), 5) == ""
