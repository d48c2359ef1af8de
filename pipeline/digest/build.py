"""One week's papers, assignments and themes → a `Digest` ready to render (pure).

Chooses, groups and orders; writes nothing. Summaries are extractive (whole sentences only) unless a
source supplied one. Imports only models and the stdlib.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta

from pipeline.models import (
    Assignment,
    Digest,
    Paper,
    PaperEntry,
    Section,
    SourceCount,
    Theme,
    Topic,
    trend_of,
)

_ABBREVIATIONS = ("e.g.", "i.e.", "et al.", "etc.", "vs.", "cf.", "Fig.", "Eq.", "resp.", "approx.")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
_CONTRIBUTION = re.compile(
    r"\b(we|this (paper|work|study)|here,? we|in this (paper|work))\b[^.]{0,60}?\b"
    r"(propose|present|introduce|develop|show|demonstrate|design|study|investigate|find|release)",
    re.IGNORECASE,
)
_LATEX_WRAPPERS = re.compile(
    r"\\(?:emph|textbf|textit|texttt|textsc|textrm|mathrm|mathbf|mathit|text|underline)\{([^{}]*)\}"
)
_LATEX_GROUP = re.compile(r"\{\\(?:em|bf|it|tt|sc)\s+([^{}]*)\}")
_LATEX_HREF = re.compile(r"\\href\{[^{}]*\}\{([^{}]*)\}")
_LATEX_URL = re.compile(r"\\url\{([^{}]*)\}")
_LATEX_CITE = re.compile(r"\s*\\(?:cite|citep|citet|ref)\{[^{}]*\}")
_LATEX_ESCAPE = re.compile(r"\\([%&_#$])")
_LATEX_SYMBOLS = {
    "times": "×",
    "sim": "~",
    "approx": "≈",
    "leq": "≤",
    "le": "≤",
    "geq": "≥",
    "ge": "≥",
    "pm": "±",
    "rightarrow": "→",
    "to": "→",
    "infty": "∞",
    "ell": "ℓ",
    "cdot": "·",
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "theta": "θ",
    "lambda": "λ",
    "mu": "μ",
    "pi": "π",
    "sigma": "σ",
    "tau": "τ",
    "phi": "φ",
    "omega": "ω",
}
_LATEX_SYMBOL = re.compile(
    r"\\(" + "|".join(sorted(_LATEX_SYMBOLS, key=len, reverse=True)) + r")(?![a-zA-Z])"
)
_SIMPLE_MATH = re.compile(r"\$([^$\\]{1,40})\$")
# Openers that point back at a sentence the summary leaves out ("To this end, we propose …").
_CONNECTIVE = re.compile(
    r"^(?:to (?:this end|address (?:this|these|it|them|such)[^,]{0,40}|tackle[^,]{0,40}|"
    r"overcome[^,]{0,40}|bridge[^,]{0,40}|fill[^,]{0,40}|mitigate[^,]{0,40}|solve[^,]{0,40})|"
    r"based on (?:this|these|our)[^,]{0,40}|motivated by[^,]{0,40}|in response|"
    r"therefore|thus|hence|however|consequently|instead|specifically|in particular|moreover|"
    r"furthermore|additionally|in addition|finally|besides|"
    r"in this (?:paper|work|study)|here|accordingly),\s+",
    re.IGNORECASE,
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


def split_sentences(text: str) -> list[str]:
    """Split an abstract into sentences without breaking at common abbreviations."""
    present = [(i, abbr) for i, abbr in enumerate(_ABBREVIATIONS) if abbr in text]
    protected = text
    for i, abbr in present:
        protected = protected.replace(abbr, f"\x00{i}\x00")
    parts = _SENTENCE_END.split(protected)
    sentences = []
    for part in parts:
        for i, abbr in present:
            part = part.replace(f"\x00{i}\x00", abbr)
        if part.strip():
            sentences.append(part.strip())
    return sentences


def plain_text(text: str) -> str:
    """Common LaTeX markup in arXiv abstracts made readable: \\emph{x} → x, $\\times$ → ×."""
    if "\\" not in text and "$" not in text:
        return text  # most abstracts: nothing to do, and this runs for every paper of the week
    for _ in range(3):  # nested wrappers
        text = _LATEX_WRAPPERS.sub(r"\1", text)
    text = _LATEX_CITE.sub("", text)
    text = _LATEX_GROUP.sub(r"\1", text)
    text = _LATEX_HREF.sub(r"\1", text)
    text = _LATEX_URL.sub(r"\1", text)
    text = _LATEX_SYMBOL.sub(lambda m: _LATEX_SYMBOLS[m.group(1)], text)
    text = _SIMPLE_MATH.sub(r"\1", text)
    return _LATEX_ESCAPE.sub(r"\1", text)


def _drop_connective(sentence: str) -> str:
    stripped = _CONNECTIVE.sub("", sentence, count=1)
    if stripped == sentence or not stripped:
        return sentence
    return stripped[0].upper() + stripped[1:]


def summarize(abstract: str, *, max_chars: int = 320) -> str:
    """One or two whole sentences: the contribution sentence when there is one, else the opening."""
    sentences = split_sentences(plain_text(abstract))
    if not sentences:
        return ""
    start = next((i for i, s in enumerate(sentences) if _CONTRIBUTION.search(s)), 0)
    chosen = [_drop_connective(sentences[start])]
    if start + 1 < len(sentences) and len(chosen[0]) + len(sentences[start + 1]) < max_chars:
        chosen.append(sentences[start + 1])
    return " ".join(chosen)


def find_code_url(paper: Paper) -> str | None:
    """A code link: the source's repository signal, else a repository URL named in the abstract."""
    if paper.signals.github_url:
        return paper.signals.github_url
    match = _CODE_URL.search(paper.abstract)
    return match.group(0).rstrip(".,;)") if match else None


def _entry(paper: Paper, score: float, also: tuple[str, ...] = ()) -> PaperEntry:
    summary = paper.signals.ai_summary or summarize(paper.abstract)
    return PaperEntry(paper, round(score, 4), summary, find_code_url(paper), also)


def _rank(entries: list[PaperEntry]) -> tuple[PaperEntry, ...]:
    # Community signal first (when a source has it), then fit to the theme; the id breaks ties.
    return tuple(
        sorted(entries, key=lambda e: (-(e.paper.signals.upvotes or 0), -e.score, e.paper.paper_id))
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
    coverage: Sequence[SourceCount] = (),
    notes: Sequence[str] = (),
    history: Mapping[str, tuple[int, ...]] | None = None,
) -> Digest:
    """Group the week's papers into sections: configured topics, discovered themes, then Other."""
    by_id = {p.paper_id: p for p in papers}
    assigned = {a.paper_id: a for a in assignments}
    names = {t.slug: t.name for t in topics}
    sections = []
    for topic in topics:
        entries = [
            _entry(by_id[a.paper_id], a.score, tuple(names[s] for s in a.also))
            for a in assignments
            if a.primary == topic.slug
        ]
        if entries:
            sections.append(
                Section(topic.slug, topic.name, "topic", _rank(entries), topic.description)
            )
    themed: set[str] = set()
    scores = theme_scores or {}
    for theme in themes:
        entries = [_entry(by_id[pid], scores.get(pid, 0.0)) for pid in theme.paper_ids]
        themed.update(theme.paper_ids)
        sections.append(
            Section(theme.theme_id, theme.label, "theme", _rank(entries), terms=theme.terms)
        )
    rest = [
        _entry(p, 0.0)
        for p in papers
        if p.paper_id not in themed and assigned.get(p.paper_id, _NONE).primary is None
    ]
    if rest:
        sections.append(Section("other", "Other papers", "other", _rank(rest)))
    if history:
        sections = [_with_history(s, history.get(s.key, ())) for s in sections]
    start, end = week_bounds(week)
    return Digest(
        week, start, end, title, len(by_id), tuple(sections), tuple(coverage), tuple(notes)
    )


_NONE = Assignment("", None, 0.0)


def _with_history(section: Section, earlier: tuple[int, ...]) -> Section:
    """Attach the counts of earlier weeks (oldest first) plus this week's, and the trend."""
    if section.kind == "other":
        return section
    counts = (*earlier, len(section.entries))
    return replace(section, history=counts, trend=trend(earlier, len(section.entries)))


def trend(earlier: Sequence[int], now: int) -> str:
    """'new' / 'growing' / 'shrinking' / '' (see models.trend_of)."""
    return trend_of(earlier, now)
