"""The study query API (petdx.study.queries) and the folder layout (petdx.study.layout)."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from petdx.study.config import StudyFolder
from petdx.study.database import StudyDatabase
from petdx.study.layout import StudyLayout
from petdx.study.queries import (
    patient_ids,
    recorded_instance_uids,
    row_type,
    store_instances,
    table_rows,
    table_snapshot,
)
from petdx.study.records import Author, insert_record
from petdx.study.schema import exchange_table

AUTHOR = Author("test", "query API")


def _patient(patient_id: str) -> dict[str, object]:
    return {
        "patient_id": patient_id,
        "sex": "F",
        "birth_date": date(1960, 5, 1),
        "screening_date": date(2026, 3, 2),
    }


def test_row_types_are_frozen_and_follow_the_table_columns() -> None:
    for name in ("patients", "lesion_registry", "reads", "series", "instances"):
        kind = row_type(name)
        assert [f.name for f in dataclasses.fields(kind)] == [
            c.name for c in exchange_table("patients").metadata.tables[name].columns
        ]
        assert kind.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert row_type("patients") is row_type("patients")  # one type per table


def test_reads_return_what_the_audited_writes_stored(database: StudyDatabase) -> None:
    with database.engine.begin() as connection:
        for pid in ("P-002", "P-001"):
            insert_record(
                connection,
                "patients",
                _patient(pid),
                author=AUTHOR,
            )
    with database.engine.connect() as connection:
        rows = table_rows(connection, "patients")
        assert sorted(r.patient_id for r in rows) == ["P-001", "P-002"]  # type: ignore[attr-defined]
        assert rows[0].as_dict()["sex"] == "F"
        assert list(rows[0].as_dict()) == [c.name for c in exchange_table("patients").columns]
        with pytest.raises(dataclasses.FrozenInstanceError):
            rows[0].sex = "M"  # type: ignore[attr-defined]
        assert patient_ids(connection) == frozenset({"P-001", "P-002"})
        snapshot = table_snapshot(connection, "patients")
        assert [r[0] for r in snapshot] == ["P-001", "P-002"]  # ordered by primary key


def test_instances_are_stored_and_moved(database: StudyDatabase) -> None:
    series_row = {
        "series_uid": "1.2.3",
        "study_uid": "1.2",
        "modality": "PT",
        "n_instances": 1,
        "folder": "images/P-001/1.2/PT_1.3",
    }
    row = {"sop_instance_uid": "1.2.3.1", "series_uid": "1.2.3", "path": "a.dcm", "sha256": "00"}
    with database.engine.begin() as connection:
        insert_record(connection, "patients", _patient("P-001"), author=AUTHOR)
        insert_record(connection, "series", series_row | {"patient_id": "P-001"}, author=AUTHOR)
        store_instances(connection, [row], [])
    with database.engine.begin() as connection:
        store_instances(connection, [], [row | {"path": "b.dcm", "sha256": "11"}])
    with database.engine.connect() as connection:
        assert recorded_instance_uids(connection, "1.2.3") == frozenset({"1.2.3.1"})
        assert recorded_instance_uids(connection, "9.9") == frozenset()
        (stored,) = table_rows(connection, "instances")
        assert (stored.path, stored.sha256) == ("b.dcm", "11")  # type: ignore[attr-defined]


def test_layout_places_every_output(study: StudyFolder) -> None:
    layout = study.layout
    assert layout == StudyLayout(study.root)
    assert study.images == study.root / "images"
    assert study.images.is_dir()
    assert layout.patient_summary("P-1") == study.root / "derived" / "P-1" / "summary.json"
    assert layout.scan_mip("P-1", "BLP", 60) == (
        study.root / "derived" / "P-1" / "BLP_60min" / "mip.npz"
    )
    assert layout.results.results_json == study.root / "results" / "results.json"
    assert layout.report_pdf == study.root / "report" / "report.pdf"
    assert layout.relative(layout.series_folder("P-1", "1.2", "PT", "1.3")) == Path(
        "images/P-1/1.2/PT_1.3"
    )
