"""A study's analyses on degenerate data (issue 19 Build 3): a statistic the data cannot give
is a recorded problem ("not computed (reason)" or the warning), never an exception that stops
the results and the report."""

from __future__ import annotations

import math

import numpy as np

from petdx.analysis._collect import Collector
from petdx.analysis.diagnostic import _roc_entry
from petdx.stats import cohen_kappa_table, cox_regression, fleiss_kappa


def test_one_class_roc_is_not_computed_with_the_reason() -> None:
    run = Collector()
    entry = _roc_entry(
        run,
        ("ROC s", "ROC cut-off s", "ROC band s"),
        "lesion",
        "s",
        "s",
        np.ones(6, bool),
        np.arange(6.0),
        np.repeat(np.arange(3), 2),
    )
    assert entry is None
    assert len(run.problems) == 3
    assert all("not computed" in p and "non-diseased" in p for p in run.problems)


def test_constant_marker_roc_is_computed_with_the_warning_recorded() -> None:
    run = Collector()
    entry = _roc_entry(
        run,
        ("ROC s", "ROC cut-off s", None),
        "patient",
        "s",
        "s",
        np.array([True, False] * 4),
        np.full(8, 2.0),
        None,
    )
    assert entry is not None
    assert entry.result["auc"] == 0.5
    assert any(p.startswith("ROC s: ") and "variance is 0" in p for p in run.problems)


def test_undefined_agreement_and_cox_are_recorded_not_raised() -> None:
    run = Collector()
    k = run.run("kappa", cohen_kappa_table, [[0, 0], [0, 0]])  # was an AssertionError
    f = run.run("fleiss", fleiss_kappa, [["a", "a"]] * 3, n_bootstrap=20)
    cox = run.run("Cox", cox_regression, [1, 2, 3, 4], [0, 0, 0, 0], {"x": [1, 2, 3, 4]})
    assert math.isnan(k.kappa.estimate)
    assert math.isnan(f.estimate)
    assert math.isnan(cox.terms[0].coef)
    assert any(p.startswith("kappa: ") and "no subjects" in p for p in run.problems)
    assert any(p.startswith("fleiss: ") and "one category" in p for p in run.problems)
    assert any(p.startswith("Cox: ") and "no events" in p for p in run.problems)
