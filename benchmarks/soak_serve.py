"""Soak test of `digest serve`: run it for a long time against live inputs and watch what grows.

    python -m benchmarks.soak_serve [--minutes 40] [--ingest-every 20] [--build-every 30]
        [--sample-s 60] [--day-s 30] [--workdir DIR] [--no-disturb | --only NAME]

    e.g. 42 min, 278 runs: --minutes 42 --ingest-every 15 --build-every 20 --day-s 30
    the e-mail refused across a week change: --minutes 9 --ingest-every 20 --build-every 30
        --day-s 8 --only smtp_refuse_across_a_week

Inputs, all real and on 127.0.0.1: an RSS feed from an HTTP server in this process that adds a
few entries per request (titles and abstracts from examples/data/*.jsonl), a JSONL file this
process appends to, and an SMTP server (aiosmtpd) that records every message. The service runs
as a real `python -m pipeline serve` with a --log-file, on 6-field crontab lines (a seconds
field, as the tests use). A simulated calendar dates the new papers: one day every --day-s
seconds, so `[digest] week = "latest"` moves on and each week is built and e-mailed.

Every --sample-s the driver records the serve process's RSS, open fds and threads, the SQLite
file and its -wal, the log, the runs recorded, papers, digests and e-mails; at the end it prints
the first and last value and the slope per hour of each. Unless --no-disturb, it also SIGKILLs
serve mid-ingest and mid-build (with and without its child), stops the feed for a few fires, has
the SMTP server refuse for a fire and across a week change, edits and breaks config.toml, and
SIGTERMs serve mid-run, then checks (and prints, never asserts) that no e-mail went twice, no
week went unmailed, no paper was lost, no run is left "running" and the lock is free.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "examples" / "data"
START_DAY = date(2025, 7, 7)  # a Monday: the simulated calendar starts a week here


# --- inputs ---------------------------------------------------------------------------------


class Pool:
    """Real titles and abstracts, handed out one by one; cycled with a round marker."""

    def __init__(self, records: list[dict[str, Any]], prefix: str) -> None:
        self.records = records
        self.prefix = prefix
        self.n = 0
        self.issued: list[str] = []  # titles handed out

    def take(self) -> tuple[int, str, str]:
        record = self.records[self.n % len(self.records)]
        rnd = self.n // len(self.records)
        title = " ".join(record["title"].split()) + (f" (round {rnd})" if rnd else "")
        self.n += 1
        self.issued.append(title)
        return self.n, title, " ".join(record.get("abstract", "").split())


def load_pools() -> tuple[Pool, Pool]:
    records = []
    for path in sorted(DATA.glob("arxiv-*.jsonl")):
        records += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return Pool(records[0::2], "rss"), Pool(records[1::2], "file")


class Calendar:
    """The simulated day: START_DAY plus one day per `day_s` seconds of wall time."""

    def __init__(self, day_s: float) -> None:
        self.day_s = day_s
        self.t0 = time.monotonic()

    def today(self) -> date:
        return START_DAY + timedelta(days=int((time.monotonic() - self.t0) / self.day_s))


class Feed:
    """An RSS 2.0 feed that grows by `per_request` items on each GET; the latest 30 are served."""

    def __init__(self, pool: Pool, calendar: Calendar, per_request: int, port: int) -> None:
        self.pool, self.calendar, self.per_request, self.port = pool, calendar, per_request, port
        self.items: list[str] = []
        self.hits = 0
        self.lock = threading.Lock()
        self.httpd: ThreadingHTTPServer | None = None

    def start(self) -> None:
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = feed.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def render(self) -> str:
        with self.lock:
            self.hits += 1
            day = self.calendar.today()
            for _ in range(self.per_request):
                n, title, abstract = self.pool.take()
                moment = datetime(day.year, day.month, day.day, 9, n % 60, tzinfo=UTC)
                self.items.append(
                    "<item>"
                    f"<title>{html.escape(title)}</title>"
                    f"<link>https://journal.example.org/article/{n}</link>"
                    f"<guid>https://journal.example.org/article/{n}</guid>"
                    f"<description>{html.escape(abstract)}</description>"
                    f"<author>Ada Lovelace</author>"
                    f"<pubDate>{format_datetime(moment)}</pubDate>"
                    "</item>"
                )
            items = "".join(reversed(self.items[-30:]))
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            "<title>Soak journal</title><link>https://journal.example.org/</link>"
            f"<description>new articles</description>{items}</channel></rss>"
        )


class Appender:
    """Appends `per_tick` papers to a JSONL file every `every_s` seconds, dated by the calendar."""

    def __init__(self, pool: Pool, calendar: Calendar, path: Path, per_tick: int) -> None:
        self.pool, self.calendar, self.path, self.per_tick = pool, calendar, path, per_tick
        path.write_text("")

    def tick(self) -> None:
        day = self.calendar.today().isoformat()
        lines = []
        for _ in range(self.per_tick):
            n, title, abstract = self.pool.take()
            record = {
                "title": title,
                "abstract": abstract,
                "url": f"https://preprints.example.org/{n}",
                "authors": ["Grace Hopper"],
                "announced": day,
            }
            lines.append(json.dumps(record) + "\n")
        with self.path.open("a") as f:
            f.write("".join(lines))  # one write: the reader never sees half a record


@dataclass
class Inbox:
    """The SMTP server's side: what arrived, and whether it refuses (451, a temporary error)."""

    subjects: list[str] = field(default_factory=list)
    refusing: bool = False
    refused: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusing:
            self.refused += 1
            return "451 4.3.0 mailbox busy, try again later"
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.content, policy=policy.default)
        self.subjects.append(str(message["Subject"]))
        return "250 OK"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the service ------------------------------------------------------------------------------


@dataclass
class Soak:
    workdir: Path
    config: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    events: list[str] = field(default_factory=list)
    starts: int = 0
    busy: bool = False  # a disturbance is restarting serve itself
    t0: float = field(default_factory=time.monotonic)

    @property
    def db(self) -> Path:
        return self.workdir / "data" / "pipeline.sqlite3"

    def note(self, text: str) -> None:
        line = f"[{time.monotonic() - self.t0:7.1f} s] {text}"
        self.events.append(line)
        print(line, flush=True)

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}

    def start(self) -> None:
        self.starts += 1
        err = (self.workdir / f"serve-{self.starts}.err").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "--config", str(self.config), "--log-file",
             str(self.log), "serve"],
            stdout=subprocess.DEVNULL, stderr=err, env=self.env(),
        )  # fmt: skip
        self.note(f"serve started (pid {self.proc.pid})")

    def digest(self, *args: str) -> tuple[int, str, str]:
        done = subprocess.run(
            [sys.executable, "-m", "pipeline", "--config", str(self.config), *args],
            capture_output=True, text=True, env=self.env(), timeout=120,
        )  # fmt: skip
        return done.returncode, done.stdout, done.stderr

    def holder(self) -> dict[str, Any] | None:
        from pipeline.service.lock import read_holder

        found = read_holder(self.workdir / "data" / "pipeline.lock")
        return None if found is None else {"pid": found.pid, "command": found.command}

    def wait_for_child(self, command: str, timeout_s: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.holder()
            if found and found["command"] == command:
                return found
            time.sleep(0.2)
        return None

    def kill(self, *, child: bool, command: str) -> None:
        """SIGKILL serve (and the child holding the lock, when `child`) while `command` runs."""
        found = self.wait_for_child(command, 120)
        if found is None:
            self.note(f"no {command} seen within 120 s: SIGKILL skipped")
            return
        time.sleep(1.0)  # let it get into its work (the model loads, the fetch starts)
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        what = "serve"
        if child:
            try:
                os.kill(found["pid"], signal.SIGKILL)
                what += f" and its child `digest {command}` (pid {found['pid']})"
            except ProcessLookupError:
                what += f" (its child `digest {command}` had ended)"
        self.note(f"SIGKILL {what} mid-{command}")

    def terminate(self, *, mid_run: bool) -> int:
        assert self.proc is not None
        if mid_run:
            self.wait_for_child("ingest", 120) or self.wait_for_child("build", 60)
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
            self.note("SIGTERM: serve did not exit within 90 s; killed")
        took = time.monotonic() - started
        self.note(
            f"SIGTERM{' mid-run' if mid_run else ''}: exit {code} in {took:.1f} s, "
            f"lock holder after: {self.holder()}"
        )
        return code


# --- sampling ---------------------------------------------------------------------------------


def _proc_figures(pid: int) -> dict[str, float]:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return {}
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {
        "rss_mib": int(fields["VmRSS"].split()[0]) / 1024,
        "fds": fds,
        "threads": int(fields["Threads"]),
    }


def _size(path: Path) -> float:
    return path.stat().st_size / 1024 if path.exists() else 0.0


def sample(soak: Soak, inbox: Inbox) -> dict[str, float]:
    row: dict[str, float] = {"t_s": time.monotonic() - soak.t0}
    if soak.proc is not None and soak.proc.poll() is None:
        row.update(_proc_figures(soak.proc.pid))
    row["db_kib"] = _size(soak.db)
    row["wal_kib"] = _size(soak.db.with_name(soak.db.name + "-wal"))
    row["log_kib"] = _size(soak.log)
    try:
        with sqlite3.connect(f"file:{soak.db}?mode=ro", uri=True, timeout=5) as conn:
            row["runs"] = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
            row["runs_ok"] = conn.execute(
                "SELECT count(*) FROM runs WHERE status = 'ok'"
            ).fetchone()[0]
            row["papers"] = conn.execute("SELECT count(*) FROM papers").fetchone()[0]
            row["report_kib"] = (
                conn.execute("SELECT coalesce(sum(length(report)), 0) FROM runs").fetchone()[0]
                / 1024
            )
    except sqlite3.Error:
        pass
    row["digests"] = len(list((soak.workdir / "digests").glob("*-W[0-9][0-9].md")))
    row["emails"] = len(inbox.subjects)
    return row


METRICS = (
    ("rss_mib", "serve RSS (MiB)"),
    ("fds", "serve open fds"),
    ("threads", "serve threads"),
    ("db_kib", "pipeline.sqlite3 (KiB)"),
    ("wal_kib", "pipeline.sqlite3-wal (KiB)"),
    ("log_kib", "log file (KiB)"),
    ("report_kib", "runs.report text (KiB)"),
    ("runs", "runs recorded"),
    ("runs_ok", "runs ok"),
    ("papers", "papers stored"),
    ("digests", "digests written"),
    ("emails", "e-mails received"),
)


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    cov = sum((t - mean_t) * (v - mean_v) for t, v in points)
    return cov / var * 3600 if var else 0.0


def print_table(rows: list[dict[str, float]], *, fires: int, duration_s: float) -> None:
    print(f"\nsoak: {duration_s / 60:.1f} min, {fires} runs recorded, {len(rows)} samples")
    print(f"{'metric':<28} {'first':>10} {'last':>10} {'slope/h':>10}  {'per run':>9}")
    for key, name in METRICS:
        points = [(r["t_s"], r[key]) for r in rows if key in r]
        if not points:
            continue
        slope = slope_per_hour(points)
        runs = rows[-1].get("runs", 0) - rows[0].get("runs", 0)
        per_run = (points[-1][1] - points[0][1]) / runs if runs else 0.0
        print(
            f"{name:<28} {points[0][1]:>10.1f} {points[-1][1]:>10.1f} {slope:>10.1f}  "
            f"{per_run:>9.2f}"
        )


# --- checks -----------------------------------------------------------------------------------


def checks(soak: Soak, inbox: Inbox, pools: tuple[Pool, Pool], feed_ok_titles: set[str]) -> None:
    print("\nchecks:")
    weeks = Counter(s.rsplit(" ", 1)[-1] for s in inbox.subjects)
    twice = {w: n for w, n in weeks.items() if n > 1}
    print(f"  e-mails per week: {dict(sorted(weeks.items()))}")
    print(f"  {'FAIL' if twice else 'ok  '} no week e-mailed twice {twice or ''}")
    with sqlite3.connect(soak.db) as conn:
        built = {
            row[0]
            for row in conn.execute(
                "SELECT DISTINCT json_extract(report, '$.week') FROM runs"
                " WHERE command = 'build' AND json_extract(report, '$.digest_path') IS NOT NULL"
            )
        }
        delivered = {row[0] for row in conn.execute("SELECT week FROM deliveries")}
        titles = {row[0] for row in conn.execute("SELECT title FROM papers")}
        running = conn.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()[0]
        statuses = dict(conn.execute("SELECT status, count(*) FROM runs GROUP BY status"))
    unmailed = sorted(built - set(weeks))
    print(f"  {'FAIL' if unmailed else 'ok  '} every week built was e-mailed {unmailed or ''}")
    unrecorded = sorted(set(weeks) - delivered)
    print(f"  {'FAIL' if unrecorded else 'ok  '} every e-mail recorded {unrecorded or ''}")
    files = pools[1]
    # The feed serves its latest 30 items: what went out while it was down or stopped is gone
    # from the feed itself (not the service's loss); count only what a fetch could have seen.
    lost_rss = sorted(feed_ok_titles - titles)
    lost_file = sorted(set(files.issued) - titles)
    for name, issued, lost in (
        ("feed", feed_ok_titles, lost_rss),
        ("file", set(files.issued), lost_file),
    ):
        stored = f"{len(issued) - len(lost)}/{len(issued)}"
        print(f"  {'FAIL' if lost else 'ok  '} {name} papers stored: {stored} {lost[:3]}")
    print(f"  run statuses: {statuses}; still 'running': {running}")
    print(f"  {'FAIL' if soak.holder() else 'ok  '} lock free at the end")


# --- the soak ---------------------------------------------------------------------------------


def write_config(workdir: Path, feed_url: str, smtp_port: int, args: argparse.Namespace) -> Path:
    import tomli_w

    demo = (ROOT / "examples" / "demo.toml").read_text()
    import tomllib

    topics = tomllib.loads(demo)["topics"]
    config = {
        "paths": {"data_dir": "data", "digests_dir": "digests"},
        "digest": {"title": "Soak digest", "week": "latest", "refresh_signals": False},
        "embed": {"model": "all-MiniLM-L6-v2", "progress": False},
        "fetch": {"retries": 1, "timeout_s": 10.0},
        "schedule": {
            "ingest_cron": f"*/{args.ingest_every} * * * * *",
            "build_cron": f"{args.ingest_every // 2}/{args.build_every} * * * * *",
            "misfire_grace_s": 60,
        },
        "email": {
            "send_after_build": True,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "security": "none",
            "sender": "digest@example.org",
            "recipients": ["me@example.org"],
            "subject": "{title} {week}",
        },
        "sources": [
            {"name": "journal", "kind": "rss", "url": feed_url},
            {"name": "preprints", "kind": "file", "url": "preprints.jsonl"},
        ],
        "topics": topics,
    }
    path = workdir / "config.toml"
    path.write_text(tomli_w.dumps(config))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=40.0)
    parser.add_argument("--ingest-every", type=int, default=20, help="seconds (divides 60)")
    parser.add_argument("--build-every", type=int, default=30, help="seconds (divides 60)")
    parser.add_argument("--sample-s", type=float, default=60.0)
    parser.add_argument("--warmup-s", type=float, default=120.0, help="left out of the slopes")
    parser.add_argument("--day-s", type=float, default=30.0, help="wall seconds per simulated day")
    parser.add_argument("--per-fire", type=int, default=3, help="new items per feed request")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--no-disturb", action="store_true")
    parser.add_argument("--only", default="", help="run only this disturbance (at mid-soak)")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="soak-serve-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"workdir {workdir}", flush=True)
    from aiosmtpd.controller import Controller

    calendar = Calendar(args.day_s)
    pools = load_pools()
    feed = Feed(pools[0], calendar, args.per_fire, free_port())
    feed.start()
    appender = Appender(pools[1], calendar, workdir / "preprints.jsonl", args.per_fire)
    inbox = Inbox()
    smtp_port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    config = write_config(workdir, f"http://127.0.0.1:{feed.port}/feed.xml", smtp_port, args)
    soak = Soak(workdir, config, workdir / "serve.log")
    feed_seen: set[str] = set()  # titles served while the feed was up

    duration_s = args.minutes * 60
    plan = [] if args.no_disturb else _disturbances(soak, feed, inbox, config, calendar)
    if args.only:
        plan = [(0.4, action) for _, action in plan if action.__name__ == args.only]
    rows: list[dict[str, float]] = []
    appender.tick()
    soak.start()
    threading.Thread(target=_disturb, args=(soak, plan, duration_s), daemon=True).start()
    next_sample = next_tick = time.monotonic()
    try:
        while time.monotonic() - soak.t0 < duration_s:
            now = time.monotonic()
            if now >= next_tick:
                appender.tick()
                next_tick = now + args.ingest_every
            if now >= next_sample:
                rows.append(sample(soak, inbox))
                r = rows[-1]
                print(
                    "  sample " + " ".join(f"{k}={r[k]:.0f}" for k, _ in METRICS if k in r),
                    flush=True,
                )
                next_sample = now + args.sample_s
            if not soak.busy and soak.proc is not None and soak.proc.poll() is not None:
                soak.note(f"serve exited by itself with {soak.proc.returncode}: restarting")
                soak.start()
            with feed.lock:
                if feed.httpd is not None:
                    feed_seen.update(_served_titles(feed))
            time.sleep(0.5)
        while soak.busy:
            time.sleep(0.5)
        rows.append(sample(soak, inbox))
        soak.terminate(mid_run=False)
    finally:
        if soak.proc is not None and soak.proc.poll() is None:
            soak.proc.kill()
        feed.stop()
        controller.stop()
    with sqlite3.connect(soak.db) as conn:
        fires = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
    steady = [r for r in rows if r["t_s"] >= args.warmup_s] or rows
    print_table(steady, fires=fires, duration_s=time.monotonic() - soak.t0)
    print("\nevents:")
    for line in soak.events:
        print("  " + line)
    checks(soak, inbox, pools, feed_seen)
    code, out, err = soak.digest("status")
    print(f"\ndigest status (exit {code}):\n{out}{err}")
    (workdir / "samples.json").write_text(json.dumps(rows, indent=1))


def _disturb(soak: Soak, plan: list[tuple[float, Any]], duration_s: float) -> None:
    for at, action in plan:
        while time.monotonic() - soak.t0 < at * duration_s:
            time.sleep(0.5)
        soak.busy = True
        try:
            action()
        except Exception as e:  # a driver bug: say so, keep soaking
            soak.note(f"disturbance {action.__name__} failed: {type(e).__name__}: {e}")
        finally:
            soak.busy = False


def _served_titles(feed: Feed) -> set[str]:
    return {html.unescape(i.split("<title>")[1].split("</title>")[0]) for i in feed.items[-30:]}


def _disturbances(
    soak: Soak, feed: Feed, inbox: Inbox, config: Path, calendar: Calendar
) -> list[tuple[float, Any]]:
    def kill_ingest() -> None:
        soak.kill(child=True, command="ingest")
        soak.start()

    def kill_build() -> None:
        soak.kill(child=True, command="build")
        soak.start()

    def kill_serve_only() -> None:
        soak.kill(child=False, command="ingest")
        soak.start()

    def feed_down() -> None:
        feed.stop()
        soak.note("feed server stopped")
        time.sleep(75)
        code, out, _ = soak.digest("status")
        source = [line for line in out.splitlines() if "journal:" in line]
        soak.note(f"status while the feed is down: exit {code}; {source}")
        feed.start()
        soak.note("feed server back")

    def smtp_refuse() -> None:
        inbox.refusing = True
        soak.note("SMTP server refuses (451)")
        deadline = time.monotonic() + 240
        while inbox.refused == 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        inbox.refusing = False
        soak.note(f"SMTP server accepts again after {inbox.refused} refusal(s)")

    def smtp_refuse_across_a_week() -> None:
        inbox.refusing = True
        soak.note("SMTP server refuses (451) until the next simulated week has begun")
        deadline = time.monotonic() + 20 * calendar.day_s
        while inbox.refused == 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        week = calendar.today().isocalendar()[:2]  # the week whose e-mail was refused
        while calendar.today().isocalendar()[:2] <= week and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(3 * calendar.day_s)  # a few fires into the next week
        inbox.refusing = False
        soak.note(f"SMTP server accepts again ({inbox.refused} refusals since {week})")

    def edit_config() -> None:
        text = config.read_text()
        config.write_text(text.replace('title = "Soak digest"', 'title = "Soak digest (edited)"'))
        soak.note("config.toml edited: [digest] title")
        time.sleep(60)
        text = config.read_text()
        config.write_text(text.replace("misfire_grace_s = 60", "misfire_grace_s = 61"))
        soak.note("config.toml edited: [schedule] misfire_grace_s")
        time.sleep(30)
        soak.note(
            "log lines about the config: "
            + str([x for x in soak.log.read_text().splitlines() if "config" in x.lower()][-3:])
        )

    def broken_config() -> None:
        text = config.read_text()
        config.write_text(text.replace('week = "latest"', 'week = "latst"'))
        soak.note("config.toml broken: [digest] week = 'latst'")
        time.sleep(45)
        config.write_text(text)
        soak.note("config.toml fixed")

    def sigterm_mid_run() -> None:
        soak.terminate(mid_run=True)
        soak.start()

    return [
        (0.15, kill_ingest),
        (0.25, kill_build),
        (0.35, kill_serve_only),
        (0.45, feed_down),
        (0.55, smtp_refuse),
        (0.65, edit_config),
        (0.72, broken_config),
        (0.8, sigterm_mid_run),
        (0.84, smtp_refuse_across_a_week),
    ]


if __name__ == "__main__":
    main()
