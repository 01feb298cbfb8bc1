"""Local-contrast hot spots: a focus of uptake measured against its own surroundings.

A global threshold (PERCIST: 1.5 x liver mean + 2 SD) is a rule for *measurable* disease,
not a detector: a 10-15 mm lesion keeps only about half its contrast at clinical PET
resolution (EARL1 recovery of a 10 mm sphere ~0.45), and a tracer whose liver uptake is high
puts the threshold above most lesions. A reader finds a lesion by its contrast to the tissue
around it. This module states that as a rule.

Definition, for every voxel ``x`` of a SUV image:

1. **Peak image** ``P(x)``: the mean SUV in the 1 cm^3 sphere (radius 6.2035 mm, voxels whose
   centre lies within it; voxels outside the image left out) centred on ``x`` -- the SUVpeak
   sphere of PERCIST, used here as the noise-robust uptake at every voxel.
2. **Local background** ``B(x)``: a grey-scale opening of ``P`` by straight line segments in
   the 13 directions of the 26-neighbourhood, and the maximum over the directions.
   Each segment spans 2h+1 voxel centres with ``h = max(1, round(L / (2 step)))`` (``step``
   = the voxel-centre distance along that direction in mm, ``L`` = ``background_length_mm``),
   clipped at the image border. ``B(x)`` is the highest level at which some straight segment
   through ``x`` stays above it: a focus shorter than ``L`` in every direction is removed
   (``B`` takes the level of its surroundings), while a structure at least ``L`` long in one
   direction -- a vessel, the spine, a bowel wall, a large organ and its edge -- is kept
   (``B = P``). This is the white top-hat with linear structuring elements used to find small
   round foci among elongated structures (Zana and Klein 2001; Meyer 1979).
3. **Noise** ``sigma(x)``: the SD of ``P`` over the reference region (the liver sphere that
   PERCIST uses, or the blood-pool region), scaled to the local background by Poisson
   statistics, ``sigma(x) = SD_ref x sqrt(B(x) / mean_ref)``, where mean_ref is the mean of
   ``P`` over the reference region.
4. A voxel is **hot** when all three hold (inclusive):

   * ``P(x) >= contrast x B(x)`` (default 1.4: 40 % above the surroundings);
   * ``P(x) - B(x) >= noise_sigmas x sigma(x)`` (default 5: the Rose criterion for a signal
     seen with certainty against noise);
   * ``P(x) >= min_suv`` (default 1.0: above the whole-body average concentration, which is
     SUV 1 by the definition of SUV; keeps air and cold tissue out).

The defaults were chosen on two simulated tuning cohorts (``petdx simulate`` seeds 101 and
102, FDG and 68Ga-DOTA-BLP, 6 mm voxels, and 8 patients at 4 mm), separate from the cohorts
docs/validation.md reports: among segment lengths of 24-60 mm, contrasts of 1.2-1.5, noise
criteria of 3-6 SD and voxel, Gaussian or SUVpeak statistics, the most sensitive setting
whose false candidates stayed at or below 0.5 per patient on every tuning cohort.

References
----------
Wahl RL, Jacene H, Kasamon Y, Lodge MA. From RECIST to PERCIST. J Nucl Med 2009;50 Suppl
1:122S-150S. doi:10.2967/jnumed.108.057307
Rose A. The sensitivity performance of the human eye on an absolute scale. J Opt Soc Am
1948;38:196-208. doi:10.1364/JOSA.38.000196
Zana F, Klein JC. Segmentation of vessel-like patterns using mathematical morphology and
curvature evaluation. IEEE Trans Image Process 2001;10:1010-1019. doi:10.1109/83.931095
Meyer F. Iterative image transformations for an automatic screening of cervical smears.
J Histochem Cytochem 1979;27:128-135. doi:10.1177/27.1.438499
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from petdx.errors import InputValidationError
from petdx.image import Volume
from petdx.segment.components import check_mask_grid
from petdx.segment.shapes import SUV_PEAK_RADIUS_MM, ball_kernel

__all__ = [
    "LINE_DIRECTIONS",
    "LocalContrast",
    "line_opening_background",
    "local_contrast",
    "peak_image",
]

#: The 13 directions (dk, dj, di) of the 26-neighbourhood, one of each opposite pair.
LINE_DIRECTIONS: tuple[tuple[int, int, int], ...] = (
    (1, 0, 0),
    (0, 1, 0),
    (0, 0, 1),
    (1, 1, 0),
    (1, -1, 0),
    (1, 0, 1),
    (1, 0, -1),
    (0, 1, 1),
    (0, 1, -1),
    (1, 1, 1),
    (1, 1, -1),
    (1, -1, 1),
    (1, -1, -1),
)


def peak_image(suv: Volume, *, radius_mm: float = SUV_PEAK_RADIUS_MM) -> Volume:
    """Mean SUV in the sphere of ``radius_mm`` centred on every voxel.

    Voxels count when their centre lies within the radius (:func:`ball_kernel`); voxels
    outside the image are left out of the mean, as for SUVpeak
    (:func:`petdx.quantify.suv_peak_local`), so the value at a voxel equals the SUVpeak of a
    sphere centred there.
    """
    weights = ball_kernel(suv.affine, radius_mm).astype(np.float64)
    values = np.asarray(suv.array, dtype=np.float64)
    sums = ndimage.correlate(values, weights, mode="constant", cval=0.0)
    counts = ndimage.correlate(np.ones_like(values), weights, mode="constant", cval=0.0)
    return suv.with_array((sums / counts).astype(np.float32))


def _segment_half_length(
    affine: npt.NDArray[np.float64], direction: tuple[int, ...], length_mm: float
) -> int:
    step_mm = float(np.linalg.norm(affine[:3, :3] @ np.asarray(direction, dtype=np.float64)))
    return max(1, round(length_mm / (2.0 * step_mm)))


def _line_footprint(direction: tuple[int, ...], half: int) -> npt.NDArray[np.bool_]:
    size = tuple(2 * half + 1 if d else 1 for d in direction)
    footprint = np.zeros(size, dtype=bool)
    for t in range(-half, half + 1):
        footprint[tuple(t * d + (half if d else 0) for d in direction)] = True
    return footprint


def line_opening_background(image: Volume, *, length_mm: float = 36.0) -> Volume:
    """Maximum over the 13 :data:`LINE_DIRECTIONS` of the grey-scale opening of ``image`` by
    a straight segment (see the module docstring for the segment length rule).

    Segments are clipped at the image border: the erosion takes the minimum over the part of
    the segment inside the image, the dilation the maximum over the part inside.

    Parameters
    ----------
    image
        Usually :func:`peak_image` of a SUV volume.
    length_mm
        Nominal segment length ``L`` in mm (> 0).
    """
    if not (length_mm > 0 and math.isfinite(length_mm)):
        raise InputValidationError(
            f"background_length_mm {length_mm}: expected a positive length in mm."
        )
    values = np.asarray(image.array, dtype=np.float32)
    best: npt.NDArray[np.float32] | None = None
    for direction in LINE_DIRECTIONS:
        half = _segment_half_length(image.affine, direction, length_mm)
        footprint = _line_footprint(direction, half)
        eroded = ndimage.grey_erosion(values, footprint=footprint, mode="constant", cval=np.inf)
        opened = ndimage.grey_dilation(eroded, footprint=footprint, mode="constant", cval=-np.inf)
        best = opened if best is None else np.maximum(best, opened)
    assert best is not None
    return image.with_array(best)


@dataclass(frozen=True)
class LocalContrast:
    """Result of :func:`local_contrast`: the maps and the rule's numbers.

    Attributes
    ----------
    hot
        Boolean map of the hot voxels (all three criteria of the module docstring).
    peak, background, noise_sd
        ``P``, ``B`` and ``sigma`` of the module docstring (SUV).
    reference_peak_mean_suv, reference_peak_sd_suv
        Mean and SD (ddof 0) of ``P`` over the reference region.
    """

    hot: Volume = field(repr=False)
    peak: Volume = field(repr=False)
    background: Volume = field(repr=False)
    noise_sd: Volume = field(repr=False)
    reference_peak_mean_suv: float
    reference_peak_sd_suv: float
    contrast: float
    noise_sigmas: float
    background_length_mm: float
    min_suv: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "contrast": self.contrast,
            "noise_sigmas": self.noise_sigmas,
            "background_length_mm": self.background_length_mm,
            "min_suv": self.min_suv,
            "reference_peak_mean_suv": self.reference_peak_mean_suv,
            "reference_peak_sd_suv": self.reference_peak_sd_suv,
            "hot_voxels": int(np.count_nonzero(self.hot.array)),
        }

    def __str__(self) -> str:
        return (
            f"local contrast: SUVpeak >= {self.contrast:g} x background and >= background + "
            f"{self.noise_sigmas:g} x noise SD (reference SD {self.reference_peak_sd_suv:.3f} "
            f"at mean {self.reference_peak_mean_suv:.3f}), >= SUV {self.min_suv:g}; "
            f"{int(np.count_nonzero(self.hot.array))} hot voxels"
        )


def _positive(value: float, name: str, *, allow_zero: bool = False) -> None:
    ok = value >= 0 if allow_zero else value > 0
    if not (ok and math.isfinite(value)):
        bound = ">= 0" if allow_zero else "> 0"
        raise InputValidationError(f"{name} {value}: expected a finite number {bound}.")


def local_contrast(
    suv: Volume,
    reference_mask: Volume,
    *,
    contrast: float = 1.4,
    noise_sigmas: float = 5.0,
    background_length_mm: float = 36.0,
    min_suv: float = 1.0,
) -> LocalContrast:
    """Hot voxels by local contrast (definition in the module docstring).

    Parameters
    ----------
    suv
        SUV volume.
    reference_mask
        The reference region on the PET grid whose noise scales the noise criterion: the
        PERCIST liver sphere (``ReferenceRegion.mask``), or the blood-pool region when the
        liver is unusable.
    contrast
        Minimum ratio ``P / B`` (>= 1).
    noise_sigmas
        Minimum ``(P - B) / sigma`` (>= 0).
    background_length_mm
        Segment length ``L`` of the background opening (> 0).
    min_suv
        Minimum ``P`` (>= 0).

    Raises
    ------
    InputValidationError
        A parameter out of range, an empty reference region or one whose mean peak value is
        not positive.
    GeometryError
        The reference mask is not on the PET grid.
    """
    if not (contrast >= 1 and math.isfinite(contrast)):
        raise InputValidationError(f"contrast {contrast}: expected a finite ratio >= 1.")
    _positive(noise_sigmas, "noise_sigmas", allow_zero=True)
    _positive(min_suv, "min_suv", allow_zero=True)
    check_mask_grid(suv, reference_mask, "reference region")
    inside = np.asarray(reference_mask.array) != 0
    if not inside.any():
        raise InputValidationError(
            "Local-contrast detection: the reference region is empty. Give the liver (or "
            "blood-pool) reference region on the PET grid."
        )
    peak = peak_image(suv)
    background = line_opening_background(peak, length_mm=background_length_mm)
    p = np.asarray(peak.array, dtype=np.float64)
    b = np.asarray(background.array, dtype=np.float64)
    ref_mean = float(p[inside].mean())
    ref_sd = float(p[inside].std())
    if ref_mean <= 0:
        raise InputValidationError(
            f"Local-contrast detection: the reference region's mean SUVpeak is {ref_mean:.3g}; "
            "a positive uptake is needed to scale the noise. Check the reference region."
        )
    sigma = ref_sd * np.sqrt(np.maximum(b, 0.0) / ref_mean)
    hot = (p >= contrast * b) & (p - b >= noise_sigmas * sigma) & (p >= min_suv)
    return LocalContrast(
        hot=suv.with_array(hot),
        peak=peak,
        background=background,
        noise_sd=suv.with_array(sigma.astype(np.float32)),
        reference_peak_mean_suv=ref_mean,
        reference_peak_sd_suv=ref_sd,
        contrast=float(contrast),
        noise_sigmas=float(noise_sigmas),
        background_length_mm=float(background_length_mm),
        min_suv=float(min_suv),
    )
