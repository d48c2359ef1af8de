"""ingest.py through run.py against a real loopback server: a simulated week, backfill, signals.

The week is 2025-W24 with real arXiv records (tests/arxivfeeds.py): the daily run is missed on
Wednesday 11 June, and Thursday's run must find the gap and backfill it from the API.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from arxivfeeds import api_page, arxiv_id, load_day, rss_day
from conftest import FakeEmbedder
from httpserver import FeedServer, Reply, serve

from pipeline import run
from pipeline.config import Settings, load_settings
from pipeline.store import Store

TUE, WED, THU, FRI = (date(2025, 6, d) for d in (10, 11, 12, 13))
RSS = {"Content-Type": "application/rss+xml"}
ATOM = {"Content-Type": "application/atom+xml"}
OVERLAP = "2506.08013"  # a Tuesday paper that the API's Wednesday window also returns


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with serve() as s:
        yield s


def write_config(tmp_path: Path, server: FeedServer, extra: str = "") -> Settings:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[paths]
data_dir = "data"
digests_dir = "digests"

[fetch]
timeout_s = 5.0
retries = 0

[embed]
progress = false

[digest]
week = "2025-W24"

[arxiv]
api_url = "{server.base}/api/query"
politeness_s = 0.0

[[sources]]
name = "arxiv-cs-lg"
kind = "arxiv-rss"
url = "{server.base}/rss/cs.LG"
categories = ["cs.LG"]

[[sources]]
name = "hf-daily"
kind = "hf-daily"
url = "{server.base}/api/daily_papers"
{extra}
""",
        encoding="utf-8",
    )
    return load_settings(path)


def hf_item(paper_id: str, title: str, upvotes: int) -> dict[str, object]:
    return {
        "paper": {"id": paper_id, "title": title, "upvotes": upvotes, "githubStars": upvotes * 2},
        "title": title,
        "numComments": 3,
        "githubRepo": "https://github.com/example/stablemtl",
    }


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def titled_links(text: str, paper: str) -> int:
    """How often a paper's title links to it (its [abs] link does not count)."""
    return len(re.findall(rf"\[(?!abs\])[^\]]+\]\(https://arxiv\.org/abs/{paper}\)", text))


def test_run_week_with_a_missed_day_backfills_it_exactly_once(tmp_path, server) -> None:
    days = {d: load_day(d.isoformat()) for d in (TUE, WED, THU, FRI)}
    tuesday_overlap = next(r for r in days[TUE] if arxiv_id(r) == OVERLAP)
    settings = write_config(tmp_path, server)
    embedder = FakeEmbedder()
    server.route(
        "/api/daily_papers",
        Reply(200, json.dumps([hf_item(OVERLAP, tuesday_overlap["title"], 12)]).encode()),
    )
    server.route("/api/query", Reply(200, api_page([*days[WED], tuesday_overlap]), ATOM))
    with Store.open(settings.database_path) as store:
        for day in (TUE, THU, FRI):  # Wednesday's run never happened
            server.route("/rss/cs.LG", Reply(200, rss_day(days[day], day), RSS))
            report = run.run_ingest(settings, store, embedder, now=at(day, 6))
            assert all(s.ok for s in report.sources), report.sources
        # Build day: HF upvotes have grown since Tuesday; the build refreshes them.
        server.route("/api/daily_papers", Reply(200, b"[]"))
        server.route(
            f"/api/daily_papers?date={TUE}",
            Reply(200, json.dumps([hf_item(OVERLAP, tuesday_overlap["title"], 40)]).encode()),
        )
        built = run.run_build(settings, store, embedder, now=at(date(2025, 6, 16), 8))
        merged = store.get_paper(f"arxiv:{OVERLAP}")

    api_hits = [h for h in server.hits if h.path.startswith("/api/query")]
    assert len(api_hits) == 1  # one gap, one page; Friday's run finds nothing left to fill
    query = parse_qs(urlsplit(api_hits[0].path).query)["search_query"][0]
    assert query == "(cat:cs.LG) AND submittedDate:[202506091800 TO 202506101800]"

    text = Path(built.digest_path or "").read_text(encoding="utf-8").replace("\\", "")
    every_paper = {arxiv_id(r) for records in days.values() for r in records}
    assert built.n_papers_in_digest == len(every_paper) == 28
    for paper in every_paper:
        assert titled_links(text, paper) == 1, paper
    assert "missed Wed 11 Jun 2025; 8 papers for that day were fetched from the arXiv API instead" in text
    coverage = text.split("## Coverage", 1)[1]
    assert "backfilled 2025-06-11 via the arXiv API: 8 papers" in coverage

    assert merged is not None
    assert merged.sources == ("arxiv-cs-lg", "hf-daily")
    assert merged.announced == TUE  # the API's later copy does not move it to Wednesday
    assert merged.signals.upvotes == 40 and merged.signals.github_stars == 80
    assert "▲ 40" in text


def test_run_ingest_records_a_failed_backfill_and_retries_it_next_run(tmp_path, server) -> None:
    settings = write_config(tmp_path, server)
    tue, thu = load_day(TUE.isoformat()), load_day(THU.isoformat())
    server.route("/api/daily_papers", Reply(200, b"[]"))
    server.route("/api/query", Reply(503, b"down"))
    with Store.open(settings.database_path) as store:
        server.route("/rss/cs.LG", Reply(200, rss_day(tue, TUE), RSS))
        run.run_ingest(settings, store, FakeEmbedder(), now=at(TUE, 6))
        server.route("/rss/cs.LG", Reply(200, rss_day(thu, THU), RSS))
        report = run.run_ingest(settings, store, FakeEmbedder(), now=at(THU, 6))
        assert report.sources[0].ok and report.sources[0].backfilled == ()
        assert {d.day for d in store.list_source_days(TUE, THU)} == {TUE, THU}
        server.route("/api/query", Reply(200, api_page(load_day(WED.isoformat())), ATOM))
        again = run.run_ingest(settings, store, FakeEmbedder(), now=at(THU, 7))
        assert again.sources[0].backfilled == ("2025-06-11 via arXiv API: 8 papers",)
        assert store.list_source_days(WED, WED)[0].origin == "api"


def test_run_build_notes_a_failing_source_and_an_unfilled_gap(tmp_path, server) -> None:
    settings = write_config(tmp_path, server, extra="")
    tue = load_day(TUE.isoformat())
    server.route("/api/daily_papers", Reply(500, b"oops"))
    server.route("/api/query", Reply(503, b"down"))
    with Store.open(settings.database_path) as store:
        server.route("/rss/cs.LG", Reply(200, rss_day(tue, TUE), RSS))
        run.run_ingest(settings, store, FakeEmbedder(), now=at(TUE, 6))
        server.route("/rss/cs.LG", Reply(500, b"down"))
        run.run_ingest(settings, store, FakeEmbedder(), now=at(THU, 6))
        built = run.run_build(settings, store, FakeEmbedder(), now=at(date(2025, 6, 16), 8))
    text = Path(built.digest_path or "").read_text(encoding="utf-8").replace("\\", "")
    assert "Source arxiv-cs-lg has failed since its last success on Tue 10 Jun 2025" in text
    assert "Source hf-daily has not been read successfully yet" in text
    assert "Source arxiv-cs-lg has nothing yet for 2025-06-11, 2025-06-12, 2025-06-13" in text
    assert "Hugging Face signals could not be refreshed" in text


def test_run_build_explains_an_empty_week(tmp_path, server) -> None:
    settings = write_config(tmp_path, server, extra="")
    server.route("/api/daily_papers", Reply(200, b"[]"))
    with Store.open(settings.database_path) as store:
        built = run.run_build(settings, store, FakeEmbedder(), now=at(date(2025, 6, 16), 8))
    text = Path(built.digest_path or "").read_text(encoding="utf-8").replace("\\", "")
    assert "No papers for 2025-W24: the sources listed nothing in this window." in text
