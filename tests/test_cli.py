"""cli.py: exit codes and messages — 0 ran, 1 failed, 2 usage/config — with the fake embedder."""

from __future__ import annotations

import ast
import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import FakeEmbedder, file_source, mail_to_loopback, write_config
from httpserver import FeedServer, Reply
from smtpserver import Inbox, free_port, scripted_server, smtp_server

from pipeline import run
from pipeline.cli import cli
from pipeline.config import load_settings
from pipeline.run.weeks import iso_week
from pipeline.store import SCHEMA_VERSION

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch) -> FakeEmbedder:
    fake = FakeEmbedder()
    monkeypatch.setattr(run, "make_embedder", lambda settings: fake)
    return fake


def _config(tmp_path: Path, *sources: dict[str, str], **sections: object) -> Path:
    return write_config(
        tmp_path,
        paths={"digests_dir": "out"},
        digest={"week": "2025-W24"},
        sources=list(sources),
        **sections,
    )


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_run_writes_digest_and_reports_json(tmp_path: Path) -> None:
    config = _config(tmp_path, file_source("d10", DATA / "e2e" / "arxiv-2025-06-10.jsonl"))
    code, out, _ = _invoke("--config", str(config), "run", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["n_new"] == 8 and report["n_embedded"] == 8
    assert Path(report["digest_path"]) == tmp_path / "out" / "2025-W24.md"
    text = Path(report["digest_path"]).read_text(encoding="utf-8")
    assert text.startswith("# Weekly research digest · 2025-W24\n"), text[:200]


def test_run_with_nothing_new_exits_0_and_says_so(tmp_path: Path) -> None:
    config = _config(tmp_path, file_source("d10", DATA / "e2e" / "arxiv-2025-06-10.jsonl"))
    _invoke("--config", str(config), "run")
    code, out, _ = _invoke("--config", str(config), "run")
    assert code == 0
    assert "no new papers" in out


def test_a_run_that_embeds_nothing_does_not_say_embedded_0(tmp_path: Path) -> None:
    # Round 10: every build (and an ingest with nothing new) printed "embedded 0 papers", a
    # line a cron mail's reader cannot act on; the first ingest says what it embedded.
    config = _config(tmp_path, file_source("d10", DATA / "e2e" / "arxiv-2025-06-10.jsonl"))
    code, first, _ = _invoke("--config", str(config), "ingest")
    assert code == 0 and "\nembedded 8 " in first
    for command in ("build", "ingest", "run"):
        code, out, _ = _invoke("--config", str(config), command)
        assert code == 0 and "embedded" not in out, (command, out)
    assert "no new papers" in out


def test_run_exits_1_when_every_source_fails(tmp_path: Path) -> None:
    config = _config(tmp_path, file_source("gone", tmp_path / "missing.jsonl"))
    code, out, _ = _invoke("--config", str(config), "run")
    assert code == 1
    assert "gone: FAILED" in out and "missing.jsonl" in out


def test_run_keeps_going_when_one_source_fails(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        file_source("gone", tmp_path / "missing.jsonl"),
        file_source("d10", DATA / "e2e" / "arxiv-2025-06-10.jsonl"),
    )
    code, out, _ = _invoke("--config", str(config), "run", "--json")
    assert code == 0, out
    report = json.loads(out)
    assert [s["error"] is None for s in report["sources"]] == [False, True]
    assert report["n_new"] == 8
    assert config.exists()


def test_bad_config_exits_2_with_every_problem_listed(tmp_path: Path) -> None:
    config = _config(tmp_path, themes={"min_similarity": 1.5}, embed2={})
    code, _, err = _invoke("--config", str(config), "run")
    assert code == 2
    assert "themes.min_similarity" in err and "embed2" in err
    assert "Traceback" not in err


def test_missing_config_exits_2(tmp_path: Path) -> None:
    code, _, err = _invoke("--config", str(tmp_path / "nope.toml"), "check-config")
    assert code == 2
    assert "not found" in err


def test_missing_default_config_says_where_it_looked_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Round 9 (newcomer): `digest run` in a folder without config.toml answered "config file
    # not found: config.toml" — not where it looked, nor how to give one.
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["run"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: config file not found: config.toml ({tmp_path.resolve() / 'config.toml'});"
        ' name another with `digest --config PATH`, or write one (README, "Configuration";'
        " examples/demo.toml is a complete one)\n"
    )


def test_bad_week_option_is_a_usage_error(tmp_path: Path) -> None:
    config = _config(tmp_path)
    code, _, err = _invoke("--config", str(config), "build", "--week", "2025-24")
    assert code == 2
    assert "ISO week" in err


def test_unknown_command_is_a_usage_error_that_names_it(tmp_path: Path) -> None:
    config = _config(tmp_path, file_source("d10", DATA / "e2e" / "arxiv-2025-06-10.jsonl"))
    code, _, err = _invoke("--config", str(config), "bogus")
    assert code == 2
    assert "'bogus'" in err
    assert not (tmp_path / "data").exists() and not (tmp_path / "out").exists()  # nothing ran


def test_check_config_summarises_the_shipped_configs() -> None:
    root = Path(__file__).parent.parent
    for name in ("config.toml", "examples/demo.toml"):
        code, out, _ = _invoke("--config", str(root / name), "check-config")
        assert code == 0 and "ok" in out


def test_check_config_counts_one_source_and_one_topic_in_the_singular(tmp_path: Path) -> None:
    topic = {
        "slug": "nas",
        "name": "NAS",
        "description": "Architecture search.",
        "keywords": ["NAS"],
    }
    config = _config(tmp_path, file_source("one", tmp_path / "one.jsonl"), topics=[topic])
    (tmp_path / "one.jsonl").write_text('{"title": "t"}\n', encoding="utf-8")
    code, out, _ = _invoke("--config", str(config), "check-config")
    # It said "1 sources enabled · 1 topics".
    assert code == 0 and " ok · 1 source enabled · 1 topic · model " in out


def test_a_week_that_has_not_begun_is_a_usage_error_naming_its_start(tmp_path: Path) -> None:
    # Round 27 (users): `build --week 2030-W10` said "the sources listed nothing in this
    # window" and exited 0, as if the week had been looked at; `run --week` ingested first.
    config = _config(tmp_path, file_source("d10", DATA / "e2e" / "arxiv-2025-06-10.jsonl"))
    for command in ("build", "run"):
        code, out, err = _invoke("--config", str(config), command, "--week", "2099-W10")
        assert code == 2, (command, out, err)
        assert out == "" and "listed nothing" not in err
        assert err == (
            "error: week 2099-W10 has not begun yet: it starts on Monday 2099-03-02, 00:00 UTC\n"
        )
    assert not (tmp_path / "out").exists()  # nothing built, nothing ingested
    # The week under way still builds (what it holds so far), as it did.
    today = iso_week(datetime.now(UTC).date())
    code, out, err = _invoke("--config", str(config), "run", "--week", today)
    assert code == 0, (out, err)
    assert f"no papers for {today}: no digest written or sent" in out


def test_a_configured_week_that_has_not_begun_is_refused_naming_digest_week(
    tmp_path: Path,
) -> None:
    # Round 28 (users): [digest] week = "2099-W10" read "No papers for 2099-W10: the sources
    # listed nothing in this window" and exited 0 (`run` ingested first), and check-config said
    # ok, where `build --week 2099-W10` was refused (round 27).
    config = write_config(
        tmp_path,
        paths={"digests_dir": "out"},
        digest={"week": "2099-W10"},
        sources=[file_source("d10", DATA / "e2e" / "arxiv-2025-06-10.jsonl")],
    )
    said = (
        f"error: {config} has 1 problem:\n"
        "  digest.week: week 2099-W10 has not begun yet: it starts on Monday 2099-03-02,"
        ' 00:00 UTC; "last-complete" builds the week that ended last\n'
    )
    for command in ("check-config", "build", "run"):
        code, out, err = _invoke("--config", str(config), command)
        assert (code, out, err) == (2, "", said), command
    assert not (tmp_path / "out").exists()  # nothing built
    database = tmp_path / "data" / "pipeline.sqlite3"
    with sqlite3.connect(database) as conn:  # nothing ingested, no run recorded
        assert conn.execute("SELECT count(*) FROM papers").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (0,)
    # `ingest` builds no week, and --week names another: both run as before.
    code, out, _ = _invoke("--config", str(config), "ingest")
    assert code == 0 and "8 new papers" in out, out
    code, out, _ = _invoke("--config", str(config), "build", "--week", "2025-W24")
    assert code == 0 and (tmp_path / "out" / "2025-W24.md").is_file(), out
    # check-config reads the store's boundaries as found: an older schema is not migrated.
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA user_version = 10")
    conn.close()
    assert _invoke("--config", str(config), "check-config") == (2, "", said)
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (10,)
    conn.close()


def test_build_of_an_empty_week_publishes_nothing_and_says_why(tmp_path: Path) -> None:
    config = _config(tmp_path)
    code, out, _ = _invoke("--config", str(config), "build", "--week", "2020-W10")
    assert code == 0
    assert "no papers for 2020-W10: no digest written or sent" in out
    folder = tmp_path / "out"
    assert not folder.exists() or not any(folder.iterdir())  # no digest, index or feed


def test_a_build_of_an_empty_week_names_the_week_that_has_papers(tmp_path: Path) -> None:
    # Round 9 (newcomer): a config replaying old files builds "last-complete", months after its
    # papers; the run said "No papers for 2026-W48" and stopped there, without the way out.
    config = _config(tmp_path, file_source("d10", DATA / "e2e" / "arxiv-2025-06-10.jsonl"))
    code, out, _ = _invoke("--config", str(config), "build", "--week", "2020-W10")
    assert code == 0
    assert out.splitlines()[-1] == "hint: the store holds no papers yet; run " + (
        f"`digest --config {config} ingest` first"
    )
    code, out, _ = _invoke("--config", str(config), "run", "--week", "2020-W10")
    assert code == 0 and "no papers for 2020-W10: no digest written or sent" in out
    assert out.splitlines()[-1] == (
        "hint: the newest week with stored papers is 2025-W24: "
        f"`digest --config {config} build --week 2025-W24`"
    )
    code, out, _ = _invoke("--config", str(config), "build", "--week", "2025-W24")
    assert code == 0 and "hint:" not in out
    code, out, _ = _invoke("--config", str(config), "build", "--week", "2020-W10", "--json")
    assert code == 0 and "hint" not in out and json.loads(out)["digest_path"] is None


#: What a `digest build` process never needs: the model (the week's vectors are cached), an HTTP
#: client and the feed parsers (no Hugging Face page to refresh), the scheduler, the config
#: editor, SMTP (no e-mail configured).
NOT_FOR_A_BUILD = [
    "torch",
    "sentence_transformers",
    "transformers",
    "onnxruntime",
    "sklearn",
    "httpx",
    "httpcore",
    "feedparser",
    "ftfy",
    "nameparser",
    "rich",
    "apscheduler",
    "tomlkit",
    "smtplib",
]

#: A child process: the fake model in place of the configured one, then `digest` as cron runs it.
_BUILD_CHILD = """
import hashlib, re, sys
import numpy as np
from pipeline import run
from pipeline.cli import main
from pipeline.embed import normalize_rows

class Fake:  # conftest.FakeEmbedder's vectors, without importing the tests' helpers
    name = "fake-bow"
    def embed(self, texts, progress=None):
        out = np.zeros((len(texts), 256), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z]{3,}", text.lower()):
                out[row, int(hashlib.sha1(word.encode()).hexdigest()[:8], 16) % 256] += 1.0
        return normalize_rows(out)

run.make_embedder = lambda settings: Fake()
unwanted = set(sys.argv[2:])
sys.argv = ["digest", "--config", sys.argv[1], "build"]
try:
    main()
except SystemExit as stop:
    print(stop.code)
print(sorted({name.split(".")[0] for name in sys.modules} & unwanted))
"""


def test_a_build_process_imports_no_model_http_client_feed_parser_or_smtp(tmp_path: Path) -> None:
    # Round 22: every cron build is a fresh process, and each library imported for nothing cost
    # it time (httpx, ftfy, nameparser, feedparser: about 0.25 s of CPU of a 2.5 s demo build).
    config = _config(tmp_path, file_source("d10", DATA / "e2e" / "arxiv-2025-06-10.jsonl"))
    assert _invoke("--config", str(config), "ingest")[0] == 0
    done = subprocess.run(
        [sys.executable, "-c", _BUILD_CHILD, str(config), *NOT_FOR_A_BUILD],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    *_, code, loaded = done.stdout.strip().splitlines()
    assert code == "0", done.stdout + done.stderr
    assert (tmp_path / "out" / "2025-W24.md").is_file()
    assert ast.literal_eval(loaded) == []


def test_two_runs_with_send_after_build_send_one_email(tmp_path: Path) -> None:
    with smtp_server("none") as (inbox, port, _):
        source = file_source("d10", DATA / "e2e" / "arxiv-2025-06-10.jsonl")
        config = str(_config(tmp_path, source, email=mail_to_loopback(port)))
        first = _invoke("--config", config, "run")
        second = _invoke("--config", config, "run")
        assert len(inbox.messages) == 1
        assert first[0] == 0 and "e-mailed 2025-W24 to me@example.org" in first[1]
        assert second[0] == 0 and "2025-W24 was e-mailed on" in second[1]
        assert "--force" in second[1]
        again = _invoke("--config", config, "send", "--week", "2025-W24")
        assert again[0] == 0 and len(inbox.messages) == 1
        forced = _invoke("--config", config, "send", "--week", "2025-W24", "--force")
        assert forced[0] == 0 and "e-mailed 2025-W24" in forced[1]
        assert "embedded" not in forced[1] + again[1]  # send embeds nothing: no "embedded 0"
        assert len(inbox.messages) == 2


class _NoSuchUserAt(Inbox):
    """A server with no mailbox for the addresses of one domain."""

    def __init__(self, domain: str) -> None:
        super().__init__()
        self.domain = domain

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.endswith(f"@{self.domain}"):
            return f"550 5.1.1 <{address}>: no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_recipient_of_a_non_ascii_domain_is_mailed_without_smtputf8(tmp_path: Path) -> None:
    # Round 28 (users): forscher@universität.de failed on a server without SMTPUTF8 ("does not
    # accept non-ASCII addresses"): its domain goes as its ASCII form (xn--), which any server
    # takes; the output and the record of the week e-mailed keep the address as configured.
    source = file_source("d10", DATA / "e2e" / "arxiv-2025-06-10.jsonl")
    email = {**mail_to_loopback(0), "recipients": ["forscher@universität.de"]}
    with smtp_server("none", smtputf8=False) as (inbox, port, _):
        config = str(_config(tmp_path, source, email={**email, "smtp_port": port}))
        code, out, err = _invoke("--config", config, "run")
        assert code == 0, (out, err)
        assert "e-mailed 2025-W24 to forscher@universität.de" in out, out
        assert inbox.recipients == [["forscher@xn--universitt-y5a.de"]]
        assert inbox.messages[0]["To"] == "forscher@xn--universitt-y5a.de"
        code, out, _ = _invoke("--config", config, "send", "--week", "2025-W24")
        assert code == 0 and "2025-W24 was e-mailed on" in out, out  # recorded: not sent twice
        assert len(inbox.messages) == 1


def test_a_refused_recipient_of_a_non_ascii_domain_is_named_as_configured(tmp_path: Path) -> None:
    # The server refuses the address it was sent (xn--): the output names the configured one,
    # and only it is left to a later send (before, a refusal under another spelling would have
    # counted the recipient as e-mailed).
    source = file_source("d10", DATA / "e2e" / "arxiv-2025-06-10.jsonl")
    recipients = ["me@example.org", "forscher@universität.de"]
    email = {**mail_to_loopback(0), "recipients": recipients}
    refusing = _NoSuchUserAt("xn--universitt-y5a.de")
    with smtp_server("none", smtputf8=False, inbox=refusing) as (inbox, port, _):
        config = str(_config(tmp_path, source, email={**email, "smtp_port": port}))
        code, out, err = _invoke("--config", config, "run")
        assert inbox.recipients == [["me@example.org"]]
        assert (
            "SMTP server refused forscher@universität.de (550 5.1.1"
            " <forscher@xn--universitt-y5a.de>: no such user): 2025-W24 was not e-mailed to it"
        ) in out + err, (out, err)
        code, out, err = _invoke("--config", config, "send", "--week", "2025-W24")
        assert inbox.recipients == [["me@example.org"]]  # refused again, me not mailed twice
        assert (code, out) == (1, ""), (out, err)
        assert err == (
            f"error: SMTP server 127.0.0.1:{port} refused every recipient:"
            " forscher@universität.de (550 5.1.1 <forscher@xn--universitt-y5a.de>: no such"
            " user)\n"
        )


def test_run_where_every_source_failed_publishes_and_mails_nothing(tmp_path: Path) -> None:
    with smtp_server("none") as (inbox, port, _):
        gone = file_source("gone", tmp_path / "missing.jsonl")
        config = str(_config(tmp_path, gone, email=mail_to_loopback(port)))
        code, out, _ = _invoke("--config", config, "run")
        assert code == 1
        # Round 14 (newcomer): a config with one feed read "ingest: all 1 sources failed".
        assert out.startswith("ingest: the only source failed, no new papers\n"), out
        assert "every source failed: no digest built or e-mailed" in out
        assert inbox.messages == []
        code, out, _ = _invoke("--config", config, "status")
        assert code == 1 and "0 new, 1 source failed" in out, out
    folder = tmp_path / "out"
    assert not folder.exists() or not any(folder.iterdir())  # no digest, index.md or feed.xml


def test_a_build_whose_email_failed_is_recorded_failed_and_status_says_so(tmp_path: Path) -> None:
    # The build exits 1 (the digest is written, the e-mail is not); `digest status` must not
    # call that run ok, or a health check reading its exit code misses the failure.
    source = file_source("d10", DATA / "e2e" / "arxiv-2025-06-10.jsonl")
    nobody = free_port()  # nothing listens there
    config = str(_config(tmp_path, source, email=mail_to_loopback(nobody)))
    _invoke("--config", config, "ingest")
    code, out, _ = _invoke("--config", config, "build")
    assert code == 1 and "e-mail not sent" in out
    assert (tmp_path / "out" / "2025-W24.md").is_file()
    code, out, _ = _invoke("--config", config, "status")
    assert code == 1, out
    assert "health: FAILING (last run failed)" in out
    code, out, _ = _invoke("--config", config, "status", "--json")
    assert json.loads(out)["last_run"]["status"] == "failed"


def test_send_to_a_server_with_a_garbage_greeting_is_one_line_and_the_build_is_failed(
    tmp_path: Path,
) -> None:
    # Round 9: "error: SMTP server 127.0.0.1:PORT failed: (-1, b'/1.1 400 Bad Request')".
    source = file_source("d10", DATA / "e2e" / "arxiv-2025-06-10.jsonl")
    with scripted_server([b"HTTP/1.1 400 Bad Request\r\n\r\n"]) as port:
        config = str(_config(tmp_path, source, email=mail_to_loopback(port)))
        _invoke("--config", config, "ingest")
        code, out, _ = _invoke("--config", config, "build")
        assert code == 1
        said = f"SMTP server 127.0.0.1:{port} answered 'HTTP/1.1 400 Bad Request' instead of"
        assert f"e-mail not sent: {said}" in out
        code, out, err = _invoke("--config", config, "send", "--week", "2025-W24")
    assert code == 1 and out == ""
    assert err.startswith(f"error: {said}") and err.count("\n") == 1
    code, out, _ = _invoke("--config", config, "status", "--json")
    last = json.loads(out)["last_run"]
    assert last["status"] == "failed" and said in last["error"]


def test_a_source_removed_from_the_config_keeps_its_coverage_row_and_shows_in_status(
    tmp_path: Path,
) -> None:
    # Round 9: after a source was dropped from config.toml, `status` still listed it as "ok"
    # among the sources read, and the Coverage table lost its row while its papers stayed in
    # the digest: the rows no longer added up to the week's papers.
    d10 = file_source("d10", DATA / "e2e" / "arxiv-2025-06-10.jsonl")
    d11 = file_source("d11", DATA / "e2e" / "arxiv-2025-06-11.jsonl")
    config = _config(tmp_path, d10, d11)
    assert _invoke("--config", str(config), "ingest")[0] == 0
    config = _config(tmp_path, d10, {**d11, "name": "d11-off", "enabled": False})
    code, out, _ = _invoke("--config", str(config), "build")
    assert code == 0, out
    coverage = (tmp_path / "out" / "2025-W24.md").read_text(encoding="utf-8")
    coverage = coverage.split("## Coverage", 1)[1]
    assert "| d10 | 8 | ok |" in coverage
    assert "| d11 | 8 | removed from the config |" in coverage
    assert "d11-off" not in coverage  # disabled and never read: nothing to account for
    sidecar = json.loads((tmp_path / "out" / "2025-W24.json").read_text(encoding="utf-8"))
    assert sum(c["n_papers"] for c in sidecar["coverage"]) == sidecar["n_papers"] == 16
    code, out, _ = _invoke("--config", str(config), "status")
    assert code == 0, out
    assert "  d10: ok, last success" in out
    assert "  d11: removed from the config, last success" in out
    code, out, _ = _invoke("--config", str(config), "status", "--json")
    states = {s["source"]: s["configured"] for s in json.loads(out)["sources"]}
    assert states == {"d10": "enabled", "d11": "removed"}


_CUT_OFF_FEED = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Journal</title>
<item><title>Sparse attention for long documents</title><link>https://example.org/a/1</link>
<description>We study sparse attention over long documents.</description>
<dc:creator>Ada Lovelace</dc:creator><pubDate>Tue, 10 Jun 2025 08:00:00 GMT</pubDate></item>
<item><title>Diffusion models for tabular data</title><link>https://example.org/a/2</link>
<description>We adapt diffusion models to tabular data.</description>
<dc:creator>Alan Turing</dc:creator><pubDate>Tue, 10 Jun 2025 08:00:00 GMT</pubDate></item>
<item><title>A third paper whose</title><link>https://example.org/a/3</link></item>
</channel></rss>
"""


def test_an_entry_held_back_as_cut_off_is_counted_in_the_source_line(
    tmp_path: Path, server: FeedServer
) -> None:
    # Round 9: the held-back entry was only a WARNING log line; the report (what cron mails)
    # read "3 entries, 2 new, 0 updated", as if the third entry had landed.
    url = server.route("/feed.xml", Reply(200, _CUT_OFF_FEED))
    config = _config(tmp_path, {"name": "journal", "kind": "rss", "url": url})
    code, out, _ = _invoke("--config", str(config), "ingest")
    assert code == 0, out
    assert "journal: 3 entries, 2 new, 0 updated, 1 held back (incomplete" in out
    code, out, _ = _invoke("--config", str(config), "ingest", "--json")
    assert json.loads(out)["sources"][0]["n_held_back"] == 1


def _rss(*items: tuple[str, str]) -> bytes:
    """An RSS 2.0 feed of (title, RFC 822 date) items."""
    body = "".join(
        f"<item><title>{title}</title><link>https://example.org/{title.split()[0]}</link>"
        f"<description>What {title} finds about graph learning.</description>"
        f"<pubDate>{when}</pubDate></item>"
        for title, when in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>j</title>'
        f"<link>https://example.org</link><description>d</description>{body}</channel></rss>"
    ).encode()


#: A Wednesday paper, one published Sunday 20:00 UTC (Monday 05:00 in Tokyo), a Tuesday one.
_EDGE_OF_WEEK = (
    ("Alpha wednesday paper", "Wed, 11 Jun 2025 10:00:00 +0000"),
    ("Bravo sunday evening paper", "Sun, 15 Jun 2025 20:00:00 +0000"),
    ("Charlie tuesday paper", "Tue, 17 Jun 2025 10:00:00 +0000"),
)


def _tokyo_config(tmp_path: Path, url: str, **sections: object) -> str:
    """A config whose reader is in Tokyo, reading the RSS feed at `url`."""
    return str(
        write_config(
            tmp_path,
            paths={"digests_dir": "out"},
            digest={"timezone": "Asia/Tokyo"},
            sources=[{"name": "journal", "kind": "rss", "url": url}],
            **sections,
        )
    )


def test_a_week_is_the_readers_week_so_a_sunday_evening_utc_paper_is_mailed_in_tokyo(
    tmp_path: Path, server: FeedServer
) -> None:
    # Round 10: with [digest] timezone = "Asia/Tokyo", a paper published Sunday 20:00 UTC
    # (Monday 05:00 in Tokyo) was dated by its UTC day into 2025-W24, whose digest had been
    # built and mailed at Monday 07:00 Tokyo before the paper was ingested; 2025-W25's left it
    # out, so no e-mail ever listed it.
    wednesday, sunday_evening, tuesday = _EDGE_OF_WEEK
    url = server.route(
        "/feed.xml",
        Reply(body=_rss(wednesday)),
        Reply(body=_rss(wednesday, sunday_evening, tuesday)),
    )
    with smtp_server("none") as (inbox, port, _):
        config = _tokyo_config(tmp_path, url, email=mail_to_loopback(port))
        # Monday 02:00 Tokyo: the ingest sees the Wednesday paper; 07:00: 2025-W24 is mailed.
        assert _invoke("--config", config, "ingest")[0] == 0
        assert _invoke("--config", config, "build", "--week", "2025-W24")[0] == 0
        # Tuesday 02:00 Tokyo: the other two arrive; the week that ended is rebuilt, the next
        # week is built and mailed a week later.
        assert _invoke("--config", config, "ingest")[0] == 0
        assert _invoke("--config", config, "build", "--week", "2025-W24")[0] == 0
        assert _invoke("--config", config, "build", "--week", "2025-W25")[0] == 0
        mailed = {m["Subject"][-8:]: m.get_body(("plain",)).get_content() for m in inbox.messages}
    assert set(mailed) == {"2025-W24", "2025-W25"}
    assert "Bravo sunday evening paper" in mailed["2025-W25"]
    assert "Bravo sunday evening paper" not in mailed["2025-W24"]
    w24 = json.loads((tmp_path / "out" / "2025-W24.json").read_text(encoding="utf-8"))
    w25 = json.loads((tmp_path / "out" / "2025-W25.json").read_text(encoding="utf-8"))
    assert (w24["n_papers"], w25["n_papers"]) == (1, 2)


def test_explain_names_the_readers_week_of_a_sunday_evening_utc_paper(
    tmp_path: Path, server: FeedServer
) -> None:
    # explain and mark scored a paper in the week of its UTC day, so for a reader in Tokyo they
    # named 2025-W24 for a paper that 2025-W25's digest lists.
    url = server.route("/feed.xml", Reply(body=_rss(*_EDGE_OF_WEEK)))
    config = _tokyo_config(tmp_path, url)
    assert _invoke("--config", config, "ingest")[0] == 0
    code, out, err = _invoke("--config", config, "explain", "Bravo sunday evening paper")
    assert code == 0, err
    assert "2025-W25" in out and "2025-W24" not in out


def test_a_paper_dated_without_a_time_is_in_its_days_week_for_a_reader_in_los_angeles(
    tmp_path: Path, server: FeedServer
) -> None:
    # A feed's dc:date "2025-06-16" (a Monday) was read as midnight UTC, Sunday 17:00 in Los
    # Angeles: 2025-W24's digest, dated 9-15 June, listed it and 2025-W25's did not.
    items = "".join(
        f"<item><title>{title}</title><link>https://example.org/{title.split()[0]}</link>"
        f"<description>What {title} finds about graph learning.</description>"
        f"<dc:date>{day}</dc:date></item>"
        for title, day in (
            ("Monday dated paper on graph learning", "2025-06-16"),
            ("Sunday dated paper on graph learning", "2025-06-15"),
        )
    )
    feed = (
        '<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>j</title><link>https://example.org</link>{items}</channel></rss>"
    )
    url = server.route("/feed.xml", Reply(body=feed.encode()))
    config = str(
        write_config(
            tmp_path,
            paths={"digests_dir": "out"},
            digest={"timezone": "America/Los_Angeles"},
            sources=[{"name": "journal", "kind": "rss", "url": url}],
        )
    )
    assert _invoke("--config", config, "ingest")[0] == 0
    for week in ("2025-W24", "2025-W25"):
        assert _invoke("--config", config, "build", "--week", week)[0] == 0
    listed = {
        week: [
            paper["title"]
            for section in json.loads((tmp_path / "out" / f"{week}.json").read_text("utf-8"))[
                "sections"
            ]
            for paper in section["papers"]
        ]
        for week in ("2025-W24", "2025-W25")
    }
    assert listed == {
        "2025-W24": ["Sunday dated paper on graph learning"],
        "2025-W25": ["Monday dated paper on graph learning"],
    }
    code, out, err = _invoke("--config", config, "explain", "Monday dated paper on graph learning")
    assert code == 0, err
    assert "2025-W25" in out and "2025-W24" not in out


def test_a_one_paper_week_is_reported_as_one_paper(tmp_path: Path, server: FeedServer) -> None:
    # Found from outside (round 10): "digest for 2025-W24 (1 papers)", "from 1 sources".
    url = server.route("/feed.xml", Reply(body=_rss(_EDGE_OF_WEEK[0])))
    config = _tokyo_config(tmp_path, url)
    code, out, _ = _invoke("--config", config, "ingest")
    assert code == 0 and "ingest: 1 new paper from 1 source\n" in out
    code, out, _ = _invoke("--config", config, "build", "--week", "2025-W24")
    assert code == 0 and "digest for 2025-W24 (1 paper): " in out


def test_explain_finds_a_paper_by_the_link_it_is_stored_under(
    tmp_path: Path, server: FeedServer
) -> None:
    # Found from outside (round 10): a paper with no arXiv id is stored as url:<its link>;
    # `explain <its link>`, what a reader copies from the digest, said "no stored paper".
    url = server.route("/feed.xml", Reply(body=_rss(*_EDGE_OF_WEEK)))
    config = _tokyo_config(tmp_path, url)
    assert _invoke("--config", config, "ingest")[0] == 0
    code, out, err = _invoke("--config", config, "explain", "https://example.org/Bravo/")
    assert code == 0, err
    assert "url:https://example.org/Bravo" in out
    code, _, err = _invoke("--config", config, "explain", "https://example.org/Nobody")
    assert code == 2 and "no stored paper" in err


#: The edge of the week, and a paper published Monday 03:00 UTC (Sunday 20:00 in Los Angeles).
_AROUND_MIDNIGHT = (
    *_EDGE_OF_WEEK,
    ("Delta monday early utc paper", "Mon, 16 Jun 2025 03:00:00 +0000"),
)


def _as_the_previous_version_left_it(database: Path) -> None:
    """The store as the version before week boundaries left it (schema 4): it built and mailed
    UTC weeks and recorded no boundary (nor what later schemas added: papers.sample_key, the
    papers each digest listed)."""
    conn = sqlite3.connect(database)
    conn.execute("DROP TABLE IF EXISTS week_boundaries")
    conn.execute("DROP TABLE IF EXISTS listed_papers")
    conn.execute("DROP INDEX IF EXISTS papers_doi_lower")
    conn.execute("DROP INDEX IF EXISTS papers_sample_key")
    conn.execute("ALTER TABLE papers DROP COLUMN sample_key")
    conn.execute("PRAGMA user_version = 4")
    conn.commit()
    conn.close()


def _mail_two_weeks(
    tmp_path: Path, url: str, zones: tuple[str, str], *, upgrade: bool
) -> dict[str, list[str]]:
    """Build and e-mail 2025-W24 with [digest] timezone = zones[0], then 2025-W25 with zones[1]
    (`upgrade`: the first by the previous version); the titles each e-mail listed."""
    with smtp_server("none") as (inbox, port, _):
        for week, zone in zip(("2025-W24", "2025-W25"), zones, strict=True):
            config = _zone_config(tmp_path, url, zone, email=mail_to_loopback(port))
            if week == "2025-W24":
                assert _invoke("--config", config, "ingest")[0] == 0
            assert _invoke("--config", config, "build", "--week", week)[0] == 0
            if upgrade and week == "2025-W24":
                _as_the_previous_version_left_it(tmp_path / "data" / "pipeline.sqlite3")
        mailed = {m["Subject"][-8:]: m.get_body(("plain",)).get_content() for m in inbox.messages}
    return {week: [t for t, _ in _AROUND_MIDNIGHT if t in body] for week, body in mailed.items()}


def _zone_config(tmp_path: Path, url: str, zone: str, **sections: object) -> str:
    return str(
        write_config(
            tmp_path,
            paths={"digests_dir": "out"},
            digest={"timezone": zone},
            sources=[{"name": "journal", "kind": "rss", "url": url}],
            **sections,
        )
    )


@pytest.mark.parametrize(
    ("zones", "upgrade", "in_w24"),
    [
        # Upgrading from UTC weeks: in Tokyo the Sunday-evening-UTC paper, mailed in 2025-W24,
        # was mailed again in 2025-W25; in Los Angeles the Monday-03:00-UTC paper (Sunday
        # evening there) was in neither e-mail.
        (("UTC", "Asia/Tokyo"), True, ("Alpha", "Bravo")),
        (("UTC", "America/Los_Angeles"), True, ("Alpha", "Bravo")),
        # Changing [digest] timezone between two weeks does the same.
        (("Asia/Tokyo", "America/Los_Angeles"), False, ("Alpha",)),
        (("America/Los_Angeles", "Asia/Tokyo"), False, ("Alpha", "Bravo", "Delta")),
    ],
)
def test_every_paper_is_mailed_once_across_an_upgrade_or_a_change_of_timezone(
    tmp_path: Path,
    server: FeedServer,
    zones: tuple[str, str],
    upgrade: bool,
    in_w24: tuple[str, ...],
) -> None:
    url = server.route("/feed.xml", Reply(body=_rss(*_AROUND_MIDNIGHT)))
    mailed = _mail_two_weeks(tmp_path, url, zones, upgrade=upgrade)
    titles = [title for title, _ in _AROUND_MIDNIGHT]
    assert mailed["2025-W24"] == [t for t in titles if t.split()[0] in in_w24]
    assert mailed["2025-W25"] == [t for t in titles if t.split()[0] not in in_w24]
    # explain names the week whose e-mail listed the paper (it crashed on a paper the week
    # it named did not hold).
    config = _zone_config(tmp_path, url, zones[1])
    for title in titles:
        code, out, err = _invoke("--config", config, "explain", title)
        week = "2025-W24" if title.split()[0] in in_w24 else "2025-W25"
        assert code == 0, err
        assert f"\n{week}: in section" in out, (title, out)
    # Later weeks are the new zone's: the boundary after 2025-W25 is drawn there.
    with run.open_store(load_settings(Path(config))) as store:
        assert store.list_week_boundaries(["2025-W26"]) == {"2025-W26": zones[1]}


def test_check_config_warns_of_a_build_line_that_fires_before_the_readers_week_ends(
    tmp_path: Path,
) -> None:
    # Found from outside (round 10): with [schedule] timezone left at UTC and the reader in Los
    # Angeles, the Monday 07:00 build fired on Sunday evening there and made every digest a
    # week late; nothing said so.
    west = write_config(
        tmp_path, paths={"digests_dir": "out"}, digest={"timezone": "America/Los_Angeles"}
    )
    code, _, err = _invoke("--config", str(west), "check-config")
    assert code == 0
    assert "warning: schedule.build_cron: fires Mon 07:00 UTC, which is Sun 23:00" in err
    assert 'set [schedule] timezone = "America/Los_Angeles"' in err
    for fixed in (
        {
            "digest": {"timezone": "America/Los_Angeles"},
            "schedule": {"timezone": "America/Los_Angeles"},
        },
        {"digest": {"timezone": "Asia/Tokyo"}},
    ):
        config = write_config(tmp_path, paths={"digests_dir": "out"}, **fixed)
        code, _, err = _invoke("--config", str(config), "check-config")
        assert code == 0 and "schedule.build_cron" not in err


def test_check_config_warns_that_latest_mails_a_week_before_its_papers_are_in(
    tmp_path: Path,
) -> None:
    # Found by the round-11 soak: with week = "latest" and send_after_build, each week is
    # e-mailed by its first build, so a paper of that week ingested a day later is in the
    # digest files and never in an e-mail; nothing said so.
    email = mail_to_loopback(free_port())
    latest = write_config(tmp_path, paths={"digests_dir": "out"}, digest={"week": "latest"},
                          email=email)  # fmt: skip
    code, _, err = _invoke("--config", str(latest), "check-config")
    assert code == 0
    assert 'warning: digest.week: "latest" with email.send_after_build' in err
    for fine in ({"digest": {"week": "last-complete"}, "email": email},
                 {"digest": {"week": "latest"}}):  # fmt: skip
        config = write_config(tmp_path, paths={"digests_dir": "out"}, **fine)
        code, _, err = _invoke("--config", str(config), "check-config")
        assert code == 0 and "digest.week" not in err


def test_quiet_is_described_as_what_it_does(tmp_path: Path) -> None:
    # Round 22: `digest --help` said "-q, --quiet  Only warnings and errors.", but -q logs
    # errors only (as docs/deploy.md says): a cron line written with -q to keep warnings, about
    # a source's bad entries or a digest not e-mailed, got none of them.
    papers = tmp_path / "papers.jsonl"
    papers.write_text('{"id": 2506.1, "title": "A numbered paper"}\n', encoding="utf-8")
    for quiet, root in (([], tmp_path / "a"), (["-q"], tmp_path / "b")):
        root.mkdir()
        config = _config(root, file_source("mine", papers))
        code, _, err = _invoke("--config", str(config), *quiet, "ingest")
        assert code == 0 and ("id 2506.1 is a number" in err) == (not quiet), err
    code, out, _ = _invoke("--help")
    assert code == 0
    quiet = next(line for line in out.splitlines() if "--quiet" in line)
    assert quiet.split("--quiet")[1].strip() == "Only errors (no warnings).", quiet


def test_a_store_of_an_earlier_version_is_migrated_once_and_the_run_says_so(
    tmp_path: Path,
) -> None:
    # Round 29: a store an earlier version wrote was migrated by the first build after the
    # upgrade without a word, so nothing told the user that the version they upgraded from
    # could no longer open it ("newer than this program's", the day they rolled back).
    config = _config(tmp_path, file_source("d10", DATA / "e2e" / "arxiv-2025-06-10.jsonl"))
    code, _, err = _invoke("--config", str(config), "ingest")
    assert code == 0 and "schema" not in err, err  # a new store: nothing to say
    database = tmp_path / "data" / "pipeline.sqlite3"
    with sqlite3.connect(database) as conn:  # as the version before migrations 11 and 12 left it
        conn.execute("PRAGMA user_version = 10")
    conn.close()
    code, _, err = _invoke("--config", str(config), "build", "--week", "2025-W24")
    assert code == 0
    assert (
        f"database {database}: migrated from schema version 10 to {SCHEMA_VERSION}, this"
        " program's; a version of the program whose schema is older refuses it from now on"
        " (to go back, restore a copy of the store made before the upgrade)"
    ) in err, err
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert conn.execute("SELECT count(*) FROM papers").fetchone() == (8,)
    conn.close()
    code, _, err = _invoke("--config", str(config), "build", "--week", "2025-W24")
    assert code == 0 and "migrated" not in err, err  # said once


class _NamedEmbedder(FakeEmbedder):
    """The fake model under the name [embed] model gives it: two names, two models."""

    def __init__(self, model: str) -> None:
        super().__init__()
        self.model = model

    @property
    def name(self) -> str:
        return self.model


def test_after_a_change_of_model_topic_boundaries_are_learnt_from_the_stored_sample_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Round 29: after `[embed] model` was changed, a build embedded its own week's papers only;
    # the stored papers topic boundaries are learnt from (a fixed sample of the store, ids that
    # hash lowest) kept vectors of the old model alone, so every boundary was learnt from the
    # week's papers, and, new papers seldom joining that sample, stayed so for good.
    monkeypatch.setattr(run, "make_embedder", lambda settings: _NamedEmbedder(settings.embed.model))
    may = tmp_path / "may.jsonl"
    lines = (DATA / "e2e" / "arxiv-2025-06-11.jsonl").read_text(encoding="utf-8").splitlines()
    may.write_text(
        "".join(
            json.dumps({**json.loads(line), "created": "2025-05-13 10:00:00"}) + "\n"
            for line in lines
        ),
        encoding="utf-8",
    )
    sources = (
        file_source("may", may),
        file_source("june", DATA / "e2e" / "arxiv-2025-06-10.jsonl"),
    )
    config = _config(tmp_path, *sources, embed={"model": "model-a"})
    code, out, _ = _invoke("--config", str(config), "ingest")
    assert code == 0 and "16 new papers" in out, out
    config = _config(tmp_path, *sources, embed={"model": "model-b"})
    code, out, err = _invoke("--config", str(config), "build", "--week", "2025-W24")
    assert code == 0, out + err
    database = tmp_path / "data" / "pipeline.sqlite3"
    with sqlite3.connect(database) as conn:
        found = conn.execute(
            "SELECT model, count(*) FROM embeddings WHERE item_id LIKE 'arxiv:%' GROUP BY model"
        ).fetchall()
    conn.close()
    assert dict(found) == {"model-a": 16, "model-b": 16}  # the May papers too: the sample
    assert "stored papers topic boundaries are learnt from" in err, err


def test_status_counts_the_vectors_of_a_model_no_longer_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Round 29: a change of [embed] model left the old model's vectors in the store (1.5 kB a
    # paper: gigabytes after a few years), and nothing said they were there, nor how to
    # delete them.
    monkeypatch.setattr(run, "make_embedder", lambda settings: _NamedEmbedder(settings.embed.model))
    source = file_source("d10", DATA / "e2e" / "arxiv-2025-06-10.jsonl")
    config = _config(tmp_path, source, embed={"model": "model-a"})
    assert _invoke("--config", str(config), "run")[0] == 0
    code, out, _ = _invoke("--config", str(config), "status")
    assert code == 0 and "vectors of a model" not in out, out  # one model: nothing to say
    config = _config(tmp_path, source, embed={"model": "model-b"})
    assert _invoke("--config", str(config), "run")[0] == 0
    with sqlite3.connect(tmp_path / "data" / "pipeline.sqlite3") as conn:
        kept = conn.execute("SELECT count(*) FROM embeddings WHERE model = 'model-a'").fetchone()
    conn.close()
    code, out, _ = _invoke("--config", str(config), "status")
    assert code == 0
    assert (
        f"vectors of a model [embed] model no longer names: model-a ({kept[0]}), kept so that"
        " changing back embeds nothing; README, [embed], says how to delete them"
    ) in out, out
    code, out, _ = _invoke("--config", str(config), "status", "--json")
    data = json.loads(out)
    assert data["vectors"] == {"model": "model-b", "unused": {"model-a": kept[0]}}
