"""Acceptance on a simulated cohort (``petdx simulate --small``): detection, Dice of the
41 % method, retention-index sign. Figures and their discussion: docs/validation.md
(20 patients, seed 7); this test runs 8 patients (seed 7) to keep the suite short.

The items the simulated biology makes unreachable are strict xfails: they document the
shortfall and turn into failures (to be re-examined) if the simulator or petdx changes so
that they pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from petdx.simulate import simulate_cohort
from tests.quantify.cohort_eval import CohortFigures, evaluate


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> CohortFigures:
    out = tmp_path_factory.mktemp("cohort") / "small"
    simulate_cohort(out, n_patients=8, seed=7, small=True, workers=1)
    return evaluate(Path(out))


@pytest.mark.slow
def test_at_most_one_false_candidate_per_patient(figures: CohortFigures) -> None:
    assert figures.false_per_patient <= 1.0


@pytest.mark.slow
def test_retention_sign_where_the_true_change_is_at_least_5_percent(
    figures: CohortFigures,
) -> None:
    assert figures.ri_lesions_true_change_5pct >= 5
    assert figures.ri_sign_agree_max_5pct / figures.ri_lesions_true_change_5pct >= 0.8


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="about a third of the simulated malignant lesions are PD-L1 negative with uptake "
    "at blood-pool level, and the PERCIST threshold (liver 1.5 x mean + 2 SD ~ 8, blood pool "
    "~ 3.5) is above most small PD-L1-positive lesions at 6 mm voxels (docs/validation.md)",
)
def test_detection_sensitivity_acceptance(figures: CohortFigures) -> None:
    assert figures.sensitivity >= 0.9


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="41 % of SUVmax fails at low lesion-to-background contrast (PD-L1-negative lesions, "
    "liver lesions in a liver of SUV ~4.7); docs/validation.md",
)
def test_dice_acceptance(figures: CohortFigures) -> None:
    assert figures.dice_at_least_07 == figures.dice_lesions_20mm
    assert figures.dice_min >= 0.7
