"""Any RSS / Atom / RDF feed (bioRxiv, journals, PubMed, generic paper feeds) -> entries.

Also holds the feedparser policy shared by the arXiv parsers (`load_feed`) and the small text
helpers every feed needs. Pure: takes bytes, no network or file I/O. Never raises anything but
ParseError for bad bytes.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import feedparser

from pipeline.errors import ParseError
from pipeline.models import Entry

logger = logging.getLogger(__name__)

_BLOCK_TAGS = frozenset(
    {"blockquote", "br", "dd", "div", "dl", "dt", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li"}
    | {"ol", "p", "pre", "section", "table", "td", "th", "tr", "ul"}
)
_SKIP_TAGS = frozenset({"script", "style"})
# Bozo reasons that say nothing about the feed's structure: a wrong charset or Content-Type.
_SURVIVABLE = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
_WHITESPACE = re.compile(r"\s+")
_CHARREF = re.compile(rb"&#(?:[xX](?P<hex>[0-9a-fA-F]{1,64})|(?P<dec>[0-9]{1,64}));")
_INITIALS = re.compile(r"^(?:[A-Z][a-z]?\.?[- ]?)+$")
_DOI_PREFIXES = re.compile(r"^(?:doi:\s*|https?://(?:dx\.)?doi\.org/)", re.IGNORECASE)
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
# What a broken item raises in our converters: a cut-off or garbled feed makes feedparser return
# items holding dicts or None where text belongs, or links without an href (issue 7); a date
# near year 1 or 9999 overflows once its offset is applied (issue 15).
_MALFORMED = (TypeError, KeyError, AttributeError, ValueError, OverflowError)


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment; block elements become spaces."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def collapse_whitespace(text: str) -> str:
    """Collapse every run of whitespace to one space and strip the ends."""
    return _WHITESPACE.sub(" ", text).strip()


def html_to_text(html: str) -> str:
    """HTML fragment -> plain text: tags dropped, entities unescaped, whitespace collapsed."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return collapse_whitespace("".join(extractor.parts))


def split_authors(text: str) -> tuple[str, ...]:
    """Split an author string ("A. Smith, B. Jones" or "Smith, A., Jones, B.") into names."""
    separator = ";" if ";" in text else ","
    pieces = [p for p in (collapse_whitespace(p) for p in text.split(separator)) if p]
    if separator == "," and len(pieces) == 2 and not all(" " in p for p in pieces):
        return (", ".join(pieces),)  # one "Surname, Given" name (Cambridge: "Inoda, Toshio")
    names: list[str] = []
    for piece in pieces:
        # "LAPALU, N., SIMON, A." (bioRxiv): a bare initials piece belongs to the surname before it.
        if names and separator == "," and _INITIALS.match(piece) and " " not in names[-1]:
            names[-1] = f"{names[-1]}, {piece}"
        else:
            names.append(piece)
    return tuple(names)


def clean_doi(value: str | None) -> str | None:
    """Return the bare DOI ("10.1101/x") from "doi:…", a doi.org link or a bare DOI, else None."""
    if not value:
        return None
    bare = _DOI_PREFIXES.sub("", value.strip()).split("?")[0]
    return bare if _DOI.match(bare) else None


def _struct_to_datetime(value: Any) -> datetime | None:
    """Turn one of feedparser's *_parsed structs (always UTC) into an aware datetime."""
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def load_feed(
    content: bytes, source: str, headers: Mapping[str, str] | None = None
) -> feedparser.FeedParserDict:
    """Parse feed bytes with feedparser, applying the bozo policy (see STYLE.md example 3)."""
    if not content.strip():
        raise ParseError(f"{source}: empty document")
    # feedparser reads only lower-case header names ("content-type").
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    try:
        parsed = feedparser.parse(_replace_bad_charrefs(content), response_headers=response_headers)
    except (ValueError, OverflowError, RecursionError) as e:  # feedparser's own limits
        raise ParseError(f"{source}: not a usable feed ({type(e).__name__}: {e})") from e
    reason = parsed.get("bozo_exception")
    if parsed.get("bozo") and not parsed.entries and not isinstance(reason, _SURVIVABLE):
        raise ParseError(f"{source}: not a usable feed ({type(reason).__name__}: {reason})")
    if not parsed.entries and not parsed.get("version"):
        raise ParseError(f"{source}: not an RSS, Atom or RDF feed")
    if parsed.get("bozo"):
        n_entries = len(parsed.entries)
        logger.warning("%s: feed is not clean, keeping %d entries: %s", source, n_entries, reason)
    return parsed


def _replace_bad_charrefs(content: bytes) -> bytes:
    """`&#xD800;` (a lone surrogate) or `&#x110000;` (past Unicode) -> U+FFFD's reference:
    feedparser's loose parser turns them into text that cannot be encoded, and crashes."""

    def fix(match: re.Match[bytes]) -> bytes:
        code = int(match["hex"], 16) if match["hex"] else int(match["dec"])
        return match[0] if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else b"&#xFFFD;"

    return _CHARREF.sub(fix, content) if b"&#" in content else content


def parse_rss(content: bytes, source: str, headers: Mapping[str, str] | None = None) -> list[Entry]:
    """Parse any RSS/Atom/RDF feed into entries; a valid feed with no items gives []."""
    parsed = load_feed(content, source, headers)
    entries = []
    for index, item in enumerate(parsed.entries):
        entry = convert_item(_entry_from_item, item, source, index + 1)
        if entry is not None:
            entries.append(entry)
    if parsed.entries and not entries:
        raise ParseError(f"{source}: none of the {len(parsed.entries)} items has a title")
    return entries


def convert_item(
    convert: Callable[..., Entry | None],
    item: Mapping[str, Any],
    source: str,
    number: int,
    *args: Any,
) -> Entry | None:
    """`convert(item, source, *args)`, or None with a warning when the item is malformed.

    A malformed item is untrusted data to skip (STYLE.md example 3), never a traceback that would
    stop the other sources; the caller raises ParseError when no item at all is usable.
    """
    try:
        return convert(item, source, *args)
    except _MALFORMED as e:
        logger.warning("%s: skipping item %d, it is malformed (%r)", source, number, e)
        return None


def _entry_from_item(item: Mapping[str, Any], source: str) -> Entry | None:
    title = detail_text(item.get("title_detail"), item.get("title", ""))
    if not title:
        logger.warning("%s: skipping an item with no title (id %r)", source, item.get("id"))
        return None
    abstract, authors = _unlabel(_abstract(item), item_authors(item))
    published = item_datetime(item, "published_parsed", "created_parsed", "updated_parsed")
    return Entry(
        source=source,
        title=title,
        abstract=abstract,
        raw_id=item.get("id") or None,
        link=item.get("link") or None,
        doi=_doi(item),
        authors=authors,
        categories=tuple(t["term"] for t in item.get("tags", []) if t.get("term")),
        published=published,
        updated=item_datetime(item, "updated_parsed"),
    )


def detail_text(detail: Mapping[str, Any] | None, fallback: str) -> str:
    """Text of a feedparser text construct (title_detail…): HTML converted, plain text collapsed."""
    value = detail.get("value", fallback) if detail else fallback
    if detail and "html" in (detail.get("type") or ""):
        return html_to_text(value or "")
    return collapse_whitespace(value or "")


def _abstract(item: Mapping[str, Any]) -> str:
    # Wiley's summary is "TAXON, EarlyView." and PubMed's is cut at 500 characters, while their
    # <content:encoded> holds the whole abstract: take the longest text on offer.
    candidates = [detail_text(item.get("summary_detail"), item.get("summary", ""))]
    candidates += [detail_text(c, "") for c in item.get("content", [])]
    return max(candidates, key=len)


def _unlabel(abstract: str, authors: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """Undo feeds that pack labelled metadata into the description."""
    if abstract.startswith("Publication date:") and "Author(s):" in abstract:
        # ScienceDirect: "Publication date: … Source: … Author(s): A, B" and no abstract at all.
        return "", authors or split_authors(abstract.rsplit("Author(s):", 1)[1])
    if abstract.startswith("Authors:") and " Summary: " in abstract:
        # The python-feedgen "Hugging Face Daily Papers" feed: "Authors: … Upvotes: n Summary: …".
        head, summary = abstract.split(" Summary: ", 1)
        names = head.removeprefix("Authors:").split(" Upvotes:")[0]
        return summary.strip(), authors or split_authors(names)
    return abstract, authors


def item_authors(item: Mapping[str, Any]) -> tuple[str, ...]:
    """Author names of a feed item; a single comma-separated string is split into names."""
    names = [a.get("name", "") for a in item.get("authors", []) if a.get("name")]
    if len(names) == 1:
        return split_authors(names[0])
    return tuple(collapse_whitespace(n) for n in names)


def _doi(item: Mapping[str, Any]) -> str | None:
    for key in ("prism_doi", "dc_identifier", "id", "link"):
        doi = clean_doi(item.get(key))
        if doi:
            return doi
    return None


def item_datetime(item: Mapping[str, Any], *keys: str) -> datetime | None:
    """The first of the item's *_parsed timestamps present, as an aware UTC datetime."""
    for key in keys:
        # `in` first: FeedParserDict.get("updated_parsed") falls back to published_parsed, noisily.
        value = _struct_to_datetime(item[key]) if key in item else None
        if value is not None:
            return value
    return None
