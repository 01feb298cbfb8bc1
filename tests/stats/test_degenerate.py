"""Degenerate inputs (issue 19 Build 3): where R gives NA, NaN or Inf, warns, or stops, petdx
returns NaN (or R's defined boundary value) with an UndefinedStatisticWarning naming the reason,
never an exception from a library underneath. docs/stats.md tabulates every case.

R's behaviour in each case is quoted from tests/stats/r_oracle/degenerate.R (R 4.2.2, pROC
1.18, survival 3.4/3.5), which test_degenerate_against_r_run_now runs on this machine's R.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from petdx.errors import UndefinedStatisticWarning
from petdx.stats import (
    cohen_kappa,
    cohen_kappa_table,
    cox_regression,
    delong_auc,
    fleiss_kappa,
    roc_analysis,
    spearman,
)
from tests.conftest import RScript


def _r_lines(rscript: RScript) -> dict[str, str]:
    out = rscript.run(Path(__file__).parent / "r_oracle" / "degenerate.R")
    lines = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        lines[key] = value
    return lines


# --- kappa ---------------------------------------------------------------------------------
# Cohen 1960: kappa = (po - pe) / (1 - pe). With every rating in one category po = pe = 1 and
# kappa is 0/0: NaN in R (irr::kappa2 computes exactly this ratio; degenerate.R prints R's
# value of the ratio, NaN). A table of zeros has no subjects: po and pe are 0/0.


def test_kappa_of_identical_ratings_in_one_category_is_nan_warned() -> None:
    with pytest.warns(UndefinedStatisticWarning, match="one category"):
        k = cohen_kappa(["a"] * 5, ["a"] * 5)
    assert math.isnan(k.kappa.estimate)
    assert math.isnan(k.p_value)
    assert k.kappa.n == 5
    assert any("one category" in w for w in k.kappa.warnings)


def test_weighted_kappa_of_one_category_is_nan_warned() -> None:
    with pytest.warns(UndefinedStatisticWarning, match="one category"):
        k = cohen_kappa([2] * 4, [2] * 4, weights="linear")
    assert math.isnan(k.kappa.estimate)


def test_kappa_of_an_empty_table_is_nan_warned_not_an_assertion() -> None:
    with pytest.warns(UndefinedStatisticWarning, match="no subjects"):
        k = cohen_kappa_table([[0, 0], [0, 0]])
    assert math.isnan(k.kappa.estimate)
    assert k.kappa.n == 0


def test_fleiss_kappa_of_identical_ratings_is_nan_warned() -> None:
    with pytest.warns(UndefinedStatisticWarning, match="one category"):
        e = fleiss_kappa([["a", "a", "a"]] * 4, n_bootstrap=50)
    assert math.isnan(e.estimate)
    assert math.isnan(e.ci_low)
    assert math.isnan(e.ci_high)
    assert e.warnings


# --- ROC -------------------------------------------------------------------------------------
# pROC ci.auc(method = "delong"): perfect separation gives 1 (1-1) with the warning "ci.auc()
# of a ROC curve with AUC == 1 is always 1-1 and can be misleading"; a constant marker gives
# 0.5 (0.5-0.5), silently. petdx keeps R's values and warns in both (the DeLong variance is 0).


def test_auc_one_keeps_r_interval_and_warns() -> None:
    with pytest.warns(UndefinedStatisticWarning, match="variance is 0"):
        e = delong_auc([0, 0, 0, 1, 1, 1], [1, 2, 3, 4, 5, 6])
    assert (e.estimate, e.ci_low, e.ci_high) == (1.0, 1.0, 1.0)
    assert e.warnings


def test_constant_marker_auc_half_warns() -> None:
    with pytest.warns(UndefinedStatisticWarning, match="variance is 0"):
        r = roc_analysis([0, 1, 0, 1, 1, 0], [2.0] * 6)
    assert (r.auc.estimate, r.auc.ci_low, r.auc.ci_high) == (0.5, 0.5, 0.5)
    assert r.auc.warnings


# --- Cox -------------------------------------------------------------------------------------


def test_cox_perfect_separation_of_a_binary_covariate_warns() -> None:
    """Every x = 1 patient has the event before any x = 0 patient: the partial likelihood rises
    for ever along the coefficient (Bryson & Johnson 1981, monotone likelihood). R coxph warns
    "Ran out of iterations and did not converge" (coef about 22, SE about 2.5e4)."""
    with pytest.warns(UndefinedStatisticWarning, match="may be infinite"):
        res = cox_regression([1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 0, 0], {"x": [1, 1, 1, 0, 0, 0]})
    assert res.warnings
    assert any("may be infinite" in w for w in res.warnings)


def test_cox_without_events_names_the_reason() -> None:
    """R coxph with no event returns coefficient NA (summary) and SE 0: nothing is estimated.
    petdx: NaN, with "no events" as the reason (not a matrix-inversion message)."""
    with pytest.warns(UndefinedStatisticWarning, match="no events"):
        res = cox_regression([1, 2, 3, 4, 5], [0, 0, 0, 0, 0], {"x": [1, 2, 3, 4, 5]})
    assert all(math.isnan(t.coef) and math.isnan(t.hazard_ratio.estimate) for t in res.terms)
    assert res.events == 0


def test_degenerate_against_r_run_now(rscript: RScript) -> None:
    """R on the same degenerate data: the values petdx keeps (AUC 1 (1-1), 0.5 (0.5-0.5)),
    R's warnings where petdx warns, and R's NaN where petdx returns NaN."""
    r = _r_lines(rscript)
    assert r["auc_perfect"].split()[:3] == ["1", "1", "1"], r
    assert "misleading" in r["auc_perfect"]
    assert r["auc_constant"].split()[:3] == ["0.5", "0.5", "0.5"], r
    assert "converge" in r["cox_separation"] or "infinite" in r["cox_separation"], r
    assert r["cox_noevents"].split()[0] == "NA", r
    assert r["kappa_one_category"] == "NaN", r
    assert r["fleiss_one_category"] == "NaN", r
    assert r["survdiff_one_group"].startswith("ERROR"), r
    assert r["roc_one_class"].startswith("ERROR"), r
    with pytest.warns(UndefinedStatisticWarning, match="misleading"):
        ours = delong_auc([0, 0, 0, 1, 1, 1], [1, 2, 3, 4, 5, 6])
    assert [ours.estimate, ours.ci_low, ours.ci_high] == [
        float(v) for v in r["auc_perfect"].split()[:3]
    ]


def test_cox_collinear_covariate_is_left_out_as_r_does(rscript: RScript) -> None:
    """y = 2 x: R coxph fits x and gives y coefficient NA (degenerate.R, cox_collinear, with
    R's coefficient of x printed beside the NA); petdx fits x alone, to R's value, and warns."""
    r = _r_lines(rscript)["cox_collinear"].split()
    assert r[1] == "NA", r
    time, event = [1, 2, 3, 4, 5, 6, 7, 8], [1, 0, 1, 1, 0, 1, 1, 0]
    x = [0.5, 2.0, 1.0, 3.0, 0.2, 2.5, 1.5, 0.7]
    with pytest.warns(UndefinedStatisticWarning, match="linear combination of x"):
        res = cox_regression(time, event, {"x": x, "y": [2 * v for v in x]})
    assert res.terms[0].term == "x"
    assert res.terms[0].coef == pytest.approx(float(r[0]), rel=1e-6)
    assert math.isnan(res.terms[1].coef)


def test_kappa_test_of_raters_each_using_one_category_is_undefined_warned() -> None:
    """Rater 1 always "a", rater 2 always "b": po = pe = 0, kappa 0; the variance of kappa
    under kappa = 0 (Fleiss, Cohen & Everitt 1969) is 0, so z = 0/0."""
    with pytest.warns(UndefinedStatisticWarning, match="test of kappa = 0 is undefined"):
        k = cohen_kappa(["a"] * 4, ["b"] * 4)
    assert k.kappa.estimate == 0.0
    assert math.isnan(k.z)
    assert math.isnan(k.p_value)


def test_paired_comparison_of_identical_markers_warns() -> None:
    """pROC's roc.test (DeLong) takes 0/0 as z = 0, p = 1; petdx keeps that and says why."""
    from petdx.stats import compare_aucs

    with pytest.warns(UndefinedStatisticWarning, match="variance 0"):
        c = compare_aucs([0, 1, 0, 1, 0, 1], [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6])
    assert (c.statistic, c.p_value, c.difference) == (0.0, 1.0, 0.0)
    assert c.warnings


def test_spearman_of_a_constant_marker_is_nan_warned(rscript: RScript) -> None:
    """R cor.test(method = "spearman") on a constant x: rho NA, p NA, warning "the standard
    deviation is zero" (degenerate.R, spearman_constant). petdx had only scipy's
    ConstantInputWarning, which the CLI and the analyses do not report."""
    r = _r_lines(rscript)["spearman_constant"]
    assert r.startswith("NA NA"), r
    assert "standard deviation is zero" in r
    with pytest.warns(UndefinedStatisticWarning, match="x constant"):
        res = spearman([1, 1, 1, 1], [1, 2, 3, 4])
    assert math.isnan(res.statistic)
    assert math.isnan(res.p_value)
    assert res.effect is not None
    assert math.isnan(res.effect.estimate)
    assert res.warnings
