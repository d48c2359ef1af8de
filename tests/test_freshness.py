"""freshness.py: arXiv's announcement calendar, gaps, and the backfill queries (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from urllib.parse import parse_qs, urlsplit

from pipeline.ingest.freshness import (
    announcement_days,
    api_query_url,
    categories_from_url,
    find_gaps,
    latest_announcement_day,
    oai_list_url,
    oai_resume_url,
    oai_sets,
    submission_window,
)

MON, TUE, WED, THU, FRI, SAT, SUN = (date(2025, 6, d) for d in range(9, 16))


def test_latest_announcement_day_follows_the_8pm_eastern_mailing() -> None:
    # 2025-06-10 23:59 UTC is 19:59 EDT Tuesday: Wednesday's mailing is not out yet.
    assert latest_announcement_day(datetime(2025, 6, 10, 23, 59, tzinfo=UTC)) == TUE
    assert latest_announcement_day(datetime(2025, 6, 11, 0, 0, tzinfo=UTC)) == WED
    # Friday evening and the weekend: nothing after Friday's announcement until Sunday 20:00.
    assert latest_announcement_day(datetime(2025, 6, 14, 1, 0, tzinfo=UTC)) == FRI
    assert latest_announcement_day(datetime(2025, 6, 15, 23, 0, tzinfo=UTC)) == FRI
    assert latest_announcement_day(datetime(2025, 6, 16, 0, 30, tzinfo=UTC)) == date(2025, 6, 16)


def test_announcement_days_skip_weekends() -> None:
    assert announcement_days(MON, SUN) == [MON, TUE, WED, THU, FRI]
    assert announcement_days(SAT, SUN) == []


def test_find_gaps_lists_missed_weekdays_since_the_first_day_seen() -> None:
    seen = {TUE, THU}
    assert find_gaps(seen, first_day=TUE, last_day=FRI, max_days=14) == [WED, FRI]
    assert find_gaps(seen, first_day=None, last_day=FRI, max_days=14) == []
    assert find_gaps(set(), first_day=date(2025, 1, 1), last_day=FRI, max_days=2) == [WED, THU, FRI]


def test_submission_window_spans_the_previous_two_weekday_deadlines() -> None:
    start, end = submission_window(TUE)  # Friday 14:00 to Monday 14:00 Eastern
    assert (start.date(), end.date()) == (date(2025, 6, 6), MON)
    assert start.hour == end.hour == 14
    start, end = submission_window(MON)  # Thursday 14:00 to Friday 14:00
    assert (start.date(), end.date()) == (date(2025, 6, 5), date(2025, 6, 6))


def test_api_query_url_asks_for_the_days_submissions_by_category() -> None:
    url = api_query_url(
        "https://export.arxiv.org/api/query", ["cs.LG", "cs.CV"], WED, start=2000, max_results=5000
    )
    params = parse_qs(urlsplit(url).query)
    assert params["search_query"] == [
        "(cat:cs.LG OR cat:cs.CV) AND submittedDate:[202506091800 TO 202506101800]"
    ]
    assert params["start"] == ["2000"] and params["max_results"] == ["2000"]  # arXiv's page cap
    assert params["sortBy"] == ["submittedDate"]


def test_oai_urls_and_sets() -> None:
    assert oai_sets(["cs.LG", "cs.CV", "hep-th", "math.GT", "stat.ML"]) == [
        "cs",
        "physics:hep-th",
        "math",
        "stat",
    ]
    first = parse_qs(urlsplit(oai_list_url("https://oaipmh.arxiv.org/oai", "cs", MON)).query)
    assert first == {
        "verb": ["ListRecords"],
        "metadataPrefix": ["arXiv"],
        "set": ["cs"],
        "from": ["2025-06-06"],
        "until": ["2025-06-09"],
    }
    assert "resumptionToken=1122234%7C88001" in oai_resume_url("https://x/oai", "1122234|88001")


def test_categories_from_url_reads_plus_joined_rss_urls() -> None:
    assert categories_from_url("https://rss.arxiv.org/rss/cs.LG+cs.CV") == ["cs.LG", "cs.CV"]
    assert categories_from_url("https://rss.arxiv.org/atom/hep-th") == ["hep-th"]
    assert categories_from_url("/data/arxiv_rss2_cs.LG_2026-04-27_trimmed3items.xml") == []
