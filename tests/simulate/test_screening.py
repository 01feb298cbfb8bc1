"""Screening evidence and the enrolment decision (docs/protocol.md rules)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest

from petdx.data_dictionary import CRITERIA
from petdx.simulate.screening import (
    BOUNDARY_PASSES,
    FAILURE_SCENARIOS,
    add_years,
    effective_dose_msv,
    evaluate_eligibility,
    exposure_rows,
    screen_patients,
)

PLANNED = date(2026, 6, 15)
COEFFICIENTS = {"f18-fdg": 0.019, "ga68-dota-blp": 0.021}


def _evidence(**changes: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    patient = {"patient_id": "T-1", "birth_date": date(1960, 1, 1)}
    screening = {
        "planned_scan_date": PLANNED,
        "consent_signed": "yes",
        "consent_date": PLANNED - timedelta(days=10),
        "malignancy_confirmed": "yes",
        "confirmation_method": "biopsy",
        "suspicious_lesions": "yes",
        "prior_antitumour_therapy": "no",
        "cannot_tolerate_scan": "no",
        "scan_contraindication": "no",
        "major_surgery": "no",
        "experimental_therapy": "no",
        "investigator_excludes": "no",
    }
    for key, value in changes.items():
        (patient if key == "birth_date" else screening)[key] = value
    return patient, screening


def _decide(exposures: list[dict[str, Any]] | None = None, **changes: Any) -> tuple[Any, Any]:
    patient, screening = _evidence(**changes)
    result = evaluate_eligibility(patient, screening, exposures or [], COEFFICIENTS)
    return result.failed, result.unknown


def _stated(days_before: int, dose: float) -> dict[str, Any]:
    return {
        "modality": "CT",
        "effective_dose_msv": dose,
        "exposure_date": PLANNED - timedelta(days=days_before),
    }


def test_complete_evidence_passes() -> None:
    assert _decide() == ((), ())


@pytest.mark.parametrize(
    ("changes", "failed", "unknown"),
    [
        # Age on the consent date; the 18th birthday itself passes (docs/protocol.md).
        ({"birth_date": add_years(PLANNED - timedelta(days=10), -18)}, (), ()),
        (
            {"birth_date": add_years(PLANNED - timedelta(days=9), -18)},
            ("age_18_or_over",),
            (),
        ),
        ({"consent_signed": "no", "consent_date": None}, ("written_consent",), ("age_18_or_over",)),
        ({"consent_signed": None}, (), ("written_consent",)),
        ({"malignancy_confirmed": "no"}, ("malignancy_confirmed",), ()),
        ({"confirmation_method": "cytology"}, ("malignancy_confirmed",), ()),
        ({"confirmation_method": None}, (), ("malignancy_confirmed",)),
        ({"malignancy_confirmed": "unknown"}, (), ("malignancy_confirmed",)),
        ({"suspicious_lesions": "no"}, ("suspicious_nodes_or_metastases",), ()),
        ({"prior_antitumour_therapy": "yes"}, ("no_prior_antitumour_therapy",), ()),
        ({"prior_antitumour_therapy": ""}, (), ("no_prior_antitumour_therapy",)),
        ({"cannot_tolerate_scan": "yes"}, ("tolerates_scan",), ()),
        ({"scan_contraindication": "yes"}, ("no_scan_contraindication",), ()),
        ({"investigator_excludes": "yes"}, ("investigator_approves",), ()),
        # Surgery: fewer than 90 days fails (89 fails, 90 and 92 pass); undated is unknown.
        (
            {"major_surgery": "yes", "major_surgery_date": PLANNED - timedelta(days=89)},
            ("no_recent_major_surgery",),
            (),
        ),
        ({"major_surgery": "yes", "major_surgery_date": PLANNED - timedelta(days=90)}, (), ()),
        ({"major_surgery": "yes", "major_surgery_date": PLANNED - timedelta(days=92)}, (), ()),
        ({"major_surgery": "yes", "major_surgery_date": None}, (), ("no_recent_major_surgery",)),
        # Experimental therapy: fewer than 30 days fails (29 fails, 30 passes).
        (
            {
                "experimental_therapy": "yes",
                "experimental_therapy_date": PLANNED - timedelta(days=29),
            },
            ("no_recent_experimental_therapy",),
            (),
        ),
        (
            {
                "experimental_therapy": "yes",
                "experimental_therapy_date": PLANNED - timedelta(days=30),
            },
            (),
            (),
        ),
    ],
)
def test_protocol_rules(
    changes: dict[str, Any], failed: tuple[str, ...], unknown: tuple[str, ...]
) -> None:
    assert _decide(**changes) == (failed, unknown)


@pytest.mark.parametrize(
    ("exposures", "failed", "unknown"),
    [
        ([_stated(30, 25.0), _stated(90, 25.0)], (), ()),  # exactly 50.0 passes
        ([_stated(40, 30.0), _stated(100, 20.1)], ("radiation_under_50msv",), ()),  # 50.1
        ([_stated(365, 40.0), _stated(60, 10.1)], ("radiation_under_50msv",), ()),  # day 365 counts
        ([_stated(366, 40.0), _stated(60, 20.0)], (), ()),  # day 366 does not
        ([_stated(0, 45.0), _stated(50, 10.0)], (), ()),  # the scan day does not
        (
            [{"modality": "CT", "exposure_date": PLANNED - timedelta(days=5)}],
            (),
            ("radiation_under_50msv",),
        ),
        # An unknown dose cannot rescue a known total above 50 mSv.
        (
            [_stated(10, 51.0), {"modality": "CT", "exposure_date": PLANNED - timedelta(days=5)}],
            ("radiation_under_50msv",),
            (),
        ),
    ],
)
def test_radiation_window_and_limit(
    exposures: list[dict[str, Any]], failed: tuple[str, ...], unknown: tuple[str, ...]
) -> None:
    assert _decide(exposures) == (failed, unknown)


def test_effective_dose_from_activity_and_dlp() -> None:
    """ICRP 128 FDG 0.019 mSv/MBq x 370 MBq + AAPM Report 96 chest-abdomen-pelvis
    0.015 mSv/(mGy.cm) x 900 mGy.cm = 7.03 + 13.5 mSv."""
    exposure = {
        "modality": "PET/CT",
        "radiopharmaceutical": "f18-fdg",
        "administered_activity_mbq": 370.0,
        "ct_dlp_mgy_cm": 900.0,
        "ct_region": "chest_abdomen_pelvis",
    }
    assert effective_dose_msv(exposure, COEFFICIENTS) == pytest.approx(7.03 + 13.5)
    assert effective_dose_msv(
        {"modality": "CT", "ct_dlp_mgy_cm": 100.0, "ct_region": "head"}, {}
    ) == pytest.approx(0.21)
    assert (
        effective_dose_msv(
            {"modality": "PET", "administered_activity_mbq": 100.0, "radiopharmaceutical": "x"},
            COEFFICIENTS,
        )
        is None
    )
    assert effective_dose_msv({"modality": "radiography"}, COEFFICIENTS) is None


def test_add_years_on_29_february() -> None:
    assert add_years(date(2008, 2, 29), 18) == date(2026, 2, 28)
    assert add_years(date(2008, 3, 1), -18) == date(1990, 3, 1)


def test_screened_population_covers_every_criterion() -> None:
    """50 enrolled: 10 more screened (20 %); each criterion fails or lacks evidence for
    someone, every criterion fails outright for someone, and the boundary cases that must
    pass are among the enrolled."""
    patients = screen_patients(
        np.random.default_rng(3), n_enrolled=50, study_start=date(2026, 4, 1), recruitment_days=365
    )
    assert len(patients) == 60
    failed: set[str] = set()
    unknown: set[str] = set()
    enrolled = 0
    for patient in patients:
        result = evaluate_eligibility(
            patient.patient_row(), patient.screening, exposure_rows(patient), COEFFICIENTS
        )
        assert result.enrolled == patient.meant_to_enrol, (patient.patient_id, patient.scenarios)
        enrolled += result.enrolled
        failed.update(result.failed)
        unknown.update(result.unknown)
    assert enrolled == 50
    assert failed == {c.id for c in CRITERIA}
    assert {"written_consent", "malignancy_confirmed", "radiation_under_50msv"} <= unknown
    dealt = {s for p in patients for s in p.scenarios}
    assert dealt == set(FAILURE_SCENARIOS) | set(BOUNDARY_PASSES)
    ids = [p.patient_id for p in patients]
    assert ids == sorted(ids)
    assert [p.screening_date for p in patients] == sorted(p.screening_date for p in patients)


def test_small_screening_has_at_least_three_failures() -> None:
    patients = screen_patients(
        np.random.default_rng(1), n_enrolled=2, study_start=date(2026, 4, 1), recruitment_days=30
    )
    assert sum(not p.meant_to_enrol for p in patients) == 3


@pytest.mark.parametrize("n_enrolled", [16, 20, 37, 100])
def test_every_criterion_fails_from_16_patients(n_enrolled: int) -> None:
    patients = screen_patients(
        np.random.default_rng(n_enrolled),
        n_enrolled=n_enrolled,
        study_start=date(2026, 4, 1),
        recruitment_days=365,
    )
    failed = set()
    for patient in patients:
        result = evaluate_eligibility(
            patient.patient_row(), patient.screening, exposure_rows(patient), COEFFICIENTS
        )
        assert result.enrolled == patient.meant_to_enrol
        failed.update(result.failed)
    assert failed == {c.id for c in CRITERIA}
