"""NIfTI masks and label maps, checked against the PET grid.

A NIfTI mask is accepted only when it lies on the PET volume's grid: same shape (after the
RAS -> LPS conversion of :meth:`petdx.image.Volume.from_nifti`) and the same affine within
``tolerance_mm`` (default 0.01 mm, above the float32 rounding of NIfTI's sform). A mismatch
is a :class:`~petdx.errors.GeometryError` naming both geometries; petdx never resamples a
mask silently.
"""

from __future__ import annotations

import os
from pathlib import Path

import nibabel as nib
import numpy as np

from petdx.errors import GeometryError, InputValidationError
from petdx.fileio import write_atomically
from petdx.image import Volume

__all__ = ["read_nifti_mask", "write_nifti_mask"]

_TOLERANCE_MM = 0.01


def read_nifti_mask(
    path: str | os.PathLike[str],
    grid: Volume,
    *,
    tolerance_mm: float = _TOLERANCE_MM,
) -> Volume:
    """Read a NIfTI mask or label map and check it against the PET grid.

    Parameters
    ----------
    path
        ``.nii`` or ``.nii.gz`` file: 0 = background, positive integers = labels (a binary
        mask is a label map with the single label 1).
    grid
        The PET (SUV) volume the mask must lie on.
    tolerance_mm
        Largest difference accepted between affine entries (mm).

    Returns
    -------
    Volume
        uint32 labels on ``grid``'s affine.

    Raises
    ------
    InputValidationError
        The file cannot be read, or holds negative or non-integer values.
    GeometryError
        The mask is not on the PET grid (the message gives both geometries).
    """
    source = Path(path)
    try:
        image = nib.load(source)
        mask = Volume.from_nifti(image)  # type: ignore[arg-type]
    except GeometryError as exc:
        raise GeometryError(f"{source}: {exc}") from exc
    except Exception as exc:  # nibabel raises many types on a bad file
        raise InputValidationError(
            f"{source}: not a readable NIfTI image ({type(exc).__name__}: {exc})."
        ) from exc
    if mask.shape != grid.shape or not np.allclose(mask.affine, grid.affine, atol=tolerance_mm):
        raise GeometryError(
            f"{source}: the mask is not on the PET grid. Mask: {mask.describe_grid()}; PET: "
            f"{grid.describe_grid()}. Export the mask on the PET series' grid (same matrix, "
            "spacing and origin), or resample it onto the PET first."
        )
    values = np.asarray(mask.array)
    is_float = np.issubdtype(values.dtype, np.floating)
    if is_float and (not np.all(np.isfinite(values)) or np.any(values != np.round(values))):
        raise InputValidationError(
            f"{source}: the mask holds non-integer values; expected 0 for background and "
            "positive integer labels. Threshold a probability map before using it."
        )
    if values.min(initial=0) < 0:
        raise InputValidationError(f"{source}: the mask holds negative labels.")
    return grid.with_array(values.astype(np.uint32))


def write_nifti_mask(labels: Volume, path: str | os.PathLike[str]) -> Path:
    """Write a label map as NIfTI (RAS, uint16 or uint32), atomically."""
    array = np.asarray(labels.array)
    dtype = np.uint16 if array.max(initial=0) < 2**16 else np.uint32
    image = labels.with_array(array.astype(dtype)).to_nifti()
    return write_atomically(path, lambda tmp: nib.save(image, tmp))
