"""Read a whole-body PET series (600 slices, 256 x 256, per-slice RescaleSlope) with petdx and
with SimpleITK's ImageSeriesReader (GDCM), in the same run, from the same files.

Both sides start from the folder: SimpleITK finds the series with GetGDCMSeriesFileNames
(which reads and sorts the headers) and reads it with per-slice rescale; petdx indexes the
folder and assembles the volume. The files are generated here and read once before timing,
so both read from the page cache.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from tests.factories import pet_series, save_series

from benchmarks._timing import measure, report
from petdx.dicom import SeriesKind, index_dicom_folder, read_series_volume

N_SLICES = 600
MATRIX = 256


def _write_series(folder: Path) -> None:
    rng = np.random.default_rng(0)
    series = pet_series(N_SLICES, rows=MATRIX, cols=MATRIX, spacing_mm=3.0)
    for k, ds in enumerate(series):
        ds.RescaleSlope = f"{0.5 + 0.001 * k:.4f}"
        ds.PixelData = rng.integers(0, 32000, (MATRIX, MATRIX), dtype="<i2").tobytes()
    save_series(series, folder)


def _petdx(folder: Path) -> np.ndarray:
    (entry,) = index_dicom_folder(folder).of_kind(SeriesKind.PT)
    return read_series_volume(entry).volume.array


def _simpleitk(folder: Path) -> np.ndarray:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    return sitk.GetArrayFromImage(reader.Execute())


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="petdx-bench-") as tmp:
        folder = Path(tmp) / "pet"
        _write_series(folder)
        ours, peer = _petdx(folder), _simpleitk(folder)
        assert ours.shape == peer.shape == (N_SLICES, MATRIX, MATRIX)
        assert np.allclose(ours, peer, rtol=1e-5), "petdx and SimpleITK disagree on the values"
        return report(
            f"Read a {N_SLICES}-slice {MATRIX}x{MATRIX} PET series (index + volume)",
            measure(
                "petdx index_dicom_folder+read_series_volume", lambda: _petdx(folder), repeat=7
            ),
            measure("SimpleITK ImageSeriesReader (GDCM)", lambda: _simpleitk(folder), repeat=7),
            goal="petdx no slower than SimpleITK (ratio >= 1)",
        )
