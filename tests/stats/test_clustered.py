"""Clustered (lesions-in-patients) AUC, proportions and McNemar tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petdx.errors import InputValidationError, UndefinedStatisticWarning
from petdx.stats import (
    clustered_accuracy,
    clustered_mcnemar,
    clustered_proportion,
    delong_auc,
    delong_paired_test,
    mcnemar_test,
    obuchowski_auc,
    obuchowski_paired_test,
    roc_analysis,
)
from tests.stats.oracles import obuchowski_loops


def _clustered(k: int = 80, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Patients with 1-6 lesions, a patient effect on the score, ties from rounding."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 7, k)
    cluster = np.repeat(np.arange(k), sizes)
    effect = rng.normal(0, 0.8, k)[cluster]
    truth = rng.random(cluster.size) < 0.45
    s1 = np.round(truth * 1.2 + effect + rng.normal(0, 1, cluster.size), 1)
    s2 = np.round(truth * 0.7 + effect + rng.normal(0, 1, cluster.size), 0)
    return truth, s1, s2, cluster


def test_singleton_clusters_equal_delong() -> None:
    """Obuchowski 1997 with one unit per cluster is DeLong's method (to 1e-12)."""
    truth, s1, s2, _ = _clustered()
    ids = np.arange(truth.size)
    a, b = obuchowski_auc(truth, s1, ids), delong_auc(truth, s1)
    assert a.estimate == b.estimate
    assert a.se == pytest.approx(b.se, abs=1e-12)
    p, q = obuchowski_paired_test(truth, s1, s2, ids), delong_paired_test(truth, s1, s2)
    assert p.se == pytest.approx(q.se, abs=1e-12)
    assert p.statistic == pytest.approx(q.statistic, abs=1e-9)


clusters = st.integers(min_value=4, max_value=25).flatmap(
    lambda k: st.lists(
        st.tuples(st.integers(0, k - 1), st.booleans(), st.integers(0, 4), st.integers(0, 2)),
        min_size=8,
        max_size=60,
    )
)


@pytest.mark.filterwarnings("ignore::petdx.errors.UndefinedStatisticWarning")
@settings(max_examples=60, deadline=None)
@given(clusters)
def test_matches_the_papers_formulas_cluster_by_cluster(
    rows: list[tuple[int, bool, int, int]],
) -> None:
    """Property: vectorised Obuchowski equals a loop over clusters written from the paper."""
    cluster = np.array([r[0] for r in rows])
    truth = np.array([r[1] for r in rows])
    s1 = np.array([r[2] for r in rows], dtype=float)
    s2 = np.array([r[3] for r in rows], dtype=float)
    if np.unique(cluster[truth]).size < 2 or np.unique(cluster[~truth]).size < 2:
        return
    auc1, _auc2, v1, v2, c12 = obuchowski_loops(truth, s1, s2, cluster)
    e = obuchowski_auc(truth, s1, cluster)
    assert e.estimate == pytest.approx(auc1, abs=1e-12)
    assert e.se**2 == pytest.approx(max(v1, 0.0), abs=1e-12)
    test = obuchowski_paired_test(truth, s1, s2, cluster)
    assert test.se**2 == pytest.approx(max(v1 + v2 - 2 * c12, 0.0), abs=1e-12)


def test_cluster_bootstrap_agrees_with_obuchowski() -> None:
    """Two estimators of the same sampling variance (patient resampling vs Obuchowski's
    formula) agree within Monte Carlo error."""
    truth, s1, _, cluster = _clustered(150, seed=3)
    r = roc_analysis(truth, s1, cluster=cluster, n_bootstrap=2000, seed=5)
    width_boot = r.auc.ci_high - r.auc.ci_low
    width_formula = 2 * 1.959964 * math.sqrt(r.variance)
    assert width_boot / width_formula == pytest.approx(1.0, abs=0.12)
    assert "cluster bootstrap" in r.auc.method
    assert r.n_clusters == 150


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.DomainWarning")
def test_ratio_estimator_variance_equals_gee_sandwich() -> None:
    """statsmodels GEE (identity link, independence) has the pooled proportion as estimate
    and sandwich variance sum_k (x_k - p m_k)^2 / M^2; the ratio estimator adds K/(K-1)."""
    from statsmodels.genmod.cov_struct import Independence
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.families.links import Identity
    from statsmodels.genmod.generalized_estimating_equations import GEE

    truth, s1, _, cluster = _clustered(60, seed=8)
    y = (s1 > 0.8)[truth]
    ids = cluster[truth]
    fit = GEE(
        y.astype(float),
        np.ones((y.size, 1)),
        groups=ids,
        family=Binomial(link=Identity()),
        cov_struct=Independence(),
    ).fit()
    k = np.unique(ids).size
    est = clustered_proportion(y, ids, method="ratio")
    assert est.estimate == pytest.approx(float(fit.params[0]), abs=1e-10)
    assert est.se**2 == pytest.approx(float(fit.cov_robust[0, 0]) * k / (k - 1), rel=1e-8)
    gee = clustered_proportion(y, ids, method="gee")
    assert gee.ci_low < gee.estimate < gee.ci_high
    assert "K/(K-1)" in gee.method


def test_every_interval_method_brackets_the_estimate() -> None:
    truth, s1, _, cluster = _clustered(60, seed=9)
    y = (s1 > 0.8)[truth]
    for method in ("rao-scott", "ratio", "gee", "bootstrap"):
        e = clustered_proportion(y, cluster[truth], name="se", method=method)
        assert e.ci_low < e.estimate < e.ci_high, method
        assert e.n_clusters == np.unique(cluster[truth]).size


def test_boundary_proportion_uses_unit_design_effect() -> None:
    with pytest.warns(UndefinedStatisticWarning, match="design effect is not estimable"):
        e = clustered_proportion([1, 1, 1, 1, 1], [1, 1, 2, 3, 3], method="rao-scott")
    assert e.estimate == 1.0
    assert e.ci_high == 1.0
    assert e.ci_low < 1.0
    with pytest.warns(UndefinedStatisticWarning, match="logit GEE interval is undefined"):
        clustered_proportion([1, 1, 1], [1, 2, 3], method="gee")
    with pytest.warns(UndefinedStatisticWarning, match="at least two clusters"):
        one = clustered_proportion([1, 0, 1], [7, 7, 7])
    assert one.estimate == pytest.approx(2 / 3)
    assert math.isnan(one.ci_low)


def test_clustered_accuracy_reports_patients() -> None:
    truth, s1, _, cluster = _clustered(70, seed=2)
    r = clustered_accuracy(truth, s1 > 0.6, cluster, n_bootstrap=500, seed=1)
    assert r.n_clusters == 70
    assert r.sensitivity.n == int(truth.sum())
    for name, e in r.measures().items():
        assert e.ci_low <= e.estimate <= e.ci_high, name
    assert "cluster bootstrap" in r.lr_positive.method


def test_clustered_mcnemar_reduces_to_mcnemar_with_singletons() -> None:
    """Durkalski's statistic equals McNemar's (b - c)^2/(b + c) with one unit per cluster;
    Obuchowski's (Yang et al. 2010 form) is (K - 1)/K times it."""
    rng = np.random.default_rng(1)
    a = rng.random(90) < 0.6
    b = rng.random(90) < 0.45
    ids = np.arange(90)
    plain = mcnemar_test(
        [[int(np.sum(a & b)), int(np.sum(a & ~b))], [int(np.sum(~a & b)), int(np.sum(~a & ~b))]],
        method="chi2",
    )
    d = clustered_mcnemar(a, b, ids, method="durkalski")
    o = clustered_mcnemar(a, b, ids, method="obuchowski")
    assert d.statistic == pytest.approx(plain.statistic, rel=1e-12)
    assert o.statistic == pytest.approx(plain.statistic * 89 / 90, rel=1e-12)
    assert o.effect is not None
    assert o.effect.estimate == pytest.approx(a.mean() - b.mean())


def test_clustered_mcnemar_by_hand() -> None:
    """Two patients' discordant counts, formulas of Durkalski et al. 2003 and Obuchowski
    1998 evaluated by hand."""
    # patient 1: 3 units, b=2 (1 only), c=0; patient 2: 2 units, b=0, c=1; patient 3: b=c=1
    a = np.array([1, 1, 0, 0, 1, 1, 0, 1], bool)
    b = np.array([0, 0, 0, 1, 1, 0, 1, 1], bool)
    ids = np.array([1, 1, 1, 2, 2, 3, 3, 3])
    # b_k - c_k = 2, -1, 0; n_k = 3, 2, 3
    durk = (2 / 3 - 1 / 2) ** 2 / ((2 / 3) ** 2 + (1 / 2) ** 2)
    obu = (2 / 3) * (2 - 1) ** 2 / (4 + 1)
    assert clustered_mcnemar(a, b, ids, method="durkalski").statistic == pytest.approx(durk)
    assert clustered_mcnemar(a, b, ids).statistic == pytest.approx(obu)


def test_bad_clustered_input() -> None:
    with pytest.raises(InputValidationError, match="equal length"):
        clustered_proportion([1, 0, 1], [1, 2])
    with pytest.raises(InputValidationError, match="expected one of rao-scott"):
        clustered_proportion([1, 0], [1, 2], method="wald")
    with pytest.raises(InputValidationError, match="no units to compare"):
        clustered_mcnemar([], [], [])
    with pytest.raises(InputValidationError, match="cluster: expected one cluster id per unit"):
        obuchowski_auc([1, 0, 1], [0.3, 0.2, 0.1], [1, 2])


def test_bootstrap_ratio_with_a_zero_denominator_is_corrected_not_left_out() -> None:
    """A bootstrap replicate without a false positive has LR+ = Se / 0: it used to be left
    out of the percentile interval (biasing the upper bound down, 36 of 2000 for the demo's
    lesion LR+). It now gets 0.5 added to each cell (Haldane-Anscombe); only a replicate
    without diseased or without non-diseased units is left out. Oracle: a Python loop over
    the replicates' resampled patients (the multiplicities drawn as the function draws them)
    with the correction written out by hand."""
    from petdx.stats.bootstrap import cluster_multiplicities

    # 12 patients; the false positives sit in two patients only, so many replicates have none
    truth = np.array([1, 1, 0] * 4 + [1, 0, 0] * 4 + [1, 1] * 4, dtype=bool)
    cluster = np.repeat(np.arange(12), [3] * 8 + [2] * 4)
    test = truth.copy()
    test[[2, 5]] = True  # false positives in patients 0 and 1
    test[[0, 12]] = False  # false negatives in patients 0 and 4
    reps, seed = 400, 5
    r = clustered_accuracy(truth, test, cluster, n_bootstrap=reps, seed=seed)
    mult = cluster_multiplicities(np.random.default_rng(seed), 12, reps)
    lr_plus, corrected, left_out = [], 0, 0
    for row in mult:
        weight = row[cluster]
        tp = float(np.sum(weight * (truth & test)))
        fp = float(np.sum(weight * (~truth & test)))
        fn = float(np.sum(weight * (truth & ~test)))
        tn = float(np.sum(weight * (~truth & ~test)))
        if tp + fn == 0 or fp + tn == 0:
            left_out += 1
            continue
        if fp == 0:
            corrected += 1
            tp, fp, fn, tn = tp + 0.5, fp + 0.5, fn + 0.5, tn + 0.5
        lr_plus.append((tp / (tp + fn)) / (fp / (fp + tn)))
    assert corrected > 20  # the case this is about occurs
    low, high = np.quantile(lr_plus, [0.025, 0.975])
    assert r.lr_positive.ci_low == pytest.approx(low, rel=1e-12)
    assert r.lr_positive.ci_high == pytest.approx(high, rel=1e-12)
    warns = " ".join(r.lr_positive.warnings)
    assert f"{corrected} of {reps} bootstrap replicates had a zero denominator" in warns
    assert ("left out" in warns) == (left_out > 0)
    assert "0.5 added" in r.lr_positive.method
    # the observed table has its false positives: the reported LR+ is the uncorrected one
    se = np.sum(truth & test) / np.sum(truth)
    fpf = np.sum(~truth & test) / np.sum(~truth)
    assert r.lr_positive.estimate == pytest.approx(se / fpf)
