"""chart.py: a real PNG whose content follows the data."""

from __future__ import annotations

from pipeline.digest.chart import render_trend_chart


def _size(png: bytes) -> tuple[int, int]:
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_render_trend_chart_is_a_png_of_the_expected_size() -> None:
    png = render_trend_chart(["2025-W23", "2025-W24"], {"NAS": [1, 3]}, title="t")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert _size(png) == (792, 484)  # 7.2 x 4.4 inches at 110 dpi


def test_render_trend_chart_changes_with_the_data_and_is_deterministic() -> None:
    weeks = ["2025-W23", "2025-W24", "2025-W25"]
    one = render_trend_chart(weeks, {"NAS": [1, 3, 2]}, title="t")
    assert one == render_trend_chart(weeks, {"NAS": [1, 3, 2]}, title="t")
    assert one != render_trend_chart(weeks, {"NAS": [5, 0, 9]}, title="t")
