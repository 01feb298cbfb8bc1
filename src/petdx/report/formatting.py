"""Number formatting for reports: estimates with intervals, p-values, medians with IQR.

Journal conventions (AMA Manual of Style, 11th ed., 19.5 and 20.9; ICMJE): a negative number
carries a true minus sign (U+2212), an interval is written ``low to high`` (a dash between two
numbers reads as a minus when either is negative), p is never rounded to 1 or 0
(``p > 0.99``, ``p < 0.001``), and a median survival that the curve never reaches is ``NR``
(explained in the table's note).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from petdx.analysis.results import Summary

__all__ = [
    "MINUS",
    "NOT_REACHED",
    "fmt_count_of",
    "fmt_estimate",
    "fmt_iqr",
    "fmt_median_survival",
    "fmt_number",
    "fmt_p",
    "fmt_percent",
    "fmt_plain",
]

#: The true minus sign.
MINUS = "\u2212"
#: Between the bounds of an interval.
TO = " to "
#: A median survival time (or its bound) that the Kaplan-Meier curve never reaches.
NOT_REACHED = "NR"


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def fmt_number(value: Any, digits: int = 2) -> str:
    """A number with ``digits`` decimals and a true minus sign; an em dash when missing or not
    finite. A value that rounds to zero prints without a sign."""
    if not _finite(value):
        return "—"
    text = f"{value:.{digits}f}"
    if text.startswith("-"):
        text = text[1:] if float(text) == 0 else MINUS + text[1:]
    return text


def fmt_percent(value: Any, digits: int = 1) -> str:
    return f"{fmt_number(100 * value, digits)} %" if _finite(value) else "—"


def fmt_count_of(numerator: Any, denominator: Any) -> str:
    """``32/40 (80 %)``, a proportion as STARD item 24 asks for it (counts, then the whole
    percentage); ``0/0`` without a percentage; an em dash when a count is missing."""
    if not (isinstance(numerator, int) and isinstance(denominator, int)):
        return "—"
    if denominator == 0:
        return f"{numerator}/{denominator}"
    return f"{numerator}/{denominator} ({round(100 * numerator / denominator)} %)"


def fmt_estimate(estimate: Mapping[str, Any] | None, digits: int = 2) -> str:
    """``0.90 (0.88 to 0.92)`` from an ``Estimate.to_dict()``; the interval is left out when
    undefined."""
    if not estimate or not _finite(estimate.get("estimate")):
        return "—"
    text = fmt_number(estimate["estimate"], digits)
    low, high = estimate.get("ci_low"), estimate.get("ci_high")
    if _finite(low) and _finite(high):
        text += f" ({fmt_number(low, digits)}{TO}{fmt_number(high, digits)})"
    return text


def fmt_median_survival(estimate: Mapping[str, Any] | None, digits: int = 1) -> str:
    """A Kaplan-Meier median with its interval: ``14.2 (9.1 to NR)``; ``NR`` where the
    survival curve (or its confidence band's bound) never falls to 0.5 in the follow-up.

    Follows R's ``print.survfit``, which prints ``NA`` for such a bound; a report says NR
    and explains it in the table's note."""
    if not estimate:
        return "—"

    def bound(value: Any) -> str:
        return fmt_number(value, digits) if _finite(value) else NOT_REACHED

    text = bound(estimate.get("estimate"))
    return f"{text} ({bound(estimate.get('ci_low'))}{TO}{bound(estimate.get('ci_high'))})"


def fmt_p(p: Any) -> str:
    """p-value as journals print it: ``p < 0.001``, three decimals below 0.1, two from 0.1,
    and ``p > 0.99`` above 0.99 (so it never prints as 1.00)."""
    if not _finite(p):
        return "—"
    if p < 0.001:
        return "p < 0.001"
    if p > 0.99:
        return "p > 0.99"
    return f"p = {p:.3f}" if p < 0.1 else f"p = {p:.2f}"


def fmt_iqr(summary: Summary | None, digits: int = 1, unit: str = "") -> str:
    """``62.0 (55.0 to 70.0)`` (median and interquartile range) of a summary."""
    if summary is None or not summary.n:
        return "—"
    suffix = f" {unit}" if unit else ""
    return (
        f"{fmt_number(summary.median, digits)} ({fmt_number(summary.q1, digits)}{TO}"
        f"{fmt_number(summary.q3, digits)}){suffix}"
    )


def fmt_plain(value: Any) -> str:
    """A setting as a reader of the report writes it, not as Python prints it: lists joined
    with commas, booleans yes/no, nothing as an em dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt_plain(v) for v in value) if value else "—"
    if isinstance(value, float):
        return f"{value:g}".replace("-", MINUS) if math.isfinite(value) else "—"
    return str(value)
