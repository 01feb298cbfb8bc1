"""``petdx quantify`` end to end on a synthetic two-time-point visit written as PET DICOM."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage
from typer.testing import CliRunner

from petdx.cli import app
from petdx.dicom import write_nifti_mask
from tests.dicom._dciodvfy import dciodvfy_errors
from tests.quantify.phantoms import ball, factories_grid, write_pet

SHAPE = (40, 48, 48)
LESION_A = (30.0, -20.0, 60.0)  # LPS mm
LESION_B = (30.0, 30.0, 110.0)
LIVER = (-40.0, 0.0, 100.0)
SHIFT_MM = np.array([4.0, 0.0, 8.0])  # patient motion between the scans (whole voxels)


def _scan(folder: Path, suv_a: float, suv_b: float, shift_mm: np.ndarray, seed: int) -> None:
    volume = factories_grid(SHAPE)
    s = tuple(shift_mm)

    def at(p: tuple[float, float, float]) -> tuple[float, ...]:
        return tuple(np.asarray(p) + s)

    values = np.where(ball(volume, at((0.0, 0.0, 78.0)), 85.0), 1.0, 0.05)
    values = np.where(ball(volume, at(LIVER), 32.0), 2.0, values)
    values = np.where(ball(volume, at(LESION_A), 12.0), suv_a, values)
    values = np.where(ball(volume, at(LESION_B), 10.0), suv_b, values)
    rng = np.random.default_rng(seed)
    values = values * (1 + 0.03 * rng.standard_normal(values.shape))
    values = ndimage.gaussian_filter(values, 0.5)
    write_pet(folder, volume.with_array(values.astype(np.float32)))


@pytest.fixture(scope="module")
def visit(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("visit")
    _scan(root / "t60", 8.0, 6.0, np.zeros(3), seed=1)
    _scan(root / "t120", 10.0, 4.5, SHIFT_MM, seed=2)
    return root / "t60", root / "t120"


def _point(p: tuple[float, float, float]) -> str:
    return ",".join(f"{v:g}" for v in p)


def _run(*args: str) -> tuple[int, str, str]:
    run = CliRunner().invoke(app, ["quantify", *args])
    return run.exit_code, run.stdout, run.stderr


@pytest.mark.slow
def test_two_time_points_with_seeds(visit: tuple[Path, Path], tmp_path: Path) -> None:
    t60, t120 = visit
    code, out, err = _run(
        str(t60),
        "--seed",
        _point(LESION_A),
        "--seed",
        _point(LESION_B),
        "--method",
        "percent:41",
        "--liver-centre",
        _point(LIVER),
        "--time-point",
        str(t120),
        "--out",
        str(tmp_path / "out"),
        "--psf-fwhm-mm",
        "4.7",  # the phantom's blur: Gaussian of 0.5 voxel of 4 mm
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    required = {
        "label",
        "voxels",
        "volume_ml",
        "suv_max",
        "suv_peak_local",
        "suv_peak_global",
        "suv_mean",
        "suv_sd",
        "tlg",
        "centroid_mm",
        "tbr_liver",
        "tbr_blood",
        "retention_index_pct",
    }
    assert {"series_instance_uid", "suv_factor", "reference_regions", "lesions"} <= set(data)
    a, b = data["lesions"]
    assert required <= set(a)
    assert a["tbr_blood"] is None
    assert a["tbr_liver"] == pytest.approx(a["suv_max"] / 2.0, rel=0.05)
    assert data["reference_regions"]["liver"]["mean_suv"] == pytest.approx(2.0, rel=0.03)
    assert a["match_status"] == b["match_status"] == "matched"
    assert a["retention_index_pct"] > 10  # 8 -> 10
    assert b["retention_index_pct"] < -10  # 6 -> 4.5
    # partial-volume corrected, same VOIs, uniform background: the true +25 % and -25 %
    assert a["follow_up"][0]["retention_index_pvc_pct"] == pytest.approx(25.0, abs=3.0)
    assert b["follow_up"][0]["retention_index_pvc_pct"] == pytest.approx(-25.0, abs=3.0)
    assert a["match_distance_mm"] < 4.0
    moved = data["time_points"][1]["alignment_to_first"]["translation_mm"]
    assert moved == pytest.approx(list(-SHIFT_MM), abs=1.5)
    table = pd.read_parquet(tmp_path / "out" / "measurements.parquet")
    assert len(table) == 4
    assert set(table["lesion_id"]) == {"L1", "L2"}
    assert {
        "petdx_version",
        "method",
        "method_parameters",
        "suv_normalization",
        "series_instance_uid",
    } <= set(table.columns)
    assert json.loads(table["method_parameters"][0])["percent_of_suv_max"] == 41.0
    csv = pd.read_csv(tmp_path / "out" / "measurements.csv")
    assert csv.shape == table.shape
    for name in ("lesions_tp1.seg.dcm", "measurements_tp1.sr.dcm", "lesions_tp2.seg.dcm"):
        assert dciodvfy_errors(tmp_path / "out" / name) == [], name


@pytest.mark.parametrize("method", ["local-contrast", "percist", None])
def test_detection_and_percist(visit: tuple[Path, Path], method: str | None) -> None:
    t60, _ = visit
    choice = ["--detect-method", method] if method else []
    code, out, err = _run(str(t60), "--detect", *choice, "--liver-centre", _point(LIVER), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["method"] == "detect"
    assert data["time_points"][0]["detection"]["method"] == (method or "local-contrast")
    assert data["percist_threshold_suv"] == pytest.approx(1.5 * 2.0 + 2 * 0.06, abs=0.1)
    centroids = sorted(tuple(np.round(les["centroid_mm"])) for les in data["lesions"])
    assert len(centroids) == 2
    assert np.allclose(centroids[0], LESION_A, atol=2.5)
    assert np.allclose(centroids[1], LESION_B, atol=2.5)


def test_bad_inputs_exit_2(visit: tuple[Path, Path], tmp_path: Path) -> None:
    t60, _ = visit
    cases = [
        ([str(t60)], "exactly one lesion source"),
        ([str(t60), "--seed", "1,2"], "three numbers"),
        ([str(t60), "--seed", "0,0,0", "--method", "magic"], "unknown method"),
        ([str(t60), "--seed", "0,0,0", "--method", "percent:140"], "at most 100"),
        ([str(t60), "--seed", "9999,0,0"], "outside the PET volume"),
        ([str(t60), "--detect"], "needs the PERCIST threshold"),
        ([str(t60), "--detect", "--detect-method", "blob"], "'blob' is not one of"),
        ([str(tmp_path)], "exactly one PET series, found 0"),
        ([str(t60), "--method", "percist", "--seed", _point(LESION_A)], "PERCIST threshold"),
        ([str(t60), "--seed", _point(LESION_A), "--psf-fwhm-mm", "-1"], "PSF FWHM -1.0 mm"),
    ]
    for args, message in cases:
        code, _, err = _run(*args)
        assert code == 2, args
        assert message in " ".join(err.split()), (args, err)
    # 3 mm voxels over the 4 mm PET: not a part of its grid (a whole-voxel crop would be)
    wrong = factories_grid((4, 4, 4), spacing_mm=3.0)
    path = write_nifti_mask(wrong.with_array(np.ones(wrong.shape, np.uint8)), tmp_path / "m.nii")
    code, _, err = _run(str(t60), "--mask", str(path))
    assert code == 2
    assert "not on the PET grid" in err
    assert "--resample nearest|fraction" in " ".join(err.split())


def test_bad_later_time_point_keeps_the_first(visit: tuple[Path, Path], tmp_path: Path) -> None:
    t60, _ = visit
    code, out, err = _run(
        str(t60), "--seed", _point(LESION_A), "--time-point", str(tmp_path), "--json"
    )
    assert code == 2
    assert "time point" in err
    assert len(json.loads(out)["lesions"]) == 1
