"""EARL check of a NEMA NU 2 / IEC 61675-1 body phantom PET image: recovery coefficients.

What is measured, per sphere (10, 13, 17, 22, 28 and 37 mm inner diameter):

* **RCmax**: the hottest voxel within ``radius + 5 mm`` of the sphere centre, divided by the
  true sphere activity concentration.
* **RCmean (A50)**: the mean of the voxels at or above ``B + 0.5 (max - B)`` (the 50 %
  isocontour of the maximum adapted for the background ``B``, as EARL specifies) that are
  connected (6-connectivity) to the hottest voxel, within ``radius + 8 mm``; ``B`` is the
  mean of the background VOI (below).
* **RCpeak**: the highest mean of a 1 cm^3 sphere (radius 6.2035 mm) centred on any voxel of
  the sphere (:func:`petdx.quantify.peak.suv_peak_global`).

How the spheres are found (no coordinates from the operator):

1. The image is smoothed (Gaussian, sigma 2 mm); the background level is the median of the
   voxels above 2 % of the smoothed maximum (the phantom's warm interior).
2. The sphere plane is the transverse slice with the largest excess above the background in
   voxels above ``B + 0.35 (max - B)`` (the hottest slab).
3. In the maximum projection of a +-10 mm slab around it, hot blobs (above
   ``B + 0.3 (max - B)``) are ranked by integrated excess: the largest is the 37 mm sphere,
   then 28, 22, 17 mm.
4. The NEMA ring (six centres 60 degrees apart on a 57.2 mm radius, NEMA NU 2-2018 section
   7) is fitted to the ranked blobs (up to four) by a rigid 2-D least-squares fit (Kabsch),
   proper and mirrored (a phantom seen from the other end), the better kept; a ring whose
   RMS residual exceeds 6 mm is refused.
5. Each of the six predicted centres is refined in 3-D to the centroid of the smoothed
   excess within ``radius + 4 mm`` (four passes), so a shifted, rotated or slightly tilted
   phantom is measured where its spheres are; a sphere that moves off its place, or whose
   excess does not stand out of the background noise, is refused with the reason.

Background VOI: voxels within 10 mm of the sphere plane, at least 15 mm inside the phantom
(smoothed image above half the background), at least ``radius + 15 mm`` from every sphere
centre and 40 mm from the ring centre (the lung insert).

Truth: the sphere activity concentration at the image's decay-correction reference time, in
the image's units (Bq/ml for Units BQML), given directly or as sphere-to-background ratio
times the given (or measured) background.

References
----------
NEMA NU 2-2018, Performance Measurements of Positron Emission Tomographs, section 7.
Boellaard R, et al. FDG PET/CT: EANM procedure guidelines for tumour imaging: version 2.0.
Eur J Nucl Med Mol Imaging 2015;42:328-354. doi:10.1007/s00259-014-2961-x (EARL1 limits).
Kaalep A, et al. Feasibility of state of the art PET/CT systems performance harmonisation.
EJNMMI Phys 2018;5:26. doi:10.1186/s40658-018-0235-0 (EARL2 limits).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from petdx.errors import InputValidationError
from petdx.image import Volume
from petdx.quantify.peak import suv_peak_global

__all__ = [
    "EARL1",
    "EARL2",
    "EARL_STANDARDS",
    "NEMA_DIAMETERS_MM",
    "EarlStandard",
    "NemaAnalysis",
    "NemaTruth",
    "SphereFit",
    "SphereResult",
    "analyse_nema",
    "find_spheres",
]

NEMA_DIAMETERS_MM: tuple[float, ...] = (10.0, 13.0, 17.0, 22.0, 28.0, 37.0)
RING_RADIUS_MM = 57.2
_SMOOTH_SIGMA_MM = 2.0
_SLAB_HALF_MM = 10.0
_MAX_RING_RMS_MM = 6.0

Limits = Mapping[str, Mapping[int, tuple[float, float]]]


@dataclass(frozen=True)
class EarlStandard:
    """Recovery-coefficient limits of one EARL standard: metric -> diameter (mm) -> range."""

    name: str
    reference: str
    limits: Limits

    def check(self, metric: str, diameter_mm: float, value: float) -> bool | None:
        """Whether ``value`` lies within the limits (inclusive); None without a limit."""
        by_size = self.limits.get(metric)
        if by_size is None:
            return None
        low, high = by_size[round(diameter_mm)]
        return low <= value <= high


#: EARL1: Boellaard et al. 2015 (EANM guideline 2.0, doi:10.1007/s00259-014-2961-x), the
#: table of recovery coefficients for the NEMA IEC body phantom (RCmax and RCmean of the
#: background-adapted 50 % isocontour A50); no RCpeak limits in EARL1.
EARL1 = EarlStandard(
    "EARL1",
    "Boellaard R, et al. Eur J Nucl Med Mol Imaging 2015;42:328-354. doi:10.1007/s00259-014-2961-x",
    {
        "max": {
            10: (0.34, 0.57),
            13: (0.59, 0.85),
            17: (0.73, 1.01),
            22: (0.83, 1.09),
            28: (0.91, 1.13),
            37: (0.95, 1.16),
        },
        "mean": {
            10: (0.27, 0.43),
            13: (0.44, 0.60),
            17: (0.57, 0.73),
            22: (0.63, 0.78),
            28: (0.72, 0.85),
            37: (0.76, 0.89),
        },
    },
)

#: EARL2: Kaalep et al. 2018 (EJNMMI Phys 5:26, doi:10.1186/s40658-018-0235-0), the
#: proposed specifications adopted by EARL as its second FDG-PET/CT standard (RCmax, RCmean
#: A50 and RCpeak of a 1 ml sphere). Transcribed from that table without the PDF at hand
#: (no access from the build machine): to be confirmed against the publication by a physicist.
EARL2 = EarlStandard(
    "EARL2",
    "Kaalep A, et al. EJNMMI Phys 2018;5:26. doi:10.1186/s40658-018-0235-0",
    {
        "max": {
            10: (0.52, 0.88),
            13: (0.85, 1.22),
            17: (1.00, 1.38),
            22: (1.01, 1.32),
            28: (1.01, 1.26),
            37: (1.05, 1.29),
        },
        "mean": {
            10: (0.39, 0.61),
            13: (0.63, 0.86),
            17: (0.76, 0.97),
            22: (0.80, 0.99),
            28: (0.82, 0.97),
            37: (0.85, 1.00),
        },
        "peak": {
            10: (0.27, 0.38),
            13: (0.45, 0.60),
            17: (0.75, 0.99),
            22: (0.90, 1.09),
            28: (0.95, 1.07),
            37: (0.99, 1.07),
        },
    },
)
EARL_STANDARDS: tuple[EarlStandard, ...] = (EARL1, EARL2)
METRICS = ("max", "mean", "peak")


@dataclass(frozen=True)
class SphereFit:
    """A sphere found in the image: number (1 = 10 mm), diameter and centre (LPS mm)."""

    number: int
    diameter_mm: float
    centre_mm: tuple[float, float, float]


@dataclass(frozen=True)
class RingFit:
    """The six spheres and the fitted ring (centre, rotation, mirrored, RMS residual)."""

    spheres: tuple[SphereFit, ...]
    centre_mm: tuple[float, float]
    rotation_deg: float
    mirrored: bool
    rms_mm: float
    background: float
    plane_index: int


@dataclass(frozen=True)
class NemaTruth:
    """What the phantom was filled with, in the image's units (Bq/ml for BQML).

    ``sphere`` is the sphere concentration, or None with ``ratio`` (sphere to background)
    given: then the sphere concentration is ``ratio`` times ``background`` (or, without
    it, the measured background)."""

    sphere: float | None = None
    background: float | None = None
    ratio: float | None = None
    centres_mm: Mapping[int, tuple[float, float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.sphere is None and self.ratio is None:
            raise InputValidationError(
                "The sphere activity concentration is missing: give the sphere and "
                "background concentrations at the scan reference time, or the "
                "sphere-to-background ratio.",
            )
        for name in ("sphere", "background", "ratio"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise InputValidationError(f"{name} {value}: expected a positive number.")
        if self.ratio is not None and self.ratio <= 1.0:
            raise InputValidationError(
                f"ratio {self.ratio}: the spheres must be hotter than the background (> 1)."
            )


@dataclass(frozen=True)
class SphereResult:
    """Recovery of one sphere and its EARL verdicts."""

    number: int
    diameter_mm: float
    centre_mm: tuple[float, float, float]
    rc: Mapping[str, float]
    values: Mapping[str, float]
    a50_volume_ml: float
    verdicts: Mapping[str, Mapping[str, bool | None]]
    truth_distance_mm: float | None = None

    def passes(self, standard: str) -> bool:
        return all(v is not False for v in self.verdicts[standard].values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "sphere": self.number,
            "diameter_mm": self.diameter_mm,
            "centre_mm": [round(v, 2) for v in self.centre_mm],
            "rc_max": round(self.rc["max"], 4),
            "rc_mean_a50": round(self.rc["mean"], 4),
            "rc_peak": round(self.rc["peak"], 4),
            "max": self.values["max"],
            "mean_a50": self.values["mean"],
            "peak": self.values["peak"],
            "a50_volume_ml": round(self.a50_volume_ml, 3),
            "verdicts": {k: dict(v) for k, v in self.verdicts.items()},
            "passes": {s: self.passes(s) for s in self.verdicts},
            "distance_to_truth_mm": (
                None if self.truth_distance_mm is None else round(self.truth_distance_mm, 2)
            ),
        }


@dataclass(frozen=True)
class NemaAnalysis:
    """The EARL check of one phantom image."""

    spheres: tuple[SphereResult, ...]
    ring: RingFit
    sphere_concentration: float
    background_measured: float
    background_given: float | None
    background_voxels: int
    units: str
    label: str = ""

    def passes(self, standard: str) -> bool:
        return all(s.passes(standard) for s in self.spheres)

    def to_dict(self) -> dict[str, Any]:
        return {
            "series": self.label,
            "units": self.units,
            "sphere_concentration": self.sphere_concentration,
            "background_measured": round(self.background_measured, 3),
            "background_given": self.background_given,
            "background_voxels": self.background_voxels,
            "ring": {
                "centre_mm": [round(v, 2) for v in self.ring.centre_mm],
                "rotation_deg": round(self.ring.rotation_deg, 2),
                "mirrored": self.ring.mirrored,
                "rms_mm": round(self.ring.rms_mm, 2),
            },
            "spheres": [s.to_dict() for s in self.spheres],
            "passes": {s.name: self.passes(s.name) for s in EARL_STANDARDS},
            "limits": {
                s.name: {
                    metric: {str(d): list(r) for d, r in by.items()}
                    for metric, by in s.limits.items()
                }
                for s in EARL_STANDARDS
            },
        }


def _template(mirrored: bool) -> npt.NDArray[np.float64]:
    """Ring positions (x, y) of spheres 1..6 for rotation 0 (the simulator's layout)."""
    sign = -1.0 if mirrored else 1.0
    angles = np.radians(60.0 * np.arange(6))
    return np.stack(
        [RING_RADIUS_MM * np.cos(angles), -sign * RING_RADIUS_MM * np.sin(angles)], axis=1
    )


def _kabsch(
    template: npt.NDArray[np.float64], points: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
    """Rotation Q (det +1) and translation c minimising |points - (template Q^T + c)|."""
    mean_t, mean_p = template.mean(axis=0), points.mean(axis=0)
    h = (template - mean_t).T @ (points - mean_p)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
    q = vt.T @ np.diag([1.0, d]) @ u.T
    c = mean_p - mean_t @ q.T
    residual = points - (template @ q.T + c)
    return q, c, float(np.sqrt((residual**2).sum(axis=1).mean()))


def _slab_coords(volume: Volume, low: int, high: int) -> npt.NDArray[np.float64]:
    """LPS mm of the voxel centres of slices ``low:high`` (z, y, x, 3)."""
    k, j, i = np.meshgrid(
        np.arange(low, high), np.arange(volume.shape[1]), np.arange(volume.shape[2]), indexing="ij"
    )
    return volume.index_to_patient_mm(np.stack([k, j, i], axis=-1))


def find_spheres(volume: Volume) -> RingFit:
    """Find the six spheres of a NEMA IEC body phantom image (method: module docstring).

    Raises
    ------
    InputValidationError
        Fewer than three hot blobs, a ring that does not fit, or a sphere that cannot be
        located; the message says which and why.
    """
    image = np.nan_to_num(np.asarray(volume.array, dtype=np.float64))
    spacing = np.asarray(volume.spacing_mm)
    smooth = ndimage.gaussian_filter(image, _SMOOTH_SIGMA_MM / spacing)
    top = float(smooth.max())
    if not top > 0:
        raise InputValidationError("The image holds no activity (no value above 0).")
    background = float(np.median(smooth[smooth > 0.02 * top]))
    span = top - background
    hot = smooth > background + 0.35 * span
    excess = np.where(hot, smooth - background, 0.0)
    plane = int(np.argmax(excess.sum(axis=(1, 2))))
    reach = max(1, round(_SLAB_HALF_MM / spacing[0]))
    slab = slice(max(plane - reach, 0), min(plane + reach + 1, image.shape[0]))
    projection = smooth[slab].max(axis=0)
    if span < 0.05 * background:  # a uniform image: no sphere stands out
        blobs, n_blobs = np.zeros(projection.shape, dtype=np.int32), 0
    else:
        blobs, n_blobs = ndimage.label(projection > background + 0.3 * span)
    jj, ii = np.mgrid[: image.shape[1], : image.shape[2]]
    plane_mm = volume.index_to_patient_mm(
        np.stack([np.full(jj.shape, plane, dtype=float), jj, ii], axis=-1)
    )
    found: list[tuple[float, npt.NDArray[np.float64]]] = []
    for label in range(1, n_blobs + 1):
        inside = blobs == label
        weight = projection[inside] - background
        strength = float(weight.sum())
        centre = (plane_mm[inside][:, :2] * weight[:, None]).sum(axis=0) / strength
        found.append((strength, centre))
    found.sort(key=lambda item: -item[0])
    if len(found) < 3:
        raise InputValidationError(
            f"Found {len(found)} hot sphere(s) of the six of a NEMA IEC body phantom in the "
            f"sphere plane (slice {plane}): the image shows no hot spheres above its "
            f"background ({background:.4g}). Check that this is the phantom's PET series "
            "and that its spheres were filled hotter than the background."
        )
    ranked = np.array([centre for _, centre in found[:4]])
    numbers = np.arange(6, 6 - len(ranked), -1)  # 37 mm first
    fits = []
    for mirrored in (False, True):
        template = _template(mirrored)[numbers - 1]
        q, c, rms = _kabsch(template, ranked)
        fits.append((rms, mirrored, q, c))
    rms, mirrored, q, c = min(fits, key=lambda f: f[0])
    if rms > _MAX_RING_RMS_MM:
        raise InputValidationError(
            f"The hot spheres do not lie on the NEMA ring (57.2 mm radius, 60 degrees "
            f"apart, largest to smallest): best fit off by {rms:.1f} mm RMS (limit "
            f"{_MAX_RING_RMS_MM:g} mm). Check that the phantom is a NEMA IEC body phantom "
            "with its six spheres filled."
        )
    predicted = _template(mirrored) @ q.T + c
    plane_z = float(plane_mm[0, 0, 2])
    spheres = []
    inverse = np.linalg.inv(volume.affine)
    for number, (x, y) in enumerate(predicted, start=1):
        diameter = NEMA_DIAMETERS_MM[number - 1]
        centre = np.array([x, y, plane_z])
        for _ in range(4):
            centre = _refine(volume, smooth, background, centre, diameter / 2 + 4.0, inverse)
        moved = float(np.hypot(centre[0] - x, centre[1] - y))
        if moved > diameter / 2 + 5.0:
            raise InputValidationError(
                f"Sphere {number} ({diameter:g} mm) cannot be located: its centre moved "
                f"{moved:.1f} mm from where the ring puts it. Check the phantom's filling."
            )
        spheres.append(
            SphereFit(number, diameter, (float(centre[0]), float(centre[1]), float(centre[2])))
        )
    angle = math.degrees(math.atan2(q[1, 0], q[0, 0]))
    return RingFit(
        tuple(spheres),
        (float(c[0]), float(c[1])),
        angle,
        mirrored,
        rms,
        background,
        plane,
    )


def _ball_box(
    volume: Volume, centre: npt.NDArray[np.float64], radius: float, inverse: npt.NDArray[Any]
) -> tuple[tuple[slice, ...], npt.NDArray[np.float64]]:
    """Index box around a ball and the LPS mm coordinates of its voxel centres."""
    spacing = np.asarray(volume.spacing_mm)
    index = centre @ inverse[:3, :3].T + inverse[:3, 3]
    reach = np.ceil(radius / spacing).astype(int) + 1
    low = np.maximum(np.floor(index).astype(int) - reach, 0)
    high = np.minimum(np.floor(index).astype(int) + reach + 2, volume.shape)
    if np.any(high <= low):
        raise InputValidationError(
            f"A sphere centre at {np.round(centre, 1).tolist()} mm lies outside the image."
        )
    box = tuple(slice(int(a), int(b)) for a, b in zip(low, high, strict=True))
    k, j, i = np.meshgrid(*(np.arange(s.start, s.stop) for s in box), indexing="ij")
    return box, volume.index_to_patient_mm(np.stack([k, j, i], axis=-1))


def _refine(
    volume: Volume,
    smooth: npt.NDArray[np.float64],
    background: float,
    centre: npt.NDArray[np.float64],
    radius: float,
    inverse: npt.NDArray[Any],
) -> npt.NDArray[np.float64]:
    box, mm = _ball_box(volume, centre, radius, inverse)
    inside = np.linalg.norm(mm - centre, axis=-1) <= radius
    weight = np.clip(smooth[box] - background, 0.0, None) * inside
    total = float(weight.sum())
    if total <= 0:
        return centre
    result: npt.NDArray[np.float64] = (mm * weight[..., None]).sum(axis=(0, 1, 2)) / total
    return result


def _background_voi(
    volume: Volume, ring: RingFit, smooth: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    spacing = np.asarray(volume.spacing_mm)
    plane_z = float(np.mean([s.centre_mm[2] for s in ring.spheres]))
    inverse = np.linalg.inv(volume.affine)
    k_plane = float((np.array([*ring.centre_mm, plane_z]) @ inverse[:3, :3].T + inverse[:3, 3])[0])
    reach = round(40.0 / spacing[0])
    low, high = max(int(k_plane) - reach, 0), min(int(k_plane) + reach + 2, volume.shape[0])
    sub = smooth[low:high]
    body = sub > 0.5 * ring.background
    depth = ndimage.distance_transform_edt(body, sampling=spacing)
    mm = _slab_coords(volume, low, high)
    voi = (depth >= 15.0) & (np.abs(mm[..., 2] - plane_z) <= _SLAB_HALF_MM)
    axis = np.hypot(mm[..., 0] - ring.centre_mm[0], mm[..., 1] - ring.centre_mm[1])
    voi &= axis >= 40.0
    for sphere in ring.spheres:
        distance = np.linalg.norm(mm - np.asarray(sphere.centre_mm), axis=-1)
        voi &= distance >= sphere.diameter_mm / 2 + 15.0
    full = np.zeros(volume.shape, dtype=bool)
    full[low:high] = voi
    return full


def analyse_nema(
    volume: Volume, truth: NemaTruth, *, units: str = "BQML", label: str = ""
) -> NemaAnalysis:
    """Recovery coefficients of the six spheres against EARL1 and EARL2 (module docstring).

    Raises
    ------
    InputValidationError
        The spheres cannot be found, or the background VOI is empty.
    """
    image = np.nan_to_num(np.asarray(volume.array, dtype=np.float64))
    ring = find_spheres(volume)
    spacing = np.asarray(volume.spacing_mm)
    smooth = ndimage.gaussian_filter(image, _SMOOTH_SIGMA_MM / spacing)
    voi = _background_voi(volume, ring, smooth)
    n_background = int(voi.sum())
    if n_background < 20:
        raise InputValidationError(
            f"The background VOI holds {n_background} voxels (fewer than 20): the phantom "
            "is too small or cut by the field of view."
        )
    background = float(image[voi].mean())
    noise = float(smooth[voi].std())
    if truth.sphere is not None:
        sphere_truth = truth.sphere
    else:
        assert truth.ratio is not None
        sphere_truth = truth.ratio * (truth.background or background)
    inverse = np.linalg.inv(volume.affine)
    results = []
    for sphere in ring.spheres:
        centre = np.asarray(sphere.centre_mm)
        radius = sphere.diameter_mm / 2
        box, mm = _ball_box(volume, centre, radius + 8.0, inverse)
        distance = np.linalg.norm(mm - centre, axis=-1)
        values = image[box]
        near = distance <= radius + 5.0
        peak_smooth = float(np.where(near, smooth[box], -np.inf).max())
        if peak_smooth - ring.background < max(4.0 * noise, 0.1 * ring.background):
            raise InputValidationError(
                f"Sphere {sphere.number} ({sphere.diameter_mm:g} mm) cannot be found: at "
                f"{np.round(centre, 1).tolist()} mm the image is only "
                f"{peak_smooth - ring.background:.3g} above the background (noise SD "
                f"{noise:.3g}). Check the filling, or scan longer."
            )
        flat = int(np.argmax(np.where(near, values, -np.inf)))
        hottest = np.unravel_index(flat, values.shape)
        maximum = float(values[hottest])
        threshold = background + 0.5 * (maximum - background)
        components, _ = ndimage.label((distance <= radius + 8.0) & (values >= threshold))
        a50 = components == components[hottest]
        mean = float(values[a50].mean())
        lesion = np.zeros(volume.shape, dtype=bool)
        lesion[box] = distance <= radius
        if not lesion.any():
            lesion[tuple(s.start + h for s, h in zip(box, hottest, strict=True))] = True
        peak = suv_peak_global(volume.with_array(image), volume.with_array(lesion)).suv_peak
        rc = {
            "max": maximum / sphere_truth,
            "mean": mean / sphere_truth,
            "peak": peak / sphere_truth,
        }
        verdicts = {
            standard.name: {
                metric: standard.check(metric, sphere.diameter_mm, rc[metric]) for metric in METRICS
            }
            for standard in EARL_STANDARDS
        }
        true_centre = truth.centres_mm.get(sphere.number)
        results.append(
            SphereResult(
                sphere.number,
                sphere.diameter_mm,
                sphere.centre_mm,
                rc,
                {"max": maximum, "mean": mean, "peak": peak},
                float(a50.sum()) * volume.voxel_volume_ml,
                verdicts,
                None
                if true_centre is None
                else float(np.linalg.norm(centre - np.asarray(true_centre))),
            )
        )
    return NemaAnalysis(
        tuple(results),
        ring,
        sphere_truth,
        background,
        truth.background,
        n_background,
        units,
        label,
    )


def recovery_figure(analysis: NemaAnalysis) -> Any:
    """RC against sphere diameter, one panel per metric, with the EARL1 (grey) and EARL2
    (hatched) bands; grayscale like the report figures."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.2, 2.6))
    diameters = [s.diameter_mm for s in analysis.spheres]
    titles = {"max": "RCmax", "mean": "RCmean (A50)", "peak": "RCpeak (1 ml)"}
    for n, metric in enumerate(METRICS):
        ax = fig.add_subplot(1, 3, n + 1)
        ax.tick_params(labelsize=8)
        ax.grid(True, color="0.88", linewidth=0.6)
        ax.set_axisbelow(True)
        for standard, style in (
            (EARL1, {"color": "0.82"}),
            (EARL2, {"facecolor": "none", "edgecolor": "0.35", "hatch": "////", "linewidth": 0.0}),
        ):
            by = standard.limits.get(metric)
            if by is None:
                continue
            sizes = sorted(by)
            ax.fill_between(
                sizes,
                [by[d][0] for d in sizes],
                [by[d][1] for d in sizes],
                label=standard.name,
                **style,
            )
        ax.plot(
            diameters,
            [s.rc[metric] for s in analysis.spheres],
            "-o",
            color="0.0",
            markersize=4,
            linewidth=1.0,
            label="measured",
        )
        ax.set_title(titles[metric], fontsize=9)
        ax.set_xlabel("Sphere diameter (mm)", fontsize=8)
        if n == 0:
            ax.set_ylabel("Recovery coefficient", fontsize=8)
        ax.set_xticks(list(NEMA_DIAMETERS_MM))
        ax.legend(fontsize=7, loc="lower right", frameon=False)
    fig.subplots_adjust(wspace=0.3, bottom=0.18)
    return fig


def truth_from_rows(rows: Sequence[Mapping[str, str]], source: str) -> NemaTruth:
    """The truth from ``spheres.csv`` rows (petdx simulate-nema): concentrations in Bq/ml."""
    needed = (
        "sphere",
        "sphere_bq_ml",
        "background_bq_ml",
        "centre_x_mm",
        "centre_y_mm",
        "centre_z_mm",
    )
    if not rows:
        raise InputValidationError(f"{source}: no rows; expected the six spheres of simulate-nema.")
    spheres, backgrounds, centres = set(), set(), {}
    for n, row in enumerate(rows, start=2):
        missing = [c for c in needed if not (row.get(c) or "").strip()]
        if missing:
            raise InputValidationError(
                f"{source} row {n}: missing {', '.join(missing)}; expected the spheres.csv "
                "written by petdx simulate-nema."
            )
        try:
            number = int(row["sphere"])
            spheres.add(float(row["sphere_bq_ml"]))
            backgrounds.add(float(row["background_bq_ml"]))
            centres[number] = (
                float(row["centre_x_mm"]),
                float(row["centre_y_mm"]),
                float(row["centre_z_mm"]),
            )
        except ValueError as exc:
            raise InputValidationError(f"{source} row {n}: {exc}; expected numbers.") from None
    if len(spheres) != 1 or len(backgrounds) != 1:
        raise InputValidationError(
            f"{source}: the spheres have different concentrations ({sorted(spheres)}); "
            "petdx analyses phantoms whose six spheres share one filling."
        )
    return NemaTruth(sphere=spheres.pop(), background=backgrounds.pop(), centres_mm=centres)
