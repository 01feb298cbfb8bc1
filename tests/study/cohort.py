"""A small hand-made cohort in the exchange format, for import and eligibility tests.

Three patients: SIM-0001 eligible, SIM-0002 excluded by recent surgery, SIM-0003 without
consent date (written_consent and age_18_or_over unknown). Tests copy a table, change one
cell, and write it with :func:`write_csv`.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from petdx.data_dictionary import TABLES

PATIENTS: list[dict[str, str]] = [
    {
        "patient_id": "SIM-0001",
        "sex": "F",
        "birth_date": "1960-03-15",
        "height_m": "1.65",
        "weight_kg": "62.5",
        "tumour_type": "nsclc",
        "ecog": "1",
        "screening_date": "2025-05-02",
    },
    {
        "patient_id": "SIM-0002",
        "sex": "M",
        "birth_date": "1955-11-30",
        "height_m": "1.80",
        "weight_kg": "81",
        "tumour_type": "melanoma",
        "ecog": "0",
        "screening_date": "2025-05-05",
    },
    {
        "patient_id": "SIM-0003",
        "sex": "M",
        "birth_date": "1970-01-01",
        "height_m": "",
        "weight_kg": "75",
        "tumour_type": "hnscc",
        "ecog": "",
        "screening_date": "2025-05-06",
    },
]

_SCREEN_BASE = {
    "consent_signed": "yes",
    "consent_by": "subject",
    "malignancy_confirmed": "yes",
    "confirmation_method": "biopsy",
    "confirmation_date": "2025-04-20",
    "suspicious_lesions": "yes",
    "suspicious_lesion_kind": "nodal",
    "imaging_date": "2025-04-22",
    "prior_antitumour_therapy": "no",
    "prior_therapy_date": "",
    "cannot_tolerate_scan": "no",
    "scan_contraindication": "no",
    "major_surgery": "no",
    "major_surgery_date": "",
    "experimental_therapy": "no",
    "experimental_therapy_date": "",
    "investigator_excludes": "no",
    "investigator_reason": "",
}

SCREENING: list[dict[str, str]] = [
    {
        **_SCREEN_BASE,
        "patient_id": "SIM-0001",
        "planned_scan_date": "2025-05-12",
        "consent_date": "2025-05-02",
    },
    {
        **_SCREEN_BASE,
        "patient_id": "SIM-0002",
        "planned_scan_date": "2025-05-15",
        "consent_date": "2025-05-05",
        "major_surgery": "yes",
        "major_surgery_date": "2025-03-01",
    },
    {
        **_SCREEN_BASE,
        "patient_id": "SIM-0003",
        "planned_scan_date": "2025-05-16",
        "consent_date": "",
    },
]

EXPOSURES: list[dict[str, str]] = [
    {
        "exposure_id": "EXP-1",
        "patient_id": "SIM-0001",
        "exposure_date": "2025-01-10",
        "modality": "CT",
        "radiopharmaceutical": "",
        "administered_activity_mbq": "",
        "ct_dlp_mgy_cm": "500",
        "ct_region": "chest",
        "effective_dose_msv": "",
        "description": "staging CT",
    },
]

LESIONS: list[dict[str, str]] = [
    {
        "lesion_id": "SIM-0001-L1",
        "patient_id": "SIM-0001",
        "role": "primary",
        "site": "lung",
        "centre_x_mm": "40.5",
        "centre_y_mm": "10",
        "centre_z_mm": "-120",
        "identified_by": "R1",
    },
    {
        "lesion_id": "SIM-0001-L2",
        "patient_id": "SIM-0001",
        "role": "nodal",
        "site": "mediastinal_node",
        "centre_x_mm": "5",
        "centre_y_mm": "20",
        "centre_z_mm": "-100",
        "identified_by": "R1",
    },
]


def write_csv(path: Path, rows: Sequence[dict[str, str]], *, table: str | None = None) -> Path:
    """Write rows (all keys of the first row as the header, or the table's fields)."""
    header = list(rows[0]) if rows else list(TABLES[table].field_names if table else [])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def copy_rows(rows: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    return [dict(r) for r in rows]
