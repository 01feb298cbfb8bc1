"""Whole-body candidate detection outside physiological uptake."""

from __future__ import annotations

import numpy as np
import pytest

from petdx.errors import GeometryError, InputValidationError
from petdx.segment import detect_candidates
from tests.quantify.phantoms import ball, grid


def test_candidates_outside_the_physiological_mask() -> None:
    volume = grid((30, 30, 30), fill=1.0)
    kidney = ball(volume, (30.0, 30.0, 30.0), 16.0)
    lesion_a = ball(volume, (90.0, 90.0, 90.0), 10.0)
    lesion_b = ball(volume, (90.0, 30.0, 90.0), 8.0)
    values = np.where(kidney, 9.0, 1.0)
    values = np.where(lesion_a, 5.0, values)
    values = np.where(lesion_b, 7.0, values)
    volume = volume.with_array(values.astype(np.float32))
    found = detect_candidates(
        volume, threshold_suv=3.0, physiological_masks=[volume.with_array(kidney)]
    )
    labels = np.asarray(found.labels.array)
    assert found.n_candidates == 2
    assert np.array_equal(labels == 1, lesion_b)  # numbered by decreasing SUVmax
    assert np.array_equal(labels == 2, lesion_a)
    assert found.excluded_voxels == int(kidney.sum())
    assert "2 candidate(s)" in str(found)
    assert found.to_dict()["threshold_suv"] == 3.0
    without = detect_candidates(volume, threshold_suv=3.0)
    assert without.n_candidates == 3


def test_spill_over_rim_is_excluded_by_the_margin() -> None:
    """A hot organ blurred 4 mm beyond its mask: with no margin its rim becomes a candidate;
    a margin of two voxels (8 mm, centre to centre) removes it."""
    volume = grid((30, 30, 30), fill=1.0)
    organ = ball(volume, (60.0, 60.0, 60.0), 20.0)
    rim = ball(volume, (60.0, 60.0, 60.0), 24.0) & ~organ
    values = np.where(organ, 9.0, np.where(rim, 4.0, 1.0)).astype(np.float32)
    volume = volume.with_array(values)
    masks = [volume.with_array(organ)]
    assert (
        detect_candidates(
            volume, threshold_suv=3.0, physiological_masks=masks, exclusion_margin_mm=0.0
        ).n_candidates
        == 1
    )
    assert (
        detect_candidates(
            volume, threshold_suv=3.0, physiological_masks=masks, exclusion_margin_mm=8.0
        ).n_candidates
        == 0
    )


def test_detection_errors() -> None:
    volume = grid((5, 5, 5), fill=1.0)
    with pytest.raises(InputValidationError, match="margin"):
        detect_candidates(volume, threshold_suv=1.0, exclusion_margin_mm=-1)
    with pytest.raises(GeometryError, match="physiological-uptake mask #1"):
        detect_candidates(volume, threshold_suv=1.0, physiological_masks=[grid((2, 2, 2))])
