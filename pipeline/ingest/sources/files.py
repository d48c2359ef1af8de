"""Local paper lists (JSON or JSONL bytes, e.g. the demo corpus) -> entries.

Pure: receives the file's bytes (reading the file is the caller's job). Accepts a JSON list, a
JSON object {"papers": [...]}, or JSONL (one object per line, blank lines ignored), in UTF-8 or
in UTF-16 with its byte-order mark.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from pipeline.errors import ParseError, shortened
from pipeline.ingest.ids import canonical_id, matchable_title
from pipeline.ingest.sources import safejson
from pipeline.ingest.sources.rss import NO_DATE, collapse_whitespace, split_authors
from pipeline.models import Entries, Entry

logger = logging.getLogger(__name__)


def parse_file(content: bytes, source: str, headers: Mapping[str, str] | None = None) -> Entries:
    """Parse a JSON / JSONL paper list; records without a title or with a bad value are skipped
    with a warning and counted (`n_bad`)."""
    try:
        text = _decoded(content)
    except UnicodeDecodeError as e:
        raise ParseError(
            f"{source}: not UTF-8 text ({e.reason} at byte {e.start}); save it as UTF-8"
        ) from e
    if not text.strip():
        raise ParseError(f"{source}: empty file")
    labelled = []
    n_records = 0
    for label, record in _records(text, source):
        n_records += 1
        if not isinstance(record, dict):
            raise ParseError(
                f"{source}: {label}: expected a JSON object, got {type(record).__name__}"
            )
        entry = _checked_entry(record, source, label)
        if entry is not None:
            labelled.append((label, entry))
    if n_records and not labelled:
        raise ParseError(f"{source}: none of the {n_records} records has a title")
    identified = _identified(labelled)
    repeated = _repeated_ids(identified, source) + _repeated_titles(identified, source)
    noted = dict(repeated)
    entries = (
        dataclasses.replace(entry, notes=(*entry.notes, noted[label])) if label in noted else entry
        for label, entry in labelled
    )
    return Entries(entries, n_bad=n_records - len(labelled))


def _decoded(content: bytes) -> str:
    """The file's text: UTF-8 (a byte-order mark dropped), or UTF-16 where its byte-order mark
    says so (round 25: Windows PowerShell's `>` and Out-File write it); UnicodeDecodeError as
    UTF-8 read it otherwise."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError:
            pass  # not UTF-16 after all: say what UTF-8 makes of it
    return content.decode("utf-8-sig")


def _identified(labelled: Sequence[tuple[str, Entry]]) -> list[tuple[str, Entry, str, int]]:
    """Each record's label and entry with its paper id and arXiv version (`ids.canonical_id`:
    `title:` and a hash for a record with no id of its own), read once for both notes.
    An entry with no usable id is left out: normalisation skips it and says why."""
    found = []
    for label, entry in labelled:
        try:
            paper_id, version = canonical_id(entry)
        except ParseError:
            continue
        found.append((label, entry, paper_id, version or 0))
    return found


def _repeated_ids(
    identified: Sequence[tuple[str, Entry, str, int]], source: str
) -> list[tuple[str, str]]:
    """Name each paper id the file lists more than once, the records and the one kept: a note
    for the first record (its label, the line).

    The records become one paper (`normalize.dedupe`): the text (title, abstract, authors) of
    the first record, unless a later one has a higher arXiv version; the others add what it
    lacks (categories, a DOI, links, an earlier date). A file that lists a paper twice is
    usually a mistake (two exports appended), so the user is told which record won.
    """
    records: dict[str, list[tuple[str, int]]] = {}
    for label, _, paper_id, version in identified:
        if not paper_id.startswith("title:"):  # no id of its own: matched by title later
            records.setdefault(paper_id, []).append((label, version))
    notes = []
    for paper_id, listed in records.items():
        if len(listed) > 1:
            kept = max(listed, key=lambda record: record[1])[0]  # the first of the highest
            notes.append((listed[0][0], (
                f"{source}: {paper_id} is listed {len(listed)} times"
                f" ({', '.join(label for label, _ in listed)}): keeping the title, abstract and"
                f" authors of {kept} (the first record, or the one with the highest arXiv version)"
            )))  # fmt: skip
    return notes


def _repeated_titles(
    identified: Sequence[tuple[str, Entry, str, int]], source: str
) -> list[tuple[str, str]]:
    """Name each title that more than one record without an id (no arXiv id, DOI or link)
    carries, the records and the one kept: a note for the first record (its label, the line).

    Such a record's paper id is its normalised title (`title:`), so records of one title become
    one paper (`normalize.dedupe`): the title, abstract and authors of the first, the others
    adding what it lacks. A title an identified record of the file also has is left out: those
    records join that paper instead, and which text wins is decided by the merge rules.
    """
    records: dict[str, list[tuple[str, Entry]]] = {}
    with_id = set()
    for label, entry, paper_id, _ in identified:
        if paper_id.startswith("title:"):
            records.setdefault(paper_id, []).append((label, entry))
        elif key := matchable_title(entry.title):
            with_id.add(key)
    notes = []
    for listed in records.values():
        if len(listed) > 1 and matchable_title(listed[0][1].title) not in with_id:
            title = listed[0][1].title
            notes.append((listed[0][0], (
                f"{source}: {len(listed)} records without an id have the title"
                f" {shortened(title)!r} ({', '.join(label for label, _ in listed)}): they are"
                f" one paper, with the title, abstract and authors of {listed[0][0]} (the first"
                " record)"
            )))  # fmt: skip
    return notes


def _checked_entry(record: Mapping[str, Any], source: str, label: str) -> Entry | None:
    """The record's entry, or None with a warning when it has no title or holds a bad value
    (an integer out of range, a date that overflows once its offset is applied)."""
    if safejson.has_bad_number(record):
        logger.warning("%s: %s: skipped, it holds an out-of-range number", source, label)
        return None
    try:
        entry = _entry(record, source, label)
    except (ValueError, OverflowError) as e:
        logger.warning("%s: %s: skipped, it holds a bad value (%s)", source, label, e)
        return None
    if entry is None:
        logger.warning("%s: %s: skipped, it has no title", source, label)
    return entry


def _records(text: str, source: str) -> Iterator[tuple[str, Any]]:
    """Yield (label for messages, record) from whole-file JSON, else line by line as JSONL."""
    try:
        document = safejson.loads(text)
    except RecursionError as e:
        raise ParseError(f"{source}: JSON nested too deeply") from e
    except json.JSONDecodeError as e:
        first = text.lstrip().split("\n", 1)[0].strip()
        if first.startswith("[") or first.endswith(("{", "[")):
            # One document, not JSONL: a list, or an object spread over lines ({"papers": [
            # as json.dump(indent=2) or jq write it), whose first line no JSONL record can be.
            # Read line by line, its fault was said to be on line 1 (round 28).
            raise ParseError(f"{source}: line {e.lineno}: not valid JSON ({e.msg})") from e
        yield from _jsonl_records(text, source)
        return
    if isinstance(document, dict):
        if not isinstance(document.get("papers"), list) and "title" not in document:
            # An API's page ({"data": [...]}, {"results": [...]}) was read as one paper, and
            # failed as "none of the 1 records has a title".
            lists = [key for key, value in document.items() if isinstance(value, list)]
            where = f" (are they its {shortened(lists[0], 40)!r} list?)" if lists else ""
            raise ParseError(
                f'{source}: a JSON object with no title and no "papers" list{where}; a file'
                ' source is a list of papers, {"papers": [...]} or one paper a line (JSONL)'
            )
        document = document["papers"] if isinstance(document.get("papers"), list) else [document]
    if not isinstance(document, list):
        raise ParseError(f"{source}: expected a list of papers, got {type(document).__name__}")
    yield from ((f"record {i}", r) for i, r in enumerate(document, start=1))


def _jsonl_records(text: str, source: str) -> Iterator[tuple[str, Any]]:
    for number, line in enumerate(safejson.json_lines(text), start=1):
        # A byte-order mark opening a line is where another file was appended (`cat a b`,
        # b written by a Windows tool): it failed the whole file as "not valid JSON" (round 25).
        line = line.removeprefix("\ufeff")
        if not line.strip():
            continue
        try:
            yield f"line {number}", safejson.loads(line)
        except (ValueError, RecursionError) as e:
            raise ParseError(f"{source}: line {number}: not valid JSON ({e})") from e


def _entry(record: Mapping[str, Any], source: str, label: str) -> Entry | None:
    """The record's entry; what was left out of it (a value of the wrong type, a date that
    cannot be read) is in its `notes`, said by the ingest for a paper new to the store only
    (round 26: a file read at every ingest said the same lines each time)."""
    title = _text(record.get("title"))
    if not title:
        return None
    said: list[str] = []
    raw_id = _text(record.get("id")) or _text(record.get("arxiv_id"))
    for key in ("id", "arxiv_id"):
        value = record.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            # A spreadsheet's export writes 2506.10000 as 2506.1: the id cannot be trusted.
            said.append(
                f"{source}: {label}: {key} {value!r} is a number, not text; write it in quotes"
                ' ("2506.10000") to use it, the paper is matched by its title and links instead'
            )
    for key in ("abstract", "summary", "url", "doi"):
        value = record.get(key)
        if value is not None and not isinstance(value, str):
            said.append(_ignoring(source, label, key, value))
    return Entry(
        source=source,
        title=title,
        abstract=_text(record.get("abstract")) or _text(record.get("summary")),
        raw_id=raw_id or None,
        link=_text(record.get("url")) or None,
        doi=_text(record.get("doi")) or None,
        authors=_authors(record.get("authors"), source, label, said),
        categories=_categories(record.get("categories"), source, label, said),
        published=_published(record, source, label, said),
        announced=_announced(record.get("announced"), source, label, said),
        notes=tuple(said),
    )


def _text(value: Any) -> str:
    return collapse_whitespace(value) if isinstance(value, str) else ""


def _ignoring(source: str, label: str, key: str, value: Any) -> str:
    """Say that a value of the wrong type is left out: the paper lands without it, and the
    user who exported the file should know which field of which record was not read."""
    wanted = "text" if key != "authors" else 'a name, a list of names or of {"name": …} objects'
    return f"{source}: {label}: ignoring {key} {shortened(repr(value))}, not {wanted}"


def _authors(value: Any, source: str, label: str, said: list[str]) -> tuple[str, ...]:
    """Names from one string ("A and B"), a list of names, or a list of {"name": …} objects as
    Hugging Face's and Semantic Scholar's APIs write them (such objects were dropped unread)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return split_authors(value)
    if not isinstance(value, list):
        said.append(_ignoring(source, label, "authors", value))
        return ()
    names = [v.get("name") if isinstance(v, dict) else v for v in value]
    unread = [v for v, name in zip(value, names, strict=True) if not isinstance(name, str)]
    if unread:
        said.append(_ignoring(source, label, "authors", unread))
    return tuple(n for n in (_text(v) for v in names) if n)


def _categories(value: Any, source: str, label: str, said: list[str]) -> tuple[str, ...]:
    items = value.split() if isinstance(value, str) else value if isinstance(value, list) else []
    if value is not None and not isinstance(value, str | list):
        said.append(_ignoring(source, label, "categories", value))
    return tuple(dict.fromkeys(c for c in (_text(v) for v in items) if c))


def _published(
    record: Mapping[str, Any], source: str, label: str, said: list[str]
) -> datetime | None:
    for key in ("published", "created", "date"):
        value = record.get(key)
        if value is None:
            continue
        parsed = _datetime(value)
        if parsed is None:
            said.append(f"{source}: {label}: ignoring unreadable {key} {value!r}")
        elif parsed in NO_DATE and len(str(value).strip()) > len("1970-01-01"):
            # What an export writes for a missing date (a timestamp of 0, .NET's MinValue, to
            # the second): read as a date, it put the paper in 1970-W01, which no digest lists.
            # A day alone ("1970-01-01") may be a real paper's year, and is kept.
            said.append(f"{source}: {label}: ignoring {key} {value!r}, which stands for no date")
            return None
        return parsed
    return None


def _announced(value: Any, source: str, label: str, said: list[str]) -> date | None:
    if value is None:
        return None
    parsed = _parse_iso(value)  # the calendar date as written, whatever its offset
    if parsed is None:
        said.append(f"{source}: {label}: ignoring unreadable announced {value!r}")
    return parsed.date() if parsed else None


def _datetime(value: Any) -> datetime | None:
    """An ISO date or datetime ("2025-06-05 17:59:58" too) as UTC; naive values are taken as UTC."""
    parsed = _parse_iso(value)
    if parsed is None:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse_iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None
