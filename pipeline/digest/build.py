"""One week's papers, assignments and themes → a `Digest` ready to render (pure).

Chooses, groups and orders; writes nothing. Sections and the "This week" highlights are ranked by
`rank.importance`; summaries are extractive (`summary.summarize`) unless a source supplied one, and
titles have their LaTeX rendered. Imports only models, its sibling modules and the stdlib.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from functools import partial

from pipeline.digest.rank import importance, pick_highlights, rank, reasons
from pipeline.digest.summary import (
    cap_length,
    latex_to_text,
    summarize,
)
from pipeline.models import (
    DIGEST_HEADINGS,
    Assignment,
    Digest,
    Paper,
    PaperEntry,
    Remember,
    Section,
    SourceCount,
    Theme,
    Topic,
    compute_now,
    heading_anchor,
    trend_of,
)

_CODE_URL = re.compile(r"https?://(?:www\.)?(?:github\.com|gitlab\.com|huggingface\.co)/[\w.\-/]+")


def week_bounds(week: str) -> tuple[date, date]:
    """'2025-W24' → (Monday, Sunday) of that ISO week."""
    year, number = week.split("-W")
    monday = date.fromisocalendar(int(year), int(number), 1)
    return monday, monday + timedelta(days=6)


def iso_week(day: date) -> str:
    """The ISO week a day falls in, as 'YYYY-Www'."""
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


def find_code_url(paper: Paper) -> str | None:
    """A code link: the source's repository signal, else a repository URL named in the abstract."""
    return paper.signals.github_url or _code_url_in(paper.abstract)


def _code_url_in(abstract: str) -> str | None:
    match = _CODE_URL.search(abstract)
    return match.group(0).rstrip(".,;)") if match else None


#: Longest summary shown, in characters (whole sentences; see summary.cap_length).
SUMMARY_CHARS = 320
THEMES_SHOWN = ("compact", "full", "off")


def readable(paper: Paper) -> list[str | None]:
    """[summary, title, code link in the abstract] as a digest shows them: the source's summary
    or one extracted from the abstract (`summary.summarize`), the title with its LaTeX rendered,
    and the repository link the abstract names, if any (`find_code_url` prefers the source's).
    Reads only the paper's title, abstract and `signals.ai_summary`."""
    if paper.signals.ai_summary:
        summary = cap_length(" ".join(paper.signals.ai_summary.split()), SUMMARY_CHARS)
    else:
        summary = summarize(paper.abstract, max_chars=SUMMARY_CHARS)
    return [summary, latex_to_text(paper.title), _code_url_in(paper.abstract)]


def _entry(
    paper: Paper,
    score: float,
    also: tuple[str, ...] = (),
    *,
    relevance: float | None = None,
    remember: Remember = compute_now,
) -> PaperEntry:
    """`score`: the paper's score for its section (a topic's boundary margin, a theme's
    closeness); `relevance`: its fit on the ranking's scale (rank.importance), `score` if None.
    `readable(paper)` is `remember`ed under the paper's title, abstract and source summary."""
    inputs = (paper.title, paper.abstract, paper.signals.ai_summary or "")
    shown = remember(inputs, partial(readable, paper))
    summary, title, in_abstract = str(shown[0]), str(shown[1]), shown[2]
    code_url = paper.signals.github_url or in_abstract  # find_code_url(paper)
    has_code = code_url is not None
    return PaperEntry(
        paper if title == paper.title else replace(paper, title=title),  # most have no LaTeX
        round(score, 4),
        summary,
        code_url,
        also,
        round(importance(paper, score if relevance is None else relevance, has_code=has_code), 4),
        reasons(paper, has_code=has_code),
    )


def build_digest(
    papers: Sequence[Paper],
    assignments: Sequence[Assignment],
    themes: Sequence[Theme],
    topics: Sequence[Topic],
    *,
    week: str,
    title: str,
    theme_scores: Mapping[str, float] | None = None,
    topic_relevance: Mapping[str, float] | None = None,
    coverage: Sequence[SourceCount] = (),
    notes: Sequence[str] = (),
    history: Mapping[str, tuple[int, ...]] | None = None,
    n_highlights: int = 10,
    themes_shown: str = "compact",
    max_themes: int | None = None,
    remember: Remember = compute_now,
) -> Digest:
    """Group the week's papers into sections: configured topics, discovered themes, then Other,
    each ranked by importance, plus about `n_highlights` picks across the topics. A topic's
    papers enter importance with `topic_relevance` (cosine + keyword bonus for their primary
    topic, the scale rank.importance weighs signals against) where given, else their score. With
    `themes_shown="off"` the themes' papers are listed under Other instead. Themes past the
    first `max_themes` (given largest first) are `minor`: listed in one line each. Each paper's
    summary and title (`readable`) are `remember`ed (run keeps them between builds)."""
    if themes_shown not in THEMES_SHOWN:
        raise ValueError(f"themes_shown must be one of {THEMES_SHOWN}, got {themes_shown!r}")
    if themes_shown == "off":
        themes = ()
    by_id = {p.paper_id: p for p in papers}
    assigned = {a.paper_id: a for a in assignments}
    names = {t.slug: t.name for t in topics}
    relevance = topic_relevance or {}
    sections = []
    for topic in topics:
        entries = [
            _entry(
                by_id[a.paper_id],
                a.score,
                tuple(names[s] for s in a.also),
                relevance=relevance.get(a.paper_id),
                remember=remember,
            )
            for a in assignments
            if a.primary == topic.slug
        ]
        if entries:
            sections.append(
                Section(topic.slug, topic.name, "topic", rank(entries), topic.description)
            )
    themed: set[str] = set()
    scores = theme_scores or {}
    headings = {heading_anchor(h) for h in (*DIGEST_HEADINGS, *(t.name for t in topics))}
    for n_themes, theme in enumerate(themes):
        entries = [
            _entry(by_id[pid], scores.get(pid, 0.0), remember=remember) for pid in theme.paper_ids
        ]
        themed.update(theme.paper_ids)
        minor = max_themes is not None and n_themes >= max_themes
        heading = _own_heading(theme.label, headings)
        sections.append(
            Section(theme.theme_id, heading, "theme", rank(entries), terms=theme.terms, minor=minor)
        )
    rest = [
        _entry(p, 0.0, remember=remember)
        for p in papers
        if p.paper_id not in themed and assigned.get(p.paper_id, _NONE).primary is None
    ]
    if rest:
        sections.append(Section("other", "Other papers", "other", rank(rest)))
    if history:
        sections = [_with_history(s, history.get(s.key, ())) for s in sections]
    start, end = week_bounds(week)
    highlights = pick_highlights([s for s in sections if s.kind == "topic"], n_highlights)
    shown = {s.key for s in sections if s.kind == "topic"}
    return Digest(
        week,
        start,
        end,
        title,
        len(by_id),
        tuple(sections),
        tuple(coverage),
        tuple(notes),
        highlights,
        quiet_topics=tuple(t.name for t in topics if t.slug not in shown),
    )


_NONE = Assignment("", None, 0.0)


def _own_heading(label: str, taken: set[str]) -> str:
    """A theme's heading, "(discovered)" added when its anchor is a topic's, one of the
    digest's own headings' or an earlier theme's (a theme "Robotics" beside the topic
    "Robotics": the contents linked both rows to the topic). Adds the heading's anchor to
    `taken`. Read from outside in round 16."""
    title, n = label, 1
    while heading_anchor(title) in taken:
        n += 1
        title = f"{label} (discovered)" if n == 2 else f"{label} (discovered, {n - 1})"
    taken.add(heading_anchor(title))
    return title


def _with_history(section: Section, earlier: tuple[int, ...]) -> Section:
    """Attach the counts of earlier weeks (oldest first) plus this week's, and the trend."""
    if section.kind == "other":
        return section
    counts = (*earlier, len(section.entries))
    return replace(section, history=counts, trend=trend(earlier, len(section.entries)))


def trend(earlier: Sequence[int], now: int) -> str:
    """'new' / 'growing' / 'shrinking' / '' (see models.trend_of)."""
    return trend_of(earlier, now)
