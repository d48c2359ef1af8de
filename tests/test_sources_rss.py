"""The generic RSS/Atom/RDF parser against real journal, preprint and broken feeds.

Feed provenance: tests/data/SOURCES.md.

Also the robustness sweep: every copied feed either parses or raises ParseError, nothing else.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from recorded import read_recorded_body

from pipeline.errors import ParseError
from pipeline.ingest.normalize import normalize_entry
from pipeline.ingest.sources import PARSERS
from pipeline.ingest.sources.rss import html_to_text, parse_rss, split_authors

FEEDS = Path(__file__).parent / "data" / "feeds"
ALL_FEEDS = sorted(p.relative_to(FEEDS).as_posix() for p in FEEDS.rglob("*") if p.is_file())


def read_feed(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def test_parse_rss_biorxiv_rdf_reads_doi_and_initials_authors() -> None:
    [entry] = parse_rss(read_feed("biorxiv_rss1.0_rdf_genomics_2023-12-16_1item.xml"), "biorxiv")
    assert entry.title.startswith("Complete genome of the Medicago anthracnose fungus")
    assert not entry.title.startswith(" ") and "\n" not in entry.title  # CDATA padding removed
    assert entry.doi == "10.1101/2023.12.16.571984"
    assert entry.authors[:3] == ("LAPALU, N.", "SIMON, A.", "Lu, A.")
    assert len(entry.authors) == 10
    assert entry.authors[-1] == "O'Connell, R. J."
    assert entry.published == datetime(2023, 12, 16, tzinfo=UTC)  # dc:date
    assert entry.abstract.startswith("Colletotrichum destructivum (Cd) is a phytopathogenic fungus")


def test_parse_rss_pubmed_takes_full_abstract_from_content() -> None:
    entries = parse_rss(read_feed("pubmed_search_rss2_new-species_2021-12-21.xml"), "pubmed")
    assert len(entries) == 15
    first = entries[0]
    assert first.raw_id == "pubmed:34929406"
    assert first.doi == "10.1016/j.parint.2021.102531"
    assert len(first.authors) == 7 and first.authors[0] == "Xiao Jin"
    assert first.published == datetime(2021, 12, 20, 11, 0, tzinfo=UTC)  # 06:00 -0500
    assert "we named Gyrodactylus banmae" in first.abstract  # the description stops at 500 chars
    assert "<p" not in first.abstract
    assert all(e.doi for e in entries)


def test_parse_rss_wiley_prism_doi_and_newline_separated_authors() -> None:
    entries = parse_rss(read_feed("journal_wiley_taxon_toc_rss2_prism_2021-12-21.xml"), "wiley")
    assert len(entries) == 66
    first = entries[0]
    assert first.doi == "10.1002/tax.12650"
    assert first.authors == (
        "Rachel M. Binks",
        "Margaret Heslewood",
        "Peter G. Wilson",
        "Margaret Byrne",
    )
    # Not "TAXON, EarlyView.", and the "Abstract" heading is not part of the abstract.
    assert first.abstract.startswith("Leptospermum is an ecologically")
    assert first.published == datetime(2021, 12, 20, 8, 9, 28, tzinfo=UTC)


def test_parse_rss_sciencedirect_metadata_only_description_gives_empty_abstract() -> None:
    feed = read_feed("journal_sciencedirect_mol-phylogenetics-evol_rss2_cdata_2021-12-21.xml")
    entries = parse_rss(feed, "sciencedirect")
    assert len(entries) == 51  # kept, even though none has an abstract
    assert all(e.abstract == "" for e in entries)
    first = entries[0]
    assert first.authors == ("David R. Bickel",)
    assert first.raw_id == "https://www.sciencedirect.com/science/article/pii/S1055790321002906"
    assert first.doi is None


def test_parse_rss_ojs_atom_strips_html_and_padding() -> None:
    entries = parse_rss(read_feed("journal_ojs_entomologisk-tidskrift_atom_2021-12-21.xml"), "ojs")
    assert len(entries) == 10
    first = entries[0]
    assert first.title == (
        "Ett nytt släkte Gretiella Stigenberg (Hymenoptera: Braconidae: Euphorinae), "
        "beskriven från Papua nya Guinea"
    )
    assert first.authors == ("Julia Stigenberg", "Cornelis Van Achterberg")
    assert first.abstract.startswith("Familjen Braconidae, bracksteklar")
    assert "<" not in first.abstract and "\t" not in first.abstract
    assert first.published == datetime(2021, 12, 9, tzinfo=UTC)
    assert first.updated == datetime(2021, 12, 9, 14, 7, 43, tzinfo=UTC)


def test_parse_rss_cambridge_keeps_surname_comma_given_names() -> None:
    feed = read_feed("journal_cambridge_canadian-entomologist_rss1.0_rdf_2021-12-21.xml")
    entries = parse_rss(feed, "cambridge")
    assert len(entries) == 15
    assert entries[0].authors == ("Inoda, Toshio",)
    assert entries[1].authors[0] == "Sant’Ana, Josué" and len(entries[1].authors) == 4
    assert entries[0].doi == "10.4039/tce.2021.38"


def test_parse_rss_hf_community_feed_unpacks_labelled_description() -> None:
    entries = parse_rss(read_feed("hf_daily_papers_community_rss_2026-04-30.xml"), "hf-rss")
    assert len(entries) == 22
    first = entries[0]
    assert first.raw_id == "https://arxiv.org/abs/2604.21003"
    assert first.authors == ("Haebin Seong", "Li Yin", "Haoran Zhang")
    assert first.abstract.startswith("AI agents are increasingly deployed")


def test_parse_rss_empty_valid_feed_is_empty() -> None:
    assert (
        parse_rss(read_feed("edgecase_jstage_atom_empty_0entries_2021-12-21.xml"), "jstage") == []
    )


@pytest.mark.parametrize(
    "name",
    [
        "badinput_feedrs_rss2.0_invalid_1.xml",  # cut off mid-document by a server error
        "feedparser_tests/illformed/rss_empty_document.xml",
        "feedparser_tests/illformed/aaa_illformed.xml",
        "feedparser_tests/illformed/rss_incomplete_cdata.xml",  # its one item has no title
        "feedparser_tests/encoding/bozo_linenoise.xml",
    ],
)
def test_parse_rss_broken_feeds_raise_parse_error_naming_the_source(name: str) -> None:
    with pytest.raises(ParseError, match=r"^broken: "):
        parse_rss(read_feed(name), "broken")


def test_parse_rss_keeps_entries_of_a_bozo_feed_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    entries = parse_rss(read_feed("feedparser_tests/illformed/chardet/koi8r.xml"), "koi8r")
    assert len(entries) == 1 and entries[0].title
    assert "not clean" in caplog.text


@pytest.mark.parametrize(
    "headers",
    [{}, {"ETag": '"a"'}, {"Content-Type": "text/plain"}, {"Content-Type": "text/xml"}],
)
def test_parse_rss_content_type_quirks_do_not_fail_an_empty_feed(headers: dict[str, str]) -> None:
    # feedparser flags a missing or non-XML Content-Type as bozo; an empty feed is still valid.
    feed = read_feed("arxiv_rss2_cs.CL_2026-08-01_saturday_empty_0items.xml")
    assert parse_rss(feed, "cs.CL", headers) == []


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"<html><head><title>Not found</title></head><body><p>404</p></body></html>",
        b'{"papers": []}',
        b"plain text, not a feed",
    ],
)
def test_parse_rss_garbage_raises_parse_error(content: bytes) -> None:
    with pytest.raises(ParseError, match=r"^garbage: "):
        parse_rss(content, "garbage")


def test_parse_rss_keeps_items_without_abstract() -> None:
    feed = (
        b'<rss version="2.0"><channel><title>t</title>'
        b"<item><title>Only a title</title></item></channel></rss>"
    )
    [entry] = parse_rss(feed, "t")
    assert (entry.title, entry.abstract) == ("Only a title", "")


def test_parse_rss_reads_doi_from_dc_identifier_link() -> None:
    feed = (
        b'<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>t</title>'
        b"<item><title>X</title><dc:identifier>https://doi.org/10.1000/ABC.1</dc:identifier></item>"
        b"</channel></rss>"
    )
    assert parse_rss(feed, "t")[0].doi == "10.1000/ABC.1"


def test_html_to_text_drops_tags_scripts_and_unescapes() -> None:
    html = "<p>Hello&nbsp;<i>world</i></p><p>x &lt; y &amp; z</p><script>alert(1)</script>"
    assert html_to_text(html) == "Hello world x < y & z"


def test_split_authors_handles_the_common_shapes() -> None:
    assert split_authors("A. Smith, B. Jones") == ("A. Smith", "B. Jones")
    assert split_authors("Smith, A., Jones, B.") == ("Smith, A.", "Jones, B.")
    assert split_authors("Inoda, Toshio") == ("Inoda, Toshio",)
    assert split_authors("Shu G; Liu P") == ("Shu G", "Liu P")


@pytest.mark.parametrize("name", ALL_FEEDS)
@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_every_fixture_parses_or_raises_parse_error(kind: str, name: str) -> None:
    content = read_feed(name)
    if name.endswith(".recorded.json"):
        content = read_recorded_body(FEEDS / name)
    try:
        entries = PARSERS[kind](content, name, None)
    except ParseError as e:
        assert name in str(e)
    else:
        assert all(e.title and e.source == name for e in entries)


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_random_and_truncated_bytes_raise_only_parse_error(kind: str) -> None:
    rng = random.Random(1234)
    samples = [b"", bytes(rng.getrandbits(8) for _ in range(512))]
    for name in (
        "arxiv_rss2_cs.LG_2026-04-27_trimmed3items.xml",
        "hf_daily_papers_api_2026-08-03_3entries.json",
    ):
        content = read_feed(name)
        samples += [content[: len(content) // 3], content[: len(content) // 2]]
    for content in samples:
        try:
            PARSERS[kind](content, "fuzz", None)
        except ParseError as e:
            assert str(e).startswith("fuzz: ")


def test_parse_rss_author_with_non_ascii_email_keeps_the_whole_name() -> None:
    # feedparser splits this at "ß" into email "info@jonas.gro" and name "ße-stries.de (Jonas…"
    # (issue 14, item 11); RSS 2.0 <author> is "email (Name)".
    content = (
        '<rss version="2.0"><channel><title>t</title><item><title>A paper</title>'
        "<author>info@jonas.große-stries.de (Jonas Große Sundrup)</author>"
        "</item></channel></rss>"
    ).encode()
    [entry] = parse_rss(content, "blog")
    assert normalize_entry(entry).authors == ("Jonas Große Sundrup",)


# The Atom spec's example entry (RFC 4287 §1.1) with its link made relative, as the issue found it.
RELATIVE_ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Example Feed</title>
  <updated>2003-12-13T18:30:02Z</updated>
  <author><name>John Doe</name></author>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <entry>
    <title>Atom-Powered Robots Run Amok</title>
    <link href="/blog/2003/12/13/atom03"/>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <updated>2003-12-13T18:30:02Z</updated>
    <summary>Some text.</summary>
  </entry>
</feed>"""


def test_parse_rss_resolves_relative_links_against_the_feed_url() -> None:
    headers = {"Content-Location": "https://example.org/feeds/atom.xml"}
    [entry] = parse_rss(RELATIVE_ATOM, "blog", headers)
    assert entry.link == "https://example.org/blog/2003/12/13/atom03"
    assert normalize_entry(entry).paper_id == "url:https://example.org/blog/2003/12/13/atom03"


def test_parse_rss_resolves_relative_links_against_the_site_link() -> None:
    content = RELATIVE_ATOM.replace(
        b"<title>Example Feed</title>",
        b'<title>Example Feed</title><link href="http://example.org/"/>',
    )
    [entry] = parse_rss(content, "blog")
    assert entry.link == "http://example.org/blog/2003/12/13/atom03"


def test_ijsem_and_joined_authors_and_a_doi_in_a_tracked_link() -> None:
    # Issue 14 items 8 and 13: "Silvio Hering and Michael E. J. Buhl", "?TRACK=RSS".
    path = FEEDS.parent / "issue14" / "microbiologyresearch_ijsem_rss2_2021-12-21_item2.xml"
    [entry] = parse_rss(path.read_bytes(), "ijsem")
    paper = normalize_entry(entry)
    assert paper.authors == ("Moritz K. Jansson", "Silvio Hering", "Michael E. J. Buhl")
    assert paper.paper_id == "doi:10.1099/ijsem.0.005100"
    assert paper.doi == "10.1099/ijsem.0.005100"
    assert paper.published == datetime(2021, 12, 20, tzinfo=UTC)
    assert paper.abstract.startswith("A strain of obligately anaerobically growing Gram-positive")


# Items that give the paper only as a PDF enclosure (RSS 2.0 <enclosure>), no <link>: one
# relative to the feed, one an arXiv PDF.
_PDF_ONLY = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Working papers</title><link>https://wp.example.org/</link>
<item><title>Prices and expectations</title>
<enclosure url="/files/wp-77.pdf" length="482113" type="application/pdf"/>
<description>We study how price expectations form in a survey of firms.</description>
<pubDate>Mon, 30 Nov 2026 10:00:00 GMT</pubDate></item>
<item><title>Sparse attention at scale</title>
<enclosure url="https://arxiv.org/pdf/2506.01234v2" length="1000" type="application/pdf"/>
<description>A sparse attention kernel for long contexts.</description>
<pubDate>Mon, 30 Nov 2026 10:00:00 GMT</pubDate></item>
</channel></rss>"""


def test_parse_rss_keeps_an_items_pdf_enclosure() -> None:
    """Round 29: an item whose only link is its PDF enclosure was stored with no link at all
    (the digest listed a title with nothing to open), and an arXiv PDF's id went unread."""
    headers = {"Content-Location": "https://wp.example.org/feed.xml"}
    first, second = (normalize_entry(e) for e in parse_rss(_PDF_ONLY, "wp", headers))
    assert first.pdf_url == "https://wp.example.org/files/wp-77.pdf"
    assert second.paper_id == "arxiv:2506.01234" and second.version == 2
