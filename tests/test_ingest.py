"""ingest.py through run.py against a real loopback server: a simulated week, backfill, signals.

The week is 2025-W24 with real arXiv records (tests/arxivfeeds.py): the daily run is missed on
Wednesday 11 June, and Thursday's run must find the gap and backfill it from the API.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from arxivfeeds import api_page, arxiv_id, load_day, rss_day
from conftest import FakeEmbedder, make_settings
from httpserver import FeedServer, Reply
from test_sources_rss import RELATIVE_ATOM  # RFC 4287's example, its link made relative

from pipeline import run
from pipeline.config import Settings
from pipeline.ingest.fetch import make_client
from pipeline.store import Store

TUE, WED, THU, FRI = (date(2025, 6, d) for d in (10, 11, 12, 13))
RSS = {"Content-Type": "application/rss+xml"}
ATOM = {"Content-Type": "application/atom+xml"}
OVERLAP = "2506.08013"  # a Tuesday paper that the API's Wednesday window also returns


def _settings(
    tmp_path: Path,
    server: FeedServer,
    *,
    arxiv_exclude: list[str] | None = None,
    **sections: object,
) -> Settings:
    """An arXiv RSS source and the HF daily papers, both served by `server`."""
    arxiv: dict[str, object] = {
        "name": "arxiv-cs-lg",
        "kind": "arxiv-rss",
        "url": f"{server.base}/rss/cs.LG",
        "categories": ["cs.LG"],
    }
    if arxiv_exclude is not None:
        arxiv["exclude"] = arxiv_exclude
    hf = {"name": "hf-daily", "kind": "hf-daily", "url": f"{server.base}/api/daily_papers"}
    return make_settings(
        tmp_path,
        fetch={"timeout_s": 5.0, "retries": 0},
        digest={"week": "2025-W24"},
        arxiv={"api_url": f"{server.base}/api/query", "politeness_s": 0.0},
        sources=[arxiv, hf],
        **sections,
    )


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
    settings = _settings(tmp_path, server)
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
    # every paper exactly once in the sidecar (the Markdown shows themes compactly: at most once)
    sidecar = json.loads(Path(built.digest_path or "").with_suffix(".json").read_text("utf-8"))
    listed = [p["paper_id"] for s in sidecar["sections"] for p in s["papers"]]
    assert sorted(listed) == sorted(f"arxiv:{paper}" for paper in every_paper)
    for paper in every_paper:
        assert titled_links(text, paper) <= 1, paper
    assert (
        "missed Wed 11 Jun 2025; 8 papers for that day were fetched from the arXiv API instead"
        in text
    )
    coverage = text.split("## Coverage", 1)[1]
    assert "backfilled 2025-06-11 via the arXiv API: 8 papers" in coverage

    assert merged is not None
    assert merged.sources == ("arxiv-cs-lg", "hf-daily")
    assert merged.announced == TUE  # the API's later copy does not move it to Wednesday
    assert merged.signals.upvotes == 40 and merged.signals.github_stars == 80
    shown = next(
        p for s in sidecar["sections"] for p in s["papers"] if p["paper_id"] == merged.paper_id
    )
    assert shown["upvotes"] == 40  # the digest has the refreshed count


@pytest.mark.parametrize(
    ("body", "size"),
    [(b"", "0 bytes"), (b"\n\n", "2 bytes, only whitespace")],
    ids=["empty", "blank"],
)
def test_a_feed_answering_an_empty_body_fails_only_its_source_naming_it(
    tmp_path, server, body: bytes, size: str
) -> None:
    # Round 27 (users): a feed that answered 200 with 0 bytes read "arxiv-cs-lg: FAILED:
    # arxiv-cs-lg: empty document" (a JSON page's "not valid JSON (Expecting value: line 1
    # column 1 (char 0))"), not naming its URL nor that the server had sent nothing; round 28,
    # the same for a body of blank lines ("\n\n").
    settings = _settings(tmp_path, server)
    server.route("/rss/cs.LG", Reply(200, body, RSS))
    server.route("/api/daily_papers", Reply(200, json.dumps([hf_item(OVERLAP, "A", 3)]).encode()))
    with Store.open(settings.database_path) as store:
        report = run.run_ingest(settings, store, FakeEmbedder(), now=at(TUE, 6))
    arxiv, hf = report.sources
    assert hf.ok and hf.n_new == 1  # the other source still ran
    assert arxiv.error == (
        f"{server.base}/rss/cs.LG: the server sent an empty body (HTTP 200, {size})"
    )
    assert f"  arxiv-cs-lg: FAILED: {arxiv.error}" in run.describe_report(report).splitlines()


def test_run_ingest_records_a_failed_backfill_and_retries_it_next_run(tmp_path, server) -> None:
    settings = _settings(tmp_path, server)
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
        assert "    backfilled 2025-06-11 via arXiv API: 8 papers" in run.describe_report(again)
        assert store.list_source_days(WED, WED)[0].origin == "api"


def test_run_build_notes_a_failing_source_and_an_unfilled_gap(tmp_path, server) -> None:
    settings = _settings(tmp_path, server)
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


def test_run_build_explains_an_empty_week_and_publishes_nothing(tmp_path, server) -> None:
    settings = _settings(tmp_path, server)
    server.route("/api/daily_papers", Reply(200, b"[]"))
    with Store.open(settings.database_path) as store:
        built = run.run_build(settings, store, FakeEmbedder(), now=at(date(2025, 6, 16), 8))
    assert built.digest_path is None and built.output_paths == []
    assert built.not_done == [
        "No papers for 2025-W24: the sources listed nothing in this window.",
        "no papers for 2025-W24: no digest written or sent",
    ]
    assert not settings.paths.digests_dir.exists() or not any(settings.paths.digests_dir.iterdir())


def test_backfill_via_oai_pages_through_resumption_tokens(tmp_path, server) -> None:
    from pipeline.run import backfill

    oai = Path(__file__).parent / "data" / "oai"
    server.route(
        "/oai",
        Reply(200, (oai / "arxiv_oai_ListRecords_set-cs_page88_first20.xml").read_bytes()),
        Reply(200, (oai / "arxiv_oai_ListRecords_set-cs_page89_first20_lastpage.xml").read_bytes()),
    )
    settings = make_settings(
        tmp_path,
        arxiv={"oai_url": f"{server.base}/oai", "backfill_via": "oai", "politeness_s": 0.0},
        sources=[
            {
                "name": "arxiv-cs-cv",
                "kind": "arxiv-rss",
                "url": f"{server.base}/rss/cs.CV",
                "categories": ["cs.CV"],
            }
        ],
    )
    fri, tue = date(2015, 11, 13), date(2015, 11, 17)
    with Store.open(":memory:") as store, make_client(user_agent="t", timeout_s=5) as c:
        for day in (fri, tue):
            store.save_source_day("arxiv-cs-cv", day, "feed", at(day, 6), n_entries=1)
        filled = backfill.backfill_gaps(settings, store, c, now=at(tue, 6))
        papers = store.list_papers(filled[0].paper_ids)
    assert [h.path.split("&", 1)[0] for h in server.hits] == [
        "/oai?verb=ListRecords",
        "/oai?verb=ListRecords",
    ]
    assert "set=cs&from=2015-11-13&until=2015-11-16" in server.hits[0].path
    assert "resumptionToken=1122234%7C88001" in server.hits[1].path
    # Monday 16 Nov's window is Thu 12 - Fri 13 Nov; only cs.CV records submitted then count.
    assert filled[0].describe() == ("2015-11-16 via arXiv OAI-PMH: 5 papers",)
    assert sorted(p.paper_id for p in papers) == [
        "arxiv:1511.04377",
        "arxiv:1511.04384",
        "arxiv:1511.04397",
        "arxiv:1511.04401",
        "arxiv:1511.04404",
    ]
    assert {(p.announced, p.announce_type) for p in papers} == {(date(2015, 11, 16), "new")}


def test_filters_and_replace_announcements(tmp_path, server) -> None:
    """Global and per-source filters drop papers (counted per day); a 'replace' the source does
    not keep updates a stored paper's version but never adds a paper."""
    tue = load_day(TUE.isoformat())
    settings = _settings(
        tmp_path, server, arxiv_exclude=["diffusion"], filters={"exclude": ["registers"]}
    )
    feed = rss_day(tue, TUE)
    server.route("/api/daily_papers", Reply(200, b"[]"))
    server.route("/rss/cs.LG", Reply(200, feed, RSS))
    with Store.open(settings.database_path) as store:
        report = run.run_ingest(settings, store, FakeEmbedder(), now=at(TUE, 6))
        kept = {p.paper_id for p in store.list_papers_between(TUE, TUE)}
        # StableMTL ("latent diffusion") and "Vision Transformers Don't Need Trained Registers"
        assert "arxiv:2506.08013" not in kept and "arxiv:2506.08010" not in kept
        assert report.sources[0].n_filtered >= 2
        assert store.list_source_days(TUE, TUE, source="arxiv-cs-lg")[0].n_filtered >= 2
        first = sorted(kept)[0].removeprefix("arxiv:")
        replaced = feed.replace(
            f"{first}v1 Announce Type: new".encode(), f"{first}v2 Announce Type: replace".encode()
        )
        replaced = replaced.replace(
            b"2506.08007v1 Announce Type: new", b"2506.08007v1 Announce Type: replace"
        )
        server.route(
            "/rss/cs.LG",
            Reply(
                200,
                replaced.replace(b"<arxiv:announce_type>new", b"<arxiv:announce_type>replace"),
                RSS,
            ),
        )
        run.run_ingest(settings, store, FakeEmbedder(), now=at(TUE, 7))
        stored = store.get_paper(f"arxiv:{first}")
        assert stored is not None and stored.version == 2
        assert {p.paper_id for p in store.list_papers_between(TUE, TUE)} == kept


def test_backfill_via_the_api_retries_an_empty_page_inside_the_range(tmp_path, server) -> None:
    """The arXiv API sometimes answers a page inside a result set with no entries (a known
    flake of export.arxiv.org: the same query asked again gives them). The backfill took the
    empty page for the end, recorded the day as filled with the papers of the pages before it,
    and the rest of the day was never fetched: lost without a word. The page is asked again;
    an API that keeps answering empty fails the day, which the next run fetches again."""
    wed = load_day(WED.isoformat())
    first, rest = wed[:5], wed[5:]
    total = len(wed)
    tue, thu = load_day(TUE.isoformat()), load_day(THU.isoformat())
    settings = _settings(tmp_path, server)
    server.route("/api/daily_papers", Reply(200, b"[]"))
    empty = Reply(200, api_page([], total=total, start=len(first)), ATOM)
    with Store.open(settings.database_path) as store:
        server.route("/rss/cs.LG", Reply(200, rss_day(tue, TUE), RSS))
        run.run_ingest(settings, store, FakeEmbedder(), now=at(TUE, 6))
        # The API flakes once on the second page: asked again, it gives the rest.
        server.route(
            "/api/query",
            Reply(200, api_page(first, total=total), ATOM),
            empty,
            Reply(200, api_page(rest, total=total, start=len(first)), ATOM),
        )
        server.route("/rss/cs.LG", Reply(200, rss_day(thu, THU), RSS))
        report = run.run_ingest(settings, store, FakeEmbedder(), now=at(THU, 6))
        assert report.sources[0].backfilled == (f"2025-06-11 via arXiv API: {total} papers",)
        assert {p.paper_id for p in store.list_papers_between(WED, WED)} == {
            f"arxiv:{arxiv_id(r)}" for r in wed
        }
    start = [parse_qs(urlsplit(h.path).query)["start"][0] for h in server.hits if "query" in h.path]
    assert start == ["0", "5", "5"]


def test_backfill_via_the_api_fails_a_day_whose_pages_stay_empty(tmp_path, server, caplog) -> None:
    """An API that keeps answering an empty page inside the range fails the day (named, with
    how many of how many papers it gave): the papers it gave are stored, the day is not
    recorded as filled, and the next run fetches it whole."""
    wed = load_day(WED.isoformat())
    tue, thu = load_day(TUE.isoformat()), load_day(THU.isoformat())
    settings = _settings(tmp_path, server)
    server.route("/api/daily_papers", Reply(200, b"[]"))
    with Store.open(settings.database_path) as store:
        server.route("/rss/cs.LG", Reply(200, rss_day(tue, TUE), RSS))
        run.run_ingest(settings, store, FakeEmbedder(), now=at(TUE, 6))
        server.route(
            "/api/query",
            Reply(200, api_page(wed[:5], total=len(wed)), ATOM),
            Reply(200, api_page([], total=len(wed), start=5), ATOM),
        )
        server.route("/rss/cs.LG", Reply(200, rss_day(thu, THU), RSS))
        report = run.run_ingest(settings, store, FakeEmbedder(), now=at(THU, 6))
        assert report.sources[0].backfilled == ()
        assert {d.day for d in store.list_source_days(TUE, THU)} == {TUE, THU}
        assert (
            "source arxiv-cs-lg: backfill of 2025-06-11 failed: the arXiv API gave no entries"
            " at 5 of its 8 results for 2025-06-11, 3 times; the 5 it gave are stored, and the"
            " day is fetched again next run"
        ) in caplog.text
        stored = {p.paper_id for p in store.list_papers_between(WED, WED)}
        assert stored == {f"arxiv:{arxiv_id(r)}" for r in wed[:5]}
        server.route("/api/query", Reply(200, api_page(wed), ATOM))
        again = run.run_ingest(settings, store, FakeEmbedder(), now=at(THU, 7))
        assert again.sources[0].backfilled == (f"2025-06-11 via arXiv API: {len(wed)} papers",)


def test_a_filter_edit_reads_an_unchanged_cached_feed_again_once(tmp_path, server) -> None:
    # Round 28 (users): after an edit of [filters] (or a source's own include/exclude), the
    # feed, unchanged, answered the stored ETag with 304 Not Modified and was not read again:
    # the papers the old filters had dropped stayed out until the feed itself changed.
    feed = (Path(__file__).parent / "data" / "feeds").joinpath(
        "arxiv_rss2_cs.LG_2026-04-27_trimmed3items.xml"
    )
    url = server.route("/feed", Reply(200, feed.read_bytes(), RSS, etag='"v1"'))

    def ingest(filters: list[str], own: list[str]) -> tuple[int, int, str | None]:
        source = {"name": "lg", "kind": "rss", "url": url, "exclude": own}
        settings = make_settings(
            tmp_path, fetch={"retries": 0}, filters={"exclude": filters}, sources=[source]
        )
        with Store.open(settings.database_path) as store:
            (result,) = run.run_ingest(settings, store, FakeEmbedder(), now=at(TUE, 6)).sources
        assert result.ok, result.error
        return result.n_entries, result.n_new, server.hits[-1].headers.get("If-None-Match")

    assert ingest(["anomaly detection"], []) == (3, 1, None)
    assert ingest(["anomaly detection"], []) == (0, 0, '"v1"')  # 304: nothing changed
    assert ingest([], ["clinical"]) == (3, 1, None)  # [filters] edited: read whole, once
    assert ingest([], ["clinical"]) == (0, 0, '"v1"')
    assert ingest([], []) == (3, 1, None)  # the source's own exclude edited
    assert ingest([], []) == (0, 0, '"v1"')


def test_ingest_source_resolves_relative_links_against_the_feed_it_was_redirected_to(
    tmp_path: Path,
) -> None:
    """Round 29: a feed moved to another host (the old address answering 301) had its relative
    item links made into the old host's, where no article is: the paper's link was dead, and its
    id (`url:`) changed with the host the user happened to configure."""
    from httpserver import serve

    with serve() as old, serve() as new:
        moved_to = new.route("/journal/atom.xml", Reply(200, RELATIVE_ATOM, ATOM))
        old.route("/feed", Reply(301, headers={"Location": moved_to}))
        source = {"name": "journal", "kind": "rss", "url": f"{old.base}/feed"}
        settings = make_settings(tmp_path, fetch={"retries": 0}, sources=[source])
        with Store.open(settings.database_path) as store:
            report = run.run_ingest(settings, store, FakeEmbedder(), now=at(FRI, 6))
            papers = store.list_papers_between(date(2003, 1, 1), date(2003, 12, 31))
    assert report.n_new == 1 and report.sources[0].ok, report.sources
    assert [p.paper_id for p in papers] == [f"url:{new.base}/blog/2003/12/13/atom03"]


# A single sign-on page as a library proxy serves it for a journal feed behind a login: XHTML,
# an XML declaration and a comment before its doctype.
_LOGIN_PAGE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Shibboleth IdP -->
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN"
  "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" lang="en"><head><title>Sign in</title></head>
<body><form method="post" action="/idp/profile/SAML2/Redirect/SSO"><input name="j_username"/>
<input type="password" name="j_password"/></form></body></html>
"""


@pytest.mark.parametrize("kind", ["rss", "arxiv-rss", "arxiv-api"])
def test_ingest_source_says_an_xhtml_login_page_is_a_page(
    tmp_path: Path, server: FeedServer, kind: str
) -> None:
    """Round 29: a feed behind a login answered 200 with an XHTML sign-in page; the source
    failed as "not an RSS, Atom or RDF feed", not saying that a web page came back."""
    url = server.route("/feed", Reply(200, _LOGIN_PAGE, {"Content-Type": "text/html"}))
    source = {"name": "journal", "kind": kind, "url": url}
    settings = make_settings(tmp_path, fetch={"retries": 0}, sources=[source])
    with Store.open(settings.database_path) as store:
        report = run.run_ingest(settings, store, FakeEmbedder(), now=at(FRI, 6))
    error = report.sources[0].error or ""
    assert "the source gave an HTML page (a login, a captcha, an error page?)" in error, error


def test_backfill_via_the_api_pages_past_an_entry_it_skips(tmp_path, server, caplog) -> None:
    """Round 29: the next page's `start` counted the entries kept, not those the API gave, so
    an entry skipped for having no title was asked for again; one last in the day came back
    alone, and the day failed at every run ("none of the 1 items has a usable title"), never
    recorded as filled."""
    wed = load_day(WED.isoformat())
    untitled = {**wed[7], "title": ""}
    total = len(wed)
    tue, thu = load_day(TUE.isoformat()), load_day(THU.isoformat())
    settings = _settings(tmp_path, server)
    server.route("/api/daily_papers", Reply(200, b"[]"))
    with Store.open(settings.database_path) as store:
        server.route("/rss/cs.LG", Reply(200, rss_day(tue, TUE), RSS))
        run.run_ingest(settings, store, FakeEmbedder(), now=at(TUE, 6))
        server.route(
            "/api/query",
            Reply(200, api_page(wed[:5], total=total), ATOM),
            Reply(200, api_page([*wed[5:7], untitled], total=total, start=5), ATOM),
            Reply(200, api_page([untitled], total=total, start=7), ATOM),
        )
        server.route("/rss/cs.LG", Reply(200, rss_day(thu, THU), RSS))
        report = run.run_ingest(settings, store, FakeEmbedder(), now=at(THU, 6))
        assert report.sources[0].backfilled == ("2025-06-11 via arXiv API: 7 papers",)
        assert {d.day for d in store.list_source_days(TUE, THU)} == {TUE, WED, THU}
    start = [parse_qs(urlsplit(h.path).query)["start"][0] for h in server.hits if "query" in h.path]
    assert start == ["0", "5"]


# The page export.arxiv.org sends with its HTTP 400 for a query it cannot read, as recorded in
# arXiv/arxiv-search issue 257 (`start=foo`); its author block and closing tags completed.
_ARXIV_400 = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed
  xmlns="http://www.w3.org/2005/Atom">
  <link href="http://arxiv.org/api/query?search_query%3Dall%3Aelectron%26id_list%3D%26start%3Dfoo" rel="self" type="application/atom+xml"/>
  <title type="html">ArXiv Query: search_query=all:electron&amp;id_list=&amp;start=foo</title>
  <id>http://arxiv.org/api/UWzh+Yg7RhgQkCAe0CazZj6gCc4</id>
  <updated>2020-01-17T00:00:00-05:00</updated>
  <opensearch:totalResults
    xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">1
  </opensearch:totalResults>
  <entry>
    <id>http://arxiv.org/api/errors#start_must_be_an_integer</id>
    <title>Error</title>
    <summary>start must be an integer</summary>
    <updated>2020-01-17T00:00:00-05:00</updated>
    <link href="http://arxiv.org/api/errors#start_must_be_an_integer" rel="alternate" type="text/html"/>
    <author>
      <name>arXiv api core</name>
    </author>
  </entry>
</feed>
"""  # noqa: E501


def test_an_arxiv_api_source_says_why_the_api_refused_its_query(tmp_path, server) -> None:
    """Round 29: an `arxiv-api` source whose query the API cannot read (a mistyped `start`, an
    id list with a link in it) failed as "HTTP 400", though the API's answer says what is
    wrong; the source's error now carries it."""
    url = server.route("/api/query", Reply(400, _ARXIV_400, ATOM))
    query = f"{url}?search_query=all:electron&start=foo"
    source = {"name": "electrons", "kind": "arxiv-api", "url": query}
    settings = make_settings(tmp_path, fetch={"retries": 0}, sources=[source])
    with Store.open(settings.database_path) as store:
        report = run.run_ingest(settings, store, FakeEmbedder(), now=at(FRI, 6))
    assert report.sources[0].error == (
        f"{query}: HTTP 400: arXiv API error: start must be an integer"
    ), report.sources[0].error


def test_a_gzip_coded_feed_cut_short_fails_and_is_read_whole_next_run(tmp_path, server) -> None:
    """Round 29: a feed sent with Content-Encoding gzip whose gzip data was cut short (a proxy
    that stored half of it, its Content-Length matching what it sent) was read as far as it
    went: 11 of Wiley's 66 items were stored with no more than a "feed is not clean" warning,
    and its ETag was saved, so the next run's 304 kept the other 55 out for good. The source
    now fails, saying the data is cut off, and the next run reads the feed whole."""
    import gzip

    feed = (Path(__file__).parent / "data" / "feeds").joinpath(
        "journal_wiley_taxon_toc_rss2_prism_2021-12-21.xml"
    )
    whole = gzip.compress(feed.read_bytes())
    coded = {**RSS, "Content-Encoding": "gzip"}
    url = server.route(
        "/feed",
        Reply(200, whole[: len(whole) // 2], coded, etag='"v1"'),
        Reply(200, whole, coded, etag='"v1"'),
    )
    source = {"name": "taxon", "kind": "rss", "url": url}
    settings = make_settings(tmp_path, fetch={"retries": 0}, sources=[source])
    with Store.open(settings.database_path) as store:
        cut = run.run_ingest(settings, store, FakeEmbedder(), now=at(FRI, 6))
        again = run.run_ingest(settings, store, FakeEmbedder(), now=at(FRI, 7))
    assert cut.n_new == 0, cut.sources
    assert "gzip-compressed data that is cut off after" in (cut.sources[0].error or "")
    assert again.sources[0].ok and again.sources[0].n_entries == 66, again.sources
    assert "If-None-Match" not in server.hits[1].headers
