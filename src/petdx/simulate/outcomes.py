"""After the scan: pathology, reference standard, two readers' scores, follow-up.

Pathology
    The confirming sample of the primary (biopsy or surgery, with PD-L1 IHC); for about a
    third of patients a biopsy of the largest non-primary lesion after the scan, 6 % of
    them non-diagnostic.
Reference standard
    Every lesion: histopathology when a diagnostic sample exists, else the follow-up
    composite, which in the simulation always reaches the true verdict.
Reads
    Two blinded readers score each lesion 1-5 on every scan, from the lesion's apparent
    contrast: ``log(1 + (SUV / background - 1) * RC(d))`` with a partial-volume recovery
    ``RC(d) = 1 - exp(-(d / (1.5 FWHM))**2)`` (close to the NEMA max-voxel recovery of the
    simulated scanner), plus a lesion effect both readers see (SD 0.3) and each reader's
    own noise (SD 0.10; reader 2 a little more cautious), cut at contrasts 1.5, 2.0, 2.8 and
    4.0. The patient-level score is the reader's highest score of a non-primary lesion.
    Unweighted Cohen's kappa between readers comes out at about 0.6-0.8.
Follow-up
    Progression-free time exponential with median 9 months, hazard ratios 0.6 for a
    PD-L1-positive primary, 1.8 when nodal or distant malignancy is present and 0.8 per
    doubling of the highest true study-tracer SUV of a malignant lesion at the first time
    point (above 4); post-progression survival exponential with median 10 months (the same
    covariates, hazard ratios halved in log scale). Censored at the study end date or at a
    random loss to follow-up (2 % a month).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from petdx.simulate.lesions import LesionSpec
from petdx.tracers import TracerProfile

__all__ = [
    "READERS",
    "ReadContext",
    "follow_up_rows",
    "pathology_rows",
    "read_rows",
    "recovery_coefficient",
    "reference_rows",
]

READERS = ("R1", "R2")
_CUTS = tuple(math.log(c) for c in (1.5, 2.0, 2.8, 4.0))
_SHARED_SD = 0.3
_READER_SD = 0.10
_READER_BIAS = {"R1": 0.0, "R2": -0.08}
_HISTOLOGY = {
    "nsclc": ("Adenocarcinoma of the lung", "22C3"),
    "hnscc": ("Squamous cell carcinoma", "22C3"),
    "melanoma": ("Malignant melanoma", "28-8"),
    "gastric": ("Gastric adenocarcinoma", "28-8"),
    "oesophageal": ("Oesophageal squamous cell carcinoma", "28-8"),
    "hepatocellular": ("Hepatocellular carcinoma", "SP263"),
    "urothelial": ("Urothelial carcinoma", "SP263"),
    "breast_tnbc": ("Triple-negative breast carcinoma", "SP142"),
    "renal": ("Clear cell renal cell carcinoma", "SP263"),
}


def recovery_coefficient(diameter_mm: float, fwhm_mm: float) -> float:
    """Approximate max-voxel recovery of a lesion of ``diameter_mm`` (see module docstring)."""
    return 1.0 - math.exp(-((diameter_mm / (1.5 * fwhm_mm)) ** 2))


@dataclass(frozen=True)
class ReadContext:
    """One scan to be read: tracer, time point, background SUV of each lesion's host tissue,
    image resolution and when it was acquired."""

    profile: TracerProfile
    time_point_min: int
    background_suv: Mapping[str, float]
    fwhm_mm: float
    scan_datetime: datetime


def read_rows(
    rng: np.random.Generator,
    patient_id: str,
    lesions: Sequence[LesionSpec],
    scans: Sequence[ReadContext],
) -> list[dict[str, Any]]:
    """``reads`` rows: per reader, per scan, each lesion and the patient."""
    rows = []
    shared = {lesion.lesion_id: float(rng.normal(0.0, _SHARED_SD)) for lesion in lesions}
    for scan in scans:
        read_day = scan.scan_datetime.date() + timedelta(days=int(rng.integers(3, 21)))
        for reader in READERS:
            when = datetime.combine(read_day, datetime.min.time()) + timedelta(
                hours=int(rng.integers(13, 18)), minutes=int(rng.integers(0, 60))
            )
            patient_score = 1
            for lesion in lesions:
                contrast = lesion.true_suv(scan.profile, scan.time_point_min) / max(
                    scan.background_suv[lesion.lesion_id], 0.05
                )
                apparent = 1.0 + (contrast - 1.0) * recovery_coefficient(
                    lesion.diameter_mm, scan.fwhm_mm
                )
                latent = math.log(max(apparent, 1e-3)) + shared[lesion.lesion_id]
                latent += _READER_BIAS[reader] + float(rng.normal(0.0, _READER_SD))
                score = 1 + sum(latent > cut for cut in _CUTS)
                if lesion.role != "primary":
                    patient_score = max(patient_score, score)
                rows.append(_read(reader, patient_id, lesion.lesion_id, scan, score, when))
            rows.append(_read(reader, patient_id, None, scan, patient_score, when))
    return rows


def _read(
    reader: str,
    patient_id: str,
    lesion_id: str | None,
    scan: ReadContext,
    score: int,
    when: datetime,
) -> dict[str, Any]:
    call = "positive" if score >= 4 else "indeterminate" if score == 3 else "negative"
    return {
        "reader_id": reader,
        "patient_id": patient_id,
        "lesion_id": lesion_id,
        "tracer": scan.profile.name,
        "time_point_min": scan.time_point_min,
        "score": score,
        "call": call,
        "read_datetime": when,
    }


@dataclass(frozen=True)
class _Sample:
    lesion_id: str
    sample_date: date
    histology: str


def pathology_rows(
    rng: np.random.Generator,
    patient_id: str,
    tumour_type: str,
    lesions: Sequence[LesionSpec],
    *,
    confirmation_date: date,
    confirmation_method: str,
    scan_date: date,
) -> list[dict[str, Any]]:
    """``pathology`` rows: the primary's confirming sample, sometimes a metastasis biopsy."""
    detail, assay = _HISTOLOGY[tumour_type]
    rows = []
    primary = next(lesion for lesion in lesions if lesion.role == "primary")
    rows.append(
        {
            "sample_id": f"{patient_id}-S01",
            "patient_id": patient_id,
            "lesion_id": primary.lesion_id,
            "sample_date": confirmation_date,
            "method": "surgical" if confirmation_method == "surgical" else "biopsy",
            "histology": "malignant",
            "histology_detail": detail,
            "pdl1_assay": assay,
            "pdl1_tps_pct": primary.pdl1_tps_pct,
            "pdl1_cps": primary.pdl1_cps,
        }
    )
    others = [lesion for lesion in lesions if lesion.role != "primary"]
    if others and rng.random() < 0.35:
        target = max(others, key=lambda lesion: lesion.diameter_mm)
        if rng.random() < 0.06:
            histology, text = "non_diagnostic", "Insufficient material"
        elif target.malignant:
            histology, text = "malignant", f"Metastasis of {detail.lower()}"
        else:
            histology, text = "benign", "Reactive lymph node with inflammation"
        malignant = histology == "malignant"
        rows.append(
            {
                "sample_id": f"{patient_id}-S02",
                "patient_id": patient_id,
                "lesion_id": target.lesion_id,
                "sample_date": scan_date + timedelta(days=int(rng.integers(3, 22))),
                "method": "biopsy",
                "histology": histology,
                "histology_detail": text,
                "pdl1_assay": assay if malignant else None,
                "pdl1_tps_pct": target.pdl1_tps_pct if malignant else None,
                "pdl1_cps": target.pdl1_cps if malignant else None,
            }
        )
    return rows


def reference_rows(
    rng: np.random.Generator,
    patient_id: str,
    lesions: Sequence[LesionSpec],
    pathology: Sequence[Mapping[str, Any]],
    *,
    scan_date: date,
    study_end: date,
) -> list[dict[str, Any]]:
    """``reference_standard`` rows, one per lesion."""
    diagnostic = {
        row["lesion_id"]: row for row in pathology if row["histology"] in ("malignant", "benign")
    }
    rows = []
    for lesion in lesions:
        outcome = "malignant" if lesion.malignant else "benign"
        if lesion.lesion_id in diagnostic:
            sample = diagnostic[lesion.lesion_id]
            rows.append(
                {
                    "lesion_id": lesion.lesion_id,
                    "patient_id": patient_id,
                    "standard": "histopathology",
                    "outcome": sample["histology"],
                    "assessment_date": sample["sample_date"],
                    "basis": f"Histopathology of sample {sample['sample_id']}",
                }
            )
            continue
        when = min(scan_date + timedelta(days=int(rng.integers(90, 181))), study_end)
        basis = (
            "Growth on follow-up CT and concordant clinical course"
            if lesion.malignant
            else "Stable or resolved on follow-up imaging for at least 3 months"
        )
        rows.append(
            {
                "lesion_id": lesion.lesion_id,
                "patient_id": patient_id,
                "standard": "follow_up_composite",
                "outcome": outcome,
                "assessment_date": when,
                "basis": basis,
            }
        )
    return rows


def follow_up_rows(
    rng: np.random.Generator,
    patient_id: str,
    lesions: Sequence[LesionSpec],
    *,
    scan_date: date,
    study_end: date,
    uptake_profile: TracerProfile | None,
    uptake_time_min: int = 60,
) -> list[dict[str, Any]]:
    """``follow_up`` rows: progression, death and last contact (see module docstring)."""
    primary = next(lesion for lesion in lesions if lesion.role == "primary")
    positive = (primary.pdl1_tps_pct or 0.0) >= 1.0
    metastatic = any(lesion.malignant and lesion.role != "primary" for lesion in lesions)
    malignant = [lesion for lesion in lesions if lesion.malignant]
    log_hr = math.log(0.6) * positive + math.log(1.8) * metastatic
    if uptake_profile is not None and malignant:
        top = max(lesion.true_suv(uptake_profile, uptake_time_min) for lesion in malignant)
        log_hr += math.log(0.8) * max(0.0, math.log2(top / 4.0))
    month_days = 30.4375
    pfs_rate = math.log(2.0) / 9.0 * math.exp(log_hr)
    pps_rate = math.log(2.0) / 10.0 * math.exp(0.5 * log_hr)
    pfs_days = float(rng.exponential(1.0 / pfs_rate)) * month_days
    os_days = pfs_days + float(rng.exponential(1.0 / pps_rate)) * month_days
    dropout_days = float(rng.exponential(1.0 / 0.02)) * month_days
    censor = min(study_end, scan_date + timedelta(days=max(1, int(dropout_days))))
    progression = scan_date + timedelta(days=max(1, int(pfs_days)))
    death = scan_date + timedelta(days=max(2, int(os_days)))
    if death <= progression:
        death = progression + timedelta(days=1)
    rows: list[dict[str, Any]] = []

    def add(event: str, when: date, source: str) -> None:
        rows.append(
            {
                "event_id": f"{patient_id}-F{len(rows) + 1:02d}",
                "patient_id": patient_id,
                "event": event,
                "event_date": when,
                "source": source,
            }
        )

    if progression <= censor:
        add("progression", progression, "RECIST 1.1 on follow-up CT")
    if death <= censor:
        add("death", death, "Civil registry")
    else:
        add("last_contact", censor, "Clinic visit" if censor < study_end else "Study end")
    return rows
