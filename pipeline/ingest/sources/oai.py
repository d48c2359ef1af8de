"""arXiv OAI-PMH `ListRecords` pages (metadataPrefix `arXiv`) -> entries and a resumption token.

Pure: takes bytes, no network. OAI-PMH is arXiv's recommended path for bulk backfill; a page holds
up to ~1,000 records and ends with a `resumptionToken` that is empty on the last page.
`noRecordsMatch` is an empty answer, not an error; any other OAI error is a ParseError.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime

from pipeline.errors import ParseError
from pipeline.ingest.sources.rss import collapse_whitespace
from pipeline.models import Entry

logger = logging.getLogger(__name__)

_OAI = "{http://www.openarchives.org/OAI/2.0/}"
_ARXIV = "{http://arxiv.org/OAI/arXiv/}"


def parse_arxiv_oai(
    content: bytes, source: str, headers: Mapping[str, str] | None = None
) -> tuple[list[Entry], str | None]:
    """Parse one ListRecords page; the token is None on the last page."""
    try:
        root = ET.fromstring(content)
    except ET.ParseError as e:
        raise ParseError(f"{source}: not a usable OAI-PMH response ({e})") from e
    if root.tag != f"{_OAI}OAI-PMH":
        raise ParseError(f"{source}: not an OAI-PMH response (root element {root.tag!r})")
    error = root.find(f"{_OAI}error")
    if error is not None:
        if error.get("code") == "noRecordsMatch":
            return [], None
        message = collapse_whitespace(error.text or "")
        raise ParseError(f"{source}: OAI-PMH error {error.get('code')}: {message}")
    records = root.findall(f"{_OAI}ListRecords/{_OAI}record")
    entries = []
    for record in records:
        entry = _entry(record, source)
        if entry is not None:
            entries.append(entry)
    token = root.find(f"{_OAI}ListRecords/{_OAI}resumptionToken")
    text = (token.text or "").strip() if token is not None else ""
    return entries, text or None


def _entry(record: ET.Element, source: str) -> Entry | None:
    header = record.find(f"{_OAI}header")
    if header is not None and header.get("status") == "deleted":
        return None
    meta = record.find(f"{_OAI}metadata/{_ARXIV}arXiv")
    if meta is None:
        logger.warning("%s: skipping an OAI record without arXiv metadata", source)
        return None
    title = _text(meta, "title")
    arxiv_id = _text(meta, "id")
    if not title or not arxiv_id:
        logger.warning("%s: skipping OAI record %r: no id or title", source, arxiv_id)
        return None
    return Entry(
        source=source,
        title=title,
        abstract=_text(meta, "abstract"),
        raw_id=arxiv_id,
        doi=_text(meta, "doi") or None,
        authors=tuple(_author(a) for a in meta.findall(f"{_ARXIV}authors/{_ARXIV}author")),
        categories=tuple(dict.fromkeys(_text(meta, "categories").split())),
        published=_date(_text(meta, "created")),
        updated=_date(_text(meta, "updated")),
    )


def _text(element: ET.Element, name: str) -> str:
    child = element.find(f"{_ARXIV}{name}")
    return collapse_whitespace(child.text or "") if child is not None else ""


def _author(author: ET.Element) -> str:
    """forenames keyname suffix: "Harry B. Hunt III" (arXiv writes "Heath," before "Jr.")."""
    keyname = _text(author, "keyname").rstrip(",").strip()
    parts = (_text(author, "forenames"), keyname, _text(author, "suffix"))
    return collapse_whitespace(" ".join(p for p in parts if p))


def _date(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC) if text else None
    except ValueError:
        return None
