"""Label maps drawn on another grid (a CT, an MR, a viewer's own grid) carried onto the PET.

petdx resamples a mask only on request (``--resample nearest|fraction``), by one of two stated
rules. Both place the two grids in patient space by their affines (an unevenly spaced PET by
its mean-step grid: the reading warning gives the largest position error of that) and use
SimpleITK's nearest-neighbour ``ResampleImageFilter`` for the look-ups:

``nearest``
    Each PET voxel takes the label of the mask voxel nearest to its centre. Fast; a lesion
    drawn on a finer grid keeps roughly its volume, but small lesions can vanish or grow by
    a voxel layer.
``fraction``
    Each PET voxel is divided into ``n_k x n_j x n_i`` sub-voxels (``n`` per axis = PET spacing
    over the mask's finest spacing, rounded up, from 2 to 8); each sub-voxel takes the label
    at its centre, so a label's share of the sub-voxels estimates the fraction of the PET
    voxel's volume it covers. The voxel takes the label with the largest share when that share
    is at least ``fraction_threshold`` (default 0.5, the partial-volume threshold of IBSI;
    ties go to the smaller label). This is the rule for a CT-drawn VOI on a coarser PET.

Every resampling reports each label's volume before and after and the labels that vanished,
so the change is visible in the warning (the CLI prints it) and never silent.

References
----------
Zwanenburg A, et al. The Image Biomarker Standardization Initiative. Radiology
2020;295:328-338. doi:10.1148/radiol.2020191145 (mask interpolation, partial-volume 0.5).
Lowekamp BC, et al. The design of SimpleITK. Front Neuroinform 2013;7:45.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import SimpleITK as sitk

from petdx.errors import InputValidationError
from petdx.image.sitk_bridge import to_sitk
from petdx.image.volume import Volume

__all__ = ["MaskResampling", "ResampledLabels", "resample_labels_onto"]

#: Most sub-voxels held at once by the fraction rule (bounds memory on large masks).
_CHUNK_SUB_VOXELS = 2**25
_MAX_SUB_VOXELS_PER_AXIS = 8


class MaskResampling(StrEnum):
    """How a mask on another grid is carried onto the PET grid (module docstring)."""

    NEAREST = "nearest"
    FRACTION = "fraction"


@dataclass(frozen=True)
class ResampledLabels:
    """A label map carried onto the PET grid.

    Attributes
    ----------
    labels
        uint32 labels on the PET grid.
    rule
        The rule used.
    sub_voxels_per_axis
        ``(n_k, n_j, n_i)`` of the fraction rule (None for nearest).
    volumes_ml
        Per label: (volume on the mask's own grid, volume on the PET grid) in ml.
    """

    labels: Volume
    rule: MaskResampling
    sub_voxels_per_axis: tuple[int, int, int] | None
    volumes_ml: dict[int, tuple[float, float]]

    @property
    def lost_labels(self) -> list[int]:
        """Labels present on the mask's grid that no PET voxel holds."""
        return [label for label, (_, after) in self.volumes_ml.items() if after == 0.0]

    def describe(self) -> str:
        """One sentence for the warning: the rule and every label's volume change."""
        if self.rule is MaskResampling.NEAREST:
            how = "each PET voxel took the label at its centre (nearest neighbour)"
        else:
            n = "x".join(str(v) for v in self.sub_voxels_per_axis or ())
            how = (
                "each PET voxel took the label covering at least half of it, estimated on "
                f"{n} sub-voxels"
            )
        change = ", ".join(
            f"label {label} {before:.3g} -> {after:.3g} ml"
            for label, (before, after) in self.volumes_ml.items()
        )
        lost = self.lost_labels
        vanished = f"; label(s) {lost} vanished (smaller than the PET voxels)" if lost else ""
        return (
            f"resampled onto the PET grid by the '{self.rule}' rule: {how}; "
            f"{change or 'no labels'}{vanished}"
        )


def _labels_of(labels: Volume) -> npt.NDArray[np.uint32]:
    values = np.asarray(labels.array)
    if np.issubdtype(values.dtype, np.floating) and np.any(values != np.round(values)):
        raise InputValidationError("a label map must hold integers to be resampled")
    if values.min(initial=0) < 0:
        raise InputValidationError("a label map must not hold negative labels")
    return values.astype(np.uint32)


def _target_box(labels: Volume, grid: Volume, values: npt.NDArray[np.uint32]) -> tuple[slice, ...]:
    """The PET index box (uniform grid) that holds every labelled voxel of the mask, padded
    by one voxel; empty slices when the mask lies outside the PET."""
    present = np.argwhere(values > 0)
    low, high = present.min(axis=0) - 0.5, present.max(axis=0) + 0.5
    corners = np.array(
        [[(low, high)[b][a] for a, b in enumerate(bits)] for bits in np.ndindex(2, 2, 2)]
    )
    patient = corners @ labels.affine[:3, :3].T + labels.affine[:3, 3]
    inverse = np.linalg.inv(grid.affine)
    index = patient @ inverse[:3, :3].T + inverse[:3, 3]
    start = np.maximum(np.floor(index.min(axis=0)).astype(int) - 1, 0)
    stop = np.minimum(np.ceil(index.max(axis=0)).astype(int) + 2, grid.shape)
    return tuple(slice(int(a), int(max(a, b))) for a, b in zip(start, stop, strict=True))


def _nearest(source: sitk.Image, target: Volume) -> npt.NDArray[np.uint32]:
    resampler = sitk.ResampleImageFilter()
    resampler.SetReferenceImage(to_sitk(target, np.uint8))
    resampler.SetInterpolator(sitk.sitkNearestNeighbor)
    resampler.SetDefaultPixelValue(0)
    resampler.SetOutputPixelType(sitk.sitkUInt32)
    return np.asarray(sitk.GetArrayFromImage(resampler.Execute(source)), dtype=np.uint32)


def _sub_voxel_grid(box: Volume, n: tuple[int, int, int], slices: slice) -> Volume:
    """The lattice of sub-voxel centres of PET slices ``slices`` of ``box``."""
    counts = np.asarray(n, dtype=np.float64)
    affine = box.affine.copy()
    affine[:3, :3] = box.affine[:3, :3] / counts
    corner = np.array([slices.start, 0.0, 0.0]) - 0.5 + 0.5 / counts
    affine[:3, 3] = box.affine[:3, :3] @ corner + box.affine[:3, 3]
    shape = ((slices.stop - slices.start) * n[0], box.shape[1] * n[1], box.shape[2] * n[2])
    return Volume(np.zeros(shape, dtype=np.uint8), affine)


def _fraction(
    source: sitk.Image,
    box: Volume,
    n: tuple[int, int, int],
    present: npt.NDArray[np.uint32],
    threshold: float,
) -> npt.NDArray[np.uint32]:
    out = np.zeros(box.shape, dtype=np.uint32)
    per_slice = box.shape[1] * box.shape[2] * n[0] * n[1] * n[2]
    step = max(1, _CHUNK_SUB_VOXELS // max(per_slice, 1))
    for start in range(0, box.shape[0], step):
        part = slice(start, min(start + step, box.shape[0]))
        fine = _nearest(source, _sub_voxel_grid(box, n, part))
        blocks = fine.reshape(part.stop - part.start, n[0], box.shape[1], n[1], box.shape[2], n[2])
        shares = np.stack([(blocks == label).mean(axis=(1, 3, 5)) for label in present])
        best = np.argmax(shares, axis=0)  # first (smaller) label on ties
        keep = np.take_along_axis(shares, best[None], axis=0)[0] >= threshold - 1e-12
        out[part] = np.where(keep, present[best], 0)
    return out


def resample_labels_onto(
    labels: Volume,
    grid: Volume,
    rule: MaskResampling | str,
    *,
    fraction_threshold: float = 0.5,
) -> ResampledLabels:
    """Carry an integer label map on its own grid onto ``grid`` (module docstring).

    Raises
    ------
    InputValidationError
        Non-integer or negative labels, an unknown rule or a threshold outside (0, 1].
    """
    try:
        rule = MaskResampling(rule)
    except ValueError:
        raise InputValidationError(
            f"unknown resampling rule '{rule}': use 'nearest' or 'fraction'"
        ) from None
    if not 0.0 < fraction_threshold <= 1.0:
        raise InputValidationError(
            f"fraction_threshold {fraction_threshold} must lie in (0, 1] (0.5 is IBSI's)"
        )
    values = _labels_of(labels)
    present = np.unique(values[values > 0]).astype(np.uint32)
    out = np.zeros(grid.shape, dtype=np.uint32)
    n: tuple[int, int, int] | None = None
    if rule is MaskResampling.FRACTION:
        ratio = np.asarray(grid.spacing_mm) / min(labels.spacing_mm)
        clipped = np.clip(np.ceil(ratio - 1e-9), 2, _MAX_SUB_VOXELS_PER_AXIS).astype(int)
        n = (int(clipped[0]), int(clipped[1]), int(clipped[2]))
    if present.size:
        box_slices = _target_box(labels, grid, values)
        if all(s.stop > s.start for s in box_slices):
            shape = tuple(sl.stop - sl.start for sl in box_slices)
            box = Volume(np.zeros(shape, dtype=np.uint8), _box_affine(grid, box_slices))
            source = to_sitk(labels.with_array(values), np.uint32)
            if n is None:
                out[box_slices] = _nearest(source, box)
            else:
                out[box_slices] = _fraction(source, box, n, present, fraction_threshold)
    volumes = {
        int(label): (_volume_ml(labels, values, label), _volume_ml(grid, out, label))
        for label in present
    }
    return ResampledLabels(grid.with_array(out), rule, n, volumes)


def _box_affine(grid: Volume, box: tuple[slice, ...]) -> npt.NDArray[np.float64]:
    """The uniform (mean-step) affine of the PET sub-grid starting at ``box``'s corner."""
    affine = grid.affine.copy()
    start = np.array([s.start for s in box], dtype=np.float64)
    affine[:3, 3] = grid.affine[:3, :3] @ start + grid.affine[:3, 3]
    return affine


def _volume_ml(grid: Volume, values: npt.NDArray[np.uint32], label: int) -> float:
    """Volume (ml) of one label, each voxel with its slice's volume."""
    per_slice = (values == label).sum(axis=(1, 2))
    return float(np.sum(per_slice * grid.slice_voxel_volumes_ml))
