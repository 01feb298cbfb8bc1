"""Ingest loses nothing in silence (issue 20 Build 3): a PET series whose header cannot give
an SUV is stored with the reason naming the attribute (never a NaN or infinite factor, never
"a bug in petdx"), and a refused series leaves no file in images/. SQLite and PostgreSQL."""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from petdx.cli.app import app
from petdx.pipeline import ingest
from petdx.study.config import StudyFolder
from petdx.study.database import StudyDatabase
from petdx.study.importing import import_csv
from petdx.study.records import Author
from petdx.study.schema import instances, series
from tests.factories import pet_ct_visit, save_series
from tests.pipeline.test_ingest import _WeightChangingEncoder
from tests.study.cohort import PATIENTS, write_csv

ME = Author("tech")
INGEST_MODULE = importlib.import_module("petdx.pipeline.ingest")
COPY_MODULE = importlib.import_module("petdx.pipeline.series_copy")


@pytest.fixture
def enrolled(study: StudyFolder, database: StudyDatabase, tmp_path: Path) -> StudyFolder:
    import_csv(database, "patients", write_csv(tmp_path / "p.csv", PATIENTS), author=ME)
    return study


def _visit(folder: Path, **pet_values: str) -> None:
    pet, ct = pet_ct_visit()
    for ds in pet + ct:
        ds.PatientID = "SIM-0002"
    for ds in pet:
        item = ds.RadiopharmaceuticalInformationSequence[0]
        for keyword, value in pet_values.items():
            setattr(item if keyword.startswith("Radio") else ds, keyword, value)
    save_series(pet, folder / "PT")
    save_series(ct, folder / "CT")


def _files(study: StudyFolder, modality: str | None = None) -> list[Path]:
    found = list(study.images.rglob("*.dcm"))
    return [p for p in found if modality is None or p.parent.name.startswith(f"{modality}_")]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ({"PatientWeight": "nan"}, "PatientWeight (0010,1030) is nan"),
        ({"RadionuclideTotalDose": "inf"}, "RadionuclideTotalDose (0018,1074) is inf"),
        ({"RescaleSlope": "nan"}, "RescaleSlope (0028,1053) is nan"),
        (
            {"RadiopharmaceuticalStartDateTime": "20150101100000"},
            "more than 20 half-lives",
        ),
    ],
    ids=["weight-nan", "dose-inf", "slope-nan", "injection-years-before"],
)
def test_a_pet_header_without_a_plausible_suv_is_named_never_stored_as_nan_or_inf(
    enrolled: StudyFolder,
    database: StudyDatabase,
    tmp_path: Path,
    header: dict[str, str],
    expected: str,
) -> None:
    _visit(tmp_path / "dicom", **header)
    database.dispose()
    result = CliRunner().invoke(app, ["ingest", str(enrolled.root), str(tmp_path / "dicom")])
    assert "a bug in petdx" not in result.stderr
    assert expected in " ".join(result.stderr.split())
    with database.engine.connect() as connection:
        rows = connection.execute(select(series)).mappings().all()
    factors = [r["suv_factor"] for r in rows if r["suv_factor"] is not None]
    assert all(math.isfinite(f) for f in factors)
    if "RescaleSlope" in header:  # no volume can be read: the PET series is refused
        assert result.exit_code == 2
        assert [r["modality"] for r in rows] == ["CT"]
        assert _files(enrolled, "PT") == []
    else:  # stored for viewing, with the reason; not quantified
        assert result.exit_code == 0
        (pet_row,) = [r for r in rows if r["modality"] == "PT"]
        assert pet_row["suv_factor"] is None
        assert expected in pet_row["suv_error"]
        assert "stored without SUV" in result.stderr
    log = json.loads(next(enrolled.logs.glob("ingest-*.json")).read_text())
    assert all(math.isfinite(s["time_point_min"] or 0) for s in log["series"])


def test_a_series_refused_after_its_copies_were_written_leaves_no_file(
    enrolled: StudyFolder,
    database: StudyDatabase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(COPY_MODULE, "DeidentifiedFileEncoder", _WeightChangingEncoder)
    _visit(tmp_path / "dicom")
    result = ingest(enrolled, database, tmp_path / "dicom", author=ME, workers=1)
    assert [s.modality for s in result.series] == ["CT"]
    assert "SUV factors of 3 of the 3 de-identified frames differ" in result.problems[0].message
    assert _files(enrolled, "PT") == []
    assert len(_files(enrolled)) == 3  # the CT's
    assert list(enrolled.images.rglob("PT_*")) == []  # nor its folder


def test_a_series_whose_record_fails_leaves_no_file_and_no_inf_factor(
    enrolled: StudyFolder,
    database: StudyDatabase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The database write path refuses a non-finite SUV factor on its own (here one that
    slipped past compute_suv), and the files written for the series go."""
    real = INGEST_MODULE._plan_pet

    def plan_with_inf(*args: Any) -> Any:
        plan = real(*args)
        plan.suv["suv_factor"] = math.inf
        return plan

    monkeypatch.setattr(INGEST_MODULE, "_plan_pet", plan_with_inf)
    _visit(tmp_path / "dicom")
    result = ingest(enrolled, database, tmp_path / "dicom", author=ME, workers=1)
    assert [s.modality for s in result.series] == ["CT"]
    assert "SUV factor is inf, not a finite number" in result.problems[0].message
    assert _files(enrolled, "PT") == []
    with database.engine.connect() as connection:
        assert connection.execute(select(series.c.modality)).scalars().all() == ["CT"]
        assert len(connection.execute(select(instances)).all()) == 3


def test_run_notes_the_pet_series_it_cannot_quantify(
    enrolled: StudyFolder, database: StudyDatabase, tmp_path: Path
) -> None:
    """The series without SUV is not quantified, and ``petdx run`` says so (it dropped the
    patient's time point without a note)."""
    _visit(tmp_path / "dicom", PatientWeight="nan")
    ingest(enrolled, database, tmp_path / "dicom", author=ME)
    database.dispose()
    result = CliRunner().invoke(
        app, ["run", str(enrolled.root), "--workers", "1", "--no-pdf", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    notes = json.loads(result.stdout)["problems"]
    (note,) = [n for n in notes if "is not quantified" in n]
    assert note.startswith("SIM-0002 PT series 2.25.")
    assert "PatientWeight (0010,1030) is nan" in note
