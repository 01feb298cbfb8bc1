"""Radionuclides used in PET and theranostics: half-lives and DICOM codes, with sources.

Half-lives are from NuDat 3.0 (National Nuclear Data Center, Brookhaven National Laboratory,
https://www.nndc.bnl.gov/nudat3/), converted to seconds. The F-18 value, 6586.2 s
(109.77 min), is the one the QIBA FDG-PET/CT profile and most scanners write. The codes are
SNOMED CT concepts of DICOM CID 4020 "PET Radionuclide" (as listed in pydicom's code
dictionary); the legacy SNOMED-RT value of F-18 (C-111A1, still written by many scanners) is
kept to recognise older headers; other nuclides are recognised by their code meaning.

Radiation dose coefficients depend on the radiopharmaceutical, not only on the nuclide, and
live in the tracer profiles (:mod:`petdx.tracers`) with their own sources.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = ["NUCLIDES", "Nuclide", "decay_factor", "find_nuclide"]


@dataclass(frozen=True)
class Nuclide:
    """A radionuclide.

    Attributes
    ----------
    symbol
        Short name, element then mass number, e.g. ``"F-18"``.
    half_life_s
        Physical half-life in seconds.
    sct_code
        SNOMED CT code value (coding scheme ``SCT``) of DICOM CID 4020.
    code_meaning
        DICOM code meaning, e.g. ``"^18^Fluorine"``.
    srt_code
        Legacy SNOMED-RT code value (scheme ``SRT``) seen in older headers, or ``None``.
    source
        Where the half-life comes from.
    """

    symbol: str
    half_life_s: float
    sct_code: str
    code_meaning: str
    srt_code: str | None
    source: str

    @property
    def decay_constant_per_s(self) -> float:
        """Decay constant lambda = ln 2 / half-life, in 1/s."""
        return math.log(2.0) / self.half_life_s


_NUDAT = "NuDat 3.0, NNDC Brookhaven"

NUCLIDES: dict[str, Nuclide] = {
    n.symbol: n
    for n in (
        Nuclide("F-18", 6586.2, "77004003", "^18^Fluorine", "C-111A1", f"{_NUDAT}; QIBA"),
        Nuclide("Ga-68", 4062.6, "35337001", "^68^Gallium", None, f"{_NUDAT} (67.71 min)"),
        Nuclide("Cu-64", 45723.6, "3932008", "^64^Copper", None, f"{_NUDAT} (12.701 h)"),
        Nuclide("Zr-89", 282276.0, "63360001", "^89^Zirconium", None, f"{_NUDAT} (78.41 h)"),
        Nuclide("Lu-177", 574300.8, "447553000", "^177^Lutetium", None, f"{_NUDAT} (6.647 d)"),
        Nuclide("C-11", 1221.84, "40565003", "^11^Carbon", None, f"{_NUDAT} (20.364 min)"),
        Nuclide("N-13", 597.9, "21576001", "^13^Nitrogen", None, f"{_NUDAT} (9.965 min)"),
        Nuclide("O-15", 122.24, "129504001", "^15^Oxygen", None, f"{_NUDAT} (122.24 s)"),
        Nuclide("Rb-82", 75.45, "79197006", "^82^Rubidium", None, f"{_NUDAT} (1.2575 min)"),
        Nuclide("I-124", 360806.4, "40937006", "^124^Iodine", None, f"{_NUDAT} (4.176 d)"),
    )
}

_ELEMENT_NAMES = {
    "fluorine": "F",
    "gallium": "Ga",
    "copper": "Cu",
    "zirconium": "Zr",
    "lutetium": "Lu",
    "carbon": "C",
    "nitrogen": "N",
    "oxygen": "O",
    "rubidium": "Rb",
    "iodine": "I",
}
_SYMBOLS = {v.lower(): v for v in _ELEMENT_NAMES.values()}


def _symbol_from_text(text: str) -> str | None:
    """Parse 'F-18', '18F', 'F18', '^68^Gallium', 'Gallium-68', '68Ga-DOTA' into a symbol."""
    cleaned = text.replace("^", " ").strip().lower()
    for name, sym in _ELEMENT_NAMES.items():
        m = re.search(rf"(\d+)\s*-?\s*{name}|{name}\s*-?\s*(\d+)", cleaned)
        if m:
            return f"{sym}-{m.group(1) or m.group(2)}"
    m = re.search(r"\b(\d{1,3})\s*-?\s*([a-z]{1,2})\b|\b([a-z]{1,2})\s*-?\s*(\d{1,3})\b", cleaned)
    if m:
        mass = m.group(1) or m.group(4)
        element = m.group(2) or m.group(3)
        if element in _SYMBOLS:
            return f"{_SYMBOLS[element]}-{mass}"
    return None


def find_nuclide(*, code_value: str | None = None, text: str | None = None) -> Nuclide | None:
    """Look a nuclide up by its SNOMED code (SCT or legacy SRT) or by free text.

    Parameters
    ----------
    code_value
        CodeValue of the Radionuclide Code Sequence (0054,0300).
    text
        Code meaning or a radiopharmaceutical name, e.g. ``"^68^Gallium"``, ``"Ga-68"``,
        ``"68Ga-DOTA-BLP"``, ``"FDG"`` (FDG maps to F-18).

    Returns
    -------
    Nuclide or None
        ``None`` when nothing matches.
    """
    if code_value:
        for n in NUCLIDES.values():
            if code_value.strip() in (n.sct_code, n.srt_code):
                return n
    if text:
        if re.search(r"\bfdg\b|fluorodeoxyglucose", text.lower()):
            return NUCLIDES["F-18"]
        sym = _symbol_from_text(text)
        if sym in NUCLIDES:
            return NUCLIDES[sym]
    return None


def decay_factor(elapsed_s: float, half_life_s: float) -> float:
    """Fraction of activity left after ``elapsed_s`` seconds: 2 ** (-elapsed_s / half_life_s)."""
    return float(2.0 ** (-elapsed_s / half_life_s))
