"""docs/deploy.md and deploy/*: every `digest …` command line they show parses (options exist)."""

from __future__ import annotations

import logging
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FakeEmbedder, file_source, write_config

from pipeline.cli import cli

ROOT = Path(__file__).parent.parent
DATA = ROOT / "tests" / "data"
_SPAN = re.compile(r"`([^`\n]+)`")


def _is_digest(word: str) -> bool:
    return word == "digest" or word.endswith("bin/digest")


def _commands() -> list[str]:
    """The arguments of each `digest …` command in deploy.md (code spans that start with it,
    `$ ` lines), in deploy/crontab and in the ExecStart= lines of deploy/*.service."""
    lines = []
    for line in (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8").splitlines():
        lines += _SPAN.findall(line) + ([line[2:]] if line.startswith("$ ") else [])
    for path in sorted((ROOT / "deploy").iterdir()):
        for line in path.read_text(encoding="utf-8").splitlines():
            if path.name == "crontab" and not line.startswith("#"):
                lines.append(" ".join(line.split()[5:]))  # after the five time fields
            elif line.startswith("ExecStart="):
                lines.append(line.removeprefix("ExecStart="))
    found = []
    for line in lines:
        for part in re.split(r"\|\||&&|;", line):
            words = [w for w in part.split() if "=" not in w or w.startswith("-")]  # no VAR=1
            if len(words) > 1 and _is_digest(words[0]):
                args = words[1:]
                cut = next((i for i, w in enumerate(args) if w.startswith((">", "2>"))), None)
                found.append(" ".join(args[:cut]))
    return found


def test_the_deploy_docs_show_command_lines() -> None:
    assert len(_commands()) >= 10 and "status" in _commands()


@pytest.mark.parametrize("args", _commands())
def test_every_command_line_in_the_deploy_docs_parses(
    args: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Round 9: deploy.md's health check read `digest status -q >/dev/null || notify-me`, but
    # -q is an option of `digest`, not of `status`: it exited 2 ("No such option: -q"), so
    # the check reported a failure every time, healthy or not.
    monkeypatch.chdir(tmp_path)  # no data/ yet: --log-file data/digest.log makes it
    result = CliRunner().invoke(cli, [*shlex.split(args), "--help"])
    assert result.exit_code == 0, f"digest {args}: {result.output}"


def test_the_crontab_line_runs_on_a_fresh_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """deploy/crontab's `digest … --log-file data/digest.log run` before any run by hand (a
    provisioned machine: config written, crontab installed): data/ did not exist, so every run
    exited 2 at "--log-file: cannot open data/digest.log", its error sent to /dev/null, and
    cron mailed the fallback `digest status`: "health: ok (no runs yet)", weekday after weekday.
    Now the log file's folder is made, and the first run ingests and logs."""
    line = next(
        " ".join(text.split()[5:])
        for text in (ROOT / "deploy" / "crontab").read_text(encoding="utf-8").splitlines()
        if text.strip() and not text.startswith("#")
    )
    command = line.split(">")[0].split("bin/digest ", 1)[1].strip()
    assert "--log-file data/digest.log" in command and command.endswith("run --wait 3600")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("pipeline.run.make_embedder", lambda settings: FakeEmbedder())
    write_config(
        tmp_path,
        sources=[
            file_source("papers", DATA / "files" / "arxiv-week-2025-06_2025-06-06-08h_first5.jsonl")
        ],
        arxiv={"backfill": False},
    )
    try:
        result = CliRunner().invoke(cli, shlex.split(command))
    finally:
        for handler in logging.getLogger().handlers[:]:  # the file handler the run added
            handler.close()
            logging.getLogger().removeHandler(handler)
    assert result.exit_code == 0, result.output
    assert "papers: 5 entries, 5 new" in result.output, result.output
    assert "run ok in" in (tmp_path / "data" / "digest.log").read_text("utf-8")
