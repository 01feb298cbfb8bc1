"""Import 2,000 patients and their screening rows into a study database with petdx
(every cell validated, cross-table checks, one audit row per record, one transaction) and,
as the peer, pandas ``read_csv`` + ``DataFrame.to_sql`` of the same files into the same
tables (no validation, no audit), in the same run, on SQLite in a temporary folder.

The ratio peer / petdx (< 1: petdx slower) is the price of validation and the audit trail.
"""

from __future__ import annotations

import csv
import tempfile
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import delete

from benchmarks._timing import measure, report
from petdx.study.config import StudyConfig
from petdx.study.database import init_study, open_database
from petdx.study.importing import import_csv
from petdx.study.records import Author
from petdx.study.schema import audit_log, exchange_table, study_meta

N_PATIENTS = 2000


def _write(folder: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    patients, screening = [], []
    for k in range(N_PATIENTS):
        birth = date(1940, 1, 1) + timedelta(days=int(rng.integers(0, 20000)))
        screen = date(2025, 1, 1) + timedelta(days=int(rng.integers(0, 300)))
        pid = f"SIM-{k:05d}"
        patients.append(
            {
                "patient_id": pid,
                "sex": "MF"[k % 2],
                "birth_date": birth.isoformat(),
                "height_m": f"{rng.uniform(1.5, 1.95):.2f}",
                "weight_kg": f"{rng.uniform(45, 110):.1f}",
                "tumour_type": "nsclc",
                "ecog": str(int(rng.integers(0, 3))),
                "screening_date": screen.isoformat(),
            }
        )
        screening.append(
            {
                "patient_id": pid,
                "planned_scan_date": (screen + timedelta(days=10)).isoformat(),
                "consent_signed": "yes",
                "consent_date": screen.isoformat(),
                "malignancy_confirmed": "yes",
                "confirmation_method": "biopsy",
                "suspicious_lesions": "yes",
                "prior_antitumour_therapy": "no",
                "major_surgery": "no",
                "experimental_therapy": "no",
            }
        )
    paths = []
    for name, rows in (("patients", patients), ("screening", screening)):
        path = folder / f"{name}.csv"
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        paths.append(path)
    return paths[0], paths[1]


def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        patients_csv, screening_csv = _write(root)
        study = init_study(root / "study", StudyConfig())
        database = open_database(study)
        tables = [exchange_table("screening"), exchange_table("patients")]

        def clear() -> None:
            with database.engine.begin() as connection:
                connection.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_delete")
                for table in tables:
                    connection.execute(delete(table))
                connection.execute(delete(audit_log))
                connection.execute(delete(study_meta).where(study_meta.c.key == "audit_head"))

        def petdx_import() -> None:
            clear()
            author = Author("bench")
            import_csv(database, "patients", patients_csv, author=author)
            import_csv(database, "screening", screening_csv, author=author)

        def pandas_to_sql() -> None:
            clear()
            with database.engine.begin() as connection:
                for path, table in ((patients_csv, "patients"), (screening_csv, "screening")):
                    frame = pd.read_csv(path, parse_dates=False)
                    frame.to_sql(table, connection, if_exists="append", index=False)

        ours = measure("petdx import (validated, audited)", petdx_import, repeat=3)
        peer = measure("pandas read_csv + to_sql", pandas_to_sql, repeat=3)
        report(
            f"Study import: {N_PATIENTS} patients + screening rows (SQLite)",
            ours,
            peer,
            goal="within 10x of an unvalidated bulk insert (ratio >= 0.1)",
        )
        database.dispose()


if __name__ == "__main__":
    run()
