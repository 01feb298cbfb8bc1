"""A small study for the reader workstation's tests, written through the audited records:
patients with two registered lesions each, and PET/CT series rows (68Ga-DOTA-BLP at 60 and
120 min, FDG at 60 min) as ingest stores them; no image files (the web tests that need
images use the demo study)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Connection

from petdx.study.records import Author, insert_record

AUTHOR = Author("test-setup", "reader workstation test")
INDEX = "ga68-dota-blp"
FDG = "f18-fdg"


def lesion_ids(patient: str) -> tuple[str, str]:
    return (f"{patient}-L1", f"{patient}-L2")


def seed_study(connection: Connection, n_patients: int = 4) -> list[str]:
    """Insert ``n_patients`` patients (RW-0001, ...), their lesions, PET and CT series."""
    patients = []
    for i in range(1, n_patients + 1):
        patient = f"RW-{i:04d}"
        patients.append(patient)
        insert_record(
            connection,
            "patients",
            {
                "patient_id": patient,
                "sex": "F" if i % 2 else "M",
                "birth_date": date(1960, 1, i),
                "screening_date": date(2026, 1, i),
            },
            author=AUTHOR,
        )
        for n, lesion in enumerate(lesion_ids(patient)):
            insert_record(
                connection,
                "lesion_registry",
                {
                    "lesion_id": lesion,
                    "patient_id": patient,
                    "role": "primary" if n == 0 else "nodal",
                    "site": "lung" if n == 0 else "mediastinal_node",
                    "centre_x_mm": 10.0 * n,
                    "centre_y_mm": 5.0,
                    "centre_z_mm": -20.0 * n,
                },
                author=AUTHOR,
            )
        for tracer, point in ((INDEX, 60), (INDEX, 120), (FDG, 60)):
            for modality in ("PT", "CT"):
                uid = f"2.25.{i}{point}{len(tracer)}{1 if modality == 'PT' else 2}"
                insert_record(
                    connection,
                    "series",
                    {
                        "series_uid": uid,
                        "patient_id": patient,
                        "study_uid": f"2.25.{i}{len(tracer)}9",
                        "modality": modality,
                        "tracer": tracer,
                        "time_point_min": point,
                        "n_instances": 3,
                        "folder": f"images/{patient}/{uid}",
                    },
                    author=AUTHOR,
                )
    return patients


def at(days: float = 0.0) -> datetime:
    """A fixed moment, ``days`` later."""
    from datetime import UTC

    return datetime(2026, 12, 1, 9, 0, tzinfo=UTC) + timedelta(days=days)
