"""html.py: sanitised e-mail HTML with inline CSS, and its plain-text alternative."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import make_paper
from htmlcheck import active_content, hrefs
from test_render import _digest

from pipeline.digest.chart import render_trend_chart
from pipeline.digest.html import render_html, render_text, sanitize_html, slugify
from pipeline.digest.render import anchor, render_markdown
from pipeline.models import Digest, PaperEntry, Section

PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    '<a href="data:text/html,hi">x</a>',
    "<style>body{display:none}</style>",
    '"><svg onload=alert(1)>',
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_render_html_has_no_active_content_from_titles_and_summaries(payload: str) -> None:
    evil = make_paper("arxiv:2506.9", payload, authors=(payload,), url="javascript:alert(1)")
    section = Section("t", payload, "topic", (PaperEntry(evil, 0.5, payload),))
    digest = Digest("2025-W24", _digest().start, _digest().end, payload, 1, (section,))
    page = render_html(render_markdown(digest), title=payload)
    assert active_content(page) == []
    assert all(h.startswith("#") for h in hrefs(page))  # the paper's javascript: URL made none


def test_sanitize_html_strips_raw_html_a_user_template_might_carry() -> None:
    dirty = (
        '<p onclick="x()" style="position:fixed">hi<script>alert(1)</script></p>'
        '<a href="javascript:alert(1)">a</a><a href="https://ok.example/">b</a>'
        '<img src="file:///etc/passwd"><iframe src="https://x"></iframe>'
    )
    clean = sanitize_html(dirty)
    assert active_content(clean) == []
    assert "position" not in clean and "iframe" not in clean and "passwd" not in clean
    assert hrefs(clean) == ["https://ok.example/"]


def test_render_html_inlines_styles_and_keeps_table_alignment() -> None:
    page = render_html(render_markdown(_digest()), title="t")
    assert '<h2 id="efficient-attention" style="' in page
    assert "text-align:right" in page  # the Papers column of the contents table
    assert "<style" not in page  # e-mail clients drop <style>; everything is inline


def test_contents_links_match_heading_ids() -> None:
    page = render_html(render_markdown(_digest()), title="t")
    for href in hrefs(page):
        if href.startswith("#"):
            assert f'id="{href[1:]}"' in page, href


@pytest.mark.parametrize("title", ["Efficient attention", "A/B: tests (v2)", "Ünïcode -- dash"])
def test_slugify_agrees_with_render_anchor(title: str) -> None:
    assert slugify(title) == anchor(title)


def test_render_text_is_readable_plain_text_with_links() -> None:
    text = render_text(render_markdown(_digest(), top_per_section=1))
    assert "Efficient attention\n-------------------" in text
    assert "1. FlashLinear: Linear Attention at Scale <https://arxiv.org/abs/2506.00001>" in text
    assert "<a " not in text and "&amp;" not in text and "\\[" not in text
    assert max(len(line) for line in text.splitlines() if "<http" not in line) <= 78


# CI installs Chromium (.ci/run: make chromium) and sets REQUIRE_CHROMIUM: there these tests
# always run, and fail if the browser is missing; elsewhere they are skipped without it.
needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None and not os.environ.get("REQUIRE_CHROMIUM"),
    reason="chromium not installed (make chromium)",
)


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--hide-scrollbars",
            *args,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=90,
    )


@pytest.mark.slow
@needs_chromium
def test_render_html_screenshot_in_headless_chromium(tmp_path: Path) -> None:
    page = tmp_path / "digest.html"
    page.write_text(render_html(render_markdown(_digest()), title="digest"), encoding="utf-8")
    shot = tmp_path / "digest.png"
    _chromium(
        Path(tempfile.mkdtemp(dir=tmp_path)),
        "--window-size=800,1000",
        f"--screenshot={shot}",
        page.as_uri(),
    )
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (800, 1000)
    # A rendered page is not blank: PNG of a single colour compresses to a few hundred bytes.
    assert len(data) > 20_000


# Run in the browser after the page loaded; the digest itself never carries a script (sanitised).
# Headless Chromium's window is at least 500 px wide, so the digest is shown in a 400 px iframe and
# posts what it measured to the page around it, which --dump-dom prints.
_PHONE = """<!DOCTYPE html><html><body style="margin:0">
<iframe src="digest.html" style="width:400px;height:900px;border:0"></iframe>
<script>
window.addEventListener("message", (event) => {
  const out = document.createElement("pre");
  out.id = "layout-facts";
  out.textContent = event.data;
  document.body.appendChild(out);
});
</script></body></html>"""
_FACTS_SCRIPT = """<script>
window.addEventListener("load", () => {
  const root = document.documentElement;
  const anchors = [...document.querySelectorAll('a[href^="#"]')].map(
    (a) => decodeURIComponent(a.getAttribute("href").slice(1)));
  const facts = {
    viewport: window.innerWidth,
    scroll_width: root.scrollWidth,
    anchors: anchors.length,
    unresolved: anchors.filter((id) => !document.getElementById(id)),
    images: [...document.images].map((i) => [i.getAttribute("src"), i.naturalWidth]),
  };
  window.parent.postMessage(JSON.stringify(facts), "*");
});
</script>"""


@pytest.mark.slow
@needs_chromium
def test_render_html_reads_on_a_400px_phone(tmp_path: Path) -> None:
    """What a reader on a phone meets: no sideways scrolling, every contents link lands on a
    heading, the chart loads."""
    long_title = (
        "Supercalifragilistic" * 6 + " and a very long unbroken URL " + "https://x.org/" + "a" * 120
    )
    long = make_paper("arxiv:2506.00003", long_title, authors=("A. Verylongsurname" * 4,))
    base = _digest()
    topic = base.sections[0]
    entries = (*topic.entries, PaperEntry(long, 0.5, long_title, "https://github.com/" + "b" * 90))
    digest = replace(
        base, sections=(replace(topic, title=long_title[:80], entries=entries), *base.sections[1:])
    )
    chart = render_trend_chart(
        ["2025-W23", "2025-W24"], {long_title[:60]: [1, 2], "NAS": [3, 1]}, title="t"
    )
    (tmp_path / "2025-W24-trends.png").write_bytes(chart)
    markdown = render_markdown(digest, top_per_section=5, chart="2025-W24-trends.png")
    page = render_html(markdown, title="digest")
    assert active_content(page) == []
    (tmp_path / "digest.html").write_text(page.replace("</body>", _FACTS_SCRIPT + "</body>"))
    (tmp_path / "phone.html").write_text(_PHONE)
    result = _chromium(
        Path(tempfile.mkdtemp(dir=tmp_path)),
        "--window-size=600,1000",
        "--virtual-time-budget=5000",
        "--dump-dom",
        (tmp_path / "phone.html").as_uri(),
    )
    found = re.search(r'<pre id="layout-facts">(.*?)</pre>', result.stdout, re.DOTALL)
    assert found, result.stdout[-2000:]
    facts = json.loads(html.unescape(found.group(1)))
    assert facts["viewport"] == 400
    assert facts["scroll_width"] <= facts["viewport"], facts  # no horizontal scroll
    assert facts["anchors"] >= 4 and facts["unresolved"] == []
    assert facts["images"] == [["2025-W24-trends.png", 800]]  # loaded: it has a width


def test_render_html_sets_each_block_direction_from_its_own_text() -> None:
    # Round 29: a paper titled in Arabic with a Latin word inside ("نموذج GPT-4 للترجمة")
    # sat in a left-to-right paragraph of the HTML page and e-mail, so its words read in the
    # wrong order, right-to-left runs laid out left to right. Each block now takes its
    # direction from its first strong letter (dir="auto", as GitHub shows the Markdown).
    arabic = "نموذج GPT-4 للترجمة الآلية"
    hebrew = "מודל שפה גדול (LLM) לתרגום"
    base = _digest()
    topic = base.sections[0]
    papers = [
        make_paper("arxiv:2506.00010", arabic, authors=("سارة أحمد", "B. Two")),
        make_paper("arxiv:2506.00011", hebrew),
    ]
    entries = (*topic.entries, *(PaperEntry(p, 0.5, f"{p.title}.") for p in papers))
    digest = replace(base, sections=(replace(topic, title=hebrew, entries=entries),))
    page = render_html(render_markdown(digest, top_per_section=3), title="t")
    blocks = re.findall(r"<(p|li|h2|td)\b([^>]*)>(.*?)</\1>", page, re.DOTALL)
    shown = [
        (tag, attrs, html.unescape(re.sub(r"<[^>]+>", "", inner))) for tag, attrs, inner in blocks
    ]
    holding = [(tag, attrs) for tag, attrs, text in shown if arabic in text or hebrew in text]
    assert {tag for tag, _ in holding} == {"p", "li", "h2", "td"}, holding
    assert all('dir="auto"' in attrs for _, attrs in holding), holding


_WORD_PLACES = """<script>
const text = document.querySelector('a').firstChild;
function left(word) {
  const range = document.createRange(), i = text.data.indexOf(word);
  range.setStart(text, i); range.setEnd(text, i + word.length);
  return range.getBoundingClientRect().left;
}
document.body.insertAdjacentHTML('beforeend', '<pre id=word-places>' +
  JSON.stringify({first: left('نموذج'), last: left('للترجمة')}) + '</pre>');
</script>"""


@pytest.mark.slow
@needs_chromium
def test_render_html_shows_an_arabic_title_in_its_reading_order(tmp_path: Path) -> None:
    """What a reader of Arabic sees in the page: the title's first word at the right."""
    markdown = "# T\n\n**1. [نموذج GPT-4 للترجمة](https://arxiv.org/abs/2506.00010)**\n"
    page = render_html(markdown, title="t")
    (tmp_path / "page.html").write_text(page.replace("</body>", _WORD_PLACES + "</body>"))
    result = _chromium(
        Path(tempfile.mkdtemp(dir=tmp_path)), "--dump-dom", (tmp_path / "page.html").as_uri()
    )
    found = re.search(r'<pre id="word-places">(.*?)</pre>', result.stdout, re.DOTALL)
    assert found, result.stdout[-2000:]
    places = json.loads(html.unescape(found.group(1)))
    assert places["first"] > places["last"], places  # read right to left
