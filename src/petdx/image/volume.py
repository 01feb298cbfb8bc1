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
        """Volume of one voxel in ml (cm^3): |det(affine[:3, :3])| / 1000."""
        return float(abs(np.linalg.det(self.affine[:3, :3])) / 1000.0)

    def with_array(self, array: npt.NDArray[np.generic]) -> Volume:
        """The same grid holding another array of the same shape."""
        if array.shape != self.array.shape:
            raise GeometryError(
                f"Array shape {array.shape} does not match the grid shape {self.array.shape}."
            )
        return Volume(array, self.affine)

    def index_to_patient_mm(self, index_zyx: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Map voxel indices ``(..., 3)`` in ``(k, j, i)`` order to LPS mm ``(..., 3)``."""
        idx = np.asarray(index_zyx, dtype=np.float64)
        return idx @ self.affine[:3, :3].T + self.affine[:3, 3]

    def patient_mm_to_index(self, points_lps_mm: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Map LPS mm points ``(..., 3)`` to fractional voxel indices ``(k, j, i)``."""
        pts = np.asarray(points_lps_mm, dtype=np.float64)
        inverse = np.linalg.inv(self.affine)
        return pts @ inverse[:3, :3].T + inverse[:3, 3]

    def describe_grid(self) -> str:
        """One line naming the grid, for error messages."""
        origin = ", ".join(f"{v:.2f}" for v in self.affine[:3, 3])
        spacing = " x ".join(f"{v:.4g}" for v in self.spacing_mm)
        return f"shape (z,y,x) {self.shape}, spacing {spacing} mm, origin LPS ({origin}) mm"

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
