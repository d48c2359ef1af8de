"""Every recorded feed in tests/data/feeds goes through the whole ingest path without a traceback.

All of them are ingested in ONE run, as the source kind a user would configure for them, from
file:// URLs (the same code path as http). A feed either stores papers or fails with a one-line
error that names its source; one bad feed never stops the others.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from conftest import FakeEmbedder, make_settings
from recorded import read_recorded_body

from pipeline import run
from pipeline.store import Store

FEEDS = Path(__file__).parent / "data" / "feeds"
# Real feeds from publishers must all ingest; these are not usable feeds and must fail cleanly.
MUST_FAIL = {
    "badinput_feedrs_rss2.0_invalid_1.xml",  # cut off mid-document
    "feedparser_tests/illformed/rss_empty_document.xml",
    "feedparser_tests/illformed/aaa_illformed.xml",
}
# feedparser's own ill-formed test inputs: each may store what it can or fail with a clean error
# (most hold one item without a usable title).
TEST_SUITE = "feedparser_tests/"
# Feeds whose papers we know: (kind, at least this many papers stored).
EXPECTED_PAPERS = {
    "arxiv_rss2_cs.LG_2026-04-27_trimmed3items.xml": ("arxiv-rss", 3),
    "arxiv_api_atom_newformat_all-testing_2026-04-12_100entries.recorded.json": ("arxiv-api", 100),
    "arxiv_api_atom_newformat_id_list-0000.0000_0results.recorded.json": ("arxiv-api", 0),
    "hf_daily_papers_api_2026-06-12_30entries.json": ("hf-daily", 30),
    "journal_wiley_taxon_toc_rss2_prism_2021-12-21.xml": ("rss", 60),
    "pubmed_search_rss2_new-species_2021-12-21.xml": ("rss", 15),
    "biorxiv_rss1.0_rdf_genomics_2023-12-16_1item.xml": ("rss", 1),
    "takara_tldr_daily_ai_papers_rss_2026-04-30.xml": ("rss", 50),
}


def _kind(name: str) -> str:
    base = Path(name).name
    if base.startswith("arxiv_rss2"):
        return "arxiv-rss"
    if base.startswith("arxiv_api"):
        return "arxiv-api"
    if base.startswith("hf_daily_papers_api"):
        return "hf-daily"
    return "file" if base.endswith(".json") else "rss"


def _source_name(index: int) -> str:
    return f"feed-{index:02d}"


def test_every_fixture_feed_ingests_without_a_traceback(tmp_path: Path) -> None:
    feeds = sorted(p.relative_to(FEEDS).as_posix() for p in FEEDS.rglob("*") if p.is_file())
    assert len(feeds) >= 60  # all of ../shared/fixtures/feeds was copied
    sources = []
    for index, name in enumerate(feeds):
        path = FEEDS / name
        if name.endswith(".recorded.json"):  # an HTTP recording: ingest the body it recorded
            path = tmp_path / f"{index}.xml"
            path.write_bytes(read_recorded_body(FEEDS / name))
        sources.append({"name": _source_name(index), "kind": _kind(name), "url": path.as_uri()})
    settings = make_settings(tmp_path, sources=sources)

    with Store.open(":memory:") as store:
        report = run.run_ingest(
            settings, store, FakeEmbedder(), now=datetime(2026, 5, 4, 6, tzinfo=UTC)
        )
        stored = {
            _source_name(i): store.list_source_days(
                datetime(2026, 5, 4).date(), datetime(2026, 5, 4).date(), source=_source_name(i)
            )
            for i in range(len(feeds))
        }

    results = {r.name: r for r in report.sources}
    assert len(results) == len(feeds)
    failed = set()
    for index, name in enumerate(feeds):
        result = results[_source_name(index)]
        if not result.ok:
            failed.add(name)
            assert result.error and "\n" not in result.error and "Traceback" not in result.error
            assert result.error.startswith(_source_name(index)), result.error
    assert failed >= MUST_FAIL
    assert {n for n in failed - MUST_FAIL if not n.startswith(TEST_SUITE)} == set()
    for name, (kind, n_min) in EXPECTED_PAPERS.items():
        index = feeds.index(name)
        assert _kind(name) == kind
        result = results[_source_name(index)]
        assert result.ok and result.n_new + result.n_updated >= n_min, (name, result)
        if kind != "arxiv-rss":  # arXiv days are dated by announcement, the rest by fetch day
            assert stored[_source_name(index)], name
