"""A built digest → the records other tools read: the JSON sidecar, trend series, the Atom feed.

Pure: data in, dicts/bytes out; `run` reads and writes the files. The sidecar's format is
`pipeline/schemas/digest.schema.json` (documented in docs/outputs.md). The feed is built with
xml.etree, so feed text is always escaped. Imports only models, render's link rule and the
standard library.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from importlib import resources
from typing import Any
from xml.etree import ElementTree

from pipeline.digest.render import web_url
from pipeline.models import Digest, PaperEntry, Section

SCHEMA_VERSION = 1
#: A week's file name without its suffix, as a glob: an ISO week (2025-W24). A user's own
#: "notes-W12.md" or "reading-list-Week.json" beside the digests is no digest or sidecar
#: (round 28: `status` named the first the newest digest, and builds warned of the second).
WEEK_NAME = "[0-9][0-9][0-9][0-9]-W[0-9][0-9]"
ATOM = "http://www.w3.org/2005/Atom"
Record = dict[str, Any]
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_FEED_ID = re.compile(rb"<id>urn:uuid:([0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})</id>")


def load_schema() -> dict[str, Any]:
    """The JSON Schema of digests/<week>.json, shipped in the package."""
    text = resources.files("pipeline").joinpath("schemas/digest.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _paper(entry: PaperEntry) -> Record:
    paper, signals = entry.paper, entry.paper.signals
    return {
        "paper_id": paper.paper_id,
        "title": paper.title,
        "authors": list(paper.authors),
        "categories": list(paper.categories),
        "url": _web_link(paper.url),
        "pdf_url": _web_link(paper.pdf_url),
        "code_url": _web_link(entry.code_url),
        "summary": entry.summary,
        "score": entry.score,
        "importance": entry.importance,
        "also": list(entry.also),
        "upvotes": signals.upvotes,
        "comments": signals.comments,
        "published": paper.published.isoformat() if paper.published else None,
        "announced": paper.announced.isoformat() if paper.announced else None,
    }


def _web_link(url: str | None) -> str | None:
    """The link if it is http(s) with a host (`render.web_url`, the .md's and .html's rule),
    else None: a script that makes a page of the sidecar must not be handed a feed's
    javascript: or data: link."""
    return url if web_url(url) else None


def _section(section: Section) -> Record:
    record: Record = {
        "key": section.key,
        "title": section.title,
        "kind": section.kind,
        "description": section.description,
        "terms": list(section.terms),
        "history": list(section.history),
        "n_papers": len(section.entries),
        "papers": [_paper(e) for e in section.entries],
    }
    if section.minor:
        record["minor"] = True
    return record


def digest_record(
    digest: Digest,
    *,
    generated: datetime,
    files: Mapping[str, str | None],
    quiet: Mapping[str, str] | None = None,
    series: Mapping[str, Sequence[int]] | None = None,
) -> Record:
    """The digest as the JSON sidecar's data; `files` names the outputs written beside it.
    `quiet` (key → name) are the configured topics with no paper this week, listed with their
    `series` (`topic_series`): absent, a reader could not tell one from a topic removed from
    the config (round 29)."""
    counts = series or {}
    return {
        "schema_version": SCHEMA_VERSION,
        "week": digest.week,
        "start": digest.start.isoformat(),
        "end": digest.end.isoformat(),
        "title": digest.title,
        "generated": generated.isoformat(),
        "n_papers": digest.n_papers,
        "files": dict(files),
        "sections": [_section(s) for s in digest.sections],
        "coverage": [
            {"source": c.name, "n_papers": c.n_papers, "last_error": c.last_error}
            for c in digest.coverage
        ],
        "notes": list(digest.notes),
        "highlights": [
            {"paper_id": e.paper.paper_id, "reasons": list(e.reasons)} for e in digest.highlights
        ],
        "quiet_topics": [
            {"key": key, "title": name, "history": _history(counts.get(key, ()))}
            for key, name in (quiet or {}).items()
        ],
    }


def _history(counts: Sequence[int]) -> list[int]:
    """A section's history as the sidecar and the digest give it: empty unless earlier weeks
    are known."""
    return list(counts) if len(counts) > 1 else []


def record_json(record: Record) -> str:
    """The sidecar's text: the record as JSON indented by two, non-ASCII kept, and a newline
    (the one format both the writer and the unchanged-rebuild check use)."""
    return json.dumps(record, indent=2, ensure_ascii=False) + "\n"


def is_record(data: object) -> bool:
    """Whether loaded JSON looks like a sidecar this version can read (others are skipped)."""
    return (
        isinstance(data, dict)
        and data.get("schema_version") == SCHEMA_VERSION
        and isinstance(data.get("week"), str)
        and isinstance(data.get("sections"), list)
        and all(isinstance(s, dict) for s in data["sections"])
    )


def topic_series(
    digest: Digest,
    earlier: Mapping[str, Mapping[str, int]],
    *,
    n_weeks: int,
    quiet: Sequence[str] = (),
) -> tuple[list[str], dict[str, list[int]]]:
    """Weeks (oldest first, ending with this digest's) and papers per configured topic in each.

    `earlier` maps each earlier built week to its papers per topic (the store's week sections,
    `topic_counts` of a sidecar for a week built before the store kept them); weeks after this
    digest's are ignored. Discovered themes are left out: their keys are not stable. `quiet`
    are the keys of the configured topics with no paper this week (no section): their line
    ends at 0, where it vanished from the chart (round 28).
    """
    prior = sorted(w for w in earlier if w < digest.week)
    prior = prior[-(n_weeks - 1) :] if n_weeks > 1 else []
    series = {
        section.key: [*(earlier[w].get(section.key, 0) for w in prior), len(section.entries)]
        for section in digest.sections
        if section.kind == "topic"
    }
    for key in quiet:
        series.setdefault(key, [*(earlier[w].get(key, 0) for w in prior), 0])
    return [*prior, digest.week], series


def topic_counts(record: Record) -> dict[str, int]:
    """Papers per configured topic in one sidecar."""
    return {
        str(section.get("key")): int(section.get("n_papers") or 0)
        for section in record["sections"]
        if section.get("kind") == "topic"
    }


def with_history(digest: Digest, series: Mapping[str, Sequence[int]]) -> Digest:
    """The digest with `series` as the history of sections that have none of their own."""
    sections = tuple(
        s if s.history else dataclasses.replace(s, history=tuple(_history(series.get(s.key, ()))))
        for s in digest.sections
    )
    return dataclasses.replace(digest, sections=sections)


def _top_sections(record: Record, n: int = 3) -> str:
    """The `n` largest topics and themes: "Other" says nothing about what the week held (the
    index template lists the same)."""
    named = [s for s in record["sections"] if s.get("kind") != "other"]
    ranked = sorted(named, key=lambda s: -int(s.get("n_papers") or 0))
    return ", ".join(f"{s['title']} ({s['n_papers']})" for s in ranked[:n])


def feed_id(feed: bytes) -> str | None:
    """The urn:uuid id of a feed `render_feed` wrote (the one before its entries), or None."""
    match = _FEED_ID.search(feed.split(b"<entry", 1)[0])
    return match.group(1).decode("ascii") if match else None


#: How many weeks `feed.xml` carries, the newest: an Atom feed is read for what is new, and one
#: entry a week forever made it grow without end (round 23). Five months covers a reader away
#: for a season; `index.md` is the archive and lists every week.
FEED_WEEKS = 20


def newest_weeks(records: Sequence[Record], n: int = FEED_WEEKS) -> list[Record]:
    """The records of the `n` newest weeks, newest first: what `feed.xml` carries."""
    return sorted(records, key=lambda r: r["week"], reverse=True)[:n]


def render_feed(
    records: Sequence[Record],
    *,
    title: str,
    base_url: str,
    feed_key: str,
    updated: datetime,
    keep_id: str | None = None,
) -> bytes:
    """An Atom feed with one entry per weekly digest of `records`, newest first (give it
    `newest_weeks`).

    `base_url` is where digests/ is served ('' = links relative to the feed); `feed_key` is any
    string that stays the same for this feed (it seeds the stable entry ids) unless `keep_id`,
    the id of the feed this one replaces (`feed_id`), is given: then that id and its entries'
    ids are kept, so a feed reader sees no week twice after digests/ moved or base_url changed.
    """
    ElementTree.register_namespace("", ATOM)
    namespace = uuid.UUID(keep_id) if keep_id else uuid.uuid5(uuid.NAMESPACE_URL, feed_key)
    feed = ElementTree.Element(f"{{{ATOM}}}feed")
    _text(feed, "title", title)
    _text(feed, "id", namespace.urn)
    _text(feed, "updated", updated.isoformat())
    _text(feed, "generator", "pipeline")
    author = ElementTree.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", title)
    _link(feed, f"{base_url}feed.xml", rel="self", kind="application/atom+xml")
    _link(feed, f"{base_url}index.md", rel="alternate", kind=_page_type("index.md"))
    for record in sorted(records, key=lambda r: r["week"], reverse=True):
        entry = ElementTree.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "title", f"{record['title']} · {record['week']}")
        _text(entry, "id", uuid.uuid5(namespace, record["week"]).urn)
        _text(entry, "updated", str(record["generated"]))
        files = record.get("files") or {}
        page = files.get("html") or files.get("markdown") or f"{record['week']}.md"
        _link(entry, f"{base_url}{page}", rel="alternate", kind=_page_type(page))
        summary = f"{record['n_papers']} papers, {record['start']} to {record['end']}"
        if top := _top_sections(record):
            summary += f". Largest sections: {top}."
        _text(entry, "summary", summary)
    ElementTree.indent(feed)
    body: bytes = ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body + b"\n"


def _text(parent: ElementTree.Element, tag: str, text: str) -> None:
    # XML 1.0 cannot carry most control characters at all, escaped or not.
    ElementTree.SubElement(parent, f"{{{ATOM}}}{tag}").text = _XML_ILLEGAL.sub("", text)


def _page_type(name: str) -> str | None:
    """text/html for an .html page; no type for Markdown. Readers built on feedparser take an
    alternate link only when its type is HTML or absent: with type="text/markdown" the feed's
    and a Markdown-only entry's link became their urn:uuid id, and "text/html" would be false."""
    return "text/html" if name.endswith(".html") else None


def _link(parent: ElementTree.Element, href: str, *, rel: str, kind: str | None) -> None:
    attributes = {"rel": rel, "type": kind, "href": href} if kind else {"rel": rel, "href": href}
    ElementTree.SubElement(parent, f"{{{ATOM}}}link", attributes)
