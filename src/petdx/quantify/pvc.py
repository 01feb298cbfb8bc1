"""Partial-volume correction of a lesion's mean uptake: the two-compartment model.

A PET image is the true activity blurred by the scanner's point-spread function (PSF). The
mean measured inside a lesion's VOI mixes the lesion's own uptake, partly lost to its
surroundings (spill-out), with uptake of the surroundings spilled in. When lesion and
background change differently between two scans — a tracer retained in tumour while the
blood pool washes out — the measured change is pulled towards the background's, and the
retention index can take the wrong sign.

Model, for one lesion: the true image near the lesion is ``t_L`` inside the VOI ``L`` and a
uniform ``t_B`` outside it; the scanner blurs it with a Gaussian PSF of the given FWHM. With
``g = PSF * 1_L`` (the VOI's indicator blurred), the expected means inside ``L`` and inside a
shell ``B`` around it are

    m_L = a t_L + (1 - a) t_B,    a = mean of g over L (the VOI's recovery),
    m_B = b t_L + (1 - b) t_B,    b = mean of g over B (spill-out into the shell),

a 2 x 2 system, the geometric transfer matrix (GTM) of Rousset et al. with two regions,
solved for ``t_L``:

    t_L = (m_L (1 - b) - m_B (1 - a)) / (a - b).

The shell runs from 0.5 to 1.5 FWHM beyond the VOI's boundary (near enough to be the
lesion's own background, far enough for the spill-out to be small), without other lesions'
voxels. The correction needs the scanner's effective resolution (FWHM of the image, e.g. from
the NEMA/EARL phantom, ``petdx simulate-nema`` for the simulator's scanner); with it the
estimate is unbiased when the VOI is the lesion and the background is uniform, and it
amplifies noise by about ``1 / (a - b)``. A lesion whose system is ill-conditioned
(``a - b`` below ``min_contrast_recovery``) or whose shell is empty gets no estimate.

Uncertainty (issue 17, docs/validation.md "Revision 1"): given the scan's noise correlation,
each estimate also carries the correlation sums of VOI and shell (``noise_factors``: ``S_LL /
N_L**2``, ``S_BB / N_B**2``, ``S_LB / (N_L N_B)``) from which :meth:`PvcEstimate.variance`
gives the noise variance of ``t_L`` by the delta method (the estimate is linear in ``m_L`` and
``m_B``), and the derivative of ``t_L`` with respect to the FWHM (central differences at
``FWHM * (1 +/- FWHM_REL_SD)``, the shell kept) for the uncertainty of the recovery.

References
----------
Rousset OG, Ma Y, Evans AC. Correction for partial volume effects in PET: principle and
validation. J Nucl Med 1998;39:904-911.
Soret M, Bacharach SL, Buvat I. Partial-volume effect in PET tumor imaging. J Nucl Med
2007;48:932-945. https://doi.org/10.2967/jnumed.106.035774
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from petdx.errors import InputValidationError
from petdx.image import Volume
from petdx.quantify.noise import correlated_sum, retention_ci_pct

__all__ = ["FWHM_REL_SD", "PvcEstimate", "pvc_retention_ci_pct", "two_compartment_pvc"]

_FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))
#: Shell around the VOI, in units of the FWHM beyond its boundary.
SHELL_FWHM = (0.5, 1.5)
#: Assumed relative standard uncertainty of a site's phantom-derived FWHM (docs/validation.md,
#: revision 1; an assumption, not estimated from any cohort).
FWHM_REL_SD = 0.05


@dataclass(frozen=True)
class PvcEstimate:
    """Two-compartment estimate for one VOI.

    Attributes
    ----------
    lesion_suv
        Corrected mean uptake of the lesion, ``t_L`` (SUV).
    background_suv
        Corrected uptake of its surroundings, ``t_B`` (SUV).
    measured_suv, shell_suv
        Measured means inside the VOI and inside the shell (SUV).
    recovery, spill_out
        ``a`` and ``b`` of the model (dimensionless).
    """

    lesion_suv: float
    background_suv: float
    measured_suv: float
    shell_suv: float
    recovery: float
    spill_out: float
    noise_factors: tuple[float, float, float] | None = None
    d_lesion_d_fwhm: float | None = None
    fwhm_mm: float | None = None

    def variance(self, variance_per_suv: float) -> float | None:
        """Noise variance of ``lesion_suv`` for a voxel variance ``variance_per_suv * m``
        (petdx.quantify.noise): ``[(1-b)**2 V_L + (1-a)**2 V_B - 2 (1-a)(1-b) C_LB] /
        (a-b)**2``; ``None`` without ``noise_factors``."""
        if self.noise_factors is None:
            return None
        f_ll, f_bb, f_lb = self.noise_factors
        m_l, m_b = max(self.measured_suv, 0.0), max(self.shell_suv, 0.0)
        a, b = self.recovery, self.spill_out
        v_l = variance_per_suv * m_l * f_ll
        v_b = variance_per_suv * m_b * f_bb
        c_lb = variance_per_suv * float(np.sqrt(m_l * m_b)) * f_lb
        value = ((1 - b) ** 2 * v_l + (1 - a) ** 2 * v_b - 2 * (1 - a) * (1 - b) * c_lb) / (
            a - b
        ) ** 2
        return max(float(value), 0.0)


def _validated_fwhm(fwhm_mm: float) -> float:
    if not np.isfinite(fwhm_mm) or not 0.0 < fwhm_mm <= 30.0:
        raise InputValidationError(
            f"PSF FWHM {fwhm_mm} mm: expected a resolution between 0 and 30 mm (the scanner's "
            "effective image resolution, e.g. from the NEMA/EARL phantom)."
        )
    return float(fwhm_mm)


def two_compartment_pvc(
    suv: Volume,
    labels: Volume | npt.NDArray[np.integer],
    fwhm_mm: float,
    *,
    only: Iterable[int] | None = None,
    min_contrast_recovery: float = 0.1,
    noise_rho: tuple[float, float, float] | None = None,
) -> dict[int, PvcEstimate]:
    """Partial-volume-corrected mean uptake of every labelled VOI (module docstring).

    Parameters
    ----------
    suv
        The SUV image.
    labels
        VOIs on ``suv``'s grid, one positive integer per lesion (0 = none). Other labels'
        voxels are left out of each lesion's shell.
    fwhm_mm
        FWHM of the image resolution (Gaussian PSF), mm.
    only
        Labels to correct (default: every label present).
    min_contrast_recovery
        Smallest ``a - b`` accepted; below it the lesion gets no estimate.
    noise_rho
        The scan's lag-one noise correlation per axis (:class:`petdx.quantify.noise.
        NoiseModel`); when given, each estimate carries ``noise_factors`` and
        ``d_lesion_d_fwhm`` for its uncertainty (module docstring).

    Returns
    -------
    dict
        Label -> :class:`PvcEstimate`, for the labels with an estimate.
    """
    fwhm = _validated_fwhm(fwhm_mm)
    values = np.asarray(suv.array, dtype=np.float64)
    label_array = np.asarray(labels.array if isinstance(labels, Volume) else labels)
    if label_array.shape != values.shape:
        raise InputValidationError(
            f"Partial-volume correction: labels of shape {label_array.shape} are not on the "
            f"SUV grid {values.shape}; resample them first."
        )
    spacing = np.asarray(suv.spacing_mm, dtype=np.float64)
    sigma_vox = fwhm * _FWHM_TO_SIGMA / spacing
    inner_mm, outer_mm = (f * fwhm for f in SHELL_FWHM)
    # The box must hold the shell and the blurred VOI's tail (4 sigma) beyond it.
    margin = np.ceil((outer_mm + 4.0 * fwhm * _FWHM_TO_SIGMA) / spacing).astype(int)
    boxes = ndimage.find_objects(label_array.astype(np.int64, copy=False))
    wanted = (
        {int(k) for k in only}
        if only is not None
        else {k + 1 for k, b in enumerate(boxes) if b is not None}
    )
    out: dict[int, PvcEstimate] = {}
    for label in sorted(wanted):
        if label < 1 or label > len(boxes) or boxes[label - 1] is None:
            continue
        box = tuple(
            slice(max(0, s.start - m), min(n, s.stop + m))
            for s, m, n in zip(boxes[label - 1], margin, values.shape, strict=True)
        )
        local = label_array[box]
        voi = local == label
        distance = ndimage.distance_transform_edt(~voi, sampling=spacing)
        shell = (distance > inner_mm) & (distance <= outer_mm) & (local == 0)
        if not shell.any():
            continue
        blurred = ndimage.gaussian_filter(voi.astype(np.float64), sigma_vox, mode="constant")
        a = float(blurred[voi].mean())
        b = float(blurred[shell].mean())
        if a - b < min_contrast_recovery:
            continue
        image = values[box]
        m_l = float(image[voi].mean())
        m_b = float(image[shell].mean())
        factors = derivative = None
        if noise_rho is not None:
            n_l, n_b = float(voi.sum()), float(shell.sum())
            factors = (
                correlated_sum(voi, voi, noise_rho) / n_l**2,
                correlated_sum(shell, shell, noise_rho) / n_b**2,
                correlated_sum(voi, shell, noise_rho) / (n_l * n_b),
            )
            ends = []
            for scale in (1.0 + FWHM_REL_SD, 1.0 - FWHM_REL_SD):
                g = ndimage.gaussian_filter(
                    voi.astype(np.float64), sigma_vox * scale, mode="constant"
                )
                a_s, b_s = float(g[voi].mean()), float(g[shell].mean())
                ends.append(_lesion(m_l, m_b, a_s, b_s))
            derivative = (ends[0] - ends[1]) / (2.0 * FWHM_REL_SD * fwhm)
        out[label] = PvcEstimate(
            lesion_suv=_lesion(m_l, m_b, a, b),
            background_suv=(m_b * a - m_l * b) / (a - b),
            measured_suv=m_l,
            shell_suv=m_b,
            recovery=a,
            spill_out=b,
            noise_factors=factors,
            d_lesion_d_fwhm=derivative,
            fwhm_mm=fwhm,
        )
    return out


def _lesion(m_l: float, m_b: float, a: float, b: float) -> float:
    """``t_L`` of the two-compartment model."""
    return (m_l * (1.0 - b) - m_b * (1.0 - a)) / (a - b)


def pvc_retention_ci_pct(
    first: PvcEstimate | None,
    later: PvcEstimate | None,
    variance_per_suv: tuple[float, float] | None,
) -> tuple[float, float] | None:
    """95 % CI (percent) of the corrected retention index ``100 (t_2 / t_1 - 1)``: noise of
    both corrected means (:meth:`PvcEstimate.variance`) and the FWHM's uncertainty
    (``FWHM_REL_SD``), on the log scale (docs/validation.md, revision 1). ``None`` when an
    input is missing or a corrected value is not positive."""
    if first is None or later is None or variance_per_suv is None:
        return None
    var_1, var_2 = first.variance(variance_per_suv[0]), later.variance(variance_per_suv[1])
    t_1, t_2 = first.lesion_suv, later.lesion_suv
    if var_1 is None or var_2 is None or not (t_1 > 0 and t_2 > 0):
        return None
    if first.d_lesion_d_fwhm is None or later.d_lesion_d_fwhm is None or first.fwhm_mm is None:
        return None
    slope = later.d_lesion_d_fwhm / t_2 - first.d_lesion_d_fwhm / t_1
    fwhm_term = (slope * FWHM_REL_SD * first.fwhm_mm) ** 2
    return retention_ci_pct(t_1, t_2, var_1, var_2, extra_log_variance=fwhm_term)
