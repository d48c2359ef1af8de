"""What no discovered theme holds, grouped by the authors' arXiv category (issue 17)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import FakeEmbedder, file_source, make_paper, make_settings, write_config

from pipeline import run
from pipeline.cli import cli
from pipeline.ingest.sources import arxiv
from pipeline.models import Theme, Week
from pipeline.topics.categories import (
    MIN_PAPERS,
    category_names,
    category_theme_id,
    field_of,
    group_by_category,
    name_by_category,
)

DATA = Path(__file__).parent / "data" / "feeds"


def _theme(label: str, *ids: str) -> Theme:
    return Theme(f"theme-{label}", label, ("phrase",), tuple(ids), ids[0])


def _first(ids: list[str] | tuple[str, ...]) -> str:
    return sorted(ids)[0]


def test_a_paper_is_placed_by_its_first_category_that_names_a_field() -> None:
    assert field_of(("cs.DS", "cs.CC")) == "cs.DS"  # the primary category first
    assert field_of(("cs.LG", "cs.AI", "cs.CR")) == "cs.CR"  # catch-alls are skipped
    assert field_of(("eess.SY", "cs.LG")) == "cs.SY"  # an alias joins its category
    assert field_of(("math.IT",)) == "cs.IT"
    # Free-text tags of other feeds and unknown codes are never a field; nor are catch-alls.
    assert field_of(("Machine Learning", "genomics", "cs.XX")) is None
    assert field_of(("cs.LG", "stat.ML", "cs.AI")) is None
    assert field_of(("cs.CY", "cs.HC")) == "cs.HC"  # a listing of many subjects, not a field
    assert field_of(()) is None


def test_every_category_has_a_short_plain_name() -> None:
    names = category_names()
    assert names["cs.DS"] == "Data structures and algorithms"
    assert names["cs.CV"] == "Computer vision"
    assert len(names) > 150
    assert all(1 <= len(n.split()) <= 5 and n[0].isupper() for n in names.values())


def test_a_field_with_enough_papers_becomes_a_theme_named_by_it() -> None:
    cats = {
        "a1": ("cs.DS",),
        "a2": ("cs.DS", "cs.CC"),
        "a3": ("cs.LG", "cs.DS"),
        "a4": ("cs.DS",),
        "b1": ("cs.HC",),
        "b2": ("cs.HC",),
        "b3": ("cs.HC",),
        "c1": ("Machine Learning",),
    }
    themes, other = group_by_category(
        ["c1", "b2", "a3", "b1", "a4", "a1", "b3", "a2"], cats, [], min_size=3, central=_first
    )
    assert [(t.label, t.paper_ids, t.terms) for t in themes] == [
        ("Data structures and algorithms", ("a1", "a2", "a3", "a4"), ("arXiv cs.DS",))
    ]
    assert themes[0].theme_id == category_theme_id("cs.DS")
    assert themes[0].representative == "a1"
    # Three papers of one field are not shown as its theme (MIN_PAPERS): read blind, such
    # groups were coherent a third of the time.
    assert MIN_PAPERS == 4
    assert other == ["c1", "b2", "b1", "b3"]  # in the order given


def test_a_field_a_theme_is_named_by_joins_that_theme_however_few() -> None:
    robots = _theme("Robotics", "r1", "r2", "r3")
    themes, other = group_by_category(
        ["x1", "x2"], {"x1": ("cs.RO",), "x2": ("cs.GR",)}, [robots], min_size=3, central=_first
    )
    assert [t.paper_ids for t in themes] == [("r1", "r2", "r3", "x1")]
    assert themes[0].theme_id == robots.theme_id and themes[0].label == "Robotics"
    assert other == ["x2"]


def test_a_field_joins_a_theme_whose_name_begins_with_it_rather_than_stand_beside_it() -> None:
    # Read by hand: "Networking" (cs.NI) was shown next to "Networking and communications".
    net = _theme("Networking and communications", "n1", "n2", "n3")
    social = _theme("Social networking", "s1", "s2", "s3")
    cats = {f"x{i}": ("cs.NI",) for i in range(4)}
    themes, other = group_by_category(sorted(cats), cats, [social, net], min_size=3, central=_first)
    assert [(t.label, len(t.paper_ids)) for t in themes] == [
        ("Networking and communications", 7),  # and moves up by its new size
        ("Social networking", 3),
    ]
    assert other == []


def test_category_themes_take_their_place_among_the_discovered_ones_by_size() -> None:
    # The digest shows the `max_themes` first in full and the rest one line each, "largest
    # first": a 4-paper field must not follow a 3-paper theme.
    cats = {f"s{i}": ("cs.SE",) for i in range(4)} | {f"d{i}": ("cs.DC",) for i in range(5)}
    found = [
        _theme("Speech and audio", "p1", "p2", "p3", "p4", "p5"),
        _theme("Hashing", "h1", "h2", "h3"),
    ]
    themes, other = group_by_category(sorted(cats), cats, found, min_size=3, central=_first)
    assert [(t.label, len(t.paper_ids)) for t in themes] == [
        ("Speech and audio", 5),
        ("Distributed and parallel computing", 5),
        ("Software engineering", 4),
        ("Hashing", 3),
    ]
    assert other == []


def test_a_theme_that_papers_of_its_field_join_moves_up_by_its_new_size() -> None:
    # Round 13, a 600-paper arXiv week: "Robotics" grew from 8 to 11 papers by cs.RO joins and
    # was still listed after 9-paper themes, so a digest could show a smaller theme in full
    # (`max_themes`) and list the larger one under "More themes".
    cats = {f"r{i}": ("cs.RO",) for i in range(3)}
    found = [
        _theme("Wireless networks", *(f"w{i}" for i in range(10))),
        _theme("Bandits", *(f"b{i}" for i in range(9))),
        _theme("Robotics", *(f"o{i}" for i in range(8))),
    ]
    themes, other = group_by_category(sorted(cats), cats, found, min_size=3, central=_first)
    assert [(t.label, len(t.paper_ids)) for t in themes] == [
        ("Robotics", 11),
        ("Wireless networks", 10),
        ("Bandits", 9),
    ]
    assert other == []


def _week(papers: list, vectors: np.ndarray) -> Week:
    return Week("2025-W25", tuple(papers), vectors, {p.paper_id: i for i, p in enumerate(papers)})


def test_a_build_groups_its_other_papers_by_category_unless_turned_off(tmp_path: Path) -> None:
    # Eight papers in eight directions: no theme forms, all would be "Other".
    vectors = np.eye(8, 16, dtype=np.float32)
    codes = ["cs.CR", "cs.CR", "cs.CR", "cs.DL", "cs.LG", "cs.CR", "cs.DL", "cs.LG"]
    papers = [
        make_paper(f"arxiv:2506.{i:05d}", f"Paper {i} on subject {i}", categories=(code,))
        for i, code in enumerate(codes)
    ]
    week = _week(papers, vectors)
    default = make_settings(tmp_path, themes={"areas": "off"})  # on unless turned off
    themes, other = run.find_week_themes(default, week, range(8), areas=None)
    assert [(t.label, len(t.paper_ids)) for t in themes] == [("Cryptography and security", 4)]
    assert sorted(other) == sorted(
        p.paper_id for p, c in zip(papers, codes, strict=True) if c != "cs.CR"
    )

    off = make_settings(tmp_path, themes={"areas": "off", "arxiv_categories": False})
    themes, other = run.find_week_themes(off, week, range(8), areas=None)
    assert themes == [] and len(other) == 8

    # Papers that carry no arXiv category (Hugging Face pages, most feeds) are never grouped.
    bare = [make_paper(p.paper_id, p.title, categories=()) for p in papers]
    themes, other = run.find_week_themes(default, _week(bare, vectors), range(8), areas=None)
    assert themes == [] and len(other) == 8


def test_categories_read_from_real_arxiv_feed_bytes_name_the_primary_field() -> None:
    # The recorded API response lists arxiv:primary_category first: a signal-processing paper
    # cross-listed to cs.AI is placed in signal processing.
    feed = (
        DATA / "arxiv_api_atom_newformat_cat-csLG-OR-csAI_2026-04-30_20entries.xml"
    ).read_bytes()
    entries = arxiv.parse_arxiv_api(feed, "api")
    assert entries[7].categories[0] == "eess.SP"
    assert field_of(entries[7].categories) == "eess.SP"
    assert field_of(entries[2].categories) == "math.OC"


def test_continuity_keeps_category_names_only_when_the_option_is_on(tmp_path: Path) -> None:
    # With the option off, a phrase name that reads like a category ("Graphics") must stay a
    # phrase name, which continuity re-checks and may replace each week.
    off = make_settings(tmp_path, themes={"areas": "off", "arxiv_categories": False})
    on = make_settings(tmp_path, themes={"areas": "off", "arxiv_categories": True})
    assert "Graphics" not in run.kept_names(off, None)
    assert "Graphics" in run.kept_names(on, None)


def test_a_phrase_named_theme_most_of_whose_papers_share_a_field_takes_its_name() -> None:
    # Thirteenth round, read blind: "Code" over papers on linear codes (cs.IT) read better as
    # "Information theory".
    cats = {"c1": ("cs.IT", "math.IT"), "c2": ("cs.IT",), "c3": ("cs.LG", "cs.IT"),
            "c4": ("cs.DS",), "s1": ("cs.SD",), "s2": ("eess.AS",)}  # fmt: skip
    code = _theme("Code", "c1", "c2", "c3", "c4")
    speech = _theme("Speech and audio", "s1", "s2")  # an area's name: kept
    named = name_by_category([code, speech], cats, fixed={"Speech and audio"})
    assert [t.label for t in named] == ["Information theory", "Speech and audio"]
    assert named[0].theme_id == code.theme_id and named[0].terms == code.terms
    assert named[0].paper_ids == code.paper_ids
    # Under half in one field, or no categories at all (Hugging Face pages): phrases stay.
    assert name_by_category([code], {"c1": ("cs.IT",), "c4": ("cs.DS",)})[0].label == "Code"
    assert name_by_category([code], {})[0].label == "Code"


def test_a_field_name_another_theme_bears_is_not_taken_and_the_larger_theme_wins() -> None:
    cats = {f"a{i}": ("cs.IT",) for i in range(5)} | {f"b{i}": ("cs.IT",) for i in range(3)}
    big = _theme("Code", *(f"a{i}" for i in range(5)))
    small = _theme("Coding", *(f"b{i}" for i in range(3)))
    assert [t.label for t in name_by_category([small, big], cats)] == [
        "Coding",
        "Information theory",
    ]
    shown = _theme("Information theory", "x1", "x2", "x3")  # a category theme of that field
    assert [t.label for t in name_by_category([big, shown], cats)] == [
        "Code",
        "Information theory",
    ]


def test_a_build_names_a_phrase_theme_by_its_field_only_with_the_option(tmp_path: Path) -> None:
    # Two tight groups of four papers: one all cs.CR, one of uncategorised papers.
    rng = np.random.default_rng(0)
    base = np.eye(2, 16, dtype=np.float32)
    vectors = np.vstack([base[k] + 0.01 * rng.standard_normal((4, 16)) for k in (0, 1)])
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    topic = ["lattice sieve", "protein folding"]
    papers = [
        make_paper(
            f"arxiv:2506.{i:05d}",
            f"On {topic[i // 4]} {i}",
            f"A {topic[i // 4]} study number {i}.",
            categories=("cs.CR",) if i < 4 else (),
        )
        for i in range(8)
    ]
    week = _week(papers, vectors)
    on = make_settings(tmp_path, themes={"areas": "off", "min_theme_size": 3})
    off = make_settings(
        tmp_path, themes={"areas": "off", "min_theme_size": 3, "arxiv_categories": False}
    )
    labels_on = sorted(t.label for t in run.find_week_themes(on, week, range(8), areas=None)[0])
    labels_off = sorted(t.label for t in run.find_week_themes(off, week, range(8), areas=None)[0])
    assert labels_off == ["Lattice sieve", "Protein folding"]
    assert labels_on == ["Cryptography and security", "Protein folding"]


def test_a_built_digest_of_arxiv_papers_groups_other_by_field_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The shipped default, through `digest ingest` and `digest build` on a file of papers as
    # arXiv lists them: twelve papers on twelve subjects (no theme forms), five listed first in
    # cs.CR, four in cs.DS (one behind the cs.LG catch-all), three only in catch-alls.
    subjects = ["lattice", "phishing", "malware", "firewall", "cipher", "heap", "trie",
                "matching", "sorting", "neuron", "reward", "kernel"]  # fmt: skip
    codes = [["cs.CR"]] * 5 + [["cs.DS"]] * 3 + [["cs.LG", "cs.DS"], ["cs.LG"], ["cs.AI"]]
    codes += [["stat.ML"]]
    lines = [
        json.dumps(
            {
                "id": f"2506.{i:05d}",
                "title": f"On {s} {i}",
                "abstract": f"A {s} study.",
                "categories": c,
                "published": "2025-06-17",
            }
        )
        for i, (s, c) in enumerate(zip(subjects, codes, strict=True))
    ]
    (tmp_path / "week.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = write_config(
        tmp_path,
        paths={"data_dir": "data", "digests_dir": "digests"},
        themes={"areas": "off"},
        digest={"week": "2025-W25"},
        sources=[file_source("week", tmp_path / "week.jsonl")],
    )
    monkeypatch.setattr(run, "make_embedder", lambda settings: FakeEmbedder())
    for command in (["ingest"], ["build"]):
        result = CliRunner().invoke(cli, ["--config", str(config), *command])
        assert result.exit_code == 0, result.output
    text = (tmp_path / "digests" / "2025-W25.md").read_text(encoding="utf-8")
    assert "### Cryptography and security\n\n*Papers of arXiv cs.CR · 5 papers" in text
    assert "### Data structures and algorithms\n\n*Papers of arXiv cs.DS · 4 papers" in text
    assert "*3 papers that fit no topic or theme" in text
