"""The simulated cohort: layout and data dictionary, DICOM validity, SUV recovery, ground
truth against the images, reproducibility."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from scipy import ndimage
from typer.testing import CliRunner

from petdx.cli.app import app
from petdx.data_dictionary import TABLES, dictionary_rows
from petdx.dicom import SeriesKind, index_dicom_folder, read_series_volume
from petdx.dicom.seg import read_seg
from petdx.errors import InputValidationError
from petdx.image import Volume, same_grid
from petdx.pipeline.executors import fork_available
from petdx.simulate import ORGAN_LABELS, CohortSummary, simulate_cohort
from petdx.suv import compute_suv, suv_volume
from petdx.tracers import load_tracer_profile
from tests.executors import CountingExecutor
from tests.simulate.helpers import dciodvfy_errors, file_hashes, read_csv

Cohort = tuple[Path, CohortSummary]


def test_every_table_has_its_exact_columns_and_rows(small_cohort: Cohort) -> None:
    out, summary = small_cohort
    for name, table in TABLES.items():
        path = out / f"{name}.csv"
        header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
        assert tuple(header) == table.field_names, name
        assert read_csv(path), f"{name}.csv has no rows"
    assert summary.n_enrolled == 3
    truth = read_csv(out / "enrolment_truth.csv")
    assert sum(row["enrolled"] == "true" for row in truth) == 3
    assert len(read_csv(out / "patients.csv")) == summary.n_screened == 6  # 3 + at least 3


def test_data_dictionary_covers_every_csv_column(small_cohort: Cohort) -> None:
    """Every column of every CSV the cohort holds is described in data_dictionary.csv, and
    the file is petdx.data_dictionary.dictionary_rows() itself."""
    out, _ = small_cohort
    dictionary = read_csv(out / "data_dictionary.csv")
    assert dictionary == dictionary_rows()
    described = {(row["table"], row["field"]) for row in dictionary}
    csv_files = sorted(p for p in out.rglob("*.csv") if p.name != "data_dictionary.csv")
    assert len(csv_files) == len(TABLES)
    for path in csv_files:
        header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
        for column in header:
            assert (path.stem, column) in described, f"{path.name}: {column} undocumented"


def test_layout_and_synthetic_identities(small_cohort: Cohort) -> None:
    out, _ = small_cohort
    scans = read_csv(out / "scans.csv")
    enrolled = {
        row["patient_id"]
        for row in read_csv(out / "enrolment_truth.csv")
        if row["enrolled"] == "true"
    }
    assert {row["patient_id"] for row in scans} == enrolled
    assert sorted(p.name for p in (out / "dicom").iterdir()) == sorted(enrolled)
    for scan in scans:
        folder = out / scan["dicom_folder"]
        assert folder.name == f"{scan['tracer']}_{scan['time_point_min']}min"
        pet = sorted((folder / "PT").glob("*.dcm"))
        ct = sorted((folder / "CT").glob("*.dcm"))
        assert pet
        assert ct
        header = pydicom.dcmread(pet[0], stop_before_pixels=True)
        assert header.PatientID == scan["patient_id"]
        assert str(header.PatientName) == f"SYNTHETIC^{scan['patient_id']}"
        assert header.SeriesInstanceUID == scan["pet_series_uid"]
        ct_header = pydicom.dcmread(ct[0], stop_before_pixels=True)
        assert ct_header.SeriesInstanceUID == scan["ct_series_uid"]
        assert ct_header.FrameOfReferenceUID == header.FrameOfReferenceUID
        truth = out / "truth" / scan["patient_id"] / folder.name
        assert (truth / "lesions_seg.dcm").is_file()
        assert (truth / "lesions.nii.gz").is_file()
    for patient in enrolled:
        organs = Volume.from_nifti(nib.load(out / "truth" / patient / "organs.nii.gz"))
        assert set(np.unique(organs.array)) == {0, *ORGAN_LABELS.values()}


def test_dciodvfy_finds_no_error(small_cohort: Cohort) -> None:
    """dicom3tools' validator: no errors in a PET slice, a CT slice and the truth SEG."""
    out, _ = small_cohort
    scan = read_csv(out / "scans.csv")[0]
    folder = out / scan["dicom_folder"]
    pet = sorted((folder / "PT").glob("*.dcm"))
    ct = sorted((folder / "CT").glob("*.dcm"))
    seg = out / "truth" / scan["patient_id"] / folder.name / "lesions_seg.dcm"
    for path in (pet[len(pet) // 2], ct[len(ct) // 2], seg):
        assert dciodvfy_errors(path) == [], path.name


def _liver_voi(out: Path, patient: str) -> tuple[Volume, np.ndarray]:
    organs = Volume.from_nifti(nib.load(out / "truth" / patient / "organs.nii.gz"))
    liver = organs.array == ORGAN_LABELS["liver"]
    # A large VOI well inside the liver: two voxels (12 mm at --small) from its surface.
    return organs, ndimage.binary_erosion(liver, iterations=2)


def _liver_cv(out: Path, scan: dict[str, str], *, voxel_mm: float | None = None) -> float:
    """Voxel coefficient of variation of SUV in the liver VOI of one scan (its PET voxels
    checked to be ``voxel_mm`` when given)."""
    (entry,) = index_dicom_folder(out / scan["dicom_folder"] / "PT").of_kind(SeriesKind.PT)
    series = read_series_volume(entry)
    if voxel_mm is not None:
        assert series.volume.spacing_mm == pytest.approx((voxel_mm,) * 3)
    suv = suv_volume(series, compute_suv(series))
    _, voi = _liver_voi(out, scan["patient_id"])
    values = suv.array[voi]
    return float(values.std() / values.mean())


def test_suv_recovers_the_profile_liver(small_cohort: Cohort) -> None:
    """petdx.suv on every simulated PET series: mean SUVbw in a large liver VOI within 5 %
    of the tracer profile's liver SUV at that time point (issue 3 acceptance)."""
    out, _ = small_cohort
    for scan in read_csv(out / "scans.csv"):
        profile = load_tracer_profile(scan["tracer"])
        expected = profile.organ_suv("liver", int(scan["time_point_min"]))
        (entry,) = index_dicom_folder(out / scan["dicom_folder"] / "PT").of_kind(SeriesKind.PT)
        series = read_series_volume(entry)
        result = compute_suv(series, normalization="bw")
        assert result.warnings == ()
        suv = suv_volume(series, result)
        organs, voi = _liver_voi(out, scan["patient_id"])
        assert same_grid(suv, organs)
        assert voi.sum() > 200
        measured = float(suv.array[voi].mean())
        assert measured == pytest.approx(expected, rel=0.05), scan["scan_id"]


def test_petdx_suv_command_reads_the_series(small_cohort: Cohort) -> None:
    """The same series through ``petdx suv --json``: no error, no header warning, the
    decay reference is the series time, the injected activity that of scans.csv."""
    out, _ = small_cohort
    scan = read_csv(out / "scans.csv")[0]
    result = CliRunner().invoke(app, ["suv", str(out / scan["dicom_folder"]), "--json"])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert row["error"] is None
    assert row["warnings"] == []
    assert row["reference_time_rule"] == "series-datetime"
    assert row["injected_activity_bq"] == pytest.approx(
        float(scan["administered_activity_mbq"]) * 1e6, rel=1e-6
    )


def test_seg_centroids_match_lesions_csv(small_cohort: Cohort) -> None:
    """Every lesion's SEG centroid (read back with petdx.dicom.seg on the PET grid) is within
    one voxel of its lesions.csv centre, and the SEG equals lesions.nii.gz."""
    out, _ = small_cohort
    lesions = read_csv(out / "lesions.csv")
    for scan in read_csv(out / "scans.csv"):
        folder = out / scan["dicom_folder"]
        (entry,) = index_dicom_folder(folder / "PT").of_kind(SeriesKind.PT)
        series = read_series_volume(entry)
        truth = out / "truth" / scan["patient_id"] / folder.name
        seg = read_seg(truth / "lesions_seg.dcm", series)
        nifti = Volume.from_nifti(nib.load(truth / "lesions.nii.gz"))
        assert same_grid(nifti, seg.labels)
        assert np.array_equal(np.asarray(nifti.array), np.asarray(seg.labels.array))
        voxel_mm = max(series.volume.spacing_mm)
        mine = [row for row in lesions if row["patient_id"] == scan["patient_id"]]
        assert sorted(seg.segment_labels) == sorted(int(row["label"]) for row in mine)
        for row in mine:
            label = int(row["label"])
            assert seg.segment_labels[label] == row["lesion_id"]
            centroid = ndimage.center_of_mass(np.asarray(seg.labels.array) == label)
            position = seg.labels.index_to_patient_mm(np.array(centroid))
            centre = np.array([float(row[f"centre_{a}_mm"]) for a in "xyz"])
            assert np.linalg.norm(position - centre) <= voxel_mm, row["lesion_id"]


def test_lesion_truth_is_plausible(small_cohort: Cohort) -> None:
    """Issue 3: a primary and 1-8 other lesions per patient, 6-40 mm, biology consistent
    with the class, an uptake row per lesion and scan."""
    out, _ = small_cohort
    lesions = read_csv(out / "lesions.csv")
    uptake = read_csv(out / "lesion_uptake.csv")
    scans = read_csv(out / "scans.csv")
    for patient in {row["patient_id"] for row in scans}:
        mine = [row for row in lesions if row["patient_id"] == patient]
        assert sum(row["role"] == "primary" for row in mine) == 1
        assert 1 <= len(mine) - 1 <= 8
        n_scans = sum(row["patient_id"] == patient for row in scans)
        assert sum(row["patient_id"] == patient for row in uptake) == n_scans * len(mine)
    for row in lesions:
        assert 5.0 <= float(row["diameter_mm"]) <= 40.0
        benign = row["lesion_class"] == "benign_inflammatory"
        assert (row["malignant"] == "false") == benign
        assert (row["pdl1_tps_pct"] == "") == benign
        if row["lesion_class"] == "pdl1_positive_malignant":
            assert float(row["pdl1_tps_pct"]) >= 1
        if not benign:
            assert float(row["pdl1_cps"]) >= float(row["pdl1_tps_pct"])


def test_reference_standard_and_pathology_agree(small_cohort: Cohort) -> None:
    out, _ = small_cohort
    lesions = {row["lesion_id"]: row for row in read_csv(out / "lesions.csv")}
    reference = read_csv(out / "reference_standard.csv")
    assert {row["lesion_id"] for row in reference} == set(lesions)
    for row in reference:
        truth = "malignant" if lesions[row["lesion_id"]]["malignant"] == "true" else "benign"
        assert row["outcome"] == truth
    for row in read_csv(out / "pathology.csv"):
        if row["histology"] != "non_diagnostic":
            truth = lesions[row["lesion_id"]]["malignant"] == "true"
            assert (row["histology"] == "malignant") == truth


@pytest.mark.slow
def test_same_seed_same_bytes_any_worker_count(tmp_path: Path) -> None:
    """Same seed: identical hashes of every file (pixel data, SEG, NIfTI, CSV, TOML), with
    two spawned or forked worker processes or in this process on an executor given by the
    caller. Another seed: a different cohort."""
    first = simulate_cohort(tmp_path / "a", n_patients=2, seed=11, small=True, workers=2)
    given = CountingExecutor()
    simulate_cohort(tmp_path / "b", n_patients=2, seed=11, small=True, executor=given)
    assert given.submitted == 2  # one task per enrolled patient, on the executor given
    simulate_cohort(tmp_path / "c", n_patients=2, seed=12, small=True, workers=1)
    a, b, c = (file_hashes(tmp_path / name) for name in "abc")
    assert first.n_dicom_files > 0
    assert a == b
    if fork_available():  # as `petdx simulate` runs it
        simulate_cohort(
            tmp_path / "d", n_patients=2, seed=11, small=True, workers=2, fork_workers=True
        )
        assert file_hashes(tmp_path / "d") == a
    assert a["patients.csv"] != c["patients.csv"]
    assert a["lesions.csv"] != c["lesions.csv"]
    pixels = [
        pydicom.dcmread(sorted((root / "dicom").rglob("PT*.dcm"))[40]).PixelData
        for root in (tmp_path / "a", tmp_path / "c")
    ]
    assert pixels[0] != pixels[1]


def test_failed_run_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash while imaging: no output folder, no temporary folder left behind."""
    import petdx.simulate.cohort as cohort_module

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full (simulated)")

    monkeypatch.setattr(cohort_module, "simulate_patient_images", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        simulate_cohort(tmp_path / "out", n_patients=1, seed=1, small=True, workers=1)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        # the library names its parameters; the command line turns them into flags
        ({"n_patients": 0}, r"n_patients 0: expected a whole number"),
        ({"seed": -1}, r"seed -1: expected a whole number >= 0"),
        ({"voxel_mm": 0.5}, r"voxel_mm 0.5: expected 1 to 10 mm"),
        ({"time_points_min": (60, 60)}, r"expected distinct whole minutes"),
        ({"time_points_min": (30,)}, r"tabulated from 60 to 120 min.*30 min is outside"),
        ({"tracer": "c11-choline"}, r"Unknown tracer 'c11-choline'"),
    ],
)
def test_bad_parameters(tmp_path: Path, options: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"n_patients": 1, "seed": 1, "small": True}
    arguments.update(options)
    with pytest.raises(InputValidationError, match=message):
        simulate_cohort(tmp_path / "out", **arguments)  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()


def test_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(InputValidationError, match="already exists and is not empty"):
        simulate_cohort(tmp_path, n_patients=1, seed=1, small=True)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


@pytest.mark.slow
def test_liver_noise_at_default_settings(tmp_path: Path) -> None:
    """Default settings (4 mm voxels, 68Ga-DOTA-BLP 2 MBq/kg, 3 and 5 min per bed): the
    liver's voxel coefficient of variation is 10-15 % at 60 and 120 min (issue 3), for a
    patient of ordinary build (seed 3: 73.7 kg, 1.76 m)."""
    out = tmp_path / "c"
    simulate_cohort(out, n_patients=1, seed=3, workers=1)
    scans = read_csv(out / "scans.csv")
    patient = next(
        p for p in read_csv(out / "patients.csv") if p["patient_id"] == scans[0]["patient_id"]
    )
    assert 65 <= float(patient["weight_kg"]) <= 85
    for scan in scans:
        assert 0.10 <= _liver_cv(out, scan, voxel_mm=4.0) <= 0.15, scan["scan_id"]


def test_tracer_outside_the_data_dictionary_is_refused_early(tmp_path: Path) -> None:
    """A custom profile whose name the study tables cannot hold is refused before any image
    is simulated."""
    text = load_tracer_profile("ga68-dota-blp").path.read_text(encoding="utf-8")
    custom = tmp_path / "cu64.toml"
    custom.write_text(
        text.replace('name = "ga68-dota-blp"', 'name = "cu64-test"'), encoding="utf-8"
    )
    with pytest.raises(InputValidationError, match=r"'cu64-test' is not one of the tracers"):
        simulate_cohort(tmp_path / "out", n_patients=1, seed=1, small=True, tracer=custom)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_adding_fdg_leaves_the_study_tracer_unchanged(tmp_path: Path) -> None:
    """Same seed with and without --with-fdg: the 68Ga-DOTA-BLP images, the lesions and
    every study-tracer row are identical; only the FDG scans and their rows are added."""
    simulate_cohort(tmp_path / "ga", n_patients=2, seed=21, small=True, workers=1)
    simulate_cohort(tmp_path / "both", n_patients=2, seed=21, small=True, with_fdg=True, workers=1)
    alone, both = file_hashes(tmp_path / "ga"), file_hashes(tmp_path / "both")
    study_tracer = {k: v for k, v in alone.items() if "ga68-dota-blp_" in k}
    assert study_tracer
    assert {k: both[k] for k in study_tracer} == study_tracer
    for name in ("patients", "screening", "exposures", "lesions", "enrolment_truth", "follow_up"):
        assert alone[f"{name}.csv"] == both[f"{name}.csv"], name
    for name in ("scans", "lesion_uptake", "reads"):
        rows = read_csv(tmp_path / "both" / f"{name}.csv")
        kept = [row for row in rows if row["tracer"] == "ga68-dota-blp"]
        assert kept == read_csv(tmp_path / "ga" / f"{name}.csv"), name
        assert len(kept) < len(rows)


@pytest.mark.cohort
def test_noise_free_cohort_differs_only_in_pet_noise(tmp_path: Path) -> None:
    """--noise-alpha 0 (a validation aid): same seed, same lesions, truth and CT; the PET
    keeps only the organ texture (liver texture CV 4 % in both profiles, partial volume
    at the VOI's edge adds a little) while the default noise gives a CV of several times
    that; cohort.toml records the setting."""
    runner = CliRunner()
    for name, extra in (("noisy", []), ("clean", ["--noise-alpha", "0"])):
        result = runner.invoke(
            app,
            ["simulate", str(tmp_path / name), "--patients", "1", "--seed", "5", "--small"] + extra,
        )
        assert result.exit_code == 0, result.output
    noisy, clean = file_hashes(tmp_path / "noisy"), file_hashes(tmp_path / "clean")
    assert noisy.keys() == clean.keys()
    for path, digest in noisy.items():
        if "/PT/" in path or path == "cohort.toml":
            continue
        assert clean[path] == digest, f"{path} depends on the PET noise"
    assert "noise_alpha = 0.0" in (tmp_path / "clean" / "cohort.toml").read_text()
    for scan in read_csv(tmp_path / "clean" / "scans.csv"):
        clean_cv = _liver_cv(tmp_path / "clean", scan)
        noisy_cv = _liver_cv(tmp_path / "noisy", scan)
        assert clean_cv < 0.06, scan["scan_id"]
        assert noisy_cv > 1.5 * clean_cv, scan["scan_id"]


def test_negative_noise_is_refused_by_the_cli(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            str(tmp_path / "c"),
            "--patients",
            "1",
            "--seed",
            "1",
            "--small",
            "--noise-alpha",
            "-1",
        ],
    )
    assert result.exit_code == 2
    assert "--noise-alpha" in result.output
    assert not (tmp_path / "c").exists()
