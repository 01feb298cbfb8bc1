"""Enrolment: a patient is enrolled only while every protocol criterion passes.

:func:`enrol_patient` evaluates the stored evidence with the same engine as ``petdx import``
and the screening log (:func:`petdx.study.eligibility.evaluate_patient`), the 50 mSv /
12-month radiation budget included (:func:`petdx.study.dose.rolling_dose`), and refuses
(:class:`EnrolmentRefused`, naming each failing or undecided criterion with its evidence)
unless the patient is eligible. An enrolment is an audited record (table ``enrolments``)
holding every criterion's verdict at the time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from petdx.errors import InputValidationError
from petdx.study.dose import DoseWindow, rolling_dose
from petdx.study.eligibility import ScreeningDecision, Verdict, evaluate_patient
from petdx.study.forms import now_utc, refuse_if_locked
from petdx.study.live_eligibility import patient_evidence
from petdx.study.records import Author, get_record, insert_record

__all__ = ["Enrolment", "EnrolmentRefused", "enrol_patient", "enrolment", "radiation_budget"]


class EnrolmentRefused(InputValidationError):
    """The patient is not eligible; ``decision`` holds every criterion's verdict."""

    def __init__(self, message: str, decision: ScreeningDecision | None = None) -> None:
        self.decision = decision
        super().__init__(message)


@dataclass(frozen=True)
class Enrolment:
    """A stored enrolment."""

    patient_id: str
    enrolled_by: str
    enrolled_at_utc: str
    criteria: list[dict[str, Any]]


def radiation_budget(connection: Connection, patient_id: str) -> DoseWindow | None:
    """The exposures of the 365 days before the planned scan, with their doses (None
    without a planned scan date)."""
    evidence = patient_evidence(connection, patient_id)
    planned = evidence.planned
    return None if planned is None else rolling_dose(evidence.exposures, planned)


def enrolment(connection: Connection, patient_id: str) -> Enrolment | None:
    """The patient's enrolment, or None."""
    row = get_record(connection, "enrolments", {"patient_id": patient_id})
    if row is None:
        return None
    return Enrolment(
        str(row["patient_id"]),
        str(row["enrolled_by"]),
        str(row["enrolled_at_utc"]),
        json.loads(row["evidence"]),
    )


def enrol_patient(connection: Connection, patient_id: str, *, author: Author) -> ScreeningDecision:
    """Enrol an eligible patient (audited), in the caller's transaction.

    Raises
    ------
    EnrolmentRefused
        A criterion fails or is undecided (each is named with its evidence; the radiation
        budget's sum and window among them), the patient is already enrolled, or not in the
        study.
    FormRejected
        The patient's forms are locked.
    """
    evidence = patient_evidence(connection, patient_id)
    if evidence.patient is None:
        raise EnrolmentRefused(f"patient {patient_id}: not in the study.")
    existing = enrolment(connection, patient_id)
    if existing is not None:
        raise EnrolmentRefused(
            f"patient {patient_id} was already enrolled ({existing.enrolled_at_utc}, "
            f"by {existing.enrolled_by})."
        )
    refuse_if_locked(connection, patient_id, "enrolment")
    decision = evaluate_patient(patient_id, evidence)
    if not decision.eligible:
        lines = [f"patient {patient_id} cannot be enrolled:"]
        for r in decision.results:
            if r.verdict is Verdict.FAIL:
                lines.append(f"  fails {r.criterion_id}: {r.evidence}")
            elif r.verdict is Verdict.UNKNOWN:
                lines.append(f"  undecided {r.criterion_id}: {r.evidence} (record the evidence)")
        raise EnrolmentRefused("\n".join(lines), decision)
    insert_record(
        connection,
        "enrolments",
        {
            "patient_id": patient_id,
            "enrolled_by": author.actor,
            "enrolled_at_utc": now_utc(),
            "evidence": json.dumps([r.to_dict() for r in decision.results], separators=(",", ":")),
        },
        author=author,
    )
    return decision
