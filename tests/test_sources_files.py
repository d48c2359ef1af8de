"""Local JSON / JSONL paper lists (the demo corpus format, tests/data/SOURCES.md)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pipeline.errors import ParseError
from pipeline.ingest.sources.files import parse_file

SAMPLE = Path(__file__).parent / "data" / "files" / "arxiv-week-2025-06_2025-06-06-08h_first5.jsonl"


def test_parse_file_reads_the_demo_jsonl() -> None:
    entries = parse_file(SAMPLE.read_bytes(), "demo")
    assert len(entries) == 5
    first = entries[0]
    assert first.title == (
        "VideoMathQA: Benchmarking Mathematical Reasoning via Multimodal Understanding in Videos"
    )
    assert first.link == "http://arxiv.org/abs/2506.05349v1"
    assert first.published == datetime(2025, 6, 5, 17, 59, 58, tzinfo=UTC)  # naive -> UTC
    assert first.abstract.startswith("Mathematical reasoning in real-world video settings")
    assert first.source == "demo"


def test_parse_file_reads_a_json_list_and_a_papers_object() -> None:
    records = [
        {
            "title": "A",
            "summary": "S",
            "arxiv_id": "2404.01234v2",
            "authors": "Ada Lovelace, Alan Turing",
            "categories": "cs.LG cs.AI cs.LG",
            "date": "2024-04-02",
            "announced": "2024-04-03",
        }
    ]
    for content in (json.dumps(records), json.dumps({"papers": records}, indent=2)):
        [entry] = parse_file(content.encode(), "f")
        assert entry.raw_id == "2404.01234v2"
        assert entry.abstract == "S"
        assert entry.authors == ("Ada Lovelace", "Alan Turing")
        assert entry.categories == ("cs.LG", "cs.AI")
        assert entry.published == datetime(2024, 4, 2, tzinfo=UTC)
        assert entry.announced == date(2024, 4, 3)


def test_parse_file_reads_doi_author_list_and_offset_dates() -> None:
    record = {
        "title": "T",
        "doi": "10.1000/x",
        "authors": ["A B", " C  D "],
        "published": "2024-04-02T10:00:00+02:00",
    }
    [entry] = parse_file(json.dumps(record).encode(), "f")
    assert entry.doi == "10.1000/x"
    assert entry.authors == ("A B", "C D")
    assert entry.published == datetime(2024, 4, 2, 8, tzinfo=UTC)


def test_parse_file_ignores_blank_lines_and_skips_untitled_records(
    caplog: pytest.LogCaptureFixture,
) -> None:
    content = b'{"title": "One"}\n\n   \n{"abstract": "no title"}\n{"title": "Two"}\n'
    entries = parse_file(content, "f")
    assert [e.title for e in entries] == ["One", "Two"]
    assert "line 4: skipped" in caplog.text


def test_parse_file_bad_line_names_the_line_number() -> None:
    lines = [json.dumps({"title": f"T{i}"}) for i in range(11)] + ['{"title": "broken"']
    with pytest.raises(ParseError, match=r"^f: line 12: not valid JSON"):
        parse_file("\n".join(lines).encode(), "f")


@pytest.mark.parametrize("indent", [2, None])
def test_a_pretty_printed_object_names_the_line_its_fault_is_on(indent: int | None) -> None:
    # Round 28: a {"papers": [...]} file written by json.dump(indent=2) or jq, with a comma
    # lost on line 155, failed as "line 1: not valid JSON (Expecting property name enclosed in
    # double quotes ...)": read again line by line as JSONL, its opening "{" was the fault
    # named, and the user looked at line 1 for an error that is not there.
    papers = [{"title": f"Paper {i}", "abstract": "x", "id": f"2506.{i:05d}"} for i in range(40)]
    if indent:
        text = json.dumps({"papers": papers}, indent=indent)
    else:  # its list opened on the first line, one paper a line
        text = '{"papers": [\n' + ",\n".join(json.dumps(p) for p in papers) + "\n]}"
    text = text.replace('"Paper 30",', '"Paper 30"', 1)
    line = next(n for n, t in enumerate(text.splitlines(), start=1) if '"Paper 30"' in t) + 1
    line -= 1 if indent is None else 0  # the missing comma is noticed where the next key starts
    with pytest.raises(ParseError, match=rf"^f: line {line}: not valid JSON \(Expecting ','"):
        parse_file(text.encode(), "f")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"\xff\xfe\xfa not utf-8", "not UTF-8"),
        (b'{"abstract": "a"}\n{"abstract": "b"}', "none of the 2 records has a title"),
        (b'"just a string"', "expected a list of papers"),
        (b"[1, 2]", "record 1: expected a JSON object"),
        (b'{"title": "ok"}\n[1]', "line 2: expected a JSON object"),
        (b"[{]", "line 1: not valid JSON"),
        (b"[" * 100_000, "nested too deeply"),
    ],
)
def test_parse_file_bad_input_raises_parse_error(content: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=f"^f: .*{message}"):
        parse_file(content, "f")


def test_parse_file_empty_list_is_empty() -> None:
    assert parse_file(b"[]", "f") == []


def test_parse_file_notes_when_an_id_is_a_number() -> None:
    # Found from outside (round 16): pandas writes an arXiv id column as numbers (2506.1 for
    # 2506.10000); the id was dropped without a word. The note is the ingest's to warn of.
    entries = parse_file(
        b'{"id": 2506.1, "title": "One"}\n{"id": "2506.00002", "title": "Two"}', "f"
    )
    assert [e.raw_id for e in entries] == [None, "2506.00002"]
    assert "line 1: id 2506.1 is a number, not text" in entries[0].notes[0]
    assert entries[1].notes == ()


def test_parse_file_names_a_title_of_records_without_an_id_only_when_they_alone_share_it() -> None:
    # Two id-less "Editorial" records are one paper (one title: id), so they are named; two
    # id-less records whose title an identified record has join that record and are not.
    long = "Graph networks for weather forecasting"
    content = "\n".join(
        [
            '{"title": "Editorial"}',
            f'{{"title": "{long}"}}',
            '{"title": "editorial!"}',
            f'{{"id": "2506.00001", "title": "{long}"}}',
            f'{{"title": "{long}"}}',
        ]
    ).encode()
    entries = parse_file(content, "f")
    assert len(entries) == 5
    warned = [note for entry in entries for note in entry.notes]
    assert warned == [
        "f: 2 records without an id have the title 'Editorial' (line 1, line 3): they are one"
        " paper, with the title, abstract and authors of line 1 (the first record)"
    ]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_parse_file_reads_utf16_with_its_byte_order_mark(codec: str) -> None:
    """Windows PowerShell's `>` and Out-File write UTF-16 with a byte-order mark: such a JSONL
    file failed its source as "not UTF-8 text (invalid start byte at byte 0)", though the mark
    says how to read it. It is read as the same file in UTF-8 is."""
    text = '{"title": "Caf\u00e9 \U0001d4aa", "id": "2506.00001"}\r\n{"title": "Two"}\r\n'
    content = ("\ufeff" + text).encode(codec)  # the mark written in that byte order
    assert parse_file(content, "f") == parse_file(text.encode("utf-8"), "f")


def test_parse_file_not_utf8_says_to_save_it_as_utf8() -> None:
    with pytest.raises(ParseError, match=r"^f: not UTF-8 text \(.* at byte 14\); save it as UTF-8"):
        parse_file(b'{"title": "caf\xe9"}', "f")


def test_parse_file_reads_jsonl_files_appended_with_their_byte_order_marks() -> None:
    """Two exports appended (`cat a.jsonl b.jsonl`, the second from a Windows tool that writes
    a byte-order mark): the whole file failed at every ingest, 'line 2: not valid JSON
    (Unexpected UTF-8 BOM (decode using utf-8-sig) …)'. A mark opening a line is no content."""
    a = b'{"title": "First of file A", "id": "2506.30001"}\n'
    b = '\ufeff{"title": "First of file B", "id": "2506.30002"}\r\n'.encode()
    entries = parse_file(a + b + b.replace(b"B", b"C").replace(b"02", b"03"), "f")
    assert [e.title for e in entries] == ["First of file A", "First of file B", "First of file C"]
