"""Number formatters: each kind of number is written one way in every report.

=================  ==================  =====================================
what               example             function
=================  ==================  =====================================
missing value      ``–``               :data:`MISSING`
rate               ``81.2%``           :func:`pct`
rate in interval   ``81.2``            :func:`pct_value`
difference         ``+50.0`` (points)  :func:`points`
statistic          ``0.412``           :func:`num`
p-value            ``0.039``, ``< 0.001``   :func:`pvalue`
p-value in text    ``p = 0.039``       :func:`p_equals`
interval           ``[0.21, 0.63]``    :func:`interval`
rate and interval  ``81.2% [62.0, 100.0]``  :func:`rate_interval`
=================  ==================  =====================================

P-values follow the APA style: three decimals, and ``< 0.001`` below that.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

MISSING = "–"
P_FLOOR = 0.001


def pct(x: float | None, digits: int = 1) -> str:
    """A rate in [0, 1] as a percentage: ``0.8125`` -> ``81.2%``."""
    return MISSING if x is None else f"{100 * x:.{digits}f}%"


def pct_value(x: float | None, digits: int = 1) -> str:
    """A rate as a bare percentage, for intervals after a rate: ``0.8125`` -> ``81.2``."""
    return MISSING if x is None else f"{100 * x:.{digits}f}"


def points(x: float | None, digits: int = 1) -> str:
    """A difference of two rates in percentage points, signed: ``0.5`` -> ``+50.0``."""
    return MISSING if x is None else f"{100 * x:+.{digits}f}"


def num(x: float | None, digits: int = 3) -> str:
    """A statistic (kappa, alpha, a mean): ``0.41237`` -> ``0.412``; a value that rounds
    to zero is ``0.000``, never ``-0.000``."""
    if x is None:
        return MISSING
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def pvalue(p: float | None) -> str:
    """``0.039``, or ``< 0.001`` below one in a thousand."""
    if p is None:
        return MISSING
    return f"< {P_FLOOR}" if p < P_FLOOR else f"{p:.3f}"


def p_equals(p: float | None) -> str:
    """A p-value in running text: ``p = 0.039``, ``p < 0.001``."""
    text = pvalue(p)
    if text == MISSING:
        return f"p {MISSING}"
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def interval(ci: Mapping[str, Any] | None, fmt: Callable[[float], str] = num) -> str:
    """A confidence interval ``{"low", "high"}`` as ``[low, high]``; ``[–]`` if missing."""
    if not ci or ci.get("low") is None:
        return f"[{MISSING}]"
    return f"[{fmt(ci['low'])}, {fmt(ci['high'])}]"


def rate_interval(rate: float | None, ci: Mapping[str, Any] | None) -> str:
    """A rate and its interval in percent: ``81.2% [62.0, 100.0]``; the rate alone
    when there is no interval."""
    return pct(rate) + (f" {interval(ci, pct_value)}" if ci else "")
