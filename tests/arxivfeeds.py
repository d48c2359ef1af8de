# ruff: noqa: E501, W291  (feed text reproduced as arXiv serves it: long lines, "new " before a newline)
"""Real arXiv records (tests/data/e2e, from the arxiv-week-2025-06 corpus) wrapped in the formats
arXiv serves them in: an rss.arxiv.org RSS 2.0 day feed and an export.arxiv.org API Atom page.

The wrappers copy the element layout of the recorded feeds in tests/data/feeds
(arxiv_rss2_cs.LG_2026-04-27_trimmed3items.xml, arxiv_api_atom_newformat_…_20entries.xml); the
titles, abstracts, ids and submission times are the real ones. No recorded arXiv feed covers a
whole week, so a simulated week is assembled this way (see tests/data/SOURCES.md).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

E2E = Path(__file__).parent / "data" / "e2e"


def load_day(day: str) -> list[dict[str, str]]:
    """The records of one announcement day, e.g. '2025-06-11'."""
    lines = (E2E / f"arxiv-{day}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def arxiv_id(record: dict[str, str]) -> str:
    """'http://arxiv.org/abs/2506.08013v1' -> '2506.08013'."""
    return record["url"].rsplit("/", 1)[-1].split("v")[0]


def rss_day(records: list[dict[str, str]], day: date, category: str = "cs.LG") -> bytes:
    """An rss.arxiv.org day feed announcing `records` as 'new' on `day`."""
    stamp = f"{day:%a, %d %b %Y} 00:00:00 -0400"
    items = "".join(
        f"""    <item>
      <title>{escape(r["title"])}</title>
      <link>https://arxiv.org/abs/{arxiv_id(r)}</link>
      <description>arXiv:{arxiv_id(r)}v1 Announce Type: new 
Abstract: {escape(r["abstract"])}</description>
      <guid isPermaLink="false">oai:arXiv.org:{arxiv_id(r)}v1</guid>
      <category>{category}</category>
      <pubDate>{stamp}</pubDate>
      <arxiv:announce_type>new</arxiv:announce_type>
      <dc:rights>http://creativecommons.org/licenses/by/4.0/</dc:rights>
      <dc:creator>Ada Lovelace, Alan Turing</dc:creator>
    </item>
"""
        for r in records
    )
    return f"""<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0">
  <channel>
    <title>{category} updates on arXiv.org</title>
    <link>http://rss.arxiv.org/rss/{category}</link>
    <description>{category} updates on the arXiv.org e-print archive.</description>
    <language>en-us</language>
    <lastBuildDate>{day:%a, %d %b %Y} 04:00:01 +0000</lastBuildDate>
    <pubDate>{stamp}</pubDate>
{items}  </channel>
</rss>
""".encode()


def api_page(records: list[dict[str, str]], *, total: int | None = None, start: int = 0) -> bytes:
    """An export.arxiv.org/api/query Atom page listing `records`."""
    entries = "".join(
        f"""  <entry>
    <id>http://arxiv.org/abs/{arxiv_id(r)}v1</id>
    <title>{escape(r["title"])}</title>
    <updated>{r["created"].replace(" ", "T")}Z</updated>
    <link href="https://arxiv.org/abs/{arxiv_id(r)}v1" rel="alternate" type="text/html"/>
    <link href="https://arxiv.org/pdf/{arxiv_id(r)}v1" rel="related" type="application/pdf" title="pdf"/>
    <summary>{escape(r["abstract"])}</summary>
    <category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
    <published>{r["created"].replace(" ", "T")}Z</published>
    <arxiv:primary_category term="cs.LG"/>
    <author>
      <name>Ada Lovelace</name>
    </author>
  </entry>
"""
        for r in records
    )
    n_total = len(records) if total is None else total
    return f"""<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">
  <id>https://arxiv.org/api/test</id>
  <title>arXiv Query</title>
  <updated>2025-06-12T06:00:00Z</updated>
  <opensearch:itemsPerPage>{len(records)}</opensearch:itemsPerPage>
  <opensearch:totalResults>{n_total}</opensearch:totalResults>
  <opensearch:startIndex>{start}</opensearch:startIndex>
{entries}</feed>
""".encode()
