"""chart.py: a real PNG whose content follows the data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


def test_a_home_matplotlib_cannot_write_gets_a_kept_config_folder_and_no_warnings(
    tmp_path: Path,
) -> None:
    # Under a service with a read-only or absent home, matplotlib warned twice on every build
    # ("mkdir -p failed ...", "Matplotlib created a temporary cache directory ...") and built
    # its font cache again in a new temporary folder each time (round 21, from outside).
    env = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "XDG_CONFIG_HOME")}
    env.update(HOME="/dev/null", TMPDIR=str(tmp_path))
    script = (
        "from pipeline.digest.chart import render_trend_chart\n"
        "print(len(render_trend_chart(['2025-W23', '2025-W24'], {'NAS': [1, 2]}, title='t')))"
    )
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert int(done.stdout) > 1000
        assert "matplotlib" not in done.stderr.lower(), done.stderr
    kept = tmp_path / f"pipeline-matplotlib-{os.getuid()}"
    assert any(p.name.startswith("fontlist") for p in kept.iterdir())  # the font cache, kept
