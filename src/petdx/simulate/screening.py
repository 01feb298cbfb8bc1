"""Screened patients: demographics and the evidence each protocol criterion needs.

Every screened patient gets a ``patients`` row, a ``screening`` row and the radiation
exposures of the year before the planned scan. Patients meant to fail get one or more
*scenarios* (a failed criterion or missing evidence), enrolled ones possibly a boundary case
that still passes (the 18th birthday on the consent date, exactly 50.0 mSv, surgery exactly
90 days before, an exposure 366 days before or on the scan day). The enrolment truth is
then computed from the evidence alone by :func:`evaluate_eligibility`, which implements the
rules of ``docs/protocol.md`` on its own (independently of :mod:`petdx.study`).

Rules (every window counted back from ``planned_scan_date``; age on ``consent_date``):
age < 18 fails; malignancy not ``yes`` or not by biopsy/surgery fails; suspicious lesions
not ``yes`` fails; consent not ``yes`` or undated fails; prior therapy, intolerance,
contraindication or investigator exclusion ``yes`` fails; exposures dated in the 365 days
before the scan (scan day excluded) summing to more than 50.0 mSv fail; surgery fewer than
90 days and experimental therapy fewer than 30 days before fail. Empty or ``unknown``
evidence, or ``yes`` without the date a rule needs, leaves the criterion unknown; an unknown
exposure dose leaves the radiation criterion unknown unless the known doses already exceed
50.0 mSv (more evidence can only add dose).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from petdx.ct_dose import AAPM96_K_FACTORS_MSV_PER_MGY_CM
from petdx.data_dictionary import CRITERIA

__all__ = [
    "BOUNDARY_PASSES",
    "FAILURE_SCENARIOS",
    "EligibilityResult",
    "ScreenedPatient",
    "add_years",
    "effective_dose_msv",
    "evaluate_eligibility",
    "screen_patients",
]

#: Failure / missing-evidence scenarios, in the order they are dealt to failing patients
#: (consent-related ones first, so that they fall on different patients).
FAILURE_SCENARIOS: tuple[str, ...] = (
    "age_under_18",
    "no_consent",
    "consent_unknown",
    "malignancy_not_confirmed",
    "no_suspicious_lesions",
    "prior_therapy",
    "cannot_tolerate",
    "contraindication",
    "radiation_50_1_msv",
    "surgery_89_days",
    "experimental_29_days",
    "investigator_excludes",
    "malignancy_by_cytology",
    "radiation_counted_at_365_days",
    "surgery_date_missing",
    "prior_therapy_unknown",
    "exposure_dose_unknown",
    "radiation_computed_over_50",
    "malignancy_unknown",
)

#: Scenarios that change the same evidence: never dealt to one patient when avoidable.
_EVIDENCE_GROUP: dict[str, str] = {
    "age_under_18": "consent",
    "no_consent": "consent",
    "consent_unknown": "consent",
    "malignancy_not_confirmed": "malignancy",
    "malignancy_by_cytology": "malignancy",
    "malignancy_unknown": "malignancy",
    "prior_therapy": "prior_therapy",
    "prior_therapy_unknown": "prior_therapy",
    "surgery_89_days": "surgery",
    "surgery_date_missing": "surgery",
    "radiation_50_1_msv": "radiation",
    "radiation_counted_at_365_days": "radiation",
    "exposure_dose_unknown": "radiation",
    "radiation_computed_over_50": "radiation",
}

#: Boundary cases that pass, dealt to the first enrolled patients.
BOUNDARY_PASSES: tuple[str, ...] = (
    "age_exactly_18",
    "radiation_exactly_50_msv",
    "exposure_366_days_before",
    "exposure_on_scan_day",
    "surgery_90_days",
    "surgery_92_days",
    "experimental_30_days",
    "guardian_consent",
)

_TUMOURS = (
    ("nsclc", 0.45),
    ("hnscc", 0.10),
    ("melanoma", 0.09),
    ("gastric", 0.08),
    ("oesophageal", 0.07),
    ("hepatocellular", 0.05),
    ("urothelial", 0.06),
    ("breast_tnbc", 0.05),
    ("renal", 0.05),
)


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later (29 February -> 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@dataclass
class ScreenedPatient:
    """One screened patient and the evidence written for them."""

    patient_id: str
    sex: str
    birth_date: date
    height_m: float
    weight_kg: float
    tumour_type: str
    ecog: int
    screening_date: date
    screening: dict[str, Any]
    exposures: list[dict[str, Any]] = field(default_factory=list)
    scenarios: tuple[str, ...] = ()
    meant_to_enrol: bool = True

    @property
    def planned_scan_date(self) -> date:
        value: date = self.screening["planned_scan_date"]
        return value

    def patient_row(self) -> dict[str, Any]:
        return {
            "patient_id": self.patient_id,
            "sex": self.sex,
            "birth_date": self.birth_date,
            "height_m": round(self.height_m, 2),
            "weight_kg": round(self.weight_kg, 1),
            "tumour_type": self.tumour_type,
            "ecog": self.ecog,
            "screening_date": self.screening_date,
        }


@dataclass(frozen=True)
class EligibilityResult:
    """Enrolment decision from the evidence."""

    failed: tuple[str, ...]
    unknown: tuple[str, ...]

    @property
    def enrolled(self) -> bool:
        return not self.failed and not self.unknown


# --------------------------------------------------------------------------- rules


def _known(value: Any) -> str | None:
    """``yes``/``no`` or None for empty / unknown."""
    text = "" if value is None else str(value).strip().lower()
    return text if text in ("yes", "no") else None


def effective_dose_msv(
    exposure: Mapping[str, Any], dose_coefficients: Mapping[str, float]
) -> float | None:
    """Effective dose of one exposure (mSv), or None when it cannot be determined.

    The stated ``effective_dose_msv`` when present; else activity x the tracer's dose
    coefficient (nuclear medicine) plus DLP x the region's AAPM Report 96 k-factor (CT).
    """
    stated = exposure.get("effective_dose_msv")
    if stated not in (None, ""):
        return float(stated)
    modality = str(exposure.get("modality", ""))
    total = 0.0
    nuclear = modality in ("PET", "PET/CT", "SPECT", "SPECT/CT")
    ct = modality in ("CT", "PET/CT", "SPECT/CT")
    if nuclear:
        activity = exposure.get("administered_activity_mbq")
        tracer = exposure.get("radiopharmaceutical")
        if activity in (None, "") or tracer not in dose_coefficients:
            return None
        total += float(activity) * dose_coefficients[str(tracer)]
    if ct:
        dlp = exposure.get("ct_dlp_mgy_cm")
        region = exposure.get("ct_region")
        if dlp in (None, "") or region not in AAPM96_K_FACTORS_MSV_PER_MGY_CM:
            return None
        total += float(dlp) * AAPM96_K_FACTORS_MSV_PER_MGY_CM[str(region)]
    if not (nuclear or ct):
        return None
    return total


def evaluate_eligibility(
    patient: Mapping[str, Any],
    screening: Mapping[str, Any],
    exposures: Sequence[Mapping[str, Any]],
    dose_coefficients: Mapping[str, float],
) -> EligibilityResult:
    """Apply the protocol's rules (module docstring) to one patient's evidence."""
    outcome: dict[str, bool | None] = {}  # True pass, False fail, None unknown
    planned: date = screening["planned_scan_date"]
    consent_date = screening.get("consent_date")
    birth = patient.get("birth_date")
    if birth is None or consent_date is None:
        outcome["age_18_or_over"] = None
    else:
        outcome["age_18_or_over"] = add_years(birth, 18) <= consent_date

    confirmed = _known(screening.get("malignancy_confirmed"))
    method = screening.get("confirmation_method")
    if confirmed == "no":
        outcome["malignancy_confirmed"] = False
    elif confirmed is None:
        outcome["malignancy_confirmed"] = None
    elif method in ("biopsy", "surgical"):
        outcome["malignancy_confirmed"] = True
    elif method in ("cytology", "clinical"):
        outcome["malignancy_confirmed"] = False
    else:
        outcome["malignancy_confirmed"] = None

    suspicious = _known(screening.get("suspicious_lesions"))
    outcome["suspicious_nodes_or_metastases"] = None if suspicious is None else suspicious == "yes"

    consent = _known(screening.get("consent_signed"))
    if consent == "no":
        outcome["written_consent"] = False
    elif consent is None:
        outcome["written_consent"] = None
    else:
        outcome["written_consent"] = consent_date is not None

    for criterion, key in (
        ("no_prior_antitumour_therapy", "prior_antitumour_therapy"),
        ("tolerates_scan", "cannot_tolerate_scan"),
        ("no_scan_contraindication", "scan_contraindication"),
        ("investigator_approves", "investigator_excludes"),
    ):
        answer = _known(screening.get(key))
        outcome[criterion] = None if answer is None else answer == "no"

    known_total, unknown_dose = 0.0, False
    for exposure in exposures:
        when: date = exposure["exposure_date"]
        if not planned - timedelta(days=365) <= when < planned:
            continue
        dose = effective_dose_msv(exposure, dose_coefficients)
        if dose is None:
            unknown_dose = True
        else:
            known_total += dose
    if known_total > 50.0 + 1e-9:
        outcome["radiation_under_50msv"] = False
    else:
        outcome["radiation_under_50msv"] = None if unknown_dose else True

    for criterion, key, days in (
        ("no_recent_major_surgery", "major_surgery", 90),
        ("no_recent_experimental_therapy", "experimental_therapy", 30),
    ):
        answer = _known(screening.get(key))
        dated: date | None = screening.get(f"{key}_date")
        if answer == "no":
            outcome[criterion] = True
        elif answer is None or dated is None:
            outcome[criterion] = None
        else:
            outcome[criterion] = (planned - dated).days >= days

    order = [c.id for c in CRITERIA]
    failed = tuple(c for c in order if outcome[c] is False)
    unknown = tuple(c for c in order if outcome[c] is None)
    return EligibilityResult(failed, unknown)


# --------------------------------------------------------------------------- generation


def _choice(rng: np.random.Generator, options: Sequence[Any]) -> Any:
    return options[int(rng.integers(len(options)))]


def _typical_exposures(rng: np.random.Generator, planned: date) -> list[dict[str, Any]]:
    """A cancer work-up: one or two diagnostic CTs, sometimes an FDG PET/CT, a radiograph.
    At most about 41 mSv, well below the 50 mSv limit."""
    rows: list[dict[str, Any]] = []
    for _ in range(int(rng.integers(1, 3))):
        rows.append(
            {
                "modality": "CT",
                "ct_dlp_mgy_cm": round(float(rng.uniform(450, 900)), 1),
                "ct_region": "chest_abdomen_pelvis",
                "description": "Diagnostic CT chest, abdomen and pelvis",
                "days_before": int(rng.integers(8, 200)),
            }
        )
    if rng.random() < 0.3:
        rows.append(
            {
                "modality": "PET/CT",
                "radiopharmaceutical": "f18-fdg",
                "administered_activity_mbq": round(float(rng.uniform(200, 350)), 1),
                "ct_dlp_mgy_cm": round(float(rng.uniform(200, 450)), 1),
                "ct_region": "chest_abdomen_pelvis",
                "description": "Staging FDG PET/CT",
                "days_before": int(rng.integers(8, 120)),
            }
        )
    if rng.random() < 0.5:
        rows.append(
            {
                "modality": "radiography",
                "effective_dose_msv": 0.02,
                "description": "Chest radiograph (dose as stated in the report)",
                "days_before": int(rng.integers(1, 300)),
            }
        )
    return rows


def _stated(days_before: int, dose: float, description: str) -> dict[str, Any]:
    return {
        "modality": "CT",
        "effective_dose_msv": dose,
        "description": description,
        "days_before": days_before,
    }


def _apply(scenario: str, p: ScreenedPatient, rng: np.random.Generator) -> None:
    """Change a patient's evidence so that the scenario holds."""
    s = p.screening
    planned: date = s["planned_scan_date"]
    if scenario in ("age_under_18", "age_exactly_18"):
        consent = s["consent_date"] or p.screening_date
        s["consent_date"] = consent
        birthday_18 = consent + timedelta(days=1) if scenario == "age_under_18" else consent
        p.birth_date = add_years(birthday_18, -18)
    elif scenario == "no_consent":
        s.update(consent_signed="no", consent_date=None, consent_by=None)
    elif scenario == "consent_unknown":
        s.update(consent_signed=_choice(rng, ["unknown", None]), consent_date=None, consent_by=None)
    elif scenario == "guardian_consent":
        s["consent_by"] = "guardian"
    elif scenario == "malignancy_not_confirmed":
        s.update(malignancy_confirmed="no", confirmation_method=None, confirmation_date=None)
    elif scenario == "malignancy_by_cytology":
        s["confirmation_method"] = "cytology"
    elif scenario == "malignancy_unknown":
        s.update(malignancy_confirmed=None, confirmation_method=None, confirmation_date=None)
    elif scenario == "no_suspicious_lesions":
        s.update(suspicious_lesions="no", suspicious_lesion_kind="none")
    elif scenario == "prior_therapy":
        s.update(
            prior_antitumour_therapy="yes",
            prior_therapy_date=planned - timedelta(days=int(rng.integers(20, 400))),
        )
    elif scenario == "prior_therapy_unknown":
        s.update(prior_antitumour_therapy="unknown", prior_therapy_date=None)
    elif scenario == "cannot_tolerate":
        s["cannot_tolerate_scan"] = "yes"
        p.ecog = int(rng.integers(3, 5))
    elif scenario == "contraindication":
        s["scan_contraindication"] = "yes"
    elif scenario == "investigator_excludes":
        s.update(
            investigator_excludes="yes",
            investigator_reason="Uncontrolled intercurrent illness (simulated)",
        )
    elif scenario in ("surgery_89_days", "surgery_90_days", "surgery_92_days"):
        days = int(scenario.split("_")[1])
        s.update(major_surgery="yes", major_surgery_date=planned - timedelta(days=days))
    elif scenario == "surgery_date_missing":
        s.update(major_surgery="yes", major_surgery_date=None)
    elif scenario in ("experimental_29_days", "experimental_30_days"):
        days = int(scenario.split("_")[1])
        s.update(
            experimental_therapy="yes", experimental_therapy_date=planned - timedelta(days=days)
        )
    elif scenario == "radiation_50_1_msv":
        p.exposures = [
            _stated(40, 30.0, "CT-guided procedure series (dose stated)"),
            _stated(100, 20.1, "Interventional CT (dose stated)"),
        ]
    elif scenario == "radiation_exactly_50_msv":
        p.exposures = [
            _stated(30, 25.0, "CT-guided procedure series (dose stated)"),
            _stated(90, 25.0, "Interventional CT (dose stated)"),
        ]
    elif scenario == "radiation_counted_at_365_days":
        p.exposures = [
            _stated(365, 40.0, "Interventional CT (dose stated)"),
            _stated(60, 10.1, "CT (dose stated)"),
        ]
    elif scenario == "exposure_366_days_before":
        p.exposures = [
            _stated(366, 40.0, "Interventional CT (dose stated), outside the window"),
            _stated(60, 20.0, "CT (dose stated)"),
        ]
    elif scenario == "exposure_on_scan_day":
        p.exposures = [
            _stated(0, 45.0, "CT on the scan day (not counted)"),
            _stated(50, 10.0, "CT (dose stated)"),
        ]
    elif scenario == "exposure_dose_unknown":
        p.exposures = [
            {"modality": "CT", "description": "Outside CT, no dose report", "days_before": 45}
        ]
    elif scenario == "radiation_computed_over_50":
        p.exposures = [
            {
                "modality": "PET/CT",
                "radiopharmaceutical": "f18-fdg",
                "administered_activity_mbq": 370.0,
                "ct_dlp_mgy_cm": 900.0,
                "ct_region": "chest_abdomen_pelvis",
                "description": "FDG PET/CT",
                "days_before": d,
            }
            for d in (20, 110, 200)
        ]
    else:
        raise ValueError(f"unknown scenario {scenario!r}")


def _draw_patient(
    rng: np.random.Generator, patient_id: str, screening_date: date
) -> ScreenedPatient:
    sex = "M" if rng.random() < 0.6 else "F"
    age = int(np.clip(rng.normal(63, 10), 35, 85))
    height = float(np.clip(rng.normal(1.75 if sex == "M" else 1.62, 0.07), 1.50, 1.98))
    bmi = float(np.clip(rng.normal(25.0, 4.0), 17.5, 40.0))
    weight = bmi * height**2
    consent = screening_date - timedelta(days=int(rng.integers(0, 3)))
    birth = add_years(consent, -age) - timedelta(days=int(rng.integers(1, 360)))
    names = [t for t, _ in _TUMOURS]
    weights = np.array([w for _, w in _TUMOURS])
    tumour = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    planned = screening_date + timedelta(days=int(rng.integers(3, 15)))
    surgery_long_ago = rng.random() < 0.1
    screening: dict[str, Any] = {
        "patient_id": patient_id,
        "planned_scan_date": planned,
        "consent_signed": "yes",
        "consent_date": consent,
        "consent_by": "subject",
        "malignancy_confirmed": "yes",
        "confirmation_method": "biopsy" if rng.random() < 0.8 else "surgical",
        "confirmation_date": screening_date - timedelta(days=int(rng.integers(7, 60))),
        "suspicious_lesions": "yes",
        "suspicious_lesion_kind": None,  # set from the lesion plan
        "imaging_date": screening_date - timedelta(days=int(rng.integers(3, 30))),
        "prior_antitumour_therapy": "no",
        "prior_therapy_date": None,
        "cannot_tolerate_scan": "no",
        "scan_contraindication": "no",
        "major_surgery": "yes" if surgery_long_ago else "no",
        "major_surgery_date": (
            planned - timedelta(days=int(rng.integers(400, 3000))) if surgery_long_ago else None
        ),
        "experimental_therapy": "no",
        "experimental_therapy_date": None,
        "investigator_excludes": "no",
        "investigator_reason": None,
    }
    patient = ScreenedPatient(
        patient_id=patient_id,
        sex=sex,
        birth_date=birth,
        height_m=height,
        weight_kg=weight,
        tumour_type=tumour,
        ecog=int(rng.choice([0, 1, 2], p=[0.45, 0.45, 0.10])),
        screening_date=screening_date,
        screening=screening,
    )
    patient.exposures = _typical_exposures(rng, planned)
    return patient


def _deal_scenarios(n_failed: int) -> list[tuple[str, ...]]:
    """Deal every failure scenario to the least-loaded failing patient that holds no
    scenario changing the same evidence (possible for 4 or more failing patients)."""
    hands: list[list[str]] = [[] for _ in range(n_failed)]
    # More failing patients than scenarios: deal the list again until everyone has one.
    deck = [
        FAILURE_SCENARIOS[k % len(FAILURE_SCENARIOS)]
        for k in range(max(n_failed, len(FAILURE_SCENARIOS)))
    ]
    for scenario in deck:
        group = _EVIDENCE_GROUP.get(scenario)
        free = [
            hand
            for hand in hands
            if group is None or all(_EVIDENCE_GROUP.get(s) != group for s in hand)
        ]
        min(free or hands, key=len).append(scenario)
    return [tuple(hand) for hand in hands]


def screen_patients(
    rng: np.random.Generator,
    *,
    n_enrolled: int,
    study_start: date,
    recruitment_days: int,
    id_prefix: str = "SIM",
) -> list[ScreenedPatient]:
    """Draw the screened population: ``n_enrolled`` eligible patients plus about 20 % more
    (at least 3) who fail, with every failure scenario dealt at least once (scenarios on the
    same evidence to different patients when there are 4 or more failing patients, so that
    from 16 enrolled patients on every criterion fails for someone).

    Patients are numbered in screening order (``SIM-0001`` ...).
    """
    n_failed = max(3, round(0.2 * n_enrolled))
    dealt = _deal_scenarios(n_failed)
    total = n_enrolled + n_failed
    days = sorted(int(d) for d in rng.integers(0, recruitment_days, total))
    fail_slots = {int(i) for i in rng.choice(total, n_failed, replace=False)}
    width = max(4, len(str(total)))
    patients = []
    failing_index = passing_index = 0
    for index in range(total):
        pid = f"{id_prefix}-{index + 1:0{width}d}"
        patient = _draw_patient(rng, pid, study_start + timedelta(days=days[index]))
        if index in fail_slots:
            scenarios = dealt[failing_index]
            failing_index += 1
            patient.meant_to_enrol = False
        else:
            scenarios = (
                (BOUNDARY_PASSES[passing_index],) if passing_index < len(BOUNDARY_PASSES) else ()
            )
            passing_index += 1
        for scenario in scenarios:
            _apply(scenario, patient, rng)
        patient.scenarios = scenarios
        patients.append(patient)
    return patients


def exposure_rows(patient: ScreenedPatient) -> list[dict[str, Any]]:
    """The patient's exposures as ``exposures`` rows (dated back from the planned scan)."""
    rows = []
    planned = patient.planned_scan_date
    ordered = sorted(patient.exposures, key=lambda e: -int(e["days_before"]))
    for number, exposure in enumerate(ordered, start=1):
        row = {k: v for k, v in exposure.items() if k != "days_before"}
        row["exposure_id"] = f"{patient.patient_id}-X{number:02d}"
        row["patient_id"] = patient.patient_id
        row["exposure_date"] = planned - timedelta(days=int(exposure["days_before"]))
        rows.append(row)
    return rows


def total_dose_msv(rows: Sequence[Mapping[str, Any]], coefficients: Mapping[str, float]) -> float:
    """Sum of the determinable doses of ``rows`` (for summaries)."""
    doses = [effective_dose_msv(r, coefficients) for r in rows]
    return float(math.fsum(d for d in doses if d is not None))
