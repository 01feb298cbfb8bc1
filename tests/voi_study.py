"""A one-patient simulated study for the reader-VOI tests (issue 14): a ``--small`` cohort of
one enrolled patient (68Ga-DOTA-BLP at 60 min, seed 3) imported and ingested, with the
simulator's lesions and ground-truth SEG beside it."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import numpy as np

from petdx.dicom import SeriesKind, index_dicom_folder, read_seg, read_series_volume
from petdx.pipeline.demo import DEMO_CONFIG, new_demo_study
from petdx.pipeline.ingest import ingest
from petdx.simulate import simulate_cohort
from petdx.study.config import StudyFolder
from petdx.study.database import init_study, open_database
from petdx.study.importing import import_exchange_tables
from petdx.study.records import Author

AUTHOR = Author("test", "reader VOI test")


def build_voi_study(root: Path, database_url: str | None = None) -> tuple[Path, StudyFolder]:
    """(cohort folder, study folder) under ``root`` (the demo's settings; on
    ``database_url`` when given, else SQLite)."""
    cohort = root / "cohort"
    simulate_cohort(cohort, n_patients=1, seed=3, small=True, time_points_min=(60,), workers=1)
    if database_url is None:
        study = new_demo_study(root / "study", cohort, author=AUTHOR)
    else:
        study = init_study(root / "study", replace(DEMO_CONFIG, database_url=database_url))
    database = open_database(study)
    try:
        if database_url is not None:
            import_exchange_tables(database, cohort, author=AUTHOR)
        result = ingest(study, database, cohort / "dicom", author=AUTHOR)
        assert not result.problems, result.problems
    finally:
        database.dispose()
    return cohort, study


def simulated_lesions(cohort: Path) -> list[dict[str, str]]:
    """The simulator's lesion table (lesions.csv: label, class, site, diameter, centre)."""
    with (cohort / "lesions.csv").open() as handle:
        return list(csv.DictReader(handle))


def truth_labels(cohort: Path) -> np.ndarray:
    """The simulator's ground-truth SEG read onto its (original) PET grid."""
    (entry,) = index_dicom_folder(next((cohort / "dicom").glob("*/*60min"))).of_kind(SeriesKind.PT)
    series = read_series_volume(entry)
    seg = next((cohort / "truth").glob("*/*60min/lesions_seg.dcm"))
    return np.asarray(read_seg(seg, series).labels.array)


def largest_lesion(cohort: Path) -> dict[str, str]:
    """The PD-L1-positive lesion of 20 mm or more outside the liver (docs/vois.md)."""
    rows = [
        row
        for row in simulated_lesions(cohort)
        if row["lesion_class"] == "pdl1_positive_malignant"
        and float(row["diameter_mm"]) >= 20
        and row["site"] != "liver"
    ]
    assert rows, "the simulated patient has no PD-L1-positive lesion of 20 mm outside the liver"
    return max(rows, key=lambda row: float(row["diameter_mm"]))
