"""The cohort-level test of prolonged retention, lesions clustered in patients (issue 17).

The retention index of a lesion (percent, e.g. the carried-VOI mean's) is compared between
two groups of lesions by ordinary least squares ``RI ~ 1 + group`` with a cluster-robust
(CR1) sandwich variance, patients as clusters, and a t reference distribution with G - 1
degrees of freedom (G patients): statsmodels ``OLS(...).fit(cov_type="cluster",
use_t=True)``. With ``X`` the design, ``e`` the residuals and ``X_g``, ``e_g`` cluster g's
rows::

    V = c (X'X)^-1 [sum_g X_g' e_g e_g' X_g] (X'X)^-1,  c = G/(G-1) * (N-1)/(N-p)

(Cameron & Miller, J Hum Resour 2015;50:317-372, section 2.3 and 6.1; Liang & Zeger 1986).
The coefficient of ``group`` is the difference of the two groups' mean RI.

Pre-specified (docs/validation.md): the primary comparison is PD-L1-positive against
PD-L1-negative malignant lesions; the secondary malignant against benign lesions. The
lesion-level Wilcoxon rank-sum (Mann-Whitney) tests are given as descriptive: they ignore
the clustering.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import statsmodels.api as sm
from scipy import stats as sps

from petdx.errors import InputValidationError
from petdx.stats.results import Estimate, HypothesisTest, dataclass_dict, warn_undefined

__all__ = ["RetentionTests", "clustered_mean_difference", "retention_tests"]

_METHOD = "OLS difference of means, cluster-robust (CR1) SE by patient, t with G-1 df"


def clustered_mean_difference(
    values: Any,
    in_group: Any,
    clusters: Any,
    *,
    name: str = "difference of mean retention index",
    confidence_level: float = 0.95,
) -> HypothesisTest:
    """Mean of ``values`` where ``in_group`` minus where not, with a cluster-robust CI
    and p (module docstring). ``effect`` holds the difference and its interval."""
    y = np.asarray(values, dtype=np.float64)
    g = np.asarray(in_group, dtype=bool)
    ids = np.asarray(clusters)
    if not (y.shape == g.shape == ids.shape) or y.ndim != 1:
        raise InputValidationError(
            "clustered_mean_difference: values, in_group and clusters must be 1-D of one length."
        )
    if not np.isfinite(y).all():
        raise InputValidationError(
            "clustered_mean_difference: a value is missing or not finite; drop those rows."
        )
    _, codes = np.unique(ids, return_inverse=True)
    n_clusters = int(codes.max()) + 1 if len(codes) else 0
    if g.all() or not g.any() or n_clusters < 2:
        reason = (
            "both groups need lesions and at least two patients are needed "
            f"({int(g.sum())} and {int((~g).sum())} lesions, {n_clusters} patients)"
        )
        effect = Estimate.undefined(name, _METHOD, len(y), reason, n_clusters=n_clusters)
        return HypothesisTest(
            name,
            math.nan,
            math.nan,
            _METHOD,
            len(y),
            "t",
            effect=effect,
            warnings=effect.warnings,
        )
    design = np.column_stack([np.ones(len(y)), g.astype(np.float64)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = sm.OLS(y, design).fit(
            cov_type="cluster", cov_kwds={"groups": codes, "use_correction": True}, use_t=True
        )
    low, high = (float(v) for v in fit.conf_int(alpha=1.0 - confidence_level)[1])
    se = float(fit.bse[1])
    notes: tuple[str, ...] = ()
    if not math.isfinite(se) or se == 0:
        notes = (warn_undefined(f"{name}: the cluster-robust SE is {se}"),)
    effect = Estimate(
        name,
        float(fit.params[1]),
        low,
        high,
        _METHOD,
        len(y),
        confidence_level,
        se=se,
        n_clusters=n_clusters,
        warnings=notes,
    )
    return HypothesisTest(
        name,
        float(fit.tvalues[1]),
        float(fit.pvalues[1]),
        _METHOD,
        len(y),
        "t",
        df=float(n_clusters - 1),
        effect=effect,
        warnings=notes,
    )


def _rank_sum(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64], name: str) -> HypothesisTest:
    if len(a) == 0 or len(b) == 0:
        reason = f"{name}: a group has no lesions"
        return HypothesisTest(
            name,
            math.nan,
            math.nan,
            "Wilcoxon rank-sum (descriptive)",
            len(a) + len(b),
            "W",
            warnings=(warn_undefined(reason),),
        )
    result = sps.mannwhitneyu(a, b, alternative="two-sided")
    return HypothesisTest(
        name,
        float(result.statistic),
        float(result.pvalue),
        "Wilcoxon rank-sum, lesions as independent (descriptive: ignores clustering)",
        len(a) + len(b),
        "W",
    )


@dataclass(frozen=True)
class RetentionTests:
    """The pre-specified retention comparisons (module docstring).

    ``primary``: PD-L1-positive minus PD-L1-negative malignant lesions; ``secondary``:
    malignant minus benign lesions; ``descriptive``: the rank-sum tests of the same pairs;
    ``means``: mean RI per group; ``n``: lesions per group.
    """

    value: str
    primary: HypothesisTest
    secondary: HypothesisTest
    descriptive: tuple[HypothesisTest, HypothesisTest]
    means: dict[str, float]
    n: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def __str__(self) -> str:
        lines = [f"Retention ({self.value}), lesions clustered in patients"]
        for test in (self.primary, self.secondary, *self.descriptive):
            lines.append(str(test))
        return "\n".join(lines)


def retention_tests(
    values: Any,
    malignant: Any,
    pdl1_positive: Any,
    clusters: Any,
    *,
    value: str = "ri_voi_mean_pct",
    confidence_level: float = 0.95,
) -> RetentionTests:
    """The primary and secondary comparisons on one row per lesion.

    ``values``: the retention index (NaN rows are left out); ``malignant``: True/False;
    ``pdl1_positive``: True/False, or None/NaN where not known (benign lesions, unsampled
    malignant ones, which then enter only the secondary comparison).
    """
    y = np.asarray(values, dtype=np.float64)
    mal = np.array([_flag(v) for v in malignant], dtype=object)
    pos = np.array([_flag(v) for v in pdl1_positive], dtype=object)
    ids = np.asarray(clusters)
    keep = np.isfinite(y) & np.array([m is not None for m in mal], dtype=bool)
    y, mal, pos, ids = y[keep], mal[keep], pos[keep], ids[keep]
    # boolean arrays built element by element: on an empty object array '== True' is not
    # boolean (a run without lesion data crashed here)
    malignant_rows = np.array([m is True for m in mal], dtype=bool)
    sampled = malignant_rows & np.array([p is not None for p in pos], dtype=bool)
    positive = sampled & np.array([p is True for p in pos], dtype=bool)
    primary = clustered_mean_difference(
        y[sampled],
        positive[sampled],
        ids[sampled],
        name="PD-L1-positive minus PD-L1-negative malignant lesions",
        confidence_level=confidence_level,
    )
    secondary = clustered_mean_difference(
        y,
        malignant_rows,
        ids,
        name="malignant minus benign lesions",
        confidence_level=confidence_level,
    )
    groups = {
        "pdl1_positive": y[positive],
        "pdl1_negative": y[sampled & ~positive],
        "malignant": y[malignant_rows],
        "benign": y[~malignant_rows],
    }
    descriptive = (
        _rank_sum(groups["pdl1_positive"], groups["pdl1_negative"], "PD-L1-positive vs -negative"),
        _rank_sum(groups["malignant"], groups["benign"], "malignant vs benign"),
    )
    return RetentionTests(
        value,
        primary,
        secondary,
        descriptive,
        {k: float(np.mean(v)) if len(v) else math.nan for k, v in groups.items()},
        {k: len(v) for k, v in groups.items()},
    )


def _flag(value: Any) -> bool | None:
    """True/False from booleans or the exchange format's text; None when missing."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if value is None or pd.isna(value):
        return None
    text = str(value).strip().lower()
    if text in ("", "na", "nan", "<na>", "none"):
        return None
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise InputValidationError(f"retention_tests: {value!r} is not true/false.")
