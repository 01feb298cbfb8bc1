"""TID 1500 Measurement Report: written, valid for dciodvfy, values readable back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from petdx.dicom import (
    SeriesKind,
    SrLesion,
    index_dicom_folder,
    read_series_volume,
    source_datasets,
    write_measurement_report,
    write_seg,
)
from petdx.errors import InputValidationError
from tests.dicom._dciodvfy import dciodvfy_errors
from tests.factories import pet_series, save_series


def _numeric_items(ds: Dataset) -> list[tuple[str, str | None, float]]:
    """(concept code, derivation code or None, value) of every NUM item, depth first."""
    found = []
    for item in ds.get("ContentSequence", []):
        if item.ValueType == "NUM":
            derivation = None
            for child in item.get("ContentSequence", []):
                if child.ConceptNameCodeSequence[0].CodeValue == "121401":  # Derivation
                    derivation = child.ConceptCodeSequence[0].CodeValue
            value = float(item.MeasuredValueSequence[0].NumericValue)
            found.append((item.ConceptNameCodeSequence[0].CodeValue, derivation, value))
        found.extend(_numeric_items(item))
    return found


def test_measurement_report(tmp_path: Path) -> None:
    save_series(pet_series(4, rows=8, cols=8), tmp_path / "pet")
    (entry,) = index_dicom_folder(tmp_path / "pet").of_kind(SeriesKind.PT)
    series = read_series_volume(entry)
    labels = np.zeros(series.volume.shape, dtype=np.uint8)
    labels[1:3, 2:5, 2:5] = 3
    seg = write_seg(series.volume.with_array(labels), series, tmp_path / "seg.dcm")
    lesion = SrLesion(
        label=3,
        segment_number=1,
        suv_max=7.25,
        suv_peak=5.5,
        suv_mean=4.0,
        suv_sd=1.25,
        suv_min=2.0,
        volume_ml=1.152,
        tlg=4.608,
        longest_diameter_mm=12.5,
    )
    path = tmp_path / "sr.dcm"
    write_measurement_report(
        path, seg=seg, source_images=source_datasets(series), lesions=[lesion], method="voi"
    )
    assert dciodvfy_errors(path) == []
    ds = pydicom.dcmread(path)
    assert ds.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    values = _numeric_items(ds)
    assert ("126401", "56851009", 7.25) in values  # SUVbw, Maximum
    assert ("126401", "126031", 5.5) in values  # SUVbw, Peak Value Within ROI
    assert ("126401", "373098007", 4.0) in values  # SUVbw, Mean
    assert ("126032", None, 1.152) in values  # Metabolic Volume
    assert ("126033", None, 4.608) in values  # Total Lesion Glycolysis
    assert ("103339001", None, 12.5) in values  # Long axis
    with pytest.raises(InputValidationError, match="no DICOM SUV concept"):
        write_measurement_report(
            path,
            seg=seg,
            source_images=source_datasets(series),
            lesions=[lesion],
            normalization="percent",
        )
