"""Bytes for one source URL: http(s) through httpx, or a local file / file:// URL read directly.

The only module that touches the network (with `deadline`, the socket-level bound on a request). It
knows nothing of feeds or the store: the caller passes the cached validators (ETag, Last-Modified)
in and saves the new ones from the result. Retries only on 429/5xx and read/protocol errors, with
exponential backoff that honours Retry-After. A redirect off http(s) (ftp:, file:) fails at once,
as does a body compressed in a way the request did not accept (`br`, `zstd`), which is named,
and a 2xx answer with an empty body (0 bytes, or only whitespace: no document to parse), which
says so.
A connection or DNS failure is not retried: the `Pacer` (one per run) remembers the host as
unreachable and later requests to it in the same run fail at once. The `Pacer` also spaces requests
per host (arXiv's terms: at most one API request every 3 seconds).

Every input is bounded: `timeout_s` per read, `request_timeout_s` for a whole request (a server
dripping a byte a second, headers included, a DNS resolver that never answers), `deadline_s` for a
whole fetch with its retries, and `max_bytes` for every body, local files included (regular files
only: never a FIFO or a device), and for what gzip data among them decompresses to
(`inflate`).
Validators and headers that are not printable ASCII are dropped, never stored or sent back, and
every URL in a message passes through `errors.redact` (no user:password@, api_key=, token=).
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import re
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

import httpcore
import httpx

from pipeline.errors import FetchError, HTTPStatusError, redact
from pipeline.ingest.deadline import REQUEST_END, DeadlineBackend
from pipeline.ingest.inflate import gunzip_coded, gunzipped, over_cap

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Connection failures that a retry seconds later will not cure (no network, DNS, refused).
UNREACHABLE = (httpx.ConnectError, httpx.ConnectTimeout)
_HEADER_VALUE = re.compile(r"[\x20-\x7e]{1,1000}")
_SCHEME = re.compile(r"\s*([A-Za-z][A-Za-z0-9+.-]*):")
_SECONDS = re.compile(r"[0-9]{1,9}")
_COUNT = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True)
class FetchResult:
    """What one fetch returned; `content` is None when the server said 304 Not Modified.
    `location` is the URL the body came from, after redirects (None: `url` itself)."""

    url: str
    content: bytes | None
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    location: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def is_remote(url: str) -> bool:
    """True for http(s) URLs."""
    return urlsplit(url).scheme.lower() in ("http", "https")


def local_path(url: str) -> Path:
    """The file a local source names: a path, or a file:// URL's path (escapes decoded, any
    host such as localhost aside)."""
    parts = urlsplit(url)
    return Path(unquote(parts.path)) if parts.scheme == "file" else Path(url)


def read_local(url: str, *, max_bytes: int) -> FetchResult:
    """Read a local path or file:// URL: a regular file of at most `max_bytes`.

    A FIFO, a device (`/dev/zero`), a socket or a folder is refused before it is opened, and the
    read itself stops at the cap (a file that grows while it is read cannot get past it).
    """
    path = local_path(url)
    shown = redact(url)
    try:
        found = path.stat()
        if not stat.S_ISREG(found.st_mode):
            raise FetchError(f"{shown}: not a regular file ({_file_kind(found.st_mode)}), refused")
        if found.st_size > max_bytes:  # refused before a byte of it is read into memory
            raise FetchError(f"{shown}: file is {found.st_size} bytes, {over_cap(max_bytes)}")
        # O_NONBLOCK: a path swapped for a FIFO after the check still cannot hang the open.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise FetchError(f"{shown}: not a regular file, refused")
            content = _read_capped(file, max_bytes, expected=found.st_size)
    except OSError as e:
        raise FetchError(f"{shown}: cannot read file: {e.strerror or e}") from e
    if len(content) > max_bytes:  # it grew while it was read
        raise FetchError(f"{shown}: file is {over_cap(max_bytes)}")
    return FetchResult(url, gunzipped(content, shown=shown, max_bytes=max_bytes))


#: How much a local file is read at a time: `max_bytes` is a cap, not a size to ask for.
_CHUNK = 1 << 20


def _read_capped(file: BinaryIO, max_bytes: int, *, expected: int = 0) -> bytes:
    """The file's bytes up to one past `max_bytes`: its `expected` size (and one byte more) in
    one read, then in chunks while it grows. One read(max_bytes + 1) asked for all that memory
    at once, and a cap of a terabyte ("no limit") failed every ingest with a MemoryError
    (OverflowError past what an index holds); chunks alone held a big export twice, as chunks
    and joined (round 29: 115 MB more resident to read a 60 MB JSONL, 57 MB now)."""
    chunks: list[bytes] = []
    size = 0
    first = min(expected, max_bytes) + 1
    while size <= max_bytes:
        chunk = file.read(first if not chunks else min(_CHUNK, max_bytes + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _file_kind(mode: int) -> str:
    kinds = {
        stat.S_ISDIR: "a folder",
        stat.S_ISFIFO: "a FIFO",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
        stat.S_ISSOCK: "a socket",
    }
    return next((name for check, name in kinds.items() if check(mode)), "not a plain file")


def make_client(
    *, user_agent: str, timeout_s: float, max_connections: int | None = None
) -> httpx.Client:
    """One HTTP client per run: shared connections, a real User-Agent, timeouts.

    `max_connections=1` keeps every request on one connection (arXiv asks API clients for that).
    """
    transport = httpx.HTTPTransport(limits=httpx.Limits(max_connections=max_connections))
    pool = getattr(transport, "_pool", None)
    if isinstance(pool, httpcore.ConnectionPool):  # bound every socket call by fetch's deadline
        pool._network_backend = DeadlineBackend(pool._network_backend)
    return httpx.Client(
        headers={"User-Agent": user_agent},
        timeout=httpx.Timeout(timeout_s),
        follow_redirects=True,
        transport=transport,
        event_hooks={"response": [refuse_odd_redirect]},
    )


def refuse_odd_redirect(response: httpx.Response) -> None:
    """End the fetch (FetchError, never retried) at a 3xx whose Location is not http(s).

    A feed has no business sending us to ftp:, file: or javascript:; httpx would fail on each with a
    transport or URL error, retried or unclear. A relative Location (no scheme) is followed.
    """
    if not response.has_redirect_location:
        return
    scheme = _SCHEME.match(response.headers.get("location", ""))
    if scheme and scheme[1].lower() not in ("http", "https"):
        raise FetchError(
            f"{redact(str(response.request.url))}: redirected to a URL that is not http(s) "
            f"({scheme[1][:20]!r}); not retried"
        )


class Pacer:
    """Per-host memory for one run: politeness spacing, and hosts found unreachable.

    Waits so that two requests to a listed host start `spacing_s` apart (hosts not listed are not
    paced). A host that refused or failed a connection (`mark_unreachable`) is not asked again by
    the same run: `fetch_url` fails at once for it. The clock and sleep are injectable for tests.
    """

    def __init__(
        self,
        spacing_s: Mapping[str, float],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._spacing = {host.lower(): s for host, s in spacing_s.items()}
        self._last: dict[str, float] = {}
        self._unreachable: dict[str, str] = {}
        self._clock = clock
        self._sleep = sleep

    def mark_unreachable(self, url: str, problem: str) -> None:
        """Remember that `url`'s host could not be connected to in this run."""
        self._unreachable[_host(url)] = problem

    def unreachable(self, url: str) -> str | None:
        """Why `url`'s host was unreachable earlier in this run, or None."""
        return self._unreachable.get(_host(url))

    def wait(self, url: str) -> float:
        """Sleep until `url`'s host may be asked again; return the seconds slept."""
        host = _host(url)
        spacing = self._spacing.get(host)
        last = self._last.get(host)
        if spacing is None or last is None:
            return 0.0
        waited = max(0.0, last + spacing - self._clock())
        if waited:
            self._sleep(waited)
        return waited

    def done(self, url: str) -> None:
        """Note that a request to `url` just finished: spacing counts from the end of a request,
        so the server sees the gap even when connecting or sending took a while."""
        host = _host(url)
        if host in self._spacing:
            self._last[host] = self._clock()


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def retry_after_s(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):  # ASCII digits only: '\xb2'.isdigit() is True
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return max(0.0, (when - now).total_seconds())
    except (OverflowError, TypeError):
        return None


def header_value(value: str | None) -> str | None:
    """`value` if it can be sent back as an HTTP header (printable ASCII, ≤ 1,000 chars), else None.

    A server's non-ASCII ETag would crash every later conditional request if it were kept.
    """
    return value if value is not None and _HEADER_VALUE.fullmatch(value) else None


def fetch_url(
    client: httpx.Client,
    url: str,
    *,
    max_bytes: int,
    retries: int = 3,
    etag: str | None = None,
    last_modified: str | None = None,
    backoff_s: float = 1.0,
    max_wait_s: float = 120.0,
    request_timeout_s: float | None = None,
    deadline_s: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    pacer: Pacer | None = None,
) -> FetchResult:
    """GET `url` (conditional when validators are given), retrying 429/5xx and read errors.

    `request_timeout_s` bounds each attempt from connecting to the last body byte; `deadline_s`
    bounds the whole call, waits between retries included. With a `pacer`, every attempt waits for
    the host's politeness interval, and a host it knows as unreachable is not asked at all.
    """
    if not is_remote(url):
        return read_local(url, max_bytes=max_bytes)
    shown = redact(url)
    started = time.monotonic()
    end = started + deadline_s if deadline_s is not None else None
    headers = {}
    if header_value(etag):
        headers["If-None-Match"] = str(etag)
    if header_value(last_modified):
        headers["If-Modified-Since"] = str(last_modified)
    attempt = 0
    while True:
        if pacer is not None:
            known = pacer.unreachable(url)
            if known:
                raise FetchError(f"{shown}: host unreachable earlier in this run ({known})")
            pacer.wait(url)
        attempt_end = _earliest(end, _after(request_timeout_s))
        try:
            result = _get_once(
                client, url, headers=headers, max_bytes=max_bytes, pacer=pacer, end=attempt_end
            )
            if result.status not in RETRY_STATUSES:
                return _check_status(result)
            wait = retry_after_s(result.headers.get("retry-after"), now=datetime.now(UTC))
            problem = f"HTTP {result.status}"
        except UNREACHABLE as e:
            problem = f"{type(e).__name__}: {redact(str(e))}"
            if pacer is not None:
                pacer.mark_unreachable(url, problem)
            raise FetchError(f"{shown}: {problem} (not retried: cannot connect)") from e
        except httpx.UnsupportedProtocol as e:  # `url` is http(s): only a redirect leads here
            raise FetchError(
                f"{shown}: redirected to a URL that is not http(s) ({redact(str(e))}); not retried"
            ) from e
        except httpx.TransportError as e:
            wait, problem = None, f"{type(e).__name__}: {redact(str(e))}"
            if attempt_end is not None and time.monotonic() >= attempt_end:
                raise FetchError(f"{shown}: {_overdue(started, end, request_timeout_s)}") from e
        except httpx.DecodingError as e:  # "Content-Encoding: gzip" over a plain body
            raise FetchError(
                f"{shown}: the body does not decompress as its Content-Encoding header says"
                f" ({redact(str(e))}); not retried"
            ) from e
        except (httpx.HTTPError, httpx.InvalidURL) as e:  # redirects loop, bad encoding, bad URL
            raise FetchError(f"{shown}: {type(e).__name__}: {redact(str(e))}") from e
        except UnicodeError as e:  # a host httpx cannot IDNA-decode ("xn--zz"), or redirected to
            raise FetchError(f"{shown}: invalid host name ({redact(str(e))}); not retried") from e
        if attempt >= retries:
            raise FetchError(f"{shown}: {problem} (gave up after {attempt + 1} attempts)")
        if wait is None:
            wait = backoff_s * (2**attempt) * (1 + random.random() * 0.25)
        if wait > max_wait_s:
            raise FetchError(
                f"{shown}: {problem}; server asks to wait {wait:.0f} s, over the limit"
            )
        if end is not None and time.monotonic() + wait > end:
            raise FetchError(f"{shown}: {problem}; no time left to retry within {deadline_s:g} s")
        logger.warning("%s: %s; retrying in %.1f s", shown, problem, wait)
        sleep(wait)
        attempt += 1


def _after(seconds: float | None) -> float | None:
    return time.monotonic() + seconds if seconds is not None else None


def _earliest(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _overdue(started: float, end: float | None, request_timeout_s: float | None) -> str:
    if end is not None and time.monotonic() >= end:
        return f"no answer within the {end - started:g}-second deadline"
    return f"no complete answer within {request_timeout_s:g} s"


def _get_once(
    client: httpx.Client,
    url: str,
    *,
    headers: dict[str, str],
    max_bytes: int,
    pacer: Pacer | None = None,
    end: float | None = None,
) -> FetchResult:
    try:
        return _stream(client, url, headers=headers, max_bytes=max_bytes, end=end)
    finally:
        if pacer is not None:
            pacer.done(url)


def _stream(
    client: httpx.Client,
    url: str,
    *,
    headers: dict[str, str],
    max_bytes: int,
    end: float | None = None,
) -> FetchResult:
    request = client.build_request("GET", url, headers=headers)
    token = REQUEST_END.set(end)
    try:
        response = client.send(request, stream=True)
    except BaseException:
        REQUEST_END.reset(token)
        raise
    try:
        declared = response.headers.get("content-length")
        if declared and _COUNT.fullmatch(declared) and int(declared) > max_bytes:
            raise FetchError(f"{redact(url)}: response is {declared} bytes, {over_cap(max_bytes)}")
        unread = _unread_coding(response, request)
        if unread is not None and response.status_code != 304:
            raise FetchError(
                f"{redact(url)}: the server sent the body compressed as {unread!r} (its"
                " Content-Encoding), which this program did not ask for and cannot read (it"
                f" asks for {_asked(request)}): the server, or a proxy before it, should honour"
                " Accept-Encoding; not retried"
            )
        # A gzip body is read as sent and decompressed here: httpx's decoder took a gzip
        # stream cut short (its framing complete, its data not) as whole, and the feed lost
        # its later items with no more than a "not clean" warning (round 29).
        gzipped = _is_gzip_coded(response)
        chunks, total = [], 0
        for chunk in response.iter_raw() if gzipped else response.iter_bytes():
            total += len(chunk)
            if total > max_bytes:
                raise FetchError(f"{redact(url)}: response is {over_cap(max_bytes)}")
            if end is not None and time.monotonic() > end:
                raise httpx.ReadTimeout("the whole response took too long", request=request)
            chunks.append(chunk)
        body = b"".join(chunks)
        if gzipped and body:
            body = gunzip_coded(body, shown=redact(url), max_bytes=max_bytes)
        body = gunzipped(body, shown=redact(url), max_bytes=max_bytes)
        return FetchResult(
            url=url,
            content=body if response.status_code != 304 else None,
            headers={k.lower(): v for k, v in response.headers.items() if header_value(v)},
            status=response.status_code,
            etag=header_value(response.headers.get("etag")),
            last_modified=header_value(response.headers.get("last-modified")),
            location=str(response.url),
        )
    finally:
        response.close()
        REQUEST_END.reset(token)


#: Compressions a server may send without being asked; httpx reads a coding it does not know
#: as no compression at all, and the parser then failed on the compressed bytes, naming no cause.
_COMPRESSIONS = frozenset({"br", "zstd", "compress", "x-compress", "gzip", "x-gzip", "deflate"})


def _unread_coding(response: httpx.Response, request: httpx.Request) -> str | None:
    """A compression in the response's Content-Encoding that the request did not accept."""
    accepted = {c.lower() for c in _codings(request.headers.get("accept-encoding", ""))}
    if "gzip" in accepted:
        accepted.add("x-gzip")
    codings = _codings(response.headers.get("content-encoding", ""))
    return next((c for c in (c.lower() for c in codings) if c in _COMPRESSIONS - accepted), None)


def _is_gzip_coded(response: httpx.Response) -> bool:
    """Whether the response's Content-Encoding is gzip, alone (as servers send it)."""
    codings = [c.lower() for c in _codings(response.headers.get("content-encoding", ""))]
    return codings in (["gzip"], ["x-gzip"])


def _asked(request: httpx.Request) -> str:
    """The codings the request accepted, as a reader reads them ('gzip or deflate')."""
    codings = _codings(request.headers.get("accept-encoding", ""))
    return " or ".join([", ".join(codings[:-1]), codings[-1]] if len(codings) > 1 else codings)


def _codings(header: str) -> list[str]:
    """The codings a comma-separated Accept-Encoding or Content-Encoding header names."""
    return [c.strip() for c in header.split(",") if c.strip()]


def _check_status(result: FetchResult) -> FetchResult:
    """The result of a 2xx with a body, or of a 304; FetchError naming the URL else. A 2xx of 0
    bytes is no document: its source failed as "empty document" (a JSON page's "not valid
    JSON"), not saying that the server sent nothing (round 27); nor is one of only ASCII
    whitespace ("\n\n"), said with its size (round 28)."""
    if result.status == 304:
        return result
    if 200 <= result.status < 300:
        content = result.content or b""
        if not content.strip():
            n = len(content)
            size = f"{n} byte{'' if n == 1 else 's'}" + (", only whitespace" if n else "")
            empty = f"the server sent an empty body (HTTP {result.status}, {size})"
            raise FetchError(f"{redact(result.url)}: {empty}")
        return result
    raise HTTPStatusError(
        f"{redact(result.url)}: HTTP {result.status}",
        status=result.status,
        content=result.content or b"",
    )
