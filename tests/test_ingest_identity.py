"""Identity and fidelity across sources (issue 14): no two distinct items merged, the same store
whatever the order in which sources arrive, and the fields each recorded payload should give.
Real recorded feeds, ingested through run_ingest (OAI pages as the backfill stores them) into
SQLite."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path

from conftest import FakeEmbedder, make_settings

from pipeline import run
from pipeline.ingest.sources.oai import parse_arxiv_oai
from pipeline.run.ingest import store_entries
from pipeline.store import Store

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 5, 4, 6, tzinfo=UTC)
FIXTURES = [
    ("rss", DATA / "issue14" / "pensoft_zookeys_rss0.91_2021-12-21_items1and8.xml"),
    ("rss", DATA / "issue14" / "schweizerbart_nova-hedwigia_rss2_2021-12-21_item1.xml"),
    ("rss", DATA / "feeds" / "pubmed_search_rss2_new-species_2021-12-21.xml"),
    ("rss", DATA / "feeds" / "journal_tandf_zoology-middle-east_rss1.0_rdf_2021-12-21.xml"),
    ("rss", DATA / "feeds" / "journal_wiley_taxon_toc_rss2_prism_2021-12-21.xml"),
    ("arxiv-rss", DATA / "feeds" / "arxiv_rss2_cs.LG_2026-04-27_trimmed3items.xml"),
    ("arxiv-rss", DATA / "issue14" / "arxiv_atom_cs.LG_2026-04-27_from-rss2_truncated.xml"),
    ("rss", DATA / "feeds" / "takara_tldr_daily_ai_papers_rss_2026-04-30.xml"),
    (
        "arxiv-api",
        DATA / "feeds" / "arxiv_api_atom_newformat_cat-csLG-OR-csAI_2026-04-30_20entries.xml",
    ),
    ("rss", DATA / "feeds" / "hf_daily_papers_community_rss_2026-04-30.xml"),
    ("hf-daily", DATA / "feeds" / "hf_daily_papers_api_2026-06-12_30entries.json"),
    ("rss", DATA / "feeds" / "journal_cambridge_canadian-entomologist_rss1.0_rdf_2021-12-21.xml"),
    ("rss", DATA / "feeds" / "biorxiv_rss1.0_rdf_genomics_2023-12-16_1item.xml"),
    ("rss", DATA / "issue14" / "microbiologyresearch_ijsem_rss2_2021-12-21_item2.xml"),
    ("oai", DATA / "issue14" / "arxiv_oai_ListRecords_set-cs_page88_suffix_records.xml"),
    ("oai", DATA / "issue14" / "arxiv_oai_ListRecords_set-cs_page88_tex_title_records.xml"),
    ("oai", DATA / "issue14" / "arxiv_oai_ListRecords_set-cs_2016-03-01_tex_author_record.xml"),
]


def _ingest(tmp_path: Path, sources: list[tuple[str, Path]], store: Store) -> None:
    """Feeds through run_ingest, in order; an OAI-PMH page ("oai") the way the OAI backfill
    stores it (store_entries for the arXiv source), since OAI is a backfill path, not a kind."""
    for is_oai, group in groupby(sources, key=lambda source: source[0] == "oai"):
        kinds = [("arxiv-api" if is_oai else kind, path) for kind, path in group]
        sources = [
            {"name": path.stem[:40].lower(), "kind": kind, "url": path.as_uri()}
            for kind, path in kinds
        ]
        settings = make_settings(tmp_path, sources=sources)
        if not is_oai:
            run.run_ingest(settings, store, FakeEmbedder(), now=NOW)
            continue
        for source, (_, path) in zip(settings.sources, kinds, strict=True):
            entries, _token = parse_arxiv_oai(path.read_bytes(), source.name)
            store_entries(settings, store, source, entries, now=NOW, record_days=False)


def _snapshot(store: Store) -> dict[str, tuple[object, ...]]:
    first, last = store.get_date_range() or (NOW.date(), NOW.date())
    return {
        p.paper_id: (p.title, p.abstract, p.authors, p.doi, p.url, p.published, p.announced)
        for p in store.list_papers_between(first, last)
    }


def test_same_title_with_different_identifiers_stays_two_papers(tmp_path: Path) -> None:
    # Two real Pensoft items made to share a title: their DOIs still say two papers.
    feed = FIXTURES[0][1].read_text(encoding="utf-8")
    same = feed.replace(
        "Morphological investigation of genital organs and first insights into the phylogeny of "
        "the genus Siciliaria Vest, 1867 as a basis for a taxonomic revision (Mollusca, "
        "Gastropoda, Clausiliidae)",
        "Checklist and keys to Deltocephalinae leafhoppers (Hemiptera, Cicadellidae) from Pakistan",
    )
    one, other = tmp_path / "one.xml", tmp_path / "other.xml"
    one.write_text(same, encoding="utf-8")
    other.write_text(same.replace("zookeys.1078.47616", "zookeys.1078.99999"), encoding="utf-8")
    with Store.open(":memory:") as store:
        _ingest(tmp_path, [("rss", one)], store)
        _ingest(tmp_path, [("rss", other)], store)
        ids = set(_snapshot(store))
    assert ids == {
        "doi:10.3897/zookeys.1078.47616",
        "doi:10.3897/zookeys.1077.67081",
        "doi:10.3897/zookeys.1078.99999",
    }


def test_every_fixture_twice_in_both_orders_gives_the_same_store(tmp_path: Path) -> None:
    # Every payload recorded for this issue takes part, so a new one cannot be left out.
    assert set((DATA / "issue14").iterdir()) <= {path for _, path in FIXTURES}
    snapshots = []
    for order in (FIXTURES, FIXTURES[::-1]):
        with Store.open(":memory:") as store:
            _ingest(tmp_path, order, store)
            _ingest(tmp_path, order, store)
            snapshots.append(_snapshot(store))
    forward, backward = snapshots
    assert forward == backward
    assert "arxiv:2604.21953" in forward  # from the RSS feed; the cut-off Atom entry held back
    assert forward["arxiv:2604.21952"][6] is not None  # announced
    assert {"arxiv:1511.06938", "arxiv:1511.07949", "arxiv:0707.2506"} <= set(forward)  # OAI
    assert len(forward) >= 100


def _aggregator_copy(tmp_path: Path) -> Path:
    """The real cs.LG feed as an aggregator re-lists it: ids claiming v99, an earlier day and its
    own titles (issue 14, item 14)."""
    feed = FIXTURES[5][1].read_text(encoding="utf-8")
    for arxiv_id in ("2604.21952", "2604.21953", "2604.21956"):
        feed = feed.replace(f"<link>https://arxiv.org/abs/{arxiv_id}</link>", "")
        feed = feed.replace(f"arXiv:{arxiv_id}v1", f"arXiv:{arxiv_id}v99")
        feed = feed.replace(f"oai:arXiv.org:{arxiv_id}v1", f"https://arxiv.org/abs/{arxiv_id}v99")
    feed = feed.replace("<title>", "<title>Rewritten: ").replace("27 Apr 2026", "20 Apr 2026")
    path = tmp_path / "aggregator.xml"
    path.write_text(feed, encoding="utf-8")
    return path


def test_an_aggregator_never_rewrites_what_arxiv_said(tmp_path: Path) -> None:
    arxiv = [FIXTURES[5]]
    aggregator = [("rss", _aggregator_copy(tmp_path))]
    snapshots = []
    for order in ([arxiv, aggregator], [aggregator, arxiv], [arxiv]):
        with Store.open(":memory:") as store:
            for sources in order:
                _ingest(tmp_path, sources, store)
            snapshots.append(_snapshot(store))
            versions = {p.paper_id: p.version for p in store.list_papers(list(snapshots[-1]))}
        assert versions == dict.fromkeys(snapshots[-1], 1)
    arxiv_then_aggregator, aggregator_then_arxiv, arxiv_alone = snapshots
    assert arxiv_then_aggregator == arxiv_alone
    assert aggregator_then_arxiv == arxiv_alone
    assert {s[6] for s in arxiv_alone.values()} == {datetime(2026, 4, 27).date()}


def test_the_arxiv_id_wins_whichever_source_arrives_first(tmp_path: Path) -> None:
    # Takara's feed links to its own site (url: ids); the API names the same papers by arXiv id
    # (issue 14, item 6: 2604.26919 was stored as url: when Takara came first).
    takara = [("rss", DATA / "feeds" / "takara_tldr_daily_ai_papers_rss_2026-04-30.xml")]
    name = "arxiv_api_atom_newformat_cat-csLG-OR-csAI_2026-04-30_20entries.xml"
    api = [("arxiv-api", DATA / "feeds" / name)]
    snapshots = []
    for order in ([takara, api], [api, takara]):
        with Store.open(":memory:") as store:
            for sources in order:
                _ingest(tmp_path, sources, store)
                _ingest(tmp_path, sources, store)
            snapshots.append(_snapshot(store))
            paper = store.get_paper("arxiv:2604.26919")
            assert paper is not None and len(paper.sources) == 2
    takara_first, api_first = snapshots
    assert "url:https://tldr.takara.ai/p/2604.26919" not in takara_first
    assert takara_first == api_first


def test_two_arxiv_papers_sharing_a_doi_stay_two(tmp_path: Path) -> None:
    # A DOI match never merges two different arXiv ids (issue 14: distinct items never merge).
    doi = "</dc:creator>\n      <arxiv:DOI>10.1145/3746027.3755001</arxiv:DOI>"
    paths = []
    for name in (
        "arxiv_rss2_cs.LG_2026-04-27_trimmed3items",
        "arxiv_rss2_cs.AI_2026-04-27_trimmed3items",
    ):
        feed = (DATA / "feeds" / f"{name}.xml").read_text(encoding="utf-8")
        paths.append(tmp_path / f"feed-{len(paths)}.xml")
        paths[-1].write_text(feed.replace("</dc:creator>", doi, 1), encoding="utf-8")
    with Store.open(":memory:") as store:
        _ingest(tmp_path, [("arxiv-rss", paths[0])], store)
        _ingest(tmp_path, [("arxiv-rss", paths[1])], store)
        ids = set(_snapshot(store))
    assert len(ids) == 6 and all(i.startswith("arxiv:") for i in ids)


def test_an_arxiv_paper_known_only_from_an_aggregator_keeps_its_categories(tmp_path: Path) -> None:
    # The real cs.LG feed re-listed by an aggregator (kind rss): the categories it lists stand in
    # until arXiv's own record arrives, then arXiv's win whatever the order (issue 14).
    relisted = tmp_path / "relisted.xml"
    feed = FIXTURES[5][1].read_text(encoding="utf-8")
    relisted.write_text(feed.replace("<category>", "<category>agg."), encoding="utf-8")
    with Store.open(":memory:") as store:
        _ingest(tmp_path, [FIXTURES[5]], store)
        arxiv_alone = {p.paper_id: p.categories for p in store.list_papers(_ids(store))}
    assert all(arxiv_alone.values())
    aggregator = ("rss", relisted)
    for order in ([aggregator], [aggregator, FIXTURES[5]], [FIXTURES[5], aggregator]):
        with Store.open(":memory:") as store:
            for source in order:
                _ingest(tmp_path, [source], store)
            stored = {p.paper_id: p.categories for p in store.list_papers(_ids(store))}
        assert set(stored) == set(arxiv_alone)
        if len(order) == 1:
            assert all(c and all(x.startswith("agg.") for x in c) for c in stored.values())
        else:
            assert stored == arxiv_alone


def test_links_shown_to_readers_carry_no_tracking_parameters(tmp_path: Path) -> None:
    # The real IJSEM feed links with ?TRACK=RSS; only the id dropped it before (issue 14, item 13).
    with Store.open(":memory:") as store:
        _ingest(tmp_path, [FIXTURES[13]], store)
        paper = store.get_paper("doi:10.1099/ijsem.0.005100")
    assert paper is not None
    assert paper.url == (
        "https://www.microbiologyresearch.org/content/journal/ijsem/10.1099/ijsem.0.005100"
    )


def _ids(store: Store) -> list[str]:
    return list(_snapshot(store))


def test_recorded_tex_and_non_ascii_names_are_stored_as_unicode(tmp_path: Path) -> None:
    # Real arXiv OAI records with TeX in titles and a name ("Fran\\ccois", an accent glued to its
    # letter), and a real OUP RSS <author> with non-ASCII names (tests/data/SOURCES.md).
    oup = DATA / "feeds" / "journal_oup_zool-j-linnean-soc_rss2_silverchair_2021-12-21.xml"
    with Store.open(":memory:") as store:
        _ingest(tmp_path, [*FIXTURES[-2:], ("rss", oup)], store)
        stored = _snapshot(store)
    assert stored["arxiv:1511.05875"][:1] + stored["arxiv:1511.05875"][2:3] == (
        "On Mäkelä's Conjectures: deciding if a morphic word avoids long abelian-powers",
        ("Michaël Rao", "Matthieu Rosenfeld"),
    )
    assert stored["arxiv:1511.06436"][0] == "On the robust hardness of Gröbner basis computation"
    assert stored["arxiv:1511.07949"][0] == (
        "Rényi Information Complexity and an Information Theoretic Characterization of the "
        "Partition Bound"
    )
    assert stored["arxiv:0707.2506"][2] == ("Raghav Aras", "Alain Dutech", "François Charpillet")
    assert stored["doi:10.1093/zoolinnean/zlab032"][2] == (
        "Jażdżewska A",
        "Brandt A",
        "Martínez Arbizu P",
    )


def test_a_paper_reissued_under_another_link_form_is_one_paper_with_the_newer_version(
    tmp_path: Path,
) -> None:
    # Round 10: "arxiv.org/abs/ID" and "www.arxiv.org/pdf/ID" (no scheme) were no arXiv id, so
    # the revised version was stored again under title: (its title had changed) and the week's
    # digest listed the paper twice. Every link form of one id is one paper, v2's text kept.
    first, second = tmp_path / "v1.jsonl", tmp_path / "v2.jsonl"
    forms = [
        ("https://arxiv.org/abs/2506.01234v1", "arxiv.org/abs/2506.01234v2"),
        ("https://arxiv.org/pdf/2506.05555v1", "www.arxiv.org/pdf/2506.05555v2.pdf"),
        ("http://export.arxiv.org/abs/2506.07777v1", "https://arxiv.org/abs/2506.07777v2"),
    ]
    for path, version in ((first, 0), (second, 1)):
        path.write_text(
            "".join(
                json.dumps(
                    {
                        "title": f"Paper {n} on sparse attention, version {version + 1}",
                        "abstract": f"Version {version + 1} of paper {n}.",
                        "url": links[version],
                        "announced": f"2025-06-1{version}",
                    }
                )
                + "\n"
                for n, links in enumerate(forms)
            ),
            encoding="utf-8",
        )
    settings = make_settings(
        tmp_path,
        digest={"week": "2025-W24"},
        sources=[{"name": f.stem, "kind": "file", "url": str(f)} for f in (first, second)],
    )
    with run.open_store(settings) as store:
        run.run_ingest(settings, store, FakeEmbedder(), now=NOW)
        built = run.run_build(settings, store, FakeEmbedder(), now=NOW)
        papers = {p.paper_id: p for p in store.list_papers(store.list_paper_ids())}
    assert sorted(papers) == ["arxiv:2506.01234", "arxiv:2506.05555", "arxiv:2506.07777"]
    assert {(p.version, p.title.rsplit(" ", 1)[-1]) for p in papers.values()} == {(2, "2")}
    assert {p.sources for p in papers.values()} == {("v1", "v2")}
    assert built.n_papers_in_digest == 3


def test_c_plus_plus_and_c_titles_are_two_papers_each_with_its_own_text(tmp_path: Path) -> None:
    # Round 10: normalize_title read "C++" as "c": two papers with no id, one on C++ templates
    # and one on C, had one title: id and were stored as one, the second abstract lost.
    titles = {
        "C++ templates for generic numerical programming": "We study C++ templates.",
        "C templates for generic numerical programming": "We study macros in C.",
        "F# type providers for typed data access": "Providers in F#.",
        "F type providers for typed data access": "Providers in F.",
    }
    source = tmp_path / "papers.jsonl"
    source.write_text(
        "".join(
            json.dumps({"title": t, "abstract": a, "published": "2025-06-10"}) + "\n"
            for t, a in titles.items()
        ),
        encoding="utf-8",
    )
    settings = make_settings(tmp_path, sources=[{"name": "p", "kind": "file", "url": str(source)}])
    with run.open_store(settings) as store:
        run.run_ingest(settings, store, FakeEmbedder(), now=NOW)
        run.run_ingest(settings, store, FakeEmbedder(), now=NOW)  # seen again: still four
        stored = store.list_papers(store.list_paper_ids())
    assert {p.title: p.abstract for p in stored} == titles


def test_a_paper_stored_under_an_earlier_title_key_still_merges_by_title(tmp_path: Path) -> None:
    # A store written before "c++" kept its pluses holds "c templates …" as this paper's key;
    # an aggregator's record of it must still join it, and a "C templates" paper must not.
    title = "C++ templates for generic numerical programming"
    arxiv = {"title": title, "abstract": "C++.", "id": "2506.01234", "published": "2025-06-10"}
    aggregator = {"title": title, "abstract": "C++.", "url": "https://agg.example/p/1"}
    other = {"title": title.replace("C++", "C"), "abstract": "C.", "url": "https://agg.example/2"}
    first = tmp_path / "arxiv.jsonl"
    first.write_text(json.dumps(arxiv) + "\n", encoding="utf-8")
    settings = make_settings(tmp_path, sources=[{"name": "a", "kind": "file", "url": str(first)}])
    with run.open_store(settings) as store:
        run.run_ingest(settings, store, FakeEmbedder(), now=NOW)
    with sqlite3.connect(settings.database_path) as conn:  # the key an earlier version wrote
        conn.execute(
            "UPDATE papers SET title_key = 'c templates for generic numerical programming'"
        )
    second = tmp_path / "aggregator.jsonl"
    second.write_text(json.dumps(aggregator) + "\n" + json.dumps(other) + "\n", encoding="utf-8")
    settings = make_settings(tmp_path, sources=[{"name": "g", "kind": "file", "url": str(second)}])
    with run.open_store(settings) as store:
        run.run_ingest(settings, store, FakeEmbedder(), now=NOW)
        stored = {p.paper_id: p for p in store.list_papers(store.list_paper_ids())}
    assert sorted(stored) == ["arxiv:2506.01234", "url:https://agg.example/2"]
    assert stored["arxiv:2506.01234"].sources == ("a", "g")
