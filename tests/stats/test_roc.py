"""Empirical ROC curve, thresholds, partial AUC, cut-offs, bootstrap and plotting band."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

from petdx.errors import InputValidationError, UndefinedStatisticWarning
from petdx.stats import (
    delong_auc,
    optimal_cutoff,
    partial_auc,
    partial_auc_bootstrap,
    roc_analysis,
    roc_band,
    roc_curve,
)


def _data(n: int = 300, seed: int = 4, shift: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.random(n) < 0.4
    return truth, np.round(rng.normal(truth * shift, 1.0), 1)


def test_curve_matches_scikit_learn() -> None:
    truth, score = _data()
    curve = roc_curve(truth, score)
    fpr, tpr, thr = sk_roc_curve(truth, score, drop_intermediate=False)
    assert np.allclose(curve.false_positive_rate, fpr)
    assert np.allclose(curve.sensitivity, tpr)
    assert np.array_equal(curve.thresholds[1:], thr[1:])


@pytest.mark.parametrize("direction", ["higher", "lower"])
def test_thresholds_mean_what_they_say(direction: str) -> None:
    """Brute force: at every point, classifying with the observed threshold (>= for higher,
    <= for lower) and with the midpoint threshold gives the point's Se and Sp."""
    truth, score = _data(120)
    curve = roc_curve(truth, score, direction=direction)
    for k in range(curve.thresholds.size):
        for t in (curve.thresholds[k], curve.midpoint_thresholds[k]):
            positive = score >= t if direction == "higher" else score <= t
            assert np.mean(positive[truth]) == pytest.approx(curve.sensitivity[k])
            assert np.mean(~positive[~truth]) == pytest.approx(curve.specificity[k])
    assert "score >= threshold" in curve.rule or direction == "lower"


def test_partial_auc_matches_scikit_learn_mcclish() -> None:
    """scikit-learn roc_auc_score(max_fpr=f) is the McClish-standardised partial AUC over
    specificity (1 - f, 1): an independent implementation."""
    truth, score = _data(400)
    for f in (0.1, 0.2, 0.5):
        ours = partial_auc(truth, score, specificity_range=(1 - f, 1.0), mcclish=True)
        assert ours.estimate == pytest.approx(roc_auc_score(truth, score, max_fpr=f), abs=1e-12)
    full = partial_auc(truth, score, specificity_range=(0.0, 1.0))
    assert full.estimate == pytest.approx(delong_auc(truth, score).estimate, abs=1e-12)


def test_partial_auc_over_sensitivity_by_numerical_integration() -> None:
    """Integral of Sp over Se in [0.8, 1] of the piecewise-linear curve, by a fine grid."""
    truth, score = _data(200)
    curve = roc_curve(truth, score)
    grid = np.linspace(0.8, 1.0, 200_001)
    se, sp = curve.sensitivity, curve.specificity
    # the curve as a function of Se: at vertical steps take the segment's interpolation
    order = np.lexsort((-sp, se))
    spec = np.interp(grid, se[order], sp[order])
    expected = np.trapezoid(spec, grid)
    got = partial_auc(truth, score, sensitivity_range=(0.8, 1.0)).estimate
    assert got == pytest.approx(expected, abs=2e-4)


def test_optimal_cutoff_is_the_brute_force_optimum() -> None:
    truth, score = _data(150)
    best_j, best_t = -1.0, None
    for t in np.unique(score)[::-1]:
        j = np.mean(score[truth] >= t) + np.mean(score[~truth] < t) - 1
        if j > best_j + 1e-15:
            best_j, best_t = j, t
    cut = optimal_cutoff(roc_curve(truth, score))
    assert cut.threshold == best_t
    assert cut.criterion_value == pytest.approx(best_j)
    top_left = optimal_cutoff(roc_curve(truth, score), "closest-topleft")
    d = [
        (1 - np.mean(score[truth] >= t)) ** 2 + np.mean(score[~truth] >= t) ** 2
        for t in np.unique(score)
    ]
    assert top_left.criterion_value == pytest.approx(math.sqrt(min(d)))


def test_bootstrap_is_seeded_and_brackets_the_estimate() -> None:
    truth, score = _data(200)
    a = roc_analysis(truth, score, n_bootstrap=500, seed=7)
    b = roc_analysis(truth, score, n_bootstrap=500, seed=7)
    c = roc_analysis(truth, score, n_bootstrap=500, seed=8)
    assert (a.auc.ci_low, a.auc.ci_high) == (b.auc.ci_low, b.auc.ci_high)
    assert (a.auc.ci_low, a.auc.ci_high) != (c.auc.ci_low, c.auc.ci_high)
    assert a.auc.ci_low < a.auc.estimate < a.auc.ci_high
    assert "stratified bootstrap" in a.auc.method
    assert a.cutoff.threshold_ci_low <= a.cutoff.threshold <= a.cutoff.threshold_ci_high
    assert a.cutoff.sensitivity.ci_low <= a.cutoff.sensitivity.estimate
    # bootstrap SE close to DeLong's (large-sample agreement)
    d = delong_auc(truth, score)
    assert (a.auc.ci_high - a.auc.ci_low) / (d.ci_high - d.ci_low) == pytest.approx(1, abs=0.2)


def test_direction_is_never_redetected_in_the_bootstrap() -> None:
    """A score that points the wrong way keeps AUC < 0.5 in every replicate interval."""
    truth, score = _data(200, shift=-1.0)
    r = roc_analysis(truth, score, direction="higher", n_bootstrap=300, seed=1)
    assert r.auc.estimate < 0.5
    assert r.auc.ci_high < 0.5


def test_partial_auc_bootstrap_and_band() -> None:
    truth, score = _data(250)
    p = partial_auc_bootstrap(
        truth, score, specificity_range=(0.8, 1.0), mcclish=True, n_bootstrap=300, seed=2
    )
    assert p.ci_low < p.estimate < p.ci_high
    band = roc_band(truth, score, n_bootstrap=300, seed=2)
    assert band.specificity.size == 101
    assert np.all(band.ci_low <= band.sensitivity + 1e-12)
    assert np.all(band.sensitivity <= band.ci_high + 1e-12)
    assert np.all(np.diff(band.sensitivity) <= 1e-12)  # Se falls as Sp rises
    assert band.to_dict()["method"].startswith("pointwise stratified bootstrap")


def test_result_summary_has_the_documented_keys() -> None:
    truth, score = _data(80)
    s = roc_analysis(truth, score).summary()
    for key in (
        "score",
        "auc",
        "variance",
        "ci_low",
        "ci_high",
        "ci_method",
        "n_positive",
        "n_negative",
        "best_threshold",
        "best_sensitivity",
        "best_specificity",
    ):
        assert key in s
    assert s["best_threshold_ci"] == [None, None]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "exactly one of specificity_range or sensitivity_range"),
        ({"specificity_range": (0.9, 0.9)}, "0 <= low < high <= 1"),
        ({"specificity_range": (0.8, 1.0), "sensitivity_range": (0.8, 1.0)}, "exactly one"),
    ],
)
def test_partial_auc_bad_region(kwargs: dict[str, object], match: str) -> None:
    truth, score = _data(40)
    with pytest.raises(InputValidationError, match=match):
        partial_auc(truth, score, **kwargs)  # type: ignore[arg-type]


def test_bad_bootstrap_and_rule() -> None:
    truth, score = _data(40)
    with pytest.raises(InputValidationError, match="n_bootstrap"):
        roc_analysis(truth, score, n_bootstrap=2.5)  # type: ignore[arg-type]
    with pytest.raises(InputValidationError, match="cutoff_rule"):
        roc_analysis(truth, score, cutoff_rule="max-se")
    with pytest.raises(InputValidationError, match="cluster: expected one cluster id per unit"):
        roc_analysis(truth, score, cluster=[1, 2])


def test_mcclish_below_the_diagonal_warns_nan_as_proc() -> None:
    """pROC 1.18.0 auc(roc(...), partial.auc = c(1, 0.8), partial.auc.correct = TRUE) on a
    curve below the diagonal: NA with "Partial AUC correction not defined for ROC curves
    below the diagonal". Here every diseased score is below every healthy one."""
    truth = np.array([True] * 5 + [False] * 5)
    score = np.arange(10.0)
    with pytest.warns(UndefinedStatisticWarning, match="below the chance diagonal"):
        r = partial_auc(truth, score, specificity_range=(0.8, 1.0), mcclish=True)
    assert math.isnan(r.estimate)
    assert partial_auc(truth, score, specificity_range=(0.8, 1.0)).estimate == 0.0
