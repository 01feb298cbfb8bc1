"""2x2 accuracy measures against epiR's published example and independent formulas."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from petdx.errors import InputValidationError, UndefinedStatisticWarning
from petdx.stats import accuracy_from_labels, diagnostic_accuracy


def test_epir_epi_tests_example() -> None:
    """epiR epi.tests documentation example (dat = c(670, 202, 74, 640), method "exact"),
    published output (rounded to 2 decimals): Se 0.90 (0.88, 0.92), Sp 0.76 (0.73, 0.79),
    PPV 0.77 (0.74, 0.80), NPV 0.90 (0.87, 0.92), LR+ 3.75 (3.32, 4.24), LR- 0.13 (0.11,
    0.16), diagnostic accuracy 0.83 (0.81, 0.84)."""
    r = diagnostic_accuracy(670, 202, 74, 640)
    expected = {
        "sensitivity": (0.90, 0.88, 0.92),
        "specificity": (0.76, 0.73, 0.79),
        "ppv": (0.77, 0.74, 0.80),
        "npv": (0.90, 0.87, 0.92),
        "lr_positive": (3.75, 3.32, 4.24),
        "lr_negative": (0.13, 0.11, 0.16),
        "accuracy": (0.83, 0.81, 0.84),
    }
    for name, values in expected.items():
        e = getattr(r, name)
        assert (round(e.estimate, 2), round(e.ci_low, 2), round(e.ci_high, 2)) == values, name


def test_ratios_follow_simel_and_woolf() -> None:
    """Independent computation of the log-method intervals (Simel 1991; Woolf 1955)."""
    tp, fp, fn, tn = 45, 12, 5, 88
    r = diagnostic_accuracy(tp, fp, fn, tn, confidence_level=0.9)
    z = stats.norm.ppf(0.95)
    se, sp = tp / (tp + fn), tn / (fp + tn)
    lr = se / (1 - sp)
    s = math.sqrt(1 / tp - 1 / (tp + fn) + 1 / fp - 1 / (fp + tn))
    assert (r.lr_positive.estimate, r.lr_positive.ci_low, r.lr_positive.ci_high) == pytest.approx(
        (lr, lr * math.exp(-z * s), lr * math.exp(z * s)), rel=1e-12
    )
    dor = tp * tn / (fp * fn)
    s = math.sqrt(1 / tp + 1 / fp + 1 / fn + 1 / tn)
    assert (r.dor.ci_low, r.dor.ci_high) == pytest.approx(
        (dor * math.exp(-z * s), dor * math.exp(z * s)), rel=1e-12
    )
    assert r.youden.estimate == pytest.approx(se + sp - 1)


def test_predictive_values_at_a_prevalence() -> None:
    """Bayes' theorem, and the logit interval of Mercaldo et al. 2007 (their equation for the
    variance of logit PPV), computed independently."""
    tp, fp, fn, tn, prev = 80, 30, 20, 170, 0.05
    r = diagnostic_accuracy(tp, fp, fn, tn, prevalence=prev)
    se, sp = tp / (tp + fn), tn / (fp + tn)
    ppv = se * prev / (se * prev + (1 - sp) * (1 - prev))
    assert r.ppv_at_prevalence is not None
    assert r.npv_at_prevalence is not None
    assert r.ppv_at_prevalence.estimate == pytest.approx(ppv)
    var = (1 - se) / (100 * se) + sp / (200 * (1 - sp))
    logit = math.log(ppv / (1 - ppv))
    low = 1 / (1 + math.exp(-(logit - 1.959963984540054 * math.sqrt(var))))
    assert r.ppv_at_prevalence.ci_low == pytest.approx(low, rel=1e-9)
    npv = sp * (1 - prev) / (sp * (1 - prev) + (1 - se) * prev)
    assert r.npv_at_prevalence.estimate == pytest.approx(npv)
    assert "ppv_at_prevalence" in r.measures()


def test_labels_equal_counts() -> None:
    rng = np.random.default_rng(5)
    truth = rng.random(200) < 0.3
    test = rng.random(200) < 0.4
    a = accuracy_from_labels(truth, test)
    tp = int(np.sum(truth & test))
    assert a.counts.tp == tp
    assert a.sensitivity.estimate == pytest.approx(tp / truth.sum())


def test_zero_denominators_give_nan_and_warnings_not_errors() -> None:
    with pytest.warns(UndefinedStatisticWarning) as record:
        r = diagnostic_accuracy(0, 0, 0, 10)
    assert math.isnan(r.sensitivity.estimate)
    assert math.isnan(r.ppv.estimate)
    assert math.isnan(r.lr_positive.estimate)
    assert r.specificity.estimate == 1.0
    messages = " ".join(str(w.message) for w in record)
    assert "no diseased units" in messages
    assert "no test-positive units" in messages
    assert r.warnings  # collected on the result as well


def test_perfect_specificity_lr_positive_undefined() -> None:
    with pytest.warns(UndefinedStatisticWarning) as record:
        r = diagnostic_accuracy(30, 0, 3, 40)
    messages = [str(w.message) for w in record]
    assert any(m.startswith("lr_positive: 1 - specificity is 0") for m in messages)
    assert any(m.startswith("dor: FP * FN = 0") for m in messages)
    assert math.isnan(r.lr_positive.estimate)
    assert r.lr_negative.estimate == pytest.approx((3 / 33) / 1.0)


def test_zero_true_positives_give_ratio_zero_without_interval() -> None:
    with pytest.warns(UndefinedStatisticWarning) as record:
        r = diagnostic_accuracy(0, 5, 10, 20)
    assert any("no true or no false positives" in str(w.message) for w in record)
    assert r.lr_positive.estimate == 0.0
    assert math.isnan(r.lr_positive.ci_low)


def test_to_dict_is_json_ready() -> None:
    with pytest.warns(UndefinedStatisticWarning):
        r = diagnostic_accuracy(0, 0, 0, 10)
    text = json.dumps(r.to_dict(), allow_nan=False)
    assert '"sensitivity"' in text
    assert r.to_dict()["measures"]["sensitivity"]["estimate"] is None
    assert "sensitivity" in str(r)
    assert "undefined" in str(r)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"prevalence": 1.5}, "prevalence"),
        ({"ci_method": "wald"}, "ci_method"),
        ({"confidence_level": 0}, "between 0 and 1"),
    ],
)
def test_bad_options(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InputValidationError, match=match):
        diagnostic_accuracy(1, 2, 3, 4, **kwargs)  # type: ignore[arg-type]


def test_bad_counts_and_labels() -> None:
    with pytest.raises(InputValidationError, match="tp: expected a non-negative"):
        diagnostic_accuracy(-1, 2, 3, 4)
    with pytest.raises(InputValidationError, match="equal length"):
        accuracy_from_labels([True, False], [True])
    with pytest.raises(InputValidationError, match="booleans or 0/1"):
        accuracy_from_labels([2, 0], [1, 0])
