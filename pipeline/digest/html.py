"""Digest Markdown → e-mail-ready HTML, and a plain-text alternative (pure: text in, text out).

The HTML is sanitised with nh3 (an allowlist of tags and attributes; links only http(s) or
#anchors; images only http(s) or a bare file name beside the digest), whatever the Markdown holds,
and then styled with inline CSS because many e-mail clients drop <style> blocks. Imports only
markdown, nh3 and the standard library; knows nothing about digests.
"""

from __future__ import annotations

import re
import textwrap
from html import escape
from html.parser import HTMLParser

import markdown
import nh3
from markdown.extensions.toc import TocExtension

from pipeline.models import heading_anchor

_TAGS = {
    *("h1", "h2", "h3", "h4", "p", "a", "strong", "em", "ul", "ol", "li", "blockquote"),
    *("table", "thead", "tbody", "tr", "th", "td", "img", "code", "pre", "hr", "br"),
}
_ATTRIBUTES = {
    "a": {"href"},
    "img": {"src", "alt"},
    **{h: {"id"} for h in ("h1", "h2", "h3", "h4")},
    "th": {"style"},  # python-markdown's tables put column alignment there
    "td": {"style"},
}
_LOCAL_FILE = re.compile(r"[\w][\w.-]*\.(?:png|svg|jpg)")
_WEB_URL = re.compile(r"https?://[^\s]+", re.IGNORECASE)
_FONT = "-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"
_MUTED = "#57606a"
#: Inline styles per tag; kept modest so Gmail, Outlook and Apple Mail render alike.
STYLES = {
    "h1": "font-size:24px;line-height:1.25;margin:0 0 6px;color:#1f2328",
    "h2": "font-size:20px;line-height:1.3;margin:32px 0 12px;padding-bottom:4px;"
    "border-bottom:1px solid #d0d7de;color:#1f2328",
    "h3": "font-size:17px;line-height:1.3;margin:24px 0 10px;color:#1f2328",
    "h4": "font-size:15px;margin:16px 0 8px;color:#1f2328",
    "p": "margin:0 0 10px",
    "a": "color:#0969da",
    "em": f"color:{_MUTED}",
    "ul": "margin:0 0 14px;padding-left:22px",
    "ol": "margin:0 0 14px;padding-left:22px",
    "blockquote": f"margin:0 0 14px;padding:6px 12px;border-left:4px solid #d0d7de;color:{_MUTED}",
    "table": "border-collapse:collapse;width:100%;margin:0 0 16px;font-size:14px",
    "th": "text-align:left;padding:5px 8px;border-bottom:2px solid #d0d7de",
    "td": "padding:4px 8px;border-bottom:1px solid #eaeef2;vertical-align:top",
    "img": "max-width:100%;height:auto;border:0",
    "code": "font-family:SFMono-Regular,Consolas,monospace;font-size:13px",
    "hr": "border:0;border-top:1px solid #d0d7de;margin:24px 0",
}
_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
</head>
<body style="margin:0;padding:0;background:#f4f5f7">
<div style="max-width:760px;margin:0 auto;padding:20px 16px;background:#ffffff;font-family:{font};\
font-size:15px;line-height:1.5;color:#1f2328;overflow-wrap:anywhere;word-break:break-word">
{body}
</div>
</body>
</html>
"""


def slugify(value: str, separator: str = "-") -> str:
    """GitHub's heading anchors (lowercase, punctuation dropped, each space a dash), so the
    Markdown's #links work in the HTML too."""
    return heading_anchor(value, separator)


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "href":
        return value if value.startswith("#") or _WEB_URL.match(value) else None
    if attribute == "src":
        return value if _LOCAL_FILE.fullmatch(value) or _WEB_URL.match(value) else None
    return value


def sanitize_html(fragment: str) -> str:
    """Only the allowlisted tags and attributes; no scripts, handlers, styles or odd URLs."""
    return nh3.clean(
        fragment,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https"},
        attribute_filter=_keep_attribute,
        filter_style_properties={"text-align"},
        # No rel: links never open a new window (no target), so noopener would change nothing,
        # and on ~350 links it cost 9 KB of a busy week's e-mail (Gmail clips at ~102 KB).
        link_rel=None,
    )


def markdown_to_html(text: str) -> str:
    """Markdown → a sanitised HTML fragment (tables, anchors on headings)."""
    converter = markdown.Markdown(
        extensions=["tables", "sane_lists", TocExtension(slugify=slugify, toc_depth="1-4")],
        output_format="html",
    )
    # The Markdown escapes like CommonMark (any ASCII punctuation); python-markdown's own list
    # lacks '<' and a few others, which would otherwise show up as stray backslashes.
    converter.ESCAPED_CHARS.extend(c for c in "<|&\"'~:@" if c not in converter.ESCAPED_CHARS)
    return sanitize_html(converter.convert(text))


#: Blocks that take their direction from their own first letter when they hold right-to-left
#: text (`dir="auto"`, as GitHub shows Markdown): a title in Arabic or Hebrew with a Latin word
#: in it ("نموذج GPT-4 للترجمة") read in the wrong word order inside the page's left-to-right
#: paragraphs (round 29). Only those blocks: on every block it cost 5 KB of a busy week's
#: e-mail, which Gmail clips at ~102 KB, and changed no left-to-right one.
_OWN_DIRECTION = {"h1", "h2", "h3", "h4", "p", "li", "blockquote", "th", "td"}
# Hebrew, Arabic, Syriac, Thaana, NKo, Samaritan, Mandaic, their presentation forms, and the
# right-to-left scripts beyond the BMP.
_RIGHT_TO_LEFT = re.compile(
    "[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefe\U00010800-\U00010fff\U0001e800-\U0001efff]"
)


class _Styler(HTMLParser):
    """Re-emits sanitised HTML with STYLES merged into each tag's style attribute, and
    `dir="auto"` on each block that holds right-to-left text (`_OWN_DIRECTION`)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.out: list[str] = []
        self.blocks: list[tuple[int, bool]] = []  # open blocks: start tag's place, RTL seen

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _OWN_DIRECTION:
            self.blocks.append((len(self.out), False))
        self.out.append(_start_tag(tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(_start_tag(tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        if tag in _OWN_DIRECTION and self.blocks:
            start, right_to_left = self.blocks.pop()
            if right_to_left:
                self.out[start] = self.out[start].replace(">", ' dir="auto">', 1)
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if self.blocks and _RIGHT_TO_LEFT.search(data):
            self.blocks[-1] = (self.blocks[-1][0], True)
        self.out.append(escape(data, quote=False))

    def handle_entityref(self, name: str) -> None:
        self.out.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.out.append(f"&#{name};")


def _start_tag(tag: str, attrs: list[tuple[str, str | None]]) -> str:
    values = {name: value or "" for name, value in attrs}
    style = ";".join(s for s in (STYLES.get(tag, ""), values.pop("style", "")) if s)
    if style:
        values["style"] = style
    rendered = "".join(f' {name}="{escape(value)}"' for name, value in values.items())
    return f"<{tag}{rendered}>"


def style_html(fragment: str) -> str:
    """Inline CSS on every tag of a sanitised fragment."""
    styler = _Styler()
    styler.feed(fragment)
    styler.close()
    return "".join(styler.out)


def render_html(text: str, *, title: str) -> str:
    """Digest Markdown → a complete, sanitised HTML document styled for e-mail."""
    body = style_html(markdown_to_html(text))
    return _PAGE.format(title=escape(title), font=escape(_FONT), body=body)


# --- plain text ----------------------------------------------------------------------------

_BLOCK_TAGS = {"h1", "h2", "h3", "h4", "p", "li", "blockquote", "tr", "pre"}
_UNDERLINE = {"h1": "=", "h2": "-", "h3": "~"}


class _Texter(HTMLParser):
    """Sanitised HTML → readable plain text: underlined headings, 'text <url>' links."""

    def __init__(self, width: int) -> None:
        super().__init__(convert_charrefs=True)
        self.width = width
        self.blocks: list[str] = []
        self.current: list[str] = []
        self.href: str | None = None
        self.link_text: list[str] = []
        self.cells: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a":
            self.href, self.link_text = values.get("href"), []
        elif tag == "img":
            self.current.append(f"[image: {values.get('alt') or values.get('src') or ''}]")
        elif tag == "br":
            self.current.append("\n")
        elif tag in ("td", "th"):
            self.current = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            text = "".join(self.link_text)
            href = self.href or ""
            keep = href and not href.startswith("#") and href != text
            self.current.append(f"{text} <{href}>" if keep else text)
            self.href = None
        elif tag in ("td", "th"):
            self.cells.append(" ".join("".join(self.current).split()))
            self.current = []
        elif tag == "tr":
            self.blocks.append("  |  ".join(c for c in self.cells if c))
            self.cells = []
        elif tag in _BLOCK_TAGS:
            self._flush(tag)

    def handle_data(self, data: str) -> None:
        (self.link_text if self.href is not None else self.current).append(data)

    def _flush(self, tag: str) -> None:
        text = " ".join("".join(self.current).split())
        self.current = []
        if not text:
            return
        if tag in _UNDERLINE:
            self.blocks.append(f"\n{text}\n{_UNDERLINE[tag] * min(len(text), self.width)}")
        elif tag == "li":
            self.blocks.append(
                textwrap.fill(
                    text,
                    self.width,
                    initial_indent="- ",
                    subsequent_indent="  ",
                    break_long_words=False,
                    break_on_hyphens=False,
                )
            )
        else:
            wrapped = textwrap.fill(
                text, self.width, break_long_words=False, break_on_hyphens=False
            )
            self.blocks.append(wrapped + "\n")


def html_to_text(fragment: str, *, width: int = 78) -> str:
    """A sanitised HTML fragment as plain text for the text/plain part of an e-mail."""
    texter = _Texter(width)
    texter.feed(fragment)
    texter.close()
    text = "\n".join(texter.blocks)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def render_text(text: str, *, width: int = 78) -> str:
    """Digest Markdown → plain text (through the same sanitised HTML the e-mail shows)."""
    return html_to_text(markdown_to_html(text), width=width)
