"""Fast DeLong against the O(m n) placement-value definition, scikit-learn and Stata."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import roc_auc_score

from petdx.errors import InputValidationError, UndefinedStatisticWarning
from petdx.stats import (
    delong_auc,
    delong_components,
    delong_paired_test,
    delong_unpaired_test,
    hanley_mcneil_se,
)
from tests.conftest import RScript
from tests.stats.oracles import delong_quadratic

# Hanley & McNeil (1982), Table 1: CT ratings (1 = definitely normal ... 5 = definitely
# abnormal) of 58 normal and 51 abnormal patients; aggregate counts from the paper.
CT_NORMAL = [33, 6, 6, 11, 2]
CT_ABNORMAL = [3, 2, 2, 11, 33]


def _ct_data() -> tuple[np.ndarray, np.ndarray]:
    scores = np.concatenate(
        [np.repeat(np.arange(1, 6), CT_NORMAL), np.repeat(np.arange(1, 6), CT_ABNORMAL)]
    )
    truth = np.concatenate([np.zeros(58, bool), np.ones(51, bool)])
    return truth, scores.astype(float)


def test_hanley_mcneil_ct_example() -> None:
    """Hanley & McNeil 1982: W = 0.893 with SE 0.032 (their exponential approximation).
    Stata 13 manual, [R] roctab, on the same data (hanley.dta): area 0.8932, std. err.
    0.0307, asymptotic normal CI 0.83295 to 0.95339 (DeLong's SE)."""
    truth, scores = _ct_data()
    e = delong_auc(truth, scores)
    assert round(e.estimate, 4) == 0.8932
    assert round(e.se, 4) == 0.0307
    assert (round(e.ci_low, 5), round(e.ci_high, 5)) == (0.83295, 0.95339)
    assert round(hanley_mcneil_se(e.estimate, 51, 58), 3) == 0.032


tied_data = st.integers(min_value=4, max_value=80).flatmap(
    lambda n: st.tuples(
        st.lists(st.booleans(), min_size=n, max_size=n).filter(lambda t: 2 <= sum(t) <= len(t) - 2),
        st.lists(st.integers(0, 5), min_size=n, max_size=n),
        st.lists(st.integers(0, 3), min_size=n, max_size=n),
    )
)


@pytest.mark.filterwarnings("ignore::petdx.errors.UndefinedStatisticWarning")
@settings(max_examples=150, deadline=None)
@given(tied_data)
def test_fast_delong_equals_quadratic_definition(data: tuple[list[bool], ...]) -> None:
    """Property: on small integer scores (many ties) the fast algorithm reproduces the AUCs,
    variances and covariance of the O(m n) placement-value definition (DeLong 1988)."""
    truth = np.array(data[0])
    s1 = np.array(data[1], dtype=float)
    s2 = np.array(data[2], dtype=float)
    aucs, cov = delong_quadratic(truth, [s1, s2])
    e1 = delong_auc(truth, s1)
    assert e1.estimate == pytest.approx(aucs[0], abs=1e-12)
    assert e1.se**2 == pytest.approx(cov[0, 0], abs=1e-12)
    assert delong_components(truth, s1).variance == pytest.approx(cov[0, 0], abs=1e-12)
    test = delong_paired_test(truth, s1, s2)
    var_diff = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    assert test.difference == pytest.approx(aucs[0] - aucs[1], abs=1e-12)
    assert test.se**2 == pytest.approx(max(var_diff, 0.0), abs=1e-12)


def test_auc_matches_scikit_learn_and_direction_is_a_negation() -> None:
    rng = np.random.default_rng(11)
    truth = rng.random(1000) < 0.35
    score = np.round(rng.normal(truth * 0.8, 1.0), 1)
    assert delong_auc(truth, score).estimate == pytest.approx(
        roc_auc_score(truth, score), abs=1e-12
    )
    lower = delong_auc(truth, -score, direction="lower")
    higher = delong_auc(truth, score)
    assert lower.estimate == pytest.approx(higher.estimate, abs=1e-15)
    assert lower.se == pytest.approx(higher.se, abs=1e-15)
    # no auto-detection: a reversed score keeps its AUC below 0.5
    assert delong_auc(truth, -score).estimate == pytest.approx(1 - higher.estimate, abs=1e-12)


def test_ci_is_clipped_to_unit_interval() -> None:
    truth = np.array([0, 0, 0, 1, 1, 1, 1], bool)
    score = np.array([0.1, 0.2, 0.35, 0.3, 0.8, 0.9, 1.0])
    e = delong_auc(truth, score)
    assert e.ci_high == 1.0
    assert e.ci_low > 0.5


def test_unpaired_test_as_proc() -> None:
    """pROC delong.unpaired.test: t = (A1 - A2)/sqrt(V1 + V2), Welch-Satterthwaite df with
    N - 1 (all units of a curve), p from Student's t; computed here from the O(m n)
    definition."""
    rng = np.random.default_rng(3)
    t1 = rng.random(60) < 0.4
    s1 = rng.normal(t1 * 1.0, 1)
    t2 = rng.random(45) < 0.5
    s2 = rng.normal(t2 * 0.4, 1)
    (a1,), c1 = delong_quadratic(t1, [s1])
    (a2,), c2 = delong_quadratic(t2, [s2])
    v1, v2 = c1[0, 0], c2[0, 0]
    t = (a1 - a2) / math.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / (v1**2 / 59 + v2**2 / 44)
    res = delong_unpaired_test(t1, s1, t2, s2)
    assert res.statistic == pytest.approx(t, rel=1e-10)
    assert res.df == pytest.approx(df, rel=1e-10)
    assert res.p_value == pytest.approx(2 * stats.t.sf(abs(t), df), rel=1e-10)
    assert res.statistic_name == "t"


def test_delong_against_proc_run_now(rscript: RScript, tmp_path: Path) -> None:
    """pROC on this machine's R (versions in the pytest header and in any failure message),
    tests/stats/r_oracle/proc_delong.R: auc() and var(method = "delong") of one curve with
    ties (Hanley & McNeil's CT ratings), roc.test(method = "delong", paired = TRUE) of those
    ratings against a seeded second score, and the unpaired roc.test (t, df, p) of two
    seeded samples; direction "<" (higher score = diseased) as petdx's default."""
    truth, ct = _ct_data()
    rng = np.random.default_rng(18)
    other = ct + rng.normal(0.0, 1.5, ct.size)
    pd.DataFrame({"truth": truth.astype(int), "s1": ct, "s2": other}).to_csv(
        tmp_path / "paired.csv", index=False
    )
    t1 = rng.random(60) < 0.4
    u1 = rng.normal(t1 * 1.0, 1)
    t2 = rng.random(45) < 0.5
    u2 = rng.normal(t2 * 0.4, 1)
    pd.DataFrame(
        {
            "curve": [1] * 60 + [2] * 45,
            "truth": np.concatenate([t1, t2]).astype(int),
            "score": np.concatenate([u1, u2]),
        }
    ).to_csv(tmp_path / "unpaired.csv", index=False)
    out = rscript.run(
        Path(__file__).parent / "r_oracle" / "proc_delong.R",
        tmp_path / "paired.csv",
        tmp_path / "unpaired.csv",
    )
    lines = {key: [float(v) for v in rest] for key, *rest in map(str.split, out.splitlines())}
    assert set(lines) == {"auc1", "paired", "unpaired"}, f"{rscript.versions}:\n{out}"
    why = f"petdx vs pROC under {rscript.versions}"
    auc1, var1 = lines["auc1"]
    e = delong_auc(truth, ct)
    assert e.estimate == pytest.approx(auc1, rel=1e-12), why
    assert e.se == pytest.approx(math.sqrt(var1), rel=1e-10), why
    z, p = lines["paired"]
    paired = delong_paired_test(truth, ct, other)
    assert paired.statistic == pytest.approx(z, rel=1e-9), why
    assert paired.p_value == pytest.approx(p, rel=1e-9), why
    t, df, p = lines["unpaired"]
    unpaired = delong_unpaired_test(t1, u1, t2, u2)
    assert unpaired.statistic == pytest.approx(t, rel=1e-9), why
    assert unpaired.df == pytest.approx(df, rel=1e-9), why
    assert unpaired.p_value == pytest.approx(p, rel=1e-9), why


def test_paired_identical_scores_is_not_significant() -> None:
    truth = np.array([0, 1, 0, 1, 1, 0], bool)
    score = np.array([1.0, 2, 3, 4, 5, 0])
    res = delong_paired_test(truth, score, score)
    assert (res.statistic, res.p_value, res.ci_low, res.ci_high) == (0.0, 1.0, 0.0, 0.0)
    assert "DeLong paired" in str(res)


def test_too_few_units_warns() -> None:
    with pytest.warns(UndefinedStatisticWarning, match="at least two units in each class"):
        e = delong_auc([1, 0, 0], [0.9, 0.1, 0.2])
    assert e.estimate == 1.0
    assert math.isnan(e.ci_low)


@pytest.mark.parametrize(
    ("truth", "score", "kwargs", "match"),
    [
        ([1, 1, 1], [0.1, 0.2, 0.3], {}, "no non-diseased"),
        ([0, 0], [0.1, 0.2], {}, "no diseased"),
        ([0, 1], [0.1, float("nan")], {}, "finite numbers; element 1"),
        ([0, 1, 1], [0.1, 0.2], {}, "equal length"),
        ([0, 1], [0.1, 0.2], {"direction": "auto"}, "direction: expected one of higher"),
    ],
)
def test_bad_input(
    truth: list[int], score: list[float], kwargs: dict[str, str], match: str
) -> None:
    with pytest.raises(InputValidationError, match=match):
        delong_auc(truth, score, **kwargs)  # type: ignore[arg-type]
