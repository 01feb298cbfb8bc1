"""Kappa, ICC, Bland-Altman and Spearman against published values and independent code."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

from petdx.errors import InputValidationError, UndefinedStatisticWarning
from petdx.stats import bland_altman, cohen_kappa, cohen_kappa_table, fleiss_kappa, icc, spearman
from petdx.stats.agreement import _fleiss_from_counts
from tests.conftest import RScript

# SAS/STAT User's Guide, PROC FREQ "Getting Started: Agreement Study": two dermatologists'
# ratings of 88 patients (terrible, poor, marginal, clear).
SKIN = [[10, 4, 1, 0], [5, 10, 12, 2], [2, 4, 12, 5], [0, 2, 6, 13]]


def test_kappa_sas_agreement_study() -> None:
    """SAS PROC FREQ AGREE output for the skin-condition data: simple kappa 0.3449, ASE
    0.0724, 95% CL 0.2030 to 0.4868; weighted kappa (Cicchetti-Allison = linear) 0.5082,
    ASE 0.0655, 95% CL 0.3798 to 0.6366."""
    k = cohen_kappa_table(SKIN).kappa
    assert (round(k.estimate, 4), round(k.se, 4)) == (0.3449, 0.0724)
    assert (round(k.ci_low, 4), round(k.ci_high, 4)) == (0.2030, 0.4868)
    w = cohen_kappa_table(SKIN, weights="linear").kappa
    assert (round(w.estimate, 4), round(w.se, 4)) == (0.5082, 0.0655)
    assert (round(w.ci_low, 4), round(w.ci_high, 4)) == (0.3798, 0.6366)


def test_kappa_from_labels_equals_table() -> None:
    cats = ["terrible", "poor", "marginal", "clear"]
    r1, r2 = [], []
    for i, row in enumerate(SKIN):
        for j, count in enumerate(row):
            r1 += [cats[i]] * count
            r2 += [cats[j]] * count
    a = cohen_kappa(r1, r2, weights="quadratic", categories=cats)
    b = cohen_kappa_table(SKIN, weights="quadratic")
    assert a.kappa.estimate == pytest.approx(b.kappa.estimate)
    assert a.categories == tuple(cats)


def test_fleiss_kappa_published_example() -> None:
    """Fleiss' kappa worked example (10 subjects, 14 raters, 5 categories; Wikipedia
    'Fleiss' kappa'): kappa = 0.210."""
    counts = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    ratings = np.array([np.repeat(np.arange(5), row) for row in counts])
    k = fleiss_kappa(ratings, n_bootstrap=500, seed=3)
    assert round(k.estimate, 3) == 0.210
    assert k.ci_low < k.estimate < k.ci_high


def test_vectorised_fleiss_equals_statsmodels() -> None:
    rng = np.random.default_rng(1)
    ratings = rng.integers(0, 3, size=(40, 4))
    table, _ = aggregate_raters(ratings)
    ours = _fleiss_from_counts(table.astype(float), np.ones((1, 40)))[0]
    assert ours == pytest.approx(sm_fleiss(table), abs=1e-12)


def test_icc_shrout_fleiss_and_psych() -> None:
    """Shrout & Fleiss (1979) Table 2 data (6 targets, 4 judges); their Table 4 gives ICC
    .17, .29, .71, .44, .62, .91. R psych::ICC(sf) (psych 2.x documentation) prints the
    F tests and 95% bounds: ICC1 F 1.8 (5, 18) p 0.16477 [-0.133, 0.72]; ICC2 F 11 (5, 15)
    p 0.00013 [0.019, 0.76]; ICC3 [0.342, 0.95]; ICC1k [-0.884, 0.91]; ICC2k [0.071, 0.93];
    ICC3k [0.676, 0.99]."""
    sf = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    got = {r.form.value: r for r in icc(sf)}
    expected = {
        "ICC1": (0.17, -0.133, 0.72, 1.8, 18, 0.16477),
        "ICC2": (0.29, 0.019, 0.76, 11.0, 15, 0.00013),
        "ICC3": (0.71, 0.342, 0.95, 11.0, 15, 0.00013),
        "ICC1k": (0.44, -0.884, 0.91, 1.8, 18, 0.16477),
        "ICC2k": (0.62, 0.071, 0.93, 11.0, 15, 0.00013),
        "ICC3k": (0.91, 0.676, 0.99, 11.0, 15, 0.00013),
    }
    for form, (value, low, high, f, df2, p) in expected.items():
        r = got[form]
        assert round(r.estimate.estimate, 2) == value, form
        assert round(r.estimate.ci_low, 3) == low, form
        assert round(r.estimate.ci_high, 2) == high, form
        assert (round(r.f, 1), r.df1, r.df2, round(r.p_value, 5)) == (f, 5, df2, p), form


def test_bland_altman_formulas() -> None:
    """Bias t interval and the Bland & Altman (1999) SE of a limit, computed directly."""
    rng = np.random.default_rng(2)
    x = rng.normal(10, 2, 40)
    y = x + rng.normal(0.3, 1.0, 40)
    r = bland_altman(x, y)
    d = x - y
    s = d.std(ddof=1)
    t = stats.t.ppf(0.975, 39)
    assert r.bias.ci_low == pytest.approx(d.mean() - t * s / math.sqrt(40))
    se = s * math.sqrt(1 / 40 + 1.959963984540054**2 / 78)
    assert r.upper_limit.estimate == pytest.approx(d.mean() + 1.959963984540054 * s)
    assert r.upper_limit.ci_high == pytest.approx(r.upper_limit.estimate + t * se)


def test_bland_altman_exact_limits_have_nominal_coverage() -> None:
    """Carkeet's exact interval covers the true 97.5th percentile of the differences in
    95% of samples (seeded simulation, 4000 samples of n = 15; Monte Carlo SE 0.0034)."""
    rng = np.random.default_rng(12)
    true_upper = 0.0 + 1.959963984540054 * 1.0
    hits = 0
    for _ in range(4000):
        d = rng.normal(0.0, 1.0, 15)
        r = bland_altman(d, np.zeros(15), limits="exact")
        hits += r.upper_limit.ci_low <= true_upper <= r.upper_limit.ci_high
    assert hits / 4000 == pytest.approx(0.95, abs=0.012)


def test_spearman_against_scipy_and_fisher_z() -> None:
    """rho and p from scipy.stats.spearmanr; interval by Fisher z with the Bonett-Wright
    variance (1 + r^2/2)/(n - 3), or Fieller's 1.06/(n - 3)."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=50)
    y = x + rng.normal(size=50)
    r = spearman(x, y)
    ref = stats.spearmanr(x, y)
    assert r.statistic == pytest.approx(ref.statistic)
    assert r.p_value == pytest.approx(ref.pvalue)
    rho = ref.statistic
    half = 1.959963984540054 * math.sqrt((1 + rho**2 / 2) / 47)
    assert r.effect is not None
    assert r.effect.ci_low == pytest.approx(math.tanh(math.atanh(rho) - half))
    f = spearman(x, y, method="fieller").effect
    assert f is not None
    assert f.ci_high == pytest.approx(
        math.tanh(math.atanh(rho) + 1.959963984540054 * math.sqrt(1.06 / 47))
    )
    b = spearman(x, y, method="bootstrap", n_bootstrap=500, seed=1).effect
    assert b is not None
    assert b.ci_low < rho < b.ci_high


def test_bad_agreement_input() -> None:
    with pytest.raises(InputValidationError, match="square table"):
        cohen_kappa_table([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(InputValidationError, match="not one of the categories"):
        cohen_kappa(["a", "b"], ["a", "c"], categories=["a", "b"])
    with pytest.raises(InputValidationError, match="subject 1 has a missing rating"):
        icc([[1, 2], [3, float("nan")], [4, 5]])
    with pytest.raises(InputValidationError, match="at least 3 pairs"):
        bland_altman([1, 2], [1, 3])
    with pytest.raises(InputValidationError, match="limits"):
        bland_altman([1, 2, 3], [1, 3, 2], limits="wide")
    with pytest.raises(InputValidationError, match="at least 4 pairs"):
        spearman([1, 2, 3], [3, 2, 1])
    with pytest.raises(InputValidationError, match="at least 2 of each"):
        fleiss_kappa([[1, 2, 1]])


# ICC with perfect agreement (issue 23 item 3). R 4.2.2 with psych::ICC's ANOVA and formulas
# (tests/stats/r_oracle/icc_perfect_agreement.R) prints, for raters 1 2 4 / 1 2 4:
#   MSB 4.6666666666666643 MSE 5.0333115264766427e-31 ICC3 1 F 9.2715633477456691e+30
#   p 1.0785667556735606e-31
# for raters 1 2 4 / 2 3 5 (an offset of 1): MSJ 1.5, MSE 3.08e-32, ICC3 1, F 1.5e+32;
# for every rating 3: MSB = MSE = 7.9e-31 (rounding only), ICC3 -8.3e-16, F 0.99999999999999833
# p 0.5: R's MSE is rounding noise (aov's QR), so F is "huge" and p "tiny"; the exact values
# are F = inf and p = 0, ICC 1; with no variance at all the ICC is 0/0, undefined.
def test_icc_perfect_agreement_is_one_with_infinite_f_and_p_zero() -> None:
    with pytest.warns(UndefinedStatisticWarning, match="residual variance is 0"):
        got = {r.form.value: r for r in icc([[1, 1], [2, 2], [4, 4]])}
    for r in got.values():
        assert r.estimate.estimate == 1.0
        assert r.f == math.inf
        assert r.p_value == 0.0
        assert math.isnan(r.estimate.ci_low)
        assert math.isnan(r.estimate.ci_high)
    with pytest.warns(UndefinedStatisticWarning):
        three = icc([[0.1, 0.1, 0.1], [0.2, 0.2, 0.2], [0.7, 0.7, 0.7]])
    assert all(r.estimate.estimate == 1.0 and r.f == math.inf for r in three)


def test_icc_rater_offset_consistency_one_agreement_below_one() -> None:
    """Rater 2 = rater 1 + 1: MSB 14/3, MSJ 1.5 (R above), MSE 0. ICC3 = 1 (consistency),
    ICC2 = MSB / (MSB + k MSJ / n) = (14/3) / (14/3 + 1) = 14/17, ICC1 from MSW = 1/2."""
    with pytest.warns(UndefinedStatisticWarning, match="residual variance is 0"):
        got = {r.form.value: r for r in icc([[1, 2], [2, 3], [4, 5]])}
    assert got["ICC3"].estimate.estimate == 1.0
    assert got["ICC3"].f == math.inf
    assert got["ICC2"].estimate.estimate == pytest.approx(14 / 17, rel=1e-14)
    assert got["ICC2k"].estimate.estimate == pytest.approx((14 / 3) / (14 / 3 + 0.5), rel=1e-14)
    msb, msw = 14 / 3, 0.5
    assert got["ICC1"].estimate.estimate == pytest.approx((msb - msw) / (msb + msw), rel=1e-14)
    assert got["ICC1"].f == pytest.approx(msb / msw, rel=1e-14)
    assert math.isfinite(got["ICC1"].estimate.ci_low)


def test_icc_rater_offset_against_r_run_now(rscript: RScript) -> None:
    """Runs tests/stats/r_oracle/icc_perfect_agreement.R (psych::ICC's ANOVA, transcribed) on
    this machine's R (its version and the packages' are in the pytest header and in any
    failure message). Third case, raters 1 2 4 / 2 3 5: from R's mean squares MSB, MSJ, MSE,
    MSW (Shrout & Fleiss 1979 with n = 3 subjects, k = 2 raters) petdx's ICC1, ICC2, ICC2k."""
    out = rscript.run(Path(__file__).parent / "r_oracle" / "icc_perfect_agreement.R")
    blocks = re.findall(r"MSB (\S+) MSJ (\S+) MSE (\S+) MSW (\S+)", out)
    assert len(blocks) == 4, f"unexpected output under {rscript.versions}:\n{out}"
    msb, msj, mse, msw = (float(v) for v in blocks[2])
    n, k = 3, 2
    expected = {
        "ICC1": (msb - msw) / (msb + (k - 1) * msw),
        "ICC2": (msb - mse) / (msb + (k - 1) * mse + k * (msj - mse) / n),
        "ICC2k": (msb - mse) / (msb + (msj - mse) / n),
    }
    with pytest.warns(UndefinedStatisticWarning, match="residual variance is 0"):
        got = {r.form.value: r.estimate.estimate for r in icc([[1, 2], [2, 3], [4, 5]])}
    for form, value in expected.items():
        assert got[form] == pytest.approx(value, rel=1e-12), f"{form} vs {rscript.versions}"


def test_icc_without_any_variance_is_undefined() -> None:
    with pytest.warns(UndefinedStatisticWarning, match="every rating is the same"):
        got = icc([[3, 3], [3, 3], [3, 3]])
    for r in got:
        assert math.isnan(r.estimate.estimate)
        assert math.isnan(r.f)


def test_kappa_perfect_agreement_has_se_zero_not_a_silent_null() -> None:
    """3 x 3 perfect agreement: the Fleiss-Cohen-Everitt variance is exactly 0, but
    statsmodels computes -1.4e-17 and its SE is NaN (issue 23). petdx clamps the rounding."""
    r = cohen_kappa_table([[3, 0, 0], [0, 2, 0], [0, 0, 1]])
    assert r.kappa.estimate == pytest.approx(1.0, abs=1e-15)
    assert r.kappa.se == 0.0
    assert r.kappa.ci_low == r.kappa.ci_high == pytest.approx(1.0, abs=1e-15)
