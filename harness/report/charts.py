"""Charts as PNG bytes (matplotlib, Agg backend; no timestamp in the file, so an unchanged
rerun writes the same bytes).

The annotation plots are drawn on a plain ``Figure`` (no pyplot, no global state).
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


# -- the dataset: lengths of its texts ----------------------------------------------------


def histograms_png(
    panels: Sequence[tuple[str, Sequence[int]]], columns: int = 2, xlabel: str = "words"
) -> bytes:
    """One histogram per panel (title, whole-number values such as word counts), ``columns``
    panels to a row."""
    from matplotlib.figure import Figure

    rows = -(-len(panels) // columns)
    fig = Figure(figsize=(10, 3.5 * rows))
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax, (title, values) in zip(axes.flat, panels, strict=False):
        ax.hist(values, bins=range(1, max(values) + 2), color="#4C72B0")
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("count")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


# -- the comparison report: correct rate per system and claim type ------------------------


def _comparison_bars(gen: dict[str, Any], groups: tuple[str, ...]) -> tuple[list, list, list]:
    """Correct rates of ``groups`` and their interval's distances below and above (0: no
    interval, e.g. withheld for too few generics)."""
    rates = [gen[g]["correct_rate"] or 0.0 for g in groups]
    cis = [gen[g]["correct_ci"] or {} for g in groups]
    has = [ci.get("low") is not None for ci in cis]
    low = [r - ci["low"] if ok else 0.0 for r, ci, ok in zip(rates, cis, has, strict=True)]
    high = [ci["high"] - r if ok else 0.0 for r, ci, ok in zip(rates, cis, has, strict=True)]
    return rates, low, high


def comparison_chart_png(
    report: Mapping[str, Any], splits: Mapping[str, str], groups: Sequence[str]
) -> bytes:
    """Correct rate per system and claim group (``groups``), with intervals.

    One panel per split of a ``logic-claims compare`` report (``splits``: split -> panel
    title); the dashed line is chance (50%).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(report["systems"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
    width = 0.8 / max(1, len(names))
    for ax, (split, title) in zip(axes, splits.items(), strict=True):
        for i, name in enumerate(names):
            gen = report["systems"][name]["splits"].get(split, {}).get("gen")
            if not gen:
                continue
            rates, low, high = _comparison_bars(gen, tuple(groups))
            x = np.arange(len(groups)) + (i - (len(names) - 1) / 2) * width
            ax.bar(x, rates, width, yerr=[low, high], capsize=3, label=name)
        ax.set_xticks(np.arange(len(groups)), list(groups))
        ax.set_title(title)
        ax.set_ylim(0, 1.05)
        ax.axhline(0.5, color="grey", linewidth=0.8, linestyle="--")
    axes[0].set_ylabel("correct (study's rule)")
    handles, labels = axes[0].get_legend_handles_labels()
    if not handles:
        handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(6, max(1, len(labels))), fontsize=9)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()
