"""Small synthetic DICOM objects for unit tests, built with pydicom only.

The objects carry just what the code under test reads; tests change one attribute at a time
from this known-good baseline so each test shows the rule it exercises.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    PositronEmissionTomographyImageStorage,
    generate_uid,
)

from petdx.dicom import DicomInstance, Frame, frames_of


def _file_meta(sop_class: str, sop_instance: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return meta


def _image_plane(ds: Dataset, z_mm: float, rows: int, cols: int, spacing_mm: float) -> None:
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [-(cols - 1) * spacing_mm / 2, -(rows - 1) * spacing_mm / 2, z_mm]
    ds.PixelSpacing = [spacing_mm, spacing_mm]
    ds.SliceThickness = spacing_mm
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1


def pet_series(
    n_slices: int = 4,
    *,
    rows: int = 8,
    cols: int = 8,
    spacing_mm: float = 4.0,
    stored_value: int = 1000,
    rescale_slope: float = 1.0,
) -> list[Dataset]:
    """A valid BQML/START F-18 PET series: injection 10:00, series and acquisition 11:00,
    370 MBq, 70 kg, 1.75 m, male. Every voxel stores ``stored_value``."""
    study, series, frame_of_reference = generate_uid(), generate_uid(), generate_uid()
    slices = []
    for k in range(n_slices):
        sop = generate_uid()
        ds = Dataset()
        ds.file_meta = _file_meta(PositronEmissionTomographyImageStorage, sop)
        ds.SOPClassUID = PositronEmissionTomographyImageStorage
        ds.SOPInstanceUID = sop
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.FrameOfReferenceUID = frame_of_reference
        ds.Modality = "PT"
        ds.Manufacturer = "petdx-test"
        ds.SeriesDescription = "synthetic PET"
        ds.PatientID, ds.PatientName = "TEST-001", "Test^Synthetic"
        ds.PatientWeight, ds.PatientSize, ds.PatientSex = "70", "1.75", "M"
        ds.SeriesDate = ds.AcquisitionDate = ds.StudyDate = "20250101"
        ds.SeriesTime = ds.AcquisitionTime = "110000"
        ds.InstanceNumber = k + 1
        ds.Units, ds.DecayCorrection = "BQML", "START"
        ds.CorrectedImage = ["NORM", "ATTN", "SCAT", "DECY"]
        ds.FrameReferenceTime = "150000"
        ds.ActualFrameDuration = "300000"
        item = Dataset()
        item.Radiopharmaceutical = "FDG"
        item.RadiopharmaceuticalStartDateTime = "20250101100000"
        item.RadiopharmaceuticalStartTime = "100000"
        item.RadionuclideTotalDose = "370000000"
        item.RadionuclideHalfLife = "6586.2"
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator = "77004003", "SCT"
        code.CodeMeaning = "^18^Fluorine"
        item.RadionuclideCodeSequence = [code]
        ds.RadiopharmaceuticalInformationSequence = [item]
        _image_plane(ds, z_mm=k * spacing_mm, rows=rows, cols=cols, spacing_mm=spacing_mm)
        ds.RescaleSlope, ds.RescaleIntercept = str(rescale_slope), "0"
        ds.PixelData = np.full((rows, cols), stored_value, dtype="<i2").tobytes()
        slices.append(ds)
    return slices


def ct_series(n_slices: int = 4, *, rows: int = 8, cols: int = 8) -> list[Dataset]:
    """A CT series of water (stored 1024, RescaleIntercept -1024: 0 HU)."""
    series, study = generate_uid(), generate_uid()
    slices = []
    for k in range(n_slices):
        sop = generate_uid()
        ds = Dataset()
        ds.file_meta = _file_meta(CTImageStorage, sop)
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, sop
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.Modality = "CT"
        ds.SeriesDescription = "synthetic CT"
        ds.InstanceNumber = k + 1
        _image_plane(ds, z_mm=k * 3.0, rows=rows, cols=cols, spacing_mm=3.0)
        ds.RescaleSlope, ds.RescaleIntercept = "1", "-1024"
        ds.PixelData = np.full((rows, cols), 1024, dtype="<i2").tobytes()
        slices.append(ds)
    return slices


def pet_ct_visit(n_slices: int = 3) -> tuple[list[Dataset], list[Dataset]]:
    """A PET series and its CT (the same study and frame of reference)."""
    pet, ct = pet_series(n_slices), ct_series(n_slices)
    for ds in ct:
        ds.StudyInstanceUID, ds.FrameOfReferenceUID = (
            pet[0].StudyInstanceUID,
            pet[0].FrameOfReferenceUID,
        )
    return pet, ct


def save_series(datasets: Sequence[Dataset], folder: Path, prefix: str = "slice") -> list[Path]:
    """Write each dataset as a DICOM Part 10 file; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, ds in enumerate(datasets):
        path = folder / f"{prefix}_{k:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def frames(datasets: Sequence[Dataset]) -> list[Frame]:
    """Frames of in-memory datasets (no files), for SUV rule tests."""
    return [
        frame
        for k, ds in enumerate(datasets)
        for frame in frames_of(DicomInstance(Path(f"memory/slice_{k}.dcm"), ds))
    ]


def enhanced_pet(
    n_frames: int = 3,
    *,
    rows: int = 6,
    cols: int = 5,
    decay_corrected: bool = True,
    slopes: Sequence[float] | None = None,
) -> Dataset:
    """An Enhanced PET Image object (one file, functional groups) with frames listed in
    reverse z order, per-frame RescaleSlope, Decay Corrected (0018,9758) and Decay
    Correction DateTime (0018,9701) instead of the classic Decay Correction attribute.

    Frame k stores the value ``100 * (k + 1)``; slopes default to ``1 + k``.
    """
    from pydicom.uid import EnhancedPETImageStorage

    slopes = list(slopes) if slopes is not None else [1.0 + k for k in range(n_frames)]
    sop = generate_uid()
    ds = Dataset()
    ds.file_meta = _file_meta(EnhancedPETImageStorage, sop)
    ds.SOPClassUID, ds.SOPInstanceUID = EnhancedPETImageStorage, sop
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality = "PT"
    ds.Manufacturer = "petdx-test"
    ds.SeriesDescription = "synthetic enhanced PET"
    ds.PatientWeight, ds.PatientSize, ds.PatientSex = "70", "1.75", "F"
    ds.SeriesDate, ds.SeriesTime = "20250101", "110000"
    ds.AttenuationCorrected = "YES"
    ds.DecayCorrected = "YES" if decay_corrected else "NO"
    if decay_corrected:
        ds.DecayCorrectionDateTime = "20250101110000"
    item = Dataset()
    item.RadiopharmaceuticalStartDateTime = "20250101100000"
    item.RadionuclideTotalDose = "370000000"
    item.RadionuclideHalfLife = "6586.2"
    ds.RadiopharmaceuticalInformationSequence = [item]
    ds.NumberOfFrames = n_frames
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    shared = Dataset()
    orientation = Dataset()
    orientation.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    measures = Dataset()
    measures.PixelSpacing = [2.0, 3.0]
    measures.SliceThickness = 4.0
    shared.PlaneOrientationSequence = [orientation]
    shared.PixelMeasuresSequence = [measures]
    ds.SharedFunctionalGroupsSequence = [shared]
    per_frame = []
    for k in range(n_frames):
        group = Dataset()
        position = Dataset()
        position.ImagePositionPatient = [10.0, 20.0, 4.0 * (n_frames - 1 - k)]
        content = Dataset()
        content.FrameAcquisitionDateTime = f"20250101{11 + k // 60:02d}{k % 60:02d}00"
        content.FrameAcquisitionDuration = 60000.0
        transform = Dataset()
        transform.RescaleSlope = str(slopes[k])
        transform.RescaleIntercept = "0"
        transform.RescaleType = "BQML"
        group.PlanePositionSequence = [position]
        group.FrameContentSequence = [content]
        group.PixelValueTransformationSequence = [transform]
        per_frame.append(group)
    ds.PerFrameFunctionalGroupsSequence = per_frame
    pixels = np.stack([np.full((rows, cols), 100 * (k + 1), dtype="<u2") for k in range(n_frames)])
    ds.PixelData = pixels.tobytes()
    return ds
