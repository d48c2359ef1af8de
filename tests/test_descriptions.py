"""Publisher metadata split out of descriptions (issue 14, item 9), on real recorded feeds."""

from __future__ import annotations

from pathlib import Path

from pipeline.ingest.normalize import normalize_entry
from pipeline.ingest.sources.descriptions import unpack_description
from pipeline.ingest.sources.rss import parse_rss

DATA = Path(__file__).parent / "data"


def test_pensoft_description_gives_doi_authors_and_a_clean_abstract() -> None:
    content = (DATA / "issue14" / "pensoft_zookeys_rss0.91_2021-12-21_items1and8.xml").read_bytes()
    first, empty = parse_rss(content, "zookeys")
    assert first.doi == "10.3897/zookeys.1078.47616"
    assert first.authors == (
        "Hassan Naveed",
        "Bismillah Shah",
        "Bilal Saeed Khan",
        "Chengquan Cao",
        "Mick Webb",
        "Yalin Zhang",
    )
    assert first.abstract.startswith("Keys to all levels of the subfamily Deltocephalinae")
    assert first.abstract.endswith("Macrosteles indrina (Pruthi, 1930), syn. nov.")
    assert "HTML" not in first.abstract and "ZooKeys 1078" not in first.abstract
    assert empty.abstract == ""  # "Abstract: " with nothing after it
    assert empty.authors == ("Willy De Mattia", "Susanne Reier", "Elisabeth Haring")
    assert normalize_entry(first).paper_id == "doi:10.3897/zookeys.1078.47616"


def test_schweizerbart_description_gives_last_first_authors_and_the_abstract() -> None:
    path = DATA / "issue14" / "schweizerbart_nova-hedwigia_rss2_2021-12-21_item1.xml"
    [entry] = parse_rss(path.read_bytes(), "nova-hedwigia")
    assert entry.abstract.startswith("Genus Alisphaera including 9 species and was not often")
    assert entry.abstract.endswith("the distal flange usually has a spine.")
    assert "Nova Hedwigia" not in entry.abstract
    assert normalize_entry(entry).authors == ("Hai Doan-Nhu", "Lam Nguyen-Ngoc")


def test_pubmed_description_drops_citation_label_and_pmid_line() -> None:
    path = DATA / "feeds" / "pubmed_search_rss2_new-species_2021-12-21.xml"
    first = parse_rss(path.read_bytes(), "pubmed")[0]
    assert first.abstract.startswith("A new species of Gyrodactylus was described on the body")
    assert first.abstract.endswith("which we named Gyrodactylus banmae.")
    assert "PMID" not in first.abstract and "Parasitol Int." not in first.abstract
    assert first.doi == "10.1016/j.parint.2021.102531"
    entries = parse_rss(path.read_bytes(), "pubmed")
    assert not [e.raw_id for e in entries if "PMID" in e.abstract or "ABSTRACT" in e.abstract]
    # "PMID:34925870 | PMC:PMC8672069 | DOI:10.1098/rsos.211237" is not abstract text either.
    [rsos] = [e for e in entries if e.doi == "10.1098/rsos.211237"]
    assert rsos.abstract.endswith(
        "emerged in palaeotropical western Pangea by late Carboniferous times."
    )


def test_taylor_and_francis_citation_only_description_is_no_abstract() -> None:
    path = DATA / "feeds" / "journal_tandf_zoology-middle-east_rss1.0_rdf_2021-12-21.xml"
    first = parse_rss(path.read_bytes(), "tandf")[0]
    assert first.abstract == ""
    assert first.authors == ("Şafak Bulut", "Gül Olgun Karacan")
    assert normalize_entry(first).paper_id == "doi:10.1080/09397140.2021.1992835"


def test_unpack_description_leaves_a_plain_abstract_alone() -> None:
    lines = ["We study summary statistics.", "Abstract reasoning is hard."]
    unpacked = unpack_description(lines, "A title")
    assert unpacked.abstract == "We study summary statistics. Abstract reasoning is hard."
    assert unpacked.authors is None and unpacked.doi is None
