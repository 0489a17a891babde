"""Charts of the reports, as PNG bytes (matplotlib, Agg backend).

No timestamp or version goes into a PNG: an unchanged rerun writes the same bytes.
"""

from __future__ import annotations

import io
from typing import Any


def _comparison_bars(gen: dict[str, Any], groups: tuple[str, ...]) -> tuple[list, list, list]:
    """Correct rates of ``groups`` and their interval's distances below and above."""
    rates = [gen[g]["correct_rate"] or 0.0 for g in groups]
    low = [
        r - gen[g]["correct_ci"]["low"] if gen[g]["correct_ci"] else 0.0
        for r, g in zip(rates, groups, strict=True)
    ]
    high = [
        gen[g]["correct_ci"]["high"] - r if gen[g]["correct_ci"] else 0.0
        for r, g in zip(rates, groups, strict=True)
    ]
    return rates, low, high


def comparison_chart_png(report: dict[str, Any]) -> bytes:
    """Correct rate per system for universal/existential/overall claims, with intervals.

    One panel per split (main, contrast) of a ``logic-claims compare`` report; the dashed
    line is chance (50%).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from logic_claims.harness.report.compare import CLAIM_GROUPS, SPLIT_TITLES

    names = list(report["systems"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
    width = 0.8 / max(1, len(names))
    for ax, (split, title) in zip(axes, SPLIT_TITLES.items(), strict=True):
        for i, name in enumerate(names):
            gen = report["systems"][name]["splits"].get(split, {}).get("gen")
            if not gen:
                continue
            rates, low, high = _comparison_bars(gen, CLAIM_GROUPS)
            x = np.arange(len(CLAIM_GROUPS)) + (i - (len(names) - 1) / 2) * width
            ax.bar(x, rates, width, yerr=[low, high], capsize=3, label=name)
        ax.set_xticks(np.arange(len(CLAIM_GROUPS)), CLAIM_GROUPS)
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
