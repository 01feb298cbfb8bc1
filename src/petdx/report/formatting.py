"""Number formatting for reports: estimates with intervals, p-values, medians with IQR."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from petdx.analysis.results import Summary

__all__ = ["fmt_estimate", "fmt_iqr", "fmt_number", "fmt_p", "fmt_percent"]

DASH = "–"


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def fmt_number(value: Any, digits: int = 2) -> str:
    """A number with ``digits`` decimals; an em dash when missing or not finite."""
    return f"{value:.{digits}f}" if _finite(value) else "—"


def fmt_percent(value: Any, digits: int = 1) -> str:
    return f"{100 * value:.{digits}f} %" if _finite(value) else "—"


def fmt_estimate(estimate: Mapping[str, Any] | None, digits: int = 2) -> str:
    """``0.90 (0.88–0.92)`` from an ``Estimate.to_dict()``; the interval is left out when
    undefined."""
    if not estimate or not _finite(estimate.get("estimate")):
        return "—"
    text = fmt_number(estimate["estimate"], digits)
    low, high = estimate.get("ci_low"), estimate.get("ci_high")
    if _finite(low) and _finite(high):
        text += f" ({fmt_number(low, digits)}{DASH}{fmt_number(high, digits)})"
    return text


def fmt_p(p: Any) -> str:
    """p-value as journals print it: ``p < 0.001`` or three decimals (two when >= 0.1)."""
    if not _finite(p):
        return "—"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}" if p < 0.1 else f"p = {p:.2f}"


def fmt_iqr(summary: Summary | None, digits: int = 1, unit: str = "") -> str:
    """``62.0 (55.0–70.0)`` (median and interquartile range) of a summary."""
    if summary is None or not summary.n:
        return "—"
    suffix = f" {unit}" if unit else ""
    return (
        f"{fmt_number(summary.median, digits)} ({fmt_number(summary.q1, digits)}{DASH}"
        f"{fmt_number(summary.q3, digits)}){suffix}"
    )
