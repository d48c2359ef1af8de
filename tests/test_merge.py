"""The merge rules in one place: `merge_papers` (records seen together) and `update_paper` (a
stored record seen again later), field by field, and the store applying the rule it is given."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from pipeline.ingest.normalize import merge_papers, update_paper
from pipeline.models import Paper, Signals
from pipeline.store import Store

Rule = Callable[[Paper, Paper], Paper]
BOTH = pytest.mark.parametrize("rule", [merge_papers, update_paper], ids=["merge", "update"])
NOW = datetime(2026, 4, 20, 9, 30, tzinfo=UTC)
LATER = NOW + timedelta(days=1)


def paper(paper_id: str = "arxiv:2404.01234", **changes: Any) -> Paper:
    return dataclasses.replace(
        Paper(paper_id, "Sparse attention for long documents", "We study attention."), **changes
    )


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.open(":memory:") as s:
        yield s


# -- upvotes and other signals: the one place the two rules differ ------------------------------


def test_merge_papers_takes_the_larger_upvotes_of_records_seen_together() -> None:
    a, b = paper(signals=Signals(upvotes=10)), paper(signals=Signals(upvotes=5))
    assert merge_papers(a, b).signals.upvotes == 10
    assert merge_papers(b, a).signals.upvotes == 10


def test_update_paper_takes_the_latest_upvotes_even_when_lower() -> None:
    stored, later = paper(signals=Signals(upvotes=10)), paper(signals=Signals(upvotes=5))
    assert update_paper(stored, later).signals.upvotes == 5


def test_merge_papers_merges_signals_field_wise() -> None:
    a = paper(signals=Signals(upvotes=3, github_url="https://github.com/a/b"))
    b = paper(signals=Signals(upvotes=7, comments=2, ai_keywords=("x",)))
    assert merge_papers(a, b).signals == Signals(
        upvotes=7, comments=2, github_url="https://github.com/a/b", ai_keywords=("x",)
    )


def test_update_paper_keeps_stored_signals_the_later_sighting_lacks() -> None:
    day1 = Signals(upvotes=3, github_url="https://github.com/a/b", ai_keywords=("nas",))
    day2 = Signals(upvotes=9, github_stars=100, github_url="https://github.com/a/c")
    assert update_paper(paper(signals=day1), paper(signals=day2)).signals == Signals(
        upvotes=9, github_url="https://github.com/a/c", github_stars=100, ai_keywords=("nas",)
    )


# -- announce type: the earliest announcement's; on the same day the better rank ----------------


@BOTH
@pytest.mark.parametrize("order", ["cross-first", "new-first"])
def test_same_day_cross_and_new_is_new(rule: Rule, order: str) -> None:
    day = date(2026, 4, 16)
    cross = paper(announced=day, announce_type="cross")
    new = paper(announced=day, announce_type="new")
    first, second = (cross, new) if order == "cross-first" else (new, cross)
    assert rule(first, second).announce_type == "new"


@BOTH
def test_the_earliest_announcement_sets_day_and_type(rule: Rule) -> None:
    new = paper(announced=date(2026, 4, 16), announce_type="new")
    replaced = paper(announced=date(2026, 4, 21), announce_type="replace")
    for first, second in ((new, replaced), (replaced, new)):
        merged = rule(first, second)
        assert (merged.announced, merged.announce_type) == (date(2026, 4, 16), "new")


@BOTH
def test_an_unknown_announcement_day_never_wins(rule: Rule) -> None:
    dated = paper(announced=date(2026, 4, 16), announce_type="cross")
    undated = paper(announce_type="new")
    assert rule(undated, dated).announce_type == "cross"
    assert rule(dated, undated).announced == date(2026, 4, 16)


# -- URL -----------------------------------------------------------------------------------------


@BOTH
def test_url_of_the_higher_version_wins(rule: Rule) -> None:
    v1 = paper("doi:10.1/x", version=1, url="https://example.org/v1")
    v2 = paper("doi:10.1/x", version=2, url="https://example.org/v2")
    assert rule(v1, v2).url == "https://example.org/v2"
    assert rule(v2, v1).url == "https://example.org/v2"


@BOTH
def test_url_of_the_first_record_wins_between_equal_versions(rule: Rule) -> None:
    a = paper("doi:10.1/x", url="https://example.org/a")
    b = paper("doi:10.1/x", url="https://example.org/b")
    assert rule(a, b).url == "https://example.org/a"


@BOTH
def test_a_missing_url_is_filled_from_the_other_record(rule: Rule) -> None:
    v2 = paper(version=2, url=None)
    v1 = paper(version=1, url="https://arxiv.org/abs/2404.01234")
    assert rule(v2, v1).url == "https://arxiv.org/abs/2404.01234"


def test_merge_papers_takes_the_url_of_the_best_id_scheme() -> None:
    by_url = paper("url:https://blog.example/p", url="https://blog.example/p", version=3)
    by_arxiv = paper(url="https://arxiv.org/abs/2404.01234")
    merged = merge_papers(by_url, by_arxiv)
    assert (merged.paper_id, merged.url) == ("arxiv:2404.01234", "https://arxiv.org/abs/2404.01234")


def test_update_paper_keeps_the_stored_id() -> None:
    assert update_paper(paper("doi:10.1/x"), paper("doi:10.1/x", version=2)).paper_id == (
        "doi:10.1/x"
    )


# -- authors, text, version ----------------------------------------------------------------------


@BOTH
def test_authors_title_and_abstract_come_from_the_higher_version(rule: Rule) -> None:
    v1 = paper(version=1, title="Old title", abstract="Old.", authors=("A",))
    v3 = paper(version=3, title="New title", abstract="New.", authors=("A", "B"))
    for first, second in ((v1, v3), (v3, v1)):
        merged = rule(first, second)
        assert (merged.title, merged.abstract, merged.authors, merged.version) == (
            "New title",
            "New.",
            ("A", "B"),
            3,
        )


@BOTH
def test_empty_authors_and_abstract_are_filled_from_the_other_record(rule: Rule) -> None:
    newer = paper(version=2, abstract="", authors=())
    older = paper(version=1, abstract="Text", authors=("X",))
    merged = rule(newer, older)
    assert (merged.abstract, merged.authors) == ("Text", ("X",))


@BOTH
def test_authors_of_the_first_record_win_between_equal_versions(rule: Rule) -> None:
    assert rule(paper(authors=("A",)), paper(authors=("B",))).authors == ("A",)


# -- DOI, categories, dates ---------------------------------------------------------------------


@BOTH
def test_the_first_known_doi_is_kept_and_a_missing_one_filled(rule: Rule) -> None:
    assert rule(paper(doi="10.1/a"), paper(doi="10.1/b")).doi == "10.1/a"
    assert rule(paper(), paper(doi="10.1/b")).doi == "10.1/b"


@BOTH
def test_categories_union_and_earliest_dates(rule: Rule) -> None:
    first = paper(
        categories=("cs.LG", "cs.CL"),
        published=datetime(2026, 4, 16, tzinfo=UTC),
        first_seen=NOW,
    )
    second = paper(
        categories=("stat.ML", "cs.LG"),
        published=datetime(2026, 4, 18, tzinfo=UTC),
        first_seen=LATER,
    )
    merged = rule(first, second)
    assert merged.categories == ("cs.LG", "cs.CL", "stat.ML")
    assert merged.published == datetime(2026, 4, 16, tzinfo=UTC)
    assert merged.first_seen == NOW


# -- the store applies the rule it is given ----------------------------------------------------


def test_store_update_applies_update_paper_across_runs(store: Store) -> None:
    stored = paper(
        version=2,
        announced=date(2026, 4, 16),
        announce_type="cross",
        signals=Signals(upvotes=10),
        first_seen=NOW,
    )
    store.upsert_papers([stored], "hf-daily", NOW, merge=update_paper)
    later = paper(announced=date(2026, 4, 16), announce_type="new", signals=Signals(upvotes=5))
    store.upsert_papers([later], "arxiv", LATER, merge=update_paper)
    got = store.get_paper(stored.paper_id)
    assert got is not None
    assert (got.signals.upvotes, got.announce_type) == (5, "new")
    assert got == dataclasses.replace(
        update_paper(stored, later), sources=("arxiv", "hf-daily"), first_seen=NOW
    )


def test_store_calls_the_given_rule_inside_its_transaction(store: Store) -> None:
    store.upsert_papers([paper("arxiv:1"), paper("arxiv:2")], "arxiv", NOW, merge=update_paper)
    calls: list[tuple[str, str]] = []

    def failing(stored: Paper, incoming: Paper) -> Paper:
        calls.append((stored.paper_id, incoming.title))
        if stored.paper_id == "arxiv:2":
            raise RuntimeError("rule failed")
        return dataclasses.replace(stored, title=incoming.title)

    renamed = [paper("arxiv:1", title="Renamed one"), paper("arxiv:2", title="Renamed two")]
    with pytest.raises(RuntimeError, match="rule failed"):
        store.upsert_papers(renamed, "arxiv", LATER, merge=failing)
    assert calls == [("arxiv:1", "Renamed one"), ("arxiv:2", "Renamed two")]
    got = store.get_paper("arxiv:1")
    assert got is not None and got.title == paper().title  # rolled back with the batch


def test_store_refuses_a_rule_that_changes_the_id(store: Store) -> None:
    store.upsert_papers([paper()], "arxiv", NOW, merge=update_paper)
    with pytest.raises(ValueError, match="changed the id"):
        store.upsert_papers([paper()], "arxiv", LATER, merge=merge_papers_with_new_id)


def merge_papers_with_new_id(stored: Paper, incoming: Paper) -> Paper:
    return dataclasses.replace(incoming, paper_id="arxiv:other")
