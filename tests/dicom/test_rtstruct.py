"""RTSTRUCT reading and rasterisation: MIRP reference masks and synthetic contours."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, RTStructureSetStorage, generate_uid

from petdx.dicom import (
    SeriesKind,
    index_dicom_folder,
    rasterize_roi,
    rasterize_rois,
    read_rtstruct,
    read_series_volume,
)
from petdx.errors import DicomReadError, GeometryError, InputValidationError
from petdx.image import Volume
from tests.factories import pet_series, save_series
from tests.quantify.phantoms import grid

MIRP_CASES = ["STS_001", "STS_002", "STS_003"]


@pytest.mark.parametrize("case", MIRP_CASES)
def test_mirp_rtstruct_matches_the_mirp_nifti_mask(shared_data: Path, case: str) -> None:
    """MIRP rasterised the same RTSTRUCT into the NIfTI mask (../shared/data/mirp-sts-suv);
    acceptance: petdx's voxel count within 3 % of it (observed: identical masks)."""
    base = shared_data / "mirp-sts-suv" / case / "PET"
    (entry,) = index_dicom_folder(base / "dicom" / "image").of_kind(SeriesKind.PT)
    pet = read_series_volume(entry)
    structure = read_rtstruct(base / "dicom" / "mask" / "RS.dcm")
    assert structure.roi_names == ["GTV_Mass_PET"]
    raster = rasterize_roi(
        structure.roi("GTV_Mass_PET"),
        pet.volume,
        frame_of_reference_uid=entry.frame_of_reference_uid,
        structure_set=structure,
    )
    reference = np.asarray(
        Volume.from_nifti(nib.load(base / "nifti" / "mask" / "mask.nii.gz")).array > 0
    )
    ours = np.asarray(raster.mask.array)
    assert abs(int(ours.sum()) - int(reference.sum())) <= 0.03 * reference.sum()
    assert np.array_equal(ours, reference)


def _rtstruct(
    folder: Path, contours: list[tuple[str, list[list[float]], str]], frame_uid: str
) -> Path:
    """An RTSTRUCT with one ROI per name; contours (name, flat xyz points, type)."""
    ds = Dataset()
    sop = generate_uid()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = RTStructureSetStorage
    ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = RTStructureSetStorage, sop
    ds.Modality = "RTSTRUCT"
    ds.SeriesInstanceUID = generate_uid()
    names = sorted({c[0] for c in contours})
    ref = Dataset()
    ref.FrameOfReferenceUID = frame_uid
    ds.ReferencedFrameOfReferenceSequence = [ref]
    rois, roi_contours = [], []
    for number, name in enumerate(names, start=1):
        item = Dataset()
        item.ROINumber, item.ROIName = number, name
        item.ReferencedFrameOfReferenceUID = frame_uid
        rois.append(item)
        rc = Dataset()
        rc.ReferencedROINumber = number
        sequence = []
        for roi_name, points, kind in contours:
            if roi_name == name:
                c = Dataset()
                c.ContourGeometricType = kind
                c.NumberOfContourPoints = len(points) // 3
                c.ContourData = [f"{v:.4f}" for v in points]
                sequence.append(c)
        rc.ContourSequence = sequence
        roi_contours.append(rc)
    ds.StructureSetROISequence = rois
    ds.ROIContourSequence = roi_contours
    path = folder / "rs.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def _square(x0: float, y0: float, x1: float, y1: float, z: float) -> list[float]:
    return [x0, y0, z, x1, y0, z, x1, y1, z, x0, y1, z]


def _centres_inside(volume: Volume, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Oracle: (j, i) plane of voxel centres strictly inside the axis-aligned square."""
    _, ny, nx = volume.shape
    plane = np.zeros((ny, nx), dtype=bool)
    for j in range(ny):
        for i in range(nx):
            x, y, _ = volume.index_to_patient_mm(np.array([0.0, j, i]))
            plane[j, i] = x0 < x < x1 and y0 < y < y1
    return plane


def test_holes_between_slices_and_clipping(tmp_path: Path) -> None:
    volume = grid((5, 20, 20), spacing_mm=(3.0, 2.0, 2.0))  # x = 2i, y = 2j, z = 3k
    contours = [
        ("GTV", _square(5.1, 5.1, 30.9, 30.9, 6.0), "CLOSED_PLANAR"),  # slice 2
        ("GTV", _square(11.1, 11.1, 20.9, 20.9, 6.0), "CLOSED_PLANAR"),  # hole in slice 2
        ("GTV", _square(13.1, 13.1, 18.9, 18.9, 6.0), "CLOSED_PLANAR"),  # island in the hole
        ("GTV", _square(5.1, 5.1, 14.9, 14.9, 4.4), "CLOSED_PLANAR"),  # between slices 1 and 2
        ("GTV", _square(30.1, 30.1, 60.0, 60.0, 9.0), "CLOSED_PLANAR"),  # slice 3, clipped
        ("GTV", _square(0.0, 0.0, 10.0, 10.0, 99.0), "CLOSED_PLANAR"),  # above the image
        ("GTV", [1.0, 1.0, 3.0], "POINT"),
    ]
    path = _rtstruct(tmp_path, contours, "1.2.3")
    roi = read_rtstruct(path).roi("gtv")  # case-insensitive
    raster = rasterize_roi(roi, volume)
    mask = np.asarray(raster.mask.array)
    outer = _centres_inside(volume, 5.1, 5.1, 30.9, 30.9)
    hole = _centres_inside(volume, 11.1, 11.1, 20.9, 20.9)
    island = _centres_inside(volume, 13.1, 13.1, 18.9, 18.9)
    expected_2 = (outer & ~hole) | island
    between = _centres_inside(volume, 5.1, 5.1, 14.9, 14.9)  # z 4.4 -> slice 1 (k 1.47)
    assert np.array_equal(mask[2], expected_2)
    assert np.array_equal(mask[1], between)
    assert np.array_equal(mask[3], _centres_inside(volume, 30.1, 30.1, 60.0, 60.0))
    assert not mask[[0, 4]].any()
    text = " ".join(raster.warnings)
    assert "between slices" in text
    assert "outside the image's slices dropped" in text
    assert "clipped" in text
    assert "POINT" in text


def test_several_rois_one_label_map_earlier_keeps_the_overlap(tmp_path: Path) -> None:
    volume = grid((5, 20, 20), spacing_mm=(3.0, 2.0, 2.0))  # x = 2i, y = 2j, z = 3k
    contours = [
        ("A", _square(5.1, 5.1, 20.9, 20.9, 6.0), "CLOSED_PLANAR"),
        ("B", _square(15.1, 15.1, 30.9, 30.9, 6.0), "CLOSED_PLANAR"),  # overlaps A
        ("C", _square(25.1, 1.1, 36.9, 8.9, 9.0), "CLOSED_PLANAR"),  # alone, slice 3
        ("C", [1.0, 1.0, 3.0], "POINT"),
    ]
    structure = read_rtstruct(_rtstruct(tmp_path, contours, "1.2.3"))
    a = _centres_inside(volume, 5.1, 5.1, 20.9, 20.9)
    b = _centres_inside(volume, 15.1, 15.1, 30.9, 30.9)
    c = _centres_inside(volume, 25.1, 1.1, 36.9, 8.9)
    assert (a & b).any()  # the case under test
    assert not (c & (a | b)).any()

    merged = rasterize_rois(structure, volume, ["b", "A"], frame_of_reference_uid="1.2.3")
    labels = np.asarray(merged.labels.array)
    assert merged.names == ("B", "A")
    assert labels.dtype == np.uint32
    assert np.array_equal(labels[2], np.where(b, 1, np.where(a, 2, 0)))
    assert not labels[[0, 1, 3, 4]].any()
    assert merged.warnings == (
        "ROI 'A' overlaps an earlier ROI; the overlap stays with the earlier one.",
    )

    every = rasterize_rois(structure, volume)  # the file's order: A, B, C
    labels = np.asarray(every.labels.array)
    assert every.names == ("A", "B", "C")
    assert np.array_equal(labels[2], np.where(a, 1, np.where(b, 2, 0)))
    assert np.array_equal(labels[3], np.where(c, 3, 0))
    assert every.warnings == (
        "ROI 'B' overlaps an earlier ROI; the overlap stays with the earlier one.",
        "rs.dcm: ROI 'C': skipped contours of type POINT",
    )
    with pytest.raises(InputValidationError, match="no single ROI named 'D'"):
        rasterize_rois(structure, volume, ["D"])
    with pytest.raises(GeometryError, match=r"frame of reference 1\.2\.3"):
        rasterize_rois(structure, volume, frame_of_reference_uid="9.9")


def test_errors(tmp_path: Path) -> None:
    volume = grid((5, 20, 20), spacing_mm=(3.0, 2.0, 2.0))
    oblique = [5.0, 5.0, 0.0, 20.0, 5.0, 6.0, 20.0, 20.0, 6.0]
    path = _rtstruct(tmp_path, [("Tilted", oblique, "CLOSED_PLANAR")], "1.2.3")
    structure = read_rtstruct(path)
    with pytest.raises(GeometryError, match="slice planes only"):
        rasterize_roi(structure.roi("Tilted"), volume)
    with pytest.raises(InputValidationError, match="ROIs in the file: 'Tilted'"):
        structure.roi("GTV")
    with pytest.raises(GeometryError, match=r"frame of reference 1\.2\.3"):
        rasterize_roi(
            structure.roi("Tilted"), volume, frame_of_reference_uid="9.9", structure_set=structure
        )
    pet_file = save_series(pet_series(1), tmp_path / "pet")[0]
    with pytest.raises(InputValidationError, match="not RT Structure Set Storage"):
        read_rtstruct(pet_file)
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"nothing")
    with pytest.raises(DicomReadError, match="not a readable DICOM"):
        read_rtstruct(junk)
