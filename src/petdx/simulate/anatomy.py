"""An adult digital phantom, head to mid-thigh, from smooth analytic shapes.

The body is described in the DICOM patient frame (LPS, mm) of a supine patient, head first:
+x is the patient's left, +y posterior, +z superior, and the vertex is at z = 0 (the body
lies at negative z). Heights along the body are fractions of the standing height H below
the vertex (anthropometric proportions of Drillis and Contini); the trunk cross-section is
an ellipse whose half-width and half-depth vary along z, scaled by sex, height and weight;
subcutaneous fat thickens with the body-mass index. Organs are ellipsoids and elliptic
cylinders placed relative to the trunk, arms are raised out of the field of view.

The label map paints shapes in a fixed order (later shapes win), so organs that touch do not
overlap. :data:`ORGAN_LABELS` gives the label values; :data:`ORGAN_UPTAKE` the tracer-profile
organ whose uptake each label takes.

References
----------
Drillis R, Contini R. Body segment parameters. Technical report 1166-03, Office of Vocational
Rehabilitation, New York University, 1966 (segment lengths as fractions of height).
ICRP Publication 89. Basic anatomical and physiological data for use in radiological
protection: reference values. Ann ICRP 2002;32(3-4) (reference organ sizes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from petdx.errors import InputValidationError
from petdx.simulate.shapes import Cylinder, Ellipsoid, FloatArray, Grid, Shape

__all__ = [
    "ORGAN_LABELS",
    "ORGAN_UPTAKE",
    "BodyOutline",
    "Phantom",
    "build_phantom",
]

#: Organ label values of ``organs.nii.gz`` (0 is air outside the body).
ORGAN_LABELS: dict[str, int] = {
    "body": 1,
    "fat": 2,
    "lung": 3,
    "liver": 4,
    "spleen": 5,
    "kidney": 6,
    "bladder": 7,
    "small_intestine": 8,
    "blood_pool": 9,
    "myocardium": 10,
    "bone": 11,
    "brain": 12,
}

#: The tracer-profile organ (``petdx.tracers.ORGANS``) whose SUV each label takes.
ORGAN_UPTAKE: dict[str, str] = {
    "body": "muscle",
    "fat": "fat",
    "lung": "lung",
    "liver": "liver",
    "spleen": "spleen",
    "kidney": "kidneys",
    "bladder": "bladder",
    "small_intestine": "small_intestine",
    "blood_pool": "blood_pool",
    "myocardium": "myocardium",
    "bone": "bone_marrow",
    "brain": "brain",
}

# Reference adults (ICRP 89): height mm, weight kg.
_REFERENCE = {"M": (1760.0, 73.0), "F": (1630.0, 60.0), "O": (1700.0, 66.0)}

# Trunk outline of the reference male: fraction of H below the vertex -> (half-width,
# half-depth) in mm of the OUTER body surface.
_TRUNK_F = np.array([0.170, 0.195, 0.230, 0.300, 0.380, 0.450, 0.500, 0.530])
_TRUNK_A = np.array([110.0, 170.0, 178.0, 165.0, 150.0, 172.0, 175.0, 160.0])
_TRUNK_B = np.array([80.0, 105.0, 112.0, 115.0, 108.0, 112.0, 108.0, 95.0])
_NECK = (0.112, 0.190)  # head bottom overlaps, trunk top overlaps
_THIGH_TOP_F = 0.480
#: The scan range ends at this fraction of H below the vertex (mid-thigh).
SCAN_END_FRACTION = 0.620


@dataclass(frozen=True)
class BodyOutline(Shape):
    """The trunk (and neck and thighs) surface, shrunk inwards by ``inset_mm``.

    The trunk is an ellipse per z from the outline table; the neck an elliptic cylinder;
    the thighs two elliptic cylinders.
    """

    height_mm: float
    scale_x: float
    scale_y: float
    inset_mm: float = 0.0
    neck_semi_mm: tuple[float, float] = (56.0, 60.0)
    thigh_semi_mm: tuple[float, float] = (80.0, 85.0)

    def radii(self, z: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Trunk half-width and half-depth (mm) at heights ``z`` (0 outside the trunk)."""
        f = -np.asarray(z, dtype=np.float64) / self.height_mm
        a = np.interp(f, _TRUNK_F, _TRUNK_A * self.scale_x, left=0.0, right=0.0)
        b = np.interp(f, _TRUNK_F, _TRUNK_B * self.scale_y, left=0.0, right=0.0)
        return np.maximum(a - self.inset_mm, 0.0), np.maximum(b - self.inset_mm, 0.0)

    def thigh_centre_x_mm(self) -> float:
        return 0.52 * float(_TRUNK_A[-2]) * self.scale_x

    def contains(self, x: FloatArray, y: FloatArray, z: FloatArray) -> npt.NDArray[np.bool_]:
        a, b = self.radii(z)
        with np.errstate(divide="ignore", invalid="ignore"):
            trunk = (x / np.where(a > 0, a, np.nan)) ** 2 + (y / np.where(b > 0, b, np.nan)) ** 2
        inside = np.nan_to_num(trunk, nan=2.0) <= 1.0
        f = -z / self.height_mm
        na, nb = (max(r - self.inset_mm, 1.0) for r in self.neck_semi_mm)
        neck = ((x / na) ** 2 + ((y - 10.0) / nb) ** 2 <= 1.0) & (f >= _NECK[0]) & (f <= _NECK[1])
        ta = max(self.thigh_semi_mm[0] * self.scale_x - self.inset_mm, 1.0)
        tb = max(self.thigh_semi_mm[1] * self.scale_y - self.inset_mm, 1.0)
        cx = self.thigh_centre_x_mm()
        thighs = (((np.abs(x) - cx) / ta) ** 2 + (y / tb) ** 2 <= 1.0) & (f >= _THIGH_TOP_F)
        result: npt.NDArray[np.bool_] = inside | neck | thighs
        return result

    def bounds_mm(self) -> tuple[FloatArray, FloatArray]:
        half_x = max(
            float(_TRUNK_A.max()) * self.scale_x, self.thigh_centre_x_mm() + 90.0 * self.scale_x
        )
        half_y = float(_TRUNK_B.max()) * self.scale_y + 10.0
        return (
            np.array([-half_x, -half_y, -self.height_mm]),
            np.array([half_x, half_y, -_NECK[0] * self.height_mm]),
        )


@dataclass(frozen=True)
class _Shell(Shape):
    """Points inside ``outer`` but not inside ``inner``."""

    outer: Shape
    inner: Shape

    def contains(self, x: FloatArray, y: FloatArray, z: FloatArray) -> npt.NDArray[np.bool_]:
        result: npt.NDArray[np.bool_] = self.outer.contains(x, y, z) & ~self.inner.contains(x, y, z)
        return result

    def bounds_mm(self) -> tuple[FloatArray, FloatArray]:
        return self.outer.bounds_mm()


@dataclass(frozen=True)
class Phantom:
    """A patient's phantom: body size and the painted shapes.

    Attributes
    ----------
    sex, height_m, weight_kg
        The patient.
    outline
        Outer body surface.
    parts
        ``(label name, shape)`` in painting order (later wins).
    landmarks_mm
        Named points (x, y, z) used to place lesions (organ centres, node stations).
    scales_mm
        Named lengths used to place lesions (trunk half-width ``a`` and half-depth ``b`` at
        several levels, ``H``).
    """

    sex: str
    height_m: float
    weight_kg: float
    outline: BodyOutline
    parts: tuple[tuple[str, Shape], ...]
    landmarks_mm: dict[str, tuple[float, float, float]]
    scales_mm: dict[str, float]

    @property
    def height_mm(self) -> float:
        return self.height_m * 1000.0

    @property
    def scan_z_range_mm(self) -> tuple[float, float]:
        """``(low, high)`` z of the scan: mid-thigh to 10 mm above the vertex."""
        return (-SCAN_END_FRACTION * self.height_mm, 10.0)

    def shape(self, name: str) -> Shape:
        """The (first) shape painted with label ``name``."""
        for label, shape in self.parts:
            if label == name:
                return shape
        raise KeyError(name)

    def labels_at(self, x: FloatArray, y: FloatArray, z: FloatArray) -> npt.NDArray[np.uint8]:
        """Organ label at points (broadcastable coordinate arrays, mm)."""
        shape = np.broadcast_shapes(np.shape(x), np.shape(y), np.shape(z))
        labels = np.zeros(shape, dtype=np.uint8)
        for name, part in self.parts:
            labels[np.broadcast_to(part.contains(x, y, z), shape)] = ORGAN_LABELS[name]
        return labels

    def label_map(self, grid: Grid) -> npt.NDArray[np.uint8]:
        """The organ label map on ``grid`` (voxel centres)."""
        labels = np.zeros(grid.shape, dtype=np.uint8)
        for name, part in self.parts:
            region, inside = part.fraction(grid, supersample=1)
            if inside.size:
                labels[region][inside > 0.5] = ORGAN_LABELS[name]
        return labels


def _check_body(sex: str, height_m: float, weight_kg: float) -> None:
    if sex not in _REFERENCE:
        raise InputValidationError(f"Phantom sex {sex!r}: expected M, F or O.")
    if not 1.2 <= height_m <= 2.3:
        raise InputValidationError(f"Phantom height {height_m} m: expected 1.2 to 2.3 m.")
    bmi = weight_kg / height_m**2
    if not 14.0 <= bmi <= 50.0:
        raise InputValidationError(
            f"Phantom weight {weight_kg} kg at {height_m} m (BMI {bmi:.1f}): expected a BMI "
            "of 14 to 50."
        )


def _fat_mm(sex: str, bmi: float) -> float:
    """Subcutaneous fat thickness (mm) of the trunk from the BMI (a smooth assumption)."""
    base = {"M": 12.0, "F": 20.0, "O": 16.0}[sex]
    return float(np.clip(base + 2.0 * (bmi - 23.0), 4.0, 70.0))


def build_phantom(*, sex: str, height_m: float, weight_kg: float) -> Phantom:
    """Build the phantom of a patient.

    Parameters
    ----------
    sex
        ``M``, ``F`` or ``O``.
    height_m
        Standing height (m), 1.2 to 2.3.
    weight_kg
        Body weight (kg); the body-mass index must lie in 14 to 50.

    Returns
    -------
    Phantom

    Raises
    ------
    InputValidationError
        Sex, height or BMI out of range.
    """
    _check_body(sex, height_m, weight_kg)
    height = height_m * 1000.0
    ref_height, ref_weight = _REFERENCE[sex]
    # Cross-section area grows with weight / height; the trunk keeps its aspect ratio.
    scale = math.sqrt((weight_kg / height) / (ref_weight / ref_height))
    if sex == "F":
        scale_x, scale_y = 0.93 * scale, 0.95 * scale
    else:
        scale_x, scale_y = scale, scale
    bmi = weight_kg / height_m**2
    fat = _fat_mm(sex, bmi)
    outline = BodyOutline(height, scale_x, scale_y)
    lean = BodyOutline(height, scale_x, scale_y, inset_mm=fat)
    lean_scale = math.sqrt(max(0.3, 1.0 - fat / 100.0))  # organs follow the lean trunk
    organ = (height / ref_height) ** 0.6 * (scale * lean_scale) ** 0.4

    def at(f: float) -> tuple[float, float]:
        a, b = lean.radii(np.array([-f * height]))
        return float(a[0]), float(b[0])

    def z(f: float) -> float:
        return -f * height

    def sized(semi: Sequence[float]) -> tuple[float, float, float]:
        return (semi[0] * organ, semi[1] * organ, semi[2] * organ)

    a_chest, b_chest = at(0.255)
    a_liver, b_liver = at(0.325)
    a_kid, b_kid = at(0.365)
    a_abd, b_abd = at(0.420)
    a_pel, b_pel = at(0.480)

    head_c = (0.0, 5.0, z(0.066))
    head = Ellipsoid(head_c, (74.0, 92.0, 0.064 * height))
    skull = Ellipsoid(head_c, (69.0, 87.0, 0.064 * height - 5.0))
    brain = Ellipsoid((0.0, 5.0, z(0.060)), (62.0, 80.0, 0.046 * height))
    cervical_spine = Cylinder((0.0, 28.0), (11.0, 11.0), z(0.185), z(0.120))
    spine = Cylinder((0.0, 0.62 * b_chest), (17.0 * organ, 15.0 * organ), z(0.470), z(0.180))
    iliac = [
        Ellipsoid((s * 0.62 * a_pel, 0.30 * b_pel, z(0.440)), (14.0, 0.42 * b_pel, 0.040 * height))
        for s in (-1, 1)
    ]
    thigh_x = outline.thigh_centre_x_mm()
    femoral_heads = [
        Ellipsoid((s * 0.55 * a_pel, 0.0, z(0.490)), (23.0, 23.0, 23.0)) for s in (-1, 1)
    ]
    femurs = [Cylinder((s * thigh_x, 5.0), (13.0, 13.0), z(0.70), z(0.485)) for s in (-1, 1)]
    lungs = [
        Ellipsoid(
            (-0.47 * a_chest, 0.06 * b_chest, z(0.245)),
            (0.35 * a_chest, 0.70 * b_chest, 0.060 * height),
        ),
        Ellipsoid(
            (0.47 * a_chest, 0.06 * b_chest, z(0.243)),
            (0.32 * a_chest, 0.70 * b_chest, 0.057 * height),
        ),
    ]
    heart_c = (0.14 * a_chest, -0.28 * b_chest, z(0.278))
    heart = Ellipsoid(heart_c, sized((58.0, 46.0, 56.0)), angle_z_rad=0.5)
    chambers = Ellipsoid(heart_c, tuple(s - 10.0 for s in heart.semi_axes_mm), angle_z_rad=0.5)  # type: ignore[arg-type]
    aorta = Cylinder((0.10 * a_liver, 0.40 * b_liver), (11.5, 11.5), z(0.450), z(0.235))
    liver = Ellipsoid(
        (-0.38 * a_liver, -0.04 * b_liver, z(0.325)),
        (0.50 * a_liver, 0.64 * b_liver, 0.047 * height),
    )
    spleen = Ellipsoid((0.60 * a_liver, 0.36 * b_liver, z(0.318)), sized((30.0, 46.0, 52.0)))
    kidneys = [
        Ellipsoid(
            (s * 0.40 * a_kid, 0.45 * b_kid, z(0.368 + (0.006 if s < 0 else 0.0))),
            sized((29.0, 27.0, 54.0)),
        )
        for s in (-1, 1)
    ]
    bowel = Ellipsoid((0.0, -0.28 * b_abd, z(0.425)), (0.55 * a_abd, 0.42 * b_abd, 0.042 * height))
    bladder = Ellipsoid((0.0, -0.38 * b_pel, z(0.500)), sized((45.0, 36.0, 36.0)))

    parts: list[tuple[str, Shape]] = [
        ("fat", outline),
        ("body", lean),
        ("fat", head),
        ("body", Ellipsoid(head_c, (72.0, 90.0, 0.064 * height - 2.0))),
        ("bone", skull),
        ("brain", brain),
        ("bone", cervical_spine),
        ("bone", spine),
        *(("bone", s) for s in iliac),
        *(("bone", s) for s in femoral_heads),
        *(("bone", s) for s in femurs),
        *(("lung", s) for s in lungs),
        ("small_intestine", bowel),
        ("liver", liver),
        ("spleen", spleen),
        *(("kidney", s) for s in kidneys),
        ("bladder", bladder),
        ("myocardium", heart),
        ("blood_pool", chambers),
        ("blood_pool", aorta),
    ]
    landmarks = {
        "liver": liver.centre_mm,
        "spleen": spleen.centre_mm,
        "lung_right": lungs[0].centre_mm,
        "lung_left": lungs[1].centre_mm,
        "heart": heart_c,
        "bladder": bladder.centre_mm,
        "kidney_right": kidneys[0].centre_mm,
        "kidney_left": kidneys[1].centre_mm,
        "neck": (0.0, 0.0, z(0.150)),
        "mediastinum": (0.0, -0.05 * b_chest, z(0.232)),
        "hilum_right": (-0.20 * a_chest, 0.05 * b_chest, z(0.250)),
        "hilum_left": (0.20 * a_chest, 0.05 * b_chest, z(0.250)),
        "axilla_right": (-0.85 * a_chest, 0.05 * b_chest, z(0.215)),
        "axilla_left": (0.85 * a_chest, 0.05 * b_chest, z(0.215)),
        "para_aortic": (0.05 * a_abd, 0.25 * b_abd, z(0.395)),
        "iliac_right": (-0.33 * a_pel, 0.05 * b_pel, z(0.465)),
        "iliac_left": (0.33 * a_pel, 0.05 * b_pel, z(0.465)),
        "adrenal_right": (-0.30 * a_kid, 0.40 * b_kid, z(0.335)),
        "adrenal_left": (0.30 * a_kid, 0.40 * b_kid, z(0.333)),
        "stomach": (0.35 * a_liver, -0.30 * b_liver, z(0.345)),
        "oesophagus": (0.05 * a_chest, 0.40 * b_chest, z(0.270)),
        "pelvis": (0.0, 0.10 * b_pel, z(0.470)),
        "chest_wall_right": (-0.55 * a_chest, -0.85 * b_chest, z(0.255)),
        "spine_thoracic": (0.0, spine.centre_xy_mm[1], z(0.280)),
        "spine_lumbar": (0.0, spine.centre_xy_mm[1], z(0.400)),
        "iliac_bone_right": iliac[0].centre_mm,
        "iliac_bone_left": iliac[1].centre_mm,
    }
    scales = {
        "H": height,
        "a_chest": a_chest,
        "b_chest": b_chest,
        "a_abd": a_abd,
        "b_abd": b_abd,
        "fat_mm": fat,
    }
    return Phantom(sex, height_m, weight_kg, outline, tuple(parts), landmarks, scales)
