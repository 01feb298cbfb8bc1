"""Exact placement of one grid's voxels on another grid that shares its voxel centres.

A mask written by another tool often lies on the PET grid but with its axes in another
order or direction (a NIfTI in RAS or LAS, a SEG stored from the last slice), or on a
cropped part of it (a segment saved within its bounding box). Such a grid maps onto the
PET grid by a signed permutation of the index axes and an integral offset, and its voxels
can be copied without interpolation. :func:`grid_placement` finds that map (or says there
is none: the grids' voxels fall between each other, and only resampling on request helps,
:mod:`petdx.image.resample`); :func:`place_on_grid` copies the voxels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

__all__ = ["GridPlacement", "grid_placement", "place_on_grid"]

ScalarT = TypeVar("ScalarT", bound=np.generic)


@dataclass(frozen=True)
class GridPlacement:
    """``target_index = axes @ source_index + offset`` (indices in ``(k, j, i)`` order).

    Attributes
    ----------
    axes
        3 x 3 signed permutation matrix (integers).
    offset
        Integral offset (3,).
    largest_offset_error_voxels
        How far the offset was from an integer (what DS or float32 rounding moved).
    """

    axes: npt.NDArray[np.int64]
    offset: npt.NDArray[np.int64]
    largest_offset_error_voxels: float

    @property
    def is_identity(self) -> bool:
        return bool(np.array_equal(self.axes, np.eye(3)) and not self.offset.any())


def grid_placement(
    source_affine: npt.ArrayLike,
    source_shape: tuple[int, ...],
    target_affine: npt.ArrayLike,
    *,
    tolerance_voxels: float,
) -> GridPlacement | None:
    """The signed permutation and integral offset taking source indices to target indices,
    or None when some source voxel centre (checked at the corners of the source grid, where
    the error is largest) lies more than ``tolerance_voxels`` from the target voxel centre it
    would be copied to."""
    to_target = np.linalg.inv(np.asarray(target_affine, dtype=np.float64)) @ np.asarray(
        source_affine, dtype=np.float64
    )
    linear, offset = to_target[:3, :3], to_target[:3, 3]
    axes = np.round(linear)
    is_permutation = bool(np.all(np.abs(axes).sum(axis=0) == 1)) and bool(
        np.all(np.abs(axes).sum(axis=1) == 1)
    )
    if not is_permutation:
        return None
    rounded_offset = np.round(offset)
    corners = np.array(list(np.ndindex(2, 2, 2)), dtype=np.float64) * (
        np.asarray(source_shape[:3], dtype=np.float64) - 1.0
    )
    exact = corners @ linear.T + offset
    placed = corners @ axes.T + rounded_offset
    error = float(np.max(np.abs(exact - placed)))
    if error > tolerance_voxels:
        return None
    return GridPlacement(axes.astype(np.int64), rounded_offset.astype(np.int64), error)


def place_on_grid(
    source: npt.NDArray[ScalarT],
    placement: GridPlacement,
    target_shape: tuple[int, int, int],
) -> tuple[npt.NDArray[ScalarT], int]:
    """Copy the non-zero voxels of ``source`` (first three axes spatial; trailing axes, such
    as segments, kept) to their target indices; returns the target array (zeros elsewhere)
    and the number of non-zero source voxels that fell outside the target."""
    data = source
    out: npt.NDArray[ScalarT] = np.zeros((*target_shape, *data.shape[3:]), dtype=data.dtype)
    nonzero = data != 0 if data.ndim == 3 else np.any(data != 0, axis=tuple(range(3, data.ndim)))
    where = np.argwhere(nonzero)
    target = where @ placement.axes.T + placement.offset
    keep = np.all((target >= 0) & (target < np.asarray(target_shape)), axis=1)
    out[tuple(target[keep].T)] = data[tuple(where[keep].T)]
    return out, int((~keep).sum())
