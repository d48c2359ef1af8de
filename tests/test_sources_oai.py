"""OAI-PMH ListRecords pages (trimmed real pages, tests/data/SOURCES.md) and the OAI backfill."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.errors import ParseError
from pipeline.ingest.sources.oai import parse_arxiv_oai

OAI = Path(__file__).parent / "data" / "oai"
PAGE = OAI / "arxiv_oai_ListRecords_set-cs_page88_first20.xml"
LAST = OAI / "arxiv_oai_ListRecords_set-cs_page89_first20_lastpage.xml"


def test_parse_arxiv_oai_reads_records_and_the_resumption_token() -> None:
    entries, token = parse_arxiv_oai(PAGE.read_bytes(), "oai")
    assert token == "1122234|88001"
    assert len(entries) == 20
    first = entries[0]
    assert first.raw_id == "1511.04377"
    assert first.title == "Learning Dense Convolutional Embeddings for Semantic Segmentation"
    assert first.authors == ("Adam W. Harley", "Konstantinos G. Derpanis", "Iasonas Kokkinos")
    assert first.categories == ("cs.CV",)
    assert first.published == datetime(2015, 11, 13, tzinfo=UTC)
    assert first.abstract.startswith("This paper proposes a new deep convolutional")
    assert "\n" not in first.abstract
    assert ("stat.ML", "cs.LG", "cs.SI") in [e.categories for e in entries]


def test_parse_arxiv_oai_last_page_has_no_token() -> None:
    entries, token = parse_arxiv_oai(LAST.read_bytes(), "oai")
    assert token is None and len(entries) == 20


def test_parse_arxiv_oai_no_records_is_empty_and_other_errors_are_parse_errors() -> None:
    head = b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
    empty = head + b'<error code="noRecordsMatch">none</error></OAI-PMH>'
    assert parse_arxiv_oai(empty, "oai") == ([], None)
    bad = head + b'<error code="badResumptionToken">expired</error></OAI-PMH>'
    with pytest.raises(ParseError, match="badResumptionToken: expired"):
        parse_arxiv_oai(bad, "oai")
    with pytest.raises(ParseError, match="not a usable OAI-PMH"):
        parse_arxiv_oai(b"<OAI-PMH", "oai")
    with pytest.raises(ParseError, match="not an OAI-PMH response"):
        parse_arxiv_oai(b"<rss/>", "oai")


def test_parse_arxiv_oai_keeps_name_suffixes() -> None:
    # Real records whose <keyname> is "MacCartney," followed by <suffix>Jr.</suffix> (issue 14).
    path = Path(__file__).parent / "data" / "issue14"
    content = (path / "arxiv_oai_ListRecords_set-cs_page88_suffix_records.xml").read_bytes()
    first, second = parse_arxiv_oai(content, "oai")[0]
    assert first.authors[1] == "George R. MacCartney Jr."
    assert second.authors[0] == "Alexander G. Ororbia II"
