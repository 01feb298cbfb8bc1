"""Acceptance on a simulated cohort (``petdx simulate --small --with-fdg``): candidate
detection, Dice of the 41 % method, retention-index sign.

This test runs 8 patients (seed 7) to keep the suite short; docs/validation.md reports the
same evaluation (``python -m tests.quantify.cohort_eval``) on three 20-patient cohorts and at
4 mm voxels, with the reasoning. How each item is read:

* Detection: the FDG arm, where every malignant lesion takes up the tracer; on the
  68Ga-DOTA-BLP arm, PD-L1-negative malignant lesions sit at blood-pool uptake by design of
  the tracer model (the trial's own hypothesis), so the item as worded cannot hold there
  (strict xfail, with the numbers); false candidates on both arms.
* Dice: the mean over lesions >= 20 mm that the tracer shows (all FDG lesions; 68Ga
  PD-L1-positive lesions).
* Retention: every lesion >= 15 mm, sign of the VOI-mean retention index (the first scan's
  41 % VOI carried to the second) and of the SUVmax retention index. On 20-patient cohorts
  the shares are 82-95 %, below 90 % on two of three seeds (docs/validation.md): the
  8-patient cohort here meets the threshold, the item is not met in general — on a held-out
  50-patient cohort not even with the true lesion voxels, because of the image noise at
  120 min (docs/validation.md, "What the images allow"). The test also checks the two
  perfect-segmentation references that finding rests on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from petdx.simulate import simulate_cohort
from tests.quantify.cohort_eval import ArmFigures, arm_figures, evaluate_lesions

# One worker builds the cohort and runs every test on it (make test: --dist loadgroup).
pytestmark = [pytest.mark.xdist_group("quantify_simulated_cohort"), pytest.mark.slow]

STUDY = "ga68-dota-blp"
FDG = "f18-fdg"


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, dict[str, ArmFigures]]:
    out = tmp_path_factory.mktemp("cohort") / "small"
    simulate_cohort(out, n_patients=8, seed=7, small=True, with_fdg=True, workers=1)
    table, detections = evaluate_lesions(Path(out))
    return table, {t: arm_figures(table, detections, t) for t in (STUDY, FDG)}


def test_detection_finds_90_percent_of_fdg_avid_malignant_lesions(
    cohort: tuple[pd.DataFrame, dict[str, ArmFigures]],
) -> None:
    fdg = cohort[1][FDG]
    assert fdg.malignant_10mm >= 10
    assert fdg.found_local / fdg.malignant_10mm >= 0.9
    assert fdg.found_local > fdg.found_percist  # the local rule adds to PERCIST's


def test_local_contrast_keeps_every_percist_candidate_lesion(
    cohort: tuple[pd.DataFrame, dict[str, ArmFigures]],
) -> None:
    table = cohort[0]
    assert not (table["found_percist"] & ~table["found_local_contrast"]).any()


def test_at_most_one_false_candidate_per_patient(
    cohort: tuple[pd.DataFrame, dict[str, ArmFigures]],
) -> None:
    for arm in cohort[1].values():
        assert arm.false_per_patient_local <= 1.0, arm.tracer


def test_pdl1_positive_lesions_are_found_on_the_study_tracer(
    cohort: tuple[pd.DataFrame, dict[str, ArmFigures]],
) -> None:
    """PD-L1-positive malignant lesions >= 10 mm outside the physiological-uptake mask: the
    lesions the tracer is meant to show (85-95 % on 20-patient cohorts)."""
    study = cohort[1][STUDY]
    assert study.pdl1_positive_unmasked >= 8
    assert study.pdl1_positive_found_local_unmasked / study.pdl1_positive_unmasked >= 0.85


@pytest.mark.xfail(
    strict=True,
    reason="68Ga-DOTA-BLP arm: PD-L1-negative malignant lesions have blood-pool uptake by "
    "design (no detector can show them) and liver lesions lie in the physiological-uptake "
    "mask; 53-55 % of all malignant lesions >= 10 mm are found on 20-patient cohorts "
    "(PD-L1-positive outside the mask: 85-95 %), docs/validation.md",
)
def test_detection_acceptance_on_the_study_tracer(
    cohort: tuple[pd.DataFrame, dict[str, ArmFigures]],
) -> None:
    study = cohort[1][STUDY]
    assert study.found_local / study.malignant_10mm >= 0.9


def test_dice_of_the_41_percent_method(
    cohort: tuple[pd.DataFrame, dict[str, ArmFigures]],
) -> None:
    fdg, study = cohort[1][FDG], cohort[1][STUDY]
    assert fdg.dice_n >= 5
    assert fdg.dice_mean >= 0.7
    assert study.dice_pdl1_positive_n >= 3
    assert study.dice_pdl1_positive_mean >= 0.7


def test_retention_index_sign(cohort: tuple[pd.DataFrame, dict[str, ArmFigures]]) -> None:
    study = cohort[1][STUDY]
    assert study.ri_n >= 10
    assert study.ri_unmatched == 0
    assert study.ri_sign_voi_mean / study.ri_n >= 0.9
    assert study.ri_sign_max / study.ri_n >= 0.9
    table = cohort[0]
    measured = table.dropna(subset=["true_change_pct"])
    # The VOI-mean estimate is the more precise: smaller error than SUVmax's.
    error_voi = np.std(measured["ri_voi_mean_pct"] - measured["true_change_pct"])
    error_max = np.std(measured["ri_max_pct"] - measured["true_change_pct"])
    assert error_voi < error_max
    # With the scanner's resolution known, the two-compartment correction of the same VOIs
    # takes out part of the washing-out background's pull (a negative bias) and never
    # loses sign agreement (five 20-patient cohorts: docs/validation.md).
    corrected = measured.dropna(subset=["ri_pvc_pct"])
    assert len(corrected) == len(measured)
    bias_voi = np.mean(measured["ri_voi_mean_pct"] - measured["true_change_pct"])
    bias_pvc = np.mean(corrected["ri_pvc_pct"] - corrected["true_change_pct"])
    assert abs(bias_pvc) < abs(bias_voi)
    assert study.ri_sign_pvc >= study.ri_sign_voi_mean
    # References with the true lesion voxels: perfect segmentation is not worse than the
    # 41 % VOI, and with the true compartment the correction takes out most of the pull
    # (six cohorts: bias -2.9 uncorrected, -0.6 corrected; docs/validation.md).
    assert measured["ri_true_voxels_pct"].notna().all()
    assert measured["ri_pvc_true_voxels_pct"].notna().all()
    assert study.ri_sign_true_voxels >= study.ri_sign_voi_mean
    bias_true = np.mean(measured["ri_true_voxels_pct"] - measured["true_change_pct"])
    bias_true_pvc = np.mean(measured["ri_pvc_true_voxels_pct"] - measured["true_change_pct"])
    assert abs(bias_true_pvc) < abs(bias_true)
