"""Records shared by every stage: frozen dataclasses, tuples, UTC-aware datetimes.

Imports nothing from the package. Stages exchange these instead of importing each other.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol, TypeVar

import numpy as np

_T = TypeVar("_T")


class Remember(Protocol):
    """`remember(inputs, compute)`: compute()'s value, or the value it gave for the same
    `inputs` before. A pure stage computing one value per paper (a summary, the keywords in its
    text) takes one, so that `run` can keep the values between builds (`run.derived`); what it
    returns must equal what `compute` would (JSON values: strings, lists of strings)."""

    def __call__(self, inputs: tuple[str, ...], compute: Callable[[], _T]) -> _T: ...


def compute_now(inputs: tuple[str, ...], compute: Callable[[], _T]) -> _T:
    """The `Remember` that remembers nothing."""
    return compute()


class Command(StrEnum):
    """What a `digest` run does: a closed set, so an unknown command can never mean "run".

    The values are the CLI's command names and what the store records for each run.
    """

    INGEST = "ingest"  # fetch every source, store and embed new papers
    BUILD = "build"  # write the week's digest from stored papers
    RUN = "run"  # ingest, then build (what cron calls)
    SEND = "send"  # e-mail a digest already built

    @property
    def ingests(self) -> bool:
        """True for the commands that fetch sources (their reports count new papers)."""
        return self in (Command.INGEST, Command.RUN)


@dataclass(frozen=True)
class Signals:
    """Community signals about a paper (Hugging Face daily papers, mostly)."""

    upvotes: int | None = None
    comments: int | None = None
    github_url: str | None = None
    github_stars: int | None = None
    project_url: str | None = None
    ai_summary: str | None = None
    ai_keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entry:
    """One item exactly as a source read it, before canonical ids and cleaning.

    `raw_id` is whatever identifies the item in its feed (an arXiv abs URL, an `oai:arXiv.org:…`
    guid, a bare arXiv id, a DOI, a URL); `normalize` turns it into a `paper_id`.
    """

    source: str
    title: str
    abstract: str
    raw_id: str | None = None
    link: str | None = None
    doi: str | None = None
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    published: datetime | None = None
    updated: datetime | None = None
    announced: date | None = None
    announce_type: str | None = None
    pdf_url: str | None = None
    signals: Signals | None = None
    #: What the parser left out of the item (a date it could not read, a value of the wrong
    #: type, a second record of the paper), one line each: the ingest warns of them for a paper
    #: new to the store only, since a local file is read again whole at every ingest.
    notes: tuple[str, ...] = ()


class Entries(list[Entry]):
    """A parser's entries, with how many of the feed's items it skipped as bad (no title, a date
    that overflows, an out-of-range number): the source's result counts them, not only the log."""

    def __init__(self, entries: Iterable[Entry] = (), *, n_bad: int = 0) -> None:
        super().__init__(entries)
        self.n_bad = n_bad


@dataclass(frozen=True)
class Paper:
    """A paper with its canonical id (`arxiv:2404.01234`, `doi:10.1/x`, `url:https://…`)."""

    paper_id: str
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    url: str | None = None
    pdf_url: str | None = None
    version: int | None = None
    doi: str | None = None
    published: datetime | None = None
    announced: date | None = None
    announce_type: str | None = None
    first_seen: datetime | None = None
    sources: tuple[str, ...] = ()
    signals: Signals = field(default_factory=Signals)

    @property
    def text(self) -> str:
        """The text that is embedded: title first, since the model truncates long inputs."""
        return f"{self.title}. {self.abstract}".strip()


@dataclass(frozen=True)
class Topic:
    """A theme the user configured in config.toml."""

    slug: str
    name: str
    description: str
    keywords: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    counter_examples: tuple[str, ...] = ()
    min_similarity: float | None = None


@dataclass(frozen=True)
class Assignment:
    """Where one paper landed: its primary topic slug (or None) and the other topics it fits."""

    paper_id: str
    primary: str | None
    score: float
    also: tuple[str, ...] = ()
    scores: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Theme:
    """A discovered theme: a cluster of papers that matched no configured topic."""

    theme_id: str
    label: str
    terms: tuple[str, ...]
    paper_ids: tuple[str, ...]
    representative: str


@dataclass(frozen=True)
class WeekSection:
    """One digest section of one week, as remembered for continuity and trends."""

    week: str
    key: str
    kind: str  # "topic" | "theme"
    label: str
    terms: tuple[str, ...]
    n_papers: int
    representative: str | None = None
    centroid: np.ndarray | None = None


@dataclass(frozen=True)
class Week:
    """One ISO week's papers with their vectors (row i is papers[i]), loaded once per build."""

    week: str
    papers: tuple[Paper, ...]
    vectors: np.ndarray
    index: Mapping[str, int]  # paper_id -> row

    @property
    def texts(self) -> list[str]:
        return [p.text for p in self.papers]


@dataclass(frozen=True)
class PaperEntry:
    """A paper as shown in a digest section."""

    paper: Paper
    score: float
    summary: str
    code_url: str | None = None
    also: tuple[str, ...] = ()
    importance: float = 0.0  # digest.build.importance: relevance plus community signals
    reasons: tuple[str, ...] = ()  # why it ranks where it does, a few words each


def trend_of(earlier: Sequence[int], now: int) -> str:
    """'new', 'growing', 'shrinking' or '' (steady): this week's count against the mean of the
    earlier weeks that had any (weeks without data say nothing), a change being ±25 % and at
    least 2 papers. The one rule every output (Markdown, JSON, chart legend) shows."""
    seen = [c for c in earlier if c > 0]
    if not seen:
        return "new" if earlier and now else ""
    mean = sum(seen) / len(seen)
    if now >= 1.25 * mean and now - mean >= 2:
        return "growing"
    if now <= 0.8 * mean and mean - now >= 2:
        return "shrinking"
    return ""


#: Headings the digest writes itself (templates/digest.md.j2); topics and themes are headings too.
DIGEST_HEADINGS = (
    "This week",
    "Contents",
    "Discovered themes",
    "More themes",
    "Other papers",
    "Coverage",
)


def heading_anchor(heading: str, separator: str = "-") -> str:
    """The link anchor GitHub (and our python-markdown toc slugify) derive from a heading:
    lower case, punctuation dropped, each space a dash (`separator`). A run of whitespace (a
    line break, a tab, a no-break space) is one space first, as the digest shows the heading
    (`render.md_escape`): dropped, it linked the contents to an anchor no heading had.
    GitHub keeps letters, marks, decimal and letter numbers, "_" and "-" (round 29: marks were
    dropped, so a Hindi topic's link went nowhere on GitHub, and "²" was kept)."""
    shown = " ".join(heading.split()).lower()
    kept = "".join(c for c in shown if c in "-_ " or unicodedata.category(c) in _ANCHOR_KEEPS)
    return re.sub(r"\s", separator, kept.strip())


#: The Unicode categories GitHub keeps in a heading's anchor: letters, marks, Nd and Nl.
_ANCHOR_KEEPS = {"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl"}


@dataclass(frozen=True)
class Section:
    """One section of a digest: a configured topic, a discovered theme, or Other."""

    key: str
    title: str
    kind: str  # "topic" | "theme" | "other"
    entries: tuple[PaperEntry, ...]
    description: str = ""
    terms: tuple[str, ...] = ()
    history: tuple[int, ...] = ()  # papers per week, oldest first, ending with this week
    trend: str = ""  # "new" | "growing" | "shrinking" | "" (steady or no history)
    #: A discovered theme past `[themes] max_themes`: listed in one line under "More themes".
    minor: bool = False


@dataclass(frozen=True)
class SourceCount:
    """How one source fared over the digest's window, for the Coverage section."""

    name: str
    n_papers: int
    last_error: str | None = None
    n_days: int = 0  # announcement days (arXiv) or fetch days recorded in the window
    backfilled: tuple[str, ...] = ()  # "2025-06-11 via arXiv API: 8 papers"
    gaps: tuple[str, ...] = ()  # ISO dates still missing
    down_since: datetime | None = None  # a failing source's last success
    n_filtered: int = 0
    configured: str = "enabled"  # "disabled" or "removed": read once, no longer in the config

    @property
    def status(self) -> str:
        """One line for the Coverage table: failure, missing days, backfills, or 'ok'."""
        parts = []
        if self.configured == "removed":
            parts.append("removed from the config")
        elif self.configured == "disabled":
            parts.append("disabled in the config")
        if self.last_error:
            since = f" (last ok {self.down_since:%Y-%m-%d %H:%M} UTC)" if self.down_since else ""
            parts.append(f"{self.last_error}{since}")
        if self.gaps:
            parts.append("missing " + ", ".join(self.gaps))
        if self.backfilled:
            parts.append("backfilled " + "; ".join(self.backfilled))
        if self.n_filtered:
            parts.append(f"filters removed {self.n_filtered}")
        return " · ".join(parts) or "ok"


@dataclass(frozen=True)
class Digest:
    """One week's digest, ready to render."""

    week: str
    start: date
    end: date
    title: str
    n_papers: int
    sections: tuple[Section, ...]
    coverage: tuple[SourceCount, ...] = ()
    notes: tuple[str, ...] = ()
    highlights: tuple[PaperEntry, ...] = ()  # "This week": the most important topic papers
    quiet_topics: tuple[str, ...] = ()  # names of the configured topics with no paper this week


@dataclass(frozen=True)
class SourceResult:
    """What ingesting one source did: a count, or the error that stopped it."""

    name: str
    n_entries: int = 0
    n_new: int = 0
    n_updated: int = 0
    n_skipped: int = 0
    n_filtered: int = 0
    n_invalid: int = 0  # bad entries skipped by the parser (no title, a huge number) or normalize
    n_held_back: int = 0  # incomplete entries held back: the feed may have been cut off
    backfilled: tuple[str, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class CaughtUpWeek:
    """A missed earlier week that `digest run` built after its ingest, before its own week."""

    week: str
    digest_path: str | None = None
    n_papers: int = 0
    emailed_to: list[str] = field(default_factory=list)
    error: str | None = None
    not_done: list[str] = field(default_factory=list)


@dataclass
class RunReport:
    """What `digest run` / `ingest` / `build` did; printed by the CLI, filled in while running."""

    command: Command
    started: datetime
    finished: datetime | None = None
    sources: list[SourceResult] = field(default_factory=list)
    n_new: int = 0
    n_embedded: int = 0
    week: str | None = None
    n_papers_in_digest: int = 0
    digest_path: str | None = None
    error: str | None = None
    output_paths: list[str] = field(default_factory=list)
    emailed_to: list[str] = field(default_factory=list)
    not_done: list[str] = field(default_factory=list)  # what was deliberately left out, and why
    caught_up: list[CaughtUpWeek] = field(default_factory=list)  # `run`: missed weeks built too

    @property
    def all_sources_failed(self) -> bool:
        return bool(self.sources) and all(not s.ok for s in self.sources)
