"""Time the pipeline's steps from outside: wrap named functions, sum their wall time per call.

The benchmark must not need hooks in the package, and must keep working when a stage is rewritten
(issue 3 rewrites cluster/assign): a step whose function no longer exists is simply not reported,
and whatever the named steps do not cover shows up as "other".
"""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

#: (label, "module:attribute") — module-level functions are looked up at call time by `run`, so
#: patching the module attribute catches every call; methods are patched on the class.
BUILD_STEPS = (
    ("list papers (SQLite)", "pipeline.store:Store.list_papers_between"),
    ("load vectors (SQLite)", "pipeline.store:Store.get_vectors"),
    ("embed missing", "pipeline.embed:SentenceTransformerEmbedder.embed"),
    ("score topics", "pipeline.run.scoring:score_papers"),
    ("assign topics", "pipeline.topics.assign:assign_topics"),
    ("cluster themes", "pipeline.topics.cluster:find_themes"),
    ("theme scores", "pipeline.topics.continuity:theme_scores"),
    ("build digest", "pipeline.digest.build:build_digest"),
    ("render Markdown", "pipeline.digest.render:render_markdown"),
    ("render HTML", "pipeline.digest.html:render_html"),
    ("trend chart", "pipeline.digest.chart:render_trend_chart"),
    ("write outputs (all)", "pipeline.digest.outputs:write_digest"),
)

INGEST_STEPS = (
    ("read file", "pipeline.ingest.fetch:fetch_url"),
    ("parse", "pipeline.run.ingest:parse_source"),
    ("normalise + dedupe", "pipeline.run.ingest:_normalize_all"),
    ("match existing ids (SQLite)", "pipeline.run.ingest:_match_existing"),
    ("store papers (SQLite)", "pipeline.store:Store.upsert_papers"),
    ("load vectors (SQLite)", "pipeline.store:Store.get_vectors"),
    ("embed", "benchmarks.speed_data:SyntheticEmbedder.embed"),
    ("save vectors (SQLite)", "pipeline.store:Store.save_vectors"),
)


def _resolve(target: str) -> tuple[Any, str] | None:
    module_name, _, path = target.partition(":")
    try:
        owner: Any = importlib.import_module(module_name)
    except ImportError:
        return None
    *parents, attr = path.split(".")
    for name in parents:
        owner = getattr(owner, name, None)
        if owner is None:
            return None
    return (owner, attr) if hasattr(owner, attr) else None


@contextmanager
def timed_steps(steps: Sequence[tuple[str, str]]) -> Iterator[dict[str, float]]:
    """Yield a dict label → seconds, filled while the block runs; originals restored after."""
    totals: dict[str, float] = {}
    patched: list[tuple[Any, str, Any]] = []
    for label, target in steps:
        found = _resolve(target)
        if found is None:
            continue
        owner, attr = found
        original = owner.__dict__[attr] if attr in vars(owner) else getattr(owner, attr)
        setattr(owner, attr, _wrap(original, label, totals))
        patched.append((owner, attr, original))
    try:
        yield totals
    finally:
        for owner, attr, original in reversed(patched):
            setattr(owner, attr, original)


def _wrap(func: Callable[..., Any], label: str, totals: dict[str, float]) -> Callable[..., Any]:
    depth = [0]  # a recursive or re-entrant call is timed once, by its outermost frame

    @functools.wraps(func)
    def timed(*args: Any, **kwargs: Any) -> Any:
        depth[0] += 1
        start = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            depth[0] -= 1
            if depth[0] == 0:
                totals[label] = totals.get(label, 0.0) + time.perf_counter() - start

    return timed
