"""Lesion matching across time points, retention index, rigid alignment."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import ndimage

from petdx.errors import InputValidationError, UndefinedStatisticWarning
from petdx.quantify import (
    MatchStatus,
    RigidTransform,
    estimate_rigid_transform,
    match_lesions,
    resample_labels,
    retention_index_pct,
    retention_index_pct_values,
)
from tests.quantify.phantoms import ball, grid


def test_retention_index_definition() -> None:
    assert retention_index_pct(4.0, 5.0) == pytest.approx(25.0)
    assert retention_index_pct(4.0, 3.0) == pytest.approx(-25.0)
    with pytest.warns(UndefinedStatisticWarning, match="undefined"):
        assert math.isnan(retention_index_pct(0.0, 3.0))


def test_retention_index_values_element_wise_with_the_same_guard() -> None:
    t1 = [4.0, 4.0, 0.0, -2.0, math.nan, 5.0, math.inf]
    t2 = [5.0, 3.0, 3.0, 1.0, 2.0, math.nan, 1.0]
    values = retention_index_pct_values(t1, t2)
    # the scalar definition, written out, where SUV_t1 > 0 and both are finite
    assert values[:2] == pytest.approx([(5 - 4) / 4 * 100, (3 - 4) / 4 * 100])
    assert np.isnan(values[2:]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedStatisticWarning)
        scalar = [retention_index_pct(a, b) for a, b in zip(t1, t2, strict=True)]
    np.testing.assert_array_equal(values, scalar)


def test_clear_matches_and_unmatched_lesions() -> None:
    c1 = [(0, 0, 0), (100, 0, 0), (0, 200, 0)]
    c2 = [(2, 1, 0), (103, 0, 0), (500, 500, 500)]
    matches = match_lesions([1, 2, 3], c1, [7, 8, 9], c2)
    by_t1 = {m.label_t1: m for m in matches}
    assert by_t1[1].label_t2 == 7
    assert by_t1[1].status is MatchStatus.MATCHED
    assert by_t1[1].distance_mm == pytest.approx(math.sqrt(5))
    assert by_t1[2].label_t2 == 8
    assert by_t1[3].status is MatchStatus.UNMATCHED
    (new,) = [m for m in matches if m.label_t1 is None]
    assert new.label_t2 == 9
    assert "new lesion" in new.reason


def test_ambiguous_matches_are_refused() -> None:
    """Two later lesions 4 and 6 mm from an earlier one: within the 5 mm margin."""
    matches = match_lesions([1], [(0, 0, 0)], [5, 6], [(4, 0, 0), (-6, 0, 0)])
    assert matches[0].status is MatchStatus.AMBIGUOUS
    assert "later lesion 6 at 6.0 mm" in matches[0].reason
    # Two earlier lesions competing for one later lesion.
    matches = match_lesions([1, 2], [(0, 0, 0), (8, 0, 0)], [5], [(3, 0, 0)])
    assert all(m.status is MatchStatus.AMBIGUOUS for m in matches[:2])
    with pytest.raises(InputValidationError, match="max_distance_mm"):
        match_lesions([1], [(0, 0, 0)], [1], [(0, 0, 0)], max_distance_mm=0)
    with pytest.raises(InputValidationError, match="one centroid per label"):
        match_lesions([1, 2], [(0, 0, 0)], [1], [(0, 0, 0)])


def test_rigid_transform_algebra() -> None:
    angle = math.radians(10)
    rot = np.array(
        [[math.cos(angle), -math.sin(angle), 0], [math.sin(angle), math.cos(angle), 0], [0, 0, 1]]
    )
    t = RigidTransform(rot, (1.0, -2.0, 3.0))
    p = np.array([10.0, 20.0, 30.0])
    assert t.inverse().apply(t.apply(p)) == pytest.approx(p)
    assert t.rotation_deg == pytest.approx(10.0)
    assert t.to_dict()["translation_mm"] == [1.0, -2.0, 3.0]


def _phantom() -> object:
    volume = grid((40, 48, 48), fill=0.0, origin_mm=(-94.0, -94.0, -80.0))
    body = ball(volume, (0.0, 0.0, 0.0), 80.0)
    values = np.where(body, 1.0, 0.0)
    values = np.where(ball(volume, (-30.0, 10.0, 20.0), 25.0), 3.0, values)
    values = np.where(ball(volume, (35.0, -20.0, -30.0), 12.0), 8.0, values)
    values = np.where(ball(volume, (10.0, 40.0, 40.0), 8.0), 6.0, values)
    return volume.with_array(ndimage.gaussian_filter(values, 1.0).astype(np.float32))


@pytest.mark.slow
def test_alignment_recovers_a_known_translation() -> None:
    """The later scan is the earlier one moved by (+8, -4, +8) mm (the same frame of
    reference): a point p of the earlier scan is found at p + shift in the later one."""
    fixed = _phantom()
    shift_mm = np.array([8.0, -4.0, 8.0])  # LPS, whole voxels
    # Array axes are (z, y, x) with 4 mm voxels: move content by +shift.
    moved = ndimage.shift(np.asarray(fixed.array), shift_mm[::-1] / 4.0, order=1)
    moving = fixed.with_array(moved.astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        transform = estimate_rigid_transform(fixed, moving)
    # The transform maps later-scan points to the earlier scan: p + shift -> p.
    p = np.array([35.0, -20.0, -30.0])
    assert transform.apply(p + shift_mm) == pytest.approx(p, abs=1.0)
    assert transform.rotation_deg < 1.0
    labels = fixed.with_array(ball(fixed, (35.0, -20.0, -30.0), 12.0).astype(np.uint32))
    carried = resample_labels(labels, moving, transform)
    expected = ball(moving, tuple(p + shift_mm), 12.0)
    overlap = (np.asarray(carried.array) > 0) & expected
    assert overlap.sum() / expected.sum() > 0.95
