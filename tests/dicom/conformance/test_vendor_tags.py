"""Vendor private SUV scaling read beside petdx's own factor (issue 12, Build 5).

Sources and oracles:

* cornerstone calculate-suv vectors (``../shared/data/cornerstone-suv-vectors``, real Philips
  headers, MIT): ``PHILIPS_BQML`` carries SUV Scale Factor (7053,1000) 0.003515736 and
  Activity Concentration Scale Factor (7053,1009) 4.709921 on a BQML series, whose SUVbw
  factor calculate-suv computes as 0.0007463747013889488 (data README);
  ``PHILIPS_CNTS_AND_BQML_SUV`` is CNTS with (7053,1000) 0.000551 and (7053,1009) 1.602563.
* IBSI SUV DROs (``../shared/data/ibsi-suv-dro``, CC BY 4.0): every DRO has the BQML->SUVbw
  factor 1/3600 g/Bq (README: 70 kg, 368.08 MBq, injection 10:00, scan 11:00, F-18 6586.2 s);
  DRO_2_4 is Philips CNTS with (7053,1000) 0.0005, so its counts are 0.0005 / (1/3600) =
  1.8 Bq/ml each, the (7053,1009) a consistent scanner would store.

Expected petdx factors are computed here by hand from the header values (read with pydicom),
with the decay law A = A0 * 2^(-t/T), not by calling petdx.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pydicom
import pytest
from typer.testing import CliRunner

from petdx.cli.app import app
from petdx.dicom import SeriesKind, index_dicom_folder, read_series_volume
from petdx.suv import compute_suv, scanner_vendor, suv_volume
from tests.factories import frames, pet_series
from tests.suv.cornerstone import load_vector

PHILIPS = "Philips PET Private Group"
DRO_FACTOR = 1.0 / 3600.0  # README of ibsi-suv-dro: the BQML->SUVbw factor of every DRO


def _hand_bw_factor(ds: pydicom.Dataset, *, weight_kg: float | None = None) -> float:
    """SUVbw factor of a START series from its header: M / (A0 * 2^-(t_series - t_inj)/T)."""
    item = ds.RadiopharmaceuticalInformationSequence[0]
    injected = datetime.strptime(str(item.RadiopharmaceuticalStartDateTime)[:14], "%Y%m%d%H%M%S")
    series = datetime.strptime(f"{ds.SeriesDate}{str(ds.SeriesTime)[:6]}", "%Y%m%d%H%M%S")
    elapsed_s = (series - injected).total_seconds()
    activity = float(item.RadionuclideTotalDose) * 2.0 ** (
        -elapsed_s / float(item.RadionuclideHalfLife)
    )
    return (weight_kg or float(ds.PatientWeight)) * 1000.0 / activity


def _copy_dro(
    shared_data: Path,
    dro: str,
    target: Path,
    *,
    suv_factor: float | None = None,
    activity_factor: float | None = None,
    weight_kg: float | None = None,
) -> Path:
    """A copy of a DRO's PET series with Philips private factors added (and the weight
    edited), written by pydicom."""
    target.mkdir(parents=True)
    for path in sorted((shared_data / "ibsi-suv-dro" / dro / "PT").iterdir()):
        ds = pydicom.dcmread(path)
        block = ds.private_block(0x7053, PHILIPS, create=True)
        if suv_factor is not None:
            block.add_new(0x00, "DS", f"{suv_factor:.10g}")
        if activity_factor is not None:
            block.add_new(0x09, "DS", f"{activity_factor:.10g}")
        if weight_kg is not None:
            ds.PatientWeight = f"{weight_kg:g}"
        ds.save_as(target / path.name, enforce_file_format=True)
    return target


def _read(folder: Path) -> tuple[pydicom.Dataset, object, object]:
    (entry,) = index_dicom_folder(folder).of_kind(SeriesKind.PT)
    series = read_series_volume(entry)
    return entry.first_header, series, compute_suv(series)


def _vendor_warnings(warnings: tuple[str, ...]) -> list[str]:
    return [w for w in warnings if "scanner's SUVbw factor" in w]


def test_real_philips_bqml_header_agrees(shared_data: Path) -> None:
    vector = shared_data / "cornerstone-suv-vectors" / "PHILIPS_BQML-instances.json"
    result = compute_suv(frames(load_vector(vector)))
    vendor = 0.003515736 / 4.709921  # (7053,1000) / (7053,1009) from the vector, by hand
    petdx = 0.0007463747013889488  # calculate-suv's factor for this header
    assert result.suv_factor == pytest.approx(petdx, rel=1e-6)
    check = result.vendor_check
    assert check is not None
    assert check.used == "petdx"
    assert "(7053,1000) / Activity Concentration Scale Factor (7053,1009)" in check.source
    assert check.vendor_factor == pytest.approx(vendor, rel=1e-9)
    assert check.relative_difference == pytest.approx(vendor / petdx - 1.0, rel=1e-4)
    assert abs(check.relative_difference) < 0.001  # the scanner and the standard agree
    assert _vendor_warnings(result.warnings) == []
    assert result.to_dict()["vendor_check"]["vendor_suv_factor"] == pytest.approx(vendor)


def test_real_philips_counts_with_both_factors(shared_data: Path) -> None:
    vector = shared_data / "cornerstone-suv-vectors" / "PHILIPS_CNTS_AND_BQML_SUV-instances.json"
    datasets = load_vector(vector)
    result = compute_suv(frames(datasets))
    # By hand from the vector: 54 kg, 238 MBq, injection 08:30:00, SeriesTime 09:35:56
    # (before AcquisitionTime 09:54:39, so the reference), half-life 6588 s.
    for ds in datasets:
        assert (ds.SeriesTime, ds.AcquisitionTime) == ("093556", "095439")
    own = 1.602563 * 54_000.0 / (238e6 * 2.0 ** (-(3600 + 5 * 60 + 56) / 6588.0))
    check = result.vendor_check
    assert check is not None
    assert check.used == "scanner"
    assert result.suv_factor == pytest.approx(0.000551, rel=1e-9)  # QIBA: the scanner's
    assert check.vendor_factor == pytest.approx(0.000551, rel=1e-9)
    assert check.petdx_factor == pytest.approx(own, rel=1e-9)
    assert check.relative_difference == pytest.approx(0.000551 / own - 1.0, rel=1e-6)
    assert _vendor_warnings(result.warnings) == []


def test_dro_counts_with_consistent_activity_factor_agrees(
    shared_data: Path, tmp_path: Path
) -> None:
    folder = _copy_dro(shared_data, "DRO_2_4", tmp_path / "pt", activity_factor=1.8)
    header, series, result = _read(folder)
    check = result.vendor_check
    assert check is not None
    assert check.agrees
    assert check.vendor_factor == pytest.approx(0.0005, rel=1e-12)
    assert check.petdx_factor == pytest.approx(1.8 * _hand_bw_factor(header), rel=1e-9)
    assert check.petdx_factor == pytest.approx(0.0005, rel=1e-3)  # 1.8 x 1/3600
    assert _vendor_warnings(result.warnings) == []
    assert float(np.max(suv_volume(series, result).array)) == pytest.approx(4.00, abs=0.005)


def test_dro_counts_with_activity_factor_two_percent_off_warns(
    shared_data: Path, tmp_path: Path
) -> None:
    folder = _copy_dro(shared_data, "DRO_2_4", tmp_path / "pt", activity_factor=1.8 / 1.02)
    header, _series, result = _read(folder)
    own = 1.8 / 1.02 * _hand_bw_factor(header)
    assert result.suv_factor == pytest.approx(0.0005, rel=1e-12)  # the scanner's is applied
    (warning,) = _vendor_warnings(result.warnings)
    assert header.SeriesInstanceUID in warning
    assert f"{0.0005:.6g}" in warning
    assert f"{own:.6g}" in warning
    assert f"{0.0005 / own - 1:+.2%}" in warning
    assert "petdx used the scanner's" in warning
    assert "edited after the scan" in warning


def test_dro_bqml_with_philips_suv_factor_agrees(shared_data: Path, tmp_path: Path) -> None:
    folder = _copy_dro(shared_data, "DRO_0_0", tmp_path / "pt", suv_factor=DRO_FACTOR)
    header, _, result = _read(folder)
    check = result.vendor_check
    assert check is not None
    assert check.used == "petdx"
    assert check.source.endswith("taken as SUVbw per Bq/ml")
    assert result.suv_factor == pytest.approx(_hand_bw_factor(header), rel=1e-9)
    assert abs(check.relative_difference) < 1e-3
    assert _vendor_warnings(result.warnings) == []


def test_dro_bqml_with_philips_suv_factor_two_percent_off_warns(
    shared_data: Path, tmp_path: Path
) -> None:
    vendor = 1.02 * DRO_FACTOR
    folder = _copy_dro(shared_data, "DRO_0_0", tmp_path / "pt", suv_factor=vendor)
    header, _, result = _read(folder)
    own = _hand_bw_factor(header)
    assert result.suv_factor == pytest.approx(own, rel=1e-9)  # petdx applies its own
    (warning,) = _vendor_warnings(result.warnings)
    assert header.SeriesInstanceUID in warning
    assert f"{vendor:.6g}" in warning
    assert f"{own:.6g}" in warning
    assert f"{vendor / own - 1:+.2%}" in warning
    assert result.vendor_check is not None
    assert result.vendor_check.relative_difference == pytest.approx(vendor / own - 1, rel=1e-6)


def test_weight_edited_after_the_scan_warns(shared_data: Path, tmp_path: Path) -> None:
    # The scanner computed its factor with 70 kg; the weight was corrected to 75 kg later.
    folder = _copy_dro(
        shared_data, "DRO_0_0", tmp_path / "pt", suv_factor=DRO_FACTOR, weight_kg=75.0
    )
    header, _, result = _read(folder)
    own = _hand_bw_factor(header, weight_kg=75.0)
    assert result.suv_factor == pytest.approx(own, rel=1e-9)
    (warning,) = _vendor_warnings(result.warnings)
    assert f"{DRO_FACTOR / own - 1:+.2%}" in warning  # 70/75 - 1 = -6.67 %
    assert "PatientWeight (0010,1030)" in warning


def test_counts_with_only_the_suv_factor_has_nothing_to_check(shared_data: Path) -> None:
    _, _, result = _read(shared_data / "ibsi-suv-dro" / "DRO_2_4" / "PT")
    assert result.vendor_check is None
    assert result.suv_factor == pytest.approx(0.0005, rel=1e-12)


def test_suv_cli_reports_the_scanner_factor(shared_data: Path, tmp_path: Path) -> None:
    vendor = 1.02 * DRO_FACTOR
    folder = _copy_dro(shared_data, "DRO_0_0", tmp_path / "pt", suv_factor=vendor)
    run = CliRunner().invoke(app, ["suv", str(folder), "--json"])
    assert run.exit_code == 0, run.output
    (row,) = json.loads(run.stdout)
    assert row["vendor_check"]["vendor_suv_factor"] == pytest.approx(vendor, rel=1e-9)
    assert row["vendor_check"]["agrees"] is False
    assert any("scanner's SUVbw factor" in w for w in row["warnings"])
    table = CliRunner().invoke(app, ["suv", str(folder)])
    assert table.exit_code == 0, table.output
    # the 80-column table keeps the warning line; the wide table also shows the scanner's
    # factor beside petdx's
    assert f"is {vendor:.6g} and petdx's is" in table.output
    wide = CliRunner().invoke(app, ["suv", str(folder), "--wide"])
    assert wide.exit_code == 0, wide.output
    assert "scanner SUVbw" in wide.stdout
    assert f"is {vendor:.6g} and petdx's is" in wide.output


# --- GE private dose record (GEMS_PETD_01, group 0009) -------------------------------------
# Baseline series of tests/factories.py: 370 MBq F-18 (6586.2 s) injected 10:00, series 11:00,
# 70 kg. GE's "Calculation of SUVs in GE Apps": actual activity = tracer_activity decayed from
# meas_datetime minus post_inj_activity decayed from post_inj_datetime, at the scan time.
F18_S = 6586.2
PETDX_A_REF = 370e6 * 2.0 ** (-3600.0 / F18_S)  # RadionuclideTotalDose decayed 10:00 -> 11:00


def _ge_series(
    tracer: str, measured: str, *, residual: str | None = None, residual_at: str | None = None
) -> list[pydicom.Dataset]:
    series = pet_series()
    for ds in series:
        ds.Manufacturer, ds.ManufacturerModelName = "GE MEDICAL SYSTEMS", "Discovery MI"
        block = ds.private_block(0x0009, "GEMS_PETD_01", create=True)
        block.add_new(0x38, "FL", float(tracer))
        block.add_new(0x39, "DT", measured)
        block.add_new(0x3B, "DT", "20250101100000")
        if residual is not None:
            block.add_new(0x3C, "FL", float(residual))
            block.add_new(0x3D, "DT", residual_at)
    return series


@pytest.mark.parametrize("tracer", ["370", "370000000"], ids=["MBq", "Bq"])
def test_ge_record_matching_the_dose_agrees(tracer: str) -> None:
    result = compute_suv(frames(_ge_series(tracer, "20250101100000")))
    assert result.vendor.value == "ge"
    check = result.vendor_check
    assert check is not None
    assert check.source.startswith("GE GEMS_PETD_01 tracer_activity (0009,xx38)")
    assert check.vendor_factor == pytest.approx(70_000.0 / PETDX_A_REF, rel=1e-6)
    assert result.suv_factor == pytest.approx(70_000.0 / PETDX_A_REF, rel=1e-12)
    assert _vendor_warnings(result.warnings) == []


def test_ge_residual_not_subtracted_from_the_dose_warns() -> None:
    # Assayed 370 MBq at 09:55, 12 MBq left in the syringe at 10:10; the header dose is the
    # gross 370 MBq at 10:00, so petdx's activity is higher than the net one GE recorded.
    series = _ge_series("370", "20250101095500", residual="12", residual_at="20250101101000")
    result = compute_suv(frames(series))
    net = 370e6 * 2.0 ** (-3900.0 / F18_S) - 12e6 * 2.0 ** (-3000.0 / F18_S)
    vendor, own = 70_000.0 / net, 70_000.0 / PETDX_A_REF
    check = result.vendor_check
    assert check is not None
    assert "less post_inj_activity (0009,xx3C)" in check.source
    assert check.vendor_factor == pytest.approx(vendor, rel=1e-6)
    assert check.relative_difference == pytest.approx(vendor / own - 1.0, rel=1e-5)
    assert result.suv_factor == pytest.approx(own, rel=1e-12)  # petdx keeps the header's
    (warning,) = _vendor_warnings(result.warnings)
    assert f"{vendor:.6g}" in warning
    assert f"{own:.6g}" in warning
    assert "syringe residual" in warning


def test_ge_record_on_an_admin_series_decays_to_injection() -> None:
    series = _ge_series("380", "20250101094000")  # 380 MBq assayed 20 min before injection
    for ds in series:
        ds.DecayCorrection = "ADMIN"
    result = compute_suv(frames(series))
    at_injection = 380e6 * 2.0 ** (-1200.0 / F18_S)
    check = result.vendor_check
    assert check is not None
    assert check.vendor_factor == pytest.approx(70_000.0 / at_injection, rel=1e-6)
    assert check.petdx_factor == pytest.approx(70_000.0 / 370e6, rel=1e-12)
    assert 370e6 / at_injection - 1 > 0.01  # 370 vs 334.9 MBq: more than 1 % apart
    (warning,) = _vendor_warnings(result.warnings)
    assert f"{70_000.0 / at_injection:.6g}" in warning


# --- United Imaging and Canon headers --------------------------------------------------------
@pytest.mark.parametrize(
    ("manufacturer", "model", "vendor"),
    [
        ("UIH", "uMI 780", "uih"),
        ("United Imaging Healthcare", "uPMR 790", "uih"),
        ("CANON_MEC", "Cartesion Prime", "canon"),
        ("Canon Medical Systems", "Cartesion Prime", "canon"),
        ("TOSHIBA_MEC", "Celesteion", "canon"),
    ],
)
def test_uih_and_canon_series_compute_like_the_others(
    tmp_path: Path, manufacturer: str, model: str, vendor: str
) -> None:
    folder = tmp_path / "pt"
    folder.mkdir()
    for k, ds in enumerate(pet_series()):
        ds.Manufacturer, ds.ManufacturerModelName = manufacturer, model
        item = ds.RadiopharmaceuticalInformationSequence[0]
        del item.RadiopharmaceuticalStartTime  # UIH: the DateTime only
        ds.save_as(folder / f"{k}.dcm", enforce_file_format=True)
    (entry,) = index_dicom_folder(folder).of_kind(SeriesKind.PT)
    result = compute_suv(read_series_volume(entry))
    assert result.vendor.value == vendor
    # By hand: BQML, START, 70 kg, 370 MBq injected 10:00, SeriesTime 11:00, F-18 6586.2 s.
    assert result.suv_factor == pytest.approx(70_000.0 / PETDX_A_REF, rel=1e-12)
    assert result.vendor_check is None
    assert result.warnings == ()


def test_uih_injection_datetime_before_midnight() -> None:
    series = pet_series()
    for ds in series:
        ds.Manufacturer, ds.ManufacturerModelName = "UIH", "uMI 780"
        ds.SeriesDate = ds.AcquisitionDate = "20250102"
        ds.SeriesTime = ds.AcquisitionTime = "003000"
        item = ds.RadiopharmaceuticalInformationSequence[0]
        del item.RadiopharmaceuticalStartTime
        item.RadiopharmaceuticalStartDateTime = "20250101233000"
    result = compute_suv(frames(series))
    assert result.suv_factor == pytest.approx(70_000.0 / PETDX_A_REF, rel=1e-12)  # 1 h
    assert result.warnings == ()


@pytest.mark.parametrize(
    ("manufacturer", "vendor"),
    [
        ("SIEMENS", "siemens"),
        ("CPS", "siemens"),
        ("GE MEDICAL SYSTEMS", "ge"),
        ("GE Healthcare", "ge"),
        ("Philips Medical Systems", "philips"),
        ("Philips", "philips"),
        ("UIH", "uih"),
        ("United Imaging Healthcare", "uih"),
        ("CANON_MEC", "canon"),
        ("Canon Medical Systems", "canon"),
        ("TOSHIBA_MEC", "canon"),
        ("petdx", "other"),
        ("", "other"),
        ("GENERIC", "other"),
    ],
)
def test_vendor_classification(manufacturer: str, vendor: str) -> None:
    assert scanner_vendor(manufacturer).value == vendor
