"""DICOM SEG: petdx writes, reads back identical masks; frames mapped by referenced instances
or by plane positions; fractional SEGs; dciodvfy finds no error."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from petdx.dicom import (
    ImageSeries,
    SeriesKind,
    index_dicom_folder,
    read_seg,
    read_series_volume,
    source_datasets,
    write_seg,
)
from petdx.errors import DicomReadError, GeometryError, InputValidationError
from petdx.image import Volume
from tests.dicom._dciodvfy import dciodvfy_errors
from tests.factories import pet_series, save_series


def _pet(folder: Path, n_slices: int = 6, frame_uid: str | None = None) -> ImageSeries:
    datasets = pet_series(n_slices, rows=10, cols=12)
    if frame_uid:
        for ds in datasets:
            ds.FrameOfReferenceUID = frame_uid
    save_series(datasets, folder)
    (entry,) = index_dicom_folder(folder).of_kind(SeriesKind.PT)
    return read_series_volume(entry)


def _labels(series: ImageSeries) -> np.ndarray:
    labels = np.zeros(series.volume.shape, dtype=np.uint32)
    labels[1:3, 2:6, 3:7] = 2
    labels[4, 7:9, 8:11] = 5
    return labels


def test_round_trip_and_dciodvfy(tmp_path: Path) -> None:
    series = _pet(tmp_path / "pet")
    labels = _labels(series)
    path = tmp_path / "out" / "lesions.seg.dcm"
    write_seg(series.volume.with_array(labels), series, path, method="percent:41")
    read = read_seg(path, series)
    assert read.mapping == "referenced-instances"
    assert np.array_equal(read.labels.array, labels)
    assert read.segment_labels == {2: "Lesion 2", 5: "Lesion 5"}
    assert read.segmentation_type == "BINARY"
    assert dciodvfy_errors(path) == []
    ds = pydicom.dcmread(path)
    assert ds.ReferencedSeriesSequence[0].SeriesInstanceUID == series.series_instance_uid


def test_plane_positions_when_instances_are_not_referenced(tmp_path: Path) -> None:
    """A SEG drawn on another copy of the scan (same frame of reference and geometry, other
    instance UIDs, fewer slices) is placed by its plane positions."""
    frame_uid = generate_uid()
    series = _pet(tmp_path / "pet", n_slices=6, frame_uid=frame_uid)
    copy = _pet(tmp_path / "copy", n_slices=4, frame_uid=frame_uid)  # z = 0..12 mm
    labels = np.zeros(copy.volume.shape, dtype=np.uint32)
    labels[2:4, 3:5, 4:9] = 1
    path = tmp_path / "copy.seg.dcm"
    write_seg(copy.volume.with_array(labels), copy, path)
    read = read_seg(path, series)
    assert read.mapping == "plane-positions"
    expected = np.zeros(series.volume.shape, dtype=np.uint32)
    expected[2:4, 3:5, 4:9] = 1
    assert np.array_equal(read.labels.array, expected)


def test_fractional_seg(tmp_path: Path) -> None:
    series = _pet(tmp_path / "pet")
    fractions = np.zeros(series.volume.shape, dtype=np.float32)
    fractions[2, 3:6, 3:6] = 0.8
    fractions[2, 3, 3] = 0.3
    seg = hd.seg.Segmentation(
        source_images=source_datasets(series),
        pixel_array=fractions,
        segmentation_type=hd.seg.SegmentationTypeValues.FRACTIONAL,
        segment_descriptions=[
            hd.seg.SegmentDescription(
                segment_number=1,
                segment_label="probability",
                segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
                segmented_property_type=codes.SCT.Lesion,
                algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
            )
        ],
        series_instance_uid=hd.UID(),
        series_number=5,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="test",
        manufacturer_model_name="test",
        software_versions="1",
        device_serial_number="1",
    )
    path = tmp_path / "fractional.dcm"
    seg.save_as(path)
    read = read_seg(path, series)
    assert read.segmentation_type == "FRACTIONAL"
    expected = fractions >= 0.5
    assert np.array_equal(np.asarray(read.labels.array) > 0, expected)
    # 8-bit storage: fractions come back within 1/255.
    np.testing.assert_allclose(read.fractions[1].array, fractions, atol=1 / 255)


def test_errors(tmp_path: Path) -> None:
    series = _pet(tmp_path / "pet")
    path = tmp_path / "seg.dcm"
    write_seg(series.volume.with_array(_labels(series)), series, path)
    other = _pet(tmp_path / "other")  # another frame of reference
    with pytest.raises(GeometryError, match="frame of reference"):
        read_seg(path, other)
    with pytest.raises(InputValidationError, match="no lesion"):
        write_seg(series.volume.with_array(np.zeros(series.volume.shape, np.uint8)), series, path)
    with pytest.raises(GeometryError, match="not on the grid"):
        write_seg(Volume(np.ones((2, 2, 2), np.uint8), series.volume.affine), series, path)
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"no")
    with pytest.raises(DicomReadError, match="not a readable DICOM Segmentation"):
        read_seg(junk, series)


def test_enhanced_multiframe_source(tmp_path: Path) -> None:
    """An Enhanced PET source (one file, frames in reverse z order): the SEG's frames follow
    the source frames and come back on the volume's z order (by plane positions)."""
    from tests.factories import enhanced_pet

    ds = enhanced_pet(4, rows=6, cols=5)
    ds.FrameOfReferenceUID = generate_uid()
    (tmp_path / "enh").mkdir()
    ds.save_as(tmp_path / "enh" / "e.dcm", enforce_file_format=True)
    (entry,) = index_dicom_folder(tmp_path / "enh").of_kind(SeriesKind.PT)
    series = read_series_volume(entry)
    labels = np.zeros(series.volume.shape, np.uint8)
    labels[0, 1:3, 1:3] = 1
    labels[3, 2:4, 2:4] = 2
    write_seg(series.volume.with_array(labels), series, tmp_path / "seg.dcm")
    read = read_seg(tmp_path / "seg.dcm", series)
    assert np.array_equal(read.labels.array, labels)
