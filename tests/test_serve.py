"""`digest serve`, `digest run` and `digest status` as real processes (the issue's acceptance).

A real HTTP server on 127.0.0.1 plays the feed: it fails once, answers, then hangs, so that the
tests can see a failure survived, a run holding the lock, and SIGTERM arriving mid-run.
These start the real packaged model once (the first successful ingest embeds 8 papers).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import file_source, mail_to_loopback, write_config
from httpserver import FeedServer, Reply
from smtpserver import free_port, smtp_server

from pipeline.digest.build import week_bounds
from pipeline.run.weeks import earlier_weeks, resolve_week
from pipeline.service.lock import read_holder
from pipeline.store import Store

E2E = Path(__file__).parent / "data" / "e2e" / "arxiv-2025-06-10.jsonl"
ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.model, pytest.mark.slow]  # real processes and the real model


def _config(tmp_path: Path, url: str, *, ingest: str, build: str, **sections: object) -> Path:
    return write_config(
        tmp_path,
        **sections,
        fetch={"retries": 0, "timeout_s": 60.0},
        digest={"week": "latest"},
        schedule={"ingest_cron": ingest, "build_cron": build, "misfire_grace_s": 5},
        sources=[file_source("papers", url)],
    )


def _digest(config: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "--config", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.1)


def _runs(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT command, status FROM runs ORDER BY run_id").fetchall()


def test_serve_repeats_jobs_survives_a_failure_refuses_a_second_run_and_stops_on_sigterm(
    tmp_path: Path, server: FeedServer
) -> None:
    body = E2E.read_bytes()
    url = server.route(
        "/papers.jsonl",
        Reply(500, b"down"),  # the catch-up ingest fails
        Reply(200, body),  # the next one stores and embeds 8 papers
        Reply(200, body),  # then nothing new
        Reply(200, body, delay_s=60),  # and then it hangs, holding the lock
    )
    config = _config(tmp_path, url, ingest="*/2 * * * * *", build="*/3 * * * * *")
    db = tmp_path / "data" / "pipeline.sqlite3"
    service = _digest(config, "serve")
    try:
        _wait_for(lambda: len(server.hits) >= 4, 120, "the fourth ingest to start")
        _wait_for(lambda: read_holder(tmp_path / "data" / "pipeline.lock") is not None, 10, "lock")

        second = _digest(config, "run")
        out, err = second.communicate(timeout=60)
        assert second.returncode == 1
        assert "another run holds the lock: `digest ingest` (pid" in err
        assert "Traceback" not in err

        service.send_signal(signal.SIGTERM)
        out, err = service.communicate(timeout=30)
    finally:
        if service.poll() is None:
            service.kill()
    assert service.returncode == 0, err
    assert "digest serve stopped" in err
    assert "Traceback" not in err  # the failed job is one error line, not a bug's traceback…
    assert "catch-up ingest failed: `digest ingest` exited with status 1" in err

    runs = _runs(db)
    assert runs[0] == ("ingest", "failed")  # …and the later ones still ran
    assert runs.count(("ingest", "ok")) >= 2
    assert runs.count(("build", "ok")) >= 2
    assert runs[-1] == ("ingest", "interrupted")
    assert "running" not in {status for _, status in runs}
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM papers").fetchone() == (8,)
    digests = sorted(p.name for p in (tmp_path / "digests").iterdir())
    assert "2025-W24.md" in digests
    assert [name for name in digests if name.startswith(".")] == [".written-by.json"]  # no temp
    assert read_holder(tmp_path / "data" / "pipeline.lock") is None

    status = _digest(config, "status", "--json")
    out, err = status.communicate(timeout=60)
    assert status.returncode == 0, err  # the last run was interrupted, not failed
    report = json.loads(out)
    assert report["runs"][0]["status"] == "interrupted"
    assert report["last_run"]["command"] == "ingest"
    assert report["sources"][0]["source"] == "papers"
    assert report["sources"][0]["last_success"] is not None
    assert report["next_ingest"] and report["next_build"]
    assert "2025-W24" in [d["week"] for d in report["digests"]]


def test_sigterm_during_a_manual_run_rolls_back_and_says_so(
    tmp_path: Path, server: FeedServer
) -> None:
    url = server.route("/papers.jsonl", Reply(200, E2E.read_bytes(), delay_s=60))
    config = _config(tmp_path, url, ingest="0 2 * * mon-fri", build="0 7 * * mon")
    run = _digest(config, "ingest")
    try:
        _wait_for(lambda: len(server.hits) >= 1, 60, "the ingest to fetch")
        run.send_signal(signal.SIGTERM)
        out, err = run.communicate(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 128 + signal.SIGTERM
    assert "stopped by SIGTERM: the ingest (if it had started) is recorded as interrupted" in err
    assert "Traceback" not in err
    assert _runs(tmp_path / "data" / "pipeline.sqlite3") == [("ingest", "interrupted")]
    assert read_holder(tmp_path / "data" / "pipeline.lock") is None

    status = _digest(config, "status")
    out, _ = status.communicate(timeout=60)
    assert status.returncode == 0
    assert "interrupted" in out


def test_serve_after_three_weeks_down_builds_and_mails_each_missed_week_once(
    tmp_path: Path,
) -> None:
    # Catch-up built only the newest missed week, and a week whose e-mail failed was never sent.
    now = datetime.now(UTC)
    newest = resolve_week("last-complete", latest_day=None, now=now, timezone="UTC")
    missed, built = [*earlier_weeks(newest, 2), newest], earlier_weeks(newest, 3)[0]
    records = [
        {
            "id": f"arxiv:2506.{n:05d}",
            "title": f"Sparse attention for long context, part {n}",
            "abstract": "We study sparse attention and state space models for long sequences.",
            "announced": week_bounds(week)[0].isoformat(),
        }
        for n, week in enumerate(missed, start=1)
    ]
    (tmp_path / "papers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))

    def configure(port: int) -> Path:
        return write_config(
            tmp_path,
            schedule={"ingest_cron": "0 2 * * mon-fri", "build_cron": "0 0 * * mon"},
            email=mail_to_loopback(port),
            sources=[file_source("papers", "papers.jsonl")],
        )

    db = tmp_path / "data" / "pipeline.sqlite3"
    config = configure(free_port())  # the SMTP server is down at first
    with Store.open(db) as store:  # the last build before the downtime
        run_id = store.start_run("build", now - timedelta(days=22))
        store.finish_run(run_id, now - timedelta(days=22), "ok", {"week": built})

    log = tmp_path / "serve.log"

    def serve_until(condition: Callable[[], bool], what: str) -> str:
        log.write_text("")
        service = _digest(config, "--log-file", str(log), "serve")
        try:
            _wait_for(condition, 180, what)
            service.send_signal(signal.SIGTERM)
            _, err = service.communicate(timeout=60)
        finally:
            if service.poll() is None:
                service.kill()
        assert service.returncode == 0, err
        return err

    builds = lambda: [s for c, s in _runs(db) if c == "build" and s != "running"]  # noqa: E731
    err = serve_until(lambda: len(builds()) >= 4, "three catch-up builds")
    assert f"catch-up: ingest, build {missed[0]}, build {missed[1]}, build {missed[2]}" in err
    assert builds() == ["ok", "failed", "failed", "failed"]  # written, not e-mailed
    with smtp_server("none") as (inbox, port, _):
        config = configure(port)
        serve_until(lambda: len(inbox.messages) >= 3 and len(builds()) >= 7, "three e-mails")
        err = serve_until(lambda: "catch-up: nothing" in log.read_text(), "the restart's catch-up")
    assert "catch-up: nothing was missed" in err
    assert [str(m["Subject"])[-8:] for m in inbox.messages] == missed  # once each, in order
    for week in missed:
        assert (tmp_path / "digests" / f"{week}.md").exists()


def test_serve_on_a_store_replaced_by_garbage_fails_each_job_in_the_stores_one_line(
    tmp_path: Path,
) -> None:
    # Round 10: each job logged two lines, the child's (naming the file) and its own "build
    # failed: `digest build` exited with status 1". Now one line per fire, no child, no
    # traceback, the file untouched, and `digest status` exits 1 naming it.
    config = _config(tmp_path, str(E2E), ingest="*/2 * * * * *", build="1/2 * * * * *")
    db = tmp_path / "data" / "pipeline.sqlite3"
    db.parent.mkdir()
    garbage = os.urandom(64 * 1024)
    db.write_bytes(garbage)
    log = tmp_path / "serve.log"
    started = time.monotonic()
    service = _digest(config, "--log-file", str(log), "serve")
    try:
        failed = lambda job: log.read_text().count(f" {job} failed: ") if log.exists() else 0  # noqa: E731
        _wait_for(lambda: failed("ingest") >= 2 and failed("build") >= 2, 60, "two failed fires")
        service.send_signal(signal.SIGTERM)
        _, err = service.communicate(timeout=30)
    finally:
        if service.poll() is None:
            service.kill()
    elapsed_s = time.monotonic() - started
    assert service.returncode == 0, err
    assert "Traceback" not in err
    errors = [line for line in log.read_text().splitlines() if " ERROR " in line]
    said = f"database {db} is damaged (file is not a database); nothing was written to it"
    for line in errors:
        job = line.split(": ", 1)[1].split(" failed: ")[0]
        assert job in ("catch-up", "ingest", "build"), line
        assert line.endswith(f"{job} failed: {said}: restore it from a backup, or move it aside")
    assert len(errors) <= elapsed_s + 2  # one line per fire (a fire each second), no spinning
    assert db.read_bytes() == garbage
    status = _digest(config, "status")
    out, err = status.communicate(timeout=60)
    assert status.returncode == 1 and out == ""
    assert err.startswith(f"error: {said}") and err.count("\n") == 1


def test_serve_with_week_latest_mails_a_week_whose_e_mail_failed_after_the_next_week_starts(
    tmp_path: Path,
) -> None:
    # Found by benchmarks/soak_serve.py: with [digest] week = "latest", the build of W28 wrote
    # its digest but the SMTP server refused it; the next ingest brought a W29 paper, so the
    # "latest" week moved on, serve built and mailed W29, and W28 was never e-mailed (catch-up
    # looked at the configured week alone), while `digest status` said "health: ok".
    def paper(n: int, day: str) -> str:
        return json.dumps(
            {
                "id": f"arxiv:2507.{n:05d}",
                "title": f"Sparse attention for long context, part {n}",
                "abstract": "We study sparse attention and state space models for long sequences.",
                "announced": day,
            }
        )

    papers = tmp_path / "papers.jsonl"
    papers.write_text(paper(1, "2025-07-08") + "\n" + paper(2, "2025-07-09") + "\n")  # W28
    port = free_port()  # nothing listens there yet: the SMTP server is down
    config = write_config(
        tmp_path,
        digest={"week": "latest"},
        schedule={"ingest_cron": "*/2 * * * * *", "build_cron": "1/2 * * * * *"},
        email=mail_to_loopback(port),
        sources=[file_source("papers", "papers.jsonl")],
    )
    db = tmp_path / "data" / "pipeline.sqlite3"
    log = tmp_path / "serve.log"

    def count(command: str, status: str) -> int:
        try:
            return _runs(db).count((command, status))
        except sqlite3.OperationalError:  # not created yet
            return 0

    service = _digest(config, "--log-file", str(log), "serve")
    try:
        _wait_for(lambda: count("build", "failed") >= 1, 120, "a build not mailed")
        with smtp_server("none", port=port) as (inbox, _, _):
            with papers.open("a") as f:
                f.write(paper(3, "2025-07-15") + "\n")  # W29: "latest" moves on
            _wait_for(lambda: len(inbox.messages) >= 1, 120, "an e-mail")
            ingests = count("ingest", "ok")
            # Two more ingests, each followed by the builds catch-up plans.
            _wait_for(lambda: count("ingest", "ok") >= ingests + 2, 120, "two more ingests")
            service.send_signal(signal.SIGTERM)
            _, err = service.communicate(timeout=60)
    finally:
        if service.poll() is None:
            service.kill()
    assert service.returncode == 0, err
    assert sorted(str(m["Subject"])[-8:] for m in inbox.messages) == ["2025-W28", "2025-W29"]


def test_serve_follows_a_data_dir_edited_while_it_runs_and_keeps_one_serve_there(
    tmp_path: Path,
) -> None:
    # Round 26: a user moved the store to a bigger disk (a copy in data2) and edited data_dir
    # while serve ran. The jobs, which read the config each time, used data2, but serve's lock
    # stayed in data/, so a second `digest serve` of the config started on data2 and both ran
    # every job. The first job after the edit takes the lock in data2 and says so.
    config = _config(tmp_path, str(E2E), ingest="*/2 * * * * *", build="0 7 1 1 *")
    data2 = {"data_dir": "data2"}
    first = _digest(config, "ingest")
    assert first.wait(timeout=120) == 0, first.communicate()[1]
    shutil.copytree(tmp_path / "data", tmp_path / "data2")
    log = tmp_path / "serve.log"
    service = _digest(config, "--log-file", str(log), "serve", "--no-catch-up")
    second = None
    try:
        _wait_for(lambda: log.exists() and "ingest ok" in log.read_text(), 60, "an ingest")
        _config(tmp_path, str(E2E), ingest="*/2 * * * * *", build="0 7 1 1 *", paths=data2)
        moved = "paths.data_dir changed in"
        _wait_for(lambda: moved in log.read_text(), 30, "the lock to move")
        assert read_holder(tmp_path / "data" / "serve.lock") is None
        second = _digest(config, "serve")
        _, err = second.communicate(timeout=30)
        assert second.returncode == 1, err
        assert "another run holds the lock: `digest serve`" in err
        assert str(tmp_path / "data2" / "serve.lock") in err
        _wait_for(lambda: log.read_text().count("ingest ok") >= 3, 30, "ingests in data2")
        service.send_signal(signal.SIGTERM)
        _, err = service.communicate(timeout=30)
    finally:
        for process in (service, second):
            if process is not None and process.poll() is None:
                process.kill()
    assert service.returncode == 0, err
    assert "Traceback" not in log.read_text()
    assert ("ingest", "ok") in _runs(tmp_path / "data2" / "pipeline.sqlite3")
    assert read_holder(tmp_path / "data2" / "serve.lock") is None
