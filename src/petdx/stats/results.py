"""Result objects shared by every statistic: an estimate with its interval, a hypothesis test.

Every result carries what a report needs to print it without recomputing anything: the
estimate, the interval and its confidence level, the name of the method that produced the
interval, the number of units it rests on, and the warnings raised while computing it.
``to_dict()`` returns JSON-ready values: NaN and infinities become ``None`` (JSON has no NaN),
numpy scalars become Python numbers.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from petdx.errors import UndefinedStatisticWarning
from petdx.jsonsafe import json_ready

__all__ = ["Estimate", "HypothesisTest", "format_number", "format_p", "json_ready"]


def dataclass_dict(obj: Any) -> dict[str, Any]:
    """JSON-ready dict of a dataclass instance, field by field."""
    assert is_dataclass(obj)
    return {f.name: json_ready(getattr(obj, f.name)) for f in fields(obj)}


def format_number(value: float, digits: int = 3) -> str:
    """A number for people: fixed decimals, 'undefined' for NaN, '∞' for infinity."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "undefined"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:.{digits}f}"


def warn_undefined(message: str) -> str:
    """Issue ``message`` as an :class:`UndefinedStatisticWarning` and return it (for the
    result's ``warnings``)."""
    warnings.warn(message, UndefinedStatisticWarning, stacklevel=3)
    return message


def collect_warnings(*groups: Iterable[str]) -> tuple[str, ...]:
    """Concatenate warning messages, keeping the first occurrence of each."""
    seen: dict[str, None] = {}
    for group in groups:
        for message in group:
            seen.setdefault(message, None)
    return tuple(seen)


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval.

    Attributes
    ----------
    name : str
        What was estimated (``"sensitivity"``, ``"auc"``, ...).
    estimate : float
        The point estimate (NaN when undefined, see ``warnings``).
    ci_low, ci_high : float
        Confidence limits (NaN when not computed or undefined).
    method : str
        The method that produced the interval, in words (``"Clopper-Pearson exact"``).
    n : int
        Number of units the estimate rests on (its denominator for a proportion).
    confidence_level : float
        Two-sided confidence level of the interval.
    se : float
        Standard error when the method has one (NaN otherwise).
    numerator : int or None
        Numerator of a proportion (``x`` in ``x/n``), else None.
    n_clusters : int or None
        Number of independent clusters (patients) for clustered estimates, else None.
    warnings : tuple of str
        Why the estimate or its interval is undefined or should be read with care.
    """

    name: str
    estimate: float
    ci_low: float
    ci_high: float
    method: str
    n: int
    confidence_level: float = 0.95
    se: float = math.nan
    numerator: int | None = None
    n_clusters: int | None = None
    warnings: tuple[str, ...] = ()

    @classmethod
    def undefined(
        cls,
        name: str,
        method: str,
        n: int,
        reason: str,
        *,
        confidence_level: float = 0.95,
        estimate: float = math.nan,
        n_clusters: int | None = None,
    ) -> Estimate:
        """An estimate without an interval (NaN limits); ``reason`` is warned and kept."""
        return cls(
            name,
            estimate,
            math.nan,
            math.nan,
            method,
            n,
            confidence_level,
            n_clusters=n_clusters,
            warnings=(warn_undefined(reason),),
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def __str__(self) -> str:
        level = f"{100 * self.confidence_level:g}%"
        counts = f"{self.numerator}/{self.n}" if self.numerator is not None else f"n={self.n}"
        if self.n_clusters is not None:
            counts += f" in {self.n_clusters} clusters"
        interval = (
            f"{level} CI {format_number(self.ci_low)} to {format_number(self.ci_high)}"
            if not (math.isnan(self.ci_low) and math.isnan(self.ci_high))
            else "no interval"
        )
        text = f"{self.name} {format_number(self.estimate)} ({interval}; {self.method}; {counts})"
        if self.warnings:
            text += " [" + "; ".join(self.warnings) + "]"
        return text


@dataclass(frozen=True)
class HypothesisTest:
    """A hypothesis test: statistic, degrees of freedom, p-value, and the effect estimated.

    Attributes
    ----------
    name : str
        What was tested (``"mcnemar"``, ``"logrank"``, ...).
    statistic : float
        The test statistic (see ``statistic_name``).
    p_value : float
        Two-sided p-value unless ``method`` says otherwise.
    method : str
        The test, in words, with its variant (``"McNemar chi-square with continuity
        correction"``).
    n : int
        Number of units (pairs, patients) in the test.
    statistic_name : str
        ``"chi2"``, ``"z"``, ``"t"``, ``"V"``, ``"b"`` (exact McNemar: the smaller discordant
        count).
    df : float
        Degrees of freedom (NaN when the statistic has none).
    effect : Estimate or None
        The effect being tested, with its interval (a difference, a hazard ratio...).
    warnings : tuple of str
    """

    name: str
    statistic: float
    p_value: float
    method: str
    n: int
    statistic_name: str = "chi2"
    df: float = math.nan
    effect: Estimate | None = None
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def __str__(self) -> str:
        df = f", df {self.df:g}" if not math.isnan(self.df) else ""
        text = (
            f"{self.name}: {self.statistic_name} = {format_number(self.statistic, 4)}{df}, "
            f"p = {format_p(self.p_value)} ({self.method}; n={self.n})"
        )
        if self.effect is not None:
            text += f"\n  {self.effect}"
        if self.warnings:
            text += "\n  [" + "; ".join(self.warnings) + "]"
        return text


def format_p(p: float) -> str:
    """A p-value for people: '<0.0001' below 1e-4, four significant digits otherwise."""
    if p is None or math.isnan(p):
        return "undefined"
    if p < 1e-4:
        return "<0.0001"
    return f"{p:.4g}"
