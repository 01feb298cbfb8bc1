"""petdx.quantify.outputs: a time point read from its folder (the CLI's input) and a visit
written as files (tests/quantify/test_cli.py checks the files' content through the CLI)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from petdx.dicom import SeriesKind, index_dicom_folder, read_series_volume
from petdx.errors import InputValidationError
from petdx.quantify.outputs import load_pet_folder
from petdx.suv import compute_suv
from tests.factories import ct_series, pet_series, save_series


def test_load_pet_folder_is_the_series_and_its_suv(tmp_path: Path) -> None:
    save_series(pet_series(3), tmp_path / "pet")
    save_series(ct_series(2), tmp_path / "pet" / "ct")  # another modality is ignored
    loaded = load_pet_folder(tmp_path / "pet", normalization="bw")
    (entry,) = index_dicom_folder(tmp_path / "pet").of_kind(SeriesKind.PT)
    series = read_series_volume(entry)
    result = compute_suv(series, normalization="bw")  # the independent path, by hand
    assert loaded.series.series_instance_uid == entry.series_instance_uid
    assert loaded.scan.suv_factor == result.suv_factor
    np.testing.assert_array_equal(
        loaded.scan.suv.array, np.asarray(series.volume.array) * result.suv_factor
    )
    assert (loaded.scan.normalization, loaded.scan.suv_unit) == ("bw", result.unit)
    assert loaded.warnings == tuple(result.warnings)


def test_load_pet_folder_needs_exactly_one_pet_series(tmp_path: Path) -> None:
    save_series(ct_series(2), tmp_path / "ct")
    with pytest.raises(InputValidationError, match="expected exactly one PET series, found 0"):
        load_pet_folder(tmp_path, normalization="bw")
    save_series(pet_series(2), tmp_path / "a")
    save_series(pet_series(2), tmp_path / "b")
    with pytest.raises(InputValidationError, match="found 2"):
        load_pet_folder(tmp_path, normalization="bw")
