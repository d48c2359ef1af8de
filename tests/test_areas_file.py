"""The research-area vocabulary a discovered theme may be named from
(pipeline/data/areas.txt): enough names, each a short title-like phrase, none twice."""

from __future__ import annotations

from importlib import resources

MIN_NAMES = 400
MAX_WORDS = 5
MAX_CHARS = 40


def _load_area_names() -> list[str]:
    text = resources.files("pipeline").joinpath("data/areas.txt").read_text("utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_areas_file_has_enough_names() -> None:
    assert len(_load_area_names()) >= MIN_NAMES


def test_areas_file_has_no_duplicate_after_case_folding() -> None:
    seen: dict[str, str] = {}
    duplicates = []
    for name in _load_area_names():
        key = name.casefold()
        if key in seen:
            duplicates.append((seen[key], name))
        seen[key] = name
    assert duplicates == []


def test_areas_file_names_are_short_titles() -> None:
    too_long = [
        name
        for name in _load_area_names()
        if len(name.split()) > MAX_WORDS or len(name) > MAX_CHARS
    ]
    assert too_long == []


def test_areas_file_names_have_no_stray_spaces_or_trailing_punctuation() -> None:
    bad = [
        name
        for name in _load_area_names()
        if name != name.strip() or "  " in name or not name[-1].isalnum()
    ]
    assert bad == []
