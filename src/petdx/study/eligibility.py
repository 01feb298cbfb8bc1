"""The eligibility engine: every criterion of the protocol as a named rule with its evidence.

The rules are those of docs/protocol.md (trial record 2026009, "Participation Criteria"),
one function per criterion id of :data:`petdx.data_dictionary.CRITERIA`. Windows are counted
in days back from ``screening.planned_scan_date``; age is taken on ``consent_date``. Every
rule returns ``pass``, ``fail`` or ``unknown`` with the evidence it used, in words; missing
evidence (an empty cell, ``unknown``, ``yes`` without the date the rule needs) gives
``unknown``, never ``pass``. A patient is eligible only when every criterion passes.

The screening log (:func:`screening_log`) lists, for every screened patient, every
criterion, its evidence and its verdict: the STARD flow diagram's exclusions are drawn from it.

Threshold semantics, exactly:

* age: passes when the age in completed years on the consent date is ``>= 18`` (the 18th
  birthday itself passes; a 29 February birthday is reached on 28 February in common years);
* radiation: fails when the doses dated ``planned - 365 days <= date < planned`` sum to
  ``> 50.0`` mSv (50.0 passes; the sum is compared with a 1e-9 mSv allowance for
  floating-point summation, so 25.0 + 25.0 stated doses pass);
* major surgery: fails when ``planned - surgery_date < 90`` days (89 fails, 90 passes);
* experimental therapy: fails when ``planned - therapy_date < 30`` days (29 fails, 30 passes).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, select

from petdx.data_dictionary import CRITERIA
from petdx.study.dose import rolling_dose
from petdx.study.schema import exchange_table

__all__ = [
    "RULES",
    "CriterionResult",
    "Evidence",
    "ScreeningDecision",
    "Verdict",
    "age_in_years",
    "evaluate_patient",
    "screening_log",
]

RADIATION_LIMIT_MSV = 50.0
_SUM_TOLERANCE_MSV = 1e-9
SURGERY_WINDOW_DAYS = 90
EXPERIMENTAL_WINDOW_DAYS = 30
MINIMUM_AGE_YEARS = 18


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Evidence:
    """What the rules read: the patient's rows (None when absent) and exposures."""

    patient: Mapping[str, Any] | None
    screening: Mapping[str, Any] | None
    exposures: Sequence[Mapping[str, Any]]

    def answer(self, name: str) -> str:
        """A tri-state screening answer: ``yes``, ``no`` or ``unknown`` (empty or absent)."""
        value = None if self.screening is None else self.screening.get(name)
        return value if value in ("yes", "no") else "unknown"

    def value(self, name: str) -> Any:
        return None if self.screening is None else self.screening.get(name)

    @property
    def planned(self) -> date | None:
        value = self.value("planned_scan_date")
        return value if isinstance(value, date) else None


Outcome = tuple[Verdict, str]


def age_in_years(birth: date, on: date) -> int:
    """Completed years of age on ``on``. Someone born on 29 February has their birthday on
    28 February in common years (the convention of the simulator's enrolment truth)."""
    birthday = (birth.month, birth.day)
    if birthday == (2, 29) and not calendar.isleap(on.year):
        birthday = (2, 28)
    return on.year - birth.year - ((on.month, on.day) < birthday)


def _no_screening(evidence: Evidence) -> Outcome | None:
    if evidence.screening is None:
        return Verdict.UNKNOWN, "no screening record"
    return None


def age_18_or_over(evidence: Evidence) -> Outcome:
    """Passes when the age on the consent date is >= 18 completed years."""
    if (missing := _no_screening(evidence)) is not None:
        return missing
    birth = None if evidence.patient is None else evidence.patient.get("birth_date")
    consent = evidence.value("consent_date")
    if birth is None or consent is None:
        lacking = "birth date" if birth is None else "consent date"
        return Verdict.UNKNOWN, f"no {lacking}"
    age = age_in_years(birth, consent)
    verdict = Verdict.PASS if age >= MINIMUM_AGE_YEARS else Verdict.FAIL
    # Age, not the date of birth: the screening log goes out with the report.
    return verdict, f"age {age} completed years on the consent date {consent}"


def malignancy_confirmed(evidence: Evidence) -> Outcome:
    """Passes when malignancy is confirmed (``yes``) by biopsy or surgical pathology."""
    if (missing := _no_screening(evidence)) is not None:
        return missing
    answer = evidence.answer("malignancy_confirmed")
    method = evidence.value("confirmation_method")
    if answer == "no":
        return Verdict.FAIL, "malignancy not confirmed"
    if answer == "unknown":
        return Verdict.UNKNOWN, "confirmation of malignancy not recorded"
    if method is None:
        return Verdict.UNKNOWN, "confirmed, but the method is not recorded"
    if method in ("biopsy", "surgical"):
        return Verdict.PASS, f"confirmed by {method} pathology"
    return Verdict.FAIL, f"confirmed by {method}, not by biopsy or surgical pathology"


def suspicious_nodes_or_metastases(evidence: Evidence) -> Outcome:
    """Passes when imaging showed suspicious lymph nodes or distant metastases (``yes``)."""
    if (missing := _no_screening(evidence)) is not None:
        return missing
    answer = evidence.answer("suspicious_lesions")
    kind = evidence.value("suspicious_lesion_kind")
    detail = f" ({kind})" if kind else ""
    if answer == "yes":
        return Verdict.PASS, f"suspicious lesions on imaging{detail}"
    if answer == "no":
        return Verdict.FAIL, "no suspicious lymph nodes or distant metastases on imaging"
    return Verdict.UNKNOWN, "imaging finding not recorded"


def written_consent(evidence: Evidence) -> Outcome:
    """Passes when consent is signed (``yes``) and dated."""
    if (missing := _no_screening(evidence)) is not None:
        return missing
    answer = evidence.answer("consent_signed")
    when = evidence.value("consent_date")
    if answer == "no":
        return Verdict.FAIL, "consent not signed"
    if answer == "unknown":
        return Verdict.UNKNOWN, "consent not recorded"
    if when is None:
        return Verdict.UNKNOWN, "consent signed but not dated"
    by = evidence.value("consent_by")
    return Verdict.PASS, f"signed {when}" + (f" by {by}" if by else "")


def _excluding_answer(evidence: Evidence, name: str, what: str) -> Outcome:
    if (missing := _no_screening(evidence)) is not None:
        return missing
    answer = evidence.answer(name)
    if answer == "yes":
        return Verdict.FAIL, what
    if answer == "no":
        return Verdict.PASS, f"no: {what}"
    return Verdict.UNKNOWN, f"not recorded: {what}"


def no_prior_antitumour_therapy(evidence: Evidence) -> Outcome:
    """Fails when antitumour therapy was received before the PET scan (``yes``)."""
    return _excluding_answer(
        evidence, "prior_antitumour_therapy", "antitumour therapy before the PET scan"
    )


def tolerates_scan(evidence: Evidence) -> Outcome:
    """Fails when a severe condition means the patient cannot tolerate the scan (``yes``)."""
    return _excluding_answer(evidence, "cannot_tolerate_scan", "cannot tolerate PET/CT or PET/MR")


def no_scan_contraindication(evidence: Evidence) -> Outcome:
    """Fails when there is a contraindication to PET/CT or PET/MR (``yes``)."""
    return _excluding_answer(
        evidence, "scan_contraindication", "contraindication to PET/CT or PET/MR"
    )


def investigator_approves(evidence: Evidence) -> Outcome:
    """Fails when the principal investigator judges participation harmful (``yes``)."""
    verdict, text = _excluding_answer(
        evidence, "investigator_excludes", "principal investigator excludes"
    )
    reason = evidence.value("investigator_reason")
    if verdict is Verdict.FAIL and reason:
        text += f": {reason}"
    return verdict, text


def radiation_under_50msv(evidence: Evidence) -> Outcome:
    """Fails when the effective doses of the 365 days before the planned scan (scan day
    excluded) sum to more than 50.0 mSv; unknown when a dose in that window is unknown and
    the known doses do not already exceed the limit."""
    if (missing := _no_screening(evidence)) is not None:
        return missing
    planned = evidence.planned
    if planned is None:
        return Verdict.UNKNOWN, "no planned scan date"
    window = rolling_dose(evidence.exposures, planned)
    if window.known_msv > RADIATION_LIMIT_MSV + _SUM_TOLERANCE_MSV:
        return Verdict.FAIL, f"{window} > {RADIATION_LIMIT_MSV:g} mSv"
    if not window.complete:
        unknown = [e.exposure_id for e in window.exposures if e.dose_msv is None]
        return Verdict.UNKNOWN, f"{window}; dose unknown for {', '.join(unknown)}"
    return Verdict.PASS, f"{window} <= {RADIATION_LIMIT_MSV:g} mSv"


def _recent(
    evidence: Evidence, answer_field: str, date_field: str, window: int, what: str
) -> Outcome:
    if (missing := _no_screening(evidence)) is not None:
        return missing
    answer = evidence.answer(answer_field)
    if answer == "no":
        return Verdict.PASS, f"no {what}"
    if answer == "unknown":
        return Verdict.UNKNOWN, f"{what}: not recorded"
    when = evidence.value(date_field)
    planned = evidence.planned
    if when is None or planned is None:
        lacking = "its date" if when is None else "the planned scan date"
        return Verdict.UNKNOWN, f"{what}, but {lacking} is not recorded"
    days = (planned - when).days
    if days < window:
        return Verdict.FAIL, f"{what} on {when}, {days} days before the scan (< {window})"
    return Verdict.PASS, f"{what} on {when}, {days} days before the scan (>= {window})"


def no_recent_major_surgery(evidence: Evidence) -> Outcome:
    """Fails when major surgery was fewer than 90 days before the planned scan."""
    return _recent(
        evidence, "major_surgery", "major_surgery_date", SURGERY_WINDOW_DAYS, "major surgery"
    )


def no_recent_experimental_therapy(evidence: Evidence) -> Outcome:
    """Fails when experimental drug or device therapy was fewer than 30 days before the
    planned scan."""
    return _recent(
        evidence,
        "experimental_therapy",
        "experimental_therapy_date",
        EXPERIMENTAL_WINDOW_DAYS,
        "experimental therapy",
    )


#: Criterion id -> rule, in the order of :data:`petdx.data_dictionary.CRITERIA`.
RULES: dict[str, Callable[[Evidence], Outcome]] = {
    "age_18_or_over": age_18_or_over,
    "malignancy_confirmed": malignancy_confirmed,
    "suspicious_nodes_or_metastases": suspicious_nodes_or_metastases,
    "written_consent": written_consent,
    "no_prior_antitumour_therapy": no_prior_antitumour_therapy,
    "tolerates_scan": tolerates_scan,
    "no_scan_contraindication": no_scan_contraindication,
    "radiation_under_50msv": radiation_under_50msv,
    "no_recent_major_surgery": no_recent_major_surgery,
    "no_recent_experimental_therapy": no_recent_experimental_therapy,
    "investigator_approves": investigator_approves,
}
assert tuple(RULES) == tuple(c.id for c in CRITERIA), "one rule per protocol criterion"
_KIND = {c.id: c.kind for c in CRITERIA}


@dataclass(frozen=True)
class CriterionResult:
    """One criterion's verdict for one patient, with the evidence in words."""

    criterion_id: str
    kind: str
    verdict: Verdict
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "criterion_id": self.criterion_id,
            "kind": self.kind,
            "verdict": self.verdict.value,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class ScreeningDecision:
    """Every criterion's verdict for one patient."""

    patient_id: str
    results: tuple[CriterionResult, ...]

    @property
    def eligible(self) -> bool:
        return all(r.verdict is Verdict.PASS for r in self.results)

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(r.criterion_id for r in self.results if r.verdict is Verdict.FAIL)

    @property
    def unknown(self) -> tuple[str, ...]:
        return tuple(r.criterion_id for r in self.results if r.verdict is Verdict.UNKNOWN)

    def to_dict(self) -> dict[str, Any]:
        return {
            "patient_id": self.patient_id,
            "eligible": self.eligible,
            "failed_criteria": list(self.failed),
            "unknown_criteria": list(self.unknown),
            "criteria": [r.to_dict() for r in self.results],
        }

    def log_rows(self) -> list[dict[str, Any]]:
        """Rows of the screening log: patient, criterion, kind, verdict, evidence."""
        return [{"patient_id": self.patient_id, **r.to_dict()} for r in self.results]

    def __str__(self) -> str:
        if self.eligible:
            return f"{self.patient_id}: eligible"
        parts = []
        if self.failed:
            parts.append(f"fails {', '.join(self.failed)}")
        if self.unknown:
            parts.append(f"unknown {', '.join(self.unknown)}")
        return f"{self.patient_id}: not eligible ({'; '.join(parts)})"


def evaluate_patient(patient_id: str, evidence: Evidence) -> ScreeningDecision:
    """Apply every rule of :data:`RULES` to one patient's evidence."""
    results = []
    for criterion_id, rule in RULES.items():
        verdict, text = rule(evidence)
        results.append(CriterionResult(criterion_id, _KIND[criterion_id], verdict, text))
    return ScreeningDecision(patient_id, tuple(results))


def screening_log(connection: Connection) -> list[ScreeningDecision]:
    """Evaluate every patient of the study, in pseudonym order."""
    patients = exchange_table("patients")
    screening = exchange_table("screening")
    exposures = exchange_table("exposures")
    screens = {
        row["patient_id"]: dict(row) for row in connection.execute(select(screening)).mappings()
    }
    by_patient: dict[str, list[dict[str, Any]]] = {}
    for row in connection.execute(select(exposures)).mappings():
        by_patient.setdefault(row["patient_id"], []).append(dict(row))
    decisions = []
    for row in connection.execute(select(patients).order_by(patients.c.patient_id)).mappings():
        pid = row["patient_id"]
        evidence = Evidence(dict(row), screens.get(pid), by_patient.get(pid, []))
        decisions.append(evaluate_patient(pid, evidence))
    return decisions
