"""Papers and the sources that list them: the only SQL about papers.

How a stored paper and a new sighting combine is not decided here: `upsert_papers` calls the merge
rule its caller passes (`ingest.normalize.update_paper`). Which day a paper belongs to, for a
reader in a given time zone, is decided here (`effective_day`), where the week's query is.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.models import Paper, Signals
from pipeline.store.db import Database, _iso, _opt_datetime, _parse_datetime
from pipeline.store.schema import sample_key

#: How far after the moment a paper was first stored its own date may lie and still place it
#: (`effective_day`): an arXiv announcement is dated the day after the evening it appears in
#: US Eastern time, a date without a time of day is midnight UTC; two days cover both.
MAX_DAYS_AHEAD = 2


@dataclass(frozen=True)
class UpsertResult:
    """How many papers of a batch were new, changed, or already stored as-is."""

    n_new: int = 0
    n_updated: int = 0
    n_unchanged: int = 0


class Papers(Database):
    """Reading and writing papers."""

    def upsert_papers(
        self,
        papers: Sequence[Paper],
        source: str,
        now: datetime,
        *,
        merge: Callable[[Paper, Paper], Paper],
        title_keys: Mapping[str, str] | None = None,
    ) -> UpsertResult:
        """Insert a batch of papers listed by `source`, or combine each with the stored one.

        `merge(stored, incoming)` is the caller's rule (`normalize.update_paper`), called inside
        this one transaction; the store holds no merge policy. A stored paper counts as updated
        when the merge changed it, its title key changed, or `source` lists it for the first
        time; otherwise as unchanged.
        """
        keys = title_keys or {}
        outcomes = {"new": 0, "updated": 0, "unchanged": 0}
        with self._write("save papers") as conn:
            for paper in papers:
                outcome = _upsert_paper(conn, paper, source, now, keys.get(paper.paper_id), merge)
                outcomes[outcome] += 1
        return UpsertResult(
            n_new=outcomes["new"],
            n_updated=outcomes["updated"],
            n_unchanged=outcomes["unchanged"],
        )

    def list_titles_holding(self, text: str, limit: int) -> list[tuple[str, str]]:
        """(paper_id, title) of up to `limit` stored papers whose title holds `text` (ASCII
        case aside), by id."""
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._select(
            "SELECT paper_id, title FROM papers WHERE title LIKE ? ESCAPE '\\'"
            " ORDER BY paper_id LIMIT ?",
            (f"%{escaped}%", limit),
        )
        return [(row["paper_id"], row["title"]) for row in rows]

    def get_paper(self, paper_id: str) -> Paper | None:
        """The stored paper with its sources, or None."""
        rows = self._select(f"{_SELECT_PAPERS} WHERE p.paper_id = ?", (paper_id,))
        return _row_to_paper(rows[0]) if rows else None

    def list_papers(self, paper_ids: Sequence[str]) -> list[Paper]:
        """Stored papers in the order of `paper_ids`; unknown ids are skipped."""
        found: dict[str, Paper] = {}
        shared: dict[str, Any] = {}
        unique = list(dict.fromkeys(paper_ids))
        for row in self._select_in(f"{_SELECT_PAPERS} WHERE p.paper_id IN ({{marks}})", unique):
            found[row["paper_id"]] = _row_to_paper(row, shared)
        return [found[i] for i in paper_ids if i in found]

    def list_paper_ids(self) -> list[str]:
        """Every stored paper's id, sorted: cheap where loading the papers is not."""
        return [
            row["paper_id"] for row in self._select("SELECT paper_id FROM papers ORDER BY paper_id")
        ]

    def list_sample_paper_ids(self, n: int) -> list[str]:
        """The ids of the `n` stored papers whose `sample_key` (a hash of the id) is lowest, in
        that order: a fixed sample of the store, read through an index."""
        rows = self._select("SELECT paper_id FROM papers ORDER BY sample_key LIMIT ?", (n,))
        return [row["paper_id"] for row in rows]

    def find_paper_id_by_doi(self, doi: str) -> str | None:
        """The id of a stored paper with this DOI (case-insensitive), or None."""
        rows = self._select(
            "SELECT paper_id FROM papers WHERE lower(doi) = lower(?) ORDER BY paper_id LIMIT 1",
            (doi,),
        )
        return rows[0]["paper_id"] if rows else None

    def list_paper_ids_by_url(self, urls: Sequence[str]) -> list[str]:
        """The ids of the stored papers whose link (as a digest shows it) is one of `urls`,
        in order (read through an index: a lookup, not a scan of the store)."""
        rows = self._select_in("SELECT paper_id FROM papers WHERE url IN ({marks})", urls)
        return sorted({row["paper_id"] for row in rows})

    def find_paper_id_by_title_key(self, title_key: str) -> str | None:
        """The id of a stored paper whose normalised title is `title_key`, or None."""
        rows = self._select(
            "SELECT paper_id FROM papers WHERE title_key = ? ORDER BY paper_id LIMIT 1",
            (title_key,),
        )
        return rows[0]["paper_id"] if rows else None

    def list_paper_ids_by_title_key(self, title_key: str) -> list[str]:
        """The ids of every stored paper whose normalised title is `title_key`, in order."""
        rows = self._select(
            "SELECT paper_id FROM papers WHERE title_key = ? ORDER BY paper_id", (title_key,)
        )
        return [row["paper_id"] for row in rows]

    def list_titles_with_markup(self, words: Sequence[str]) -> list[tuple[str, str]]:
        """(paper_id, title) of every stored paper whose title holds LaTeX markup (a backslash
        or a dollar) and each of `words` (ASCII, case-insensitive), in id order: the few titles
        a digest shows otherwise than they are stored. The table is read whole: no index
        serves a substring."""
        held = "".join(" AND instr(lower(title), lower(?)) > 0" for _ in words)
        rows = self._select(
            "SELECT paper_id, title FROM papers"
            f" WHERE (instr(title, '\\') > 0 OR instr(title, '$') > 0){held} ORDER BY paper_id",
            tuple(words),
        )
        return [(row["paper_id"], row["title"]) for row in rows]

    def list_listed_weeks(self, paper_ids: Sequence[str]) -> dict[str, str]:
        """The week whose digest first listed each of `paper_ids`, for those one listed."""
        rows = self._select_in(
            "SELECT paper_id, week FROM listed_papers WHERE paper_id IN ({marks})",
            list(dict.fromkeys(paper_ids)),
        )
        return {row["paper_id"]: row["week"] for row in rows}

    def list_paper_ids_listed_in(self, week: str) -> list[str]:
        """The ids of the papers `week`'s digest listed first, sorted."""
        rows = self._select(
            "SELECT paper_id FROM listed_papers WHERE week = ? ORDER BY paper_id", (week,)
        )
        return [row["paper_id"] for row in rows]

    def list_listing_weeks(self, until: str) -> dict[str, datetime | None]:
        """Each week up to `until` whose digest listed papers, and when it was last built (as
        `save_listed` recorded it; else, for a week built before that was recorded, when its
        sections were saved; None when neither is known)."""
        rows = self._select(
            "SELECT w.week, coalesce((SELECT m.value FROM meta m WHERE m.key = ? || w.week),"
            " (SELECT max(s.created) FROM week_sections s WHERE s.week = w.week)) AS built"
            " FROM (SELECT DISTINCT week FROM listed_papers WHERE week <= ?) w",
            (_BUILT_KEY, until),
        )
        return {row["week"]: _opt_datetime(row["built"]) for row in rows}

    def list_unlisted_papers_between(self, start: date, end: date) -> list[Paper]:
        """Papers no digest listed whose stored effective_date (the UTC day) lies in
        [start, end], ordered by paper_id."""
        rows = self._select(
            f"{_SELECT_PAPERS} WHERE p.effective_date BETWEEN ? AND ? AND NOT EXISTS"
            " (SELECT 1 FROM listed_papers l WHERE l.paper_id = p.paper_id) ORDER BY p.paper_id",
            (start.isoformat(), end.isoformat()),
        )
        shared: dict[str, Any] = {}
        return [_row_to_paper(row, shared) for row in rows]

    def save_listed(
        self, week: str, paper_ids: Sequence[str], built: datetime | None = None
    ) -> None:
        """Record `week` as the digest that listed `paper_ids`, for those no digest listed yet,
        and `built` as when that digest was last built (`list_listing_weeks`)."""
        with self._write("save listed papers") as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO listed_papers (paper_id, week) VALUES (?, ?)",
                [(paper_id, week) for paper_id in paper_ids],
            )
            if built is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    (_BUILT_KEY + week, _iso(built)),
                )

    def list_papers_between(
        self, start: date, end: date, *, timezone: str = "UTC", start_timezone: str | None = None
    ) -> list[Paper]:
        """Papers whose day (`effective_day` for a reader in `timezone`) lies in [start, end],
        ordered by paper_id. With `start_timezone`, `start` is a day in that zone instead: the
        papers on or after it there and on or before `end` in `timezone` (a week whose first
        Monday was drawn in another zone)."""
        start_timezone = start_timezone or timezone
        if timezone == start_timezone == "UTC":
            return self._list_stored_between(start, end)
        # The stored effective_date is the UTC day; a local day is at most one day from it
        # (offsets run from -12 to +14 hours), so read one more day on each side and decide.
        first, last = ZoneInfo(start_timezone), ZoneInfo(timezone)
        papers = self._list_stored_between(_shift(start, -1), _shift(end, 1))
        return [
            p for p in papers if effective_day(p, first) >= start and effective_day(p, last) <= end
        ]

    def _list_stored_between(self, start: date, end: date) -> list[Paper]:
        """Papers whose stored effective_date (the UTC day) lies in [start, end]."""
        rows = self._select(
            f"{_SELECT_PAPERS} WHERE p.effective_date BETWEEN ? AND ? ORDER BY p.paper_id",
            (start.isoformat(), end.isoformat()),
        )
        shared: dict[str, Any] = {}
        return [_row_to_paper(row, shared) for row in rows]

    def rekey_paper(self, old_id: str, new_id: str) -> None:
        """Store the paper `old_id` under `new_id` with everything that references it: its
        sources, embeddings, week sections and the digest that listed it (a `url:` record
        later recognised as `arxiv:`). Its kept reading (a cache) is dropped: the next build
        reads the paper again.

        `new_id` must not be stored yet: merging two stored papers is not a re-key.
        """
        columns = [c for c in _PAPER_COLUMNS.split(", ")[1:] if c != "sample_key"]
        with self._write("re-key paper") as conn:
            if conn.execute("SELECT 1 FROM papers WHERE paper_id = ?", (new_id,)).fetchone():
                raise ValueError(f"cannot re-key {old_id} to {new_id}: {new_id} is stored")
            conn.execute(
                f"INSERT INTO papers (paper_id, sample_key, {', '.join(columns)})"
                f" SELECT ?, ?, {', '.join(columns)} FROM papers WHERE paper_id = ?",
                (new_id, sample_key(new_id), old_id),
            )
            for sql in _REKEY_REFERENCES:
                conn.execute(sql, (new_id, old_id))
            # A kept reading (a cache, run/readings.py) goes with its paper's old id.
            conn.execute("DELETE FROM paper_readings WHERE paper_id = ?", (old_id,))
            conn.execute("DELETE FROM papers WHERE paper_id = ?", (old_id,))

    def get_date_range(self, *, timezone: str = "UTC") -> tuple[date, date] | None:
        """The earliest and latest days stored (`effective_day` in `timezone`), or None when
        there are no papers."""
        # Two subqueries: SQLite reads min() and max() from the index's ends only one per
        # SELECT; `SELECT min(…), max(…)` read the whole index, each build and plan.
        row = self._select(
            "SELECT (SELECT min(effective_date) FROM papers),"
            " (SELECT max(effective_date) FROM papers)"
        )[0]
        if row[0] is None:
            return None
        first, last = date.fromisoformat(row[0]), date.fromisoformat(row[1])
        if timezone == "UTC":
            return first, last
        # A local day is within one day of the UTC one: the extremes are among these papers.
        zone = ZoneInfo(timezone)
        early = self._list_stored_between(first, _shift(first, 1))
        late = self._list_stored_between(_shift(last, -1), last)
        return (
            min(effective_day(p, zone) for p in early),
            max(effective_day(p, zone) for p in late),
        )


def effective_day(paper: Paper, zone: tzinfo = UTC) -> date:
    """The day that decides a paper's week for a reader in `zone`: its announcement date as the
    source gives it (the date of a listing: an arXiv mailing, a Hugging Face daily page), else
    the day in `zone` it was published, else the day in `zone` it was first stored. A
    publication date written without a time of day (a file's "2025-06-16", an RSS dc:date) is
    stored as midnight UTC, and is that day for every reader.

    In UTC this is the stored effective_date. Elsewhere a paper published Sunday 20:00 UTC is a
    Monday paper in Tokyo: dated by the UTC day it joined the week whose digest was mailed
    before it appeared, and the next week's digest left it out, so no e-mail listed it. A
    Monday dated "2025-06-16" was Sunday 17:00 in Los Angeles: the week before's digest, under
    dates that end the day before it, listed it.

    A date more than MAX_DAYS_AHEAD days after the paper was first stored (`day_ahead`) is not
    used: the day it was first stored decides.
    """
    if paper.first_seen is not None and day_ahead(paper, paper.first_seen) is not None:
        return paper.first_seen.astimezone(zone).date()
    if paper.announced is not None:
        return paper.announced
    if paper.published is not None and _is_date_only(paper.published):
        return paper.published.astimezone(UTC).date()
    moment = paper.published or paper.first_seen
    if moment is None:
        raise ValueError(f"paper {paper.paper_id} has no date: not stored yet")
    return moment.astimezone(zone).date()


def day_ahead(paper: Paper, now: datetime) -> date | None:
    """The day a source gave `paper` (announced, else published; the UTC day) when it lies more
    than MAX_DAYS_AHEAD days after `now`, else None.

    Such a date (a feed's clock, a mistyped year) would put the paper in a week no digest is
    built for yet, and the week it names may never be built: the paper would be out of sight.
    Decided on UTC days, whatever the reader's zone, so a local day stays within one day of the
    stored effective_date (`list_papers_between` relies on it).
    """
    day = paper.announced
    if day is None and paper.published is not None:
        day = paper.published.astimezone(UTC).date()
    if day is None or day <= _shift(now.astimezone(UTC).date(), MAX_DAYS_AHEAD):
        return None
    return day


def _is_date_only(moment: datetime) -> bool:
    """Whether a publication moment is a date the source wrote without a time: sources store
    one as midnight UTC (a feed's or a file's date alone, arXiv OAI's `created`)."""
    return moment.astimezone(UTC).time() == time(0)


def _shift(day: date, days: int) -> date:
    """`day` moved by `days`, held within the dates Python can write."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return day


#: The meta key (followed by the week) of when a week's digest was last built.
_BUILT_KEY = "week-built:"
_SELECT_PAPERS = (
    "SELECT p.*, (SELECT json_group_array(s.source) FROM paper_sources s"
    " WHERE s.paper_id = p.paper_id) AS sources FROM papers p"
)
_PAPER_COLUMNS = (
    "paper_id, title, abstract, authors, categories, url, pdf_url, version, doi, published,"
    " announced, announce_type, first_seen, signals, title_key, effective_date, sample_key"
)
# ON CONFLICT DO UPDATE, not INSERT OR REPLACE: REPLACE deletes the row, which would cascade
# to paper_sources.
_UPSERT_PAPER = (
    f"INSERT INTO papers ({_PAPER_COLUMNS}) VALUES ({','.join('?' * 17)})"
    " ON CONFLICT (paper_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _PAPER_COLUMNS.split(", ")[1:])
)
# Every column that holds a paper_id, for `rekey_paper`.
_REKEY_REFERENCES = (
    "UPDATE paper_sources SET paper_id = ? WHERE paper_id = ?",
    "UPDATE embeddings SET item_id = ? WHERE item_id = ?",
    "UPDATE week_sections SET representative = ? WHERE representative = ?",
    "UPDATE listed_papers SET paper_id = ? WHERE paper_id = ?",
)
_UPSERT_SOURCE = (
    "INSERT INTO paper_sources (paper_id, source, first_seen, last_seen) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (paper_id, source) DO UPDATE SET last_seen = excluded.last_seen"
)


def _upsert_paper(
    conn: sqlite3.Connection,
    paper: Paper,
    source: str,
    now: datetime,
    title_key: str | None,
    merge: Callable[[Paper, Paper], Paper],
) -> str:
    """Save one paper inside the caller's transaction; return 'new', 'updated' or 'unchanged'."""
    row = conn.execute(f"{_SELECT_PAPERS} WHERE p.paper_id = ?", (paper.paper_id,)).fetchone()
    source_params = (paper.paper_id, source, _iso(now), _iso(now))
    if row is None:
        merged = dataclasses.replace(paper, first_seen=paper.first_seen or now, sources=())
        outcome = "new"
    else:
        stored = _row_to_paper(row)
        # paper_sources, not the merge, owns the list of sources.
        merged = dataclasses.replace(merge(stored, paper), sources=stored.sources)
        if merged.paper_id != stored.paper_id:
            raise ValueError(f"merge rule changed the id of {stored.paper_id!r}")
        # The key is the stored title's: the incoming one's, when the merge kept the stored
        # title, made every ingest of two sources' titles 'update' the paper (round 27).
        if title_key is None or (merged.title == stored.title and row["title_key"] is not None):
            title_key = row["title_key"]
        changed = merged != stored or title_key != row["title_key"]
        if not changed:
            conn.execute(_UPSERT_SOURCE, source_params)
            return "unchanged" if source in stored.sources else "updated"
        outcome = "updated"
    conn.execute(_UPSERT_PAPER, _paper_to_params(merged, title_key))
    conn.execute(_UPSERT_SOURCE, source_params)
    return outcome


def _paper_to_params(paper: Paper, title_key: str | None) -> tuple[Any, ...]:
    assert paper.first_seen is not None  # set by upsert_papers before saving
    effective = effective_day(paper)  # the UTC day; list_papers_between reads others from it
    return (
        paper.paper_id,
        paper.title,
        paper.abstract,
        json.dumps(list(paper.authors)),
        json.dumps(list(paper.categories)),
        paper.url,
        paper.pdf_url,
        paper.version,
        paper.doi,
        _iso(paper.published) if paper.published else None,
        paper.announced.isoformat() if paper.announced else None,
        paper.announce_type,
        _iso(paper.first_seen),
        json.dumps(dataclasses.asdict(paper.signals), sort_keys=True),
        title_key,
        effective.isoformat(),
        sample_key(paper.paper_id),
    )


def _row_to_paper(row: sqlite3.Row, shared: dict[str, Any] | None = None) -> Paper:
    """A stored row as a Paper. `shared` (one dict per listing) lets papers whose signals,
    sources or categories are stored as the same text share one parsed (immutable) value: a
    week of one source parses "{...no signals...}" and '["arxiv"]' once, not 10,000 times."""
    shared = {} if shared is None else shared
    return Paper(
        paper_id=row["paper_id"],
        title=row["title"],
        abstract=row["abstract"],
        authors=tuple(json.loads(row["authors"])),
        categories=_parsed(shared, "categories", row["categories"], _tuple),
        url=row["url"],
        pdf_url=row["pdf_url"],
        version=row["version"],
        doi=row["doi"],
        published=_opt_datetime(row["published"]),
        announced=date.fromisoformat(row["announced"]) if row["announced"] else None,
        announce_type=row["announce_type"],
        first_seen=_parse_datetime(row["first_seen"]),
        sources=_parsed(shared, "sources", row["sources"], _sorted_tuple),
        signals=_parsed(shared, "signals", row["signals"], _signals),
    )


def _parsed(shared: dict[str, Any], column: str, text: str, parse: Callable[[str], Any]) -> Any:
    key = f"{column}\x00{text}"
    if key not in shared:
        shared[key] = parse(text)
    return shared[key]


def _tuple(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text))


def _sorted_tuple(text: str) -> tuple[str, ...]:
    return tuple(sorted(json.loads(text)))


def _signals(text: str) -> Signals:
    signals = json.loads(text)
    signals["ai_keywords"] = tuple(signals.get("ai_keywords") or ())
    return Signals(**signals)
