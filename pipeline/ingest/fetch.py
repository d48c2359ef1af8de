"""Bytes for one source URL: http(s) through httpx, or a local file / file:// URL read directly.

The only module that touches the network. It knows nothing of feeds or the store: the caller passes
the cached validators (ETag, Last-Modified) in and saves the new ones from the result.
Retries only on 429/5xx and transport errors, with exponential backoff that honours Retry-After.
A `Pacer` spaces requests per host (arXiv's terms: at most one API request every 3 seconds).
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from pipeline.errors import FetchError

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class FetchResult:
    """What one fetch returned; `content` is None when the server said 304 Not Modified."""

    url: str
    content: bytes | None
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def is_remote(url: str) -> bool:
    """True for http(s) URLs."""
    return urlsplit(url).scheme.lower() in ("http", "https")


def read_local(url: str, *, max_bytes: int) -> FetchResult:
    """Read a local path or file:// URL, refusing files over the size cap."""
    parts = urlsplit(url)
    path = Path(unquote(parts.path)) if parts.scheme == "file" else Path(url)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise FetchError(f"{url}: file is {size} bytes, over the {max_bytes}-byte cap")
        return FetchResult(url, path.read_bytes())
    except OSError as e:
        raise FetchError(f"{url}: cannot read file: {e.strerror or e}") from e


def make_client(
    *, user_agent: str, timeout_s: float, max_connections: int | None = None
) -> httpx.Client:
    """One HTTP client per run: shared connections, a real User-Agent, timeouts.

    `max_connections=1` keeps every request on one connection (arXiv asks API clients for that).
    """
    return httpx.Client(
        headers={"User-Agent": user_agent},
        timeout=httpx.Timeout(timeout_s),
        follow_redirects=True,
        limits=httpx.Limits(max_connections=max_connections),
    )


class Pacer:
    """Per-host politeness: waits so that two requests to one host start `spacing_s` apart.

    Hosts not listed are not paced. The clock and sleep are injectable for tests.
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
        self._clock = clock
        self._sleep = sleep

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
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


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
    sleep: Callable[[float], None] = time.sleep,
    pacer: Pacer | None = None,
) -> FetchResult:
    """GET `url` (conditional when validators are given), retrying 429/5xx and transport errors.

    With a `pacer`, every attempt (retries too) waits for the host's politeness interval.
    """
    if not is_remote(url):
        return read_local(url, max_bytes=max_bytes)
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    attempt = 0
    while True:
        if pacer is not None:
            pacer.wait(url)
        try:
            result = _get_once(client, url, headers=headers, max_bytes=max_bytes, pacer=pacer)
            if result.status not in RETRY_STATUSES:
                return _check_status(result)
            wait = retry_after_s(result.headers.get("retry-after"), now=datetime.now(UTC))
            problem = f"HTTP {result.status}"
        except httpx.TransportError as e:
            wait, problem = None, f"{type(e).__name__}: {e}"
        except (httpx.HTTPError, httpx.InvalidURL) as e:  # redirects loop, bad encoding, bad URL
            raise FetchError(f"{url}: {type(e).__name__}: {e}") from e
        if attempt >= retries:
            raise FetchError(f"{url}: {problem} (gave up after {attempt + 1} attempts)")
        if wait is None:
            wait = backoff_s * (2**attempt) * (1 + random.random() * 0.25)
        if wait > max_wait_s:
            raise FetchError(f"{url}: {problem}; server asks to wait {wait:.0f} s, over the limit")
        logger.warning("%s: %s; retrying in %.1f s", url, problem, wait)
        sleep(wait)
        attempt += 1


def _get_once(
    client: httpx.Client,
    url: str,
    *,
    headers: dict[str, str],
    max_bytes: int,
    pacer: Pacer | None = None,
) -> FetchResult:
    try:
        return _stream(client, url, headers=headers, max_bytes=max_bytes)
    finally:
        if pacer is not None:
            pacer.done(url)


def _stream(
    client: httpx.Client, url: str, *, headers: dict[str, str], max_bytes: int
) -> FetchResult:
    with client.stream("GET", url, headers=headers) as response:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise FetchError(f"{url}: response is {declared} bytes, over the {max_bytes}-byte cap")
        chunks, total = [], 0
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total > max_bytes:
                raise FetchError(f"{url}: response exceeds the {max_bytes}-byte cap")
            chunks.append(chunk)
        return FetchResult(
            url=url,
            content=b"".join(chunks) if response.status_code != 304 else None,
            headers={k.lower(): v for k, v in response.headers.items()},
            status=response.status_code,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
        )


def _check_status(result: FetchResult) -> FetchResult:
    if result.status == 304 or 200 <= result.status < 300:
        return result
    raise FetchError(f"{result.url}: HTTP {result.status}")
