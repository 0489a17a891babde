"""Charts as PNG bytes, drawn on a matplotlib ``Figure`` (not pyplot).

A ``Figure`` keeps no global state, so charts can be drawn inside a web server thread.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

# -- annotation reports: a point and its interval per row ---------------------------------


def figure_png(fig: Any, dpi: int = 110) -> bytes:
    """A figure as PNG bytes, cropped to what is drawn."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def interval_plot_png(
    labels: Sequence[str],
    values: Sequence[float | None],
    cis: Sequence[Mapping[str, Any] | None],
    xlabel: str,
    xlim: tuple[float, float] | None = None,
    ref: float | None = None,
) -> bytes | None:
    """Horizontal point-and-interval plot, one row per label, first label on top.

    ``cis`` holds ``{"low", "high"}`` intervals (or None); rows without a value are left out,
    and with none left there is nothing to draw (None). ``ref`` draws a dashed reference line
    (0 for a difference or a chance-corrected coefficient).
    """
    from matplotlib.figure import Figure

    rows = [(lab, v, ci) for lab, v, ci in zip(labels, values, cis, strict=True) if v is not None]
    if not rows:
        return None
    fig = Figure(figsize=(7.5, 0.9 + 0.32 * len(rows)))
    ax = fig.subplots()
    ys = list(range(len(rows)))[::-1]
    for y, (_, v, ci) in zip(ys, rows, strict=True):
        if ci and ci.get("low") is not None:
            ax.plot([ci["low"], ci["high"]], [y, y], color="#4477aa", linewidth=2.2)
        ax.plot([v], [y], "o", color="#222222", markersize=5)
    ax.set_yticks(ys, [row[0] for row in rows], fontsize=8)
    ax.set_xlabel(xlabel)
    if xlim:
        ax.set_xlim(*xlim)
    if ref is not None:
        ax.axvline(ref, color="#999999", linewidth=0.8, linestyle="--")
    ax.grid(axis="x", alpha=0.3)
    return figure_png(fig)
