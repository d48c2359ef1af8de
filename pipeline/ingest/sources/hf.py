"""Hugging Face daily papers (huggingface.co/api/daily_papers JSON) -> entries with Signals.

Pure: takes bytes, no network or file I/O. Each field is read from the list item first and then
from its nested `paper` object, since both layouts occur in real responses.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from pipeline.errors import ParseError
from pipeline.ingest.sources import safejson
from pipeline.models import Entries, Entry, Signals

logger = logging.getLogger(__name__)


def parse_hf_daily(
    content: bytes, source: str, headers: Mapping[str, str] | None = None
) -> Entries:
    """Parse a daily_papers JSON list into entries carrying upvotes, code links and AI summaries."""
    try:
        items = safejson.loads(content)
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise ParseError(f"{source}: not valid JSON ({e})") from e
    except RecursionError as e:
        raise ParseError(f"{source}: JSON nested too deeply") from e
    if not isinstance(items, list):
        raise ParseError(f"{source}: expected a JSON list of papers, got {type(items).__name__}")
    entries = []
    for index, item in enumerate(items):
        if isinstance(item, dict) and safejson.has_bad_number(item):
            logger.warning("%s: skipping item %d, it holds an out-of-range number", source, index)
            continue
        try:
            entry = _entry(item, source) if isinstance(item, dict) else None
        except (ValueError, OverflowError) as e:
            logger.warning("%s: skipping item %d, it holds a bad value (%s)", source, index, e)
            continue
        if entry is None:
            logger.warning("%s: skipping item %d, it has no paper id or title", source, index)
        else:
            entries.append(entry)
    if items and not entries:
        raise ParseError(f"{source}: none of the {len(items)} items is a paper")
    return Entries(entries, n_bad=len(items) - len(entries))


def _entry(item: Mapping[str, Any], source: str) -> Entry | None:
    nested = item.get("paper")
    paper: Mapping[str, Any] = nested if isinstance(nested, dict) else {}

    def field(key: str) -> Any:
        value = item.get(key)
        return value if value is not None else paper.get(key)

    paper_id = _text(paper.get("id")) or _text(item.get("id"))
    title = _text(field("title"))
    if not paper_id or not title:
        return None
    return Entry(
        source=source,
        title=title,
        abstract=_text(field("summary")),
        raw_id=paper_id,
        authors=_authors(field("authors")),
        published=_datetime(field("publishedAt")),
        # The day Hugging Face listed it: a daily page is that day's announcement, as arXiv's
        # RSS is (the store keeps the earliest announcement, so arXiv's own date still wins).
        announced=_date(field("submittedOnDailyAt")),
        signals=Signals(
            upvotes=_int(field("upvotes")),
            comments=_int(field("numComments")),
            github_url=_text(field("githubRepo")) or None,
            github_stars=_int(field("githubStars")),
            project_url=_text(field("projectPage")) or None,
            ai_summary=_text(field("ai_summary")) or None,
            ai_keywords=_keywords(field("ai_keywords")),
        ),
    )


def _authors(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    names = []
    for author in value:
        if isinstance(author, dict) and not author.get("hidden"):
            names.append(_text(author.get("name")))
        elif isinstance(author, str):
            names.append(_text(author))
    return tuple(n for n in names if n)


def _keywords(value: Any) -> tuple[str, ...]:
    """A list of keyword strings; anything else (a number, an object) is no keywords."""
    if not isinstance(value, list):
        return ()
    return tuple(k for k in map(_text, value) if k)


def _text(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _date(value: Any) -> date | None:
    parsed = _datetime(value)
    return parsed.date() if parsed else None


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
