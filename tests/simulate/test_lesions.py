"""Lesions: placement in the right tissue, the uptake model, rendering with partial volume."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from petdx.simulate import ORGAN_LABELS, build_phantom
from petdx.simulate.disease import TUMOUR_SPREAD, plan_lesions
from petdx.simulate.imaging import ImagingSettings, lesion_label_map, pet_grid
from petdx.simulate.lesions import PLACEMENTS, lesion_footprints, lesion_suv_series
from petdx.tracers import LesionClass, load_tracer_profile

PROFILES = {name: load_tracer_profile(name) for name in ("ga68-dota-blp", "f18-fdg")}


def _sphere_points(centre: tuple[float, ...], semi: tuple[float, ...], n: int = 400) -> np.ndarray:
    rng = np.random.default_rng(0)
    directions = rng.normal(size=(n, 3))
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    return np.array(centre) + 0.9 * directions * np.array(semi)


def test_lesions_lie_in_their_tissue() -> None:
    """400 points just inside each lesion's surface (rotation ignored: spheres and mildly
    elongated ellipsoids) fall in the tissue its site allows, for every tumour type."""
    phantom = build_phantom(sex="M", height_m=1.78, weight_kg=80.0)
    for k, tumour in enumerate(sorted(TUMOUR_SPREAD)):
        lesions = plan_lesions(
            np.random.default_rng(k),
            phantom,
            patient_id=f"T-{k}",
            tumour_type=tumour,
            profiles=PROFILES,
            min_gap_mm=4.0,
        )
        assert lesions[0].role == "primary"
        assert 2 <= len(lesions) <= 9
        for lesion in lesions:
            radius = min(lesion.semi_axes_mm)
            points = _sphere_points(lesion.centre_mm, (radius,) * 3)
            labels = phantom.labels_at(points[:, 0], points[:, 1], points[:, 2])
            allowed = [ORGAN_LABELS[h] for h in PLACEMENTS[lesion.placement].hosts]
            assert np.isin(labels, allowed).mean() >= 0.97, (tumour, lesion.placement)


def test_some_patients_have_no_nodal_or_distant_malignancy() -> None:
    """About a quarter of patients: every non-primary lesion benign (target condition
    absent), so patient-level specificity is measurable."""
    phantom = build_phantom(sex="F", height_m=1.65, weight_kg=65.0)
    negative = 0
    for k in range(80):
        lesions = plan_lesions(
            np.random.default_rng(100 + k),
            phantom,
            patient_id="T",
            tumour_type="nsclc",
            profiles=PROFILES,
            min_gap_mm=4.0,
        )
        others = [lesion for lesion in lesions if lesion.role != "primary"]
        assert others
        negative += not any(lesion.malignant for lesion in others)
    assert 10 <= negative <= 32


def test_uptake_model_statistics() -> None:
    """Sampled lesions follow the profile's model: median SUV = suv_median x (1 + gain TPS),
    geometric SD = gsd, median ratio between times = ratio of the class medians."""
    profile = PROFILES["ga68-dota-blp"]
    params = profile.lesion_classes[LesionClass.PDL1_POSITIVE_MALIGNANT]
    rng = np.random.default_rng(5)
    series = np.array(
        [
            lesion_suv_series(
                profile,
                LesionClass.PDL1_POSITIVE_MALIGNANT,
                50.0,
                deviate=float(rng.standard_normal()),
                retention_deviates=[float(rng.standard_normal())],
            )
            for _ in range(4000)
        ]
    )
    median = params.suv_median[0] * (1 + params.pdl1_tps_gain * 0.5)
    assert np.median(series[:, 0]) == pytest.approx(median, rel=0.04)
    assert math.exp(np.std(np.log(series[:, 0]))) == pytest.approx(params.gsd, rel=0.03)
    ratio = np.median(series[:, 1] / series[:, 0])
    assert ratio == pytest.approx(params.suv_median[1] / params.suv_median[0], rel=0.02)


def test_rendered_lesion_mean_is_the_true_mean() -> None:
    """Partial-volume rendering: the lesion's activity summed over its voxels, divided by
    its volume, is the true mean SUV (necrotic core and texture included)."""
    phantom = build_phantom(sex="M", height_m=1.76, weight_kg=75.0)
    grid = pet_grid(phantom, ImagingSettings(voxel_mm=4.0))
    lesion = plan_lesions(
        np.random.default_rng(2),
        phantom,
        patient_id="T",
        tumour_type="nsclc",
        profiles=PROFILES,
        min_gap_mm=4.0,
    )[0]
    lesion = dataclasses.replace(lesion, semi_axes_mm=(16.0, 13.0, 15.0), necrotic_core=True)
    (footprint,) = lesion_footprints(grid, [lesion])
    values = footprint.suv_values(np.zeros(footprint.fraction.shape), 6.0)
    rendered_volume_ml = float(footprint.fraction.sum()) * 0.064
    assert rendered_volume_ml == pytest.approx(lesion.volume_ml, rel=0.01)
    assert float(values.sum()) / float(footprint.fraction.sum()) == pytest.approx(6.0, rel=0.02)
    labels = lesion_label_map(grid.shape, [footprint])
    assert float((labels == lesion.label).sum()) * 0.064 == pytest.approx(lesion.volume_ml, rel=0.1)
