"""Orchestration: the only module that imports the stages, and the only one writing under digests/.

ingest: for each source: fetch bytes → parse → normalise → dedupe → store (one transaction);
        a failing source is recorded and reported, never stops the others;
        then embed the papers this run touched that have no vector yet (once ever per content).
build:  pick the week → list its papers → make sure each has a vector → assign topics →
        cluster the rest into themes → build the digest → `outputs` writes Markdown, HTML, JSON,
        chart, index and feed atomically → e-mail it when email.send_after_build.
send:   e-mail an already built week (`outputs.send_digest`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import numpy as np

from pipeline.config import Settings
from pipeline.digest import build as digest
from pipeline.digest import coverage, outputs
from pipeline.embed import (
    ONNX_BACKENDS,
    Embedder,
    OnnxEmbedder,
    SentenceTransformerEmbedder,
    content_hash,
)
from pipeline.errors import FetchError, ParseError, PipelineError
from pipeline.ingest import fetch, freshness
from pipeline.models import Assignment, Paper, RunReport, SourceCount, SourceResult, Topic
from pipeline.run import ingest
from pipeline.store import SourceStatus, Store, WeekSection
from pipeline.topics import assign, cluster, labels

logger = logging.getLogger(__name__)

#: Vectors are computed and saved in chunks this size, so a killed run keeps what it finished.
EMBED_CHUNK = 256


class Progress:
    """A progress bar (tqdm on stderr) or nothing; `update(n)` after each chunk."""

    def __init__(self, total: int, label: str, *, enabled: bool) -> None:
        self._bar = None
        if enabled and total:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=label, unit="paper", mininterval=1.0)

    def update(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


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


def open_store(settings: Settings) -> Store:
    """The SQLite store under data_dir."""
    return Store.open(settings.database_path)


# --- ingest ---------------------------------------------------------------------------------


def run_ingest(
    settings: Settings,
    store: Store,
    embedder: Embedder,
    *,
    now: datetime,
    client: httpx.Client | None = None,
) -> RunReport:
    """Fetch every enabled source into the store, then embed what is new."""
    report = RunReport(command="ingest", started=now)
    touched: list[str] = []
    own_client = client is None
    http = client or _make_client(settings)
    pacer = ingest.make_pacer(settings)
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
    # Topic prototypes too (a no-op once cached), so the weekly build never loads the model.
    prototypes, _ = _prototype_items(store, settings.topics_as_models())
    ensure_text_vectors(store, embedder, prototypes, now=now)
    report.finished = now
    return report


def _make_client(settings: Settings) -> httpx.Client:
    # One connection at a time: arXiv's terms ask API clients for a single connection.
    return fetch.make_client(
        user_agent=settings.user_agent, timeout_s=settings.fetch.timeout_s, max_connections=1
    )


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
    touched: list[str] = []
    for filled in ingest.backfill_gaps(settings, store, client, now=now, pacer=pacer):
        for i, result in enumerate(report.sources):
            if result.name == filled.source:
                report.sources[i] = dataclasses.replace(
                    result, n_new=result.n_new + filled.n_new, backfilled=filled.describe()
                )
        report.n_new += filled.n_new
        touched += filled.paper_ids
    return touched


# --- embedding ------------------------------------------------------------------------------


def ensure_vectors(
    store: Store,
    embedder: Embedder,
    papers: Sequence[Paper],
    *,
    now: datetime,
    progress: bool = False,
) -> tuple[np.ndarray, int]:
    """Vectors for `papers` in order, embedding (and saving) only those without a current one."""
    keyed = [(p.paper_id, content_hash(p.text), p.text) for p in papers]
    return ensure_text_vectors(store, embedder, keyed, now=now, progress=progress)


def ensure_text_vectors(
    store: Store,
    embedder: Embedder,
    items: Sequence[tuple[str, str, str]],
    *,
    now: datetime,
    progress: bool = False,
) -> tuple[np.ndarray, int]:
    """(item_id, content_hash, text) → vectors in order; computes only the missing ones."""
    have = store.get_vectors(embedder.name, [(item_id, h) for item_id, h, _ in items])
    missing = [item for item in items if item[0] not in have]
    bar = Progress(len(missing), "embedding", enabled=progress)
    try:
        for start in range(0, len(missing), EMBED_CHUNK):
            chunk = missing[start : start + EMBED_CHUNK]
            vectors = embedder.embed([text for _, _, text in chunk], progress=bar.update)
            rows = [(i, h, v) for (i, h, _), v in zip(chunk, vectors, strict=True)]
            store.save_vectors(embedder.name, rows, now)
            have.update({i: v for i, _, v in rows})
    finally:
        bar.close()
    if not items:
        return np.zeros((0, 0), dtype=np.float32), 0
    return np.stack([have[item_id] for item_id, _, _ in items]), len(missing)


# --- build ----------------------------------------------------------------------------------


def resolve_week(choice: str, store: Store, *, now: datetime, timezone: str) -> str:
    """'last-complete' | 'latest' | 'YYYY-Www' → an ISO week."""
    if choice not in ("last-complete", "latest"):
        return choice
    if choice == "latest":
        span = store.get_date_range()
        if span is not None:
            return digest.iso_week(span[1])
    today = now.astimezone(ZoneInfo(timezone)).date()
    return digest.iso_week(today - timedelta(days=7))


def run_build(
    settings: Settings,
    store: Store,
    embedder: Embedder,
    *,
    now: datetime,
    week: str | None = None,
    client: httpx.Client | None = None,
) -> RunReport:
    """Build and write the digest for one week."""
    report = RunReport(command="build", started=now)
    report.week = resolve_week(
        week or settings.digest.week, store, now=now, timezone=settings.digest.timezone
    )
    start, end = digest.week_bounds(report.week)
    problems = _refresh_signals(settings, store, client, start, end, now=now)
    papers = store.list_papers_between(start, end)
    vectors, report.n_embedded = ensure_vectors(
        store, embedder, papers, now=now, progress=settings.embed.progress
    )
    topics = settings.topics_as_models()
    built = _decide(
        settings,
        store,
        embedder,
        papers,
        vectors,
        topics,
        now=now,
        week=report.week,
        refresh_problems=problems,
    )
    written = outputs.write_digest(settings, built, now=now)
    report.digest_path = str(written.markdown)
    report.output_paths = [str(p) for p in written.paths]
    report.n_papers_in_digest = len(papers)
    if settings.email.send_after_build:
        try:
            report.emailed_to = outputs.send_digest(settings, report.week)
        except PipelineError as e:  # the digest is written; say the e-mail failed, exit 1
            logger.warning("digest for %s written but not e-mailed: %s", report.week, e)
            report.error = f"e-mail not sent: {e}"
    report.finished = now
    return report


def run_send(settings: Settings, week: str) -> RunReport:
    """E-mail an already built digest (digests/<week>.md) to the configured recipients."""
    now = datetime.now(UTC)
    report = RunReport(command="send", started=now, week=week)
    report.emailed_to = outputs.send_digest(settings, week)
    report.finished = datetime.now(UTC)
    return report


def _decide(
    settings: Settings,
    store: Store,
    embedder: Embedder,
    papers: Sequence[Paper],
    vectors: np.ndarray,
    topics: Sequence[Topic],
    *,
    now: datetime,
    week: str,
    refresh_problems: Sequence[str] = (),
) -> digest.Digest:
    ids = [p.paper_id for p in papers]
    _, _, assignments = assign_papers(settings, store, embedder, papers, vectors, topics, now=now)
    rest = [i for i, a in enumerate(assignments) if a.primary is None]
    themes, _ = find_week_themes(settings, papers, vectors, rest)
    themes, history, centroids = _continue_themes(
        store, themes, assignments, papers, vectors, week=week, now=now
    )
    centroid_scores = _theme_scores(themes, ids, vectors, centroids)
    rows, notes = _coverage(settings, store, papers, week=week, now=now, problems=refresh_problems)
    return digest.build_digest(
        papers,
        assignments,
        themes,
        topics,
        week=week,
        title=settings.digest.title,
        theme_scores=centroid_scores,
        coverage=rows,
        notes=notes,
        history=history,
    )


#: Weeks of history shown in sparklines and searched for a recurring theme.
HISTORY_WEEKS = 4
#: Cosine between theme centroids above which this week's theme is last week's theme again.
SAME_THEME_SIMILARITY = 0.85
#: ...and its label must still describe this week's papers: at least this share of them (of up
#: to LABEL_CHECK_PAPERS) contain one of its phrases. Centroids of, say, every LLM-heavy cluster
#: are alike; without this a 47-paper LLM theme inherited a 6-paper RAG theme's label.
SAME_THEME_LABEL_SHARE = 0.25
LABEL_CHECK_PAPERS = 100


def _continue_themes(
    store: Store,
    themes: Sequence[cluster.Theme],
    assignments: Sequence[Assignment],
    papers: Sequence[Paper],
    vectors: np.ndarray,
    *,
    week: str,
    now: datetime,
) -> tuple[list[cluster.Theme], dict[str, tuple[int, ...]], dict[str, np.ndarray]]:
    """Give recurring themes their earlier id and label; remember this week.

    Returns the themes, the earlier weeks' counts per section key, and each theme's centroid.
    """
    monday, _ = digest.week_bounds(week)
    earlier_weeks = [
        digest.iso_week(monday - timedelta(weeks=n)) for n in range(HISTORY_WEEKS, 0, -1)
    ]
    earlier = store.list_week_sections(earlier_weeks)
    known = {s.key: s for s in earlier if s.kind == "theme" and s.centroid is not None}
    own = _theme_centroids(themes, [p.paper_id for p in papers], vectors)
    paper_of = {p.paper_id: p for p in papers}

    def label_fits(position: str, old_key: str) -> bool:
        """Close in embedding space is not enough: the earlier label must still fit."""
        members = themes[int(position)].paper_ids[:LABEL_CHECK_PAPERS]
        sample = [paper_of[pid].text for pid in members]
        return labels.describes(known[old_key].label.split(", "), sample) >= SAME_THEME_LABEL_SHARE

    # Matched by position, not id: ids are only unique among this week's themes.
    same = cluster.match_themes(
        {str(i): own[i] for i in range(len(themes))},
        {key: s.centroid for key, s in known.items() if s.centroid is not None},
        min_similarity=SAME_THEME_SIMILARITY,
        accept=label_fits,
    )
    claimed = set(same.values())
    kept: list[cluster.Theme] = []
    centroids: dict[str, np.ndarray] = {}
    for i, theme in enumerate(themes):
        old = known.get(same.get(str(i), ""))
        if old is not None:
            theme = dataclasses.replace(theme, theme_id=old.key, label=old.label)
        elif theme.theme_id in claimed or theme.theme_id in centroids:
            # Its label-derived id is an earlier theme's that another cluster continues.
            theme = dataclasses.replace(theme, theme_id=f"{theme.theme_id}-{week.lower()}")
        centroids[theme.theme_id] = own[i]
        kept.append(theme)
    counts: dict[tuple[str, str], int] = {(s.week, s.key): s.n_papers for s in earlier}
    keys = {a.primary for a in assignments if a.primary} | {t.theme_id for t in kept}
    history = {k: tuple(counts.get((w, k), 0) for w in earlier_weeks) for k in keys}
    if not earlier:
        history = {}  # the first digest has no trend to show
    store.save_week_sections(week, _week_rows(week, kept, assignments, centroids), now)
    return kept, history, centroids


def _theme_centroids(
    themes: Sequence[cluster.Theme], ids: Sequence[str], vectors: np.ndarray
) -> list[np.ndarray]:
    index = {pid: i for i, pid in enumerate(ids)}
    found = []
    for theme in themes:
        centroid = vectors[[index[pid] for pid in theme.paper_ids]].mean(axis=0)
        found.append(centroid / (np.linalg.norm(centroid) or 1.0))
    return found


def _week_rows(
    week: str,
    themes: Sequence[cluster.Theme],
    assignments: Sequence[Assignment],
    centroids: dict[str, np.ndarray],
) -> list[WeekSection]:
    topic_counts = Counter(a.primary for a in assignments if a.primary)
    rows = [
        WeekSection(week, slug, "topic", slug, (), n) for slug, n in sorted(topic_counts.items())
    ]
    for theme in themes:
        rows.append(
            WeekSection(
                week,
                theme.theme_id,
                "theme",
                theme.label,
                theme.terms,
                len(theme.paper_ids),
                theme.representative,
                centroids[theme.theme_id],
            )
        )
    return rows


def find_week_themes(
    settings: Settings, papers: Sequence[Paper], vectors: np.ndarray, rows: Sequence[int]
) -> tuple[list[cluster.Theme], list[str]]:
    """Cluster the papers at `rows` (those no topic took) into discovered themes."""
    rows = list(rows)
    taken = set(rows)
    texts = [p.text for p in papers]
    return cluster.find_themes(
        [papers[i].paper_id for i in rows],
        vectors[rows] if rows else np.zeros((0, 1), dtype=np.float32),
        [texts[i] for i in rows],
        seed=settings.themes.seed,
        min_theme_size=settings.themes.min_theme_size,
        max_themes=settings.themes.max_themes,
        background=[text for i, text in enumerate(texts) if i not in taken],
    )


def assign_papers(
    settings: Settings,
    store: Store,
    embedder: Embedder,
    papers: Sequence[Paper],
    vectors: np.ndarray,
    topics: Sequence[Topic],
    *,
    now: datetime,
) -> tuple[assign.TopicScores, dict[str, float], list[Assignment]]:
    """Score papers against topics and pick each one's primary topic, as every build does.

    Returns the scores, the per-topic thresholds used, and the assignments (in paper order).
    """
    scored = score_papers(settings, store, embedder, papers, vectors, topics, now=now)
    thresholds = topic_thresholds(settings, topics)
    assignments = assign.assign_topics(
        [p.paper_id for p in papers],
        [p.text for p in papers],
        scored.combined,
        topics,
        thresholds=thresholds,
        also_margin=settings.themes.also_margin,
    )
    return scored, thresholds, assignments


def score_papers(
    settings: Settings,
    store: Store,
    embedder: Embedder,
    papers: Sequence[Paper],
    vectors: np.ndarray,
    topics: Sequence[Topic],
    *,
    now: datetime,
) -> assign.TopicScores:
    """Each paper's evidence for each topic: best prototype cosine plus keyword hits."""
    prototypes, owners = _prototype_items(store, topics)
    proto_vectors, _ = ensure_text_vectors(store, embedder, prototypes, now=now)
    paper_vectors = vectors if len(papers) else np.zeros((0, 1), dtype=np.float32)
    semantic = assign.semantic_scores(paper_vectors, proto_vectors, owners, len(topics))
    return assign.combine_scores(
        semantic,
        [p.title for p in papers],
        [p.text for p in papers],
        topics,
        keyword_weight=settings.themes.keyword_weight,
    )


def _prototype_items(
    store: Store, topics: Sequence[Topic]
) -> tuple[list[tuple[str, str, str]], list[int]]:
    """(item_id, content_hash, text) of every topic prototype, and the topic index of each."""
    items: list[tuple[str, str, str]] = []
    owners: list[int] = []
    for index, topic in enumerate(topics):
        for key, text in topic_prototypes(store, topic):
            items.append((f"topic:{topic.slug}:{key}", content_hash(text), text))
            owners.append(index)
    return items, owners


def topic_prototypes(store: Store, topic: Topic) -> list[tuple[str, str]]:
    """(key, text) of what a topic is compared with: its own text, then each example paper.

    An example that is an arXiv id of a stored paper stands for that paper's title and abstract;
    any other example (a title, or an id not stored yet) is embedded as written.
    """
    found = [("text", assign.topic_text(topic))]
    for number, example in enumerate(topic.examples):
        paper = store.get_paper(_example_id(example))
        found.append((f"example{number}", paper.text if paper is not None else example))
    return found


def _example_id(example: str) -> str:
    text = example.strip()
    text = text.removeprefix("arxiv:").removeprefix("arXiv:")
    return f"arxiv:{text.split('v')[0]}" if text[:4].isdigit() and "." in text[:6] else text


def topic_thresholds(settings: Settings, topics: Sequence[Topic]) -> dict[str, float]:
    """Each topic's own min_similarity, else the [themes] default."""
    default = settings.themes.min_similarity
    return {t.slug: t.min_similarity if t.min_similarity is not None else default for t in topics}


def _theme_scores(
    themes: Sequence[cluster.Theme],
    ids: Sequence[str],
    vectors: np.ndarray,
    centroids: dict[str, np.ndarray],
) -> dict[str, float]:
    """Each themed paper's cosine to its theme's centroid: how typical it is of the theme."""
    index = {pid: i for i, pid in enumerate(ids)}
    scores: dict[str, float] = {}
    for theme in themes:
        rows = [index[pid] for pid in theme.paper_ids]
        centroid = centroids[theme.theme_id]
        for pid, score in zip(theme.paper_ids, vectors[rows] @ centroid, strict=True):
            scores[pid] = float(score)
    return scores


def _coverage(
    settings: Settings,
    store: Store,
    papers: Sequence[Paper],
    *,
    week: str,
    now: datetime,
    problems: Sequence[str] = (),
) -> tuple[list[SourceCount], list[str]]:
    """Coverage rows and notes: per-source counts, failures, gaps and backfills in the week."""
    start, end = digest.week_bounds(week)
    counts = Counter(source for p in papers for source in p.sources)
    status = {s.source: s for s in store.list_source_status()}
    days = store.list_source_days(start, end)
    windows = []
    for source in settings.enabled_sources:
        health = status.get(source.name)
        failing = health is not None and health.consecutive_failures > 0
        windows.append(
            coverage.SourceWindow(
                name=source.name,
                kind=source.kind,
                n_papers=counts.get(source.name, 0),
                days=tuple(
                    (d.day, d.origin, d.n_entries, d.n_filtered)
                    for d in days
                    if d.source == source.name
                ),
                last_error=health.last_error if failing and health else None,
                down_since=_down_since(health) if failing else None,
            )
        )
    last = min(end, freshness.latest_announcement_day(now))
    return coverage.describe_coverage(
        windows,
        week=week,
        expected_days=freshness.announcement_days(start, last),
        n_papers=len(papers),
        refresh_problems=problems,
    )


def _down_since(health: SourceStatus | None) -> datetime | None:
    """When a failing source last worked; None if it never has."""
    return health.last_success if health is not None else None


def _refresh_signals(
    settings: Settings,
    store: Store,
    client: httpx.Client | None,
    start: date,
    end: date,
    *,
    now: datetime,
) -> list[str]:
    """Re-fetch the week's Hugging Face pages so upvotes and stars are current at build time."""
    if not settings.digest.refresh_signals:
        return []
    if not any(s.kind == "hf-daily" for s in settings.enabled_sources):
        return []
    today = now.date()
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    days = [d for d in days if d <= today]
    http = client or _make_client(settings)
    try:
        return ingest.refresh_signals(
            settings, store, http, days, now=now, pacer=ingest.make_pacer(settings)
        )
    finally:
        if client is None:
            http.close()


# --- run ------------------------------------------------------------------------------------


def run_all(
    settings: Settings,
    store: Store,
    embedder: Embedder,
    *,
    now: datetime | None = None,
    week: str | None = None,
    client: httpx.Client | None = None,
) -> RunReport:
    """Ingest then build: what cron calls. The report merges both."""
    now = now or datetime.now(UTC)
    ingested = run_ingest(settings, store, embedder, now=now, client=client)
    built = run_build(settings, store, embedder, now=now, week=week, client=client)
    return dataclasses.replace(
        built,
        command="run",
        sources=ingested.sources,
        n_new=ingested.n_new,
        n_embedded=ingested.n_embedded + built.n_embedded,
    )


def report_dict(report: RunReport) -> dict[str, object]:
    """The report as JSON-ready data."""
    data = dataclasses.asdict(report)
    for key in ("started", "finished"):
        value = data[key]
        data[key] = value.isoformat() if isinstance(value, datetime | date) else value
    return data


def run_command(settings: Settings, command: str, *, week: str | None = None) -> RunReport:
    """Open the store, run `ingest`, `build` or `run`, and record the run in the store."""
    now = datetime.now(UTC)
    with open_store(settings) as store:
        run_id = store.start_run(command, now)
        embedder = make_embedder(settings)
        try:
            if command == "ingest":
                report = run_ingest(settings, store, embedder, now=now)
            elif command == "build":
                report = run_build(settings, store, embedder, now=now, week=week)
            else:
                report = run_all(settings, store, embedder, now=now, week=week)
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
        status = "failed" if report.all_sources_failed else "ok"
        store.finish_run(run_id, report.finished, status, report_dict(report))
    return report


def describe_report(report: RunReport) -> str:
    """A few human lines: what each source did, what was embedded, where the digest is."""
    lines = []
    for source in report.sources:
        if source.ok:
            lines.append(
                f"  {source.name}: {source.n_entries} entries, {source.n_new} new, "
                f"{source.n_updated} updated"
            )
            lines += [f"    backfilled {line}" for line in source.backfilled]
        else:
            lines.append(f"  {source.name}: FAILED: {source.error}")
    if report.command in ("ingest", "run"):
        head = f"{report.n_new} new papers" if report.n_new else "no new papers"
        lines.insert(0, f"ingest: {head} from {len(report.sources)} sources")
    lines.append(f"embedded {report.n_embedded} papers")
    if report.digest_path:
        lines.append(
            f"digest for {report.week} ({report.n_papers_in_digest} papers): {report.digest_path}"
        )
    extra = [p for p in report.output_paths if p != report.digest_path]
    if extra:
        lines.append("also wrote: " + ", ".join(Path(p).name for p in extra))
    if report.emailed_to:
        lines.append(f"e-mailed {report.week} to {', '.join(report.emailed_to)}")
    if report.error:
        lines.append(f"error: {report.error}")
    return "\n".join(lines)
