"""Write every output of a built digest under digests/, and e-mail it. Called only by `run`.

build:  earlier sidecars → topic history + trend chart → Markdown → HTML → JSON sidecar →
        index.md → feed.xml, each written atomically (temp file, then rename).
send:   digests/<week>.md (+ chart) → HTML and plain text → multipart e-mail → SMTP.
The deciding is done by render/html/publish/chart; this module only sequences them and does I/O.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipeline.config import Settings
from pipeline.digest import chart, html, mail, publish, render
from pipeline.errors import ConfigError, OutputError
from pipeline.models import Digest

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Written:
    """What `write_digest` wrote: the Markdown's path and every file, in order."""

    markdown: Path
    paths: tuple[Path, ...]


def write_digest(settings: Settings, digest: Digest, *, now: datetime) -> Written:
    """Render and write one week's outputs and refresh the index and feed."""
    folder = settings.paths.digests_dir
    options = settings.outputs
    _sweep_temp_files(folder, now=time.time())
    stored = list_records(folder)
    previous = next((r for r in stored if r["week"] == digest.week), None)
    records = [r for r in stored if r["week"] != digest.week]
    weeks, series = publish.topic_series(digest, records, n_weeks=max(options.chart_weeks, 1))
    digest = publish.with_history(digest, series)
    written: list[Path] = []
    chart_name = None
    if options.chart_weeks and series:
        names = {s.key: s.title for s in digest.sections}
        png = chart.render_trend_chart(
            weeks,
            {names[key]: counts for key, counts in series.items()},
            title=f"Papers per topic, {weeks[0]} to {weeks[-1]}",
        )
        chart_name = f"{digest.week}-trends.png"
        written.append(_write(folder / chart_name, png))
    text = render.render_markdown(
        digest,
        top_per_section=settings.digest.top_per_section,
        more_per_section=settings.digest.more_per_section,
        templates_dir=settings.paths.templates_dir,
        chart=chart_name,
    )
    markdown_path = _write(folder / f"{digest.week}.md", text.encode("utf-8"))
    written.append(markdown_path)
    html_name = None
    if options.write_html:
        html_name = f"{digest.week}.html"
        page = html.render_html(text, title=f"{digest.title} · {digest.week}")
        written.append(_write(folder / html_name, page.encode("utf-8")))
    files = {"markdown": markdown_path.name, "html": html_name, "chart": chart_name}
    record = publish.digest_record(digest, generated=now, files=files)
    if previous is not None and _same_content(previous, record):
        # A rebuild of unchanged content keeps its time, so reruns leave every file byte-identical.
        record = {**record, "generated": previous["generated"]}
    if options.write_json:
        data = json.dumps(record, indent=2, ensure_ascii=False) + "\n"
        written.append(_write(folder / f"{digest.week}.json", data.encode("utf-8")))
    everything = [*records, record]
    index = render.render_index(
        everything, title=settings.digest.title, templates_dir=settings.paths.templates_dir
    )
    written.append(_write(folder / "index.md", index.encode("utf-8")))
    if options.write_feed:
        feed = publish.render_feed(
            everything,
            title=settings.digest.title,
            base_url=options.base_url,
            feed_key=options.base_url or str(folder),
            updated=max(datetime.fromisoformat(str(r["generated"])) for r in everything),
        )
        written.append(_write(folder / "feed.xml", feed))
    return Written(markdown_path, tuple(written))


def _same_content(a: publish.Record, b: publish.Record) -> bool:
    return {k: v for k, v in a.items() if k != "generated"} == {
        k: v for k, v in b.items() if k != "generated"
    }


def list_records(folder: Path) -> list[publish.Record]:
    """The JSON sidecars in `folder`; unreadable or foreign ones are skipped with a warning."""
    records = []
    for path in sorted(folder.glob("*-W*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            logger.warning("skipping %s: %s", path, e)
            continue
        if publish.is_record(data):
            records.append(data)
        else:
            logger.warning(
                "skipping %s: not a version-%d digest sidecar", path, publish.SCHEMA_VERSION
            )
    return records


def send_digest(settings: Settings, week: str) -> list[str]:
    """E-mail digests/<week>.md (with its chart inline) to the configured recipients."""
    email = settings.email
    if not (email.smtp_host and email.sender and email.recipients):
        raise ConfigError("to send digests, set email.smtp_host, email.sender and email.recipients")
    folder = settings.paths.digests_dir
    text = _read(folder / f"{week}.md").decode("utf-8", errors="replace")
    chart_name = f"{week}-trends.png"
    images = {}
    if (folder / chart_name).is_file():
        images[chart_name] = _read(folder / chart_name)
    title = settings.digest.title
    message = mail.make_message(
        subject=email.subject.replace("{title}", title).replace("{week}", week),
        sender=email.sender,
        recipients=email.recipients,
        text=html.render_text(text),
        html=html.render_html(text, title=f"{title} · {week}"),
        images=images,
    )
    username, password = _credentials(settings)
    server = mail.SmtpServer(
        email.smtp_host,
        email.smtp_port,
        security=email.security,
        username=username,
        password=password,
        timeout_s=email.timeout_s,
        ca_file=email.ca_file,
    )
    mail.send_message(message, server)
    return list(email.recipients)


def _credentials(settings: Settings) -> tuple[str | None, str | None]:
    """Username and password from the environment variables the config names (never the file)."""
    values: list[str | None] = []
    for key in ("username_env", "password_env"):
        name = getattr(settings.email, key)
        if not name:
            values.append(None)
            continue
        value = os.environ.get(name)
        if not value:
            raise ConfigError(f"environment variable {name} (email.{key}) is not set")
        values.append(value)
    return values[0], values[1]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise OutputError(f"{path} does not exist: build that week first (digest build)") from None
    except OSError as e:
        raise OutputError(f"cannot read {path}: {e.strerror or e}") from e


#: A temp file this old is the remains of a killed write (a live one exists for milliseconds).
STALE_TEMP_S = 600


def _sweep_temp_files(folder: Path, *, now: float) -> None:
    """Remove `.NAME.*.tmp` files a killed build left behind; never a finished output."""
    if not folder.is_dir():
        return
    for path in folder.glob(".*.tmp"):
        try:
            if now - path.stat().st_mtime > STALE_TEMP_S:
                path.unlink()
                logger.info("removed %s, left by an interrupted write", path)
        except OSError:  # gone already, or not ours to remove: harmless either way
            continue


def _write(path: Path, data: bytes) -> Path:
    """Write via a temp file in the same folder, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; digests are meant to be read and served
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
