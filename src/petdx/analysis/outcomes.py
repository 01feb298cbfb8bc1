"""The pre-specified analyses of the study, computed with :mod:`petdx.stats`.

:func:`analyse_study` turns the analysis datasets (:mod:`petdx.analysis.datasets`) into typed
results (:class:`~petdx.analysis.results.AnalysisResults`, one frozen dataclass per section):
every number the report shows, each as the ``to_dict()`` of a stats result object (estimate,
interval, method, n), plus the data its figures plot. They are written to ``results.json`` once;
the report reads them back and computes nothing. The analyses, in report order:

1. STARD flow (screening log, index test, reference standard) and baseline characteristics;
   the interval between index test and reference standard.
2. Diagnostic accuracy of the visual read (and of SUVmax at the pre-specified cut-off when
   ``study.toml`` sets one): patient level with exact (Clopper-Pearson) intervals; lesion
   level (non-primary lesions) with patients as clusters (Rao-Scott intervals).
3. ROC analysis, lesion level, patients as clusters (Obuchowski AUC and variance), for the
   visual score, SUVmax, SUVpeak and SUVmax/liver at each index time point, with cluster
   bootstrap bands; Youden cut-offs are flagged exploratory. Index tracer vs comparator
   (SUVmax, same lesions): Obuchowski paired comparison. Patient level: highest SUVmax of
   the non-primary lesions (DeLong).
4. Uptake and PD-L1 (sampled malignant lesions): SUVmax by PD-L1 status; Spearman's rho
   (Bonett-Wright CI) with TPS and CPS; with malignancy as the target condition, PD-L1
   positivity as the secondary target condition (:mod:`petdx.analysis.pdl1_target`).
5. Retention between the first two time points per lesion class: Wilcoxon signed-rank of
   SUVmax; distribution of the retention index (SUVmax, SUVpeak) and of the liver's.
6. Inter-reader agreement: Cohen's kappa, unweighted and linear-weighted, lesion scores.
7. Survival: Kaplan-Meier PFS and OS by uptake group (highest SUVmax above/below the median,
   pre-specified), log-rank; Cox PH (Efron) with PD-L1 status, log2 SUVmax and nodal/distant
   malignancy.

Sections 2-3 are computed in :mod:`petdx.analysis.diagnostic`, 4-6 in
:mod:`petdx.analysis.uptake`; :func:`analyse` composes them in this order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from petdx import __version__
from petdx.analysis._collect import Collector, as_bool, iqr_summary
from petdx.analysis.datasets import MISSING_INPUTS, AnalysisData, metric_column
from petdx.analysis.diagnostic import accuracy_section, roc_section
from petdx.analysis.results import (
    AccuracyEntry,
    AnalysisResults,
    AnalysisSets,
    Baseline,
    Count,
    ExclusionReason,
    Flow,
    FlowArm,
    HeadlineRow,
    NotPerformedReason,
    Quantification,
    Radiation,
    RocSection,
    StudyInfo,
    Summary,
    SurvivalEndpoint,
    SurvivalSection,
    results_json,
)
from petdx.analysis.uptake import agreement_section, pdl1_section, retention_section
from petdx.data_dictionary import CRITERIA
from petdx.stats import (
    cox_regression,
    kaplan_meier,
    logrank_test,
    split_groups,
)

__all__ = ["StudyResults", "analyse"]

AT_RISK_MONTHS = (0, 6, 12, 18, 24)
_CRITERION_TEXT = {c.id: c.text for c in CRITERIA}


@dataclass(frozen=True)
class StudyResults:
    """The typed results (:class:`~petdx.analysis.results.AnalysisResults`) and the datasets
    they were computed from."""

    results: AnalysisResults = field(repr=False)
    patients: pd.DataFrame = field(repr=False)
    lesions: pd.DataFrame = field(repr=False)
    screening_rows: tuple[dict[str, Any], ...] = field(repr=False)
    #: The secondary analysis set (PD-L1 positivity as target), empty when not computed.
    pdl1_lesions: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def problems(self) -> tuple[str, ...]:
        return self.results.problems

    def to_json(self) -> str:
        """The text of ``results.json`` (:func:`~petdx.analysis.results.results_json`)."""
        return results_json(self.results)


def _counts(values: pd.Series) -> tuple[Count, ...]:
    counts = values.fillna("not recorded").astype(str).value_counts()
    return tuple(Count(str(k), int(n)) for k, n in sorted(counts.items()))


def _flow(data: AnalysisData) -> Flow:
    patients = data.patients
    reasons: dict[str, int] = {}
    unknown: dict[str, int] = {}
    for decision in data.screening:
        for cid in decision.failed:
            reasons[cid] = reasons.get(cid, 0) + 1
        if not decision.failed:
            for cid in decision.unknown:
                unknown[cid] = unknown.get(cid, 0) + 1
    enrolled = patients[patients["enrolled"]]
    performed = (
        enrolled[enrolled["visual_positive"].notna()]
        if "visual_positive" in enrolled
        else enrolled.iloc[0:0]
    )
    arms = []
    for label, value in (("positive", True), ("negative", False)):
        arm = performed[performed["visual_positive"] == value]
        arms.append(
            FlowArm(
                result=label,
                n=len(arm),
                no_reference_standard=int(arm["target"].isna().sum()),
                reference_inconclusive=0,
                target_present=int(arm["target"].eq(True).sum()),
                target_absent=int(arm["target"].eq(False).sum()),
            )
        )
    arms.append(FlowArm("inconclusive", 0, 0, 0, 0, 0))
    not_performed = enrolled[~enrolled["patient_id"].isin(performed["patient_id"])]
    no_pet = not_performed["index_scan_date"].isna().sum()
    exclusion = [
        ExclusionReason(cid, _CRITERION_TEXT.get(cid, cid), n, "fails")
        for cid, n in sorted(reasons.items(), key=lambda kv: -kv[1])
    ] + [
        ExclusionReason(cid, _CRITERION_TEXT.get(cid, cid), n, "unknown")
        for cid, n in sorted(unknown.items(), key=lambda kv: -kv[1])
    ]
    not_performed_reasons = [NotPerformedReason("no index PET", int(no_pet))] if no_pet else []
    if len(not_performed) - no_pet:
        not_performed_reasons.append(
            NotPerformedReason("no visual read", int(len(not_performed) - no_pet))
        )
    return Flow(
        potentially_eligible=len(patients),
        excluded=int((~patients["enrolled"]).sum()),
        exclusion_reasons=tuple(exclusion),
        enrolled=len(enrolled),
        index_test_not_performed=len(not_performed),
        not_performed_reasons=tuple(not_performed_reasons),
        arms=tuple(arms),
    )


def _baseline(data: AnalysisData) -> Baseline:
    enrolled = data.enrolled
    scans = data.scans[data.scans["patient_id"].isin(enrolled["patient_id"])]
    uptake: dict[str, Summary] = {
        f"{tracer} {t} min": iqr_summary(group["uptake_min"])
        for (tracer, t), group in scans.groupby(["tracer", "time_point_min"])
    }
    activity: dict[str, Summary] = {
        str(tracer): iqr_summary(group.drop_duplicates("visit_id")["administered_activity_mbq"])
        for tracer, group in scans.groupby("tracer")
    }
    return Baseline(
        n=len(enrolled),
        age_years=iqr_summary(enrolled["age_years"]),
        sex=_counts(enrolled["sex"]),
        weight_kg=iqr_summary(enrolled["weight_kg"]),
        height_m=iqr_summary(enrolled["height_m"]),
        bmi_kg_m2=iqr_summary(enrolled["bmi_kg_m2"]),
        tumour_type=_counts(enrolled["tumour_type"]),
        ecog=_counts(enrolled["ecog"]),
        pdl1_positive_primary=_counts(
            enrolled["pdl1_positive_primary"].map({True: "positive", False: "negative"})
        ),
        target_present=_counts(enrolled["target"].map({True: "present", False: "absent"})),
        lesions_non_primary=iqr_summary(enrolled["n_lesions_non_primary"]),
        administered_activity_mbq=activity,
        uptake_min=uptake,
    )


def _interval(data: AnalysisData, lesions: pd.DataFrame) -> dict[str, Summary]:
    out = {"all": iqr_summary(lesions["days_index_to_reference"])}
    for standard, group in lesions.groupby("standard"):
        out[str(standard)] = iqr_summary(group["days_index_to_reference"])
    return out


def hybrid_modality(attenuation_correction_methods: tuple[str, ...]) -> str:
    """``PET/MR``, ``PET/CT`` or ``PET/CT and PET/MR`` from the PET headers'
    AttenuationCorrectionMethod (0054,1101) values (an MR-based correction is a PET/MR scan;
    any other stated or unstated method is taken as the protocol's default, PET/CT)."""
    is_mr = {bool(re.search(r"\bMR", m.upper())) for m in attenuation_correction_methods}
    if is_mr == {True}:
        return "PET/MR"
    if True in is_mr:
        return "PET/CT and PET/MR"
    return "PET/CT"


def study_radiation(data: AnalysisData, modality: str) -> Radiation:
    """Effective dose of the study's own scans per enrolled patient: one exposure per visit
    (several time points share one injection), each as :func:`petdx.study.exposure_dose` counts
    it for ``modality``. A PET/MR visit's dose is the radiopharmaceutical's alone; a PET/CT
    visit's CT dose is not in the study tables, so its dose is the radiopharmaceutical's only
    and marked as a lower bound."""
    from petdx.study.dose import exposure_dose

    scans = data.scans
    needed = {"patient_id", "visit_id", "tracer", "administered_activity_mbq"}
    if scans.empty or not needed <= set(scans.columns):
        return Radiation(modality, 0)
    visits = scans.drop_duplicates(["patient_id", "visit_id"])
    per_patient: dict[str, float] = {}
    for row in visits.itertuples():
        dose = exposure_dose(
            {
                "exposure_id": str(row.visit_id),
                "exposure_date": None,
                "modality": "PET/MR" if modality == "PET/MR" else "PET",
                "radiopharmaceutical": row.tracer,
                "administered_activity_mbq": row.administered_activity_mbq,
            }
        )
        if dose.dose_msv is not None:
            per_patient[str(row.patient_id)] = per_patient.get(str(row.patient_id), 0.0) + (
                dose.dose_msv
            )
    values = sorted(per_patient.values())
    return Radiation(
        modality=modality,
        patients=len(values),
        median_msv=float(np.median(values)) if values else None,
        max_msv=values[-1] if values else None,
        ct_included=False,
        lower_bound=modality != "PET/MR",
    )


def analyse(data: AnalysisData) -> StudyResults:
    """Compute every pre-specified analysis (module docstring)."""
    config = data.config
    run = Collector()
    run.problems.extend(f"missing input ({name}): {MISSING_INPUTS[name]}" for name in data.missing)
    first = data.first_time_point
    modality = hybrid_modality(data.attenuation_correction_methods)
    study = StudyInfo(
        name=config.name,
        tracer=config.tracer,
        comparator_tracer=config.comparator_tracer,
        time_points_min=tuple(data.index_time_points),
        comparator_time_points_min=tuple(data.comparator_time_points),
        target_condition=config.target_condition.value,
        pdl1_score=config.pdl1_score.value,
        pdl1_cutoff=config.pdl1_cutoff,
        visual_score_at_least=config.visual_score_at_least,
        suv_max_at_least=config.suv_max_at_least,
        primary_reader=data.primary_reader,
        readers=tuple(data.readers),
        quantification=Quantification(
            method=config.quantification_method,
            voi_margin_mm=config.voi_margin_mm,
            seed_radius_mm=config.seed_radius_mm,
            align_scans=config.align_scans,
        ),
        petdx_version=__version__,
        attenuation_correction_methods=tuple(data.attenuation_correction_methods),
        hybrid_modality=modality,
        radiation=study_radiation(data, modality),
    )
    # 1. Flow and baseline
    flow = _flow(data)
    baseline = _baseline(data)

    enrolled = data.enrolled
    patients = enrolled[enrolled["target"].notna()]
    lesions = data.lesions[
        data.lesions["enrolled"] & data.lesions["non_primary"] & data.lesions["target"].notna()
    ]
    interval_days = _interval(data, lesions)
    analysis_sets = AnalysisSets(
        patients=len(patients),
        lesions=len(lesions),
        lesion_patients=int(lesions["patient_id"].nunique()),
        lesions_malignant=int(lesions["target"].astype(bool).sum()),
    )

    # 2. Diagnostic accuracy, 3. ROC (petdx.analysis.diagnostic)
    accuracy = accuracy_section(run, data, patients, lesions)
    roc = roc_section(run, data, patients, lesions)

    # 4. Uptake and PD-L1, 5. Retention, 6. Agreement (petdx.analysis.uptake)
    pdl1, pdl1_lesions = pdl1_section(run, data)
    retention = retention_section(run, data, lesions)
    agreement = agreement_section(run, data, enrolled)

    # 7. Survival
    survival, uptake_groups = _survival(run, patients, first)
    results = AnalysisResults(
        study=study,
        flow=flow,
        baseline=baseline,
        interval_days=interval_days,
        analysis_sets=analysis_sets,
        accuracy=accuracy,
        roc=roc,
        pdl1=pdl1,
        retention=retention,
        agreement=agreement,
        survival=survival,
        headline=_headline(accuracy, roc),
        problems=tuple(run.problems),
    )
    exported = enrolled.copy()
    exported["uptake_group"] = exported["patient_id"].map(uptake_groups)
    return StudyResults(
        results=results,
        patients=exported.reset_index(drop=True),
        lesions=lesions.reset_index(drop=True),
        screening_rows=tuple(row for d in data.screening for row in d.log_rows()),
        pdl1_lesions=pdl1_lesions,
    )


def _survival(
    run: Collector, patients: pd.DataFrame, first: int
) -> tuple[SurvivalSection, dict[str, str]]:
    """Survival by uptake group; also returns each patient's group (for the export)."""
    column = f"max_{metric_column('suv_max', first)}"
    if column not in patients:
        return SurvivalSection(column), {}
    sub = patients[patients[column].notna() & patients["pfs_months"].notna()].copy()
    split = run.run("uptake groups", split_groups, sub[column].to_numpy(float), rule="median")
    if split is None:
        return SurvivalSection(column), {}
    sub["uptake_group"] = list(split.labels)
    endpoints = []
    for endpoint, time_col, event_col in (
        ("Progression-free survival", "pfs_months", "pfs_event"),
        ("Overall survival", "os_months", "os_event"),
    ):
        groups = []
        for label, group in sub.groupby("uptake_group", sort=True):
            km = run.run(
                f"KM {endpoint} {label}",
                kaplan_meier,
                group[time_col].to_numpy(float),
                as_bool(group[event_col]),
                at_times=AT_RISK_MONTHS,
                label=str(label),
            )
            if km is not None:
                groups.append(km.to_dict())
        logrank = run.run(
            f"log-rank {endpoint}",
            logrank_test,
            sub[time_col].to_numpy(float),
            as_bool(sub[event_col]),
            sub["uptake_group"].to_numpy(),
        )
        covariates: dict[str, Any] = {
            "PD-L1 positive primary": sub["pdl1_positive_primary"].astype(float),
            f"log2 highest SUVmax {first} min": np.log2(sub[column].astype(float)).astype(float),
            "nodal/distant malignancy": sub["target"].astype(float),
        }
        frame = pd.DataFrame(covariates)
        keep = frame.notna().all(axis=1).to_numpy()
        cox = run.run(
            f"Cox {endpoint}",
            cox_regression,
            sub.loc[keep, time_col].to_numpy(float),
            as_bool(sub.loc[keep, event_col]),
            {k: np.asarray(v, dtype=float)[keep] for k, v in covariates.items()},
        )
        endpoints.append(
            SurvivalEndpoint(
                endpoint=endpoint,
                time_column=time_col,
                event_column=event_col,
                groups=tuple(groups),
                logrank=logrank.to_dict() if logrank is not None else None,
                cox=cox.to_dict() if cox is not None else None,
            )
        )
    section = SurvivalSection(column, tuple(endpoints), split.to_dict())
    return section, dict(zip(sub["patient_id"], sub["uptake_group"], strict=True))


def _headline(accuracy: tuple[AccuracyEntry, ...], roc: RocSection) -> tuple[HeadlineRow, ...]:
    """The numbers the command line prints at the end of a run."""
    rows = []
    for entry in accuracy:
        if entry.column != "visual_positive":
            continue  # the primary index test; the SUV cut-off rows are in the report
        measures = entry.result["measures"]
        for name in ("sensitivity", "specificity", "accuracy", "ppv", "npv"):
            m = measures[name]
            rows.append(
                HeadlineRow(
                    entry.level,
                    entry.test,
                    name,
                    m["estimate"],
                    m["ci_low"],
                    m["ci_high"],
                    m["method"],
                )
            )
    for roc_entry in roc.lesion:
        if roc_entry.column.startswith(("suv_max_", "comparator_suv_max_")):
            r = roc_entry.result
            rows.append(
                HeadlineRow(
                    "lesion",
                    roc_entry.label,
                    "auc",
                    r["auc"],
                    r["ci_low"],
                    r["ci_high"],
                    r["ci_method"],
                )
            )
    return tuple(rows)
