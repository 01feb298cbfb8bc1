"""Tracer profiles: the shipped files, the uptake model, and every validation error."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from petdx.errors import InputValidationError
from petdx.nuclides import NUCLIDES
from petdx.tracers import (
    ORGANS,
    LesionClass,
    TracerProfile,
    available_tracers,
    load_tracer_profile,
)

GA = "ga68-dota-blp"
FDG = "f18-fdg"


def _shipped_text(name: str) -> str:
    return load_tracer_profile(name).path.read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "custom.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_profiles_are_listed_and_load() -> None:
    assert set(available_tracers()) >= {GA, FDG}
    for name in (GA, FDG):
        profile = load_tracer_profile(name)
        assert isinstance(profile, TracerProfile)
        assert profile.name == name
        assert set(profile.organs) == set(ORGANS)
        assert set(profile.lesion_classes) == set(LesionClass)
        assert profile.sources


def test_ga68_profile_matches_the_issue() -> None:
    """Issue 3: 2 MBq/kg capped at 185 MBq, 60 and 120 min, Ga-68, assumed values that cite
    the analogue PD-L1 tracers, dosimetry of an analogue 68Ga peptide (0.021 mSv/MBq,
    Sandstrom et al. J Nucl Med 2013)."""
    profile = load_tracer_profile(GA)
    assert profile.nuclide is NUCLIDES["Ga-68"]
    assert profile.radiopharmaceutical == "68Ga-DOTA-BLP"
    assert profile.activity_mbq_per_kg == 2.0
    assert profile.activity_max_mbq == 185.0
    assert profile.time_points_min == (60, 120)
    assert profile.effective_dose_msv_per_mbq == pytest.approx(0.021)
    assert profile.status == "assumed"
    assert "ASSUMED" in profile.dosimetry_source
    cited = " ".join(s.citation for s in profile.sources)
    for analogue in ("NOTA-WL12", "BMS-986192", "NODAGA-NM-01", "BMS-986229"):
        assert analogue in cited
    dois = {s.doi for s in profile.sources}
    assert "10.2967/jnumed.121.262045" in dois  # Zhou et al. J Nucl Med 2022
    assert "10.1038/s41467-018-07131-y" in dois  # Niemeijer et al. Nat Commun 2018


def test_fdg_profile_dosimetry_is_icrp128() -> None:
    """ICRP Publication 128: 18F-FDG adult effective dose 0.019 mSv/MBq."""
    profile = load_tracer_profile(FDG)
    assert profile.nuclide is NUCLIDES["F-18"]
    assert profile.effective_dose_msv_per_mbq == pytest.approx(0.019)
    assert "ICRP Publication 128" in profile.dosimetry_source


def test_ga68_retention_model() -> None:
    """The trial's premise as the profile encodes it: PD-L1-positive tumour uptake held or
    rising from 60 to 120 min, benign inflammatory lesions washing out, uptake rising with
    the tumour proportion score."""
    profile = load_tracer_profile(GA)
    positive = [
        profile.lesion_suv_median(LesionClass.PDL1_POSITIVE_MALIGNANT, t) for t in (60, 120)
    ]
    benign = [profile.lesion_suv_median("benign_inflammatory", t) for t in (60, 120)]
    assert positive[1] >= positive[0]
    assert benign[1] < benign[0]
    low = profile.lesion_suv_median("pdl1_positive_malignant", 60, pdl1_tps_pct=1)
    high = profile.lesion_suv_median("pdl1_positive_malignant", 60, pdl1_tps_pct=80)
    assert high > low


def test_organ_suv_interpolates_log_linearly() -> None:
    """At a tabulated time the value is the table's; half-way between two times it is their
    geometric mean (linear interpolation of log SUV)."""
    profile = load_tracer_profile(GA)
    v60, v120 = profile.organs["liver"].suv_mean
    assert profile.organ_suv("liver", 60) == pytest.approx(v60, rel=1e-12)
    assert profile.organ_suv("liver", 120) == pytest.approx(v120, rel=1e-12)
    assert profile.organ_suv("liver", 90) == pytest.approx(math.sqrt(v60 * v120), rel=1e-12)


def test_lesion_median_pdl1_gain() -> None:
    """suv_median * (1 + gain * TPS / 100), from the profile's own numbers."""
    profile = load_tracer_profile(GA)
    cls = profile.lesion_classes[LesionClass.PDL1_POSITIVE_MALIGNANT]
    expected = cls.suv_median[0] * (1 + cls.pdl1_tps_gain * 0.5)
    got = profile.lesion_suv_median(LesionClass.PDL1_POSITIVE_MALIGNANT, 60, pdl1_tps_pct=50)
    assert got == pytest.approx(expected, rel=1e-12)


def test_time_outside_table_is_refused() -> None:
    profile = load_tracer_profile(GA)
    with pytest.raises(InputValidationError, match=r"tabulated from 60 to 120 min.*30 min"):
        profile.organ_suv("liver", 30)
    with pytest.raises(InputValidationError, match="no organ 'heart'"):
        profile.organ_suv("heart", 60)


@pytest.mark.parametrize(
    ("weight_kg", "expected_mbq"),
    [(70.0, 140.0), (120.0, 185.0), (30.0, 74.0)],
)
def test_administered_activity_rule(weight_kg: float, expected_mbq: float) -> None:
    """2 MBq/kg, capped at 185 MBq, floor 74 MBq."""
    assert load_tracer_profile(GA).administered_activity_mbq(weight_kg) == expected_mbq


def test_administered_activity_needs_a_weight() -> None:
    with pytest.raises(InputValidationError, match="body weight must be positive"):
        load_tracer_profile(GA).administered_activity_mbq(0)


def test_bed_duration_per_time_point() -> None:
    profile = load_tracer_profile(GA)
    assert profile.bed_duration_at_s(60) == profile.bed_duration_s[0]
    assert profile.bed_duration_at_s(125) == profile.bed_duration_s[1]


def test_load_by_path_and_summary(tmp_path: Path) -> None:
    path = _write(tmp_path, _shipped_text(GA))
    profile = load_tracer_profile(path)
    assert profile.path == path
    assert profile.to_dict()["effective_dose_msv_per_mbq"] == pytest.approx(0.021)
    assert "mSv/MBq" in str(profile)
    assert load_tracer_profile(str(path)).name == GA


def test_unknown_name_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputValidationError, match=r"Unknown tracer 'c11-choline'.*f18-fdg"):
        load_tracer_profile("c11-choline")
    with pytest.raises(InputValidationError, match="no such file"):
        load_tracer_profile(tmp_path / "absent.toml")


def test_invalid_toml(tmp_path: Path) -> None:
    path = _write(tmp_path, "name = \n")
    with pytest.raises(InputValidationError, match=r"custom.toml: not valid TOML"):
        load_tracer_profile(path)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("mbq_per_kg = 2.0", "mbq_per_kg = -2.0", r"'activity.mbq_per_kg' must be a number in \(0"),
        ("mbq_per_kg = 2.0\n", "", r"'activity.mbq_per_kg'.*key is missing"),
        ('nuclide = "Ga-68"', 'nuclide = "Ga-67"', r"'nuclide' must be one of F-18"),
        (
            "suv_mean = [5.0, 4.6]",
            "suv_mean = [5.0]",
            r"'organs.liver.suv_mean' must be a list of 2",
        ),
        ("suv_mean = [5.0, 4.6]", "suv_mean = [5.0, -1]", r"'organs.liver.suv_mean'"),
        ("[organs.fat]", "[organs.fatty]", r"'organs.fat' must be a table"),
        ("times_min = [60, 120]", "times_min = [120, 60]", r"'uptake.times_min'.*increasing"),
        ("time_points_min = [60, 120]", "time_points_min = [60, 180]", r"within uptake.times_min"),
        ("bed_duration_s = [180, 300]", "bed_duration_s = [180]", r"'acquisition.bed_duration_s'"),
        ("schema_version = 1", "schema_version = 2", r"'schema_version' must be 1"),
        ('status = "assumed"', 'status = "guessed"', r"'status' must be assumed, typical"),
        ("gsd = 1.3\n", "gsd = 0.5\n", r"'lesion_classes.pdl1_positive_malignant.gsd'"),
        ("malignant = true", 'malignant = "yes"', r"\.malignant' must be true or false"),
        ("min_mbq = 74.0", "min_mbq = 400.0", r"'activity.min_mbq' must be at most"),
        ("[lesion_classes.benign_inflammatory]", "[lesion_classes.benign]", "benign_inflammatory"),
    ],
)
def test_validation_names_file_and_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = _shipped_text(GA)
    assert old in text, f"test setup: {old!r} not in the shipped profile"
    path = _write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(InputValidationError, match=message) as info:
        load_tracer_profile(path)
    assert str(path) in str(info.value)


def test_unknown_organ_and_class_are_refused(tmp_path: Path) -> None:
    text = _shipped_text(GA)
    path = _write(tmp_path, text + "\n[organs.thyroid]\nsuv_mean = [1, 1]\ntexture_cv = 0\n")
    with pytest.raises(InputValidationError, match=r"unknown organ table organs.thyroid"):
        load_tracer_profile(path)
    extra = (
        "\n[lesion_classes.fibrosis]\nmalignant = false\nsuv_median = [1, 1]\n"
        'pdl1_tps_gain = 0\ngsd = 1\nretention_gsd = 1\ndescription = "x"\n'
    )
    path = _write(tmp_path, text + extra)
    with pytest.raises(InputValidationError, match=r"unknown lesion class lesion_classes.fibrosis"):
        load_tracer_profile(path)


def test_sources_are_required(tmp_path: Path) -> None:
    text = _shipped_text(FDG)
    head = text.split("[[sources]]")[0]
    with pytest.raises(InputValidationError, match=r"'sources' must be a non-empty array"):
        load_tracer_profile(_write(tmp_path, head))
    broken = head + '[[sources]]\ncitation = "x"\n'
    with pytest.raises(InputValidationError, match=r"'sources\[0\].used_for'"):
        load_tracer_profile(_write(tmp_path, broken))


@pytest.mark.parametrize("name", ["../../etc/x", "/tmp/x", "a\\\\b", ".hidden", "x" * 65])
def test_a_profile_name_that_cannot_name_a_folder_is_refused(tmp_path: Path, name: str) -> None:
    """The name becomes folder names (simulated DICOM, derived scans; issue 19)."""
    text = _shipped_text(FDG).replace('name = "f18-fdg"', f"name = {name!r}", 1)
    assert f"name = {name!r}" in text
    with pytest.raises(InputValidationError, match=r"key 'name' must be a profile name that can"):
        load_tracer_profile(_write(tmp_path, text))
