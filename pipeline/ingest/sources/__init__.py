"""Source kinds: one pure parser per kind turning fetched bytes into `Entry` records.

Every parser has the signature `(content, source, headers=None) -> Entries` (a list of `Entry`
with `n_bad`, the items skipped as bad) and raises only ParseError on unusable bytes. No network,
no files, no heavy imports (feedparser at most).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from pipeline.errors import ConfigError, ParseError
from pipeline.ingest.sources.arxiv import parse_arxiv_api, parse_arxiv_rss
from pipeline.ingest.sources.files import parse_file
from pipeline.ingest.sources.hf import parse_hf_daily
from pipeline.ingest.sources.rss import parse_rss
from pipeline.models import Entries

Parser = Callable[[bytes, str, Mapping[str, str] | None], Entries]

PARSERS: dict[str, Parser] = {
    "arxiv-rss": parse_arxiv_rss,
    "arxiv-api": parse_arxiv_api,
    "hf-daily": parse_hf_daily,
    "rss": parse_rss,
    "file": parse_file,
}

__all__ = [
    "PARSERS",
    "parse_arxiv_api",
    "parse_arxiv_rss",
    "parse_file",
    "parse_hf_daily",
    "parse_rss",
    "parse_source",
]


def parse_source(
    kind: str, content: bytes, source: str, headers: Mapping[str, str] | None = None
) -> Entries:
    """Parse `content` with the parser registered for `kind` ("arxiv-rss", "rss", "file", …)."""
    try:
        parser = PARSERS[kind]
    except KeyError:
        known = ", ".join(sorted(PARSERS))
        raise ConfigError(f"{source}: unknown source kind {kind!r} (known: {known})") from None
    try:
        return parser(content, source, headers)
    except ParseError as e:
        hint = _kind_hint(kind, content)
        if hint is None:
            raise
        raise ParseError(f"{e}; {hint}") from e


_XML_KINDS = frozenset({"arxiv-rss", "arxiv-api", "rss"})


def _kind_hint(kind: str, content: bytes) -> str | None:
    """What the bytes a parser refused are, when they are what another kind reads: a source of
    the wrong kind (Hugging Face's JSON read as `rss`) failed as "not a usable feed
    (SAXParseException: <unknown>:2:0: syntax error)", or a feed read as `file` as "line 1: not
    valid JSON", neither saying what came back."""
    head = content[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if kind in _XML_KINDS and head[:1] in (b"{", b"["):
        return (
            'the source gave JSON, not a feed: Hugging Face\'s daily papers are kind "hf-daily",'
            ' a JSON list of papers kind "file"'
        )
    if kind not in _XML_KINDS and head[:1] == b"<":
        if b"<html" in head or b"<!doctype html" in head:
            return "the source gave an HTML page, not JSON (a login, a captcha, an error page?)"
        return (
            'the source gave XML, not JSON: an RSS or Atom feed is kind "rss"'
            ' ("arxiv-rss" for arXiv\'s)'
        )
    if _is_html(head):
        return "the source gave an HTML page (a login, a captcha, an error page?)"
    return None


#: What may stand before a document's root: whitespace, an XML declaration or processing
#: instruction, comments.
_PROLOG = re.compile(rb"(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)


def _is_html(head: bytes) -> bool:
    """Whether the (lower-cased) first bytes are an HTML page: its doctype or <html> root after
    any prolog. An XHTML login page (`<?xml …?><!DOCTYPE html PUBLIC …>`, as single sign-on and
    library proxies serve) or one opened by a comment failed an `rss` source as "not an RSS,
    Atom or RDF feed", not saying that a page came back (round 29)."""
    prolog = _PROLOG.match(head)
    root = head[prolog.end() if prolog else 0 :]
    return root.startswith((b"<!doctype html", b"<html"))
