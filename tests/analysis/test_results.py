"""``petdx.analysis.results``: the typed results read back from ``results.json`` write the same
bytes again, sections leave out the keys of what was not computed (as results.json always
has), and a damaged file is refused naming the file and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from petdx.analysis.results import (
    Pdl1Section,
    Radiation,
    RetentionSection,
    RocEntry,
    Summary,
    SurvivalSection,
    load_results,
    results_json,
)
from petdx.errors import InputValidationError
from tests.demo_study import DemoStudy


@pytest.mark.slow
def test_results_json_reads_back_byte_identically(demo_study: DemoStudy) -> None:
    path = demo_study.reference / "results" / "results.json"
    results = load_results(path)
    assert results_json(results) == path.read_text(encoding="utf-8")
    doc = json.loads(path.read_text(encoding="utf-8"))
    # the typed fields hold what the file holds
    assert results.study.tracer == doc["study"]["tracer"]
    assert [e.label for e in results.roc.lesion] == [e["label"] for e in doc["roc"]["lesion"]]
    assert all(e.banded for e in results.roc.lesion)
    assert not any(e.banded for e in results.roc.patient)
    assert all("band" not in e for e in doc["roc"]["patient"])
    assert results.baseline.age_years.n == doc["baseline"]["age_years"]["n"]
    assert results.problems == tuple(doc["problems"])


def test_sections_leave_out_what_was_not_computed() -> None:
    # The keys of the results document as the analyses wrote it before the typed results.
    assert Summary(0, None, None, None).to_dict() == {
        "n": 0,
        "median": None,
        "q1": None,
        "q3": None,
    }
    assert set(Summary(2, 1.5, 1.25, 1.75, 1.0, 2.0).to_dict()) == {
        "n", "median", "q1", "q3", "min", "max",
    }  # fmt: skip
    assert Radiation("PET/CT", 0).to_dict() == {"modality": "PET/CT", "patients": 0}
    assert Pdl1Section("suv_max_60").to_dict() == {"column": "suv_max_60"}
    assert RetentionSection((60,), ()).to_dict() == {"time_points_min": [60], "groups": []}
    assert SurvivalSection("max_suv_max_60").to_dict() == {
        "grouping_column": "max_suv_max_60",
        "endpoints": [],
    }
    entry = RocEntry("patient", "max_suv_max_60", "SUVmax", {"auc": 0.8}, None, banded=False)
    assert "band" not in entry.to_dict()
    banded = RocEntry("lesion", "suv_max_60", "SUVmax", {"auc": 0.8}, None, banded=True)
    assert banded.to_dict()["band"] is None


def test_a_damaged_results_file_is_refused_naming_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"study": {"tracer": "x"}}), encoding="utf-8")
    with pytest.raises(InputValidationError, match=r"results\.json: field 'name' missing"):
        load_results(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputValidationError, match=r"results\.json: not a results file"):
        load_results(path)
