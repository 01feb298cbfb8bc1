"""SUV and volume assembly of multi-frame PET: Enhanced PET and Legacy Converted Enhanced PET."""

from __future__ import annotations

import math
from pathlib import Path

import highdicom as hd
import numpy as np
import pytest
from pydicom.uid import generate_uid

from petdx.dicom import SeriesKind, index_dicom_folder, read_series_volume
from petdx.suv import ReferenceTimeRule, compute_suv, suv_volume
from tests.factories import enhanced_pet, pet_series, save_series

F18_S = 6586.2


def test_enhanced_pet_geometry_rescale_and_suv(tmp_path: Path) -> None:
    ds = enhanced_pet(n_frames=3)
    ds.save_as(tmp_path / "enhanced.dcm", enforce_file_format=True)
    (entry,) = index_dicom_folder(tmp_path).of_kind(SeriesKind.PT)
    pet = read_series_volume(entry)
    # frames were stored top-down: volume order is ascending z, so frame 2 comes first
    assert pet.volume.shape == (3, 6, 5)
    assert pet.volume.spacing_mm == pytest.approx((4.0, 2.0, 3.0))
    stored_then_scaled = [100 * 3 * 3.0, 100 * 2 * 2.0, 100 * 1 * 1.0]
    assert pet.volume.array[:, 0, 0].tolist() == pytest.approx(stored_then_scaled)
    assert pet.volume.index_to_patient_mm([0, 0, 0]).tolist() == pytest.approx([10, 20, 0])

    result = compute_suv(pet)
    assert result.reference_time_rule is ReferenceTimeRule.DECAY_CORRECTION_DATETIME
    expected = 70_000 / (370e6 * 0.5 ** (3600 / F18_S))
    assert result.factors == pytest.approx((expected,) * 3, rel=1e-12)


def test_enhanced_pet_not_decay_corrected_uses_frame_times() -> None:
    from tests.factories import frames

    ds = enhanced_pet(n_frames=2, decay_corrected=False)
    result = compute_suv(frames([ds]))
    assert result.reference_time_rule is ReferenceTimeRule.FRAME_ACQUISITION
    lam = math.log(2) / F18_S
    # per-frame list order is the file's: frame 0 starts 11:00, frame 1 at 11:01, 60 s each
    for k, factor in enumerate(result.factors):
        elapsed = 3600 + 60 * k
        mean = 370e6 * math.exp(-lam * elapsed) * (1 - math.exp(-lam * 60)) / (lam * 60)
        assert factor == pytest.approx(70_000 / mean, rel=1e-9)


def test_legacy_converted_enhanced_matches_single_frame(tmp_path: Path) -> None:
    """highdicom converts the single-frame series; petdx must read both the same way."""
    single = pet_series(n_slices=5, rescale_slope=0.5)
    for k, ds in enumerate(single):
        ds.RescaleSlope = str(0.5 + 0.25 * k)
        ds.PatientName = "Test^Synthetic"
    save_series(single, tmp_path / "single")
    converted = hd.legacy.LegacyConvertedEnhancedPETImage(
        legacy_datasets=single,
        series_instance_uid=generate_uid(),
        series_number=2,
        sop_instance_uid=generate_uid(),
        instance_number=1,
    )
    (tmp_path / "multi").mkdir()
    converted.save_as(tmp_path / "multi" / "converted.dcm")

    def read(folder: Path) -> tuple[np.ndarray, tuple[float, ...], np.ndarray]:
        (entry,) = index_dicom_folder(folder).of_kind(SeriesKind.PT)
        pet = read_series_volume(entry)
        result = compute_suv(pet)
        return suv_volume(pet, result).array, result.factors, pet.volume.affine

    a_suv, a_factors, a_affine = read(tmp_path / "single")
    b_suv, b_factors, b_affine = read(tmp_path / "multi")
    assert np.array_equal(a_suv, b_suv)
    assert a_factors == b_factors
    assert np.allclose(a_affine, b_affine)
