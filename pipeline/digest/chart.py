"""Trend chart: papers per topic over the last weeks, as PNG bytes (pure: data in, bytes out).

Drawn to be read on a phone (issue 13): 5 inches at 160 dpi, shown at 400 px wide the text is
still ~11 px; the legend sits below the plot in one column, a long topic name wrapped to its
width, so none is cut; counts are whole numbers, so the y ticks are too; a topic keeps its
colour when the config changes
(the colour comes from its slug, not its position). matplotlib is imported inside the function, on
the Agg backend (no display, thread-safe enough for the scheduler), with a config folder it can
write (`_config_dir_kept`), the first time in a thread of its own (`_imported_apart`); `run`
writes the file. A chart carries a stamp of what it was drawn from (`chart_key`), and
`trend_chart` keeps the week's last one when that is unchanged, so such a build never imports
matplotlib. Imports only the standard library at module level.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata
import io
import json
import os
import sys
import tempfile
import textwrap
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

PALETTE = (
    "#0969da", "#cf222e", "#1a7f37", "#8250df", "#bf8700", "#0598bc", "#bc4c00", "#6e7781",
    "#e85aad", "#4d2d00", "#2da44e", "#a475f9",
)  # fmt: skip
WIDTH_IN, DPI = 5.0, 160
PLOT_HEIGHT_IN, LEGEND_ROW_IN = 2.6, 0.24
#: The widest a legend line may be, in points: the figure's 360 less the line sample beside it
#: and the margins. A longer topic name is wrapped (`_wrapped`).
LEGEND_TEXT_PT, LEGEND_FONT_PT = 290.0, 9
#: What the chart imports of matplotlib (Agg draws what `savefig` writes).
MATPLOTLIB_MODULES = (
    "matplotlib",
    "matplotlib.figure",
    "matplotlib.ticker",
    "matplotlib.backends.backend_agg",
)


def colours_for(keys: Sequence[str]) -> dict[str, str]:
    """A colour per key from a hash of the key itself; two keys that hash alike are resolved in
    sorted order (the next free colour), so reordering or adding keys rarely moves a colour."""
    taken: set[int] = set()
    colours = {}
    for key in sorted(set(keys)):
        slot = int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) % len(PALETTE)
        for step in range(len(PALETTE)):
            if (slot + step) % len(PALETTE) not in taken or len(taken) >= len(PALETTE):
                slot = (slot + step) % len(PALETTE)
                break
        taken.add(slot)
        colours[key] = PALETTE[slot]
    return colours


def _config_dir_kept() -> None:
    """Give matplotlib a folder it can keep its font cache in, when its own cannot be written.

    It keeps it in $XDG_CONFIG_HOME/matplotlib or ~/.config/matplotlib; under a service with a
    read-only or absent home (systemd's ProtectHome=read-only, HOME=/nonexistent) it warned
    twice on every build and built its font cache again in a new temporary folder each time.
    Then MPLCONFIGDIR is a folder of this user's under the system's temporary folder, kept
    between builds. Nothing changes where the default folder can be written, MPLCONFIGDIR is
    set, or matplotlib is already imported."""
    if "MPLCONFIGDIR" in os.environ or "matplotlib" in sys.modules:
        return
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    default = Path(base, "matplotlib")
    try:
        default.mkdir(parents=True, exist_ok=True)
        if default.is_dir() and os.access(default, os.W_OK):
            return
    except OSError:
        pass
    user = os.getuid() if hasattr(os, "getuid") else 0
    own = Path(tempfile.gettempdir(), f"pipeline-matplotlib-{user}")
    try:
        own.mkdir(mode=0o700, exist_ok=True)
        mine = own.is_dir() and own.stat().st_uid == user and os.access(own, os.W_OK)
    except OSError:
        return  # matplotlib makes a temporary one, as it did
    if mine:
        os.environ["MPLCONFIGDIR"] = str(own)


def _imported_apart() -> None:
    """Import MATPLOTLIB_MODULES, where one is not imported yet, in a thread of their own,
    joined at once (what an import raises is raised here; where no thread can be started, they
    are imported here).

    Importing matplotlib parses its rc settings with pyparsing, which leaves exceptions in
    reference cycles with their tracebacks; a traceback's frames link to their callers' frames,
    and those keep their variables when they return. Imported from a build's chart, those cycles
    held the whole first build (the real 10k week's papers and entries: about 108,000 objects)
    until the garbage collector's next run, which then went over all of it: a cold `digest
    build` of that week spent 0.16 s in collections, now 0.09 (round 23). A thread's frames lead
    back to the thread's start only."""
    if all(name in sys.modules for name in MATPLOTLIB_MODULES):
        return
    failed: list[BaseException] = []

    def load() -> None:
        try:
            for name in MATPLOTLIB_MODULES:
                importlib.import_module(name)
        except BaseException as e:  # re-raised in the caller's thread
            failed.append(e)

    thread = threading.Thread(target=load, name="import matplotlib", daemon=True)
    try:
        thread.start()
    except RuntimeError:  # no thread to be had: imported here, as before
        load()
    else:
        thread.join()
    if failed:
        raise failed[0]


@functools.cache
def _drawable_characters() -> frozenset[int]:
    """The characters the chart's fonts can draw: those of each family of matplotlib's
    `font.family` as it finds it (DejaVu Sans unless matplotlibrc names others; a font of
    Chinese or Japanese named there is used for them)."""
    import matplotlib
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    codes: set[int] = set()
    for family in matplotlib.rcParams["font.family"]:
        try:
            found = font_manager.findfont(
                font_manager.FontProperties(family=[family]), fallback_to_default=False
            )
            codes.update(FT2Font(found).get_charmap())
        except (ValueError, OSError, RuntimeError):  # no such font, or one it cannot read
            continue
    return frozenset(codes)


#: A line's marker and dash, after its colour: the n-th topic of a colour (past the palette's
#: 12) takes the n-th of each, so no two legend entries look alike (5 x 4 pairs a colour).
MARKERS, DASHES = ("o", "s", "^", "D", "v"), ("-", "--", ":", "-.")


def styles_for(keys: Sequence[str]) -> dict[str, tuple[str, str, str]]:
    """(colour, marker, line style) per key: its colour (`colours_for`), and past the palette
    the n-th key of a colour, in sorted order, gets the n-th of MARKERS and of DASHES. With 13
    topics or more two of them were drawn alike, one legend entry for either line (round 28)."""
    colours = colours_for(keys)
    shared: dict[str, int] = {}
    styles = {}
    for key in sorted(set(keys)):
        n = shared[colours[key]] = shared.get(colours[key], -1) + 1
        styles[key] = (colours[key], MARKERS[n % len(MARKERS)], DASHES[n % len(DASHES)])
    return styles


def drawn(text: str, fallback: str = "") -> str:
    """`text` as the chart can draw it: characters its fonts lack (an emoji, as in the
    README's "🤖 Robotics"; Chinese or Japanese without such a font) are left out, where they
    were drawn as empty boxes and matplotlib warned of each on stderr at every build (round
    28); `fallback` (the topic's slug) when nothing is left."""
    codes = _drawable_characters()
    kept = "".join(c for c in text if c.isspace() or ord(c) in codes)
    return " ".join(kept.split()) or fallback


def _wrapped(text: str) -> str:
    """`text` in lines the legend's width holds, measured in its font (a line of capitals is
    wider than one of small letters); a word wider than a line is broken."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    font, measure = FontProperties(size=LEGEND_FONT_PT), TextToPath()

    def width(line: str) -> float:
        return float(measure.get_text_width_height_descent(line, font, ismath=False)[0])

    lines = [text]
    for characters in range(70, 4, -5):
        if max(width(line) for line in lines) <= LEGEND_TEXT_PT:
            break
        lines = textwrap.wrap(text, characters) or [text]
    return "\n".join(lines)


#: The PNG text chunk that names what a chart shows (`chart_key`).
STAMP = "pipeline-chart"


def chart_key(
    weeks: Sequence[str],
    series: Mapping[str, Sequence[int]],
    *,
    title: str,
    colour_keys: Mapping[str, str] | None = None,
) -> str:
    """A hash of everything a chart is drawn from: its data, in the legend's order, this
    module's source and matplotlib's version (read from its metadata, not imported). The fonts
    are matplotlib's own unless a matplotlibrc names others; a changed matplotlibrc shows at
    the next chart whose data changes."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(importlib.metadata.version("matplotlib").encode())
    shown = [list(weeks), [[k, list(v)] for k, v in series.items()], title]
    shown.append(sorted((colour_keys or {}).items()))
    digest.update(json.dumps(shown, ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


def stamp_of(png: bytes) -> str | None:
    """The `STAMP` text of a PNG this module drew (None: not one of ours, or not a PNG)."""
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    at = 8
    while at + 8 <= len(png):
        length = int.from_bytes(png[at : at + 4], "big")
        kind = png[at + 4 : at + 8]
        data = png[at + 8 : at + 8 + length]
        if kind == b"tEXt" and data.startswith(STAMP.encode() + b"\0"):
            return data[len(STAMP) + 1 :].decode("latin-1")
        if kind in (b"IDAT", b"IEND"):  # matplotlib writes its text before the image
            return None
        at += 12 + length
    return None


def trend_chart(
    weeks: Sequence[str],
    series: Mapping[str, Sequence[int]],
    *,
    title: str,
    colour_keys: Mapping[str, str] | None = None,
    previous: bytes | None = None,
) -> bytes:
    """`render_trend_chart`'s PNG, or `previous` (the week's chart as its last build wrote it)
    when that was drawn from the same data by the same code: a build of a week whose counts
    did not change (the service's after an ingest that brought none, a cron rebuild) does not
    import matplotlib, 0.34 s of a cold build's CPU (round 29)."""
    key = chart_key(weeks, series, title=title, colour_keys=colour_keys)
    if previous is not None and stamp_of(previous) == key:
        return previous
    return render_trend_chart(weeks, series, title=title, colour_keys=colour_keys, stamp=key)


def render_trend_chart(
    weeks: Sequence[str],
    series: Mapping[str, Sequence[int]],
    *,
    title: str,
    colour_keys: Mapping[str, str] | None = None,
    stamp: str | None = None,
) -> bytes:
    """A line per series (label → counts aligned with `weeks`), as a PNG. `colour_keys` maps a
    label to the stable key its colour comes from (a topic's slug); default: the label.
    `stamp` (`chart_key`) is written into the PNG as its `STAMP` text."""
    _config_dir_kept()
    _imported_apart()
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # a bare Figure: no pyplot global state
    from matplotlib.ticker import MaxNLocator

    keys = {label: (colour_keys or {}).get(label, label) for label in series}
    styles = styles_for(list(keys.values()))
    # A name wider than the figure was cut at its right edge (round 28): wrapped, a row a line.
    shown = {label: _wrapped(drawn(label, keys[label])) for label in series}
    height = PLOT_HEIGHT_IN + LEGEND_ROW_IN * sum(s.count("\n") + 1 for s in shown.values())
    figure = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    positions = range(len(weeks))
    for label, counts in series.items():
        colour, marker, dashes = styles[keys[label]]
        axes.plot(
            positions,
            list(counts),
            marker=marker,
            linestyle=dashes,
            linewidth=2,
            markersize=4,
            color=colour,
            label=shown[label],
        )
    axes.set_xticks(list(positions), [w.replace("-W", "\nW") for w in weeks], fontsize=8)
    axes.set_xlim(-0.5, max(len(weeks) - 0.5, 0.5))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=2))
    top = max((max(c, default=0) for c in series.values()), default=0)
    axes.set_ylim(0, max(top, 1) * 1.1)
    axes.tick_params(axis="y", labelsize=8)
    axes.set_ylabel("papers", fontsize=9)
    axes.set_title(drawn(title), fontsize=10, loc="left")
    axes.grid(axis="y", color="#eaeef2")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    if series:
        figure.legend(fontsize=9, frameon=False, loc="outside lower left", ncols=1)
    buffer = io.BytesIO()
    text: dict[str, str | None] = {"Software": None}
    if stamp is not None:
        text[STAMP] = stamp
    figure.savefig(buffer, format="png", metadata=text)
    return buffer.getvalue()
