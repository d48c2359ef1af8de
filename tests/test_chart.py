"""chart.py: a real PNG whose content follows the data."""

from __future__ import annotations

from pipeline.digest.chart import PALETTE, colours_for, render_trend_chart


def _size(png: bytes) -> tuple[int, int]:
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_render_trend_chart_is_a_png_of_the_expected_size() -> None:
    png = render_trend_chart(["2025-W23", "2025-W24"], {"NAS": [1, 3]}, title="t")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert _size(png) == (800, 454)  # 5 inches at 160 dpi: 2x for a 400 px phone column
    seven = render_trend_chart(["2025-W24"], {f"Topic {i}": [i] for i in range(7)}, title="t")
    assert _size(seven) == (800, 684)  # (2.6 + 7 x 0.24) inches: a legend row per topic


def test_render_trend_chart_changes_with_the_data_and_is_deterministic() -> None:
    weeks = ["2025-W23", "2025-W24", "2025-W25"]
    one = render_trend_chart(weeks, {"NAS": [1, 3, 2]}, title="t")
    assert one == render_trend_chart(weeks, {"NAS": [1, 3, 2]}, title="t")
    assert one != render_trend_chart(weeks, {"NAS": [5, 0, 9]}, title="t")


def test_colours_for_follow_the_key_not_its_position_or_neighbours() -> None:
    slugs = ["nas", "efficient-attention", "multimodal", "llm-reasoning", "diffusion", "robotics"]
    colours = colours_for(slugs)
    assert colours == colours_for(list(reversed(slugs)))
    assert len(set(colours.values())) == len(slugs)  # distinct while the palette lasts
    assert colours_for(["robotics"])["robotics"] == colours_for(["robotics", "zzz"])["robotics"]
    assert set(colours_for([f"t{i}" for i in range(20)]).values()) <= set(PALETTE)
