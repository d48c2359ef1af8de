"""The settings models: one pydantic model per config.toml section, frozen, unknown keys refused.

Fields map 1:1 onto TOML keys; the checks they use live in `config.rules`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
    field_validator,
    model_validator,
)

from pipeline.config.rules import (
    _ARXIV_CATEGORY,
    _SOURCE_NAME,
    _TOPIC_SLUG,
    _URL_SCHEME,
    DATABASE_FILENAME,
    PACKAGED_MODEL,
    AnnounceType,
    Cron,
    EnvName,
    Phrase,
    SourceKind,
    StrictBool,
    SymlinkLoop,
    Text,
    TimeZone,
    UnitFloat,
    _between,
    _check_address,
    _check_base_url,
    _check_contact,
    _check_header_text,
    _check_not_empty_list,
    _check_slug,
    _check_url,
    _check_week,
    _empty_to_none,
    _matching,
    _naming,
    _problem,
    absolute_path,
    config_folder,
    parse_area_names,
)
from pipeline.models import Topic

#: "$HOME", "${STATE_DIRECTORY}": a variable of the shell or systemd; no path here expands it.
_ENV_REFERENCE = re.compile(r"\$(\{|[A-Za-z_])")

#: Upper bounds of durations in seconds, where a larger value overflowed a clock at run time.
DAY_S = 86_400
YEAR_S = 365 * DAY_S


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
        if value is not None and _ENV_REFERENCE.search(str(value)):
            # Nothing expands it: "$HOME/digest-data" made a folder named "$HOME" beside the
            # config, and the store went there without a word.
            raise ValueError(
                f"{str(value)!r} names an environment variable, which is not expanded here:"
                " write the path itself (~ for your home folder)"
            )
        if value is None or base is None:
            return value
        return absolute_path(Path(base) / value.expanduser())


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

    # None: a topic that cannot learn its boundary is judged by a threshold read from the store.
    min_similarity: UnitFloat | None = None
    also_margin: UnitFloat = 0.05
    keyword_weight: Annotated[float, Strict(), _between(0, 0.5)] = 0.05
    min_theme_size: Annotated[int, Strict(), Field(ge=2)] = 3
    max_themes: Annotated[int, Strict(), Field(ge=1)] = 24
    # Seeds numpy's generator (the background sample theme naming draws from a large week),
    # which refuses a negative seed, and scikit-learn's KMeans (`digest eval`'s baselines),
    # which refuses one of 2**32 or more; both passed check-config and failed a later run.
    seed: Annotated[int, Strict(), _between(0, 2**32 - 1)] = 0
    # "builtin" (pipeline/data/areas.txt), "off", or a file of research-area names of your own.
    areas: Text = "builtin"
    # Papers no theme holds grouped by their arXiv category, and themes named only by their
    # phrases named by their papers' field (topics/categories.py). Read blind, such groups were
    # as coherent as the discovered themes a digest shows and better named, and took "Other"
    # under 15 % (benchmarks/README.md, thirteenth round). No effect on papers that carry no
    # arXiv category.
    arxiv_categories: StrictBool = True

    @field_validator("areas")
    @classmethod
    def _check_areas(cls, value: str, info: ValidationInfo) -> str:
        if value in ("builtin", "off"):
            return value
        base = info.context.get("base_dir") if isinstance(info.context, dict) else None
        path = Path(value).expanduser()
        path = absolute_path(Path(base) / path) if base is not None else path
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            reason = f'not "builtin", "off" or a readable file of area names: {exc}'
            raise ValueError(reason) from None
        if not parse_area_names(text, source=str(path)):
            raise ValueError(f"{path} names no research area")
        return str(path)


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
    # A day at most: past about 9e9 s the socket refuses the timeout (OverflowError, a traceback).
    timeout_s: Annotated[float, Strict(), Field(gt=0, le=DAY_S)] = 30.0
    ca_file: Annotated[Path | None, BeforeValidator(_empty_to_none)] = None

    _resolve_ca_file = field_validator("ca_file")(PathsSettings._resolve.__func__)  # type: ignore[attr-defined]

    @model_validator(mode="after")
    def _complete(self) -> EmailSettings:
        problems = []
        missing = [key for key in ("smtp_host", "sender", "recipients") if not getattr(self, key)]
        if self.send_after_build and missing:
            # Named one by one: "needs smtp_host, sender and recipients" left the reader to find
            # which was empty.
            named = [f"email.{key}" for key in missing]
            empty = " and ".join([", ".join(named[:-1]), named[-1]] if named[:-1] else named)
            problems.append(
                f"send_after_build is true but {empty} {'is' if len(missing) == 1 else 'are'} empty"
            )
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
    # A year at most: past about 8.6e13 s every scheduled job failed in APScheduler (timedelta).
    misfire_grace_s: Annotated[int, Strict(), Field(ge=1, le=YEAR_S)] = 3600
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
    # A day at most: past about 9e9 s the wait itself failed (OverflowError, a traceback).
    politeness_s: Annotated[float, Strict(), Field(ge=0, le=DAY_S)] = 3.0
    page_size: Annotated[int, Strict(), _between(1, 2000)] = 2000


class FiltersSettings(_Section):
    """[filters]: keyword filters applied to every source (case-insensitive, title + abstract)."""

    include: tuple[Phrase, ...] = ()
    exclude: tuple[Phrase, ...] = ()


class SourceSettings(_Section):
    """One [[sources]] entry: a feed or file to ingest."""

    name: Annotated[
        str, Strict(), _naming(_SOURCE_NAME, "ASCII lowercase letters, digits, '.', '_' or '-'")
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
    include: tuple[Phrase, ...] = ()
    exclude: tuple[Phrase, ...] = ()

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

    slug: Annotated[
        str,
        Strict(),
        _naming(_TOPIC_SLUG, "ASCII lowercase letters, digits or '-'"),
        AfterValidator(_check_slug),
    ]
    # A heading, shown on one line: a line break, a tab or a no-break space (pasted from a web
    # page) is one space, in the contents' links, the chart's legend and the JSON alike.
    name: Annotated[Text, AfterValidator(lambda name: " ".join(name.split()))]
    description: Text
    keywords: tuple[Phrase, ...] = ()
    exclude: tuple[Phrase, ...] = ()
    examples: tuple[Text, ...] = ()
    counter_examples: tuple[Text, ...] = ()
    min_similarity: UnitFloat | None = None

    @field_validator("exclude", "counter_examples")
    @classmethod
    def _not_also_wanted(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        # A phrase both wanted and excluded, or a paper both an example and a counter-example,
        # says two things at once; which one won was not written anywhere (round 16).
        key = info.field_name or ""
        wanted = "keywords" if key == "exclude" else "examples"
        other = {str(v).strip().casefold() for v in info.data.get(wanted) or ()}
        both = [v for v in value if str(v).strip().casefold() in other]
        if both:
            raise _problem(key, f"{both[0]!r} is also in {wanted}; keep it in one of them")
        return value

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
        path = config_folder(self.config_path) / Path(source.url).expanduser()
        try:
            return str(absolute_path(path))
        except SymlinkLoop:  # reading it fails that source, naming the loop
            return str(path)

    def topics_as_models(self) -> tuple[Topic, ...]:
        """The configured topics as `pipeline.models.Topic` records, in file order."""
        return tuple(t.as_model() for t in self.topics)
