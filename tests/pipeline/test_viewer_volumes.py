"""The reader's viewer volumes (petdx.pipeline.viewer_volumes): NIfTI placement against the
DICOM geometry written by the test, values equal to petdx's SUV, the Bq/ml fallback flagged,
the cache per series."""

from __future__ import annotations

import math
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from pydicom.dataset import Dataset

from petdx.dicom import SeriesKind, index_dicom_folder, read_series_volume
from petdx.errors import InputValidationError
from petdx.pipeline.viewer_volumes import SUV_UNIT, viewer_volume
from petdx.study.layout import StudyLayout
from petdx.suv import compute_suv, suv_volume
from tests.factories import ct_series, pet_series, save_series

ROWS, COLS, SLICES = 6, 5, 4
ROW_MM, COL_MM, STEP_MM = 3.0, 2.0, 4.0
TILT = math.radians(20.0)
#: row direction (along a row: +column) and column direction (down the rows), tilted about x
X = np.array([1.0, 0.0, 0.0])
Y = np.array([0.0, math.cos(TILT), -math.sin(TILT)])
NORMAL = np.cross(X, Y)
P0 = np.array([-40.0, 12.5, -300.0])


def _tilted_pet(rng: np.random.Generator) -> list[Dataset]:
    """A PET series on a tilted, anisotropic grid with random stored values and per-slice
    slopes; files written in reverse slice order (the reader must sort them)."""
    datasets = pet_series(SLICES, rows=ROWS, cols=COLS)
    for k, ds in enumerate(datasets):
        ds.ImageOrientationPatient = [*X.tolist(), *Y.tolist()]
        ds.ImagePositionPatient = (P0 + k * STEP_MM * NORMAL).tolist()
        ds.PixelSpacing = [ROW_MM, COL_MM]
        ds.RescaleSlope = f"{0.5 + 0.25 * k:.2f}"
        ds.PixelData = rng.integers(0, 30000, (ROWS, COLS), dtype="<i2").tobytes()
    return datasets[::-1]


def _store(root: Path, datasets: list[Dataset], name: str) -> str:
    folder = root / "images" / "P001" / "study" / name
    save_series(datasets, folder)
    return str(folder.relative_to(root))


def _petdx_suv(root: Path, folder: str) -> np.ndarray:
    (entry,) = index_dicom_folder(root / folder).of_kind(SeriesKind.PT)
    image = read_series_volume(entry)
    return np.asarray(suv_volume(image, compute_suv(image, normalization="bw")).array)


def test_pet_nifti_is_placed_as_the_dicom_slices_say_and_holds_petdx_suv(tmp_path: Path) -> None:
    datasets = _tilted_pet(np.random.default_rng(7))
    folder = _store(tmp_path, datasets, "PT_1")
    uid = str(datasets[0].SeriesInstanceUID)
    volume = viewer_volume(StudyLayout(tmp_path), patient_id="P001", series_uid=uid, folder=folder)
    assert volume.kind == "PT"
    assert volume.unit == SUV_UNIT
    assert volume.is_suv
    assert volume.warning is None
    assert volume.path == tmp_path / "derived" / "P001" / "viewer" / f"{uid}.nii.gz"
    image = nib.load(volume.path)
    assert image.shape == (COLS, ROWS, SLICES)
    assert image.get_data_dtype() == np.float32
    data = np.asarray(image.dataobj)
    # every voxel centre: DICOM LPS from the test's own geometry, negated x and y for RAS
    for i in range(COLS):
        for j in range(ROWS):
            for k in range(SLICES):
                lps = P0 + k * STEP_MM * NORMAL + i * COL_MM * X + j * ROW_MM * Y
                ras = image.affine @ np.array([i, j, k, 1.0])
                np.testing.assert_allclose(ras[:3], [-lps[0], -lps[1], lps[2]], atol=1e-4)
    suv = _petdx_suv(tmp_path, folder)  # (z, y, x)
    np.testing.assert_array_equal(data, np.transpose(suv, (2, 1, 0)))
    # and by hand for one voxel: stored x slope x (weight / decayed dose), F-18 1 h after
    ds = next(d for d in datasets if np.allclose(d.ImagePositionPatient, P0 + 2 * STEP_MM * NORMAL))
    stored = np.frombuffer(ds.PixelData, dtype="<i2").reshape(ROWS, COLS)
    decayed = 370e6 * math.exp(-math.log(2) * 3600 / 6586.2)
    expected = stored[3, 4] * float(ds.RescaleSlope) * 70_000 / decayed
    assert data[4, 3, 2] == pytest.approx(expected, rel=1e-6)
    assert image.header["descrip"].tobytes().rstrip(b"\0") == b"petdx SUVbw"


def test_pet_without_weight_is_served_in_bq_per_ml_with_a_warning(tmp_path: Path) -> None:
    datasets = _tilted_pet(np.random.default_rng(8))
    for ds in datasets:
        del ds.PatientWeight
    folder = _store(tmp_path, datasets, "PT_2")
    uid = str(datasets[0].SeriesInstanceUID)
    volume = viewer_volume(StudyLayout(tmp_path), patient_id="P001", series_uid=uid, folder=folder)
    assert volume.unit == "Bq/ml"
    assert not volume.is_suv
    assert volume.warning is not None
    assert "could not be computed" in volume.warning
    assert "SUV" not in volume.warning
    assert "PatientWeight" not in volume.warning  # no header content goes to the reader
    data = np.asarray(nib.load(volume.path).dataobj)
    by_position = sorted(datasets, key=lambda d: float(np.dot(d.ImagePositionPatient, NORMAL)))
    for k, ds in enumerate(by_position):
        stored = np.frombuffer(ds.PixelData, dtype="<i2").reshape(ROWS, COLS)
        np.testing.assert_allclose(data[:, :, k], (stored * float(ds.RescaleSlope)).T, rtol=1e-6)


def test_ct_is_int16_hu_in_the_pet_world_and_the_cache_follows_the_files(tmp_path: Path) -> None:
    datasets = ct_series(3, rows=4, cols=4)
    for k, ds in enumerate(datasets):
        ds.PixelData = (np.arange(16, dtype="<i2").reshape(4, 4) * 100 + k).tobytes()
    folder = _store(tmp_path, datasets, "CT_1")
    uid = str(datasets[0].SeriesInstanceUID)
    layout = StudyLayout(tmp_path)
    volume = viewer_volume(layout, patient_id="P001", series_uid=uid, folder=folder)
    assert (volume.kind, volume.unit, volume.warning) == ("CT", "HU", None)
    image = nib.load(volume.path)
    assert image.get_data_dtype() == np.int16
    data = np.asarray(image.dataobj)
    assert data[1, 2, 0] == (2 * 4 + 1) * 100 + 0 - 1024  # row 2, column 1 of slice 0
    first = datasets[0]
    corner = image.affine @ np.array([0, 0, 0, 1.0])
    lps = np.asarray(first.ImagePositionPatient, dtype=float)
    np.testing.assert_allclose(corner[:3], [-lps[0], -lps[1], lps[2]])

    written = volume.path.stat().st_mtime_ns
    again = viewer_volume(layout, patient_id="P001", series_uid=uid, folder=folder)
    assert again == volume
    assert again.path.stat().st_mtime_ns == written
    ds = datasets[0]
    ds.PixelData = (np.full((4, 4), 2000, dtype="<i2")).tobytes()
    save_series([ds], tmp_path / folder, prefix="slice")  # the file changes: made again
    remade = viewer_volume(layout, patient_id="P001", series_uid=uid, folder=folder)
    assert np.asarray(nib.load(remade.path).dataobj)[0, 0, 0] == 2000 - 1024


def test_a_series_not_in_the_folder_or_a_folder_outside_is_refused(tmp_path: Path) -> None:
    folder = _store(tmp_path, ct_series(2), "CT_2")
    layout = StudyLayout(tmp_path)
    with pytest.raises(InputValidationError, match="no PET, CT or MR image series"):
        viewer_volume(layout, patient_id="P001", series_uid="1.2.3", folder=folder)
    with pytest.raises(InputValidationError, match="not a path inside the study folder"):
        viewer_volume(layout, patient_id="P001", series_uid="1.2.3", folder="../elsewhere")
