"""render.py: golden Markdown, escaping of untrusted feed text, link safety."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import markdown
import pytest
from conftest import make_paper

from pipeline.digest.html import render_html
from pipeline.digest.render import md_escape, render_markdown, safe_url, sparkline
from pipeline.models import Digest, PaperEntry, Section, Signals, SourceCount

GOLDEN = Path(__file__).parent / "data" / "golden" / "digest.md"


def _digest() -> Digest:
    hot = make_paper(
        "arxiv:2506.00001",
        "FlashLinear: Linear Attention at Scale",
        authors=("A. One", "B. Two", "C. Three", "D. Four", "E. Five"),
        categories=("cs.LG", "cs.CL"),
        signals=Signals(upvotes=42, comments=3, github_url="https://github.com/x/flashlinear"),
        pdf_url="https://arxiv.org/pdf/2506.00001",
    )
    plain = make_paper("arxiv:2506.00002", "A Plain Paper", authors=("Solo Author",))
    topic = Section(
        "efficient-attention",
        "Efficient attention",
        "topic",
        (
            PaperEntry(
                hot,
                0.71,
                "We propose FlashLinear.",
                hot.signals.github_url,
                ("Multimodal",),
                1.2,
                ("▲ 42 upvotes", "3 comments", "code available"),
            ),
            PaperEntry(plain, 0.52, "It is plain."),
        ),
        history=(1, 3, 5, 8),
    )
    theme = Section(
        "theme-1",
        "graph learning, message passing",
        "theme",
        (PaperEntry(plain, 0.8, "Graphs."),),
        terms=("graph learning", "message passing"),
    )
    return Digest(
        "2025-W24",
        date(2025, 6, 9),
        date(2025, 6, 15),
        "Weekly research digest",
        2,
        (topic, theme),
        (SourceCount("arxiv-cs-lg", 2), SourceCount("hf", 0, "HTTP 500")),
        highlights=(
            replace(
                topic.entries[0],
                reasons=(*topic.entries[0].reasons, "1st of 2 in Efficient attention"),
            ),
        ),
    )


def test_render_markdown_matches_golden_file() -> None:
    text = render_markdown(_digest(), top_per_section=1, chart="2025-W24-trends.png")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_render_markdown_is_deterministic() -> None:
    assert render_markdown(_digest()) == render_markdown(_digest())


@pytest.mark.parametrize(
    "payload",
    [
        "[click](javascript:alert(1))",
        "![img](data:image/png;base64,AAAA)",
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "**bold** and _em_ and `code`",
        "{{ 7*7 }} {% for x in y %}",
    ],
)
def test_render_markdown_neutralises_markup_in_titles_and_summaries(payload: str) -> None:
    evil = make_paper("arxiv:2506.9", payload, authors=(payload,), url="javascript:alert(1)")
    section = Section("t", payload, "topic", (PaperEntry(evil, 0.5, payload),))
    digest = Digest("2025-W24", date(2025, 6, 9), date(2025, 6, 15), payload, 1, (section,))
    text = render_markdown(digest)
    html = markdown.markdown(text, extensions=["tables"])
    assert "<script" not in html and "<img" not in html
    assert 'href="javascript' not in html and 'href="data' not in html
    assert "<strong>bold" not in html and "<code>" not in html and "<em>em" not in html
    assert "49" not in text  # template syntax in data is never evaluated
    assert html.count("<a ") == 1  # the contents link only: the paper's javascript: URL made none


def test_md_escape_strips_control_and_bidi_characters() -> None:
    assert md_escape("a\x00b\u202ec\nd") == "abc d"


def test_md_escape_keeps_the_joiners_words_and_emoji_are_written_with() -> None:
    # Round 13: ingest keeps zero-width (non-)joiners in shown text (Persian and Indic words,
    # emoji sequences need them) and the digest dropped them: "👩‍🔬" showed as "👩🔬".
    scientist = "\U0001f469\u200d\U0001f52c"
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    assert md_escape(f"A {scientist} reads {persian}") == f"A {scientist} reads {persian}"
    # Between Latin letters, beside a space or another format character, they hide nothing
    # but a spoofed word: dropped, as bidi overrides always are.
    assert md_escape("pay\u200dpal \u200dx \u202e\u200d\U0001f52c") == "paypal x \U0001f52c"


def test_md_escape_neutralises_block_syntax_at_line_start() -> None:
    assert md_escape("# heading") == "\\# heading"
    assert md_escape("1. item") == "1\\. item"
    assert md_escape("- item") == "\\- item"


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://arxiv.org/abs/1", True),
        ("http://example.org/a b", True),
        ("javascript:alert(1)", False),
        ("data:text/html,hi", False),
        ("JaVaScRiPt:alert(1)", False),
        ("//evil.example/x", False),
        ("", False),
        (None, False),
    ],
)
def test_safe_url_allows_only_http_and_https(url: str | None, ok: bool) -> None:
    assert (safe_url(url) is not None) is ok


def test_safe_url_encodes_characters_that_break_markdown_links() -> None:
    assert safe_url("https://x.org/a)b c") == "https://x.org/a%29b%20c"


def test_sparkline_scales_to_largest() -> None:
    assert sparkline((0, 4, 8)) == "▁▅█"
    assert sparkline(()) == ""


def test_render_markdown_caps_the_more_list_and_says_how_many_are_left() -> None:
    papers = [make_paper(f"arxiv:2506.{i:05d}", f"Paper number {i}") for i in range(40)]
    section = Section("t", "Topic", "topic", tuple(PaperEntry(p, 0.5, "S.") for p in papers))
    digest = Digest("2025-W24", date(2025, 6, 9), date(2025, 6, 15), "T", 40, (section,))
    text = render_markdown(digest, top_per_section=5, more_per_section=10)
    assert "More in this topic (35)" in text
    assert "Paper number 14" in text and "Paper number 15" not in text
    assert "… and 25 more" in text
    uncapped = render_markdown(digest, top_per_section=5, more_per_section=100)
    assert "Paper number 39" in uncapped and "… and" not in uncapped


def test_a_list_one_paper_over_its_cap_shows_that_paper_not_and_1_more() -> None:
    # "… and 1 more" takes the line the paper's own title would: the title is listed instead.
    papers = [make_paper(f"arxiv:2506.{i:05d}", f"Paper number {i}") for i in range(20)]

    def topic(n: int) -> Digest:
        section = Section(
            "t", "Topic", "topic", tuple(PaperEntry(p, 0.5, "S.") for p in papers[:n])
        )
        return Digest("2025-W24", date(2025, 6, 9), date(2025, 6, 15), "T", n, (section,))

    one_over = render_markdown(topic(5 + 11), top_per_section=5, more_per_section=10)
    assert "Paper number 15" in one_over and "… and" not in one_over
    two_over = render_markdown(topic(5 + 12), top_per_section=5, more_per_section=10)
    assert "Paper number 15" not in two_over and "… and 2 more" in two_over
    # With no title lines asked for, none is written.
    none = render_markdown(topic(6), top_per_section=5, more_per_section=0)
    assert "Paper number 5" not in none and "… and 1 more" in none

    def theme(n: int) -> Digest:
        entries = tuple(PaperEntry(p, 0.9 - i / 100, "") for i, p in enumerate(papers[:n]))
        section = Section("theme-1", "graphs", "theme", entries)
        return Digest("2025-W24", date(2025, 6, 9), date(2025, 6, 15), "T", n, (section,))

    four = render_markdown(theme(4))
    assert "Paper number 3" in four and "… and" not in four
    five = render_markdown(theme(5))
    assert "Paper number 3" not in five and "… and 2 more" in five

    def minor(n: int) -> Digest:
        themes = tuple(
            Section(f"theme-{i}", f"Theme {i}", "theme", (PaperEntry(papers[i], 0.5, ""),),
                    minor=True)
            for i in range(n)
        )  # fmt: skip
        return Digest("2025-W24", date(2025, 6, 9), date(2025, 6, 15), "T", n, themes)

    three = render_markdown(minor(3), more_per_section=2)
    assert "**Theme 2**" in three and "more themes" not in three
    four_minor = render_markdown(minor(4), more_per_section=2)
    assert "**Theme 2**" not in four_minor and "… and 2 more themes" in four_minor


def test_trend_arrow_and_words_follow_one_rule() -> None:
    from pipeline.digest.render import trend_arrow
    from pipeline.models import trend_of

    # Weeks without data say nothing: 0, 0, 10, 10 then 5 is shrinking, not compared with 5.0.
    assert trend_of((0, 0, 10, 10), 5) == "shrinking"
    assert trend_arrow((0, 0, 10, 10, 5)) == "↓"
    assert trend_arrow((4, 4, 9)) == "↑" and trend_of((4, 4), 9) == "growing"
    assert trend_arrow((0, 0, 0, 19)) == "new" and trend_of((0, 0, 0), 19) == "new"
    assert trend_arrow((10, 11)) == "→"  # within ±25 %
    assert trend_arrow((3, 4)) == "→"  # +33 % but one paper: not a trend


def test_trend_leaves_out_the_weeks_before_the_first_with_papers() -> None:
    from pipeline.digest.render import trend

    assert trend((0, 0, 0, 2, 8)) == "▃█ ↑"  # 2 of 8 is the third of eight blocks
    assert trend((0, 0, 0, 0, 19)) == "new"
    assert trend((5,)) == ""


def test_render_markdown_themes_compact_by_default_full_on_request_and_other_as_lines() -> None:
    papers = [make_paper(f"arxiv:2506.{i:05d}", f"Paper number {i}") for i in range(8)]
    theme = Section(
        "theme-1",
        "graphs",
        "theme",
        tuple(PaperEntry(p, 0.9 - i / 10, f"Summary {i}.") for i, p in enumerate(papers[:5])),
    )
    other = Section("other", "Other papers", "other", (PaperEntry(papers[5], 0, "Other."),))
    digest = Digest("2025-W24", date(2025, 6, 9), date(2025, 6, 15), "T", 6, (theme, other))
    compact = render_markdown(digest)
    assert "- [Paper number 2](" in compact and "Paper number 3" not in compact
    assert "… and 2 more" in compact
    assert "Summary" not in compact  # a compact theme is title lines only
    assert "**1. [Paper number 5](" in compact and "Other." in compact  # Other: like a topic
    full = render_markdown(digest, themes_shown="full")
    assert "**1. [Paper number 0](" in full and "Summary 0." in full


def _minor_theme_digest() -> Digest:
    papers = [make_paper(f"arxiv:2506.{i:05d}", f"Paper number {i}") for i in range(5)]
    big = Section(
        "theme-1", "Wireless *channels*", "theme", tuple(PaperEntry(p, 0.5, "") for p in papers[:3])
    )
    small = Section(
        "theme-2",
        "Relay *networks*",
        "theme",
        (PaperEntry(papers[3], 0.2, ""), PaperEntry(papers[4], 0.7, "")),
        minor=True,
    )
    return Digest("2025-W24", date(2025, 6, 9), date(2025, 6, 15), "T", 5, (big, small))


def test_render_markdown_lists_themes_past_max_themes_in_one_line_each() -> None:
    text = render_markdown(_minor_theme_digest())
    assert "### Wireless \\*channels\\*" in text and "### Relay" not in text
    assert "### More themes" in text
    # Name, size and the most central paper (highest score), on one line.
    assert "- **Relay \\*networks\\*** · 2 papers · [Paper number 4](" in text
    assert "Paper number 3" not in text
    assert "More themes](#more-themes) (1) | 2 |" in text  # one row in the contents
    assert "More themes" not in render_markdown(_digest())


def test_a_theme_of_an_arxiv_category_says_so_instead_of_key_phrases() -> None:
    digest = _digest()
    grouped = replace(
        digest.sections[1],
        key="theme-cs-cr",
        title="Cryptography and security",
        terms=("arXiv cs.CR",),
    )
    text = render_markdown(replace(digest, sections=(digest.sections[0], grouped)))
    assert "### Cryptography and security\n\n*Papers of arXiv cs.CR · 1 paper*" in text
    assert "key phrases: arXiv" not in text
    # A discovered theme keeps its caption.
    assert "*Discovered theme · 1 paper · key phrases: graph learning, message passing*" in (
        render_markdown(digest)
    )


def test_a_template_added_or_edited_in_templates_dir_is_used_by_the_next_render(
    tmp_path: Path,
) -> None:
    # The compiled templates are kept between builds (a long-running `serve`): never stale ones.
    digest = _digest()
    packaged = render_markdown(digest, templates_dir=tmp_path)
    (tmp_path / "digest.md.j2").write_text("first {{ digest.week }}\n", encoding="utf-8")
    assert render_markdown(digest, templates_dir=tmp_path) == f"first {digest.week}\n"
    (tmp_path / "digest.md.j2").write_text("second, longer {{ digest.week }}\n", encoding="utf-8")
    assert render_markdown(digest, templates_dir=tmp_path) == f"second, longer {digest.week}\n"
    (tmp_path / "digest.md.j2").unlink()
    assert render_markdown(digest, templates_dir=tmp_path) == packaged


def test_contents_links_to_the_anchor_github_gives_a_heading_with_marks() -> None:
    # Round 29: a topic named in Hindi ("हिन्दी भाषा मॉडल") lost its vowel signs and viramas
    # (Unicode marks) in the contents' link, "#हनद-भष-मडल", while GitHub keeps marks in the
    # heading's anchor: on GitHub the link went nowhere. GitHub keeps letters, marks, decimal
    # and letter numbers, "_" and "-", and drops the rest ("²" too, which the link kept).
    base = _digest()
    hindi = replace(base.sections[0], key="hindi", title="हिन्दी भाषा मॉडल")
    squared = replace(base.sections[0], key="squared", title="Diffusion² models")
    digest = replace(base, sections=(hindi, squared))
    text = render_markdown(digest)
    assert "| [हिन्दी भाषा मॉडल](#हिन्दी-भाषा-मॉडल) |" in text
    assert "| [Diffusion² models](#diffusion-models) |" in text
    page = render_html(text, title="t")  # its headings' ids follow the same rule
    assert 'id="हिन्दी-भाषा-मॉडल"' in page and 'id="diffusion-models"' in page


def test_a_paper_without_a_link_starts_no_line_with_a_separator() -> None:
    # Round 29: a paper known only by its title (an RSS item without a link or DOI, or with a
    # javascript: link, which is dropped) that fits another topic too showed the line
    # " · *also relevant to: Multimodal*", a separator before nothing.
    base = _digest()
    paper = make_paper("title:0123456789abcdef", "A paper with no link", url=None)
    entry = PaperEntry(paper, 0.5, "Sum.", None, ("Multimodal",))
    topic = replace(base.sections[0], entries=(entry,))
    text = render_markdown(replace(base, sections=(topic,), highlights=()))
    assert "\n*also relevant to: Multimodal*\n" in text
    assert "\n · " not in text
