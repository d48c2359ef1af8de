"""Odd but real-world entries, as real feed bytes (RSS and JSONL), and a 50 MB response.

Every odd entry must land as a paper (or be skipped with a reason when it has no title at all)
without disturbing the normal entries beside it, and the digest for its week must still build.
"""

from __future__ import annotations

import json
import threading
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from conftest import FakeEmbedder

from pipeline.ingest.normalize import MAX_TITLE_CHARS
from reliability import tally
from reliability.helpers import GOOD_COUNT, GOOD_FILE, NOW, build, ingest, query, write_config

LONG_TITLE = ("Scaling laws for very long titles " * 300)[:10_000]
RTL_TITLE = "تعلم الآلة للغة العربية \u202eevil\u202c ומודלים בעברית"
CONTROL_TITLE = "Control\x01 chars\x07 in\x1b[31m a title\x7f"
# (key, title, abstract, link, guid, date) — None leaves the element out of the item.
ODD = [
    (
        "no-abstract",
        "A paper without an abstract",
        None,
        "https://example.org/p/1",
        "p-1",
        "2025-06-05",
    ),
    ("no-link", "A paper without any link or guid", "Text.", None, None, "2025-06-05"),
    ("long-title", LONG_TITLE, "Long title.", "https://example.org/p/3", "p-3", "2025-06-05"),
    (
        "control",
        CONTROL_TITLE,
        "Bell\x07 and escape\x1b here.",
        "https://example.org/p/4",
        "p-4",
        "2025-06-05",
    ),
    (
        "rtl",
        RTL_TITLE,
        "نص عربي \u2067isolate\u2069.",
        "https://example.org/p/5",
        "p-5",
        "2025-06-05",
    ),
    (
        "epoch",
        "A paper dated at the Unix epoch",
        "Old.",
        "https://example.org/p/6",
        "p-6",
        "1970-01-01",
    ),
    (
        "future",
        "A paper dated in the year 2100",
        "Future.",
        "https://example.org/p/7",
        "p-7",
        "2100-12-31",
    ),
    ("dup-a", "Duplicate id, first copy", "First.", "https://example.org/p/8", "p-8", "2025-06-05"),
    (
        "dup-b",
        "Duplicate id, second copy",
        "Second.",
        "https://example.org/p/8",
        "p-8",
        "2025-06-05",
    ),
    (
        "normal",
        "An ordinary paper about graph neural networks",
        "GNNs.",
        "https://example.org/p/9",
        "p-9",
        "2025-06-05",
    ),
]


def _xml_text(text: str) -> str:
    # XML 1.0 cannot carry C0 controls even as references; real feeds send them raw anyway.
    return escape(text)


def _rss(items: list[tuple[str, ...]]) -> bytes:
    parts = ['<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>odd</title>']
    for _, title, abstract, link, guid, day in items:
        parts.append(f"<item><title>{_xml_text(title)}</title>")
        if abstract is not None:
            parts.append(f"<description>{_xml_text(abstract)}</description>")
        if link is not None:
            parts.append(f"<link>{link}</link>")
        if guid is not None:
            parts.append(f'<guid isPermaLink="false">{guid}</guid>')
        parts.append(f"<pubDate>{_rfc822(day)}</pubDate></item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def _rfc822(day: str) -> str:
    from datetime import datetime
    from email.utils import format_datetime

    return format_datetime(datetime.fromisoformat(day + "T12:00:00+00:00"))


def _jsonl(items: list[tuple[str, ...]]) -> bytes:
    lines = []
    for _, title, abstract, link, guid, day in items:
        record = {"title": title, "published": day}
        if abstract is not None:
            record["abstract"] = abstract
        if link is not None:
            record["url"] = link
        if guid is not None:
            record["id"] = guid
        lines.append(json.dumps(record, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _stored(tmp_path: Path, source: str) -> dict[str, tuple[str, str, str]]:
    rows = query(
        tmp_path / "data" / "pipeline.sqlite3",
        "SELECT p.title, p.abstract, p.effective_date FROM papers p"
        " JOIN paper_sources s USING (paper_id) WHERE s.source = ?",
        (source,),
    )
    return {row[0]: (row[0], row[1], row[2]) for row in rows}  # type: ignore[misc]


@pytest.mark.parametrize("form", ["rss", "file"])
def test_odd_entries_land_beside_normal_ones_and_the_digest_builds(
    tmp_path: Path, form: str
) -> None:
    content = _rss(ODD) if form == "rss" else _jsonl(ODD)
    feed = tmp_path / f"odd.{'xml' if form == 'rss' else 'jsonl'}"
    feed.write_bytes(content)
    config = write_config(tmp_path, [("good", "file", str(GOOD_FILE)), ("odd", form, str(feed))])
    tally.add("odd entries tried", len(ODD))
    report = ingest(config, FakeEmbedder())
    assert all(s.ok for s in report.sources), report.sources
    stored = _stored(tmp_path, "odd")
    titles = list(stored)
    # The two copies of p-8 are one paper; every other entry is its own paper.
    assert len(stored) == len(ODD) - 1, titles
    assert "An ordinary paper about graph neural networks" in stored
    assert stored["A paper without an abstract"][1] == ""
    # The 10,000-character title lands, cut to the normalisation cap (issue 15).
    assert any(t.startswith("Scaling laws") and len(t) == MAX_TITLE_CHARS for t in titles)
    assert not any(c in t for t in titles for c in "\x01\x07\x1b\x7f")
    assert stored["A paper dated at the Unix epoch"][2] == "1970-01-01"
    # Dated 75 years after it was ingested: placed by the day it was ingested (round 17).
    assert stored["A paper dated in the year 2100"][2] == NOW.date().isoformat()
    assert len(_stored(tmp_path, "good")) == GOOD_COUNT
    for week in ("2025-W23", "1970-W01", "2025-W25"):
        settings_week = write_config(
            tmp_path, [("good", "file", str(GOOD_FILE)), ("odd", form, str(feed))], week=week
        )
        built = build(settings_week, FakeEmbedder())
        text = Path(built.digest_path or "").read_text(encoding="utf-8")
        assert "\u202e" not in text and "\x1b" not in text
    epoch = (tmp_path / "digests" / "1970-W01.md").read_text(encoding="utf-8")
    assert "Unix epoch" in epoch
    ingested = (tmp_path / "digests" / "2025-W25.json").read_text(encoding="utf-8")
    assert "A paper dated in the year 2100" in ingested


def test_non_utf8_bytes_in_a_feed_are_decoded_or_rejected_per_source(tmp_path: Path) -> None:
    rss = _rss(ODD[-1:]).replace(b"graph neural", "gr\xe4ph neural".encode("latin-1"))
    jsonl = _jsonl(ODD[-1:]).replace(b"graph neural", "gr\xe4ph neural".encode("latin-1"))
    (tmp_path / "latin1.xml").write_bytes(rss)
    (tmp_path / "latin1.jsonl").write_bytes(jsonl)
    sources = [
        ("good", "file", str(GOOD_FILE)),
        ("latin-rss", "rss", str(tmp_path / "latin1.xml")),
        ("latin-file", "file", str(tmp_path / "latin1.jsonl")),
    ]
    tally.add("odd entries tried", 2)
    report = ingest(write_config(tmp_path, sources), FakeEmbedder())
    by_name = {s.name: s for s in report.sources}
    assert by_name["good"].ok and by_name["good"].n_new == GOOD_COUNT
    for name in ("latin-rss", "latin-file"):
        result = by_name[name]
        # Either the bytes were recovered into a paper, or the source failed saying why.
        assert result.n_new == 1 or (result.error and "UTF-8" in result.error), result


# --- a 50 MB response ------------------------------------------------------------------------

BIG = 50 * 1024 * 1024
CHUNK = b"<item><title>x</title></item>" * 2048


@contextmanager
def _big_server(declare_length: bool) -> Iterator[str]:
    """A loopback server streaming 50 MiB of feed-like bytes without holding them in memory."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # close-delimited body when no length is declared

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            if declare_length:
                self.send_header("Content-Length", str(BIG))
            self.end_headers()
            sent = 0
            try:
                while sent < BIG:
                    self.wfile.write(CHUNK)
                    sent += len(CHUNK)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = httpd.server_address[:2]
        yield f"http://{host!s}:{port}/feed.xml"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(
    ("declare_length", "max_bytes"),
    [(True, 50_000_000), (False, 50_000_000), (False, 1_000_000)],
    ids=["declared-default-cap", "undeclared-default-cap", "undeclared-1MB-cap"],
)
def test_a_50mb_response_is_rejected_by_the_cap_with_bounded_memory(
    tmp_path: Path, declare_length: bool, max_bytes: int
) -> None:
    with _big_server(declare_length) as url:
        sources = [("good", "file", str(GOOD_FILE)), ("huge", "rss", url)]
        config = write_config(tmp_path, sources, fetch={"max_bytes": max_bytes})
        tally.add("oversized responses tried")
        tracemalloc.start()
        try:
            report = ingest(config, FakeEmbedder())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    by_name = {s.name: s for s in report.sources}
    assert by_name["good"].ok and by_name["good"].n_new == GOOD_COUNT
    error = by_name["huge"].error or ""
    assert f"{max_bytes}-byte cap" in error and url in error, error
    print(f"\n{url} declared={declare_length} cap={max_bytes}: peak traced {peak / 1e6:.1f} MB")
    assert peak < max_bytes + 8_000_000  # never more than the cap plus one run's overhead
