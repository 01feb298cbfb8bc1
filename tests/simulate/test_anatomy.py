"""The analytic adult phantom: plausible organ sizes, scaling with the body, validation."""

from __future__ import annotations

import numpy as np
import pytest

from petdx.errors import InputValidationError
from petdx.simulate import ORGAN_LABELS, build_phantom
from petdx.simulate.imaging import ImagingSettings, pet_grid

# Adult organ volumes (ml), broad ranges around ICRP Publication 89 reference values
# (liver 1800 g male / 1400 g female, both kidneys 310 / 275 g, spleen 150 / 130 g,
# brain 1450 / 1300 g; lungs' air-filled volume at mid-inspiration 3-6 l).
PLAUSIBLE_ML = {
    "liver": (1000, 2400),
    "kidney": (200, 500),
    "spleen": (100, 450),
    "brain": (1000, 1900),
    "lung": (2000, 6500),
    "bladder": (100, 500),
}


def _volumes(sex: str, height_m: float, weight_kg: float) -> dict[str, float]:
    phantom = build_phantom(sex=sex, height_m=height_m, weight_kg=weight_kg)
    grid = pet_grid(phantom, ImagingSettings(voxel_mm=4.0))
    labels = phantom.label_map(grid)
    voxel_ml = 0.064
    volumes = {
        name: float((labels == value).sum()) * voxel_ml for name, value in ORGAN_LABELS.items()
    }
    volumes["total"] = float((labels > 0).sum()) * voxel_ml
    return volumes


@pytest.mark.parametrize(("sex", "height_m", "weight_kg"), [("M", 1.76, 73.0), ("F", 1.63, 60.0)])
def test_reference_adults_have_plausible_organs(
    sex: str, height_m: float, weight_kg: float
) -> None:
    volumes = _volumes(sex, height_m, weight_kg)
    for organ, (low, high) in PLAUSIBLE_ML.items():
        assert low <= volumes[organ] <= high, (organ, volumes[organ])
    # Head to mid-thigh without the arms: most of the body mass (density about 1 g/ml).
    assert 0.5 * weight_kg * 1000 <= volumes["total"] <= 1.0 * weight_kg * 1000


def test_body_scales_with_weight_and_fat_with_bmi() -> None:
    lean = _volumes("M", 1.76, 60.0)
    heavy = _volumes("M", 1.76, 110.0)
    assert heavy["total"] > 1.5 * lean["total"]
    assert heavy["fat"] / heavy["total"] > lean["fat"] / lean["total"]


def test_labels_at_points_agree_with_the_label_map() -> None:
    phantom = build_phantom(sex="F", height_m=1.68, weight_kg=70.0)
    grid = pet_grid(phantom, ImagingSettings(voxel_mm=6.0))
    labels = phantom.label_map(grid)
    rng = np.random.default_rng(0)
    index = [rng.integers(0, n, 500) for n in grid.shape]
    z, y, x = (grid.axis_mm(axis)[index[axis]] for axis in range(3))
    assert np.array_equal(phantom.labels_at(x, y, z), labels[tuple(index)])


@pytest.mark.parametrize(
    ("sex", "height_m", "weight_kg", "message"),
    [
        ("X", 1.7, 70.0, "sex 'X': expected M, F or O"),
        ("M", 2.6, 70.0, "height 2.6 m: expected 1.2 to 2.3 m"),
        ("F", 1.6, 150.0, r"BMI 58.6\): expected a BMI of 14 to 50"),
    ],
)
def test_invalid_bodies(sex: str, height_m: float, weight_kg: float, message: str) -> None:
    with pytest.raises(InputValidationError, match=message):
        build_phantom(sex=sex, height_m=height_m, weight_kg=weight_kg)
