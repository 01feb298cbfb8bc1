"""quantify_visit: every method inside VOIs and around seeds, references, method parsing."""

from __future__ import annotations

import numpy as np
import pytest

from petdx.errors import InputValidationError
from petdx.quantify import LesionSource, MethodSpec, ReferenceSpec, ScanInput, quantify_visit
from petdx.segment import SegmentationMethod
from tests.quantify.phantoms import ball, grid

LIVER = (-40.0, 0.0, 60.0)
HOT = (30.0, 10.0, 40.0)  # core SUV 12 (r 6 mm), rim SUV 6 (to r 14 mm)


def _scan() -> tuple[ScanInput, np.ndarray]:
    volume = grid((30, 30, 36), spacing_mm=(4.0, 4.0, 4.0), origin_mm=(-70.0, -60.0, 0.0))
    values = np.full(volume.shape, 1.0)
    values[ball(volume, LIVER, 25.0)] = 2.0
    rim = ball(volume, HOT, 14.0)
    values[rim] = 6.0
    values[ball(volume, HOT, 6.0)] = 12.0
    rng = np.random.default_rng(4)
    values *= 1 + 0.01 * rng.standard_normal(values.shape)
    return ScanInput(volume.with_array(values.astype(np.float32)), "1.2.3", 1.0), rim


def _voi(scan: ScanInput) -> LesionSource:
    return LesionSource(voi_labels=scan.suv.with_array(ball(scan.suv, HOT, 22.0).astype(np.uint8)))


REFS = ReferenceSpec(centres_mm={"liver": LIVER})


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("voi", "voi"),  # the whole VOI
        ("fixed:5", "rim"),  # >= 5: core and rim
        ("percent:41", "rim"),  # 41 % of ~12 = 4.9: core and rim
        ("percent:70", "core"),  # 8.4: core only
        ("percist", "rim"),  # 1.5 x 2 + 2 x 0.02 = 3.04
        ("a50", "rim"),  # 0.5 (peak - 2) + 2 with peak ~ 8-12: between 5 and 7
        ("grow:5", "rim"),
        ("grow", "rim"),  # lower bound = PERCIST threshold
    ],
)
def test_methods_inside_a_voi(method: str, expected: str) -> None:
    scan, rim = _scan()
    result = quantify_visit([scan], _voi(scan), method=method, references=REFS)
    (tp,) = result.time_points
    (lesion,) = tp.lesions
    masks = {
        "voi": ball(scan.suv, HOT, 22.0),
        "rim": rim,
        "core": ball(scan.suv, HOT, 6.0),
    }
    assert lesion.voxels == int(masks[expected].sum()), method
    assert tp.method == MethodSpec.parse(method)
    assert lesion.tbr_liver == pytest.approx(lesion.suv_max / tp.references["liver"].mean_suv)


def test_seeds_and_refused_reference() -> None:
    scan, rim = _scan()
    refs = ReferenceSpec(centres_mm={"liver": LIVER, "muscle": HOT})  # muscle on the lesion
    result = quantify_visit([scan], LesionSource(seeds_mm=(HOT,)), references=refs)
    (tp,) = result.time_points
    assert tp.method == MethodSpec(SegmentationMethod.PERCENT, 41.0)
    assert tp.lesions[0].voxels == int(rim.sum())
    assert "not homogeneous" in tp.reference_problems["muscle"]
    assert tp.lesions[0].tbr_muscle is None
    table = result.table()
    assert table.loc[0, "lesion_id"] == "L1"
    assert table.loc[0, "method"] == "percent"


def test_method_spec_and_source_errors() -> None:
    assert str(MethodSpec.parse("fixed:2.5")) == "fixed:2.5"
    assert MethodSpec.parse("percent").value == 41.0
    assert MethodSpec.parse("a50").parameters() == {}
    with pytest.raises(InputValidationError, match="takes no value"):
        MethodSpec.parse("percist:3")
    with pytest.raises(InputValidationError, match="not a number"):
        MethodSpec.parse("fixed:abc")
    with pytest.raises(InputValidationError, match="positive"):
        MethodSpec.parse("fixed:-1")
    with pytest.raises(InputValidationError, match="exactly one lesion source"):
        LesionSource(seeds_mm=((0.0, 0.0, 0.0),), detect=True)
    scan, _ = _scan()
    with pytest.raises(InputValidationError, match="needs a background"):
        quantify_visit([scan], _voi(scan), method="a50")
    with pytest.raises(InputValidationError, match="no scan"):
        quantify_visit([], _voi(scan))


SMALL = (-30.0, 30.0, 100.0)  # radius 6 mm, SUV 2.6: below PERCIST's 3.04, 2.6 x its body


def _scan_with_small_lesion() -> ScanInput:
    scan, _ = _scan()
    values = np.asarray(scan.suv.array).copy()
    values[ball(scan.suv, SMALL, 6.0)] = 2.6
    return ScanInput(scan.suv.with_array(values), "1.2.3", 1.0)


def test_detection_methods_in_quantify_visit() -> None:
    scan = _scan_with_small_lesion()
    found = {}
    for method in ("local-contrast", "percist"):
        source = LesionSource(detect=True, detection_method=method)
        (tp,) = quantify_visit([scan], source, references=REFS).time_points
        found[method] = tp
        assert tp.detection is not None
        assert tp.detection["method"] == method
        assert tp.method.method is SegmentationMethod.DETECT
    assert LesionSource(detect=True).detection_method == "local-contrast"  # the default
    small = ball(scan.suv, SMALL, 6.0)
    local_labels = np.asarray(found["local-contrast"].labels.array)
    assert local_labels[small].any()
    assert not np.asarray(found["percist"].labels.array)[small].any()
    assert len(found["local-contrast"].lesions) == len(found["percist"].lesions) + 1
    detection = found["local-contrast"].detection
    assert detection["local_contrast"]["reference_peak_mean_suv"] > 1.9  # the liver sphere
    with pytest.raises(InputValidationError, match="Detection method 'blob'"):
        LesionSource(detect=True, detection_method="blob")
    result = quantify_visit([scan], LesionSource(detect=True), references=REFS)
    assert '"detection_method": "local-contrast"' in result.table().loc[0, "method_parameters"]


def test_retention_of_the_first_voi_carried_without_resegmenting() -> None:
    """Later scan: the lesion's core rises from 12 to 30, its rim stays at 6. Re-segmenting
    (41 % of the new maximum) keeps the core only; the first scan's VOI carried over
    measures the same voxels: its mean is the later image's mean over them."""
    first, rim = _scan()
    values = np.asarray(first.suv.array).copy()
    core = ball(first.suv, HOT, 6.0)
    values[core] *= 2.5
    later = ScanInput(first.suv.with_array(values), "1.2.4", 1.0)
    result = quantify_visit(
        [first, later], _voi(first), method="percent:41", references=REFS, align=False
    )
    t1, t2 = result.time_points
    (a,) = t1.lesions
    voxels = np.asarray(t1.labels.array) == a.label
    assert np.array_equal(voxels, rim)
    expected_mean = float(np.mean(values[voxels], dtype=np.float64))
    assert t2.carried_voi_mean_suv == {a.label: pytest.approx(expected_mean, rel=1e-6)}
    (b,) = t2.lesions
    assert b.voxels == int(core.sum())  # re-segmented: the core only
    expected_ri = (expected_mean - a.suv_mean) / a.suv_mean * 100.0
    follow = result.to_dict()["lesions"][0]["follow_up"][0]
    assert follow["retention_index_voi_mean_pct"] == pytest.approx(expected_ri, rel=1e-6)
    assert follow["suv_mean_in_first_voi"] == pytest.approx(expected_mean, rel=1e-6)
    assert follow["retention_index_mean_pct"] > follow["retention_index_voi_mean_pct"] + 50
    table = result.table()
    later_row = table[table["time_point"] == 2].iloc[0]
    assert later_row["retention_index_voi_mean_pct"] == pytest.approx(expected_ri, rel=1e-6)
    assert np.isnan(table[table["time_point"] == 1].iloc[0]["retention_index_voi_mean_pct"])
    assert result.to_dict()["time_points"][1]["carried_voi_mean_suv"] == {
        str(a.label): pytest.approx(expected_mean, rel=1e-6)
    }
