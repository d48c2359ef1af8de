"""The five outputs of a week of hostile papers, read by the programs subscribers read them with.

One store, two weeks built with the real CLI: the first holds titles, abstracts, authors and links
no feed should send (`<script>`, escaped entities, `]]>`, Markdown syntax, LaTeX, astral and RTL
text, combining marks, control characters, a 2,000-character title, 500 authors, `javascript:`
and `data:` links, a link with spaces and quotes). Then: the Atom feed through feedparser, the
JSON sidecar through jsonschema, the Markdown through python-markdown, GitHub's cmark-gfm and
markdown-it (CommonMark), the e-mail as a loopback SMTP server received it through Python's
`email` package, the HTML in headless Chromium.
"""

from __future__ import annotations

import email
import json
import re
import tempfile
from collections import Counter
from collections.abc import Iterator
from email import policy
from html.parser import HTMLParser
from pathlib import Path

import cmarkgfm
import feedparser
import jsonschema
import markdown
import pytest
from click.testing import CliRunner
from conftest import FakeEmbedder, file_source, write_config
from htmlcheck import active_content, hrefs
from markdown_it import MarkdownIt
from smtpserver import smtp_server
from test_html import _chromium, needs_chromium

from pipeline import run
from pipeline.cli import cli
from pipeline.digest.publish import load_schema

W23, W24 = "2025-W23", "2025-W24"
LONG_TITLE = ("Scaling laws " * 200)[:2000]
HOSTILE = [
    {
        "id": "2506.00001",
        "title": "<script>alert('x')</script> Attack on titles",
        "abstract": "We <b>bold</b> claim <script>alert(1)</script>.",
        "authors": ["Eve <eve@evil.example>", "Mallory"],
    },
    {"id": "2506.00002", "title": "Fish &amp; Chips &lt;3 and AT&T", "abstract": "&quot;q&quot;"},
    {"id": "2506.00003", "title": "CDATA ]]> end and <![CDATA[ start", "abstract": "]]> x"},
    {
        "id": "2506.00004",
        "title": "Stars *bold* _em_ | pipe | `code` [x](https://evil.example) <https://evil.example>",
        "abstract": "a | b | c\n\n| x | y |\n|---|---|",
        "authors": ["Pipe | Person", "Under_score *Star*"],
    },
    {"id": "2506.00005", "title": "Complexity $\\mathcal{O}(n^2)$ bounds", "abstract": "$x_1 * y$"},
    {"id": "2506.00006", "title": "Emoji 🚀🤖 astral 𝔘𝔫𝔦 𠜎", "authors": ["Zoë Ångström"]},
    {"id": "2506.00007", "title": "تعلم الآلة and עברית mixed", "authors": ["محمد علي"]},
    {"id": "2506.00008", "title": "大規模言語モデル 中文标题 한국어", "authors": ["山田 太郎"]},
    {"id": "2506.00009", "title": "Combining Z\u0351\u0307a\u0301l\u0303g\u0304o e\u0301"},
    {"id": "2506.00010", "title": "NUL\u0000 and control\u0007\u001b[31m chars\u000b here"},
    {"id": "2506.00011", "title": LONG_TITLE},
    {"id": "2506.00012", "title": "Empty abstract paper", "abstract": ""},
    {"id": "2506.00013", "title": "500 authors", "authors": [f"A{i} B{i}" for i in range(500)]},
    {"id": "2506.00014", "title": "# Heading title", "abstract": "- list\n> quote"},
    {"title": "URL with spaces and quotes", "url": "https://example.org/a b\"c'd<e>f"},
    {"title": "Javascript link paper", "url": "javascript:alert(document.cookie)"},
    {"title": "Data link paper", "url": "data:text/html;base64,PHNjcmlwdD4="},
]
SECOND_WEEK = [
    {"id": "2506.10001", "title": "Second week: ümlaut & <tag>", "published": "2025-06-10"},
    {"id": "2506.10002", "title": "Another paper", "published": "2025-06-11"},
]


def _jsonl(path: Path, records: list[dict[str, object]], published: str) -> Path:
    lines = []
    for record in records:
        full = {"abstract": "An abstract.", "authors": ["A Author"], "published": published}
        lines.append(json.dumps({**full, **record}, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _cli(config: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """Both weeks built, W23 rebuilt after W24, W23 e-mailed; the files and what was read."""
    root = tmp_path_factory.mktemp("readers")
    sources = [
        file_source("hostile", _jsonl(root / "w23.jsonl", HOSTILE, "2025-06-03")),
        file_source("second", _jsonl(root / "w24.jsonl", SECOND_WEEK, "2025-06-10")),
    ]
    with pytest.MonkeyPatch.context() as patch, smtp_server("none") as (inbox, port, _):
        patch.setattr(run, "make_embedder", lambda settings: FakeEmbedder())
        config = write_config(
            root,
            paths={"digests_dir": "out"},
            digest={"title": "Digest — ünïcode 🚀", "week": W23},
            themes={"min_theme_size": 1000},
            sources=sources,
            email={
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "security": "none",
                "sender": "digest@example.org",
                "recipients": ["reader@example.org"],
            },
        )
        out = root / "out"
        _cli(config, "ingest")
        _cli(config, "build", "--week", W23)
        first_feed = (out / "feed.xml").read_bytes()
        _cli(config, "build", "--week", W24)
        second_feed = (out / "feed.xml").read_bytes()
        _cli(config, "build", "--week", W23)
        _cli(config, "send", "--week", W23)
        yield {
            "out": out,
            "feeds": [first_feed, second_feed, (out / "feed.xml").read_bytes()],
            "mail": inbox.raw,
        }


def test_json_sidecar_validates_against_its_schema_and_round_trips(built: dict) -> None:
    validator = jsonschema.Draft202012Validator(
        load_schema(), format_checker=jsonschema.FormatChecker()
    )
    for week in (W23, W24):
        text = (built["out"] / f"{week}.json").read_text(encoding="utf-8")
        record = json.loads(text)
        # A paper with no arXiv id, DOI or web link is stored as title:<hash>; it must validate.
        assert [e.message for e in validator.iter_errors(record)] == []
        assert json.loads(json.dumps(record, ensure_ascii=False)) == record
    papers = _sidecar_papers(built["out"] / f"{W23}.json")
    assert len(papers) == len(HOSTILE)
    assert any(p["title"] == LONG_TITLE for p in papers)
    assert max(len(p["authors"]) for p in papers) == 500


def test_json_sidecar_gives_no_link_a_browser_would_run(built: dict) -> None:
    links = [
        (p["title"], key, p[key])
        for p in _sidecar_papers(built["out"] / f"{W23}.json")
        for key in ("url", "pdf_url", "code_url")
        if p[key] is not None
    ]
    # A script turning the sidecar into a page must not be handed javascript: or data: links.
    assert [link for link in links if not link[2].startswith(("http://", "https://"))] == []
    assert ("URL with spaces and quotes", "url", "https://example.org/a b\"c'd<e>f") in links


def _sidecar_papers(path: Path) -> list[dict[str, object]]:
    record = json.loads(path.read_text(encoding="utf-8"))
    return [p for s in record["sections"] for p in s["papers"]]


def test_atom_feed_parses_clean_with_stable_ids_and_grows_by_one_entry(built: dict) -> None:
    first, second, rebuilt = (feedparser.parse(f) for f in built["feeds"])
    for feed in (first, second, rebuilt):
        assert feed.bozo == 0 and feed.version == "atom10"
        assert feed.feed.title and feed.feed.id and feed.feed.updated and feed.feed.author
        assert feed.feed.link == "index.md"  # not its urn:uuid id
        ids = [e.id for e in feed.entries]
        assert len(ids) == len(set(ids))
        for entry in feed.entries:
            assert entry.title and entry.updated and entry.summary
            assert (built["out"] / entry.link).is_file()  # relative to feed.xml
    assert {e.id for e in first.entries} < {e.id for e in second.entries}  # a superset
    assert built["feeds"][2] == built["feeds"][1]  # W23 rebuilt from the same papers: same bytes
    assert rebuilt.entries[0].title == "Digest — ünïcode 🚀 · 2025-W24"


class _Structure(HTMLParser):
    """Elements, link targets, and cells per table row of rendered HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.hrefs: list[str] = []
        self.row_cells: list[int] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        if tag == "tr":
            self.row_cells.append(0)
        elif tag in ("td", "th"):
            self.row_cells[-1] += 1
        self.hrefs += [v or "" for k, v in attrs if k in ("href", "src")]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


RENDERERS = {
    "python-markdown": lambda text: markdown.markdown(text, extensions=["tables"]),
    "cmark-gfm": cmarkgfm.github_flavored_markdown_to_html,
    "markdown-it": lambda text: MarkdownIt("commonmark").enable("table").render(text),
}


@pytest.mark.parametrize("renderer", sorted(RENDERERS))
def test_markdown_keeps_its_structure_under_every_renderer(built: dict, renderer: str) -> None:
    text = (built["out"] / f"{W23}.md").read_text(encoding="utf-8")
    page = _Structure()
    page.feed(RENDERERS[renderer](text))
    local = re.compile(r"#[\w-]+|[\w.-]+\.(?:png|md|html)")
    assert [h for h in page.hrefs if not (h.startswith("https://") or local.fullmatch(h))] == []
    assert not any("evil.example" in h for h in page.hrefs)  # no link hijacked by a title
    assert set(page.row_cells) == {3}  # contents and coverage: no row split by a '|'
    assert {t: page.tags[t] for t in ("script", "code", "pre", "h1", "blockquote")} == {
        "script": 0,
        "code": 0,
        "pre": 0,
        "h1": 1,
        "blockquote": 0,
    }
    shown = " ".join("".join(page.text).split())
    assert "Eve, Mallory" in shown  # "Eve <eve@evil.example>" is the author Eve, not "Eve < >"
    if renderer != "python-markdown":  # it shows CommonMark's \< \| \~ escapes as written
        for words in ("Stars *bold* _em_ | pipe | `code` [x](https", "<script>alert('x')</script>"):
            assert words in shown


def test_email_is_multipart_alternative_with_encoded_headers_and_short_lines(
    built: dict,
) -> None:
    (raw,) = built["mail"]
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998  # RFC 5322 2.1.1
    assert raw.isascii()  # the server offered SMTPUTF8, but nothing needed it
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message.defects == []
    assert message["Subject"] == "Digest — ünïcode 🚀 · 2025-W23"
    assert "=?utf-8?" in raw.split(b"\r\n\r\n")[0].decode("ascii")  # RFC 2047, not raw bytes
    assert message["Message-ID"] and message["Date"] and message["MIME-Version"] == "1.0"
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(preferencelist=("plain",))
    rich = message.get_body(preferencelist=("html",))
    assert plain is not None and rich is not None
    assert plain.get_content_charset() == rich.get_content_charset() == "utf-8"
    text, page = plain.get_content(), rich.get_content()
    assert "大規模言語モデル 中文标题 한국어" in text and "Zoë Ångström" in text
    assert "<script>alert('x')</script> Attack on titles" in text
    assert active_content(page) == []
    assert not any("evil.example" in h for h in hrefs(page))


def test_html_escapes_feed_text_and_links_only_the_web(built: dict) -> None:
    page = (built["out"] / f"{W23}.html").read_text(encoding="utf-8")
    assert active_content(page) == []
    assert "javascript:" not in " ".join(hrefs(page)) and "data:" not in " ".join(hrefs(page))
    assert "&lt;script&gt;alert('x')&lt;/script&gt; Attack on titles" in page


@pytest.mark.slow
@needs_chromium
def test_html_loads_in_headless_chromium_without_console_messages(built: dict) -> None:
    profile = Path(tempfile.mkdtemp())
    result = _chromium(
        profile,
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=3000",
        "--dump-dom",
        (built["out"] / f"{W23}.html").as_uri(),
    )
    assert "500 authors" in result.stdout
    assert [line for line in result.stderr.splitlines() if "CONSOLE" in line] == []
