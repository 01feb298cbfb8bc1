"""RT Structure Set: read the ROIs and rasterise their closed planar contours onto a grid.

Rasterisation rule (:func:`rasterize_roi`):

1. Each ``CLOSED_PLANAR`` contour is mapped to fractional voxel indices ``(k, j, i)`` of the
   grid. Its points must share one slice plane of the grid (spread in ``k`` <= 0.05 slices);
   a contour oblique to the slices is refused.
2. The contour is assigned to the nearest slice ``round(k)``. A contour lying between two
   slices (more than 0.05 slices from the nearest) is still assigned to the nearest one and
   reported; a contour whose nearest slice is outside the image is dropped and reported.
3. A voxel is inside a contour when its **centre** is inside the polygon (matplotlib
   ``Path.contains_points``; centres exactly on an edge may fall either way).
4. Contours of one plane are combined by the **even-odd rule**: a voxel inside an odd number
   of them is in the ROI, so an inner contour cuts a hole and a contour inside a hole is an
   island again. Contours of different planes landing on the same slice are combined by
   union.
5. Parts of a contour outside the image are clipped (reported).
6. Reported, not changed: two contours of one plane that overlap without one enclosing the
   other (their overlap is a hole by rule 4), and PET slices between the first and last
   contoured slice that no contour reaches (contours drawn on sparser CT slices; they stay
   empty: petdx does not interpolate between contours).

``POINT`` and ``OPEN_PLANAR`` / ``OPEN_NONPLANAR`` contours enclose no area and are skipped
(reported).

References
----------
DICOM PS3.3 C.8.8.6 (ROI Contour Module), C.8.8.5 (Structure Set Module).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
from matplotlib.path import Path as PolygonPath
from pydicom.uid import RTStructureSetStorage

from petdx.dicom.discovery import read_dicom
from petdx.errors import DicomReadError, GeometryError, Hint, InputValidationError
from petdx.image import Volume

__all__ = [
    "RasterizedRoi",
    "RoiContours",
    "RoiLabels",
    "RtStruct",
    "rasterize_roi",
    "rasterize_rois",
    "read_rtstruct",
]

_PLANAR_TOLERANCE_SLICES = 0.05


@dataclass(frozen=True)
class RoiContours:
    """One ROI of a structure set: its number, name and contours (points in LPS mm)."""

    number: int
    name: str
    contours: tuple[npt.NDArray[np.float64], ...] = field(repr=False)
    geometric_types: tuple[str, ...] = field(repr=False)


@dataclass(frozen=True)
class RtStruct:
    """A read RTSTRUCT file."""

    path: Path
    frame_of_reference_uid: str
    rois: tuple[RoiContours, ...]

    @property
    def roi_names(self) -> list[str]:
        return [roi.name for roi in self.rois]

    def roi(self, name: str) -> RoiContours:
        """The ROI named ``name`` (exact match, else the only case-insensitive match)."""
        exact = [r for r in self.rois if r.name == name]
        if len(exact) == 1:
            return exact[0]
        folded = [r for r in self.rois if r.name.casefold() == name.casefold()]
        if len(folded) == 1:
            return folded[0]
        found = ", ".join(f"'{n}'" for n in self.roi_names) or "none"
        raise InputValidationError(
            f"{self.path}: no single ROI named '{name}' (ROIs in the file: {found}). "
            "Give one of these names.",
            hint=Hint("roi", tuple(self.roi_names)),
        )


@dataclass(frozen=True)
class RasterizedRoi:
    """A rasterised ROI and what was noticed on the way."""

    name: str
    mask: Volume = field(repr=False)
    warnings: tuple[str, ...] = ()


def read_rtstruct(path: str | os.PathLike[str]) -> RtStruct:
    """Read an RT Structure Set file.

    Raises
    ------
    DicomReadError
        The file is not readable DICOM.
    InvalidSeriesError
        The file is not an RT Structure Set.
    """
    source = Path(path)
    try:
        ds = read_dicom(source, defer_size=None)[0]
    except Exception as exc:
        raise DicomReadError(
            f"{source}: not a readable DICOM file ({type(exc).__name__}: {exc})."
        ) from exc
    if str(ds.get("SOPClassUID", "")) != RTStructureSetStorage:
        raise InputValidationError(
            f"{source}: SOPClassUID {ds.get('SOPClassUID', '(missing)')} is not RT Structure "
            f"Set Storage ({RTStructureSetStorage}). Give an RTSTRUCT file.",
            hint=Hint("rtstruct"),
        )
    names = {
        int(item.ROINumber): str(item.get("ROIName", ""))
        for item in ds.get("StructureSetROISequence", [])
    }
    frame_uids = {
        str(item.get("ReferencedFrameOfReferenceUID", ""))
        for item in ds.get("StructureSetROISequence", [])
    } | {
        str(item.get("FrameOfReferenceUID", ""))
        for item in ds.get("ReferencedFrameOfReferenceSequence", [])
    }
    frame_uids.discard("")
    rois = []
    for item in ds.get("ROIContourSequence", []):
        number = int(item.ReferencedROINumber)
        contours, kinds = [], []
        for contour in item.get("ContourSequence", []):
            data = np.asarray([float(v) for v in contour.ContourData], dtype=np.float64)
            if data.size % 3:
                raise DicomReadError(
                    f"{source}: ROI {number} has ContourData with {data.size} values, not a "
                    "multiple of 3 (x, y, z triplets). The file is corrupt."
                )
            contours.append(data.reshape(-1, 3))
            kinds.append(str(contour.get("ContourGeometricType", "CLOSED_PLANAR")))
        rois.append(
            RoiContours(number, names.get(number, f"ROI {number}"), tuple(contours), tuple(kinds))
        )
    return RtStruct(source, ",".join(sorted(frame_uids)), tuple(rois))


def rasterize_roi(
    roi: RoiContours,
    grid: Volume,
    *,
    frame_of_reference_uid: str | None = None,
    structure_set: RtStruct | None = None,
) -> RasterizedRoi:
    """Rasterise one ROI onto ``grid`` (rule in the module docstring).

    Parameters
    ----------
    roi
        From :meth:`RtStruct.roi`.
    grid
        The PET volume (any values; only its geometry is used).
    frame_of_reference_uid, structure_set
        When both are given, the structure set must reference this frame of reference.

    Raises
    ------
    GeometryError
        A contour is not parallel to the grid's slices, or the frames of reference differ.
    """
    if structure_set is not None and frame_of_reference_uid:
        refs = set(structure_set.frame_of_reference_uid.split(","))
        if refs and refs != {""} and frame_of_reference_uid not in refs:
            raise GeometryError(
                f"{structure_set.path}: the structure set references frame of reference "
                f"{structure_set.frame_of_reference_uid}, the PET series uses "
                f"{frame_of_reference_uid}. Give the RTSTRUCT drawn on this PET (or its CT)."
            )
    nz, ny, nx = grid.shape
    planes: dict[tuple[int, float], list[npt.NDArray[np.float64]]] = defaultdict(list)
    notes: list[str] = []
    skipped_kinds: set[str] = set()
    between = outside = clipped = 0
    for points, kind in zip(roi.contours, roi.geometric_types, strict=True):
        if kind != "CLOSED_PLANAR" or len(points) < 3:
            skipped_kinds.add(kind if kind != "CLOSED_PLANAR" else "degenerate (< 3 points)")
            continue
        index = grid.patient_mm_to_index(points)
        k_values = index[:, 0]
        if float(k_values.max() - k_values.min()) > _PLANAR_TOLERANCE_SLICES:
            raise GeometryError(
                f"ROI '{roi.name}': a contour spans slice indices {k_values.min():.2f} to "
                f"{k_values.max():.2f} of the PET grid ({grid.describe_grid()}); petdx "
                "rasterises contours drawn in the image's slice planes only."
            )
        k_mean = float(k_values.mean())
        k = int(np.floor(k_mean + 0.5))
        if not 0 <= k < nz:
            outside += 1
            continue
        if abs(k_mean - k) > _PLANAR_TOLERANCE_SLICES:
            between += 1
        ji = index[:, 1:]
        if ji.min() < -0.5 or ji[:, 0].max() > ny - 0.5 or ji[:, 1].max() > nx - 0.5:
            clipped += 1
        planes[(k, round(float(points[:, 2].mean()), 2))].append(ji)
    mask = np.zeros(grid.shape, dtype=bool)
    crossing = 0
    for (k, _), polygons in planes.items():
        plane = np.zeros((ny, nx), dtype=bool)
        filled = [_polygon_mask(ji, ny, nx) for ji in polygons]
        for n, one in enumerate(filled):
            crossing += sum(_overlap_partially(one, other) for other in filled[:n])
            plane ^= one
        mask[k] |= plane
    contoured = sorted({k for k, _ in planes})
    empty_slices = (contoured[-1] - contoured[0] + 1 - len(contoured)) if contoured else 0
    if skipped_kinds:
        notes.append(f"skipped contours of type {', '.join(sorted(skipped_kinds))}")
    if between:
        notes.append(f"{between} contour(s) between slices assigned to the nearest slice")
    if outside:
        notes.append(f"{outside} contour(s) outside the image's slices dropped")
    if clipped:
        notes.append(f"{clipped} contour(s) extend beyond the image and were clipped")
    if crossing:
        notes.append(
            f"{crossing} pair(s) of contours on one plane overlap without one enclosing the "
            "other; by the even-odd rule their overlap is outside the ROI (draw one contour "
            "per region, or holes inside their outer contour)"
        )
    if empty_slices:
        notes.append(
            f"{empty_slices} PET slice(s) between the first and last contoured slice have no "
            "contour (the contours are sparser than the PET slices, or the drawing has a "
            "gap); they are left empty"
        )
    if not mask.any():
        notes.append("the ROI covers no voxel centre of the PET grid")
    return RasterizedRoi(
        roi.name, grid.with_array(mask), tuple(f"ROI '{roi.name}': {n}" for n in notes)
    )


@dataclass(frozen=True)
class RoiLabels:
    """Several ROIs of one structure set merged into one label map.

    ``labels`` holds ``n`` (1-based) where ROI ``names[n - 1]`` is, 0 elsewhere; ``warnings``
    are the notes of every ROI (prefixed with the file name) and of their overlaps, in order.
    """

    labels: Volume = field(repr=False)
    names: tuple[str, ...]
    warnings: tuple[str, ...] = ()


def rasterize_rois(
    structure: RtStruct,
    grid: Volume,
    names: Sequence[str] | None = None,
    *,
    frame_of_reference_uid: str | None = None,
) -> RoiLabels:
    """Rasterise several ROIs (:func:`rasterize_roi`) into one label map on ``grid``.

    Overlap rule: a voxel inside two ROIs keeps the label of the **earlier** one (in the
    order of ``names``, else of the file); each ROI that overlaps an earlier one is noted.

    Parameters
    ----------
    structure
        From :func:`read_rtstruct`.
    grid
        The PET volume (only its geometry is used).
    names
        ROI names (:meth:`RtStruct.roi` matching); None or empty: every ROI of the file.
    frame_of_reference_uid
        The PET series' frame of reference; the structure set must reference it.

    Raises
    ------
    InputValidationError
        A name matches no single ROI.
    GeometryError
        As :func:`rasterize_roi`.
    """
    chosen = [structure.roi(name) for name in names] if names else list(structure.rois)
    labels = np.zeros(grid.shape, dtype=np.uint32)
    notes: list[str] = []
    for n, roi in enumerate(chosen, start=1):
        raster = rasterize_roi(
            roi, grid, frame_of_reference_uid=frame_of_reference_uid, structure_set=structure
        )
        notes.extend(f"{structure.path.name}: {note}" for note in raster.warnings)
        inside = np.asarray(raster.mask.array, dtype=bool)
        if (inside & (labels > 0)).any():
            notes.append(
                f"ROI '{roi.name}' overlaps an earlier ROI; the overlap stays with the earlier one."
            )
        labels[inside & (labels == 0)] = n
    return RoiLabels(grid.with_array(labels), tuple(r.name for r in chosen), tuple(notes))


def _overlap_partially(a: npt.NDArray[np.bool_], b: npt.NDArray[np.bool_]) -> bool:
    """True when two filled contours share voxels but neither holds the other."""
    both = a & b
    return bool(both.any()) and not np.array_equal(both, a) and not np.array_equal(both, b)


def _polygon_mask(ji: npt.NDArray[np.float64], ny: int, nx: int) -> npt.NDArray[np.bool_]:
    """Voxel centres (j, i) of an ny x nx plane inside the polygon with vertices ``ji``."""
    out = np.zeros((ny, nx), dtype=bool)
    low = np.maximum(np.floor(ji.min(axis=0)).astype(int), 0)
    high = np.minimum(np.ceil(ji.max(axis=0)).astype(int) + 1, (ny, nx))
    if np.any(high <= low):
        return out
    jj, ii = np.mgrid[low[0] : high[0], low[1] : high[1]]
    centres = np.column_stack([jj.ravel(), ii.ravel()]).astype(np.float64)
    inside = PolygonPath(ji, closed=False).contains_points(centres)
    out[low[0] : high[0], low[1] : high[1]] = inside.reshape(jj.shape)
    return out
