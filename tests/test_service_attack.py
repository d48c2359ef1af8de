"""Running the service for a year (round 14): e-mail sent exactly once and to whom it says,
a store whose embedding cache was damaged. Real SMTP servers on loopback, real SQLite, real
processes; the fake embedder stands in for the model."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import file_source, mail_to_loopback, write_config

from pipeline.cli import cli

ROOT = Path(__file__).resolve().parents[1]
E2E = Path(__file__).parent / "data" / "e2e" / "arxiv-2025-06-10.jsonl"
NOW = datetime(2025, 6, 16, 8, tzinfo=UTC)


def _config(tmp_path: Path, port: int, **email: object) -> Path:
    return write_config(
        tmp_path,
        email={**mail_to_loopback(port), **email},
        sources=[file_source("d10", E2E)],
    )


# --- e-mail: once, and only to whom the server took it for ------------------------------------


@pytest.mark.parametrize(
    "address",
    ["you@example,org", "Boss<boss@example.org>", "me@example.org>", "a;b@example.org",
     "me@example..org", "me@example.org."],
)  # fmt: skip
def test_check_config_names_a_recipient_the_to_header_would_split_or_refuse(
    tmp_path: Path, address: str
) -> None:
    # Round 14: any text with one '@' and no space passed; "you@example,org" was mailed to
    # "you@example" and to "org", and the run reported it e-mailed to "you@example,org".
    config = _config(tmp_path, 25, recipients=["me@example.org", address])
    result = CliRunner().invoke(cli, ["--config", str(config), "check-config"])
    assert result.exit_code == 2
    assert f"email.recipients[1]: must be an e-mail address, got {address!r}" in result.output
