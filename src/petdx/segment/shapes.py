"""Spheres and cylinders on a voxel grid: which voxels a geometric region holds.

Rule (used for SUVpeak spheres and reference regions alike): a voxel belongs to the region
when its **centre** lies inside the region or on its boundary (distance <= radius). Distances
are measured in patient millimetres through the grid's affine, so anisotropic and oblique
grids are handled.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from petdx.errors import InputValidationError
from petdx.image import Volume

__all__ = [
    "SUV_PEAK_RADIUS_MM",
    "ball_kernel",
    "ball_offsets",
    "cylinder_mask",
    "sphere_mask",
]

#: Radius of a sphere of 1 cm^3 = 1 ml: (3 / (4 pi))^(1/3) cm = 6.2035 mm (PERCIST 1.0).
SUV_PEAK_RADIUS_MM = 10.0 * (3.0 / (4.0 * math.pi)) ** (1.0 / 3.0)


def _check_radius(radius_mm: float) -> None:
    if not (radius_mm > 0 and math.isfinite(radius_mm)):
        raise InputValidationError(f"radius_mm {radius_mm}: expected a positive length in mm.")


def ball_offsets(affine: npt.ArrayLike, radius_mm: float) -> npt.NDArray[np.int64]:
    """Integer index offsets ``(n, 3)`` in ``(k, j, i)`` order of the voxels whose centres lie
    within ``radius_mm`` of a voxel centre (the centre voxel included).

    Parameters
    ----------
    affine
        4x4 index-to-patient affine of the grid (only its 3x3 part is used).
    radius_mm
        Sphere radius in mm; a voxel whose centre is at distance <= radius is inside.
    """
    _check_radius(radius_mm)
    linear = np.asarray(affine, dtype=np.float64)[:3, :3]
    # The largest index step needed along each axis: radius / (smallest step along it).
    inverse = np.linalg.inv(linear)
    reach = np.ceil(radius_mm * np.linalg.norm(inverse, axis=1)).astype(int)
    axes = [np.arange(-r, r + 1) for r in reach]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    distances = np.linalg.norm(grid @ linear.T, axis=1)
    return grid[distances <= radius_mm * (1.0 + 1e-12)]


def ball_kernel(affine: npt.ArrayLike, radius_mm: float) -> npt.NDArray[np.bool_]:
    """The ball of :func:`ball_offsets` as a boolean kernel centred in an odd-sized array."""
    offsets = ball_offsets(affine, radius_mm)
    reach = np.abs(offsets).max(axis=0)
    kernel = np.zeros(tuple(2 * reach + 1), dtype=bool)
    kernel[tuple((offsets + reach).T)] = True
    return kernel


def sphere_mask(grid: Volume, centre_mm: npt.ArrayLike, radius_mm: float) -> Volume:
    """Boolean mask of the voxels whose centres lie within ``radius_mm`` of ``centre_mm``.

    Parameters
    ----------
    grid
        The image grid.
    centre_mm
        Sphere centre in LPS mm (need not be a voxel centre).
    radius_mm
        Radius in mm.
    """
    _check_radius(radius_mm)
    centre = np.asarray(centre_mm, dtype=np.float64)
    box = _bounding_box(grid, centre, radius_mm)
    mask = np.zeros(grid.shape, dtype=bool)
    if box is None:
        return grid.with_array(mask)
    idx = _box_indices(box)
    points = grid.index_to_patient_mm(idx)
    inside = np.linalg.norm(points - centre, axis=-1) <= radius_mm * (1.0 + 1e-12)
    mask[box] = inside
    return grid.with_array(mask)


def cylinder_mask(
    grid: Volume,
    centre_mm: npt.ArrayLike,
    *,
    radius_mm: float,
    length_mm: float,
    axis_lps: npt.ArrayLike = (0.0, 0.0, 1.0),
) -> Volume:
    """Boolean mask of the voxels whose centres lie inside a finite cylinder.

    A voxel centre ``p`` is inside when ``|(p - c) . a| <= length/2`` and its distance from
    the axis is <= ``radius_mm`` (``c`` the centre, ``a`` the unit axis; default the patient
    head-foot axis, along which the descending aorta runs).
    """
    _check_radius(radius_mm)
    _check_radius(length_mm / 2.0)
    centre = np.asarray(centre_mm, dtype=np.float64)
    axis = np.asarray(axis_lps, dtype=np.float64)
    axis = axis / np.linalg.norm(axis)
    box = _bounding_box(grid, centre, math.hypot(radius_mm, length_mm / 2.0))
    mask = np.zeros(grid.shape, dtype=bool)
    if box is None:
        return grid.with_array(mask)
    rel = grid.index_to_patient_mm(_box_indices(box)) - centre
    along = rel @ axis
    radial = np.linalg.norm(rel - along[..., None] * axis, axis=-1)
    tol = 1.0 + 1e-12
    mask[box] = (np.abs(along) <= length_mm / 2.0 * tol) & (radial <= radius_mm * tol)
    return grid.with_array(mask)


def _bounding_box(
    grid: Volume, centre: npt.NDArray[np.float64], reach_mm: float
) -> tuple[slice, slice, slice] | None:
    """Index box holding every voxel within ``reach_mm`` of ``centre``; None when outside."""
    inverse = np.linalg.inv(grid.affine[:3, :3])
    centre_index = grid.patient_mm_to_index(centre)
    reach = reach_mm * np.linalg.norm(inverse, axis=1)
    low = np.floor(centre_index - reach).astype(int)
    high = np.ceil(centre_index + reach).astype(int) + 1
    low = np.maximum(low, 0)
    high = np.minimum(high, grid.shape)
    if np.any(high <= low):
        return None
    return (slice(low[0], high[0]), slice(low[1], high[1]), slice(low[2], high[2]))


def _box_indices(box: tuple[slice, slice, slice]) -> npt.NDArray[np.float64]:
    axes = [np.arange(s.start, s.stop, dtype=np.float64) for s in box]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
