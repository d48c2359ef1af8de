"""What a browser would act on in an HTML document: tags, event handlers, link targets."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_ACTIVE_TAGS = {"script", "style", "iframe", "object", "embed", "form", "input", "svg", "math"}


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _ACTIVE_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}>")
            if name == "href":
                self.hrefs.append(value)
                if not re.match(r"(https?://|#)", value):
                    self.problems.append(f"<{tag} href={value!r}>")
            if name == "src" and not re.match(r"(https?://|[\w.-]+\.png$|cid:)", value):
                self.problems.append(f"<{tag} src={value!r}>")


def active_content(page: str) -> list[str]:
    """Scripts, handlers, and links/images that are not http(s), #anchors or local PNGs."""
    collector = _Collector()
    collector.feed(page)
    return collector.problems


def hrefs(page: str) -> list[str]:
    collector = _Collector()
    collector.feed(page)
    return collector.hrefs
