"""Reliability suite: prints its counts at the end of the pytest run."""

from __future__ import annotations

import pytest

from reliability.tally import ORDER, TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print every counter the suite's tests filled in (zeros included once a test ran)."""
    if not TALLY:
        return
    terminalreporter.section("reliability counts")
    for key in ORDER:
        terminalreporter.write_line(f"{key:>40}: {TALLY[key]}")
