"""One test per SUV rule, including the cases no reference object on disk covers.

Expected values are computed here from first principles (the physical decay law, the
published body-size formulas, numerical integration for in-frame decay), not by calling the
code under test. Baseline: 370 MBq F-18 injected 10:00, reference 11:00, 70 kg.
"""

from __future__ import annotations

import math

import pytest
from pydicom.dataset import Dataset
from scipy.integrate import quad

from petdx.errors import (
    Hint,
    InputValidationError,
    InvalidSeriesError,
    MissingAttributeError,
    NonQuantitativeSeriesError,
)
from petdx.suv import (
    ReferenceTimeRule,
    SuvNormalization,
    SuvOverrides,
    average_count_rate_time_s,
    compute_suv,
)
from tests.factories import frames, pet_series

F18_S = 6586.2
GA68_S = 4062.6
DOSE_BQ = 370e6
WEIGHT_G = 70_000.0


def bw_factor(elapsed_s: float, half_life_s: float = F18_S, dose: float = DOSE_BQ) -> float:
    return WEIGHT_G / (dose * 0.5 ** (elapsed_s / half_life_s))


def _radiopharm(ds: Dataset) -> Dataset:
    return ds.RadiopharmaceuticalInformationSequence[0]


def test_baseline_series_datetime() -> None:
    result = compute_suv(frames(pet_series()))
    assert result.reference_time_rule is ReferenceTimeRule.SERIES_DATETIME
    assert result.suv_factor == pytest.approx(bw_factor(3600.0), rel=1e-12)
    assert result.warnings == ()
    assert result.reference_datetime is not None
    assert result.reference_datetime.isoformat() == "2025-01-01T11:00:00"


def test_ge_private_scan_datetime_wins() -> None:
    series = pet_series()
    for ds in series:
        ds.SeriesTime = "113000"  # a re-reconstruction half an hour later
        block = ds.private_block(0x0009, "GEMS_PETD_01", create=True)
        block.add_new(0x0D, "DT", "20250101104500")
    result = compute_suv(frames(series))
    assert result.reference_time_rule is ReferenceTimeRule.GE_PRIVATE_SCAN_DATETIME
    assert result.suv_factor == pytest.approx(bw_factor(2700.0), rel=1e-12)


def test_injection_before_midnight_scan_after() -> None:
    series = pet_series()
    for ds in series:
        del _radiopharm(ds).RadiopharmaceuticalStartDateTime
        _radiopharm(ds).RadiopharmaceuticalStartTime = "233000"
        ds.SeriesDate = ds.AcquisitionDate = "20250102"
        ds.SeriesTime = ds.AcquisitionTime = "003000"
    result = compute_suv(frames(series))
    assert result.injection_datetime is not None
    assert result.injection_datetime.isoformat() == "2025-01-01T23:30:00"
    assert result.suv_factor == pytest.approx(bw_factor(3600.0), rel=1e-12)
    assert any("day before" in w for w in result.warnings)


def test_injection_time_only_same_day() -> None:
    series = pet_series()
    for ds in series:
        del _radiopharm(ds).RadiopharmaceuticalStartDateTime
    result = compute_suv(frames(series))
    assert result.suv_factor == pytest.approx(bw_factor(3600.0), rel=1e-12)
    assert result.warnings == ()


def test_injection_datetime_after_scan_is_refused() -> None:
    series = pet_series()
    for ds in series:
        _radiopharm(ds).RadiopharmaceuticalStartDateTime = "20250101120000"
    with pytest.raises(InvalidSeriesError, match=r"RadiopharmaceuticalStartDateTime .* after"):
        compute_suv(frames(series))


def test_missing_injection_time() -> None:
    series = pet_series()
    for ds in series:
        del _radiopharm(ds).RadiopharmaceuticalStartDateTime
        del _radiopharm(ds).RadiopharmaceuticalStartTime
    with pytest.raises(MissingAttributeError, match=r"RadiopharmaceuticalStartTime \(0018,1072\)"):
        compute_suv(frames(series))


def test_gallium_68() -> None:
    series = pet_series()
    for ds in series:
        item = _radiopharm(ds)
        item.Radiopharmaceutical = "68Ga-DOTA-BLP"
        item.RadionuclideHalfLife = "4062.6"
        item.RadionuclideCodeSequence[0].CodeValue = "35337001"
        item.RadionuclideCodeSequence[0].CodeMeaning = "^68^Gallium"
    result = compute_suv(frames(series))
    assert result.nuclide == "Ga-68"
    assert result.suv_factor == pytest.approx(bw_factor(3600.0, GA68_S), rel=1e-12)
    assert result.warnings == ()


def test_half_life_from_table_when_missing() -> None:
    series = pet_series()
    for ds in series:
        item = _radiopharm(ds)
        del item.RadionuclideHalfLife
        item.RadionuclideCodeSequence[0].CodeValue = "35337001"
        item.RadionuclideCodeSequence[0].CodeMeaning = "^68^Gallium"
    result = compute_suv(frames(series))
    assert result.half_life_s == GA68_S
    assert result.suv_factor == pytest.approx(bw_factor(3600.0, GA68_S), rel=1e-12)
    assert any("RadionuclideHalfLife missing" in w for w in result.warnings)


def test_header_half_life_disagreeing_with_nuclide_warns() -> None:
    series = pet_series()
    for ds in series:
        _radiopharm(ds).RadionuclideHalfLife = "4062.6"  # Ga-68 value on an F-18 code
    result = compute_suv(frames(series))
    assert result.half_life_s == 4062.6
    assert any("differs by" in w and "F-18" in w for w in result.warnings)


def test_half_life_unknown_nuclide_and_missing_value() -> None:
    series = pet_series()
    for ds in series:
        item = _radiopharm(ds)
        del item.RadionuclideHalfLife
        del item.RadionuclideCodeSequence
        item.Radiopharmaceutical = "mystery tracer"
    with pytest.raises(MissingAttributeError, match=r"RadionuclideHalfLife \(0018,1075\)"):
        compute_suv(frames(series))


def test_weight_in_grams() -> None:
    series = pet_series()
    for ds in series:
        ds.PatientWeight = "70000"
    result = compute_suv(frames(series))
    assert result.body_weight_kg == 70.0
    assert result.suv_factor == pytest.approx(bw_factor(3600.0), rel=1e-12)
    assert any("grams" in w for w in result.warnings)


def test_dose_in_mbq() -> None:
    series = pet_series()
    for ds in series:
        _radiopharm(ds).RadionuclideTotalDose = "370"
    result = compute_suv(frames(series))
    assert result.injected_activity_bq == pytest.approx(DOSE_BQ)
    assert result.suv_factor == pytest.approx(bw_factor(3600.0), rel=1e-12)
    assert any("MBq" in w for w in result.warnings)


def test_admin_does_not_decay() -> None:
    series = pet_series()
    for ds in series:
        ds.DecayCorrection = "ADMIN"
    result = compute_suv(frames(series))
    assert result.reference_time_rule is ReferenceTimeRule.ADMINISTRATION
    assert result.suv_factor == pytest.approx(WEIGHT_G / DOSE_BQ, rel=1e-12)


def test_none_decays_each_frame_with_in_frame_integral() -> None:
    """Three beds starting 11:00, 11:05, 11:10, 300 s each, not decay corrected."""
    series = pet_series(n_slices=3)
    starts = ["110000", "110500", "111000"]
    for ds, start in zip(series, starts, strict=True):
        ds.DecayCorrection = "NONE"
        ds.CorrectedImage = ["NORM", "ATTN", "SCAT"]
        ds.AcquisitionTime = start
    result = compute_suv(frames(series))
    assert result.reference_time_rule is ReferenceTimeRule.FRAME_ACQUISITION
    lam = math.log(2) / F18_S
    for k, factor in enumerate(result.factors):
        t0 = 3600.0 + 300.0 * k
        mean_activity = quad(lambda t: DOSE_BQ * math.exp(-lam * t), t0, t0 + 300.0)[0] / 300.0
        assert factor == pytest.approx(WEIGHT_G / mean_activity, rel=1e-9)
    assert result.factors[0] < result.factors[1] < result.factors[2]


def test_none_without_frame_duration() -> None:
    series = pet_series(n_slices=2)
    for ds in series:
        ds.DecayCorrection = "NONE"
        ds.CorrectedImage = ["ATTN"]
        del ds.ActualFrameDuration
    with pytest.raises(MissingAttributeError, match=r"ActualFrameDuration \(0018,1242\)"):
        compute_suv(frames(series))


def test_series_time_after_acquisition_back_computes() -> None:
    """Siemens-style: SeriesTime rewritten; FrameReferenceTime gives the reference back."""
    series = pet_series()
    duration = 300.0
    t_avg = average_count_rate_time_s(duration, F18_S)
    for ds in series:
        ds.SeriesTime = "120000"
        ds.AcquisitionTime = "110200"  # bed started 2 min after the 11:00 reference
        ds.FrameReferenceTime = f"{(120.0 + t_avg) * 1000.0:.4f}"
    result = compute_suv(frames(series))
    assert result.reference_time_rule is ReferenceTimeRule.BACK_COMPUTED
    assert result.suv_factor == pytest.approx(bw_factor(3600.0), rel=1e-9)


def test_average_count_rate_time_oracle() -> None:
    """t_avg solves A(t_avg) = mean of A over the frame (numerical oracle)."""
    duration = 600.0
    lam = math.log(2) / F18_S
    mean = quad(lambda t: math.exp(-lam * t), 0, duration)[0] / duration
    expected = -math.log(mean) / lam
    assert average_count_rate_time_s(duration, F18_S) == pytest.approx(expected, rel=1e-10)


def test_series_time_after_acquisition_without_frame_reference() -> None:
    series = pet_series()
    for ds in series:
        ds.SeriesTime = "120000"
        ds.FrameReferenceTime = "0"
    result = compute_suv(frames(series))
    assert result.reference_time_rule is ReferenceTimeRule.EARLIEST_ACQUISITION
    assert result.suv_factor == pytest.approx(bw_factor(3600.0), rel=1e-12)
    assert any("earliest AcquisitionDate/Time" in w for w in result.warnings)


def test_missing_weight_names_attribute_and_series() -> None:
    series = pet_series()
    uid = series[0].SeriesInstanceUID
    for ds in series:
        del ds.PatientWeight
    with pytest.raises(MissingAttributeError, match=rf"{uid}.*PatientWeight \(0010,1030\)"):
        compute_suv(frames(series))


def test_weight_override() -> None:
    series = pet_series()
    for ds in series:
        del ds.PatientWeight
    result = compute_suv(frames(series), overrides=SuvOverrides(body_weight_kg=80.0))
    assert result.suv_factor == pytest.approx(bw_factor(3600.0) * 80 / 70, rel=1e-12)


@pytest.mark.parametrize("value", [0.5, 600.0])
def test_weight_override_validated(value: float) -> None:
    with pytest.raises(ValueError, match=f"body_weight_kg {value}: expected") as refused:
        SuvOverrides(body_weight_kg=value)
    assert isinstance(refused.value, InputValidationError)
    assert refused.value.hint == Hint("body_weight_kg")


@pytest.mark.parametrize(
    ("corrected", "missing"),
    [(["NORM", "DECY"], "ATTN"), (["NORM", "ATTN"], "DECY"), (["NORM"], "ATTN and DECY")],
)
def test_not_corrected_is_refused(corrected: list[str], missing: str) -> None:
    series = pet_series()
    for ds in series:
        ds.CorrectedImage = corrected
    with pytest.raises(NonQuantitativeSeriesError, match=rf"{missing} is missing"):
        compute_suv(frames(series))


def test_decay_spelled_decay_is_accepted() -> None:
    series = pet_series()
    for ds in series:
        ds.CorrectedImage = ["ATTN", "DECAY"]
    assert compute_suv(frames(series)).suv_factor == pytest.approx(bw_factor(3600.0))


@pytest.mark.parametrize("units", ["PROPCNTS", "PROPCPS", "1CM"])
def test_relative_units_are_refused(units: str) -> None:
    series = pet_series()
    for ds in series:
        ds.Units = units
    with pytest.raises(NonQuantitativeSeriesError, match=rf"Units \(0054,1001\) is {units}"):
        compute_suv(frames(series))


def test_nonzero_rescale_intercept_is_refused() -> None:
    series = pet_series()
    series[2].RescaleIntercept = "-5"
    with pytest.raises(NonQuantitativeSeriesError, match=r"RescaleIntercept \(0028,1052\) is -5"):
        compute_suv(frames(series))


def test_decay_corrected_flag_contradicting_none() -> None:
    series = pet_series()
    for ds in series:
        ds.DecayCorrection = "NONE"
    with pytest.raises(NonQuantitativeSeriesError, match="contradict"):
        compute_suv(frames(series))


def test_philips_counts_without_factors() -> None:
    series = pet_series()
    for ds in series:
        ds.Units = "CNTS"
        ds.Manufacturer = "Philips Medical Systems"
    with pytest.raises(MissingAttributeError, match=r"\(7053,1000\).*\(7053,1009\)"):
        compute_suv(frames(series))


def test_philips_activity_factor_per_slice() -> None:
    series = pet_series(n_slices=2)
    for k, ds in enumerate(series):
        ds.Units = "CNTS"
        ds.Manufacturer = "Philips Medical Systems"
        block = ds.private_block(0x7053, "Philips PET Private Group", create=True)
        block.add_new(0x09, "DS", str(0.5 * (k + 1)))
    result = compute_suv(frames(series))
    assert result.factors[0] == pytest.approx(0.5 * bw_factor(3600.0), rel=1e-12)
    assert result.factors[1] == pytest.approx(1.0 * bw_factor(3600.0), rel=1e-12)


# Body-size normalisations: 70 kg, 1.75 m, male. Quantities from the published formulas.
_BMI = 70 / 1.75**2
_LBM_JANMA_KG = 9270 * 70 / (6680 + 216 * _BMI)
_LBM_JAMES_KG = 1.10 * 70 - 128 * (70 / 175) ** 2
_BSA_M2 = 0.007184 * 70**0.425 * 175**0.725
_IBW_KG = 48.0 + 1.06 * (175 - 152)


@pytest.mark.parametrize(
    ("normalization", "quantity"),
    [
        (SuvNormalization.SUL, _LBM_JANMA_KG * 1000),
        (SuvNormalization.SUL_JAMES, _LBM_JAMES_KG * 1000),
        (SuvNormalization.BSA, _BSA_M2 * 1e4),
        (SuvNormalization.IBW, _IBW_KG * 1000),
    ],
)
def test_normalizations(normalization: SuvNormalization, quantity: float) -> None:
    result = compute_suv(frames(pet_series()), normalization=normalization)
    expected = bw_factor(3600.0) * quantity / WEIGHT_G
    assert result.suv_factor == pytest.approx(expected, rel=1e-12)
    assert result.unit == ("cm2/ml" if normalization is SuvNormalization.BSA else "g/ml")


def test_dubois_published_value() -> None:
    """DuBois & DuBois 1916 give 1.85 m^2 for 70 kg, 175 cm (their nomogram, 2 decimals)."""
    result = compute_suv(frames(pet_series()), normalization="bsa")
    assert result.normalizing_quantity is not None
    assert result.normalizing_quantity / 1e4 == pytest.approx(1.85, abs=0.005)


def test_sul_needs_height() -> None:
    series = pet_series()
    for ds in series:
        del ds.PatientSize
    with pytest.raises(MissingAttributeError, match=r"PatientSize \(0010,1020\).*height_m") as e:
        compute_suv(frames(series), normalization="sul")
    assert e.value.hint == Hint("height_m")


def test_sul_needs_sex() -> None:
    series = pet_series()
    for ds in series:
        del ds.PatientSex
    with pytest.raises(MissingAttributeError, match=r"PatientSex \(0010,0040\)"):
        compute_suv(frames(series), normalization="sul")


def test_height_in_centimetres() -> None:
    series = pet_series()
    for ds in series:
        ds.PatientSize = "175"
    result = compute_suv(frames(series), normalization="sul")
    assert result.height_m == pytest.approx(1.75)
    assert any("centimetres" in w for w in result.warnings)


def test_gml_lean_body_mass_converted_to_body_weight() -> None:
    series = pet_series()
    for ds in series:
        ds.Units = "GML"
        ds.SUVType = "LBMJAMES128"
    result = compute_suv(frames(series))
    assert result.suv_factor == pytest.approx(70 / _LBM_JAMES_KG, rel=1e-12)
    assert result.reference_time_rule is ReferenceTimeRule.NOT_NEEDED


def test_gml_body_weight_needs_nothing_else() -> None:
    series = pet_series()
    for ds in series:
        ds.Units = "GML"
        del ds.PatientWeight
        del ds.RadiopharmaceuticalInformationSequence
    assert compute_suv(frames(series)).suv_factor == 1.0
