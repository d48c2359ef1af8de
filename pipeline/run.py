"""Orchestration: the only module that imports the stages, and the only one writing under digests/.

ingest: for each source: fetch bytes → parse → normalise → dedupe → store (one transaction);
        a failing source is recorded and reported, never stops the others;
        then embed the papers this run touched that have no vector yet (once ever per content).
build:  pick the week → list its papers → make sure each has a vector → assign topics →
        cluster the rest into themes → build the digest → render Markdown → write atomically.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import numpy as np

from pipeline import assign, cluster, digest, fetch, normalize, render
from pipeline.config import Settings, SourceSettings
from pipeline.embed import (
    ONNX_BACKENDS,
    Embedder,
    OnnxEmbedder,
    SentenceTransformerEmbedder,
    content_hash,
)
from pipeline.errors import FetchError, ParseError, PipelineError
from pipeline.models import Paper, RunReport, SourceCount, SourceResult, Topic
from pipeline.sources import parse_source
from pipeline.store import Store

logger = logging.getLogger(__name__)

#: Vectors are computed and saved in chunks this size, so a killed run keeps what it finished.
EMBED_CHUNK = 256

ProgressFactory = Callable[[int, str], "Progress"]


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
    http = client or fetch.make_client(
        user_agent=settings.user_agent, timeout_s=settings.fetch.timeout_s
    )
    try:
        for source in settings.enabled_sources:
            try:
                result, ids = _ingest_source(settings, store, http, source, now=now)
            except (FetchError, ParseError) as e:
                logger.warning("source %s failed: %s", source.name, e)
                result, ids = SourceResult(source.name, error=str(e)), []
            store.record_source_result(
                source.name, now, ok=result.ok, n_entries=result.n_entries, error=result.error
            )
            report.sources.append(result)
            report.n_new += result.n_new
            touched.extend(ids)
    finally:
        if own_client:
            http.close()
    papers = store.list_papers(list(dict.fromkeys(touched)))
    _, report.n_embedded = ensure_vectors(
        store, embedder, papers, now=now, progress=settings.embed.progress
    )
    report.finished = now
    return report


def _ingest_source(
    settings: Settings, store: Store, client: httpx.Client, source: SourceSettings, *, now: datetime
) -> tuple[SourceResult, list[str]]:
    url = settings.resolve_url(source)
    remote = fetch.is_remote(url)
    etag, last_modified = store.get_http_cache(url) if remote else (None, None)
    fetched = fetch.fetch_url(
        client,
        url,
        max_bytes=settings.fetch.max_bytes,
        retries=settings.fetch.retries,
        etag=etag,
        last_modified=last_modified,
    )
    if fetched.not_modified or fetched.content is None:
        logger.info("source %s: not modified", source.name)
        return SourceResult(source.name), []
    entries = parse_source(source.kind, fetched.content, source.name, fetched.headers)
    kept = [e for e in entries if _wanted(source, e.announce_type)]
    papers = normalize.dedupe(_normalize_all(kept, source.name))
    papers = [_match_existing(store, p) for p in papers]
    keys = {p.paper_id: normalize.normalize_title(p.title) for p in papers}
    upserted = store.upsert_papers(papers, source.name, now, title_keys=keys)
    if remote:
        store.save_http_cache(url, fetched.etag, fetched.last_modified, now)
    logger.info(
        "source %s: %d entries, %d new, %d updated",
        source.name,
        len(entries),
        upserted.n_new,
        upserted.n_updated,
    )
    result = SourceResult(
        source.name,
        n_entries=len(entries),
        n_new=upserted.n_new,
        n_updated=upserted.n_updated,
        n_skipped=len(entries) - len(kept),
    )
    return result, [p.paper_id for p in papers]


def _wanted(source: SourceSettings, announce_type: str | None) -> bool:
    """arXiv RSS items are kept by announce type ('new', 'cross', …) as configured per source."""
    if source.kind != "arxiv-rss" or announce_type is None:
        return True
    return announce_type in source.announce_types


def _normalize_all(entries: Iterable[object], source: str) -> list[Paper]:
    papers = []
    for entry in entries:
        try:
            papers.append(normalize.normalize_entry(entry))  # type: ignore[arg-type]
        except ParseError as e:
            logger.warning("source %s: skipped an entry: %s", source, e)
    return papers


def _match_existing(store: Store, paper: Paper) -> Paper:
    """Give a paper the id it already has in the store when its DOI or title matches."""
    if store.get_paper(paper.paper_id) is not None:
        return paper
    existing = (paper.doi and store.find_paper_id_by_doi(paper.doi)) or (
        store.find_paper_id_by_title_key(normalize.normalize_title(paper.title))
    )
    return dataclasses.replace(paper, paper_id=existing) if existing else paper


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
            vectors = embedder.embed([text for _, _, text in chunk])
            rows = [(i, h, v) for (i, h, _), v in zip(chunk, vectors, strict=True)]
            store.save_vectors(embedder.name, rows, now)
            have.update({i: v for i, _, v in rows})
            bar.update(len(chunk))
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
) -> RunReport:
    """Build and write the digest for one week."""
    report = RunReport(command="build", started=now)
    report.week = resolve_week(
        week or settings.digest.week, store, now=now, timezone=settings.digest.timezone
    )
    start, end = digest.week_bounds(report.week)
    papers = store.list_papers_between(start, end)
    vectors, report.n_embedded = ensure_vectors(
        store, embedder, papers, now=now, progress=settings.embed.progress
    )
    topics = settings.topics_as_models()
    built = _decide(settings, store, embedder, papers, vectors, topics, now=now, week=report.week)
    text = render.render_markdown(
        built,
        top_per_section=settings.digest.top_per_section,
        templates_dir=settings.paths.templates_dir,
    )
    path = settings.paths.digests_dir / f"{report.week}.md"
    write_atomic(path, text)
    report.digest_path = str(path)
    report.n_papers_in_digest = len(papers)
    report.finished = now
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
) -> digest.Digest:
    ids = [p.paper_id for p in papers]
    texts = [p.text for p in papers]
    topic_items = [
        (f"topic:{t.slug}", content_hash(assign.topic_text(t)), assign.topic_text(t))
        for t in topics
    ]
    topic_vectors, _ = ensure_text_vectors(store, embedder, topic_items, now=now)
    if topics and papers:
        scores = assign.score_topics(vectors, topic_vectors)
    else:
        scores = np.zeros((len(papers), len(topics)), dtype=np.float32)
    thresholds = {t.slug: t.min_similarity or settings.themes.min_similarity for t in topics}
    assignments = assign.assign_topics(
        ids, texts, scores, topics, thresholds=thresholds, also_margin=settings.themes.also_margin
    )
    rest = [i for i, a in enumerate(assignments) if a.primary is None]
    themes, _ = cluster.find_themes(
        [ids[i] for i in rest],
        vectors[rest] if rest else np.zeros((0, 1), dtype=np.float32),
        [texts[i] for i in rest],
        seed=settings.themes.seed,
        min_theme_size=settings.themes.min_theme_size,
        max_themes=settings.themes.max_themes,
    )
    centroid_scores = _theme_scores(themes, ids, vectors)
    return digest.build_digest(
        papers,
        assignments,
        themes,
        topics,
        week=week,
        title=settings.digest.title,
        theme_scores=centroid_scores,
        coverage=_coverage(settings, store, papers),
        notes=_notes(papers, week),
    )


def _theme_scores(
    themes: Sequence[cluster.Theme], ids: Sequence[str], vectors: np.ndarray
) -> dict[str, float]:
    """Each themed paper's cosine to its theme's centroid: how typical it is of the theme."""
    index = {pid: i for i, pid in enumerate(ids)}
    scores: dict[str, float] = {}
    for theme in themes:
        rows = [index[pid] for pid in theme.paper_ids]
        centroid = vectors[rows].mean(axis=0)
        centroid /= np.linalg.norm(centroid) or 1.0
        for pid, score in zip(theme.paper_ids, vectors[rows] @ centroid, strict=True):
            scores[pid] = float(score)
    return scores


def _coverage(settings: Settings, store: Store, papers: Sequence[Paper]) -> list[SourceCount]:
    counts = Counter(source for p in papers for source in p.sources)
    status = {s.source: s for s in store.list_source_status()}
    rows = []
    for source in settings.enabled_sources:
        health = status.get(source.name)
        error = health.last_error if health is not None and health.consecutive_failures else None
        rows.append(SourceCount(source.name, counts.get(source.name, 0), error))
    return rows


def _notes(papers: Sequence[Paper], week: str) -> list[str]:
    if not papers:
        return [f"No papers were stored for {week}: the sources had nothing in this window."]
    return []


def write_atomic(path: Path, text: str) -> None:
    """Write via a temp file in the same folder, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    built = run_build(settings, store, embedder, now=now, week=week)
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
    return "\n".join(lines)
