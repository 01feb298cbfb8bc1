"""The analysis datasets: one row per patient and one row per lesion, built from the study.

These two tables are what every pre-specified analysis reads, and they are written beside the
report (``analysis_patients.csv``, ``analysis_lesions.csv``) so that a statistician can
recompute any number of the report with ``petdx stats`` or any other software.

Definitions (docs/protocol.md, docs/report.md):

* **Enrolled**: every eligibility criterion passes (:func:`petdx.study.eligibility.screening_log`).
* **Index scan**: the first PET of the index tracer at the study's first time point; its
  injection date is time zero of the survival analysis.
* **Visual index test**: the primary reader's score (1-5) at the index scan; positive when
  ``score >= visual_score_at_least``. Patient level: the reader's patient-level score.
* **Quantitative index tests**: per lesion, SUVmax, SUVpeak (global), SUVmean, MTV and
  SUVmax/liver mean at each time point, measured by ``petdx run``; per patient, the highest
  value over the patient's non-primary lesions.
* **Target condition** (``study.toml``): malignancy of a lesion by its reference standard;
  for a patient, a malignant nodal or distant (non-primary) lesion. Or PD-L1 positivity: a
  lesion's own IHC score ``>=`` the cut-off (sampled lesions only); a patient's primary.
* **Retention index** ``RI = (v_t2 - v_t1) / v_t1 x 100 %`` between the first two time points.
* **Survival**: progression-free (progression or death) and overall survival from time zero,
  in months (days / 30.4375), censored at the last follow-up date.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from petdx.quantify.noise import retention_ci_pct, retention_verdict
from petdx.quantify.timepoints import retention_index_pct_values
from petdx.study.adjudication import primary_reads
from petdx.study.config import (
    PRIMARY_READ_KINDS,
    PdL1Score,
    StudyConfig,
    StudyFolder,
    TargetCondition,
)
from petdx.study.database import StudyDatabase
from petdx.study.eligibility import ScreeningDecision, screening_log
from petdx.study.layout import StudyLayout
from petdx.study.queries import analysis_pet_scans, measurement_rows, table_rows
from petdx.study.schema import exchange_table

__all__ = ["DAYS_PER_MONTH", "AnalysisData", "load_analysis_data", "metric_column"]

DAYS_PER_MONTH = 30.4375
_METRICS = (
    "suv_max",
    "suv_peak_global",
    "suv_mean",
    "volume_ml",
    "tbr_liver",
    "suv_mean_carried",
    "suv_mean_carried_noise_sd",
    "suv_max_noise_sd",
)


#: What the analyses lack when a table holds no rows (``petdx run`` says so in its notes).
MISSING_INPUTS: dict[str, str] = {
    "screening": "no screening records: no patient is enrolled, every analysis is empty",
    "reads": "no visual reads: the visual-read accuracy, ROC of the scores, the reader "
    "agreement and the flow by read result are empty",
    "reference_standard": "no reference standard: accuracy and ROC have no lesion or "
    "patient with a known target condition",
    "pathology": "no pathology: the PD-L1 analyses are empty",
    "follow_up": "no follow-up: the survival analyses are empty",
    "lesion_registry": "no registered lesions: nothing is quantified, the lesion-level "
    "analyses are empty",
    "pet": "no PET series with SUV: nothing is quantified, the uptake analyses are empty",
    "measurements": "no lesion measurements yet: the uptake (SUV) analyses are empty",
}


def metric_column(metric: str, time_point_min: int, *, comparator: bool = False) -> str:
    """Column name of a lesion metric, e.g. ``suv_max_60min``, ``comparator_suv_max_60min``."""
    return f"{'comparator_' if comparator else ''}{metric}_{time_point_min}min"


@dataclass(frozen=True)
class AnalysisData:
    """Everything the pre-specified analyses read."""

    config: StudyConfig
    screening: tuple[ScreeningDecision, ...]
    patients: pd.DataFrame = field(repr=False)
    lesions: pd.DataFrame = field(repr=False)
    scans: pd.DataFrame = field(repr=False)
    primary_reader: str | None
    readers: tuple[str, ...]
    index_time_points: tuple[int, ...]
    comparator_time_points: tuple[int, ...]
    #: Liver reference mean SUV per patient and (tracer, time point), from ``petdx run``.
    liver_means: dict[str, dict[tuple[str, int], float]] = field(default_factory=dict)
    #: The AttenuationCorrectionMethod (0054,1101) values of the quantified PET scans.
    attenuation_correction_methods: tuple[str, ...] = ()
    #: The inputs the study does not hold yet (:data:`MISSING_INPUTS`), each with what the
    #: analyses lack without it; the analyses run on what there is.
    missing: tuple[str, ...] = ()

    @property
    def enrolled(self) -> pd.DataFrame:
        return self.patients[self.patients["enrolled"]]

    @property
    def first_time_point(self) -> int:
        return (
            self.index_time_points[0] if self.index_time_points else self.config.time_points_min[0]
        )


def _frame(connection: Connection, name: str) -> pd.DataFrame:
    table = exchange_table(name)
    rows = [r.as_dict() for r in table_rows(connection, name)]
    return pd.DataFrame(rows, columns=[c.name for c in table.columns])


def _age_years(birth: Any, on: Any) -> float:
    if birth is None or on is None or pd.isna(birth) or pd.isna(on):
        return float("nan")
    birth, on = pd.Timestamp(birth), pd.Timestamp(on)
    years = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    return float(years)


def _latest_sample(pathology: pd.DataFrame) -> pd.DataFrame:
    diagnostic = pathology[pathology["histology"] != "non_diagnostic"].copy()
    diagnostic = diagnostic.sort_values(["lesion_id", "sample_date", "sample_id"])
    return diagnostic.groupby("lesion_id", as_index=False).last()


def _survival(follow_up: pd.DataFrame, time_zero: dict[str, pd.Timestamp]) -> pd.DataFrame:
    """PFS and OS (months, event) per patient from the follow-up events."""
    rows = []
    for patient, zero in time_zero.items():
        events = follow_up[follow_up["patient_id"] == patient]
        dates = pd.to_datetime(events["event_date"])
        last = dates.max() if len(dates) else pd.NaT
        progression = dates[events["event"].isin(["progression", "death"])]
        death = dates[events["event"] == "death"]
        pfs_end = progression.min() if len(progression) else last
        os_end = death.min() if len(death) else last
        rows.append(
            {
                "patient_id": patient,
                "pfs_months": (pfs_end - zero).days / DAYS_PER_MONTH
                if pd.notna(pfs_end)
                else np.nan,
                "pfs_event": bool(len(progression)),
                "os_months": (os_end - zero).days / DAYS_PER_MONTH if pd.notna(os_end) else np.nan,
                "os_event": bool(len(death)),
                "last_follow_up": last,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "patient_id",
            "pfs_months",
            "pfs_event",
            "os_months",
            "os_event",
            "last_follow_up",
        ],
    )


def _pdl1_positive(tps: Any, cps: Any, config: StudyConfig) -> Any:
    score = tps if config.pdl1_score is PdL1Score.TPS else cps
    if score is None or pd.isna(score):
        return np.nan
    return bool(float(score) >= config.pdl1_cutoff)


def _liver_means(
    summaries: StudyLayout, patients: list[str]
) -> dict[str, dict[tuple[str, int], float]]:
    out: dict[str, dict[tuple[str, int], float]] = {}
    for patient in patients:
        path = summaries.patient_summary(patient)
        if not path.exists():
            continue
        summary = json.loads(path.read_text(encoding="utf-8"))
        out[patient] = {
            (s["tracer"], int(s["time_point_min"])): float(s["liver_mean_suv"])
            for s in summary.get("scans", [])
            if s.get("liver_mean_suv") is not None
        }
    return out


def _attenuation_methods(summaries: StudyLayout, patients: list[str]) -> tuple[str, ...]:
    """The distinct AttenuationCorrectionMethod values the quantify stage recorded."""
    found: set[str] = set()
    for patient in patients:
        path = summaries.patient_summary(patient)
        if path.exists():
            summary = json.loads(path.read_text(encoding="utf-8"))
            found.update(
                str(s.get("attenuation_correction_method") or "") for s in summary.get("scans", [])
            )
    return tuple(sorted(found - {""}))


def _retention_uncertainty(lesions: pd.DataFrame, t1: int, t2: int) -> None:
    """Add the carried-VOI-mean retention index (``ri_voi_mean_pct``) and, for it and for
    SUVmax, the 95 % CI from image noise (``..._ci_low_pct``, ``..._ci_high_pct``) and the
    verdict (``ri_voi_mean_verdict``, ``ri_suv_max_verdict``; petdx.quantify.noise)."""
    lesions["ri_voi_mean_pct"] = retention_index_pct_values(
        lesions[metric_column("suv_mean_carried", t1)],
        lesions[metric_column("suv_mean_carried", t2)],
    )
    for stem, value, sd in (
        ("ri_voi_mean", "suv_mean_carried", "suv_mean_carried_noise_sd"),
        ("ri_suv_max", "suv_max", "suv_max_noise_sd"),
    ):
        cis = [
            retention_ci_pct(*_finite(m1, m2), *_squared(s1, s2))
            for m1, m2, s1, s2 in zip(
                lesions[metric_column(value, t1)],
                lesions[metric_column(value, t2)],
                lesions[metric_column(sd, t1)],
                lesions[metric_column(sd, t2)],
                strict=True,
            )
        ]
        lesions[f"{stem}_ci_low_pct"] = [c[0] if c else np.nan for c in cis]
        lesions[f"{stem}_ci_high_pct"] = [c[1] if c else np.nan for c in cis]
        lesions[f"{stem}_verdict"] = [
            v.value if (v := retention_verdict(c)) is not None else None for c in cis
        ]
    volume = lesions[metric_column("volume_ml", t1)]
    lesions["voi_diameter_mm"] = 10.0 * np.cbrt(6.0 * volume.astype(float) / np.pi)


def _finite(*values: Any) -> tuple[float | None, ...]:
    return tuple(float(v) if pd.notna(v) and np.isfinite(v) else None for v in values)


def _squared(*values: Any) -> tuple[float | None, ...]:
    return tuple(None if v is None else v * v for v in _finite(*values))


def load_analysis_data(
    study: StudyFolder, database: StudyDatabase, *, summaries: StudyLayout | None = None
) -> AnalysisData:
    """Build the patient- and lesion-level analysis tables (module docstring).

    ``summaries``: where the patients' quantification summaries (``summary.json``) are read,
    by default the study folder's ``derived/`` (a locked snapshot keeps its own copy).
    """
    config = study.config
    summaries = summaries or study.layout
    with database.engine.connect() as connection:
        decisions = tuple(screening_log(connection))
        patients = _frame(connection, "patients")
        screening = _frame(connection, "screening")
        registry = _frame(connection, "lesion_registry")
        reference = _frame(connection, "reference_standard")
        pathology = _frame(connection, "pathology")
        reads = _frame(connection, "reads")
        pooled = (
            primary_reads(connection, config)
            if config.reading.primary_read in PRIMARY_READ_KINDS
            else None
        )
        follow_up = _frame(connection, "follow_up")
        pet = pd.DataFrame([r.as_dict() for r in analysis_pet_scans(connection)])
        values = pd.DataFrame([r.as_dict() for r in measurement_rows(connection)])

    present = {
        "screening": screening,
        "reads": reads,
        "reference_standard": reference,
        "pathology": pathology,
        "follow_up": follow_up,
        "lesion_registry": registry,
        "pet": pet if pet.empty else pet[pet["suv_error"].isna()],
        "measurements": values,
    }
    missing = tuple(name for name, frame in present.items() if frame.empty)
    eligible = {d.patient_id: d.eligible for d in decisions}
    out = patients.merge(screening[["patient_id", "planned_scan_date", "consent_date"]], "left")
    out["enrolled"] = out["patient_id"].map(eligible).fillna(False).astype(bool)
    out["age_years"] = [
        _age_years(b, c) for b, c in zip(out["birth_date"], out["consent_date"], strict=True)
    ]
    out["bmi_kg_m2"] = out["weight_kg"] / out["height_m"] ** 2
    # The analysis sets leave the study with the report: age, never the date of birth.
    out = out.drop(columns=["birth_date"])

    # Scans: index tracer first, by time point; the comparator after.
    if pet.empty:
        pet = pd.DataFrame(
            columns=[
                "series_uid",
                "patient_id",
                "tracer",
                "time_point_min",
                "uptake_min",
                "injection_datetime",
                "administered_activity_mbq",
                "suv_error",
            ]
        )
    scans = pet[pet["suv_error"].isna()].copy()
    index_points = tuple(
        sorted(
            int(t) for t in scans.loc[scans["tracer"] == config.tracer, "time_point_min"].unique()
        )
    )
    comparator_points = (
        tuple(
            sorted(
                int(t)
                for t in scans.loc[
                    scans["tracer"] == config.comparator_tracer, "time_point_min"
                ].unique()
            )
        )
        if config.comparator_tracer
        else ()
    )
    first = index_points[0] if index_points else config.time_points_min[0]
    index_scans = scans[(scans["tracer"] == config.tracer) & (scans["time_point_min"] == first)]
    time_zero: dict[str, pd.Timestamp] = {
        str(row.patient_id): pd.Timestamp(str(row.injection_datetime)).normalize()
        for row in index_scans.sort_values("injection_datetime")
        .drop_duplicates("patient_id")
        .itertuples()
    }
    out["index_scan_date"] = out["patient_id"].map(time_zero)

    # Lesions with reference standard, IHC, reads and measurements.
    lesions = registry.merge(
        reference[["lesion_id", "standard", "outcome", "assessment_date"]],
        on="lesion_id",
        how="left",
    )
    samples = _latest_sample(pathology)[["lesion_id", "pdl1_tps_pct", "pdl1_cps", "pdl1_assay"]]
    lesions = lesions.merge(samples, on="lesion_id", how="left")
    lesions["enrolled"] = lesions["patient_id"].map(eligible).fillna(False).astype(bool)
    lesions["non_primary"] = lesions["role"] != "primary"
    lesions["malignant"] = lesions["outcome"].map({"malignant": True, "benign": False})
    lesions["pdl1_positive"] = [
        _pdl1_positive(t, c, config)
        for t, c in zip(lesions["pdl1_tps_pct"], lesions["pdl1_cps"], strict=True)
    ]
    if config.target_condition is TargetCondition.MALIGNANCY:
        lesions["target"] = lesions["malignant"]
    else:
        lesions["target"] = lesions["pdl1_positive"]
    lesions["days_index_to_reference"] = [
        (pd.Timestamp(d) - time_zero[p]).days if p in time_zero and pd.notna(d) else np.nan
        for p, d in zip(lesions["patient_id"], lesions["assessment_date"], strict=True)
    ]

    readers = tuple(sorted(reads["reader_id"].dropna().unique()))
    if config.reading.adjudicator is not None:  # the adjudicator's results are stored apart
        readers = tuple(r for r in readers if r != config.reading.adjudicator)
    primary_reader = (
        config.reading.primary_read
        or config.primary_reader
        or (config.reading.readers[0] if config.reading.readers else None)
        or (readers[0] if readers else None)
    )
    scored = reads
    if pooled is not None:  # [reading] primary_read = consensus | adjudicated
        scored = pd.concat([reads, pd.DataFrame(pooled[1], columns=list(reads.columns))])
    first_reads = scored[(scored["tracer"] == config.tracer) & (scored["time_point_min"] == first)]
    for reader in readers + ((pooled[0],) if pooled is not None else ()):
        mine = first_reads[first_reads["reader_id"] == reader]
        lesion_scores = mine.dropna(subset=["lesion_id"]).set_index("lesion_id")["score"]
        patient_scores = mine[mine["lesion_id"].isna()].set_index("patient_id")["score"]
        suffix = reader.lower()
        lesions[f"visual_score_{suffix}"] = lesions["lesion_id"].map(lesion_scores)
        out[f"visual_score_{suffix}"] = out["patient_id"].map(patient_scores)
    k = config.visual_score_at_least
    for frame in (lesions, out):
        if primary_reader is not None:
            key = f"visual_score_{primary_reader.lower()}"
            frame["visual_score"] = frame[key]
            frame["visual_positive"] = frame[key].ge(k).astype("boolean").mask(frame[key].isna())
        else:  # no reads yet: every visual result is missing (the analyses say so)
            frame["visual_score"] = pd.Series(np.nan, index=frame.index, dtype="float64")
            frame["visual_positive"] = pd.Series(pd.NA, index=frame.index, dtype="boolean")

    if not values.empty:
        values = values[values["metric"].isin(_METRICS)].copy()
        values["column"] = [
            metric_column(m, int(t), comparator=tr != config.tracer)
            for m, t, tr in zip(
                values["metric"], values["time_point_min"], values["tracer"], strict=True
            )
        ]
        wide = values.pivot_table(
            index="lesion_id", columns="column", values="value", aggfunc="first"
        )
        lesions = lesions.merge(wide, left_on="lesion_id", right_index=True, how="left")
    # A metric never measured (no registered lesions, no measurements yet) is a column of
    # missing values, so every analysis finds it and reports what it lacks.
    expected = [metric_column(m, t) for t in index_points or (first,) for m in _METRICS]
    expected += [metric_column(m, t, comparator=True) for t in comparator_points for m in _METRICS]
    for column in expected:
        if column not in lesions:
            lesions[column] = np.nan
    for metric in ("suv_max", "suv_peak_global"):
        if len(index_points) >= 2:
            a = lesions.get(metric_column(metric, index_points[0]))
            b = lesions.get(metric_column(metric, index_points[1]))
            if a is not None and b is not None:
                lesions[f"ri_{metric}_pct"] = retention_index_pct_values(a, b)
    if len(index_points) >= 2:
        _retention_uncertainty(lesions, index_points[0], index_points[1])

    # Patient summaries of the lesions.
    non_primary = lesions[lesions["non_primary"]]
    grouped = non_primary.groupby("patient_id")
    summary = pd.DataFrame(index=out["patient_id"])
    summary["n_lesions_non_primary"] = grouped.size()
    summary["n_malignant_non_primary"] = grouped["malignant"].sum()
    for column in [
        c
        for c in lesions.columns
        if c.startswith(("suv_max_", "comparator_suv_max_", "tbr_liver_", "suv_peak_global_"))
    ]:
        summary[f"max_{column}"] = grouped[column].max()
    out = out.merge(summary, left_on="patient_id", right_index=True, how="left")
    primary = (
        lesions[lesions["role"] == "primary"].drop_duplicates("patient_id").set_index("patient_id")
    )
    out["pdl1_tps_primary"] = out["patient_id"].map(primary["pdl1_tps_pct"])
    out["pdl1_cps_primary"] = out["patient_id"].map(primary["pdl1_cps"])
    out["pdl1_positive_primary"] = [
        _pdl1_positive(t, c, config)
        for t, c in zip(out["pdl1_tps_primary"], out["pdl1_cps_primary"], strict=True)
    ]
    if config.target_condition is TargetCondition.MALIGNANCY:
        has_reference = grouped["malignant"].count()
        target = grouped["malignant"].any()
        out["target"] = [
            bool(target[p]) if has_reference.get(p, 0) > 0 else np.nan for p in out["patient_id"]
        ]
    else:
        out["target"] = out["pdl1_positive_primary"]
    out = out.merge(_survival(follow_up, time_zero), on="patient_id", how="left")
    return AnalysisData(
        liver_means=_liver_means(summaries, list(out["patient_id"])),
        attenuation_correction_methods=_attenuation_methods(summaries, list(out["patient_id"])),
        config=config,
        screening=decisions,
        patients=out.sort_values("patient_id").reset_index(drop=True),
        lesions=lesions.sort_values("lesion_id").reset_index(drop=True),
        scans=scans.reset_index(drop=True),
        primary_reader=primary_reader,
        readers=readers,
        index_time_points=index_points,
        comparator_time_points=comparator_points,
        missing=missing,
    )
