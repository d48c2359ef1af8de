"""chart.py: a real PNG whose content follows the data."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import pytest

from pipeline.digest import chart
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


def test_a_topic_named_with_an_emoji_or_in_chinese_is_drawn_without_empty_boxes() -> None:
    # Round 28: the README's "🤖 Robotics" and a topic named in Chinese were drawn with empty
    # boxes for the characters DejaVu Sans lacks, and matplotlib warned of each glyph on stderr
    # ("Glyph 129302 … missing from font(s) DejaVu Sans") at every build, in cron's mail.
    series = {"🤖 Robotics": [1, 2], "机器学习": [2, 1], "Efficient attention": [0, 3]}
    slugs = {"🤖 Robotics": "robotics", "机器学习": "ml-zh", "Efficient attention": "attention"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = render_trend_chart(
            ["2025-W23", "2025-W24"], series, title="每周摘要 · 2025-W24", colour_keys=slugs
        )
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert chart.drawn("🤖 Robotics", "robotics") == "Robotics"
    assert chart.drawn("机器学习", "ml-zh") == "ml-zh"  # no font here draws it: its slug
    assert chart.drawn("Über-Modelle (ÄÖÜ) — α", "x") == "Über-Modelle (ÄÖÜ) — α"


def test_a_long_topic_name_is_wrapped_in_the_legend_not_cut_at_the_edge() -> None:
    # Round 28: the module promised "long topic names are never cut", and a topic named
    # "Efficient attention mechanisms for long-context transformers, state space models and
    # linear recurrent networks" was drawn to "… state spac" and cut by the picture's right edge.
    name = (
        "Efficient attention mechanisms for long-context transformers, state space models"
        " and linear recurrent networks"
    )
    weeks = ["2025-W23", "2025-W24"]
    capitals = "LLM AGENTS AND RETRIEVAL-AUGMENTED GENERATION FOR MEDICAL QUESTION ANSWERING"
    for series in ({name: [1, 3], "NAS": [2, 1]}, {capitals: [1, 3], "NAS": [2, 1]}):
        _assert_legend_within_the_picture(render_trend_chart(weeks, series, title="t"))
    png = render_trend_chart(weeks, {name: [1, 3], "NAS": [2, 1]}, title="t")
    short = render_trend_chart(weeks, {"Efficient attention": [1, 3], "NAS": [2, 1]}, title="t")
    assert _size(png)[1] > _size(short)[1]  # the name takes more than one legend row


def _assert_legend_within_the_picture(png: bytes) -> None:
    import matplotlib.image

    width, height = _size(png)
    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    legend = pixels[height - int(0.24 * 4 * chart.DPI) :, width - 6 :, :3]
    assert legend.min() > 0.99, "the legend's text reaches the picture's right edge"


def test_thirty_topics_are_thirty_lines_that_look_different() -> None:
    # Round 28: the palette has 12 colours, and with 13 topics or more two of them were drawn
    # alike (same colour, marker and line): a reader of a 30-topic chart could not tell which
    # line was which topic, and the legend named either for both.
    slugs = [f"topic-{i}" for i in range(30)]
    styles = chart.styles_for(slugs)
    assert len(set(styles.values())) == 30
    few = slugs[:6]  # within the palette: every line as before, solid with round markers
    assert {s[1:] for s in chart.styles_for(few).values()} == {("o", "-")}
    assert {k: s[0] for k, s in chart.styles_for(few).items()} == colours_for(few)
    assert chart.styles_for(list(reversed(slugs))) == styles
    png = render_trend_chart(
        ["2025-W23", "2025-W24"],
        {f"Topic {i}": [i, 30 - i] for i in range(30)},
        title="t",
        colour_keys={f"Topic {i}": slug for i, slug in enumerate(slugs)},
    )
    assert _size(png)[1] == round((chart.PLOT_HEIGHT_IN + 30 * chart.LEGEND_ROW_IN) * chart.DPI)


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


def test_the_first_chart_of_a_process_leaves_its_callers_nothing_to_collect() -> None:
    # Importing matplotlib parses its rc file with pyparsing, which leaves exceptions in
    # reference cycles with their tracebacks; a traceback's frames link to their callers'
    # frames, which keep their variables when they return. Imported from the first build's
    # chart, that kept the whole week (10,000 papers and entries on the real week, about
    # 108,000 objects) until the next garbage collection, which then went over them all
    # (round 23). A fresh process: matplotlib must not be imported yet.
    script = (
        "import gc, weakref\n"
        "from pipeline.digest.chart import render_trend_chart\n"
        "class Held: pass\n"
        "def build():\n"
        "    held = Held()\n"
        "    render_trend_chart(['2025-W23', '2025-W24'], {'NAS': [1, 2]}, title='t')\n"
        "    return weakref.ref(held)\n"
        "gc.disable()\n"
        "print(build()() is None)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True"]


def test_what_the_import_thread_raises_is_raised_and_no_thread_imports_in_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chart, "MATPLOTLIB_MODULES", ("pipeline_no_such_module",))
    with pytest.raises(ModuleNotFoundError, match="pipeline_no_such_module"):
        chart._imported_apart()

    def refused(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(chart, "MATPLOTLIB_MODULES", ("colorsys",))
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    monkeypatch.setattr(threading.Thread, "start", refused)
    chart._imported_apart()
    assert "colorsys" in sys.modules


def test_a_chart_drawn_from_the_same_data_is_kept_without_importing_matplotlib(
    tmp_path: Path,
) -> None:
    # Round 29: every build drew its week's chart again, importing matplotlib (0.34 s of a cold
    # build's CPU) though the counts had not changed since the week's last build. The PNG now
    # carries a stamp of what it was drawn from; a fresh process handed it keeps it as it is.
    weeks, series = ["2025-W23", "2025-W24"], {"NAS": [1, 2], "Speech": [0, 3]}
    first = chart.trend_chart(weeks, series, title="t", colour_keys={"NAS": "nas"})
    assert chart.stamp_of(first) == chart.chart_key(
        weeks, series, title="t", colour_keys={"NAS": "nas"}
    )
    (tmp_path / "old.png").write_bytes(first)
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from pipeline.digest import chart\n"
        f"old = Path({str(tmp_path / 'old.png')!r}).read_bytes()\n"
        f"png = chart.trend_chart({weeks!r}, {series!r}, title='t', colour_keys={{'NAS': 'nas'}},"
        " previous=old)\n"
        "print(png == old, 'matplotlib' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False"]


@pytest.mark.parametrize(
    "change",
    [
        {"series": {"NAS": [1, 5], "Speech": [0, 3]}},  # a count changed
        {"series": {"Speech": [0, 3], "NAS": [1, 2]}},  # the legend's order changed
        {"title": "another"},
        {"colour_keys": {"NAS": "nas-2"}},  # a slug changed: another colour
    ],
)
def test_a_chart_is_drawn_again_when_what_it_shows_changed(change: dict) -> None:
    args = {
        "series": {"NAS": [1, 2], "Speech": [0, 3]},
        "title": "t",
        "colour_keys": {"NAS": "nas"},
    }
    weeks = ["2025-W23", "2025-W24"]
    old = chart.trend_chart(weeks, **args)
    new_args = {**args, **change}
    new = chart.trend_chart(weeks, **new_args, previous=old)
    assert new == chart.render_trend_chart(
        weeks, **new_args, stamp=chart.chart_key(weeks, **new_args)
    )
    assert chart.stamp_of(new) != chart.stamp_of(old)


def test_a_png_not_drawn_by_the_build_is_drawn_over() -> None:
    weeks, series = ["2025-W24"], {"NAS": [2]}
    unstamped = render_trend_chart(weeks, series, title="t")  # an edited or older chart
    assert chart.stamp_of(unstamped) is None and chart.stamp_of(b"not a png") is None
    assert chart.trend_chart(weeks, series, title="t", previous=unstamped) != unstamped
