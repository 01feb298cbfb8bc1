"""Volumes as SimpleITK images (both live in LPS patient space, so only the axis order of
the array and of the spacing differ: petdx keeps ``(k, j, i)``, ITK ``(x, y, z)``).

An unevenly spaced volume (:attr:`petdx.image.Volume.slice_positions_mm`) becomes the ITK
image of its mean-step grid: ITK images have one spacing per axis.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import SimpleITK as sitk

from petdx.image.volume import Volume

__all__ = ["to_sitk"]


def to_sitk(volume: Volume, dtype: npt.DTypeLike = np.float32) -> sitk.Image:
    """A SimpleITK image of a Volume's values (as ``dtype``) on the same grid."""
    image = sitk.GetImageFromArray(np.ascontiguousarray(volume.array, dtype=dtype))
    dz, dy, dx = volume.spacing_mm
    image.SetSpacing((dx, dy, dz))
    image.SetOrigin(tuple(float(v) for v in volume.affine[:3, 3]))
    columns = volume.affine[:3, [2, 1, 0]] / np.array([dx, dy, dz])
    image.SetDirection(tuple(float(v) for v in columns.ravel()))
    return image
