"""Entries -> Papers: canonical ids (from `ids`), clean text (from `clean`), field caps, dedupe.

Pure: imports only `models`, `errors`, the field-cleaning rules in `clean`, the identity rules in
`ids` and the standard library; no I/O, no clock.

The one owner of the merge rules, in two flavours that share every field rule but the signals:

- `merge_papers(a, b)`: two records of one paper seen together (one run, `dedupe`): the best id
  scheme wins, and counts (upvotes, comments, stars) take the larger value.
- `update_paper(stored, incoming)`: a stored record seen again by a later run; the store calls
  the rule it is given (`Store.upsert_papers(..., merge=update_paper)`). The stored id is kept,
  and the latest non-empty signals win, so a build-time refresh shows current upvotes.

Shared field rules: title, abstract and authors come from the higher version (ties: the first
record); the URL from the record with the best id scheme, then the higher version, then the
first record; the DOI is the first one known; categories (but see Authority) and sources are
unioned; published, announced and first_seen are the earliest; the announce type is that of the
earliest announcement, ties broken by rank (new < cross < replace < replace-cross).

Authority (issue 14): arXiv's own sources own an arXiv paper's text, version, categories and
announcement day. `limit_to_authority` strips the version and day from an aggregator's record of
an arXiv paper (its text and categories stand in until arXiv's arrive), and when only one of two
records comes from arXiv, its title, abstract, authors, categories and published date win
whatever the order. Title matches never merge records whose identifiers contradict each other
(`is_contradicted`). Links shown to readers lose their tracking parameters, as ids do.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields, replace
from datetime import date
from typing import TypeVar
from urllib.parse import quote

from pipeline.errors import ParseError
from pipeline.ingest.clean import clean_text, decode_tex, fold_key, split_names
from pipeline.ingest.ids import (
    better_id,
    canonical_id,
    entry_doi,
    id_rank,
    matchable_title,
    normalize_title,
    strip_tracking,
    title_words,
)
from pipeline.models import Entry, Paper, Signals

logger = logging.getLogger(__name__)

_SURROGATE = re.compile("[\ud800-\udfff]")
_ANNOUNCE_RANK = {"new": 0, "cross": 1, "replace": 2, "replace-cross": 3}

#: Field caps applied at normalisation (a longer value is cut with a warning). Far above any real
#: paper (arXiv caps abstracts at 1,920 characters; the longest author lists are ~3,000 names),
#: far below what would make one entry cost gigabytes (a 45 MB title did, issue 15).
MAX_TITLE_CHARS = 2_000
MAX_ABSTRACT_CHARS = 50_000
MAX_AUTHORS = 3_000
MAX_NAME_CHARS = 300
MAX_FIELD_CHARS = 2_000  # ids, links, categories, a code or project URL
MAX_SUMMARY_CHARS = 10_000  # Hugging Face ai_summary
MAX_KEYWORDS = 100

D = TypeVar("D", bound=date)


def normalize_entry(entry: Entry, cuts: list[str] | None = None) -> Paper:
    """Turn one source entry into a Paper with its canonical id and cleaned text.

    Over-long fields are cut to the MAX_* caps with a warning, or, given `cuts`, a line saying
    so appended to it (the caller warns once: a file read at every ingest cut the same title
    each time). Raises ParseError for a bad entry: no title, an arXiv version out of range, or
    text that cannot be stored (a lone surrogate such as `&#xD800;`).
    """
    said = cuts if cuts is not None else _Warn()
    # TeX accents are decoded in titles, as in names (arXiv titles carry them).
    text = decode_tex(clean_text(entry.title[: MAX_TITLE_CHARS * 4]))
    title = _capped(entry, "title", text, MAX_TITLE_CHARS, said)
    if not title:
        raise ParseError(f"{entry.source}: an entry has no title (raw id {_shown(entry.raw_id)})")
    paper_id, version = canonical_id(entry)
    url, pdf_url = entry.link, entry.pdf_url
    if paper_id.startswith("arxiv:"):
        arxiv_id = paper_id.removeprefix("arxiv:")
        url = f"https://arxiv.org/abs/{arxiv_id}"  # unversioned: readers want the latest
        pdf_url = pdf_url or f"https://arxiv.org/pdf/{arxiv_id}"
    elif paper_id.startswith("url:") and not url:
        url = paper_id.removeprefix("url:")
    elif paper_id.startswith("doi:") and not url:
        # Round 26: a file's record with a DOI and no link was listed as a bare title.
        url = "https://doi.org/" + quote(paper_id.removeprefix("doi:"), safe="/")
    url, pdf_url = (strip_tracking(u) if u else u for u in (url, pdf_url))
    abstract = clean_text(entry.abstract[: MAX_ABSTRACT_CHARS * 4], keep_paragraphs=True)
    authors = entry.authors
    if len(authors) > MAX_AUTHORS:
        said.append(
            f"{entry.source}: {title[:80]!r}: keeping {MAX_AUTHORS} of {len(authors)} authors"
        )
        authors = authors[:MAX_AUTHORS]
    paper = Paper(
        paper_id=paper_id[:MAX_FIELD_CHARS],
        title=title,
        abstract=_capped(entry, "abstract", abstract, MAX_ABSTRACT_CHARS, said),
        authors=tuple(a[:MAX_NAME_CHARS] for a in split_names(tuple(map(clean_text, authors)))),
        categories=tuple(c[:MAX_FIELD_CHARS] for c in _union(entry.categories[:MAX_KEYWORDS])),
        url=_cut(url),
        pdf_url=_cut(pdf_url),
        version=version,
        doi=_cut(entry_doi(entry)),
        published=entry.published or entry.updated,
        announced=entry.announced,
        announce_type=_cut(entry.announce_type),
        sources=(entry.source,),
        signals=_capped_signals(entry.signals or Signals()),
    )
    bad = _unstorable_field(paper)
    if bad:
        raise ParseError(f"{entry.source}: {_shown(entry.raw_id)}: {bad} holds a lone surrogate")
    return paper


class _Warn(list[str]):
    """Where normalize_entry says a cut when its caller keeps none: each line a warning."""

    def append(self, line: str) -> None:
        logger.warning("%s", line)


def _capped(entry: Entry, name: str, text: str, limit: int, said: list[str]) -> str:
    if len(text) <= limit:
        return text
    shown = _shown(entry.raw_id)
    said.append(f"{entry.source}: {shown}: {name} cut from {len(text)} to {limit} characters")
    return text[:limit]


def _cut(value: str | None) -> str | None:
    return value[:MAX_FIELD_CHARS] if value else value


def _capped_signals(signals: Signals) -> Signals:
    return replace(
        signals,
        github_url=_cut(signals.github_url),
        project_url=_cut(signals.project_url),
        ai_summary=signals.ai_summary[:MAX_SUMMARY_CHARS] if signals.ai_summary else None,
        ai_keywords=tuple(k[:MAX_NAME_CHARS] for k in signals.ai_keywords[:MAX_KEYWORDS]),
    )


def _unstorable_field(paper: Paper) -> str | None:
    """The name of the first text field UTF-8 cannot encode (a lone surrogate), else None."""
    s = paper.signals
    fields: dict[str, tuple[str | None, ...]] = {
        "paper_id": (paper.paper_id,),
        "title": (paper.title,),
        "abstract": (paper.abstract,),
        "authors": paper.authors,
        "categories": paper.categories,
        "link": (paper.url, paper.pdf_url, paper.doi, paper.announce_type),
        "signals": (s.github_url, s.project_url, s.ai_summary, *s.ai_keywords),
    }
    for name, values in fields.items():
        for value in values:
            if value and _SURROGATE.search(value):
                return name
    return None


def _shown(raw_id: str | None) -> str:
    """An entry's raw id for a message: short and printable."""
    return repr(raw_id[:80]) if raw_id else "(no id)"


def hold_back_incomplete(entries: Sequence[Entry]) -> tuple[list[Entry], list[Entry]]:
    """(kept, held back): entries with no abstract and no authors or date, from a batch whose
    other entries mostly have them, are what a cut-off feed leaves of its last item (issue 14).

    Feeds that never carry abstracts (a table of contents) keep every entry.
    """
    complete = [e for e in entries if e.abstract.strip() and e.authors]
    if len(complete) * 2 < len(entries):
        return list(entries), []
    kept: list[Entry] = []
    held: list[Entry] = []
    for entry in entries:
        missing = not entry.abstract.strip() and (
            not entry.authors or not (entry.published or entry.updated or entry.announced)
        )
        (held if missing else kept).append(entry)
    return kept, held


def limit_to_authority(paper: Paper, *, speaks_for_arxiv: bool) -> Paper:
    """What a source may say about a paper: arXiv's own feeds own an arXiv paper's version,
    announcement day and categories; an aggregator (a journal-style RSS, Hugging Face) only adds
    links, a DOI and signals, and its text and categories stand in until arXiv's arrive (issue
    14: a paper known only from an aggregator keeps the categories it lists).

    An aggregator re-listing an arXiv id as "v99" or with an earlier announcement day therefore
    neither replaces arXiv's title and abstract nor moves the paper out of its week.
    """
    if speaks_for_arxiv or not paper.paper_id.startswith("arxiv:"):
        return paper
    return replace(paper, version=None, announced=None, announce_type=None)


def filter_papers(
    papers: Iterable[Paper], *, include: Sequence[str] = (), exclude: Sequence[str] = ()
) -> tuple[list[Paper], int]:
    """Keep papers whose title or abstract has an `include` phrase (if any) and no `exclude` one.

    Matching ignores case and punctuation and works on whole words ("GAN" does not match
    "organ"); a phrase with "+" or "#" (C++, C#) keeps them, as topic keywords do. Returns the
    kept papers and how many were removed.
    """
    wanted = [m for m in map(_phrase_test, include) if m is not None]
    unwanted = [m for m in map(_phrase_test, exclude) if m is not None]
    kept, removed = [], 0
    for paper in papers:
        words = f" {title_words(paper.title)} {title_words(paper.abstract)} "
        text = _signed_text(paper)
        if (wanted and not any(w(words, text) for w in wanted)) or any(
            u(words, text) for u in unwanted
        ):
            removed += 1
        else:
            kept.append(paper)
    return kept, removed


# "+" and "#" are part of a name (C++, C#, F#): read as words "C++" was "c", so an include of
# C++ kept every "Appendix C" or "C[0,1]" paper and an exclude dropped them. Matched as written,
# case folded, like a topic keyword (topics.assign.KeywordMatcher).
_NAME_SIGNS = re.compile(r"[+#]")
_SIGNED_TOKEN = re.compile(r"(?:[^\W_]|[+#])+")


def _phrase_test(phrase: str) -> Callable[[str, str], bool] | None:
    """A test on (the paper's normalised words, its folded text) for one filter phrase, or None
    for a phrase with no word in it."""
    if not _NAME_SIGNS.search(phrase):
        key = title_words(phrase)
        return (lambda words, _text: f" {key} " in words) if key else None
    tokens = _SIGNED_TOKEN.findall(fold_key(clean_text(phrase)).casefold())
    body = r"(?:[^\w+#]|_)+".join(re.escape(t) for t in tokens)
    pattern = re.compile(rf"(?<![^\W_])(?<![+#]){body}(?![^\W_])(?![+#])")
    return lambda _words, text: pattern.search(text) is not None


def _signed_text(paper: Paper) -> str:
    return fold_key(clean_text(f"{paper.title}\n{paper.abstract}")).casefold()


def dedupe(papers: Iterable[Paper]) -> list[Paper]:
    """Merge papers sharing a paper_id, or a normalised title when no identifier contradicts it
    (`is_contradicted`); first-seen order is kept."""
    merged: list[Paper] = []
    by_id: dict[str, int] = {}
    by_title: dict[str, int] = {}
    for paper in papers:
        title_key = normalize_title(paper.title)
        index = by_id.get(paper.paper_id)
        if index is None and matchable_title(paper.title):
            index = by_title.get(title_key)
            if index is not None and is_contradicted(merged[index], paper):
                index = None
        if index is None:
            index = len(merged)
            merged.append(paper)
        else:
            merged[index] = merge_papers(merged[index], paper)
        by_id[paper.paper_id] = by_id[merged[index].paper_id] = index
        by_title.setdefault(title_key, index)
    return merged


def merge_papers(a: Paper, b: Paper) -> Paper:
    """Merge two records of one paper seen together: best id, larger counts (see module doc)."""
    paper_id = better_id(a.paper_id, b.paper_id)
    return replace(
        _merge_fields(a, b), paper_id=paper_id, signals=merge_signals(a.signals, b.signals)
    )


def update_paper(stored: Paper, incoming: Paper, *, relisted: bool = False) -> Paper:
    """A stored paper updated by a later sighting: its id kept, the latest signals win.

    `relisted`: the sighting is by the one source the paper came from. At the same version (or
    none) its text is that source's correction (a typo in a title fixed in one's own file, an
    abstract filled in) and replaces the stored one; round 27: the text first stored stayed
    forever. A paper other sources list too keeps its text, so two sources never take turns.
    """
    merged = replace(
        _merge_fields(stored, incoming),
        paper_id=stored.paper_id,
        signals=update_signals(stored.signals, incoming.signals),
    )
    if not relisted or _is_newer(stored, incoming) or _is_newer(incoming, stored):
        return merged
    return replace(
        merged,
        title=incoming.title or merged.title,
        abstract=incoming.abstract or merged.abstract,
        authors=incoming.authors or merged.authors,
    )


def merge_signals(a: Signals, b: Signals) -> Signals:
    """Seen together: counts take the larger value, other fields the first non-empty one."""
    return Signals(
        upvotes=_larger(a.upvotes, b.upvotes),
        comments=_larger(a.comments, b.comments),
        github_url=a.github_url or b.github_url,
        github_stars=_larger(a.github_stars, b.github_stars),
        project_url=a.project_url or b.project_url,
        ai_summary=a.ai_summary or b.ai_summary,
        ai_keywords=a.ai_keywords or b.ai_keywords,
    )


def update_signals(stored: Signals, incoming: Signals) -> Signals:
    """Seen later: each incoming value replaces the stored one unless it is missing."""
    changes = {
        f.name: getattr(incoming, f.name)
        for f in fields(Signals)
        if getattr(incoming, f.name) not in (None, ())
    }
    return replace(stored, **changes)


def _merge_fields(first: Paper, second: Paper) -> Paper:
    """Every field rule both merges share; the id and signals are the caller's."""
    newer, older = (second, first) if _is_newer(second, first) else (first, second)
    arxiv = [p for p in (first, second) if _speaks_for_arxiv(p)]
    if len(arxiv) == 1:  # arXiv's record owns the text and date over an aggregator's (issue 14)
        newer, older = arxiv[0], (second if arxiv[0] is first else first)
    announcer = _announcer(first, second)
    return replace(
        first,
        title=newer.title or older.title,
        abstract=newer.abstract or older.abstract,
        authors=newer.authors or older.authors,
        categories=(
            arxiv[0].categories
            if len(arxiv) == 1 and arxiv[0].categories
            else _union(first.categories + second.categories)
        ),
        url=_link(first, second, "url"),
        pdf_url=_link(first, second, "pdf_url"),
        version=max((v for v in (first.version, second.version) if v is not None), default=None),
        doi=first.doi or second.doi,
        published=(
            newer.published or older.published
            if len(arxiv) == 1
            else _earliest(first.published, second.published)
        ),
        announced=announcer.announced,
        announce_type=announcer.announce_type
        or (second if announcer is first else first).announce_type,
        first_seen=_earliest(first.first_seen, second.first_seen),
        sources=_union(first.sources + second.sources),
    )


def _speaks_for_arxiv(paper: Paper) -> bool:
    """A record of an arXiv paper from arXiv's own feeds: only those carry a version or an
    announcement day (`limit_to_authority` strips both from aggregators' records)."""
    return paper.paper_id.startswith("arxiv:") and (
        paper.version is not None or paper.announced is not None
    )


def _is_newer(a: Paper, b: Paper) -> bool:
    """`a` is a strictly higher arXiv version than `b`."""
    return (a.version or 0) > (b.version or 0)


def _announcer(first: Paper, second: Paper) -> Paper:
    """The record of the earliest announcement; same day (or none): the better announce type."""

    def key(paper: Paper) -> tuple[bool, date, int]:
        rank = _ANNOUNCE_RANK.get(paper.announce_type or "", len(_ANNOUNCE_RANK))
        return (paper.announced is None, paper.announced or date.min, rank)

    return second if key(second) < key(first) else first


def _link(first: Paper, second: Paper, field: str) -> str | None:
    """A URL field: from the best id scheme, then the higher version, then the first record."""

    def rank(paper: Paper) -> tuple[int, bool]:
        return (id_rank(paper.paper_id), not _is_newer(paper, other(paper)))

    def other(paper: Paper) -> Paper:
        return second if paper is first else first

    ordered = sorted((first, second), key=rank)  # stable: ties keep the first record first
    return next((getattr(p, field) for p in ordered if getattr(p, field)), None)


def is_contradicted(a: Paper, b: Paper) -> bool:
    """True when the identifiers of two same-titled papers say they are different items.

    Two ids of one scheme (two arXiv ids, two DOIs, two URLs) or two different DOIs are two
    papers, however alike their titles (issue 14: two registry entries with one title and two
    identifiers became one paper). Ids of different schemes (a url: aggregator record and a doi:
    journal record) do not contradict each other.
    """
    scheme_a, scheme_b = a.paper_id.split(":", 1)[0], b.paper_id.split(":", 1)[0]
    if scheme_a == scheme_b != "title" and a.paper_id != b.paper_id:
        return True
    return bool(a.doi and b.doi and a.doi.lower() != b.doi.lower())


def _union(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _larger(a: int | None, b: int | None) -> int | None:
    return max(a, b) if a is not None and b is not None else a if a is not None else b


def _earliest(a: D | None, b: D | None) -> D | None:
    if a is None or b is None:
        return a if a is not None else b
    return min(a, b)
