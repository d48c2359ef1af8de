"""`digest eval`: labelled papers (JSONL or a JSON list) in, topic F1 and theme figures out.

Runs the same scoring and clustering as `digest build` on a labels file (see README) and
reports; labelled papers are embedded through the store, so a second eval of a file is fast.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import run
from pipeline.config import Settings
from pipeline.embed import Embedder, content_hash
from pipeline.embed.cache import ensure_vectors
from pipeline.errors import ParseError
from pipeline.ingest.sources.safejson import json_lines
from pipeline.models import Paper, Theme, Topic, Week
from pipeline.store import Store
from pipeline.topics import cluster, labels


@dataclass(frozen=True)
class LabelledPaper:
    """One line of a labels file: a paper, the topics it belongs to, and those acceptable."""

    paper: Paper
    topics: tuple[str, ...]
    maybe: tuple[str, ...]
    group: str | None


def load_labels(path: Path) -> list[LabelledPaper]:
    """Read a labels file, JSONL or one JSON list of papers; ParseError names the line (or the
    list's paper) and the problem."""
    try:
        # A byte-order mark (Notepad's) is read past, as file sources do.
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise ParseError(f"cannot read labels file {path}: {e}") from e
    listed = _json_list(text, path) if text.lstrip().startswith("[") else None
    if listed is not None:  # one JSON list, as json.dump writes it (round 29)
        found = [
            _parse_label(data, f"{path}: paper {number} of the list")
            for number, data in enumerate(listed, start=1)
        ]
    else:
        found = []
        for number, line in enumerate(json_lines(text), start=1):
            line = line.removeprefix("\ufeff")  # where another file was appended (round 25)
            if line.strip():
                found.append(_parse_label_line(line, f"{path}:{number}"))
    if not found:
        raise ParseError(f"labels file {path} has no papers")
    return found


def _json_list(text: str, path: Path) -> list[Any] | None:
    """The papers of a labels file written as one JSON list; None when its first line is JSON
    on its own (JSONL, read line by line)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as e:
        first = next(line for line in json_lines(text) if line.strip())
        try:
            json.loads(first)
        except json.JSONDecodeError:
            raise ParseError(f"{path}:{e.lineno}: not valid JSON: {e.msg}") from e
        return None
    return document if isinstance(document, list) else None


def _parse_label_line(line: str, where: str) -> LabelledPaper:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as e:
        raise ParseError(f"{where}: not valid JSON: {e.msg}") from e
    return _parse_label(data, where)


def _parse_label(data: Any, where: str) -> LabelledPaper:
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
    # A slug the config does not have (a typo, another config's topic) is scored nowhere: say so.
    configured = {topic.slug for topic in topics}
    unknown = Counter(
        slug
        for item in labels
        for slug in dict.fromkeys(item.topics + item.maybe)
        if slug not in configured
    )
    if unknown:
        report["unknown_topics"] = dict(sorted(unknown.items()))
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
    and the number of papers in "Other".

    Without the build's last step, grouping what no theme holds by arXiv category: labelled
    sets are often arXiv categories themselves, and the figures are of the discovered themes.
    """
    themes_settings = settings.themes.model_copy(update={"arxiv_categories": False})
    settings = settings.model_copy(update={"themes": themes_settings})
    topics = settings.topics_as_models()
    _, _, assignments = run.assign_papers(
        settings, store, embedder, papers, vectors, topics, now=now
    )
    rest = [i for i, a in enumerate(assignments) if a.primary is None]
    labelled = Week("labels", tuple(papers), vectors, {p.paper_id: i for i, p in enumerate(papers)})
    areas = run.area_vectors(settings, store, embedder, now=now)
    themes, other = run.find_week_themes(settings, labelled, rest, areas=areas)
    where = cluster.theme_of_papers(themes, other)
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
        with _one_thread():
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
    if report.get("unknown_topics"):
        named = ", ".join(f"{slug} ({n})" for slug, n in report["unknown_topics"].items())
        lines.append(f"not scored, no such topic in the config (labelled papers): {named}")
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


def _one_thread() -> AbstractContextManager[object]:
    """A context in which scikit-learn's OpenMP and every BLAS run one thread.

    threadpoolctl limits only the libraries already loaded: entered before scikit-learn's
    OpenMP runtime and SciPy's OpenBLAS were, it left them at every core, and a cold process
    spent ~20 s instead of ~4 s in its first KMeans (issue 17). So they are loaded first.
    """
    import sklearn.cluster  # noqa: F401  (loads libgomp and SciPy's OpenBLAS)
    from threadpoolctl import threadpool_limits

    limited: AbstractContextManager[object] = threadpool_limits(limits=1)
    return limited


# --- topics, explain, mark --------------------------------------------------------------------
