"""The only writer of digests/, and the e-mail of a digest. Called only by `run`.

build:  read the earlier sidecars (this week's own only as bytes: a rebuild of unchanged content
        keeps its `generated` time, and equal bytes say so without parsing 10,000 papers) →
        `plan_files` (pure: trend chart from the store's history, the sidecars only for weeks
        built before the store kept it → Markdown → HTML → JSON sidecar → index.md → feed.xml,
        as path → bytes) → `write_files`: every file to a temp file first, renamed only once
        all were written.
send:   digests/<week>.md (+ chart), or the bytes a build just planned → HTML and plain text →
        multipart e-mail → SMTP.
The deciding is done by render/html/publish/chart; this module only sequences them and does I/O.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipeline.config import Settings
from pipeline.digest import chart, html, publish, render
from pipeline.errors import ConfigError, OutputError
from pipeline.models import Digest

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Written:
    """What `write_digest` wrote: the Markdown's path and every file with its bytes, in order."""

    markdown: Path
    files: Mapping[Path, bytes]

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(self.files)


def write_digest(
    settings: Settings,
    digest: Digest,
    *,
    now: datetime,
    earlier: Mapping[str, Mapping[str, int]] | None = None,
    archive: dict[str, publish.Record] | None = None,
    previous: Mapping[str, object] | None = None,
) -> Written:
    """Read the earlier sidecars, plan every output of one week, then write them all at once.

    `earlier` is the trend history the caller knows (week → papers per topic, from the store);
    `archive` what index.md and feed.xml need of each week built (`plan_files`), which the
    caller keeps; `previous` the record the week's last build kept (the store's), which names
    the files it wrote.
    """
    folder = settings.paths.digests_dir
    # And the data folder's: its summaries' file and the build's memo (run/derived.py) are
    # written the same way, so a killed build can leave one there too.
    for written in (folder, settings.paths.data_dir):
        _sweep_temp_files(written, now=time.time())
    summaries = _Summaries(settings.paths.data_dir / SUMMARIES_FILE)
    stored, rebuilt = _read_sidecars(folder, digest.week, summaries)
    files = plan_files(
        settings,
        digest,
        stored,
        now=now,
        earlier=earlier or {},
        rebuilt=rebuilt,
        feed_id=_read_feed_id(folder / "feed.xml"),
        archive=archive,
    )
    # Read before the new sidecar replaces the old one; only when an option is off.
    unwritten = [folder / n.format(week=digest.week) for n in _OPTIONAL]
    left = any(p not in files and (p.is_file() or p.is_symlink()) for p in unwritten)
    ours = _written_before(folder, digest.week, previous) if left else set()
    write_files(files)
    _remove_unwritten(folder, digest.week, files, ours)
    summaries.save(folder)
    return Written(folder / f"{digest.week}.md", files)


#: The files of week W a build writes only when an option asks for them ([outputs]).
_OPTIONAL = ("{week}.html", "{week}.json", "{week}-trends.png")


def _written_before(folder: Path, week: str, previous: Mapping[str, object] | None) -> set[str]:
    """The names of the week's optional outputs its last build wrote: its sidecar if that is a
    sidecar of the week, and the page and chart its record names (`previous`, else that
    sidecar's). A file of the week's name that no record names is not ours: a page the user
    makes with pandoc, with write_html off (round 28: every rebuild deleted it)."""
    sidecar, record, names = folder / f"{week}.json", previous, set()
    if sidecar.is_file() and not sidecar.is_symlink():
        try:
            data = json.loads(sidecar.read_bytes())
        except (OSError, ValueError):
            data = None
        if publish.is_record(data) and data.get("week") == week:
            names.add(sidecar.name)
            record = record if record is not None else data
    files = record.get("files") if record is not None else None
    if isinstance(files, Mapping):
        names |= {name for name in files.values() if isinstance(name, str)}
    return names


def _remove_unwritten(folder: Path, week: str, files: Mapping[Path, bytes], ours: set[str]) -> None:
    """Remove the week's optional outputs an earlier build wrote and this one did not (the
    option turned off since, or no chart this time): beside the new Markdown they were out of
    date and still served. Only the files `ours` names (`_written_before`) are removed: one of
    the week's names the user wrote is left. Other weeks' files are left as they are."""
    for name in _OPTIONAL:
        path = folder / name.format(week=week)
        if path in files or path.name not in ours or not (path.is_file() or path.is_symlink()):
            continue
        try:
            path.unlink()
        except OSError as e:
            logger.warning("cannot remove %s, left by an earlier build: %s", path, e.strerror or e)
            continue
        logger.warning(
            "removed %s, left by an earlier build: this build of %s wrote none", path, week
        )


def _read_if_there(path: Path) -> bytes | None:
    """A file this build may replace, as it is (never through a link), or None."""
    if path.is_symlink() or not path.is_file():
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None


def _read_feed_id(path: Path) -> str | None:
    """The id of the feed.xml a build replaces (never through a link), or None."""
    data = _read_if_there(path)
    return None if data is None else publish.feed_id(data)


@dataclass(frozen=True)
class Rebuilt:
    """The week's own sidecar, read but not parsed: a sidecar can hold 10,000 papers, and a
    rebuild of unchanged content only needs to see that its bytes are the same. `position` is
    its place among the other stored records (they are listed in path order)."""

    path: Path
    data: bytes
    position: int


def _read_sidecars(
    folder: Path, week: str, summaries: _Summaries | None = None
) -> tuple[list[publish.Record], Rebuilt | None]:
    """What list_records(folder) gives, with the week's own sidecar left unparsed (a Rebuilt)
    where that changes nothing: it is a regular file and no other sidecar is of that week.
    The other weeks' sidecars are read as `summaries` (their papers left out) when given."""
    own = folder / f"{week}.json"
    if not own.is_symlink() and not own.exists():  # the week's first build
        return [record for _, record in _list_sidecars(folder, summaries=summaries)], None
    if own.is_symlink() or not own.is_file():
        return list_records(folder), None
    listed = _list_sidecars(folder, skip=own, summaries=summaries)
    if any(record["week"] == week for _, record in listed):
        return list_records(folder), None
    try:
        data = own.read_bytes()
    except OSError:
        return list_records(folder), None  # which says why it skips the file
    position = sum(1 for path, _ in listed if path < own)
    return [record for _, record in listed], Rebuilt(own, data, position)


def plan_files(
    settings: Settings,
    digest: Digest,
    stored: Sequence[publish.Record],
    *,
    now: datetime,
    earlier: Mapping[str, Mapping[str, int]],
    rebuilt: Rebuilt | None = None,
    feed_id: str | None = None,
    archive: dict[str, publish.Record] | None = None,
) -> dict[Path, bytes]:
    """Every file of one week's build and its bytes, in write order; writes nothing.

    `earlier` (week → papers per topic, from the store) gives the trend chart its series.
    `stored` are the sidecars already in digests/ (earlier weeks, and this week's if rebuilt):
    they give the index and feed their other weeks, and, only for weeks `earlier` lacks (built
    before the store kept week sections), the chart's counts. `rebuilt` is this week's sidecar
    when `stored` leaves it out (see write_digest); it is parsed only if its bytes differ.
    `feed_id` is the id of the feed.xml already there, which the new feed keeps. `archive`
    (week → record without papers, kept by the caller) lists in index.md and feed.xml the
    weeks whose sidecar is not there (`write_json` off, or deleted to save space: round 25,
    the index listed the week built alone); this week's record is put in it.
    """
    folder = settings.paths.digests_dir
    options = settings.outputs
    previous = next((r for r in stored if r["week"] == digest.week), None)
    records = [r for r in stored if r["week"] != digest.week]
    sidecars = {r["week"] for r in records}
    records += [
        record
        for week, record in sorted((archive or {}).items())
        if week != digest.week and week not in sidecars and publish.is_record(record)
    ]
    fallback = {r["week"]: publish.topic_counts(r) for r in records if r["week"] not in earlier}
    quiet = {t.slug: t.name for t in settings.topics if t.name in digest.quiet_topics}
    weeks, series = publish.topic_series(
        digest, {**fallback, **earlier}, n_weeks=max(options.chart_weeks, 1), quiet=list(quiet)
    )
    digest = publish.with_history(digest, series)
    files: dict[Path, bytes] = {}
    chart_name = None
    if options.chart_weeks and series:
        names = {**quiet, **{s.key: s.title for s in digest.sections}}
        chart_name = f"{digest.week}-trends.png"
        files[folder / chart_name] = chart.trend_chart(
            weeks,
            {names[key]: counts for key, counts in series.items()},
            title=f"Papers per topic, {weeks[0]} to {weeks[-1]}",
            colour_keys={names[key]: key for key in series},
            previous=_read_if_there(folder / chart_name),
        )
    text = render.render_markdown(
        digest,
        top_per_section=settings.digest.top_per_section,
        more_per_section=settings.digest.more_per_section,
        templates_dir=settings.paths.templates_dir,
        chart=chart_name,
        themes_shown=settings.digest.themes,
    )
    markdown_name = f"{digest.week}.md"
    files[folder / markdown_name] = text.encode("utf-8")
    html_name = None
    if options.write_html:
        html_name = f"{digest.week}.html"
        page = html.render_html(text, title=f"{digest.title} · {digest.week}")
        files[folder / html_name] = page.encode("utf-8")
    names_written = {"markdown": markdown_name, "html": html_name, "chart": chart_name}
    record = publish.digest_record(
        digest, generated=now, files=names_written, quiet=quiet, series=series
    )
    sidecar = None
    if rebuilt is not None:
        sidecar = _unchanged_sidecar(record, rebuilt.data)
        if sidecar is not None:
            record = {**record, "generated": sidecar[0]}
        else:
            previous = _parse_sidecar(rebuilt.path, rebuilt.data)
            if previous is not None and previous["week"] != digest.week:  # renamed by hand
                listed = [*stored[: rebuilt.position], previous, *stored[rebuilt.position :]]
                return plan_files(
                    settings,
                    digest,
                    listed,
                    now=now,
                    earlier=earlier,
                    feed_id=feed_id,
                    archive=archive,
                )
    if previous is not None and _same_content(previous, record):
        # A rebuild of unchanged content keeps its time, so reruns leave every file byte-identical.
        record = {**record, "generated": previous["generated"]}
    elif previous is None and sidecar is None:
        kept = (archive or {}).get(digest.week)
        if kept is not None and _unchanged_without_sidecar(
            kept, record, folder / markdown_name, text
        ):
            record = {**record, "generated": kept["generated"]}
    if options.write_json:
        text = sidecar[1] if sidecar is not None else publish.record_json(record)
        files[folder / f"{digest.week}.json"] = text.encode("utf-8")
    if archive is not None:
        archive[digest.week] = {
            **record,
            "sections": [{**s, "papers": []} for s in record["sections"]],
        }
    everything = [*_on_disk(folder, records), record]
    index = render.render_index(
        everything,
        title=settings.digest.title,
        templates_dir=settings.paths.templates_dir,
        feed=options.write_feed,
    )
    files[folder / "index.md"] = index.encode("utf-8")
    if options.write_feed:  # the newest FEED_WEEKS weeks; index.md lists them all
        recent = publish.newest_weeks(everything)
        files[folder / "feed.xml"] = publish.render_feed(
            recent,
            title=settings.digest.title,
            base_url=options.base_url,
            # The folder's bytes: a name that is no UTF-8 (a Latin-1 system's) has no str to hash.
            feed_key=options.base_url or os.fsencode(folder).decode("utf-8", "backslashreplace"),
            keep_id=feed_id,
            updated=max(datetime.fromisoformat(str(r["generated"])) for r in recent),
        )
    return files


def _on_disk(folder: Path, records: Sequence[publish.Record]) -> list[publish.Record]:
    """The other weeks' records as index.md and feed.xml may link them (round 25): a week whose
    digest was deleted by hand, its sidecar kept, is left out, and a page deleted is not
    linked; they linked dead files. Said in one line at -v."""
    kept, gone = [], []
    for record in records:
        files = record.get("files") or {}
        if not (folder / (files.get("markdown") or f"{record['week']}.md")).is_file():
            gone.append(str(record["week"]))
            continue
        if files.get("html") and not (folder / files["html"]).is_file():
            record = {**record, "files": {**files, "html": None}}
        kept.append(record)
    if gone:
        more = f" and {len(gone) - 5} more" if len(gone) > 5 else ""
        logger.info(
            "index.md and feed.xml leave out %s, whose digest is gone from %s (digest build"
            " --week W writes one again)",
            ", ".join(sorted(gone)[:5]) + more,
            folder,
        )
    return kept


# The top-level "generated" line as record_json writes it (nested keys are indented further).
_GENERATED = re.compile(rb'\n  "generated": ("(?:[^"\\\n]|\\.)*"),\n')
# A NaN value (or text that looks like one inside a string, which only costs the fast path).
_NAN = re.compile(rb"(?:: |\n +)NaN(?:,|\n)")


def _unchanged_sidecar(record: publish.Record, data: bytes) -> tuple[str, str] | None:
    """(its generated time, its text) when the sidecar `data` is `record` as written at that
    time, byte for byte; else None. Equal bytes mean equal content; NaN, which never equals
    itself, is left to the parsed comparison."""
    match = _GENERATED.search(data)
    # The pattern only where the bytes hold "NaN" at all: a 10k week's 7 MB cost it 0.1 s.
    if match is None or (b"NaN" in data and _NAN.search(data)):
        return None
    generated = json.loads(match.group(1))
    text = publish.record_json({**record, "generated": generated})
    return (generated, text) if text.encode("utf-8") == data else None


def _unchanged_without_sidecar(
    kept: publish.Record, record: publish.Record, markdown: Path, text: str
) -> bool:
    """Whether a week with no sidecar to compare (`write_json` off, or deleted) is rebuilt as
    it was: the record the store `kept` of its last build (sections without their papers) is
    this one's, and so is its Markdown on disk. Round 27: each such rebuild (the daily `digest
    run` rebuilds the last week) gave the feed entry a new `<updated>`, and a feed reader showed
    the week again as updated."""
    if not publish.is_record(kept):  # the store's value, as found
        return False
    bare = {**record, "sections": [{**s, "papers": []} for s in record["sections"]]}
    if not _same_content(json.loads(publish.record_json(bare)), kept):
        return False
    try:
        return markdown.read_bytes() == text.encode("utf-8")
    except OSError:
        return False


def _same_content(a: publish.Record, b: publish.Record) -> bool:
    return {k: v for k, v in a.items() if k != "generated"} == {
        k: v for k, v in b.items() if k != "generated"
    }


def list_records(folder: Path) -> list[publish.Record]:
    """The JSON sidecars in `folder`; unreadable or foreign ones, and links (whatever they point
    at, inside digests/ or not), are skipped with a warning."""
    return [record for _, record in _list_sidecars(folder)]


def _list_sidecars(
    folder: Path, *, skip: Path | None = None, summaries: _Summaries | None = None
) -> list[tuple[Path, publish.Record]]:
    """(path, record) of each readable sidecar in path order, except `skip`; with
    `summaries`, each as its summary (sections without their papers), read from there while
    the file is unchanged."""
    records = []
    # Named by an ISO week, as every sidecar is (publish.WEEK_NAME).
    for path in sorted(folder.glob(f"{publish.WEEK_NAME}.json")):
        if path == skip:
            continue
        if path.is_symlink() or not path.is_file():
            logger.warning("skipping %s: not a regular file (links are never followed)", path)
            continue
        # Stamped before it is read: a file changed meanwhile is read again next time.
        stamp = _stamp(path) if summaries is not None else []
        known = summaries.get(path.name, stamp) if summaries is not None else None
        if known is not None:
            records.append((path, known))
            continue
        try:
            data = path.read_bytes()
        except OSError as e:
            logger.warning("skipping %s: %s", path, e)
            continue
        record = _parse_sidecar(path, data)
        if record is not None:
            if summaries is not None:
                record = summaries.put(path.name, stamp, record)
            records.append((path, record))
    return records


#: In data_dir: what index.md and feed.xml need of each sidecar in digests/ (its sections
#: without their papers), keyed by file name, size and modification time. A year of
#: 10,000-paper weeks holds 500 MB of sidecars: parsing them all took 19 s of every build
#: (benchmarks/README.md, "Years of papers").
SUMMARIES_FILE = "sidecar-summaries.json"


class _Summaries:
    """The sidecar summaries kept in `path`, read once and written back by `save` when
    changed. A missing, unreadable or foreign file is an empty cache: every sidecar is then
    parsed, as before."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._changed = False
        self._entries: dict[str, list[object]] = {}
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(loaded, dict) and loaded.get("version") == publish.SCHEMA_VERSION:
            entries = loaded.get("files")
            if isinstance(entries, dict):
                self._entries = entries

    def get(self, name: str, stamp: list[object]) -> publish.Record | None:
        """The summary of sidecar `name` if kept for this `stamp` (`_stamp`), else None."""
        entry = self._entries.get(name)
        if not stamp or not isinstance(entry, list) or len(entry) != 3 or entry[:2] != stamp:
            return None
        record = entry[2]
        return record if publish.is_record(record) else None  # type: ignore[return-value]

    def put(self, name: str, stamp: list[object], record: publish.Record) -> publish.Record:
        """Keep the summary of sidecar `name` (its `record` as read at `stamp`); return it."""
        summary = {
            **record,
            "sections": [{**s, "papers": []} for s in record["sections"]],
        }
        if stamp:
            self._entries[name] = [*stamp, summary]
            self._changed = True
        return summary

    def save(self, folder: Path) -> None:
        """Write the summaries back when changed, less those of sidecars no longer in `folder`
        (deleted by hand, or by a build with `write_json` off): round 28, the file kept an
        entry for every sidecar it ever read and grew for ever. Such an entry was never read
        again (a summary is looked up only for a sidecar that is there), so no output changes.
        """
        for name in list(self._entries):
            path = folder / name
            if path.is_symlink() or not path.is_file():
                del self._entries[name]
                self._changed = True
        if not self._changed:
            return
        text = json.dumps({"version": publish.SCHEMA_VERSION, "files": self._entries})
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            write_files({self._path: text.encode("utf-8")})
        except (OSError, OutputError) as e:  # a cache: the next build parses the sidecars
            logger.warning("could not save %s: %s", self._path, e)


def _stamp(path: Path) -> list[object]:
    """[size, modification time in ns] of a file, or [] when it cannot be read."""
    try:
        info = path.stat()
    except OSError:
        return []
    return [info.st_size, info.st_mtime_ns]


def _parse_sidecar(path: Path, data: bytes) -> publish.Record | None:
    """The sidecar record in `data` (read from `path`), or None with a warning saying why."""
    try:  # newlines read as text mode reads them, so error positions stay the same
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
        record: publish.Record = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        logger.warning("skipping %s: %s", path, e)
        return None
    if not publish.is_record(record):
        logger.warning("skipping %s: not a version-%d digest sidecar", path, publish.SCHEMA_VERSION)
        return None
    return record


def send_digest(
    settings: Settings, week: str, *, recipients: Sequence[str] | None = None
) -> Delivery:
    """E-mail the already built digests/<week>.md (with its chart inline) to `recipients`,
    by default every configured one."""
    folder = settings.paths.digests_dir
    _check_email(settings)
    text = _read(folder / f"{week}.md")
    chart_path = folder / f"{week}-trends.png"
    images = {chart_path.name: _read(chart_path)} if chart_path.is_file() else {}
    return _send(settings, week, text, images, recipients=recipients)


def send_written(
    settings: Settings, week: str, written: Written, *, recipients: Sequence[str] | None = None
) -> Delivery:
    """E-mail what a build just produced, from its bytes (nothing is read back from disk), to
    `recipients`, by default every configured one."""
    _check_email(settings)
    chart_name = f"{week}-trends.png"
    chart_path = written.markdown.parent / chart_name
    images = {chart_name: written.files[chart_path]} if chart_path in written.files else {}
    return _send(settings, week, written.files[written.markdown], images, recipients=recipients)


def _check_email(settings: Settings) -> tuple[str, str]:
    """The SMTP host and sender, or ConfigError when e-mail is not configured."""
    email = settings.email
    if not (email.smtp_host and email.sender and email.recipients):
        raise ConfigError("to send digests, set email.smtp_host, email.sender and email.recipients")
    return email.smtp_host, email.sender


@dataclass(frozen=True)
class Delivery:
    """Who the SMTP server took a digest for, and whom it refused (address → its reply)."""

    sent_to: tuple[str, ...]
    refused: Mapping[str, str]


def _send(
    settings: Settings,
    week: str,
    markdown: bytes,
    images: dict[str, bytes],
    *,
    recipients: Sequence[str] | None = None,
) -> Delivery:
    from pipeline.digest import mail  # SMTP, TLS and MIME: imported by a build that e-mails

    email = settings.email
    host, sender = _check_email(settings)
    recipients = tuple(email.recipients if recipients is None else recipients)
    text = markdown.decode("utf-8", errors="replace")
    title = settings.digest.title
    message = mail.make_message(
        subject=email.subject.replace("{title}", title).replace("{week}", week),
        sender=sender,
        recipients=recipients,
        text=html.render_text(text),
        html=html.render_html(text, title=f"{title} · {week}"),
        images=images,
    )
    username, password = _credentials(settings)
    server = mail.SmtpServer(
        host,
        email.smtp_port,
        security=email.security,
        username=username,
        password=password,
        timeout_s=email.timeout_s,
        ca_file=email.ca_file,
    )
    # The server answers for each address as it was sent (a domain beyond ASCII in its ASCII
    # form: mail.mail_address); each refusal is said of the address as configured.
    refused = mail.send_message(message, server)
    named = {
        r: refused[mail.mail_address(r)] for r in recipients if mail.mail_address(r) in refused
    }
    return Delivery(tuple(r for r in recipients if r not in named), named)


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
            what = "is empty" if value is not None else "is not set"
            raise ConfigError(f"environment variable {name} (email.{key}) {what}")
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

#: What `_write_temp` puts between the output's name and mkstemp's 8 random characters:
#: `.2025-W24.md.digest-k3j2a8b1.tmp`. The sweep removes only names of this form.
TEMP_MARK = "digest-"
_OUR_TEMP = re.compile(rf"\..+\.{re.escape(TEMP_MARK)}[a-z0-9_]{{8}}\.tmp")


def _sweep_temp_files(folder: Path, *, now: float) -> None:
    """Remove the temp files (`.NAME.digest-XXXXXXXX.tmp`) a killed build left behind; never a
    finished output, nor a hidden `.tmp` file of the user's or another program's (round 28:
    every `.*.tmp` older than ten minutes in the digests or data folder was deleted)."""
    if not folder.is_dir():
        return
    for path in folder.glob(".*.tmp"):
        if not _OUR_TEMP.fullmatch(path.name):
            continue
        try:
            if now - path.stat().st_mtime > STALE_TEMP_S:
                path.unlink()
                logger.info("removed %s, left by an interrupted write", path)
        except OSError:  # gone already, or not ours to remove: harmless either way
            continue


def write_files(files: Mapping[Path, bytes]) -> None:
    """Write every file to a temp file beside it, then rename them all.

    Nothing is renamed until every temp file is written and synced, so a full disk or a failed
    write leaves the old outputs whole (never a new .md beside an old .html); readers never see
    half a file. A failed write is an OutputError naming the file, never a traceback.
    """
    temps: list[tuple[str, Path]] = []
    try:
        for path, data in files.items():
            if path.is_dir():  # the rename would fail half-way, after replacing the others
                raise IsADirectoryError(errno.EISDIR, "a folder is in its place")
            temps.append((_write_temp(path, data), path))
    except BaseException as e:
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):  # disk full, read-only, a file where a folder should be
            raise OutputError(
                f"cannot write {path}: {e.strerror or e}; nothing was replaced"
            ) from e
        raise
    for n, (tmp, path) in enumerate(temps):
        try:
            os.replace(tmp, path)
        except OSError as e:  # a folder made in its place since: say so, leave no temp file
            for left, _ in temps[n:]:
                Path(left).unlink(missing_ok=True)
            raise OutputError(f"cannot write {path}: {e.strerror or e}") from e


def _write_temp(path: Path, data: bytes) -> str:
    """`data` in a synced, readable temp file in `path`'s folder; the temp file's name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{TEMP_MARK}", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; digests are meant to be read and served
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp
