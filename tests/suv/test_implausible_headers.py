"""Non-finite or implausible header values are errors naming the attribute and the fix,
never a NaN or infinite SUV (issue 20 Build 3), through ``compute_suv`` and ``petdx suv``."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pydicom
import pytest
from typer.testing import CliRunner

from petdx.cli.app import app
from petdx.errors import PetdxError
from petdx.suv import compute_suv
from tests.factories import frames, pet_series, save_series


def _set(keyword: str, value: str) -> Callable[[pydicom.Dataset], None]:
    def apply(ds: pydicom.Dataset) -> None:
        setattr(ds, keyword, value)

    return apply


def _item(keyword: str, value: str) -> Callable[[pydicom.Dataset], None]:
    def apply(ds: pydicom.Dataset) -> None:
        setattr(ds.RadiopharmaceuticalInformationSequence[0], keyword, value)

    return apply


def _philips_nan(ds: pydicom.Dataset) -> None:
    ds.Units = "CNTS"
    ds.Manufacturer = "Philips"
    block = ds.private_block(0x7053, "Philips PET Private Group", create=True)
    block.add_new(0x00, "DS", "nan")  # SUV Scale Factor


# (case, change, what the error must say); the factory series is F-18 BQML/START, 70 kg,
# 370 MBq, injected 10:00, scanned 11:00 on 2025-01-01.
CASES = [
    ("weight-nan", _set("PatientWeight", "nan"), "PatientWeight (0010,1030) is nan"),
    ("weight-inf", _set("PatientWeight", "inf"), "PatientWeight (0010,1030) is inf"),
    ("weight-absurd", _set("PatientWeight", "9000000"), "above the plausible 500 kg"),
    ("dose-nan", _item("RadionuclideTotalDose", "nan"), "RadionuclideTotalDose (0018,1074) is nan"),
    ("dose-inf", _item("RadionuclideTotalDose", "inf"), "RadionuclideTotalDose (0018,1074) is inf"),
    ("dose-absurd", _item("RadionuclideTotalDose", "1e15"), "above the plausible 1e+11 Bq"),
    (
        "half-life-nan",
        _item("RadionuclideHalfLife", "nan"),
        "RadionuclideHalfLife (0018,1075) is nan",
    ),
    (
        "half-life-inf",
        _item("RadionuclideHalfLife", "inf"),
        "RadionuclideHalfLife (0018,1075) is inf",
    ),
    (
        "half-life-absurd",
        _item("RadionuclideHalfLife", "1e12"),
        "outside the plausible 10 to 1e+09 s",
    ),
    ("slope-nan", _set("RescaleSlope", "nan"), "RescaleSlope (0028,1053) is nan"),
    ("slope-inf", _set("RescaleSlope", "inf"), "RescaleSlope (0028,1053) is inf"),
    (
        "injection-years-before",
        _item("RadiopharmaceuticalStartDateTime", "20150101100000"),
        "more than 20 half-lives",
    ),
    ("philips-factor-nan", _philips_nan, "not a finite positive number"),
]


def _series(change: Callable[[pydicom.Dataset], None]) -> list[pydicom.Dataset]:
    series = pet_series(3)
    for ds in series:
        change(ds)
    return series


@pytest.mark.parametrize(("change", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_petdx_suv_refuses_the_header_naming_the_attribute(
    change: Callable[[pydicom.Dataset], None], expected: str, tmp_path: Path
) -> None:
    save_series(_series(change), tmp_path / "bad")
    save_series(pet_series(3), tmp_path / "good")  # still processed
    result = CliRunner().invoke(app, ["suv", str(tmp_path), "--json"])
    assert result.exit_code == 2
    rows = json.loads(result.stdout)
    assert len(rows) == 2
    bad = [r for r in rows if r["error"]]
    good = [r for r in rows if not r["error"]]
    assert len(bad) == 1
    assert len(good) == 1
    assert expected in bad[0]["error"]
    assert "Fix the header" in bad[0]["error"]
    assert bad[0]["suv_factor"] is None
    assert math.isfinite(good[0]["suv_factor"])
    assert "1 problem(s)" in result.stderr


@pytest.mark.parametrize(
    "change",
    [
        _set("PatientWeight", "nan"),
        _item("RadionuclideTotalDose", "inf"),
        _item("RadiopharmaceuticalStartDateTime", "20150101100000"),
    ],
    ids=["weight-nan", "dose-inf", "injection-years-before"],
)
def test_compute_suv_raises_instead_of_returning_a_non_finite_factor(
    change: Callable[[pydicom.Dataset], None],
) -> None:
    with pytest.raises(PetdxError):
        compute_suv(frames(_series(change)))


def test_a_height_that_is_not_a_number_is_an_error_for_sul() -> None:
    with pytest.raises(PetdxError, match=r"PatientSize \(0010,1020\) is nan"):
        compute_suv(frames(_series(_set("PatientSize", "nan"))), normalization="sul")


def test_a_day_long_uptake_of_a_long_lived_nuclide_is_accepted() -> None:
    """The window is in half-lives: Zr-89 (78.4 h) imaged 4 days after injection."""
    series = _series(_item("RadiopharmaceuticalStartDateTime", "20241228110000"))
    for ds in series:
        item = ds.RadiopharmaceuticalInformationSequence[0]
        item.RadionuclideHalfLife = "282240"  # 78.4 h
        item.RadionuclideCodeSequence[0].CodeMeaning = "^89^Zirconium"
        item.RadionuclideCodeSequence[0].CodeValue = "C1313218"
    factors = compute_suv(frames(series)).factors
    assert all(math.isfinite(f) and f > 0 for f in factors)
