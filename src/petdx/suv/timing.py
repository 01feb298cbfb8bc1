"""When was the tracer injected, and to which time are the image values decay-corrected?

Reference time of a ``DecayCorrection START`` series, first rule that applies wins
(QIBA vendor-neutral pseudo-code with the IBSI SUV refinements):

1. GE private scan DateTime (0009,100D) of creator ``GEMS_PETD_01``, when present.
2. SeriesDate/SeriesTime, unless it is after the earliest AcquisitionDate/Time of the series
   (post-processed series whose series time is the time of reconstruction).
3. Back-computed from a frame: ``AcquisitionDateTime + t_avg - FrameReferenceTime``, where
   ``t_avg = ln(lambda*T / (1 - exp(-lambda*T))) / lambda`` is the average-count-rate time
   of a frame of duration T after its start. Used when every frame gives a valid value
   (FrameReferenceTime and ActualFrameDuration present, result not after the frame start);
   the median over frames is used and a spread over 1 s is reported.
4. The earliest AcquisitionDate/Time of the series, with a warning.

Enhanced PET objects (Decay Corrected YES) give the time directly in Decay Correction
DateTime (0018,9701).

Injection time: RadiopharmaceuticalStartDateTime (0018,1078); else
RadiopharmaceuticalStartTime (0018,1072) on the series date, moved to the day before when
that is after the scan (an injection before midnight and a scan after it).

References
----------
QIBA, "Standardized Uptake Value (SUV)" vendor-neutral pseudo-code, RSNA QIBA wiki.
IBSI SUV computation project (oncoray/suv_computation), digital reference objects.
DICOM PS3.3 C.8.9.4.1.5 (Frame Reference Time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from petdx.errors import InvalidSeriesError, MissingAttributeError
from petdx.suv.enums import ReferenceTimeRule
from petdx.suv.inputs import SuvInputs

__all__ = ["ReferenceTime", "average_count_rate_time_s", "injection_datetime", "reference_time"]

_BACK_COMPUTE_SPREAD_WARNING_S = 1.0


@dataclass(frozen=True)
class ReferenceTime:
    """The time the injected activity is decayed to, and the rule that chose it."""

    value: datetime
    rule: ReferenceTimeRule
    warnings: tuple[str, ...] = ()


def average_count_rate_time_s(duration_s: float, half_life_s: float) -> float:
    """Time after a frame's start at which the count rate equals its frame average (s).

    For a frame of duration ``T`` and decay constant ``lambda``:
    ``t_avg = ln(lambda*T / (1 - exp(-lambda*T))) / lambda`` (tends to T/2 as lambda*T -> 0).
    """
    lam = math.log(2.0) / half_life_s
    x = lam * duration_s
    if x < 1e-9:
        return duration_s / 2.0
    return math.log(x / -math.expm1(-x)) / lam


def earliest_acquisition(inputs: SuvInputs) -> datetime | None:
    times = [f.acquisition_datetime for f in inputs.frames if f.acquisition_datetime is not None]
    return min(times) if times else None


def _back_computed(inputs: SuvInputs, half_life_s: float) -> list[datetime] | None:
    values = []
    for frame in inputs.frames:
        if (
            frame.acquisition_datetime is None
            or not frame.duration_s
            or frame.duration_s <= 0
            or frame.frame_reference_time_s is None
            or frame.frame_reference_time_s <= 0
        ):
            return None
        offset = average_count_rate_time_s(frame.duration_s, half_life_s)
        candidate = frame.acquisition_datetime + timedelta(
            seconds=offset - frame.frame_reference_time_s
        )
        if candidate > frame.acquisition_datetime:
            return None  # FrameReferenceTime shorter than t_avg: not a valid reference
        values.append(candidate)
    return values


def reference_time(inputs: SuvInputs, half_life_s: float) -> ReferenceTime:
    """The decay reference time of a ``START`` series (see module docstring for the rules).

    Raises
    ------
    MissingAttributeError
        No rule applies (no series time and no acquisition times).
    """
    if inputs.decay_correction_datetime is not None:
        return ReferenceTime(
            inputs.decay_correction_datetime, ReferenceTimeRule.DECAY_CORRECTION_DATETIME
        )
    if inputs.ge_scan_datetime is not None:
        return ReferenceTime(inputs.ge_scan_datetime, ReferenceTimeRule.GE_PRIVATE_SCAN_DATETIME)
    earliest = earliest_acquisition(inputs)
    series = inputs.series_datetime
    if series is not None and (earliest is None or series <= earliest):
        return ReferenceTime(series, ReferenceTimeRule.SERIES_DATETIME)
    if earliest is None:
        raise MissingAttributeError(
            f"{inputs.label}: SeriesTime (0008,0031) and AcquisitionTime (0008,0032) are "
            "missing, so the decay reference time is unknown. Fix the header."
        )
    warnings: list[str] = []
    back = _back_computed(inputs, half_life_s)
    if back:
        seconds = np.array([(t - back[0]).total_seconds() for t in back])
        median = back[0] + timedelta(seconds=float(np.median(seconds)))
        spread = float(seconds.max() - seconds.min())
        if spread > _BACK_COMPUTE_SPREAD_WARNING_S:
            warnings.append(
                f"reference times back-computed from FrameReferenceTime differ by {spread:.1f} s "
                "between frames; their median was used"
            )
        return ReferenceTime(median, ReferenceTimeRule.BACK_COMPUTED, tuple(warnings))
    reason = "after" if series is not None else "missing; SeriesTime is"
    warnings.append(
        f"SeriesDate/Time is {reason} the earliest acquisition and FrameReferenceTime cannot "
        "be used; the earliest AcquisitionDate/Time was taken as the reference time"
    )
    return ReferenceTime(earliest, ReferenceTimeRule.EARLIEST_ACQUISITION, tuple(warnings))


def injection_datetime(inputs: SuvInputs, scan_start: datetime) -> tuple[datetime, list[str]]:
    """The radiopharmaceutical administration time.

    Parameters
    ----------
    inputs
        Header values.
    scan_start
        The earliest time the scan refers to (reference time or first acquisition); used to
        date an injection given as a time of day only.

    Raises
    ------
    MissingAttributeError
        Neither RadiopharmaceuticalStartDateTime nor RadiopharmaceuticalStartTime is set.
    InvalidSeriesError
        The injection DateTime is after the scan.
    """
    warnings: list[str] = []
    if inputs.injection_datetime is not None:
        injected = inputs.injection_datetime
        if injected > scan_start:
            raise InvalidSeriesError(
                f"{inputs.label}: RadiopharmaceuticalStartDateTime (0018,1078) {injected} is "
                f"after the scan reference time {scan_start}; the injection must precede the "
                "scan. Fix the header."
            )
        return injected, warnings
    if inputs.injection_time is None:
        raise MissingAttributeError(
            f"{inputs.label}: RadiopharmaceuticalStartDateTime (0018,1078) and "
            "RadiopharmaceuticalStartTime (0018,1072) are both missing from the "
            "Radiopharmaceutical Information Sequence (0054,0016); SUV needs the injection "
            "time. Fix the header."
        )
    day = inputs.series_date or scan_start.date()
    injected = datetime.combine(day, inputs.injection_time)
    if injected > scan_start:
        injected -= timedelta(days=1)
        warnings.append(
            f"RadiopharmaceuticalStartTime {inputs.injection_time} is after the scan time "
            f"{scan_start.time()} on the series date; the injection was taken to be on the "
            f"day before ({injected.date()}), i.e. before midnight"
        )
    return injected, warnings
