"""gzip data -> bytes, bounded: what `fetch` reads (a local file, a body) decompressed.

Pure: bytes in, bytes out, no I/O. Every layer and member is decompressed up to `max_bytes`
(a small file that expands without end is refused), and data cut off before its gzip trailer
is a FetchError, never a body read as far as it went. Split from `fetch` (round 29).
"""

from __future__ import annotations

import logging
import sys
import zlib

from pipeline.errors import FetchError

logger = logging.getLogger(__name__)


def over_cap(max_bytes: int) -> str:
    """Say that a body is over the cap, and which setting raises it: "file is over the
    50000000-byte cap" named neither, and the user with a big export did not know what to
    change (round 29)."""
    return f"over the {max_bytes}-byte cap (raise [fetch] max_bytes to accept it)"


#: The first bytes of gzip data; no feed, JSON or UTF-8 text begins with them (0x8b continues a
#: UTF-8 sequence, and 0x1f is a control character).
GZIP_MAGIC = b"\x1f\x8b"


def gunzipped(content: bytes, *, shown: str, max_bytes: int) -> bytes:
    """`content`, decompressed while it is gzip data: a `papers.jsonl.gz`, a server that sends a
    `.gz` file as it is, or compresses twice. Each layer stops at `max_bytes` (a small file that
    expands without end is refused). Before, such a body failed its source as "not UTF-8 text"
    or "not well-formed (invalid token)", which named no cause."""
    for _ in range(3):  # no real body is compressed more than twice
        if not content.startswith(GZIP_MAGIC):
            return content
        content = gunzip_members(content, shown=shown, max_bytes=max_bytes)
    raise FetchError(f"{shown}: gzip-compressed more than three times, refused")


def gunzip_members(content: bytes, *, shown: str, max_bytes: int) -> bytes:
    """One layer of gzip data decompressed: every member of it, as `gunzip` reads them. Two
    `.jsonl.gz` files joined with `cat` are one valid gzip file of two members, and only the
    first was read, the papers of the second lost without a word; data cut off before its
    gzip trailer (an interrupted download or copy) was taken as whole, and failed as "line
    57: not valid JSON", or lost its last papers silently where the cut fell at a line's end
    (round 29)."""
    parts: list[bytes] = []
    size = 0
    rest = content
    while rest.startswith(GZIP_MAGIC):
        inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            part = inflate.decompress(rest, min(max_bytes + 1 - size, sys.maxsize))
        except zlib.error as e:
            raise FetchError(f"{shown}: gzip-compressed data that does not decompress ({e})") from e
        size += len(part)
        if size > max_bytes:
            raise FetchError(f"{shown}: decompresses to {over_cap(max_bytes)}")
        if not inflate.eof:
            raise FetchError(
                f"{shown}: gzip-compressed data that is cut off after {len(content)} bytes (an"
                " incomplete download or copy?)"
            )
        parts.append(part)
        rest = inflate.unused_data
    if rest.strip(b"\0"):  # what gzip calls trailing garbage; zeros are a tape's padding
        logger.warning("%s: ignoring %d bytes after the gzip data", shown, len(rest))
    return b"".join(parts)


def gunzip_coded(body: bytes, *, shown: str, max_bytes: int) -> bytes:
    """A body sent with Content-Encoding gzip, decompressed whole: every member, and data cut
    off before its trailer refused (`gunzip_members`)."""
    if not body.startswith(GZIP_MAGIC):
        raise FetchError(
            f"{shown}: the body does not decompress as its Content-Encoding header says"
            " (it is not gzip data); not retried"
        )
    return gunzip_members(body, shown=shown, max_bytes=max_bytes)
