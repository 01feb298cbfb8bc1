"""``petdx.suv.suv_report``: one PET series' summary, the same dict ``petdx suv --json``
prints (tests/cli/test_suv_cli.py checks the command around it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from petdx.dicom import SeriesEntry, SeriesKind, index_dicom_folder
from petdx.suv import SuvNormalization, SuvOverrides, suv_report
from tests.factories import pet_series, save_series

# tests/factories.pet_series: 70 kg, 370 MBq F-18 (half-life 6586.2 s) injected at 10:00,
# DecayCorrection START at 11:00 (3600 s later), 1000 Bq/ml in every voxel.
_DECAYED_BQ = 370e6 * 0.5 ** (3600 / 6586.2)


def _entry(tmp_path: Path, *, weight: bool = True) -> SeriesEntry:
    series = pet_series(3)
    if not weight:
        for ds in series:
            del ds.PatientWeight
    save_series(series, tmp_path)
    (entry,) = index_dicom_folder(tmp_path).of_kind(SeriesKind.PT)
    return entry


def test_report_of_a_good_series(tmp_path: Path) -> None:
    entry = _entry(tmp_path)
    row = suv_report(entry, normalization=SuvNormalization.BW, overrides=SuvOverrides())
    assert row["error"] is None
    assert row["suv_factor"] == pytest.approx(70_000 / _DECAYED_BQ, rel=1e-9)
    # the SUV volume is float32 (about 7 significant digits)
    assert row["suv_max"] == pytest.approx(1000 * 70_000 / _DECAYED_BQ, rel=1e-6)
    assert row["n_slices"] == 3
    assert (row["units"], row["decay_correction"]) == ("BQML", "START")
    assert row["body_weight_kg"] == 70
    json.dumps(row, allow_nan=False)  # JSON-ready as it is

    heavier = suv_report(
        entry,
        normalization=SuvNormalization.BW,
        overrides=SuvOverrides(body_weight_kg=80.0),
    )
    assert heavier["suv_factor"] == pytest.approx(80_000 / _DECAYED_BQ, rel=1e-9)


def test_a_refused_series_keeps_its_header_and_carries_the_error(tmp_path: Path) -> None:
    entry = _entry(tmp_path, weight=False)
    row = suv_report(entry, normalization=SuvNormalization.BW, overrides=SuvOverrides())
    assert "PatientWeight (0010,1030) is missing" in row["error"]
    assert row["units"] == "BQML"
    assert row["suv_factor"] is None
    assert row["suv_max"] is None
