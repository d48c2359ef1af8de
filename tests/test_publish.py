"""publish.py: the JSON sidecar against its schema, topic history, and the Atom feed."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import feedparser
import jsonschema
import pytest
from test_render import _digest

from pipeline.digest.publish import (
    digest_record,
    is_record,
    load_schema,
    record_json,
    render_feed,
    topic_counts,
    topic_series,
    with_history,
)

NOW = datetime(2025, 6, 16, 7, tzinfo=UTC)
FILES = {"markdown": "2025-W24.md", "html": None, "chart": None}


def test_digest_record_matches_its_schema() -> None:
    record = digest_record(_digest(), generated=NOW, files=FILES)
    jsonschema.Draft202012Validator.check_schema(load_schema())
    jsonschema.validate(record, load_schema())
    paper = record["sections"][0]["papers"][0]
    assert paper["upvotes"] == 42 and paper["code_url"] == "https://github.com/x/flashlinear"
    assert paper["importance"] == 1.2
    assert record["highlights"] == [
        {
            "paper_id": "arxiv:2506.00001",
            "reasons": [
                "▲ 42 upvotes",
                "3 comments",
                "code available",
                "1st of 2 in Efficient attention",
            ],
        }
    ]
    assert is_record(record)


def test_schema_rejects_a_record_missing_papers() -> None:
    record = digest_record(_digest(), generated=NOW, files=FILES)
    del record["sections"][0]["papers"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(record, load_schema())


def test_topic_series_takes_earlier_weeks_before_this_one_and_skips_themes() -> None:
    digest = _digest()
    earlier = {
        "2025-W30": {"efficient-attention": 9},
        "2025-W22": {"efficient-attention": 7},
        "2025-W21": {},
        "2025-W20": {"efficient-attention": 1},
    }
    weeks, series = topic_series(digest, earlier, n_weeks=3)
    assert weeks == ["2025-W21", "2025-W22", "2025-W24"]
    assert series == {"efficient-attention": [0, 7, 2]}


def test_topic_counts_reads_a_sidecars_topics_only() -> None:
    record = digest_record(_digest(), generated=NOW, files=FILES)
    record["sections"][0]["n_papers"] = 7
    assert topic_counts(record) == {"efficient-attention": 7}


def test_with_history_fills_only_sections_without_their_own() -> None:
    digest = _digest()
    series = {"efficient-attention": [7, 2]}
    with_it = with_history(digest, series)
    assert with_it.sections[0].history == digest.sections[0].history  # its own history wins
    themed = with_history(digest, {"theme-1": [1, 2]})
    assert themed.sections[1].history == (1, 2)  # the theme had none of its own


def test_render_feed_escapes_titles_and_drops_control_characters() -> None:
    record = digest_record(_digest(), generated=NOW, files=FILES)
    record["title"] = 'Digest <b>&</b> "x"\x00\x1b'
    feed = feedparser.parse(
        render_feed([record], title="T & <t>", base_url="", feed_key="k", updated=NOW)
    )
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == "T & <t>"
    assert feed.entries[0].title == 'Digest <b>&</b> "x" · 2025-W24'
    assert feed.entries[0].link.endswith("2025-W24.md")


@pytest.mark.parametrize(
    ("html", "link", "kind"),
    [("2025-W24.html", "2025-W24.html", "text/html"), (None, "2025-W24.md", None)],
)
def test_render_feed_links_the_feed_and_each_entry_to_a_page_feed_readers_open(
    html: str | None, link: str, kind: str | None
) -> None:
    # feedparser (and readers built on it) takes an alternate link only when its type is HTML or
    # absent: the feed's index.md, typed text/markdown, gave feed.link 'urn:uuid:…'; with
    # write_html = false an entry's .md was typed text/html, which it is not.
    record = digest_record(_digest(), generated=NOW, files={**FILES, "html": html})
    feed = feedparser.parse(
        render_feed([record], title="T", base_url="", feed_key="k", updated=NOW)
    )
    assert feed.feed.link == "index.md"
    assert feed.entries[0].link == link
    raw = render_feed([record], title="T", base_url="", feed_key="k", updated=NOW).decode()
    typed = f' type="{kind}"' if kind else ""
    assert f'<link rel="alternate"{typed} href="{link}" />' in raw


def test_render_feed_entry_ids_are_stable_across_rebuilds() -> None:
    record = digest_record(_digest(), generated=NOW, files=FILES)
    first = feedparser.parse(
        render_feed([record], title="T", base_url="", feed_key="k", updated=NOW)
    )
    again = feedparser.parse(
        render_feed([record], title="T", base_url="", feed_key="k", updated=NOW)
    )
    other = feedparser.parse(
        render_feed([record], title="T", base_url="", feed_key="j", updated=NOW)
    )
    assert first.entries[0].id == again.entries[0].id != other.entries[0].id


def test_digest_record_marks_minor_themes_and_matches_its_schema() -> None:
    from test_render import _minor_theme_digest

    record = digest_record(_minor_theme_digest(), generated=NOW, files=FILES)
    jsonschema.validate(record, load_schema())
    assert [s.get("minor", False) for s in record["sections"]] == [False, True]
    assert record["sections"][1]["n_papers"] == 2 and len(record["sections"][1]["papers"]) == 2


def test_record_json_writes_what_json_dumps_writes() -> None:
    record = digest_record(_digest(), generated=NOW, files=FILES)
    record["notes"] = ['é \u2028 \x00 " \\ /\t', ""]
    record["extra"] = {"": [None, True, False, 0, -1, 10**30, 1.0, -0.0, 1e-7, 1e22, 0.1234]}
    record["empty"] = [[], {}, [[]], {"a": {}}, ("x", ("y",))]
    record["odd"] = [math.nan, math.inf, -math.inf]
    assert record_json(record) == json.dumps(record, indent=2, ensure_ascii=False) + "\n"


def test_record_json_leaves_what_it_does_not_know_to_json() -> None:
    assert record_json({1: "int key"}) == '{\n  "1": "int key"\n}\n'
    with pytest.raises(TypeError, match="not JSON serializable"):
        record_json({"x": object()})


def test_largest_sections_name_topics_and_themes_not_other() -> None:
    # Read from outside: the demo's index and feed said W25's "Largest sections: Other papers
    # (36), Large language models (26), …": what fits nothing says nothing about the week.
    from pipeline.digest.render import render_index

    record = digest_record(_digest(), generated=NOW, files=FILES)
    record["sections"] = [
        {"title": "Other papers", "kind": "other", "n_papers": 36},
        {"title": "Robot learning", "kind": "topic", "n_papers": 9},
        {"title": "Speech and audio", "kind": "theme", "n_papers": 5},
    ]
    feed = feedparser.parse(
        render_feed([record], title="T", base_url="", feed_key="k", updated=NOW)
    )
    summary = feed.entries[0].summary
    assert "Robot learning (9), Speech and audio (5)" in summary, summary
    assert "Other papers" not in summary
    index = render_index([record], title="T")
    assert "Robot learning (9); Speech and audio (5)" in index
    assert "Other papers" not in index
