"""Broken configuration: every problem listed with its dotted path, exit 2, never a traceback.

Hand-written cases for each kind of mistake the issue names, then seeded mutations of the shipped
config.toml (lines dropped, values swapped for wrong types, keys misspelt).
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from reliability import tally
from reliability.helpers import TESTS

SHIPPED = TESTS.parent / "config.toml"
# "  dotted.path[0].key: message" — the shape every listed problem must have.
PROBLEM_LINE = re.compile(r"^  [a-z_]+(?:\[\d+\])?(?:\.[a-z_]+(?:\[\d+\])?)*: \S.*$")

EVERYTHING_WRONG = """
[fetch]
timeout_s = "thirty"
retriess = 3

[schedule]
ingest_cron = "0 25 * * mon"

[embed]
batch_size = 0

[[sources]]
name = "ok-source"
kind = "rss"
url = "https://example.org/feed"
colour = "blue"

[[topics]]
slug = "gnn"
name = "Graph neural networks"
"""


def _check(tmp_path: Path, text: str | bytes) -> tuple[int, str]:
    path = tmp_path / "config.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "check-config"])
    tally.add("configs tried")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        tally.add("tracebacks")
        raise result.exception
    return result.exit_code, result.stderr


def _problems(err: str) -> list[str]:
    return [line for line in err.splitlines()[1:] if line.strip()]


def test_every_problem_is_listed_with_its_dotted_path(tmp_path: Path) -> None:
    code, err = _check(tmp_path, EVERYTHING_WRONG)
    problems = _problems(err)
    expected = [
        "fetch.timeout_s: must be a number",
        "fetch.retriess: unknown key (did you mean 'retries'?)",
        "schedule.ingest_cron: must be a 5-field crontab expression",
        "embed.batch_size: must be between 1 and 1024",
        "sources[0].colour: unknown key",
        "topics[0].description: required key is missing",
    ]
    missing = [e for e in expected if not any(p.strip().startswith(e) for p in problems)]
    if code != 2 or missing or not all(PROBLEM_LINE.match(p) for p in problems):
        tally.add("configs without dotted problems")
    assert code == 2
    assert err.startswith(f"error: {tmp_path / 'config.toml'} has {len(expected)} problems:")
    assert missing == []
    assert all(PROBLEM_LINE.match(p) for p in problems), problems


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[fetch\ntimeout_s = 3\n", ["not valid TOML", "line 1"]),
        ('title = "unterminated\n', ["not valid TOML"]),
        (b"[fetch]\ncontact = '\xff\xfe'\n", ["not UTF-8"]),
        ("[[sources]]\nname = 'a'\n[[sources]]\nname = 'a'\n", ["sources[1].name: duplicate"]),
    ],
    ids=["unclosed-table", "unterminated-string", "not-utf8", "duplicate-names"],
)
def test_malformed_files_exit_2_with_a_reason(
    tmp_path: Path, text: str | bytes, words: list[str]
) -> None:
    code, err = _check(tmp_path, text)
    if code != 2 or not all(w in err for w in words):
        tally.add("configs without dotted problems")
    assert code == 2 and all(w in err for w in words), err


def _mutations(text: str, rng: random.Random, n: int) -> list[str]:
    lines = text.splitlines()
    values = ['"text"', "12", "-1", "1.5", "true", "[]", "{}", '"0 99 * * *"', '""', "nan"]
    out = []
    for _ in range(n):
        copy = list(lines)
        i = rng.randrange(len(copy))
        action = rng.choice(["drop", "value", "key", "dup"])
        if action == "drop":
            del copy[i]
        elif action == "dup":
            copy.insert(i, copy[i])
        elif "=" in copy[i] and action == "value":
            copy[i] = copy[i].split("=", 1)[0] + "= " + rng.choice(values)
        elif "=" in copy[i]:
            copy[i] = copy[i].replace("_", "", 1).replace("e", "a", 1)
        out.append("\n".join(copy) + "\n")
    return out


def test_mutated_shipped_configs_never_crash(tmp_path: Path) -> None:
    rng = random.Random(7)
    bad = []
    for n, text in enumerate(_mutations(SHIPPED.read_text(encoding="utf-8"), rng, 60)):
        code, err = _check(tmp_path, text.replace('"data"', f'"data{n}"'))
        shaped = code == 0 or (
            code == 2
            and ("not valid TOML" in err or all(PROBLEM_LINE.match(p) for p in _problems(err)))
        )
        if not shaped:
            tally.add("configs without dotted problems")
            bad.append((n, code, err))
    assert bad == []
