"""Assemble an image series into a :class:`~petdx.image.Volume`.

Frames are sorted along the slice normal (the cross product of the row and column direction
cosines of ImageOrientationPatient, dotted with ImagePositionPatient). The series is refused,
with an error naming it, when frames have mixed orientations, matrix sizes or pixel spacings,
when two frames share a position, or when a slice step is more than 10 % off the usual one
(a missing slice, overlapping bed positions). Steps that vary less (vendor rounding, bed
junctions) are read with a :class:`~petdx.errors.GeometryWarning` giving the largest
deviation in mm and %, as ITK's ImageSeriesReader (warning "Non uniform sampling or missing
slices detected", relative threshold 1e-4), dcm2niix (nii_dicom_batch.cpp, "Interslice
distance varies", 0.2 mm) and 3D Slicer (DICOMScalarVolumePlugin, "Images are not equally
spaced", epsilon 0.01 mm) read them. Those tools then place the slices on a uniform grid;
petdx keeps the true positions (:attr:`petdx.image.Volume.slice_positions_mm`), so volumes,
SUVpeak spheres and coordinates follow the scanner's geometry and no value is interpolated.
Each frame's RescaleSlope and RescaleIntercept are
applied to its own stored values, so per-slice scaling (common on GE and Siemens PET) is
handled.

Pixels of uncompressed little-endian files are read straight from the file offset found
while indexing (no second header parse), in parallel threads; other transfer syntaxes and
multi-frame objects go through pydicom's pixel-data plugins. Compressed frames are decoded
by imagecodecs first (:mod:`petdx.dicom.imagecodecs_plugin`: it releases the GIL, so the
threads decode in parallel), then by pydicom's other plugins (GDCM, pylibjpeg-openjpeg,
pylibjpeg-rle, pyjpegls, pydicom's RLE) when imagecodecs cannot. Lossy-compressed pixels
(:mod:`petdx.dicom.compression`) are read with a warning that every result carries.

References
----------
DICOM PS3.3 C.7.6.2 (Image Plane Module), C.7.6.16 (Multi-frame Functional Groups),
C.11.1.1.2 (Modality LUT: output = stored * RescaleSlope + RescaleIntercept).
"""

from __future__ import annotations

import math
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from pydicom.dataelem import RawDataElement
from pydicom.pixels.decoders.base import get_decoder
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from petdx.dicom.compression import PixelEncoding, pixel_encoding
from petdx.dicom.discovery import DicomInstance, SeriesEntry, SeriesKind, read_dicom
from petdx.dicom.frames import Frame, frames_of, is_multiframe
from petdx.dicom.imagecodecs_plugin import PLUGIN_LABEL, register
from petdx.errors import DicomReadError, GeometryError, GeometryWarning, InvalidSeriesError
from petdx.image import Volume

__all__ = ["ImageSeries", "read_series_volume"]

register()

_ORIENTATION_TOLERANCE = 1e-4
_DUPLICATE_TOLERANCE_MM = 1e-3
_SPACING_ABSOLUTE_TOLERANCE_MM = 0.01
#: A step within 0.01 mm of the usual one is silent: 3D Slicer's DICOMScalarVolumePlugin
#: spacing epsilon (0.01 mm), the rounding of positions written to two decimals.
_STEP_WARN_ABSOLUTE_MM = 0.01
#: A step more than 10 % off the usual one is refused: vendor rounding and bed-junction drift
#: stay below 3 % (GE Discovery ST: 3.19 vs 3.27 mm, 2.4 %); a missing slice is 100 %.
#: ITK's ImageSeriesReader (warns above 1e-4 relative), dcm2niix (warns "Interslice distance
#: varies" above 0.2 mm) and Slicer (warns above 0.01 mm) read any step with a warning.
_STEP_ACCEPT_RELATIVE = 0.10


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
    warnings
        What was assumed or changed to read the series (files without File Meta, slice
        steps placed on a uniform grid, lossy-compressed pixels); every result computed
        from it carries them.
    pixel_encoding
        The transfer syntaxes of its files and whether the pixels are lossy compressed.
    """

    entry: SeriesEntry
    volume: Volume
    frames: tuple[Frame, ...] = field(repr=False)
    warnings: tuple[str, ...] = ()
    pixel_encoding: PixelEncoding = field(
        default_factory=lambda: PixelEncoding(("Explicit VR Little Endian",), False, False)
    )

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


def _slice_step(
    frames: list[Frame], normal: npt.NDArray[np.float64], label: str
) -> tuple[np.ndarray, str | None, tuple[float, ...] | None]:
    """Validate the sorted positions; the mean step vector between slices (mm), and, when
    varying steps were accepted, the note on them and each slice's distance (mm) from the
    first along the step."""
    positions = np.array([f.position_mm for f in frames])
    if len(frames) == 1:
        thickness = frames[0].get("SpacingBetweenSlices") or frames[0].get("SliceThickness")
        if not thickness:
            raise GeometryError(
                f"{label}: a single slice without SliceThickness (0018,0050) or "
                "SpacingBetweenSlices (0018,0088), so its depth is unknown. Fix the header."
            )
        return normal * float(thickness), None, None
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
    median_gap = float(np.median(gaps))
    gap_deviation = np.abs(gaps - median_gap)
    irregular = np.flatnonzero(gap_deviation > _STEP_ACCEPT_RELATIVE * median_gap)
    if irregular.size:
        k = int(irregular[0])
        raise GeometryError(
            f"{label}: slice positions are not evenly spaced: the usual step is "
            f"{median_gap:.4g} mm but the gap after {frames[k].where()} at "
            f"{np.round(positions[k], 2).tolist()} mm is {gaps[k]:.4g} mm, more than "
            f"{_STEP_ACCEPT_RELATIVE:.0%} off (a slice may be missing, or bed positions "
            "overlap). Re-export the complete, merged series."
        )
    expected = positions[0] + np.outer(np.arange(len(frames)), step)
    deviation = np.linalg.norm(positions - expected, axis=1)
    off_line = np.linalg.norm(
        (positions - expected) - np.outer((positions - expected) @ normal, normal), axis=1
    )
    worst = int(np.argmax(off_line))
    if off_line[worst] > max(_SPACING_ABSOLUTE_TOLERANCE_MM, 0.01 * step_length):
        raise GeometryError(
            f"{label}: slice positions do not lie on one line: {frames[worst].where()} is "
            f"{off_line[worst]:.3g} mm off it within the slice plane. Re-export the series."
        )
    worst_gap = int(np.argmax(gap_deviation))
    if gap_deviation[worst_gap] > _STEP_WARN_ABSOLUTE_MM + 1e-6:
        along = (positions - positions[0]) @ (step / step_length)
        return (
            step,
            f"{label}: slice steps vary: usual step {median_gap:.4g} mm, largest deviation "
            f"{gap_deviation[worst_gap]:.3g} mm ({gap_deviation[worst_gap] / median_gap:.2%}) "
            f"after {frames[worst_gap].where()}; the true slice positions are kept for "
            f"volumes, SUVpeak spheres and coordinates (exports that need one grid use the "
            f"mean step {step_length:.4g} mm, largest position error "
            f"{float(deviation.max()):.3g} mm).",
            tuple(float(v) for v in along),
        )
    return step, None, None


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


def _decode(instance: DicomInstance) -> npt.NDArray[np.generic]:
    """Stored values through pydicom's plugins: imagecodecs first, then the others."""
    dataset = read_dicom(instance.path, defer_size=None)[0]
    meta = getattr(dataset, "file_meta", None)
    syntax = UID(str(getattr(meta, "TransferSyntaxUID", ImplicitVRLittleEndian)))
    if not syntax.is_compressed:
        return np.asarray(dataset.pixel_array)
    decoder = get_decoder(syntax)
    if PLUGIN_LABEL in decoder.available_plugins:
        try:
            return decoder.as_array(dataset, decoding_plugin=PLUGIN_LABEL)[0]
        except Exception:  # any codec failure: pydicom's other plugins try next
            pass
    return decoder.as_array(dataset)[0]


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
        return _decode(instance)
    except DicomReadError:
        raise
    except Exception as exc:
        meta = getattr(header, "file_meta", None)
        syntax = UID(str(getattr(meta, "TransferSyntaxUID", ImplicitVRLittleEndian)))
        raise DicomReadError(
            f"{instance.path}: pixel data (7FE0,0010) in {syntax.name} ({syntax}) cannot be "
            f"decoded ({type(exc).__name__}: {exc}). The file may be truncated or corrupt "
            "(copy it again from the PACS), or the syntax needs a codec petdx does not "
            "have (docs/dicom.md lists the syntaxes read; ask the PACS to send Explicit VR "
            "Little Endian)."
        ) from exc


def _check_rescale(frames: list[Frame], label: str) -> None:
    """RescaleSlope must be a finite non-zero number and RescaleIntercept finite: else every
    value of the frame (and its SUV) would be NaN, infinite or zero."""
    for frame in frames:
        slope, intercept = frame.rescale_slope, frame.rescale_intercept
        if not math.isfinite(slope) or slope == 0.0:
            raise InvalidSeriesError(
                f"{label}: RescaleSlope (0028,1053) is {slope:g} in {frame.where()}; it must be "
                "a finite number other than 0. Fix the header."
            )
        if not math.isfinite(intercept):
            raise InvalidSeriesError(
                f"{label}: RescaleIntercept (0028,1052) is {intercept:g} in {frame.where()}; it "
                "must be a finite number. Fix the header."
            )


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
    if entry.kind not in (SeriesKind.PT, SeriesKind.CT, SeriesKind.MR, SeriesKind.OTHER):
        raise InvalidSeriesError(f"{label}: not an image series, so it has no volume.")
    frames = [frame for instance in entry.instances for frame in frames_of(instance)]
    if not frames:
        raise InvalidSeriesError(f"{label}: holds no image frames.")
    row_cosine, column_cosine, normal = _check_consistent(frames, label)
    frames.sort(key=lambda f: float(np.dot(f.position_mm, normal)))
    step, step_note, slice_positions_mm = _slice_step(frames, normal, label)
    if step_note is not None:
        warnings.warn(step_note, GeometryWarning, stacklevel=2)

    _check_rescale(frames, label)
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
    encoding = pixel_encoding(instance.header for instance in entry.instances)
    notes = [*entry.warnings, *([step_note] if step_note else [])]
    if encoding.lossy:
        notes.append(
            f"{label}: pixel data are lossy compressed ({encoding.description}): every value "
            "carries the codec's error. Ask the PACS for the original (lossless) images."
        )
    volume = Volume(array, affine, slice_positions_mm)
    return ImageSeries(entry, volume, tuple(frames), tuple(notes), encoding)
