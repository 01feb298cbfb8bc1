"""NIfTI masks and label maps, checked against the PET grid.

A NIfTI mask is read onto the PET volume's grid (after the RAS -> LPS conversion of
:meth:`petdx.image.Volume.from_nifti`; the affine is nibabel's best one: the sform when its
code is set, else the qform):

* on the PET grid in any axis order and direction (RAS as 3D Slicer and nibabel write, LAS
  as dcm2niix and so TotalSegmentator write, LPS-ordered arrays as ITK-SNAP and SimpleITK
  write, permuted axes) or on a cropped part of it: its voxels are copied exactly
  (:mod:`petdx.image.placement`), when every voxel centre lies within ``tolerance_mm``
  (default 0.01 mm, above the float32 rounding of NIfTI's sform) of a PET voxel centre;
  labelled voxels outside the PET are dropped with a warning;
* on another grid (drawn on the CT, say): refused with both geometries named, unless
  ``resample`` asks for one of the rules of :mod:`petdx.image.resample` (the warning gives
  the rule and each label's volume before and after). petdx never resamples a mask silently.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np

from petdx.errors import GeometryError, GeometryWarning, Hint, InputValidationError
from petdx.fileio import write_atomically
from petdx.image import Volume
from petdx.image.placement import grid_placement, place_on_grid
from petdx.image.resample import MaskResampling, resample_labels_onto

__all__ = ["read_nifti_mask", "write_nifti_mask"]

_TOLERANCE_MM = 0.01


def read_nifti_mask(
    path: str | os.PathLike[str],
    grid: Volume,
    *,
    tolerance_mm: float = _TOLERANCE_MM,
    resample: MaskResampling | str | None = None,
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
        Largest distance (mm) between a mask voxel centre and the PET voxel centre it is
        copied to.
    resample
        ``"nearest"`` or ``"fraction"`` to resample a mask on another grid onto the PET
        (:mod:`petdx.image.resample`); None (default) refuses it.

    Returns
    -------
    Volume
        uint32 labels on ``grid``'s affine.

    Raises
    ------
    InputValidationError
        The file cannot be read, or holds negative or non-integer values.
    GeometryError
        The mask is not on the PET grid and ``resample`` is None (the message gives both
        geometries).

    Warns
    -----
    GeometryWarning
        Labelled voxels lay outside the PET, or the mask was resampled.
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
    values = np.asarray(mask.array)
    is_float = np.issubdtype(values.dtype, np.floating)
    if is_float and (not np.all(np.isfinite(values)) or np.any(values != np.round(values))):
        raise InputValidationError(
            f"{source}: the mask holds non-integer values; expected 0 for background and "
            "positive integer labels. Threshold a probability map before using it."
        )
    if values.min(initial=0) < 0:
        raise InputValidationError(f"{source}: the mask holds negative labels.")
    labels = mask.with_array(values.astype(np.uint32))
    placement = grid_placement(
        labels.affine,
        labels.shape,
        grid.affine,
        tolerance_voxels=tolerance_mm / min(grid.spacing_mm),
    )
    if placement is not None:
        placed, lost = place_on_grid(np.asarray(labels.array), placement, grid.shape)
        if lost:
            warnings.warn(
                f"{source.name}: {lost} labelled voxel(s) lie outside the PET volume and "
                "were dropped.",
                GeometryWarning,
                stacklevel=2,
            )
        return grid.with_array(placed)
    if resample is None:
        raise GeometryError(
            f"{source}: the mask is not on the PET grid. Mask: {mask.describe_grid()}; PET: "
            f"{grid.describe_grid()}. Resample it onto the PET (resample: nearest or "
            "fraction), or export the mask on the PET series' grid.",
            hint=Hint("resample", tuple(m.value for m in MaskResampling)),
        )
    result = resample_labels_onto(labels, grid, resample)
    warnings.warn(f"{source.name}: {result.describe()}", GeometryWarning, stacklevel=2)
    return result.labels


def write_nifti_mask(labels: Volume, path: str | os.PathLike[str]) -> Path:
    """Write a label map as NIfTI (RAS, uint16 or uint32), atomically."""
    array = np.asarray(labels.array)
    dtype = np.uint16 if array.max(initial=0) < 2**16 else np.uint32
    image = labels.with_array(array.astype(dtype)).to_nifti()
    return write_atomically(path, lambda tmp: nib.save(image, tmp))
