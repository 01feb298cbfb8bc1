"""Closed vocabularies of SUV computation, named after the DICOM attribute they come from."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DecayCorrection", "ReferenceTimeRule", "SuvNormalization", "SuvType", "Units"]


class Units(StrEnum):
    """Units (0054,1001) of a PET series (PS3.3 C.8.9.1.1.3)."""

    BQML = "BQML"
    CNTS = "CNTS"
    GML = "GML"
    CM2ML = "CM2ML"
    PROPCNTS = "PROPCNTS"
    PROPCPS = "PROPCPS"
    ONE_CM = "1CM"
    MLMING = "MLMING"
    MGMINML = "MGMINML"
    UMOLMINML = "UMOLMINML"
    PCNT = "PCNT"
    NPC = "NPC"
    CPS = "CPS"
    MLMINML = "MLMINML"


#: Units that carry no absolute activity and cannot give SUV.
NON_QUANTITATIVE_UNITS = frozenset({Units.PROPCNTS, Units.PROPCPS, Units.ONE_CM, Units.NPC})


class DecayCorrection(StrEnum):
    """Decay Correction (0054,1102): the time the image values are decay-corrected to."""

    NONE = "NONE"  # not decay corrected: each frame holds the activity during its acquisition
    START = "START"  # corrected to the series reference (acquisition start) time
    ADMIN = "ADMIN"  # corrected to the radiopharmaceutical administration time


class SuvType(StrEnum):
    """SUV Type (0054,1006): the body-size normalisation of an image stored as SUV."""

    BW = "BW"
    BSA = "BSA"
    LBM = "LBM"  # lean body mass, formula unspecified (taken as James 1976)
    LBMJAMES128 = "LBMJAMES128"
    LBMJANMA = "LBMJANMA"
    IBW = "IBW"


class SuvNormalization(StrEnum):
    """The body-size normalisation petdx computes (the ``--normalization`` option).

    * ``bw``: body weight (SUVbw, g/ml), the default and the QIBA/EANM reference.
    * ``sul``: lean body mass by Janmahasatian et al. 2005 (SUL, g/ml), as PERCIST 1.0
      recommends in its 2016 update.
    * ``sul-james``: lean body mass by James 1976 ("James-128"), as older scanners compute.
    * ``bsa``: body surface area by DuBois & DuBois 1916 (SUVbsa, cm^2/ml).
    * ``ibw``: ideal body weight by Sugawara et al. 1999 (g/ml).
    """

    BW = "bw"
    SUL = "sul"
    SUL_JAMES = "sul-james"
    BSA = "bsa"
    IBW = "ibw"

    @property
    def unit(self) -> str:
        return "cm2/ml" if self is SuvNormalization.BSA else "g/ml"


class ReferenceTimeRule(StrEnum):
    """Which rule fixed the time the injected activity was decayed to."""

    GE_PRIVATE_SCAN_DATETIME = "ge-private-scan-datetime"
    SERIES_DATETIME = "series-datetime"
    BACK_COMPUTED = "back-computed-from-frame-reference-time"
    EARLIEST_ACQUISITION = "earliest-acquisition-datetime"
    DECAY_CORRECTION_DATETIME = "decay-correction-datetime"
    ADMINISTRATION = "administration-time"
    FRAME_ACQUISITION = "per-frame-acquisition-time"
    NOT_NEEDED = "not-needed"
