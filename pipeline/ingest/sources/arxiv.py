"""arXiv feeds -> entries: the daily rss.arxiv.org RSS 2.0 / Atom and the export.arxiv.org API.

Pure: takes bytes, no network or file I/O. Unusable input raises ParseError naming the source.
Canonical ids are not decided here (that is `normalize`); entries keep the version-bearing id.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, date
from typing import Any

from pipeline.errors import ParseError
from pipeline.ingest.clean import parse_date
from pipeline.ingest.sources.rss import (
    collapse_whitespace,
    convert_item,
    detail_text,
    feed_base,
    item_authors,
    item_datetime,
    item_doi,
    item_link,
    load_feed,
)
from pipeline.models import Entries, Entry

logger = logging.getLogger(__name__)

_COUNT = re.compile(r"[0-9]{1,18}")

# "arXiv:2604.21952v1 Announce Type: new \nAbstract: This work presents …"
_RSS_DESCRIPTION = re.compile(
    r"^\s*arXiv:(?P<id>\S+)\s+Announce Type:\s*(?P<type>\S+)\s+Abstract:\s*(?P<abstract>.*)$",
    re.DOTALL,
)


def parse_arxiv_rss(
    content: bytes, source: str, headers: Mapping[str, str] | None = None
) -> Entries:
    """Parse an rss.arxiv.org RSS 2.0 or Atom feed; a day with no announcements gives []."""
    parsed = load_feed(content, source, headers)
    feed_date = parsed.feed.get("published") or parsed.feed.get("updated")
    base = feed_base(parsed, headers)
    entries = [
        entry
        for number, item in enumerate(parsed.entries, start=1)
        if item.get("title")
        and (entry := convert_item(_rss_entry, item, source, number, feed_date, base)) is not None
    ]
    _check_titles(source, len(parsed.entries), len(entries))
    return Entries(entries, n_bad=len(parsed.entries) - len(entries))


def parse_arxiv_api(
    content: bytes, source: str, headers: Mapping[str, str] | None = None
) -> Entries:
    """Parse an export.arxiv.org/api/query Atom response (2016 or 2025+ format); 0 results -> []."""
    return parse_arxiv_api_page(content, source, headers)[0]


def parse_arxiv_api_page(
    content: bytes, source: str, headers: Mapping[str, str] | None = None
) -> tuple[Entries, int | None]:
    """An API response's entries and its `opensearch:totalResults` (None if absent), for paging."""
    parsed = load_feed(content, source, headers)
    total_text = str(parsed.feed.get("opensearch_totalresults", "")).strip()
    entries = []
    for number, item in enumerate(parsed.entries, start=1):
        if "/api/errors" in str(item.get("id", "")):
            # The API reports a bad query as a feed holding one entry titled "Error".
            raise ParseError(f"{source}: arXiv API error: {item.get('summary', '').strip()}")
        entry = convert_item(_api_entry, item, source, number) if item.get("title") else None
        if entry is not None:
            entries.append(entry)
    _check_titles(source, len(parsed.entries), len(entries))
    return Entries(entries, n_bad=len(parsed.entries) - len(entries)), _total(total_text, source)


def arxiv_api_error(content: bytes) -> str | None:
    """What an arXiv API error page says ("incorrect id format for 2402.1328"), or None for
    bytes that are no such page. The API answers a query it cannot read with HTTP 400 and
    this page, whose words the status alone did not carry (round 29)."""
    try:
        parsed = load_feed(content, "arXiv API", {"content-type": "application/atom+xml"})
    except ParseError:
        return None
    for item in parsed.entries:
        if "/api/errors" in str(item.get("id", "")):
            return collapse_whitespace(str(item.get("summary", ""))) or "(no reason given)"
    return None


def _total(text: str, source: str) -> int | None:
    """totalResults as a count; anything but 1-18 ASCII digits ('²', 5,000 digits) is unknown."""
    if _COUNT.fullmatch(text):
        return int(text)
    if text:
        logger.warning("%s: ignoring unreadable totalResults %r", source, text[:40])
    return None


def _check_titles(source: str, n_items: int, n_kept: int) -> None:
    """Warn about items skipped for lack of a title (or malformed); fail when none was usable."""
    if n_items and not n_kept:
        raise ParseError(f"{source}: none of the {n_items} items has a usable title")
    if n_kept < n_items:
        logger.warning("%s: skipped %d items with no usable title", source, n_items - n_kept)


def _rss_entry(
    item: Mapping[str, Any], source: str, feed_date: str | None, base: str | None
) -> Entry:
    description = item.get("summary", "")
    match = _RSS_DESCRIPTION.match(description)
    raw_id = match["id"] if match else item.get("id")
    abstract = match["abstract"] if match else description
    announce_type = item.get("arxiv_announce_type") or (match["type"] if match else None)
    # RSS dates are RFC 822, Atom dates ISO 8601; both keep their US Eastern offset here, which
    # decides the announcement day (issue 14: Atom dates were read as e-mail dates and lost).
    local = parse_date(item.get("published") or item.get("updated") or feed_date)
    return Entry(
        source=source,
        title=detail_text(item.get("title_detail"), item.get("title", "")),
        abstract=collapse_whitespace(abstract),
        raw_id=raw_id or None,
        link=item_link(item, base),
        doi=item_doi(item),
        authors=item_authors(item),
        categories=_unique(t.get("term") for t in item.get("tags", [])),
        published=local.astimezone(UTC) if local else None,
        announced=local.date() if local else _utc_date(item),
        announce_type=collapse_whitespace(announce_type) if announce_type else None,
    )


def _api_entry(item: Mapping[str, Any], source: str) -> Entry:
    primary = (item.get("arxiv_primary_category") or {}).get("term")
    links = item.get("links", [])
    return Entry(
        source=source,
        title=detail_text(item.get("title_detail"), item.get("title", "")),
        abstract=detail_text(item.get("summary_detail"), item.get("summary", "")),
        raw_id=item.get("id") or None,
        link=next((x["href"] for x in links if x.get("rel") == "alternate"), item.get("link")),
        doi=item_doi(item),
        authors=tuple(
            collapse_whitespace(a["name"]) for a in item.get("authors", []) if a.get("name")
        ),
        categories=_unique([primary, *(t.get("term") for t in item.get("tags", []))]),
        published=item_datetime(item, "published_parsed"),
        updated=item_datetime(item, "updated_parsed"),
        pdf_url=next((x["href"] for x in links if x.get("title") == "pdf"), None),
    )


def _utc_date(item: Mapping[str, Any]) -> date | None:
    published = item_datetime(item, "published_parsed")
    return published.date() if published else None


def _unique(values: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in values if v and v.strip()))
