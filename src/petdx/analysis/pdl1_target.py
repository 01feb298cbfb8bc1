"""Secondary target condition: PD-L1 positivity of malignant lesions (issue 7, index tests).

With malignancy as the study's target condition, the trial's second question is whether the
PD-L1 tracer tells PD-L1-positive from PD-L1-negative tumours. Analysis set: enrolled
patients' malignant lesions (every role) whose own sample has the PD-L1 score the study uses
(TPS or CPS, positive at the study's cut-off), with the index test measured; patients as
clusters. Computed: lesion-level ROC of SUVmax at every index time point (Obuchowski AUC and
variance), and the clustered accuracy (Rao-Scott intervals) of the visual read and of the
pre-specified SUVmax cut-off, for PD-L1 positivity. The set is exported as
``analysis_pdl1_lesions.csv`` so that ``petdx stats`` reproduces every number.
"""

from __future__ import annotations

import pandas as pd

from petdx.analysis._collect import SEED, Collector, as_bool
from petdx.analysis.datasets import AnalysisData, metric_column
from petdx.analysis.results import Pdl1Accuracy, Pdl1Roc, Pdl1Target
from petdx.stats import clustered_accuracy, roc_analysis

__all__ = ["pdl1_target_analysis", "pdl1_target_set"]


def pdl1_target_set(data: AnalysisData) -> pd.DataFrame:
    """Enrolled patients' malignant lesions with a PD-L1 result (module docstring)."""
    lesions = data.lesions
    column = metric_column("suv_max", data.first_time_point)
    if column not in lesions:
        return lesions.iloc[0:0]
    chosen = (
        lesions["enrolled"]
        & lesions["malignant"].eq(True)
        & lesions["pdl1_positive"].notna()
        & lesions[column].notna()
    )
    return lesions[chosen].reset_index(drop=True)


def pdl1_target_analysis(run: Collector, data: AnalysisData, subset: pd.DataFrame) -> Pdl1Target:
    """ROC and accuracy for PD-L1 positivity on ``subset`` (:func:`pdl1_target_set`)."""
    config = data.config
    label = f"PD-L1 {config.pdl1_score.value.upper()} >= {config.pdl1_cutoff:g}"
    n_patients = int(subset["patient_id"].nunique()) if len(subset) else 0
    n_positive = int(subset["pdl1_positive"].astype(bool).sum()) if len(subset) else 0
    rocs: list[Pdl1Roc] = []
    accuracy: list[Pdl1Accuracy] = []
    if subset.empty:
        return Pdl1Target(label, len(subset), n_patients, n_positive, (), ())
    truth = as_bool(subset["pdl1_positive"])
    cluster = subset["patient_id"].to_numpy()
    for t in data.index_time_points:
        column = metric_column("suv_max", t)
        if column not in subset or subset[column].isna().any():
            continue
        name = f"SUVmax {t} min"
        result = run.run(
            f"ROC for PD-L1 ({name})",
            roc_analysis,
            truth,
            subset[column].to_numpy(float),
            cluster=cluster,
            label=name,
        )
        if result is not None:
            rocs.append(Pdl1Roc(column, name, result.to_dict()))
    tests = []
    if "visual_positive" in subset and subset["visual_positive"].notna().all():
        k = config.visual_score_at_least
        tests.append(("visual_positive", f"Visual read, score >= {k}", subset["visual_positive"]))
    cutoff = config.suv_max_at_least
    first = metric_column("suv_max", data.first_time_point)
    if cutoff is not None:
        tests.append(
            (first, f"SUVmax {data.first_time_point} min >= {cutoff:g}", subset[first] >= cutoff)
        )
    for column, name, positive in tests:
        result = run.run(
            f"accuracy for PD-L1 ({name})",
            clustered_accuracy,
            truth,
            as_bool(positive),
            cluster,
            seed=SEED,
        )
        if result is not None:
            accuracy.append(
                Pdl1Accuracy(column, name, cutoff if column == first else None, result.to_dict())
            )
    return Pdl1Target(label, len(subset), n_patients, n_positive, tuple(rocs), tuple(accuracy))
