"""Uptake sections of the analyses (sections 4 to 6 of :mod:`petdx.analysis.outcomes`):
uptake and PD-L1, retention between the first two time points, inter-reader agreement."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from petdx.analysis._collect import Collector, iqr_summary
from petdx.analysis.datasets import AnalysisData, metric_column
from petdx.analysis.pdl1_target import pdl1_target_analysis, pdl1_target_set
from petdx.analysis.results import (
    AgreementEntry,
    Pdl1Correlation,
    Pdl1Section,
    RetentionGroup,
    RetentionSection,
    UptakeGroup,
)
from petdx.quantify.timepoints import retention_index_pct_values
from petdx.stats import cohen_kappa, retention_tests, spearman, wilcoxon_signed_rank
from petdx.study.config import TargetCondition

__all__ = [
    "agreement_section",
    "pdl1_section",
    "retention_section",
    "retention_uncertainty",
]


def pdl1_section(run: Collector, data: AnalysisData) -> tuple[Pdl1Section, pd.DataFrame]:
    """SUVmax by PD-L1 status and its correlation with TPS and CPS (sampled malignant
    lesions), and PD-L1 positivity as the secondary target condition; also returns that
    secondary analysis set (empty unless the primary target is malignancy)."""
    config = data.config
    first = data.first_time_point
    column = metric_column("suv_max", first)
    groups: tuple[UptakeGroup, ...] | None = None
    correlations: dict[str, Pdl1Correlation] = {}
    if column in data.lesions:
        sampled = data.lesions[
            data.lesions["enrolled"]
            & (data.lesions["malignant"].eq(True))
            & data.lesions["pdl1_tps_pct"].notna()
            & data.lesions[column].notna()
        ]
        groups = (
            UptakeGroup(
                f"{config.pdl1_score.value.upper()} >= {config.pdl1_cutoff:g}",
                tuple(sampled.loc[sampled["pdl1_positive"].eq(True), column].tolist()),
            ),
            UptakeGroup(
                f"{config.pdl1_score.value.upper()} < {config.pdl1_cutoff:g}",
                tuple(sampled.loc[sampled["pdl1_positive"].eq(False), column].tolist()),
            ),
        )
        for ihc in ("pdl1_tps_pct", "pdl1_cps"):
            sub = sampled[sampled[ihc].notna()]
            result = run.run(
                f"Spearman SUVmax vs {ihc}",
                spearman,
                sub[ihc].to_numpy(float),
                sub[column].to_numpy(float),
            )
            correlations[ihc] = Pdl1Correlation(
                tuple(sub[ihc].tolist()),
                tuple(sub[column].tolist()),
                result.to_dict() if result is not None else None,
            )
    # The secondary target condition, when the primary one is malignancy.
    pdl1_lesions = (
        pdl1_target_set(data)
        if config.target_condition is TargetCondition.MALIGNANCY
        else pd.DataFrame()
    )
    as_target = (
        pdl1_target_analysis(run, data, pdl1_lesions)
        if config.target_condition is TargetCondition.MALIGNANCY
        else None
    )
    pdl1 = Pdl1Section(
        column,
        groups,
        correlations.get("pdl1_tps_pct"),
        correlations.get("pdl1_cps"),
        as_target,
    )
    return pdl1, pdl1_lesions


def retention_section(
    run: Collector, data: AnalysisData, exported: pd.DataFrame | None = None
) -> RetentionSection:
    """Retention between the first two index time points per lesion class, and the liver's;
    with ``exported`` (the exported lesion set), the retention uncertainty and the
    cohort-level test on it (:func:`retention_uncertainty`)."""
    time_points = tuple(data.index_time_points[:2])
    if len(data.index_time_points) < 2:
        return RetentionSection(time_points, ())
    retention: list[RetentionGroup] = []
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
        retention.append(
            RetentionGroup(
                label=name,
                suv_max_t1=tuple(group[a].tolist()),
                suv_max_t2=tuple(group[b].tolist()),
                ri_suv_max_pct=tuple(group["ri_suv_max_pct"].tolist()),
                ri_suv_peak_pct=tuple(group["ri_suv_peak_global_pct"].tolist())
                if "ri_suv_peak_global_pct" in group
                else (),
                ri_suv_max_pct_summary=iqr_summary(group["ri_suv_max_pct"]),
                wilcoxon=test.to_dict() if test is not None else None,
            )
        )
    livers = []
    for scans in _liver_means(data):
        if t1 in scans and t2 in scans:
            ri = float(retention_index_pct_values(scans[t1], scans[t2]))
            if not np.isnan(ri):
                livers.append(ri)
    return RetentionSection(
        time_points,
        tuple(retention),
        tuple(livers),
        iqr_summary(pd.Series(livers, dtype=float)),
        retention_uncertainty(run, exported) if exported is not None else None,
    )


#: VOI size classes of the noise floor (volume-equivalent diameter, mm; lower bound kept).
SIZE_CLASSES = ((0.0, 10.0), (10.0, 15.0), (15.0, 20.0), (20.0, 30.0), (30.0, math.inf))


def _group(malignant: object, positive: object) -> str:
    if malignant is False or malignant == False:  # noqa: E712 (pandas booleans)
        return "benign"
    if positive is True or positive == True:  # noqa: E712
        return "malignant, PD-L1 positive"
    if positive is False or positive == False:  # noqa: E712
        return "malignant, PD-L1 negative"
    return "malignant, PD-L1 not sampled"


def retention_uncertainty(run: Collector, lesions: pd.DataFrame) -> dict[str, Any]:
    """Issue 17's retention results on ``lesions`` (RetentionSection.uncertainty); the
    cohort test is :func:`petdx.stats.retention_tests` on the exported columns
    ``ri_voi_mean_pct``, ``malignant``, ``pdl1_positive``, ``patient_id``."""
    rows = (
        lesions[lesions["ri_voi_mean_pct"].notna()]
        if "ri_voi_mean_pct" in lesions
        else lesions.iloc[0:0]
    )
    groups = [
        _group(m, p)
        for m, p in zip(rows.get("malignant", []), rows.get("pdl1_positive", []), strict=True)
    ]
    per_lesion: list[dict[str, Any]] = [
        {
            "lesion_id": str(r["lesion_id"]),
            "patient_id": str(r["patient_id"]),
            "group": g,
            "voi_diameter_mm": _number(r.get("voi_diameter_mm")),
            "ri_pct": _number(r["ri_voi_mean_pct"]),
            "ci_low_pct": _number(r.get("ri_voi_mean_ci_low_pct")),
            "ci_high_pct": _number(r.get("ri_voi_mean_ci_high_pct")),
            "verdict": r.get("ri_voi_mean_verdict")
            if isinstance(r.get("ri_voi_mean_verdict"), str)
            else None,
        }
        for (_, r), g in zip(rows.iterrows(), groups, strict=True)
    ]
    verdicts = []
    for name in dict.fromkeys(groups):
        mine = [p["verdict"] for p in per_lesion if p["group"] == name]
        verdicts.append(
            {
                "group": name,
                "n": len(mine),
                **{v: mine.count(v) for v in ("retained", "washout", "indeterminate")},
                "no_ci": mine.count(None),
            }
        )
    floor = []
    for low, high in SIZE_CLASSES:
        halves = [
            (p["ci_high_pct"] - p["ci_low_pct"]) / 2
            for p in per_lesion
            if p["voi_diameter_mm"] is not None
            and low <= p["voi_diameter_mm"] < high
            and p["ci_low_pct"] is not None
            and p["ci_high_pct"] is not None
        ]
        if halves:
            size = f"{low:g}–{high:g} mm" if math.isfinite(high) else f">= {low:g} mm"
            floor.append(
                {"size": size, "n": len(halves), "median_half_width_pct": float(np.median(halves))}
            )
    test = run.run(
        "retention cohort test",
        retention_tests,
        rows["ri_voi_mean_pct"].to_numpy(float) if len(rows) else np.array([]),
        list(rows.get("malignant", [])),
        list(rows.get("pdl1_positive", [])),
        rows["patient_id"].astype(str).to_numpy() if len(rows) else np.array([]),
    )
    return {
        "estimate": "carried-VOI mean",
        "lesions": per_lesion,
        "verdicts": verdicts,
        "noise_floor": floor,
        "cohort_test": test.to_dict() if test is not None else None,
    }


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def agreement_section(
    run: Collector, data: AnalysisData, enrolled: pd.DataFrame
) -> tuple[AgreementEntry, ...]:
    """Cohen's kappa (unweighted and linear) of the first two readers, lesion and patient."""
    agreement: list[AgreementEntry] = []
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
                        AgreementEntry(level, (r1, r2), weights, len(sub), result.to_dict())
                    )
    return tuple(agreement)


def _liver_means(data: AnalysisData) -> list[dict[int, float]]:
    """Per enrolled patient, the liver reference mean at each index time point."""
    tracer = data.config.tracer
    return [
        {t: v for (tr, t), v in data.liver_means[p].items() if tr == tracer}
        for p in data.enrolled["patient_id"]
        if p in data.liver_means
    ]
