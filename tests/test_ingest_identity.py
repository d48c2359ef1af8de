"""Identity across sources (issue 14): no two distinct items merged, the same store whatever the
order in which sources arrive. Real recorded feeds, ingested through run_ingest into SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from conftest import FakeEmbedder

from pipeline import run
from pipeline.config import load_settings
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
]


def _ingest(tmp_path: Path, sources: list[tuple[str, Path]], store: Store) -> None:
    blocks = [
        f'[[sources]]\nname = "{path.stem[:40].lower()}"\nkind = "{kind}"\n'
        f'url = "{path.as_uri()}"\n'
        for kind, path in sources
    ]
    config = tmp_path / "config.toml"
    config.write_text("[embed]\nprogress = false\n\n" + "\n".join(blocks), encoding="utf-8")
    run.run_ingest(load_settings(config), store, FakeEmbedder(), now=NOW)


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
    assert len(forward) >= 20
