"""Lesion metrics at one time point: SUVmax/peak/mean/SD/min, MTV, TLG, diameter, centroid,
tumour-to-background ratios.

Definitions (every lesion = the voxels of one label):

* SUVmax, SUVmin, SUVmean: maximum, minimum and mean over the lesion's voxels.
* SUV SD: population standard deviation (ddof = 0, as IBSI defines intensity variance).
* SUVpeak local / global: :mod:`petdx.quantify.peak` (1 cm^3 sphere, radius 6.2035 mm).
* MTV (ml): voxel count x voxel volume (no partial-voxel weighting).
* TLG (g, for SUVbw): SUVmean x MTV.
* Unevenly spaced slices (:attr:`petdx.image.Volume.slice_positions_mm`): each voxel has its
  slice's volume (the slice's extent runs half-way to each neighbour), MTV is the sum of the
  lesion's voxel volumes, SUVmean and SD are volume-weighted, TLG = sum of SUV x voxel volume;
  voxel centres (diameter, centroid, SUVpeak spheres) are the true ones. On an even grid these
  are the definitions above.
* Longest diameter (mm): the largest distance between the centres of two lesion voxels
  (0 for a single voxel); found on the convex hull of the voxel centres.
* Centroid (LPS mm): the unweighted mean of the lesion's voxel centres.
* TBR to a reference (liver, blood pool, muscle): SUVmax / reference mean.

References
----------
Zwanenburg A, et al. The Image Biomarker Standardization Initiative. Radiology
2020;295:328-338. doi:10.1148/radiol.2020191145
Wahl RL, et al. From RECIST to PERCIST. J Nucl Med 2009;50 Suppl 1:122S-150S.
doi:10.2967/jnumed.108.057307
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from petdx.errors import InputValidationError
from petdx.image import Volume
from petdx.quantify.peak import suv_peak_global, suv_peak_local
from petdx.segment import SUV_PEAK_RADIUS_MM, ReferenceRegion, ReferenceTissue, check_mask_grid

__all__ = ["LesionMetrics", "longest_diameter_mm", "quantify_lesions"]


@dataclass(frozen=True)
class LesionMetrics:
    """Metrics of one lesion at one time point (see the module docstring for definitions)."""

    label: int
    voxels: int
    volume_ml: float
    suv_max: float
    suv_peak_local: float
    suv_peak_global: float
    suv_mean: float
    suv_sd: float
    suv_min: float
    tlg: float
    longest_diameter_mm: float
    centroid_mm: tuple[float, float, float]
    suv_max_mm: tuple[float, float, float]
    suv_peak_global_centre_mm: tuple[float, float, float]
    tbr: dict[str, float | None] = field(default_factory=dict)

    @property
    def tbr_liver(self) -> float | None:
        return self.tbr.get(ReferenceTissue.LIVER.value)

    @property
    def tbr_blood(self) -> float | None:
        return self.tbr.get(ReferenceTissue.BLOOD_POOL.value)

    @property
    def tbr_muscle(self) -> float | None:
        return self.tbr.get(ReferenceTissue.MUSCLE.value)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values; TBRs as ``tbr_liver``, ``tbr_blood``, ``tbr_muscle`` (null
        when the reference is absent)."""
        data = asdict(self)
        data.pop("tbr")
        for key in ("centroid_mm", "suv_max_mm", "suv_peak_global_centre_mm"):
            data[key] = list(data[key])
        data["tbr_liver"] = self.tbr_liver
        data["tbr_blood"] = self.tbr_blood
        data["tbr_muscle"] = self.tbr_muscle
        return data

    def __str__(self) -> str:
        return (
            f"lesion {self.label}: {self.volume_ml:.2f} ml, SUVmax {self.suv_max:.2f}, "
            f"SUVpeak {self.suv_peak_local:.2f} (global {self.suv_peak_global:.2f}), "
            f"SUVmean {self.suv_mean:.2f}, TLG {self.tlg:.1f}"
        )


def longest_diameter_mm(points_mm: npt.ArrayLike) -> float:
    """Largest distance between two of the points ``(n, 3)`` (mm); 0 for fewer than two."""
    pts = np.unique(np.asarray(points_mm, dtype=np.float64), axis=0)
    if len(pts) < 2:
        return 0.0
    if len(pts) > 4:
        # Coplanar or collinear points make Qhull fail: then every point is kept.
        with contextlib.suppress(QhullError):
            pts = pts[ConvexHull(pts).vertices]
    best = 0.0
    for start in range(0, len(pts), 2048):  # bounded memory for large hulls
        chunk = pts[start : start + 2048]
        d2 = ((chunk[:, None, :] - pts[None, :, :]) ** 2).sum(axis=-1)
        best = max(best, float(d2.max()))
    return float(np.sqrt(best))


def quantify_lesions(
    suv: Volume,
    labels: Volume,
    *,
    references: Mapping[str | ReferenceTissue, ReferenceRegion] | None = None,
    peak_radius_mm: float = SUV_PEAK_RADIUS_MM,
) -> list[LesionMetrics]:
    """Metrics of every labelled lesion.

    Parameters
    ----------
    suv
        SUV volume (any normalisation; the metrics carry its unit).
    labels
        Integer label map on the same grid; each positive label is a lesion.
    references
        Measured reference regions by tissue; TBR is null for an absent tissue.
    peak_radius_mm
        SUVpeak sphere radius (default 1 cm^3).

    Returns
    -------
    list of LesionMetrics
        One per label present, in increasing label order.
    """
    check_mask_grid(suv, labels, "lesion label map")
    array = np.asarray(labels.array)
    if array.dtype == bool:
        array = array.astype(np.uint8)
    if not np.issubdtype(array.dtype, np.integer):
        raise InputValidationError(
            f"The lesion label map has dtype {array.dtype}; expected integer labels "
            "(0 background, 1..N lesions)."
        )
    if array.min(initial=0) < 0:
        raise InputValidationError("The lesion label map has negative labels.")
    refs = {ReferenceTissue(k).value: v for k, v in (references or {}).items()}
    boxes = ndimage.find_objects(array)
    results = []
    voxel_ml = suv.voxel_volume_ml
    for index, box in enumerate(boxes):
        if box is None:
            continue
        label = index + 1
        results.append(_one(suv, array, label, box, voxel_ml, refs, peak_radius_mm))
    return results


def _one(
    suv: Volume,
    array: npt.NDArray[np.generic],
    label: int,
    box: tuple[slice, ...],
    voxel_ml: float,
    refs: dict[str, ReferenceRegion],
    peak_radius_mm: float,
) -> LesionMetrics:
    local_mask = array[box] == label
    values = np.asarray(suv.array[box], dtype=np.float64)[local_mask]
    idx = np.argwhere(local_mask) + np.array([s.start for s in box])
    points = suv.index_to_patient_mm(idx.astype(np.float64))
    # Peaks need the full grid (the sphere reaches outside the lesion's box).
    sub = _padded_view(suv, array, label, box, peak_radius_mm)
    local = suv_peak_local(sub[0], sub[1], radius_mm=peak_radius_mm)
    glob = suv_peak_global(sub[0], sub[1], radius_mm=peak_radius_mm)
    offset = np.asarray(sub[2], dtype=np.float64)
    max_pos = suv.index_to_patient_mm(np.asarray(local.centre_index_zyx) + offset)
    peak_pos = suv.index_to_patient_mm(np.asarray(glob.centre_index_zyx) + offset)
    if suv.slice_positions_mm is None:
        mean, sd = float(values.mean()), float(values.std())
        volume = len(values) * voxel_ml
    else:  # unevenly spaced slices: each voxel weighs its own volume
        weights = suv.voxel_volumes_ml(idx)
        volume = float(weights.sum())
        mean = float(np.sum(values * weights) / volume)
        sd = float(np.sqrt(np.sum(weights * (values - mean) ** 2) / volume))
    suv_max = float(values.max())
    tbr: dict[str, float | None] = {t.value: None for t in ReferenceTissue}
    for tissue, ref in refs.items():
        tbr[tissue] = suv_max / ref.mean_suv
    centroid = points.mean(axis=0)
    return LesionMetrics(
        label=label,
        voxels=len(values),
        volume_ml=volume,
        suv_max=suv_max,
        suv_peak_local=local.suv_peak,
        suv_peak_global=glob.suv_peak,
        suv_mean=mean,
        suv_sd=sd,
        suv_min=float(values.min()),
        tlg=mean * volume,
        longest_diameter_mm=longest_diameter_mm(points),
        centroid_mm=_triple(centroid),
        suv_max_mm=_triple(max_pos),
        suv_peak_global_centre_mm=_triple(peak_pos),
        tbr=tbr,
    )


def _triple(v: npt.ArrayLike) -> tuple[float, float, float]:
    a = np.asarray(v, dtype=np.float64)
    return (float(a[0]), float(a[1]), float(a[2]))


def _padded_view(
    suv: Volume,
    array: npt.NDArray[np.generic],
    label: int,
    box: tuple[slice, ...],
    radius_mm: float,
) -> tuple[Volume, Volume, tuple[int, int, int]]:
    """The lesion's box padded by the sphere reach, as small volumes with their own affine
    (so the peak functions see only what they need); returns (suv, mask, index offset)."""
    inverse = np.linalg.inv(suv.affine[:3, :3])
    reach = np.ceil(radius_mm * np.linalg.norm(inverse, axis=1)).astype(int) + 1
    low = [max(0, s.start - int(r)) for s, r in zip(box, reach, strict=True)]
    high = [min(n, s.stop + int(r)) for s, r, n in zip(box, reach, suv.shape, strict=True)]
    window = tuple(slice(a, b) for a, b in zip(low, high, strict=True))
    sub_suv = suv.crop(window)
    sub_mask = sub_suv.with_array(array[window] == label)
    return sub_suv, sub_mask, (low[0], low[1], low[2])
