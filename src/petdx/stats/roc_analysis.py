"""ROC analysis of one score as a report needs it, comparisons of two, and a plotting band.

:func:`roc_analysis` gathers, for one score: the empirical curve, the AUC with its interval
(DeLong; Obuchowski when units are clustered in patients; or a stratified / cluster
bootstrap), the optimal cut-off with bootstrap intervals of the threshold and of Se and Sp
there, and the Hanley-McNeil SE for reference. :func:`compare_aucs` picks the right test
for two scores; :func:`roc_band` gives the ROC curve with a pointwise bootstrap band of
sensitivity at fixed specificities, for figures.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from petdx.errors import InputValidationError
from petdx.stats import _validate
from petdx.stats._ranking import orient, tie_groups
from petdx.stats._validate import BoolArray, FloatArray
from petdx.stats.bootstrap import (
    BootstrapDesign,
    dropped_message,
    percentile_interval,
    replicate_auc,
    replicate_curves,
)
from petdx.stats.clustered_roc import obuchowski_auc, obuchowski_paired_test
from petdx.stats.delong import (
    AucComparison,
    _check_classes,
    _prepare,
    delong_auc,
    delong_paired_test,
    delong_unpaired_test,
)
from petdx.stats.enums import CutoffRule, RocDirection
from petdx.stats.results import (
    Estimate,
    collect_warnings,
    format_number,
    json_ready,
    warn_undefined,
)
from petdx.stats.roc import (
    Cutoff,
    RocCurve,
    curve_from_groups,
    cutoff_criterion,
    hanley_mcneil_se,
    optimal_cutoff,
    pauc_region,
)

__all__ = [
    "RocBand",
    "RocResult",
    "compare_aucs",
    "partial_auc_bootstrap",
    "roc_analysis",
    "roc_band",
]


@dataclass(frozen=True, eq=False)
class RocResult:
    """Everything about one score's ROC curve.

    Attributes
    ----------
    label : str
        Name of the score (column).
    direction : RocDirection
    auc : Estimate
        AUC with its interval; ``auc.method`` names the interval method.
    variance : float
        DeLong variance, or Obuchowski's when clustered (whatever the interval method).
    variance_method : str
    curve : RocCurve
    cutoff : Cutoff
        Optimal cut-off (rule in ``cutoff.rule``), with bootstrap intervals when requested.
    hanley_mcneil_se : float
        Hanley & McNeil (1982) SE, for comparison with older reports.
    n_positive, n_negative : int
    n_clusters : int or None
    warnings : tuple of str
    """

    label: str
    direction: RocDirection
    auc: Estimate
    variance: float
    variance_method: str
    curve: RocCurve
    cutoff: Cutoff
    hanley_mcneil_se: float
    n_positive: int
    n_negative: int
    n_clusters: int | None = None
    warnings: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        """The flat summary the command line prints (documented in docs/stats.md)."""
        c = self.cutoff
        return json_ready(
            {
                "score": self.label,
                "direction": self.direction.value,
                "auc": self.auc.estimate,
                "variance": self.variance,
                "ci_low": self.auc.ci_low,
                "ci_high": self.auc.ci_high,
                "ci_method": self.auc.method,
                "confidence_level": self.auc.confidence_level,
                "n_positive": self.n_positive,
                "n_negative": self.n_negative,
                "n_clusters": self.n_clusters,
                "best_rule": c.rule.value,
                "best_threshold": c.threshold,
                "best_threshold_midpoint": c.midpoint_threshold,
                "best_sensitivity": c.sensitivity.estimate,
                "best_specificity": c.specificity.estimate,
                "best_threshold_ci": [c.threshold_ci_low, c.threshold_ci_high],
                "best_sensitivity_ci": [c.sensitivity.ci_low, c.sensitivity.ci_high],
                "best_specificity_ci": [c.specificity.ci_low, c.specificity.ci_high],
                "best_ci_method": c.ci_method,
                "hanley_mcneil_se": self.hanley_mcneil_se,
                "warnings": list(self.warnings),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        out = self.summary()
        out["auc_estimate"] = self.auc.to_dict()
        out["cutoff"] = self.cutoff.to_dict()
        out["curve"] = self.curve.to_dict()
        out["variance_method"] = self.variance_method
        return out

    def __str__(self) -> str:
        return (
            f"ROC of {self.label} ({self.curve.rule}): {self.auc}\n"
            f"  variance {format_number(self.variance, 6)} ({self.variance_method}); "
            f"Hanley-McNeil SE {format_number(self.hanley_mcneil_se, 4)}\n  {self.cutoff}"
        )


def _clusters_for(t: BoolArray, cluster: Any) -> tuple[Any, int] | None:
    if cluster is None:
        return None
    codes, k = _validate.cluster_index(cluster)
    if codes.size != t.size:
        raise InputValidationError(
            f"cluster: expected one cluster id per unit ({t.size}); got {codes.size}."
        )
    return codes, k


def _design(
    t: BoolArray, clusters: tuple[Any, int] | None, n_bootstrap: int, seed: int
) -> BootstrapDesign:
    if clusters is None:
        return BootstrapDesign.stratified(t, n_bootstrap=n_bootstrap, seed=seed)
    return BootstrapDesign.clustered(t, *clusters, n_bootstrap=n_bootstrap, seed=seed)


def roc_analysis(
    truth: Any,
    score: Any,
    *,
    direction: RocDirection | str = RocDirection.HIGHER,
    cluster: Any = None,
    n_bootstrap: int = 0,
    seed: int = 0,
    cutoff_rule: CutoffRule | str = CutoffRule.YOUDEN,
    confidence_level: float = 0.95,
    label: str = "score",
) -> RocResult:
    """ROC analysis of one score: curve, AUC with interval, optimal cut-off.

    Parameters
    ----------
    truth : array of bool or 0/1
        True for diseased units.
    score : array of float
    direction : {"higher", "lower"}
        Set by the caller; never detected, never re-detected inside the bootstrap.
    cluster : array, optional
        Patient id of every unit (lesion). When given, the AUC variance and interval are
        Obuchowski's (1997) and the bootstrap resamples patients.
    n_bootstrap : int
        0 (default): AUC interval by DeLong / Obuchowski, no interval for the cut-off. > 0:
        percentile bootstrap (stratified, or by cluster) for the AUC, the cut-off threshold,
        and Se and Sp at the cut-off, re-choosing the cut-off in every replicate.
    seed : int
        Seed of the bootstrap (results are reproducible).
    cutoff_rule : {"youden", "closest-topleft"}
    confidence_level : float
    label : str
        Name of the score in the result.

    Returns
    -------
    RocResult
    """
    level = _validate.confidence(confidence_level)
    d = _validate.as_enum(RocDirection, direction, "direction")
    rule = _validate.as_enum(CutoffRule, cutoff_rule, "cutoff_rule")
    t, s = _prepare(truth, score, label)
    _check_classes(t, label)
    clusters = _clusters_for(t, cluster)
    groups = tie_groups(t, orient(s, d), unit_groups=n_bootstrap > 0)
    curve = curve_from_groups(groups, d)
    cutoff = optimal_cutoff(curve, rule)
    if clusters is None:
        auc = delong_auc(t, s, direction=d, confidence_level=level, name="auc")
        variance_method = "DeLong"
    else:
        auc = obuchowski_auc(t, s, cluster, direction=d, confidence_level=level, name="auc")
        variance_method = "Obuchowski 1997 (clustered)"
    variance = auc.se**2
    warnings: tuple[str, ...] = auc.warnings
    if n_bootstrap > 0:
        design = _design(t, clusters, n_bootstrap, seed)
        aucs, thresholds, sens, specs = [], [], [], []
        desc_values = groups.values[::-1] * (1.0 if d is RocDirection.HIGHER else -1.0)
        for pos, neg in design.group_counts(groups):
            aucs.append(replicate_auc(pos, neg))
            tpr, fpr = replicate_curves(pos, neg)
            n_pos = pos.sum(axis=1, keepdims=True)
            n_neg = neg.sum(axis=1, keepdims=True)
            tp = np.cumsum(pos[:, ::-1], axis=1)
            fp = np.cumsum(neg[:, ::-1], axis=1)
            best = np.argmax(cutoff_criterion(tp, fp, n_pos, n_neg, rule), axis=1)
            rows = np.arange(best.size)
            valid = np.isfinite(tpr[rows, best + 1]) & np.isfinite(fpr[rows, best + 1])
            thresholds.append(np.where(valid, desc_values[best], np.nan))
            sens.append(np.where(valid, tpr[rows, best + 1], np.nan))
            specs.append(np.where(valid, 1.0 - fpr[rows, best + 1], np.nan))
        low, high, dropped = percentile_interval(np.concatenate(aucs), level)
        messages = []
        if dropped:
            what = "diseased or no non-diseased units"
            messages.append(warn_undefined(dropped_message(dropped, n_bootstrap, what)))
        auc = replace(
            auc,
            ci_low=low,
            ci_high=high,
            method=design.description,
            warnings=collect_warnings(auc.warnings, messages),
        )
        th_low, th_high, _ = percentile_interval(np.concatenate(thresholds), level)
        se_low, se_high, _ = percentile_interval(np.concatenate(sens), level)
        sp_low, sp_high, _ = percentile_interval(np.concatenate(specs), level)
        method = f"{design.description}; cut-off re-chosen in every replicate"
        cutoff = replace(
            cutoff,
            threshold_ci_low=th_low,
            threshold_ci_high=th_high,
            ci_method=method,
            sensitivity=replace(cutoff.sensitivity, ci_low=se_low, ci_high=se_high, method=method),
            specificity=replace(cutoff.specificity, ci_low=sp_low, ci_high=sp_high, method=method),
        )
        warnings = auc.warnings
    return RocResult(
        label,
        d,
        auc,
        variance,
        variance_method,
        curve,
        cutoff,
        hanley_mcneil_se(auc.estimate, groups.n_pos, groups.n_neg),
        groups.n_pos,
        groups.n_neg,
        None if clusters is None else auc.n_clusters,
        warnings,
    )


def compare_aucs(
    truth: Any,
    score_1: Any,
    score_2: Any,
    *,
    paired: bool = True,
    cluster: Any = None,
    direction_1: RocDirection | str = RocDirection.HIGHER,
    direction_2: RocDirection | str = RocDirection.HIGHER,
    confidence_level: float = 0.95,
    labels: tuple[str, str] = ("score_1", "score_2"),
) -> AucComparison:
    """Compare the AUCs of two scores with the test that fits the design.

    * paired, no clusters: DeLong's paired z test;
    * paired, clustered units: Obuchowski's (1997) clustered paired z test;
    * unpaired: DeLong with pROC's Welch-Satterthwaite t test. Units with a NaN in a score
      are left out of that score's curve (the two curves may then rest on different units).

    For paired designs every unit must have both scores (no NaN).
    """
    if paired:
        if cluster is not None:
            return obuchowski_paired_test(
                truth,
                score_1,
                score_2,
                cluster,
                direction_1=direction_1,
                direction_2=direction_2,
                confidence_level=confidence_level,
                labels=labels,
            )
        return delong_paired_test(
            truth,
            score_1,
            score_2,
            direction_1=direction_1,
            direction_2=direction_2,
            confidence_level=confidence_level,
            labels=labels,
        )
    if cluster is not None:
        raise InputValidationError(
            "An unpaired comparison of clustered AUCs is not available; compare paired scores "
            "(same lesions) or compare them without clusters."
        )
    t = _validate.labels(truth, "truth")
    s1 = np.asarray(score_1, dtype=np.float64)
    s2 = np.asarray(score_2, dtype=np.float64)
    k1, k2 = ~np.isnan(s1), ~np.isnan(s2)
    return delong_unpaired_test(
        t[k1],
        s1[k1],
        t[k2],
        s2[k2],
        direction_1=direction_1,
        direction_2=direction_2,
        confidence_level=confidence_level,
        labels=labels,
    )


def partial_auc_bootstrap(
    truth: Any,
    score: Any,
    *,
    direction: RocDirection | str = RocDirection.HIGHER,
    specificity_range: tuple[float, float] | None = None,
    sensitivity_range: tuple[float, float] | None = None,
    mcclish: bool = False,
    cluster: Any = None,
    n_bootstrap: int = 2000,
    seed: int = 0,
    confidence_level: float = 0.95,
) -> Estimate:
    """Partial AUC (see :func:`petdx.stats.roc.partial_auc`) with a bootstrap percentile CI
    (stratified, or by cluster when ``cluster`` is given)."""
    level = _validate.confidence(confidence_level)
    d = _validate.as_enum(RocDirection, direction, "direction")
    region = pauc_region(specificity_range, sensitivity_range)
    t, s = _prepare(truth, score, "score")
    _check_classes(t, "score")
    groups = tie_groups(t, orient(s, d), unit_groups=True)
    curve = curve_from_groups(groups, d)
    observed = float(region.area((curve.false_positive_rate, curve.sensitivity, curve.specificity)))
    design = _design(t, _clusters_for(t, cluster), n_bootstrap, seed)
    values = []
    for pos, neg in design.group_counts(groups):
        tpr, fpr = replicate_curves(pos, neg)
        values.append(np.asarray(region.area((fpr, tpr, 1.0 - fpr))))
    replicates = np.concatenate(values)
    if mcclish:
        observed = float(region.mcclish(observed))
        replicates = np.asarray(region.mcclish(replicates))
    low, high, dropped = percentile_interval(replicates, level)
    warnings: tuple[str, ...] = ()
    if dropped:
        warnings = (warn_undefined(dropped_message(dropped, n_bootstrap, "units of a class")),)
    return Estimate(
        "partial_auc",
        observed,
        low,
        high,
        f"{region.label(mcclish)}; {design.description}",
        t.size,
        level,
        warnings=warnings,
    )


@dataclass(frozen=True, eq=False)
class RocBand:
    """Sensitivity at fixed specificities with a pointwise bootstrap percentile band.

    ``sensitivity[i]`` is the highest sensitivity the empirical curve reaches at a
    specificity of at least ``specificity[i]`` (an achievable operating point); the band is
    the same quantity over bootstrap replicates (pROC ``ci.se``).
    """

    specificity: FloatArray
    sensitivity: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    method: str
    confidence_level: float
    curve: RocCurve

    def to_dict(self) -> dict[str, Any]:
        return {
            "specificity": json_ready(self.specificity),
            "sensitivity": json_ready(self.sensitivity),
            "ci_low": json_ready(self.ci_low),
            "ci_high": json_ready(self.ci_high),
            "method": self.method,
            "confidence_level": self.confidence_level,
            "curve": self.curve.to_dict(),
        }

    def __str__(self) -> str:
        return f"ROC band at {self.specificity.size} specificities ({self.method})"


def _se_at_fpr(fpr: FloatArray, tpr: FloatArray, grid: FloatArray) -> FloatArray:
    """Highest sensitivity with a false-positive rate <= each grid value (rows = curves)."""
    out = np.empty((fpr.shape[0], grid.size))
    for row in range(fpr.shape[0]):
        if not np.isfinite(fpr[row]).all():
            out[row] = np.nan
            continue
        idx = np.searchsorted(fpr[row], grid + 1e-12, side="right") - 1
        out[row] = tpr[row][np.clip(idx, 0, None)]
    return out


def roc_band(
    truth: Any,
    score: Any,
    *,
    direction: RocDirection | str = RocDirection.HIGHER,
    specificities: Any = None,
    cluster: Any = None,
    n_bootstrap: int = 2000,
    seed: int = 0,
    confidence_level: float = 0.95,
) -> RocBand:
    """ROC curve points and a pointwise bootstrap band of sensitivity, for plotting.

    Parameters
    ----------
    specificities : array of float, optional
        Specificities at which the band is evaluated (default 0, 0.01, ..., 1).
    cluster : array, optional
        Patient id of every unit: the bootstrap then resamples patients.
    n_bootstrap, seed, confidence_level
        Bootstrap settings (stratified when ``cluster`` is None).
    """
    level = _validate.confidence(confidence_level)
    d = _validate.as_enum(RocDirection, direction, "direction")
    t, s = _prepare(truth, score, "score")
    _check_classes(t, "score")
    if specificities is None:
        grid_sp = np.linspace(0.0, 1.0, 101)
    else:
        grid_sp = np.asarray(specificities, dtype=np.float64)
    if grid_sp.ndim != 1 or ((grid_sp < 0) | (grid_sp > 1)).any():
        raise InputValidationError("specificities: expected a 1-D array of values in [0, 1].")
    grid = 1.0 - grid_sp
    groups = tie_groups(t, orient(s, d), unit_groups=True)
    curve = curve_from_groups(groups, d)
    observed = _se_at_fpr(curve.false_positive_rate[None, ::1], curve.sensitivity[None], grid)[0]
    design = _design(t, _clusters_for(t, cluster), n_bootstrap, seed)
    blocks = []
    for pos, neg in design.group_counts(groups):
        tpr, fpr = replicate_curves(pos, neg)
        blocks.append(_se_at_fpr(fpr, tpr, grid))
    reps = np.vstack(blocks)
    alpha = 1.0 - level
    finite = np.isfinite(reps).all(axis=1)
    low, high = np.quantile(reps[finite], [alpha / 2, 1 - alpha / 2], axis=0)
    method = f"pointwise {design.description}"
    return RocBand(grid_sp, observed, low, high, method, level, curve)
