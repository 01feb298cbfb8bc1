"""Survival analysis: Kaplan-Meier with R-compatible median CIs, log-rank, Cox PH, grouping.

* Kaplan-Meier: lifelines ``KaplanMeierFitter`` gives the product-limit estimate; petdx adds
  the Greenwood variance and the pointwise interval with R ``survfit``'s transforms:
  ``conf_type="log"`` (R's default: ``S exp(+/- z se)`` with ``se = sqrt(sum d/(n(n-d)))``,
  upper limit capped at 1), ``"log-log"`` (lifelines' default, "exponential Greenwood") or
  ``"plain"``. The default here is R's, so the numbers match what reviewers see from R.
* Median survival and its interval follow R ``quantile.survfit``: the median is the first time
  the curve reaches 0.5 or below (the midpoint of a flat stretch lying exactly at 0.5); the
  lower / upper limits are the times at which the lower / upper pointwise band reaches 0.5.
  A limit that is never reached is NaN ("not reached").
* Log-rank test as R ``survdiff`` (``rho = 0``), optionally stratified: the statistic sums the
  observed-minus-expected vectors and their variances over strata (R
  ``survdiff(... + strata(s))``); degenerate data (no event, singular variance) warn and give
  a NaN p-value.
* Cox proportional hazards (lifelines ``CoxPHFitter``, Efron's method for ties, as R
  ``coxph``'s default): coefficient, SE, hazard ratio with Wald interval, Wald p, Harrell's
  concordance, and per covariate the Grambsch-Therneau test of proportional hazards on the
  scaled Schoenfeld residuals against the Kaplan-Meier-transformed time (lifelines
  ``proportional_hazard_test``: right-continuous KM transform; R ``cox.zph`` 2.x used the
  left-continuous one and 3.x an exact score test, docs/stats.md).
* Grouping of a continuous marker: at the median, at a pre-specified cut-off, or at the
  Youden cut-off of an ROC curve on the same patients, which is optimistic and warned with an
  :class:`~petdx.errors.OptimismWarning`.

References
----------
Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. J Am Stat Assoc
1958;53:457-481. doi:10.1080/01621459.1958.10501452
Brookmeyer R, Crowley J. A confidence interval for the median survival time. Biometrics
1982;38:29-41. doi:10.2307/2530286
Therneau TM, Grambsch PM. Modeling Survival Data: Extending the Cox Model. Springer, 2000.
doi:10.1007/978-1-4757-3294-8
Grambsch PM, Therneau TM. Proportional hazards tests and diagnostics based on weighted
residuals. Biometrika 1994;81:515-526. doi:10.1093/biomet/81.3.515
Efron B. The efficiency of Cox's likelihood function for censored data. J Am Stat Assoc
1977;72:557-565. doi:10.1080/01621459.1977.10480613
Altman DG, Lausen B, Sauerbrei W, Schumacher M. Dangers of using "optimal" cutpoints in the
evaluation of prognostic factors. J Natl Cancer Inst 1994;86:829-835.
doi:10.1093/jnci/86.11.829
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from petdx.errors import InputValidationError, OptimismWarning
from petdx.stats import _validate
from petdx.stats._validate import FloatArray
from petdx.stats.enums import KmConfType, RocDirection
from petdx.stats.results import Estimate, HypothesisTest, dataclass_dict, json_ready, warn_undefined
from petdx.stats.roc import optimal_cutoff, roc_curve

__all__ = [
    "CoxResult",
    "CoxTerm",
    "GroupSplit",
    "KaplanMeierResult",
    "cox_regression",
    "kaplan_meier",
    "logrank_test",
    "split_groups",
]

#: lifelines' Newton-Raphson stopping rule for Cox fits. Its default (``precision`` 1e-7 on
#: the step norm and on the Newton decrement, ``r_precision`` 1e-9 on the relative change of
#: the log-likelihood) stops with the last step not applied: coefficients up to 4e-3 (median
#: 1.3e-6) relative from R coxph's. Stopping on a Newton decrement below 1e-20 (a step of
#: about 1e-10) and never on the log-likelihood, which is flat to rounding well before the
#: coefficients are, agrees with R coxph (Efron) to about 2e-9 (tests/stats/r_oracle).
_COX_FIT_OPTIONS = {"precision": 1e-20, "r_precision": 0.0, "max_steps": 60}

#: R quantile.survfit's tolerance, sqrt(.Machine$double.eps).
_TOL = math.sqrt(np.finfo(float).eps)


def _survival_quantile(times: FloatArray, surv: FloatArray, p: float) -> float:
    """First time a survival curve reaches 1 - p, R ``quantile.survfit`` semantics.

    ``times`` are the curve's distinct times (event and censoring), ``surv`` its values there
    (NaN where a band is undefined). A flat stretch lying at the quantile (within R's
    tolerance) gives the midpoint of the stretch; a stretch at the end of the curve gives the
    midpoint with the last time.
    """
    x = np.concatenate([[0.0], times])
    y = np.concatenate([[0.0], 1.0 - surv])
    xmax = x[-1]
    finite = ~np.isnan(y)
    if not finite.any() or y[finite].max() + _TOL < p:
        return math.nan
    # R's duplicated(): keep the first time each level (NaN included) is reached
    keep = np.concatenate([[True], (y[1:] != y[:-1]) & ~(np.isnan(y[1:]) & np.isnan(y[:-1]))])
    x, y = x[keep], y[keep]
    defined = ~np.isnan(y)  # approx() drops undefined points but keeps their positions
    hit1 = np.flatnonzero(defined & (y + _TOL >= p))
    hit2 = np.flatnonzero(defined & (y - _TOL >= p))
    i1 = int(hit1[0]) if hit1.size else None
    i2 = int(hit2[0]) if hit2.size else None
    if i1 is not None and not np.isnan(y[-1]) and abs(p - y[-1]) < _TOL:
        return float((x[i1] + xmax) / 2.0)
    if i1 is None or i2 is None:
        return math.nan
    return float((x[i1] + x[i2]) / 2.0)


@dataclass(frozen=True, eq=False)
class KaplanMeierResult:
    """A Kaplan-Meier curve with its pointwise band, median and numbers at risk.

    ``times`` are all distinct observed times (events and censorings); ``n_at_risk`` the
    number at risk just before each, ``n_events`` / ``n_censored`` what happened there.
    ``at_risk_times`` / ``at_risk`` give the numbers at risk at the times the caller chose
    (units with time >= t), ``survival_at`` the estimate there.
    """

    label: str
    n: int
    events: int
    median: Estimate
    conf_type: KmConfType
    confidence_level: float
    times: FloatArray
    n_at_risk: FloatArray
    n_events: FloatArray
    n_censored: FloatArray
    survival: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    at_risk_times: tuple[float, ...] = ()
    at_risk: tuple[int, ...] = ()
    survival_at: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def __str__(self) -> str:
        med = self.median
        return (
            f"{self.label}: n={self.n}, events={self.events}, median "
            f"{_fmt(med.estimate)} ({100 * self.confidence_level:g}% CI {_fmt(med.ci_low)} to "
            f"{_fmt(med.ci_high)}; {med.method})"
        )


def _fmt(value: float) -> str:
    return "not reached" if math.isnan(value) else f"{value:g}"


def _events(event: Any, n: int) -> np.ndarray:
    e = _validate.labels(event, "event")
    if e.size != n:
        raise InputValidationError(f"event: expected {n} values (one per time); got {e.size}.")
    return e


def _times(time: Any) -> FloatArray:
    t = _validate.scores(time, "time")
    if (t < 0).any():
        first = int(np.flatnonzero(t < 0)[0])
        raise InputValidationError(
            f"time: expected non-negative follow-up times; element {first} is {t[first]}."
        )
    return t


def _band(
    surv: FloatArray, greenwood: FloatArray, kind: KmConfType, z: float
) -> tuple[FloatArray, FloatArray]:
    se = np.sqrt(greenwood)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if kind is KmConfType.LOG:
            s = np.where(surv == 0, np.nan, surv)
            return s * np.exp(-z * se), np.minimum(s * np.exp(z * se), 1.0)
        if kind is KmConfType.LOG_LOG:
            s = np.where((surv == 0) | (surv == 1), np.nan, surv)
            centre = np.log(-np.log(s))
            half = z * se / np.abs(np.log(s))
            return np.exp(-np.exp(centre + half)), np.exp(-np.exp(centre - half))
        s = np.where(surv == 0, np.nan, surv)
        return np.maximum(s - z * se * s, 0.0), np.minimum(s + z * se * s, 1.0)


def kaplan_meier(
    time: Any,
    event: Any,
    *,
    conf_type: KmConfType | str = KmConfType.LOG,
    confidence_level: float = 0.95,
    at_times: Sequence[float] = (),
    label: str = "all",
) -> KaplanMeierResult:
    """Kaplan-Meier estimate, pointwise band, median survival with R's interval.

    Parameters
    ----------
    time : array of float
        Follow-up time (any unit, e.g. months), >= 0.
    event : array of bool or 0/1
        True when the event (progression, death) was observed, False when censored.
    conf_type : {"log", "log-log", "plain"}
        Transform of the pointwise interval; "log" is R survfit's default.
    confidence_level : float
    at_times : sequence of float
        Times at which to report the number at risk and the survival estimate.
    label : str
        Name of the group.
    """
    from lifelines import KaplanMeierFitter

    kind = _validate.as_enum(KmConfType, conf_type, "conf_type")
    level = _validate.confidence(confidence_level)
    t = _times(time)
    e = _events(event, t.size)
    if t.size == 0:
        raise InputValidationError(f"Kaplan-Meier ({label}): no patients in the group.")
    fitter = KaplanMeierFitter().fit(t, e, alpha=1.0 - level)
    table = fitter.event_table
    table = table[table["removed"] > 0]
    times = table.index.to_numpy(dtype=np.float64)
    at_risk = table["at_risk"].to_numpy(dtype=np.float64)
    deaths = table["observed"].to_numpy(dtype=np.float64)
    surv = fitter.survival_function_.loc[times].to_numpy(dtype=np.float64).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(deaths > 0, deaths / (at_risk * (at_risk - deaths)), 0.0)
    greenwood = np.cumsum(terms)
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    low, high = _band(surv, greenwood, kind, z)
    median = _survival_quantile(times, surv, 0.5)
    median_low = _survival_quantile(times, low, 0.5)
    median_high = _survival_quantile(times, high, 0.5)
    method = f"Kaplan-Meier; median CI from the {kind.value} pointwise band (R survfit)"
    warns: tuple[str, ...] = ()
    if math.isnan(median):
        warns = (warn_undefined(f"{label}: median survival not reached"),)
    med = Estimate(
        "median_survival",
        median,
        median_low,
        median_high,
        method,
        int(t.size),
        level,
        warnings=warns,
    )
    chosen = tuple(float(v) for v in at_times)
    risk = tuple(int(np.sum(t >= v)) for v in chosen)
    surv_at = tuple(float(fitter.predict(v)) for v in chosen)
    return KaplanMeierResult(
        label,
        int(t.size),
        int(e.sum()),
        med,
        kind,
        level,
        times,
        at_risk,
        deaths,
        table["censored"].to_numpy(dtype=np.float64),
        surv,
        low,
        high,
        chosen,
        risk,
        surv_at,
    )


def _logrank_sums(
    t: FloatArray, e: np.ndarray, codes: np.ndarray, k: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Observed and expected events per group and their covariance matrix (one stratum).

    At every distinct event time with ``d`` events among ``n`` at risk (``n_g`` in group g):
    ``E_g += d n_g / n``, ``V_gh += d (n - d) / (n - 1) * n_g / n * (delta_gh - n_h / n)``
    (the hypergeometric variance; 0 when n = 1), as R ``survdiff`` with ``rho = 0``.
    """
    event_times = np.unique(t[e])
    observed = np.bincount(codes[e], minlength=k).astype(np.float64)
    if event_times.size == 0:
        return observed, np.zeros(k), np.zeros((k, k))
    at_risk = np.empty((event_times.size, k))
    deaths = np.empty((event_times.size, k))
    for g in range(k):
        tg = np.sort(t[codes == g])
        at_risk[:, g] = tg.size - np.searchsorted(tg, event_times, side="left")
        dg = np.sort(t[(codes == g) & e])
        deaths[:, g] = np.searchsorted(dg, event_times, "right") - np.searchsorted(
            dg, event_times, "left"
        )
    n = at_risk.sum(axis=1)
    d = deaths.sum(axis=1)
    share = at_risk / n[:, None]
    expected = (d[:, None] * share).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
    var = np.einsum("t,tg->g", factor, share)
    cov = np.diag(var) - np.einsum("t,tg,th->gh", factor, share, share)
    return observed, expected, cov


def logrank_test(
    time: Any, event: Any, group: Any, *, strata: Any = None, name: str = "logrank"
) -> HypothesisTest:
    """Log-rank test of equal survival across groups, optionally stratified.

    Computed as R ``survdiff`` (``rho = 0``): observed minus expected events and their
    hypergeometric covariance, summed over strata; groups with no expected event (never at
    risk at an event time) are left out, as R does, and the chi-square has (groups kept - 1)
    df. Degenerate data give a warned NaN p-value instead of R's NA or error: no event at all
    (chi-square 0, as R, p undefined), or a singular covariance (e.g. every patient at risk
    at the only event time has the event: no information to compare the groups).

    Parameters
    ----------
    time, event
        As :func:`kaplan_meier`.
    group : array
        Group label of every patient (two or more groups).
    strata : array, optional
        Stratum of every patient; the test is then stratified (R ``strata()``).

    Returns
    -------
    HypothesisTest
        chi-square with (groups - 1) df.

    References
    ----------
    Mantel N. Evaluation of survival data and two new rank order statistics arising in its
    consideration. Cancer Chemother Rep 1966;50:163-170. PMID 5910392
    """
    t = _times(time)
    e = _events(event, t.size)
    g = np.asarray(group)
    _validate.same_length(time=t, group=g)
    levels = np.unique(g)
    if levels.size < 2:
        raise InputValidationError(
            f"log-rank: expected at least two groups; got {levels.size} ({list(levels)})."
        )
    k = int(levels.size)
    codes = np.searchsorted(levels, g)
    if strata is None:
        stratum = np.zeros(t.size, dtype=np.intp)
    else:
        stratum = np.unique(np.asarray(strata), return_inverse=True)[1].reshape(-1)
        _validate.same_length(time=t, strata=stratum)
    observed, expected, cov = np.zeros(k), np.zeros(k), np.zeros((k, k))
    for level in np.unique(stratum):
        rows = stratum == level
        o, x, v = _logrank_sums(t[rows], e[rows], codes[rows], k)
        observed, expected, cov = observed + o, expected + x, cov + v
    method = "log-rank" + (" stratified" if strata is not None else "")
    keep = np.flatnonzero(expected > 0)
    df = float(levels.size - 1)
    if keep.size < 2:
        reason = warn_undefined(
            f"log-rank: {'no events' if not e.any() else 'one group only at risk at the events'}"
            "; there is nothing to compare (chi-square 0, p-value undefined; R prints p = NA)"
        )
        return HypothesisTest(name, 0.0, math.nan, method, int(t.size), "chi2", df, None, (reason,))
    diff = (observed - expected)[keep][1:]
    sub = cov[np.ix_(keep, keep)][1:, 1:]
    df = float(keep.size - 1)
    warns: tuple[str, ...] = ()
    if keep.size < k:
        left = ", ".join(str(levels[i]) for i in range(k) if i not in set(keep.tolist()))
        warns = (
            warn_undefined(
                f"log-rank: group(s) {left} never at risk at an event time, left out (as R); "
                f"{int(df)} df"
            ),
        )
    eigen = np.linalg.eigvalsh(sub)
    # R's solve() refuses a reciprocal condition number below the machine epsilon
    if eigen.max() <= 0 or eigen.min() <= np.finfo(float).eps * eigen.max():
        reason = warn_undefined(
            "log-rank: the variance of observed minus expected events is singular (e.g. "
            "every patient at risk at the only event time had the event), so the groups "
            "cannot be compared; R survdiff stops with 'system is exactly singular'"
        )
        return HypothesisTest(
            name, math.nan, math.nan, method, int(t.size), "chi2", df, None, (*warns, reason)
        )
    chi2 = float(diff @ np.linalg.solve(sub, diff))
    p = float(stats.chi2.sf(chi2, df))
    return HypothesisTest(name, chi2, p, method, int(t.size), "chi2", df, None, warns)


@dataclass(frozen=True)
class CoxTerm:
    """One covariate of a Cox model."""

    term: str
    coef: float
    se: float
    z: float
    p_value: float
    hazard_ratio: Estimate
    ph_test_chi2: float = math.nan
    ph_test_p: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)


@dataclass(frozen=True)
class CoxResult:
    """A fitted Cox proportional-hazards model."""

    terms: tuple[CoxTerm, ...]
    n: int
    events: int
    concordance: float
    log_likelihood: float
    ties: str = "efron"
    ph_test_method: str = (
        "Grambsch-Therneau test on scaled Schoenfeld residuals against 1 - KM(t), the "
        "right-continuous Kaplan-Meier estimate at each event time (lifelines "
        "proportional_hazard_test, time_transform km)"
    )
    ph_time_transform: str = "km"
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def __str__(self) -> str:
        lines = [
            f"Cox PH (ties {self.ties}): n={self.n}, events={self.events}, "
            f"concordance {self.concordance:.3f}"
        ]
        for t in self.terms:
            lines.append(
                f"  {t.term}: coef {t.coef:.4f} (SE {t.se:.4f}), p = {t.p_value:.4g}; "
                f"{t.hazard_ratio}; PH test p = {t.ph_test_p:.3g}"
            )
        return "\n".join(lines)


def cox_regression(
    time: Any,
    event: Any,
    covariates: Mapping[str, Any],
    *,
    confidence_level: float = 0.95,
    strata: Any = None,
    ph_time_transform: str = "km",
) -> CoxResult:
    """Cox proportional-hazards regression with Efron ties (lifelines underneath).

    Parameters
    ----------
    time, event
        As :func:`kaplan_meier`.
    covariates : mapping name -> array of float
        Numeric covariates (code categories as 0/1 columns).
    confidence_level : float
    strata : array, optional
        Stratification variable (separate baseline hazards).
    ph_time_transform : {"km", "rank", "identity", "log"}
        Time transform of the proportional-hazards test ("km": 1 - right-continuous KM).

    Returns
    -------
    CoxResult
        If the fit does not converge (e.g. complete separation), every term is NaN and the
        reason is warned.
    """
    import pandas as pd
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError, ConvergenceWarning
    from lifelines.statistics import proportional_hazard_test

    level = _validate.confidence(confidence_level)
    if ph_time_transform not in ("km", "rank", "identity", "log"):
        raise InputValidationError(
            f"ph_time_transform: expected km, rank, identity or log; got {ph_time_transform!r}."
        )
    t = _times(time)
    e = _events(event, t.size)
    if not covariates:
        raise InputValidationError("Cox: expected at least one covariate.")
    frame = pd.DataFrame({name: _validate.scores(v, name) for name, v in covariates.items()})
    if len(frame) != t.size:
        raise InputValidationError(f"Cox: covariates have {len(frame)} rows, times {t.size}.")
    if t.size == 0:
        raise InputValidationError("Cox: no observations (no patient with follow-up).")
    all_names = list(frame.columns)
    aliased = tuple(name for name in all_names if np.ptp(frame[name].to_numpy()) == 0.0)
    dropped = tuple(
        warn_undefined(
            f"Cox: covariate {name} is constant ({frame[name].iloc[0]:g} in every row), so it "
            "is aliased with the baseline hazard and left out (R coxph gives coefficient NA)"
        )
        for name in aliased
    )
    names = [name for name in all_names if name not in aliased]
    collinear = _collinear(frame[names])
    dropped = (
        *dropped,
        *(
            warn_undefined(
                f"Cox: covariate {name} is a linear combination of {', '.join(others)}, so it "
                "is aliased and left out (R coxph gives coefficient NA)"
            )
            for name, others in collinear.items()
        ),
    )
    aliased = (*aliased, *collinear)
    names = [name for name in names if name not in collinear]
    frame = frame[names]
    frame["_time"], frame["_event"] = t, e.astype(int)
    strata_cols = None
    if strata is not None:
        frame["_strata"] = np.asarray(strata)
        strata_cols = ["_strata"]
    fitter = CoxPHFitter(alpha=1.0 - level)
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    nan = math.nan
    hr_nan = Estimate("hazard_ratio", nan, nan, nan, "Wald", int(t.size), level)
    nan_terms = {name: CoxTerm(name, nan, nan, nan, nan, hr_nan) for name in aliased}
    if not names or not e.any():
        if not e.any():
            # no event: the partial likelihood is constant; R coxph gives coefficient NA
            reason = warn_undefined(
                "Cox: no events, so no hazard ratio can be estimated (R coxph gives NA)"
            )
            dropped = (*dropped, reason)
            nan_terms |= {name: CoxTerm(name, nan, nan, nan, nan, hr_nan) for name in names}
        return CoxResult(
            tuple(nan_terms[n] for n in all_names),
            int(t.size),
            int(e.sum()),
            nan,
            nan,
            warnings=dropped,
        )
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fitter.fit(frame, "_time", "_event", strata=strata_cols, fit_options=_COX_FIT_OPTIONS)
            ph = proportional_hazard_test(fitter, frame, time_transform=ph_time_transform).summary
    except (ConvergenceError, np.linalg.LinAlgError, ValueError) as exc:
        reason = warn_undefined(f"Cox: the model could not be fitted ({exc})")
        failed = tuple(CoxTerm(n, nan, nan, nan, nan, hr_nan) for n in all_names)
        return CoxResult(failed, int(t.size), int(e.sum()), nan, nan, warnings=(*dropped, reason))
    problems = tuple(
        warn_undefined(f"Cox: {str(w.message).split('. ')[0]}; a coefficient may be infinite")
        for w in caught
        if issubclass(w.category, ConvergenceWarning)
    )
    summary = fitter.summary
    # named whether or not lifelines warned about convergence (it does on some numpy/scipy
    # versions and not on others): the warning that names the covariate is the useful one
    problems = (*problems, *_separation_warnings(summary, frame[names]))
    terms: list[CoxTerm] = []
    for name in all_names:
        if name in nan_terms:
            terms.append(nan_terms[name])
            continue
        row = summary.loc[name]
        coef, se = float(row["coef"]), float(row["se(coef)"])
        with np.errstate(over="ignore"):
            bounds = np.exp([coef, coef - z * se, coef + z * se])
        hr = Estimate(
            "hazard_ratio",
            float(bounds[0]),
            float(bounds[1]),
            float(bounds[2]),
            "Wald, exp(coef +/- z SE)",
            int(t.size),
            level,
            se=se,
        )
        terms.append(
            CoxTerm(
                name,
                coef,
                se,
                float(row["z"]),
                float(row["p"]),
                hr,
                float(ph.loc[name, "test_statistic"]),
                float(ph.loc[name, "p"]),
            )
        )
    return CoxResult(
        tuple(terms),
        int(t.size),
        int(e.sum()),
        float(fitter.concordance_index_),
        float(fitter.log_likelihood_),
        ph_time_transform=ph_time_transform,
        warnings=(*dropped, *problems),
    )


def _collinear(covariates: Any) -> dict[str, list[str]]:
    """Covariates that are linear combinations of earlier ones (in the order given), each
    with the earlier covariates it depends on; R coxph leaves such a covariate out (NA) and
    fits the others."""
    kept: list[str] = []
    out: dict[str, list[str]] = {}
    for name in covariates.columns:
        x = covariates[name].to_numpy(float)
        trial = [*kept, name]
        matrix = covariates[trial].to_numpy(float)
        matrix = (matrix - matrix.mean(axis=0)) / matrix.std(axis=0)
        if kept and np.linalg.matrix_rank(matrix) < len(trial):
            out[name] = list(kept)
        elif np.ptp(x) > 0.0:
            kept.append(name)
    return out


#: A log hazard ratio across a covariate's observed range above this (a hazard ratio of
#: e^20, about 5e8) is not an estimate but a monotone partial likelihood (Bryson & Johnson
#: 1981): the events separate perfectly on the covariate and the coefficient is infinite.
_SEPARATION_LOG_HR = 20.0


def _separation_warnings(summary: Any, covariates: Any) -> tuple[str, ...]:
    """Warnings for coefficients that run off to infinity (perfect separation), whether or
    not the fit warned about its convergence; R coxph warns "Ran out of iterations and did
    not converge" or "coefficient may be infinite" here."""
    out = []
    for name in covariates.columns:
        coef = float(summary.loc[name, "coef"])
        spread = float(np.ptp(covariates[name].to_numpy()))
        if abs(coef) * spread > _SEPARATION_LOG_HR:
            out.append(
                warn_undefined(
                    f"Cox: covariate {name} separates the events perfectly (log hazard ratio "
                    f"{abs(coef) * spread:.3g} across its range), so its coefficient may be "
                    "infinite and its interval and p-value are meaningless (R coxph warns that "
                    "it ran out of iterations)"
                )
            )
    return tuple(out)


@dataclass(frozen=True, eq=False)
class GroupSplit:
    """A continuous marker split into "low" and "high" at ``cutoff`` (value >= cutoff is
    "high" for direction "higher"; <= for "lower")."""

    labels: np.ndarray
    cutoff: float
    rule: str
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "cutoff": json_ready(self.cutoff),
            "rule": self.rule,
            "labels": json_ready(self.labels),
            "warnings": list(self.warnings),
        }


def split_groups(
    values: Any,
    *,
    rule: str = "median",
    cutoff: float | None = None,
    truth: Any = None,
    direction: RocDirection | str = RocDirection.HIGHER,
) -> GroupSplit:
    """Split patients into "high" / "low" groups of a marker (e.g. SUVmax) for survival.

    Parameters
    ----------
    values : array of float
    rule : {"median", "cutoff", "roc"}
        "median": at the sample median; "cutoff": at the pre-specified ``cutoff``; "roc": at
        the Youden cut-off of the marker's ROC curve against ``truth`` on the same patients,
        which overfits the split and is warned (:class:`~petdx.errors.OptimismWarning`).
    cutoff : float
        Required for rule "cutoff".
    truth : array of bool
        Required for rule "roc".
    direction : {"higher", "lower"}
        For "lower" the "high" group is value <= cutoff (the marker's positive side).
    """
    x = _validate.scores(values, "values")
    d = _validate.as_enum(RocDirection, direction, "direction")
    warns: tuple[str, ...] = ()
    if rule == "median":
        cut = float(np.median(x))
        text = "median"
    elif rule == "cutoff":
        if cutoff is None:
            raise InputValidationError("split_groups: rule 'cutoff' needs cutoff=<value>.")
        cut, text = float(cutoff), "pre-specified cut-off"
    elif rule == "roc":
        if truth is None:
            raise InputValidationError("split_groups: rule 'roc' needs truth=<labels>.")
        cut = optimal_cutoff(roc_curve(truth, x, direction=d)).threshold
        text = "Youden cut-off of the ROC curve on the same patients"
        message = (
            "the survival groups are split at a cut-off chosen on the same patients' ROC "
            "curve; hazard ratios and log-rank p-values are optimistic (Altman et al. 1994). "
            "Validate the cut-off in independent patients."
        )
        warnings.warn(message, OptimismWarning, stacklevel=2)
        warns = (message,)
    else:
        raise InputValidationError(
            f"split_groups: expected rule median, cutoff or roc; got {rule!r}."
        )
    high = x >= cut if d is RocDirection.HIGHER else x <= cut
    labels = np.where(high, "high", "low")
    return GroupSplit(labels, cut, text, warns)
