"""The pre-specified analyses of the study, computed with :mod:`petdx.stats`.

:func:`analyse_study` turns the analysis datasets (:mod:`petdx.analysis.datasets`) into one
results document: every number the report shows, each as the ``to_dict()`` of a stats result
object (estimate, interval, method, n), plus the data its figures plot. The report lays this
document out and computes nothing. The analyses, in report order:

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
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from petdx import __version__
from petdx.analysis._collect import N_BOOTSTRAP, SEED, Collector, as_bool
from petdx.analysis.datasets import AnalysisData, metric_column
from petdx.analysis.pdl1_target import pdl1_target_analysis, pdl1_target_set
from petdx.data_dictionary import CRITERIA
from petdx.jsonsafe import json_ready
from petdx.quantify.timepoints import retention_index_pct_values
from petdx.stats import (
    accuracy_from_labels,
    clustered_accuracy,
    cohen_kappa,
    compare_aucs,
    cox_regression,
    kaplan_meier,
    logrank_test,
    roc_analysis,
    roc_band,
    spearman,
    split_groups,
    wilcoxon_signed_rank,
)
from petdx.study.config import TargetCondition

__all__ = ["StudyResults", "analyse"]

AT_RISK_MONTHS = (0, 6, 12, 18, 24)
_CRITERION_TEXT = {c.id: c.text for c in CRITERIA}


@dataclass(frozen=True)
class StudyResults:
    """The results document and the datasets it was computed from."""

    document: dict[str, Any] = field(repr=False)
    patients: pd.DataFrame = field(repr=False)
    lesions: pd.DataFrame = field(repr=False)
    screening_rows: tuple[dict[str, Any], ...] = field(repr=False)
    problems: tuple[str, ...] = ()
    #: The secondary analysis set (PD-L1 positivity as target), empty when not computed.
    pdl1_lesions: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def to_json(self) -> str:
        return json.dumps(self.document, indent=1, sort_keys=True, default=_json_default)


def _json_default(value: Any) -> Any:
    """Dates as ISO text; anything else json_ready left is written as its text."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _iqr(values: pd.Series) -> dict[str, Any]:
    v = pd.to_numeric(values, errors="coerce").dropna()
    if v.empty:
        return {"n": 0, "median": None, "q1": None, "q3": None}
    return {
        "n": int(v.size),
        "median": float(v.median()),
        "q1": float(v.quantile(0.25)),
        "q3": float(v.quantile(0.75)),
        "min": float(v.min()),
        "max": float(v.max()),
    }


def _counts(values: pd.Series) -> list[dict[str, Any]]:
    counts = values.fillna("not recorded").astype(str).value_counts()
    return [{"value": k, "n": int(n)} for k, n in sorted(counts.items())]


def _flow(data: AnalysisData) -> dict[str, Any]:
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
            {
                "result": label,
                "n": len(arm),
                "no_reference_standard": int(arm["target"].isna().sum()),
                "reference_inconclusive": 0,
                "target_present": int(arm["target"].eq(True).sum()),
                "target_absent": int(arm["target"].eq(False).sum()),
            }
        )
    arms.append(
        {
            "result": "inconclusive",
            "n": 0,
            "no_reference_standard": 0,
            "reference_inconclusive": 0,
            "target_present": 0,
            "target_absent": 0,
        }
    )
    not_performed = enrolled[~enrolled["patient_id"].isin(performed["patient_id"])]
    no_pet = not_performed["index_scan_date"].isna().sum()
    exclusion = [
        {"criterion": cid, "text": _CRITERION_TEXT.get(cid, cid), "n": n, "kind": "fails"}
        for cid, n in sorted(reasons.items(), key=lambda kv: -kv[1])
    ] + [
        {"criterion": cid, "text": _CRITERION_TEXT.get(cid, cid), "n": n, "kind": "unknown"}
        for cid, n in sorted(unknown.items(), key=lambda kv: -kv[1])
    ]
    return {
        "potentially_eligible": len(patients),
        "excluded": int((~patients["enrolled"]).sum()),
        "exclusion_reasons": exclusion,
        "enrolled": len(enrolled),
        "index_test_not_performed": len(not_performed),
        "not_performed_reasons": ([{"reason": "no index PET", "n": int(no_pet)}] if no_pet else [])
        + (
            [{"reason": "no visual read", "n": int(len(not_performed) - no_pet)}]
            if len(not_performed) - no_pet
            else []
        ),
        "arms": arms,
    }


def _baseline(data: AnalysisData) -> dict[str, Any]:
    enrolled = data.enrolled
    scans = data.scans[data.scans["patient_id"].isin(enrolled["patient_id"])]
    uptake = {
        f"{tracer} {t} min": _iqr(group["uptake_min"])
        for (tracer, t), group in scans.groupby(["tracer", "time_point_min"])
    }
    activity = {
        tracer: _iqr(group.drop_duplicates("visit_id")["administered_activity_mbq"])
        for tracer, group in scans.groupby("tracer")
    }
    return {
        "n": len(enrolled),
        "age_years": _iqr(enrolled["age_years"]),
        "sex": _counts(enrolled["sex"]),
        "weight_kg": _iqr(enrolled["weight_kg"]),
        "height_m": _iqr(enrolled["height_m"]),
        "bmi_kg_m2": _iqr(enrolled["bmi_kg_m2"]),
        "tumour_type": _counts(enrolled["tumour_type"]),
        "ecog": _counts(enrolled["ecog"]),
        "pdl1_positive_primary": _counts(
            enrolled["pdl1_positive_primary"].map({True: "positive", False: "negative"})
        ),
        "target_present": _counts(enrolled["target"].map({True: "present", False: "absent"})),
        "lesions_non_primary": _iqr(enrolled["n_lesions_non_primary"]),
        "administered_activity_mbq": activity,
        "uptake_min": uptake,
    }


def _interval(data: AnalysisData, lesions: pd.DataFrame) -> dict[str, Any]:
    out = {"all": _iqr(lesions["days_index_to_reference"])}
    for standard, group in lesions.groupby("standard"):
        out[str(standard)] = _iqr(group["days_index_to_reference"])
    return out


def _roc_entry(
    run: Collector,
    names: tuple[str, str, str | None],
    level: str,
    column: str,
    label: str,
    truth: np.ndarray,
    score: np.ndarray,
    cluster: np.ndarray | None,
) -> dict[str, Any] | None:
    """One ROC of the results: the curve's AUC, the exploratory Youden cut-off with its
    bootstrap interval and, when ``names`` has a third entry, the curve's confidence band.
    ``names`` are the problems' labels (ROC, cut-off, band); ``cluster`` the patient of
    each lesion (None at patient level). None when the ROC cannot be computed."""
    roc_name, cutoff_name, band_name = names
    result = run.run(roc_name, roc_analysis, truth, score, cluster=cluster, label=label)
    cutoff = run.run(
        cutoff_name,
        roc_analysis,
        truth,
        score,
        cluster=cluster,
        n_bootstrap=N_BOOTSTRAP,
        seed=SEED,
        label=label,
    )
    band = None
    if band_name is not None:
        band = run.run(
            band_name,
            roc_band,
            truth,
            score,
            cluster=cluster,
            n_bootstrap=N_BOOTSTRAP,
            seed=SEED,
        )
    if result is None:
        return None
    entry: dict[str, Any] = {
        "level": level,
        "column": column,
        "label": label,
        "result": result.to_dict(),
        "cutoff": cutoff.to_dict()["cutoff"] if cutoff is not None else None,
    }
    if band_name is not None:
        entry["band"] = band.to_dict() if band is not None else None
    entry["cutoff_exploratory"] = True
    return entry


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


def study_radiation(data: AnalysisData, modality: str) -> dict[str, Any]:
    """Effective dose of the study's own scans per enrolled patient: one exposure per visit
    (several time points share one injection), each as :func:`petdx.study.exposure_dose` counts
    it for ``modality``. A PET/MR visit's dose is the radiopharmaceutical's alone; a PET/CT
    visit's CT dose is not in the study tables, so its dose is the radiopharmaceutical's only
    and marked as a lower bound."""
    from petdx.study.dose import exposure_dose

    scans = data.scans
    needed = {"patient_id", "visit_id", "tracer", "administered_activity_mbq"}
    if scans.empty or not needed <= set(scans.columns):
        return {"modality": modality, "patients": 0}
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
    return {
        "modality": modality,
        "patients": len(values),
        "median_msv": float(np.median(values)) if values else None,
        "max_msv": values[-1] if values else None,
        "ct_included": False,
        "lower_bound": modality != "PET/MR",
    }


def analyse(data: AnalysisData) -> StudyResults:
    """Compute every pre-specified analysis (module docstring)."""
    config = data.config
    run = Collector()
    first = data.first_time_point
    k = config.visual_score_at_least
    reader = data.primary_reader or "reader"
    doc: dict[str, Any] = {
        "study": {
            "name": config.name,
            "tracer": config.tracer,
            "comparator_tracer": config.comparator_tracer,
            "time_points_min": list(data.index_time_points),
            "comparator_time_points_min": list(data.comparator_time_points),
            "target_condition": config.target_condition.value,
            "pdl1_score": config.pdl1_score.value,
            "pdl1_cutoff": config.pdl1_cutoff,
            "visual_score_at_least": k,
            "suv_max_at_least": config.suv_max_at_least,
            "primary_reader": data.primary_reader,
            "readers": list(data.readers),
            "quantification": {
                "method": config.quantification_method,
                "voi_margin_mm": config.voi_margin_mm,
                "seed_radius_mm": config.seed_radius_mm,
                "align_scans": config.align_scans,
            },
            "petdx_version": __version__,
            "attenuation_correction_methods": list(data.attenuation_correction_methods),
            "hybrid_modality": hybrid_modality(data.attenuation_correction_methods),
        }
    }
    doc["study"]["radiation"] = study_radiation(data, doc["study"]["hybrid_modality"])
    doc["flow"] = _flow(data)
    doc["baseline"] = _baseline(data)

    enrolled = data.enrolled
    patients = enrolled[enrolled["target"].notna()]
    lesions = data.lesions[
        data.lesions["enrolled"] & data.lesions["non_primary"] & data.lesions["target"].notna()
    ]
    doc["interval_days"] = _interval(data, lesions)
    doc["analysis_sets"] = {
        "patients": len(patients),
        "lesions": len(lesions),
        "lesion_patients": int(lesions["patient_id"].nunique()),
        "lesions_malignant": int(lesions["target"].astype(bool).sum()),
    }

    # 2. Diagnostic accuracy
    accuracy = []
    visual_label = f"Visual read ({reader}), positive at score >= {k}"
    p = patients[patients["visual_positive"].notna()]
    result = run.run(
        "patient-level accuracy (visual)",
        accuracy_from_labels,
        as_bool(p["target"]),
        as_bool(p["visual_positive"]),
    )
    if result is not None:
        accuracy.append(
            {
                "level": "patient",
                "test": visual_label,
                "column": "visual_positive",
                "pre_specified": True,
                "result": result.to_dict(),
            }
        )
    les = lesions[lesions["visual_positive"].notna()]
    result = run.run(
        "lesion-level accuracy (visual)",
        clustered_accuracy,
        as_bool(les["target"]),
        as_bool(les["visual_positive"]),
        les["patient_id"].to_numpy(),
        seed=SEED,
    )
    if result is not None:
        accuracy.append(
            {
                "level": "lesion",
                "test": visual_label,
                "column": "visual_positive",
                "pre_specified": True,
                "result": result.to_dict(),
            }
        )
    cutoff = config.suv_max_at_least
    column = metric_column("suv_max", first)
    if cutoff is not None and column in lesions:
        les = lesions[lesions[column].notna()]
        label = f"SUVmax at {first} min >= {cutoff:g} g/ml"
        result = run.run(
            "lesion-level accuracy (SUVmax)",
            clustered_accuracy,
            as_bool(les["target"]),
            (les[column] >= cutoff).to_numpy(),
            les["patient_id"].to_numpy(),
            seed=SEED,
        )
        if result is not None:
            accuracy.append(
                {
                    "level": "lesion",
                    "test": label,
                    "column": column,
                    "cutoff": cutoff,
                    "pre_specified": True,
                    "result": result.to_dict(),
                }
            )
        pcol = f"max_{column}"
        pp = patients[patients[pcol].notna()] if pcol in patients else patients.iloc[0:0]
        result = run.run(
            "patient-level accuracy (SUVmax)",
            accuracy_from_labels,
            as_bool(pp["target"]),
            (pp[pcol] >= cutoff).to_numpy(),
        )
        if result is not None:
            accuracy.append(
                {
                    "level": "patient",
                    "test": f"Highest {label}",
                    "column": pcol,
                    "cutoff": cutoff,
                    "pre_specified": True,
                    "result": result.to_dict(),
                }
            )
    doc["accuracy"] = accuracy

    # 3. ROC
    roc_entries = []
    scores: list[tuple[str, str]] = [("visual_score", f"Visual score ({reader})")]
    for t in data.index_time_points:
        scores += [
            (metric_column("suv_max", t), f"SUVmax {t} min"),
            (metric_column("suv_peak_global", t), f"SUVpeak {t} min"),
            (metric_column("tbr_liver", t), f"SUVmax/liver {t} min"),
        ]
    for t in data.comparator_time_points:
        scores.append(
            (
                metric_column("suv_max", t, comparator=True),
                f"{config.comparator_tracer} SUVmax {t} min",
            )
        )
    for column, label in scores:
        if column not in lesions:
            continue
        sub = lesions[lesions[column].notna()]
        if sub.empty:
            continue
        truth, score, cluster = (
            as_bool(sub["target"]),
            sub[column].to_numpy(float),
            sub["patient_id"].to_numpy(),
        )
        entry = _roc_entry(
            run,
            (f"ROC {label}", f"ROC cut-off {label}", f"ROC band {label}"),
            "lesion",
            column,
            label,
            truth,
            score,
            cluster,
        )
        if entry is not None:
            roc_entries.append(entry)
    patient_roc = []
    pcol = f"max_{metric_column('suv_max', first)}"
    if pcol in patients:
        sub = patients[patients[pcol].notna()]
        label = f"Highest non-primary SUVmax {first} min"
        truth, score = as_bool(sub["target"]), sub[pcol].to_numpy(float)
        entry = _roc_entry(
            run,
            ("patient-level ROC", "patient-level ROC cut-off", None),
            "patient",
            pcol,
            label,
            truth,
            score,
            None,
        )
        if entry is not None:
            patient_roc.append(entry)
    comparisons = []
    for t_cmp in data.comparator_time_points:
        a_col = metric_column("suv_max", first)
        b_col = metric_column("suv_max", t_cmp, comparator=True)
        if a_col in lesions and b_col in lesions:
            sub = lesions[lesions[a_col].notna() & lesions[b_col].notna()]
            result = run.run(
                "paired AUC comparison",
                compare_aucs,
                as_bool(sub["target"]),
                sub[a_col].to_numpy(float),
                sub[b_col].to_numpy(float),
                paired=True,
                cluster=sub["patient_id"].to_numpy(),
                labels=(
                    f"{config.tracer} SUVmax {first} min",
                    f"{config.comparator_tracer} SUVmax {t_cmp} min",
                ),
            )
            if result is not None:
                comparisons.append({"columns": [a_col, b_col], "result": result.to_dict()})
    doc["roc"] = {"lesion": roc_entries, "patient": patient_roc, "comparisons": comparisons}

    # 4. Uptake and PD-L1 (malignant lesions, all roles, with an IHC result)
    column = metric_column("suv_max", first)
    pdl1: dict[str, Any] = {"column": column}
    if column in data.lesions:
        sampled = data.lesions[
            data.lesions["enrolled"]
            & (data.lesions["malignant"].eq(True))
            & data.lesions["pdl1_tps_pct"].notna()
            & data.lesions[column].notna()
        ]
        pdl1["groups"] = [
            {
                "label": f"{config.pdl1_score.value.upper()} >= {config.pdl1_cutoff:g}",
                "values": sampled.loc[sampled["pdl1_positive"].eq(True), column].tolist(),
            },
            {
                "label": f"{config.pdl1_score.value.upper()} < {config.pdl1_cutoff:g}",
                "values": sampled.loc[sampled["pdl1_positive"].eq(False), column].tolist(),
            },
        ]
        for ihc in ("pdl1_tps_pct", "pdl1_cps"):
            sub = sampled[sampled[ihc].notna()]
            result = run.run(
                f"Spearman SUVmax vs {ihc}",
                spearman,
                sub[ihc].to_numpy(float),
                sub[column].to_numpy(float),
            )
            pdl1[ihc] = {
                "x": sub[ihc].tolist(),
                "y": sub[column].tolist(),
                "spearman": result.to_dict() if result is not None else None,
            }
    # The secondary target condition, when the primary one is malignancy.
    pdl1_lesions = (
        pdl1_target_set(data)
        if config.target_condition is TargetCondition.MALIGNANCY
        else pd.DataFrame()
    )
    if config.target_condition is TargetCondition.MALIGNANCY:
        pdl1["as_target"] = pdl1_target_analysis(run, data, pdl1_lesions)
    doc["pdl1"] = pdl1

    # 5. Retention
    retention: dict[str, Any] = {"time_points_min": list(data.index_time_points[:2]), "groups": []}
    if len(data.index_time_points) >= 2:
        t1, t2 = data.index_time_points[:2]
        a, b = metric_column("suv_max", t1), metric_column("suv_max", t2)
        both = data.lesions[
            data.lesions["enrolled"] & data.lesions[a].notna() & data.lesions[b].notna()
        ]
        groups = [
            (
                "malignant, PD-L1 positive",
                both[both["malignant"].eq(True) & both["pdl1_positive"].eq(True)],
            ),
            (
                "malignant, PD-L1 negative",
                both[both["malignant"].eq(True) & both["pdl1_positive"].eq(False)],
            ),
            (
                "malignant, PD-L1 not sampled",
                both[both["malignant"].eq(True) & both["pdl1_positive"].isna()],
            ),
            ("benign", both[both["malignant"].eq(False)]),
        ]
        for name, group in groups:
            if group.empty:
                continue
            test = run.run(
                f"Wilcoxon retention {name}",
                wilcoxon_signed_rank,
                group[b].to_numpy(float),
                group[a].to_numpy(float),
                name=f"SUVmax {t2} vs {t1} min",
            )
            retention["groups"].append(
                {
                    "label": name,
                    "suv_max_t1": group[a].tolist(),
                    "suv_max_t2": group[b].tolist(),
                    "ri_suv_max_pct": group["ri_suv_max_pct"].tolist(),
                    "ri_suv_peak_pct": group["ri_suv_peak_global_pct"].tolist()
                    if "ri_suv_peak_global_pct" in group
                    else [],
                    "ri_suv_max_pct_summary": _iqr(group["ri_suv_max_pct"]),
                    "wilcoxon": test.to_dict() if test is not None else None,
                }
            )
        livers = []
        for scans in _liver_means(data):
            if t1 in scans and t2 in scans:
                ri = float(retention_index_pct_values(scans[t1], scans[t2]))
                if not np.isnan(ri):
                    livers.append(ri)
        retention["ri_liver_pct"] = livers
        retention["ri_liver_pct_summary"] = _iqr(pd.Series(livers, dtype=float))
    doc["retention"] = retention

    # 6. Agreement
    agreement = []
    if len(data.readers) >= 2:
        r1, r2 = data.readers[:2]
        for level, frame in (
            ("lesion", data.lesions[data.lesions["enrolled"]]),
            ("patient", enrolled),
        ):
            c1, c2 = f"visual_score_{r1.lower()}", f"visual_score_{r2.lower()}"
            sub = frame[frame[c1].notna() & frame[c2].notna()]
            for weights in ("none", "linear"):
                result = run.run(
                    f"kappa {level} {weights}",
                    cohen_kappa,
                    sub[c1].astype(int).to_numpy(),
                    sub[c2].astype(int).to_numpy(),
                    weights=weights,
                    categories=[1, 2, 3, 4, 5],
                )
                if result is not None:
                    agreement.append(
                        {
                            "level": level,
                            "readers": [r1, r2],
                            "weights": weights,
                            "n": len(sub),
                            "result": result.to_dict(),
                        }
                    )
    doc["agreement"] = agreement

    # 7. Survival
    doc["survival"], uptake_groups = _survival(run, patients, first)
    doc["headline"] = _headline(doc)
    doc["problems"] = run.problems
    exported = enrolled.copy()
    exported["uptake_group"] = exported["patient_id"].map(uptake_groups)
    return StudyResults(
        document=json_ready(doc),
        patients=exported.reset_index(drop=True),
        lesions=lesions.reset_index(drop=True),
        screening_rows=tuple(row for d in data.screening for row in d.log_rows()),
        problems=tuple(run.problems),
        pdl1_lesions=pdl1_lesions,
    )


def _liver_means(data: AnalysisData) -> list[dict[int, float]]:
    """Per enrolled patient, the liver reference mean at each index time point."""
    tracer = data.config.tracer
    return [
        {t: v for (tr, t), v in data.liver_means[p].items() if tr == tracer}
        for p in data.enrolled["patient_id"]
        if p in data.liver_means
    ]


def _survival(
    run: Collector, patients: pd.DataFrame, first: int
) -> tuple[dict[str, Any], dict[str, str]]:
    """Survival by uptake group; also returns each patient's group (for the export)."""
    column = f"max_{metric_column('suv_max', first)}"
    out: dict[str, Any] = {"grouping_column": column, "endpoints": []}
    if column not in patients:
        return out, {}
    sub = patients[patients[column].notna() & patients["pfs_months"].notna()].copy()
    split = run.run("uptake groups", split_groups, sub[column].to_numpy(float), rule="median")
    if split is None:
        return out, {}
    sub["uptake_group"] = list(split.labels)
    out["grouping"] = split.to_dict()
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
        out["endpoints"].append(
            {
                "endpoint": endpoint,
                "time_column": time_col,
                "event_column": event_col,
                "groups": groups,
                "logrank": logrank.to_dict() if logrank is not None else None,
                "cox": cox.to_dict() if cox is not None else None,
            }
        )
    return out, dict(zip(sub["patient_id"], sub["uptake_group"], strict=True))


def _headline(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The numbers the command line prints at the end of a run."""
    rows = []
    for entry in doc.get("accuracy", []):
        if entry["column"] != "visual_positive":
            continue  # the primary index test; the SUV cut-off rows are in the report
        measures = entry["result"]["measures"]
        for name in ("sensitivity", "specificity", "accuracy", "ppv", "npv"):
            m = measures[name]
            rows.append(
                {
                    "level": entry["level"],
                    "test": entry["test"],
                    "measure": name,
                    "estimate": m["estimate"],
                    "ci_low": m["ci_low"],
                    "ci_high": m["ci_high"],
                    "method": m["method"],
                }
            )
    for entry in doc.get("roc", {}).get("lesion", []):
        if entry["column"].startswith(("suv_max_", "comparator_suv_max_")):
            r = entry["result"]
            rows.append(
                {
                    "level": "lesion",
                    "test": entry["label"],
                    "measure": "auc",
                    "estimate": r["auc"],
                    "ci_low": r["ci_low"],
                    "ci_high": r["ci_high"],
                    "method": r["ci_method"],
                }
            )
    return rows
