"""Agreement between readers or methods, and rank correlation.

* Cohen's kappa for two raters, unweighted or with linear / quadratic disagreement weights
  (statsmodels underneath). Interval: ``kappa +/- z SE`` with the large-sample SE of Fleiss,
  Cohen & Everitt (1969); test of kappa = 0 with the SE under the null (as SAS PROC FREQ
  AGREE; linear weights are SAS's default Cicchetti-Allison weights).
* Fleiss' kappa for several raters (statsmodels underneath), with a subject-bootstrap
  percentile interval (seeded).
* Intraclass correlation, the six forms of Shrout & Fleiss (1979) from the two-way ANOVA mean
  squares, with their F tests and exact F-based intervals (ICC(2,.) with Satterthwaite's
  approximate degrees of freedom, as Shrout & Fleiss and McGraw & Wong 1996).
* Bland-Altman: bias (mean difference, t interval) and 95 % limits of agreement
  ``bias +/- 1.96 SD`` with intervals either approximate, ``SE = SD sqrt(1/n + z^2/(2(n-1)))``
  (Bland & Altman 1999), or exact by the non-central t distribution (Carkeet 2015).
* Spearman's rho (scipy; p-value from the t approximation, as R ``cor.test(exact=FALSE)``)
  with an interval by Fisher's z using the variance of Bonett & Wright (2000), ``(1 + r^2/2) /
  (n - 3)`` (default), or of Fieller, Hartley & Pearson (1957), ``1.06/(n - 3)``, or a pair
  bootstrap.

References
----------
Cohen J. A coefficient of agreement for nominal scales. Educ Psychol Meas 1960;20:37-46.
doi:10.1177/001316446002000104
Fleiss JL, Cohen J, Everitt BS. Large sample standard errors of kappa and weighted kappa.
Psychol Bull 1969;72:323-327. doi:10.1037/h0028106
Fleiss JL. Measuring nominal scale agreement among many raters. Psychol Bull 1971;76:378-382.
doi:10.1037/h0031619
Shrout PE, Fleiss JL. Intraclass correlations: uses in assessing rater reliability. Psychol
Bull 1979;86:420-428. doi:10.1037/0033-2909.86.2.420
McGraw KO, Wong SP. Forming inferences about some intraclass correlation coefficients.
Psychol Methods 1996;1:30-46. doi:10.1037/1082-989X.1.1.30
Bland JM, Altman DG. Measuring agreement in method comparison studies. Stat Methods Med Res
1999;8:135-160. doi:10.1177/096228029900800204
Carkeet A. Exact parametric confidence intervals for Bland-Altman limits of agreement. Optom
Vis Sci 2015;92:e71-e80. doi:10.1097/OPX.0000000000000513
Bonett DG, Wright TA. Sample size requirements for estimating Pearson, Kendall and Spearman
correlations. Psychometrika 2000;65:23-28. doi:10.1007/BF02294183
Fieller EC, Hartley HO, Pearson ES. Tests for rank correlation coefficients. I. Biometrika
1957;44:470-481. doi:10.1093/biomet/44.3-4.470
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from petdx.errors import InputValidationError
from petdx.stats import _validate
from petdx.stats.bootstrap import (
    check_replicates,
    dropped_message,
    percentile_interval,
    resample_counts,
)
from petdx.stats.enums import IccForm, KappaWeights, SpearmanCi
from petdx.stats.results import (
    Estimate,
    HypothesisTest,
    dataclass_dict,
    format_number,
    warn_undefined,
)

__all__ = [
    "BlandAltmanResult",
    "IccEstimate",
    "KappaResult",
    "bland_altman",
    "cohen_kappa",
    "cohen_kappa_table",
    "fleiss_kappa",
    "icc",
    "spearman",
]


@dataclass(frozen=True)
class KappaResult:
    """A kappa coefficient with its interval and the test of kappa = 0."""

    kappa: Estimate
    z: float
    p_value: float
    weights: KappaWeights
    categories: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def __str__(self) -> str:
        return f"{self.kappa}; z = {format_number(self.z, 3)}, p = {self.p_value:.4g}"


def cohen_kappa_table(
    table: Any,
    *,
    weights: KappaWeights | str = KappaWeights.NONE,
    confidence_level: float = 0.95,
    categories: Sequence[str] | None = None,
) -> KappaResult:
    """Cohen's kappa of a square table of counts (rows: rater 1, columns: rater 2).

    For weighted kappa the row/column order is the category order.
    """
    from statsmodels.stats.inter_rater import cohens_kappa

    w = _validate.as_enum(KappaWeights, weights, "weights")
    level = _validate.confidence(confidence_level)
    counts = np.asarray(table, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] < 1:
        raise InputValidationError(
            f"kappa: expected a square table (rater 1 x rater 2 categories); got {counts.shape}."
        )
    if (counts < 0).any():
        raise InputValidationError("kappa: counts cannot be negative.")
    n = int(counts.sum())
    name = "kappa" if w is KappaWeights.NONE else f"kappa_{w.value}"
    method = (
        "Cohen's kappa, Fleiss-Cohen-Everitt 1969 SE"
        if w is KappaWeights.NONE
        else f"weighted kappa ({w.value} disagreement weights), Fleiss-Cohen-Everitt 1969 SE"
    )
    cats = tuple(categories) if categories is not None else tuple(map(str, range(len(counts))))
    # (po - pe) / (1 - pe) is 0/0 without subjects, or with every rating in one category
    # (po = pe = 1): NaN in R (irr::kappa2), NaN with the reason here.
    degenerate = None
    if n == 0:
        degenerate = f"{name}: undefined, no subjects were rated (the table is empty)"
    elif np.count_nonzero(counts.sum(axis=0) + counts.sum(axis=1)) < 2:
        degenerate = f"{name}: undefined, every rating is in one category (po = pe = 1, 0/0)"
    if degenerate is not None:
        est = Estimate.undefined(name, method, n, degenerate, confidence_level=level)
        return KappaResult(est, math.nan, math.nan, w, cats)
    with np.errstate(invalid="ignore", divide="ignore"):
        res = cohens_kappa(counts, wt=None if w is KappaWeights.NONE else w.value)
    kappa, variance = float(res.kappa), float(res.var_kappa)
    if -1e-12 < variance < 0.0:
        variance = 0.0  # rounding of an exact 0 (perfect agreement)
    se = math.sqrt(variance) if variance >= 0.0 else math.nan
    if not math.isfinite(kappa):
        est = Estimate.undefined(
            name,
            method,
            n,
            f"{name}: undefined (all ratings in one category)",
            confidence_level=level,
        )
        return KappaResult(est, math.nan, math.nan, w, cats)
    if math.isnan(se):
        reason = f"{name}: the estimated variance is negative ({variance:.3g}); no interval"
        est = Estimate.undefined(name, method, n, reason, confidence_level=level, estimate=kappa)
        return KappaResult(est, float(res.z_value), float(res.pvalue_two_sided), w, cats)
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    z_test, p_test = float(res.z_value), float(res.pvalue_two_sided)
    warns: tuple[str, ...] = ()
    if not math.isfinite(z_test):
        # pe = 1 - sum of off-diagonal expected shares is such that the variance under
        # kappa = 0 is 0: each rater used a single category (different ones)
        warns = (
            warn_undefined(
                f"{name}: the variance under kappa = 0 is 0 (each rater used one category), "
                "so the test of kappa = 0 is undefined (z and p NaN)"
            ),
        )
        z_test, p_test = math.nan, math.nan
    est = Estimate(
        name, kappa, kappa - z * se, kappa + z * se, method, n, level, se=se, warnings=warns
    )
    return KappaResult(est, z_test, p_test, w, cats)


def cohen_kappa(
    rater_1: Any,
    rater_2: Any,
    *,
    weights: KappaWeights | str = KappaWeights.NONE,
    categories: Sequence[Any] | None = None,
    confidence_level: float = 0.95,
) -> KappaResult:
    """Cohen's kappa of two raters' labels of the same subjects.

    Parameters
    ----------
    rater_1, rater_2 : array
        Labels (any values) of each subject by each rater.
    weights : {"none", "linear", "quadratic"}
    categories : sequence, optional
        The categories in their order (needed for weighted kappa of text labels); default the
        sorted distinct labels. A label outside ``categories`` is an error.
    """
    a = np.asarray(rater_1, dtype=object)
    b = np.asarray(rater_2, dtype=object)
    _validate.same_length(rater_1=a, rater_2=b)
    cats = list(categories) if categories is not None else sorted(set(a) | set(b))
    index = {c: i for i, c in enumerate(cats)}
    table = np.zeros((len(cats), len(cats)))
    for row, (u, v) in enumerate(zip(a, b, strict=True)):
        if u not in index or v not in index:
            bad = u if u not in index else v
            raise InputValidationError(
                f"kappa: subject {row} has label {bad!r}, which is not one of the categories "
                f"{cats}."
            )
        table[index[u], index[v]] += 1
    return cohen_kappa_table(
        table, weights=weights, confidence_level=confidence_level, categories=[str(c) for c in cats]
    )


def _fleiss_from_counts(counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Fleiss' kappa of subject-by-category counts for each row of subject weights."""
    m = counts.sum(axis=1)[0]
    total = weights.sum(axis=1)
    p_j = (weights @ counts) / (total[:, None] * m)
    p_i = ((counts**2).sum(axis=1) - m) / (m * (m - 1))
    p_bar = (weights @ p_i) / total
    p_e = (p_j**2).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray((p_bar - p_e) / (1 - p_e))


def fleiss_kappa(
    ratings: Any,
    *,
    confidence_level: float = 0.95,
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> Estimate:
    """Fleiss' kappa of several raters, with a subject-bootstrap percentile interval.

    Parameters
    ----------
    ratings : 2-D array (subjects x raters)
        Category of each subject by each rater (every rater rates every subject).
    """
    from statsmodels.stats.inter_rater import aggregate_raters
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    level = _validate.confidence(confidence_level)
    data = np.asarray(ratings, dtype=object)
    if data.ndim != 2 or data.shape[1] < 2 or data.shape[0] < 2:
        raise InputValidationError(
            f"Fleiss' kappa: expected subjects x raters with at least 2 of each; got shape "
            f"{data.shape}."
        )
    cats = sorted(set(data.ravel()), key=str)
    coded = np.vectorize({c: i for i, c in enumerate(cats)}.__getitem__)(data)
    counts, _ = aggregate_raters(coded, n_cat=len(cats))
    reps = check_replicates(n_bootstrap)
    method = f"Fleiss 1971; subject bootstrap percentile ({reps} replicates, seed {seed})"
    if len(cats) < 2:
        # Pbar = Pe = 1: (Pbar - Pe) / (1 - Pe) is 0/0, NaN in R (irr::kappam.fleiss)
        reason = "Fleiss' kappa: undefined, every rating is in one category (0/0)"
        return Estimate.undefined(
            "fleiss_kappa", method, int(data.shape[0]), reason, confidence_level=level
        )
    kappa = float(sm_fleiss(counts, method="fleiss"))
    weights = resample_counts(np.random.default_rng(seed), counts.shape[0], reps)
    values = _fleiss_from_counts(counts.astype(np.float64), weights)
    low, high, dropped = percentile_interval(values, level)
    warns: tuple[str, ...] = ()
    if dropped:
        warns = (warn_undefined("Fleiss' kappa: " + dropped_message(dropped, reps, "kappa")),)
    return Estimate(
        "fleiss_kappa", kappa, low, high, method, int(data.shape[0]), level, warnings=warns
    )


@dataclass(frozen=True)
class IccEstimate:
    """One Shrout-Fleiss ICC form with its interval and F test of ICC = 0."""

    form: IccForm
    estimate: Estimate
    f: float
    df1: float
    df2: float
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def __str__(self) -> str:
        return (
            f"{self.form.value}: {self.estimate}; F({self.df1:g}, {self.df2:g}) = "
            f"{self.f:.3g}, p = {self.p_value:.4g}"
        )


def icc(
    ratings: Any,
    *,
    forms: Sequence[IccForm | str] | None = None,
    confidence_level: float = 0.95,
) -> list[IccEstimate]:
    """Intraclass correlations of Shrout & Fleiss (1979) with F-based intervals.

    Parameters
    ----------
    ratings : 2-D array of float (subjects x raters)
        Complete data: every rater measures every subject (no NaN).
    forms : sequence of IccForm, optional
        Default all six: ICC1, ICC2, ICC3 (single rater) and ICC1k, ICC2k, ICC3k (mean of the
        k raters). ICC2 is absolute agreement with random raters; ICC3 consistency with fixed
        raters.

    Returns
    -------
    list of IccEstimate
    """
    level = _validate.confidence(confidence_level)
    x = np.asarray(ratings, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise InputValidationError(
            f"ICC: expected subjects x raters with at least 2 of each; got shape {x.shape}."
        )
    if not np.isfinite(x).all():
        row = int(np.flatnonzero(~np.isfinite(x).all(axis=1))[0])
        raise InputValidationError(
            f"ICC: subject {row} has a missing rating; the ANOVA forms need complete data."
        )
    chosen = [_validate.as_enum(IccForm, f, "form") for f in (forms or list(IccForm))]
    n, k = x.shape
    ss_rows, ss_cols, ss_err = _icc_sums_of_squares(x)
    msr = ss_rows / (n - 1)
    msc = ss_cols / (k - 1)
    mse = ss_err / ((n - 1) * (k - 1))
    msw = (ss_cols + ss_err) / (n * (k - 1))
    alpha = 1.0 - level
    q = 1.0 - alpha / 2.0
    out = []
    for form in chosen:
        denominator = msw if form in (IccForm.ICC1, IccForm.ICC1K) else mse
        method = f"Shrout & Fleiss 1979 {form.value}, F-based interval"
        if denominator == 0.0:
            out.append(_icc_without_error_variance(form, msr, msc, n, k, method, level))
            continue
        if form in (IccForm.ICC1, IccForm.ICC1K):
            f, df1, df2 = msr / msw, n - 1.0, n * (k - 1.0)
        else:
            f, df1, df2 = msr / mse, n - 1.0, (n - 1.0) * (k - 1.0)
        p = float(stats.f.sf(f, df1, df2))
        f_low = f / stats.f.ppf(q, df1, df2)
        f_high = f * stats.f.ppf(q, df2, df1)
        if form is IccForm.ICC1:
            value = (msr - msw) / (msr + (k - 1) * msw)
            low, high = (f_low - 1) / (f_low + k - 1), (f_high - 1) / (f_high + k - 1)
        elif form is IccForm.ICC1K:
            value = (msr - msw) / msr
            low, high = 1 - 1 / f_low, 1 - 1 / f_high
        elif form is IccForm.ICC3:
            value = (msr - mse) / (msr + (k - 1) * mse)
            low, high = (f_low - 1) / (f_low + k - 1), (f_high - 1) / (f_high + k - 1)
        elif form is IccForm.ICC3K:
            value = (msr - mse) / msr
            low, high = 1 - 1 / f_low, 1 - 1 / f_high
        else:
            single = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
            fj = msc / mse
            num = (
                (k - 1) * (n - 1) * (k * single * fj + n * (1 + (k - 1) * single) - k * single) ** 2
            )
            den = (n - 1) * k**2 * single**2 * fj**2 + (
                n * (1 + (k - 1) * single) - k * single
            ) ** 2
            v = num / den
            f_u = stats.f.ppf(q, n - 1, v)
            f_l = stats.f.ppf(q, v, n - 1)
            low = n * (msr - f_u * mse) / (f_u * (k * msc + (k * n - k - n) * mse) + n * msr)
            high = n * (f_l * msr - mse) / (k * msc + (k * n - k - n) * mse + n * f_l * msr)
            value = single
            if form is IccForm.ICC2K:
                value = (msr - mse) / (msr + (msc - mse) / n)
                low, high = low * k / (1 + low * (k - 1)), high * k / (1 + high * (k - 1))
        est = Estimate(form.value, float(value), float(low), float(high), method, n, level)
        out.append(IccEstimate(form, est, float(f), df1, df2, p))
    return out


def _icc_sums_of_squares(x: np.ndarray) -> tuple[float, float, float]:
    """Two-way ANOVA sums of squares (subjects, raters, residual), rounding clamped.

    The residual sum of squares is summed from the residuals themselves (never negative,
    unlike ``SS_total - SS_rows - SS_cols``), and a sum no larger than what rounding of the
    data can produce (``n k (64 eps max|x|)^2``) is exactly 0: perfect agreement gives
    ``SS_err = 0``, not 1e-30 or -1e-15.
    """
    n, k = x.shape
    grand = x.mean()
    row_means = x.mean(axis=1)
    col_means = x.mean(axis=0)
    tol = n * k * (64.0 * np.finfo(float).eps * float(np.abs(x).max())) ** 2
    residual = x - row_means[:, None] - col_means[None, :] + grand
    sums = (
        k * float(np.sum((row_means - grand) ** 2)),
        n * float(np.sum((col_means - grand) ** 2)),
        float(np.sum(residual**2)),
    )
    rows, cols, err = (0.0 if value <= tol else value for value in sums)
    return rows, cols, err


def _icc_without_error_variance(
    form: IccForm, msr: float, msc: float, n: int, k: int, method: str, level: float
) -> IccEstimate:
    """An ICC whose F-test denominator (MSE, or MSW for ICC1) is 0: perfect agreement.

    With subject variance (MSR > 0) F is infinite and p 0 (as psych ``ICC``); ICC1, ICC1k,
    ICC3 and ICC3k are 1, ICC2 and ICC2k ``MSR / (MSR + k MSC / n)`` (and its k-rater form),
    which is below 1 when raters differ by a constant. The F-based interval has no finite
    limits and is NaN, warned. Without subject variance (MSR = 0) the ICC is 0/0: NaN, warned.
    """
    df1 = n - 1.0
    df2 = n * (k - 1.0) if form in (IccForm.ICC1, IccForm.ICC1K) else (n - 1.0) * (k - 1.0)
    if msr == 0.0:
        reason = (
            f"ICC {form.value}: undefined, every rating is the same (no variance between "
            "subjects and none between ratings)"
        )
        est = Estimate.undefined(form.value, method, n, reason, confidence_level=level)
        return IccEstimate(form, est, math.nan, df1, df2, math.nan)
    if form is IccForm.ICC2:
        value = msr / (msr + k * msc / n)
    elif form is IccForm.ICC2K:
        value = msr / (msr + msc / n)
    else:
        value = 1.0
    reason = (
        f"ICC {form.value}: the residual variance is 0 (perfect agreement up to rater "
        "offsets), so F is infinite, p = 0 and the F-based interval is undefined"
    )
    est = Estimate.undefined(form.value, method, n, reason, confidence_level=level, estimate=value)
    return IccEstimate(form, est, math.inf, df1, df2, 0.0)


@dataclass(frozen=True)
class BlandAltmanResult:
    """Bias and limits of agreement of two methods (differences ``x - y``)."""

    bias: Estimate
    lower_limit: Estimate
    upper_limit: Estimate
    sd_difference: float
    multiplier: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def __str__(self) -> str:
        return (
            f"Bland-Altman (n={self.n}, SD of differences {self.sd_difference:.4g})\n"
            f"  {self.bias}\n  {self.lower_limit}\n  {self.upper_limit}"
        )


def bland_altman(
    x: Any,
    y: Any,
    *,
    confidence_level: float = 0.95,
    limits: str = "approximate",
    coverage: float = 0.95,
) -> BlandAltmanResult:
    """Bland-Altman bias and limits of agreement of paired measurements, with intervals.

    Parameters
    ----------
    x, y : array of float
        The two methods' values of the same subjects; differences are ``x - y``.
    confidence_level : float
        Level of the intervals of the bias and of each limit.
    limits : {"approximate", "exact"}
        Interval of each limit: Bland & Altman (1999) normal-theory SE, or exact by the
        non-central t distribution (Carkeet 2015).
    coverage : float
        Proportion of differences the limits should cover (0.95: ``bias +/- 1.96 SD``).
    """
    level = _validate.confidence(confidence_level)
    cover = _validate.confidence(coverage)
    if limits not in ("approximate", "exact"):
        raise InputValidationError(f"limits: expected approximate or exact; got {limits!r}.")
    a = _validate.scores(x, "x")
    b = _validate.scores(y, "y")
    _validate.same_length(x=a, y=b)
    d = a - b
    n = int(d.size)
    if n < 3:
        raise InputValidationError(f"Bland-Altman: expected at least 3 pairs; got {n}.")
    bias, sd = float(d.mean()), float(d.std(ddof=1))
    z = float(stats.norm.ppf(0.5 + cover / 2.0))
    t = float(stats.t.ppf(0.5 + level / 2.0, n - 1))
    se_bias = sd / math.sqrt(n)
    bias_est = Estimate(
        "bias",
        bias,
        bias - t * se_bias,
        bias + t * se_bias,
        "mean difference, t interval",
        n,
        level,
        se=se_bias,
    )
    lower, upper = bias - z * sd, bias + z * sd
    if limits == "approximate":
        se = sd * math.sqrt(1.0 / n + z * z / (2.0 * (n - 1)))
        method = "Bland & Altman 1999 approximate interval"
        lo_ci = (lower - t * se, lower + t * se)
        up_ci = (upper - t * se, upper + t * se)
    else:
        nc = z * math.sqrt(n)
        g_low = float(stats.nct.ppf(0.5 - level / 2.0, n - 1, nc)) / math.sqrt(n)
        g_high = float(stats.nct.ppf(0.5 + level / 2.0, n - 1, nc)) / math.sqrt(n)
        method = "exact non-central t interval (Carkeet 2015)"
        up_ci = (bias + g_low * sd, bias + g_high * sd)
        lo_ci = (bias - g_high * sd, bias - g_low * sd)
        se = math.nan
    label = f"{100 * cover:g}% limit of agreement ({z:.3g} SD); {method}"
    return BlandAltmanResult(
        bias_est,
        Estimate("lower_limit", lower, *lo_ci, label, n, level, se=se),
        Estimate("upper_limit", upper, *up_ci, label, n, level, se=se),
        sd,
        z,
        n,
    )


def spearman(
    x: Any,
    y: Any,
    *,
    method: SpearmanCi | str = SpearmanCi.BONETT_WRIGHT,
    confidence_level: float = 0.95,
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> HypothesisTest:
    """Spearman's rank correlation with its interval and the test of rho = 0.

    Returns
    -------
    HypothesisTest
        ``statistic`` is rho (``statistic_name`` "rho"), p from the t approximation;
        ``effect`` is rho with its interval (method named).
    """
    kind = _validate.as_enum(SpearmanCi, method, "method")
    level = _validate.confidence(confidence_level)
    a = _validate.scores(x, "x")
    b = _validate.scores(y, "y")
    _validate.same_length(x=a, y=b)
    n = int(a.size)
    if n < 4:
        raise InputValidationError(f"Spearman: expected at least 4 pairs; got {n}.")
    constant = [name for name, v in (("x", a), ("y", b)) if np.ptp(v) == 0.0]
    if constant:
        # the ranks do not vary: rho is 0/0 (R cor.test: NA, "the standard deviation is zero")
        reason = (
            f"Spearman: {' and '.join(constant)} constant, so the rank correlation is undefined "
            "(0/0)"
        )
        effect_nan = Estimate.undefined(
            "spearman_rho", f"{kind.value} interval", n, reason, confidence_level=level
        )
        return HypothesisTest(
            "spearman",
            math.nan,
            math.nan,
            "Spearman rank correlation, t approximation",
            n,
            "rho",
            effect=effect_nan,
            warnings=effect_nan.warnings,
        )
    res = stats.spearmanr(a, b)
    rho, p = float(res.statistic), float(res.pvalue)
    warns: tuple[str, ...] = ()
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    if kind is SpearmanCi.BOOTSTRAP:
        reps = check_replicates(n_bootstrap)
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, n, size=(reps, n))
        ra = stats.rankdata(a[idx], axis=1)
        rb = stats.rankdata(b[idx], axis=1)
        ra -= ra.mean(axis=1, keepdims=True)
        rb -= rb.mean(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            values = (ra * rb).sum(1) / np.sqrt((ra**2).sum(1) * (rb**2).sum(1))
        low, high, dropped = percentile_interval(values, level)
        label = f"pair bootstrap percentile ({reps} replicates, seed {seed})"
        if dropped:
            warns = (warn_undefined("Spearman: " + dropped_message(dropped, reps, "correlation")),)
    else:
        var = (1 + rho * rho / 2) / (n - 3) if kind is SpearmanCi.BONETT_WRIGHT else 1.06 / (n - 3)
        centre = math.atanh(min(max(rho, -0.999999999999), 0.999999999999))
        low = math.tanh(centre - z * math.sqrt(var))
        high = math.tanh(centre + z * math.sqrt(var))
        label = (
            "Fisher z, Bonett & Wright 2000 variance"
            if kind is SpearmanCi.BONETT_WRIGHT
            else "Fisher z, Fieller et al. 1957 variance"
        )
    effect = Estimate("spearman_rho", rho, low, high, label, n, level, warnings=warns)
    return HypothesisTest(
        "spearman",
        rho,
        p,
        "Spearman rank correlation, t approximation",
        n,
        "rho",
        effect=effect,
        warnings=warns,
    )
