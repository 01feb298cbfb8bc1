"""Each eligibility rule at its boundaries (docs/protocol.md), and missing evidence."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from petdx.data_dictionary import CRITERIA
from petdx.study.eligibility import RULES, Evidence, Verdict, age_in_years, evaluate_patient

PLANNED = date(2025, 6, 30)


def _screening(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "patient_id": "SIM-0001",
        "planned_scan_date": PLANNED,
        "consent_signed": "yes",
        "consent_date": date(2025, 6, 1),
        "consent_by": "subject",
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
    base.update(changes)
    return base


def _evidence(
    *, birth: date = date(1960, 1, 1), exposures: list[dict[str, Any]] | None = None, **changes: Any
) -> Evidence:
    return Evidence(
        {"patient_id": "SIM-0001", "birth_date": birth}, _screening(**changes), exposures or []
    )


def _verdict(criterion: str, evidence: Evidence) -> Verdict:
    return RULES[criterion](evidence)[0]


def test_a_complete_record_is_eligible() -> None:
    decision = evaluate_patient("SIM-0001", _evidence())
    assert decision.eligible
    assert [r.criterion_id for r in decision.results] == [c.id for c in CRITERIA]


@pytest.mark.parametrize(
    ("birth", "expected"),
    [
        (date(2007, 6, 1), Verdict.PASS),  # 18th birthday on the consent date
        (date(2007, 6, 2), Verdict.FAIL),  # one day short
        (date(2007, 5, 31), Verdict.PASS),
    ],
)
def test_age_boundary_is_the_18th_birthday_on_the_consent_date(
    birth: date, expected: Verdict
) -> None:
    assert _verdict("age_18_or_over", _evidence(birth=birth)) is expected


def test_age_of_a_29_february_birthday() -> None:
    assert age_in_years(date(2004, 2, 29), date(2022, 2, 27)) == 17
    assert age_in_years(date(2004, 2, 29), date(2022, 2, 28)) == 18
    assert age_in_years(date(2004, 2, 29), date(2024, 2, 28)) == 19
    assert age_in_years(date(2004, 2, 29), date(2024, 2, 29)) == 20


def _ct(days_before: int, dlp: float, *, eid: str = "E1") -> dict[str, Any]:
    return {
        "exposure_id": eid,
        "exposure_date": PLANNED - timedelta(days=days_before),
        "modality": "CT",
        "ct_dlp_mgy_cm": dlp,
        "ct_region": "chest",
    }


def _stated(days_before: int, msv: float, *, eid: str = "E1") -> dict[str, Any]:
    return {
        "exposure_id": eid,
        "exposure_date": PLANNED - timedelta(days=days_before),
        "modality": "radiography",
        "effective_dose_msv": msv,
    }


@pytest.mark.parametrize(
    ("exposures", "expected"),
    [
        ([_stated(100, 50.0)], Verdict.PASS),  # 50.0 passes
        ([_stated(100, 50.1)], Verdict.FAIL),  # 50.1 fails
        ([_stated(100, 30.0), _stated(200, 20.1, eid="E2")], Verdict.FAIL),  # the sum counts
        ([_stated(100, 20.1), _stated(200, 29.9, eid="E2")], Verdict.PASS),  # sums to 50.0
        ([_stated(365, 60.0)], Verdict.FAIL),  # 365 days before: inside the window
        ([_stated(366, 60.0)], Verdict.PASS),  # 366 days before: outside
        ([_stated(0, 60.0)], Verdict.PASS),  # the scan day itself is excluded
        ([], Verdict.PASS),  # a screening record and no exposures: none
        # DLP 3575 mGy.cm x 0.014 (chest, AAPM 96) = 50.05 mSv
        ([_ct(10, 3575.0)], Verdict.FAIL),
        ([_ct(10, 3571.0)], Verdict.PASS),  # 49.994 mSv
    ],
)
def test_radiation_limit(exposures: list[dict[str, Any]], expected: Verdict) -> None:
    assert _verdict("radiation_under_50msv", _evidence(exposures=exposures)) is expected


def test_an_unknown_dose_makes_the_radiation_criterion_unknown_unless_already_over() -> None:
    unknown = {"exposure_id": "E9", "exposure_date": PLANNED - timedelta(days=5), "modality": "CT"}
    verdict, text = RULES["radiation_under_50msv"](_evidence(exposures=[unknown]))
    assert verdict is Verdict.UNKNOWN
    assert "E9" in text
    over = _evidence(exposures=[unknown, _stated(30, 51.0)])
    assert _verdict("radiation_under_50msv", over) is Verdict.FAIL


@pytest.mark.parametrize(
    ("days", "expected"), [(89, Verdict.FAIL), (90, Verdict.PASS), (92, Verdict.PASS)]
)
def test_major_surgery_window(days: int, expected: Verdict) -> None:
    evidence = _evidence(major_surgery="yes", major_surgery_date=PLANNED - timedelta(days=days))
    assert _verdict("no_recent_major_surgery", evidence) is expected


@pytest.mark.parametrize(
    ("days", "expected"), [(29, Verdict.FAIL), (30, Verdict.PASS), (32, Verdict.PASS)]
)
def test_experimental_therapy_window(days: int, expected: Verdict) -> None:
    evidence = _evidence(
        experimental_therapy="yes", experimental_therapy_date=PLANNED - timedelta(days=days)
    )
    assert _verdict("no_recent_experimental_therapy", evidence) is expected


@pytest.mark.parametrize(
    ("criterion", "changes"),
    [
        ("age_18_or_over", {"consent_date": None}),
        ("written_consent", {"consent_date": None}),
        ("written_consent", {"consent_signed": None}),
        ("written_consent", {"consent_signed": "unknown"}),
        ("malignancy_confirmed", {"malignancy_confirmed": None}),
        ("malignancy_confirmed", {"confirmation_method": None}),
        ("suspicious_nodes_or_metastases", {"suspicious_lesions": "unknown"}),
        ("no_prior_antitumour_therapy", {"prior_antitumour_therapy": None}),
        ("tolerates_scan", {"cannot_tolerate_scan": None}),
        ("no_scan_contraindication", {"scan_contraindication": "unknown"}),
        ("no_recent_major_surgery", {"major_surgery": None}),
        ("no_recent_major_surgery", {"major_surgery": "yes", "major_surgery_date": None}),
        ("no_recent_experimental_therapy", {"experimental_therapy": "unknown"}),
        (
            "no_recent_experimental_therapy",
            {"experimental_therapy": "yes", "experimental_therapy_date": None},
        ),
        ("investigator_approves", {"investigator_excludes": None}),
        ("radiation_under_50msv", {"planned_scan_date": None}),
    ],
)
def test_missing_evidence_is_unknown_never_eligible(
    criterion: str, changes: dict[str, Any]
) -> None:
    evidence = _evidence(**changes)
    assert _verdict(criterion, evidence) is Verdict.UNKNOWN
    decision = evaluate_patient("SIM-0001", evidence)
    assert not decision.eligible
    assert criterion in decision.unknown


def test_without_a_screening_record_every_screening_criterion_is_unknown() -> None:
    decision = evaluate_patient("SIM-0009", Evidence({"birth_date": date(1950, 1, 1)}, None, []))
    assert not decision.eligible
    assert set(decision.unknown) == set(RULES)


@pytest.mark.parametrize(
    ("criterion", "changes"),
    [
        ("malignancy_confirmed", {"malignancy_confirmed": "no"}),
        ("malignancy_confirmed", {"confirmation_method": "cytology"}),
        ("malignancy_confirmed", {"confirmation_method": "clinical"}),
        ("suspicious_nodes_or_metastases", {"suspicious_lesions": "no"}),
        ("written_consent", {"consent_signed": "no"}),
        ("no_prior_antitumour_therapy", {"prior_antitumour_therapy": "yes"}),
        ("tolerates_scan", {"cannot_tolerate_scan": "yes"}),
        ("no_scan_contraindication", {"scan_contraindication": "yes"}),
        ("investigator_approves", {"investigator_excludes": "yes"}),
    ],
)
def test_each_exclusion_by_answer(criterion: str, changes: dict[str, Any]) -> None:
    decision = evaluate_patient("SIM-0001", _evidence(**changes))
    assert decision.failed == (criterion,)
    assert decision.unknown == ()


def test_a_pet_mr_scan_counts_the_radiopharmaceutical_alone() -> None:
    """PET/MR has no CT: 370 MBq FDG x 0.019 mSv/MBq (ICRP 128, the f18-fdg profile) = 7.03
    mSv, whatever CT fields the record carries; the same record as PET/CT adds DLP x k."""
    from petdx.study.dose import exposure_dose

    record = {
        "exposure_id": "E1",
        "exposure_date": PLANNED - timedelta(days=10),
        "modality": "PET/MR",
        "radiopharmaceutical": "f18-fdg",
        "administered_activity_mbq": 370.0,
        "ct_dlp_mgy_cm": 1000.0,
        "ct_region": "chest",
    }
    pet_mr = exposure_dose(record)
    assert pet_mr.dose_msv == pytest.approx(370.0 * 0.019, rel=1e-12)
    assert "DLP" not in pet_mr.method
    pet_ct = exposure_dose({**record, "modality": "PET/CT"})
    # 1000 mGy.cm x 0.014 (chest, AAPM 96 Table 3) = 14 mSv on top
    assert pet_ct.dose_msv == pytest.approx(370.0 * 0.019 + 14.0, rel=1e-12)
    # 2000 MBq x 0.019 = 38 mSv plus a stated 12.5 mSv: over 50 with no CT counted
    over = [{**record, "administered_activity_mbq": 2000.0}, _stated(30, 12.5, eid="E2")]
    assert _verdict("radiation_under_50msv", _evidence(exposures=over)) is Verdict.FAIL
    under = [{**record, "administered_activity_mbq": 2000.0}, _stated(30, 11.9, eid="E2")]
    assert _verdict("radiation_under_50msv", _evidence(exposures=under)) is Verdict.PASS
