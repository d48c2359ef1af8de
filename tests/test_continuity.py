"""Discovered themes across weeks, built end to end: ingest → build W1, W2, W3 on one store.

Three research areas with their own vocabularies (the fake embedder maps shared words to close
vectors, so each area is one theme); their sizes change week by week. What a reader of three
consecutive digests must see: a recurring theme keeps its id and label, a theme seen for the first
time is marked new, and counts versus the earlier weeks give growing / shrinking and a sparkline.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from conftest import FakeEmbedder, file_source, make_paper, make_settings

from pipeline import run
from pipeline.config import Settings
from pipeline.models import Theme, Week
from pipeline.run.weeks import earlier_weeks
from pipeline.store import Store
from pipeline.topics.continuity import continue_themes

VOCABULARY = {
    "protein": "protein folding structure prediction residues backbone contact maps amino acid "
    "sequences tertiary structure",
    "traffic": "traffic flow forecasting road sensors congestion vehicles urban mobility "
    "spatiotemporal graphs",
    "compiler": "compiler optimization loop tiling intermediate representation code generation "
    "register allocation kernels",
}
#: Papers per area in weeks W23, W24, W25 (Mondays 2025-06-02, -09, -16).
SIZES = {
    "protein": (6, 6, 12),
    "traffic": (8, 8, 3),
    "compiler": (0, 6, 6),
}
WEEKS = ("2025-W23", "2025-W24", "2025-W25")
MONDAYS = (date(2025, 6, 2), date(2025, 6, 9), date(2025, 6, 16))

TOPIC = {
    "slug": "astronomy",
    "name": "Radio astronomy",
    "description": "Radio telescopes and pulsar timing.",
    "keywords": ["pulsar timing", "radio telescope"],
}


def _papers() -> list[dict[str, str]]:
    lines = []
    n = 0
    for area, sizes in SIZES.items():
        words = VOCABULARY[area].split()
        for week, (monday, size) in enumerate(zip(MONDAYS, sizes, strict=True)):
            for i in range(size):
                n += 1
                # Each paper drops a different pair of the area's words: alike, never identical.
                # Never one of the first four, which its title names (names are taken from the
                # titles' subject first, and a carried name must fit the next week's papers).
                dropped = (4 + i % (len(words) - 4), len(words) - 1 - week)
                kept = [w for j, w in enumerate(words) if j not in dropped]
                created = datetime.combine(monday + timedelta(days=i % 5), datetime.min.time())
                lines.append(
                    {
                        "created": created.replace(hour=12).strftime("%Y-%m-%d %H:%M:%S"),
                        "title": f"{area.title()} study {week}-{i}: {' '.join(kept[:4])}",
                        "abstract": f"We study {' '.join(kept)}. Paper {n} of week {week}.",
                        "url": f"http://arxiv.org/abs/2506.{n:05d}v1",
                    }
                )
    return lines


def _write_papers(root: Path) -> Path:
    papers = root / "papers.jsonl"
    papers.write_text("\n".join(json.dumps(p) for p in _papers()) + "\n", encoding="utf-8")
    return papers


def _settings(root: Path) -> Settings:
    """Three areas' papers as one file source, the astronomy topic, small themes allowed."""
    return make_settings(
        root,
        themes={"min_theme_size": 3, "max_themes": 6},
        sources=[file_source("papers", _write_papers(root))],
        topics=[TOPIC],
    )


def _build_weeks(settings: Settings, store: Store, embedder: FakeEmbedder) -> None:
    """Ingest once, then build W23, W24, W25 in order, as a weekly service would."""
    now = datetime(2025, 6, 23, 8, tzinfo=UTC)
    run.run_ingest(settings, store, embedder, now=now)
    for week in WEEKS:
        run.run_build(settings, store, embedder, now=now, week=week)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    settings = _settings(tmp_path_factory.mktemp("continuity"))
    embedder = FakeEmbedder()
    records = {}
    with run.open_store(settings) as store:
        _build_weeks(settings, store, embedder)
        for week in WEEKS:
            sidecar = Path(settings.paths.digests_dir) / f"{week}.json"
            records[week] = {
                "json": json.loads(sidecar.read_text(encoding="utf-8")),
                "markdown": sidecar.with_suffix(".md").read_text(encoding="utf-8"),
            }
    return records


def _themes_by_area(record: dict) -> dict[str, dict]:
    """Each theme section of a digest, keyed by the area all its papers come from."""
    found = {}
    for section in record["json"]["sections"]:
        if section["kind"] != "theme":
            continue
        areas = {p["title"].split()[0].lower() for p in section["papers"]}
        assert len(areas) == 1, f"theme {section['title']!r} mixes {areas}"
        found[areas.pop()] = section
    return found


def test_every_area_is_one_theme_each_week(built: dict) -> None:
    for week, sizes in zip(WEEKS, zip(*SIZES.values(), strict=True), strict=True):
        themes = _themes_by_area(built[week])
        expected = {area for area, n in zip(SIZES, sizes, strict=True) if n}
        assert set(themes) == expected, week
        for area, n in zip(SIZES, sizes, strict=True):
            if n:
                assert themes[area]["n_papers"] == n, (week, area)


def test_a_recurring_theme_keeps_its_id_and_label(built: dict) -> None:
    first, second, third = (_themes_by_area(built[w]) for w in WEEKS)
    for area in ("protein", "traffic"):
        assert first[area]["key"] == second[area]["key"] == third[area]["key"], area
    assert first["traffic"]["title"] == second["traffic"]["title"] == third["traffic"]["title"]
    assert first["protein"]["title"] == second["protein"]["title"]
    # Grown to 12 papers, the protein theme takes the research area nearest it (an area's name
    # is chosen afresh each week, areas.name_by_nearest); its id and trend carry on.
    assert third["protein"]["title"] == "Protein structure prediction"
    assert second["compiler"]["key"] == third["compiler"]["key"]
    keys = {t["key"] for t in third.values()}
    assert len(keys) == 3


def test_history_counts_the_earlier_weeks(built: dict) -> None:
    third = _themes_by_area(built["2025-W25"])
    # Four earlier weeks (W21–W24) then this week; W21 and W22 had no papers.
    assert third["protein"]["history"] == [0, 0, 6, 6, 12]
    assert third["traffic"]["history"] == [0, 0, 8, 8, 3]
    assert third["compiler"]["history"] == [0, 0, 0, 6, 6]
    assert _themes_by_area(built["2025-W23"])["protein"]["history"] == []  # the first digest


def test_markdown_marks_new_growing_and_shrinking_with_sparklines(built: dict) -> None:
    second, third = built["2025-W24"]["markdown"], built["2025-W25"]["markdown"]
    compiler = _themes_by_area(built["2025-W24"])["compiler"]["title"]
    assert _mark(second, compiler) == "new"
    themes = _themes_by_area(built["2025-W25"])
    assert _mark(third, themes["protein"]["title"]) == "▅▅█ ↑"
    assert _mark(third, themes["traffic"]["title"]) == "██▄ ↓"
    assert _mark(third, themes["compiler"]["title"]) == "██ →"


def _mark(markdown: str, title: str) -> str:
    """The trend cell of a theme's row in the digest's contents table."""
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("↳ [") and title in cells[0]:
            return cells[2]
    raise AssertionError(f"no contents row for {title!r}")


def _continue(
    store: Store, theme: Theme, texts: dict[str, str], week: str, areas: tuple[str, ...] = ()
) -> Theme:
    """Run one week's continuity step for one theme; every paper on the same unit vector;
    `areas`: the research areas themes may be named by."""
    direction = np.zeros(8, dtype=np.float32)
    direction[0] = 1.0
    papers = tuple(make_paper(pid, text) for pid, text in texts.items())
    loaded = Week(
        week,
        papers,
        np.tile(direction, (len(texts), 1)),
        {p.paper_id: i for i, p in enumerate(papers)},
    )
    before = earlier_weeks(week, 4)
    continued = continue_themes(
        [theme],
        store.list_week_sections(before),
        week=loaded,
        assignments=[],
        earlier_weeks=before,
        area_names=areas,
    )
    store.save_week_sections(week, continued.sections, datetime(2025, 6, 23, tzinfo=UTC))
    return continued.themes[0]


def _theme(theme_id: str, label: str, ids: list[str]) -> Theme:
    return Theme(theme_id, label, tuple(label.split(", ")), tuple(ids), ids[0])


def test_a_close_theme_about_something_else_is_not_continued() -> None:
    """Alike centroids (every LLM-heavy cluster is) are not enough: the label must still fit."""
    first = {f"a{i}": "Pulsar timing with a radio telescope." for i in range(4)}
    same = [f"b{i}" for i in range(4)]
    other = [f"c{i}" for i in range(4)]
    texts = {pid: "Pulsar timing arrays, again." for pid in same}
    texts |= {pid: "Protein folding at scale." for pid in other}
    with Store.open(":memory:") as store:
        old = _theme("theme-old", "pulsar timing, radio telescope", list(first))
        _continue(store, old, first, "2025-W23")
        kept = _continue(store, _theme("theme-b", "pulsar timing array", same), texts, "2025-W24")
        # Continued; no paper this week mentions a radio telescope, so the name is this week's.
        assert (kept.theme_id, kept.label) == ("theme-old", "pulsar timing array")
        kept = _continue(store, _theme("theme-c", "protein folding", other), texts, "2025-W25")
        assert (kept.theme_id, kept.label) == ("theme-c", "protein folding")


def test_a_continued_theme_whose_name_no_longer_fits_keeps_its_id_and_takes_a_new_name() -> None:
    """A carried-over name is checked every week: a phrase none of this week's papers has goes."""
    first = {f"a{i}": "Speech recognition and music generation." for i in range(4)}
    speech = {f"b{i}": "Speech recognition for meetings." for i in range(4)}
    with Store.open(":memory:") as store:
        _continue(
            store,
            _theme("theme-old", "Speech recognition and music generation", list(first)),
            first,
            "2025-W23",
        )
        kept = _continue(
            store, _theme("theme-b", "Speech recognition", list(speech)), speech, "2025-W24"
        )
        assert (kept.theme_id, kept.label) == ("theme-old", "Speech recognition")


def test_a_continued_name_that_fits_only_a_minority_of_the_theme_is_replaced() -> None:
    """Each phrase of the earlier name is still in some papers, but together in only 3 of 8:
    the name no longer fits most of the theme (issue 17), so this week's name is shown."""
    first = {f"a{i}": "Speech recognition and music generation." for i in range(4)}
    texts = {"b0": "Speech recognition for meetings.", "b1": "Speech recognition in cars."}
    texts |= {"b2": "Music generation with codecs."}
    texts |= {f"b{i}": "Neural audio codecs at low bitrate." for i in range(3, 8)}
    with Store.open(":memory:") as store:
        _continue(
            store,
            _theme("theme-old", "Speech recognition and music generation", list(first)),
            first,
            "2025-W23",
        )
        kept = _continue(store, _theme("theme-b", "Audio codec", list(texts)), texts, "2025-W24")
        assert (kept.theme_id, kept.label) == ("theme-old", "Audio codec")


AREAS = ("Storage systems", "Speech recognition")


def _area_theme(theme_id: str, label: str, terms: str, ids: list[str]) -> Theme:
    """A theme named by a research area (topics/areas.py), with its key phrases as terms."""
    return Theme(theme_id, label, tuple(terms.split(", ")), tuple(ids), ids[0])


def test_a_theme_named_by_area_continues_when_the_area_is_chosen_again() -> None:
    """An area's name is rarely in the texts ("Storage systems" over papers on SSDs and LSM
    trees): a recurring theme keeps its id when this week's naming picks the same area."""
    first = {f"a{i}": "Log-structured merge trees on SSDs." for i in range(4)}
    again = {f"b{i}": "Key-value stores on persistent memory." for i in range(4)}
    with Store.open(":memory:") as store:
        old = _area_theme("theme-old", "Storage systems", "merge tree, ssd", list(first))
        _continue(store, old, first, "2025-W23", AREAS)
        new = _area_theme("theme-b", "Storage systems", "key-value store", list(again))
        kept = _continue(store, new, again, "2025-W24", AREAS)
        assert (kept.theme_id, kept.label) == ("theme-old", "Storage systems")


def test_an_area_name_is_not_carried_over_to_a_theme_named_otherwise() -> None:
    """Neither way: an earlier area name does not replace this week's phrase name (areas are
    chosen afresh each week), and an earlier phrase name does not replace an area name."""
    first = {f"a{i}": "Log-structured merge trees on SSDs." for i in range(4)}
    again = {f"b{i}": "Log-structured merge trees on SSDs, again." for i in range(4)}
    with Store.open(":memory:") as store:
        old = _area_theme("theme-old", "Storage systems", "merge tree, ssd", list(first))
        _continue(store, old, first, "2025-W23", AREAS)
        # The area was not chosen this week; its key phrases still describe the papers.
        kept = _continue(
            store, _theme("theme-b", "merge tree", list(again)), again, "2025-W24", AREAS
        )
        assert (kept.theme_id, kept.label) == ("theme-old", "merge tree")
        area = _area_theme("theme-c", "Storage systems", "lsm tree", list(again))
        kept = _continue(store, area, again, "2025-W25", AREAS)
        assert (kept.theme_id, kept.label) == ("theme-old", "Storage systems")


def test_topics_compare_names_themes_as_the_built_digest_does(tmp_path: Path) -> None:
    """`digest topics --compare` keys papers by section; a theme carried over from an earlier
    week must carry the name the digest shows, or a rename would read as a move (issue 17)."""
    from pipeline import tune

    settings = _settings(tmp_path)
    embedder = FakeEmbedder()
    with run.open_store(settings) as store:
        _build_weeks(settings, store, embedder)
        for week in WEEKS[1:]:
            sidecar = json.loads(
                (Path(settings.paths.digests_dir) / f"{week}.json").read_text(encoding="utf-8")
            )
            shown = {
                paper["paper_id"]: f"theme: {section['title']}"
                for section in sidecar["sections"]
                if section["kind"] == "theme"
                for paper in section["papers"]
            }
            scored = tune.score_week(settings, store, embedder, week=week)
            predicted = {pid: s for pid, s in scored.sections.items() if s.startswith("theme: ")}
            assert predicted == shown, week


@pytest.mark.parametrize("areas", ["off", "file"])
def test_themes_are_named_by_the_configured_areas(tmp_path: Path, areas: str) -> None:
    """`[themes] areas`: a file of the user's own area names names the themes it fits; "off"
    leaves every theme its phrases."""
    vocabulary = tmp_path / "areas.txt"
    vocabulary.write_text(
        "# a protein lab's areas\nProtein folding\nCompiler optimization\nGalaxy formation\n",
        encoding="utf-8",
    )
    settings = make_settings(
        tmp_path,
        themes={
            "min_theme_size": 3,
            "max_themes": 6,
            "areas": str(vocabulary) if areas == "file" else "off",
        },
        sources=[file_source("papers", _write_papers(tmp_path))],
        topics=[TOPIC],
    )
    embedder = FakeEmbedder()
    with run.open_store(settings) as store:
        _build_weeks(settings, store, embedder)
    sidecar = Path(settings.paths.digests_dir) / "2025-W24.json"
    themes = _themes_by_area({"json": json.loads(sidecar.read_text(encoding="utf-8"))})
    names = {area: section["title"] for area, section in themes.items()}
    if areas == "file":
        assert names["protein"] == "Protein folding"
        assert names["compiler"] == "Compiler optimization"
        assert names["traffic"] not in ("Galaxy formation", "Compiler optimization")
    else:
        vocabulary_names = {"Protein folding", "Compiler optimization"}
        assert not vocabulary_names & set(names.values()), names


class _OtherModel(FakeEmbedder):
    """Another model (`[embed] model` changed): its own name and a vector of another size."""

    dim = 128

    @property
    def name(self) -> str:
        return "fake-bow-128"


def test_a_model_of_another_size_builds_the_next_week_without_the_old_centroids(
    tmp_path: Path,
) -> None:
    # Round 14: after `[embed] model` was changed to one with another dimension, the first
    # build of each of the next weeks compared this week's theme centroids with the stored
    # ones of the old model and ended in a numpy traceback (matmul: size 256 is different
    # from 128), until four weeks had passed.
    settings = _settings(tmp_path)
    now = datetime(2025, 6, 23, 8, tzinfo=UTC)
    with run.open_store(settings) as store:
        run.run_ingest(settings, store, FakeEmbedder(), now=now)
        for week in WEEKS[:2]:
            run.run_build(settings, store, FakeEmbedder(), now=now, week=week)
        report = run.run_build(settings, store, _OtherModel(), now=now, week=WEEKS[2])
        assert report.error is None and report.n_papers_in_digest == sum(
            sizes[2] for sizes in SIZES.values()
        )
        themes = [s for s in store.list_week_sections([WEEKS[2]]) if s.kind == "theme"]
    assert themes and all(s.centroid is not None and s.centroid.shape == (128,) for s in themes)
