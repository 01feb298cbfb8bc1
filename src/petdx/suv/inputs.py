"""The header values SUV needs, gathered once from the frames of a PET series.

Classic PET Image objects carry them at the top level of each file; Enhanced PET objects
carry timing and rescale per frame in functional groups and say "decay corrected" with
Decay Corrected (0018,9758) and Decay Correction DateTime (0018,9701) instead of Decay
Correction (0054,1102). Both end up in one :class:`SuvInputs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from pydicom.dataset import Dataset
from pydicom.tag import Tag
from pydicom.valuerep import DA, DT, TM

from petdx.dicom.frames import Frame
from petdx.nuclides import Nuclide, find_nuclide

__all__ = [
    "FrameTiming",
    "GeDoseRecord",
    "SuvInputs",
    "parse_da",
    "parse_dt",
    "parse_tm",
    "suv_inputs_from_frames",
]

PHILIPS_PRIVATE_CREATOR = "Philips PET Private Group"
GE_PRIVATE_CREATOR = "GEMS_PETD_01"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="replace")
    text = str(value).strip().strip("\x00").strip()
    return text or None


def parse_dt(value: Any) -> datetime | None:
    """A DICOM DT string as a naive local datetime; ``None`` when absent or without a time.

    A UTC offset, when present, is dropped: DICOM times are local times and every time of
    a series is compared in the same local frame.
    """
    text = _text(value)
    if text is None or len(text) < 12:  # needs at least YYYYMMDDHHMM
        return None
    try:
        parsed = DT(text)
    except ValueError:
        return None
    return datetime(
        parsed.year,
        parsed.month,
        parsed.day,
        parsed.hour,
        parsed.minute,
        parsed.second,
        parsed.microsecond,
    )


def parse_tm(value: Any) -> time | None:
    """A DICOM TM string as a time; ``None`` when absent or malformed."""
    text = _text(value)
    if text is None:
        return None
    try:
        parsed = TM(text)
    except ValueError:
        return None
    return time(parsed.hour, parsed.minute, parsed.second, parsed.microsecond)


def parse_da(value: Any) -> date | None:
    """A DICOM DA string as a date; ``None`` when absent or malformed."""
    text = _text(value)
    if text is None:
        return None
    try:
        parsed = DA(text)
    except ValueError:
        return None
    return date(parsed.year, parsed.month, parsed.day)


def _float(value: Any) -> float | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _combine(day: date | None, moment: time | None) -> datetime | None:
    if day is None or moment is None:
        return None
    return datetime.combine(day, moment)


def _has_private_creators(header: Dataset, group: int) -> bool:
    """Whether ``header`` has a private creator element (gggg,0010-00FF) in ``group``.

    pydicom's ``private_block`` looks for the creator in a slice of the data set, which
    sorts every tag of the header on each call and, when the creator is absent (most
    headers), finds nothing; this test reads the tags without sorting them, so the SUV of
    a PET frame (two lookups per frame, on the original and again on the stored copy) does
    not pay for that sort when the group holds no creator.
    """
    first, last = (group << 16) | 0x0010, (group << 16) | 0x00FF
    return any(first <= tag <= last for tag in map(int, header.keys()))  # int: no BaseTag ops


def _private_value(header: Dataset, group: int, creator: str, offset: int) -> tuple[Any, bool]:
    """(value, found_with_creator) of a private element, falling back to block 0x10.

    The fallback (no private creator element) exists because anonymisers and some
    test objects strip (gggg,0010) but keep (gggg,1000+offset).
    """
    if _has_private_creators(header, group):  # else private_block would raise KeyError
        try:
            block = header.private_block(group, creator)
            tag = block.get_tag(offset)
            if tag in header:
                return header[tag].value, True
        except KeyError:
            pass
    bare_tag = Tag(group, 0x1000 + offset)
    if bare_tag in header:
        return header[bare_tag].value, False
    return None, False


@dataclass(frozen=True)
class FrameTiming:
    """Per-frame values (one per z slice of the volume).

    Attributes
    ----------
    acquisition_datetime
        Start of the frame's acquisition: AcquisitionDateTime (0008,002A), else
        AcquisitionDate + AcquisitionTime, else (Enhanced) FrameAcquisitionDateTime.
    duration_s
        ActualFrameDuration (0018,1242) or FrameAcquisitionDuration (0018,9220), in s.
    frame_reference_time_s
        FrameReferenceTime (0054,1300) in s: from the series reference time to the
        frame's average-count-rate time.
    rescale_intercept
        RescaleIntercept of the frame (must be 0 for SUV).
    philips_suv_factor, philips_activity_factor
        Philips private (7053,1000) SUV scale factor and (7053,1009) activity concentration
        scale factor, when present.
    where
        File (and frame) for messages.
    """

    acquisition_datetime: datetime | None
    duration_s: float | None
    frame_reference_time_s: float | None
    rescale_intercept: float
    philips_suv_factor: float | None
    philips_activity_factor: float | None
    where: str


@dataclass(frozen=True)
class GeDoseRecord:
    """The tracer activity a GE scanner recorded in its private group 0009 (``GEMS_PETD_01``).

    Element offsets from pydicom's private dictionary (``pydicom._private_dict``,
    ``GEMS_PETD_01``): xx38 tracer_activity (FL), xx39 meas_datetime (DT), xx3B
    admin_datetime (DT), xx3C post_inj_activity (FL, the syringe residual), xx3D
    post_inj_datetime (DT). GE's "Calculation of SUVs in GE Apps" (QIBA wiki) decays the
    tracer activity from its measurement time and subtracts the residual decayed from its own.

    Attributes
    ----------
    tracer_activity_raw
        tracer_activity as stored (no unit correction yet; MBq on GE scanners).
    measured_datetime, administered_datetime
        When the syringe was assayed, and when it was injected.
    post_injection_activity_raw, post_injection_datetime
        The residual activity and its assay time (absent when not recorded).
    """

    tracer_activity_raw: float
    measured_datetime: datetime | None
    administered_datetime: datetime | None
    post_injection_activity_raw: float | None
    post_injection_datetime: datetime | None


@dataclass(frozen=True)
class SuvInputs:
    """Series-level header values for SUV, as found (no unit corrections yet)."""

    label: str
    manufacturer: str
    units: str | None
    decay_correction: str | None
    corrected_image: tuple[str, ...] | None
    suv_type: str | None
    series_datetime: datetime | None
    series_date: date | None
    ge_scan_datetime: datetime | None
    decay_correction_datetime: datetime | None
    injection_datetime: datetime | None
    injection_time: time | None
    injected_dose_raw: float | None
    half_life_raw_s: float | None
    nuclide: Nuclide | None
    radiopharmaceutical: str | None
    n_radiopharmaceuticals: int
    weight_raw: float | None
    height_raw: float | None
    sex: str | None
    philips_creator_present: bool
    frames: tuple[FrameTiming, ...]
    manufacturer_model_name: str = ""
    ge_dose: GeDoseRecord | None = None


def _frame_timing(frame: Frame) -> tuple[FrameTiming, bool]:
    header = frame.header
    acquisition = parse_dt(frame.get("AcquisitionDateTime")) or _combine(
        parse_da(frame.get("AcquisitionDate")), parse_tm(frame.get("AcquisitionTime"))
    )
    if acquisition is None:
        acquisition = parse_dt(frame.get("FrameAcquisitionDateTime"))
    duration_ms = _float(frame.get("ActualFrameDuration")) or _float(
        frame.get("FrameAcquisitionDuration")
    )
    reference_ms = _float(frame.get("FrameReferenceTime"))
    suv_factor, creator_a = _private_value(header, 0x7053, PHILIPS_PRIVATE_CREATOR, 0x00)
    activity_factor, creator_b = _private_value(header, 0x7053, PHILIPS_PRIVATE_CREATOR, 0x09)
    timing = FrameTiming(
        acquisition_datetime=acquisition,
        duration_s=duration_ms / 1000.0 if duration_ms is not None else None,
        frame_reference_time_s=reference_ms / 1000.0 if reference_ms is not None else None,
        rescale_intercept=frame.rescale_intercept,
        philips_suv_factor=_float(suv_factor),
        philips_activity_factor=_float(activity_factor),
        where=frame.where(),
    )
    return timing, creator_a or creator_b


def _enhanced_corrections(frame: Frame) -> tuple[tuple[str, ...] | None, str | None]:
    """CorrectedImage and DecayCorrection equivalents of an Enhanced PET frame."""
    attenuation = _text(frame.get("AttenuationCorrected"))
    decay = _text(frame.get("DecayCorrected"))
    if attenuation is None and decay is None:
        return None, None
    corrected = []
    if attenuation == "YES":
        corrected.append("ATTN")
    if decay == "YES":
        corrected.append("DECY")
    decay_correction = None
    if decay == "YES":
        decay_correction = "START"
    elif decay == "NO":
        decay_correction = "NONE"
    return tuple(corrected), decay_correction


def _ge_dose_record(header: Dataset) -> GeDoseRecord | None:
    """The GE private dose record of a header, when it holds a tracer activity."""

    def value(offset: int) -> Any:
        found, _ = _private_value(header, 0x0009, GE_PRIVATE_CREATOR, offset)
        return found

    activity = _float(value(0x38))
    if activity is None or activity <= 0:
        return None
    return GeDoseRecord(
        tracer_activity_raw=activity,
        measured_datetime=parse_dt(value(0x39)),
        administered_datetime=parse_dt(value(0x3B)),
        post_injection_activity_raw=_float(value(0x3C)),
        post_injection_datetime=parse_dt(value(0x3D)),
    )


def suv_inputs_from_frames(frames: Sequence[Frame], label: str) -> SuvInputs:
    """Gather the SUV header values of a PET series from its frames (volume order)."""
    first = frames[0]
    header = first.header
    corrected_raw = first.get("CorrectedImage")
    corrected: tuple[str, ...] | None = None
    if corrected_raw is not None:
        values = [corrected_raw] if isinstance(corrected_raw, str) else list(corrected_raw)
        corrected = tuple(str(v).strip().upper() for v in values)
    decay_correction = _text(first.get("DecayCorrection"))
    enhanced_corrected, enhanced_decay = _enhanced_corrections(first)
    if corrected is None:
        corrected = enhanced_corrected
    if decay_correction is None:
        decay_correction = enhanced_decay

    units = _text(first.get("Units"))
    if units is None:
        rescale_type = _text(first.get("RescaleType"))
        if rescale_type and rescale_type.upper() in {"BQML", "CNTS", "GML", "CM2ML"}:
            units = rescale_type.upper()

    radiopharm_items = first.get("RadiopharmaceuticalInformationSequence") or []
    item = radiopharm_items[0] if radiopharm_items else Dataset()
    code_seq = item.get("RadionuclideCodeSequence") or []
    code = code_seq[0] if code_seq else Dataset()
    radiopharmaceutical = _text(item.get("Radiopharmaceutical"))
    nuclide = find_nuclide(
        code_value=_text(code.get("CodeValue")), text=_text(code.get("CodeMeaning"))
    ) or find_nuclide(text=radiopharmaceutical)

    series_date = parse_da(first.get("SeriesDate")) or parse_da(first.get("AcquisitionDate"))
    ge_value, _ = _private_value(header, 0x0009, GE_PRIVATE_CREATOR, 0x0D)
    timings = []
    creator_present = False
    for frame in frames:
        timing, creator = _frame_timing(frame)
        timings.append(timing)
        creator_present = creator_present or creator
    return SuvInputs(
        label=label,
        manufacturer=_text(first.get("Manufacturer")) or "",
        units=units.upper() if units else None,
        decay_correction=decay_correction.upper() if decay_correction else None,
        corrected_image=corrected,
        suv_type=(_text(first.get("SUVType")) or "").upper() or None,
        series_datetime=_combine(series_date, parse_tm(first.get("SeriesTime"))),
        series_date=series_date,
        ge_scan_datetime=parse_dt(ge_value),
        decay_correction_datetime=parse_dt(first.get("DecayCorrectionDateTime")),
        injection_datetime=parse_dt(item.get("RadiopharmaceuticalStartDateTime")),
        injection_time=parse_tm(item.get("RadiopharmaceuticalStartTime")),
        injected_dose_raw=_float(item.get("RadionuclideTotalDose")),
        half_life_raw_s=_float(item.get("RadionuclideHalfLife")),
        nuclide=nuclide,
        radiopharmaceutical=radiopharmaceutical,
        n_radiopharmaceuticals=len(radiopharm_items),
        weight_raw=_float(first.get("PatientWeight")),
        height_raw=_float(first.get("PatientSize")),
        sex=_text(first.get("PatientSex")),
        philips_creator_present=creator_present,
        frames=tuple(timings),
        manufacturer_model_name=_text(first.get("ManufacturerModelName")) or "",
        ge_dose=_ge_dose_record(header),
    )
