"""Tools for tuning topics: `digest eval`, `topics`, `explain` and `mark` (orchestration).

Only `cli` imports this package (evaluate, topics, explain); it imports `run` (scoring,
clustering, the store) and the stages.
It decides nothing new: it runs the same scoring and clustering as `digest build` and reports.
Labelled papers are embedded through the store, so a second `eval` of the same file is fast.
"""

from __future__ import annotations

from pipeline.tune.evaluate import (
    LabelledPaper,
    describe_eval,
    load_labels,
    run_eval,
    silhouette_kmeans,
)
from pipeline.tune.explain import MarkResult, explain_paper, find_paper, mark_paper
from pipeline.tune.topics import (
    Comparison,
    WeekScores,
    compare_configs,
    describe_comparison,
    describe_topics,
    score_week,
    suggest_keywords,
)

__all__ = [
    "Comparison",
    "LabelledPaper",
    "MarkResult",
    "WeekScores",
    "compare_configs",
    "describe_comparison",
    "describe_eval",
    "describe_topics",
    "explain_paper",
    "find_paper",
    "load_labels",
    "mark_paper",
    "run_eval",
    "score_week",
    "silhouette_kmeans",
    "suggest_keywords",
]
