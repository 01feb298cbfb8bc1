"""Whole-body candidate detection outside physiological uptake (PERCIST and local contrast)."""

from __future__ import annotations

import numpy as np
import pytest

from petdx.errors import GeometryError, InputValidationError
from petdx.image import Volume
from petdx.segment import DetectionMethod, detect_candidates, reference_from_mask
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
        volume,
        threshold_suv=3.0,
        physiological_masks=[volume.with_array(kidney)],
        method="percist",
    )
    labels = np.asarray(found.labels.array)
    assert found.n_candidates == 2
    assert np.array_equal(labels == 1, lesion_b)  # numbered by decreasing SUVmax
    assert np.array_equal(labels == 2, lesion_a)
    assert found.excluded_voxels == int(kidney.sum())
    assert "2 candidate(s) (percist: SUV >= 3.000)" in str(found)
    assert found.to_dict()["threshold_suv"] == 3.0
    assert found.to_dict()["method"] == "percist"
    assert found.local is None
    without = detect_candidates(volume, threshold_suv=3.0, method=DetectionMethod.PERCIST)
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
    for margin, expected in ((0.0, 1), (8.0, 0)):
        found = detect_candidates(
            volume,
            threshold_suv=3.0,
            physiological_masks=masks,
            method="percist",
            exclusion_margin_mm=margin,
        )
        assert found.n_candidates == expected


def _body() -> tuple[Volume, dict[str, np.ndarray]]:
    """4 mm voxels, body SUV 1; a liver block (SUV 2, the reference), a kidney (SUV 9), a
    small lesion (radius 6 mm, SUV 2.5: below PERCIST's 1.5 x 2 = 3), a large lesion
    (radius 26 mm, SUV 6: longer than the 36 mm background segments) and a lesion beside the
    kidney (SUV 2.5, inside the 10 mm exclusion margin)."""
    volume = grid((50, 40, 40), fill=1.0)
    z, y, x = np.indices(volume.shape)
    liver = (x < 16) & (y < 16) & (z < 20)
    parts = {
        "liver": liver,
        "kidney": ball(volume, (120.0, 40.0, 160.0), 16.0),
        "small": ball(volume, (120.0, 120.0, 60.0), 6.0),
        "large": ball(volume, (100.0, 100.0, 140.0), 26.0),
        "beside": ball(volume, (120.0, 66.0, 160.0), 6.0),
    }
    values = np.ones(volume.shape)
    for name, value in (("liver", 2), ("kidney", 9), ("small", 2.5), ("large", 6), ("beside", 2.5)):
        values[parts[name]] = value
    return volume.with_array(values.astype(np.float32)), parts


def test_local_contrast_adds_small_lesions_to_the_percist_candidates() -> None:
    volume, parts = _body()
    liver = reference_from_mask(volume, "liver", volume.with_array(parts["liver"]))
    kidney = [volume.with_array(parts["kidney"])]
    percist = detect_candidates(
        volume, threshold_suv=3.0, physiological_masks=kidney, method="percist"
    )
    local = detect_candidates(
        volume, threshold_suv=3.0, physiological_masks=kidney, reference=liver
    )
    assert local.method is DetectionMethod.LOCAL_CONTRAST  # the default
    labels = np.asarray(local.labels.array)
    assert percist.n_candidates == 1
    assert np.array_equal(np.asarray(percist.labels.array) == 1, parts["large"])
    assert local.n_candidates == 2
    assert np.array_equal(labels == 1, parts["large"])  # kept by the PERCIST rule
    assert local.local is not None
    assert not np.asarray(local.local.hot.array)[parts["large"]].all()
    assert (labels[parts["small"]] == 2).all()
    assert not labels[parts["beside"]].any()  # inside the kidney's 10 mm margin
    assert not labels[parts["liver"]].any()
    assert local.to_dict()["local_contrast"]["contrast"] == 1.4
    assert "local background" in str(local)
    # The reference may be given as a mask.
    again = detect_candidates(
        volume, threshold_suv=3.0, physiological_masks=kidney, reference=liver.mask
    )
    assert np.array_equal(np.asarray(again.labels.array), labels)


def test_detection_errors() -> None:
    volume = grid((5, 5, 5), fill=1.0)
    with pytest.raises(InputValidationError, match="margin"):
        detect_candidates(volume, threshold_suv=1.0, method="percist", exclusion_margin_mm=-1)
    with pytest.raises(GeometryError, match="physiological-uptake mask #1"):
        detect_candidates(
            volume, threshold_suv=1.0, method="percist", physiological_masks=[grid((2, 2, 2))]
        )
    with pytest.raises(InputValidationError, match="Detection method 'blob': expected one of"):
        detect_candidates(volume, threshold_suv=1.0, method="blob")
    with pytest.raises(InputValidationError, match="needs the reference region"):
        detect_candidates(volume, threshold_suv=1.0)
