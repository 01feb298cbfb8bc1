"""Assemble an image series into a :class:`~petdx.image.Volume`.

Frames are sorted along the slice normal (the cross product of the row and column direction
cosines of ImageOrientationPatient, dotted with ImagePositionPatient). The series is refused,
with an error naming it, when frames have mixed orientations, matrix sizes or pixel spacings,
when two frames share a position, or when the positions do not form one regular line (a
missing slice, an irregular stack). Each frame's RescaleSlope and RescaleIntercept are
applied to its own stored values, so per-slice scaling (common on GE and Siemens PET) is
handled.

Pixels of uncompressed little-endian files are read straight from the file offset found
while indexing (no second header parse), in parallel threads; other transfer syntaxes and
multi-frame objects go through pydicom's pixel handlers.

References
----------
DICOM PS3.3 C.7.6.2 (Image Plane Module), C.7.6.16 (Multi-frame Functional Groups),
C.11.1.1.2 (Modality LUT: output = stored * RescaleSlope + RescaleIntercept).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from petdx.dicom.discovery import DicomInstance, SeriesEntry, SeriesKind
from petdx.dicom.frames import Frame, frames_of, is_multiframe
from petdx.errors import DicomReadError, GeometryError, InvalidSeriesError
from petdx.image import Volume

__all__ = ["ImageSeries", "read_series_volume"]

_ORIENTATION_TOLERANCE = 1e-4
_DUPLICATE_TOLERANCE_MM = 1e-3
#: Relative tolerance on the slice step; 1 % catches a missing slice and a shifted one.
_SPACING_RELATIVE_TOLERANCE = 0.01
_SPACING_ABSOLUTE_TOLERANCE_MM = 0.01


@dataclass(frozen=True)
class ImageSeries:
    """An image series read into a volume.

    Attributes
    ----------
    entry
        The indexed series (files and headers).
    volume
        Rescaled values (stored * RescaleSlope + RescaleIntercept) as float32 in (z, y, x);
        the unit is the series' own (Bq/ml for PET Units BQML, HU for CT).
    frames
        One :class:`Frame` per z index, in volume order (for per-slice header values).
    """

    entry: SeriesEntry
    volume: Volume
    frames: tuple[Frame, ...] = field(repr=False)

    @property
    def series_instance_uid(self) -> str:
        return self.entry.series_instance_uid

    @property
    def rescale_slopes(self) -> npt.NDArray[np.float64]:
        return np.array([f.rescale_slope for f in self.frames])

    @property
    def rescale_intercepts(self) -> npt.NDArray[np.float64]:
        return np.array([f.rescale_intercept for f in self.frames])


def _check_consistent(frames: list[Frame], label: str) -> tuple[npt.NDArray[np.float64], ...]:
    """Refuse mixed orientations, matrices or spacings; return (row, column, normal) cosines."""
    first = frames[0]
    orientations = np.array([f.orientation for f in frames])
    bad = np.flatnonzero(
        np.any(np.abs(orientations - first.orientation) > _ORIENTATION_TOLERANCE, 1)
    )
    if bad.size:
        other = frames[int(bad[0])]
        raise GeometryError(
            f"{label}: mixed ImageOrientationPatient (0020,0037): "
            f"{np.round(first.orientation, 5).tolist()} in {first.where()} but "
            f"{np.round(other.orientation, 5).tolist()} in {other.where()}. "
            "petdx reads one stack of parallel planes per series; split the series."
        )
    for frame in frames[1:]:
        if frame.matrix != first.matrix:
            raise GeometryError(
                f"{label}: mixed matrix sizes (Rows x Columns): {first.matrix} in "
                f"{first.where()} but {frame.matrix} in {frame.where()}. "
                "Split or re-export the series."
            )
    spacings = np.array([f.pixel_spacing_mm for f in frames])
    bad = np.flatnonzero(np.any(np.abs(spacings / spacings[0] - 1.0) > 1e-4, axis=1))
    if bad.size:
        other = frames[int(bad[0])]
        raise GeometryError(
            f"{label}: mixed PixelSpacing (0028,0030): {first.pixel_spacing_mm} mm in "
            f"{first.where()} but {other.pixel_spacing_mm} mm in {other.where()}."
        )
    row_cosine, column_cosine = first.orientation[:3], first.orientation[3:]
    normal = np.cross(row_cosine, column_cosine)
    return row_cosine, column_cosine, normal


def _slice_step(frames: list[Frame], normal: npt.NDArray[np.float64], label: str) -> np.ndarray:
    """Validate the sorted positions and return the step vector between slices (mm)."""
    positions = np.array([f.position_mm for f in frames])
    if len(frames) == 1:
        thickness = frames[0].get("SpacingBetweenSlices") or frames[0].get("SliceThickness")
        if not thickness:
            raise GeometryError(
                f"{label}: a single slice without SliceThickness (0018,0050) or "
                "SpacingBetweenSlices (0018,0088), so its depth is unknown. Fix the header."
            )
        return normal * float(thickness)
    distances = positions @ normal
    gaps = np.diff(distances)
    duplicate = np.flatnonzero(np.abs(gaps) < _DUPLICATE_TOLERANCE_MM)
    if duplicate.size:
        k = int(duplicate[0])
        raise GeometryError(
            f"{label}: two frames at the same position {np.round(positions[k], 3).tolist()} "
            f"mm: {frames[k].where()} and {frames[k + 1].where()}. A series must hold one "
            "frame per position (dynamic or gated series: split them by time frame first)."
        )
    step = (positions[-1] - positions[0]) / (len(frames) - 1)
    step_length = float(np.linalg.norm(step))
    expected = positions[0] + np.outer(np.arange(len(frames)), step)
    deviation = np.linalg.norm(positions - expected, axis=1)
    tolerance = max(_SPACING_ABSOLUTE_TOLERANCE_MM, _SPACING_RELATIVE_TOLERANCE * step_length)
    worst = int(np.argmax(deviation))
    if deviation[worst] > tolerance:
        median_gap = float(np.median(gaps))
        irregular = np.flatnonzero(np.abs(gaps - median_gap) > tolerance)
        k = int(irregular[0]) if irregular.size else worst
        raise GeometryError(
            f"{label}: slice positions are not evenly spaced: the usual step is "
            f"{median_gap:.4g} mm but the gap after {frames[k].where()} is "
            f"{gaps[min(k, len(gaps) - 1)]:.4g} mm (a slice may be missing). "
            "Re-export the complete series."
        )
    return step


def _fast_path_offset(instance: DicomInstance) -> tuple[int, np.dtype] | None:
    """File offset and dtype of raw little-endian pixel data, or None to use pydicom."""
    header = instance.header
    meta = getattr(header, "file_meta", None)
    syntax = getattr(meta, "TransferSyntaxUID", None)
    if syntax not in (ExplicitVRLittleEndian, ImplicitVRLittleEndian):
        return None
    raw = header.get_item(0x7FE00010, keep_deferred=True) if "PixelData" in header else None
    if not isinstance(raw, RawDataElement) or raw.value is not None:
        return None
    if int(header.get("SamplesPerPixel", 1)) != 1 or is_multiframe(header):
        return None
    bits_allocated = int(header.BitsAllocated)
    bits_stored = int(header.get("BitsStored", bits_allocated))
    signed = int(header.get("PixelRepresentation", 0)) == 1
    if bits_allocated not in (8, 16, 32) or (signed and bits_stored != bits_allocated):
        return None
    kind = "i" if signed else "u"
    dtype = np.dtype(f"<{kind}{bits_allocated // 8}")
    rows, columns = int(header.Rows), int(header.Columns)
    if raw.length != rows * columns * dtype.itemsize:
        return None
    return raw.value_tell, dtype


def _read_instance_pixels(instance: DicomInstance) -> npt.NDArray[np.generic]:
    """Stored pixel values of a file: (rows, cols) or (frames, rows, cols)."""
    fast = _fast_path_offset(instance)
    header = instance.header
    try:
        if fast is not None:
            offset, dtype = fast
            rows, columns = int(header.Rows), int(header.Columns)
            data = np.fromfile(instance.path, dtype=dtype, count=rows * columns, offset=offset)
            if data.size != rows * columns:
                raise DicomReadError(
                    f"{instance.path}: pixel data is truncated ({data.size} of "
                    f"{rows * columns} values). Copy the file again from the source."
                )
            return data.reshape(rows, columns)
        dataset = pydicom.dcmread(instance.path)
        return np.asarray(dataset.pixel_array)
    except DicomReadError:
        raise
    except Exception as exc:
        raise DicomReadError(
            f"{instance.path}: pixel data cannot be decoded ({type(exc).__name__}: {exc}). "
            "The file may be truncated, or compressed with a codec that is not installed."
        ) from exc


def read_series_volume(entry: SeriesEntry, *, workers: int | None = None) -> ImageSeries:
    """Read an image series (PT or CT, single-frame or multi-frame) into a volume.

    Parameters
    ----------
    entry
        A series from :func:`~petdx.dicom.index_dicom_folder`.
    workers
        Threads reading pixel data and rescaling (default: twice the CPU count, at most 4);
        file reads and numpy arithmetic release the GIL, so threads do run in parallel.

    Returns
    -------
    ImageSeries
        The float32 volume of rescaled values and the frames in volume order.

    Raises
    ------
    InvalidSeriesError
        The series is not an image series.
    GeometryError
        Mixed orientations, matrix sizes or spacings; duplicate or irregular positions.
    MissingAttributeError
        A geometry attribute is missing.
    DicomReadError
        Pixel data cannot be read.
    """
    label = entry.label()
    if entry.kind not in (SeriesKind.PT, SeriesKind.CT, SeriesKind.OTHER):
        raise InvalidSeriesError(f"{label}: not an image series, so it has no volume.")
    frames = [frame for instance in entry.instances for frame in frames_of(instance)]
    if not frames:
        raise InvalidSeriesError(f"{label}: holds no image frames.")
    row_cosine, column_cosine, normal = _check_consistent(frames, label)
    frames.sort(key=lambda f: float(np.dot(f.position_mm, normal)))
    step = _slice_step(frames, normal, label)

    rows, columns = frames[0].matrix
    array = np.empty((len(frames), rows, columns), dtype=np.float32)
    slots: dict[DicomInstance, list[tuple[int, Frame]]] = {}
    for z, frame in enumerate(frames):
        slots.setdefault(frame.instance, []).append((z, frame))

    def fill(instance: DicomInstance) -> None:
        stored = _read_instance_pixels(instance)
        for z, frame in slots[instance]:
            plane = stored if stored.ndim == 2 else stored[frame.frame_index or 0]
            np.multiply(plane, np.float32(frame.rescale_slope), out=array[z], dtype=np.float32)
            if frame.rescale_intercept != 0.0:
                array[z] += np.float32(frame.rescale_intercept)

    n_workers = workers or min(4, (os.cpu_count() or 1) * 2)
    with ThreadPoolExecutor(max_workers=n_workers) as pool:
        list(pool.map(fill, slots))

    spacing_rows, spacing_columns = frames[0].pixel_spacing_mm
    affine = np.eye(4)
    affine[:3, 0] = step
    affine[:3, 1] = column_cosine * spacing_rows
    affine[:3, 2] = row_cosine * spacing_columns
    affine[:3, 3] = frames[0].position_mm
    return ImageSeries(entry=entry, volume=Volume(array, affine), frames=tuple(frames))
