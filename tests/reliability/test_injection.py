"""Hostile titles, authors, abstracts, categories and links through ingest, build and rendering.

The digest Markdown is rendered to HTML with python-markdown (what a reader's viewer does) and its
elements compared with a run whose papers carry plain words instead: any element or attribute the
payloads add is live markup that survived. Links must be http(s) (or the digest's own #anchors).
"""

from __future__ import annotations

import json
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from xml.sax.saxutils import escape

import markdown
import pytest
from conftest import FakeEmbedder

from reliability import tally
from reliability.helpers import build, ingest, write_config

PAYLOADS = [
    "[click me](https://evil{n}.example/x)",
    "![pixel](https://evil{n}.example/i.png)",
    "<script>alert('evil{n}')</script>",
    "<img src=x onerror=\"alert('evil{n}')\">",
    "[js](javascript:alert('evil{n}'))",
    "[data](data:text/html;base64,PHNjcmlwdD4=#evil{n})",
    "{{{{ 7*191 }}}} evil{n} {{% if true %}}TPL{{% endif %}}",
    "<a href=\"javascript:alert('evil{n}')\">x</a>",
    '<iframe src="https://evil{n}.example"></iframe>',
    "<https://evil{n}.example/autolink>",
    "<svg onload=alert('evil{n}')>",
    "**bold evil{n}** _em_ `code`",
    "# heading evil{n}",
    "</td></tr></table><script>evil{n}</script>",
    "<!-- evil{n} --> &lt;script&gt;evil{n}&lt;/script&gt;",
    "[ref][r{n}]\n\n[r{n}]: https://evil{n}.example",
    "| a | b |\n|---|---|\n| evil{n} | x |",
    "> quote evil{n}\n- list evil{n}\n1. one",
    "<style>body{{display:none}}</style>evil{n}",
    "<details open ontoggle=alert('evil{n}')>",
    "\u202eevil{n}\u202c reversed",
    "javascript:alert('evil{n}')",
    "data:text/html,<script>evil{n}</script>",
    "JaVaScRiPt:alert('evil{n}')",
    " javascript:alert('evil{n}')",
    'https://evil{n}.example/a)(b"onmouseover="alert(1)',
]
URL_PAYLOADS = [p for p in PAYLOADS if ":" in p.split("(")[0] or p.startswith("https")]


class _Elements(HTMLParser):
    """Every start tag with its attributes, plus comments and raw script/style content."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = tuple((k, v or "") for k, v in attrs)
        for key, value in values:
            if key in ("href", "src"):
                self.hrefs.append(value)
        # Our own #anchors depend on section titles only; payload links are compared in full.
        kept = tuple((k, v) for k, v in values if not (k == "href" and v.startswith("#")))
        self.tags[(tag, kept)] += 1

    def handle_comment(self, data: str) -> None:
        self.tags[("<!--", ((data, ""),))] += 1


def _records(words: list[str]) -> list[dict[str, object]]:
    records = []
    for n, text in enumerate(words):
        records.append(
            {
                "id": f"https://example.org/paper/{n}",
                "title": f"Title {n} {text}",
                "abstract": f"We propose {text} for paper {n}. Second sentence {text}.",
                "authors": [f"Author {text}", "Plain Author"],
                "categories": [f"cat{n}", text.replace(" ", "")[:40]],
                "published": "2025-06-05",
            }
        )
    for n, url in enumerate(URL_PAYLOADS):
        records.append(
            {"id": f"u{n}", "title": f"Link paper {n}", "url": url, "published": "2025-06-05"}
        )
    return records


def _rss(records: list[dict[str, object]]) -> bytes:
    items = []
    for r in records:
        authors = "".join(f"<dc:creator>{escape(a)}</dc:creator>" for a in r.get("authors", []))
        items.append(
            f"<item><title>{escape(str(r['title']))}</title>"
            f"<description>{escape(str(r.get('abstract', '')))}</description>"
            f"<link>{escape(str(r.get('url', r['id'])))}</link><guid>{escape(str(r['id']))}</guid>"
            f"{authors}<pubDate>Thu, 05 Jun 2025 12:00:00 +0000</pubDate></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>t</title>'
        + "".join(items)
        + "</channel></rss>"
    ).encode("utf-8")


def _digest_html(root: Path, words: list[str]) -> tuple[str, _Elements]:
    root.mkdir()
    records = _records(words)
    (root / "papers.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8"
    )
    (root / "papers.xml").write_bytes(_rss(records))
    # No themes and no "More in" lists: both runs then have the same sections, so only the
    # payloads can make their element counts differ.
    config = write_config(
        root,
        [("jsonl", "file", str(root / "papers.jsonl")), ("rss", "rss", str(root / "papers.xml"))],
        themes={"min_theme_size": 1000},
        digest={"top_per_section": 1000},
    )
    report = ingest(config, FakeEmbedder())
    assert all(s.ok for s in report.sources), report.sources
    built = build(config, FakeEmbedder())
    text = Path(built.digest_path or "").read_text(encoding="utf-8")
    elements = _Elements()
    elements.feed(markdown.markdown(text, extensions=["tables"]))
    return text, elements


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("injection")
    hostile = [p.format(n=n) for n, p in enumerate(PAYLOADS)]
    plain = [f"plain words {n}" for n in range(len(PAYLOADS))]
    text, elements = _digest_html(root / "hostile", hostile)
    _, baseline = _digest_html(root / "plain", plain)
    return {"text": text, "elements": elements, "baseline": baseline}


def test_no_payload_adds_an_element_or_attribute(rendered: dict) -> None:
    added = rendered["elements"].tags - rendered["baseline"].tags
    markers = {n for n in range(len(PAYLOADS)) if any(f"evil{n}" in repr(t) for t in added)}
    surviving = len(markers) or (1 if added else 0)
    tally.add("payloads tried", 2 * (len(PAYLOADS) + len(URL_PAYLOADS)))  # JSONL and RSS
    tally.add("payloads surviving", surviving)
    assert not added, sorted(added)


def test_every_emitted_link_is_http_or_https(rendered: dict) -> None:
    unsafe = [
        h for h in rendered["elements"].hrefs if not (h.startswith(("http://", "https://", "#")))
    ]
    tally.add("unsafe links emitted", len(unsafe))
    assert unsafe == []
    assert any(h.startswith("https://example.org/paper/") for h in rendered["elements"].hrefs)


def test_template_syntax_in_feed_text_is_not_evaluated(rendered: dict) -> None:
    text = rendered["text"]
    assert "1337" not in text  # {{ 7*191 }} was printed, not computed
    assert "7\\*191" in text or "7*191" in text
    assert "evil6 " in text
