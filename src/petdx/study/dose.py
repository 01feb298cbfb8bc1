"""Effective dose of radiation exposures, and the rolling 365-day sum per patient.

Effective dose of one exposure (docs/protocol.md):

* ``effective_dose_msv`` when the source states it;
* otherwise, for nuclear medicine (PET, SPECT and their hybrids, PET/MR included),
  administered activity (MBq) x the tracer's dose coefficient (mSv/MBq) from its profile
  (:mod:`petdx.tracers`, which cites the source of each coefficient; 68Ga-DOTA-BLP's is an
  assumed analogue value);
* plus, for CT (CT, PET/CT, SPECT/CT), the dose-length product DLP (mGy.cm) x the k-factor of
  the scanned region (mSv/(mGy.cm)) for adults, AAPM Report 96 Table 3. A PET/MR scan has no
  CT: its dose is the radiopharmaceutical's alone (MR imparts no ionising radiation).

A dose that cannot be computed (no stated dose and a missing activity, an unknown tracer, a
missing DLP or region, or radiography/fluoroscopy without a stated dose) is ``None``,
never zero: the 50 mSv criterion then becomes "unknown" unless the known doses alone already
exceed the limit.

References
----------
AAPM Report No. 96, "The Measurement, Reporting, and Management of Radiation Dose in CT"
(2008), Table 3: adult k-factors head 0.0021, head & neck 0.0031, neck 0.0059, chest 0.014,
abdomen & pelvis 0.015, trunk (chest-abdomen-pelvis) 0.015 mSv/(mGy.cm); the table is
:data:`petdx.ct_dose.AAPM96_K_FACTORS_MSV_PER_MGY_CM`.
ICRP Publication 103 (2007): effective dose.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from petdx.ct_dose import AAPM96_K_FACTORS_MSV_PER_MGY_CM
from petdx.errors import InputValidationError

__all__ = [
    "AAPM96_K_FACTORS_MSV_PER_MGY_CM",
    "DoseWindow",
    "ExposureDose",
    "exposure_dose",
    "rolling_dose",
    "tracer_dose_coefficient",
]


_NM = {"PET", "PET/CT", "PET/MR", "SPECT", "SPECT/CT"}
_CT = {"CT", "PET/CT", "SPECT/CT"}


@cache
def tracer_dose_coefficient(name: str) -> tuple[float, str] | None:
    """(effective dose coefficient in mSv/MBq, its source) of a tracer profile, or None when
    no profile has that name."""
    from petdx.tracers import available_tracers, load_tracer_profile

    key = name.strip().lower()
    if key not in available_tracers():
        return None
    profile = load_tracer_profile(key)
    return profile.effective_dose_msv_per_mbq, profile.dosimetry_source


@dataclass(frozen=True)
class ExposureDose:
    """Effective dose of one exposure and how it was obtained.

    Attributes
    ----------
    exposure_id, exposure_date
        The exposure.
    dose_msv
        Effective dose in mSv, or None when it cannot be computed.
    method
        ``stated``, ``activity x coefficient``, ``DLP x k``, both joined by ``+``, or why the
        dose is unknown.
    """

    exposure_id: str
    exposure_date: date
    dose_msv: float | None
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "exposure_id": self.exposure_id,
            "exposure_date": self.exposure_date.isoformat(),
            "dose_msv": self.dose_msv,
            "method": self.method,
        }

    def __str__(self) -> str:
        dose = "unknown" if self.dose_msv is None else f"{self.dose_msv:.2f} mSv"
        return f"{self.exposure_id} {self.exposure_date}: {dose} ({self.method})"


def exposure_dose(exposure: Mapping[str, Any]) -> ExposureDose:
    """Effective dose of one ``exposures`` record (see the module docstring).

    Raises
    ------
    InputValidationError
        The record has no ``exposure_id`` or ``exposure_date``.
    """
    try:
        exposure_id = str(exposure["exposure_id"])
        when = exposure["exposure_date"]
    except KeyError as exc:
        raise InputValidationError(f"exposure record without {exc.args[0]}: {exposure}") from None
    stated = exposure.get("effective_dose_msv")
    if stated is not None:
        return ExposureDose(exposure_id, when, float(stated), "stated")
    modality = str(exposure.get("modality") or "")
    parts: list[float] = []
    methods: list[str] = []
    if modality in _NM:
        activity = exposure.get("administered_activity_mbq")
        tracer = exposure.get("radiopharmaceutical")
        coefficient = tracer_dose_coefficient(str(tracer)) if tracer else None
        if activity is None:
            return ExposureDose(exposure_id, when, None, f"unknown: {modality} without activity")
        if coefficient is None:
            return ExposureDose(
                exposure_id,
                when,
                None,
                f"unknown: no tracer profile for radiopharmaceutical '{tracer or ''}'",
            )
        parts.append(float(activity) * coefficient[0])
        methods.append(f"{float(activity):g} MBq x {coefficient[0]:g} mSv/MBq ({tracer})")
    if modality in _CT:
        dlp = exposure.get("ct_dlp_mgy_cm")
        region = exposure.get("ct_region")
        if dlp is None or region is None:
            return ExposureDose(
                exposure_id, when, None, f"unknown: {modality} without CT DLP and region"
            )
        k = AAPM96_K_FACTORS_MSV_PER_MGY_CM[str(region)]
        parts.append(float(dlp) * k)
        methods.append(f"DLP {float(dlp):g} mGy.cm x k {k:g} ({region}, AAPM 96)")
    if not parts:
        return ExposureDose(
            exposure_id, when, None, f"unknown: {modality or 'exposure'} without a stated dose"
        )
    return ExposureDose(exposure_id, when, sum(parts), " + ".join(methods))


@dataclass(frozen=True)
class DoseWindow:
    """Exposures dated in the 365 days before a reference date (that day excluded).

    ``known_msv`` sums the computable doses; ``complete`` is False when any exposure in the
    window has an unknown dose.
    """

    reference_date: date
    exposures: tuple[ExposureDose, ...]

    @property
    def known_msv(self) -> float:
        return float(sum(e.dose_msv for e in self.exposures if e.dose_msv is not None))

    @property
    def complete(self) -> bool:
        return all(e.dose_msv is not None for e in self.exposures)

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference_date": self.reference_date.isoformat(),
            "known_msv": self.known_msv,
            "complete": self.complete,
            "exposures": [e.to_dict() for e in self.exposures],
        }

    def __str__(self) -> str:
        unknown = "" if self.complete else " (some doses unknown)"
        return (
            f"{self.known_msv:.2f} mSv in {len(self.exposures)} exposure(s) in the 365 days "
            f"before {self.reference_date}{unknown}"
        )


def rolling_dose(exposures: Iterable[Mapping[str, Any]], reference_date: date) -> DoseWindow:
    """Exposures dated from ``reference_date - 365 days`` to the day before ``reference_date``
    (inclusive), with their doses."""
    start = reference_date - timedelta(days=365)
    inside = [exposure_dose(e) for e in exposures if start <= e["exposure_date"] < reference_date]
    inside.sort(key=lambda d: (d.exposure_date, d.exposure_id))
    return DoseWindow(reference_date, tuple(inside))
