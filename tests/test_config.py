"""Tests for pipeline.config: real TOML files in tmp_path, every problem reported with its path."""

from __future__ import annotations

import difflib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipeline.config import Settings, add_topic_paper, load_settings
from pipeline.errors import ConfigError
from pipeline.models import Topic
from pipeline.topics.areas import area_names

REPO = Path(__file__).resolve().parent.parent

TOPIC = """
[[topics]]
slug = "nas"
name = "Neural architecture search"
description = "We search for neural network architectures."
"""


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as info:
        load_settings(write_config(tmp_path, text))
    return info.value.problems


def test_load_settings_reads_shipped_config() -> None:
    settings = load_settings(REPO / "config.toml")
    slugs = {t.slug for t in settings.topics}
    assert {"nas", "efficient-attention", "multimodal"} <= slugs
    assert len(settings.topics) >= 6
    assert all(6 <= len(t.keywords) <= 15 for t in settings.topics)
    kinds = {s.kind for s in settings.enabled_sources}
    assert kinds == {"arxiv-rss", "hf-daily"}
    assert settings.config_path == (REPO / "config.toml").resolve()


def test_load_settings_reads_demo_config_with_existing_files() -> None:
    settings = load_settings(REPO / "examples" / "demo.toml")
    assert settings.digest.week == "latest"
    assert settings.paths.data_dir == (REPO / "data" / "demo").resolve()
    # its own folder: a real config's digests/index.md and feed.xml never list demo weeks
    assert settings.paths.digests_dir == (REPO / "digests" / "demo").resolve()
    assert len(settings.sources) == 9
    assert [s.kind for s in settings.sources] == ["file"] * 8 + ["hf-daily"]
    assert all(Path(settings.resolve_url(s)).is_file() for s in settings.sources)
    shipped = load_settings(REPO / "config.toml")
    assert settings.topics == shipped.topics


def test_load_settings_empty_file_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, ""))
    assert settings.paths.data_dir == tmp_path.resolve() / "data"
    assert settings.database_path == tmp_path.resolve() / "data" / "pipeline.sqlite3"
    assert settings.paths.templates_dir is None
    assert settings.fetch.timeout_s == 30.0
    assert settings.fetch.max_bytes == 50_000_000
    assert settings.embed.model == "all-MiniLM-L6-v2"
    assert settings.embed.batch_size == 32
    assert settings.themes.min_similarity is None  # read from the store per topic (round 9)
    assert settings.digest.week == "last-complete"
    assert settings.schedule.ingest_cron == "0 2 * * mon-fri"
    assert settings.sources == ()
    assert settings.topics == ()
    assert settings.enabled_sources == ()
    assert settings.user_agent == "pipeline-digest/0.1"


def test_load_settings_resolves_relative_paths_against_config_dir(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        [paths]
        data_dir = "../store"
        digests_dir = "/abs/digests"
        templates_dir = "templates"

        [[sources]]
        name = "local"
        kind = "file"
        url = "data/papers.jsonl"

        [[sources]]
        name = "remote"
        kind = "rss"
        url = "https://example.org/feed.xml"
        enabled = false
        """,
    )
    settings = load_settings(path)
    base = tmp_path.resolve()
    assert settings.paths.data_dir == base.parent / "store"
    assert settings.paths.digests_dir == Path("/abs/digests")
    assert settings.paths.templates_dir == base / "templates"
    local, remote = settings.sources
    assert local.url == "data/papers.jsonl"  # kept as written; resolve_url makes it absolute
    assert settings.resolve_url(local) == str(base / "data" / "papers.jsonl")
    assert settings.resolve_url(remote) == "https://example.org/feed.xml"
    assert settings.enabled_sources == (local,)


def test_load_settings_user_agent_includes_contact(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, '[fetch]\ncontact = "me@example.org"\n'))
    assert settings.user_agent == "pipeline-digest/0.1 (mailto:me@example.org)"


def test_topics_as_models_returns_topic_records(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, TOPIC + 'keywords = ["NAS"]\n'))
    assert settings.topics_as_models() == (
        Topic(
            slug="nas",
            name="Neural architecture search",
            description="We search for neural network architectures.",
            keywords=("NAS",),
        ),
    )


def test_load_settings_reports_unknown_key_with_suggestion(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, '[embed]\nmodle = "x"\n')
    assert problems == ("embed.modle: unknown key (did you mean 'model'?)",)


def test_load_settings_reports_unknown_key_in_list_entry(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, TOPIC + "exampels = []\n")
    assert problems == ("topics[0].exampels: unknown key (did you mean 'examples'?)",)


def test_load_settings_rejects_config_path_key(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, 'config_path = "/etc/x.toml"\n')
    assert len(problems) == 1
    assert problems[0].startswith("config_path: unknown key")


def test_load_settings_reports_wrong_type(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path, '[fetch]\ntimeout_s = "fast"\nretries = 1.5\n[embed]\nprogress = "yes"\n'
    )
    assert problems == (
        "fetch.timeout_s: must be a number, got 'fast' (string)",
        "fetch.retries: must be an integer, got 1.5 (float)",
        "embed.progress: must be true or false, got 'yes' (string)",
    )


@pytest.mark.parametrize(
    ("slug", "hint"),
    [
        ("Bee Keeping", " (write 'bee-keeping')"),
        ("bienenzüchtung", " (write 'bienenzuchtung')"),
        ("nas_2", " (write 'nas-2')"),
        ("-nas", " (write 'nas')"),
        ("Other", ""),  # reserved: no slug to suggest
        ("🤖", ""),
    ],
)
def test_a_bad_slug_is_told_how_to_write_it(tmp_path: Path, slug: str, hint: str) -> None:
    # Round 29: 'bienenzüchtung' was told "must be lowercase letters, digits or '-'", which
    # it is (ü is a lowercase letter), and no bad slug was told what to write instead.
    problems = problems_of(tmp_path, TOPIC.replace('slug = "nas"', f'slug = "{slug}"'))
    assert problems == (
        f"topics[0].slug: must be ASCII lowercase letters, digits or '-', got {slug!r}{hint}",
    )


def test_an_example_written_as_a_number_is_told_to_be_quoted(tmp_path: Path) -> None:
    # Round 29: `examples = [2312.00750]`, an arXiv id without quotes, said only "must be a
    # string, got 2312.0075 (float)": the id shown without its last 0, nothing said to do.
    problems = problems_of(tmp_path, TOPIC + "examples = [2312.00750]\ncounter_examples = [7]\n")
    quote = (
        ': write each paper in quotes ("2312.00752", not 2312.00752: TOML reads that as a'
        " number, and drops an id's last 0)"
    )
    assert problems == (
        f"topics[0].examples[0]: must be a string, got 2312.0075 (float){quote}",
        f"topics[0].counter_examples[0]: must be a string, got 7 (integer){quote}",
    )
    # Elsewhere a number is only a wrong type.
    assert problems_of(tmp_path, TOPIC + "keywords = [3]\n") == (
        "topics[0].keywords[0]: must be a string, got 3 (integer)",
    )


def test_load_settings_reports_single_table_instead_of_array(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, '[sources]\nname = "x"\n')
    assert problems == ("sources: must be an array of tables (write [[sources]]), got a table",)


def test_load_settings_reports_out_of_range(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        "[themes]\nmin_similarity = 1.5\nmin_theme_size = 1\n[fetch]\ntimeout_s = 0\n",
    )
    assert set(problems) == {
        "themes.min_similarity: must be between 0 and 1, got 1.5",
        "themes.min_theme_size: must be at least 2, got 1",
        "fetch.timeout_s: must be greater than 0, got 0",
    }


def test_load_settings_reports_unknown_source_kind(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, '[[sources]]\nname = "a"\nkind = "atom"\nurl = "x.xml"\n')
    assert problems == (
        "sources[0].kind: must be one of 'arxiv-rss', 'arxiv-api', 'hf-daily', 'rss', 'file', "
        "got 'atom'",
    )


def test_load_settings_rejects_announce_types_on_other_kinds(tmp_path: Path) -> None:
    text = (
        '[[sources]]\nname = "hf"\nkind = "hf-daily"\nurl = "https://x"\nannounce_types = ["new"]\n'
    )
    problems = problems_of(tmp_path, text)
    assert problems == (
        "sources[0].announce_types: only applies to kind 'arxiv-rss', not 'hf-daily'",
    )


@pytest.mark.parametrize("cron", ["0 2 * *", "61 * * * *", "every monday"])
def test_load_settings_reports_bad_cron(tmp_path: Path, cron: str) -> None:
    problems = problems_of(tmp_path, f'[schedule]\nbuild_cron = "{cron}"\n')
    assert len(problems) == 1
    assert problems[0].startswith("schedule.build_cron: must be a 5-field crontab expression")
    assert repr(cron) in problems[0]


def test_load_settings_reports_bad_timezone(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, '[digest]\ntimezone = "Mars/Olympus"\n')
    assert problems == (
        "digest.timezone: must be an IANA time zone like 'UTC' or 'Europe/Berlin', "
        "got 'Mars/Olympus'",
    )


@pytest.mark.parametrize("week", ["2025-W24", "2026-W53", "latest", "last-complete"])
def test_load_settings_accepts_valid_weeks(tmp_path: Path, week: str) -> None:
    assert load_settings(write_config(tmp_path, f'[digest]\nweek = "{week}"\n')).digest.week == week


@pytest.mark.parametrize(
    ("week", "message"),
    [
        ("2025-24", "must be 'last-complete', 'latest' or an ISO week like '2025-W24'"),
        ("last", "must be 'last-complete', 'latest' or an ISO week like '2025-W24'"),
        ("2025-W53", "week 53 does not exist in 2025"),
        ("2025-W00", "week 0 does not exist in 2025"),
    ],
)
def test_load_settings_reports_bad_week(tmp_path: Path, week: str, message: str) -> None:
    problems = problems_of(tmp_path, f'[digest]\nweek = "{week}"\n')
    assert problems == (f"digest.week: {message}, got '{week}'",)


def test_load_settings_reports_duplicate_slugs_and_names(tmp_path: Path) -> None:
    source = '[[sources]]\nname = "feed"\nkind = "rss"\nurl = "https://x"\n'
    problems = problems_of(tmp_path, source * 2 + TOPIC + TOPIC + TOPIC)
    assert problems == (
        "sources[1].name: duplicate name 'feed' (see sources[0])",
        "topics[1].slug: duplicate slug 'nas' (see topics[0])",
        "topics[2].slug: duplicate slug 'nas' (see topics[0])",
    )


def test_load_settings_reports_missing_topic_description(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, '[[topics]]\nslug = "nas"\nname = "NAS"\n')
    assert problems == ("topics[0].description: required key is missing",)


def test_load_settings_reports_blank_topic_description(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, '[[topics]]\nslug = "nas"\nname = "NAS"\ndescription = " "\n')
    assert problems == ("topics[0].description: must not be empty",)


def test_load_settings_reports_a_topic_that_wants_and_refuses_one_thing(tmp_path: Path) -> None:
    # Found from outside (round 16): check-config accepted a keyword also excluded and a paper
    # both an example and a counter-example; which one won was written nowhere.
    text = (
        '[[topics]]\nslug = "nas"\nname = "NAS"\ndescription = "Search."\n'
        'keywords = ["NAS", "supernet"]\nexclude = ["nas"]\n'
        'examples = ["2506.13755"]\ncounter_examples = ["2506.13755 "]\n'
    )
    assert problems_of(tmp_path, text) == (
        "topics[0].exclude: 'nas' is also in keywords; keep it in one of them",
        "topics[0].counter_examples: '2506.13755' is also in examples; keep it in one of them",
    )


def test_load_settings_reports_bad_slug_and_source_url(tmp_path: Path) -> None:
    text = '[[sources]]\nname = "Feed"\nkind = "rss"\nurl = "ftp://x"\n'
    problems = problems_of(tmp_path, text)
    assert problems == (
        "sources[0].name: must be ASCII lowercase letters, digits, '.', '_' or '-', got 'Feed'"
        " (write 'feed')",
        "sources[0].url: must be an http(s) URL, a file:// URL or a local path, got 'ftp://x'",
    )


def test_load_settings_reports_malformed_toml_with_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[embed]\nmodel = "x\n')
    with pytest.raises(ConfigError, match=r"is not valid TOML: .*line 2"):
        load_settings(path)


def test_load_settings_reports_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"config file not found: .*nope\.toml"):
        load_settings(path)


def test_load_settings_reports_all_problems_at_once(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        [embed]
        modle = "x"

        [[topics]]
        slug = "nas"
        name = "NAS"
        description = "Search."

        [[topics]]
        slug = "attn"
        name = "Attention"
        description = "Attention."
        min_similarity = 1.5
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(info.value).splitlines() == [
        f"{path} has 2 problems:",
        "  embed.modle: unknown key (did you mean 'model'?)",
        "  topics[1].min_similarity: must be between 0 and 1, got 1.5",
    ]


def test_settings_is_frozen(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, ""))
    assert isinstance(settings, Settings)
    with pytest.raises(ValueError, match="frozen"):
        settings.embed.batch_size = 1  # type: ignore[misc]


def test_config_module_import_is_light() -> None:
    code = "import sys, pipeline.config; print(sorted({'apscheduler', 'torch'} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_outputs_and_email_defaults_send_nothing(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, ""))
    assert settings.outputs.write_html and settings.outputs.chart_weeks == 8
    assert not settings.email.send_after_build and settings.email.recipients == ()


def test_email_problems_are_reported_with_paths(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        """
        [outputs]
        base_url = "ftp://example.org/"
        chart_weeks = -1
        [email]
        smtp_port = 0
        security = "tls"
        username_env = "MY USER"
        recipients = ["not-an-address"]
        """,
    )
    assert problems == (
        "outputs.chart_weeks: must be at least 0, got -1",
        "outputs.base_url: must be an http(s) URL ending in '/', or '', got 'ftp://example.org/'",
        "email.smtp_port: must be between 1 and 65535, got 0",
        "email.security: must be one of 'starttls', 'ssl', 'none', got 'tls'",
        "email.username_env: must be an environment variable name like 'SMTP_PASSWORD', "
        "got 'MY USER'",
        "email.recipients[0]: must be an e-mail address, got 'not-an-address'",
    )


@pytest.mark.parametrize(
    ("base_url", "problem"),
    [
        (
            "https://example.org/my digests/",
            "holds a space, which a URL cannot hold (write it as %20)",
        ),
        ("https://example.org/d\tx/", "holds a control character (a NUL, a tab or a line break)"),
        ("https://example.org/<d>/", "holds '<', which a URL cannot hold (write it as %3C)"),
        (
            "https://example.org/d/?week=/",
            "has a query ('?'): the feed's links would add their file names to it, not to the path",
        ),
        (
            "https://example.org/#d/",
            "has a fragment ('#'): the feed's links would add their file names to it, not to"
            " the path",
        ),
        ("https://example.org/100%/", "holds a '%' that is no escape like %20 (write it as %25)"),
        (
            "https://example.org/d\u00a0x/",
            "holds '\\xa0', which a URL cannot hold (write it as %C2%A0)",
        ),
        ("https://exa mple.org/d/", "holds a space, which a URL cannot hold (write it as %20)"),
        ("https:///d/", "has no host name"),
        ("https://[::1/d/", "is not a valid URL (Invalid IPv6 URL)"),
        ("https://example.org:99999/d/", "is not a valid URL (Port out of range 0-65535)"),
    ],
)
def test_a_base_url_a_url_cannot_be_is_refused_naming_why(
    tmp_path: Path, base_url: str, problem: str
) -> None:
    # Round 27 (users): base_url = "https://example.org/my digests/" passed check-config, and
    # every link of feed.xml was then invalid (a space in an Atom href), read by no feed reader.
    problems = problems_of(tmp_path, f"[outputs]\nbase_url = {json.dumps(base_url)}\n")
    assert problems == (f"outputs.base_url: {problem}, got {base_url!r}",)


def test_a_base_url_with_percent_escapes_a_port_or_other_letters_is_accepted(
    tmp_path: Path,
) -> None:
    for url in (
        "https://example.org/my%20digests/",
        "http://127.0.0.1:8080/d/",
        "https://bücher.example/Übersicht/",
        "https://[::1]/d/",
    ):
        config = write_config(tmp_path, f"[outputs]\nbase_url = {json.dumps(url)}\n")
        assert load_settings(config).outputs.base_url == url


def test_email_refuses_a_password_without_encryption_and_incomplete_sending(
    tmp_path: Path,
) -> None:
    problems = problems_of(
        tmp_path,
        """
        [email]
        send_after_build = true
        security = "none"
        username_env = "SMTP_USER"
        """,
    )
    assert len(problems) == 1
    assert (
        "send_after_build is true but email.smtp_host, email.sender and email.recipients"
        " are empty" in problems[0]
    )
    assert "security 'none' would send the password unencrypted" in problems[0]
    assert "set both username_env and password_env" in problems[0]


@pytest.mark.parametrize(
    ("email", "problem"),
    [
        (
            'send_after_build = true\nsmtp_host = "localhost"\nsender = "me@example.org"',
            "email: send_after_build is true but email.recipients is empty",
        ),
        (
            'smtp_host = "localhost"\nsender = "me@example.org"\nrecipients = []',
            "email.recipients: must list at least one address to send digests"
            " (email.smtp_host is set)",
        ),
        (
            'smtp_host = "localhost"\nrecipients = ["a@example.org"]',
            "email.sender: must be set to send digests (email.smtp_host is set)",
        ),
        (
            'smtp_host = "h"\nsender = "me@example.org"\nrecipients = ["a@example.org", "  "]',
            "email.recipients[1]: must be an e-mail address, got '  '",
        ),
        (
            'smtp_host = "h"\nsender = "m@example.org"\nrecipients = ["a@x.org", "A@x.org"]',
            "email.recipients[1]: 'A@x.org' is listed twice",
        ),
    ],
)
def test_check_config_names_the_email_key_that_stops_sending(
    tmp_path: Path, email: str, problem: str
) -> None:
    # Round 9: an [email] with an smtp_host but no recipients passed check-config (`digest send`
    # refused it later), and send_after_build without them was one line naming no key.
    from click.testing import CliRunner

    from pipeline.cli import cli

    config = tmp_path / "config.toml"
    config.write_text(f"[email]\n{email}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "check-config"])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines()[1:] == [f"  {problem}"]


def test_load_settings_arxiv_and_filters_defaults(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, ""))
    assert settings.arxiv.api_url == "https://export.arxiv.org/api/query"
    assert settings.arxiv.politeness_s == 3.0 and settings.arxiv.page_size == 2000
    assert settings.arxiv.backfill and settings.arxiv.backfill_via == "api"
    assert settings.filters.include == () and settings.digest.refresh_signals


def test_load_settings_reports_bad_arxiv_filters_and_source_keys(tmp_path: Path) -> None:
    text = """
        [arxiv]
        api_url = "ftp://x"
        backfill_via = "rss"
        backfill_days = 0
        page_size = 5000
        politeness_s = -1.0

        [filters]
        exclude = [""]

        [[sources]]
        name = "a"
        kind = "arxiv-rss"
        url = "https://rss.arxiv.org/rss/cs.LG"
        categories = ["cs LG"]

        [[sources]]
        name = "b"
        kind = "rss"
        url = "https://x"
        categories = ["cs.LG"]
        include = ["graph"]
    """
    assert set(problems_of(tmp_path, text)) == {
        "arxiv.api_url: must be an http(s) URL, a file:// URL or a local path, got 'ftp://x'",
        "arxiv.backfill_via: must be one of 'api', 'oai', got 'rss'",
        "arxiv.backfill_days: must be between 1 and 90, got 0",
        "arxiv.page_size: must be between 1 and 2000, got 5000",
        "arxiv.politeness_s: must be at least 0, got -1.0",
        "filters.exclude[0]: must not be empty",
        "sources[0].categories[0]: must be an arXiv category like 'cs.LG', got 'cs LG'",
        "sources[1].categories: only applies to kind 'arxiv-rss', not 'rss'",
    }


def test_load_settings_reads_schedule_options(tmp_path: Path) -> None:
    settings = load_settings(
        write_config(
            tmp_path,
            '[schedule]\ningest_cron = "*/5 * * * * *"\nmisfire_grace_s = 600\ncatch_up = false\n',
        )
    )
    assert settings.schedule.ingest_cron == "*/5 * * * * *"  # a leading seconds field
    assert (settings.schedule.misfire_grace_s, settings.schedule.catch_up) == (600, False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("misfire_grace_s = 0", "schedule.misfire_grace_s: must be at least 1, got 0"),
        ('misfire_grace_s = "1h"', "schedule.misfire_grace_s: must be an integer, got '1h'"),
        ('catch_up = "yes"', "schedule.catch_up: must be true or false, got 'yes'"),
        ('ingest_cron = "* * * * * * *"', "schedule.ingest_cron: must be a 5-field crontab"),
    ],
)
def test_load_settings_reports_bad_schedule_options(
    tmp_path: Path, text: str, expected: str
) -> None:
    problems = problems_of(tmp_path, f"[schedule]\n{text}\n")
    assert len(problems) == 1
    assert problems[0].startswith(expected)


def test_load_settings_validates_keyword_weight(tmp_path: Path) -> None:
    good = load_settings(write_config(tmp_path, "[themes]\nkeyword_weight = 0.1\n"))
    assert good.themes.keyword_weight == 0.1
    problems = problems_of(tmp_path, "[themes]\nkeyword_weight = 0.9\n")
    assert problems == ("themes.keyword_weight: must be between 0 and 0.5, got 0.9",)


def test_load_settings_embed_backend_defaults_to_torch_and_accepts_onnx(tmp_path: Path) -> None:
    assert load_settings(write_config(tmp_path, "")).embed.backend == "torch"
    settings = load_settings(write_config(tmp_path, '[embed]\nbackend = "onnx-int8"\n'))
    assert settings.embed.backend == "onnx-int8"


def test_load_settings_rejects_unknown_embed_backend(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, '[embed]\nbackend = "tensorrt"\n')
    assert problems == (
        "embed.backend: must be one of 'torch', 'onnx', 'onnx-int8', got 'tensorrt'",
    )


def test_more_per_section_defaults_to_15_and_rejects_negatives(tmp_path: Path) -> None:
    assert load_settings(write_config(tmp_path, "")).digest.more_per_section == 15
    assert problems_of(tmp_path, "[digest]\nmore_per_section = -1\n") == (
        "digest.more_per_section: must be at least 0, got -1",
    )


def test_add_topic_paper_round_trips_the_shipped_config() -> None:
    shipped = (Path(__file__).resolve().parent.parent / "config.toml").read_text(encoding="utf-8")
    once = add_topic_paper(shipped, "nas", "arxiv:2506.13755", comment="A NAS paper")
    twice = add_topic_paper(once, "multimodal", "arxiv:2506.00001", counter=True)
    before, after = shipped.splitlines(), twice.splitlines()
    edits = difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_opcodes()
    removed = [line for tag, i1, i2, _, _ in edits if tag != "equal" for line in before[i1:i2]]
    added = [line for tag, _, _, j1, j2 in edits if tag != "equal" for line in after[j1:j2]]
    assert removed == ["examples = []"]  # nas's empty list became a multi-line one
    assert added == [
        "examples = [",
        '    "arxiv:2506.13755", # A NAS paper',
        "]",
        "counter_examples = [",
        '    "arxiv:2506.00001",',
        "]",
    ]
    assert add_topic_paper(twice, "nas", "arxiv:2506.13755") == twice  # already listed


def test_add_topic_paper_names_what_is_wrong() -> None:
    with pytest.raises(ConfigError, match="no topic with slug 'nope'"):
        add_topic_paper('[[topics]]\nslug = "a"\n', "nope", "arxiv:1")
    # Round 28: a typo of a slug says which one was meant, and still lists them all.
    two = '[[topics]]\nslug = "slug"\n[[topics]]\nslug = "nas"\n'
    meant = r"no topic with slug 'slgu'; did you mean 'slug'\? \(topics: slug, nas\)"
    with pytest.raises(ConfigError, match=meant):
        add_topic_paper(two, "slgu", "arxiv:1")
    with pytest.raises(ConfigError, match=r"no topic with slug 'xyz' \(topics: slug, nas\)"):
        add_topic_paper(two, "xyz", "arxiv:1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        add_topic_paper("[[topics]\n", "a", "arxiv:1")


def test_digest_themes_and_highlights_are_validated(tmp_path: Path) -> None:
    defaults = load_settings(write_config(tmp_path, "")).digest
    assert (defaults.themes, defaults.highlights) == ("compact", 10)
    settings = load_settings(write_config(tmp_path, '[digest]\nthemes = "off"\nhighlights = 0\n'))
    assert (settings.digest.themes, settings.digest.highlights) == ("off", 0)
    problems = problems_of(tmp_path, '[digest]\nthemes = "none"\nhighlights = -1\n')
    assert problems == (
        "digest.highlights: must be at least 0, got -1",
        "digest.themes: must be one of 'compact', 'full', 'off', got 'none'",
    )


def test_themes_areas_accepts_builtin_off_or_a_file_relative_to_the_config(
    tmp_path: Path,
) -> None:
    assert load_settings(write_config(tmp_path, "")).themes.areas == "builtin"
    off = write_config(tmp_path, '[themes]\nareas = "off"\n')
    assert load_settings(off).themes.areas == "off"
    (tmp_path / "fields.txt").write_text("# my field\nPhotonics\nLaser physics\n", "utf-8")
    mine = load_settings(write_config(tmp_path, '[themes]\nareas = "fields.txt"\n'))
    assert mine.themes.areas == str((tmp_path / "fields.txt").resolve())
    # A file saved with a byte-order mark (Windows editors) reads the same.
    (tmp_path / "bom.txt").write_text("\ufeffPhotonics\nLaser physics\n", "utf-8")
    bom = load_settings(write_config(tmp_path, '[themes]\nareas = "bom.txt"\n'))
    assert area_names(bom.themes.areas) == ("Photonics", "Laser physics")


def test_a_bad_areas_file_is_a_config_problem_naming_it(tmp_path: Path) -> None:
    found = problems_of(tmp_path, '[themes]\nareas = "missing.txt"\n')
    assert any("themes.areas" in p and "missing.txt" in p for p in found), found
    (tmp_path / "twice.txt").write_text("Photonics\nphotonics\n", "utf-8")
    found = problems_of(tmp_path, '[themes]\nareas = "twice.txt"\n')
    assert any("twice.txt:2: 'photonics' repeats line 1" in p for p in found), found
    (tmp_path / "empty.txt").write_text("# nothing yet\n", "utf-8")
    found = problems_of(tmp_path, '[themes]\nareas = "empty.txt"\n')
    assert any("names no research area" in p for p in found), found


@pytest.mark.parametrize(
    ("url", "read", "meant"),
    [
        ("file://~/papers/week.jsonl", "/papers/week.jsonl", "~/papers/week.jsonl"),
        ("file://data/week.jsonl", "/week.jsonl", "data/week.jsonl"),
    ],
)
def test_a_file_url_whose_host_is_a_folder_is_refused(
    tmp_path: Path, url: str, read: str, meant: str
) -> None:
    # Round 29: `url = "file://~/papers/week.jsonl"` read /papers/week.jsonl (what follows
    # file:// is a host, which the fetch sets aside), and check-config said "/papers/week.jsonl
    # does not exist", naming neither the home folder nor the folder the user wrote.
    text = f'[[sources]]\nname = "mine"\nkind = "file"\nurl = "{url}"\n'
    host = meant.split("/", 1)[0]
    assert problems_of(tmp_path, text) == (
        f"sources[0].url: names a host, {host!r}, where a folder was meant (it would read"
        f" {read!r}): write the path itself ({meant!r}; ~ is your home folder, a relative path"
        f" is read from the config's folder) or file:/// and the absolute path, got {url!r}",
    )
    for fine in ("file:///tmp/week.jsonl", "file://localhost/tmp/week.jsonl", "~/week.jsonl"):
        config = write_config(tmp_path, text.replace(url, fine))
        assert load_settings(config).sources[0].url == fine
