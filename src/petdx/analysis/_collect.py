"""What the analyses share: the collector that records problems, and the seeded settings."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from petdx.analysis.results import Summary
from petdx.errors import PetdxError, PetdxWarning

__all__ = ["N_BOOTSTRAP", "SEED", "Collector", "as_bool", "iqr_summary"]

#: Bootstrap replicates for ROC bands and cut-off intervals (seeded: results reproducible).
N_BOOTSTRAP = 1000
SEED = 20260401


class Collector:
    """Runs analyses, turning statistics warnings into recorded problems.

    Only petdx's own errors (the data do not allow an analysis: too few patients, one class
    only, no events; :mod:`petdx.stats` raises them with the reason) become "not computed"
    problems; any other exception is a programming error and fails the run.
    """

    def __init__(self) -> None:
        self.problems: list[str] = []

    def run(self, what: str, func: Any, *args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", PetdxWarning)
            try:
                result = func(*args, **kwargs)
            except PetdxError as exc:  # the data do not allow it: reported, not fatal
                self.problems.append(f"{what}: not computed ({exc})")
                return None
        for warning in caught:
            if issubclass(warning.category, PetdxWarning):
                self.problems.append(f"{what}: {warning.message}")
        return result


def as_bool(series: pd.Series) -> np.ndarray:
    """A boolean column (no missing values left) as a numpy array."""
    return series.astype(bool).to_numpy()


def iqr_summary(values: pd.Series) -> Summary:
    """n, median, quartiles, min and max of the numeric values (n = 0 when none)."""
    v = pd.to_numeric(values, errors="coerce").dropna()
    if v.empty:
        return Summary(0, None, None, None)
    return Summary(
        n=int(v.size),
        median=float(v.median()),
        q1=float(v.quantile(0.25)),
        q3=float(v.quantile(0.75)),
        min=float(v.min()),
        max=float(v.max()),
    )
