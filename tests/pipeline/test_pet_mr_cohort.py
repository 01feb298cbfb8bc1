"""A simulated PET/MR cohort of 3 patients through ``petdx run`` to the report (issue 12)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pydicom
import pytest

from petdx.dicom import SeriesKind, index_dicom_folder
from petdx.pipeline.demo import new_demo_study
from petdx.pipeline.run import run_study
from petdx.simulate import simulate_cohort
from petdx.study.records import Author
from tests.dicom._dciodvfy import dciodvfy_errors

# One worker builds the module's PET/MR study (split across both, each built it: 2 min).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("pet_mr_cohort")]

AUTHOR = Author("test", "PET/MR cohort")


@pytest.fixture(scope="module")
def pet_mr_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pet-mr")
    cohort = root / "cohort"
    simulate_cohort(
        cohort, n_patients=3, seed=1, with_fdg=True, small=True, modality="pet-mr", workers=1
    )
    study = new_demo_study(root / "study", cohort, author=AUTHOR)
    run_study(study.root, sources=[cohort / "dicom"], workers=1, pdf=False, author=AUTHOR)
    return root


def test_the_pet_mr_cohort_has_pet_mr_and_mu_maps_and_no_ct(pet_mr_study: Path) -> None:
    scan = next((pet_mr_study / "cohort" / "dicom" / "SIM-0001").iterdir())
    index = index_dicom_folder(scan)
    assert not index.of_kind(SeriesKind.CT)
    (pet,) = index.of_kind(SeriesKind.PT)
    assert "MR-based" in str(pet.first_header.AttenuationCorrectionMethod)
    assert {s.description.split(" ")[0] for s in index.of_kind(SeriesKind.MR)} == {
        "MRAC_PET_AC_Dixon_F",
        "MRAC_PET_AC_Dixon_W",
    }
    (umap,) = index.attenuation_maps_of(pet)
    # Soft tissue 0.1 /cm x 10000 (Martinez-Moeller 2009): read back with pydicom directly.
    pixels = pydicom.dcmread(umap.instances[len(umap.instances) // 2].path).pixel_array
    assert set(pixels.ravel().tolist()) <= {0, 224, 854, 1000}
    assert 1000 in pixels
    for entry in (pet, umap, *index.of_kind(SeriesKind.MR)):
        assert dciodvfy_errors(entry.instances[0].path) == []
    with (pet_mr_study / "cohort" / "scans.csv").open(newline="") as handle:
        scans = list(csv.DictReader(handle))
    assert scans
    assert all(not row["ct_series_uid"] for row in scans)  # no CT written, none named


def test_run_records_mr_attenuation_and_the_report_says_pet_mr(pet_mr_study: Path) -> None:
    study = pet_mr_study / "study"
    summary = json.loads((study / "derived" / "SIM-0001" / "summary.json").read_text())
    methods = {s["attenuation_correction_method"] for s in summary["scans"]}
    assert methods == {"MR-based (Dixon segmentation, simulated)"}
    # SUV provenance per scan: the simulator writes no vendor private SUV scaling.
    for scan in summary["scans"]:
        assert isinstance(scan["suv_warnings"], list)
        assert scan["suv_vendor_check"] is None
    results = json.loads((study / "results" / "results.json").read_text())
    assert results["study"]["hybrid_modality"] == "PET/MR"
    html = (study / "report" / "report.html").read_text()
    assert "<b>Index test.</b> PET/MR:" in html
    assert "The study scans\nwere PET/MR" in html
    assert "there is no CT dose" in html


def test_the_radiation_budget_is_the_radiopharmaceutical_dose_by_hand(pet_mr_study: Path) -> None:
    """Oracle: the simulator's scans.csv read with csv, one injection per (patient, injection
    time), x the dose coefficient read from each tracer's TOML with tomllib (ICRP 128 for FDG)."""
    import csv
    import statistics
    import tomllib

    import petdx.tracers

    folder = Path(petdx.tracers.__file__).parent
    coefficient = {
        name: tomllib.loads((folder / f"{name}.toml").read_text())["dosimetry"][
            "effective_dose_msv_per_mbq"
        ]
        for name in ("ga68-dota-blp", "f18-fdg")
    }
    injections: dict[tuple[str, str], float] = {}
    with (pet_mr_study / "cohort" / "scans.csv").open() as f:
        for row in csv.DictReader(f):
            key = (row["patient_id"], row["injection_datetime"])
            injections[key] = float(row["administered_activity_mbq"]) * coefficient[row["tracer"]]
    per_patient: dict[str, float] = {}
    for (patient, _), msv in injections.items():
        per_patient[patient] = per_patient.get(patient, 0.0) + msv
    radiation = json.loads((pet_mr_study / "study" / "results" / "results.json").read_text())[
        "study"
    ]["radiation"]
    assert radiation["modality"] == "PET/MR"
    assert radiation["patients"] == 3
    assert radiation["median_msv"] == pytest.approx(statistics.median(per_patient.values()))
    assert radiation["max_msv"] == pytest.approx(max(per_patient.values()))
    html = (pet_mr_study / "study" / "report" / "report.html").read_text()
    assert f"median {statistics.median(per_patient.values()):.2f} mSv" in html
