"""The embedding-cache policy: embed a text only when no vector is stored for its exact content.

A vector is keyed by (item id, model name, content hash): a changed abstract is re-embedded, an
unchanged one never is. The cache is anything with `get_vectors` / `save_vectors` (the store);
vectors are computed and saved in chunks, so a killed run keeps what it finished.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

import numpy as np

from pipeline.embed import Embedder, content_hash
from pipeline.models import Paper

#: Vectors are computed and saved in chunks this size, so a killed run keeps what it finished.
EMBED_CHUNK = 256


class VectorCache(Protocol):
    """Where vectors are kept between runs (`pipeline.store.Store`)."""

    def get_vectors(self, model: str, items: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:
        """Stored vectors of (item_id, content_hash) pairs whose hash still matches."""
        ...

    def save_vectors(
        self, model: str, rows: Sequence[tuple[str, str, np.ndarray]], now: datetime
    ) -> None:
        """Save (item_id, content_hash, vector) rows for `model`."""
        ...


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


def ensure_vectors(
    cache: VectorCache,
    embedder: Embedder,
    papers: Sequence[Paper],
    *,
    now: datetime,
    progress: bool = False,
    on_missing: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, int]:
    """Vectors for `papers` in order, embedding (and saving) only those without a current one."""
    keyed = [(p.paper_id, content_hash(p.text), p.text) for p in papers]
    return ensure_text_vectors(
        cache, embedder, keyed, now=now, progress=progress, on_missing=on_missing
    )


def ensure_text_vectors(
    cache: VectorCache,
    embedder: Embedder,
    items: Sequence[tuple[str, str, str]],
    *,
    now: datetime,
    progress: bool = False,
    on_missing: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, int]:
    """(item_id, content_hash, text) → vectors in order; computes only the missing ones.

    Returns the vectors and how many were computed now. `on_missing` is told how many are
    missing before the model is loaded for them (a command that says so first).
    """
    have = cache.get_vectors(embedder.name, [(item_id, h) for item_id, h, _ in items])
    missing = [item for item in items if item[0] not in have]
    if missing and on_missing is not None:
        on_missing(len(missing))
    bar = Progress(len(missing), "embedding", enabled=progress)
    try:
        for start in range(0, len(missing), EMBED_CHUNK):
            chunk = missing[start : start + EMBED_CHUNK]
            vectors = embedder.embed([text for _, _, text in chunk], progress=bar.update)
            rows = [(i, h, v) for (i, h, _), v in zip(chunk, vectors, strict=True)]
            cache.save_vectors(embedder.name, rows, now)
            have.update({i: v for i, _, v in rows})
    finally:
        bar.close()
    if not items:
        return np.zeros((0, 0), dtype=np.float32), 0
    return np.stack([have[item_id] for item_id, _, _ in items]), len(missing)
