"""DICOM Segmentation objects (highdicom): write lesion label maps, read SEGs onto a PET grid.

Writing (:func:`write_seg`): one segment per lesion label, binary, referencing every
source PET instance (frame by frame) so that viewers and :func:`read_seg` place it exactly.
Segment ``n`` carries the tracking identifier ``lesion <label>`` so labels survive the round
trip even when they are not consecutive.

Reading (:func:`read_seg`): frames are mapped to the PET grid

1. through the referenced source instances (``get_pixels_by_source_instance``) when every
   frame of the SEG references an instance of the PET series. A SEG whose references carry
   no SpatialLocationsPreserved (dcmqi, some viewers) is mapped this way only when every
   frame's PlanePositionSequence lies within :data:`POSITION_TOLERANCE_VOXELS` of the
   referenced PET slice (a warning gives the largest difference in mm); else
2. through the plane positions (``get_volume``): the SEG volume's index axes must be the PET
   grid's up to order and sign (a signed permutation) with an integral offset, and its
   voxels are placed at the PET indices they fall on (voxels outside the PET are reported).
   The offset may differ from an integer by :data:`POSITION_TOLERANCE_VOXELS` (DS values
   rounded to a few decimals move positions by up to 0.05 mm: 0.0125 voxel at 4 mm); half
   a voxel is a real misalignment and is refused.

A SEG on another grid (drawn on the CT, say: neither rule applies) is refused unless the
caller asks for a resampling rule (``resample="nearest"|"fraction"``,
:mod:`petdx.image.resample`): each segment is taken on its own grid (fractional ones at
``fraction_threshold``) and the label map is resampled onto the PET, with a warning giving
the rule and each segment's volume before and after.

Fractional segments are read as fractions in [0, 1]; a voxel belongs to a lesion when its
fraction is >= ``fraction_threshold`` (default 0.5). Overlapping segments are refused.

References
----------
DICOM PS3.3 A.51 (Segmentation IOD), C.8.20 (Segmentation Modules).
Herrmann MD, et al. Implementing the DICOM standard for digital pathology / highdicom.
J Digit Imaging 2022;35:1719-1737. doi:10.1007/s10278-022-00683-y
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import highdicom as hd
import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

from petdx import __version__
from petdx.dicom.discovery import read_dicom
from petdx.dicom.series_volume import ImageSeries
from petdx.errors import DicomReadError, GeometryError, Hint, InputValidationError
from petdx.fileio import write_atomically
from petdx.image import Volume
from petdx.image.placement import grid_placement, place_on_grid
from petdx.image.resample import MaskResampling, ResampledLabels, resample_labels_onto

__all__ = ["SegRead", "read_seg", "source_datasets", "write_seg"]

_TYPE2_COPIED = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "StudyID",
    "ReferringPhysicianName",
    "AccessionNumber",
)
_TRACKING = re.compile(r"^lesion (\d+)$")
#: How far (in voxels of the PET grid) a SEG frame's plane position may be from the PET
#: position it maps to: 0.1 voxel covers DS rounding (0.05 mm is 0.0125 voxel at 4 mm, 0.025
#: at 2 mm) and keeps real misalignment (0.5 voxel) refused.
POSITION_TOLERANCE_VOXELS = 0.1


@dataclass(frozen=True)
class SegRead:
    """A SEG read onto a PET grid.

    Attributes
    ----------
    labels
        uint32 label map on the PET grid (label = the ``lesion N`` tracking identifier when
        present, else the segment number).
    fractions
        Per label, the fraction map (float32) for FRACTIONAL SEGs; empty for BINARY.
    segment_labels
        Per label, the SEG's Segment Label text.
    mapping
        ``referenced-instances`` or ``plane-positions``.
    """

    labels: Volume = field(repr=False)
    fractions: dict[int, Volume] = field(repr=False)
    segment_labels: dict[int, str]
    segmentation_type: str
    mapping: str
    warnings: tuple[str, ...] = ()


def source_datasets(series: ImageSeries) -> list[Dataset]:
    """The PET instances' headers (no pixel data), single-frame files in volume (z) order."""
    seen: dict[str, Dataset] = {}
    for frame in series.frames:
        path = frame.instance.path
        if str(path) not in seen:
            ds = read_dicom(path)[0]
            # Derived objects copy these Type 2 patient/study attributes (present, possibly
            # empty); a source that omits them gets them empty here, in memory only.
            for keyword in _TYPE2_COPIED:
                if keyword not in ds:
                    setattr(ds, keyword, None)
            seen[str(path)] = ds
    return list(seen.values())


def write_seg(
    labels: Volume,
    series: ImageSeries,
    path: str | os.PathLike[str],
    *,
    segment_names: Mapping[int, str] | None = None,
    method: str = "petdx",
    series_number: int = 900,
    series_description: str = "petdx lesions",
    sop_instance_uid: str | None = None,
) -> Dataset:
    """Write the label map as a binary DICOM SEG referencing the source PET series.

    Parameters
    ----------
    labels
        Integer label map on the PET series' grid (0 background).
    series
        The PET series the labels were drawn on.
    path
        Output file (written to a temporary name, then renamed).
    segment_names
        Segment Label per label (default ``Lesion <label>``).
    method
        Algorithm name recorded in the segment descriptions (e.g. ``percent:41``).
    sop_instance_uid
        The SEG's SOP Instance UID (default: a new one), for a caller that records it first.

    Raises
    ------
    InputValidationError
        The label map is empty, or is not on the series' grid.
    """
    if labels.shape != series.volume.shape or not np.allclose(
        labels.affine, series.volume.affine, atol=1e-3
    ):
        raise GeometryError(
            f"The label map ({labels.describe_grid()}) is not on the grid of "
            f"{series.entry.label()} ({series.volume.describe_grid()})."
        )
    array = np.asarray(labels.array).astype(np.int64)
    present = [int(v) for v in np.unique(array) if v > 0]
    if not present:
        raise InputValidationError(
            "The label map holds no lesion, so there is nothing to write as a SEG."
        )
    sources = source_datasets(series)
    # Frames in source order: one per file for single-frame series, else the file's frames.
    if len(sources) == len(series.frames):
        order = list(range(len(series.frames)))
    else:
        order = sorted(range(len(series.frames)), key=lambda z: series.frames[z].frame_index or 0)
    relabel = np.zeros(array.max() + 1, dtype=np.uint16)
    relabel[present] = np.arange(1, len(present) + 1)
    pixel_array = relabel[array[order]].astype(np.uint16)
    algorithm = hd.AlgorithmIdentificationSequence(
        name=f"petdx {method}", version=__version__, family=codes.DCM.ArtificialIntelligence
    )
    descriptions = []
    for number, label in enumerate(present, start=1):
        name = (segment_names or {}).get(label, f"Lesion {label}")
        descriptions.append(
            hd.seg.SegmentDescription(
                segment_number=number,
                segment_label=name[:64],
                segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
                segmented_property_type=codes.SCT.Lesion,
                algorithm_type=hd.seg.SegmentAlgorithmTypeValues.SEMIAUTOMATIC,
                algorithm_identification=algorithm,
                tracking_uid=hd.UID(),
                tracking_id=f"lesion {label}",
            )
        )
    seg = hd.seg.Segmentation(
        source_images=sources,
        pixel_array=pixel_array,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=series_number,
        sop_instance_uid=sop_instance_uid or hd.UID(),
        instance_number=1,
        manufacturer="petdx",
        manufacturer_model_name="petdx",
        software_versions=__version__,
        device_serial_number="petdx",
        series_description=series_description,
        omit_empty_frames=True,
    )
    write_atomically(path, lambda tmp: seg.save_as(tmp))
    return seg


def _label_of(seg: hd.seg.Segmentation, number: int) -> tuple[int, str]:
    description = seg.get_segment_description(number)
    match = _TRACKING.match(str(description.get("TrackingID", "")))
    return (int(match.group(1)) if match else number), str(description.SegmentLabel)


def read_seg(
    path: str | os.PathLike[str],
    series: ImageSeries,
    *,
    fraction_threshold: float = 0.5,
    resample: MaskResampling | str | None = None,
) -> SegRead:
    """Read a DICOM SEG onto the grid of a PET series (mapping rules in the module docstring).

    ``resample`` (``"nearest"`` or ``"fraction"``, :mod:`petdx.image.resample`) carries a SEG
    on another grid (drawn on the CT, say) onto the PET; without it such a SEG is refused.

    Raises
    ------
    DicomReadError
        Not a readable SEG.
    GeometryError
        Another frame of reference, a grid that cannot be mapped, or overlapping segments.
    """
    source = Path(path)
    try:
        seg = hd.seg.segread(source)
    except Exception as exc:
        raise DicomReadError(
            f"{source}: not a readable DICOM Segmentation ({type(exc).__name__}: {exc})."
        ) from exc
    pet_for = series.entry.frame_of_reference_uid
    seg_for = str(seg.get("FrameOfReferenceUID", ""))
    if pet_for and seg_for and pet_for != seg_for:
        raise GeometryError(
            f"{source}: frame of reference {seg_for} differs from the PET series' {pet_for} "
            f"({series.entry.label()}). Give the SEG drawn on this PET."
        )
    numbers = [int(n) for n in seg.get_segment_numbers()]
    seg_type = str(seg.SegmentationType)
    notes: list[str] = []
    per_segment, mapping, note = _by_instances(seg, series)
    if note:
        notes.append(note)
    if per_segment is None:
        per_segment, lost, resampled = _by_positions(
            seg, series, source, resample, fraction_threshold
        )
        mapping = "plane-positions" if resampled is None else f"resampled-{resampled.rule}"
        if resampled is not None:
            notes.append(resampled.describe())
        if lost:
            notes.append(f"{lost} segmented voxel(s) lie outside the PET volume and were dropped")
    labels = np.zeros(series.volume.shape, dtype=np.uint32)
    fractions: dict[int, Volume] = {}
    names: dict[int, str] = {}
    for channel, number in enumerate(numbers):
        label, name = _label_of(seg, number)
        values = per_segment[..., channel]
        inside = values >= fraction_threshold if seg_type == "FRACTIONAL" else values > 0
        overlap = inside & (labels > 0)
        if overlap.any():
            other = int(labels[overlap][0])
            raise GeometryError(
                f"{source}: segment {number} ('{name}') overlaps label {other} in "
                f"{int(overlap.sum())} voxels; petdx needs one lesion per voxel. Split the SEG."
            )
        labels[inside] = label
        names[label] = name
        if seg_type == "FRACTIONAL":
            fractions[label] = series.volume.with_array(values.astype(np.float32))
    return SegRead(
        labels=series.volume.with_array(labels),
        fractions=fractions,
        segment_labels=names,
        segmentation_type=seg_type,
        mapping=mapping,
        warnings=tuple(f"{source.name}: {n}" for n in notes),
    )


def _frame_reference(item: Dataset) -> tuple[str, str | None]:
    """(referenced SOP instance UID, SpatialLocationsPreserved) of a per-frame item."""
    for derivation in item.get("DerivationImageSequence", []):
        for source in derivation.get("SourceImageSequence", []):
            preserved = source.get("SpatialLocationsPreserved")
            return str(source.ReferencedSOPInstanceUID), (str(preserved) if preserved else None)
    return "", None


def _unpreserved_offset_mm(seg: hd.seg.Segmentation, series: ImageSeries) -> float | None:
    """Largest distance (mm) between a SEG frame's plane position and its referenced PET
    slice when no reference states SpatialLocationsPreserved; None when any does, or a frame
    lacks a reference or a position."""
    positions = {f.instance.sop_instance_uid: f.position_mm for f in series.frames}
    worst = 0.0
    for item in seg.get("PerFrameFunctionalGroupsSequence", []):
        uid, preserved = _frame_reference(item)
        planes = item.get("PlanePositionSequence", [])
        if preserved is not None or uid not in positions or not planes:
            return None
        where = np.array([float(v) for v in planes[0].ImagePositionPatient])
        worst = max(worst, float(np.linalg.norm(where - positions[uid])))
    return worst


def _by_instances(
    seg: hd.seg.Segmentation, series: ImageSeries
) -> tuple[npt.NDArray[np.floating] | None, str, str | None]:
    """Pixels per PET slice through the referenced instances, the mapping, and a note."""
    frames = series.frames
    if any(f.frame_index is not None for f in frames):
        return None, "", None
    uids = [f.instance.sop_instance_uid for f in frames]
    referenced = {str(uid) for _, _, uid in seg.get_source_image_uids()}
    if not referenced or not referenced <= set(uids):
        return None, "", None

    def pixels_of(ignore_spatial_locations: bool) -> npt.NDArray[np.floating]:
        return np.asarray(
            seg.get_pixels_by_source_instance(
                source_sop_instance_uids=uids,
                combine_segments=False,
                ignore_spatial_locations=ignore_spatial_locations,
                rescale_fractional=True,
                dtype=np.float32,
            )
        )

    try:
        return pixels_of(False), "referenced-instances", None
    except (ValueError, KeyError, RuntimeError):
        pass
    offset_mm = _unpreserved_offset_mm(seg, series)
    spacing_mm = min(series.volume.spacing_mm)
    if offset_mm is None or offset_mm > POSITION_TOLERANCE_VOXELS * spacing_mm:
        return None, "", None
    try:
        pixels = pixels_of(True)
    except (ValueError, KeyError, RuntimeError):
        return None, "", None
    note = (
        "its frames reference the PET instances without SpatialLocationsPreserved "
        "(0028,135A); they were mapped by those references because every plane position "
        f"lies within {offset_mm:.3g} mm of its PET slice (tolerance "
        f"{POSITION_TOLERANCE_VOXELS} voxel)"
    )
    return pixels, "referenced-instances", note


def _by_positions(
    seg: hd.seg.Segmentation,
    series: ImageSeries,
    source: Path,
    resample: MaskResampling | str | None,
    fraction_threshold: float,
) -> tuple[npt.NDArray[np.floating], int, ResampledLabels | None]:
    """Pixels per PET voxel and segment through the SEG's plane positions, the number of
    segmented voxels outside the PET, and the resampling when one was asked for and needed."""
    try:
        volume = seg.get_volume(combine_segments=False, rescale_fractional=True, dtype=np.float32)
    except Exception as exc:
        raise GeometryError(
            f"{source}: the SEG's frames do not reference the PET instances and do not form a "
            f"regular volume ({type(exc).__name__}: {exc})."
        ) from exc
    grid = series.volume
    data = np.asarray(volume.array, dtype=np.float32)
    if data.ndim == 3:
        data = data[..., None]
    placement = grid_placement(
        volume.affine, data.shape, grid.affine, tolerance_voxels=POSITION_TOLERANCE_VOXELS
    )
    if placement is not None:
        placed, lost = place_on_grid(data, placement, grid.shape)
        return placed, lost, None
    if resample is None:
        raise GeometryError(
            f"{source}: the SEG's grid does not coincide with the PET grid "
            f"({grid.describe_grid()}): its voxels fall between PET voxels. Resample it "
            "onto the PET (resample: nearest or fraction), or resample the segmentation "
            "onto the PET series first.",
            hint=Hint("resample", tuple(m.value for m in MaskResampling)),
        )
    fractional = str(seg.SegmentationType) == "FRACTIONAL"
    inside = data >= fraction_threshold if fractional else data > 0
    overlap = inside.sum(axis=-1) > 1
    if overlap.any():
        raise GeometryError(
            f"{source}: segments overlap in {int(overlap.sum())} voxels; petdx needs one "
            "lesion per voxel. Split the SEG."
        )
    channels = np.where(inside.any(axis=-1), np.argmax(inside, axis=-1) + 1, 0)
    own_grid = Volume(channels.astype(np.uint32), np.asarray(volume.affine, dtype=np.float64))
    resampled = resample_labels_onto(own_grid, grid, resample)
    per_channel = np.asarray(resampled.labels.array)
    one_hot = np.stack([per_channel == c + 1 for c in range(data.shape[-1])], axis=-1).astype(
        np.float32
    )
    return one_hot, 0, resampled
