"""Benchmark inputs: real arXiv records from OAI-PMH XML, and synthetic stores for build timing.

A minimal OAI-PMH `ListRecords` (metadataPrefix arXiv) reader lives here because the pipeline has no
OAI source yet (issue 4 adds one); it turns records into the JSONL the `file` source reads, so the
ingest figure goes through the real `run_ingest` path. Not part of the package; stdlib + numpy.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED_OAI = ROOT.parent / "shared" / "fixtures" / "corpora" / "arxiv-oai-cs-2016"
SAMPLE_OAI = ROOT / "benchmarks" / "data" / "arxiv-oai-cs-2016-sample.xml.gz"
DEMO_WEEK = ROOT / "examples" / "data"

_OAI = "{http://www.openarchives.org/OAI/2.0/}"
_ARXIV = "{http://arxiv.org/OAI/arXiv/}"


@dataclass(frozen=True)
class Record:
    """One arXiv paper as the benchmark needs it."""

    arxiv_id: str
    title: str
    abstract: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    created: str

    @property
    def text(self) -> str:
        return f"{self.title}. {self.abstract}"


def default_corpus() -> Path:
    """The shared 7,000-record corpus when this checkout sits beside it, else the bundled sample."""
    return SHARED_OAI if SHARED_OAI.is_dir() else SAMPLE_OAI


def read_oai(path: Path) -> list[Record]:
    """Every record in an OAI-PMH XML file (.xml or .xml.gz) or a folder of them, by file name."""
    if not path.exists():
        raise SystemExit(f"corpus not found: {path}")
    files = [path]
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.name.endswith((".xml", ".xml.gz")))
    records: list[Record] = []
    for file in files:
        opener = gzip.open if file.name.endswith(".gz") else open
        with opener(file, "rb") as handle:
            records.extend(_records(ET.parse(handle).getroot()))
    if not records:
        raise SystemExit(f"no OAI-PMH arXiv records found in {path}")
    return records


def _records(root: ET.Element) -> Iterator[Record]:
    for meta in root.iter(f"{_ARXIV}arXiv"):
        authors = []
        for author in meta.iter(f"{_ARXIV}author"):
            parts = [author.findtext(f"{_ARXIV}{k}", "").strip() for k in ("forenames", "keyname")]
            authors.append(" ".join(p for p in parts if p))
        yield Record(
            arxiv_id=meta.findtext(f"{_ARXIV}id", "").strip(),
            title=" ".join(meta.findtext(f"{_ARXIV}title", "").split()),
            abstract=" ".join(meta.findtext(f"{_ARXIV}abstract", "").split()),
            authors=tuple(authors),
            categories=tuple(meta.findtext(f"{_ARXIV}categories", "").split()),
            created=meta.findtext(f"{_ARXIV}created", "").strip(),
        )


def read_demo_week(folder: Path = DEMO_WEEK) -> list[dict[str, str]]:
    """The demo week's JSONL records (title, abstract, url, created), in file order."""
    rows = []
    for file in sorted(folder.glob("*.jsonl")):
        rows.extend(json.loads(line) for line in file.read_text("utf-8").splitlines() if line)
    return rows


def write_jsonl(records: Sequence[Record], path: Path, *, week_start: date) -> Path:
    """Records as a `file`-source JSONL, announced over the five weekdays of one week."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for i, r in enumerate(records):
            row = {
                "id": f"arXiv:{r.arxiv_id}",
                "title": r.title,
                "abstract": r.abstract,
                "authors": list(r.authors),
                "categories": list(r.categories),
                "created": r.created,
                "announced": (week_start + timedelta(days=i % 5)).isoformat(),
            }
            handle.write(json.dumps(row) + "\n")
    return path


def synthetic_corpus(records: Sequence[Record], n: int) -> list[Record]:
    """`n` records with distinct ids, cycling through the real ones (real lengths, vocabulary)."""
    out = []
    for i in range(n):
        r = records[i % len(records)]
        copy = i // len(records)
        if copy:
            r = Record(
                f"{r.arxiv_id}x{copy}",
                f"{r.title} ({copy})",
                r.abstract,
                r.authors,
                r.categories,
                r.created,
            )
        out.append(r)
    return out


def clustered_unit_vectors(
    n: int, *, dim: int = 384, n_clusters: int = 25, seed: int = 0
) -> np.ndarray:
    """float32 unit vectors around `n_clusters` centres, about as tight as real abstracts.

    Real MiniLM abstracts in one field have mean pairwise cosine ≈ 0.47 and nearest-neighbour
    cosine ≈ 0.68 (EMBEDDING.md); noise 1.1× the centre norm gives a similar spread.
    """
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = rng.integers(0, n_clusters, size=n)
    x = centres[labels] + rng.normal(scale=1.1 / np.sqrt(dim), size=(n, dim)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def bench_now() -> datetime:
    """A fixed 'now' so every run of the benchmark stores the same data."""
    return datetime(2016, 3, 14, 8, 0, tzinfo=UTC)


class SyntheticEmbedder:
    """Stores clustered random unit vectors under the real model's name; costs ~nothing.

    A text always gets the same vector (chosen by its hash), so reruns are consistent.
    """

    def __init__(self, name: str, pool_size: int = 1 << 16) -> None:
        self._name = name
        self._pool = clustered_unit_vectors(pool_size)
        self.n_embedded = 0

    @property
    def name(self) -> str:
        return self._name

    def embed(self, texts: Sequence[str], progress: Any = None) -> np.ndarray:
        rows = [int(hashlib.sha1(t.encode()).hexdigest()[:8], 16) % len(self._pool) for t in texts]
        self.n_embedded += len(texts)
        return self._pool[rows]
