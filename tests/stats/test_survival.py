"""Kaplan-Meier, log-rank and Cox against R survival output on lifelines' datasets."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.datasets import load_lung, load_regression_dataset, load_rossi

from petdx.errors import InputValidationError, OptimismWarning, UndefinedStatisticWarning
from petdx.stats import cox_regression, kaplan_meier, logrank_test, split_groups
from tests.conftest import RScript


def test_km_median_lung_as_r_survfit() -> None:
    """R: survfit(Surv(time, status) ~ 1, data = lung) prints n 228, events 165, median 310,
    0.95LCL 285, 0.95UCL 363; by sex: sex=1 138 112 270 212 310; sex=2 90 53 426 348 550
    (survival package, default conf.type "log"; lung as shipped with lifelines)."""
    lung = load_lung()
    r = kaplan_meier(lung.time, lung.status)
    assert (r.n, r.events) == (228, 165)
    assert (r.median.estimate, r.median.ci_low, r.median.ci_high) == (310, 285, 363)
    for sex, expected in ((1, (138, 112, 270, 212, 310)), (2, (90, 53, 426, 348, 550))):
        m = lung.sex == sex
        g = kaplan_meier(lung.time[m], lung.status[m], label=str(sex))
        med = g.median
        assert (g.n, g.events, med.estimate, med.ci_low, med.ci_high) == expected


def test_log_log_band_equals_lifelines() -> None:
    """lifelines' default band is the log-log ('exponential Greenwood') one."""
    lung = load_lung()
    r = kaplan_meier(lung.time, lung.status, conf_type="log-log")
    k = KaplanMeierFitter().fit(lung.time, lung.status)
    band = k.confidence_interval_.loc[r.times].to_numpy()
    assert np.allclose(band[:, 0], r.ci_low, atol=1e-12, equal_nan=True)
    assert np.allclose(band[:, 1], r.ci_high, atol=1e-12, equal_nan=True)
    assert np.allclose(k.survival_function_.loc[r.times].to_numpy().ravel(), r.survival)


def test_median_flat_at_one_half_is_the_midpoint() -> None:
    """R quantile.survfit: when the curve is exactly 0.5 over a stretch the median is its
    midpoint (survfit(Surv(1:4, rep(1, 4)) ~ 1) has median 2.5)."""
    r = kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1])
    assert r.median.estimate == 2.5


def test_median_not_reached_is_nan_with_warning() -> None:
    with pytest.warns(UndefinedStatisticWarning, match="median survival not reached"):
        r = kaplan_meier([1, 2, 3, 4, 5, 6], [1, 0, 0, 0, 0, 0], label="arm A")
    assert math.isnan(r.median.estimate)
    assert "not reached" in str(r)


def test_numbers_at_risk() -> None:
    lung = load_lung()
    r = kaplan_meier(lung.time, lung.status, at_times=(0, 365, 730))
    assert r.at_risk == tuple(int((lung.time >= t).sum()) for t in (0, 365, 730))
    assert r.survival_at[0] == 1.0


def test_logrank_lung_by_sex() -> None:
    """R: survdiff(Surv(time, status) ~ sex, data = lung): Chisq = 10.3 on 1 degrees of
    freedom, p = 0.001 (p = 0.00131)."""
    lung = load_lung()
    r = logrank_test(lung.time, lung.status, lung.sex)
    assert round(r.statistic, 1) == 10.3
    assert r.df == 1
    assert round(r.p_value, 5) == 0.00131


def _stratified_logrank_by_hand(
    time: np.ndarray, event: np.ndarray, group: np.ndarray, strata: np.ndarray
) -> float:
    """Two-group log-rank statistic summed over strata, from the textbook formula."""
    o_minus_e = var = 0.0
    for s in np.unique(strata):
        t, e, g = time[strata == s], event[strata == s], group[strata == s]
        for u in np.unique(t[e]):
            at_risk = t >= u
            n, n1 = at_risk.sum(), (at_risk & g).sum()
            d = ((t == u) & e).sum()
            d1 = ((t == u) & e & g).sum()
            o_minus_e += d1 - d * n1 / n
            if n > 1:
                var += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
    return o_minus_e**2 / var


def test_stratified_logrank_by_hand() -> None:
    lung = load_lung().dropna(subset=["ph.ecog"])
    time = lung.time.to_numpy(float)
    event = lung.status.to_numpy() == 1
    group = lung.sex.to_numpy() == 2
    strata = lung["ph.ecog"].to_numpy()
    r = logrank_test(time, event, group, strata=strata)
    assert r.statistic == pytest.approx(
        _stratified_logrank_by_hand(time, event, group, strata), rel=1e-9
    )
    assert "stratified" in r.method


def test_cox_rossi_as_r_coxph() -> None:
    """R: coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio,
    data = Rossi) with Efron ties (survival package; coefficients quoted in petdx issue 5;
    SEs and concordance 0.640 from Fox & Weisberg's Cox-regression appendix)."""
    rossi = load_rossi()
    names = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]
    r = cox_regression(rossi.week, rossi.arrest, {n: rossi[n] for n in names})
    expected = [-0.3794222, -0.0574377, 0.3138998, -0.1497957, -0.4337039, -0.0848711, 0.0914971]
    assert [t.coef for t in r.terms] == pytest.approx(expected, abs=5e-7)
    assert [round(t.se, 4) for t in r.terms] == [
        0.1914,
        0.0220,
        0.3080,
        0.2122,
        0.3819,
        0.1958,
        0.0286,
    ]
    assert round(r.concordance, 3) == 0.640
    fin = r.terms[0].hazard_ratio
    assert fin.estimate == pytest.approx(math.exp(-0.3794222), rel=1e-6)
    assert (r.n, r.events) == (432, 114)


def test_cox_lung_sex_as_r() -> None:
    """R: summary(coxph(Surv(time, status) ~ sex, data = lung)): coef -0.5310, se 0.1672,
    HR 0.5880 (0.4237, 0.816), p 0.00149, concordance 0.579."""
    lung = load_lung()
    r = cox_regression(lung.time, lung.status, {"sex": lung.sex})
    t = r.terms[0]
    assert (round(t.coef, 4), round(t.se, 4), round(t.p_value, 5)) == (-0.5310, 0.1672, 0.00149)
    hr = t.hazard_ratio
    assert (round(hr.estimate, 4), round(hr.ci_low, 4), round(hr.ci_high, 3)) == (
        0.5880,
        0.4237,
        0.816,
    )
    assert round(r.concordance, 3) == 0.579


def test_ph_test_as_r_cox_zph() -> None:
    """R: cox.zph(coxph(Surv(T, E) ~ var1 + var2 + var3, data = df), transform = 'rank') on
    lifelines' regression dataset: chisq 1.4938293, 0.8792998, 2.2686088; p(var3) 0.1320184
    (survival < 3.0; reference values of lifelines' own test suite)."""
    df = load_regression_dataset()
    r = cox_regression(
        df["T"], df["E"], {v: df[v] for v in ("var1", "var2", "var3")}, ph_time_transform="rank"
    )
    chi2 = [t.ph_test_chi2 for t in r.terms]
    assert chi2 == pytest.approx([1.4938293, 0.8792998, 2.2686088], rel=1e-3)
    assert r.terms[2].ph_test_p == pytest.approx(0.1320184, rel=1e-3)


def test_cox_problems_warn_instead_of_crashing() -> None:
    t = np.arange(1, 11, dtype=float)
    e = np.ones(10)
    separated = (t > 5).astype(float)  # every event of x = 0 comes first
    with pytest.warns(UndefinedStatisticWarning, match="may be infinite"):
        r = cox_regression(t, e, {"x": separated})
    assert r.warnings
    with pytest.warns(UndefinedStatisticWarning, match="aliased"):
        r = cox_regression(t, e, {"x": np.ones(10)})
    assert math.isnan(r.terms[0].coef)


def test_split_groups() -> None:
    values = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    m = split_groups(values)
    assert m.cutoff == 3.0
    assert list(m.labels) == ["low", "low", "high", "high", "high"]
    c = split_groups(values, rule="cutoff", cutoff=4.0, direction="lower")
    assert list(c.labels) == ["high", "high", "high", "high", "low"]
    truth = np.array([0, 0, 1, 1, 1], bool)
    with pytest.warns(OptimismWarning, match="optimistic"):
        r = split_groups(values, rule="roc", truth=truth)
    assert r.cutoff == 3.0
    assert r.warnings


def test_bad_survival_input() -> None:
    with pytest.raises(InputValidationError, match="non-negative follow-up"):
        kaplan_meier([1, -2], [1, 1])
    with pytest.raises(InputValidationError, match="expected 2 values"):
        kaplan_meier([1, 2], [1])
    with pytest.raises(InputValidationError, match="at least two groups"):
        logrank_test([1, 2], [1, 1], ["a", "a"])
    with pytest.raises(InputValidationError, match="at least one covariate"):
        cox_regression([1, 2], [1, 1], {})
    with pytest.raises(InputValidationError, match="rule 'cutoff' needs"):
        split_groups([1, 2], rule="cutoff")
    with pytest.raises(InputValidationError, match="ph_time_transform"):
        cox_regression([1, 2], [1, 1], {"x": [0, 1]}, ph_time_transform="weird")


def test_median_flat_to_the_end_of_follow_up() -> None:
    """Five events then five censorings among ten patients: S is 0.5 from t = 5 to the last
    follow-up (t = 10). R quantile.survfit's rule for a flat stretch at the quantile that
    runs to the end of the curve: midpoint of its start and the last time, 7.5. The lower
    limit comes from the lower band; the upper band never reaches 0.5 ("not reached")."""
    r = kaplan_meier(np.arange(1.0, 11.0), [1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    assert r.median.estimate == 7.5
    assert r.median.ci_low == 3.0  # first time the lower band is <= 0.5
    assert r.ci_low[2] < 0.5 < r.ci_low[1]
    assert math.isnan(r.median.ci_high)


# Degenerate log-rank data (issue 23 item 2). R 4.2.2, survival 3.5-3, survdiff(Surv(t, e) ~ g):
#   no events (t 1..6, e all 0, g a a a b b b): "Chisq= 0 on -1 degrees of freedom, p= NA"
#   all events at one time (t 5 5 5 6 7 8, e 1 1 0 0 0 0, g a b a b a b): Chisq= 0, p= 1
#   t 5 5 5 6 7 8, e 1 1 1 0 0 0, g a a a b b b: Chisq= 5 on 1 degrees of freedom
#   one patient per group, all die at t 5 (g a b c): "Error in solve.default(vv, temp2):
#   Lapack routine dgesv: system is exactly singular"
#   t 1 2 3 6 7 8 9, e 0 0 0 1 1 0 1, g a a a b b b c: group a never at risk at an event,
#   left out: Chisq= 0.831 (0.830508474576271 printed with %.15g) on 1 degrees of freedom
def test_logrank_without_events_warns_chi2_zero_p_undefined() -> None:
    with pytest.warns(UndefinedStatisticWarning, match="no events"):
        r = logrank_test([1, 2, 3, 4, 5, 6], [0] * 6, ["a"] * 3 + ["b"] * 3)
    assert r.statistic == 0.0
    assert math.isnan(r.p_value)
    assert "no events" in r.warnings[0]


def test_logrank_all_events_at_one_time() -> None:
    r = logrank_test([5, 5, 5, 6, 7, 8], [1, 1, 0, 0, 0, 0], list("ababab"))
    assert (r.statistic, r.p_value, r.df) == (pytest.approx(0.0, abs=1e-15), 1.0, 1.0)
    r = logrank_test([5, 5, 5, 6, 7, 8], [1, 1, 1, 0, 0, 0], list("aaabbb"))
    assert r.statistic == pytest.approx(5.0, rel=1e-12)


def test_logrank_singular_variance_warns_nan() -> None:
    with pytest.warns(UndefinedStatisticWarning, match="singular"):
        r = logrank_test([5, 5, 5], [1, 1, 1], ["a", "b", "c"])
    assert math.isnan(r.statistic)
    assert math.isnan(r.p_value)


def test_logrank_group_never_at_risk_is_left_out_as_r() -> None:
    with pytest.warns(UndefinedStatisticWarning, match="left out"):
        r = logrank_test([1, 2, 3, 6, 7, 8, 9], [0, 0, 0, 1, 1, 0, 1], list("aaabbbc"))
    assert r.df == 1.0
    assert r.statistic == pytest.approx(0.830508474576271, rel=1e-12)


# Cox convergence (issue 23 item 4): a seeded random data set on which lifelines' default
# stopping rule left the x2 coefficient 5.3e-4 (relative) from R's. R 4.2.2, survival 3.5-3:
#   f <- coxph(Surv(time, status) ~ x1 + x2, d)  (ties = "efron", default control)
#   coef 0.800105667593555 -0.0471322231936792; se 0.305439379142488 0.419288285296411;
#   loglik -61.3193539848666
#   coxph(Surv(time, status) ~ x1 + k + x2, d) with k = 1 in every row:
#   x1 0.800105667593555, k NA, x2 -0.0471322231936792
_COX_TIME = [3, 6, 13, 2, 35, 38, 3, 18, 7, 21, 13, 12, 11, 8, 11, 8]
_COX_TIME += [2, 33, 7, 5, 3, 2, 2, 4, 22, 83, 3, 12, 2, 6, 25]
_COX_STATUS = [1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 1, 0, 1, 1]
_COX_STATUS += [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 1, 1]
_COX_X1 = [0.93, 1.05, 1.05, 0.38, -0.86, -0.72, 1.76, 0.56, -0.8, -1.47, -0.16, 0.89, 0.61]
_COX_X1 += [0.09, 0.17, 0.56, 1.51, -0.54, 1.09, 0.18, 0.71, 2.08, -0.75, 0.69, -2.38, -0.42]
_COX_X1 += [-0.48, -0.32, 1.28, 0.81, -1.11]
_COX_X2 = [0, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1]
_COX_X2 += [1, 1, 0]


def test_cox_fit_reaches_r_coxph_maximum() -> None:
    r = cox_regression(_COX_TIME, _COX_STATUS, {"x1": _COX_X1, "x2": _COX_X2})
    x1, x2 = r.terms
    assert x1.coef == pytest.approx(0.800105667593555, rel=1e-9)
    assert x2.coef == pytest.approx(-0.0471322231936792, rel=1e-8)
    assert x1.se == pytest.approx(0.305439379142488, rel=1e-9)
    assert x2.se == pytest.approx(0.419288285296411, rel=1e-9)
    assert r.log_likelihood == pytest.approx(-61.3193539848666, abs=1e-11)


def test_cox_and_logrank_against_r_run_now(rscript: RScript, tmp_path: Path) -> None:
    """The two R outputs quoted above, recomputed on this machine's R and survival (versions
    in the pytest header and in any failure message) by tests/stats/r_oracle/cox_logrank.R:
    coxph(Surv(time, status) ~ x1 + x2) on the Cox data, survdiff on the 'group never at
    risk' log-rank data. petdx must agree with R as it runs now, not only as it printed once."""
    cox = pd.DataFrame({"time": _COX_TIME, "status": _COX_STATUS, "x1": _COX_X1, "x2": _COX_X2})
    cox.to_csv(tmp_path / "cox.csv", index=False)
    t, e, g = [1, 2, 3, 6, 7, 8, 9], [0, 0, 0, 1, 1, 0, 1], list("aaabbbc")
    pd.DataFrame({"t": t, "e": e, "g": g}).to_csv(tmp_path / "logrank.csv", index=False)
    out = rscript.run(
        Path(__file__).parent / "r_oracle" / "cox_logrank.R",
        tmp_path / "cox.csv",
        tmp_path / "logrank.csv",
    )
    values = {line.split()[0]: line.split()[1:] for line in out.strip().splitlines()}
    assert set(values) == {"coef", "se", "loglik", "chisq"}, f"{rscript.versions}:\n{out}"
    coef = [float(v) for v in values["coef"]]
    se = [float(v) for v in values["se"]]
    why = f"petdx vs R under {rscript.versions}"
    r = cox_regression(_COX_TIME, _COX_STATUS, {"x1": _COX_X1, "x2": _COX_X2})
    for term, c, s in zip(r.terms, coef, se, strict=True):
        assert term.coef == pytest.approx(c, rel=1e-8), why
        assert term.se == pytest.approx(s, rel=1e-9), why
    assert r.log_likelihood == pytest.approx(float(values["loglik"][0]), abs=1e-11), why
    with pytest.warns(UndefinedStatisticWarning, match="left out"):
        lr = logrank_test(t, e, g)
    assert re.fullmatch(r"\S+ df \d+", " ".join(values["chisq"])), out
    assert lr.df == float(values["chisq"][2]), why
    assert lr.statistic == pytest.approx(float(values["chisq"][0]), rel=1e-12), why


def test_cox_constant_covariate_is_dropped_as_aliased() -> None:
    with pytest.warns(UndefinedStatisticWarning, match="constant"):
        r = cox_regression(_COX_TIME, _COX_STATUS, {"x1": _COX_X1, "k": [1.0] * 31, "x2": _COX_X2})
    assert [t.term for t in r.terms] == ["x1", "k", "x2"]
    assert math.isnan(r.terms[1].coef)
    assert r.terms[0].coef == pytest.approx(0.800105667593555, rel=1e-9)
    assert r.terms[2].coef == pytest.approx(-0.0471322231936792, rel=1e-8)
