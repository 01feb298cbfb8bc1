"""Synthetic SUV volumes and PET DICOM series with known lesions, for quantification tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from petdx.image import Volume
from tests.factories import pet_series, save_series

#: SUVbw per stored Bq/ml of ``tests.factories.pet_series`` (370 MBq F-18 injected at 10:00,
#: scan at 11:00, 70 kg): 70000 g / (370e6 Bq x 2^(-3600 / 6586.2)), from the decay law.
FACTORIES_SUV_FACTOR = 70000.0 / (370e6 * 2.0 ** (-3600.0 / 6586.2))


def grid(
    shape: tuple[int, int, int],
    spacing_mm: Sequence[float] = (4.0, 4.0, 4.0),
    origin_mm: Sequence[float] = (0.0, 0.0, 0.0),
    fill: float = 0.0,
) -> Volume:
    """A volume with identity orientation: index (k, j, i) -> LPS (x=i dx, y=j dy, z=k dz)."""
    dz, dy, dx = spacing_mm
    affine = np.eye(4)
    affine[:3, 0] = (0.0, 0.0, dz)
    affine[:3, 1] = (0.0, dy, 0.0)
    affine[:3, 2] = (dx, 0.0, 0.0)
    affine[:3, 3] = origin_mm
    return Volume(np.full(shape, fill, dtype=np.float32), affine)


def centres_mm(volume: Volume) -> npt.NDArray[np.float64]:
    """LPS mm of every voxel centre, shape (z, y, x, 3)."""
    idx = np.stack(np.indices(volume.shape), axis=-1).astype(np.float64)
    return volume.index_to_patient_mm(idx)


def ball(volume: Volume, centre_mm: Sequence[float], radius_mm: float) -> npt.NDArray[np.bool_]:
    """Voxels whose centres are within radius of the centre (brute force over all voxels)."""
    d = np.linalg.norm(centres_mm(volume) - np.asarray(centre_mm), axis=-1)
    return d <= radius_mm


def write_pet(folder: Path, suv: Volume, *, spacing_mm: float = 4.0) -> list[Path]:
    """Write an SUV volume (isotropic ``spacing_mm``, factories geometry) as a BQML PET series.

    Values are stored as int16 with a per-slice RescaleSlope; the SUV read back by petdx
    differs from ``suv`` by the quantisation only (< 1e-4 of the slice maximum).
    """
    nz, ny, nx = suv.shape
    datasets = pet_series(nz, rows=ny, cols=nx, spacing_mm=spacing_mm)
    bqml = np.asarray(suv.array, dtype=np.float64) / FACTORIES_SUV_FACTOR
    for k, ds in enumerate(datasets):
        top = float(bqml[k].max()) or 1.0
        slope = top / 32000.0
        ds.RescaleSlope = f"{slope:.10g}"
        stored = np.round(bqml[k] / float(ds.RescaleSlope)).astype("<i2")
        ds.PixelData = stored.tobytes()
    return save_series(datasets, folder)


def factories_grid(shape: tuple[int, int, int], spacing_mm: float = 4.0) -> Volume:
    """The grid ``write_pet`` produces (factories: centred in x/y, z = k x spacing)."""
    _nz, ny, nx = shape
    return grid(
        shape,
        (spacing_mm,) * 3,
        (-(nx - 1) * spacing_mm / 2, -(ny - 1) * spacing_mm / 2, 0.0),
    )
