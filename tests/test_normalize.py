"""Canonical ids, text cleaning, normalisation and dedupe (real feeds from tests/data/feeds)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pipeline.errors import ParseError
from pipeline.ingest.ids import canonical_id, normalize_title, parse_arxiv_id, strip_tracking
from pipeline.ingest.normalize import clean_text, dedupe, hold_back_incomplete, normalize_entry
from pipeline.ingest.sources.arxiv import parse_arxiv_api, parse_arxiv_rss
from pipeline.ingest.sources.hf import parse_hf_daily
from pipeline.models import Entry, Paper, Signals

FEEDS = Path(__file__).parent / "data" / "feeds"


def entry(**fields: object) -> Entry:
    values: dict[str, object] = {"source": "test", "title": "A title", "abstract": ""}
    values.update(fields)
    return Entry(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2404.01234", ("2404.01234", None)),
        ("2404.01234v2", ("2404.01234", 2)),
        ("arXiv:2404.01234v2", ("2404.01234", 2)),
        ("arxiv:0704.0001", ("0704.0001", None)),
        ("oai:arXiv.org:2604.21952v1", ("2604.21952", 1)),
        ("http://arxiv.org/abs/1111.2011v2", ("1111.2011", 2)),
        ("https://arxiv.org/abs/2604.21952", ("2604.21952", None)),
        ("https://export.arxiv.org/abs/2404.01234v3", ("2404.01234", 3)),
        ("https://arxiv.org/pdf/2404.01234v1.pdf", ("2404.01234", 1)),
        ("https://arxiv.org/pdf/2404.01234", ("2404.01234", None)),
        ("https://doi.org/10.48550/arXiv.2404.01234", ("2404.01234", None)),
        ("solv-int/9901001", ("solv-int/9901001", None)),
        # Round 28: an old-style id's subject class is no part of it (arXiv stores, lists and
        # links math/0309136; "math.GT/0309136" is the form papers of the time cite): read as
        # another id, it named no stored paper; with a hyphen ("cond-mat.str-el") it was no id.
        ("math.GT/0309136", ("math/0309136", None)),
        ("arXiv:cs.AI/0112017v2", ("cs/0112017", 2)),
        ("https://arxiv.org/abs/math.GT/0309136v1", ("math/0309136", 1)),
        ("https://arxiv.org/pdf/cs.CL/0112017v2.pdf", ("cs/0112017", 2)),
        ("cond-mat.str-el/0601001", ("cond-mat/0601001", None)),
        ("https://arxiv.org/abs/physics.acc-ph/0501001v3", ("physics/0501001", 3)),
        ("oai:arXiv.org:q-bio.PE/0401001", ("q-bio/0401001", None)),
        ("https://arxiv.org/pdf/math/0309136v1", ("math/0309136", 1)),
        ("cs/0112017v2", ("cs/0112017", 2)),
        ("hep-th/9901001v3", ("hep-th/9901001", 3)),
        ("http://arxiv.org/abs/hep-th/9901001v3", ("hep-th/9901001", 3)),
        ("oai:arXiv.org:cond-mat/0102536", ("cond-mat/0102536", None)),
        # Round 10: without a scheme these were no arXiv id, so a second row under title:.
        ("arxiv.org/abs/2404.01234v2", ("2404.01234", 2)),
        ("www.arxiv.org/pdf/2404.01234v1.pdf", ("2404.01234", 1)),
        ("//export.arxiv.org/abs/hep-th/9901001", ("hep-th/9901001", None)),
    ],
)
def test_parse_arxiv_id_finds_every_form(text: str, expected: tuple[str, int | None]) -> None:
    assert parse_arxiv_id(text) == expected


@pytest.mark.parametrize("text", ["notarxiv.org/abs/2404.01234", "arxiv.org/list/2404.01234"])
def test_parse_arxiv_id_refuses_other_hosts_and_paths(text: str) -> None:
    assert parse_arxiv_id(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "10.1002/tax.12650",
        "https://example.com/abs/2404.01234",
        "2404.1234",  # 4 digits after 2015
        "1412.12345",  # 5 digits before 2015
        "2413.01234",  # month 13
        "pubmed:34929406",
        "http://biorxiv.org/cgi/content/short/2023.12.16.571984v1?rss=1",
    ],
)
def test_parse_arxiv_id_rejects_non_arxiv_text(text: str) -> None:
    assert parse_arxiv_id(text) is None


def test_an_old_style_id_with_its_subject_class_is_the_paper_arxiv_lists() -> None:
    # Round 28: a hand-written file linking arxiv.org/abs/math.GT/0309136 stored the paper a
    # second time beside the arxiv:math/0309136 an arXiv source gives it.
    linked = entry(link="https://arxiv.org/abs/math.GT/0309136v2")
    assert canonical_id(linked) == ("arxiv:math/0309136", 2)
    assert canonical_id(entry(raw_id="oai:arXiv.org:math/0309136")) == ("arxiv:math/0309136", None)


def test_canonical_id_prefers_arxiv_then_doi_then_url_then_title() -> None:
    assert canonical_id(entry(raw_id="oai:arXiv.org:2604.21952v1", doi="10.1/x")) == (
        "arxiv:2604.21952",
        1,
    )
    assert canonical_id(entry(raw_id="pubmed:1", link="https://arxiv.org/abs/2404.01234v2")) == (
        "arxiv:2404.01234",
        2,
    )
    assert canonical_id(entry(doi="https://doi.org/10.1002/TAX.12650")) == (
        "doi:10.1002/tax.12650",
        None,
    )
    assert canonical_id(entry(raw_id="doi:10.1101/2023.12.16.571984")) == (
        "doi:10.1101/2023.12.16.571984",
        None,
    )
    assert canonical_id(entry(link="HTTPS://Example.COM/papers/1/?utm_source=rss&a=1#top")) == (
        "url:https://example.com/papers/1?a=1",
        None,
    )
    paper_id, version = canonical_id(entry(title="  Only a Title!  "))
    assert paper_id == canonical_id(entry(title="only a title"))[0]
    assert paper_id.startswith("title:") and len(paper_id) == len("title:") + 16
    assert version is None


def test_clean_text_strips_stray_html_and_control_characters() -> None:
    assert clean_text("A <i>bold</i>\x00 claim &amp; more\t\n here") == "A bold claim & more here"
    assert clean_text("x < y and p<0.05") == "x < y and p<0.05"
    assert clean_text("one\n\n  two\nlines", keep_paragraphs=True) == "one\n\ntwo lines"


def test_normalize_title_ignores_case_punctuation_and_spacing() -> None:
    assert normalize_title("Attention Is All You Need!") == normalize_title(
        "attention is  all you need"
    )
    assert normalize_title("Σ-Mem: Online") == "σ mem online"


def test_normalize_entry_from_arxiv_rss() -> None:
    feed = (FEEDS / "arxiv_rss2_cs.LG_2026-04-27_trimmed3items.xml").read_bytes()
    paper = normalize_entry(parse_arxiv_rss(feed, "arxiv-cs.LG")[0])
    assert paper.paper_id == "arxiv:2604.21952"
    assert paper.version == 1
    assert paper.url == "https://arxiv.org/abs/2604.21952"
    assert paper.pdf_url == "https://arxiv.org/pdf/2604.21952"
    assert paper.announced == date(2026, 4, 27)
    assert paper.announce_type == "new"
    assert paper.sources == ("arxiv-cs.LG",)
    assert paper.signals == Signals()
    assert len(paper.authors) == 6


def test_normalize_entry_from_arxiv_api_keeps_journal_doi() -> None:
    feed = (FEEDS / "arxiv_api_atom_legacyformat_id_list-1111.2011v2_2016_1entry.xml").read_bytes()
    paper = normalize_entry(parse_arxiv_api(feed, "api")[0])
    assert (paper.paper_id, paper.version) == ("arxiv:1111.2011", 2)
    assert paper.doi == "10.1103/PhysRevB.85.115117"
    assert paper.pdf_url == "http://arxiv.org/pdf/1111.2011v2"
    assert paper.published == datetime(2011, 11, 8, 18, 48, 36, tzinfo=UTC)


def test_normalize_title_keeps_a_words_closing_plus_and_hash() -> None:
    # Round 10: "C++ templates" and "C templates" were one title key ("c templates"), so two
    # papers without ids were stored as one.
    assert normalize_title("C++ Templates, Explained") == "c++ templates explained"
    assert normalize_title("Rust vs. C#: a study") == "rust vs c# a study"
    assert normalize_title("C++ templates") != normalize_title("C templates")
    assert normalize_title("F# type providers") != normalize_title("F type providers")
    # Elsewhere "+" and "#" are punctuation, as before: dedupe still folds these.
    assert normalize_title("A + B: 2+2 in C++11") == normalize_title("a b -- 2 2 in C 11")
    assert normalize_title("#1: K-means++ seeding") == "1 k means++ seeding"


def test_normalize_entry_rejects_an_empty_title() -> None:
    with pytest.raises(ParseError, match=r"^src: "):
        normalize_entry(entry(source="src", title=" <p></p> "))


def paper(paper_id: str, title: str = "A reasonably long paper title", **fields: object) -> Paper:
    return Paper(paper_id=paper_id, title=title, abstract=str(fields.pop("abstract", "")), **fields)  # type: ignore[arg-type]


def test_dedupe_merges_versions_keeping_the_highest() -> None:
    v1 = paper("arxiv:2404.01234", version=1, abstract="old", sources=("rss",))
    v2 = paper("arxiv:2404.01234", version=2, abstract="new", sources=("api",))
    [merged] = dedupe([v1, v2])
    assert merged.version == 2
    assert merged.abstract == "new"
    assert merged.sources == ("rss", "api")


def test_dedupe_merges_a_cross_list_from_two_category_feeds() -> None:
    lg = paper(
        "arxiv:2604.21952", categories=("cs.LG", "cs.AI"), announce_type="cross", sources=("cs.LG",)
    )
    ai = paper(
        "arxiv:2604.21952", categories=("cs.AI", "cs.RO"), announce_type="new", sources=("cs.AI",)
    )
    other = paper("arxiv:2604.21953", title="Something else entirely, at length")
    merged = dedupe([lg, other, ai])
    assert [p.paper_id for p in merged] == ["arxiv:2604.21952", "arxiv:2604.21953"]
    assert merged[0].categories == ("cs.LG", "cs.AI", "cs.RO")
    assert merged[0].sources == ("cs.LG", "cs.AI")
    assert merged[0].announce_type == "new"


def test_dedupe_merges_rss_and_hf_signals() -> None:
    hf_feed = (FEEDS / "hf_daily_papers_api_2026-07-31_5entries.json").read_bytes()
    from_hf = normalize_entry(parse_hf_daily(hf_feed, "hf")[0])
    from_rss = normalize_entry(
        entry(
            source="arxiv-cs.CV",
            title=from_hf.title,
            abstract=from_hf.abstract,
            raw_id="oai:arXiv.org:2607.23193v1",
            announced=date(2026, 7, 29),
        )
    )
    [merged] = dedupe([from_rss, from_hf])
    assert merged.paper_id == "arxiv:2607.23193"
    assert merged.version == 1
    assert merged.sources == ("arxiv-cs.CV", "hf")
    assert merged.announced == date(2026, 7, 29)
    assert merged.signals.upvotes == 3
    assert merged.signals.github_url == "https://github.com/MAC-AutoML/OmniScope"


def test_dedupe_merges_same_title_and_the_arxiv_id_wins() -> None:
    by_url = paper(
        "url:https://tldr.takara.ai/p/2604.26238", title="EnerGS: Energy-Based Gaussian Splatting"
    )
    by_doi = paper("doi:10.1/energs", title="EnerGS - energy-based Gaussian splatting!")
    by_arxiv = paper(
        "arxiv:2604.26238",
        title="EnerGS: Energy-Based Gaussian Splatting",
        url="https://arxiv.org/abs/2604.26238",
    )
    [merged] = dedupe([by_url, by_doi, by_arxiv])
    assert merged.paper_id == "arxiv:2604.26238"
    assert merged.url == "https://arxiv.org/abs/2604.26238"
    [merged] = dedupe([by_url, by_doi])
    assert merged.paper_id == "doi:10.1/energs"


def test_dedupe_keeps_distinct_arxiv_ids_and_short_generic_titles_apart() -> None:
    a = paper("arxiv:2404.00001", title="A Survey of Large Language Models")
    b = paper("arxiv:2404.00002", title="A Survey of Large Language Models")
    c = paper("doi:10.1/a", title="Editorial")
    d = paper("doi:10.1/b", title="Editorial")
    assert len(dedupe([a, b, c, d])) == 4


def test_dedupe_output_order_is_first_seen() -> None:
    papers = [paper(f"doi:10.1/{i}", title=f"Distinct paper title number {i}") for i in range(5)]
    assert dedupe(reversed(papers)) == list(reversed(papers))


def test_filter_papers_matches_whole_words_ignoring_case_and_punctuation() -> None:
    from conftest import make_paper

    from pipeline.ingest.normalize import filter_papers

    papers = [
        make_paper("arxiv:2506.00001", "A GAN for faces"),
        make_paper("arxiv:2506.00002", "Organ segmentation", "Medical imaging, CT."),
        make_paper("arxiv:2506.00003", "Graph nets", "We study message-passing."),
    ]
    kept, removed = filter_papers(papers, include=["gan", "Message passing"])
    assert [p.paper_id for p in kept] == ["arxiv:2506.00001", "arxiv:2506.00003"]
    assert removed == 1
    kept, removed = filter_papers(papers, exclude=["medical imaging"])
    assert len(kept) == 2 and removed == 1
    assert filter_papers(papers) == (papers, 0)


def test_filter_papers_matches_a_phrase_with_plus_or_hash_as_written() -> None:
    # Round 9: "C++" was the word "c" here, as it was for topic keywords before round 8.
    from conftest import make_paper

    from pipeline.ingest.normalize import filter_papers

    papers = [
        make_paper("arxiv:2506.00001", "A C++ library", "Header-only C++/CUDA code."),
        make_paper("arxiv:2506.00002", "Schauder bases in C[0,1]", "See appendix C."),
        make_paper("arxiv:2506.00003", "C++17 parsing and C+++ typos", "F# too."),
    ]
    assert filter_papers(papers, include=["c++"]) == ([papers[0]], 2)
    assert filter_papers(papers, include=["C++ CUDA"]) == ([papers[0]], 2)
    assert filter_papers(papers, exclude=["C++"]) == (papers[1:], 1)
    assert filter_papers(papers, include=["F#"]) == ([papers[2]], 2)
    assert filter_papers(papers, include=["c"]) == (papers, 0)  # the word c, as before


def test_look_alike_arxiv_ids_are_one_paper() -> None:
    # Fullwidth and Arabic-Indic digits (issue 14, item 15).
    for raw in ("arXiv:２６０４.２１９５２v1", "arXiv:٢٦٠٤.٢١٩٥٢v1"):
        assert parse_arxiv_id(raw) == ("2604.21952", 1)


def test_soft_hyphen_and_zero_width_space_do_not_defeat_title_dedupe() -> None:
    title = "Contrastive representation learning for molecular graphs"
    hidden = title.replace("representation", "repre\u00adsenta\u200btion")
    a = Paper(paper_id="url:https://a.example/1", title=title, abstract="")
    b = Paper(paper_id="doi:10.1234/b.1", title=hidden, abstract="")
    assert normalize_title(hidden) == normalize_title(title)
    assert len(dedupe([a, b])) == 1


def test_canonical_id_drops_tracking_parameters_and_reads_a_doi_in_the_link() -> None:
    tracked = Entry(source="s", title="t", abstract="", link="https://x.org/a?TRACK=RSS&id=7")
    assert canonical_id(tracked) == ("url:https://x.org/a?id=7", None)
    tandf = Entry(
        source="s",
        title="t",
        abstract="",
        link="https://www.tandfonline.com/doi/full/10.1080/09397140.2021.1992835?af=R",
    )
    assert canonical_id(tandf) == ("doi:10.1080/09397140.2021.1992835", None)


def test_links_shown_to_readers_lose_tracking_parameters_and_keep_the_rest() -> None:
    # Only ids dropped them before (issue 14); the rest of the link stays byte for byte.
    assert strip_tracking("https://x.org/a?TRACK=RSS") == "https://x.org/a"
    assert (
        strip_tracking("https://x.org/A?q=a%20b&utm_source=rss&af=R#s")
        == "https://x.org/A?q=a%20b#s"
    )
    assert strip_tracking("https://x.org/a?id=7") == "https://x.org/a?id=7"
    paper = normalize_entry(
        Entry(source="s", title="A title", abstract="", link="https://x.org/a?TRACK=RSS&id=7")
    )
    assert (paper.paper_id, paper.url) == ("url:https://x.org/a?id=7", "https://x.org/a?id=7")


def test_hold_back_incomplete_keeps_back_a_cut_off_last_entry() -> None:
    path = Path(__file__).parent / "data" / "issue14"
    content = (path / "arxiv_atom_cs.LG_2026-04-27_from-rss2_truncated.xml").read_bytes()
    entries = parse_arxiv_rss(content, "cs.LG atom")
    assert len(entries) == 2
    kept, held = hold_back_incomplete(entries)
    assert [e.raw_id for e in kept] == ["2604.21952v1"]
    assert [e.raw_id for e in held] == ["oai:arXiv.org:2604.21953v1"]


def test_hold_back_incomplete_keeps_a_table_of_contents_feed() -> None:
    entries = [Entry(source="toc", title=f"Paper {i}", abstract="") for i in range(3)]
    assert hold_back_incomplete(entries) == (entries, [])


def test_normalize_entry_cleans_names_and_titles_from_every_source() -> None:
    entry = Entry(
        source="s",
        title="\ufeffGraph learning for S{\\o}gaard's corpus",
        abstract="",
        raw_id="2604.21952",
        authors=('J\\"org Deigm\\"oller and Suping Wang', "Forney, G. David, Jr."),
    )
    paper = normalize_entry(entry)
    assert paper.title == "Graph learning for Søgaard's corpus"
    assert paper.authors == ("Jörg Deigmöller", "Suping Wang", "G. David Forney Jr.")
