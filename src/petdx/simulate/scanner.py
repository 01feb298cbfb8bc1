"""Image-domain PET scanner model: resolution, bed-by-bed counting noise, int16 storage.

The true activity concentration (Bq/ml, decay-corrected to the acquisition start, as the
DICOM image will be with DecayCorrection START) is, in order:

1. **Blurred** by a 3-D Gaussian point-spread function integrated over each voxel
   (separable; kernel ``K[n] = Phi((n + 1/2) d / sigma) - Phi((n - 1/2) d / sigma)``), of
   FWHM ``sqrt(system_fwhm_mm**2 + range_fwhm_mm**2)``: the system resolution measured with
   18F plus the nuclide's positron-range blur relative to 18F. The default system FWHM,
   **8.8 mm**, makes the simulated NEMA IEC body phantom (4:1) meet the EARL1 recovery
   limits at 4 mm voxels for every noise seed tried (``docs/simulate.md`` lists the
   recovery coefficients), for 18F and also for 68Ga, whose Gaussian-equivalent range blur
   (FWHM 2.84 mm: its mean positron range in water, 2.9 mm, combined in quadrature relative
   to 18F's 0.6 mm; an assumption, the true range kernel is cusp-shaped) makes its images
   coarser (total FWHM 9.24 mm). With EARL's own 10:1 filling the 13 mm sphere's RCmax
   falls just below its limit (about 0.56 against 0.59): a single Gaussian cannot also keep
   the 10 mm sphere's A50 under 0.43 at 4:1.
2. **Noised** per bed position: Gaussian noise of variance proportional to the local mean,
   as counting statistics give, scaled by the counts a bed collects::

       var = alpha**2 * 1000 * v / (d_b * f_b * T * V * p * w)

   with ``v`` the blurred value (Bq/ml), ``d_b`` the decay from the series start to the bed
   start, ``f_b = (1 - exp(-lambda T)) / (lambda T)`` the decay within the bed's time ``T``
   (s), ``V`` the voxel volume (ml), ``p`` the positron fraction relative to 18F and ``w =
   75 kg / body weight`` (heavier patients attenuate more: constant image quality needs an
   activity growing faster than weight). The noise is spatially correlated (white noise
   smoothed by a Gaussian of FWHM ``noise_correlation_fwhm_mm``, rescaled to unit
   variance), like OSEM images. ``alpha = 0.75`` gives liver coefficients of variation
   (voxels of a large liver VOI, true texture included) of 11-15 % at 60 and 120 min for
   patients of 57-96 kg with 2 MBq/kg 68Ga at 3 and 5 min per bed.
3. **Stored** as a vendor would: int16 per slice with its own RescaleSlope (largest
   absolute value of the slice mapped to 32000), RescaleIntercept 0.

References
----------
Boellaard R, et al. FDG PET/CT: EANM procedure guidelines for tumour imaging: version 2.0.
Eur J Nucl Med Mol Imaging 2015;42:328-354. doi:10.1007/s00259-014-2961-x (EARL1 limits).
Conti M, Eriksson L. Physics of pure and non-pure positron emitters for PET: a review and a
discussion. EJNMMI Phys 2016;3:8. doi:10.1186/s40658-016-0144-5 (mean positron ranges,
positron fractions).
Koopman D, et al. Technical note: how to determine the FDG activity for tumour PET imaging
that satisfies European guidelines. EJNMMI Phys 2016;3:22. doi:10.1186/s40658-016-0162-3
(image noise grows with body weight at constant activity per kg).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage, special

from petdx.errors import Hint, InputValidationError
from petdx.nuclides import Nuclide

__all__ = [
    "POSITRON_PHYSICS",
    "BedTiming",
    "PositronPhysics",
    "ScannerModel",
    "blur",
    "quantise_int16_per_slice",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PositronPhysics:
    """Positron emission data of a nuclide (Conti & Eriksson 2016, Table 1)."""

    mean_range_mm: float
    positron_fraction: float


#: By nuclide symbol. The 18F values are the reference the system resolution is measured with.
POSITRON_PHYSICS: dict[str, PositronPhysics] = {
    "F-18": PositronPhysics(0.6, 0.967),
    "C-11": PositronPhysics(1.2, 0.998),
    "N-13": PositronPhysics(1.8, 0.998),
    "O-15": PositronPhysics(3.0, 0.999),
    "Ga-68": PositronPhysics(2.9, 0.889),
    "Rb-82": PositronPhysics(5.9, 0.950),
    "Cu-64": PositronPhysics(0.7, 0.175),
    "Zr-89": PositronPhysics(1.3, 0.227),
    "I-124": PositronPhysics(3.4, 0.226),
}
_REFERENCE = POSITRON_PHYSICS["F-18"]


def _physics(nuclide: Nuclide) -> PositronPhysics:
    try:
        return POSITRON_PHYSICS[nuclide.symbol]
    except KeyError:
        raise InputValidationError(
            f"Nuclide {nuclide.symbol} is not a positron emitter petdx can simulate; the "
            f"scanner model knows {', '.join(POSITRON_PHYSICS)}."
        ) from None


@dataclass(frozen=True)
class BedTiming:
    """One bed position of a PET acquisition.

    Attributes
    ----------
    first_slice, stop_slice
        Slices ``[first_slice, stop_slice)`` of the volume acquired in this bed.
    start_offset_s
        Bed start, seconds after the series (acquisition) start.
    duration_s
        Acquisition time of the bed (s).
    """

    first_slice: int
    stop_slice: int
    start_offset_s: float
    duration_s: float


@dataclass(frozen=True)
class ScannerModel:
    """Parameters of the image-domain scanner model (see the module docstring).

    Attributes
    ----------
    system_fwhm_mm
        Image resolution FWHM with 18F (mm).
    noise_alpha
        Noise constant ``alpha`` (dimensionless).
    noise_correlation_fwhm_mm
        FWHM of the Gaussian that correlates the noise (mm); 0 for white noise.
    bed_step_mm
        Axial distance between consecutive bed positions (mm).
    reference_weight_kg
        Body weight at which the attenuation factor ``w`` is 1.
    """

    system_fwhm_mm: float = 8.8
    noise_alpha: float = 0.75
    noise_correlation_fwhm_mm: float = 6.0
    bed_step_mm: float = 150.0
    reference_weight_kg: float = 75.0

    def __post_init__(self) -> None:
        if not 0 <= self.system_fwhm_mm <= 30:
            raise InputValidationError(
                f"Scanner system FWHM {self.system_fwhm_mm} mm: expected 0 to 30 mm."
            )
        if self.noise_alpha < 0:
            raise InputValidationError(
                f"Scanner noise alpha (noise_alpha) {self.noise_alpha}: expected >= 0 "
                "(0 = noise-free).",
                hint=Hint("noise_alpha"),
            )

    def range_fwhm_mm(self, nuclide: Nuclide) -> float:
        """Gaussian-equivalent positron-range blur relative to 18F (mm)."""
        physics = _physics(nuclide)
        return math.sqrt(max(0.0, physics.mean_range_mm**2 - _REFERENCE.mean_range_mm**2))

    def resolution_fwhm_mm(self, nuclide: Nuclide) -> float:
        """Total image resolution FWHM for a nuclide (mm)."""
        return math.hypot(self.system_fwhm_mm, self.range_fwhm_mm(nuclide))

    def bed_timings(
        self, n_slices: int, slice_mm: float, bed_duration_s: float
    ) -> tuple[BedTiming, ...]:
        """Bed positions covering ``n_slices`` slices of ``slice_mm``, acquired from the feet
        upwards: slice 0 is the most inferior, bed 0 holds the lowest slices and starts at
        the series start, each next bed ``bed_duration_s`` later."""
        per_bed = max(1, round(self.bed_step_mm / slice_mm))
        beds = []
        for b, first in enumerate(range(0, n_slices, per_bed)):
            beds.append(
                BedTiming(first, min(n_slices, first + per_bed), b * bed_duration_s, bed_duration_s)
            )
        return tuple(beds)

    def acquire(
        self,
        activity_bq_ml: npt.NDArray[np.floating],
        spacing_mm: tuple[float, float, float],
        *,
        nuclide: Nuclide,
        beds: tuple[BedTiming, ...],
        body_weight_kg: float,
        rng: np.random.Generator,
    ) -> npt.NDArray[np.float32]:
        """Blur and noise a true activity map (Bq/ml at the series start).

        Parameters
        ----------
        activity_bq_ml
            True activity concentration, shape (z, y, x), decay-corrected to the series
            start.
        spacing_mm
            ``(dz, dy, dx)``.
        nuclide
            Sets the positron range, positron fraction and decay.
        beds
            Bed positions (slices and timing); every slice must belong to one bed.
        body_weight_kg
            For the attenuation factor of the noise.
        rng
            Random generator (seeded by the caller).

        Returns
        -------
        numpy.ndarray
            float32 image in Bq/ml (decay-corrected to the series start).
        """
        blurred = blur(activity_bq_ml, spacing_mm, self.resolution_fwhm_mm(nuclide))
        if self.noise_alpha == 0:
            return blurred.astype(np.float32)
        noise = rng.standard_normal(blurred.shape, dtype=np.float32)
        if self.noise_correlation_fwhm_mm > 0:
            noise = _correlate_unit_variance(noise, spacing_mm, self.noise_correlation_fwhm_mm)
        physics = _physics(nuclide)
        voxel_ml = spacing_mm[0] * spacing_mm[1] * spacing_mm[2] / 1000.0
        relative_positrons = physics.positron_fraction / _REFERENCE.positron_fraction
        weight_factor = self.reference_weight_kg / body_weight_kg
        lam = nuclide.decay_constant_per_s
        out = np.empty(blurred.shape, dtype=np.float32)
        for bed in beds:
            decay = math.exp(-lam * bed.start_offset_s)
            x = lam * bed.duration_s
            in_frame = -math.expm1(-x) / x if x > 1e-12 else 1.0
            counts_scale = decay * in_frame * bed.duration_s * voxel_ml
            counts_scale *= relative_positrons * weight_factor
            variance_per_bq_ml = self.noise_alpha**2 * 1000.0 / counts_scale
            part = blurred[bed.first_slice : bed.stop_slice]
            sigma = np.sqrt(np.maximum(part, 0.0) * variance_per_bq_ml)
            out[bed.first_slice : bed.stop_slice] = (
                part + sigma * noise[bed.first_slice : bed.stop_slice]
            )
        return out


def _kernel(fwhm_mm: float, step_mm: float) -> FloatArray:
    """Gaussian of FWHM ``fwhm_mm`` integrated over voxels of ``step_mm``, out to 3 sigma
    (99.7 % of the mass), normalised to sum 1."""
    sigma = fwhm_mm / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    if sigma <= 0:
        return np.array([1.0])
    half = math.ceil((3.0 * sigma + step_mm / 2.0) / step_mm)
    edges = (np.arange(-half, half + 2) - 0.5) * step_mm / (sigma * math.sqrt(2.0))
    weights: FloatArray = np.diff(0.5 * special.erf(edges))
    return weights / weights.sum()


def blur(
    array: npt.NDArray[np.floating], spacing_mm: tuple[float, float, float], fwhm_mm: float
) -> npt.NDArray[np.float32]:
    """Convolve with a voxel-integrated 3-D Gaussian of ``fwhm_mm`` (separable).

    Beyond the array the activity is taken as zero across the slice and as the edge slice's
    along z (the body continues beyond the axial field of view).
    """
    out = np.asarray(array, dtype=np.float32)
    for axis in range(3):
        kernel = _kernel(fwhm_mm, spacing_mm[axis])
        if kernel.size == 1:
            continue
        mode = "nearest" if axis == 0 else "constant"
        out = ndimage.correlate1d(out, kernel.astype(np.float32), axis=axis, mode=mode)
    return out


def _correlate_unit_variance(
    noise: npt.NDArray[np.float32], spacing_mm: tuple[float, float, float], fwhm_mm: float
) -> npt.NDArray[np.float32]:
    """Smooth white unit-variance noise and rescale it back to unit variance."""
    norm = 1.0
    for axis in range(3):
        kernel = _kernel(fwhm_mm, spacing_mm[axis])
        norm *= float(np.sum(kernel**2))
        noise = ndimage.correlate1d(noise, kernel.astype(np.float32), axis=axis, mode="wrap")
    return (noise / np.float32(math.sqrt(norm))).astype(np.float32)


def quantise_int16_per_slice(
    image: npt.NDArray[np.floating], *, full_scale: int = 32000
) -> tuple[npt.NDArray[np.int16], list[str]]:
    """Store an image as int16 with one RescaleSlope per slice (axis 0).

    Returns
    -------
    (stored, slopes)
        ``stored * float(slopes[k])`` reproduces slice ``k`` within half a stored step.
        The slopes are DICOM DS strings (at most 16 characters); the stored values are
        computed from the slope as written, so a reader gets exactly what was meant.
    """
    peaks = np.max(np.abs(image), axis=(1, 2)) if image.size else np.zeros(image.shape[0])
    slopes = [f"{peak / full_scale:.8g}" if peak > 0 else "1" for peak in peaks.tolist()]
    scale = np.array([float(text) for text in slopes], dtype=np.float64)
    scaled = np.rint(image / scale[:, None, None])  # float64: exact to half a step
    stored = np.clip(scaled, -32768, 32767).astype(np.int16)
    return stored, slopes
