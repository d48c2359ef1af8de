"""Shared fixtures: a deterministic fake embedder and small builders for records and configs."""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from httpserver import FeedServer, serve

from pipeline.config import Settings, load_settings
from pipeline.embed import ProgressCallback, normalize_rows
from pipeline.models import Paper


class FakeEmbedder:
    """Bag-of-words hashed into 256 dims: texts sharing words get similar unit vectors.

    Deterministic across processes (sha1, not hash()), fast, and it counts what it embedded.
    """

    dim = 256

    def __init__(self) -> None:
        self.calls: list[int] = []

    @property
    def name(self) -> str:
        return "fake-bow"

    def embed(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z]{3,}", text.lower()):
                bucket = int(hashlib.sha1(word.encode()).hexdigest()[:8], 16) % self.dim
                out[row, bucket] += 1.0
        if progress is not None:
            progress(len(texts))
        return normalize_rows(out)

    @property
    def n_embedded(self) -> int:
        return sum(self.calls)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    """A real HTTP server on 127.0.0.1 serving whatever the test routes to it."""
    with serve() as s:
        yield s


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


#: A hand-written config with comments, the way users keep theirs (`digest mark` must keep it).
COMMENTED_CONFIG = """# My digest
[paths]
data_dir = "data"   # next to this file

[embed]
progress = false

[themes]
min_similarity = 0.3
min_theme_size = 2

# --- a topic ---
[[topics]]
slug = "speech"
name = "Speech"
description = "speech recognition audio acoustic"
keywords = ["speech recognition"]   # what users search for
examples = []  # none yet

# --- another topic ---
[[topics]]
slug = "graphs"
name = "Graphs"
description = "graph neural network message passing"
keywords = ["graph neural network"]
"""


def graph_papers(
    make: Callable[[str, str, str], Paper], *, named: int, others: int, first: int = 0
) -> tuple[list[Paper], list[Paper], list[Paper]]:
    """`named` papers naming "graph neural network", each with words of its own (ids from
    2506.`first`); 16 that share their common words but name no keyword; `others` of other
    fields. `make(paper_id, title, abstract)` builds each (issue 16's names-none cut)."""
    with_keyword = [
        make(
            f"arxiv:2506.{first + i:05d}",
            f"Graph message passing {i}",
            "A graph neural network with message passing over node features "
            + " ".join(f"w{chr(97 + i)}{chr(97 + k)}xx" for k in range(8)),
        )
        for i in range(named)
    ]
    without = [
        make(
            f"arxiv:2506.{100 + i:05d}",
            f"Graph message passing {i}",
            "Graph networks with message passing over node features, neural "
            + " ".join(["extra"] * (i % 5) + ["more"] * (i // 5)),
        )
        for i in range(16)
    ]
    fields = ["compiler register allocation", "robot arm grasp", "database query index", "routing"]
    rest = [
        make(f"arxiv:2506.{200 + i:05d}", f"Study {i}", f"{fields[i % 4]} study")
        for i in range(others)
    ]
    return with_keyword, without, rest


def make_paper(paper_id: str, title: str, abstract: str = "", **fields: object) -> Paper:
    """A Paper with sensible defaults for tests."""
    defaults: dict[str, object] = {
        "authors": ("Ada Lovelace",),
        "categories": ("cs.LG",),
        "url": f"https://arxiv.org/abs/{paper_id.split(':', 1)[-1]}",
        "announced": date(2025, 6, 10),
        "published": datetime(2025, 6, 9, 12, tzinfo=UTC),
        "sources": ("test",),
    }
    defaults.update(fields)
    return Paper(paper_id=paper_id, title=title, abstract=abstract, **defaults)  # type: ignore[arg-type]


def write_config(folder: Path, /, *, filename: str = "config.toml", **sections: object) -> Path:
    """Write folder/`filename` (config.toml) from TOML sections given as keywords; return its path.

    Each keyword is a section (`digest={"week": "2025-W24"}`) or an array of tables
    (`sources=[file_source("a", path)]`, `topics=[{...}]`). Progress bars are off unless `embed`
    turns them on. Paths in the file resolve against `folder`, like a real config's.
    Example: write_config(tmp_path, schedule={"ingest_cron": "0 2 * * *"})
    """
    embed = sections.get("embed", {})
    assert isinstance(embed, dict), "embed= takes a dict of [embed] keys"
    data = {**sections, "embed": {"progress": False, **embed}}
    path = folder / filename
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def make_settings(folder: Path, /, **sections: object) -> Settings:
    """Settings loaded from `write_config(folder, **sections)`: the one way tests build them."""
    return load_settings(write_config(folder, **sections))


def mail_to_loopback(port: int) -> dict[str, object]:
    """An `[email]` table that mails each built week to a test SMTP server on 127.0.0.1."""
    return {
        "send_after_build": True,
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "security": "none",
        "sender": "digest@example.org",
        "recipients": ["me@example.org"],
    }


def file_source(name: str, url: Path | str) -> dict[str, str]:
    """A `[[sources]]` table reading a local JSONL/feed file (kind = "file")."""
    return {"name": name, "kind": "file", "url": str(url)}


def mount(*args: str) -> None:
    """`mount ARGS` (root or CAP_SYS_ADMIN), raising on failure."""
    subprocess.run(["mount", *args], check=True, capture_output=True, text=True)


@contextmanager
def tmpfs(target: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of `size` mounted at `target` (created), unmounted after; a pytest skip
    saying why when there cannot be one here."""
    target.mkdir()
    try:
        mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target))
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"cannot mount a tmpfs here (needs root/CAP_SYS_ADMIN): {e}")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)
