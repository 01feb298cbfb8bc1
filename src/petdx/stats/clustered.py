"""Proportions, accuracy and McNemar tests for units clustered in patients (lesion level).

Lesions of one patient are correlated, so lesion-level sensitivity and friends need a variance
that treats patients as the independent units. The point estimate is the pooled proportion
(ratio estimator) ``p = X / M`` with, for patient k, ``x_k`` successes among ``m_k`` units, and
K patients contributing units:

    var(p) = K / (K - 1) * sum_k (x_k - p m_k)^2 / M^2

(Obuchowski 1998; the ratio-estimator variance of survey sampling, Cochran 1977 section 6.3;
``K/(K - 1)`` is the small-sample factor used throughout). Intervals:

* ``"rao-scott"`` (default): the design effect ``deff = var(p) / (p(1 - p)/M)`` turns the
  counts into effective counts ``M/deff``; the Wilson interval is computed on them (Rao & Scott
  1992). Stays in [0, 1]. When p is 0 or 1 the design effect is not estimable and 1 is used
  (warned).
* ``"ratio"``: Wald interval ``p +/- z sqrt(var(p))``, clipped to [0, 1].
* ``"gee"``: GEE with a logit link and independence working correlation (statsmodels), whose
  estimate is the same pooled proportion; robust (sandwich) variance multiplied by the same
  ``K/(K - 1)``; interval on the logit scale, back-transformed. Undefined at p = 0 or 1.
* ``"bootstrap"``: patients resampled with replacement; percentile interval.

McNemar tests for two tests read on the same clustered units (``b_k``/``c_k``: units of
patient k positive on test 1 only / test 2 only):

* Obuchowski (1998), in the form given by Yang, Sun & Hardin (2010) and implemented in the
  R package clust.bin.pair: ``X2 = (K - 1)/K * (sum b_k - c_k)^2 / sum (b_k - c_k)^2``.
* Durkalski et al. (2003): ``X2 = (sum (b_k - c_k)/n_k)^2 / sum ((b_k - c_k)/n_k)^2``, each
  patient weighted equally; it equals McNemar's statistic when every patient has one unit.

Both are referred to chi-square with 1 df. The effect reported with them is the difference of
the two pooled proportions with the ratio-estimator interval
``K/(K-1) sum_k ((x1_k - x2_k) - n_k d)^2 / N^2``.

References
----------
Obuchowski NA. On the comparison of correlated proportions for clustered data. Stat Med
1998;17:1495-1507. doi:10.1002/(SICI)1097-0258(19980715)17:13<1495::AID-SIM863>3.0.CO;2-I
Rao JNK, Scott AJ. A simple method for the analysis of clustered binary data. Biometrics
1992;48:577-585. doi:10.2307/2532311
Durkalski VL, Palesch YY, Lipsitz SR, Rust PF. Analysis of clustered matched-pair data. Stat
Med 2003;22:2417-2428. doi:10.1002/sim.1438
Yang Z, Sun X, Hardin JW. A note on the tests for clustered matched-pair binary data. Biom J
2010;52:638-652. doi:10.1002/bimj.201000035
Genders TSS, et al. Methods for calculating sensitivity and specificity of clustered data: a
tutorial. Radiology 2012;265:910-916. doi:10.1148/radiol.12120509
"""

from __future__ import annotations

import math
import warnings as _warnings
from typing import Any

import numpy as np
from scipy import stats

from petdx.errors import InputValidationError
from petdx.stats import _validate
from petdx.stats._validate import BoolArray, FloatArray, IntArray
from petdx.stats.accuracy import AccuracyResult, ConfusionCounts, diagnostic_accuracy
from petdx.stats.bootstrap import (
    check_replicates,
    cluster_multiplicities,
    dropped_message,
    percentile_interval,
)
from petdx.stats.enums import ClusteredCi, ClusteredMcNemar
from petdx.stats.results import Estimate, HypothesisTest, warn_undefined

__all__ = ["clustered_accuracy", "clustered_mcnemar", "clustered_proportion"]


def _wilson(p: float, n: float, z: float) -> tuple[float, float]:
    """Wilson score interval for a proportion p observed on a (possibly effective) n."""
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _ratio_variance(x: FloatArray, m: FloatArray) -> tuple[float, float, int]:
    """Pooled proportion, its ratio-estimator variance (with K/(K-1)), and K."""
    keep = m > 0
    x, m = x[keep], m[keep]
    k = int(m.size)
    big_m = float(m.sum())
    p = float(x.sum()) / big_m
    if k < 2:
        return p, math.nan, k
    var = k / (k - 1) * float(np.sum((x - p * m) ** 2)) / big_m**2
    return p, var, k


def _gee_interval(
    success: BoolArray, codes: IntArray, k: int, z: float
) -> tuple[float, float, float]:
    """Logit GEE (independence) robust interval with the K/(K-1) factor: (low, high, se)."""
    from statsmodels.genmod.cov_struct import Independence
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.generalized_estimating_equations import GEE

    y = success.astype(np.float64)
    model = GEE(y, np.ones((y.size, 1)), groups=codes, family=Binomial(), cov_struct=Independence())
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        fit = model.fit()
    beta = float(np.asarray(fit.params)[0])
    se = math.sqrt(float(np.asarray(fit.cov_robust)[0, 0]) * k / (k - 1))
    expit = lambda v: 1.0 / (1.0 + math.exp(-v))  # noqa: E731
    return expit(beta - z * se), expit(beta + z * se), se


def clustered_proportion(
    success: Any,
    cluster: Any,
    *,
    name: str = "proportion",
    method: ClusteredCi | str = ClusteredCi.RAO_SCOTT,
    confidence_level: float = 0.95,
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> Estimate:
    """Pooled proportion of clustered binary units with a cluster-aware interval.

    Parameters
    ----------
    success : array of bool or 0/1
        One value per unit of the denominator (e.g. the test result of every diseased lesion
        for sensitivity).
    cluster : array
        Patient id of every unit.
    name : str
    method : {"rao-scott", "ratio", "gee", "bootstrap"}
        See the module docstring.
    confidence_level : float
    n_bootstrap, seed : int
        Used by ``method="bootstrap"`` only.

    Returns
    -------
    Estimate
        ``n`` units in ``n_clusters`` patients; ``se`` the ratio-estimator SE (logit-scale SE
        for GEE). No units: NaN with a warning; one patient: no interval (warned).
    """
    kind = _validate.as_enum(ClusteredCi, method, "method")
    level = _validate.confidence(confidence_level)
    y = _validate.labels(success, name)
    codes, k_all = _validate.cluster_index(cluster)
    _validate.same_length(**{name: y, "cluster": codes})
    label = {
        ClusteredCi.RAO_SCOTT: "Rao-Scott: Wilson on design-effect-adjusted counts "
        "(ratio-estimator variance, K/(K-1))",
        ClusteredCi.RATIO: "ratio-estimator Wald (Obuchowski 1998), K/(K-1)",
        ClusteredCi.GEE: "GEE logit, independence working correlation, robust variance x K/(K-1)",
        ClusteredCi.BOOTSTRAP: f"cluster bootstrap percentile ({n_bootstrap} replicates, "
        f"seed {seed})",
    }[kind]
    if y.size == 0:
        return Estimate.undefined(
            name,
            label,
            0,
            f"{name}: no units, so it is undefined",
            confidence_level=level,
            n_clusters=0,
        )
    x = np.bincount(codes, weights=y.astype(np.float64), minlength=k_all).astype(np.float64)
    m = np.bincount(codes, minlength=k_all).astype(np.float64)
    p, var, k = _ratio_variance(x, m)
    numerator = int(y.sum())
    if math.isnan(var):
        reason = f"{name}: a cluster-aware interval needs at least two clusters"
        est = Estimate.undefined(
            name, label, y.size, reason, confidence_level=level, estimate=p, n_clusters=k
        )
        return Estimate(**{**est.__dict__, "numerator": numerator})
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    se = math.sqrt(var)
    warnings: tuple[str, ...] = ()
    if kind is ClusteredCi.RATIO:
        low, high = max(0.0, p - z * se), min(1.0, p + z * se)
    elif kind is ClusteredCi.RAO_SCOTT:
        binomial_var = p * (1 - p) / float(m.sum())
        if binomial_var > 0:
            deff = var / binomial_var
        else:
            deff = 1.0
            warnings = (
                warn_undefined(
                    f"{name}: proportion is {p:g}, so the design effect is "
                    "not estimable; 1 was used"
                ),
            )
        n_eff = float(m.sum()) / deff if deff > 0 else float(m.sum())
        low, high = _wilson(p, n_eff, z)
        label += f"; design effect {deff:.3g}"
    elif kind is ClusteredCi.GEE:
        if p in (0.0, 1.0):
            reason = f"{name}: proportion is {p:g}; the logit GEE interval is undefined"
            est = Estimate.undefined(
                name, label, y.size, reason, confidence_level=level, estimate=p, n_clusters=k
            )
            return Estimate(**{**est.__dict__, "numerator": numerator})
        low, high, se = _gee_interval(y, codes, k, z)
    else:
        reps = cluster_multiplicities(
            np.random.default_rng(seed), k_all, check_replicates(n_bootstrap)
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            values = (reps @ x) / (reps @ m)
        low, high, dropped = percentile_interval(values, level)
        if dropped:
            warnings = (warn_undefined(dropped_message(dropped, n_bootstrap, "units")),)
    return Estimate(
        name,
        p,
        low,
        high,
        label,
        int(y.size),
        level,
        se=se,
        numerator=numerator,
        n_clusters=k,
        warnings=warnings,
    )


def _per_cluster_counts(truth: BoolArray, test: BoolArray, codes: IntArray, k: int) -> FloatArray:
    """Columns TP, FP, FN, TN per cluster (rows)."""
    cells = [truth & test, ~truth & test, truth & ~test, ~truth & ~test]
    return np.column_stack(
        [np.bincount(codes, weights=c.astype(float), minlength=k) for c in cells]
    )


def clustered_accuracy(
    truth: Any,
    test: Any,
    cluster: Any,
    *,
    method: ClusteredCi | str = ClusteredCi.RAO_SCOTT,
    confidence_level: float = 0.95,
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> AccuracyResult:
    """Lesion-level accuracy with patients as clusters.

    Sensitivity, specificity, accuracy, PPV, NPV and prevalence use
    :func:`clustered_proportion` with ``method``. LR+, LR-, the DOR and Youden's J have no
    closed-form clustered interval here: theirs is a patient (cluster) bootstrap percentile
    interval (``n_bootstrap`` replicates, ``seed``); point estimates are the pooled ones.
    """
    t = _validate.labels(truth, "truth")
    r = _validate.labels(test, "test")
    codes, k = _validate.cluster_index(cluster)
    _validate.same_length(truth=t, test=r, cluster=codes)
    kind = _validate.as_enum(ClusteredCi, method, "method")
    level = _validate.confidence(confidence_level)
    reps_n = check_replicates(n_bootstrap)

    def prop(name: str, success: BoolArray, mask: BoolArray) -> Estimate:
        return clustered_proportion(
            success[mask],
            codes[mask],
            name=name,
            method=kind,
            confidence_level=level,
            n_bootstrap=reps_n,
            seed=seed,
        )

    every = np.ones_like(t)
    c = ConfusionCounts.from_labels(t, r)
    pooled = diagnostic_accuracy(c.tp, c.fp, c.fn, c.tn, confidence_level=level)
    counts = _per_cluster_counts(t, r, codes, k)
    mult = cluster_multiplicities(np.random.default_rng(seed), k, reps_n)
    boot, corrected, no_class = _bootstrap_ratios(*(mult @ counts).T)
    method_text = (
        f"cluster bootstrap percentile ({reps_n} replicates, seed {seed}; "
        "a replicate ratio with a zero denominator: 0.5 added to each cell)"
    )
    ratios = {}
    for name, values in boot.items():
        point: Estimate = getattr(pooled, name)
        warns = list(point.warnings)
        if not math.isfinite(point.estimate):
            # the observed table itself has the empty cell: no estimate, so no interval
            low, high = math.nan, math.nan
        else:
            low, high, _ = percentile_interval(values, level)
            if corrected.get(name):
                warns.append(f"{name}: " + corrected_message(corrected[name], reps_n))
            if no_class:
                warns.append(
                    warn_undefined(
                        f"{name}: "
                        + dropped_message(no_class, reps_n, "diseased or no non-diseased unit")
                    )
                )
        ratios[name] = Estimate(
            name,
            point.estimate,
            low,
            high,
            method_text,
            t.size,
            level,
            n_clusters=k,
            warnings=tuple(warns),
        )
    return AccuracyResult(
        counts=pooled.counts,
        sensitivity=prop("sensitivity", r, t),
        specificity=prop("specificity", ~r, ~t),
        accuracy=prop("accuracy", t == r, every),
        ppv=prop("ppv", t, r),
        npv=prop("npv", ~t, ~r),
        prevalence=prop("prevalence", t, every),
        ci_method=f"clustered ({kind.value}); LR+, LR-, DOR, Youden: {method_text}",
        confidence_level=level,
        n_clusters=k,
        **ratios,
    )


def _bootstrap_ratios(
    tp: FloatArray, fp: FloatArray, fn: FloatArray, tn: FloatArray
) -> tuple[dict[str, FloatArray], dict[str, int], int]:
    """LR+, LR-, DOR and Youden's J of each bootstrap replicate's 2x2 table.

    A replicate whose ratio has a zero denominator (LR+: no false positive; LR-: no true
    negative; DOR: no false positive or no false negative) gets 0.5 added to each of its four
    cells for that ratio (the Haldane-Anscombe correction, the usual choice for likelihood and
    odds ratios of a table with an empty cell; Haldane 1956,
    doi:10.1111/j.1469-1809.1955.tb01285.x; Glas et al. 2003,
    doi:10.1016/S0895-4356(03)00177-X), so the replicate counts with a large finite ratio
    instead of being left out, which shifted the interval toward the replicates that happened
    to have the cell filled (the upper bound biased down). The ratio is reported only when the
    observed table's denominator is not zero, and then the rule leaves it unchanged: the
    interval is that of the reported estimator. Youden's J needs no correction. A replicate
    that resampled no diseased or no non-diseased unit has no sensitivity or no specificity
    at all: it is left out (NaN) and counted. Returns the replicate values, the replicates
    corrected per ratio and the number left out.
    """
    both = (tp + fn > 0) & (fp + tn > 0)
    zero_denominator = {
        "lr_positive": fp == 0,
        "lr_negative": tn == 0,
        "dor": (fp == 0) | (fn == 0),
    }
    out: dict[str, FloatArray] = {}
    corrected: dict[str, int] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for name, zero in zero_denominator.items():
            fix = both & zero
            half = np.where(fix, 0.5, 0.0)
            a, b, c, d = tp + half, fp + half, fn + half, tn + half
            se, sp = a / (a + c), d / (d + b)
            value = {"lr_positive": se / (1 - sp), "lr_negative": (1 - se) / sp}.get(
                name, (a * d) / (b * c)
            )
            out[name] = np.where(both, value, np.nan)
            corrected[name] = int(fix.sum())
        out["youden"] = np.where(both, tp / (tp + fn) + tn / (tn + fp) - 1, np.nan)
    return out, corrected, int((~both).sum())


def corrected_message(corrected: int, total: int) -> str:
    """The warning of :func:`_bootstrap_ratios`'s correction (the report shows the count)."""
    return (
        f"{corrected} of {total} bootstrap replicates had a zero denominator; 0.5 was added to "
        "each cell of their 2x2 tables (Haldane-Anscombe)"
    )


def clustered_mcnemar(
    test_1: Any,
    test_2: Any,
    cluster: Any,
    *,
    method: ClusteredMcNemar | str = ClusteredMcNemar.OBUCHOWSKI,
    confidence_level: float = 0.95,
    name: str = "clustered_mcnemar",
) -> HypothesisTest:
    """McNemar-type test of two paired proportions on clustered units.

    Parameters
    ----------
    test_1, test_2 : array of bool or 0/1
        The two tests' results on the same units (e.g. 68Ga-DOTA-BLP and 18F-FDG reads of
        every diseased lesion, to compare sensitivities).
    cluster : array
        Patient id of every unit.
    method : {"obuchowski", "durkalski"}
        See the module docstring.

    Returns
    -------
    HypothesisTest
        chi-square with 1 df; ``effect`` is ``p1 - p2`` with the ratio-estimator interval.
    """
    kind = _validate.as_enum(ClusteredMcNemar, method, "method")
    level = _validate.confidence(confidence_level)
    a = _validate.labels(test_1, "test_1")
    b = _validate.labels(test_2, "test_2")
    codes, k_all = _validate.cluster_index(cluster)
    _validate.same_length(test_1=a, test_2=b, cluster=codes)
    if a.size == 0:
        raise InputValidationError("clustered McNemar: no units to compare.")
    bk = np.bincount(codes, weights=(a & ~b).astype(float), minlength=k_all)
    ck = np.bincount(codes, weights=(~a & b).astype(float), minlength=k_all)
    nk = np.bincount(codes, minlength=k_all).astype(np.float64)
    keep = nk > 0
    bk, ck, nk = bk[keep], ck[keep], nk[keep]
    k = int(nk.size)
    diff = bk - ck
    big_n = float(nk.sum())
    d = float(diff.sum()) / big_n
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    effect_method = "ratio-estimator Wald interval of p1 - p2 (Obuchowski 1998), K/(K-1)"
    warnings: tuple[str, ...] = ()
    if k < 2:
        warnings = (warn_undefined("clustered McNemar: needs at least two clusters"),)
        stat = math.nan
        var = math.nan
    else:
        var = k / (k - 1) * float(np.sum((diff - nk * d) ** 2)) / big_n**2
        if kind is ClusteredMcNemar.OBUCHOWSKI:
            denom = float(np.sum(diff**2))
            stat = (k - 1) / k * float(diff.sum()) ** 2 / denom if denom > 0 else math.nan
        else:
            w = diff / nk
            denom = float(np.sum(w**2))
            stat = float(w.sum()) ** 2 / denom if denom > 0 else math.nan
        if math.isnan(stat):
            warnings = (warn_undefined("clustered McNemar: no discordant units"),)
    se = math.sqrt(var) if not math.isnan(var) else math.nan
    effect = Estimate(
        "difference",
        d,
        max(-1.0, d - z * se),
        min(1.0, d + z * se),
        effect_method,
        int(big_n),
        level,
        se=se,
        n_clusters=k,
    )
    p = float(stats.chi2.sf(stat, 1)) if not math.isnan(stat) else math.nan
    label = (
        "clustered McNemar, Obuchowski 1998 (Yang et al. 2010 form)"
        if kind is ClusteredMcNemar.OBUCHOWSKI
        else "clustered McNemar, Durkalski et al. 2003"
    )
    return HypothesisTest(name, stat, p, label, int(big_n), "chi2", 1.0, effect, warnings)
