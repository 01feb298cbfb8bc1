"""Binomial confidence intervals against R binom.confint and statsmodels."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.proportion import proportion_confint

from petdx.errors import InputValidationError, UndefinedStatisticWarning
from petdx.stats import binomial_interval, proportion


def test_binom_confint_18_of_20() -> None:
    """R: binom::binom.confint(18, 20, methods = c("exact", "wilson")) (binom 1.1-1) prints
    exact 0.6830172859809176 to 0.9876514728297052 and Wilson 0.6989663547715128 to
    0.972133518786232 (values quoted in petdx issue 5)."""
    assert binomial_interval(18, 20, method="exact") == pytest.approx(
        (0.6830172859809176, 0.9876514728297052), abs=1e-12
    )
    assert binomial_interval(18, 20, method="wilson") == pytest.approx(
        (0.6989663547715128, 0.972133518786232), abs=1e-12
    )


@pytest.mark.parametrize(
    ("method", "sm_method"),
    [
        ("exact", "beta"),
        ("wilson", "wilson"),
        ("jeffreys", "jeffreys"),
        ("agresti", "agresti_coull"),
    ],
)
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_against_statsmodels(method: str, sm_method: str, level: float) -> None:
    """Independent implementation: statsmodels proportion_confint, every x in 1..n-1 (the
    boundaries x = 0 and x = n follow Brown, Cai & DasGupta 2001, tested below)."""
    for n in (1, 2, 7, 20, 113):
        for x in range(1, n):
            ours = binomial_interval(x, n, method=method, confidence_level=level)
            theirs = proportion_confint(x, n, alpha=1 - level, method=sm_method)
            assert ours == pytest.approx(tuple(theirs), abs=1e-10), (method, x, n)


@pytest.mark.parametrize("method", ["exact", "jeffreys"])
def test_boundaries_are_closed(method: str) -> None:
    """x = 0 has lower limit 0 and x = n upper limit 1 (Clopper-Pearson definition; Jeffreys
    modification of Brown, Cai & DasGupta 2001)."""
    low, high = binomial_interval(0, 12, method=method)
    assert low == 0.0
    assert 0 < high < 1
    low, high = binomial_interval(12, 12, method=method)
    assert high == 1.0
    assert 0 < low < 1
    # Clopper-Pearson x = 0: upper = 1 - (alpha/2)^(1/n)
    if method == "exact":
        assert binomial_interval(0, 12)[1] == pytest.approx(1 - 0.025 ** (1 / 12), rel=1e-12)


def test_point_estimate_is_raw_proportion_whatever_the_method() -> None:
    for method in ("exact", "wilson", "jeffreys", "agresti"):
        est = proportion(3, 10, name="se", method=method)
        assert est.estimate == 0.3
        assert est.numerator == 3
        assert est.n == 10
        assert est.ci_low < 0.3 < est.ci_high


def test_zero_denominator_is_nan_with_warning() -> None:
    with pytest.warns(UndefinedStatisticWarning, match="no diseased"):
        est = proportion(0, 0, name="sensitivity", undefined_reason="no diseased units")
    assert math.isnan(est.estimate)
    assert math.isnan(est.ci_low)
    assert est.warnings == ("no diseased units",)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((5, 3), {}, "cannot exceed"),
        ((-1, 3), {}, "non-negative whole number"),
        ((1.5, 3), {}, "non-negative whole number"),
        ((1, 3), {"method": "wald"}, "expected one of exact, wilson"),
        ((1, 3), {"confidence_level": 95}, "between 0 and 1"),
    ],
)
def test_bad_input(args: tuple[float, float], kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InputValidationError, match=match):
        binomial_interval(*args, **kwargs)  # type: ignore[arg-type]
