"""Ingesting sources: one source, and the refresh of HF signals (the backfill: run/backfill.py).

Orchestration one tier below `run` (only `run` imports it): it sequences fetch → parse → keep →
filter → normalise → dedupe → store, so that a feed, an API backfill and a signal refresh all
store papers the same way. Per-source failures surface as FetchError/ParseError for the caller
to record; a failed backfill day is logged and retried on the next run, never recorded as done.

"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx

from pipeline.config import Settings, SourceSettings, web_address_hint
from pipeline.errors import FetchError, HTTPStatusError, ParseError, shortened
from pipeline.ingest import fetch, freshness, ids, normalize
from pipeline.ingest.clean import clean_doi, doi_from_link
from pipeline.ingest.sources import parse_source
from pipeline.ingest.sources.arxiv import arxiv_api_error
from pipeline.ingest.sources.hf import parse_hf_daily
from pipeline.models import Entry, Paper, SourceResult
from pipeline.store import MAX_DAYS_AHEAD, Store
from pipeline.store import day_ahead as store_day_ahead

logger = logging.getLogger(__name__)

_REPLACE_TYPES = ("replace", "replace-cross")
# Source kinds that speak for arXiv: its own feeds, and local files (the user's own import of
# arXiv metadata, like the demo corpus). They own an arXiv paper's version and announcement day;
# aggregators (rss, hf-daily) only add links, a DOI and signals.
_ARXIV_KINDS = frozenset({"arxiv-rss", "arxiv-api", "file"})


@dataclass(frozen=True)
class Stored:
    """What storing one batch of entries did."""

    n_entries: int = 0
    n_new: int = 0
    n_updated: int = 0
    n_skipped: int = 0
    n_filtered: int = 0
    n_invalid: int = 0
    n_held_back: int = 0
    paper_ids: tuple[str, ...] = ()


def make_pacer(settings: Settings) -> fetch.Pacer:
    """Politeness per host: arXiv's API, OAI-PMH and RSS hosts get [arxiv] politeness_s."""
    urls = [settings.arxiv.api_url, settings.arxiv.oai_url]
    urls += [settings.resolve_url(s) for s in settings.sources if s.kind == "arxiv-rss"]
    hosts = {urlsplit(u).hostname for u in urls if fetch.is_remote(u)}
    return fetch.Pacer({h: settings.arxiv.politeness_s for h in hosts if h})


def arxiv_categories(settings: Settings, source: SourceSettings) -> list[str]:
    """The categories an arxiv-rss source follows: configured, else read from its URL."""
    return list(source.categories) or freshness.categories_from_url(settings.resolve_url(source))


# --- one source -----------------------------------------------------------------------------


def ingest_source(
    settings: Settings,
    store: Store,
    client: httpx.Client,
    source: SourceSettings,
    *,
    now: datetime,
    pacer: fetch.Pacer | None = None,
) -> tuple[SourceResult, list[str]]:
    """Fetch, parse and store one source; FetchError/ParseError propagate to the caller."""
    url = settings.resolve_url(source)
    remote = fetch.is_remote(url)
    # The validators are the URL's: a second source of the same feed sent those the first had
    # just saved, got 304 Not Modified and stored nothing, run after run. Such a URL is read whole.
    shared = sum(settings.resolve_url(s) == url for s in settings.enabled_sources) > 1
    # Saved with what the source keeps of the feed: after an edit of its filters, validators
    # saved before had an unchanged feed answer 304 Not Modified, and the edit did nothing.
    keeps = keep_stamp(settings, source)
    cached = remote and not shared
    etag, last_modified = store.get_http_cache(url, keeps) if cached else (None, None)
    try:
        fetched = fetch.fetch_url(
            client,
            url,
            max_bytes=settings.fetch.max_bytes,
            retries=settings.fetch.retries,
            etag=etag,
            last_modified=last_modified,
            request_timeout_s=settings.fetch.request_timeout_s,
            deadline_s=settings.fetch.source_timeout_s,
            pacer=pacer,
        )
    except HTTPStatusError as e:
        said = arxiv_api_error(e.content) if source.kind == "arxiv-api" else None
        if said:  # "HTTP 400" alone: the query's fault is in the page the API sent with it
            raise FetchError(f"{e}: arXiv API error: {said}") from e
        raise
    except FetchError as e:
        # "rss.arxiv.org/rss/cs.LG" read as a missing file beside the config: say, as
        # check-config does, that a web address needs its scheme (a run cron starts is checked
        # by nobody first).
        hint = "" if remote or fetch.local_path(url).exists() else web_address_hint(source.url)
        if hint:
            raise FetchError(f"{e}{hint}") from e
        raise
    if fetched.not_modified or fetched.content is None:
        logger.info("source %s: not modified", source.name)
        return SourceResult(source.name), []
    # The feed's URL resolves its relative links when it declares no xml:base (issue 14): the
    # URL it was read from, after redirects (round 29: a feed moved to another host had its
    # "/articles/123" links made into the old host's, where no article is), and a relative
    # Content-Location of the server's read against that URL.
    if remote:
        read_from = fetched.location or url
        location = urljoin(read_from, fetched.headers.get("content-location", ""))
        headers = {**fetched.headers, "content-location": location}
    else:
        headers = fetched.headers
    try:
        entries = parse_source(source.kind, fetched.content, source.name, headers)
    except (ValueError, OverflowError, RecursionError) as e:
        # Parsers turn bad bytes into ParseError; this is the net under third-party parsing
        # (feedparser, json) so that one feed's data can fail only its own source.
        raise ParseError(f"{source.name}: unreadable feed ({type(e).__name__}: {e})") from e
    stored = store_entries(settings, store, source, entries, now=now)
    n_bad = entries.n_bad  # skipped by the parser: no title, a date that overflows, a huge number
    if remote:
        store.save_http_cache(url, fetched.etag, fetched.last_modified, now, filters=keeps)
    logger.info(
        "source %s: %d entries, %d new, %d updated, %d filtered out, %d held back",
        source.name,
        stored.n_entries,
        stored.n_new,
        stored.n_updated,
        stored.n_filtered,
        stored.n_held_back,
    )
    result = SourceResult(
        source.name,
        n_entries=stored.n_entries + n_bad,
        n_new=stored.n_new,
        n_updated=stored.n_updated,
        n_skipped=stored.n_skipped,
        n_filtered=stored.n_filtered,
        n_invalid=stored.n_invalid + n_bad,
        n_held_back=stored.n_held_back,
    )
    return result, list(stored.paper_ids)


def keep_stamp(settings: Settings, source: SourceSettings) -> str:
    """A stamp of what `store_entries` keeps of a source's entries: its kind, the announce
    types it keeps, and its include and exclude phrases with [filters]' (order and repeats
    aside). Saved beside the feed's validators, so a feed is asked unconditionally once after
    any of them is edited (round 28)."""
    keeps = {
        "kind": source.kind,
        "announce_types": sorted(set(source.announce_types)),
        "include": sorted({*settings.filters.include, *source.include}),
        "exclude": sorted({*settings.filters.exclude, *source.exclude}),
    }
    text = json.dumps(keeps, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def store_entries(
    settings: Settings,
    store: Store,
    source: SourceSettings,
    entries: Sequence[Entry],
    *,
    now: datetime,
    origin: str = "feed",
    record_days: bool = True,
) -> Stored:
    """Keep, filter, normalise, dedupe and store entries; record the days they cover."""
    complete, held = normalize.hold_back_incomplete(entries)
    for entry in held:
        _say(entry.notes)
        logger.warning(
            "source %s: held back an incomplete entry (no abstract, authors or date; the feed "
            "may be cut off): %r",
            source.name,
            entry.raw_id or entry.title,
        )
    wanted = [e for e in complete if _wanted(source, e.announce_type)]
    kept = _without_shared_guids(wanted, source, store)
    updates = [e for e in complete if _is_unwanted_replacement(source, e.announce_type)]
    cuts: dict[str, list[str]] = {}  # said once the store is asked which papers are new
    normalized = _by_title_where_links_are_shared(kept, _normalize_all(kept, source, cuts), source)
    papers, n_filtered = normalize.filter_papers(
        normalized,
        include=(*settings.filters.include, *source.include),
        exclude=(*settings.filters.exclude, *source.exclude),
    )
    filtered_by_day = Counter(p.announced for p in normalized) - Counter(
        p.announced for p in papers
    )
    # A replace announcement the source does not keep still refreshes a paper we already have
    # (new version, new abstract) but never adds one.
    refreshed = _normalize_all(updates, source, cuts)
    n_invalid = len(kept) - len(normalized) + len(updates) - len(refreshed)
    papers += [p for p in refreshed if store.get_paper(p.paper_id)]
    deduped = normalize.dedupe(papers)
    if len(deduped) < len(papers):
        logger.info(
            "source %s: %d entries merged into other entries of the same paper",
            source.name,
            len(papers) - len(deduped),
        )
    papers = [_match_existing(store, p) for p in deduped]
    _warn_cuts(store, cuts, deduped, papers, filtered={p.paper_id for p in normalized})
    _warn_joined_by_title(store, source, deduped, papers)
    _warn_dated_ahead(source, papers, now=now)
    keys = {p.paper_id: ids.normalize_title(p.title) for p in papers}
    upserted = store.upsert_papers(
        papers,
        source.name,
        now,
        merge=lambda stored, incoming: normalize.update_paper(
            stored, incoming, relisted=stored.sources == (source.name,)
        ),
        title_keys=keys,
    )
    if record_days:
        _record_days(store, source, entries, papers, filtered_by_day, now=now, origin=origin)
    return Stored(
        n_entries=len(entries),
        n_new=upserted.n_new,
        n_updated=upserted.n_updated,
        n_skipped=len(entries) - len(kept),
        n_filtered=n_filtered,
        n_invalid=n_invalid,
        n_held_back=len(held),
        paper_ids=tuple(p.paper_id for p in papers),
    )


def _warn_cuts(
    store: Store,
    cuts: Mapping[str, Sequence[str]],
    incoming: Sequence[Paper],
    matched: Sequence[Paper],
    *,
    filtered: set[str],
) -> None:
    """Warn of the fields normalisation cut and of what the parser left out (`cuts`, by the
    paper's id as normalised) for the papers new to the store only (rounds 25 and 26): a local
    file is read whole at every ingest, and each run warned again of the same title cut, date
    it could not read or paper listed twice, noise in a service's log forever. Not for a
    paper the filters dropped (of the `filtered` ones, those not `incoming`); a cut whose paper
    was re-keyed before (known by its title) is warned of as before."""
    new = {
        paper.paper_id: store.get_paper(match.paper_id) is None
        for paper, match in zip(incoming, matched, strict=True)
    }
    for paper_id, lines in cuts.items():
        if new.get(paper_id, paper_id not in filtered):
            _say(lines)


def _say(lines: Iterable[str]) -> None:
    for line in lines:
        logger.warning("%s", line)


def _warn_joined_by_title(
    store: Store, source: SourceSettings, incoming: Sequence[Paper], matched: Sequence[Paper]
) -> None:
    """Name the records without an id (a `title:` id) that join a stored paper of their title
    which this source does not list yet (another source's, or an earlier run's): the merge rules
    make them one more of its sources, and the user should know which paper took their record.
    A record already among the paper's sources (the same file read again) is not named again."""
    joined = []
    for paper, match in zip(incoming, matched, strict=True):
        if not paper.paper_id.startswith("title:"):
            continue
        stored = store.get_paper(match.paper_id)
        if stored is not None and source.name not in stored.sources:
            listed = ", ".join(stored.sources) or "no source"
            joined.append(
                f"{shortened(paper.title)!r} joined {stored.paper_id}"
                f" ({shortened(stored.title)!r}, listed by {listed})"
            )
    if not joined:
        return
    more = f" and {len(joined) - 5} more" if len(joined) > 5 else ""
    logger.warning(
        "source %s: %s without an id joined %s of the same title, as one more of its sources: %s%s",
        source.name,
        "a record" if len(joined) == 1 else f"{len(joined)} records",
        "a stored paper" if len(joined) == 1 else "stored papers",
        ", ".join(joined[:5]),
        more,
    )


def _warn_dated_ahead(source: SourceSettings, papers: Sequence[Paper], *, now: datetime) -> None:
    """Name the papers whose date lies too far ahead to place them: each goes in the week it
    was first stored instead (`store.effective_day`), and the user should know why."""
    ahead = [(p.paper_id, day) for p in papers if (day := store_day_ahead(p, now)) is not None]
    if not ahead:
        return
    shown = ", ".join(f"{paper_id} ({day.isoformat()})" for paper_id, day in ahead[:5])
    more = f" and {len(ahead) - 5} more" if len(ahead) > 5 else ""
    logger.warning(
        "source %s: %d %s dated more than %d days after today (%s); each is listed in the "
        "week it was first ingested instead: %s%s",
        source.name,
        len(ahead),
        "paper" if len(ahead) == 1 else "papers",
        MAX_DAYS_AHEAD,
        now.astimezone(UTC).date().isoformat(),
        shown,
        more,
    )


def _record_days(
    store: Store,
    source: SourceSettings,
    entries: Sequence[Entry],
    papers: Sequence[Paper],
    filtered_by_day: Counter[date | None],
    *,
    now: datetime,
    origin: str,
) -> None:
    """arXiv feeds: one row per announcement day in the feed; other sources: today's fetch."""
    if source.kind != "arxiv-rss":
        n_filtered = sum(filtered_by_day.values())
        store.save_source_day(
            source.name, now.date(), origin, now, n_entries=len(papers), n_filtered=n_filtered
        )
        return
    per_day = Counter(p.announced for p in papers if p.announced)
    for day in sorted({e.announced for e in entries if e.announced}):
        store.save_source_day(
            source.name,
            day,
            origin,
            now,
            n_entries=per_day.get(day, 0),
            n_filtered=filtered_by_day.get(day, 0),
        )


def _wanted(source: SourceSettings, announce_type: str | None) -> bool:
    """arXiv RSS items are kept by announce type ('new', 'cross', …) as configured per source."""
    if source.kind != "arxiv-rss" or announce_type is None:
        return True
    return announce_type in source.announce_types


def _is_unwanted_replacement(source: SourceSettings, announce_type: str | None) -> bool:
    return announce_type in _REPLACE_TYPES and not _wanted(source, announce_type)


def _normalize_all(
    entries: Iterable[Entry], source: SourceSettings, cuts: dict[str, list[str]]
) -> list[Paper]:
    """The entries' papers; what normalisation cut, and what the parser left out (the entries'
    `notes`), is added to `cuts` under each paper's id."""
    papers = []
    speaks_for_arxiv = source.kind in _ARXIV_KINDS
    for entry in entries:
        said = list(entry.notes)  # what the parser left out, said as a cut is
        try:
            paper = normalize.normalize_entry(entry, said)
        except ParseError as e:
            _say(said)
            logger.warning("source %s: skipped an entry: %s", source.name, e)
            continue
        if said:
            cuts.setdefault(paper.paper_id, []).extend(said)
        papers.append(normalize.limit_to_authority(paper, speaks_for_arxiv=speaks_for_arxiv))
    return papers


def _without_shared_guids(
    entries: list[Entry], source: SourceSettings, store: Store
) -> list[Entry]:
    """An `rss` feed's entries without their guid where one guid is given to items with
    different links (a broken CMS gives every item the feed's address or the issue's DOI):
    each is then known by its link (or its title, `_by_title_where_links_are_shared`). The
    guid names no one paper there, and as an id it made the items one paper, keeping the
    first one's text: the others were lost. One item posted again (one guid, one link) stays
    one paper. Across fetches too: an item whose guid, a link, names a stored paper of
    another link and title is another paper (a feed that lists one item at a time); the item
    that paper was stored from keeps its guid, so it stays that paper. A guid that is an arXiv
    id names its paper, whatever an aggregator's title and link say."""
    if source.kind != "rss":
        return entries
    sharing: dict[str, list[Entry]] = {}
    for entry in entries:
        if entry.raw_id:
            sharing.setdefault(entry.raw_id, []).append(entry)
    shared: dict[str, Paper | None] = {}
    for guid, listed in sorted(sharing.items()):
        named = _id_by_guid(listed[0])
        if named is None or named.startswith("arxiv:"):  # an arXiv id names one paper
            continue
        # A DOI guid is the paper's own across fetches (a new version's title and link).
        stored = store.get_paper(named) if named.startswith("url:") else None
        in_fetch = len({_link_key(e.link) for e in listed}) > 1 or (
            not any(e.link for e in listed)
            and len({ids.normalize_title(e.title) for e in listed}) > 1
        )
        others = [e for e in listed if not _same(e, stored)] if stored is not None else []
        if in_fetch:
            logger.warning(
                "source %s: %d items share the guid %r under different links or titles; each"
                " is kept as a paper of its own, known by its link (else its title)",
                source.name,
                len(listed),
                shortened(guid),
            )
        elif others and stored is not None:
            logger.warning(
                "source %s: the guid %r of %r names the stored paper %s (%r), of another link"
                " and title; the item is kept as a paper of its own, known by its link (else"
                " its title)",
                source.name,
                shortened(guid),
                shortened(others[0].title),
                stored.paper_id,
                shortened(stored.title),
            )
        else:
            continue
        shared[guid] = stored
    return [
        _without_guid(e) if e.raw_id in shared and not _same(e, shared[e.raw_id]) else e
        for e in entries
    ]


def _id_by_guid(entry: Entry) -> str | None:
    """The id the entry's guid gives it, where the guid (not its link or title) decides it."""
    try:
        by_guid, _ = ids.canonical_id(entry)
        otherwise, _ = ids.canonical_id(_without_guid(entry))
    except ParseError:
        return None  # skipped by normalisation, which says why
    return by_guid if by_guid != otherwise else None


def _same(entry: Entry, stored: Paper | None) -> bool:
    """Whether `entry` is the item `stored` was stored from: the same link, or title."""
    if stored is None:
        return False
    same_link = entry.link is not None and _link_key(entry.link) == _link_key(stored.url)
    return same_link or ids.normalize_title(entry.title) == ids.normalize_title(stored.title)


def _without_guid(entry: Entry) -> Entry:
    """`entry` without its raw id, and without the DOI its parser read from that id."""
    guid_doi = clean_doi(entry.raw_id)
    doi = None if guid_doi and clean_doi(entry.doi) == guid_doi else entry.doi
    return dataclasses.replace(entry, raw_id=None, doi=doi)


def _link_key(link: str | None) -> str | None:
    """A link as ids compare it (tracking parameters and case of host aside); a link whose path
    holds a DOI is that DOI, its version aside (bioRxiv's …123456v1 and …123456v2 pages)."""
    if not link:
        return None
    doi = doi_from_link(link)
    return f"doi:{_VERSION_TAIL.sub('', doi)}" if doi else ids.normalize_url(link)


_VERSION_TAIL = re.compile(r"v\d+$")


def _by_title_where_links_are_shared(
    entries: Sequence[Entry], papers: list[Paper], source: SourceSettings
) -> list[Paper]:
    """An `rss` feed's papers known by their title (`title:`, their link kept) where items of
    other titles share their link, unless one guid names them all (one item posted again): a
    journal feed that links every item to its issue page. The link names no one paper there,
    and as an id it made the items one paper, keeping the first one's text: the others were
    lost. (A file listing one id twice is one paper, named in a warning: `sources.files`.)"""
    if source.kind != "rss":
        return papers
    sharing: dict[str, list[Entry]] = {}
    for entry in entries:
        try:
            paper_id, _ = ids.canonical_id(entry)
        except ParseError:
            continue  # skipped by normalisation, which says why
        if paper_id.startswith("url:"):
            sharing.setdefault(paper_id, []).append(entry)
    shared = {
        paper_id
        for paper_id, listed in sharing.items()
        if len({ids.normalize_title(e.title) for e in listed}) > 1
        and not (listed[0].raw_id and all(e.raw_id == listed[0].raw_id for e in listed))
    }
    for paper_id in sorted(shared):
        logger.warning(
            "source %s: %d items share the link %s under different titles; each is kept as a"
            " paper of its own, known by its title",
            source.name,
            len(sharing[paper_id]),
            paper_id.removeprefix("url:"),
        )
    return [
        dataclasses.replace(p, paper_id=ids.title_id(p.title)) if p.paper_id in shared else p
        for p in papers
    ]


def _match_existing(store: Store, paper: Paper) -> Paper:
    """Give a paper the id it already has in the store when its DOI matches, or its title does
    and no identifier contradicts it (two items with different ids are never merged).

    When the paper's own id is the better one (an arXiv entry for a paper an aggregator stored
    under `url:`), the stored paper is re-keyed instead, so the id does not depend on the order
    in which sources arrive (issue 14).
    """
    if store.get_paper(paper.paper_id) is not None:
        return paper
    existing = None
    by_doi = store.find_paper_id_by_doi(paper.doi) if paper.doi else None
    key = ids.matchable_title(paper.title)
    by_title = _find_by_title_key(store, key) if key else None
    for candidate in dict.fromkeys(c for c in (by_doi, by_title) if c):
        stored = store.get_paper(candidate)
        if stored is None:
            continue
        if not normalize.is_contradicted(stored, paper):
            existing = stored.paper_id
            break
        logger.info(
            "%s and stored %s share a DOI or title but not an identifier: kept apart",
            paper.paper_id,
            candidate,
        )
    if not existing:
        return paper
    if ids.better_id(existing, paper.paper_id) == paper.paper_id:
        logger.info("stored paper %s is %s: re-keyed", existing, paper.paper_id)
        store.rekey_paper(existing, paper.paper_id)
        return paper
    return dataclasses.replace(paper, paper_id=existing)


def _find_by_title_key(store: Store, key: str) -> str | None:
    """The first stored paper whose title's key is `key`. A store written before a word kept its
    closing "+" or "#" holds "c x" as the key of "C++ x": a row found under `key` or under that
    older form is this paper only if its title has `key` now ("C x" is not "C++ x")."""
    legacy = ids.legacy_title_key(key)
    found = store.list_paper_ids_by_title_key(key)
    if legacy != key:
        found += store.list_paper_ids_by_title_key(legacy)
    for paper_id in found:
        stored = store.get_paper(paper_id)
        if stored is not None and ids.normalize_title(stored.title) == key:
            return paper_id
    return None


# --- backfill -------------------------------------------------------------------------------


def _get(settings: Settings, client: httpx.Client, url: str, pacer: fetch.Pacer | None) -> bytes:
    fetched = fetch.fetch_url(
        client,
        url,
        max_bytes=settings.fetch.max_bytes,
        retries=settings.fetch.retries,
        request_timeout_s=settings.fetch.request_timeout_s,
        deadline_s=settings.fetch.source_timeout_s,
        pacer=pacer,
    )
    return fetched.content or b""


# --- Hugging Face signals -------------------------------------------------------------------


def refresh_signals(
    settings: Settings,
    store: Store,
    client: httpx.Client,
    days: Sequence[date],
    *,
    now: datetime,
    pacer: fetch.Pacer | None = None,
) -> list[str]:
    """Re-read each hf-daily source's page for `days` so upvotes and stars are current.

    Returns one problem line per day that could not be refreshed; never raises for those.
    """
    problems = []
    for source in settings.enabled_sources:
        url = settings.resolve_url(source)
        if source.kind != "hf-daily" or not fetch.is_remote(url):
            continue
        for day in days:
            day_url = _with_date(url, day)
            down = pacer.unreachable(day_url) if pacer is not None else None
            if down:
                logger.warning("source %s: not refreshing signals, host unreachable", source.name)
                problems.append(f"{source.name}: signals not refreshed, host unreachable ({down})")
                break
            try:
                content = _get(settings, client, day_url, pacer)
                entries = parse_hf_daily(content, source.name)
            except (FetchError, ParseError) as e:
                logger.warning("source %s: cannot refresh signals for %s: %s", source.name, day, e)
                problems.append(f"{source.name} {day.isoformat()}: {e}")
                continue
            store_entries(settings, store, source, entries, now=now, record_days=False)
    return problems


def _with_date(url: str, day: date) -> str:
    """`…/api/daily_papers` -> `…/api/daily_papers?date=2025-06-11` (replacing any date)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "date"] + [("date", str(day))]
    return urlunsplit(parts._replace(query=urlencode(query)))
