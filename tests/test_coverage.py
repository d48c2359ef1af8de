"""digest/coverage.py: the Coverage rows and notes, from plain data (no store, no clock)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pipeline.digest.coverage import SourceWindow, describe_coverage

WEEK = "2025-W24"
MON, TUE, WED, THU, FRI = (date(2025, 6, d) for d in range(9, 14))
WEEKDAYS = (MON, TUE, WED, THU, FRI)


def _arxiv(*days: tuple[date, str, int, int], **fields: object) -> SourceWindow:
    values: dict[str, object] = {"name": "arxiv-cs-lg", "kind": "arxiv-rss", "n_papers": 40}
    values.update(fields)
    return SourceWindow(days=days, **values)  # type: ignore[arg-type]


def _describe(
    *sources: SourceWindow, n_papers: int = 40, expected_days: tuple[date, ...] = WEEKDAYS
) -> tuple[list, list[str]]:
    return describe_coverage(sources, week=WEEK, expected_days=expected_days, n_papers=n_papers)


def test_describe_coverage_gives_one_row_per_source_in_order() -> None:
    hf = SourceWindow("hf-daily", "hf-daily", 7, days=((MON, "feed", 7, 0), (TUE, "feed", 5, 0)))
    arxiv = _arxiv((MON, "feed", 20, 3), (TUE, "feed", 20, 1), n_papers=36)
    rows, notes = _describe(hf, arxiv)
    assert [(r.name, r.n_papers, r.n_days, r.n_filtered) for r in rows] == [
        ("hf-daily", 7, 2, 0),
        ("arxiv-cs-lg", 36, 2, 4),
    ]
    assert all(r.last_error is None and r.backfilled == () for r in rows)
    assert notes[-1] == "Keyword filters removed 4 papers in this window."


def test_describe_coverage_with_every_day_read_from_the_feed_has_no_notes() -> None:
    rows, notes = _describe(_arxiv(*((d, "feed", 10, 0) for d in WEEKDAYS)))
    assert rows[0].gaps == () and rows[0].n_days == 5
    assert notes == []


def test_describe_coverage_lists_arxiv_gaps_only_after_the_first_day_seen() -> None:
    # Monday predates this source (added on Tuesday): not a gap. Thursday was missed: a gap.
    rows, notes = _describe(_arxiv((TUE, "feed", 9, 0), (WED, "feed", 9, 0), (FRI, "feed", 9, 0)))
    assert rows[0].gaps == ("2025-06-12",)
    assert notes == [
        "Source arxiv-cs-lg has nothing yet for 2025-06-12: the day was missed and could not be "
        "backfilled; the next run tries again."
    ]


def test_describe_coverage_finds_no_gaps_for_other_kinds_or_a_source_with_no_days() -> None:
    rss = SourceWindow("blog", "rss", 2, days=((MON, "feed", 2, 0),))
    silent = _arxiv(n_papers=0)
    rows, _ = _describe(rss, silent)
    assert [r.gaps for r in rows] == [(), ()]


def test_describe_coverage_names_how_each_missed_day_was_backfilled() -> None:
    source = _arxiv(
        (WED, "oai", 12, 0),
        (MON, "feed", 30, 0),
        (TUE, "api", 25, 0),
        (THU, "mirror", 4, 0),  # an origin without a friendly name is shown as it is
    )
    rows, notes = _describe(source, expected_days=(MON, TUE, WED, THU))
    assert rows[0].backfilled == (
        "2025-06-10 via the arXiv API: 25 papers",
        "2025-06-11 via arXiv OAI-PMH: 12 papers",
        "2025-06-12 via mirror: 4 papers",
    )
    assert notes == [
        "Source arxiv-cs-lg missed Tue 10 Jun 2025; 25 papers for that day were fetched from "
        "the arXiv API instead.",
        "Source arxiv-cs-lg missed Wed 11 Jun 2025; 12 papers for that day were fetched from "
        "arXiv OAI-PMH instead.",
        "Source arxiv-cs-lg missed Thu 12 Jun 2025; 4 papers for that day were fetched from "
        "mirror instead.",
    ]


def test_describe_coverage_says_an_empty_backfill_may_be_a_holiday() -> None:
    _, notes = _describe(_arxiv((MON, "feed", 30, 0), (TUE, "api", 0, 0)))
    assert (
        "Source arxiv-cs-lg had no announcements on Tue 10 Jun 2025, and the arXiv API has none "
        "either (an arXiv holiday?)." in notes
    )


def test_describe_coverage_says_since_when_a_source_is_failing() -> None:
    down = datetime(2025, 6, 10, 6, 5, tzinfo=UTC)
    failing = _arxiv((MON, "feed", 30, 0), last_error="HTTP 503", down_since=down)
    never = SourceWindow("hf-daily", "hf-daily", 0, last_error="timed out after 30 s")
    rows, notes = _describe(failing, never)
    assert rows[0].last_error == "HTTP 503" and rows[0].down_since == down
    assert notes[0] == (
        "Source arxiv-cs-lg has failed since its last success on Tue 10 Jun 2025 06:05 UTC "
        "(HTTP 503); papers it would have listed may be missing."
    )
    assert notes[-1] == (
        "Source hf-daily has not been read successfully yet (timed out after 30 s); "
        "papers it would have listed may be missing."
    )


def test_describe_coverage_counts_failed_signal_refreshes() -> None:
    _, notes = describe_coverage(
        [_arxiv(*((d, "feed", 8, 0) for d in WEEKDAYS))],
        week=WEEK,
        expected_days=WEEKDAYS,
        n_papers=40,
        refresh_problems=("2506.00001: HTTP 500", "2506.00002: timed out"),
    )
    assert notes == [
        "Hugging Face signals could not be refreshed (2 requests failed); upvotes and stars "
        "shown may be out of date."
    ]


def test_describe_coverage_explains_an_empty_digest_first() -> None:
    down = datetime(2025, 6, 9, 6, tzinfo=UTC)
    failing = _arxiv(n_papers=0, last_error="HTTP 503", down_since=down)
    _, notes = _describe(failing, n_papers=0)
    assert notes[0] == "No papers for 2025-W24: every source is failing."
    assert notes[1].startswith("Source arxiv-cs-lg has failed since")


def test_describe_coverage_gives_each_reason_for_an_empty_digest() -> None:
    def why(*sources: SourceWindow, expected_days: tuple[date, ...] = WEEKDAYS) -> str:
        return _describe(*sources, n_papers=0, expected_days=expected_days)[1][0]

    assert why() == "No papers for 2025-W24: no sources are enabled."
    assert why(_arxiv(n_papers=0), expected_days=()) == (
        "No papers for 2025-W24: arXiv made no announcements in this window yet (none on weekends)."
    )
    assert why(_arxiv((MON, "feed", 12, 12), n_papers=0)) == (
        "No papers for 2025-W24: keyword filters removed all 12 papers."
    )
    assert why(SourceWindow("blog", "rss", 0, days=((MON, "feed", 0, 0),))) == (
        "No papers for 2025-W24: the sources listed nothing in this window."
    )
    both = why(
        _arxiv(n_papers=0, last_error="HTTP 503"),
        SourceWindow("hf-daily", "hf-daily", 0, last_error="HTTP 500"),
        expected_days=(),
    )
    assert both == (
        "No papers for 2025-W24: every source is failing; arXiv made no announcements in this "
        "window yet (none on weekends)."
    )


def test_describe_coverage_does_not_call_a_digest_with_papers_empty() -> None:
    _, notes = _describe(_arxiv(n_papers=0, last_error="HTTP 503"), n_papers=3)
    assert not any(note.startswith("No papers") for note in notes)


def test_describe_coverage_marks_a_source_no_longer_configured_and_finds_no_gaps_in_it() -> None:
    # Round 9: a source removed from (or disabled in) the config keeps a row for the papers it
    # gave the week; it is read no more, so its missing days are no gap and it is not "failing".
    removed = _arxiv((MON, "feed", 9, 0), n_papers=9, configured="removed")
    disabled = SourceWindow("blog", "rss", 2, days=((MON, "feed", 2, 0),), configured="disabled")
    rows, notes = _describe(removed, disabled)
    assert [(r.name, r.n_papers, r.gaps, r.status) for r in rows] == [
        ("arxiv-cs-lg", 9, (), "removed from the config"),
        ("blog", 2, (), "disabled in the config"),
    ]
    assert notes == []
    _, notes = _describe(_arxiv(n_papers=0, configured="removed"), n_papers=0)
    assert notes == ["No papers for 2025-W24: no sources are enabled."]
