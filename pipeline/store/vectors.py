"""Embeddings keyed by (item, model, content hash); the caller decides when to re-embed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from pipeline.errors import StoreError
from pipeline.store.db import Database, _iso

#: Item ids of vectors that are not papers': a topic's prototypes ("topic:SLUG:KEY", its text
#: and examples) and research-area names ("area:NAME"). `get_vector_watermark` skips them.
TOPIC_ITEM = "topic:"
AREA_ITEM = "area:"


class Vectors(Database):
    """Reading and writing embedding vectors."""

    def get_vectors(self, model: str, items: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:
        """Stored float32 vectors for (item_id, content_hash) pairs whose hash still matches."""
        wanted = dict(items)
        ids = list(wanted)
        vectors: dict[str, np.ndarray] = {}
        rows = self._select_in(
            "SELECT item_id, content_hash, dim, vector FROM embeddings"
            " WHERE model = ? AND item_id IN ({marks})",
            ids,
            [model],
        )
        for row in rows:
            if row["content_hash"] == wanted[row["item_id"]]:
                vector = read_vector(row["vector"], row["dim"])
                if vector is not None:
                    vectors[row["item_id"]] = vector
        return vectors

    def save_vectors(
        self, model: str, rows: Sequence[tuple[str, str, np.ndarray]], now: datetime
    ) -> None:
        """Upsert (item_id, content_hash, vector) rows for `model`, in one transaction.

        A vector holding NaN or an infinity is refused (StoreError, nothing saved): it would make
        every similarity with it NaN and write invalid JSON into the digest's sidecar.
        """
        params = []
        for item_id, content_hash, vector in rows:
            array = np.ascontiguousarray(vector, dtype=np.float32)
            if array.ndim != 1:
                raise ValueError(f"vector for {item_id} has shape {array.shape}, expected 1-D")
            if not np.isfinite(array).all():
                raise StoreError(
                    f"the {model} vector for {item_id} holds NaN or infinite values; not stored"
                )
            params.append((item_id, model, content_hash, len(array), array.tobytes(), _iso(now)))
        with self._write("save embeddings") as conn:
            conn.executemany(
                "INSERT INTO embeddings (item_id, model, content_hash, dim, vector, created)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (item_id, model) DO UPDATE SET"
                " content_hash = excluded.content_hash, dim = excluded.dim,"
                " vector = excluded.vector, created = excluded.created",
                params,
            )

    def count_vectors(self, model: str) -> int:
        """How many vectors are stored for `model`, whatever their hash."""
        return int(self._select("SELECT count(*) FROM embeddings WHERE model = ?", (model,))[0][0])

    def count_vectors_of(self, model: str, item_ids: Sequence[str]) -> int:
        """How many of `item_ids` have a vector stored for `model`, whatever its hash."""
        rows = self._select_in(
            "SELECT count(*) FROM embeddings WHERE model = ? AND item_id IN ({marks})",
            list(item_ids),
            [model],
        )
        return sum(int(row[0]) for row in rows)

    def count_vectors_by_model(self) -> dict[str, int]:
        """How many vectors (papers', topics' and areas') are stored for each model: read
        through the primary key's index, not the vectors (0.3 s at 1.5 million)."""
        rows = self._select("SELECT model, count(*) FROM embeddings GROUP BY model")
        return {row[0]: int(row[1]) for row in rows}

    def get_vector_watermark(self) -> int:
        """A number that grows each time a paper's vector is stored for a model that had none
        (the newest such row's id; 0 when there is none): what a cache keyed on the stored
        papers' vectors reads, in one step where counting them reads every row. The vectors of
        topic texts and research-area names (TOPIC_ITEM, AREA_ITEM rows, a few, stored by a
        build after it has fitted its topics' boundaries) do not move it: they moved it, and
        the second build after an ingest refitted every boundary (0.7 s on a 10k week)."""
        # Walks back from the newest row (by rowid: no scan) past the few topic and area rows.
        rows = self._select(
            "SELECT rowid FROM embeddings WHERE rowid <= (SELECT max(rowid) FROM embeddings)"
            " AND substr(item_id, 1, ?) != ? AND substr(item_id, 1, ?) != ?"
            " ORDER BY rowid DESC LIMIT 1",
            (len(TOPIC_ITEM), TOPIC_ITEM, len(AREA_ITEM), AREA_ITEM),
        )
        return int(rows[0][0]) if rows else 0


def read_vector(blob: object, dim: int | None) -> np.ndarray | None:
    """A stored float32 vector (an embedding row's, a week section's theme centroid), or None
    (recompute or leave it out) when the blob is not a whole finite float32 vector of its
    recorded `dim` (of any length but 0 when None): a row cut short or overwritten by another
    program made numpy raise and every build, `explain` and `topics` end in a traceback (round
    14), and one stored before NaN was refused would make every similarity with it NaN."""
    if not isinstance(blob, bytes) or not blob or len(blob) % 4:
        return None
    if dim is not None and len(blob) != 4 * dim:
        return None
    vector = np.frombuffer(blob, dtype=np.float32).copy()
    return vector if np.isfinite(vector).all() else None
