"""Whole-body candidate detection: components above the PERCIST threshold outside
physiological uptake, as the candidate list a reader then confirms."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from petdx.errors import InputValidationError
from petdx.image import Volume
from petdx.segment.components import (
    check_mask_grid,
    connected_components,
    remove_small_components,
)
from petdx.segment.enums import Connectivity

__all__ = ["Candidates", "detect_candidates"]


@dataclass(frozen=True)
class Candidates:
    """Result of :func:`detect_candidates`.

    Attributes
    ----------
    labels
        uint32 label map on the PET grid, candidates numbered 1..N by decreasing SUVmax.
    threshold_suv
        The threshold used (``SUV >= threshold``).
    excluded_voxels
        Voxels above the threshold that fell in the (dilated) physiological-uptake mask.
    """

    labels: Volume = field(repr=False)
    threshold_suv: float
    n_candidates: int
    excluded_voxels: int
    exclusion_margin_mm: float
    min_volume_ml: float
    connectivity: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold_suv": self.threshold_suv,
            "n_candidates": self.n_candidates,
            "excluded_voxels": self.excluded_voxels,
            "exclusion_margin_mm": self.exclusion_margin_mm,
            "min_volume_ml": self.min_volume_ml,
            "connectivity": self.connectivity,
        }

    def __str__(self) -> str:
        return (
            f"{self.n_candidates} candidate(s) with SUV >= {self.threshold_suv:.3f} outside "
            f"physiological uptake ({self.excluded_voxels} voxels excluded)"
        )


def _dilate_mm(
    mask: npt.NDArray[np.bool_], margin_mm: float, spacing_mm: tuple[float, float, float]
) -> npt.NDArray[np.bool_]:
    """Voxels whose centre is within ``margin_mm`` of a mask voxel's centre (Euclidean
    distance transform computed only in the mask's bounding box padded by the margin)."""
    reach = np.ceil(margin_mm / np.asarray(spacing_mm)).astype(int) + 1
    box = []
    for axis in range(3):
        others = tuple(a for a in range(3) if a != axis)
        hits = np.flatnonzero(mask.any(axis=others))
        low = max(0, int(hits[0]) - int(reach[axis]))
        high = min(mask.shape[axis], int(hits[-1]) + int(reach[axis]) + 1)
        box.append(slice(low, high))
    window = tuple(box)
    out = np.zeros_like(mask)
    distance = ndimage.distance_transform_edt(~mask[window], sampling=spacing_mm)
    out[window] = distance <= margin_mm
    return out


def detect_candidates(
    suv: Volume,
    *,
    threshold_suv: float,
    physiological_masks: Sequence[Volume] = (),
    exclusion_margin_mm: float = 10.0,
    min_volume_ml: float = 0.1,
    connectivity: int | Connectivity = Connectivity.CORNER,
) -> Candidates:
    """Every connected component of ``SUV >= threshold_suv`` outside physiological uptake.

    Definition: voxels with ``SUV >= threshold_suv`` that are not in the union of the
    physiological-uptake masks dilated by ``exclusion_margin_mm`` (the margin removes the
    spill-over rim of a hot organ, which PET resolution spreads beyond its anatomical
    boundary); their connected components; those with volume >= ``min_volume_ml`` kept.
    Candidates are renumbered by decreasing SUVmax.

    Parameters
    ----------
    suv
        SUV volume.
    threshold_suv
        Usually :func:`~petdx.segment.percist_threshold_suv`.
    physiological_masks
        Masks on the PET grid of organs with physiological uptake (kidneys, bladder, and any
        the user supplies: brain, heart, salivary glands, spleen, ...).
    exclusion_margin_mm
        Dilation of the physiological masks in mm (0 for none).
    min_volume_ml
        Smallest candidate kept.
    connectivity
        6, 18 or 26.
    """
    if exclusion_margin_mm < 0:
        raise InputValidationError(
            f"exclusion_margin_mm {exclusion_margin_mm}: expected a margin >= 0 mm."
        )
    above = np.asarray(suv.array) >= threshold_suv
    excluded = np.zeros(suv.shape, dtype=bool)
    for k, organ in enumerate(physiological_masks):
        check_mask_grid(suv, organ, f"physiological-uptake mask #{k + 1}")
        excluded |= np.asarray(organ.array) != 0
    if exclusion_margin_mm > 0 and excluded.any():
        excluded = _dilate_mm(excluded, exclusion_margin_mm, suv.spacing_mm)
    kept = above & ~excluded
    labels = connected_components(suv.with_array(kept), connectivity=connectivity)
    labels = remove_small_components(labels, min_volume_ml=min_volume_ml)
    array = np.asarray(labels.array)
    n = int(array.max())
    if n:
        maxima = ndimage.maximum(suv.array, labels=array, index=np.arange(1, n + 1))
        order = np.argsort(-np.asarray(maxima), kind="stable")
        mapping = np.zeros(n + 1, dtype=np.uint32)
        mapping[order + 1] = np.arange(1, n + 1, dtype=np.uint32)
        array = mapping[array]
    return Candidates(
        labels=suv.with_array(array.astype(np.uint32)),
        threshold_suv=float(threshold_suv),
        n_candidates=n,
        excluded_voxels=int((above & excluded).sum()),
        exclusion_margin_mm=float(exclusion_margin_mm),
        min_volume_ml=float(min_volume_ml),
        connectivity=int(connectivity),
    )
