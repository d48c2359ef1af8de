"""Orchestration: the one place that sequences the stages (cli and service call it).

ingest: for each source: fetch bytes → parse → normalise → dedupe → store (one transaction);
        a failing source is recorded and reported, never stops the others;
        then embed the papers this run touched that have no vector yet (once ever per content).
build:  pick the week (`weeks`) → `load_week` (papers + vectors, embedding what is missing;
        a boundary an earlier digest drew stays in the zone it was drawn in; a week built
        after it ended lists what it listed, and the next week built takes the papers that
        arrived late for it: `week.week_papers`) →
        assign topics and cluster the rest (`scoring`; a rebuild with other topics starts
        from the week's last build, `topics.anchor`, and the build is kept for the next) →
        `topics.continuity` (saved as the week's sections) → build the digest →
        `digest.outputs`, the only writer of digests/, writes Markdown, HTML, JSON, chart,
        index and feed → record the week's boundaries →
        e-mail it when email.send_after_build.
send:   e-mail an already built week (`outputs.send_digest`); SIGTERM/SIGINT are held from a
        send to its record in the store (`signals.held`), so a stop never mails a week twice.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import shlex
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pipeline.config import Settings, digest_command
from pipeline.digest import build as digest
from pipeline.digest import outputs, summary
from pipeline.embed import ONNX_BACKENDS, Embedder, OnnxEmbedder, SentenceTransformerEmbedder
from pipeline.embed.cache import ensure_text_vectors, ensure_vectors
from pipeline.errors import (
    ConfigError,
    FetchError,
    ParseError,
    PipelineError,
    StoreError,
    UsageError,
)
from pipeline.models import (
    Assignment,
    CaughtUpWeek,
    Command,
    Digest,
    RunReport,
    SourceResult,
    Topic,
    Week,
)
from pipeline.run import derived, readings, signals
from pipeline.run.claims import (
    DIGESTS_OWNER,
    check_claims,
    claim_digests,
    claim_store,
    digest_files,
)
from pipeline.run.coverage import describe_week_coverage, make_client, refresh_week_signals
from pipeline.run.report import describe_report, report_dict
from pipeline.run.scoring import (
    area_vectors,
    assign_papers,
    contradicted_examples,
    find_week_themes,
    get_kept_builds,
    kept_names,
    make_anchor_key,
    prototype_items,
    save_kept_build,
    topic_relevance,
    unstored_examples,
)
from pipeline.run.week import choose_week, load_week, record_week_boundaries, week_zones
from pipeline.run.weeks import earlier_weeks, not_begun, week_end
from pipeline.store import Store, wal_path
from pipeline.topics import anchor, continuity

if TYPE_CHECKING:  # what only ingesting needs is imported there: a build loads no HTTP client
    import httpx

    from pipeline.ingest import fetch

__all__ = [
    "DIGESTS_OWNER",
    "RUNNABLE",
    "area_vectors",
    "assign_papers",
    "check_claims",
    "check_command",
    "choose_week",
    "claim_digests",
    "continue_week_themes",
    "describe_report",
    "digest_files",
    "ensure_vectors",
    "find_week_themes",
    "load_week",
    "make_embedder",
    "open_store",
    "report_dict",
    "run_all",
    "run_build",
    "run_command",
    "run_ingest",
    "run_send",
    "slug_changes",
    "week_not_begun",
]

logger = logging.getLogger(__name__)

#: Weeks of history shown in sparklines and searched for a recurring theme.
HISTORY_WEEKS = 4


def make_embedder(settings: Settings) -> Embedder:
    """The configured sentence-transformers model (loaded on first use)."""
    if settings.embed.backend in ONNX_BACKENDS:
        return OnnxEmbedder(
            settings.embed.model,
            cache_dir=settings.paths.data_dir / "models",
            quantize=ONNX_BACKENDS[settings.embed.backend],
            device=settings.embed.device,
            batch_size=settings.embed.batch_size,
            max_seq_length=settings.embed.max_seq_length,
        )
    return SentenceTransformerEmbedder(
        settings.embed.model,
        device=settings.embed.device,
        batch_size=settings.embed.batch_size,
        max_seq_length=settings.embed.max_seq_length,
    )


def open_store(
    settings: Settings,
    *,
    writing: bool = True,
    verify: bool = False,
    create: bool = True,
    as_found: bool = False,
) -> Store:
    """The SQLite store under data_dir; StoreError if it was emptied beside written digests.

    Not `writing` (status, catch-up planning): opened read-only, without the check that reads
    the whole file before a write (`Store.open_to_read`; issue 7 guards writes), unless
    `verify` (status): then read whole when the next writer would, so a store it would refuse
    is reported damaged; `as_found` (status): an older schema is read as it is, not migrated
    (`Store.open_to_read`). Not `create` (explain, topics, eval, mark: they write only caches),
    or not `writing`: when there is no store yet, an empty one in memory, so such a command on
    a fresh config says the store holds no papers and leaves no data folder behind (round 25:
    the catch-up plan of a `digest run` refused for another config's digests folder left an
    empty store).
    """
    path = settings.database_path
    if (not create or not writing) and not path.exists():
        return Store.open(":memory:")
    # SQLite takes a 0-byte file for a new database: a store truncated or replaced (a failed
    # copy, a restore) would start over silently, `status` reading "no runs yet, health ok",
    # without the e-mail records that keep a week from being mailed twice. (A reader leaves
    # an empty -wal file behind: it holds no transaction.)
    wal = wal_path(path)
    wal_empty = not wal.is_file() or wal.stat().st_size == 0
    emptied = path.is_file() and path.stat().st_size == 0 and wal_empty
    if emptied and digest_files(settings.paths.digests_dir):
        raise StoreError(
            f"database {path} is empty (0 bytes), but {settings.paths.digests_dir} holds "
            "digests: the file was truncated or replaced. Restore it from a backup; or delete "
            "it to start a new store (run history and the record of e-mails sent are lost)"
        )
    if writing:
        claim_digests(settings, write=False)  # before the store is created: nothing written
        store = Store.open(path)
        try:
            claim_store(store, settings)
        except BaseException:
            store.close()
            raise
        return store
    return Store.open_to_read(path, verify=verify, as_found=as_found)


# --- ingest ---------------------------------------------------------------------------------


def run_ingest(
    settings: Settings,
    store: Store,
    embedder: Embedder,
    *,
    now: datetime,
    client: httpx.Client | None = None,
    pacer: fetch.Pacer | None = None,
) -> RunReport:
    """Fetch every enabled source into the store, then embed (and read, for naming themes)
    what is new.

    `pacer` carries per-host state across one run's steps (a host found unreachable while
    ingesting is not asked again by the build's signal refresh).
    """
    from pipeline.run import ingest

    report = RunReport(command=Command.INGEST, started=now)
    touched: list[str] = []
    own_client = client is None
    http = client or make_client(settings)
    pacer = pacer or ingest.make_pacer(settings)
    try:
        for source in settings.enabled_sources:
            try:
                result, ids = ingest.ingest_source(
                    settings, store, http, source, now=now, pacer=pacer
                )
            except (FetchError, ParseError) as e:
                logger.warning("source %s failed: %s", source.name, e)
                result, ids = SourceResult(source.name, error=str(e)), []
            store.record_source_result(
                source.name, now, ok=result.ok, n_entries=result.n_entries, error=result.error
            )
            report.sources.append(result)
            report.n_new += result.n_new
            touched.extend(ids)
        touched += _backfill(settings, store, http, report, now=now, pacer=pacer)
    finally:
        if own_client:
            http.close()
    papers = store.list_papers(list(dict.fromkeys(touched)))
    _, report.n_embedded = ensure_vectors(
        store, embedder, papers, now=now, progress=settings.embed.progress
    )
    readings.ensure(store, papers)  # read for naming themes now, so the build does not
    # Topic prototypes too (a no-op once cached), so the weekly build never loads the model.
    prototypes, _ = prototype_items(store, settings.topics_as_models())
    ensure_text_vectors(store, embedder, prototypes, now=now)
    report.finished = now
    return report


def _backfill(
    settings: Settings,
    store: Store,
    client: httpx.Client,
    report: RunReport,
    *,
    now: datetime,
    pacer: fetch.Pacer,
) -> list[str]:
    """Backfill missed arXiv days; add what was filled to each source's result."""
    from pipeline.run import backfill

    touched: list[str] = []
    for filled in backfill.backfill_gaps(settings, store, client, now=now, pacer=pacer):
        for i, result in enumerate(report.sources):
            if result.name == filled.source:
                report.sources[i] = dataclasses.replace(
                    result, n_new=result.n_new + filled.n_new, backfilled=filled.describe()
                )
        report.n_new += filled.n_new
        touched += filled.paper_ids
    return touched


# --- build ----------------------------------------------------------------------------------


@contextmanager
def _no_collections() -> Iterator[None]:
    """A block in which the cyclic garbage collector does not run. Naming a 10k week makes
    some hundred thousand sets, lists and dicts that live to the end of the build, and every
    collection went over them: at Python's 700 allocations 380 collections per build, 0.85 s
    of a build on the shared 2-core machine; 0.33-0.57 s of process CPU at the 10,000 of
    round 19 (timed by gc.callbacks), and none without (benchmarks/README.md, rounds 19 and
    20). What a build leaves in cycles (about 130,000 objects on the real 10k week, mostly
    the week's papers, entries and assignments, which the build holds to its end anyway) is
    collected after it, by the collector's next run (a process's peak RSS over one warm build
    was unchanged; over four in a row, whose cycles can wait for the next, 2 % higher).
    The collector is switched back on however the block ends; one switched off before stays
    off. Builds run one at a time (the scheduler has one worker), so no other build can
    switch it on early."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@_no_collections()
def run_build(
    settings: Settings,
    store: Store,
    embedder: Embedder,
    *,
    now: datetime,
    week: str | None = None,
    client: httpx.Client | None = None,
    pacer: fetch.Pacer | None = None,
) -> RunReport:
    """Build and write the digest for one week."""
    report = RunReport(command=Command.BUILD, started=now)
    report.week = choose_week(
        week or settings.digest.week, store, now=now, timezone=settings.digest.timezone
    )
    start, end = digest.week_bounds(report.week)
    problems = refresh_week_signals(settings, store, client, start, end, now=now, pacer=pacer)
    loaded, report.n_embedded = load_week(
        store,
        embedder,
        report.week,
        now=now,
        progress=settings.embed.progress,
        timezone=settings.digest.timezone,
    )
    if not loaded.papers:  # a future, pre-data or failed week: publishing it announces nothing
        _, why = describe_week_coverage(
            settings, store, (), week=report.week, now=now, problems=problems
        )
        report.not_done += [*why, f"no papers for {report.week}: no digest written or sent"]
        report.finished = now
        return report
    memo = derived.Memo(settings.paths.data_dir / derived.FILE)
    # Theme naming takes the papers' readings the store kept (run/readings.py).
    with readings.kept(store, loaded.papers):
        built = _decide(
            settings, store, embedder, loaded, now=now, refresh_problems=problems, memo=memo
        )
    earlier = _topic_history(store, report.week, settings.outputs.chart_weeks)
    for warning in slug_changes(settings, store, report.week):
        logger.warning("%s", warning)
    claim_digests(settings)
    # index.md and feed.xml list the weeks whose digest has no sidecar from what the store
    # kept of them (round 25); only those are read, as a year of sidecars' summaries is large.
    folder = settings.paths.digests_dir
    bare = [p.stem for p in digest_files(folder) if not (folder / f"{p.stem}.json").exists()]
    archive = store.list_week_records(bare)
    previous = store.list_week_records([report.week]).get(report.week)
    written = outputs.write_digest(
        settings, built, now=now, earlier=earlier, archive=archive, previous=previous
    )
    memo.save()
    store.save_week_record(report.week, archive[report.week])
    # The next week starts where this digest ended, whatever [digest] timezone says by then.
    record_week_boundaries(store, report.week, settings.digest.timezone)
    store.save_listed(report.week, [p.paper_id for p in loaded.papers], built=now)
    report.digest_path = str(written.markdown)
    report.output_paths = [str(p) for p in written.paths]
    report.n_papers_in_digest = len(loaded.papers)
    if settings.email.send_after_build:
        try:
            _send_once(settings, store, report, now=now, written=written)
        except PipelineError as e:  # the digest is written; say the e-mail failed, exit 1
            logger.warning("digest for %s written but not e-mailed: %s", report.week, e)
            report.error = f"e-mail not sent: {e}"
    report.finished = now
    return report


def _topic_history(store: Store, week: str, n_weeks: int) -> dict[str, dict[str, int]]:
    """Papers per topic in each of the latest `n_weeks` - 1 built weeks before `week`."""
    history: dict[str, dict[str, int]] = {}
    for section in store.list_sections_before(week, n_weeks - 1):
        counts = history.setdefault(section.week, {})
        if section.kind == "topic":
            counts[section.key] = section.n_papers
    return history


#: How many built weeks back `slug_changes` looks for a configured topic's slug.
_SLUG_WEEKS = 8


def slug_changes(settings: Settings, store: Store, week: str = "9999-W99") -> list[str]:
    """What a topic's slug renamed since the last digest before `week` does, said plainly (round
    24): the slug ties a topic's weeks together, so a renamed one's trend starts again ("new")
    and its chart line restarts. Said when a topic of that digest is no longer configured while
    a configured one is in none of the _SLUG_WEEKS digests before `week`."""
    sections = [s for s in store.list_sections_before(week, _SLUG_WEEKS) if s.kind == "topic"]
    if not sections:
        return []
    last = max(s.week for s in sections)
    configured = [t.slug for t in settings.topics]
    gone = sorted({s.key for s in sections if s.week == last} - set(configured))
    seen = {s.key for s in sections}
    new = [slug for slug in configured if slug not in seen]
    if not gone or not new:
        return []
    olds, news = ", ".join(map(repr, gone)), ", ".join(map(repr, new))
    return [
        f"topics: {olds}, in {last}'s digest, {_is(gone)} no longer configured, and {news}"
        f" {_is(new)} in no digest before it: if a topic's slug was renamed, its trend starts"
        " again (shown as new) and its chart line over, as the slug ties its weeks together;"
        " give it its old slug back to keep them (its name can change freely)"
    ]


def _is(items: Sequence[str]) -> str:
    return "is" if len(items) == 1 else "are"


def _send_once(
    settings: Settings,
    store: Store,
    report: RunReport,
    *,
    now: datetime,
    force: bool = False,
    written: outputs.Written | None = None,
    to_missing: bool = False,
) -> None:
    """E-mail report.week (what a build just `written`, else the files on disk) unless the store
    says it was e-mailed already; `force` sends anyway. `to_missing` (`digest send`): a week
    e-mailed already goes to the configured recipients its record lacks (added since, or
    refused then), and only to them. SIGTERM/SIGINT are held from the send to its record
    (`signals.held`): a stop acts after the delivery is recorded, never between.

    A week e-mailed before it ended (a `digest build --week` of the week under way, with
    send_after_build) is e-mailed again, whole, once it has ended (round 26: the partial
    digest was all its readers ever got, every later build saying "was e-mailed"). A recipient
    the server refused for now (4xx) is kept (`store.save_deferred`), and each later build of
    the week mails it to them alone (round 28: greylisted, they never got it)."""
    week = report.week or ""
    sent = store.get_delivery(week)
    if sent is not None and sent < _week_end(store, settings, week) <= now:
        sent = None  # that delivery was of part of the week: the whole week goes to everyone
        logger.info("%s was e-mailed before it ended; e-mailing the whole week now", week)
    delivered = store.list_delivered_to(week) if sent is not None else []
    missing = _not_delivered(settings.email.recipients, delivered) if to_missing else []
    # Round 28: a recipient the server refused for now (greylisted) was never mailed by a later
    # run, the week being recorded as e-mailed; each build of the week tries them again.
    deferred = store.get_deferred(week) if sent is not None and not to_missing else []
    if deferred:
        pending = {address.casefold() for address in deferred}
        missing = [
            address
            for address in _not_delivered(settings.email.recipients, delivered)
            if address.casefold() in pending
        ]
        if not missing:  # mailed since, or no longer a recipient
            store.save_deferred(week, [])
    if sent is not None and not force and not missing:
        report.not_done.append(
            f"{week} was e-mailed on {sent:%Y-%m-%d %H:%M} UTC; not sent again "
            f"(digest send --week {week} --force resends it)"
        )
        return
    recipients = missing if sent is not None and not force else None
    # Round 23: a SIGTERM after the server took the message, before the record, made the next
    # run mail the week again. Held from the send to the record, a stop acts after both.
    with signals.held():
        if written is not None:
            delivery = outputs.send_written(settings, week, written, recipients=recipients)
        else:
            delivery = outputs.send_digest(settings, week, recipients=recipients)
        # Round 14: a recipient the server refused was still reported and recorded as mailed.
        report.emailed_to = list(delivery.sent_to)
        # A 4xx reply refuses for now (greylisting, a full mailbox): tried at the next build.
        for_now = [a for a, reply in delivery.refused.items() if reply.startswith("4")]
        report.not_done += [
            f"SMTP server refused {address} ({reply}): {week} was not e-mailed to it"
            + ("; the next build of the week tries it again" if address in for_now else "")
            for address, reply in delivery.refused.items()
        ]
        kept = delivered if recipients is not None else []
        store.save_delivery(week, now, [*kept, *_not_delivered(report.emailed_to, kept)])
        store.save_deferred(week, for_now)


def _week_end(store: Store, settings: Settings, week: str) -> datetime:
    """When `week` ends, where its digest draws that boundary (`week_zones`)."""
    _, zone = week_zones(store, week, settings.digest.timezone)
    return week_end(week, zone)


def _not_delivered(recipients: Sequence[str], delivered: Sequence[str]) -> list[str]:
    """The `recipients` not among `delivered` (addresses compared case aside)."""
    done = {address.casefold() for address in delivered}
    return [address for address in recipients if address.casefold() not in done]


def run_send(settings: Settings, week: str, *, force: bool = False) -> RunReport:
    """E-mail an already built digest (digests/<week>.md) to the configured recipients, once:
    a week already e-mailed goes only to the recipients its record lacks (added since, or
    refused then), and to everyone again only with `force`."""
    now = datetime.now(UTC)
    report = RunReport(command=Command.SEND, started=now, week=week)
    with open_store(settings) as store:
        if _built_empty(settings, store, week):  # round 24: it said "build that week first"
            report.not_done.append(
                f"no papers for {week}: its build wrote no digest, so there is none to e-mail"
            )
        else:
            _send_once(settings, store, report, now=now, force=force, to_missing=True)
    report.finished = datetime.now(UTC)
    return report


def _built_empty(settings: Settings, store: Store, week: str) -> bool:
    """Whether `week`'s latest build ran and found no papers (so wrote no digest to send)."""
    markdown = settings.paths.digests_dir / f"{week}.md"
    return (
        not markdown.exists()
        and store.list_week_outcomes().get(week) == "ok"
        and not store.list_paper_ids_listed_in(week)
    )


def continue_week_themes(
    settings: Settings,
    store: Store,
    embedder: Embedder,
    week: Week,
    assignments: Sequence[Assignment],
    *,
    now: datetime,
    keep: bool = False,
) -> continuity.Continuity:
    """The week's discovered themes continued from the stored earlier weeks (ids, labels, history).

    Anchored in the week's last builds (`find_week_themes`' `last`). Reads only unless `keep`:
    `digest build` keeps this build as the week's newest (and saves the sections it returns);
    `digest topics --compare` shows it, so both group and name a theme the same way.
    """
    rest = [i for i, a in enumerate(assignments) if a.primary is None]
    areas = area_vectors(settings, store, embedder, now=now)
    key = make_anchor_key(settings, week, areas)
    last = get_kept_builds(store, week, key)
    themes, _ = find_week_themes(settings, week, rest, areas=areas, last=last)
    if keep:
        untaken = [week.papers[i].paper_id for i in rest]
        built = anchor.placed([p.paper_id for p in week.papers], untaken, themes)
        save_kept_build(store, week, key, built, last)
    before = earlier_weeks(week.week, HISTORY_WEEKS)
    return continuity.continue_themes(
        themes,
        store.list_week_sections(before),
        week=week,
        assignments=assignments,
        earlier_weeks=before,
        area_names=kept_names(settings, areas),
    )


def _decide(
    settings: Settings,
    store: Store,
    embedder: Embedder,
    week: Week,
    *,
    now: datetime,
    refresh_problems: Sequence[str] = (),
    memo: derived.Memo | None = None,
) -> Digest:
    """Assign, cluster, continue themes (saving the week's sections) and build the digest;
    the per-paper values `memo` holds are not computed again."""
    memo = memo or derived.Memo(None)
    topics: Sequence[Topic] = settings.topics_as_models()
    for topic in topics:
        for example in unstored_examples(store, topic):
            logger.warning(
                "topic %s: example %r names no stored paper; it is left out until the paper"
                " is ingested",
                topic.slug,
                example,
            )
        for example in contradicted_examples(store, topic):
            logger.warning(
                "topic %s: example %r names a paper its counter_examples name too; it counts"
                " as a counter-example only (`%s mark %s --topic %s` keeps it an example"
                " only, with --not a counter-example only)",
                topic.slug,
                example,
                digest_command(settings.config_path),
                shlex.quote(example),
                topic.slug,
            )
    papers = list(week.papers)
    scored, _, assignments = assign_papers(
        settings, store, embedder, papers, week.vectors, topics, now=now, memo=memo
    )
    continued = continue_week_themes(
        settings, store, embedder, week, assignments, now=now, keep=True
    )
    store.save_week_sections(week.week, continued.sections, now)
    rows, notes = describe_week_coverage(
        settings, store, papers, week=week.week, now=now, problems=refresh_problems
    )
    return digest.build_digest(
        papers,
        assignments,
        continued.themes,
        topics,
        week=week.week,
        title=settings.digest.title,
        theme_scores=continuity.theme_scores(continued.themes, week, continued.centroids),
        topic_relevance=topic_relevance(scored, assignments, topics),
        coverage=rows,
        notes=notes,
        history=continued.history,
        n_highlights=settings.digest.highlights,
        themes_shown=settings.digest.themes,
        max_themes=settings.themes.max_themes,
        remember=memo.remembering(derived.code_version(_READABLE_CODE, ["pylatexenc"])),
    )


#: The modules `digest.build.readable` runs (summaries, titles' LaTeX).
_READABLE_CODE = (digest, summary)


# --- run ------------------------------------------------------------------------------------


def run_all(
    settings: Settings,
    store: Store,
    embedder: Embedder,
    *,
    now: datetime | None = None,
    week: str | None = None,
    client: httpx.Client | None = None,
    earlier: Sequence[str] | Callable[[Store], Sequence[str]] = (),
) -> RunReport:
    """Ingest then build: what cron calls. The report merges both. `earlier`: weeks missed
    while the machine was down (service.runner decides, from the store as the ingest left it:
    with "latest" the ingest moves the week on), built oldest first after the ingest and
    before this run's week, each e-mailed once as a build would."""
    from pipeline.run import ingest

    now = now or datetime.now(UTC)
    pacer = ingest.make_pacer(settings)  # one per run: a host that failed is not asked again
    ingested = run_ingest(settings, store, embedder, now=now, client=client, pacer=pacer)
    if ingested.all_sources_failed:  # nothing real to publish: no digest, index, feed or e-mail
        ingested.command = Command.RUN
        ingested.not_done.append("every source failed: no digest built or e-mailed")
        return ingested
    caught_up, n_embedded = [], ingested.n_embedded
    for missed in earlier(store) if callable(earlier) else earlier:
        done = run_build(
            settings, store, embedder, now=now, week=missed, client=client, pacer=pacer
        )
        n_embedded += done.n_embedded
        caught_up.append(
            CaughtUpWeek(
                week=missed,
                digest_path=done.digest_path,
                n_papers=done.n_papers_in_digest,
                emailed_to=done.emailed_to,
                error=done.error,
                not_done=done.not_done,
            )
        )
    built = run_build(settings, store, embedder, now=now, week=week, client=client, pacer=pacer)
    failed = [f"{c.week}: {c.error}" for c in caught_up if c.error]
    return dataclasses.replace(
        built,
        command=Command.RUN,
        sources=ingested.sources,
        n_new=ingested.n_new,
        n_embedded=n_embedded + built.n_embedded,
        caught_up=caught_up,
        error="; ".join([*failed, *([built.error] if built.error else [])]) or None,
    )


RUNNABLE = (Command.INGEST, Command.BUILD, Command.RUN)


def week_not_begun(
    settings: Settings, week: str | None, *, now: datetime, store: Store | None = None
) -> str | None:
    """Why the week a build would make cannot be built at `now`: `week` (a --week), else a
    fixed [digest] week, that has not begun (`weeks.not_begun`, in the zone the store's
    recorded boundaries draw its start in, else [digest] timezone); the config's is named as
    `digest.week` (round 28: a build of it read "the sources listed nothing in this window"
    and exited 0). None when it has begun, and for "last-complete" and "latest"."""
    chosen = week or settings.digest.week
    if chosen in ("last-complete", "latest"):
        return None
    zone = settings.digest.timezone
    first = week_zones(store, chosen, zone)[0] if store is not None else zone
    problem = not_begun(chosen, first, now=now)
    if problem is None or week is not None:
        return problem
    return f'digest.week: {problem}; "last-complete" builds the week that ended last'


def check_command(command: str) -> Command:
    """`command` as one of RUNNABLE; UsageError names anything else (never a silent `run`)."""
    expected = ", ".join(RUNNABLE)
    if command not in Command.__members__.values():
        raise UsageError(f"unknown command '{command}' (expected one of: {expected})")
    if command not in RUNNABLE:
        raise UsageError(f"command '{command}' does not run under the run lock ({expected} do)")
    return Command(command)


def run_command(
    settings: Settings,
    command: Command,
    *,
    week: str | None = None,
    earlier: Sequence[str] | Callable[[Store], Sequence[str]] = (),
    now: datetime | None = None,
) -> RunReport:
    """Open the store, run `ingest`, `build` or `run` (with the `earlier` weeks it missed:
    `run_all`), and record the run in the store. `now`: the clock, for tests.

    A `week` that has not begun (its Monday 00:00 where its digest would draw it is later than
    `now`) is a UsageError naming its start, before anything is ingested or recorded: its
    build could only say the sources listed nothing. So is a fixed [digest] week that has not
    begun, said as check-config says it (`week_not_begun`). The week under way builds as any
    other.
    """
    command = check_command(command)
    now = now or datetime.now(UTC)
    with open_store(settings) as store:
        if command is not Command.INGEST:
            problem = week_not_begun(settings, week, store=store, now=now)
            if problem and week is None:  # the config's: as a config problem (exit 2 too)
                path = settings.config_path
                raise UsageError(str(ConfigError(f"{path} has 1 problem:", problems=(problem,))))
            if problem:
                raise UsageError(problem)
        run_id = store.start_run(command, now)
        embedder = make_embedder(settings)
        try:
            if command is Command.INGEST:
                report = run_ingest(settings, store, embedder, now=now)
            elif command is Command.BUILD:
                report = run_build(settings, store, embedder, now=now, week=week)
            else:  # Command.RUN: check_command let nothing else through
                report = run_all(settings, store, embedder, now=now, week=week, earlier=earlier)
        except PipelineError as e:
            store.finish_run(run_id, datetime.now(UTC), "failed", {"error": str(e)})
            raise
        except BaseException as e:
            # A bug (recorded, then the traceback propagates) or a stop (SIGINT/SIGTERM raise
            # KeyboardInterrupt): the store's transactions have rolled back; say how it ended.
            stopped = isinstance(e, KeyboardInterrupt)
            error = "stopped by a signal" if stopped else f"{type(e).__name__}: {e}"
            status = "interrupted" if stopped else "failed"
            store.finish_run(run_id, datetime.now(UTC), status, {"error": error})
            raise
        report.finished = datetime.now(UTC)
        # Whatever the CLI exits 1 for is a failed run here too (an e-mail that was not sent).
        status = "failed" if report.error or report.all_sources_failed else "ok"
        store.finish_run(run_id, report.finished, status, report_dict(report))
        store.prune_runs(now)  # what status and catch-up read stays (round 29)
    return report
