"""What a config value must be: the patterns and checks the settings models validate with.

Pure: pydantic validators and plain functions, no I/O. `week_problem` is shared with the CLI's
--week option.
"""

from __future__ import annotations

import errno
import ipaddress
import re
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    Strict,
)
from pydantic_core import PydanticCustomError

from pipeline.service.crontab import make_trigger, next_fire

DATABASE_FILENAME = "pipeline.sqlite3"
PACKAGED_MODEL = "all-MiniLM-L6-v2"  # this exact name loads the offline copy shipped as a package
SourceKind = Literal["arxiv-rss", "arxiv-api", "hf-daily", "rss", "file"]
AnnounceType = Literal["new", "cross", "replace", "replace-cross"]

_SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
_TOPIC_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
# Keys the digest gives its own sections: "other" (papers no topic or theme took) and a
# discovered theme's id. A topic under one of them was read as that section (round 16: `explain`
# put a topic `other`'s papers in Other, `topics --compare` saw no move between the two).
_RESERVED_SLUG = re.compile(r"other|theme-[0-9a-f]{8}")
_ISO_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})")  # ASCII digits: \d takes '２０２５' too
#: Weeks outside these years (the Unix epoch to 2100) are typing mistakes; near year 1 or 9999
#: date arithmetic fails.
MIN_YEAR, MAX_YEAR = 1970, 2100
_HEADER_TEXT = re.compile(r"[\x20-\x7e]*")  # what an HTTP header value can carry
_NUMERIC_WEEKDAYS = re.compile(r"(?<![a-z])[0-7](?:-[0-7])?(?:,[0-7](?:-[0-7])?)*(?:/\d+)?$")
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# C0 and C1 controls and the Unicode line and paragraph separators: a NUL, a tab or a line
# break pasted into a URL (it cut the source's line in the report in two, or failed the fetch).
_URL_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# What no URL (nor IRI) holds unescaped (RFC 3986 section 2, RFC 3987): a space or another
# blank, and the ASCII marks outside its grammar; and a '%' that starts no %XX escape.
_NOT_IN_URL = re.compile(r'[\s"<>\\^`{|}]')
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# A host name as the resolver is asked it (after IDNA): dot-separated labels of 1-63 letters,
# digits, hyphens or underscores, 253 characters at most, a closing dot allowed.
_HOST_NAME = re.compile(r"(?=.{1,253}\.?$)[A-Za-z0-9_-]{1,63}(\.[A-Za-z0-9_-]{1,63})*\.?")
# One bare address: none of the characters a To: header splits or comments on (round 14:
# "you@example,org" passed, and was mailed to "you@example" and to "org"), a local part that
# does not start with a dot (".you@example.org" made Python's header parser raise TypeError
# in every build that mailed it) and a domain of non-empty dot-separated labels.
_NOT_IN_ADDRESS = r'@\s",:;<>()\[\]\\\x00-\x1f\x7f'
_EMAIL = re.compile(
    rf"[^{_NOT_IN_ADDRESS}.][^{_NOT_IN_ADDRESS}]*@[^{_NOT_IN_ADDRESS}.]+(?:\.[^{_NOT_IN_ADDRESS}.]+)*"
)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ARXIV_CATEGORY = re.compile(r"[a-z][a-z-]*(?:\.[A-Za-z-]+)?")


def _problem(kind: str, message: str) -> PydanticCustomError:
    # No ctx: pydantic then uses the message verbatim (user text may contain braces).
    return PydanticCustomError(kind, message)


class SymlinkLoop(ValueError):
    """A path whose symbolic links point round in a circle."""


def config_folder(config_path: Path) -> Path:
    """The folder a config's relative paths resolve against: the config file's, or for a pipe
    (`--config <(…)`), which lies in no folder, the working directory."""
    return config_path.parent if config_path.is_file() else Path.cwd()


def absolute_path(path: Path) -> Path:
    """`path` made absolute with its symbolic links resolved; SymlinkLoop when they loop
    (Path.resolve raised RuntimeError there: a traceback from every command, round 16)."""
    try:
        return path.resolve()
    except (RuntimeError, OSError) as e:  # RuntimeError up to Python 3.12, ELOOP after
        if isinstance(e, OSError) and e.errno != errno.ELOOP:
            raise
        raise SymlinkLoop(f"{path} is a loop of symbolic links") from e


def _check_slug(value: str) -> str:
    """A topic slug must not be a key the digest uses for its own sections."""
    if _RESERVED_SLUG.fullmatch(value):
        what = "the section of papers no topic takes" if value == "other" else "a theme's id"
        raise _problem("reserved", f"{value!r} is reserved ({what}); choose another slug")
    return value


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


def _naming(pattern: re.Pattern[str], rule: str) -> AfterValidator:
    """`_matching` for a slug or a source name, saying how to write one that is not (round 29:
    'Bee Keeping', 'nas_2', 'bienenzüchtung' — ü is a lowercase letter — were told the rule
    only): the name lower-cased, accents dropped, other characters as '-'."""

    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            plain = unicodedata.normalize("NFKD", value.casefold()).encode("ascii", "ignore")
            meant = re.sub(r"[^a-z0-9._-]+", "-", plain.decode()).strip("-._")
            meant = meant if pattern.fullmatch(meant) else re.sub(r"[._]+", "-", meant)
            usable = pattern.fullmatch(meant) and not _RESERVED_SLUG.fullmatch(meant)
            hint = f" (write {meant!r})" if usable else ""
            raise _problem("pattern", f"must be {rule}, got {value!r}{hint}")
        return value

    return AfterValidator(check)


def _check_not_blank(value: str) -> str:
    if not value.strip():
        raise _problem("blank", "must not be empty")
    return value.strip()  # multi-line TOML strings end with a newline


def _check_has_word(value: str) -> str:
    # Phrases are matched on their words (case and punctuation aside): "(" or ".*" has none, so
    # as a keyword it matched nothing and as a filter's include it turned the filter off.
    if not any(c.isalnum() for c in value):
        raise _problem("phrase", f"must contain a letter or digit, got {value!r}")
    return value


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
        trigger = make_trigger(expression, "UTC")
    except ValueError as e:
        reason = str(e)[:1].lower() + str(e)[1:]
        raise _problem(
            "cron",
            f"must be a 5-field crontab expression like '0 7 * * mon' (or 6, seconds first), "
            f"got {expression!r} ({reason})",
        ) from None
    # A day that no month has ('0 2 30 2 *', 31 April) passed, and `serve` then never ran the
    # job while `status` said health ok. No field names a year, so any start date will do.
    if next_fire(trigger, datetime(2000, 1, 1, tzinfo=UTC)) is None:
        raise _problem("cron", f"never fires: no month has the day it names, got {expression!r}")
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
    if "\x00" in url or (url.startswith(("http://", "https://")) and _URL_CONTROL.search(url)):
        raise _problem(
            "url", f"holds a control character (a NUL, a tab or a line break), got {url!r}"
        )
    if url.startswith(("http://", "https://")):
        _check_web_host(url)
    if url[:7].lower() == "file://":
        _check_file_host(url)
    return url


def _check_file_host(url: str) -> None:
    """A file:// URL names no host but this machine's: what follows `file://` up to the next
    `/` is a host, which the fetch sets aside. `file://~/papers.jsonl` and
    `file://data/papers.jsonl` read /papers.jsonl, and check-config said "/papers.jsonl does
    not exist", naming neither the home folder nor the folder the user wrote (round 29)."""
    host = url[7:].split("/", 1)[0]
    if host and host.lower() != "localhost":
        path = url[7:]
        raise _problem(
            "url",
            f"names a host, {host!r}, where a folder was meant (it would read"
            f" {'/' + path.partition('/')[2]!r}): write the path itself ({path!r}; ~ is your"
            f" home folder, a relative path is read from the config's folder) or file:/// and"
            f" the absolute path, got {url!r}",
        )


def _check_web_host(url: str) -> None:
    """An http(s) URL's host and port as urlsplit and httpx can read them."""
    # A typo such as "http://[::1" or a port past 65535 passed here, then every ingest
    # ended in a traceback (ValueError from urlsplit) before any source was read.
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port  # .port raises for one past 65535
    except ValueError as e:
        raise _problem("url", f"is not a valid URL ({e}), got {url!r}") from e
    if not host:
        raise _problem("url", f"has no host name, got {url!r}")
    _check_host(url, host)


def _check_host(url: str, host: str) -> None:
    """Refuse a host the fetch cannot send to: one httpx cannot IDNA-encode or decode ("xn--zz"
    ended every ingest in a traceback), or one the resolver cannot be asked (an empty label, one
    of 64 characters, a space: each passed check-config and failed only at the fetch)."""
    try:
        ipaddress.ip_address(host)
        return  # an IPv4 or IPv6 literal (a zone such as %eth0 included)
    except ValueError:
        pass
    import httpx  # here, not at the top: a build whose sources are files never loads it

    try:
        parsed = httpx.URL(url)
        _ = parsed.host  # decodes an "xn--" label; raises for one that is no punycode
        ascii_host = parsed.raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError) as e:
        # httpx says "Invalid IDNA hostname: 'bücher…'"; idna only "Invalid A-label"
        said = str(e) if isinstance(e, httpx.InvalidURL) else f"Invalid IDNA hostname: {e}"
        raise _problem("url", f"is not a valid URL ({said}), got {url!r}") from e
    if not _HOST_NAME.fullmatch(ascii_host):
        raise _problem(
            "url",
            f"host name {host!r} is not valid (dot-separated parts of 1 to 63 letters, digits"
            f" or hyphens), got {url!r}",
        )


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
    """An http(s) URL ending in '/' that the feed's links can start with: ASCII that a URL can
    hold (a space, '<' or a '%' that is no escape made every href of feed.xml invalid, and
    check-config had said ok: round 27), no query or fragment (the links append file names),
    and a host and port the URL can have. Letters beyond ASCII are fine: Atom's links are IRIs."""
    if not url:
        return url
    if not (url.startswith(("http://", "https://")) and url.endswith("/")):
        raise _problem("url", f"must be an http(s) URL ending in '/', or '', got {url!r}")
    if _URL_CONTROL.search(url):
        raise _problem(
            "url", f"holds a control character (a NUL, a tab or a line break), got {url!r}"
        )
    bad = _NOT_IN_URL.search(url)
    if bad:
        char = bad[0]
        what = "a space" if char == " " else repr(char)
        raise _problem(
            "url",
            f"holds {what}, which a URL cannot hold (write it as {quote(char, safe='')}),"
            f" got {url!r}",
        )
    if _LONE_PERCENT.search(url):
        raise _problem(
            "url", f"holds a '%' that is no escape like %20 (write it as %25), got {url!r}"
        )
    for mark, part in (("?", "a query"), ("#", "a fragment")):
        if mark in url:
            raise _problem(
                "url",
                f"has {part} ({mark!r}): the feed's links would add their file names to it,"
                f" not to the path, got {url!r}",
            )
    _check_web_host(url)
    return url


def _empty_to_none(value: object) -> object:
    return None if value == "" else value


StrictBool = Annotated[bool, Strict()]
StrictInt = Annotated[int, Strict()]
UnitFloat = Annotated[float, Strict(), _between(0, 1)]
Text = Annotated[str, Strict(), AfterValidator(_check_not_blank)]
Phrase = Annotated[str, Strict(), AfterValidator(_check_not_blank), AfterValidator(_check_has_word)]
TimeZone = Annotated[str, Strict(), AfterValidator(_check_timezone)]
Cron = Annotated[str, Strict(), AfterValidator(_check_cron)]
EnvName = Annotated[str, Strict(), AfterValidator(_check_env_name)]


def parse_area_names(text: str, *, source: str) -> tuple[str, ...]:
    """Names from an areas file: one per line; blank lines and lines starting with `#` skipped.

    A name given twice (ignoring case) is a mistake in the file: ValueError naming `source`
    and the line, since two rows with one name would split its papers' votes.
    """
    names: list[str] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        name = raw.strip()
        if not name or name.startswith("#"):
            continue
        key = name.casefold()
        if key in seen:
            raise ValueError(f"{source}:{number}: {name!r} repeats line {seen[key]}")
        seen[key] = number
        names.append(name)
    return tuple(names)


def parse_area_fields(text: str) -> dict[str, str]:
    """Each name of an areas file → the field it is listed under: the last `# Field` comment
    line above it that reads as a name (at most five words, no ":" or ","; "# Broad areas"
    and fields starting "Other" excepted), when there is one. A field names a theme whose
    area name only a minority of its papers write (topics/areas.py)."""
    fields: dict[str, str] = {}
    field: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            if heading:
                field = heading if _is_field_name(heading) else None
            continue
        if line and field is not None and line.casefold() != field.casefold():
            fields[line] = field
    return fields


def parse_broad_areas(text: str) -> frozenset[str]:
    """The names an areas file lists under its "# Broad areas" comment line (up to the next
    heading): whole research areas ("Computer vision", "Algorithmic game theory"), which may
    name a theme whose own phrases its titles do not use (topics/areas.py, `name_broadly`)."""
    found: set[str] = set()
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            if heading:
                inside = heading.casefold() == "broad areas"
            continue
        if line and inside:
            found.add(line)
    return frozenset(found)


def _is_field_name(heading: str) -> bool:
    words = heading.split()
    return (
        0 < len(words) <= 5
        and not any(c in heading for c in ":,")
        and words[0] not in ("Broad", "Other")
        and heading[:1].isupper()
    )
