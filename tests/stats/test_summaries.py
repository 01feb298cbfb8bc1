"""The flat records of ``petdx stats --json`` (petdx.stats.summaries) against the result
objects they summarise, and strict JSON (no NaN)."""

from __future__ import annotations

import json
import math

import numpy as np

from petdx import stats
from petdx.stats import summaries


def _strict(record: object) -> None:
    json.dumps(record, allow_nan=False)


def test_accuracy_from_labels_is_the_two_by_two_count() -> None:
    rng = np.random.default_rng(11)
    truth = rng.random(60) < 0.4
    test = np.where(truth, rng.random(60) < 0.8, rng.random(60) < 0.15)
    # the 2x2 table counted by hand
    tp = sum(1 for t, r in zip(truth, test, strict=True) if t and r)
    fp = sum(1 for t, r in zip(truth, test, strict=True) if not t and r)
    fn = sum(1 for t, r in zip(truth, test, strict=True) if t and not r)
    tn = sum(1 for t, r in zip(truth, test, strict=True) if not t and not r)
    assert summaries.accuracy_summary(
        stats.accuracy_from_labels(truth, test)
    ) == summaries.accuracy_summary(stats.diagnostic_accuracy(tp, fp, fn, tn))
    record = summaries.accuracy_summary(
        stats.diagnostic_accuracy(10, 0, 0, 0)
    )  # specificity undefined
    assert record["specificity"]["estimate"] is None
    _strict(record)


def test_agreement_records() -> None:
    a = ["1", "2", "2", "3", "1", "3", "2", "2", "1", "3"]
    b = ["1", "2", "3", "3", "1", "2", "2", "2", "1", "3"]
    k = stats.cohen_kappa(a, b, weights="linear")
    record = summaries.kappa_summary(k)
    assert record["measure"] == "cohen_kappa"
    assert record["weights"] == "linear"
    assert (record["estimate"], record["se"], record["z"], record["p"]) == (
        k.kappa.estimate,
        k.kappa.se,
        k.z,
        k.p_value,
    )
    assert record["categories"] == ["1", "2", "3"]
    _strict(record)

    ratings = np.column_stack([a, b, b])
    e = stats.fleiss_kappa(ratings, n_bootstrap=50, seed=1)
    assert summaries.fleiss_summary(e) == {
        "measure": "fleiss_kappa",
        "estimate": e.estimate,
        "ci_low": e.ci_low,
        "ci_high": e.ci_high,
        "n": e.n,
        "method": e.method,
        "warnings": [],
    }

    x = np.array([4.1, 5.0, 6.2, 3.3, 5.5, 4.8, 6.0, 5.1])
    y = x + np.array([0.2, -0.1, 0.3, 0.0, 0.1, 0.2, -0.2, 0.1])
    forms = stats.icc(np.column_stack([x, y]))
    record = summaries.icc_summary(forms, n=8, raters=2)
    assert [f["form"] for f in record["forms"]] == [f.form.value for f in forms]
    assert [f["estimate"] for f in record["forms"]] == [f.estimate.estimate for f in forms]
    ba = stats.bland_altman(x, y)
    record = summaries.bland_altman_summary(ba, difference="x - y")
    assert record["bias"]["estimate"] == ba.bias.estimate
    assert record["lower_limit"]["ci_low"] == ba.lower_limit.ci_low
    assert record["difference"] == "x - y"
    rho = stats.spearman(x, y)
    record = summaries.spearman_summary(rho)
    assert rho.effect is not None
    assert (record["estimate"], record["ci_low"], record["n"]) == (
        rho.statistic,
        rho.effect.ci_low,
        8,
    )
    _strict(record)


def test_survival_record_and_no_comparison() -> None:
    time = np.array([5.0, 8.0, 12.0, 3.0, 9.0, 15.0, 2.0, 7.0])
    event = np.array([1, 0, 1, 1, 1, 0, 1, 1], dtype=bool)
    group = np.array(["a", "a", "a", "a", "b", "b", "b", "b"])
    km = [
        stats.kaplan_meier(time[group == g], event[group == g], at_times=(6.0,), label=g)
        for g in "ab"
    ]
    test = stats.logrank_test(time, event, group)
    record = summaries.survival_summary(km, test)
    assert [g["group"] for g in record["groups"]] == ["a", "b"]
    assert record["groups"][0]["median"] == km[0].median.estimate
    assert record["groups"][1]["at_risk"][0]["n_at_risk"] == km[1].at_risk[0]
    assert record["logrank"]["p"] == test.p_value
    assert record["cox"] is None
    assert record["cox_model"] is None
    assert math.isfinite(record["logrank"]["chi2"])
    _strict(record)
    assert summaries.auc_comparison_summary(None) is None
