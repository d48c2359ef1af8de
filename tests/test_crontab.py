"""crontab.py: 5- and 6-field lines, previous and next fire times around a moment."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.service.crontab import make_trigger, next_fire, previous_fire


def test_previous_and_next_fire_of_a_weekday_line() -> None:
    trigger = make_trigger("0 2 * * mon-fri", "UTC")
    saturday = datetime(2025, 6, 14, 12, 0, tzinfo=UTC)
    assert previous_fire(trigger, saturday) == datetime(2025, 6, 13, 2, 0, tzinfo=UTC)
    assert next_fire(trigger, saturday) == datetime(2025, 6, 16, 2, 0, tzinfo=UTC)


def test_previous_fire_includes_the_moment_itself_and_next_excludes_it() -> None:
    trigger = make_trigger("0 7 * * mon", "UTC")
    monday_seven = datetime(2025, 6, 16, 7, 0, tzinfo=UTC)
    assert previous_fire(trigger, monday_seven) == monday_seven
    assert next_fire(trigger, monday_seven) == datetime(2025, 6, 23, 7, 0, tzinfo=UTC)


def test_a_sixth_leading_field_gives_seconds() -> None:
    trigger = make_trigger("*/5 * * * * *", "UTC")
    now = datetime(2025, 6, 16, 7, 0, 12, 500_000, tzinfo=UTC)
    assert previous_fire(trigger, now) == datetime(2025, 6, 16, 7, 0, 10, tzinfo=UTC)
    assert next_fire(trigger, now) == datetime(2025, 6, 16, 7, 0, 15, tzinfo=UTC)


def test_lines_are_read_in_their_time_zone() -> None:
    trigger = make_trigger("0 7 * * mon", "Europe/Berlin")  # CEST = UTC+2 in June
    fire = next_fire(trigger, datetime(2025, 6, 15, tzinfo=UTC))
    assert fire is not None and fire.astimezone(UTC) == datetime(2025, 6, 16, 5, 0, tzinfo=UTC)


def test_previous_fire_finds_a_yearly_line() -> None:
    trigger = make_trigger("0 0 1 1 *", "UTC")
    now = datetime(2025, 12, 31, tzinfo=UTC)
    assert previous_fire(trigger, now) == datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("line", ["0 2 * *", "* * * * * * *", "61 * * * *", "0 7 * * funday"])
def test_make_trigger_rejects_bad_lines(line: str) -> None:
    with pytest.raises(ValueError):
        make_trigger(line, "UTC")
