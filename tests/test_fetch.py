"""fetch.py against a real HTTP server on 127.0.0.1: statuses, retries, caps, timeouts, files."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from httpserver import Reply

from pipeline.errors import FetchError
from pipeline.ingest.fetch import fetch_url, make_client, retry_after_s

FEED = b"<rss version='2.0'><channel><title>t</title></channel></rss>"


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_client(user_agent="pipeline-test/1 (mailto:test@example.org)", timeout_s=2) as c:
        yield c


def _fetch(client: httpx.Client, url: str, **kw: object):
    sleeps: list[float] = []
    options: dict[str, object] = {"max_bytes": 10_000, "retries": 2, "sleep": sleeps.append}
    options.update(kw)
    return fetch_url(client, url, **options), sleeps  # type: ignore[arg-type]


def test_fetch_url_returns_body_headers_and_sends_user_agent(server, client) -> None:
    url = server.route("/feed", Reply(200, FEED, {"ETag": '"v1"', "Content-Type": "text/xml"}))
    result, _ = _fetch(client, url)
    assert result.content == FEED and result.etag == '"v1"'
    assert result.headers["content-type"] == "text/xml"
    assert server.hits[0].headers["User-Agent"].startswith("pipeline-test/1 (mailto:")


def test_fetch_url_sends_validators_and_understands_304(server, client) -> None:
    url = server.route("/feed", Reply(304))
    result, _ = _fetch(client, url, etag='"v1"', last_modified="Mon, 27 Apr 2026 04:00:01 GMT")
    assert result.not_modified and result.content is None
    assert server.hits[0].headers["If-None-Match"] == '"v1"'
    assert server.hits[0].headers["If-Modified-Since"].startswith("Mon, 27 Apr 2026")


def test_fetch_url_retries_429_honouring_retry_after(server, client) -> None:
    url = server.route("/feed", Reply(429, b"", {"Retry-After": "7"}), Reply(200, FEED))
    result, sleeps = _fetch(client, url)
    assert result.content == FEED
    assert sleeps == [7.0]
    assert len(server.hits) == 2


def test_fetch_url_retries_500_then_succeeds_with_backoff(server, client) -> None:
    url = server.route("/feed", Reply(500), Reply(503), Reply(200, FEED))
    result, sleeps = _fetch(client, url, backoff_s=1.0)
    assert result.content == FEED
    assert len(sleeps) == 2 and 1.0 <= sleeps[0] <= 1.25 and 2.0 <= sleeps[1] <= 2.5


def test_fetch_url_gives_up_after_retries_with_clear_error(server, client) -> None:
    url = server.route("/feed", Reply(500))
    with pytest.raises(FetchError, match=r"HTTP 500 \(gave up after 3 attempts\)"):
        _fetch(client, url)


def test_fetch_url_does_not_retry_404(server, client) -> None:
    url = server.route("/missing", Reply(404, b"no"))
    with pytest.raises(FetchError, match="HTTP 404"):
        _fetch(client, url)
    assert len(server.hits) == 1


def test_fetch_url_says_the_server_sent_an_empty_body(server, client) -> None:
    # Round 27 (users): a feed URL answering 200 with 0 bytes failed its source as "empty
    # document", naming neither the URL nor that the server had sent nothing.
    url = server.route("/feed", Reply(200, b""))
    with pytest.raises(FetchError) as caught:
        _fetch(client, url)
    assert str(caught.value) == f"{url}: the server sent an empty body (HTTP 200, 0 bytes)"
    assert len(server.hits) == 1


@pytest.mark.parametrize(
    ("body", "size"), [(b"\n\n", "2 bytes"), (b" \r\n\t \r\n", "7 bytes"), (b"\n", "1 byte")]
)
def test_fetch_url_says_the_server_sent_only_whitespace(
    server, client, body: bytes, size: str
) -> None:
    # Round 28 (users): a feed URL answering 200 with "\n\n" failed its source as "empty
    # document", where 0 bytes said what the server had sent (round 27). Not retried either.
    url = server.route("/feed", Reply(200, body))
    with pytest.raises(FetchError) as caught:
        _fetch(client, url)
    assert str(caught.value) == (
        f"{url}: the server sent an empty body (HTTP 200, {size}, only whitespace)"
    )
    assert len(server.hits) == 1


def test_fetch_url_rejects_responses_over_the_size_cap(server, client) -> None:
    url = server.route("/big", Reply(200, b"x" * 20_000))
    with pytest.raises(FetchError, match="cap"):
        _fetch(client, url)


def test_fetch_url_times_out_on_a_slow_server(server) -> None:
    url = server.route("/slow", Reply(200, FEED, delay_s=1.5))
    with make_client(user_agent="t", timeout_s=0.3) as quick, pytest.raises(FetchError):
        fetch_url(quick, url, max_bytes=10_000, retries=0)


def test_fetch_url_reports_a_truncated_body(server, client) -> None:
    url = server.route("/cut", Reply(200, FEED, truncate=True))
    with pytest.raises(FetchError, match="gave up"):
        _fetch(client, url, retries=0)


def test_fetch_url_reads_local_paths_and_file_urls(tmp_path: Path, client) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(FEED)
    assert fetch_url(client, str(path), max_bytes=1000).content == FEED
    assert fetch_url(client, path.as_uri(), max_bytes=1000).content == FEED
    with pytest.raises(FetchError, match="cannot read"):
        fetch_url(client, str(tmp_path / "nope.xml"), max_bytes=1000)
    with pytest.raises(FetchError, match="cap"):
        fetch_url(client, str(path), max_bytes=10)


def test_retry_after_s_reads_seconds_and_http_dates() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 4, 27, 4, 0, 0, tzinfo=UTC)
    assert retry_after_s("12", now=now) == 12.0
    assert retry_after_s("Mon, 27 Apr 2026 04:00:30 GMT", now=now) == 30.0
    assert retry_after_s("soon", now=now) is None


def test_pacer_spaces_requests_to_one_host_from_the_end_of_the_last(server, client) -> None:
    from pipeline.ingest.fetch import Pacer

    url = server.route("/api", Reply(200, FEED))
    pacer = Pacer({"127.0.0.1": 0.2})
    for _ in range(3):
        fetch_url(client, url, max_bytes=10_000, pacer=pacer)
    gaps = [b.at - a.at for a, b in zip(server.hits, server.hits[1:], strict=False)]
    assert len(gaps) == 2 and all(gap >= 0.2 for gap in gaps)
    other = Pacer({"export.arxiv.org": 60.0})  # other hosts are not slowed down
    fetch_url(client, url, max_bytes=10_000, pacer=other)
    assert other.wait(url) == 0.0


def test_pacer_keeps_arxivs_three_second_rule_as_the_server_sees_it(server, client) -> None:
    """arXiv's API terms: no more than one request every 3 seconds (server-side timestamps)."""
    from pipeline.ingest.fetch import Pacer

    url = server.route("/api/query", Reply(500), Reply(200, FEED))
    pacer = Pacer({"127.0.0.1": 3.0})
    # A retry is a request too: the 500 is retried with no backoff, yet 3 s apart.
    fetch_url(client, url, max_bytes=10_000, retries=1, backoff_s=0.0, pacer=pacer)
    assert len(server.hits) == 2
    assert server.hits[1].at - server.hits[0].at >= 3.0


def test_make_client_can_hold_a_single_connection(server) -> None:
    url = server.route("/feed", Reply(200, FEED))
    with make_client(user_agent="t", timeout_s=2, max_connections=1) as one:
        for _ in range(3):
            assert fetch_url(one, url, max_bytes=10_000).content == FEED


def test_a_host_is_tried_on_each_address_it_resolves_to(server, client, monkeypatch) -> None:
    """Resolving in our own thread keeps create_connection's fallback: a refused address (here
    127.0.0.2, where nothing listens) moves on to the next one."""
    url = server.route("/feed", Reply(200, FEED))
    port = int(url.split(":")[2].split("/")[0])
    real = socket.getaddrinfo

    def two_homes(host, *args, **kwargs):
        if host == "two-homes.test":
            tcp = (socket.AF_INET, socket.SOCK_STREAM, 6, "")
            return [(*tcp, ("127.0.0.2", port)), (*tcp, ("127.0.0.1", port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", two_homes)
    result, _ = _fetch(client, url.replace("127.0.0.1", "two-homes.test"))
    assert result.content == FEED


@pytest.mark.parametrize("coding", ["br", "zstd"])
def test_a_body_in_a_compression_not_asked_for_is_named(server, client, coding: str) -> None:
    """A server (a CDN set to compress everything) that answers with `Content-Encoding: br` or
    `zstd`, which this client does not ask for and cannot read: the source failed as "not a
    usable feed (SAXParseException: … not well-formed (invalid token))", naming no cause, and
    the user looked for a broken feed. It is named (not retried: the next answer is the same).
    A coding name the server made up over a plain body is read as before."""
    url = server.route(
        "/feed", Reply(200, b"\x1b\x10\x00\x00\x8c\x02compressed", {"Content-Encoding": coding})
    )
    with pytest.raises(FetchError) as caught:
        _fetch(client, url)
    assert str(caught.value) == (
        f"{url}: the server sent the body compressed as {coding!r} (its Content-Encoding),"
        " which this program did not ask for and cannot read (it asks for gzip or deflate):"
        " the server, or a proxy before it, should honour Accept-Encoding; not retried"
    )
    assert len(server.hits) == 1
    plain = server.route("/plain", Reply(200, b"<rss/>", {"Content-Encoding": "identity, foo"}))
    assert _fetch(client, plain)[0].content == b"<rss/>"


def test_fetch_url_names_the_setting_that_raises_the_size_cap(tmp_path: Path, server, client):
    """Round 29: "file is over the 50000000-byte cap" named no setting; the user with a big
    export did not know what to raise. Each cap message now says `[fetch] max_bytes` (and a
    local file's size)."""
    path = tmp_path / "papers.jsonl"
    path.write_bytes(b'{"title": "t"}\n' * 100)
    with pytest.raises(FetchError) as local:
        fetch_url(client, str(path), max_bytes=1000)
    assert "file is 1500 bytes, over the 1000-byte cap (raise [fetch] max_bytes" in str(local.value)
    url = server.route("/big", Reply(200, b"x" * 20_000))
    with pytest.raises(FetchError, match=r"over the 10000-byte cap \(raise \[fetch\] max_bytes"):
        _fetch(client, url)


def test_read_local_holds_a_big_file_once(tmp_path: Path, client) -> None:
    """A big local JSONL was held twice while it was read (its 1 MiB chunks, then joined), and
    a file over the cap was read whole before it was refused."""
    import tracemalloc

    path = tmp_path / "papers.jsonl"
    path.write_bytes(b'{"title": "a paper"}\n' * 400_000)  # 8.4 MB
    tracemalloc.start()
    try:
        content = fetch_url(client, str(path), max_bytes=20_000_000).content
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        held, _ = tracemalloc.get_traced_memory()
        with pytest.raises(FetchError, match="cap"):
            fetch_url(client, str(path), max_bytes=8_000_000)
        _, refused_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert content is not None and len(content) == path.stat().st_size
    assert peak < 1.3 * len(content), peak
    assert refused_peak - held < 1_000_000, refused_peak - held


E2E = Path(__file__).parent / "data" / "e2e"


def test_fetch_url_reads_every_member_of_joined_gzip_files(tmp_path: Path, client) -> None:
    """Round 29: `cat day1.jsonl.gz day2.jsonl.gz > week.jsonl.gz` is one gzip file of two
    members (gunzip reads both); only the first was read, and the second day's papers were
    lost without a word."""
    import gzip

    days = [(E2E / f"arxiv-2025-06-{day}.jsonl").read_bytes() for day in ("10", "11")]
    path = tmp_path / "week.jsonl.gz"
    path.write_bytes(b"".join(gzip.compress(day) for day in days))
    assert fetch_url(client, str(path), max_bytes=10_000_000).content == b"".join(days)
    with pytest.raises(FetchError, match="cap"):  # the cap counts every member
        fetch_url(client, str(path), max_bytes=len(days[0]) + 10)


def test_fetch_url_says_gzip_data_is_cut_off(tmp_path: Path, client) -> None:
    """Round 29: a `.jsonl.gz` whose copy was interrupted was read as far as it went: the source
    failed as "line 57: not valid JSON", or, cut at a line's end, lost its last papers."""
    import gzip

    whole = gzip.compress((E2E / "arxiv-2025-06-10.jsonl").read_bytes())
    path = tmp_path / "papers.jsonl.gz"
    path.write_bytes(whole[:-8])  # the data whole, its CRC and length trailer missing
    with pytest.raises(FetchError, match=r"gzip-compressed data that is cut off after \d+ bytes"):
        fetch_url(client, str(path), max_bytes=10_000_000)
