"""arXiv RSS 2.0 and API Atom parsers, against recorded feeds (tests/data/SOURCES.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from recorded import read_recorded_body

from pipeline.errors import ParseError
from pipeline.ingest.sources import PARSERS, parse_source
from pipeline.ingest.sources.arxiv import parse_arxiv_api, parse_arxiv_rss

FEEDS = Path(__file__).parent / "data" / "feeds"


def read_feed(name: str) -> bytes:
    """A fixture feed's bytes; `.recorded.json` files hold the HTTP body in `.body`."""
    if name.endswith(".recorded.json"):
        return read_recorded_body(FEEDS / name)
    return (FEEDS / name).read_bytes()


def test_parse_arxiv_rss_reads_announce_type_and_version() -> None:
    entries = parse_arxiv_rss(read_feed("arxiv_rss2_cs.LG_2026-04-27_trimmed3items.xml"), "cs.LG")
    assert [e.raw_id for e in entries] == ["2604.21952v1", "2604.21953v1", "2604.21956v1"]
    first = entries[0]
    assert first.source == "cs.LG"
    assert first.announce_type == "new"
    assert first.title == (
        "Focus Session: Hardware and Software Techniques for Accelerating Multimodal "
        "Foundation Models"
    )
    assert first.link == "https://arxiv.org/abs/2604.21952"
    assert first.categories == ("cs.LG", "cs.AI", "cs.AR", "cs.NE", "cs.RO")


def test_parse_arxiv_rss_strips_the_description_prefix() -> None:
    first = parse_arxiv_rss(read_feed("arxiv_rss2_cs.LG_2026-04-27_trimmed3items.xml"), "cs.LG")[0]
    assert first.abstract.startswith("This work presents a multi-layered methodology")
    assert "Announce Type" not in first.abstract and "arXiv:" not in first.abstract
    assert "visual resolution & stride" in first.abstract  # &amp; unescaped
    assert first.abstract.endswith("energy-efficient spiking-MFMs.")


def test_parse_arxiv_rss_splits_dc_creator_into_authors() -> None:
    entries = parse_arxiv_rss(read_feed("arxiv_rss2_cs.CL_2026-04-27_trimmed3items.xml"), "cs.CL")
    # "Anamta Khan, Ratna Kandala,  Deepti, Sheza Munir, Joyojeet Pal": a double space, a mononym
    assert entries[0].authors == (
        "Anamta Khan",
        "Ratna Kandala",
        "Deepti",
        "Sheza Munir",
        "Joyojeet Pal",
    )
    assert len(entries[1].authors) == 8
    assert entries[2].authors == ("Etha Tianze Hua", "Tian Yun", "Ellie Pavlick")


def test_parse_arxiv_rss_announced_is_the_local_pubdate() -> None:
    # pubDate "Mon, 27 Apr 2026 00:00:00 -0400" is 04:00 UTC on the same calendar day
    entries = parse_arxiv_rss(read_feed("arxiv_rss2_cs.AI_2026-04-27_trimmed3items.xml"), "cs.AI")
    assert {e.announced for e in entries} == {date(2026, 4, 27)}
    assert entries[0].published == datetime(2026, 4, 27, 4, 0, tzinfo=UTC)
    assert entries[0].raw_id == "2604.21935v1"
    assert entries[0].authors == ("Michael Cooper", "Samuel Cooper")


def test_parse_arxiv_rss_saturday_feed_is_empty_not_an_error() -> None:
    feed = read_feed("arxiv_rss2_cs.CL_2026-08-01_saturday_empty_0items.xml")
    assert parse_arxiv_rss(feed, "cs.CL") == []


def test_parse_arxiv_api_new_format() -> None:
    feed = read_feed("arxiv_api_atom_newformat_cat-csLG-OR-csAI_2026-04-30_20entries.xml")
    entries = parse_arxiv_api(feed, "api")
    assert len(entries) == 20
    first = entries[0]
    assert first.raw_id == "http://arxiv.org/abs/2604.26951v1"
    assert first.link == "https://arxiv.org/abs/2604.26951v1"
    assert first.pdf_url == "https://arxiv.org/pdf/2604.26951v1"
    assert first.title.startswith("Turning the TIDE: Cross-Architecture Distillation")
    assert first.authors == ("Gongbo Zhang", "Wen Wang", "Ye Tian", "Li Yuan")
    assert first.published == datetime(2026, 4, 29, 17, 59, 1, tzinfo=UTC)
    assert first.updated == first.published
    assert first.doi is None
    assert entries[9].doi == "10.1007/978-3-031-85252-7_10"


def test_parse_arxiv_api_puts_primary_category_first() -> None:
    feed = read_feed("arxiv_api_atom_newformat_cat-csLG-OR-csAI_2026-04-30_20entries.xml")
    entries = parse_arxiv_api(feed, "api")
    assert entries[2].categories == ("math.OC", "cs.LG")
    assert entries[7].categories == ("eess.SP", "cs.AI", "cs.AR", "cs.ET", "eess.SY")
    assert all(len(set(e.categories)) == len(e.categories) for e in entries)


def test_parse_arxiv_api_legacy_format_collapses_wrapped_text() -> None:
    feed = read_feed("arxiv_api_atom_legacyformat_id_list-1111.2011v2_2016_1entry.xml")
    [entry] = parse_arxiv_api(feed, "api")
    assert entry.raw_id == "http://arxiv.org/abs/1111.2011v2"
    assert entry.title == (
        "Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large Connectivity Limit"
    )
    assert entry.abstract.startswith(
        "Theoretical description of anisotropic systems, such as layered superconductors"
    )
    assert "\n" not in entry.abstract
    assert entry.authors == ("James M. Murray", "Adrian Del Maestro", "Zlatko Tesanovic")
    assert entry.doi == "10.1103/PhysRevB.85.115117"
    assert entry.categories == ("cond-mat.str-el", "cond-mat.stat-mech")
    assert entry.published == datetime(2011, 11, 8, 18, 48, 36, tzinfo=UTC)
    assert entry.updated == datetime(2012, 4, 2, 12, 38, 54, tzinfo=UTC)
    assert entry.pdf_url == "http://arxiv.org/pdf/1111.2011v2"


def test_parse_arxiv_api_zero_results_is_empty() -> None:
    feed = read_feed("arxiv_api_atom_newformat_id_list-0000.0000_0results.recorded.json")
    assert parse_arxiv_api(feed, "api") == []


def test_parse_arxiv_api_error_entry_raises_parse_error() -> None:
    feed = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>arXiv Query</title><entry>'
        b"<id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.123456</id>"
        b"<title>Error</title><summary>incorrect id format for 1234.123456</summary>"
        b"</entry></feed>"
    )
    with pytest.raises(ParseError, match="api: arXiv API error: incorrect id format"):
        parse_arxiv_api(feed, "api")


@pytest.mark.parametrize("kind", ["arxiv-rss", "arxiv-api"])
@pytest.mark.parametrize(
    "content",
    [b"", b"   \n", b"<html><body><h1>503 Service Unavailable</h1></body></html>", b"\x00\xff\xfe"],
)
def test_parse_arxiv_unusable_bytes_raise_parse_error(kind: str, content: bytes) -> None:
    with pytest.raises(ParseError, match=r"^arxiv-feed: "):
        parse_source(kind, content, "arxiv-feed")


def test_parsers_registry_names_every_kind() -> None:
    assert set(PARSERS) == {"arxiv-rss", "arxiv-api", "hf-daily", "rss", "file"}
    assert PARSERS["arxiv-rss"] is parse_arxiv_rss


ISSUE14 = Path(__file__).parent / "data" / "issue14"


def test_parse_arxiv_rss_reads_atom_iso_dates_as_the_announcement_day() -> None:
    # rss.arxiv.org/atom dates are ISO 8601, not e-mail dates (issue 14, item 1).
    content = (ISSUE14 / "arxiv_atom_cs.LG_2026-04-27_from-rss2_truncated.xml").read_bytes()
    first = parse_arxiv_rss(content, "cs.LG atom")[0]
    assert first.published == datetime(2026, 4, 27, 4, 0, tzinfo=UTC)
    assert first.announced == date(2026, 4, 27)
    assert first.announce_type == "new"
    assert first.abstract.startswith("This work presents a multi-layered methodology")


def test_parse_arxiv_rss_reads_the_arxiv_doi_element() -> None:
    feed = (FEEDS / "arxiv_rss2_cs.LG_2026-04-27_trimmed3items.xml").read_text(encoding="utf-8")
    # The element rss.arxiv.org adds when the authors registered a DOI (issue 14, item 2).
    feed = feed.replace(
        "</dc:creator>", "</dc:creator>\n      <arxiv:DOI>10.1145/3746027.3755001</arxiv:DOI>", 1
    )
    first = parse_arxiv_rss(feed.encode("utf-8"), "cs.LG")[0]
    assert first.doi == "10.1145/3746027.3755001"


def test_recorded_api_response_is_read_as_the_utf8_the_server_sent() -> None:
    name = "arxiv_api_atom_newformat_all-testing_2026-04-12_100entries.recorded.json"
    entries = parse_arxiv_api(read_feed(name), "api")
    assert len(entries) == 100
    [entry] = [e for e in entries if e.raw_id == "http://arxiv.org/abs/2405.13786v1"]
    assert entry.authors == ("Aurora Ramírez", "Mario Berrios", "José Raúl Romero", "Robert Feldt")
    assert not any("Ã" in a for e in entries for a in e.authors)
