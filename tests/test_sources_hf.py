"""Hugging Face daily papers parser, against recorded API responses (tests/data/SOURCES.md)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pipeline.errors import ParseError
from pipeline.ingest.sources.hf import parse_hf_daily
from pipeline.models import Signals

FEEDS = Path(__file__).parent / "data" / "feeds"


def read_feed(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def test_parse_hf_daily_reads_ids_titles_and_signals() -> None:
    entries = parse_hf_daily(read_feed("hf_daily_papers_api_2026-06-12_30entries.json"), "hf")
    assert len(entries) == 30
    first = entries[0]
    assert first.raw_id == "2606.00467"
    assert first.title.startswith("On the Limits of LLM Adaptability")
    assert first.abstract.startswith("Large Language Models (LLMs) are increasingly used")
    assert first.authors == ("Etienne Casanova", "Rafal Kocielnik", "R. Michael Alvarez")
    assert first.published == datetime(2026, 5, 29, 20, 0, tzinfo=UTC)  # the item's publishedAt
    # listed on the daily page of 12 June: that is when this source announced it
    assert {e.announced for e in entries} == {date(2026, 6, 12)}
    assert first.signals is not None
    assert (first.signals.upvotes, first.signals.comments) == (0, 2)
    assert first.signals.github_url is None and first.signals.project_url is None


def test_parse_hf_daily_reads_code_and_project_links() -> None:
    entries = parse_hf_daily(read_feed("hf_daily_papers_api_2026-06-12_30entries.json"), "hf")
    web = next(e for e in entries if e.raw_id == "2606.10423")
    assert web.signals is not None
    assert web.signals.upvotes == 2
    assert web.signals.comments == 2
    assert web.signals.github_url == "https://github.com/jayoohwang1/webchallenger"
    assert web.signals.github_stars == 2
    assert web.signals.project_url == "https://jayoohwang1.github.io/webchallenger-site/"
    assert web.signals.ai_keywords[:3] == ("PageMem", "DOM", "structured page representation")
    assert (web.signals.ai_summary or "").startswith("WebChallenger presents a web agent framework")


def test_parse_hf_daily_skips_hidden_authors() -> None:
    entries = parse_hf_daily(read_feed("hf_daily_papers_api_2026-06-12_30entries.json"), "hf")
    paper = next(e for e in entries if e.raw_id == "2606.12575")
    assert len(paper.authors) == 9  # 10 listed, "Dengyang Jiang" is hidden
    assert "Dengyang Jiang" not in paper.authors


def test_parse_hf_daily_other_snapshots() -> None:
    five = parse_hf_daily(read_feed("hf_daily_papers_api_2026-07-31_5entries.json"), "hf")
    assert [e.raw_id for e in five][:2] == ["2607.23193", "2607.27958"]
    assert five[0].signals == Signals(
        upvotes=3, comments=2, github_url="https://github.com/MAC-AutoML/OmniScope", github_stars=3
    )
    three = parse_hf_daily(read_feed("hf_daily_papers_api_2026-08-03_3entries.json"), "hf")
    assert [(e.raw_id, len(e.authors)) for e in three] == [
        ("2607.26654", 7),
        ("2607.28229", 12),
        ("2607.27851", 5),
    ]
    assert three[1].published == datetime(2026, 7, 30, 10, 0, 27, tzinfo=UTC)
    assert [e.signals.github_stars for e in three if e.signals] == [2, 8, None]


def test_parse_hf_daily_reads_flat_items_without_nested_paper() -> None:
    flat = [{"id": "2404.01234", "title": "Flat", "summary": "S", "upvotes": 4, "numComments": 1}]
    [entry] = parse_hf_daily(json.dumps(flat).encode(), "hf")
    assert entry.raw_id == "2404.01234"
    assert entry.signals == Signals(upvotes=4, comments=1)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not valid JSON"),
        (b"<html>rate limited</html>", "not valid JSON"),
        (b'{"error": "Invalid date"}', "expected a JSON list"),
        (b"\xff\xfe\x00\x00garbage", "not valid JSON"),
        (b"[" * 100_000, "nested too deeply"),
        (b'[1, "two", {"paper": {}}]', "none of the 3 items"),
    ],
)
def test_parse_hf_daily_bad_bytes_raise_parse_error(content: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=f"^hf-daily: .*{message}"):
        parse_hf_daily(content, "hf-daily")


def test_parse_hf_daily_empty_list_is_empty() -> None:
    assert parse_hf_daily(b"[]", "hf") == []
