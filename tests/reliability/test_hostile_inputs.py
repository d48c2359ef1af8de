"""Issue 15: inputs an outside attack found that the suite had never tried.

Each case is real bytes (a feed file, a loopback server's raw HTTP response, a FIFO) put in a run
before a known-good source. None may raise: a bad value is a skipped entry, a bad feed or server
a failed source naming itself, and the good source lands every time. Servers that drip bytes must
be cut off by the deadlines, not wait for the drip to finish.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import FakeEmbedder

from pipeline.config import DATABASE_FILENAME
from pipeline.models import RunReport
from reliability import tally
from reliability.helpers import GOOD_COUNT, GOOD_FILE, ingest, query, write_config

NO_BACKFILL: dict[str, object] = {"arxiv": {"backfill": False}}


def _rss(title: str, date: str = "Thu, 05 Jun 2025 10:00:00 GMT") -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>{title}</title><link>https://example.org/a</link>"
        f"<description>x</description><pubDate>{date}</pubDate></item>"
        "<item><title>A neighbouring entry that is fine</title>"
        "<link>https://example.org/b</link></item></channel></rss>"
    ).encode()


def _api(total: str) -> bytes:
    return (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
        f"<opensearch:totalResults>{total}</opensearch:totalResults>"
        "<entry><id>http://arxiv.org/abs/2506.01234v1</id><title>A paper</title>"
        "<summary>x</summary><published>2025-06-05T00:00:00Z</published></entry></feed>"
    ).encode()


def _jsonl(**bad: object) -> bytes:
    records = [{"title": "A record with one bad value", "id": "x1", **bad}]
    records.append({"title": "A neighbouring record that is fine", "id": "x2"})
    return "\n".join(json.dumps(r) for r in records).encode()


def _hf(**bad: object) -> bytes:
    first = {"paper": {"id": "2506.01234", "title": "A paper with a bad value", **bad}}
    return json.dumps([first, {"paper": {"id": "2506.01235", "title": "A fine one"}}]).encode()


BIG_INT = "9" * 5000
# (case id, source kind, bytes): every one crashed the whole ingest on main (issue 15).
BAD_VALUES = [
    ("jsonl-5000-digit-int", "file", _jsonl(n=0).replace(b'"n": 0', f'"n": {BIG_INT}'.encode())),
    ("jsonl-lone-surrogate", "file", _jsonl().replace(b"one bad value", b"\\ud800 value")),
    ("jsonl-year-1-with-offset", "file", _jsonl(published="0001-01-01T00:00:00+05:00")),
    ("jsonl-year-9999-with-offset", "file", _jsonl(published="9999-12-31T23:00:00-05:00")),
    ("jsonl-arxiv-version-2^64", "file", _jsonl(id="2506.01234v18446744073709551616")),
    ("jsonl-arxiv-version-5000-digits", "file", _jsonl(id=f"2506.01234v{BIG_INT}")),
    ("rss-charref-surrogate", "rss", _rss("Lone &#xD800; surrogate")),
    ("rss-decimal-surrogate", "rss", _rss("Lone &#56320; surrogate")),
    ("rss-charref-past-unicode", "rss", _rss("Past &#x110000; Unicode")),
    ("arxiv-rss-charref-surrogate", "arxiv-rss", _rss("Lone &#xDFFF; surrogate")),
    ("arxiv-rss-year-9999", "arxiv-rss", _rss("x", "Fri, 31 Dec 9999 23:00:00 -0500")),
    ("hf-ai-keywords-int", "hf-daily", _hf(ai_keywords=5)),
    ("hf-lone-surrogate", "hf-daily", _hf().replace(b"bad value", b"\\udc00 value")),
    ("hf-year-9999-with-offset", "hf-daily", _hf(publishedAt="9999-12-31T23:00:00-05:00")),
    (
        "hf-5000-digit-upvotes",
        "hf-daily",
        _hf(upvotes=0).replace(b'"upvotes": 0', b'"upvotes": ' + BIG_INT.encode()),
    ),
    ("api-total-superscript", "arxiv-api", _api("²")),
    ("api-total-5000-digits", "arxiv-api", _api(BIG_INT)),
]


def _db(root: Path) -> Path:
    return root / "data" / DATABASE_FILENAME


def _check_good_landed(report: RunReport, bad: str) -> None:
    by_name = {s.name: s for s in report.sources}
    assert list(by_name) == [bad, "good"], "a source was not tried"
    if not (by_name["good"].ok and by_name["good"].n_new == GOOD_COUNT):
        tally.add("good sources lost")
    assert by_name["good"].ok and by_name["good"].n_new == GOOD_COUNT
    if not by_name[bad].ok:
        assert by_name[bad].error, by_name[bad]


def _ingest_counted(config: Path) -> RunReport:
    try:
        return ingest(config, FakeEmbedder())
    except Exception:
        tally.add("tracebacks")
        raise


def _ingest_bad_beside_good(tmp_path: Path, kind: str, content: bytes) -> RunReport:
    """Ingest source "bad" (`content` as a `kind` source), then a good file source, counted."""
    bad = tmp_path / "bad.dat"
    bad.write_bytes(content)
    sources = [("bad", kind, str(bad)), ("good", "file", str(GOOD_FILE))]
    tally.add("hostile inputs tried")
    return _ingest_counted(write_config(tmp_path, sources, **NO_BACKFILL))


@pytest.mark.parametrize(("case", "kind", "content"), BAD_VALUES, ids=[c[0] for c in BAD_VALUES])
def test_a_bad_value_is_a_bad_entry_and_the_next_source_lands(
    tmp_path: Path, case: str, kind: str, content: bytes
) -> None:
    report = _ingest_bad_beside_good(tmp_path, kind, content)
    _check_good_landed(report, "bad")
    if kind != "arxiv-api":  # the API sample has one entry; the others a fine neighbour too
        stored = {t for (t,) in query(_db(tmp_path), "SELECT title FROM papers")}
        assert any("fine" in t for t in stored), stored


BAD_BYTES = {case: content for case, _, content in BAD_VALUES}
# (case id, source kind, bytes): one bad entry beside a fine one. The first two are refused at
# normalisation; the others skipped by the parser, which only logged them before (issue 15).
COUNTED = [
    ("jsonl-lone-surrogate", "file", _jsonl().replace(b"one bad value", b"\\ud800 value")),
    ("jsonl-arxiv-version-2^64", "file", _jsonl(id="2506.01234v18446744073709551616")),
    ("jsonl-5000-digit-int", "file", BAD_BYTES["jsonl-5000-digit-int"]),
    ("jsonl-year-9999-with-offset", "file", _jsonl(published="9999-12-31T23:00:00-05:00")),
    ("jsonl-no-title", "file", _jsonl(title="")),
    ("rss-no-title", "rss", _rss("")),
    ("arxiv-rss-no-title", "arxiv-rss", _rss("")),
    ("hf-year-9999-with-offset", "hf-daily", _hf(publishedAt="9999-12-31T23:00:00-05:00")),
    ("hf-5000-digit-upvotes", "hf-daily", BAD_BYTES["hf-5000-digit-upvotes"]),
]


@pytest.mark.parametrize(("case", "kind", "content"), COUNTED, ids=[c[0] for c in COUNTED])
def test_bad_entries_are_counted_in_the_source_result(
    tmp_path: Path, case: str, kind: str, content: bytes
) -> None:
    report = _ingest_bad_beside_good(tmp_path, kind, content)
    result = report.sources[0]
    assert (result.ok, result.n_new, result.n_invalid) == (True, 1, 1), result
    from pipeline.run.report import describe_report

    assert "bad: 2 entries, 1 new, 0 updated, 1 bad entries skipped" in describe_report(report)


def test_field_lengths_are_capped_at_normalisation(tmp_path: Path) -> None:
    """A 5 MB title, abstract and author list land cut to the caps (the attack used 45 MB)."""
    from pipeline.ingest import normalize

    huge = "Long " * 1_000_000
    record = {"title": huge, "abstract": huge, "authors": [f"Author {i}" for i in range(20_000)]}
    path = tmp_path / "huge.jsonl"
    path.write_text(json.dumps({**record, "id": "big-1"}), encoding="utf-8")
    sources = [("huge", "file", str(path)), ("good", "file", str(GOOD_FILE))]
    tally.add("hostile inputs tried")
    report = _ingest_counted(write_config(tmp_path, sources, **NO_BACKFILL))
    _check_good_landed(report, "huge")
    (title, abstract, authors) = query(
        _db(tmp_path),
        "SELECT title, abstract, authors FROM papers WHERE title LIKE 'Long%'",
    )[0]
    assert len(str(title)) <= normalize.MAX_TITLE_CHARS
    assert len(str(abstract)) <= normalize.MAX_ABSTRACT_CHARS
    assert len(json.loads(str(authors))) <= normalize.MAX_AUTHORS


# --- local files that are not files -----------------------------------------------------------


def test_a_fifo_or_a_device_as_a_file_source_fails_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "feed.fifo"
    os.mkfifo(fifo)
    sources = [
        ("fifo", "file", str(fifo)),
        ("zero", "file", "/dev/zero"),
        ("folder", "rss", str(tmp_path)),
        ("good", "file", str(GOOD_FILE)),
    ]
    tally.add("hostile inputs tried", 3)
    started = time.monotonic()
    report = _ingest_counted(write_config(tmp_path, sources, **NO_BACKFILL))
    elapsed = time.monotonic() - started
    if elapsed > 20:
        tally.add("hangs")
    by_name = {s.name: s for s in report.sources}
    assert by_name["good"].n_new == GOOD_COUNT
    for name in ("fifo", "zero", "folder"):
        assert not by_name[name].ok and "not a regular file" in (by_name[name].error or "")


# --- hostile servers: raw bytes on a loopback socket --------------------------------------------


@contextmanager
def _raw_server(response: bytes, *, drip_s: float = 0.0, drip_from: int = 0) -> Iterator[str]:
    """Answer every connection with `response`, sending bytes after `drip_from` one at a time
    `drip_s` apart (a server dripping its headers or body)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(response[:drip_from])
                for i in range(drip_from, len(response)):
                    if stop.is_set():
                        return
                    conn.sendall(response[i : i + 1])
                    time.sleep(drip_s)
            except OSError:
                pass

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/feed.xml"
    finally:
        stop.set()
        thread.join(2)
        listener.close()


def _http(body: bytes, *headers: bytes, status: bytes = b"200 OK") -> bytes:
    head = [b"HTTP/1.1 " + status, b"Content-Type: application/rss+xml", *headers]
    head.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(head) + b"\r\n\r\n" + body


FEED = _rss("A paper from a slow or odd server")
FAST_LIMITS: dict[str, object] = {
    "fetch": {"timeout_s": 1.0, "request_timeout_s": 2.0, "source_timeout_s": 4.0, "retries": 1}
}


@pytest.mark.parametrize(
    "drip_from", [0, len(_http(FEED)) - len(FEED)], ids=["dripped-headers", "dripped-body"]
)
def test_a_dripping_server_is_cut_off_by_the_request_deadline(
    tmp_path: Path, drip_from: int
) -> None:
    """One byte every 0.3 s keeps each read under timeout_s: only a total deadline ends it."""
    with _raw_server(_http(FEED), drip_s=0.3, drip_from=drip_from) as url:
        sources = [("drip", "rss", url), ("good", "file", str(GOOD_FILE))]
        config = write_config(tmp_path, sources, **NO_BACKFILL, **FAST_LIMITS)
        tally.add("hostile inputs tried")
        started = time.monotonic()
        report = _ingest_counted(config)
        elapsed = time.monotonic() - started
    if elapsed > 10:
        tally.add("hangs")
    assert elapsed < 10, f"the drip held the run {elapsed:.0f} s"
    _check_good_landed(report, "drip")
    assert not report.sources[0].ok


@pytest.mark.parametrize(
    ("case", "header"),
    [
        ("retry-after-superscript", b"Retry-After: \xb2"),
    ],
)
def test_a_bad_retry_after_is_ignored(tmp_path: Path, case: str, header: bytes) -> None:
    with _raw_server(_http(b"busy", header, status=b"503 Service Unavailable")) as url:
        sources = [("busy", "rss", url), ("good", "file", str(GOOD_FILE))]
        tally.add("hostile inputs tried")
        report = _ingest_counted(
            write_config(tmp_path, sources, **NO_BACKFILL, fetch={"retries": 0})
        )
    _check_good_landed(report, "busy")
    assert "HTTP 503" in (report.sources[0].error or "")


def test_a_non_ascii_etag_is_never_stored_nor_sent_back(tmp_path: Path) -> None:
    """The validator crashed every later ingest, even after the server was fixed."""
    odd = _http(FEED, b'ETag: "\xe9t\xe9"', b"Last-Modified: lundi \xb2")
    with _raw_server(odd) as url:
        sources = [("odd", "rss", url), ("good", "file", str(GOOD_FILE))]
        config = write_config(tmp_path, sources, **NO_BACKFILL)
        tally.add("hostile inputs tried")
        first = _ingest_counted(config)
        second = _ingest_counted(config)
    for report in (first, second):
        assert all(s.ok for s in report.sources), report.sources
    db = _db(tmp_path)
    assert query(db, "SELECT etag, last_modified FROM http_cache") == [(None, None)]


def test_an_already_stored_non_ascii_etag_does_not_crash_later_ingests(tmp_path: Path) -> None:
    with _raw_server(_http(FEED)) as url:
        sources = [("odd", "rss", url), ("good", "file", str(GOOD_FILE))]
        config = write_config(tmp_path, sources, **NO_BACKFILL)
        _ingest_counted(config)
        import sqlite3

        conn = sqlite3.connect(_db(tmp_path))
        with conn:
            conn.execute("UPDATE http_cache SET etag = ?, last_modified = ?", ('"é"', "²"))
        conn.close()
        tally.add("hostile inputs tried")
        report = _ingest_counted(config)
    assert all(s.ok for s in report.sources), report.sources


@pytest.mark.parametrize(
    "location",
    [
        b"ftp://example.org/feed.xml",
        b"file:///etc/passwd",
        b"gopher://example.org/1",
        b"javascript:alert(1)",
        b"data:text/xml,<rss/>",
    ],
    ids=["ftp", "file", "gopher", "javascript", "data"],
)
def test_a_redirect_to_a_non_http_url_fails_at_once(tmp_path: Path, location: bytes) -> None:
    """A server's Location is not ours to follow off http(s), nor a transient error to retry."""
    moved = _http(b"", b"Location: " + location, status=b"302 Found")
    with _raw_server(moved) as url:
        sources = [("moved", "rss", url), ("good", "file", str(GOOD_FILE))]
        config = write_config(tmp_path, sources, **NO_BACKFILL, fetch={"retries": 3})
        tally.add("hostile inputs tried")
        started = time.monotonic()
        report = _ingest_counted(config)
        elapsed = time.monotonic() - started
    _check_good_landed(report, "moved")
    error = report.sources[0].error or ""
    assert "redirected to a URL that is not http(s)" in error and "gave up" not in error, error
    assert elapsed < 5, f"retried for {elapsed:.0f} s"


@contextmanager
def _hanging_resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """socket.getaddrinfo (the OS boundary) never answers for `*.hang.test` until released."""
    released = threading.Event()
    real = socket.getaddrinfo

    def hang(host: object, *args: object, **kwargs: object) -> object:
        if isinstance(host, str | bytes) and str(host).rstrip("'").endswith("hang.test"):
            released.wait(60)
            raise socket.gaierror(socket.EAI_NONAME, "released")
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", hang)
    try:
        yield
    finally:
        released.set()


def test_a_hanging_resolver_is_cut_off_by_the_request_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """getaddrinfo blocks with no timeout of its own: only the request deadline ends it."""
    with _hanging_resolver(monkeypatch):
        sources = [("dns", "rss", "http://feeds.hang.test/rss"), ("good", "file", str(GOOD_FILE))]
        config = write_config(tmp_path, sources, **NO_BACKFILL, **FAST_LIMITS)
        tally.add("hostile inputs tried")
        started = time.monotonic()
        report = _ingest_counted(config)
        elapsed = time.monotonic() - started
    if elapsed > 10:
        tally.add("hangs")
    assert elapsed < 10, f"the resolver held the run {elapsed:.0f} s"
    _check_good_landed(report, "dns")
    assert "feeds.hang.test" in (report.sources[0].error or ""), report.sources[0]
