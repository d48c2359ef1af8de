"""Tools for tuning topics: `digest eval`, `topics`, `explain` and `mark` (orchestration).

Only `cli` imports this module; it imports `run` (scoring, clustering, the store) and the stages.
It decides nothing new: it runs the same scoring and clustering as `digest build` and reports.
Labelled papers are embedded through the store, so a second `eval` of the same file is fast.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import run
from pipeline.config import Settings, add_topic_paper, load_settings
from pipeline.digest import build as digest
from pipeline.embed import Embedder, content_hash
from pipeline.embed.cache import ensure_text_vectors, ensure_vectors
from pipeline.errors import ConfigError, ParseError
from pipeline.models import Paper, Theme, Topic, Week
from pipeline.run import scoring
from pipeline.store import Store
from pipeline.topics import assign, cluster, labels


@dataclass(frozen=True)
class LabelledPaper:
    """One line of a labels file: a paper, the topics it belongs to, and those acceptable."""

    paper: Paper
    topics: tuple[str, ...]
    maybe: tuple[str, ...]
    group: str | None


def load_labels(path: Path) -> list[LabelledPaper]:
    """Read a JSONL labels file; ParseError names the line and the problem."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ParseError(f"cannot read labels file {path}: {e}") from e
    found = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        found.append(_parse_label_line(line, f"{path}:{number}", number))
    if not found:
        raise ParseError(f"labels file {path} has no papers")
    return found


def _parse_label_line(line: str, where: str, number: int) -> LabelledPaper:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as e:
        raise ParseError(f"{where}: not valid JSON: {e.msg}") from e
    if not isinstance(data, dict):
        raise ParseError(f"{where}: expected a JSON object")
    title, abstract = data.get("title"), data.get("abstract", "")
    if not isinstance(title, str) or not title.strip():
        raise ParseError(f"{where}: 'title' must be a non-empty string")
    if not isinstance(abstract, str):
        raise ParseError(f"{where}: 'abstract' must be a string")
    lists = {}
    for key in ("topics", "maybe"):
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ParseError(f"{where}: {key!r} must be a list of topic slugs")
        lists[key] = tuple(value)
    group = data.get("group")
    if group is not None and not isinstance(group, str | int):
        raise ParseError(f"{where}: 'group' must be a string")
    text = f"{title.strip()}. {abstract.strip()}"
    paper_id = f"label:{content_hash(text)}"
    paper = Paper(paper_id=paper_id, title=title.strip(), abstract=abstract.strip())
    return LabelledPaper(
        paper, lists["topics"], lists["maybe"], None if group is None else str(group)
    )


# --- eval -----------------------------------------------------------------------------------


def run_eval(
    settings: Settings, store: Store, embedder: Embedder, labels: Sequence[LabelledPaper]
) -> dict[str, Any]:
    """Assign and cluster the labelled papers like a digest build; score against the labels."""
    started = time.perf_counter()
    now = datetime.now().astimezone()
    papers = [item.paper for item in labels]
    vectors, _ = ensure_vectors(store, embedder, papers, now=now)
    topics = settings.topics_as_models()
    partition, assignments, themes, unthemed = _partition(
        settings, store, embedder, papers, vectors, now
    )
    # What a digest build would spend on these papers; scoring and the baselines come after.
    seconds = round(time.perf_counter() - started, 2)
    report: dict[str, Any] = {
        "n_papers": len(papers),
        "topics": _topic_metrics(labels, assignments, topics),
    }
    scored = [m["f1"] for m in report["topics"].values() if m["f1"] is not None]
    report["macro_f1"] = round(float(np.mean(scored)), 4) if scored else None
    report["unthemed_fraction"] = round(unthemed / len(papers), 4)
    report.update(_theme_metrics(themes, papers, vectors))
    report.update(_group_metrics(labels, partition, vectors, seed=settings.themes.seed))
    report["seconds"] = seconds
    return report


def _partition(
    settings: Settings,
    store: Store,
    embedder: Embedder,
    papers: Sequence[Paper],
    vectors: np.ndarray,
    now: datetime,
) -> tuple[list[str], list[Any], list[Theme], int]:
    """Each paper's section key (topic slug, theme id or 'other'), the assignments, the themes
    and the number of papers in "Other"."""
    topics = settings.topics_as_models()
    _, _, assignments = run.assign_papers(
        settings, store, embedder, papers, vectors, topics, now=now
    )
    rest = [i for i, a in enumerate(assignments) if a.primary is None]
    labelled = Week("labels", tuple(papers), vectors, {p.paper_id: i for i, p in enumerate(papers)})
    themes, other = run.find_week_themes(settings, labelled, rest)
    where = {pid: theme.theme_id for theme in themes for pid in theme.paper_ids}
    keys = [a.primary or where.get(a.paper_id, "other") for a in assignments]
    return keys, assignments, themes, len(other)


def _theme_metrics(
    themes: Sequence[Theme], papers: Sequence[Paper], vectors: np.ndarray
) -> dict[str, Any]:
    """How far the themes hang together, whatever the labels say (issue 17).

    `theme_cohesion`: mean cosine between papers of the same theme, averaged over themes
    weighted by size; `coherent_theme_share`: share of themes at or over cluster.MIN_COHESION;
    `theme_name_fit`: share of themed papers containing a phrase of their theme's name.
    """
    if not themes:
        return {"n_themes": 0, "theme_cohesion": None, "coherent_theme_share": None}
    row = {p.paper_id: i for i, p in enumerate(papers)}
    sizes = np.array([len(t.paper_ids) for t in themes], dtype=np.float64)
    scores = np.array(
        [cluster.cohesion(vectors[[row[pid] for pid in t.paper_ids]]) for t in themes]
    )
    fits = [
        labels.describes([t.label], [papers[row[pid]].text for pid in t.paper_ids]) for t in themes
    ]
    return {
        "n_themes": len(themes),
        "theme_cohesion": round(float(sizes @ scores / sizes.sum()), 4),
        "coherent_theme_share": round(float(np.mean(scores >= cluster.MIN_COHESION)), 4),
        "theme_name_fit": round(float(sizes @ np.array(fits) / sizes.sum()), 4),
    }


def _topic_metrics(
    labels: Sequence[LabelledPaper], assignments: Sequence[Any], topics: Sequence[Topic]
) -> dict[str, dict[str, float | int | None]]:
    """Per topic: precision (maybe counts as right), recall over `topics`, F1, support."""
    metrics: dict[str, dict[str, float | int | None]] = {}
    for topic in topics:
        predicted = [
            item
            for item, a in zip(labels, assignments, strict=True)
            if a.primary == topic.slug or topic.slug in a.also
        ]
        right = sum(1 for item in predicted if topic.slug in item.topics + item.maybe)
        support = sum(1 for item in labels if topic.slug in item.topics)
        found = sum(1 for item in predicted if topic.slug in item.topics)
        precision = right / len(predicted) if predicted else (None if not support else 0.0)
        recall = found / support if support else None
        f1 = None
        if precision is not None and recall is not None:
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        metrics[topic.slug] = {
            "precision": _round(precision),
            "recall": _round(recall),
            "f1": _round(f1),
            "support": support,
            "predicted": len(predicted),
        }
    return metrics


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _group_metrics(
    labels: Sequence[LabelledPaper], partition: Sequence[str], vectors: np.ndarray, *, seed: int
) -> dict[str, Any]:
    """NMI/ARI of the theme partition against `group`, and of a plain KMeans baseline."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    rows = [i for i, item in enumerate(labels) if item.group is not None]
    if not rows:
        return {"nmi": None, "ari": None}
    groups = [labels[i].group for i in rows]
    ours = [partition[i] for i in rows]
    n_groups = len(set(groups))
    result: dict[str, Any] = {
        "nmi": round(float(normalized_mutual_info_score(groups, ours)), 4),
        "ari": round(float(adjusted_rand_score(groups, ours)), 4),
        "n_groups": n_groups,
        "n_sections": len(set(ours)),
    }
    if n_groups >= 2 and len(rows) > n_groups:
        with cluster.one_thread():
            # Told the true number of groups, which our clustering is not: an upper reference.
            baseline = KMeans(n_clusters=n_groups, n_init=4, random_state=seed).fit_predict(
                vectors[rows]
            )
            # What a user without the answer would run: k in 2..12 by the best silhouette.
            plain = silhouette_kmeans(vectors[rows], seed=seed)
        result["baseline_kmeans_nmi"] = round(
            float(normalized_mutual_info_score(groups, baseline)), 4
        )
        result["baseline_kmeans_ari"] = round(float(adjusted_rand_score(groups, baseline)), 4)
        result["baseline_silhouette_kmeans_nmi"] = round(
            float(normalized_mutual_info_score(groups, plain)), 4
        )
    return result


def silhouette_kmeans(vectors: np.ndarray, *, seed: int, k_max: int = 12) -> np.ndarray:
    """The walking skeleton's clustering: KMeans for k in 2..k_max, best cosine silhouette."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    best, best_score = np.zeros(len(vectors), dtype=int), -1.0
    for k in range(2, min(k_max, len(vectors) - 1) + 1):
        labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(vectors)
        score = float(silhouette_score(vectors, labels, metric="cosine"))
        if score > best_score:
            best, best_score = labels, score
    return best


def describe_eval(report: dict[str, Any]) -> str:
    """The eval report as a few human lines."""
    lines = [f"{report['n_papers']} labelled papers"]
    lines.append(f"{'topic':24} {'prec':>6} {'recall':>6} {'F1':>6} {'support':>7}")
    for slug, m in report["topics"].items():
        cells = [_cell(m["precision"]), _cell(m["recall"]), _cell(m["f1"])]
        lines.append(f"{slug:24} {cells[0]:>6} {cells[1]:>6} {cells[2]:>6} {m['support']:>7}")
    lines.append(f"macro F1: {_cell(report['macro_f1'])}")
    if report.get("nmi") is not None:
        lines.append(
            f"themes vs groups: NMI {report['nmi']:.3f}, ARI {report['ari']:.3f}"
            + (
                f"; KMeans baselines: k by silhouette NMI "
                f"{report['baseline_silhouette_kmeans_nmi']:.3f}, k = {report['n_groups']} "
                f"(the true number of groups) NMI {report['baseline_kmeans_nmi']:.3f}, "
                f"ARI {report['baseline_kmeans_ari']:.3f}"
                if "baseline_kmeans_nmi" in report
                else ""
            )
        )
    lines.append(f"unthemed: {report['unthemed_fraction']:.1%}")
    return "\n".join(lines)


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


# --- topics, explain, mark --------------------------------------------------------------------


@dataclass(frozen=True)
class WeekScores:
    """One week's papers with their topic evidence, assignments and digest sections."""

    week: str
    papers: list[Paper]
    scores: assign.TopicScores
    assignments: list[Any]
    topics: tuple[Topic, ...]
    sections: dict[str, str]  # paper_id → topic slug, 'theme: <label>' or 'other'

    @property
    def margin(self) -> np.ndarray:
        """(n_papers, n_topics) distance from each topic's boundary; ≥ 0 is inside."""
        return self.scores.margin if self.scores.margin is not None else self.scores.combined

    @property
    def rank(self) -> np.ndarray:
        """`margin` without keyword evidence (what orders a paper's topics)."""
        return self.scores.rank if self.scores.rank is not None else self.margin


def score_week(
    settings: Settings, store: Store, embedder: Embedder, *, week: str | None = None
) -> WeekScores:
    """Score, assign and cluster one week's stored papers exactly as `digest build` would."""
    now = datetime.now().astimezone()
    chosen = run.choose_week(
        week or settings.digest.week, store, now=now, timezone=settings.digest.timezone
    )
    loaded, _ = run.load_week(store, embedder, chosen, now=now)
    papers = list(loaded.papers)
    topics = settings.topics_as_models()
    scored, _, assignments = run.assign_papers(
        settings, store, embedder, papers, loaded.vectors, topics, now=now
    )
    rest = [i for i, a in enumerate(assignments) if a.primary is None]
    themes, _ = run.find_week_themes(settings, loaded, rest)
    sections = {a.paper_id: a.primary or "other" for a in assignments}
    sections.update({pid: f"theme: {t.label}" for t in themes for pid in t.paper_ids})
    return WeekScores(chosen, papers, scored, assignments, topics, sections)


def describe_topics(week: WeekScores, *, n_near: int = 3, n_keywords: int = 5) -> str:
    """Per topic: count, the papers just inside and just outside its boundary, keywords to add."""
    lines = [f"{week.week}: {len(week.papers)} papers"]
    texts = [p.text for p in week.papers]
    for col, topic in enumerate(week.topics):
        column = week.margin[:, col]
        members = [i for i, a in enumerate(week.assignments) if a.primary == topic.slug]
        boundary = (
            f"fixed min_similarity {topic.min_similarity:.2f}"
            if topic.min_similarity is not None
            else "boundary learnt from the store"
        )
        lines.append(f"\n{topic.slug} ({topic.name}): {len(members)} papers, {boundary}")
        inside = sorted((i for i in range(len(column)) if column[i] >= 0), key=lambda i: column[i])
        outside = sorted((i for i in range(len(column)) if column[i] < 0), key=lambda i: -column[i])
        for label, rows in (("just inside", inside[:n_near]), ("just outside", outside[:n_near])):
            for i in rows:
                paper = week.papers[i]
                lines.append(f"  {label} {column[i]:+.2f}  {paper.paper_id}  {paper.title[:70]}")
        members_set = set(members)
        suggested = suggest_keywords(
            [texts[i] for i in members],
            topic,
            n=n_keywords,
            background=[text for i, text in enumerate(texts) if i not in members_set],
        )
        if suggested:
            lines.append("  suggested keywords: " + ", ".join(suggested))
    return "\n".join(lines)


def suggest_keywords(
    texts: Sequence[str], topic: Topic, *, n: int, background: Sequence[str] = ()
) -> list[str]:
    """Phrases frequent in the topic's papers, rarer in `background`, not yet among its keywords."""
    if len(texts) < 2:
        return []
    terms = labels.label_groups(
        [list(texts)], n_terms=n + len(topic.keywords), background=background
    )[0]
    have = {k.casefold() for k in topic.keywords}
    return [t for t in terms if t.casefold() not in have][:n]


@dataclass(frozen=True)
class Comparison:
    """What changes between two configs on one week: moved papers and section sizes."""

    week: str
    moved: list[tuple[str, str, str, str]]  # (paper_id, title, section before, section after)
    sizes: dict[str, tuple[int, int]]  # section → (papers before, papers after)


def compare_configs(before: WeekScores, after: WeekScores) -> Comparison:
    """Every paper whose section (topic, discovered theme or other) changes, and section sizes."""
    titles = {p.paper_id: p.title for p in after.papers}
    moved = [
        (pid, titles[pid], before.sections.get(pid, "other"), section)
        for pid, section in after.sections.items()
        if before.sections.get(pid, "other") != section
    ]
    old, new = Counter(before.sections.values()), Counter(after.sections.values())
    order = [t.slug for t in after.topics] + sorted(set(old) | set(new))
    sizes = {key: (old[key], new[key]) for key in dict.fromkeys(order)}
    return Comparison(after.week, sorted(moved), sizes)


def describe_comparison(comparison: Comparison, other: str) -> str:
    """The comparison as lines: moved papers, then each section's size before → after."""
    lines = [f"{comparison.week}: {len(comparison.moved)} papers change section under {other}"]
    lines += [f"  {pid}  {old} → {new}  {title[:60]}" for pid, title, old, new in comparison.moved]
    lines.append("sections (papers before → after):")
    lines += [f"  {key:40} {a:4d} → {b:4d}" for key, (a, b) in comparison.sizes.items() if a or b]
    return "\n".join(lines)


def find_paper(store: Store, reference: str) -> Paper:
    """The stored paper a reference names: arxiv:ID, ID with version, abs or pdf link, or an id."""
    paper_id = scoring.paper_ref_id(reference)
    paper = store.get_paper(paper_id)
    if paper is None:
        raise ParseError(
            f"no stored paper {paper_id!r} (from {reference!r}); ids look like arxiv:2506.01234,"
            " 2506.01234v2 or https://arxiv.org/abs/2506.01234 — run `digest ingest` first"
        )
    return paper


def paper_week(paper: Paper) -> str:
    """The ISO week a paper's digest is: its announcement day, else publication, else first seen."""
    day = paper.announced
    if day is None and paper.published is not None:
        day = paper.published.astimezone(UTC).date()
    if day is None and paper.first_seen is not None:
        day = paper.first_seen.astimezone(UTC).date()
    return digest.iso_week(day) if day is not None else digest.iso_week(datetime.now(UTC).date())


def explain_paper(settings: Settings, store: Store, embedder: Embedder, reference: str) -> str:
    """Where one stored paper landed, the evidence per topic, and what would move it."""
    paper = find_paper(store, reference)
    week = score_week(settings, store, embedder, week=paper_week(paper))
    row = next(i for i, p in enumerate(week.papers) if p.paper_id == paper.paper_id)
    result = week.assignments[row]
    pulls = _example_pulls(settings, store, embedder, paper, week.topics)
    lines = [
        f"{paper.paper_id}: {paper.title}",
        f"{week.week}: in section {_section_name(week.sections[paper.paper_id])}",
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
        lines.append(f"{'':22}   boundary: {_boundary_words(topic)}")
        shift = margin - float(week.rank[row, col])
        if abs(shift) > 1e-6:
            why = (
                "names a keyword, so it needs less"
                if shift > 0
                else "names no keyword, and the keywords cover most of the topic"
            )
            lines.append(f"{'':22}   keyword evidence: {shift:+.2f} ({why})")
        if pulls.get(topic.slug):
            lines.append(f"{'':22}   pulled by example {pulls[topic.slug]}")
    lines.append(_what_would_change(paper, result, week.topics, week.margin[row]))
    return "\n".join(lines)


def _section_name(section: str) -> str:
    if section == "other":
        return "Other (no topic, no discovered theme)"
    return section if section.startswith("theme: ") else f"topic {section}"


def _boundary_words(topic: Topic) -> str:
    if topic.min_similarity is not None:
        threshold = f"{topic.min_similarity:.2f}"
        return f"fixed: min_similarity {threshold} on cosine + keyword bonus (margin in 0.1s)"
    return "learnt from the store (margin in standard deviations of the topic's score)"


def _example_pulls(
    settings: Settings, store: Store, embedder: Embedder, paper: Paper, topics: Sequence[Topic]
) -> dict[str, str]:
    """Per topic, the example the paper is closest to, when it is closer than the topic text."""
    now = datetime.now().astimezone()
    found = {}
    vector, _ = ensure_vectors(store, embedder, [paper], now=now)
    for topic in topics:
        prototypes = scoring.topic_prototypes(store, topic)
        if len(prototypes) < 2:
            continue
        items = [(f"topic:{topic.slug}:{k}", content_hash(t), t) for k, t in prototypes]
        vectors, _ = ensure_text_vectors(store, embedder, items, now=now)
        cosines = vectors @ vector[0]
        best = int(np.argmax(cosines))
        if best > 0:
            example = topic.examples[best - 1]
            found[topic.slug] = f"{example} (cosine {cosines[best]:.3f})"
    return found


def _what_would_change(
    paper: Paper, result: Any, topics: Sequence[Topic], margins: np.ndarray
) -> str:
    """One or two sentences: the nearest topic it could join, or how to take it out."""
    mark = f"digest mark {paper.paper_id} --topic"
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
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read config file {path}: {e}") from e
    updated = add_topic_paper(text, slug, paper.paper_id, comment=paper.title, counter=counter)
    key = "counter_examples" if counter else "examples"
    if updated == text:
        return MarkResult(False, f"{paper.paper_id} is already in {slug}'s {key}", None)
    temporary = path.with_name(f".{path.name}.mark.tmp")
    try:
        temporary.write_text(updated, encoding="utf-8")
        new_settings = load_settings(temporary).model_copy(update={"config_path": path})
        week = paper_week(paper)
        before = score_week(settings, store, embedder, week=week)
        comparison = compare_configs(before, score_week(new_settings, store, embedder, week=week))
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
    message = f"added {paper.paper_id} ({paper.title[:60]}) to {slug}'s {key} in {path}"
    return MarkResult(True, message, comparison)
