"""run.readings: papers' readings kept in the store, read as the texts are, never stale."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_phrases import TEXTS, TITLES

from pipeline import run
from pipeline.models import Paper
from pipeline.run import readings
from pipeline.store import Store
from pipeline.topics import areas, labels, phrases
from tests.conftest import make_settings

SOURCE = Path(__file__).parent / "data/feeds/hf_daily_papers_api_2026-06-12_30entries.json"
NOW = datetime(2026, 6, 15, 8, tzinfo=UTC)
#: Texts the rules treat specially: non-ASCII case (İ, the Kelvin sign, ẞ), URLs, domains,
#: LaTeX, parenthesised acronyms, hyphens, dimensions, nothing at all.
ODD = [
    "İstanbul KELVIN Kelvin straße STRASSE ẞ: LLMs (LLMs) on 3D data, see github.com/a/b",
    "We use $\\alpha$-nets \\cite{x} (https://x.org/y) and Wi-Fi O-RAN ResNets -- 6G - x",
    "",
    ".",
]


def _papers() -> list[Paper]:
    texts = [*TEXTS, *ODD]
    titles = [*TITLES, *ODD]
    return [
        Paper(f"url:p{i}", title, text.removeprefix(f"{title}. "))
        for i, (title, text) in enumerate(zip(titles, texts, strict=True))
    ]


def _kept(papers: list[Paper]) -> phrases.StoredReadings:
    packed = readings.read(papers)
    return phrases.StoredReadings(
        {p.text: r for p, r in zip(papers, packed, strict=True)},
        {p.title: r for p, r in zip(papers, packed, strict=True)},
    )


def test_a_kept_reading_reads_as_the_text_does() -> None:
    papers = _papers()
    texts = [p.text for p in papers]
    groups = [texts[i : i + 7] for i in range(0, len(texts), 7)]
    fresh_words = areas._Words(texts)
    expected = [surface_forms_of(g) for g in groups]
    with phrases.stored_readings(_kept(papers)):
        for paper in papers:
            for text in (paper.text, paper.title):
                assert phrases.phrase_set(text) == frozenset(phrases.phrases(text))
                listed = list(phrases.phrase_list(text))
                assert len(listed) == len(set(listed)) and set(listed) == phrases.phrase_set(text)
        assert [surface_forms_of(g) for g in groups] == expected
        words = areas._Words(texts)
        for row in range(len(texts)):
            assert words.of(row) == fresh_words.of(row)
            assert words._runs[row] == fresh_words._runs[row]


def surface_forms_of(texts: list[str]) -> dict[str, str]:
    with phrases.reading_once():
        return phrases.surface_forms(texts)


def test_names_from_kept_readings_are_the_names_from_the_texts() -> None:
    papers = _papers()
    texts, titles = [p.text for p in papers], [p.title for p in papers]
    groups = [texts[:12], texts[12:30], texts[30:36]]
    group_titles = [titles[:12], titles[12:30], titles[30:36]]
    with phrases.reading_once():
        expected = labels.name_groups(groups, background=texts[36:], titles=group_titles)
    with phrases.stored_readings(_kept(papers)), phrases.reading_once():
        found = labels.name_groups(groups, background=texts[36:], titles=group_titles)
    assert found == expected


def test_a_paper_is_read_once_and_read_again_only_when_its_text_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    papers = _papers()[:20]
    read: list[str] = []
    original = readings.read
    monkeypatch.setattr(
        readings, "read", lambda ps: read.extend(p.paper_id for p in ps) or original(ps)
    )
    store = Store.open(":memory:")
    try:
        first = readings.ensure(store, papers)
        assert sorted(read) == sorted(p.paper_id for p in papers)
        read.clear()
        assert readings.ensure(store, papers) == first and not read  # kept
        changed = dataclasses.replace(papers[3], abstract=papers[3].abstract + " More words.")
        retitled = dataclasses.replace(papers[4], title=papers[4].title + "s")
        again = readings.ensure(store, [*papers[:3], changed, retitled, *papers[5:]])
        assert sorted(read) == [papers[3].paper_id, papers[4].paper_id]
        assert again[changed.paper_id] != first[changed.paper_id]
        assert len(store.get_readings([p.paper_id for p in papers])) == len(papers)  # replaced
    finally:
        store.close()


def test_a_readings_row_goes_with_its_paper_when_the_paper_is_re_keyed(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "p.sqlite3")
    try:
        paper = Paper("url:https://x.org/a", "A title", "An abstract about graphs.")
        store.upsert_papers([paper], "src", NOW, merge=lambda stored, new: new)
        readings.ensure(store, [paper])
        assert store.get_readings([paper.paper_id])
        store.rekey_paper(paper.paper_id, "arxiv:2401.00001")
        assert not store.get_readings([paper.paper_id, "arxiv:2401.00001"])
    finally:
        store.close()


@pytest.mark.parametrize("module", [phrases, areas])
def test_other_reading_rules_give_another_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: object
) -> None:
    before = readings.rules_version.__wrapped__()  # type: ignore[attr-defined]
    assert before is not None
    copy = tmp_path / "rules.py"
    shutil.copy(module.__file__, copy)  # type: ignore[attr-defined]
    monkeypatch.setattr(module, "__file__", str(copy))
    assert readings.rules_version.__wrapped__() == before  # type: ignore[attr-defined]
    copy.write_text(copy.read_text("utf-8") + "\n# a rule changed\n", "utf-8")
    assert readings.rules_version.__wrapped__() not in (before, None)  # type: ignore[attr-defined]
    copy.unlink()
    assert readings.rules_version.__wrapped__() is None  # type: ignore[attr-defined]


def test_a_stamp_is_the_rules_the_title_and_the_text() -> None:
    paper = Paper("url:a", "Graph networks", "Message passing.")
    stamp = readings.stamp(b"v1", paper)
    assert len(stamp) == readings.STAMP_BYTES
    assert readings.stamp(b"v1", dataclasses.replace(paper)) == stamp
    assert readings.stamp(b"v2", paper) != stamp
    assert readings.stamp(b"v1", dataclasses.replace(paper, title="Graph")) != stamp
    # the same text ("Graph networks. Message passing."), split otherwise
    moved = Paper("url:a", "Graph networks. Message", "passing.")
    assert readings.stamp(b"v1", moved) != stamp


def test_builds_take_the_readings_the_ingest_kept_and_write_what_reading_afresh_writes(
    tmp_path: Path, fake_embedder: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    def settings_in(folder: Path) -> object:
        folder.mkdir()
        return make_settings(
            folder,
            paths={"data_dir": "data", "digests_dir": "out"},
            sources=[{"name": "hf", "kind": "hf-daily", "url": str(SOURCE)}],
            digest={"refresh_signals": False},
        )

    read: list[str] = []
    original = readings.read
    monkeypatch.setattr(
        readings, "read", lambda ps: read.extend(p.paper_id for p in ps) or original(ps)
    )
    files = []
    for name, keep in (("kept", True), ("afresh", False)):
        settings = settings_in(tmp_path / name)
        if not keep:  # no version: nothing kept, every text read by the naming itself
            monkeypatch.setattr(readings, "rules_version", lambda: None)
        with run.open_store(settings) as store:  # type: ignore[arg-type]
            run.run_ingest(settings, store, fake_embedder, now=NOW)  # type: ignore[arg-type]
            if keep:
                n_papers = len(read)
                assert n_papers and len(store.get_readings(read)) == n_papers
                read.clear()
            run.run_build(settings, store, fake_embedder, now=NOW, week="2026-W24")  # type: ignore[arg-type]
            assert not read  # the ingest read them
        out = tmp_path / name / "out"
        mine = {"feed.xml", run.DIGESTS_OWNER}  # the feed's ids, the config writing the folder
        files.append({p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.name not in mine})
    assert files[0] == files[1]
