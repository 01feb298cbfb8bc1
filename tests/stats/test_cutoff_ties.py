"""Optimal cut-off ties, against an exact-fraction oracle (issue 23, item 1).

In floating point ``1/3 + 1 - 1``, ``2/3 + 2/3 - 1`` and ``1 + 1/3 - 1`` differ in the last
bit, so a tie of Youden's J (or of the distance to the top-left corner) could be broken by
rounding. The oracle below computes Se and Sp as :class:`fractions.Fraction` from the counts
at every observed threshold, so its ties are exact.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from petdx.stats import optimal_cutoff, roc_analysis, roc_curve


def _exact_oracle(
    truth: np.ndarray, score: np.ndarray, rule: str, direction: str = "higher"
) -> tuple[float, list[float], Fraction]:
    """Best threshold (most specific among ties), all tied thresholds, criterion value."""
    n1, n0 = int(truth.sum()), int((~truth).sum())
    values = sorted(set(score.tolist()), reverse=direction == "higher")  # most specific first
    crits = []
    for t in values:
        positive = score >= t if direction == "higher" else score <= t
        se = Fraction(int((positive & truth).sum()), n1)
        sp = Fraction(int((~positive & ~truth).sum()), n0)
        crit = se + sp - 1 if rule == "youden" else -((1 - se) ** 2 + (1 - sp) ** 2)
        crits.append(crit)
    best = max(crits)
    tied = [t for t, c in zip(values, crits, strict=True) if c == best]
    return tied[0], tied, best


def test_three_by_three_tie_at_5_3_2_takes_the_most_specific_and_lists_the_rest() -> None:
    """Diseased scores 2, 3, 5; healthy 1, 2, 3: J = 1/3 exactly at thresholds 5, 3 and 2."""
    truth = np.array([True, True, True, False, False, False])
    score = np.array([2.0, 3.0, 5.0, 1.0, 2.0, 3.0])
    best, tied, j = _exact_oracle(truth, score, "youden")
    assert (best, tied, j) == (5.0, [5.0, 3.0, 2.0], Fraction(1, 3))
    cut = optimal_cutoff(roc_curve(truth, score))
    assert cut.threshold == 5.0
    assert cut.tied_thresholds == (3.0, 2.0)
    assert cut.criterion_value == float(Fraction(1, 3))
    assert (cut.sensitivity.estimate, cut.specificity.estimate) == (1 / 3, 1.0)


@pytest.mark.parametrize("rule", ["youden", "closest-topleft"])
@pytest.mark.parametrize("direction", ["higher", "lower"])
def test_random_rating_data_match_the_exact_oracle(rule: str, direction: str) -> None:
    """1000 small rating-scale data sets (many ties): threshold, tie list and criterion."""
    rng = np.random.default_rng(23)
    for _ in range(1000):
        n1, n0 = (int(v) for v in rng.integers(1, 9, size=2))
        truth = np.r_[np.ones(n1, bool), np.zeros(n0, bool)]
        score = rng.integers(1, 6, size=n1 + n0).astype(float)
        best, tied, crit = _exact_oracle(truth, score, rule, direction)
        cut = optimal_cutoff(roc_curve(truth, score, direction=direction), rule)
        assert cut.threshold == best
        assert list(cut.tied_thresholds) == tied[1:]
        expected = float(crit) if rule == "youden" else math.sqrt(-crit)
        assert cut.criterion_value == pytest.approx(expected, rel=1e-15)


def test_bootstrap_replicates_use_the_exact_ties() -> None:
    """Every stratified replicate of the 3 x 3 example keeps the class sizes, so the
    replicate cut-off is a threshold of the data; with the exact criterion a replicate whose
    J ties at 5 takes 5. The percentile interval of the threshold then lies in the data's
    values, and the upper limit is 5 (the most specific tie), not a rounding artefact."""
    truth = np.array([True, True, True, False, False, False])
    score = np.array([2.0, 3.0, 5.0, 1.0, 2.0, 3.0])
    result = roc_analysis(truth, score, n_bootstrap=400, seed=1)
    assert result.cutoff.threshold == 5.0
    assert {result.cutoff.threshold_ci_low, result.cutoff.threshold_ci_high} <= {1.0, 2.0, 3.0, 5.0}
