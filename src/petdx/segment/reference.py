"""Reference regions: liver (PERCIST 3 cm sphere), blood pool (aorta cylinder), muscle.

Shapes (voxel centre inside the shape, :mod:`petdx.segment.shapes`):

* liver: sphere of 30 mm diameter (PERCIST 1.0, right lobe);
* blood pool: cylinder of 10 mm diameter x 20 mm along the head-foot axis (descending aorta);
* muscle: sphere of 20 mm diameter (e.g. gluteal or paraspinal muscle).

A region is placed in one of three ways (the ``method`` recorded in the result):

* ``centre``: the shape centred on a point given in LPS mm;
* ``mask``: the shape centred on the mask voxel farthest from the mask's boundary (Euclidean
  distance transform in mm); only voxels inside both the shape and the mask count;
* ``auto`` (liver only): :func:`find_liver_centre` on the PET itself.

Homogeneity check: the region is refused (:class:`ReferenceRegionError`, with the reason)
when it holds fewer than ``min_voxels`` voxels, when part of the shape lies outside the image,
when its mean is not positive, or when its coefficient of variation SD / mean exceeds
``max_cv`` (default 0.30: a hot lesion or an organ boundary inside the region).
SD is the population SD (ddof = 0, as IBSI defines intensity variance).

References
----------
Wahl RL, et al. From RECIST to PERCIST. J Nucl Med 2009;50 Suppl 1:122S-150S.
doi:10.2967/jnumed.108.057307
O JH, Lodge MA, Wahl RL. Practical PERCIST: a simplified guide to PET response criteria in
solid tumors 1.0. Radiology 2016;280:576-584. doi:10.1148/radiol.2016142043
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cc3d
import numpy as np
import numpy.typing as npt
from scipy import ndimage

from petdx.errors import Hint, InputValidationError
from petdx.image import Volume
from petdx.segment.components import check_mask_grid
from petdx.segment.enums import ReferenceTissue
from petdx.segment.shapes import cylinder_mask, sphere_mask

__all__ = [
    "REFERENCE_SHAPES",
    "ReferenceRegion",
    "ReferenceRegionError",
    "ReferenceShape",
    "find_liver_centre",
    "reference_from_centre",
    "reference_from_mask",
    "reference_region_mask",
]


class ReferenceRegionError(InputValidationError):
    """A reference region cannot be used (outside the image, too small, not homogeneous)."""


@dataclass(frozen=True)
class ReferenceShape:
    """Geometry of a reference region: a sphere, or a cylinder along the head-foot axis."""

    kind: str  # "sphere" or "cylinder"
    diameter_mm: float
    length_mm: float | None = None

    def describe(self) -> str:
        if self.kind == "cylinder":
            return f"cylinder {self.diameter_mm:g} mm diameter x {self.length_mm:g} mm"
        return f"sphere {self.diameter_mm:g} mm diameter"


REFERENCE_SHAPES: dict[ReferenceTissue, ReferenceShape] = {
    ReferenceTissue.LIVER: ReferenceShape("sphere", 30.0),
    ReferenceTissue.BLOOD_POOL: ReferenceShape("cylinder", 10.0, 20.0),
    ReferenceTissue.MUSCLE: ReferenceShape("sphere", 20.0),
}

_DEFAULT_MAX_CV = 0.30
_DEFAULT_MIN_VOXELS = 10


@dataclass(frozen=True)
class ReferenceRegion:
    """A measured reference region.

    Attributes
    ----------
    tissue
        liver, blood_pool or muscle.
    method
        centre, mask or auto.
    centre_mm
        Centre of the shape in LPS mm.
    mean_suv, sd_suv, n_voxels, volume_ml
        Mean and population SD of SUV, voxel count and volume (ml) of the region.
    mask
        The region on the PET grid.
    """

    tissue: ReferenceTissue
    method: str
    centre_mm: tuple[float, float, float]
    shape: ReferenceShape
    mean_suv: float
    sd_suv: float
    n_voxels: int
    volume_ml: float
    mask: Volume = field(repr=False)

    @property
    def cv(self) -> float:
        """Coefficient of variation SD / mean."""
        return self.sd_suv / self.mean_suv

    def to_dict(self) -> dict[str, Any]:
        return {
            "tissue": self.tissue.value,
            "method": self.method,
            "shape": self.shape.describe(),
            "centre_mm": list(self.centre_mm),
            "mean_suv": self.mean_suv,
            "sd_suv": self.sd_suv,
            "cv": self.cv,
            "n_voxels": self.n_voxels,
            "volume_ml": self.volume_ml,
        }

    def __str__(self) -> str:
        c = ", ".join(f"{v:.1f}" for v in self.centre_mm)
        return (
            f"{self.tissue.value} ({self.shape.describe()}, {self.method}, centre LPS {c} mm): "
            f"mean {self.mean_suv:.3f} SD {self.sd_suv:.3f} ({self.n_voxels} voxels)"
        )


def reference_region_mask(
    grid: Volume, tissue: str | ReferenceTissue, centre_mm: npt.ArrayLike
) -> Volume:
    """The standard shape of ``tissue`` centred on ``centre_mm`` (voxel centres inside)."""
    shape = REFERENCE_SHAPES[ReferenceTissue(tissue)]
    if shape.kind == "cylinder":
        assert shape.length_mm is not None
        return cylinder_mask(
            grid, centre_mm, radius_mm=shape.diameter_mm / 2, length_mm=shape.length_mm
        )
    return sphere_mask(grid, centre_mm, shape.diameter_mm / 2)


def _measure(
    suv: Volume,
    tissue: ReferenceTissue,
    method: str,
    centre: npt.NDArray[np.float64],
    region: npt.NDArray[np.bool_],
    full_shape: npt.NDArray[np.bool_] | None,
    *,
    max_cv: float,
    min_voxels: int,
) -> ReferenceRegion:
    shape = REFERENCE_SHAPES[tissue]
    where = (
        f"{tissue.value} reference ({shape.describe()}, centre LPS "
        + ", ".join(f"{v:.1f}" for v in centre)
        + " mm)"
    )
    expected = _expected_voxels(suv, shape)
    if full_shape is not None and full_shape.sum() < 0.95 * expected:
        raise ReferenceRegionError(
            f"{where}: the region extends outside the image ({int(full_shape.sum())} of about "
            f"{expected} voxels inside the field of view). Move the centre inside the organ."
        )
    n = int(region.sum())
    if n < min_voxels:
        raise ReferenceRegionError(
            f"{where}: only {n} voxels (at least {min_voxels} needed). Give a larger mask or a "
            "centre deeper inside the organ."
        )
    values = np.asarray(suv.array[region], dtype=np.float64)
    mean, sd = float(values.mean()), float(values.std())
    if mean <= 0:
        raise ReferenceRegionError(f"{where}: mean SUV {mean:.3g} is not positive.")
    if sd / mean > max_cv:
        raise ReferenceRegionError(
            f"{where}: not homogeneous (coefficient of variation {sd / mean:.2f} > {max_cv:.2f}; "
            f"mean {mean:.3f}, SD {sd:.3f}, max {values.max():.3f}). A lesion, a vessel or an "
            "organ boundary is inside the region: move it, or draw a mask that avoids them."
        )
    return ReferenceRegion(
        tissue=tissue,
        method=method,
        centre_mm=(float(centre[0]), float(centre[1]), float(centre[2])),
        shape=shape,
        mean_suv=mean,
        sd_suv=sd,
        n_voxels=n,
        volume_ml=n * suv.voxel_volume_ml,
        mask=suv.with_array(region),
    )


def _expected_voxels(suv: Volume, shape: ReferenceShape) -> int:
    r = shape.diameter_mm / 2
    volume_mm3 = (
        np.pi * r**2 * (shape.length_mm or 0.0)
        if shape.kind == "cylinder"
        else 4.0 / 3.0 * np.pi * r**3
    )
    return round(volume_mm3 / 1000.0 / suv.voxel_volume_ml)


def reference_from_centre(
    suv: Volume,
    tissue: str | ReferenceTissue,
    centre_mm: npt.ArrayLike,
    *,
    max_cv: float = _DEFAULT_MAX_CV,
    min_voxels: int = _DEFAULT_MIN_VOXELS,
    method: str = "centre",
) -> ReferenceRegion:
    """Measure the standard shape of ``tissue`` centred on a point (LPS mm).

    Raises
    ------
    ReferenceRegionError
        Outside the image, too few voxels, or not homogeneous (the message says which).
    """
    tissue = ReferenceTissue(tissue)
    centre = np.asarray(centre_mm, dtype=np.float64)
    region = np.asarray(reference_region_mask(suv, tissue, centre).array, dtype=bool)
    return _measure(
        suv, tissue, method, centre, region, region, max_cv=max_cv, min_voxels=min_voxels
    )


def reference_from_mask(
    suv: Volume,
    tissue: str | ReferenceTissue,
    organ_mask: Volume,
    *,
    max_cv: float = _DEFAULT_MAX_CV,
    min_voxels: int = _DEFAULT_MIN_VOXELS,
) -> ReferenceRegion:
    """Measure ``tissue``'s standard shape centred deepest inside an organ mask.

    The centre is the mask voxel farthest (Euclidean, in mm) from the mask's boundary; the
    region is the intersection of the shape and the mask.
    """
    tissue = ReferenceTissue(tissue)
    check_mask_grid(suv, organ_mask, f"{tissue.value} mask")
    organ = np.asarray(organ_mask.array) != 0
    if not organ.any():
        raise ReferenceRegionError(f"The {tissue.value} mask is empty.")
    depth = ndimage.distance_transform_edt(organ, sampling=suv.spacing_mm)
    index = np.unravel_index(int(np.argmax(depth)), organ.shape)
    centre = suv.index_to_patient_mm(np.asarray(index, dtype=np.float64))
    shape = np.asarray(reference_region_mask(suv, tissue, centre).array, dtype=bool)
    return _measure(
        suv, tissue, "mask", centre, shape & organ, None, max_cv=max_cv, min_voxels=min_voxels
    )


def find_liver_centre(suv: Volume, *, max_cv: float = 0.15) -> npt.NDArray[np.float64]:
    """Place the liver reference automatically on the PET (documented heuristic).

    1. Local mean and SD of SUV in a 30 mm cube around every voxel (box filters).
    2. Candidate voxels: local CV <= ``max_cv``, local mean >= the median SUV of the body
       (voxels above 10 % of the 99th percentile), and on the patient's right of the body's
       centre of mass (LPS x smaller).
    3. The largest 26-connected component of the candidates is taken as the liver (the
       largest homogeneous organ with above-median uptake on the right); the centre is its
       voxel farthest from the component's boundary.

    A reader must confirm the placement (the centre is reported). Fails with
    :class:`ReferenceRegionError` when no candidate exists (e.g. a field of view without
    the liver).
    """
    values = np.asarray(suv.array, dtype=np.float32)
    body = values > 0.1 * float(np.percentile(values, 99.0))
    if not body.any():
        raise ReferenceRegionError("Automatic liver placement: the image has no body signal.")
    size = np.maximum(1, np.round(30.0 / np.asarray(suv.spacing_mm)).astype(int))
    mean = ndimage.uniform_filter(values, size=tuple(size), mode="constant")
    mean_sq = ndimage.uniform_filter(values * values, size=tuple(size), mode="constant")
    sd = np.sqrt(np.maximum(mean_sq - mean * mean, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = np.where(mean > 0, sd / mean, np.inf)
    candidates = body & (cv <= max_cv) & (mean >= float(np.median(values[body])))
    idx = np.argwhere(body)
    body_x = float(suv.index_to_patient_mm(idx.mean(axis=0))[0])
    # Patient x of every voxel: x depends on all three indices through the affine.
    kk, jj, ii = np.indices(suv.shape, sparse=True)
    a = suv.affine
    x_mm = a[0, 0] * kk + a[0, 1] * jj + a[0, 2] * ii + a[0, 3]
    candidates &= x_mm < body_x
    if not candidates.any():
        raise ReferenceRegionError(
            "Automatic liver placement found no homogeneous region with above-median uptake on "
            "the patient's right. Give the liver centre (X,Y,Z in LPS mm) or a liver mask.",
            hint=Hint("liver_centre", alternatives=("liver_mask",)),
        )
    labels, _n = cc3d.connected_components(candidates, connectivity=26, return_N=True)
    counts = np.bincount(labels.ravel())
    counts[0] = 0
    liver = labels == int(np.argmax(counts))
    # Distance transform inside the component's box grown by one voxel (clipped to the
    # image): the nearest background voxel of any liver voxel is always in that box, so the
    # depths equal those of the whole image at a fraction of the cost.
    (box,) = ndimage.find_objects(liver.astype(np.uint8))
    box = tuple(
        slice(max(0, b.start - 1), min(n, b.stop + 1))
        for b, n in zip(box, liver.shape, strict=True)
    )
    depth = ndimage.distance_transform_edt(liver[box], sampling=suv.spacing_mm)
    local = np.unravel_index(int(np.argmax(depth)), depth.shape)
    index = [b.start + k for b, k in zip(box, local, strict=True)]
    return suv.index_to_patient_mm(np.asarray(index, dtype=np.float64))
