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
from petdx.suv import compute_suv, suv_volume
from tests.factories import frames
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
    assert "scanner SUVbw" in table.stdout  # beside petdx's factor in the table
    assert f"is {vendor:.6g} and petdx's is" in table.output  # the warning line
