"""The analyses' results as typed objects: one frozen dataclass per section of the results
document, composed into :class:`AnalysisResults`.

The analyses (:mod:`petdx.analysis.outcomes` and its sections) build these objects; they are
written to ``results/results.json`` once, by :func:`results_json`, and read back by
:func:`load_results`, so the report (and any other reader) works from a locked results file
alone. Each statistic is kept as its stats result object's ``to_dict()`` (a
:data:`StatRecord`: estimate, interval, method, n), the form the file holds.

The JSON is the results document petdx has always written (``indent=1``, sorted keys); a key
that a section leaves out when it was not computed (e.g. ``band`` of a patient-level ROC,
``groups`` of the PD-L1 section without SUVmax) stays left out, so the file is byte for byte
what it was before these types existed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from petdx.errors import InputValidationError
from petdx.jsonsafe import json_ready

__all__ = [
    "AccuracyEntry",
    "AgreementEntry",
    "AnalysisResults",
    "AnalysisSets",
    "Baseline",
    "Count",
    "ExclusionReason",
    "Flow",
    "FlowArm",
    "HeadlineRow",
    "NotPerformedReason",
    "Pdl1Accuracy",
    "Pdl1Correlation",
    "Pdl1Roc",
    "Pdl1Section",
    "Pdl1Target",
    "Quantification",
    "Radiation",
    "RetentionGroup",
    "RetentionSection",
    "RocComparison",
    "RocEntry",
    "RocSection",
    "StatRecord",
    "StudyInfo",
    "Summary",
    "SurvivalEndpoint",
    "SurvivalSection",
    "UptakeGroup",
    "load_results",
    "parse_results",
    "results_json",
]

#: A stats result object's ``to_dict()`` (e.g. ``DiagnosticAccuracy``, ``RocAnalysis``).
StatRecord = Mapping[str, Any]
_Doc = Mapping[str, Any]
_T = TypeVar("_T")


def _records(items: Sequence[_T], write: Callable[[_T], dict[str, Any]]) -> list[dict[str, Any]]:
    return [write(item) for item in items]


def _stat(value: Any) -> StatRecord | None:
    return None if value is None else dict(value)


@dataclass(frozen=True)
class Summary:
    """n, median, quartiles, min and max of a numeric variable; n = 0 (and no min/max) when
    there are no values."""

    n: int
    median: float | None
    q1: float | None
    q3: float | None
    min: float | None = None
    max: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"n": self.n, "median": self.median, "q1": self.q1, "q3": self.q3}
        if self.n:
            out.update(min=self.min, max=self.max)
        return out

    @classmethod
    def from_dict(cls, d: _Doc) -> Summary:
        return cls(d["n"], d["median"], d["q1"], d["q3"], d.get("min"), d.get("max"))


def _summaries(d: _Doc) -> dict[str, Summary]:
    return {str(k): Summary.from_dict(v) for k, v in d.items()}


@dataclass(frozen=True)
class Count:
    """Patients with one value of a categorical variable."""

    value: str
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "n": self.n}

    @classmethod
    def from_dict(cls, d: _Doc) -> Count:
        return cls(d["value"], d["n"])


def _counts(items: Sequence[_Doc]) -> tuple[Count, ...]:
    return tuple(Count.from_dict(c) for c in items)


# -- study ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quantification:
    method: str
    voi_margin_mm: float
    seed_radius_mm: float
    align_scans: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "voi_margin_mm": self.voi_margin_mm,
            "seed_radius_mm": self.seed_radius_mm,
            "align_scans": self.align_scans,
        }

    @classmethod
    def from_dict(cls, d: _Doc) -> Quantification:
        return cls(d["method"], d["voi_margin_mm"], d["seed_radius_mm"], d["align_scans"])


@dataclass(frozen=True)
class Radiation:
    """Effective dose of the study's scans per patient. ``ct_included`` None: no scans to
    count (only ``modality`` and ``patients`` = 0 are written)."""

    modality: str
    patients: int
    median_msv: float | None = None
    max_msv: float | None = None
    ct_included: bool | None = None
    lower_bound: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"modality": self.modality, "patients": self.patients}
        if self.ct_included is not None:
            out.update(
                median_msv=self.median_msv,
                max_msv=self.max_msv,
                ct_included=self.ct_included,
                lower_bound=self.lower_bound,
            )
        return out

    @classmethod
    def from_dict(cls, d: _Doc) -> Radiation:
        return cls(
            d.get("modality", "PET/CT"),
            d.get("patients", 0),
            d.get("median_msv"),
            d.get("max_msv"),
            d.get("ct_included"),
            d.get("lower_bound"),
        )


@dataclass(frozen=True)
class StudyInfo:
    """The study's design as the analyses used it (``study.toml`` and the datasets)."""

    name: str
    tracer: str
    comparator_tracer: str | None
    time_points_min: tuple[int, ...]
    comparator_time_points_min: tuple[int, ...]
    target_condition: str
    pdl1_score: str
    pdl1_cutoff: float
    visual_score_at_least: int
    suv_max_at_least: float | None
    primary_reader: str | None
    readers: tuple[str, ...]
    quantification: Quantification
    petdx_version: str
    attenuation_correction_methods: tuple[str, ...]
    hybrid_modality: str
    radiation: Radiation

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tracer": self.tracer,
            "comparator_tracer": self.comparator_tracer,
            "time_points_min": list(self.time_points_min),
            "comparator_time_points_min": list(self.comparator_time_points_min),
            "target_condition": self.target_condition,
            "pdl1_score": self.pdl1_score,
            "pdl1_cutoff": self.pdl1_cutoff,
            "visual_score_at_least": self.visual_score_at_least,
            "suv_max_at_least": self.suv_max_at_least,
            "primary_reader": self.primary_reader,
            "readers": list(self.readers),
            "quantification": self.quantification.to_dict(),
            "petdx_version": self.petdx_version,
            "attenuation_correction_methods": list(self.attenuation_correction_methods),
            "hybrid_modality": self.hybrid_modality,
            "radiation": self.radiation.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: _Doc) -> StudyInfo:
        # Results written before hybrid modality and radiation were recorded read as PET/CT.
        return cls(
            name=d["name"],
            tracer=d["tracer"],
            comparator_tracer=d["comparator_tracer"],
            time_points_min=tuple(d["time_points_min"]),
            comparator_time_points_min=tuple(d["comparator_time_points_min"]),
            target_condition=d["target_condition"],
            pdl1_score=d["pdl1_score"],
            pdl1_cutoff=d["pdl1_cutoff"],
            visual_score_at_least=d["visual_score_at_least"],
            suv_max_at_least=d["suv_max_at_least"],
            primary_reader=d["primary_reader"],
            readers=tuple(d["readers"]),
            quantification=Quantification.from_dict(d["quantification"]),
            petdx_version=d["petdx_version"],
            attenuation_correction_methods=tuple(d.get("attenuation_correction_methods", ())),
            hybrid_modality=d.get("hybrid_modality", "PET/CT"),
            radiation=Radiation.from_dict(d.get("radiation", {})),
        )


# -- 1. flow, baseline, interval, analysis sets ------------------------------------------


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
    def from_dict(cls, d: _Doc) -> ExclusionReason:
        return cls(d["criterion"], d["text"], d["n"], d["kind"])


@dataclass(frozen=True)
class NotPerformedReason:
    reason: str
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "n": self.n}

    @classmethod
    def from_dict(cls, d: _Doc) -> NotPerformedReason:
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
    def from_dict(cls, d: _Doc) -> FlowArm:
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
            "exclusion_reasons": _records(self.exclusion_reasons, ExclusionReason.to_dict),
            "enrolled": self.enrolled,
            "index_test_not_performed": self.index_test_not_performed,
            "not_performed_reasons": _records(
                self.not_performed_reasons, NotPerformedReason.to_dict
            ),
            "arms": _records(self.arms, FlowArm.to_dict),
        }

    @classmethod
    def from_dict(cls, d: _Doc) -> Flow:
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
            "sex": _records(self.sex, Count.to_dict),
            "weight_kg": self.weight_kg.to_dict(),
            "height_m": self.height_m.to_dict(),
            "bmi_kg_m2": self.bmi_kg_m2.to_dict(),
            "tumour_type": _records(self.tumour_type, Count.to_dict),
            "ecog": _records(self.ecog, Count.to_dict),
            "pdl1_positive_primary": _records(self.pdl1_positive_primary, Count.to_dict),
            "target_present": _records(self.target_present, Count.to_dict),
            "lesions_non_primary": self.lesions_non_primary.to_dict(),
            "administered_activity_mbq": {
                k: s.to_dict() for k, s in self.administered_activity_mbq.items()
            },
            "uptake_min": {k: s.to_dict() for k, s in self.uptake_min.items()},
        }

    @classmethod
    def from_dict(cls, d: _Doc) -> Baseline:
        return cls(
            n=d["n"],
            age_years=Summary.from_dict(d["age_years"]),
            sex=_counts(d["sex"]),
            weight_kg=Summary.from_dict(d["weight_kg"]),
            height_m=Summary.from_dict(d["height_m"]),
            bmi_kg_m2=Summary.from_dict(d["bmi_kg_m2"]),
            tumour_type=_counts(d["tumour_type"]),
            ecog=_counts(d["ecog"]),
            pdl1_positive_primary=_counts(d["pdl1_positive_primary"]),
            target_present=_counts(d["target_present"]),
            lesions_non_primary=Summary.from_dict(d["lesions_non_primary"]),
            administered_activity_mbq=_summaries(d["administered_activity_mbq"]),
            uptake_min=_summaries(d["uptake_min"]),
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
    def from_dict(cls, d: _Doc) -> AnalysisSets:
        return cls(d["patients"], d["lesions"], d["lesion_patients"], d["lesions_malignant"])


# -- 2. accuracy, 3. ROC ---------------------------------------------------------------------


@dataclass(frozen=True)
class AccuracyEntry:
    """Accuracy of one index test at one level: ``result`` is the ``DiagnosticAccuracy``
    (patient) or ``ClusteredAccuracy`` (lesion) record; ``cutoff`` the SUV threshold of an
    SUV test (None, and not written, for the visual read)."""

    level: str
    test: str
    column: str
    pre_specified: bool
    result: StatRecord
    cutoff: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "level": self.level,
            "test": self.test,
            "column": self.column,
            "pre_specified": self.pre_specified,
            "result": self.result,
        }
        if self.cutoff is not None:
            out["cutoff"] = self.cutoff
        return out

    @classmethod
    def from_dict(cls, d: _Doc) -> AccuracyEntry:
        return cls(
            d["level"],
            d["test"],
            d["column"],
            d.get("pre_specified", True),
            dict(d["result"]),
            d.get("cutoff"),
        )


@dataclass(frozen=True)
class RocEntry:
    """One ROC curve: the ``RocAnalysis`` record, the exploratory Youden cut-off (its
    ``cutoff`` record) and, when ``banded``, the cluster-bootstrap band (None when it could
    not be computed; not written at all when not ``banded``, as at patient level)."""

    level: str
    column: str
    label: str
    result: StatRecord
    cutoff: StatRecord | None
    banded: bool
    band: StatRecord | None = None
    cutoff_exploratory: bool = True

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "level": self.level,
            "column": self.column,
            "label": self.label,
            "result": self.result,
            "cutoff": self.cutoff,
        }
        if self.banded:
            out["band"] = self.band
        out["cutoff_exploratory"] = self.cutoff_exploratory
        return out

    @classmethod
    def from_dict(cls, d: _Doc) -> RocEntry:
        return cls(
            d["level"],
            d["column"],
            d["label"],
            dict(d["result"]),
            _stat(d.get("cutoff")),
            "band" in d,
            _stat(d.get("band")),
            d.get("cutoff_exploratory", True),
        )


@dataclass(frozen=True)
class RocComparison:
    """The paired AUC comparison (``AucComparison`` record) of two score columns."""

    columns: tuple[str, str]
    result: StatRecord

    def to_dict(self) -> dict[str, Any]:
        return {"columns": list(self.columns), "result": self.result}

    @classmethod
    def from_dict(cls, d: _Doc) -> RocComparison:
        a, b = d["columns"]
        return cls((a, b), dict(d["result"]))


@dataclass(frozen=True)
class RocSection:
    lesion: tuple[RocEntry, ...]
    patient: tuple[RocEntry, ...]
    comparisons: tuple[RocComparison, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "lesion": _records(self.lesion, RocEntry.to_dict),
            "patient": _records(self.patient, RocEntry.to_dict),
            "comparisons": _records(self.comparisons, RocComparison.to_dict),
        }

    @classmethod
    def from_dict(cls, d: _Doc) -> RocSection:
        return cls(
            tuple(RocEntry.from_dict(e) for e in d["lesion"]),
            tuple(RocEntry.from_dict(e) for e in d["patient"]),
            tuple(RocComparison.from_dict(c) for c in d["comparisons"]),
        )


# -- 4. PD-L1 ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UptakeGroup:
    """SUVmax values of the lesions of one group (as measured; never converted)."""

    label: str
    values: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "values": list(self.values)}

    @classmethod
    def from_dict(cls, d: _Doc) -> UptakeGroup:
        return cls(d["label"], tuple(d["values"]))


@dataclass(frozen=True)
class Pdl1Correlation:
    """A PD-L1 score (``x``) against SUVmax (``y``) and their ``SpearmanResult`` record."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    spearman: StatRecord | None

    def to_dict(self) -> dict[str, Any]:
        return {"x": list(self.x), "y": list(self.y), "spearman": self.spearman}

    @classmethod
    def from_dict(cls, d: _Doc) -> Pdl1Correlation:
        return cls(tuple(d["x"]), tuple(d["y"]), _stat(d.get("spearman")))


@dataclass(frozen=True)
class Pdl1Roc:
    column: str
    label: str
    result: StatRecord

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "label": self.label, "result": self.result}

    @classmethod
    def from_dict(cls, d: _Doc) -> Pdl1Roc:
        return cls(d["column"], d["label"], dict(d["result"]))


@dataclass(frozen=True)
class Pdl1Accuracy:
    column: str
    test: str
    cutoff: float | None
    result: StatRecord

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "test": self.test,
            "cutoff": self.cutoff,
            "result": self.result,
        }

    @classmethod
    def from_dict(cls, d: _Doc) -> Pdl1Accuracy:
        return cls(d["column"], d["test"], d.get("cutoff"), dict(d["result"]))


@dataclass(frozen=True)
class Pdl1Target:
    """PD-L1 positivity as the secondary target condition (:mod:`petdx.analysis.pdl1_target`)."""

    target: str
    lesions: int
    patients: int
    positive: int
    roc: tuple[Pdl1Roc, ...]
    accuracy: tuple[Pdl1Accuracy, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "lesions": self.lesions,
            "patients": self.patients,
            "positive": self.positive,
            "roc": _records(self.roc, Pdl1Roc.to_dict),
            "accuracy": _records(self.accuracy, Pdl1Accuracy.to_dict),
        }

    @classmethod
    def from_dict(cls, d: _Doc) -> Pdl1Target:
        return cls(
            d["target"],
            d["lesions"],
            d["patients"],
            d["positive"],
            tuple(Pdl1Roc.from_dict(e) for e in d["roc"]),
            tuple(Pdl1Accuracy.from_dict(e) for e in d["accuracy"]),
        )


@dataclass(frozen=True)
class Pdl1Section:
    """Uptake by PD-L1 status. ``groups``, ``tps`` and ``cps`` are None (not written) when the
    lesions have no SUVmax at the first time point; ``as_target`` is None unless the primary
    target condition is malignancy."""

    column: str
    groups: tuple[UptakeGroup, ...] | None = None
    tps: Pdl1Correlation | None = None
    cps: Pdl1Correlation | None = None
    as_target: Pdl1Target | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"column": self.column}
        if self.groups is not None:
            out["groups"] = _records(self.groups, UptakeGroup.to_dict)
        if self.tps is not None:
            out["pdl1_tps_pct"] = self.tps.to_dict()
        if self.cps is not None:
            out["pdl1_cps"] = self.cps.to_dict()
        if self.as_target is not None:
            out["as_target"] = self.as_target.to_dict()
        return out

    @classmethod
    def from_dict(cls, d: _Doc) -> Pdl1Section:
        return cls(
            d["column"],
            tuple(UptakeGroup.from_dict(g) for g in d["groups"]) if "groups" in d else None,
            Pdl1Correlation.from_dict(d["pdl1_tps_pct"]) if "pdl1_tps_pct" in d else None,
            Pdl1Correlation.from_dict(d["pdl1_cps"]) if "pdl1_cps" in d else None,
            Pdl1Target.from_dict(d["as_target"]) if "as_target" in d else None,
        )


# -- 5. retention, 6. agreement ---------------------------------------------------------------


@dataclass(frozen=True)
class RetentionGroup:
    """One lesion class at the first two time points; retention indices (%) may be None
    (undefined) in a file read back."""

    label: str
    suv_max_t1: tuple[float, ...]
    suv_max_t2: tuple[float, ...]
    ri_suv_max_pct: tuple[float | None, ...]
    ri_suv_peak_pct: tuple[float | None, ...]
    ri_suv_max_pct_summary: Summary
    wilcoxon: StatRecord | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "suv_max_t1": list(self.suv_max_t1),
            "suv_max_t2": list(self.suv_max_t2),
            "ri_suv_max_pct": list(self.ri_suv_max_pct),
            "ri_suv_peak_pct": list(self.ri_suv_peak_pct),
            "ri_suv_max_pct_summary": self.ri_suv_max_pct_summary.to_dict(),
            "wilcoxon": self.wilcoxon,
        }

    @classmethod
    def from_dict(cls, d: _Doc) -> RetentionGroup:
        return cls(
            d["label"],
            tuple(d["suv_max_t1"]),
            tuple(d["suv_max_t2"]),
            tuple(d["ri_suv_max_pct"]),
            tuple(d["ri_suv_peak_pct"]),
            Summary.from_dict(d["ri_suv_max_pct_summary"]),
            _stat(d.get("wilcoxon")),
        )


@dataclass(frozen=True)
class RetentionSection:
    """Retention between the first two index time points; the liver's fields are None (not
    written) when the study has fewer than two."""

    time_points_min: tuple[int, ...]
    groups: tuple[RetentionGroup, ...]
    ri_liver_pct: tuple[float, ...] | None = None
    ri_liver_pct_summary: Summary | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "time_points_min": list(self.time_points_min),
            "groups": _records(self.groups, RetentionGroup.to_dict),
        }
        if self.ri_liver_pct is not None:
            out["ri_liver_pct"] = list(self.ri_liver_pct)
        if self.ri_liver_pct_summary is not None:
            out["ri_liver_pct_summary"] = self.ri_liver_pct_summary.to_dict()
        return out

    @classmethod
    def from_dict(cls, d: _Doc) -> RetentionSection:
        summary = d.get("ri_liver_pct_summary")
        return cls(
            tuple(d["time_points_min"]),
            tuple(RetentionGroup.from_dict(g) for g in d["groups"]),
            tuple(d["ri_liver_pct"]) if "ri_liver_pct" in d else None,
            Summary.from_dict(summary) if summary is not None else None,
        )


@dataclass(frozen=True)
class AgreementEntry:
    """Cohen's kappa (``KappaResult`` record) of two readers at one level."""

    level: str
    readers: tuple[str, str]
    weights: str
    n: int
    result: StatRecord

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "readers": list(self.readers),
            "weights": self.weights,
            "n": self.n,
            "result": self.result,
        }

    @classmethod
    def from_dict(cls, d: _Doc) -> AgreementEntry:
        r1, r2 = d["readers"]
        return cls(d["level"], (r1, r2), d["weights"], d["n"], dict(d["result"]))


# -- 7. survival -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurvivalEndpoint:
    """One endpoint: ``KaplanMeier`` records per uptake group, the ``LogRankResult`` and the
    ``CoxResult`` records (None when not computed)."""

    endpoint: str
    time_column: str
    event_column: str
    groups: tuple[StatRecord, ...]
    logrank: StatRecord | None
    cox: StatRecord | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "time_column": self.time_column,
            "event_column": self.event_column,
            "groups": list(self.groups),
            "logrank": self.logrank,
            "cox": self.cox,
        }

    @classmethod
    def from_dict(cls, d: _Doc) -> SurvivalEndpoint:
        return cls(
            d["endpoint"],
            d["time_column"],
            d["event_column"],
            tuple(dict(g) for g in d["groups"]),
            _stat(d.get("logrank")),
            _stat(d.get("cox")),
        )


@dataclass(frozen=True)
class SurvivalSection:
    """Survival by uptake group: ``grouping`` is the ``GroupSplit`` record (None, and no
    endpoints, when the patients could not be split)."""

    grouping_column: str
    endpoints: tuple[SurvivalEndpoint, ...] = ()
    grouping: StatRecord | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "grouping_column": self.grouping_column,
            "endpoints": _records(self.endpoints, SurvivalEndpoint.to_dict),
        }
        if self.grouping is not None:
            out["grouping"] = self.grouping
        return out

    @classmethod
    def from_dict(cls, d: _Doc) -> SurvivalSection:
        return cls(
            d["grouping_column"],
            tuple(SurvivalEndpoint.from_dict(e) for e in d["endpoints"]),
            _stat(d.get("grouping")),
        )


@dataclass(frozen=True)
class HeadlineRow:
    """One number the command line prints at the end of a run."""

    level: str
    test: str
    measure: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "test": self.test,
            "measure": self.measure,
            "estimate": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "method": self.method,
        }

    @classmethod
    def from_dict(cls, d: _Doc) -> HeadlineRow:
        return cls(
            d["level"],
            d["test"],
            d["measure"],
            d["estimate"],
            d["ci_low"],
            d["ci_high"],
            d["method"],
        )


# -- the whole ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnalysisResults:
    """Every pre-specified analysis of a study, in report order (:mod:`petdx.analysis.outcomes`)."""

    study: StudyInfo
    flow: Flow
    baseline: Baseline
    interval_days: Mapping[str, Summary]
    analysis_sets: AnalysisSets
    accuracy: tuple[AccuracyEntry, ...]
    roc: RocSection
    pdl1: Pdl1Section
    retention: RetentionSection
    agreement: tuple[AgreementEntry, ...]
    survival: SurvivalSection
    headline: tuple[HeadlineRow, ...]
    problems: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The results document (JSON-ready: NaN as None, numpy values as Python's)."""
        doc = {
            "study": self.study.to_dict(),
            "flow": self.flow.to_dict(),
            "baseline": self.baseline.to_dict(),
            "interval_days": {k: s.to_dict() for k, s in self.interval_days.items()},
            "analysis_sets": self.analysis_sets.to_dict(),
            "accuracy": _records(self.accuracy, AccuracyEntry.to_dict),
            "roc": self.roc.to_dict(),
            "pdl1": self.pdl1.to_dict(),
            "retention": self.retention.to_dict(),
            "agreement": _records(self.agreement, AgreementEntry.to_dict),
            "survival": self.survival.to_dict(),
            "headline": _records(self.headline, HeadlineRow.to_dict),
            "problems": list(self.problems),
        }
        ready: dict[str, Any] = json_ready(doc)
        return ready

    @classmethod
    def from_dict(cls, d: _Doc) -> AnalysisResults:
        return cls(
            study=StudyInfo.from_dict(d["study"]),
            flow=Flow.from_dict(d["flow"]),
            baseline=Baseline.from_dict(d["baseline"]),
            interval_days=_summaries(d["interval_days"]),
            analysis_sets=AnalysisSets.from_dict(d["analysis_sets"]),
            accuracy=tuple(AccuracyEntry.from_dict(e) for e in d["accuracy"]),
            roc=RocSection.from_dict(d["roc"]),
            pdl1=Pdl1Section.from_dict(d.get("pdl1", {"column": ""})),
            retention=RetentionSection.from_dict(
                d.get("retention", {"time_points_min": [], "groups": []})
            ),
            agreement=tuple(AgreementEntry.from_dict(e) for e in d.get("agreement", [])),
            survival=SurvivalSection.from_dict(
                d.get("survival", {"grouping_column": "", "endpoints": []})
            ),
            headline=tuple(HeadlineRow.from_dict(h) for h in d.get("headline", [])),
            problems=tuple(d.get("problems", [])),
        )


def _json_default(value: Any) -> Any:
    """Dates as ISO text; anything else json_ready left is written as its text."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def results_json(results: AnalysisResults) -> str:
    """The text of ``results.json``: the results document, ``indent=1``, sorted keys."""
    return json.dumps(results.to_dict(), indent=1, sort_keys=True, default=_json_default)


def load_results(path: str | Path) -> AnalysisResults:
    """The results of a ``results.json`` written by :func:`results_json`.

    Raises
    ------
    InputValidationError
        When the file is not JSON or lacks a field the results need (naming the file and
        the field; rerun the analyses to rewrite it).
    """
    path = Path(path)
    return parse_results(path.read_bytes(), path)


def parse_results(text: str | bytes, path: str | Path) -> AnalysisResults:
    """The results of the text of a ``results.json`` (:func:`load_results`; ``path`` names
    the file in errors), e.g. bytes already read to hash them."""
    try:
        doc = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputValidationError(
            f"{path}: not a results file ({exc}). Rerun the analyses (`petdx run`) to rewrite it."
        ) from exc
    try:
        return AnalysisResults.from_dict(doc)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        field = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        raise InputValidationError(
            f"{path}: field {field!r} missing or malformed in the analysis results. "
            "Rerun the analyses (`petdx run`) to rewrite the file."
        ) from exc
