"""The NEMA IEC body phantom (NEMA NU 2 / IEC 61675-1) as an analytic activity object.

Interior of the body: a half-circle of radius 147 mm (anterior) on top of a 140 x 77 mm
rectangle closed by two quarter-circles of radius 77 mm (posterior, on the table), 180 mm
long. Six fillable spheres of inner diameter 10, 13, 17, 22, 28 and 37 mm lie in one
transverse plane, 70 mm from the cover, their centres on a circle of radius 57.2 mm around
the phantom axis; a cold lung insert (cylinder of 50 mm diameter) runs along the axis. Sphere
walls (1 mm glass) are not modelled: the spheres are ideal, as the EARL recovery limits
assume when they compare to the filled activity.

Coordinates: LPS mm with the sphere plane at z = 0 and the phantom axis at x = y = 0;
anterior (the rounded side) is -y.

References
----------
NEMA NU 2-2018, Performance Measurements of Positron Emission Tomographs, section 7
(image quality), phantom drawing. IEC 61675-1:2013.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from petdx.simulate.shapes import Cylinder, Ellipsoid, FloatArray, Grid, Shape

__all__ = [
    "NEMA_SPHERE_DIAMETERS_MM",
    "IecBody",
    "NemaSphere",
    "nema_activity",
    "nema_spheres",
]

NEMA_SPHERE_DIAMETERS_MM: tuple[float, ...] = (10.0, 13.0, 17.0, 22.0, 28.0, 37.0)
_RING_RADIUS_MM = 57.2
_BODY_Z_MM = (-110.0, 70.0)
_LUNG_RADIUS_MM = 25.0


@dataclass(frozen=True)
class IecBody(Shape):
    """Interior of the IEC body phantom (see the module docstring)."""

    z_low_mm: float = _BODY_Z_MM[0]
    z_high_mm: float = _BODY_Z_MM[1]

    def contains(self, x: FloatArray, y: FloatArray, z: FloatArray) -> npt.NDArray[np.bool_]:
        anterior = -y
        top = (anterior >= 0) & (x**2 + anterior**2 <= 147.0**2)
        ax = np.abs(x)
        bottom = (
            (anterior < 0)
            & (anterior >= -77.0)
            & ((ax <= 70.0) | ((ax - 70.0) ** 2 + anterior**2 <= 77.0**2))
        )
        result: npt.NDArray[np.bool_] = (
            (top | bottom) & (z >= self.z_low_mm) & (z <= self.z_high_mm)
        )
        return result

    def bounds_mm(self) -> tuple[FloatArray, FloatArray]:
        return (
            np.array([-147.0, -147.0, self.z_low_mm]),
            np.array([147.0, 77.0, self.z_high_mm]),
        )

    @property
    def volume_ml(self) -> float:
        """Interior volume without inserts (ml)."""
        area = math.pi * 147.0**2 / 2 + 140.0 * 77.0 + math.pi * 77.0**2 / 2
        return area * (self.z_high_mm - self.z_low_mm) / 1000.0


@dataclass(frozen=True)
class NemaSphere:
    """One sphere: its number (1 = smallest), inner diameter and centre."""

    number: int
    diameter_mm: float
    centre_mm: tuple[float, float, float]

    @property
    def shape(self) -> Ellipsoid:
        r = self.diameter_mm / 2.0
        return Ellipsoid(self.centre_mm, (r, r, r))

    @property
    def volume_ml(self) -> float:
        return math.pi * self.diameter_mm**3 / 6.0 / 1000.0


def nema_spheres() -> tuple[NemaSphere, ...]:
    """The six spheres, smallest first, 60 degrees apart on the 57.2 mm ring."""
    spheres = []
    for k, diameter in enumerate(NEMA_SPHERE_DIAMETERS_MM):
        angle = math.radians(60.0 * k)
        centre = (_RING_RADIUS_MM * math.cos(angle), -_RING_RADIUS_MM * math.sin(angle), 0.0)
        spheres.append(NemaSphere(k + 1, diameter, centre))
    return tuple(spheres)


def nema_activity(
    grid: Grid,
    *,
    background_bq_ml: float,
    sphere_to_background: float,
    supersample: int = 6,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint8]]:
    """True activity concentration and sphere label map of the phantom on ``grid``.

    Voxels are filled with their partial-volume fractions (``supersample**3`` points per
    voxel). The label map holds sphere numbers (1 = 10 mm ... 6 = 37 mm) where at least half
    the voxel is inside the sphere.
    """
    activity = np.zeros(grid.shape)
    labels = np.zeros(grid.shape, dtype=np.uint8)
    region, fraction = IecBody().fraction(grid, supersample=supersample)
    activity[region] = fraction * background_bq_ml
    lung = Cylinder((0.0, 0.0), (_LUNG_RADIUS_MM,) * 2, *_BODY_Z_MM)
    region, fraction = lung.fraction(grid, supersample=supersample)
    activity[region] -= fraction * background_bq_ml
    for sphere in nema_spheres():
        region, fraction = sphere.shape.fraction(grid, supersample=supersample)
        activity[region] += fraction * background_bq_ml * (sphere_to_background - 1.0)
        labels[region][fraction >= 0.5] = sphere.number
    np.maximum(activity, 0.0, out=activity)
    return activity, labels
