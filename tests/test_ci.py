"""`make test`, `make test-fast` and `.ci/run`: pytest's status is theirs, "no tests ran" included.

Each runs the real Makefile against this interpreter's environment (BIN=its folder, STAMP= so
that no venv is built) on one small test file, selecting either one test or none.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ONE_FILE = "tests/test_coverage.py"
COMMANDS = [["make", "test"], ["make", "test-fast"], [".ci/run"]]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _run(command: list[str], selection: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *command,
            f"BIN={Path(sys.executable).parent}",
            "STAMP=",
            f"PYTEST_ARGS={ONE_FILE} -p no:cacheprovider -k {selection}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_make_test_fails_when_no_test_ran(command: list[str]) -> None:
    result = _run(command, "no_test_is_called_this")
    assert result.returncode != 0, result.stdout
    assert "deselected" in result.stdout and "Error 5" in result.stderr


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_make_test_passes_when_the_selected_tests_pass(command: list[str]) -> None:
    result = _run(command, "explains_an_empty_digest_first")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
