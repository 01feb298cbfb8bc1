"""De-identification of text attributes the PS3.15 table does not list (issue 20 Build 2):
overlay and curve texts, content and image labels, every text attribute of the dictionary,
and the File Meta Information."""

from __future__ import annotations

import copy
import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataelem import DataElement

from petdx.dicom import DeidentificationSettings, deidentify_dataset, read_header
from petdx.dicom.deidentified_file import DeidentifiedFileEncoder
from petdx.dicom.deidentify import KEPT_TEXT
from tests.factories import ct_series, pet_series, save_series
from tests.study.planted import (
    plant_every_text_attribute,
    scan_for_planted,
    text_attributes,
)

SETTINGS = DeidentificationSettings(bytes(range(32)), "SIM-0042")
#: Kept on purpose (the documented keep-list) or replaced by the pseudonym and linked by it.
NOT_PLANTED = (*KEPT_TEXT, "PatientID")


@pytest.mark.parametrize(
    ("tag", "vr"),
    [
        (0x60000022, "LO"),  # OverlayDescription
        (0x60001500, "LO"),  # OverlayLabel
        (0x60020022, "LO"),  # OverlayDescription, second overlay group
        (0x60021500, "LO"),  # OverlayLabel, second overlay group
        (0x00700080, "CS"),  # ContentLabel
        (0x00700081, "LO"),  # ContentDescription
        (0x00540400, "SH"),  # ImageID
    ],
    ids=lambda v: f"{v:08X}" if isinstance(v, int) else v,
)
def test_the_texts_the_audit_found_surviving_are_removed(tag: int, vr: str) -> None:
    ds = pet_series(1)[0]
    ds[tag] = DataElement(tag, vr, "DOE^JANE 7788991")
    assert tag not in deidentify_dataset(copy.deepcopy(ds), SETTINGS)


def test_kept_text_attributes_are_kept_with_their_values() -> None:
    ds = pet_series(1)[0]
    ds.Manufacturer = "SIEMENS"
    ds.ConvolutionKernel = "B30f"
    out = deidentify_dataset(copy.deepcopy(ds), SETTINGS)
    assert out.Manufacturer == "SIEMENS"
    assert out.ConvolutionKernel == "B30f"
    item = out.RadiopharmaceuticalInformationSequence[0]
    assert (
        item.Radiopharmaceutical == ds.RadiopharmaceuticalInformationSequence[0].Radiopharmaceutical
    )


def test_every_text_attribute_of_the_dictionary_is_removed_at_every_level(
    tmp_path: Path,
) -> None:
    attributes = text_attributes(exclude=NOT_PLANTED)
    assert len(attributes) > 700  # the dictionary's text attributes, not a chosen few
    originals = pet_series(2) + ct_series(2)
    needles: dict[bytes, str] = {}
    for ds in originals:
        needles = plant_every_text_attribute(
            ds, attributes, nested="RadiopharmaceuticalInformationSequence"
        )
        ds.file_meta.ImplementationVersionName = "QXZPLNT9999"
        ds.file_meta.SourceApplicationEntityTitle = "QXZPLNT9998"
    needles[b"QXZPLNT9999"] = "ImplementationVersionName"
    needles[b"QXZPLNT9998"] = "SourceApplicationEntityTitle"
    paths = save_series(originals, tmp_path / "in")
    assert len(scan_for_planted(paths, needles)) > 4 * len(attributes)  # the scan sees them
    # both writers: deidentify_dataset + dcmwrite, and the fast encoder
    plain = [deidentify_dataset(copy.deepcopy(ds), SETTINGS) for ds in originals]
    save_series(plain, tmp_path / "plain")
    encoder = DeidentifiedFileEncoder(SETTINGS)
    (tmp_path / "fast").mkdir()
    for n, path in enumerate(paths):
        (tmp_path / "fast" / f"{n}.dcm").write_bytes(encoder.encode(read_header(path)))
    written = sorted((tmp_path / "plain").iterdir()) + sorted((tmp_path / "fast").iterdir())
    assert scan_for_planted(written, needles) == []
    # the copies are still a PET and a CT series with their pixels
    copy_ = pydicom.dcmread(io.BytesIO((tmp_path / "fast" / "0.dcm").read_bytes()))
    assert copy_.Modality == "PT"
    np.testing.assert_array_equal(copy_.pixel_array, originals[0].pixel_array)
