"""Credentials live only in the environment: never in logs, reports, the database or digests.

The SMTP sender is not on this branch yet (issue 5); until it lands this pins the contract for
what exists: secret-looking environment values never reach any output, and a password written
into config.toml is refused rather than silently used.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FakeEmbedder

from pipeline import run
from pipeline.cli import cli
from reliability import tally
from reliability.helpers import GOOD_FILE, write_config

SECRETS = {
    "SMTP_PASSWORD": "s3cret-pw-7f1d",
    "SMTP_USERNAME": "user-7f1d@example.org",
    "DIGEST_SMTP_PASSWORD": "s3cret-pw-digest-7f1d",
    "PIPELINE_SMTP_PASSWORD": "s3cret-pw-pipeline-7f1d",
    "HF_TOKEN": "hf_s3cret7f1d",
}


def test_secret_environment_values_never_reach_any_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(run, "make_embedder", lambda settings: FakeEmbedder())
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    config = write_config(
        tmp_path, [("good", "file", str(GOOD_FILE)), ("gone", "file", str(tmp_path / "nope"))]
    )
    caplog.set_level(logging.DEBUG)
    result = CliRunner().invoke(cli, ["--config", str(config), "-vv", "run", "--json"])
    assert result.exit_code == 0, result.output
    outputs = {"stdout": result.stdout, "stderr": result.stderr, "logs": caplog.text}
    for path in sorted(tmp_path.rglob("*")):
        if path.is_file() and path.name != "config.toml":
            outputs[str(path)] = path.read_bytes().decode("utf-8", "replace")
    assert any("pipeline.sqlite3" in name for name in outputs)
    leaks = [
        (name, key) for name, text in outputs.items() for key, v in SECRETS.items() if v in text
    ]
    tally.add("secrets leaked", len(leaks))
    assert leaks == []


@pytest.mark.parametrize("table", ["smtp", "email", "fetch"])
def test_a_password_in_config_toml_is_refused(tmp_path: Path, table: str) -> None:
    config = write_config(tmp_path, [], **{table: {"password": "hunter2"}})
    result = CliRunner().invoke(cli, ["--config", str(config), "check-config"])
    assert result.exit_code == 2
    assert "hunter2" not in result.output
    assert f"{table}" in result.stderr
