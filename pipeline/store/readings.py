"""Papers' readings for naming themes (run/readings.py), one row a paper: a cache."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.store.db import Database


class Readings(Database):
    """Reading and writing papers' kept readings (`paper_readings`)."""

    def get_readings(self, paper_ids: Sequence[str]) -> dict[str, tuple[bytes, bytes]]:
        """Paper id → (stamp, packed reading) of each of `paper_ids` that has a row."""
        rows = self._select_in(
            "SELECT paper_id, stamp, reading FROM paper_readings WHERE paper_id IN ({marks})",
            paper_ids,
        )
        return {row[0]: (bytes(row[1]), bytes(row[2])) for row in rows}

    def save_readings(self, rows: Sequence[tuple[str, bytes, bytes]]) -> None:
        """Upsert (paper id, stamp, packed reading) rows in one transaction: a paper's newer
        reading replaces its older one."""
        with self._write("save readings") as conn:
            conn.executemany(
                "INSERT INTO paper_readings (paper_id, stamp, reading) VALUES (?, ?, ?)"
                " ON CONFLICT (paper_id) DO UPDATE SET"
                " stamp = excluded.stamp, reading = excluded.reading",
                rows,
            )
