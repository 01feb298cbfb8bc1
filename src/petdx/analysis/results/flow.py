"""Section 1 of the results: participant flow (STARD 2015), baseline characteristics, the
interval between the tests and the analysis sets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from petdx.analysis.results._common import Count, Doc, Summary, counts, records, summaries


@dataclass(frozen=True)
class ExclusionReason:
    """A screening criterion and the patients who failed it (``kind`` ``fails``) or were
    excluded only because its evidence was missing (``unknown``)."""

    criterion: str
    text: str
    n: int
    kind: str

    def to_dict(self) -> dict[str, Any]:
        return {"criterion": self.criterion, "text": self.text, "n": self.n, "kind": self.kind}

    @classmethod
    def from_dict(cls, d: Doc) -> ExclusionReason:
        return cls(d["criterion"], d["text"], d["n"], d["kind"])


@dataclass(frozen=True)
class NotPerformedReason:
    reason: str
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "n": self.n}

    @classmethod
    def from_dict(cls, d: Doc) -> NotPerformedReason:
        return cls(d["reason"], d["n"])


@dataclass(frozen=True)
class FlowArm:
    """Patients with one index-test result and their reference-standard outcome (STARD)."""

    result: str
    n: int
    no_reference_standard: int
    reference_inconclusive: int
    target_present: int
    target_absent: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "n": self.n,
            "no_reference_standard": self.no_reference_standard,
            "reference_inconclusive": self.reference_inconclusive,
            "target_present": self.target_present,
            "target_absent": self.target_absent,
        }

    @classmethod
    def from_dict(cls, d: Doc) -> FlowArm:
        return cls(
            d["result"],
            d["n"],
            d["no_reference_standard"],
            d["reference_inconclusive"],
            d["target_present"],
            d["target_absent"],
        )


@dataclass(frozen=True)
class Flow:
    """The STARD 2015 flow of participants (patient level)."""

    potentially_eligible: int
    excluded: int
    exclusion_reasons: tuple[ExclusionReason, ...]
    enrolled: int
    index_test_not_performed: int
    not_performed_reasons: tuple[NotPerformedReason, ...]
    arms: tuple[FlowArm, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "potentially_eligible": self.potentially_eligible,
            "excluded": self.excluded,
            "exclusion_reasons": records(self.exclusion_reasons, ExclusionReason.to_dict),
            "enrolled": self.enrolled,
            "index_test_not_performed": self.index_test_not_performed,
            "not_performed_reasons": records(
                self.not_performed_reasons, NotPerformedReason.to_dict
            ),
            "arms": records(self.arms, FlowArm.to_dict),
        }

    @classmethod
    def from_dict(cls, d: Doc) -> Flow:
        return cls(
            d["potentially_eligible"],
            d["excluded"],
            tuple(ExclusionReason.from_dict(r) for r in d["exclusion_reasons"]),
            d["enrolled"],
            d["index_test_not_performed"],
            tuple(NotPerformedReason.from_dict(r) for r in d["not_performed_reasons"]),
            tuple(FlowArm.from_dict(a) for a in d["arms"]),
        )


@dataclass(frozen=True)
class Baseline:
    """Baseline characteristics of the enrolled patients; activity per tracer and uptake time
    per tracer and time point (``"<tracer> <t> min"``)."""

    n: int
    age_years: Summary
    sex: tuple[Count, ...]
    weight_kg: Summary
    height_m: Summary
    bmi_kg_m2: Summary
    tumour_type: tuple[Count, ...]
    ecog: tuple[Count, ...]
    pdl1_positive_primary: tuple[Count, ...]
    target_present: tuple[Count, ...]
    lesions_non_primary: Summary
    administered_activity_mbq: Mapping[str, Summary]
    uptake_min: Mapping[str, Summary]

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "age_years": self.age_years.to_dict(),
            "sex": records(self.sex, Count.to_dict),
            "weight_kg": self.weight_kg.to_dict(),
            "height_m": self.height_m.to_dict(),
            "bmi_kg_m2": self.bmi_kg_m2.to_dict(),
            "tumour_type": records(self.tumour_type, Count.to_dict),
            "ecog": records(self.ecog, Count.to_dict),
            "pdl1_positive_primary": records(self.pdl1_positive_primary, Count.to_dict),
            "target_present": records(self.target_present, Count.to_dict),
            "lesions_non_primary": self.lesions_non_primary.to_dict(),
            "administered_activity_mbq": {
                k: s.to_dict() for k, s in self.administered_activity_mbq.items()
            },
            "uptake_min": {k: s.to_dict() for k, s in self.uptake_min.items()},
        }

    @classmethod
    def from_dict(cls, d: Doc) -> Baseline:
        return cls(
            n=d["n"],
            age_years=Summary.from_dict(d["age_years"]),
            sex=counts(d["sex"]),
            weight_kg=Summary.from_dict(d["weight_kg"]),
            height_m=Summary.from_dict(d["height_m"]),
            bmi_kg_m2=Summary.from_dict(d["bmi_kg_m2"]),
            tumour_type=counts(d["tumour_type"]),
            ecog=counts(d["ecog"]),
            pdl1_positive_primary=counts(d["pdl1_positive_primary"]),
            target_present=counts(d["target_present"]),
            lesions_non_primary=Summary.from_dict(d["lesions_non_primary"]),
            administered_activity_mbq=summaries(d["administered_activity_mbq"]),
            uptake_min=summaries(d["uptake_min"]),
        )


@dataclass(frozen=True)
class AnalysisSets:
    """Sizes of the patient- and lesion-level analysis sets."""

    patients: int
    lesions: int
    lesion_patients: int
    lesions_malignant: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "patients": self.patients,
            "lesions": self.lesions,
            "lesion_patients": self.lesion_patients,
            "lesions_malignant": self.lesions_malignant,
        }

    @classmethod
    def from_dict(cls, d: Doc) -> AnalysisSets:
        return cls(d["patients"], d["lesions"], d["lesion_patients"], d["lesions_malignant"])
