"""Digest → Markdown through Jinja2 templates (pure: data in, text out).

Feed text is untrusted: every `{{ value }}` is Markdown-escaped unless it is a `Safe` string built
here (links whose URL was checked to be http/https). Imports only models and jinja2.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2

from pipeline.errors import ConfigError
from pipeline.models import Digest, Paper, PaperEntry, Section, heading_anchor, trend_of

# Inline syntax that could become live markup: emphasis, code, links/images, raw HTML, autolinks,
# strikethrough and fences (`~`; a value starting "~~~" would open a code block under GFM).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
# Block syntax matters only where a value starts a line (headings, lists, quotes, rules).
_LINE_START = re.compile(r"^(?:([#>+=-])|(\d+)([.)]))")
# GFM's extended autolinks need no markup: "https://…", "www.…", "mailto:…". A backslash before
# the ':' or '.' that triggers them keeps the text and drops the link. An e-mail address is found
# after escapes are decoded, so only an (invisible) empty HTML comment before its '@' stops it.
_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9]):(?=//)|(?<=\bmailto):|(?<=\bxmpp):|(?<=\bwww)\.")
_EMAIL_AT = re.compile(r"(?<=[\w.+-])@(?=[\w-])")
# Control characters, bidi overrides/isolates, and every other invisible format character
# (zero-width spaces, word joiner, BOM, soft hyphen, Unicode tag characters); zero-width
# (non-)joiners only where they join nothing a word or emoji needs (`_joins`).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_JOINERS = "\u200c\u200d"
_BLOCKS = "▁▂▃▄▅▆▇█"
_LOCAL_IMAGE = re.compile(r"[\w][\w.-]*\.(?:png|svg|jpg)")
_LOCAL_FILE = re.compile(r"[\w][\w.-]*\.(?:png|svg|jpg|md|html|json|xml)")


class Safe(str):
    """Markdown built by this module from checked parts; emitted as is."""


def md_escape(text: object) -> str:
    """Escape Markdown/HTML syntax, GFM autolinks, strikethrough and fences, and drop control and
    invisible characters (bidi overrides, zero-width spaces, tag characters; zero-width joiners
    unless a word or emoji needs them); one line."""
    if isinstance(text, Safe):
        return text
    cleaned = _drop_invisible(" ".join(str(text).split()))
    escaped = _MD_SPECIAL.sub(r"\\\1", cleaned)
    escaped = _AUTOLINK.sub(r"\\\g<0>", escaped)
    escaped = _EMAIL_AT.sub("<!-- -->@", escaped)
    return _LINE_START.sub(_escape_line_start, escaped)


def _drop_invisible(text: str) -> str:
    text = _CONTROL.sub("", text)
    if text.isascii():
        return text
    return "".join(
        c
        for i, c in enumerate(text)
        if unicodedata.category(c) != "Cf" or (c in _JOINERS and _joins(text, i))
    )


def _joins(text: str, i: int) -> bool:
    """Whether the zero-width (non-)joiner at `i` stands between two visible non-ASCII
    characters, as in a Persian or Indic word or an emoji sequence ("👩‍🔬"), where ingest keeps
    it (ingest/clean.py); between Latin letters it only hides a spoofed word."""
    if not 0 < i < len(text) - 1:
        return False
    return all(
        not n.isascii() and unicodedata.category(n)[0] not in "CZ"
        for n in (text[i - 1], text[i + 1])
    )


def _escape_line_start(match: re.Match[str]) -> str:
    if match.group(1):
        return "\\" + match.group(1)
    return f"{match.group(2)}\\{match.group(3)}"


def web_url(url: str | None) -> str | None:
    """The URL, stripped, if it is http(s) with a host; else None (javascript:, data:, a
    relative or broken link): the only links any output carries."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def safe_url(url: str | None) -> str | None:
    """The URL if http(s) with a host (`web_url`), percent-encoding what breaks Markdown."""
    checked = web_url(url)
    return quote(checked, safe=":/?#=&%@+,;~.-_!$'*") if checked else None


def md_link(text: object, url: str | None) -> Safe:
    """[text](url) when url is safe, else the escaped text alone."""
    href = safe_url(url)
    label = md_escape(text)
    return Safe(f"[{label}]({href})" if href else label)


def sparkline(counts: tuple[int, ...]) -> str:
    """Counts → '▂▃▅▇' scaled to the largest."""
    if not counts:
        return ""
    top = max(counts) or 1
    return "".join(
        _BLOCKS[min(len(_BLOCKS) - 1, round(c / top * (len(_BLOCKS) - 1)))] for c in counts
    )


_ARROWS = {"growing": "↑", "shrinking": "↓", "new": "new", "": "→"}


def trend_arrow(history: tuple[int, ...]) -> str:
    """'↑', '↓', '→' or 'new' for the last count against the earlier ones (models.trend_of)."""
    if len(history) < 2:
        return ""
    return _ARROWS[trend_of(history[:-1], history[-1])]


def trend(history: tuple[int, ...]) -> str:
    """Sparkline and arrow, e.g. '▂▄▅█ ↑'. Weeks before the first with papers are left out."""
    if len(history) < 2:
        return ""
    first = next((i for i, c in enumerate(history) if c > 0), len(history) - 1)
    shown = history[first:]
    arrow = trend_arrow(history)
    return f"{sparkline(shown)} {arrow}" if len(shown) > 1 else arrow


def anchor(section: Section | str) -> str:
    """The anchor GitHub (and our python-markdown toc slugify) derive from a heading."""
    return Safe(heading_anchor(section if isinstance(section, str) else section.title))


def link_anchor(text: str, target: Section | str) -> Safe:
    """[text](#anchor) to a heading in the same digest."""
    return Safe(f"[{md_escape(text)}](#{anchor(target)})")


def image(alt: str, src: str) -> Safe:
    """![alt](src) for a file beside the digest (a bare name such as '2025-W24.png') or an
    http(s) URL; anything else renders as nothing."""
    if _LOCAL_IMAGE.fullmatch(src):
        return Safe(f"![{md_escape(alt)}]({src})")
    href = safe_url(src)
    return Safe(f"![{md_escape(alt)}]({href})" if href else "")


def format_authors(paper: Paper, *, limit: int = 4) -> str:
    """'A, B, C' or 'A, B, C et al.' past `limit` authors."""
    if not paper.authors:
        return ""
    shown = ", ".join(paper.authors[:limit])
    return shown + (" et al." if len(paper.authors) > limit else "")


def paper_links(entry: PaperEntry) -> Safe:
    """'[abs](…) · [pdf](…) · [code](…)', only the links that are safe."""
    parts = [
        md_link(label, url)
        for label, url in (
            ("abs", entry.paper.url),
            ("pdf", entry.paper.pdf_url),
            ("code", entry.code_url),
        )
        if safe_url(url)
    ]
    return Safe(" · ".join(parts))


def file_link(text: object, name: str) -> Safe:
    """[text](name) to a file beside this one (a bare file name), else the escaped text."""
    label = md_escape(text)
    return Safe(f"[{label}]({name})" if _LOCAL_FILE.fullmatch(name) else label)


def make_environment(templates_dir: Path | None = None) -> jinja2.Environment:
    """Jinja2 environment: the user's template folder first, then the packaged templates."""
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
    loaders.append(jinja2.PackageLoader("pipeline", "templates"))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=False,
        finalize=md_escape,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.do"],
    )
    env.globals.update(
        link=md_link,
        links=paper_links,
        authors=format_authors,
        anchor=anchor,
        sparkline=sparkline,
        trend=trend,
        link_anchor=link_anchor,
        image=image,
        file_link=file_link,
        listed=listed,
    )
    return env


def listed(n: int, limit: int) -> int:
    """How many of a list's `n` entries a digest shows when it shows `limit`: all of them when
    only one is over (its title takes the line "… and 1 more" would), else `limit`; a limit of
    0 shows none."""
    return n if limit and n == limit + 1 else limit


def _environment(templates_dir: Path | None) -> jinja2.Environment:
    """`make_environment(templates_dir)`, made once per process while the folder holds the same
    files (names, sizes, modification times): compiling the templates took 70 ms of every
    build. Jinja reloads a template whose file changed since it was compiled (auto_reload)."""
    listing: tuple[tuple[str, int, int], ...] = ()
    if templates_dir is not None:
        try:
            listing = tuple(
                sorted(
                    (p.name, (i := p.stat()).st_size, i.st_mtime_ns)
                    for p in templates_dir.iterdir()
                )
            )
        except OSError:
            return make_environment(templates_dir)
    return _kept_environment(templates_dir, listing)


@functools.lru_cache(maxsize=4)
def _kept_environment(
    templates_dir: Path | None, listing: tuple[tuple[str, int, int], ...]
) -> jinja2.Environment:
    return make_environment(templates_dir)


def render_markdown(
    digest: Digest,
    *,
    top_per_section: int = 10,
    more_per_section: int = 25,
    templates_dir: Path | None = None,
    chart: str | None = None,
    themes_shown: str = "compact",
) -> str:
    """The digest as Markdown; `chart` is the trend chart's file name beside it, if there is one.
    Topics and Other show `top_per_section` papers in full and up to `more_per_section` more as
    title lines; discovered themes are three title lines each unless `themes_shown` is "full".
    A list one entry over its limit shows that entry rather than "… and 1 more" (a theme of
    four: four lines)."""
    context: dict[str, Any] = {
        "digest": digest,
        "top": top_per_section,
        "more": more_per_section,
        "chart": chart,
        "themes_shown": themes_shown,
    }
    text = _render(templates_dir, "digest.md.j2", context)
    return re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"


def render_index(
    records: Sequence[Mapping[str, Any]],
    *,
    title: str,
    templates_dir: Path | None = None,
    feed: bool = True,
) -> str:
    """digests/index.md: a table linking every week's digest (records: the JSON sidecars).
    `feed`: whether feed.xml is written beside it (`outputs.write_feed`), so the index links it
    only then (round 28: with write_feed off it linked a file no build writes)."""
    ordered = sorted(records, key=lambda r: str(r["week"]), reverse=True)
    context = {"records": ordered, "title": title, "feed": feed}
    text = _render(templates_dir, "index.md.j2", context)
    return re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"


def _render(templates_dir: Path | None, name: str, context: Mapping[str, Any]) -> str:
    """Template `name` rendered with `context`. A template of the user's (`templates_dir`)
    that fails (a brace left open, a key the context lacks, an include not there) is a
    ConfigError naming its file, line and what is wrong (round 25: a Jinja traceback at every
    build); one of the package's that fails is a bug, and its traceback is kept."""
    try:
        return _environment(templates_dir).get_template(name).render(context)
    except Exception as e:
        own = templates_dir / name if templates_dir is not None else None
        if own is None or not own.is_file():
            raise
        line = getattr(e, "lineno", None) if isinstance(e, jinja2.TemplateSyntaxError) else None
        trace = e.__traceback__
        while trace is not None:  # Jinja's frames carry the template's file and line
            if trace.tb_frame.f_code.co_filename == str(own):
                line = trace.tb_lineno
            trace = trace.tb_next
        where = f", line {line}" if line is not None else ""
        raise ConfigError(f"paths.templates_dir: {own}{where}: {e}") from None
