"""Nuclide table and look-up."""

from __future__ import annotations

import pytest
from pydicom.sr.codedict import codes

from petdx.nuclides import NUCLIDES, decay_factor, find_nuclide


@pytest.mark.parametrize(
    ("text", "symbol"),
    [
        ("^68^Gallium", "Ga-68"),
        ("68Ga-DOTA-BLP", "Ga-68"),
        ("Ga-68", "Ga-68"),
        ("FDG", "F-18"),
        ("Fluorodeoxyglucose F^18^", "F-18"),
        ("[18F]BMS-986229", "F-18"),
        ("89Zr-atezolizumab", "Zr-89"),
        ("Lutetium-177", "Lu-177"),
        ("^64^Copper", "Cu-64"),
    ],
)
def test_find_by_text(text: str, symbol: str) -> None:
    found = find_nuclide(text=text)
    assert found is not None
    assert found.symbol == symbol


def test_unknown_text() -> None:
    assert find_nuclide(text="saline") is None
    assert find_nuclide() is None


def test_codes_match_pydicom_code_dictionary() -> None:
    """The SCT codes must be those of DICOM CID 4020 as shipped in pydicom."""
    expected = {
        "F-18": codes.SCT._18Fluorine,
        "Ga-68": codes.SCT._68Gallium,
        "Cu-64": codes.SCT._64Copper,
        "Zr-89": codes.SCT._89Zirconium,
        "Lu-177": codes.SCT._177Lutetium,
    }
    for symbol, code in expected.items():
        nuclide = NUCLIDES[symbol]
        assert nuclide.sct_code == code.value
        assert nuclide.code_meaning == code.meaning
        assert find_nuclide(code_value=code.value) is nuclide


def test_legacy_srt_code() -> None:
    found = find_nuclide(code_value="C-111A1")
    assert found is not None
    assert found.symbol == "F-18"


def test_decay_factor_one_half_life() -> None:
    assert decay_factor(6586.2, 6586.2) == pytest.approx(0.5)
    assert NUCLIDES["Ga-68"].decay_constant_per_s == pytest.approx(0.693147 / 4062.6, rel=1e-6)
