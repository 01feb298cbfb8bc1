"""``petdx reads export-mrmc``: the long multi-reader table of a small study, its truth from
the reference standard, on stdout and to a file; a bad level exits 2."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from petdx.cli import app
from petdx.study.config import StudyConfig
from petdx.study.database import init_study, open_database
from petdx.study.records import insert_record
from tests.study.reading_study import AUTHOR, INDEX, seed_study

runner = CliRunner()


def _study(tmp_path: Path) -> Path:
    study = init_study(tmp_path / "study", StudyConfig())
    database = open_database(study)
    try:
        with database.begin_write() as c:
            seed_study(c, 1)
            insert_record(
                c,
                "reference_standard",
                {
                    "lesion_id": "RW-0001-L1",
                    "patient_id": "RW-0001",
                    "standard": "histopathology",
                    "outcome": "malignant",
                    "assessment_date": date(2026, 2, 1),
                },
                author=AUTHOR,
            )
            for reader, lesion, score in (
                ("R1", "RW-0001-L1", 5),
                ("R2", "RW-0001-L1", 3),
                ("R1", "RW-0001-L2", 2),  # no reference standard: left out
                ("R1", None, 4),
            ):
                insert_record(
                    c,
                    "reads",
                    {
                        "reader_id": reader,
                        "patient_id": "RW-0001",
                        "lesion_id": lesion,
                        "tracer": INDEX,
                        "time_point_min": 60,
                        "score": score,
                    },
                    author=AUTHOR,
                )
    finally:
        database.dispose()
    return study.root


def test_export_mrmc_writes_the_long_table(tmp_path: Path) -> None:
    root = _study(tmp_path)
    result = runner.invoke(app, ["reads", "export-mrmc", str(root)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows == [
        {
            "reader": "R1",
            "case": "RW-0001-L1",
            "tracer": INDEX,
            "time_point_min": "60",
            "rating": "5",
            "truth": "1",
        },
        {
            "reader": "R2",
            "case": "RW-0001-L1",
            "tracer": INDEX,
            "time_point_min": "60",
            "rating": "3",
            "truth": "1",
        },
    ]
    assert "1 reads without a reference standard" in result.stderr
    out = tmp_path / "mrmc.csv"
    patient = runner.invoke(
        app, ["reads", "export-mrmc", str(root), "--level", "patient", "--out", str(out)]
    )
    assert patient.exit_code == 0, patient.output
    assert out.read_text().splitlines() == [
        "reader,case,tracer,time_point_min,rating,truth",
        f"R1,RW-0001,{INDEX},60,4,1",
    ]
    bad = runner.invoke(app, ["reads", "export-mrmc", str(root), "--level", "scan"])
    assert bad.exit_code == 2
    assert "expected lesion or patient" in bad.stderr
