"""Conformance: Enhanced and multi-frame objects (issue 12, build 4).

A real single-frame PET series (MIRP STS_002, GE Discovery ST FDG from TCIA
Soft-tissue-Sarcoma) and a simulated PET/CT are re-written as multi-frame objects by an
independent writer — highdicom's Legacy Converted Enhanced PET / CT converters
(PS3.3 A.70, A.71) — or as an Enhanced PET Image (PS3.3 A.56) built here with pydicom, frames
in reverse order. The expected outcome is the single-frame original's: SUV factor, SUVmax and
lesion volume to 1e-6 relative, the same CT Hounsfield values, and a SEG and SR from
``petdx quantify --out`` that dciodvfy accepts.
"""

from __future__ import annotations

import copy
import json
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import EnhancedPETImageStorage, ExplicitVRLittleEndian, generate_uid
from typer.testing import CliRunner

from petdx.cli import app
from petdx.dicom import SeriesKind, index_dicom_folder, read_header, read_series_volume
from petdx.dicom.deidentified_file import DeidentifiedFileEncoder
from petdx.dicom.deidentify import DeidentificationSettings
from petdx.dicom.discovery import classify
from petdx.errors import GeometryError, MissingAttributeError
from petdx.nuclides import NUCLIDES
from petdx.simulate.dicom_writer import (
    PatientInfo,
    StudyInfo,
    write_ct_series,
    write_mr_series,
    write_pet_series,
)
from petdx.simulate.scanner import ScannerModel
from petdx.simulate.shapes import Grid
from tests.dicom._dciodvfy import dciodvfy_errors
from tests.simulate.helpers import ga68_acquisition

REL = 1e-6


def _sts_series(shared_data: Path, tmp_path: Path) -> Path:
    source = shared_data / "mirp-sts-suv" / "STS_002" / "PET" / "dicom" / "image"
    target = tmp_path / "single"
    shutil.copytree(source, target)
    return target


def _datasets(folder: Path) -> list[Dataset]:
    return [pydicom.dcmread(path) for path in sorted(folder.iterdir())]


def _legacy_converted(datasets: list[Dataset], folder: Path, kind: str) -> Path:
    """Write the highdicom Legacy Converted Enhanced conversion of ``datasets``."""
    converter = {
        "PT": hd.legacy.LegacyConvertedEnhancedPETImage,
        "CT": hd.legacy.LegacyConvertedEnhancedCTImage,
    }[kind]
    converted = converter(
        legacy_datasets=datasets,
        series_instance_uid=generate_uid(),
        series_number=900,
        sop_instance_uid=generate_uid(),
        instance_number=1,
    )
    folder.mkdir(parents=True)
    path = folder / "converted.dcm"
    converted.save_as(path)
    return path


def _suv_cli(folder: Path) -> dict[str, object]:
    run = CliRunner().invoke(app, ["suv", str(folder), "--json"])
    assert run.exit_code == 0, run.stderr
    (series,) = json.loads(run.stdout)
    assert isinstance(series, dict)
    return series


def _assert_same_suv(
    single: dict[str, object], multi: dict[str, object], *, rule: str | None = None
) -> None:
    """Same factor, SUVmax and decay reference; ``rule``: the multi-frame object's reference
    time rule when it differs from the original's (Enhanced PET states Decay Correction
    DateTime where the classic object has SeriesTime)."""
    for key in ("suv_factor", "suv_max"):
        assert multi[key] == pytest.approx(single[key], rel=REL), key
    for key in ("n_slices", "units", "reference_datetime", "nuclide", "injected_activity_bq"):
        assert multi[key] == single[key], key
    assert multi["reference_time_rule"] == (rule or single["reference_time_rule"])


# --- real PET: STS_002 as Legacy Converted Enhanced PET --------------------------------------


def _quantify_mask(pet: Path, mask: Path, out: Path) -> dict[str, object]:
    run = CliRunner().invoke(
        app, ["quantify", str(pet), "--mask", str(mask), "--out", str(out), "--json"]
    )
    assert run.exit_code == 0, run.stderr
    data = json.loads(run.stdout)
    assert isinstance(data, dict)
    return data


def test_real_pet_as_legacy_converted_enhanced_pet(shared_data: Path, tmp_path: Path) -> None:
    single = _sts_series(shared_data, tmp_path)
    datasets = _datasets(single)
    path = _legacy_converted(datasets, tmp_path / "multi", "PT")
    converted = pydicom.dcmread(path)
    assert converted.SOPClassUID == "1.2.840.10008.5.1.4.1.1.128.1"
    # the 48 slices have 48 different RescaleSlopes: highdicom keeps the Pixel Value
    # Transformation per frame, not in the shared groups
    assert len({str(ds.RescaleSlope) for ds in datasets}) == len(datasets)
    shared = converted.SharedFunctionalGroupsSequence[0]
    assert "PixelValueTransformationSequence" not in shared
    per_frame_slopes = [
        str(item.PixelValueTransformationSequence[0].RescaleSlope)
        for item in converted.PerFrameFunctionalGroupsSequence
    ]
    assert len(set(per_frame_slopes)) == len(datasets)

    (entry,) = index_dicom_folder(tmp_path / "multi").of_kind(SeriesKind.PT)
    assert len(entry.instances) == 1
    _assert_same_suv(_suv_cli(single), _suv_cli(tmp_path / "multi"))

    # the lesion (MIRP's NIfTI mask of GTV_Mass, on the PET grid): same SUVmax and volume,
    # and the SEG and SR petdx writes over the multi-frame source pass dciodvfy
    mask = shared_data / "mirp-sts-suv" / "STS_002" / "PET" / "nifti" / "mask" / "mask.nii.gz"
    a = _quantify_mask(single, mask, tmp_path / "out-single")
    b = _quantify_mask(tmp_path / "multi", mask, tmp_path / "out-multi")
    assert b["suv_factor"] == pytest.approx(a["suv_factor"], rel=REL)
    (lesion_a,) = a["lesions"]  # type: ignore[misc]
    (lesion_b,) = b["lesions"]  # type: ignore[misc]
    for key in ("voxels", "volume_ml", "suv_max", "suv_mean", "tlg"):
        assert lesion_b[key] == pytest.approx(lesion_a[key], rel=REL), key
    # MIRP's published values for STS_002 (shared/data README): 555 voxels, 54.28 ml, 21.6757
    assert lesion_b["voxels"] == 555
    assert lesion_b["volume_ml"] == pytest.approx(54.28, abs=0.005)
    assert lesion_b["suv_max"] == pytest.approx(21.6757, abs=5e-5)
    # The shared file's own Study ID is 18 characters (SH allows 16): dciodvfy reports it on
    # the source, and the derived SEG and SR copy it (PS3.3 C.7.2.1). petdx must add no error
    # of its own; the simulated case below, whose source is valid, requires none at all.
    inherited = set(dciodvfy_errors(sorted(single.iterdir())[0]))
    assert any("Study ID" in line for line in inherited)
    written = sorted((tmp_path / "out-multi").glob("*.dcm"))
    assert {p.name.split(".")[-2] for p in written} == {"seg", "sr"}
    for written_path in written:
        assert set(dciodvfy_errors(written_path)) <= inherited, written_path.name


# --- simulated PET/CT: multi-bed Ga-68, both series converted --------------------------------


def _simulated_pet_ct(root: Path, slopes: list[str]) -> tuple[Path, Path]:
    n = len(slopes)
    grid = Grid.centred((n, 16, 16), (4.0, 4.0, 4.0), z_first_mm=-20.0)
    patient = PatientInfo("SIM-0001", "F", date(1970, 5, 6), 61.5, 1.64)
    start = datetime(2026, 5, 4, 10, 0, 0)
    study = StudyInfo(generate_uid(), generate_uid(), start, "S1", "ACC1", "enhanced test")
    beds = ScannerModel(bed_step_mm=16.0).bed_timings(n, 4.0, 120.0)
    acquisition = ga68_acquisition(generate_uid(), start, beds, description="simulated PET")
    rng = np.random.default_rng(12)
    stored = rng.integers(0, 30000, size=grid.shape, dtype=np.int16)
    pet_uids = [generate_uid() for _ in range(n)]
    write_pet_series(
        root / "PT",
        stored,
        slopes,
        grid,
        patient=patient,
        study=study,
        acquisition=acquisition,
        sop_uid=lambda k: pet_uids[k],
    )
    ct_uids = [generate_uid() for _ in range(n)]
    write_ct_series(
        root / "CT",
        (stored // 20 - 1000).astype(np.int16),
        grid,
        patient=patient,
        study=study,
        series_uid=generate_uid(),
        series_number=1,
        acquired=start + timedelta(minutes=58),
        sop_uid=lambda k: ct_uids[k],
    )
    return root / "PT", root / "CT"


@pytest.mark.parametrize("same_slope", [True, False], ids=["shared-slope", "per-frame-slope"])
def test_simulated_pet_ct_as_legacy_converted_enhanced(tmp_path: Path, same_slope: bool) -> None:
    n = 12
    slopes = ["0.5"] * n if same_slope else [f"{0.5 + 0.125 * k:g}" for k in range(n)]
    pt, ct = _simulated_pet_ct(tmp_path / "single", slopes)
    pt_path = _legacy_converted(_datasets(pt), tmp_path / "multi" / "PT", "PT")
    _legacy_converted(_datasets(ct), tmp_path / "multi" / "CT", "CT")
    converted = pydicom.dcmread(pt_path)
    shared = converted.SharedFunctionalGroupsSequence[0]
    # highdicom puts a transformation common to every frame in the shared groups and keeps
    # differing ones per frame: both layouts are read
    assert ("PixelValueTransformationSequence" in shared) is same_slope

    single = _suv_cli(pt)
    multi = _suv_cli(tmp_path / "multi" / "PT")
    _assert_same_suv(single, multi)
    # 12 slices of 4 mm in 16 mm beds: 3 beds of different acquisition times; the factor is
    # the DecayCorrection START rule's (SeriesTime), 120 MBq of Ga-68 60 min before, 61.5 kg
    assert single["suv_factor"] == pytest.approx(
        61_500 / (1.2e8 * 0.5 ** (3600 / NUCLIDES["Ga-68"].half_life_s)), rel=1e-6
    )

    # a lesion grown from a seed at 41 % of its SUVmax: same voxels, volume, SUVmax; the SEG
    # and SR written over the Legacy Converted source pass dciodvfy
    lesions = []
    for name, folder in (("single", pt), ("multi", tmp_path / "multi" / "PT")):
        run = CliRunner().invoke(
            app,
            [
                "quantify",
                str(folder),
                "--seed",
                "2,2,0",
                "--method",
                "percent:41",
                "--out",
                str(tmp_path / f"out-{name}"),
                "--json",
            ],
        )
        assert run.exit_code == 0, run.stderr
        (lesion,) = json.loads(run.stdout)["lesions"]
        lesions.append(lesion)
    assert lesions[0]["voxels"] > 1
    for key in ("voxels", "volume_ml", "suv_max", "suv_mean", "tlg"):
        assert lesions[1][key] == pytest.approx(lesions[0][key], rel=REL), key
    written = sorted((tmp_path / "out-multi").glob("*.dcm"))
    assert {p.name.split(".")[-2] for p in written} == {"seg", "sr"}
    for written_path in written:
        assert dciodvfy_errors(written_path) == [], written_path.name

    index = index_dicom_folder(tmp_path / "multi")
    (ct_entry,) = index.of_kind(SeriesKind.CT)
    (ct_single,) = index_dicom_folder(ct).of_kind(SeriesKind.CT)
    a, b = read_series_volume(ct_single).volume, read_series_volume(ct_entry).volume
    assert np.array_equal(a.array, b.array)
    assert np.allclose(a.affine, b.affine)


# --- Enhanced PET Image written with pydicom, frames in reverse z order ----------------------


def _enhanced_pet(datasets: list[Dataset], *, drop_position_of: int | None = None) -> Dataset:
    """An Enhanced PET Image (SOP class ...130) of single-frame PET ``datasets``.

    Frames are stored top-down (the reverse of ``datasets``' z order); each frame's position,
    rescale (Pixel Value Transformation, Rescale Type from Units) and timing (Frame Content)
    are per-frame functional groups; decay correction is the Enhanced PET Corrections
    module's Decay Corrected / Decay Correction DateTime (PS3.3 C.8.22.4), the nuclide and
    dose are the Enhanced PET Isotope module's (C.8.22.5).
    """
    ordered = sorted(datasets, key=lambda ds: -float(ds.ImagePositionPatient[2]))
    first = ordered[0]
    sop = generate_uid()
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = EnhancedPETImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = EnhancedPETImageStorage, sop
    for keyword in (
        "StudyInstanceUID",
        "FrameOfReferenceUID",
        "PatientID",
        "PatientName",
        "PatientWeight",
        "PatientSize",
        "PatientSex",
        "StudyDate",
        "StudyTime",
        "SeriesDate",
        "SeriesTime",
        "Manufacturer",
        "ManufacturerModelName",
        "DeviceSerialNumber",
        "SoftwareVersions",
        "RadiopharmaceuticalInformationSequence",
    ):
        if keyword in first:
            setattr(ds, keyword, copy.deepcopy(first[keyword].value))
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = 901
    ds.Modality = "PT"
    ds.SeriesDescription = "Enhanced PET (pydicom)"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.AttenuationCorrected = "YES"
    decay = str(first.get("DecayCorrection", "NONE"))
    ds.DecayCorrected = "NO" if decay == "NONE" else "YES"
    if decay == "START":
        ds.DecayCorrectionDateTime = f"{first.SeriesDate}{first.SeriesTime}"
    ds.NumberOfFrames = len(ordered)
    for keyword in (
        "Rows",
        "Columns",
        "SamplesPerPixel",
        "PhotometricInterpretation",
        "BitsAllocated",
        "BitsStored",
        "HighBit",
        "PixelRepresentation",
    ):
        setattr(ds, keyword, first[keyword].value)
    orientation = Dataset()
    orientation.ImageOrientationPatient = list(first.ImageOrientationPatient)
    measures = Dataset()
    measures.PixelSpacing = list(first.PixelSpacing)
    measures.SliceThickness = first.SliceThickness
    shared = Dataset()
    shared.PlaneOrientationSequence = [orientation]
    shared.PixelMeasuresSequence = [measures]
    ds.SharedFunctionalGroupsSequence = [shared]
    per_frame = []
    for k, source in enumerate(ordered):
        group = Dataset()
        if k != drop_position_of:
            position = Dataset()
            position.ImagePositionPatient = list(source.ImagePositionPatient)
            group.PlanePositionSequence = [position]
        transform = Dataset()
        transform.RescaleSlope = source.RescaleSlope
        transform.RescaleIntercept = source.RescaleIntercept
        transform.RescaleType = source.Units
        group.PixelValueTransformationSequence = [transform]
        content = Dataset()
        content.FrameAcquisitionDateTime = f"{source.AcquisitionDate}{source.AcquisitionTime}"
        content.FrameAcquisitionDuration = float(source.ActualFrameDuration)
        content.FrameReferenceDateTime = content.FrameAcquisitionDateTime
        group.FrameContentSequence = [content]
        per_frame.append(group)
    ds.PerFrameFunctionalGroupsSequence = per_frame
    ds.PixelData = b"".join(source.PixelData for source in ordered)
    return ds


def test_sts_as_enhanced_pet_frames_in_reverse_order(shared_data: Path, tmp_path: Path) -> None:
    single = _sts_series(shared_data, tmp_path)
    (tmp_path / "multi").mkdir()
    _enhanced_pet(_datasets(single)).save_as(
        tmp_path / "multi" / "enhanced.dcm", enforce_file_format=True
    )
    _assert_same_suv(_suv_cli(single), _suv_cli(tmp_path / "multi"))
    (a_entry,) = index_dicom_folder(single).of_kind(SeriesKind.PT)
    (b_entry,) = index_dicom_folder(tmp_path / "multi").of_kind(SeriesKind.PT)
    a, b = read_series_volume(a_entry).volume, read_series_volume(b_entry).volume
    assert np.array_equal(a.array, b.array)
    assert np.allclose(a.affine, b.affine)


def test_simulated_as_enhanced_pet_frames_in_reverse_order(tmp_path: Path) -> None:
    slopes = [f"{0.5 + 0.125 * k:g}" for k in range(12)]
    pt, _ = _simulated_pet_ct(tmp_path / "single", slopes)
    (tmp_path / "multi").mkdir()
    _enhanced_pet(_datasets(pt)).save_as(
        tmp_path / "multi" / "enhanced.dcm", enforce_file_format=True
    )
    single = _suv_cli(pt)
    assert single["reference_time_rule"] == "series-datetime"
    _assert_same_suv(single, _suv_cli(tmp_path / "multi"), rule="decay-correction-datetime")


def test_frame_without_plane_position_is_refused(shared_data: Path, tmp_path: Path) -> None:
    single = _sts_series(shared_data, tmp_path)
    (tmp_path / "multi").mkdir()
    path = tmp_path / "multi" / "enhanced.dcm"
    _enhanced_pet(_datasets(single), drop_position_of=6).save_as(path, enforce_file_format=True)
    (entry,) = index_dicom_folder(tmp_path / "multi").of_kind(SeriesKind.PT)
    with pytest.raises(
        MissingAttributeError,
        match=rf"{path.name}, frame 7: .*PlanePositionSequence \(0020,9113\)",
    ):
        read_series_volume(entry)
    run = CliRunner().invoke(app, ["suv", str(tmp_path / "multi")])
    assert run.exit_code == 2
    assert f"{path.name}, frame 7" in run.output
    assert "PlanePositionSequence (0020,9113)" in run.output


def test_deidentified_copies_of_enhanced_objects_stay_valid(tmp_path: Path) -> None:
    """The stored copies ingest writes (DeidentifiedFileEncoder): the same SUV factor and
    no dciodvfy error the source did not have - DeviceSerialNumber is Type 1 in the Enhanced
    General Equipment module, so it gets a dummy instead of being emptied."""
    slopes = [f"{0.5 + 0.125 * k:g}" for k in range(12)]
    pt, ct = _simulated_pet_ct(tmp_path / "single", slopes)
    sources = {
        "lc-pt": _legacy_converted(_datasets(pt), tmp_path / "lc-pt", "PT"),
        "lc-ct": _legacy_converted(_datasets(ct), tmp_path / "lc-ct", "CT"),
        "enhanced-pt": tmp_path / "enhanced-pt" / "enhanced.dcm",
    }
    sources["enhanced-pt"].parent.mkdir()
    _enhanced_pet(_datasets(pt)).save_as(sources["enhanced-pt"], enforce_file_format=True)
    encoder = DeidentifiedFileEncoder(DeidentificationSettings(b"s" * 32, "SIM-0042"))
    for name, source in sources.items():
        copy_path = tmp_path / f"deid-{name}" / "copy.dcm"
        copy_path.parent.mkdir()
        copy_path.write_bytes(encoder.encode(read_header(source)))
        assert pydicom.dcmread(copy_path).DeviceSerialNumber == "DEIDENTIFIED"
        assert set(dciodvfy_errors(copy_path)) <= set(dciodvfy_errors(source)), name
        if name.endswith("pt"):
            a = _suv_cli(source.parent)
            b = _suv_cli(copy_path.parent)
            assert b["suv_factor"] == pytest.approx(a["suv_factor"], rel=1e-12)
            assert b["suv_max"] == pytest.approx(a["suv_max"], rel=1e-12)


def test_dynamic_multiframe_and_missing_units_refused(tmp_path: Path) -> None:
    pt, _ = _simulated_pet_ct(tmp_path / "single", ["0.5"] * 4)
    dynamic = _enhanced_pet(_datasets(pt))
    groups = list(dynamic.PerFrameFunctionalGroupsSequence)
    dynamic.PerFrameFunctionalGroupsSequence = groups + copy.deepcopy(groups)
    dynamic.NumberOfFrames = 8
    dynamic.PixelData = dynamic.PixelData * 2
    (tmp_path / "dynamic").mkdir()
    dynamic.save_as(tmp_path / "dynamic" / "d.dcm", enforce_file_format=True)
    (entry,) = index_dicom_folder(tmp_path / "dynamic").of_kind(SeriesKind.PT)
    with pytest.raises(GeometryError, match=r"two frames at the same position.*frame 8"):
        read_series_volume(entry)

    no_units = _enhanced_pet(_datasets(pt))
    for group in no_units.PerFrameFunctionalGroupsSequence:
        del group.PixelValueTransformationSequence[0].RescaleType
    (tmp_path / "no-units").mkdir()
    no_units.save_as(tmp_path / "no-units" / "d.dcm", enforce_file_format=True)
    run = CliRunner().invoke(app, ["suv", str(tmp_path / "no-units")])
    assert run.exit_code == 2
    assert "Units (0054,1001) is missing" in run.output
    assert "RescaleType (0028,1054)" in run.output


@pytest.mark.parametrize(
    ("description", "image_type", "kind"),
    [
        ("Dixon W", ["DERIVED", "PRIMARY", "DIXON", "W"], SeriesKind.MR),
        ("MRAC UMAP", ["DERIVED", "PRIMARY", "UMAP"], SeriesKind.MR_AC),
    ],
)
def test_legacy_converted_enhanced_mr_classified_as_single_frame(
    tmp_path: Path, description: str, image_type: list[str], kind: SeriesKind
) -> None:
    grid = Grid.centred((4, 8, 8), (4.0, 4.0, 4.0), z_first_mm=-8.0)
    acquired = datetime(2026, 5, 4, 11, 0, 0)
    write_mr_series(
        tmp_path / "single",
        np.ones(grid.shape, np.uint16),
        grid,
        patient=PatientInfo("SIM-0001", "F", date(1970, 5, 6), 61.5, 1.64),
        study=StudyInfo(generate_uid(), generate_uid(), acquired, "S1", "ACC1", "mr"),
        series_uid=generate_uid(),
        series_number=5,
        description=description,
        image_type=image_type,
        acquired=acquired,
        sop_uid=lambda k: generate_uid(),
    )
    converted = hd.legacy.LegacyConvertedEnhancedMRImage(
        legacy_datasets=_datasets(tmp_path / "single"),
        series_instance_uid=generate_uid(),
        series_number=900,
        sop_instance_uid=generate_uid(),
        instance_number=1,
    )
    assert converted.SOPClassUID == "1.2.840.10008.5.1.4.1.1.4.4"
    assert classify(converted) is kind
    (entry,) = index_dicom_folder(tmp_path / "single").of_kind(kind)
    assert len(entry.instances) == 4
