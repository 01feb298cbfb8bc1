"""Lesion metrics against brute-force oracles (explicit loops) and analytic phantoms."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from petdx.errors import GeometryError, InputValidationError
from petdx.image import Volume
from petdx.quantify import longest_diameter_mm, quantify_lesions
from petdx.segment import ReferenceRegion, ReferenceShape, ReferenceTissue
from tests.quantify.phantoms import grid


def _oracle(volume: Volume, labels: np.ndarray, label: int) -> dict[str, float]:
    """Every metric by explicit loops over the voxels of one label."""
    values, points = [], []
    nz, ny, nx = volume.shape
    for k in range(nz):
        for j in range(ny):
            for i in range(nx):
                if labels[k, j, i] == label:
                    values.append(float(volume.array[k, j, i]))
                    points.append(volume.index_to_patient_mm(np.array([k, j, i], dtype=float)))
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / n)
    voxel_ml = abs(np.linalg.det(volume.affine[:3, :3])) / 1000.0
    diameter = max(math.dist(p, q) for p, q in itertools.combinations(points, 2))
    centroid = [sum(p[a] for p in points) / n for a in range(3)]
    return {
        "voxels": n,
        "suv_max": max(values),
        "suv_min": min(values),
        "suv_mean": mean,
        "suv_sd": sd,
        "volume_ml": n * voxel_ml,
        "tlg": mean * n * voxel_ml,
        "longest_diameter_mm": diameter,
        "cx": centroid[0],
        "cy": centroid[1],
        "cz": centroid[2],
    }


def _reference(mean: float) -> ReferenceRegion:
    dummy = grid((1, 1, 1))
    return ReferenceRegion(
        ReferenceTissue.LIVER,
        "centre",
        (0, 0, 0),
        ReferenceShape("sphere", 30.0),
        mean,
        0.1,
        100,
        1.0,
        dummy,
    )


def test_metrics_against_oracle_on_oblique_grid() -> None:
    rng = np.random.default_rng(11)
    volume = grid((10, 11, 12), spacing_mm=(3.27, 4.6875, 4.0))
    # Rotate the grid 20 degrees about z, so patient and index axes differ.
    angle = math.radians(20.0)
    rot = np.array(
        [[math.cos(angle), -math.sin(angle), 0], [math.sin(angle), math.cos(angle), 0], [0, 0, 1]]
    )
    affine = volume.affine.copy()
    affine[:3, :3] = rot @ affine[:3, :3]
    volume = Volume(rng.gamma(2.0, 1.5, volume.shape).astype(np.float32), affine)
    labels = np.zeros(volume.shape, dtype=np.uint16)
    labels[1:5, 2:6, 3:8] = 1
    labels[6:9, 7:10, 1:3] = 3  # label 2 absent: skipped
    labels[7, 8, 2] = 0
    results = quantify_lesions(
        volume, volume.with_array(labels), references={"liver": _reference(2.0)}
    )
    assert [r.label for r in results] == [1, 3]
    for result in results:
        expected = _oracle(volume, labels, result.label)
        assert result.voxels == expected["voxels"]
        for key in ("suv_max", "suv_min", "suv_mean", "suv_sd", "volume_ml", "tlg"):
            assert getattr(result, key) == pytest.approx(expected[key], rel=1e-6), key
        assert result.longest_diameter_mm == pytest.approx(expected["longest_diameter_mm"])
        assert result.centroid_mm == pytest.approx((expected["cx"], expected["cy"], expected["cz"]))
        assert result.tbr_liver == pytest.approx(expected["suv_max"] / 2.0)
        assert result.tbr_blood is None
        assert result.tbr_muscle is None
        assert result.to_dict()["tbr_blood"] is None


def test_voxelised_cube_has_exact_mtv_and_tlg() -> None:
    """Analytic: a 5 x 6 x 7 voxel cube of SUV 3 on 2 x 3 x 4 mm voxels is 5*6*7*24 mm^3
    = 5.04 ml exactly; TLG = 3 x 5.04; diameter = the box diagonal between centres."""
    volume = grid((12, 12, 12), spacing_mm=(2.0, 3.0, 4.0), fill=0.5)
    labels = np.zeros(volume.shape, dtype=np.uint8)
    labels[2:7, 3:9, 1:8] = 1
    volume = volume.with_array(np.where(labels > 0, 3.0, 0.5).astype(np.float32))
    (cube,) = quantify_lesions(volume, volume.with_array(labels))
    assert cube.voxels == 210
    assert cube.volume_ml == pytest.approx(5.04, rel=1e-12)
    assert cube.tlg == pytest.approx(15.12, rel=1e-6)
    assert (cube.suv_mean, cube.suv_sd, cube.suv_max) == pytest.approx((3.0, 0.0, 3.0))
    assert cube.longest_diameter_mm == pytest.approx(math.sqrt(8**2 + 15**2 + 24**2))


def test_longest_diameter_degenerate_sets() -> None:
    assert longest_diameter_mm(np.zeros((1, 3))) == 0.0
    line = np.array([[0, 0, float(z)] for z in range(10)])
    assert longest_diameter_mm(line) == pytest.approx(9.0)
    rng = np.random.default_rng(3)
    plane = np.column_stack([rng.random((50, 2)) * 10, np.zeros(50)])  # coplanar: Qhull fails
    brute = max(math.dist(p, q) for p, q in itertools.combinations(plane, 2))
    assert longest_diameter_mm(plane) == pytest.approx(brute)


def test_label_map_errors() -> None:
    volume = grid((4, 4, 4), fill=1.0)
    with pytest.raises(GeometryError, match="not on the PET grid"):
        quantify_lesions(volume, Volume(np.ones((4, 4, 5), dtype=np.uint8), volume.affine))
    with pytest.raises(InputValidationError, match="integer labels"):
        quantify_lesions(volume, volume.with_array(np.full(volume.shape, 0.5)))
    with pytest.raises(InputValidationError, match="negative"):
        quantify_lesions(volume, volume.with_array(np.full(volume.shape, -1, dtype=np.int8)))
