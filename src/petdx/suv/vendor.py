"""Scanner vendors, and the SUV scaling a scanner stored in its own private elements.

petdx always computes its own SUV factor from the standard header (Units, dose, times,
weight). Where the scanner also stored its own SUV scaling, petdx reads it, reports it beside
its own factor (:class:`VendorFactorCheck`, in :class:`petdx.suv.SuvResult` and in
``petdx suv``) and warns when the two differ by more than 1 % (relative, ``>``): a weight or
dose edited after the scan, or a scanner that decays to another reference time, shows there.

Vendor values read, each as body-weight SUV per rescaled stored value:

* Philips ``Philips PET Private Group`` (7053,1000) SUV Scale Factor and (7053,1009) Activity
  Concentration Scale Factor. On a ``CNTS`` series SUVbw = counts x (7053,1000) and Bq/ml =
  counts x (7053,1009); petdx's own factor is (7053,1009) x M / A(ref), and the scanner's
  (7053,1000) is the factor used (QIBA pseudo-code). On a ``BQML`` series both factors refer to
  the counts behind the Bq/ml values, so the scanner's SUVbw per Bq/ml is (7053,1000) /
  (7053,1009) (the cornerstone ``PHILIPS_BQML`` vector of a real Philips header agrees with the
  standard computation to 0.01 %); with (7053,1000) alone it is taken as SUVbw per Bq/ml.
* GE ``GEMS_PETD_01`` (group 0009): the tracer activity the scanner recorded, xx38 assayed at
  xx39, less the syringe residual xx3C assayed at xx3D, each decayed to petdx's reference
  time (GE's "Calculation of SUVs in GE Apps", QIBA wiki); the scanner's SUVbw factor is
  M / that activity. A value below 1e4 is taken as MBq, else as Bq, as for
  RadionuclideTotalDose (pydicom's dictionary gives no unit; another unit would show as a
  large difference in the warning). Checked for ``BQML`` with ``START`` or ``ADMIN``.

References
----------
pydicom private dictionary (``pydicom._private_dict``): ``Philips PET Private Group``
7053xx00 "SUV Scale Factor", 7053xx09 "Activity Concentration Scale Factor"; ``GEMS_PETD_01``
0009xx38 "PET tracer_activity", xx39 meas_datetime, xx3B admin_datetime, xx3C
post_inj_activity, xx3D post_inj_datetime.
GE Healthcare, "Calculation of SUVs in GE Apps" v4 (linked from the QIBA SUV wiki page), as
quoted in "Calculating SUVmax for GE's PET/CT scanner" (mindyourdata.org, 2023): actual
activity = tracer_activity x 2^(-(scan time - measured time) / half life); the residual
(post_inj_activity at post_inj_datetime) subtracted as public GE-header converters do.
QIBA "Standardized Uptake Value (SUV)" vendor-neutral pseudo-code (RSNA QIBA wiki): Philips
CNTS via the SUV Scale Factor.
cornerstonejs/calculate-suv, test/metadata (PHILIPS_BQML, PHILIPS_CNTS_AND_BQML_SUV).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from petdx.suv.enums import Units
from petdx.suv.inputs import SuvInputs

__all__ = [
    "VENDOR_TOLERANCE",
    "ScannerVendor",
    "VendorFactorCheck",
    "ge_check",
    "philips_check",
    "scanner_vendor",
    "vendor_warning",
]

#: Relative difference between the scanner's and petdx's factor above which petdx warns.
VENDOR_TOLERANCE = 0.01


class ScannerVendor(StrEnum):
    """The PET scanner's maker, from Manufacturer (0008,0070)."""

    SIEMENS = "siemens"
    GE = "ge"
    PHILIPS = "philips"
    UIH = "uih"
    CANON = "canon"
    OTHER = "other"


# Manufacturer strings as the scanners write them (upper case; a prefix or a whole word):
# Siemens "SIEMENS", "CPS" / "CTI" (CTI PET Systems, the Siemens ECAT/Biograph heritage);
# GE "GE MEDICAL SYSTEMS", "GE Healthcare", "GEMS"; Philips "Philips Medical Systems",
# "Philips"; UIH "UIH", "United Imaging Healthcare"; Canon "CANON_MEC", "Canon Medical
# Systems", Toshiba "TOSHIBA_MEC", "TOSHIBA".
_PREFIXES: tuple[tuple[str, ScannerVendor], ...] = (
    ("SIEMENS", ScannerVendor.SIEMENS),
    ("CPS", ScannerVendor.SIEMENS),
    ("CTI", ScannerVendor.SIEMENS),
    ("GE MEDICAL", ScannerVendor.GE),
    ("GE HEALTHCARE", ScannerVendor.GE),
    ("GEMS", ScannerVendor.GE),
    ("PHILIPS", ScannerVendor.PHILIPS),
    ("UIH", ScannerVendor.UIH),
    ("UNITED IMAGING", ScannerVendor.UIH),
    ("SHANGHAI UNITED IMAGING", ScannerVendor.UIH),
    ("CANON", ScannerVendor.CANON),
    ("TOSHIBA", ScannerVendor.CANON),
)


def scanner_vendor(manufacturer: str | None) -> ScannerVendor:
    """The vendor named by a Manufacturer (0008,0070) value (case and spacing ignored)."""
    text = " ".join((manufacturer or "").upper().replace("_", " ").split())
    if text in {"GE", "GE MS"}:
        return ScannerVendor.GE
    for prefix, vendor in _PREFIXES:
        if text == prefix or text.startswith(prefix + " "):
            return vendor
    return ScannerVendor.OTHER


@dataclass(frozen=True)
class VendorFactorCheck:
    """The scanner's own SUV scaling beside petdx's, frame by frame.

    Attributes
    ----------
    source
        Which private elements gave the scanner's value, in words.
    vendor_factors, petdx_factors
        Body-weight SUV per rescaled stored value (g/Bq for BQML), per frame (volume order).
    used
        ``"petdx"`` when petdx's own factor is the one applied, ``"scanner"`` when the
        scanner's is (Philips CNTS).
    likely_cause
        What usually makes the two disagree, for the warning.
    """

    source: str
    vendor_factors: tuple[float, ...]
    petdx_factors: tuple[float, ...]
    used: str
    likely_cause: str = ""

    @property
    def vendor_factor(self) -> float:
        """Median of the scanner's factors."""
        return float(np.median(self.vendor_factors))

    @property
    def petdx_factor(self) -> float:
        """Median of petdx's factors."""
        return float(np.median(self.petdx_factors))

    @property
    def relative_difference(self) -> float:
        """(scanner - petdx) / petdx of the frame where it is largest in magnitude."""
        vendor = np.asarray(self.vendor_factors, dtype=np.float64)
        own = np.asarray(self.petdx_factors, dtype=np.float64)
        rel = (vendor - own) / own
        return float(rel[int(np.argmax(np.abs(rel)))])

    @property
    def agrees(self) -> bool:
        """Whether every frame is within :data:`VENDOR_TOLERANCE` (``<=``)."""
        return abs(self.relative_difference) <= VENDOR_TOLERANCE

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "vendor_suv_factor": self.vendor_factor,
            "petdx_suv_factor": self.petdx_factor,
            "relative_difference": self.relative_difference,
            "used": self.used,
            "agrees": self.agrees,
            "likely_cause": self.likely_cause,
        }


def _all_set(values: Sequence[float | None]) -> bool:
    return bool(values) and all(v is not None and v > 0 for v in values)


_PHILIPS_CAUSE = (
    "PatientWeight (0010,1030) or RadionuclideTotalDose (0018,1074) edited after the scan, or "
    "the scanner decaying to another reference or injection time"
)
_GE_CAUSE = (
    "RadionuclideTotalDose (0018,1074) is not the net injected activity (the syringe residual "
    "or the assay time before injection not accounted for), the dose or injection time edited "
    "after the scan, or the GE record in another unit"
)
_MBQ_THRESHOLD = 1e4


def philips_check(
    inputs: SuvInputs, units: Units, petdx_bw_factors: Sequence[float] | npt.NDArray[np.float64]
) -> VendorFactorCheck | None:
    """The Philips private SUV scaling beside petdx's body-weight factors, when present.

    ``petdx_bw_factors`` are petdx's own SUVbw factors per frame (for CNTS: from (7053,1009)).
    Returns ``None`` when the series carries no usable Philips SUV Scale Factor.
    """
    suv = [f.philips_suv_factor for f in inputs.frames]
    activity = [f.philips_activity_factor for f in inputs.frames]
    if not _all_set(suv) or len(petdx_bw_factors) != len(suv):
        return None
    suv_values = np.array(suv, dtype=np.float64)
    if units is Units.CNTS:
        source = "Philips SUV Scale Factor (7053,1000)"
        vendor = suv_values
        used = "scanner"
    elif _all_set(activity):
        source = (
            "Philips SUV Scale Factor (7053,1000) / Activity Concentration Scale Factor (7053,1009)"
        )
        vendor = suv_values / np.array(activity, dtype=np.float64)
        used = "petdx"
    else:
        source = "Philips SUV Scale Factor (7053,1000), taken as SUVbw per Bq/ml"
        vendor = suv_values
        used = "petdx"
    return VendorFactorCheck(
        source=source,
        vendor_factors=tuple(float(v) for v in vendor),
        petdx_factors=tuple(float(v) for v in petdx_bw_factors),
        used=used,
        likely_cause=_PHILIPS_CAUSE,
    )


def _as_bq(raw: float) -> float:
    return raw * 1e6 if raw < _MBQ_THRESHOLD else raw


def ge_check(
    inputs: SuvInputs,
    *,
    reference: datetime | None,
    half_life_s: float,
    weight_g: float,
    petdx_bw_factors: Sequence[float] | npt.NDArray[np.float64],
) -> VendorFactorCheck | None:
    """The GE-recorded net tracer activity as an SUVbw factor beside petdx's, when present.

    ``reference`` is the time petdx decayed the dose to (for ``ADMIN`` the injection time).
    Returns ``None`` without a GE record, its assay time or a reference time.
    """
    record = inputs.ge_dose
    if record is None or record.measured_datetime is None or reference is None:
        return None

    def decayed(activity_bq: float, measured: datetime) -> float:
        return activity_bq * 2.0 ** (-(reference - measured).total_seconds() / half_life_s)

    activity = decayed(_as_bq(record.tracer_activity_raw), record.measured_datetime)
    source = "GE GEMS_PETD_01 tracer_activity (0009,xx38) assayed at meas_datetime (0009,xx39)"
    residual = record.post_injection_activity_raw
    if residual and residual > 0 and record.post_injection_datetime is not None:
        activity -= decayed(_as_bq(residual), record.post_injection_datetime)
        source += " less post_inj_activity (0009,xx3C) at post_inj_datetime (0009,xx3D)"
    if activity <= 0:
        return None
    n = len(petdx_bw_factors)
    return VendorFactorCheck(
        source=source + ", decayed to the reference time",
        vendor_factors=(weight_g / activity,) * n,
        petdx_factors=tuple(float(v) for v in petdx_bw_factors),
        used="petdx",
        likely_cause=_GE_CAUSE,
    )


def vendor_warning(check: VendorFactorCheck, label: str) -> str | None:
    """The warning for a scanner factor more than 1 % from petdx's, else ``None``."""
    if check.agrees:
        return None
    applied = "the scanner's" if check.used == "scanner" else "its own"
    return (
        f"{label}: the scanner's SUVbw factor ({check.source}) is {check.vendor_factor:.6g} "
        f"and petdx's is {check.petdx_factor:.6g}; they differ by "
        f"{check.relative_difference:+.2%} (more than {VENDOR_TOLERANCE:.0%}); petdx used "
        f"{applied}. Likely cause: {check.likely_cause or _PHILIPS_CAUSE}. Check the header "
        "against the scan record."
    )
