"""Eligibility while a form is filled: every protocol criterion's verdict on the stored
patient with a form's unsaved answers merged over it, and the radiation budget, by the same
engine ``petdx import`` feeds (:func:`petdx.study.eligibility.evaluate_patient`); nothing is
written. The coordinator's page shows it live (htmx) as fields change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from petdx.study.dose import DoseWindow, rolling_dose
from petdx.study.eligibility import Evidence, ScreeningDecision, evaluate_patient
from petdx.study.forms import FieldMessage, form_records, parse_unsaved
from petdx.study.records import get_record

__all__ = ["LiveEligibility", "live_eligibility", "patient_evidence"]


def patient_evidence(connection: Connection, patient_id: str) -> Evidence:
    """What the eligibility rules read of the stored patient."""
    patient = get_record(connection, "patients", {"patient_id": patient_id})
    screening = get_record(connection, "screening", {"patient_id": patient_id})
    exposures = form_records(connection, patient_id, "exposures")
    return Evidence(patient, screening, exposures)


@dataclass(frozen=True)
class LiveEligibility:
    """Every criterion's verdict on the stored record with a form's unsaved values merged
    over it, the radiation budget, and the form's field messages."""

    decision: ScreeningDecision
    dose: DoseWindow | None
    messages: tuple[FieldMessage, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.decision.to_dict(),
            "dose": None if self.dose is None else self.dose.to_dict(),
            "messages": [m.to_dict() for m in self.messages],
        }


def live_eligibility(
    connection: Connection,
    patient_id: str,
    form: str | None = None,
    raw: Mapping[str, Any] | None = None,
) -> LiveEligibility:
    """Evaluate the protocol's criteria (:func:`petdx.study.eligibility.evaluate_patient`,
    the engine ``petdx import`` feeds) on the stored record with the unsaved values of
    ``form`` merged over it; nothing is written.

    A field whose text does not parse counts as empty (its message is returned), so a
    criterion that needs it shows ``unknown``, never ``pass``.
    """
    evidence = patient_evidence(connection, patient_id)
    messages: tuple[FieldMessage, ...] = ()
    if form is not None and raw is not None:
        values, messages = parse_unsaved(form, raw)
        values["patient_id"] = patient_id
        if form == "patients":
            evidence = Evidence(
                {**(evidence.patient or {}), **values}, evidence.screening, evidence.exposures
            )
        elif form == "screening":
            evidence = Evidence(
                evidence.patient, {**(evidence.screening or {}), **values}, evidence.exposures
            )
        elif form == "exposures" and values.get("exposure_date") is not None:
            others = [
                e for e in evidence.exposures if e["exposure_id"] != values.get("exposure_id")
            ]
            exposure = {**values, "exposure_id": values.get("exposure_id") or "(new)"}
            evidence = Evidence(evidence.patient, evidence.screening, [*others, exposure])
    planned = evidence.planned
    dose = rolling_dose(evidence.exposures, planned) if planned is not None else None
    return LiveEligibility(evaluate_patient(patient_id, evidence), dose, messages)
