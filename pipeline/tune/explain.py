"""`digest explain` and `digest mark`: why one paper landed where it did, and teaching a topic.

PAPER may be written as a digest shows it: arxiv:ID, ID with a version, an abs or pdf link, or
the paper's title; or as a PDF saved from arXiv (2506.13755v2.pdf: only the file's name is read).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from pipeline import run
from pipeline.config import (
    Settings,
    add_topic_paper,
    digest_command,
    load_settings,
    locked_config,
    replace_config,
    temporary_config,
    week_problem,
    write_temporary,
)
from pipeline.digest import build as digest
from pipeline.digest import publish
from pipeline.embed import Embedder
from pipeline.embed.cache import ensure_text_vectors, ensure_vectors
from pipeline.errors import ConfigError, ParseError, UsageError, shortened
from pipeline.models import Paper, Topic
from pipeline.run import scoring
from pipeline.run import week as run_week
from pipeline.run.week import LATE_WEEKS
from pipeline.store import Store, effective_day
from pipeline.topics import assign, calibrate
from pipeline.tune.topics import (
    THEME_PREFIX,
    Comparison,
    WeekScores,
    compare_configs,
    describe_boundary,
    is_theme,
    score_week,
)


def find_paper(store: Store, reference: str) -> Paper:
    """The stored paper a reference names: arxiv:ID, ID with version, abs or pdf link, an id,
    the DOI or link of a paper without an arXiv id, or the paper's title as the digest shows
    it. UsageError (exit 2, as an unknown --topic) when it names no stored paper or several."""
    found = scoring.stored_paper_ids(store, reference)
    if len(found) > 1:
        raise UsageError(
            f"{shortened(reference.strip())!r} is the title of {len(found)} stored papers"
            f" ({', '.join(found)}): give the id of the one you mean"
        )
    paper = store.get_paper(found[0]) if found else None
    if paper is None:
        # Told to ingest while hundreds of papers were stored, a user with a mistyped title
        # looks in the wrong place (round 14).
        empty = store.get_date_range() is None
        # A PDF on disk named otherwise than arXiv names it: its name is no id, and nothing
        # reads the file.
        read_as = scoring.paper_ref_id(reference)
        unnamed_pdf = scoring.is_pdf_file(reference) and not read_as.startswith("arxiv:")
        if not empty and not unnamed_pdf and scoring.names_by_id(reference):
            # An id read right (round 28: "ids look like arxiv:2506.01234" told the user who
            # marked the README's own example, 2312.00752, that its id was wrong).
            first, last = store.get_date_range() or (None, None)
            raise UsageError(
                f"no stored paper {shortened(read_as)!r} (from {shortened(reference)!r}):"
                f" the id is read, but the store (papers from {first} to {last}) does not hold"
                " it; an example of a paper not stored yet can be written into config.toml by"
                " hand: it is left out until an ingest stores it"
            )
        raise UsageError(
            f"no stored paper {shortened(read_as)!r}"
            f" (from {shortened(reference)!r}); ids look"
            " like arxiv:2506.01234, 2506.01234v2 or https://arxiv.org/abs/2506.01234, or give"
            " the paper's title as the digest shows it"
            + (" — the store holds no papers yet: run `digest ingest` first" if empty else "")
            + (
                "; a PDF file is not opened: give the paper's id, link or title, or the file"
                " under arXiv's own name for it (2506.01234v2.pdf)"
                if unnamed_pdf
                else ""
            )
            # A short title ("Same title") is never looked up: it could name any paper.
            + (
                "; a title this short is not looked up, give the id or the whole title"
                if not empty
                and reference.strip()
                and not unnamed_pdf
                and scoring.too_short_a_title(reference)
                else ""
            )
            + (f"; {holding}" if (holding := _titles_holding(store, reference)) else "")
        )
    return paper


#: How many papers whose titles hold a reference `find_paper` names.
_HOLDING = 5


def _titles_holding(store: Store, reference: str) -> str:
    """'N stored papers' titles hold it: ids (titles): give the id …' for a reference that is
    part of stored titles (round 25: a fragment copied from a digest was said to name no
    paper, which a typo also is), or ""."""
    text = reference.strip()
    if len(text) < 4 or scoring.paper_ref_id(text).startswith("arxiv:"):
        return ""
    held = store.list_titles_holding(text, _HOLDING + 1)
    if not held:
        return ""
    named = ", ".join(
        f"{paper_id} ({shortened(title, 80)!r})" for paper_id, title in held[:_HOLDING]
    )
    if len(held) == 1:
        return f"1 stored paper's title holds it: {named}: give its id or whole title"
    many = f"more than {_HOLDING}" if len(held) > _HOLDING else str(len(held))
    first = f" (the first {_HOLDING} by id)" if len(held) > _HOLDING else ""
    return f"{many} stored papers' titles hold it: {named}{first}: give the id of the one you mean"


def _placed(
    store: Store, paper: Paper, timezone: str, latest: str | None = None
) -> tuple[str, bool]:
    """The ISO week whose digest lists a paper for a reader in `timezone` ([digest] timezone),
    and whether the paper arrived too late for any digest: the week of its day there
    (`store.effective_day`: announcement, else publication, else first seen; first seen too
    when the paper's own date lies days after it), unless an earlier digest drew that week's
    boundary in another zone, as `digest build` decides it (`run.week.placement`; `latest`:
    the week `digest run` builds now, see `_run_week`); a paper dated outside every digest is
    in its naive week."""
    if _in_no_digest(paper, timezone):
        return _naive_week(paper, timezone), False
    return run_week.placement(store, paper, timezone, latest)


def _run_week(settings: Settings, store: Store) -> str | None:
    """The week `digest run` would build now after the weeks it missed ("last-complete" or
    "latest"; None for a fixed week, which has nothing to catch up): a late paper stored after
    a long outage is listed by the oldest of the weeks it catches up, not the week after the
    last digest built (round 24)."""
    if settings.digest.week not in ("last-complete", "latest"):
        return None
    now = datetime.now().astimezone()
    return run.choose_week(settings.digest.week, store, now=now, timezone=settings.digest.timezone)


def _naive_week(paper: Paper, timezone: str) -> str:
    return digest.iso_week(_paper_day(paper, timezone))


def _paper_day(paper: Paper, timezone: str) -> date:
    try:
        return effective_day(paper, ZoneInfo(timezone))
    except ValueError:  # not stored yet: no date of its own
        return datetime.now(UTC).date()


def _in_no_digest(paper: Paper, timezone: str) -> str | None:
    """Why no digest covers the paper's week (a feed's 9999-12-31: no week can be built or
    scored for it), or None."""
    if week_problem(_naive_week(paper, timezone)) is None:
        return None
    day = _paper_day(paper, timezone).isoformat()
    return f"{paper.paper_id} is dated {day}: no digest covers that week"


def _too_late(store: Store, paper: Paper, timezone: str, own: str) -> str:
    """Why no digest lists a paper that arrived too late for any (`_placed`), its own week
    `own`: its day and week, when that week's digest was built and when the paper was stored."""
    built = store.list_listing_weeks(own).get(own)
    day = _paper_day(paper, timezone).isoformat()
    when = f" on {built:%Y-%m-%d}" if built else ""
    stored = f" (on {paper.first_seen:%Y-%m-%d})" if paper.first_seen else ""
    return (
        f"it is dated {day}, in {own}, whose digest was built{when}, before the paper was"
        f" stored{stored}; a paper that late (over {LATE_WEEKS} weeks before the next digest"
        " built) is listed by no digest"
    )


def _skipped(store: Store, week: str, digest: str = "digest") -> list[str]:
    """A line saying that `week` has no digest while later weeks have (an outage longer than
    the catch-up reaches, a week left out by hand): no run builds it, so the paper is in no
    digest until it is built (round 24: explain named the week as if its digest listed it)."""
    built = store.list_listing_weeks("9999-W99")
    if week in built or not any(w > week for w in built):
        return []
    return [
        f"(no digest of {week} was built, though later weeks' were: the paper is in none"
        f" until `{digest} build --week {week}` builds it)"
    ]


def explain_paper(settings: Settings, store: Store, embedder: Embedder, reference: str) -> str:
    """Where one stored paper landed, the evidence per topic, and what would move it."""
    paper = find_paper(store, reference)
    problem = _in_no_digest(paper, settings.digest.timezone)
    if problem:
        raise ParseError(problem)
    timezone = settings.digest.timezone
    chosen, late = _placed(store, paper, timezone, _run_week(settings, store))
    if late:  # round 23: an answer, not an error (it was "error: …", exit 1)
        why = _too_late(store, paper, timezone, chosen)
        return f"{paper.paper_id}: {paper.title}\nin no digest: {why}"
    week = score_week(settings, store, embedder, week=chosen)
    row = next(i for i, p in enumerate(week.papers) if p.paper_id == paper.paper_id)
    result = week.assignments[row]
    pulls = _example_pulls(settings, store, embedder, paper, week.topics)
    section = week.sections[paper.paper_id]
    # The commands it suggests carry the config it was given (round 29: `digest --config
    # tuned.toml explain` suggested a bare `digest mark …`, which, copied, edited ./config.toml).
    digest = digest_command(settings.config_path)
    lines = [
        f"{paper.paper_id}: {paper.title}",
        f"{week.week}: in section {_section_name(section)}",
        *_as_built(settings, week.week, paper.paper_id, section),
        *_skipped(store, week.week, digest),
        f"{'topic':22} {'cosine':>6} {'margin':>7}  verdict",
    ]
    for col, topic in enumerate(week.topics):
        margin = float(week.margin[row, col])
        vetoed = bool(topic.exclude) and assign.has_phrase(paper.text, topic.exclude)
        counter = paper.paper_id in scoring.counter_example_ids(store, topic)
        verdict = (
            "vetoed by exclude"
            if vetoed
            else "a counter-example"
            if counter
            else ("inside the boundary" if margin >= 0 else "outside the boundary")
        )
        found = assign.matched_keywords(paper.text, topic.keywords)
        lines.append(
            f"{topic.slug:22} {week.scores.semantic[row, col]:6.3f} {margin:+7.2f}  {verdict}"
        )
        if found:
            lines.append(f"{'':22}   keywords: {', '.join(found)}")
        lines.append(f"{'':22}   boundary: {_boundary_words(week, col)}")
        lines.extend(_keyword_evidence(week, row, col))
        if pulls.get(topic.slug):
            lines.append(f"{'':22}   pulled by example {pulls[topic.slug]}")
    lines.append(_what_would_change(paper, result, week.topics, week.margin[row], digest))
    return "\n".join(lines)


def _as_built(settings: Settings, week: str, paper_id: str, now: str) -> list[str]:
    """A line naming the section the week's digest, as written, lists the paper in, when that
    is not `now` (the section a build would give it today, as `WeekScores.sections` spells
    it): the config (or the store its boundaries are learnt from) changed since it was built.
    Read from the week's sidecar; nothing without one. Round 28: explain said a paper of a
    built week was "in section topic nas" after a `mark`, while the digest its readers had
    listed it in a theme, and nothing said the two differ."""
    path = settings.paths.digests_dir / f"{week}.json"
    try:
        record = None if path.is_symlink() else json.loads(path.read_bytes())
    except (OSError, ValueError):
        return []
    if not isinstance(record, dict) or not publish.is_record(record) or record["week"] != week:
        return []
    for section in record["sections"]:
        papers = section.get("papers")
        if not isinstance(papers, list) or not any(
            isinstance(p, dict) and p.get("paper_id") == paper_id for p in papers
        ):
            continue
        kind, key, title = section.get("kind"), section.get("key"), section.get("title")
        shown = {"topic": key, "theme": f"{THEME_PREFIX}{title}"}.get(str(kind), "other")
        # With [digest] themes = "off" a theme's papers are listed under Other.
        off = settings.digest.themes == "off" and is_theme(now)
        if shown == ("other" if off else now) or not isinstance(shown, str):
            return []
        built = str(record.get("generated", ""))[:16].replace("T", " ")
        return [
            f"  (its digest of {week}, written {built} UTC, lists it in"
            f" {_section_name(shown)}: the config or the store changed since, and the next"
            f" build of {week} moves it)"
        ]
    return []


def _keyword_evidence(week: WeekScores, row: int, col: int) -> list[str]:
    """How the evidence model moved a learnt boundary for this paper (nothing for a fixed one)."""
    scores, margin = week.scores, float(week.margin[row, col])
    raw = scores.raw if scores.raw is not None else week.rank
    lines = []
    named = scores.keywords[row, col] > 0
    cut = week.names_none_cuts[col] if col < len(week.names_none_cuts) and not named else 0.0
    shift = margin - float(raw[row, col]) + cut
    if _is_learnt(week, col) and abs(shift) > 1e-6:
        why = "names a keyword" if named else "names no keyword"
        lines.append(f"{'':22}   evidence beyond the boundary: {shift:+.2f} ({why}; text, topics)")
    if _is_learnt(week, col) and cut > 0:
        share = calibrate.NAMES_NONE_SHARE
        times = "half" if share == 0.5 else f"{share:g} times"
        lines.append(
            f"{'':22}   names none of its keywords: held {cut:.2f} further out (in the margin"
            f" shown), as a topic keeps at most {times} as many such papers as papers naming"
            " one, over the store, the surest first"
        )
    titled = scores.titled is not None and bool(scores.titled[row, col])
    if _is_learnt(week, col) and titled and margin >= 0:
        lines.append(f"{'':22}   named in the title: listed with the paper's other topics")
    return lines


def _section_name(section: str) -> str:
    if section == "other":
        return "Other (no topic, no discovered theme)"
    return section if is_theme(section) else f"topic {section}"


def _boundary_words(week: WeekScores, col: int) -> str:
    topic = week.topics[col]
    if topic.min_similarity is not None:
        threshold = f"{topic.min_similarity:.2f}"
        return f"fixed: min_similarity {threshold} on cosine + keyword bonus (margin in 0.1s)"
    if _is_learnt(week, col):
        return "learnt from the store (margin in standard deviations of the topic's score)"
    return f"{describe_boundary(week, col)}; on cosine + keyword bonus (margin in 0.1s)"


def _is_learnt(week: WeekScores, col: int) -> bool:
    return col < len(week.learnt) and week.learnt[col]


def _example_pulls(
    settings: Settings, store: Store, embedder: Embedder, paper: Paper, topics: Sequence[Topic]
) -> dict[str, str]:
    """Per topic, the example the paper is closest to, when it is closer than the topic text."""
    now = datetime.now().astimezone()
    found = {}
    vector, _ = ensure_vectors(store, embedder, [paper], now=now)
    for topic in topics:
        items, _ = scoring.prototype_items(store, [topic])
        if len(items) < 2:
            continue
        vectors, _ = ensure_text_vectors(store, embedder, items, now=now)
        cosines = vectors @ vector[0]
        best = int(np.argmax(cosines))
        number = scoring.example_number(items[best][0])
        if number is not None:
            found[topic.slug] = f"{topic.examples[number]} (cosine {cosines[best]:.3f})"
    return found


def _what_would_change(
    paper: Paper,
    result: Any,
    topics: Sequence[Topic],
    margins: np.ndarray,
    digest: str = "digest",
) -> str:
    """One or two sentences: the nearest topic it could join, or how to take it out."""
    mark = f"{digest} mark {paper.paper_id} --topic"
    if result.primary is not None:
        return (
            f"→ to take it out of {result.primary}: `{mark} {result.primary} --not`"
            " (adds it to the topic's counter_examples)"
        )
    if not topics:
        return "→ no topics are configured"
    nearest = int(np.argmax(margins))
    return (
        f"→ nearest topic: {topics[nearest].slug}, {-float(margins[nearest]):.2f} outside its"
        f" boundary; `{mark} {topics[nearest].slug}` adds it to the topic's examples"
    )


def _names_paper(store: Store, reference: str, paper_id: str) -> bool:
    """Whether a listed example names the paper: its id in any form, a link, or its title."""
    return paper_id in (scoring.paper_ref_id(reference), scoring.stored_paper_id(store, reference))


def _lists(settings: Settings, store: Store, slug: str, key: str, paper_id: str) -> bool:
    """Whether topic `slug`'s `key` list (examples or counter_examples) names the paper."""
    topic = next((t for t in settings.topics if t.slug == slug), None)
    listed = getattr(topic, key, ()) if topic is not None else ()
    return any(_names_paper(store, str(reference), paper_id) for reference in listed)


@dataclass(frozen=True)
class MarkResult:
    """What `digest mark` did: the message, and the papers that move at the next build."""

    changed: bool
    message: str
    comparison: Comparison | None


def mark_paper(
    settings: Settings,
    store: Store,
    embedder: Embedder,
    reference: str,
    slug: str,
    *,
    counter: bool = False,
) -> MarkResult:
    """Add a stored paper to a topic's examples (or counter_examples) in the config file in use.

    The file keeps its comments and layout; the new file is validated before it replaces the
    old one (atomically), and the paper's week is scored under both to say what will move when
    that week is built again.
    """
    paper = find_paper(store, reference)
    path = settings.config_path
    if not path.is_file():  # round 23: a pipe (`--config <(…)`) was opened to lock: a hang
        raise ConfigError(
            f"`digest mark` edits the config file, and {path} is not a file (a pipe?): give"
            " the file itself with --config"
        )
    # Read, edit, check and replace under the file's lock: a second `mark` waits for this one.
    with locked_config(path) as original:
        try:
            text = original.decode("utf-8")  # as it is: line endings are kept
            found = path.stat()
            mode, owner = stat.S_IMODE(found.st_mode), (found.st_uid, found.st_gid)
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"cannot read config file {path}: {e}") from e
        updated = add_topic_paper(
            text,
            slug,
            paper.paper_id,
            comment=paper.title,
            counter=counter,
            same=lambda listed: _names_paper(store, listed, paper.paper_id),
        )
        key = "counter_examples" if counter else "examples"
        if updated == text:
            return MarkResult(False, f"{paper.paper_id} is already in {slug}'s {key}", None)
        # A file made read-only (or on a read-only mount) is not replaced behind its owner's back.
        if not mode & 0o222 or not os.access(path, os.W_OK):
            raise ConfigError(f"config file {path} is read-only: make it writable to mark papers")
        try:
            temporary = write_temporary(path, updated.encode("utf-8"), mode=mode, owner=owner)
            new_settings = load_settings(temporary).model_copy(update={"config_path": path})
            week, late = _placed(store, paper, settings.digest.timezone, _run_week(settings, store))
            comparison, unscored = None, _in_no_digest(paper, settings.digest.timezone)
            if unscored is None and late:
                unscored = f"{paper.paper_id} arrived too late for any digest"
            if unscored is None:
                before = score_week(settings, store, embedder, week=week)
                after = score_week(new_settings, store, embedder, week=week)
                comparison = compare_configs(before, after)
            replace_config(path, original)
        finally:
            with contextlib.suppress(OSError):  # on a read-only mount even this fails
                temporary_config(path).unlink(missing_ok=True)
    # The title whole, as a digest shows it (a real one is under 200 characters), or marked cut.
    title = shortened(paper.title, 200)
    message = f"added {paper.paper_id} ({title}) to {slug}'s {key} in {path}"
    if _lists(settings, store, slug, key, paper.paper_id):  # and the other list named it too
        other = "examples" if counter else "counter_examples"
        message = (
            f"took {paper.paper_id} ({title}) out of {slug}'s {other} in {path}: it was in its"
            f" {key} already, written another way (a paper in both counts as a counter-example)"
        )
    if unscored:
        message += f" ({unscored}, so no moves are predicted)"
    return MarkResult(True, message, comparison)
