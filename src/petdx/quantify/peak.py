"""SUVpeak: the mean SUV in a 1 cm^3 sphere (radius 6.2035 mm).

Sphere rule: the voxels whose centres lie within 6.2035 mm of the sphere centre (a voxel
centre), whether or not they belong to the lesion (PERCIST measures the peak in a fixed
volume, not inside the lesion). Voxels of the sphere that fall outside the image are left
out and the mean is taken over those inside.

* **Local peak** (:func:`suv_peak_local`): the sphere centred on the lesion's SUVmax voxel
  (when several voxels share the maximum: the one nearest to the lesion's centroid, then
  the first in C (z, y, x) order).
* **Global peak** (:func:`suv_peak_global`): the highest sphere mean over spheres centred on
  any voxel of the lesion. This is PERCIST's "hottest 1 cm^3 within the tumour" restricted
  to centres inside the lesion VOI; it is >= the local peak by construction.

The global peak correlates the SUV of the lesion's bounding box (padded by the sphere
radius) with the sphere kernel (``scipy.ndimage.correlate``), so its cost grows with the
lesion's size, not the image's.

When the slices are not evenly spaced (:attr:`petdx.image.Volume.slice_positions_mm`), the
sphere is the same rule on the true voxel centres: for each centre slice, every slice's
in-plane disc is built from its true distance to the centre, and the sums are correlations
plane by plane. So the sphere holds exactly the voxels whose true centres lie within the
radius.

References
----------
Wahl RL, et al. From RECIST to PERCIST. J Nucl Med 2009;50 Suppl 1:122S-150S.
doi:10.2967/jnumed.108.057307
Vanderhoek M, Perlman SB, Jeraj R. Impact of the definition of peak standardized uptake
value on quantification of treatment response. J Nucl Med 2012;53:4-11.
doi:10.2967/jnumed.111.093443
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from petdx.errors import InputValidationError
from petdx.image import Volume
from petdx.segment import SUV_PEAK_RADIUS_MM, ball_kernel

__all__ = ["PeakResult", "suv_peak_global", "suv_peak_local"]


@dataclass(frozen=True)
class PeakResult:
    """A SUVpeak and where its sphere is centred.

    Attributes
    ----------
    suv_peak
        Mean SUV in the sphere.
    centre_index_zyx
        Voxel index of the sphere centre.
    n_voxels
        Voxels averaged (fewer than the full sphere at the image edge).
    """

    suv_peak: float
    centre_index_zyx: tuple[int, int, int]
    n_voxels: int


def _lesion_box(
    mask: npt.NDArray[np.bool_], reach: npt.NDArray[np.int64], shape: tuple[int, ...]
) -> tuple[tuple[slice, ...], tuple[slice, ...], npt.NDArray[np.int64]]:
    """Bounding box of the lesion, and the same box padded by the kernel reach (clipped)."""
    nonzero = (
        np.nonzero(mask.any(axis=(1, 2))),
        np.nonzero(mask.any(axis=(0, 2))),
        np.nonzero(mask.any(axis=(0, 1))),
    )
    low = np.array([int(n[0][0]) for n in nonzero])
    high = np.array([int(n[0][-1]) + 1 for n in nonzero])
    pad_low = np.maximum(low - reach, 0)
    pad_high = np.minimum(high + reach, shape)
    box = tuple(slice(int(a), int(b)) for a, b in zip(low, high, strict=True))
    padded = tuple(slice(int(a), int(b)) for a, b in zip(pad_low, pad_high, strict=True))
    return box, padded, low - pad_low


def _reach(suv: Volume, radius_mm: float) -> npt.NDArray[np.int64]:
    """Index reach (k, j, i) of the sphere: the ball kernel's, on the smallest slice gap when
    the slices are unevenly spaced."""
    affine = suv.affine
    if suv.slice_positions_mm is not None and len(suv.slice_positions_mm) > 1:
        affine = affine.copy()
        smallest = float(np.min(np.diff(suv.slice_positions_mm)))
        affine[:3, 0] *= smallest / suv.spacing_mm[0]
    return np.asarray(ball_kernel(affine, radius_mm).shape) // 2 + np.array([0, 1, 1])


def _plane_kernel(
    suv: Volume, slice_offset_mm: float, radius_mm: float
) -> npt.NDArray[np.float64] | None:
    """In-plane disc (odd-sized, centred) of the voxels of a slice ``slice_offset_mm`` (true
    distance along the step vector) from the centre slice whose centres lie within the
    radius, or None when none does."""
    linear = suv.affine[:3, :3]
    base = linear[:, 0] * (slice_offset_mm / suv.spacing_mm[0])
    extent = radius_mm + float(np.linalg.norm(base))
    rj = int(np.ceil(extent / np.linalg.norm(linear[:, 1])))
    ri = int(np.ceil(extent / np.linalg.norm(linear[:, 2])))
    jj, ii = np.mgrid[-rj : rj + 1, -ri : ri + 1]
    displacement = base + jj[..., None] * linear[:, 1] + ii[..., None] * linear[:, 2]
    disc = np.linalg.norm(displacement, axis=-1) <= radius_mm * (1.0 + 1e-12)
    return disc.astype(np.float64) if disc.any() else None


def _sphere_sums_by_plane(
    suv: Volume,
    values: npt.NDArray[np.float64],
    first_slice: int,
    centre_slices: range,
    radius_mm: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Sphere sums and counts for every voxel of ``values`` (slices ``first_slice`` onwards
    of ``suv``) in the centre slices (indices into ``values``), on the true positions."""
    assert suv.slice_positions_mm is not None
    positions = np.asarray(suv.slice_positions_mm)[first_slice : first_slice + len(values)]
    sums = np.zeros((len(centre_slices), *values.shape[1:]))
    counts = np.zeros_like(sums)
    ones = np.ones(values.shape[1:])
    for row, k in enumerate(centre_slices):
        for other in range(len(values)):
            slice_offset_mm = float(positions[other] - positions[k])
            if abs(slice_offset_mm) > radius_mm:
                continue
            disc = _plane_kernel(suv, slice_offset_mm, radius_mm)
            if disc is None:
                continue
            sums[row] += ndimage.correlate(values[other], disc, mode="constant", cval=0.0)
            counts[row] += ndimage.correlate(ones, disc, mode="constant", cval=0.0)
    return sums, counts


def _sphere_means(
    suv: Volume, mask: npt.NDArray[np.bool_], radius_mm: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], tuple[slice, ...]]:
    """Sphere sums and voxel counts centred on every voxel of the lesion's bounding box."""
    if suv.slice_positions_mm is not None:
        box, padded, offset = _lesion_box(mask, _reach(suv, radius_mm), suv.shape)
        values = np.asarray(suv.array[padded], dtype=np.float64)
        centre_slices = range(int(offset[0]), int(offset[0]) + (box[0].stop - box[0].start))
        sums, counts = _sphere_sums_by_plane(suv, values, padded[0].start, centre_slices, radius_mm)
        inner_plane = tuple(
            slice(int(o), int(o) + (b.stop - b.start))
            for o, b in zip(offset[1:], box[1:], strict=True)
        )
        return sums[(slice(None), *inner_plane)], counts[(slice(None), *inner_plane)], box
    kernel = ball_kernel(suv.affine, radius_mm)
    reach = np.asarray(kernel.shape) // 2
    box, padded, offset = _lesion_box(mask, reach, suv.shape)
    values = np.asarray(suv.array[padded], dtype=np.float64)
    weights = kernel.astype(np.float64)
    sums = ndimage.correlate(values, weights, mode="constant", cval=0.0)
    counts = ndimage.correlate(np.ones_like(values), weights, mode="constant", cval=0.0)
    inner = tuple(
        slice(int(o), int(o) + (b.stop - b.start)) for o, b in zip(offset, box, strict=True)
    )
    return sums[inner], counts[inner], box


def _check(suv: Volume, lesion: Volume) -> npt.NDArray[np.bool_]:
    if lesion.shape != suv.shape:
        raise InputValidationError(
            f"Lesion mask shape {lesion.shape} differs from the SUV volume's {suv.shape}."
        )
    mask = np.asarray(lesion.array) != 0
    if not mask.any():
        raise InputValidationError("SUVpeak of an empty lesion mask is undefined.")
    return mask


def _max_voxel(suv: Volume, mask: npt.NDArray[np.bool_]) -> tuple[int, int, int]:
    """The SUVmax voxel; among ties, the one nearest (in mm) to the lesion's centroid, then
    the first in C order."""
    values = np.where(mask, suv.array, -np.inf)
    ties = np.argwhere(values == values.max())
    if len(ties) > 1:
        centroid = suv.index_to_patient_mm(np.argwhere(mask).mean(axis=0))
        distance = np.linalg.norm(suv.index_to_patient_mm(ties.astype(float)) - centroid, axis=1)
        ties = ties[np.argsort(distance, kind="stable")]
    k, j, i = (int(v) for v in ties[0])
    return (k, j, i)


def suv_peak_local(
    suv: Volume, lesion: Volume, *, radius_mm: float = SUV_PEAK_RADIUS_MM
) -> PeakResult:
    """Mean SUV in the sphere centred on the lesion's SUVmax voxel (see module docstring)."""
    mask = _check(suv, lesion)
    index = _max_voxel(suv, mask)
    if suv.slice_positions_mm is not None:
        return _local_peak_by_plane(suv, index, radius_mm)
    kernel = ball_kernel(suv.affine, radius_mm)
    reach = np.asarray(kernel.shape) // 2
    low = np.asarray(index) - reach
    high = np.asarray(index) + reach + 1
    clip_low, clip_high = np.maximum(low, 0), np.minimum(high, suv.shape)
    window = suv.array[
        tuple(slice(int(a), int(b)) for a, b in zip(clip_low, clip_high, strict=True))
    ]
    part = kernel[
        tuple(
            slice(int(a - lo), int(b - lo))
            for a, b, lo in zip(clip_low, clip_high, low, strict=True)
        )
    ]
    inside = np.asarray(window, dtype=np.float64)[part]
    centre = (int(index[0]), int(index[1]), int(index[2]))
    return PeakResult(float(inside.mean()), centre, int(inside.size))


def _local_peak_by_plane(suv: Volume, index: tuple[int, int, int], radius_mm: float) -> PeakResult:
    """The local peak on unevenly spaced slices: the sphere of the true voxel centres."""
    reach = _reach(suv, radius_mm)
    low = np.maximum(np.asarray(index) - reach, 0)
    high = np.minimum(np.asarray(index) + reach + 1, suv.shape)
    window = tuple(slice(int(a), int(b)) for a, b in zip(low, high, strict=True))
    values = np.asarray(suv.array[window], dtype=np.float64)
    centre = int(index[0] - low[0])
    sums, counts = _sphere_sums_by_plane(
        suv, values, int(low[0]), range(centre, centre + 1), radius_mm
    )
    j, i = int(index[1] - low[1]), int(index[2] - low[2])
    return PeakResult(float(sums[0, j, i] / counts[0, j, i]), index, int(counts[0, j, i]))


def suv_peak_global(
    suv: Volume, lesion: Volume, *, radius_mm: float = SUV_PEAK_RADIUS_MM
) -> PeakResult:
    """Highest sphere mean over spheres centred on any lesion voxel (see module docstring)."""
    mask = _check(suv, lesion)
    sums, counts, box = _sphere_means(suv, mask, radius_mm)
    means = np.where(mask[box], sums / counts, -np.inf)
    flat = int(np.argmax(means))
    local = np.unravel_index(flat, means.shape)
    centre = tuple(int(s.start + i) for s, i in zip(box, local, strict=True))
    return PeakResult(float(means[local]), (centre[0], centre[1], centre[2]), int(counts[local]))
