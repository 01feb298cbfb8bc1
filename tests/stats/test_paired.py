"""McNemar, paired differences of proportions, Wilcoxon signed-rank."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from petdx.errors import InputValidationError, UndefinedStatisticWarning
from petdx.stats import (
    compare_paired_accuracy,
    mcnemar_test,
    paired_difference,
    wilcoxon_signed_rank,
)


def test_mcnemar_reference_values() -> None:
    """R: mcnemar.test(matrix(c(1434, 33, 18, 51), 2), correct = FALSE) gives McNemar's
    chi-squared = 4.4118, p-value = 0.03569; with correct = TRUE 3.8431, p = 0.04995
    (values quoted in petdx issue 5)."""
    table = [[1434, 18], [33, 51]]
    plain = mcnemar_test(table, method="chi2")
    assert round(plain.statistic, 4) == 4.4118
    assert round(plain.p_value, 5) == 0.03569
    corrected = mcnemar_test(table)
    assert round(corrected.statistic, 4) == 3.8431
    assert round(corrected.p_value, 5) == 0.04995
    assert corrected.df == 1.0


def test_exact_mcnemar_is_a_binomial_test() -> None:
    """Independent: scipy.stats.binomtest(b, b + c, 0.5), two-sided."""
    for b, c in [(18, 33), (0, 5), (3, 3), (1, 11)]:
        res = mcnemar_test([[10, b], [c, 10]], method="exact")
        assert res.p_value == pytest.approx(stats.binomtest(b, b + c, 0.5).pvalue, rel=1e-10)


def test_no_discordant_pairs_warns() -> None:
    with pytest.warns(UndefinedStatisticWarning, match="no discordant pairs"):
        res = mcnemar_test([[5, 0], [0, 7]])
    assert math.isnan(res.p_value)


def _pairs(a: int, b: int, c: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    u = np.array([1] * a + [1] * b + [0] * c + [0] * d, bool)
    v = np.array([1] * a + [0] * b + [1] * c + [0] * d, bool)
    return u, v


def test_newcombe_method_10_reference() -> None:
    """Fagerland, Lydersen & Laake (2017), Statistical Analysis of Contingency Tables, ch. 8;
    R contingencytables Newcombe_square_and_add_CI_paired_2x2 on n = [[59, 6], [16, 80]]
    prints estimate = -0.0621 (95% CI -0.1186 to -0.0046) (package test suite)."""
    e = paired_difference(*_pairs(59, 6, 16, 80))
    assert (round(e.estimate, 4), round(e.ci_low, 4), round(e.ci_high, 4)) == (
        -0.0621,
        -0.1186,
        -0.0046,
    )


def test_wald_paired_difference() -> None:
    a, b, c, d = 30, 12, 4, 54
    n = a + b + c + d
    e = paired_difference(*_pairs(a, b, c, d), method="wald")
    se = math.sqrt((b + c) - (b - c) ** 2 / n) / n
    assert e.se == pytest.approx(se)
    assert e.ci_high - e.estimate == pytest.approx(1.959963984540054 * se)


def test_compare_paired_accuracy_splits_by_truth() -> None:
    rng = np.random.default_rng(0)
    truth = rng.random(150) < 0.5
    t1 = np.where(truth, rng.random(150) < 0.85, rng.random(150) < 0.2)
    t2 = np.where(truth, rng.random(150) < 0.70, rng.random(150) < 0.25)
    r = compare_paired_accuracy(truth, t1, t2, labels=("ga68", "fdg"))
    assert r.sensitivity.effect is not None
    assert r.specificity.effect is not None
    assert r.sensitivity.effect.estimate == pytest.approx(t1[truth].mean() - t2[truth].mean())
    assert r.specificity.effect.estimate == pytest.approx(
        (~t1[~truth]).mean() - (~t2[~truth]).mean()
    )
    assert r.sensitivity.n == int(truth.sum())
    assert "ga68 vs fdg" in str(r)


def test_wilcoxon_r_documentation_example() -> None:
    """R ?wilcox.test, depression data of Hollander & Wolfe (1973, p. 29):
    wilcox.test(x, y, paired = TRUE, alternative = "greater") gives V = 40,
    p-value = 0.01953; the two-sided p-value is 0.03906."""
    x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
    greater = wilcoxon_signed_rank(x, y, alternative="greater")
    assert greater.statistic == 40.0
    assert round(greater.p_value, 5) == 0.01953
    assert round(wilcoxon_signed_rank(x, y).p_value, 5) == 0.03906
    assert "exact" in greater.method


def test_wilcoxon_with_ties_uses_the_corrected_normal_approximation() -> None:
    """Ties: normal approximation with continuity correction and tie-corrected variance
    (R wilcox.test with ties); computed here from the textbook formula."""
    x = np.array([2.0, 3.0, 3.0, 5.0, 1.0, 4.0, 4.0, 6.0, 2.5, 3.5])
    y = np.array([1.0, 2.0, 2.0, 2.0, 2.0, 3.0, 2.0, 4.0, 2.5, 1.5])
    d = (x - y)[x != y]
    r = stats.rankdata(np.abs(d))
    n = d.size
    v = r[d > 0].sum()
    _, counts = np.unique(np.abs(d), return_counts=True)
    sigma = math.sqrt(n * (n + 1) * (2 * n + 1) / 24 - np.sum(counts**3 - counts) / 48)
    z = (abs(v - n * (n + 1) / 4) - 0.5) / sigma
    res = wilcoxon_signed_rank(x, y)
    assert res.statistic == v
    assert res.n == n
    assert res.p_value == pytest.approx(2 * stats.norm.sf(z), rel=1e-10)


def test_bad_paired_input() -> None:
    with pytest.raises(InputValidationError, match="2x2 table"):
        mcnemar_test([[1, 2, 3]])
    with pytest.raises(InputValidationError, match="equal length"):
        paired_difference([1, 0], [1])
    with pytest.raises(InputValidationError, match="alternative"):
        wilcoxon_signed_rank([1, 2], [2, 1], alternative="bigger")
    with pytest.warns(UndefinedStatisticWarning, match="every difference is zero"):
        wilcoxon_signed_rank([1, 2], [1, 2])
