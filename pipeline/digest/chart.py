"""Trend chart: papers per topic over the last weeks, as PNG bytes (pure: data in, bytes out).

matplotlib is imported inside the function, on the Agg backend (no display, thread-safe enough
for the scheduler); `run` writes the file. Imports only the standard library at module level.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

_COLOURS = (
    "#0969da", "#cf222e", "#1a7f37", "#8250df", "#bf8700", "#0598bc", "#bc4c00", "#6e7781",
    "#e85aad", "#4d2d00",
)  # fmt: skip


def render_trend_chart(
    weeks: Sequence[str], series: Mapping[str, Sequence[int]], *, title: str
) -> bytes:
    """A line per series (label → counts aligned with `weeks`), as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # a bare Figure: no pyplot global state

    figure = Figure(figsize=(7.2, 4.4), dpi=110)
    axes = figure.add_subplot()
    positions = range(len(weeks))
    for i, (label, counts) in enumerate(series.items()):
        axes.plot(
            positions,
            list(counts),
            marker="o",
            linewidth=2,
            markersize=4,
            color=_COLOURS[i % len(_COLOURS)],
            label=label,
        )
    axes.set_xticks(list(positions), [w.replace("-W", "\nW") for w in weeks], fontsize=8)
    axes.set_ylabel("papers", fontsize=9)
    axes.set_ylim(bottom=0)
    axes.set_title(title, fontsize=10, loc="left")
    axes.grid(axis="y", color="#eaeef2")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    if series:
        axes.legend(
            fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2
        )
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
