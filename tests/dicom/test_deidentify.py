"""De-identification: PS3.15 basic profile with the Retain Patient Characteristics, Modified
Dates and Retain Safe Private options; SUV factors identical before and after."""

from __future__ import annotations

import copy
import io
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pydicom
import pytest

from petdx.dicom import (
    DeidentificationSettings,
    SeriesKind,
    deidentify_dataset,
    deidentify_uid,
    index_dicom_folder,
    patient_date_offset_days,
    read_header,
    read_series_volume,
)
from petdx.dicom.deidentified_file import DeidentifiedFileEncoder
from petdx.dicom.deidentify import profile_action
from petdx.errors import InvalidSeriesError
from petdx.suv import compute_suv
from tests.factories import ct_series, enhanced_pet, pet_series, save_series
from tests.study.planted import (
    NEEDLES,
    PRIVATE_NAME,
    all_files,
    plant_identifiers,
    scan_for_needles,
)

SECRET = bytes(range(32))
SETTINGS = DeidentificationSettings(SECRET, "SIM-0042")


def _factors(folder: Path) -> np.ndarray:
    entry = index_dicom_folder(folder).of_kind(SeriesKind.PT)[0]
    return compute_suv(read_series_volume(entry)).factors


def _planted_series(n: int = 3) -> list[pydicom.Dataset]:
    return [plant_identifiers(ds) for ds in pet_series(n)]


def test_planted_identifiers_are_gone_and_suv_is_unchanged(tmp_path: Path) -> None:
    originals = _planted_series()
    save_series(originals, tmp_path / "in")
    assert scan_for_needles(all_files(tmp_path / "in"))  # the scan finds what was planted
    copies = [deidentify_dataset(copy.deepcopy(ds), SETTINGS) for ds in originals]
    save_series(copies, tmp_path / "out")
    assert scan_for_needles(all_files(tmp_path / "out")) == []
    assert PRIVATE_NAME.encode() not in b"".join(
        p.read_bytes() for p in all_files(tmp_path / "out")
    )
    np.testing.assert_array_equal(_factors(tmp_path / "out"), _factors(tmp_path / "in"))


def test_profile_attributes_and_options() -> None:
    ds = deidentify_dataset(_planted_series(1)[0], SETTINGS)
    assert ds.PatientName == "SIM-0042"
    assert ds.PatientID == "SIM-0042"
    assert "PatientBirthDate" not in ds or not ds.PatientBirthDate
    assert (ds.PatientSex, ds.PatientWeight, ds.PatientSize) == ("M", 70, 1.75)  # retained
    assert "SeriesDescription" not in ds
    assert "OperatorsName" not in ds or not ds.OperatorsName
    assert not ds.get("AccessionNumber")
    assert ds.PatientIdentityRemoved == "YES"
    assert ds.LongitudinalTemporalInformationModified == "MODIFIED"
    assert [c.CodeValue for c in ds.DeidentificationMethodCodeSequence] == [
        "113100",
        "113108",
        "113107",
        "113111",
    ]
    assert all(c.CodingSchemeDesignator == "DCM" for c in ds.DeidentificationMethodCodeSequence)
    assert not any(t.is_private for t in list(ds.keys()))
    # the basic profile table is the standard's, e.g. SOP Instance UID is "U", Image Comments "X"
    assert profile_action(pydicom.tag.Tag("SOPInstanceUID")).value == "U"
    assert profile_action(pydicom.tag.Tag("ImageComments")).value == "X"
    assert profile_action(pydicom.tag.Tag(0x6002, 0x3000)).value == "X"  # overlay data, 60xx


def test_dates_move_by_one_offset_per_patient_and_times_are_kept() -> None:
    original = _planted_series(1)[0]
    ds = deidentify_dataset(copy.deepcopy(original), SETTINGS)
    offset = patient_date_offset_days(SECRET, "SIM-0042")
    assert -3652 <= offset <= -365
    assert offset == patient_date_offset_days(SECRET, "SIM-0042")
    assert offset != patient_date_offset_days(SECRET, "SIM-0043")
    expected = (date(2025, 1, 1) + timedelta(days=offset)).strftime("%Y%m%d")
    assert ds.StudyDate == ds.SeriesDate == ds.AcquisitionDate == expected
    assert ds.SeriesTime == original.SeriesTime
    item = ds.RadiopharmaceuticalInformationSequence[0]
    assert item.RadiopharmaceuticalStartDateTime == expected + "100000"
    assert item.RadiopharmaceuticalStartTime == "100000"
    assert item.RadionuclideTotalDose == 370000000


def test_uids_are_replaced_consistently() -> None:
    a, b = pet_series(2)
    uid_a, frame_a = a.SOPInstanceUID, a.FrameOfReferenceUID
    deidentify_dataset(a, SETTINGS)
    deidentify_dataset(b, SETTINGS)
    assert a.SOPInstanceUID == deidentify_uid(SECRET, uid_a) != uid_a
    assert a.SOPInstanceUID.startswith("2.25.")
    assert a.file_meta.MediaStorageSOPInstanceUID == a.SOPInstanceUID
    assert a.SeriesInstanceUID == b.SeriesInstanceUID
    assert a.FrameOfReferenceUID == b.FrameOfReferenceUID == deidentify_uid(SECRET, frame_a)
    assert a.SOPClassUID == pydicom.uid.PositronEmissionTomographyImageStorage
    assert deidentify_uid(bytes(32), uid_a) != a.SOPInstanceUID  # another study, other UIDs


def _philips_cnts(ds: pydicom.Dataset) -> pydicom.Dataset:
    ds.Manufacturer = "Philips Medical Systems"
    ds.Units = "CNTS"
    block = ds.private_block(0x7053, "Philips PET Private Group", create=True)
    block.add_new(0x00, "DS", "0.000123")
    block.add_new(0x09, "DS", "1.5")
    return ds


def _ge_private_time(ds: pydicom.Dataset) -> pydicom.Dataset:
    ds.Manufacturer = "GE MEDICAL SYSTEMS"
    ds.SeriesTime = "113000"  # after the acquisition: the GE private scan time decides
    block = ds.private_block(0x0009, "GEMS_PETD_01", create=True)
    block.add_new(0x0D, "DT", "20250101105500")
    block.add_new(0x10, "LO", "Saint Quillan Infirmary")  # hospital name: must go
    return ds


@pytest.mark.parametrize("vendor", [_philips_cnts, _ge_private_time])
def test_vendor_suv_elements_survive_and_give_the_same_factors(tmp_path: Path, vendor) -> None:
    originals = [vendor(plant_identifiers(ds)) for ds in pet_series(3)]
    save_series(originals, tmp_path / "in")
    copies = [deidentify_dataset(copy.deepcopy(ds), SETTINGS) for ds in originals]
    save_series(copies, tmp_path / "out")
    before, after = _factors(tmp_path / "in"), _factors(tmp_path / "out")
    np.testing.assert_array_equal(after, before)
    assert scan_for_needles(all_files(tmp_path / "out"), NEEDLES) == []
    kept = pydicom.dcmread(next(iter(sorted((tmp_path / "out").iterdir()))))
    assert any(t.is_private for t in list(kept.keys()))


def test_ge_private_datetime_moves_with_the_other_dates() -> None:
    ds = deidentify_dataset(_ge_private_time(pet_series(1)[0]), SETTINGS)
    block = ds.private_block(0x0009, "GEMS_PETD_01")
    shifted = date(2025, 1, 1) + timedelta(days=SETTINGS.offset_days)
    assert block[0x0D].value == shifted.strftime("%Y%m%d") + "105500"
    assert block.get_tag(0x10) not in ds


def test_burned_in_annotation_is_refused() -> None:
    ds = pet_series(1)[0]
    ds.BurnedInAnnotation = "YES"
    with pytest.raises(InvalidSeriesError, match=r"BurnedInAnnotation \(0028,0301\) is YES"):
        deidentify_dataset(ds, SETTINGS)


# --- DeidentifiedFileEncoder: the same bytes as deidentify_dataset + dcmwrite ---------------


def _plain_bytes(path: Path, settings: DeidentificationSettings) -> bytes:
    """The straightforward composition the encoder must reproduce: a full read, the profile
    on the whole data set, pydicom's writer."""
    buffer = io.BytesIO()
    dataset = deidentify_dataset(pydicom.dcmread(path), settings)
    pydicom.dcmwrite(buffer, dataset, enforce_file_format=True)
    return buffer.getvalue()


def _latin1(ds: pydicom.Dataset) -> pydicom.Dataset:
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = "Müller^Zoë"
    ds.Manufacturer = "Société Médicale"  # kept: not in the profile table
    ds.InstitutionName = "Hôpital Sainte-Anne"
    return ds


def _odd_elements(ds: pydicom.Dataset) -> pydicom.Dataset:
    ds.add_new(0x00080000, "UL", 0)  # a retired group length: never written
    ds.CalibrationDate = ["20240101", "20240215"]  # multi-valued DA, shifted
    ds.AccessionNumber = ""  # empty Z attribute
    ds.ReferringPhysicianName = ""
    ds.OtherPatientIDsSequence = [pydicom.Dataset()]  # empty item in a removed sequence
    ds.file_meta.SourceApplicationEntityTitle = "HOSPITAL_PACS"
    block = ds.private_block(0x0013, "ACME big blob", create=True)
    block.add_new(0x01, "OB", bytes(6000))  # deferred when indexing, then removed
    return ds


def _implicit_vr(ds: pydicom.Dataset) -> pydicom.Dataset:
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
    return ds


def _un_encoded(ds: pydicom.Dataset) -> pydicom.Dataset:
    """ProtocolName written with VR UN, as some converters do."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pydicom.config, "replace_un_with_known_vr", False)
        ds.add_new(0x00181030, "UN", b"WB PET PROTOCOL ")
    assert ds[0x00181030].VR == "UN"
    return ds


ENCODER_CASES = {
    "plain PET": lambda: pet_series(4, rows=48, cols=48),  # pixel data deferred (> 4 KB)
    "planted": lambda: _planted_series(4),
    "Philips private": lambda: [_philips_cnts(plant_identifiers(d)) for d in pet_series(3)],
    "GE private": lambda: [_ge_private_time(plant_identifiers(d)) for d in pet_series(3)],
    "CT": lambda: [plant_identifiers(d) for d in ct_series(3, rows=64, cols=64)],
    "enhanced multi-frame": lambda: [plant_identifiers(enhanced_pet(4))],
    "Latin-1": lambda: [_latin1(plant_identifiers(d)) for d in pet_series(3)],
    "odd elements": lambda: [_odd_elements(plant_identifiers(d)) for d in pet_series(3)],
    "de-identified again": lambda: [deidentify_dataset(d, SETTINGS) for d in _planted_series(3)],
    "implicit VR (plain path)": lambda: [_implicit_vr(d) for d in _planted_series(3)],
    "UN attribute (plain path)": lambda: [_un_encoded(d) for d in _planted_series(3)],
}


@pytest.mark.parametrize("case", sorted(ENCODER_CASES))
def test_encoder_writes_exactly_what_deidentify_dataset_and_dcmwrite_write(
    tmp_path: Path, case: str
) -> None:
    """Oracle: the plain composition (full dcmread, deidentify_dataset, dcmwrite), file by
    file, with one encoder for the whole series so that its remembered encodings are
    reused."""
    paths = save_series(ENCODER_CASES[case](), tmp_path / "in")
    encoder = DeidentifiedFileEncoder(SETTINGS)
    for path in paths:
        header = read_header(path)
        before = [(tag, header.get_item(tag, keep_deferred=True)) for tag in list(header.keys())]
        encoded = encoder.encode(header)
        assert encoded == _plain_bytes(path, SETTINGS), path.name
        after = [(tag, header.get_item(tag, keep_deferred=True)) for tag in list(header.keys())]
        assert after == before  # the header is left as it was read
    assert encoder.n_plain_path == (len(paths) if "plain path" in case else 0)
    copies = tmp_path / "out"
    copies.mkdir()
    for k, path in enumerate(paths):
        (copies / f"{k}.dcm").write_bytes(encoder.encode(read_header(path)))
    assert scan_for_needles(all_files(copies)) == []


def test_encoder_gives_the_same_bytes_for_headers_whose_values_were_read(
    tmp_path: Path,
) -> None:
    """Reading a value converts the element in the header (SUV and indexing code do it);
    the encoder must give the same file as for an untouched header, from its memory too."""
    paths = save_series([_ge_private_time(plant_identifiers(d)) for d in pet_series(3)], tmp_path)
    encoder = DeidentifiedFileEncoder(SETTINGS)
    for path in paths + paths:
        header = read_header(path)
        _ = header.RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose
        _ = (header.PatientName, header.StudyDate, header.SOPInstanceUID, header.PatientWeight)
        assert encoder.encode(header) == _plain_bytes(path, SETTINGS), path.name


def test_encoder_output_keeps_the_suv_factors(tmp_path: Path) -> None:
    originals = [_ge_private_time(plant_identifiers(d)) for d in pet_series(5)]
    paths = save_series(originals, tmp_path / "in")
    encoder = DeidentifiedFileEncoder(SETTINGS)
    (tmp_path / "out").mkdir()
    for path in paths:
        (tmp_path / "out" / path.name).write_bytes(encoder.encode(read_header(path)))
    np.testing.assert_array_equal(_factors(tmp_path / "out"), _factors(tmp_path / "in"))


def test_the_preamble_is_not_copied(tmp_path: Path) -> None:
    """PS3.10 7.1: the 128-byte preamble is free for applications (a TIFF header, say), so
    it may hold anything; the copy has 128 zero bytes."""
    path = save_series(_planted_series(1), tmp_path)[0]
    data = bytearray(path.read_bytes())
    data[:24] = b"Philippa Wintergreen 001"
    path.write_bytes(bytes(data))
    encoded = DeidentifiedFileEncoder(SETTINGS).encode(read_header(path))
    assert encoded[:132] == bytes(128) + b"DICM"
    assert _plain_bytes(path, SETTINGS)[:132] == bytes(128) + b"DICM"


def test_encoder_refuses_burned_in_annotation(tmp_path: Path) -> None:
    ds = pet_series(1)[0]
    ds.BurnedInAnnotation = "YES"
    path = save_series([ds], tmp_path)[0]
    with pytest.raises(InvalidSeriesError, match=r"BurnedInAnnotation \(0028,0301\) is YES"):
        DeidentifiedFileEncoder(SETTINGS).encode(read_header(path))
