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
from urllib.parse import urljoin, urlsplit

import feedparser

from pipeline.errors import ParseError
from pipeline.ingest.clean import clean_doi
from pipeline.ingest.sources.descriptions import unpack_description
from pipeline.models import Entries, Entry

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
# What a broken item raises in our converters: a cut-off or garbled feed makes feedparser return
# items holding dicts or None where text belongs, or links without an href (issue 7); a date
# near year 1 or 9999 overflows once its offset is applied (issue 15).
_MALFORMED = (TypeError, KeyError, AttributeError, ValueError, OverflowError)


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment; block elements become `block` (a space)."""

    def __init__(self, block: str = " ") -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._block = block
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(self._block)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(self._block)

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


#: What a site or an export writes for a paper it has no date for: the Unix epoch, or .NET's
#: DateTime.MinValue. Read as dates, they put the paper in 1970-W01, which no digest lists.
NO_DATE = frozenset({datetime(1970, 1, 1, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC)})


def _struct_to_datetime(value: Any) -> datetime | None:
    """Turn one of feedparser's *_parsed structs (always UTC) into an aware datetime (None for
    a stamp that stands for no date: `NO_DATE`)."""
    if not isinstance(value, time.struct_time):
        return None
    try:
        stamp = datetime(*value[:6], tzinfo=UTC)
    except (ValueError, OverflowError):
        return None
    return None if stamp in NO_DATE else stamp


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


def parse_rss(content: bytes, source: str, headers: Mapping[str, str] | None = None) -> Entries:
    """Parse any RSS/Atom/RDF feed into entries; a valid feed with no items gives [].

    Items without a title or holding a bad value are skipped, logged and counted (`n_bad`).
    """
    parsed = load_feed(content, source, headers)
    base = feed_base(parsed, headers)
    entries = []
    for index, item in enumerate(parsed.entries):
        entry = convert_item(_entry_from_item, item, source, index + 1, base)
        if entry is not None:
            entries.append(entry)
    if parsed.entries and not entries:
        raise ParseError(f"{source}: none of the {len(parsed.entries)} items has a title")
    return Entries(entries, n_bad=len(parsed.entries) - len(entries))


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


def _entry_from_item(item: Mapping[str, Any], source: str, base: str | None) -> Entry | None:
    title = detail_text(item.get("title_detail"), item.get("title", ""))
    if not title:
        logger.warning("%s: skipping an item with no title (id %r)", source, item.get("id"))
        return None
    unpacked = unpack_description(_description_lines(item), title)
    authors = item_authors(item) or split_authors(unpacked.authors or "")
    published = item_datetime(item, "published_parsed", "created_parsed", "updated_parsed")
    return Entry(
        source=source,
        title=title,
        abstract=unpacked.abstract,
        raw_id=item.get("id") or None,
        link=item_link(item, base),
        pdf_url=item_pdf(item, base),
        doi=item_doi(item) or clean_doi(unpacked.doi),
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


def _description_lines(item: Mapping[str, Any]) -> list[str]:
    """The item's description as text lines (one per HTML block), for `unpack_description`."""
    # Wiley's summary is "TAXON, EarlyView." and PubMed's is cut at 500 characters, while their
    # <content:encoded> holds the whole abstract: take the longest text on offer.
    details = [item.get("summary_detail") or {"value": item.get("summary", "")}]
    details += list(item.get("content", []))
    candidates = [_detail_lines(d) for d in details]
    return max(candidates, key=lambda lines: sum(len(line) for line in lines))


def _detail_lines(detail: Mapping[str, Any]) -> list[str]:
    value = detail.get("value") or ""
    if "html" not in (detail.get("type") or "html"):
        return [collapse_whitespace(line) for line in value.splitlines()]
    extractor = _TextExtractor(block="\0")  # lines break at HTML blocks, not source newlines
    extractor.feed(value)
    extractor.close()
    return [collapse_whitespace(line) for line in "".join(extractor.parts).split("\0")]


def item_authors(item: Mapping[str, Any]) -> tuple[str, ...]:
    """Author names of a feed item; a single comma-separated string is split into names."""
    names = [a.get("name", "") for a in item.get("authors", []) if a.get("name")]
    raw = item.get("author")
    if len(names) == 1 and isinstance(raw, str) and "@" in raw:
        # feedparser cuts "mail@große.de (Name)" at the first non-ASCII character of the address
        # ("ße.de (Name"): the raw string is cleaned by normalize instead.
        names = [raw]
    if len(names) == 1:
        return split_authors(names[0])
    return tuple(collapse_whitespace(n) for n in names)


def item_doi(item: Mapping[str, Any]) -> str | None:
    """The item's DOI from every place feeds put one: prism:doi, arxiv:doi, dc:identifier, the
    id, or a doi.org link among its links."""
    keys = ("prism_doi", "arxiv_doi", "dc_identifier", "id", "link")
    hrefs = [link.get("href") for link in item.get("links", []) if isinstance(link, Mapping)]
    for value in [item.get(key) for key in keys] + hrefs:
        doi = clean_doi(value) if isinstance(value, str) else None
        if doi:
            return doi
    return None


def feed_base(parsed: Mapping[str, Any], headers: Mapping[str, str] | None) -> str | None:
    """The URL relative item links resolve against when the feed gives no xml:base: the feed's
    own URL (Content-Location, set by ingest) else the site link of the feed."""
    location = {k.lower(): v for k, v in (headers or {}).items()}.get("content-location")
    site = parsed.get("feed", {}).get("link")
    for base in (location, site):
        if isinstance(base, str) and urlsplit(base).scheme in ("http", "https"):
            return base
    return None


def item_link(item: Mapping[str, Any], base: str | None) -> str | None:
    """The item's link, made absolute: feedparser resolves xml:base, `base` the rest."""
    link = item.get("link")
    if not isinstance(link, str) or not link.strip():
        return None
    link = link.strip()
    if base and not urlsplit(link).scheme:
        return urljoin(base, link)
    return link


def item_pdf(item: Mapping[str, Any], base: str | None) -> str | None:
    """The item's PDF enclosure (`<enclosure type="application/pdf">`, or one whose path ends in
    .pdf), made absolute like its link. A feed that gives a paper only as its PDF (no <link>)
    had the paper stored with no link at all: the digest listed its title with nothing to open,
    and an arXiv PDF's id went unread (round 29)."""
    for enclosure in item.get("enclosures", []):
        href = enclosure.get("href") if isinstance(enclosure, Mapping) else None
        if not isinstance(href, str):
            continue
        kind = str(enclosure.get("type") or "").lower()
        try:  # a garbled enclosure is no PDF; the item itself is kept
            if "pdf" in kind or urlsplit(href).path.lower().endswith(".pdf"):
                return item_link({"link": href}, base)
        except ValueError:
            continue
    return None


#: A date written year first with slashes, dots or CJK units, as Chinese, Japanese and Korean
#: sites write it ("2021/09/24", "2021. 9. 24.", "2021年9月24日", "2021년 9월 24일"), maybe with a
#: time of day: feedparser reads every such date as 1 December of its year.
_YEAR_FIRST = re.compile(
    r"\s*(?P<y>[0-9]{4})\s*(?:/|\.|年|년)\s*(?P<m>[0-9]{1,2})\s*(?:/|\.|月|월)\s*"
    r"(?P<d>[0-9]{1,2})\s*(?:日|일|\.)?"
    r"(?:\s+(?P<H>[0-9]{1,2}):(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2}))?)?\s*"
)


def _year_first(text: Any) -> datetime | None:
    """A `_YEAR_FIRST` date as an aware datetime (its time of day read as UTC, as feedparser
    reads a time without a zone); None for any other text or a day no calendar has."""
    found = _YEAR_FIRST.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        return None
    year, month, day, hour, minute, second = (
        int(found[k] or 0) for k in ("y", "m", "d", "H", "M", "S")
    )
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def item_datetime(item: Mapping[str, Any], *keys: str) -> datetime | None:
    """The first of the item's *_parsed timestamps present, as an aware UTC datetime (a date
    written year first with slashes or CJK units read from the item's own text: `_YEAR_FIRST`)."""
    for key in keys:
        # `in` first: FeedParserDict.get("updated_parsed") falls back to published_parsed, noisily.
        value = _struct_to_datetime(item[key]) if key in item else None
        written = key.removesuffix("_parsed")
        if written in item:
            value = _year_first(item[written]) or value
        if value is not None:
            return value
    return None
