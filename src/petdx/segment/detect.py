"""Whole-body candidate detection outside physiological uptake, as the candidate list a
reader then confirms.

Two methods (:class:`~petdx.segment.DetectionMethod`):

* ``percist``: voxels with ``SUV >= threshold_suv`` (the PERCIST threshold, Wahl 2009) --
  the issue's rule for measurable disease;
* ``local-contrast`` (default): the same voxels, plus every voxel hot against its own
  surroundings (:mod:`petdx.segment.local_contrast`). The PERCIST voxels keep large hot
  lesions whose extent exceeds the local background's segment length; the local rule finds
  the small and the moderately avid lesions a global threshold misses.

In both, the voxels inside the physiological-uptake masks dilated by ``exclusion_margin_mm``
are removed, the rest are grouped into connected components, components smaller than
``min_volume_ml`` are dropped, and candidates are numbered by decreasing SUVmax.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from petdx.errors import Hint, InputValidationError
from petdx.image import Volume
from petdx.segment.components import (
    check_mask_grid,
    connected_components,
    remove_small_components,
)
from petdx.segment.enums import Connectivity, DetectionMethod
from petdx.segment.local_contrast import LocalContrast, local_contrast
from petdx.segment.reference import ReferenceRegion

__all__ = ["Candidates", "detect_candidates"]


@dataclass(frozen=True)
class Candidates:
    """Result of :func:`detect_candidates`.

    Attributes
    ----------
    labels
        uint32 label map on the PET grid, candidates numbered 1..N by decreasing SUVmax.
    threshold_suv
        The global threshold used (``SUV >= threshold``).
    excluded_voxels
        Candidate voxels (above the threshold or hot) that fell in the (dilated)
        physiological-uptake mask.
    method
        The detection method.
    local
        The local-contrast maps and numbers (``None`` for ``percist``).
    """

    labels: Volume = field(repr=False)
    threshold_suv: float
    n_candidates: int
    excluded_voxels: int
    exclusion_margin_mm: float
    min_volume_ml: float
    connectivity: int
    method: DetectionMethod = DetectionMethod.PERCIST
    local: LocalContrast | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "method": self.method.value,
            "threshold_suv": self.threshold_suv,
            "n_candidates": self.n_candidates,
            "excluded_voxels": self.excluded_voxels,
            "exclusion_margin_mm": self.exclusion_margin_mm,
            "min_volume_ml": self.min_volume_ml,
            "connectivity": self.connectivity,
        }
        if self.local is not None:
            data["local_contrast"] = self.local.to_dict()
        return data

    def __str__(self) -> str:
        rule = f"SUV >= {self.threshold_suv:.3f}"
        if self.local is not None:
            rule += (
                f" or SUVpeak >= {self.local.contrast:g} x local background and "
                f"{self.local.noise_sigmas:g} noise SD above it"
            )
        return (
            f"{self.n_candidates} candidate(s) ({self.method.value}: {rule}) outside "
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


def _reference_mask(reference: ReferenceRegion | Volume | None) -> Volume:
    if reference is None:
        raise InputValidationError(
            "Local-contrast detection needs the reference region (the liver sphere PERCIST "
            "uses, or the blood-pool region) to measure the image noise. Give reference=... "
            "(a liver centre or mask, or automatic placement), or use method='percist'.",
            hint=Hint("liver_centre", alternatives=("liver_mask", "auto_liver")),
        )
    return reference.mask if isinstance(reference, ReferenceRegion) else reference


def detect_candidates(
    suv: Volume,
    *,
    threshold_suv: float,
    physiological_masks: Sequence[Volume] = (),
    method: str | DetectionMethod = DetectionMethod.LOCAL_CONTRAST,
    reference: ReferenceRegion | Volume | None = None,
    contrast: float = 1.4,
    noise_sigmas: float = 5.0,
    background_length_mm: float = 36.0,
    min_suv: float = 1.0,
    exclusion_margin_mm: float = 10.0,
    min_volume_ml: float = 0.1,
    connectivity: int | Connectivity = Connectivity.CORNER,
) -> Candidates:
    """Connected components of candidate voxels outside physiological uptake.

    Definition: candidate voxels are those with ``SUV >= threshold_suv``, and, for
    ``local-contrast``, also those hot by :func:`~petdx.segment.local_contrast.local_contrast`;
    voxels in the union of the physiological-uptake masks dilated by ``exclusion_margin_mm``
    are removed (the margin removes the spill-over rim of a hot organ, which PET resolution
    spreads beyond its anatomical boundary); the connected components of the rest with
    volume >= ``min_volume_ml`` are the candidates, renumbered by decreasing SUVmax.

    Parameters
    ----------
    suv
        SUV volume.
    threshold_suv
        The global threshold, usually :func:`~petdx.segment.percist_threshold_suv`.
    physiological_masks
        Masks on the PET grid of organs with physiological uptake (kidneys, bladder, and any
        the user supplies: brain, heart, salivary glands, spleen, ...).
    method
        ``local-contrast`` (default) or ``percist``.
    reference
        ``local-contrast`` only: the reference region (or its mask) that PERCIST used; its
        noise scales the local rule.
    contrast, noise_sigmas, background_length_mm, min_suv
        ``local-contrast`` only: the rule's parameters (:mod:`petdx.segment.local_contrast`).
    exclusion_margin_mm
        Dilation of the physiological masks in mm (0 for none).
    min_volume_ml
        Smallest candidate kept.
    connectivity
        6, 18 or 26.

    Raises
    ------
    InputValidationError
        Unknown method, negative margin, ``local-contrast`` without a reference region, or a
        local-contrast parameter out of range.
    GeometryError
        A mask not on the PET grid.
    """
    try:
        how = DetectionMethod(method)
    except ValueError:
        allowed = ", ".join(m.value for m in DetectionMethod)
        raise InputValidationError(
            f"Detection method '{method}': expected one of {allowed}."
        ) from None
    if exclusion_margin_mm < 0:
        raise InputValidationError(
            f"exclusion_margin_mm {exclusion_margin_mm}: expected a margin >= 0 mm."
        )
    found = np.asarray(suv.array) >= threshold_suv
    local = None
    if how is DetectionMethod.LOCAL_CONTRAST:
        local = local_contrast(
            suv,
            _reference_mask(reference),
            contrast=contrast,
            noise_sigmas=noise_sigmas,
            background_length_mm=background_length_mm,
            min_suv=min_suv,
        )
        found |= np.asarray(local.hot.array, dtype=bool)
    excluded = np.zeros(suv.shape, dtype=bool)
    for k, organ in enumerate(physiological_masks):
        check_mask_grid(suv, organ, f"physiological-uptake mask #{k + 1}")
        excluded |= np.asarray(organ.array) != 0
    if exclusion_margin_mm > 0 and excluded.any():
        excluded = _dilate_mm(excluded, exclusion_margin_mm, suv.spacing_mm)
    kept = found & ~excluded
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
        excluded_voxels=int((found & excluded).sum()),
        exclusion_margin_mm=float(exclusion_margin_mm),
        min_volume_ml=float(min_volume_ml),
        connectivity=int(connectivity),
        method=how,
        local=local,
    )
