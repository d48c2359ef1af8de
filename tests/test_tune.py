"""tune.py and the eval/topics/explain commands, with the fake embedder and a real SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import FakeEmbedder, make_paper, write_config

from pipeline import run, tune
from pipeline.cli import cli
from pipeline.config import load_settings
from pipeline.errors import ParseError
from pipeline.ingest.normalize import update_paper
from pipeline.models import Paper, Theme
from pipeline.store import Store

TOPICS = [
    {
        "slug": "speech",
        "name": "Speech",
        "description": "speech recognition audio acoustic",
        "keywords": ["speech recognition"],
    },
    {
        "slug": "graphs",
        "name": "Graphs",
        "description": "graph neural network message passing",
        "keywords": ["graph neural network"],
    },
]
LABELS = [
    {"title": "Speech recognition", "abstract": "audio acoustic speech", "topics": ["speech"]},
    {"title": "Acoustic models", "abstract": "speech audio", "topics": ["speech"], "group": "a"},
    {"title": "Graph neural network", "abstract": "message passing graph", "topics": ["graphs"]},
    {"title": "Protein folding", "abstract": "amino acid structure", "maybe": ["graphs"]},
    {"title": "Protein structure", "abstract": "amino acid folding", "topics": [], "group": "b"},
    {"title": "Protein design", "abstract": "amino acid protein", "topics": [], "group": "b"},
]


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    config = write_config(
        tmp_path, themes={"min_similarity": 0.3, "min_theme_size": 2}, topics=TOPICS
    )
    labels = tmp_path / "labels.jsonl"
    labels.write_text("\n".join(json.dumps(x) for x in LABELS) + "\n", encoding="utf-8")
    monkeypatch.setattr(run, "make_embedder", lambda settings: FakeEmbedder())
    return config, labels


def test_run_eval_scores_topics_against_labels(setup: tuple[Path, Path]) -> None:
    config, labels = setup
    settings = load_settings(config)
    with Store.open(":memory:") as store:
        report = tune.run_eval(settings, store, FakeEmbedder(), tune.load_labels(labels))
    speech = report["topics"]["speech"]
    assert (speech["precision"], speech["recall"], speech["support"]) == (1.0, 1.0, 2)
    assert report["topics"]["graphs"]["recall"] == 1.0
    assert 0.0 <= report["macro_f1"] <= 1.0 and report["n_papers"] == 6
    assert report["nmi"] is not None and "baseline_kmeans_nmi" in report
    assert "baseline_silhouette_kmeans_nmi" in report
    assert report["theme_cohesion"] is None or 0.0 <= report["theme_cohesion"] <= 1.0


def test_silhouette_kmeans_finds_the_number_of_separated_blobs() -> None:
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:3] * 10
    x = np.concatenate([c + rng.normal(scale=0.3, size=(20, 8)) for c in centres])
    labels = tune.silhouette_kmeans(x, seed=0)
    assert len(set(labels.tolist())) == 3
    assert all(len(set(labels[i : i + 20].tolist())) == 1 for i in (0, 20, 40))


def test_eval_command_prints_json_and_is_repeatable(setup: tuple[Path, Path]) -> None:
    config, labels = setup
    args = ["--config", str(config), "eval", "--labels", str(labels), "--json"]
    first = CliRunner().invoke(cli, args)
    second = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    a, b = json.loads(first.output), json.loads(second.output)
    a.pop("seconds"), b.pop("seconds")
    assert a == b
    assert set(a) >= {"macro_f1", "topics", "nmi", "ari", "unthemed_fraction"}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "labels.jsonl:1: not valid JSON"),
        ('{"abstract": "x"}', "labels.jsonl:1: 'title' must be a non-empty string"),
        ('{"title": "t", "topics": "nas"}', "labels.jsonl:1: 'topics' must be a list"),
    ],
)
def test_load_labels_names_the_bad_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(ParseError, match=message):
        tune.load_labels(path)


def test_eval_command_reports_a_bad_labels_file_without_traceback(
    setup: tuple[Path, Path], tmp_path: Path
) -> None:
    config, _ = setup
    bad = tmp_path / "bad.jsonl"
    bad.write_text("[1, 2]\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "eval", "--labels", str(bad)])
    assert result.exit_code == 1
    assert "bad.jsonl:1: expected a JSON object" in result.output
    assert "Traceback" not in result.output


def _store_week(config: Path) -> None:
    settings = load_settings(config)
    papers = [
        make_paper("arxiv:2506.00001", "Speech recognition", "audio acoustic speech"),
        make_paper("arxiv:2506.00002", "Graph neural network", "message passing graph"),
        make_paper("arxiv:2506.00003", "Protein folding", "amino acid structure"),
    ]
    with Store.open(settings.database_path) as store:
        store.upsert_papers(papers, "test", run.datetime.now(run.UTC), merge=update_paper)


def test_explain_command_shows_scores_and_verdict(setup: tuple[Path, Path]) -> None:
    config, _ = setup
    _store_week(config)
    result = CliRunner().invoke(cli, ["--config", str(config), "explain", "2506.00001"])
    assert result.exit_code == 0, result.output
    assert "speech" in result.output and "passes" in result.output
    assert "→ primary topic speech" in result.output
    missing = CliRunner().invoke(cli, ["--config", str(config), "explain", "arxiv:9999.99999"])
    assert missing.exit_code == 1 and "no stored paper" in missing.output


def test_topics_command_lists_boundaries_and_compares_configs(
    setup: tuple[Path, Path], tmp_path: Path
) -> None:
    config, _ = setup
    _store_week(config)
    base = ["--config", str(config), "topics", "--week", "2025-W24"]
    result = CliRunner().invoke(cli, base)
    assert result.exit_code == 0, result.output
    assert "speech (Speech): 1 papers" in result.output and "just below" in result.output
    strict = write_config(
        tmp_path,
        filename="strict.toml",
        themes={"min_similarity": 0.99, "min_theme_size": 2},
        topics=TOPICS,
    )
    compared = CliRunner().invoke(cli, [*base, "--compare", str(strict)])
    assert compared.exit_code == 0, compared.output
    changes = [line for line in compared.output.splitlines() if " → " in line]
    assert changes and all(line.split(" → ")[1].startswith("-") for line in changes)
    assert f"{len(changes)} papers change topic" in compared.output


def test_theme_metrics_report_cohesion_and_name_fit() -> None:
    papers = [
        Paper(paper_id=f"arxiv:{i}", title=title, abstract="")
        for i, title in enumerate(["speech audio", "speech codecs", "graphs", "proteins"])
    ]
    vectors = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    themes = [
        Theme("t1", "Speech", ("speech",), ("arxiv:0", "arxiv:1"), "arxiv:0"),
        Theme("t2", "Graph", ("graph",), ("arxiv:2", "arxiv:3"), "arxiv:2"),
    ]
    metrics = tune._theme_metrics(themes, papers, vectors)
    assert metrics["n_themes"] == 2
    assert metrics["theme_cohesion"] == 0.5  # 1.0 and 0.0, equal sizes
    assert metrics["coherent_theme_share"] == 0.5
    assert metrics["theme_name_fit"] == 0.75  # both speech papers, one of the other two


def test_run_eval_twice_embeds_theme_name_candidates_once(setup: tuple[Path, Path]) -> None:
    # Theme names are checked against the embedder; the phrases' vectors are cached in the
    # store like the papers', so a rerun loads no model for them.
    config, labels = setup
    settings = load_settings(config)
    embedder = FakeEmbedder()
    with Store.open(":memory:") as store:
        first = tune.run_eval(settings, store, embedder, tune.load_labels(labels))
        embedded = embedder.n_embedded
        second = tune.run_eval(settings, store, embedder, tune.load_labels(labels))
    assert first["n_themes"] >= 1  # the protein papers make a theme, named through the cache
    assert embedder.n_embedded == embedded
    assert {k: v for k, v in first.items() if k != "seconds"} == {
        k: v for k, v in second.items() if k != "seconds"
    }
