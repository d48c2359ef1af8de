"""The reliability suite's counters: every test adds what it tried and what went wrong.

`conftest.pytest_terminal_summary` prints them at the end of the run, so CI logs show the counts the
issue asks for (inputs tried, kill trials, papers lost/duplicated, payloads that survived).
"""

from __future__ import annotations

from collections import Counter

#: Printed in this order; a key nobody counted prints as 0 only when a test in its group ran.
ORDER = (
    "feed inputs tried",
    "broken feed variants tried",
    "odd entries tried",
    "tracebacks",
    "failures without source and reason",
    "good sources lost",
    "oversized responses tried",
    "hostile inputs tried",
    "hangs",
    "kill trials (ingest)",
    "kill trials (build)",
    "kills mid-store (some batches on disk)",
    "papers lost",
    "papers duplicated",
    "half-written digests",
    "torn source batches",
    "storage faults tried",
    "storage faults without StoreError",
    "stored papers lost in storage faults",
    "configs tried",
    "configs without dotted problems",
    "payloads tried",
    "payloads surviving",
    "unsafe links emitted",
    "secrets leaked",
)

TALLY: Counter[str] = Counter()


def add(key: str, n: int = 1) -> None:
    """Count `n` more of `key` (a key from ORDER)."""
    if key not in ORDER:
        raise KeyError(f"unknown tally key {key!r}")
    TALLY[key] += n
