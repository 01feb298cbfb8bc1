"""Buderer sample sizes and AUC power against pROC's published test values."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from petdx.errors import InputValidationError
from petdx.stats import auc_difference_power, auc_power, buderer_sample_size


def test_proc_single_auc_power() -> None:
    """pROC tests/testthat/test-power.roc.test.R: power.roc.test(ncases = 41,
    ncontrols = 72, auc = 0.73) power 0.9897453; with power = 0.95 and sig.level = NULL the
    level is 0.009238584; power.roc.test(auc = 0.7313686 (aSAH s100b), power = 0.95,
    kappa = 1.7) ncases 29.29764, ncontrols 49.806."""
    assert auc_power(n_cases=41, n_controls=72, auc=0.73).power == pytest.approx(
        0.9897453, abs=1e-6
    )
    level = auc_power(n_cases=41, n_controls=72, auc=0.73, power=0.95, sig_level=None)
    assert level.sig_level == pytest.approx(0.009238584, abs=1e-8)
    n = auc_power(auc=0.7313686, power=0.95, kappa=1.7)
    assert (n.n_cases, n.n_controls) == pytest.approx((29.29764, 49.806), abs=1e-4)


def test_detectable_auc_solves_the_equation() -> None:
    """pROC prints 0.6961054 for power.roc.test(ncases = 41, ncontrols = 72,
    sig.level = 0.05, power = 0.95); it finds the root with uniroot's default tolerance
    (1.2e-4), petdx to 1e-12: the root must reproduce ncases = 41 and lie within uniroot's
    tolerance of pROC's value."""
    r = auc_power(n_cases=41, n_controls=72, power=0.95)
    assert r.auc == pytest.approx(0.6961054, abs=1.22e-4)
    back = auc_power(auc=r.auc, power=0.95, kappa=72 / 41)
    assert back.n_cases == pytest.approx(41, rel=1e-8)


def test_obuchowski_2004_table_4() -> None:
    """Obuchowski, Lieber & Wians 2004 Table 4 (one-sided, power 0.9, alpha 0.05), as
    reproduced (with two cells corrected) in pROC's test suite; at least 10 per group."""
    kappas = [0.25, 0.5, 1, 2, 4]
    thetas = [0.6, 0.7, 0.8, 0.9, 0.95]
    controls = [
        [84, 20, 10, 10, 10],
        [101, 25, 10, 10, 10],
        [135, 33, 14, 10, 10],
        [203, 50, 21, 20, 20],
        [340, 84, 40, 40, 40],
    ]
    cases = [
        [334, 80, 40, 40, 40],
        [202, 49, 20, 20, 20],
        [135, 33, 14, 10, 10],
        [102, 25, 11, 10, 10],
        [85, 21, 10, 10, 10],
    ]
    for i, k in enumerate(kappas):
        for j, theta in enumerate(thetas):
            r = auc_power(auc=theta, power=0.9, kappa=k, alternative="one-sided")
            nc, nn = math.ceil(r.n_cases), math.ceil(r.n_controls)
            assert max(10, (10 if nc < 10 else 0) * k, nn) == controls[i][j], (k, theta)
            assert max(10, (10 if nn < 10 else 0) / k, nc) == cases[i][j], (k, theta)


def test_proc_two_curves_binormal_partial() -> None:
    """pROC test suite, binormal parameters A1 2.6, B1 1, A2 1.9, B2 1, rn = ra = 0.6,
    FPR 0 to 0.2, delta 0.037 (Obuchowski & McClish 1997 example 2): ncases 107.0238 at
    power 0.8; with ncases 107 the level is 0.05004012 and the power 0.7999286."""
    p = {
        "a1": 2.6,
        "b1": 1.0,
        "a2": 1.9,
        "b2": 1.0,
        "r_negative": 0.6,
        "r_positive": 0.6,
        "delta": 0.037,
        "fpr_range": (0.0, 0.2),
    }
    assert auc_difference_power(**p, power=0.8).n_cases == pytest.approx(107.0238, abs=1e-4)
    assert auc_difference_power(**p, power=0.8, sig_level=None, n_cases=107).sig_level == (
        pytest.approx(0.05004012, abs=1e-8)
    )
    assert auc_difference_power(**p, n_cases=107).power == pytest.approx(0.7999286, abs=1e-7)


def test_buderer_formula() -> None:
    """Buderer 1996: n = z^2 Se(1 - Se)/d^2 diseased, divided by the prevalence."""
    r = buderer_sample_size(sensitivity=0.9, specificity=0.8, prevalence=0.2, precision=0.05)
    z = stats.norm.ppf(0.975)
    assert r.n_diseased == math.ceil(z**2 * 0.09 / 0.0025)
    assert r.n_for_sensitivity == math.ceil(z**2 * 0.09 / 0.0025 / 0.2)
    assert r.n_for_specificity == math.ceil(z**2 * 0.16 / 0.0025 / 0.8)
    assert r.n_total == max(r.n_for_sensitivity, r.n_for_specificity) == 692


def test_bad_sample_size_input() -> None:
    with pytest.raises(InputValidationError, match="prevalence"):
        buderer_sample_size(sensitivity=0.9, specificity=0.8, prevalence=0, precision=0.05)
    with pytest.raises(InputValidationError, match="leave exactly one"):
        auc_power(auc=0.7, n_cases=10, n_controls=10, power=0.8)
    with pytest.raises(InputValidationError, match="alternative"):
        auc_power(auc=0.7, power=0.8, alternative="greater")
    with pytest.raises(InputValidationError, match="kappa"):
        auc_power(auc=0.7, power=0.8, kappa=0)


@pytest.mark.parametrize(
    ("prevalence", "precision"),
    [(5e-324, 0.05), (1 - 2**-53, 0.05), (0.5, 1e-200), (1e-300, 0.05)],
)
def test_buderer_refuses_inputs_that_give_no_finite_study(
    prevalence: float, precision: float
) -> None:
    """Issue 19 audit: a prevalence next to 0 or 1 raised OverflowError (ceil of inf), a tiny
    precision ZeroDivisionError (d * d underflows to 0)."""
    with pytest.raises(InputValidationError, match=r"more than 1e\+09 patients.*valid range"):
        buderer_sample_size(
            sensitivity=0.9, specificity=0.8, prevalence=prevalence, precision=precision
        )


def test_auc_power_refuses_inputs_without_a_solution() -> None:
    """Issue 19 audit: too few cases for the power at any AUC (brentq's ValueError), an AUC
    of 0.5 to detect (an infinite sample) and a difference of 0 (ZeroDivisionError)."""
    # At AUC -> 1 Obuchowski's V(AUC) -> 0, so n = (z_0.975 sqrt(0.0792 (1 + 1/kappa)))^2 /
    # 0.5^2 cases at the least (pROC power.roc.test's formula with kappa = 1).
    least = stats.norm.ppf(0.975) ** 2 * 0.0792 * 2 / 0.25
    with pytest.raises(
        InputValidationError, match=rf"n_cases 0\.5: too few .* at least {least:.4g}"
    ):
        auc_power(n_cases=0.5, n_controls=0.5, power=0.8, auc=None)
    auc_power(n_cases=least * 1.01, n_controls=least * 1.01, power=0.8, auc=None)  # solvable
    with pytest.raises(InputValidationError, match=r"auc 0\.5: .*between 0 and 1 other than 0\.5"):
        auc_power(auc=0.5, power=0.8)
    with pytest.raises(InputValidationError, match=r"delta: .*not 0"):
        auc_difference_power(
            a1=1.0, b1=1.0, a2=1.0, b2=1.0, r_negative=0.5, r_positive=0.5, delta=0.0, power=0.8
        )
