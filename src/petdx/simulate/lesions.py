"""Lesions: where they go in the phantom, how big, what biology, and their true uptake.

A lesion is a sphere or an ellipsoid (rotated about z) of 6 to 40 mm equivalent diameter,
with a heterogeneous interior (a smooth multiplicative texture, CV 15 %) and, for some
lesions of 25 mm or more, a cold necrotic core (45 % of each semi-axis, 15 % of the rim's
uptake). Lesions are placed by rejection sampling at plausible sites (lung, mediastinal,
hilar, cervical, axillary, abdominal and pelvic nodes, liver, bone, adrenal, soft tissue):
every point of the lesion surface (plus a 2 mm margin) must lie in tissue the site allows
(a lung nodule inside the lung, a node in fat or soft tissue, not across the heart wall or
the liver capsule), and lesions keep at least one voxel apart.

Uptake model: see :mod:`petdx.tracers.profile`. Each lesion has one latent normal deviate
per tracer (68Ga-DOTA-BLP and FDG deviates correlated with rho = 0.5) and one log-normal
retention factor per step between the profile's tabulated times; its true mean SUV (over
the whole lesion, necrotic core included) at any time point follows from these.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from petdx.simulate.anatomy import ORGAN_LABELS, Phantom
from petdx.simulate.shapes import Ellipsoid, Grid, Shape
from petdx.tracers import LesionClass, TracerProfile

__all__ = [
    "NECROTIC_CORE_SCALE",
    "NECROTIC_CORE_UPTAKE",
    "PLACEMENTS",
    "LesionFootprint",
    "LesionSpec",
    "Placement",
    "lesion_footprints",
    "lesion_suv_series",
    "place_lesion",
]

NECROTIC_CORE_SCALE = 0.45
NECROTIC_CORE_UPTAKE = 0.15
_TEXTURE_CV = 0.15
_TEXTURE_FWHM_MM = 6.0
_MARGIN_MM = 2.0
_SUPERSAMPLE = 4
_FDG_CORRELATION = 0.5


@dataclass(frozen=True)
class Placement:
    """Where a kind of lesion may go.

    Attributes
    ----------
    site
        Value of ``lesions.site`` (data dictionary).
    role
        ``nodal`` or ``distant`` when the lesion is not a primary.
    hosts
        Organ labels every surface point may lie in.
    centre_host
        Organ label the centre must lie in (``None``: any of ``hosts``).
    shapes
        Phantom parts (by label name) to sample the centre inside, or ...
    landmarks
        ... landmark names to sample around, with ``jitter_mm`` half-widths (x, y, z).
    max_diameter_mm
        Largest equivalent diameter that fits.
    """

    site: str
    role: str
    hosts: frozenset[str]
    centre_host: str | None = None
    shapes: tuple[str, ...] = ()
    landmarks: tuple[str, ...] = ()
    jitter_mm: tuple[float, float, float] = (15.0, 15.0, 15.0)
    max_diameter_mm: float = 40.0


_SOFT = frozenset({"body", "fat"})

PLACEMENTS: dict[str, Placement] = {
    "lung": Placement("lung", "distant", frozenset({"lung"}), shapes=("lung",)),
    "liver": Placement("liver", "distant", frozenset({"liver"}), shapes=("liver",)),
    "bone": Placement(
        "bone",
        "distant",
        frozenset({"bone", "body", "fat"}),
        centre_host="bone",
        landmarks=("spine_thoracic", "spine_lumbar", "iliac_bone_right", "iliac_bone_left"),
        jitter_mm=(4.0, 4.0, 60.0),
        max_diameter_mm=28.0,
    ),
    "adrenal": Placement(
        "adrenal",
        "distant",
        _SOFT,
        landmarks=("adrenal_right", "adrenal_left"),
        jitter_mm=(6.0, 6.0, 8.0),
        max_diameter_mm=32.0,
    ),
    "mediastinal_node": Placement(
        "mediastinal_node",
        "nodal",
        _SOFT,
        landmarks=("mediastinum",),
        jitter_mm=(18.0, 18.0, 25.0),
        max_diameter_mm=30.0,
    ),
    "hilar_node": Placement(
        "hilar_node",
        "nodal",
        frozenset({"body", "fat", "lung"}),
        landmarks=("hilum_right", "hilum_left"),
        jitter_mm=(10.0, 14.0, 18.0),
        max_diameter_mm=25.0,
    ),
    "cervical_node": Placement(
        "cervical_node",
        "nodal",
        _SOFT,
        landmarks=("neck",),
        jitter_mm=(35.0, 20.0, 25.0),
        max_diameter_mm=28.0,
    ),
    "axillary_node": Placement(
        "axillary_node",
        "nodal",
        _SOFT,
        landmarks=("axilla_right", "axilla_left"),
        jitter_mm=(12.0, 25.0, 20.0),
        max_diameter_mm=28.0,
    ),
    "abdominal_node": Placement(
        "abdominal_node",
        "nodal",
        _SOFT,
        landmarks=("para_aortic",),
        jitter_mm=(35.0, 15.0, 40.0),
        max_diameter_mm=30.0,
    ),
    "pelvic_node": Placement(
        "pelvic_node",
        "nodal",
        _SOFT,
        landmarks=("iliac_right", "iliac_left"),
        jitter_mm=(15.0, 20.0, 20.0),
        max_diameter_mm=28.0,
    ),
    "soft_tissue_neck": Placement(
        "soft_tissue", "distant", _SOFT, landmarks=("neck",), jitter_mm=(25.0, 20.0, 20.0)
    ),
    "soft_tissue_chest": Placement(
        "soft_tissue",
        "distant",
        _SOFT,
        landmarks=("chest_wall_right",),
        jitter_mm=(25.0, 6.0, 30.0),
        max_diameter_mm=35.0,
    ),
    "stomach": Placement(
        "other",
        "distant",
        frozenset({"body", "fat", "small_intestine"}),
        landmarks=("stomach",),
        jitter_mm=(15.0, 10.0, 15.0),
    ),
    "oesophagus": Placement(
        "other", "distant", _SOFT, landmarks=("oesophagus",), jitter_mm=(5.0, 5.0, 40.0)
    ),
    "pelvis": Placement(
        "other",
        "distant",
        frozenset({"body", "fat", "small_intestine"}),
        landmarks=("pelvis",),
        jitter_mm=(30.0, 20.0, 20.0),
    ),
    "kidney": Placement(
        "other",
        "distant",
        frozenset({"kidney", "body", "fat"}),
        centre_host="kidney",
        shapes=("kidney",),
        max_diameter_mm=40.0,
    ),
}


@dataclass(frozen=True)
class LesionSpec:
    """One simulated lesion (ground truth).

    Attributes
    ----------
    lesion_id, label
        Identifier unique in the cohort; label value in the truth SEG and NIfTI (1, 2, ...
        within the patient).
    role, site, placement
        ``primary``/``nodal``/``distant``; data-dictionary site; the :data:`PLACEMENTS` key.
    lesion_class, malignant
        Biology.
    pdl1_tps_pct, pdl1_cps
        PD-L1 scores (``None`` for benign lesions).
    centre_mm, semi_axes_mm, angle_z_rad
        Geometry (LPS mm; ellipsoid rotated about z).
    necrotic_core
        Whether the lesion has a cold core.
    texture_seed
        Seed of the lesion's interior texture.
    suv_series
        True mean SUVbw of the lesion at each tabulated time of each tracer profile:
        ``{tracer: (suv at uptake_times_min[0], ...)}``.
    """

    lesion_id: str
    label: int
    role: str
    site: str
    placement: str
    lesion_class: LesionClass
    malignant: bool
    pdl1_tps_pct: float | None
    pdl1_cps: float | None
    centre_mm: tuple[float, float, float]
    semi_axes_mm: tuple[float, float, float]
    angle_z_rad: float
    necrotic_core: bool
    texture_seed: int
    suv_series: Mapping[str, tuple[float, ...]] = field(default_factory=dict)

    @property
    def ellipsoid(self) -> Ellipsoid:
        return Ellipsoid(self.centre_mm, self.semi_axes_mm, self.angle_z_rad)

    @property
    def core(self) -> Ellipsoid:
        return self.ellipsoid.scaled(NECROTIC_CORE_SCALE)

    @property
    def diameter_mm(self) -> float:
        """Equivalent sphere diameter: 2 (abc)^(1/3)."""
        a, b, c = self.semi_axes_mm
        return 2.0 * (a * b * c) ** (1.0 / 3.0)

    @property
    def volume_ml(self) -> float:
        return self.ellipsoid.volume_ml

    @property
    def shape(self) -> str:
        a, b, c = self.semi_axes_mm
        return "sphere" if a == b == c else "ellipsoid"

    def true_suv(self, profile: TracerProfile, time_min: float) -> float:
        """True mean SUVbw over the lesion at ``time_min`` under ``profile``."""
        series = self.suv_series[profile.name]
        k0, k1, w = profile.interpolation_weights(time_min)
        return math.exp((1 - w) * math.log(series[k0]) + w * math.log(series[k1]))


def lesion_suv_series(
    profile: TracerProfile,
    lesion_class: LesionClass,
    pdl1_tps_pct: float,
    *,
    deviate: float,
    retention_deviates: Sequence[float],
) -> tuple[float, ...]:
    """A lesion's true mean SUV at each of the profile's tabulated times.

    ``suv_median[k] * (1 + gain * TPS/100) * gsd**deviate * prod(retention_gsd**r_j, j < k)``.
    """
    params = profile.lesion_classes[lesion_class]
    level = (1.0 + params.pdl1_tps_gain * pdl1_tps_pct / 100.0) * params.gsd**deviate
    values = []
    retention = 1.0
    for k, median in enumerate(params.suv_median):
        if k > 0:
            retention *= params.retention_gsd ** retention_deviates[k - 1]
        values.append(median * level * retention)
    return tuple(values)


def correlated_deviates(rng: np.random.Generator) -> tuple[float, float]:
    """(68Ga-DOTA-BLP deviate, FDG deviate) with correlation 0.5."""
    first, other = rng.standard_normal(2)
    second = _FDG_CORRELATION * first + math.sqrt(1 - _FDG_CORRELATION**2) * other
    return float(first), float(second)


def _surface_points(shape: Ellipsoid, margin_mm: float) -> npt.NDArray[np.float64]:
    """Centre plus 26 points on the ellipsoid grown by ``margin_mm``."""
    directions = np.array(
        [
            (i, j, k)
            for i in (-1, 0, 1)
            for j in (-1, 0, 1)
            for k in (-1, 0, 1)
            if (i, j, k) != (0, 0, 0)
        ],
        dtype=np.float64,
    )
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    a, b, c = (s + margin_mm for s in shape.semi_axes_mm)
    local = directions * np.array([a, b, c])
    cos, sin = math.cos(shape.angle_z_rad), math.sin(shape.angle_z_rad)
    rotated = local.copy()
    rotated[:, 0] = cos * local[:, 0] - sin * local[:, 1]
    rotated[:, 1] = sin * local[:, 0] + cos * local[:, 1]
    points = rotated + np.array(shape.centre_mm)
    return np.vstack([np.array(shape.centre_mm)[None, :], points])


def _candidate_centre(
    phantom: Phantom, placement: Placement, rng: np.random.Generator
) -> tuple[float, float, float]:
    if placement.shapes:
        options = [s for name, s in phantom.parts if name in placement.shapes]
        shape: Shape = options[int(rng.integers(len(options)))]
        low, high = shape.bounds_mm()
        return tuple(float(v) for v in rng.uniform(low, high))  # type: ignore[return-value]
    name = placement.landmarks[int(rng.integers(len(placement.landmarks)))]
    centre = np.array(phantom.landmarks_mm[name])
    jitter = rng.uniform(-1.0, 1.0, 3) * np.array(placement.jitter_mm)
    return tuple(float(v) for v in centre + jitter)  # type: ignore[return-value]


def place_lesion(
    phantom: Phantom,
    placement_key: str,
    diameter_mm: float,
    rng: np.random.Generator,
    *,
    others: Sequence[Ellipsoid],
    min_gap_mm: float,
    ellipsoid: bool,
    attempts: int = 300,
) -> Ellipsoid | None:
    """Find a position for a lesion of ``diameter_mm`` at ``placement_key``.

    Shrinks the lesion by 15 % after each ``attempts // 4`` failures (never below 6 mm);
    returns ``None`` when nothing fits.
    """
    placement = PLACEMENTS[placement_key]
    allowed = np.array(sorted(ORGAN_LABELS[h] for h in placement.hosts))
    centre_label = ORGAN_LABELS[placement.centre_host] if placement.centre_host else None
    diameter = min(diameter_mm, placement.max_diameter_mm)
    for attempt in range(attempts):
        if attempt and attempt % max(1, attempts // 4) == 0:
            diameter = max(6.0, diameter * 0.85)
        radius = diameter / 2.0
        if ellipsoid:
            ratios = rng.uniform(0.75, 1.3, 3)
            ratios /= np.prod(ratios) ** (1.0 / 3.0)  # keep the equivalent diameter
            semi = tuple(float(radius * r) for r in ratios)
            angle = float(rng.uniform(0.0, math.pi))
        else:
            semi, angle = (radius, radius, radius), 0.0
        candidate = Ellipsoid(_candidate_centre(phantom, placement, rng), semi, angle)  # type: ignore[arg-type]
        points = _surface_points(candidate, _MARGIN_MM)
        labels = phantom.labels_at(points[:, 0], points[:, 1], points[:, 2])
        if not np.isin(labels, allowed).all():
            continue
        if centre_label is not None and labels[0] != centre_label:
            continue
        centre = np.array(candidate.centre_mm)
        if any(
            np.linalg.norm(centre - np.array(o.centre_mm))
            < max(candidate.semi_axes_mm) + max(o.semi_axes_mm) + min_gap_mm
            for o in others
        ):
            continue
        return candidate
    return None


@dataclass(frozen=True)
class LesionFootprint:
    """A lesion rendered on a grid: partial-volume fractions of lesion and core, texture."""

    spec: LesionSpec
    region: tuple[slice, ...]
    fraction: npt.NDArray[np.float64]
    core_fraction: npt.NDArray[np.float64]
    texture: npt.NDArray[np.float64]

    def suv_values(
        self, host_suv: npt.NDArray[np.floating], mean_suv: float
    ) -> npt.NDArray[np.float64]:
        """Voxel SUVs of the lesion's region: host tissue outside, rim and core inside, so
        that the lesion's mean over its continuous volume is ``mean_suv``."""
        core_volume_fraction = NECROTIC_CORE_SCALE**3 if self.spec.necrotic_core else 0.0
        rim = mean_suv / (1.0 - core_volume_fraction * (1.0 - NECROTIC_CORE_UPTAKE))
        phi, phi_core = self.fraction, self.core_fraction
        return (
            (1.0 - phi) * host_suv
            + (phi - phi_core) * rim * self.texture
            + phi_core * rim * NECROTIC_CORE_UPTAKE
        )


def lesion_footprints(grid: Grid, lesions: Sequence[LesionSpec]) -> list[LesionFootprint]:
    """Render every lesion's partial-volume fractions and texture on ``grid``."""
    footprints = []
    for spec in lesions:
        region, phi = spec.ellipsoid.fraction(grid, supersample=_SUPERSAMPLE)
        if spec.necrotic_core:
            _, phi_core = spec.core.fraction(grid, supersample=_SUPERSAMPLE, region=region)
        else:
            phi_core = np.zeros_like(phi)
        rng = np.random.default_rng(spec.texture_seed)
        noise = rng.standard_normal(phi.shape)
        sigma_vox = [_TEXTURE_FWHM_MM / 2.3548 / s for s in grid.spacing_mm]
        smooth = ndimage.gaussian_filter(noise, sigma_vox, mode="reflect")
        weight = phi - phi_core
        if weight.sum() > 0:
            smooth = (smooth - np.average(smooth, weights=weight)) / max(
                float(np.sqrt(np.average(smooth**2, weights=weight))), 1e-9
            )
        texture = np.clip(1.0 + _TEXTURE_CV * smooth, 0.3, None)
        if weight.sum() > 0:
            texture /= np.average(texture, weights=weight)
        footprints.append(LesionFootprint(spec, region, phi, phi_core, texture))
    return footprints
