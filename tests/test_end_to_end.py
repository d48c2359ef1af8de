"""The real thing, small: the `digest` CLI in a subprocess with the packaged model on real papers.

16 real arXiv abstracts (two demo days, tests/data/e2e) keep the embedding part to a few seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import file_source, write_config

pytestmark = [pytest.mark.model, pytest.mark.slow]

DATA = Path(__file__).parent / "data" / "e2e"

TOPICS = [
    {
        "slug": "multimodal",
        "name": "Multimodal models",
        "description": "Vision-language models that combine images or video with text.",
        "keywords": ["vision-language model", "VLM", "multimodal large language model"],
    },
    {
        "slug": "video-generation",
        "name": "Video generation",
        "description": "Diffusion and autoregressive models that generate video.",
        "keywords": ["video diffusion", "video generation"],
    },
]


def _digest(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("e2e")
    config = write_config(
        root,
        digest={"week": "2025-W24", "title": "E2E digest"},
        themes={"min_theme_size": 2},
        sources=[
            file_source("day-10", DATA / "arxiv-2025-06-10.jsonl"),
            file_source("day-11", DATA / "arxiv-2025-06-11.jsonl"),
        ],
        topics=TOPICS,
    )
    first = _digest(config, "run", "--json")
    assert first.returncode == 0, first.stderr
    path = root / "digests" / "2025-W24.md"
    first_bytes = path.read_bytes()
    second = _digest(config, "run", "--json")
    assert second.returncode == 0, second.stderr
    return {
        "root": root,
        "first": json.loads(first.stdout),
        "second": json.loads(second.stdout),
        "first_bytes": first_bytes,
        "second_bytes": path.read_bytes(),
        "path": path,
    }


def test_run_ingests_embeds_and_writes_the_digest(runs: dict) -> None:
    report = runs["first"]
    assert report["n_new"] == 16
    assert report["n_embedded"] == 16
    assert report["digest_path"] == str(runs["path"])
    assert report["week"] == "2025-W24"


def test_rerun_embeds_nothing_and_writes_identical_bytes(runs: dict) -> None:
    assert runs["second"]["n_new"] == 0
    assert runs["second"]["n_embedded"] == 0
    assert runs["first_bytes"] == runs["second_bytes"]


def test_digest_groups_real_papers_into_the_topics_they_are_about(runs: dict) -> None:
    text = runs["first_bytes"].decode("utf-8")
    sections = {}
    for block in text.split("\n## ")[1:]:
        heading, _, body = block.partition("\n")
        sections[heading.strip()] = body
    # Read by hand: 2506.08008 (VLMs overlook their visual representations) and 2506.09047
    # (modality-specific circuits in VLMs) are vision-language papers; 2506.08009 (Self Forcing)
    # is autoregressive video diffusion and 2506.09045 (MagCache) speeds up video generation;
    # Gradual Metaprogramming is about neither.
    assert "2506.08008" in sections["Multimodal models"]
    assert "2506.09047" in sections["Multimodal models"]
    assert "2506.08009" in sections["Video generation"]
    assert "2506.09045" in sections["Video generation"]
    assert "Gradual Metaprogramming" not in sections["Multimodal models"]
    assert "Gradual Metaprogramming" not in sections["Video generation"]
    assert text.count("](https://arxiv.org/abs/") >= 16  # every paper is listed with its link
