"""`Volume`: a 3-D image on a regular grid placed in patient space.

Conventions (used everywhere in petdx)
--------------------------------------
* The array is indexed ``array[k, j, i]`` = ``[slice, row, column]`` = ``(z, y, x)``.
* ``affine`` maps array-order voxel indices ``(k, j, i, 1)`` to **DICOM patient coordinates
  (LPS)** in millimetres: +x towards the patient's Left, +y towards Posterior, +z towards
  Superior (head). This is the frame of ImagePositionPatient (0020,0032), so no sign flip is
  needed to compare with DICOM, SEG or RTSTRUCT coordinates.
* NIfTI uses RAS (+x Right-to-Left negated, +y Anterior): :meth:`Volume.to_nifti` and
  :meth:`Volume.from_nifti` convert by negating the first two rows of the affine and by
  transposing the array to NIfTI's ``(x, y, z)`` = ``(i, j, k)`` order.

For a DICOM slice stack with ImageOrientationPatient ``(X, Y)`` (row and column direction
cosines), PixelSpacing ``(dr, dc)`` (between rows, between columns), slice step vector ``s``
and first-slice position ``P0``::

    affine[:3, 0] = s            # k: one slice along the stack
    affine[:3, 1] = Y * dr       # j: one row down
    affine[:3, 2] = X * dc       # i: one column right
    affine[:3, 3] = P0

Slices that are not evenly spaced (vendor rounding, bed junctions: accepted within 10 % of
the usual step by :mod:`petdx.dicom.series_volume`) keep their true positions in
``slice_positions_mm``: the distance of each slice centre from the first along the step
vector ``s`` (so ``affine`` holds the mean step and the true centre of slice ``k`` is
``P0 + slice_positions_mm[k] * s / |s|`` plus its in-plane offset). Every coordinate mapping
(:meth:`Volume.index_to_patient_mm`, :meth:`Volume.patient_mm_to_index`) follows the true
positions, interpolating linearly between slices, and each slice's voxels have their own
volume (:attr:`Volume.slice_voxel_volumes_ml`): the slice's extent runs half-way to each
neighbour (the end slices extend by half their one gap on both sides), so the extents tile
the scanned length exactly. Exports that need one affine (NIfTI, DICOM SEG) use the mean-step
grid; the reading warning states the largest position error that implies.

References
----------
DICOM PS3.3 C.7.6.2.1.1, Image Position and Image Orientation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from petdx.errors import GeometryError

if TYPE_CHECKING:
    import nibabel as nib

__all__ = ["LPS_TO_RAS", "Volume", "same_grid"]

#: Multiply an LPS affine on the left by this to get a RAS affine (and vice versa).
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass(frozen=True, eq=False)
class Volume:
    """A 3-D image with its placement in patient (LPS) space.

    Parameters
    ----------
    array
        Voxel values, shape ``(z, y, x)``. Stored as given (float32 for PET activity or SUV,
        bool or integer for masks).
    affine
        4x4 matrix mapping ``(k, j, i, 1)`` indices to LPS millimetres (see module docstring).
    """

    array: npt.NDArray[np.generic]
    affine: npt.NDArray[np.float64] = field(repr=False)
    slice_positions_mm: tuple[float, ...] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.array.ndim != 3:
            raise GeometryError(
                f"A Volume needs a 3-D array (z, y, x); got shape {self.array.shape}."
            )
        affine = np.asarray(self.affine, dtype=np.float64)
        if affine.shape != (4, 4):
            raise GeometryError(f"A Volume affine must be 4x4; got shape {affine.shape}.")
        if abs(np.linalg.det(affine[:3, :3])) < 1e-9:
            raise GeometryError("The Volume affine is singular (zero spacing or parallel axes).")
        object.__setattr__(self, "affine", affine)
        if self.slice_positions_mm is not None:
            positions = tuple(float(v) for v in self.slice_positions_mm)
            steps = np.diff(positions)
            if len(positions) != self.array.shape[0] or positions[0] != 0.0:
                raise GeometryError(
                    f"slice_positions_mm needs one position per slice ({self.array.shape[0]}), "
                    f"starting at 0; got {len(positions)} starting at {positions[:1]}."
                )
            if steps.size and float(steps.min()) <= 0.0:
                raise GeometryError("slice_positions_mm must increase strictly.")
            object.__setattr__(self, "slice_positions_mm", positions)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Array shape ``(z, y, x)``."""
        z, y, x = self.array.shape
        return (z, y, x)

    @property
    def spacing_mm(self) -> tuple[float, float, float]:
        """Voxel spacing ``(dz, dy, dx)`` in mm: the norms of the affine's first three columns."""
        norms = np.linalg.norm(self.affine[:3, :3], axis=0)
        return (float(norms[0]), float(norms[1]), float(norms[2]))

    @property
    def voxel_volume_ml(self) -> float:
        """Volume of one voxel in ml (cm^3) on the affine's grid: |det(affine[:3, :3])| / 1000
        (the mean over slices when their spacing varies: see :attr:`slice_voxel_volumes_ml`)."""
        return float(abs(np.linalg.det(self.affine[:3, :3])) / 1000.0)

    @property
    def is_uniform(self) -> bool:
        """True when the slices are evenly spaced (no ``slice_positions_mm``)."""
        return self.slice_positions_mm is None

    @property
    def slice_voxel_volumes_ml(self) -> npt.NDArray[np.float64]:
        """Volume (ml) of one voxel of each slice, shape ``(z,)``: the voxel volume of the
        affine scaled by the slice's extent (half-way to each neighbour) over the mean step."""
        nz = self.array.shape[0]
        if self.slice_positions_mm is None or nz < 2:
            return np.full(nz, self.voxel_volume_ml)
        positions = np.asarray(self.slice_positions_mm)
        gaps = np.diff(positions)
        extents = np.empty(nz)
        extents[1:-1] = (gaps[:-1] + gaps[1:]) / 2.0
        extents[0], extents[-1] = gaps[0], gaps[-1]
        return self.voxel_volume_ml * extents / self.spacing_mm[0]

    def voxel_volumes_ml(self, index_zyx: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Volume (ml) of the voxels at integer indices ``(n, 3)`` in ``(k, j, i)`` order."""
        idx = np.asarray(index_zyx, dtype=np.int64).reshape(-1, 3)
        return self.slice_voxel_volumes_ml[idx[:, 0]]

    def with_array(self, array: npt.NDArray[np.generic]) -> Volume:
        """The same grid holding another array of the same shape."""
        if array.shape != self.array.shape:
            raise GeometryError(
                f"Array shape {array.shape} does not match the grid shape {self.array.shape}."
            )
        return Volume(array, self.affine, self.slice_positions_mm)

    def crop(self, box: tuple[slice, ...]) -> Volume:
        """The sub-volume ``array[box]`` (slices with unit step) with its own placement."""
        start = np.array([s.start or 0 for s in box], dtype=np.float64)
        array = np.asarray(self.array[box])
        affine = self.affine.copy()
        affine[:3, 3] = self.index_to_patient_mm(start)
        positions = None
        if self.slice_positions_mm is not None:
            k0 = int(start[0])
            part = np.asarray(self.slice_positions_mm[k0 : k0 + array.shape[0]])
            positions = tuple(part - part[0])
        return Volume(array, affine, positions)

    def _slice_mm(self, k: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Distance (mm) along the step vector of fractional slice indices ``k``."""
        assert self.slice_positions_mm is not None
        positions = np.asarray(self.slice_positions_mm)
        if positions.size < 2:
            return k * self.spacing_mm[0]
        first_gap, last_gap = positions[1] - positions[0], positions[-1] - positions[-2]
        n = positions.size - 1
        inside = np.interp(k, np.arange(n + 1), positions)
        below = positions[0] + k * first_gap
        above = positions[-1] + (k - n) * last_gap
        return np.where(k < 0, below, np.where(k > n, above, inside))

    def _slice_index(self, mm: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Fractional slice index at distance ``mm`` along the step vector (inverse of
        :meth:`_slice_mm`)."""
        assert self.slice_positions_mm is not None
        positions = np.asarray(self.slice_positions_mm)
        if positions.size < 2:
            return mm / self.spacing_mm[0]
        first_gap, last_gap = positions[1] - positions[0], positions[-1] - positions[-2]
        n = positions.size - 1
        inside = np.interp(mm, positions, np.arange(n + 1, dtype=np.float64))
        below = (mm - positions[0]) / first_gap
        above = n + (mm - positions[-1]) / last_gap
        return np.where(mm < positions[0], below, np.where(mm > positions[-1], above, inside))

    def index_to_patient_mm(self, index_zyx: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Map voxel indices ``(..., 3)`` in ``(k, j, i)`` order to LPS mm ``(..., 3)`` (the
        true slice positions when they vary)."""
        idx = np.asarray(index_zyx, dtype=np.float64)
        if self.slice_positions_mm is not None:
            idx = idx.copy()
            idx[..., 0] = self._slice_mm(idx[..., 0]) / self.spacing_mm[0]
        return idx @ self.affine[:3, :3].T + self.affine[:3, 3]

    def patient_mm_to_index(self, points_lps_mm: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Map LPS mm points ``(..., 3)`` to fractional voxel indices ``(k, j, i)`` (the
        inverse of :meth:`index_to_patient_mm`)."""
        pts = np.asarray(points_lps_mm, dtype=np.float64)
        inverse = np.linalg.inv(self.affine)
        index = pts @ inverse[:3, :3].T + inverse[:3, 3]
        if self.slice_positions_mm is not None:
            index[..., 0] = self._slice_index(index[..., 0] * self.spacing_mm[0])
        return index

    def describe_grid(self) -> str:
        """One line naming the grid, for error messages."""
        origin = ", ".join(f"{v:.2f}" for v in self.affine[:3, 3])
        spacing = " x ".join(f"{v:.4g}" for v in self.spacing_mm)
        varying = "" if self.slice_positions_mm is None else " (mean slice step; steps vary)"
        return (
            f"shape (z,y,x) {self.shape}, spacing {spacing} mm{varying}, origin LPS ({origin}) mm"
        )

    def to_nifti(self) -> nib.Nifti1Image:
        """A NIfTI-1 image (RAS affine, array in (x, y, z) order)."""
        import nibabel as nib

        data = np.ascontiguousarray(np.transpose(self.array, (2, 1, 0)))
        ras_affine = LPS_TO_RAS @ self.affine[:, [2, 1, 0, 3]]
        image = nib.Nifti1Image(data, ras_affine)
        image.header.set_xyzt_units("mm")
        image.set_qform(ras_affine, code=1)
        image.set_sform(ras_affine, code=1)
        return image

    @classmethod
    def from_nifti(cls, image: nib.Nifti1Image | nib.Nifti2Image) -> Volume:
        """Build a Volume from a NIfTI image (any axis order; affine taken as RAS)."""
        data = np.asarray(image.dataobj)
        if data.ndim == 4 and data.shape[3] == 1:
            data = data[..., 0]
        if data.ndim != 3:
            raise GeometryError(f"Expected a 3-D NIfTI image; got shape {data.shape}.")
        lps_affine = LPS_TO_RAS @ np.asarray(image.affine, dtype=np.float64)
        array = np.ascontiguousarray(np.transpose(data, (2, 1, 0)))
        return cls(array, lps_affine[:, [2, 1, 0, 3]])


def same_grid(a: Volume, b: Volume, *, tolerance_mm: float = 1e-3) -> bool:
    """True when two volumes share shape and affine (every entry within ``tolerance_mm``)."""
    return a.shape == b.shape and bool(np.allclose(a.affine, b.affine, atol=tolerance_mm))
