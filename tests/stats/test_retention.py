"""The cohort-level retention test (petdx.stats.retention, issue 17)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from petdx.stats.retention import clustered_mean_difference, retention_tests

# A tiny clustered data set: 5 patients, 11 lesions (made up for the test).
Y = np.array([12.0, 20.0, -3.0, 15.0, 4.0, -8.0, 25.0, 1.0, -2.0, 9.0, 30.0])
G = np.array([1, 1, 0, 1, 0, 0, 1, 0, 0, 1, 1], dtype=bool)
P = np.array(["a", "a", "a", "b", "b", "c", "c", "d", "d", "e", "e"])


def _hand_sandwich(y: np.ndarray, g: np.ndarray, p: np.ndarray) -> tuple[float, float, int]:
    """CR1 sandwich written out from Cameron & Miller (J Hum Resour 2015;50:317-372, eq. 11
    and the small-sample factor c = G/(G-1) (N-1)/(N-K) of section 6.1): slope, its SE and G."""
    x = np.column_stack([np.ones(len(y)), g.astype(float)])
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ x.T @ y
    e = y - x @ beta
    meat = np.zeros((2, 2))
    clusters = sorted(set(p))
    for c in clusters:
        rows = p == c
        s = x[rows].T @ e[rows]
        meat += np.outer(s, s)
    n, k, n_g = len(y), 2, len(clusters)
    factor = n_g / (n_g - 1) * (n - 1) / (n - k)
    v = factor * bread @ meat @ bread
    return float(beta[1]), math.sqrt(v[1, 1]), n_g


def test_cluster_robust_difference_against_the_hand_sandwich() -> None:
    beta, se, n_g = _hand_sandwich(Y, G, P)
    # the slope of a 0/1 regressor is the difference of the two group means
    assert beta == pytest.approx(Y[G].mean() - Y[~G].mean())
    test = clustered_mean_difference(Y, G, P)
    assert test.effect is not None
    assert test.effect.estimate == pytest.approx(beta)
    assert test.effect.se == pytest.approx(se)
    assert test.df == n_g - 1
    t = beta / se
    assert test.statistic == pytest.approx(t)
    assert test.p_value == pytest.approx(2 * sps.t.sf(abs(t), n_g - 1))
    q = sps.t.ppf(0.975, n_g - 1)
    assert test.effect.ci_low == pytest.approx(beta - q * se)
    assert test.effect.ci_high == pytest.approx(beta + q * se)
    assert test.effect.n_clusters == 5


def test_undefined_without_two_groups_or_two_patients() -> None:
    with pytest.warns(Warning, match="both groups"):
        test = clustered_mean_difference(Y, np.ones(len(Y), bool), P)
    assert math.isnan(test.p_value)
    with pytest.warns(Warning, match="at least two patients"):
        clustered_mean_difference(Y[:3], G[:3], P[:3])


def test_retention_tests_select_the_prespecified_lesions() -> None:
    malignant = ["true"] * 9 + ["false", "false"]
    pdl1 = ["true", "false", "true", "", "false", "true", "false", "true", "false", "", ""]
    tests = retention_tests(Y, malignant, pdl1, P)
    sampled = np.array([v != "" for v in pdl1]) & np.array([m == "true" for m in malignant])
    positive = np.array([v == "true" for v in pdl1])
    expected = clustered_mean_difference(Y[sampled], positive[sampled], P[sampled])
    assert tests.primary.effect is not None
    assert expected.effect is not None
    assert tests.primary.effect.estimate == pytest.approx(expected.effect.estimate)
    assert tests.primary.p_value == pytest.approx(expected.p_value)
    mal = np.array([m == "true" for m in malignant])
    assert tests.secondary.effect is not None
    assert tests.secondary.effect.estimate == pytest.approx(Y[mal].mean() - Y[~mal].mean())
    assert tests.n == {"pdl1_positive": 4, "pdl1_negative": 4, "malignant": 9, "benign": 2}
    rank = sps.mannwhitneyu(Y[positive & sampled], Y[sampled & ~positive])
    assert tests.descriptive[0].p_value == pytest.approx(rank.pvalue)


def test_cli_reproduces_the_function(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from typer.testing import CliRunner

    from petdx.cli.app import app

    malignant = ["true"] * 9 + ["false", "false"]
    pdl1 = ["true", "false", "true", "", "false", "true", "false", "true", "false", "", ""]
    lines = ["patient_id,malignant,pdl1_positive,ri_voi_mean_pct"]
    lines += [f"{p},{m},{q},{y}" for p, m, q, y in zip(P, malignant, pdl1, Y, strict=True)]
    lines.append("f,true,true,")  # no retention index: left out
    path = tmp_path / "lesions.csv"
    path.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(app, ["stats", "retention", str(path), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    expected = retention_tests(Y, malignant, pdl1, P)
    assert document["primary"]["p_value"] == pytest.approx(expected.primary.p_value)
    assert document["secondary"]["effect"]["estimate"] == pytest.approx(
        expected.secondary.effect.estimate  # type: ignore[union-attr]
    )
    assert document["rows_left_out"] == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,malignant,pdl1_positive,ri_voi_mean_pct\na,maybe,true,3\n")
    result = CliRunner().invoke(app, ["stats", "retention", str(bad)])
    assert result.exit_code == 2
    assert "maybe" in result.output
