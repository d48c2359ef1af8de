"""Round 16: inputs an acceptance tester tries from outside — config values that are valid TOML
but clash with the digest's own names, paper references with odd versions, paths that loop.

Each crashed, failed every build, or gave a wrong answer on main. Real config files, the real
CLI (CliRunner) and store; the fake embedder stands in for the model.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import FakeEmbedder

from pipeline.cli import cli
from reliability import tally
from reliability.helpers import GOOD_FILE, ingest, write_config

NO_BACKFILL: dict[str, object] = {"arxiv": {"backfill": False}}
WEEK = "2025-W23"  # GOOD_FILE's papers


def _invoke(args: list[str]) -> Result:
    result = CliRunner().invoke(cli, args)
    tally.add("configs tried")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        tally.add("tracebacks")
        raise result.exception
    return result


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pipeline.run.make_embedder", lambda settings: FakeEmbedder())


def _topic(slug: str, **keys: object) -> dict[str, object]:
    return {"slug": slug, "name": "Video", "description": "Video question answering.", **keys}


@pytest.mark.parametrize("slug", ["other", "theme-0a1b2c3d"])
def test_a_topic_slug_that_names_another_section_fails_check_config(
    tmp_path: Path, slug: str
) -> None:
    """A topic `other` was taken for the Other section: `explain` said its papers were "in
    section Other (no topic, no discovered theme)" while the digest listed them under the topic,
    `topics --compare` saw no move between the two, and the JSON held two sections keyed
    "other". A slug like a theme id shares the store's (week, key) rows with that theme."""
    config = write_config(
        tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL, topics=[_topic(slug)]
    )
    result = _invoke(["--config", str(config), "check-config"])
    assert result.exit_code == 2, result.output
    assert f"topics[0].slug: {slug!r} is reserved" in result.stderr, result.stderr
