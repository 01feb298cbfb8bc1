"""Image grids and analytic shapes rendered on them (with partial-volume fractions).

A :class:`Grid` is an axial image grid in DICOM patient coordinates (LPS, mm): row direction
+x (patient left), column direction +y (posterior), slices stacked along +z (superior), so
array index ``[k, j, i]`` is at ``origin + (i*dx, j*dy, k*dz)``. Its affine follows the
convention of :class:`petdx.image.Volume`.

Shapes are ellipsoids (a sphere is one) and elliptic cylinders along z. ``fraction`` renders
the fraction of each voxel inside a shape by supersampling the voxel (``s`` points per axis,
``s**3`` per voxel); ``s = 1`` tests the voxel centre only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from petdx.image import Volume

__all__ = ["Cylinder", "Ellipsoid", "Grid", "Shape"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Grid:
    """An axial grid.

    Attributes
    ----------
    shape
        ``(nz, ny, nx)`` voxels.
    spacing_mm
        ``(dz, dy, dx)`` in mm.
    origin_mm
        LPS position ``(x, y, z)`` of the centre of voxel ``[0, 0, 0]`` (mm).
    """

    shape: tuple[int, int, int]
    spacing_mm: tuple[float, float, float]
    origin_mm: tuple[float, float, float]

    @classmethod
    def centred(
        cls,
        shape: tuple[int, int, int],
        spacing_mm: tuple[float, float, float],
        *,
        z_first_mm: float,
        centre_xy_mm: tuple[float, float] = (0.0, 0.0),
    ) -> Grid:
        """A grid centred in x and y on ``centre_xy_mm`` whose first slice is at ``z_first_mm``."""
        _, ny, nx = shape
        _, dy, dx = spacing_mm
        x0 = centre_xy_mm[0] - (nx - 1) * dx / 2.0
        y0 = centre_xy_mm[1] - (ny - 1) * dy / 2.0
        return cls(shape, spacing_mm, (x0, y0, z_first_mm))

    @property
    def affine(self) -> FloatArray:
        """4x4 affine from ``(k, j, i, 1)`` to LPS mm."""
        dz, dy, dx = self.spacing_mm
        affine = np.zeros((4, 4))
        affine[2, 0], affine[1, 1], affine[0, 2] = dz, dy, dx
        affine[:3, 3] = self.origin_mm
        affine[3, 3] = 1.0
        return affine

    def volume(self, array: npt.NDArray[np.generic]) -> Volume:
        """A :class:`~petdx.image.Volume` of ``array`` on this grid."""
        return Volume(array, self.affine)

    def axis_mm(self, axis: int) -> FloatArray:
        """Voxel-centre coordinates along array axis 0 (z), 1 (y) or 2 (x), in mm."""
        origin = (self.origin_mm[2], self.origin_mm[1], self.origin_mm[0])[axis]
        steps = np.arange(self.shape[axis], dtype=np.float64)
        coordinates: FloatArray = origin + steps * float(self.spacing_mm[axis])
        return coordinates

    def index_range(self, axis: int, low_mm: float, high_mm: float) -> slice:
        """Slice of voxel indices along ``axis`` whose centres may lie within
        ``[low_mm, high_mm]`` (one voxel of margin), clipped to the grid."""
        origin = (self.origin_mm[2], self.origin_mm[1], self.origin_mm[0])[axis]
        step = self.spacing_mm[axis]
        start = max(0, math.floor((low_mm - origin) / step) - 1)
        stop = min(self.shape[axis], math.ceil((high_mm - origin) / step) + 2)
        return slice(start, max(start, stop))


class Shape:
    """A solid in patient space: membership test and bounding box."""

    def contains(self, x: FloatArray, y: FloatArray, z: FloatArray) -> npt.NDArray[np.bool_]:
        raise NotImplementedError

    def bounds_mm(self) -> tuple[FloatArray, FloatArray]:
        """``(low, high)`` corners ``(x, y, z)`` of an axis-aligned box holding the shape."""
        raise NotImplementedError

    def fraction(
        self,
        grid: Grid,
        *,
        supersample: int = 1,
        region: tuple[slice, ...] | None = None,
    ) -> tuple[tuple[slice, ...], FloatArray]:
        """Fraction of each voxel inside the shape, over the shape's bounding box (or over
        ``region``, three slices into the grid array, when given).

        Returns
        -------
        (index, fraction)
            ``index`` is a tuple of three slices into the grid array and ``fraction`` the
            float64 array of that sub-grid (0 to 1).
        """
        if region is None:
            low, high = self.bounds_mm()
            region = tuple(
                grid.index_range(axis, float(low[c]), float(high[c]))
                for axis, c in ((0, 2), (1, 1), (2, 0))
            )
        sizes = [r.stop - r.start for r in region]
        if min(sizes) == 0:
            return region, np.zeros(sizes)
        s = max(1, int(supersample))
        offsets = (np.arange(s) + 0.5) / s - 0.5
        centres = [grid.axis_mm(axis)[region[axis]] for axis in range(3)]
        fine = [
            (c[:, None] + offsets[None, :] * grid.spacing_mm[axis]).ravel()
            for axis, c in enumerate(centres)
        ]
        z, y, x = np.meshgrid(fine[0], fine[1], fine[2], indexing="ij", sparse=True)
        inside = self.contains(x, y, z).astype(np.float64)
        if s > 1:
            inside = inside.reshape(sizes[0], s, sizes[1], s, sizes[2], s).mean(axis=(1, 3, 5))
        return region, inside


@dataclass(frozen=True)
class Ellipsoid(Shape):
    """An ellipsoid (axis-aligned, or rotated about z by ``angle_z_rad``).

    Attributes
    ----------
    centre_mm
        Centre ``(x, y, z)`` in LPS mm.
    semi_axes_mm
        Semi-axes along the (rotated) x, y and the z axis, in mm.
    angle_z_rad
        Rotation about the z axis (radians).
    """

    centre_mm: tuple[float, float, float]
    semi_axes_mm: tuple[float, float, float]
    angle_z_rad: float = 0.0

    def contains(self, x: FloatArray, y: FloatArray, z: FloatArray) -> npt.NDArray[np.bool_]:
        cx, cy, cz = self.centre_mm
        a, b, c = self.semi_axes_mm
        dx, dy = x - cx, y - cy
        if self.angle_z_rad:
            cos, sin = math.cos(self.angle_z_rad), math.sin(self.angle_z_rad)
            dx, dy = cos * dx + sin * dy, -sin * dx + cos * dy
        result: npt.NDArray[np.bool_] = (dx / a) ** 2 + (dy / b) ** 2 + ((z - cz) / c) ** 2 <= 1.0
        return result

    def bounds_mm(self) -> tuple[FloatArray, FloatArray]:
        a, b, c = self.semi_axes_mm
        reach = max(a, b) if self.angle_z_rad else None
        half = np.array([reach or a, reach or b, c])
        centre = np.array(self.centre_mm)
        return centre - half, centre + half

    @property
    def volume_ml(self) -> float:
        """Volume in ml: 4/3 pi a b c / 1000."""
        a, b, c = self.semi_axes_mm
        return 4.0 / 3.0 * math.pi * a * b * c / 1000.0

    def scaled(self, factor: float) -> Ellipsoid:
        """The same ellipsoid with every semi-axis multiplied by ``factor``."""
        a, b, c = self.semi_axes_mm
        return Ellipsoid(self.centre_mm, (a * factor, b * factor, c * factor), self.angle_z_rad)


@dataclass(frozen=True)
class Cylinder(Shape):
    """An elliptic cylinder along z between ``z_low_mm`` and ``z_high_mm``."""

    centre_xy_mm: tuple[float, float]
    semi_axes_xy_mm: tuple[float, float]
    z_low_mm: float
    z_high_mm: float

    def contains(self, x: FloatArray, y: FloatArray, z: FloatArray) -> npt.NDArray[np.bool_]:
        cx, cy = self.centre_xy_mm
        a, b = self.semi_axes_xy_mm
        result: npt.NDArray[np.bool_] = (((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 <= 1.0) & (
            (z >= self.z_low_mm) & (z <= self.z_high_mm)
        )
        return result

    def bounds_mm(self) -> tuple[FloatArray, FloatArray]:
        cx, cy = self.centre_xy_mm
        a, b = self.semi_axes_xy_mm
        return (
            np.array([cx - a, cy - b, self.z_low_mm]),
            np.array([cx + a, cy + b, self.z_high_mm]),
        )
