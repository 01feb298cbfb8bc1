"""Diagnostic accuracy and ROC sections of the analyses (sections 2 and 3 of
:mod:`petdx.analysis.outcomes`): patient level with exact intervals, lesion level with
patients as clusters; ROC curves with Obuchowski AUCs, bootstrap bands and exploratory Youden
cut-offs; the paired comparison of the index and comparator tracers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from petdx.analysis._collect import N_BOOTSTRAP, SEED, Collector, as_bool
from petdx.analysis.datasets import AnalysisData, metric_column
from petdx.analysis.results import AccuracyEntry, RocComparison, RocEntry, RocSection
from petdx.stats import (
    accuracy_from_labels,
    clustered_accuracy,
    compare_aucs,
    roc_analysis,
    roc_band,
)

__all__ = ["accuracy_section", "roc_section"]


def accuracy_section(
    run: Collector, data: AnalysisData, patients: pd.DataFrame, lesions: pd.DataFrame
) -> tuple[AccuracyEntry, ...]:
    """Accuracy of the visual read and of SUVmax at the pre-specified cut-off, patient and
    lesion level (the results document's ``accuracy``)."""
    config = data.config
    first = data.first_time_point
    k = config.visual_score_at_least
    reader = data.primary_reader or "reader"
    accuracy: list[AccuracyEntry] = []
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
            AccuracyEntry("patient", visual_label, "visual_positive", True, result.to_dict())
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
            AccuracyEntry("lesion", visual_label, "visual_positive", True, result.to_dict())
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
                AccuracyEntry("lesion", label, column, True, result.to_dict(), cutoff=cutoff)
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
                AccuracyEntry(
                    "patient", f"Highest {label}", pcol, True, result.to_dict(), cutoff=cutoff
                )
            )
    return tuple(accuracy)


def _roc_entry(
    run: Collector,
    names: tuple[str, str, str | None],
    level: str,
    column: str,
    label: str,
    truth: np.ndarray,
    score: np.ndarray,
    cluster: np.ndarray | None,
) -> RocEntry | None:
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
    return RocEntry(
        level=level,
        column=column,
        label=label,
        result=result.to_dict(),
        cutoff=cutoff.to_dict()["cutoff"] if cutoff is not None else None,
        banded=band_name is not None,
        band=band.to_dict() if band is not None else None,
        cutoff_exploratory=True,
    )


def roc_section(
    run: Collector, data: AnalysisData, patients: pd.DataFrame, lesions: pd.DataFrame
) -> RocSection:
    """ROC curves, lesion and patient level, and the paired tracer comparison (the results
    document's ``roc``)."""
    config = data.config
    first = data.first_time_point
    reader = data.primary_reader or "reader"
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
                comparisons.append(RocComparison((a_col, b_col), result.to_dict()))
    return RocSection(tuple(roc_entries), tuple(patient_roc), tuple(comparisons))
