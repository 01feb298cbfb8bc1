"""The SUV factor of a PET series: SUV = (stored * RescaleSlope + RescaleIntercept) * factor.

The factor is computed per frame (per z slice), since Philips private factors and
non-decay-corrected (``DecayCorrection NONE``) frames differ from slice to slice. Its unit is
SUV per rescaled stored value: (g/ml) / (Bq/ml) = g/Bq for Units BQML and body-weight SUV.

Rules, by Units (0054,1001):

* ``BQML``: ``factor = M / A_ref`` with M the normalising body quantity (g, or cm^2 for BSA)
  and ``A_ref`` the injected activity decayed to the reference time. For
  ``DecayCorrection START`` the reference time follows :func:`petdx.suv.timing.reference_time`;
  for ``ADMIN`` the values are already corrected to injection, so ``A_ref`` is the injected
  activity; for ``NONE`` each frame holds the mean activity during its acquisition, so
  ``A_ref = A0 * 2^(-(t_acq - t_inj)/T_half) * (1 - exp(-lambda*D)) / (lambda*D)``
  (decay to the frame start, then the in-frame integral over its duration D).
* ``CNTS`` (Philips): the private SUV scale factor (7053,1000) gives SUVbw directly; else the
  activity concentration scale factor (7053,1009) converts to Bq/ml and the BQML rule applies.
* ``GML``: already SUV of SUV Type (0054,1006) (empty = BW); converted to the requested
  normalisation by the ratio of body quantities. ``CM2ML``: already SUVbsa, likewise.

Header fixes, each reported as a warning: PatientWeight > 1000 is taken as grams,
RadionuclideTotalDose < 1e4 as MBq, PatientSize > 3 as centimetres; a missing
RadionuclideHalfLife comes from :data:`petdx.nuclides.NUCLIDES`, and a header value more than
1 % away from the table's is reported.

Implausible values are errors naming the attribute (never a NaN or infinite SUV): a
weight, height, activity, half-life or RescaleSlope that is NaN or infinite; after the fixes
a weight above :data:`MAX_WEIGHT_KG`, a height above :data:`MAX_HEIGHT_M`, an activity above
:data:`MAX_ACTIVITY_BQ`, a half-life outside :data:`HALF_LIFE_RANGE_S`; an injection more
than :data:`MAX_UPTAKE_HALF_LIVES` half-lives before the scan's reference time (or, not
decay corrected, before its last frame). Last, every factor must be a finite positive number.

References
----------
QIBA "Standardized Uptake Value (SUV)" vendor-neutral pseudo-code (RSNA QIBA wiki).
Kinahan PE, Fletcher JW. PET/CT standardized uptake values (SUVs) in clinical practice and
assessing response to therapy. Semin Ultrasound CT MR 2010;31:496-505.
doi:10.1053/j.sult.2010.10.001
DICOM PS3.3 C.8.9.1 (PET Series Module), C.8.9.4 (PET Image Module).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from petdx.dicom.compression import PixelEncoding
from petdx.dicom.frames import Frame
from petdx.dicom.series_volume import ImageSeries
from petdx.errors import (
    Hint,
    InputValidationError,
    InvalidSeriesError,
    MissingAttributeError,
    NonQuantitativeSeriesError,
)
from petdx.image import Volume
from petdx.suv.body_size import (
    body_surface_area_dubois_m2,
    ideal_body_weight_sugawara_kg,
    lean_body_mass_james_kg,
    lean_body_mass_janmahasatian_kg,
)
from petdx.suv.enums import (
    NON_QUANTITATIVE_UNITS,
    DecayCorrection,
    ReferenceTimeRule,
    SuvNormalization,
    SuvType,
    Units,
)
from petdx.suv.inputs import SuvInputs, suv_inputs_from_frames
from petdx.suv.timing import earliest_acquisition, injection_datetime, reference_time
from petdx.suv.vendor import (
    ScannerVendor,
    VendorFactorCheck,
    ge_check,
    philips_check,
    scanner_vendor,
    vendor_warning,
)

__all__ = ["SuvOverrides", "SuvResult", "compute_suv", "suv_factors_from_inputs", "suv_volume"]

_GRAMS_THRESHOLD = 1000.0
_MBQ_THRESHOLD = 1e4
_HALF_LIFE_TOLERANCE = 0.01

#: Plausible header values (after the unit fixes above); outside them, or not a finite
#: number, a value is an error naming the attribute - never a NaN or infinite SUV.
MAX_WEIGHT_KG = 500.0
MAX_HEIGHT_M = 3.0
MAX_ACTIVITY_BQ = 1e11  # 100 GBq: far above any diagnostic or therapeutic administration
HALF_LIFE_RANGE_S = (10.0, 1e9)  # O-15 (122 s) and Rb-82 (76 s) to Ge-68 (271 d), widely
#: The injection may precede the scan's reference time by at most this many half-lives of
#: the radionuclide (the activity left is then below a millionth of the injected).
MAX_UPTAKE_HALF_LIVES = 20.0


@dataclass(frozen=True)
class SuvOverrides:
    """Values given by the user in place of (or where there is no) header value.

    Attributes
    ----------
    body_weight_kg
        Patient weight in kg (replaces PatientWeight).
    height_m
        Patient height in metres (replaces PatientSize).
    sex
        'M', 'F' or 'O' (replaces PatientSex).
    """

    body_weight_kg: float | None = None
    height_m: float | None = None
    sex: str | None = None

    def __post_init__(self) -> None:
        if self.body_weight_kg is not None and not 1.0 <= self.body_weight_kg <= 500.0:
            raise InputValidationError(
                f"body_weight_kg {self.body_weight_kg}: expected a body weight in kg (1 to 500).",
                hint=Hint("body_weight_kg"),
            )
        if self.height_m is not None and not 0.3 <= self.height_m <= 2.8:
            raise InputValidationError(
                f"height_m {self.height_m}: expected a height in metres (0.3 to 2.8).",
                hint=Hint("height_m"),
            )
        if self.sex is not None and self.sex.upper() not in {"M", "F", "O"}:
            raise InputValidationError(
                f"sex {self.sex}: expected M, F or O.", hint=Hint("sex", ("M", "F", "O"))
            )


@dataclass(frozen=True)
class SuvResult:
    """SUV factors of a series and how they were obtained.

    Attributes
    ----------
    factors
        One factor per frame, in volume (z) order: SUV per rescaled stored value.
    reference_datetime
        The time the activity was decayed to (``None`` when not needed).
    reference_time_rule
        The rule that chose it.
    injected_activity_bq
        RadionuclideTotalDose after unit correction (Bq), when used.
    decayed_activity_bq
        Activity at the reference time (Bq), per frame (equal for START and ADMIN).
    normalizing_quantity
        Body weight, lean body mass or ideal weight in g, or BSA in cm^2, when used.
    warnings
        Every header value petdx corrected or assumed, in words.
    vendor
        The scanner's maker, from Manufacturer (0008,0070).
    vendor_check
        The SUV scaling the scanner stored in private elements, beside petdx's own
        (``None`` when the series carries none); a difference over 1 % is also a warning.
    pixel_encoding
        The transfer syntaxes of the series and whether its pixels are lossy compressed
        (LossyImageCompression (0028,2110), ratio, method); ``None`` when computed from
        frames without their volume.
    attenuation_correction_method
        AttenuationCorrectionMethod (0054,1101) of the series (CT- or MR-based: says whether
        the scan was a PET/CT or a PET/MR); ``None`` when the header does not state it.
    """

    series_instance_uid: str
    normalization: SuvNormalization
    units: str
    decay_correction: str | None
    factors: tuple[float, ...]
    injection_datetime: datetime | None
    reference_datetime: datetime | None
    reference_time_rule: ReferenceTimeRule
    injected_activity_bq: float | None
    decayed_activity_bq: tuple[float, ...] | None
    body_weight_kg: float | None
    height_m: float | None
    sex: str | None
    normalizing_quantity: float | None
    half_life_s: float | None
    nuclide: str | None
    warnings: tuple[str, ...] = field(default=())
    vendor: ScannerVendor = ScannerVendor.OTHER
    vendor_check: VendorFactorCheck | None = None
    pixel_encoding: PixelEncoding | None = None
    attenuation_correction_method: str | None = None

    @property
    def suv_factor(self) -> float:
        """Median factor over frames."""
        return float(np.median(self.factors))

    @property
    def unit(self) -> str:
        """Unit of the resulting SUV: g/ml, or cm2/ml for BSA."""
        return self.normalization.unit

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (datetimes as ISO 8601 strings)."""

        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "series_instance_uid": self.series_instance_uid,
            "normalization": self.normalization.value,
            "suv_unit": self.unit,
            "units": self.units,
            "decay_correction": self.decay_correction,
            "suv_factor": self.suv_factor,
            "suv_factor_min": float(min(self.factors)),
            "suv_factor_max": float(max(self.factors)),
            "injection_datetime": iso(self.injection_datetime),
            "reference_datetime": iso(self.reference_datetime),
            "reference_time_rule": self.reference_time_rule.value,
            "injected_activity_bq": self.injected_activity_bq,
            "decayed_activity_bq": (
                float(np.median(self.decayed_activity_bq)) if self.decayed_activity_bq else None
            ),
            "body_weight_kg": self.body_weight_kg,
            "height_m": self.height_m,
            "sex": self.sex,
            "normalizing_quantity": self.normalizing_quantity,
            "half_life_s": self.half_life_s,
            "nuclide": self.nuclide,
            "warnings": list(self.warnings),
            "vendor": self.vendor.value,
            "vendor_check": self.vendor_check.to_dict() if self.vendor_check else None,
            "pixel_encoding": self.pixel_encoding.to_dict() if self.pixel_encoding else None,
            "pixel_compression": (self.pixel_encoding.description if self.pixel_encoding else None),
            "attenuation_correction_method": self.attenuation_correction_method,
        }

    def __str__(self) -> str:
        when = self.reference_datetime.isoformat() if self.reference_datetime else "n/a"
        text = (
            f"SUV{self.normalization.value} factor {self.suv_factor:.6g} ({self.units}, "
            f"decay correction {self.decay_correction}, reference {when} by "
            f"{self.reference_time_rule.value})"
        )
        if self.vendor_check is not None:
            check = self.vendor_check
            text += (
                f"; scanner SUVbw factor {check.vendor_factor:.6g} vs petdx "
                f"{check.petdx_factor:.6g} ({check.relative_difference:+.2%}, {check.source})"
            )
        if self.pixel_encoding is not None and self.pixel_encoding.compressed:
            text += f"; pixels {self.pixel_encoding.description}"
        return text


class _Context:
    """Values resolved once per series, with the warnings their resolution produced."""

    def __init__(self, inputs: SuvInputs, overrides: SuvOverrides) -> None:
        self.inputs = inputs
        self.overrides = overrides
        self.warnings: list[str] = []

    def weight_kg(self, purpose: str) -> float:
        if self.overrides.body_weight_kg is not None:
            return self.overrides.body_weight_kg
        weight = self.inputs.weight_raw
        _finite(self.inputs, weight, "PatientWeight (0010,1030)", "the body weight in kg")
        if weight is None or weight <= 0:
            raise MissingAttributeError(
                f"{self.inputs.label}: PatientWeight (0010,1030) is missing; {purpose} needs "
                "the body weight in kg. Give it (body_weight_kg) or fix the header.",
                hint=Hint("body_weight_kg"),
            )
        if weight > _GRAMS_THRESHOLD:
            self.warnings.append(
                f"PatientWeight {weight:g} is above {_GRAMS_THRESHOLD:g}; taken as grams "
                f"({weight / 1000:g} kg)"
            )
            weight /= 1000.0
        if weight > MAX_WEIGHT_KG:
            raise InvalidSeriesError(
                f"{self.inputs.label}: PatientWeight (0010,1030) {self.inputs.weight_raw:g} is "
                f"{weight:g} kg, above the plausible {MAX_WEIGHT_KG:g} kg. Fix the header or "
                "give the weight (body_weight_kg).",
                hint=Hint("body_weight_kg"),
            )
        return weight

    def height_m(self, purpose: str) -> float:
        if self.overrides.height_m is not None:
            return self.overrides.height_m
        height = self.inputs.height_raw
        _finite(self.inputs, height, "PatientSize (0010,1020)", "the height in m")
        if height is None or height <= 0:
            raise MissingAttributeError(
                f"{self.inputs.label}: PatientSize (0010,1020) is missing; {purpose} needs the "
                "height in m. Give it (height_m) or fix the header.",
                hint=Hint("height_m"),
            )
        if height > 3.0:
            self.warnings.append(
                f"PatientSize {height:g} is above 3; taken as centimetres ({height / 100:g} m)"
            )
            height /= 100.0
        if height > MAX_HEIGHT_M:
            raise InvalidSeriesError(
                f"{self.inputs.label}: PatientSize (0010,1020) {self.inputs.height_raw:g} is "
                f"{height:g} m, above the plausible {MAX_HEIGHT_M:g} m. Fix the header or "
                "give the height (height_m).",
                hint=Hint("height_m"),
            )
        return height

    def sex(self, purpose: str) -> str:
        sex = self.overrides.sex or self.inputs.sex
        if not sex:
            raise MissingAttributeError(
                f"{self.inputs.label}: PatientSex (0010,0040) is missing; {purpose} needs it. "
                "Give it (sex) or fix the header.",
                hint=Hint("sex", ("M", "F", "O")),
            )
        sex = sex.upper()
        if sex == "O":
            self.warnings.append(
                "PatientSex is O (other): the mean of the male and female formulas was used"
            )
        return sex

    def body_quantity(self, kind: SuvNormalization) -> float:
        """Normalising quantity in g (cm^2 for BSA) for one normalisation."""
        purpose = f"SUV normalisation '{kind.value}'"
        weight = self.weight_kg(purpose)
        if kind is SuvNormalization.BW:
            return weight * 1000.0
        height = self.height_m(purpose)
        if kind is SuvNormalization.BSA:
            return body_surface_area_dubois_m2(weight, height) * 1e4
        if kind is SuvNormalization.IBW:
            return ideal_body_weight_sugawara_kg(height, self.sex(purpose)) * 1000.0
        if kind is SuvNormalization.SUL:
            return lean_body_mass_janmahasatian_kg(weight, height, self.sex(purpose)) * 1000.0
        return lean_body_mass_james_kg(weight, height, self.sex(purpose)) * 1000.0

    def injected_activity_bq(self) -> float:
        dose = self.inputs.injected_dose_raw
        _finite(self.inputs, dose, "RadionuclideTotalDose (0018,1074)", "the injected activity")
        if dose is None or dose <= 0:
            raise MissingAttributeError(
                f"{self.inputs.label}: RadionuclideTotalDose (0018,1074) is missing in the "
                "Radiopharmaceutical Information Sequence (0054,0016); SUV needs the injected "
                "activity in Bq. Fix the header."
            )
        if dose < _MBQ_THRESHOLD:
            self.warnings.append(
                f"RadionuclideTotalDose {dose:g} is below {_MBQ_THRESHOLD:g} Bq; taken as MBq "
                f"({dose * 1e6:g} Bq)"
            )
            dose *= 1e6
        if dose > MAX_ACTIVITY_BQ:
            raise InvalidSeriesError(
                f"{self.inputs.label}: RadionuclideTotalDose (0018,1074) "
                f"{self.inputs.injected_dose_raw:g} is {dose:g} Bq, above the plausible "
                f"{MAX_ACTIVITY_BQ:g} Bq (100 GBq). Fix the header (the activity in Bq)."
            )
        return dose

    def half_life_s(self) -> float:
        header = self.inputs.half_life_raw_s
        nuclide = self.inputs.nuclide
        _finite(self.inputs, header, "RadionuclideHalfLife (0018,1075)", "the half-life in s")
        low, high = HALF_LIFE_RANGE_S
        if header is not None and header > 0 and not low <= header <= high:
            raise InvalidSeriesError(
                f"{self.inputs.label}: RadionuclideHalfLife (0018,1075) {header:g} s is outside "
                f"the plausible {low:g} to {high:g} s of a PET radionuclide. Fix the header "
                "(the half-life in seconds) or remove it (the radionuclide's is then used)."
            )
        if header is not None and header > 0:
            if nuclide is not None:
                rel = abs(header - nuclide.half_life_s) / nuclide.half_life_s
                if rel > _HALF_LIFE_TOLERANCE:
                    self.warnings.append(
                        f"RadionuclideHalfLife {header:g} s differs by {rel:.1%} from "
                        f"{nuclide.symbol} ({nuclide.half_life_s:g} s, {nuclide.source}); "
                        "the header value was used"
                    )
            return header
        if nuclide is None:
            raise MissingAttributeError(
                f"{self.inputs.label}: RadionuclideHalfLife (0018,1075) is missing and the "
                "radionuclide cannot be identified from RadionuclideCodeSequence (0054,0300) "
                "or Radiopharmaceutical (0018,0031). Fix the header."
            )
        self.warnings.append(
            f"RadionuclideHalfLife missing; used {nuclide.symbol} {nuclide.half_life_s:g} s "
            f"({nuclide.source})"
        )
        return nuclide.half_life_s


def _check_quantitative(inputs: SuvInputs) -> tuple[Units, DecayCorrection | None]:
    label = inputs.label
    if inputs.units is None:
        raise MissingAttributeError(
            f"{label}: Units (0054,1001) is missing (in an Enhanced PET: RescaleType "
            "(0028,1054) of the Pixel Value Transformation Sequence (0040,9096)), so the "
            "meaning of the pixel values is unknown. Fix the header."
        )
    try:
        units = Units(inputs.units)
    except ValueError:
        raise NonQuantitativeSeriesError(
            f"{label}: Units (0054,1001) '{inputs.units}' is not a PET unit petdx can convert "
            "to SUV (expected BQML, CNTS, GML or CM2ML)."
        ) from None
    if units in NON_QUANTITATIVE_UNITS:
        raise NonQuantitativeSeriesError(
            f"{label}: Units (0054,1001) is {units.value}, a relative unit with no absolute "
            "activity; SUV cannot be computed. Use the quantitative (BQML) reconstruction."
        )
    decay: DecayCorrection | None = None
    if inputs.decay_correction is not None:
        try:
            decay = DecayCorrection(inputs.decay_correction)
        except ValueError:
            raise NonQuantitativeSeriesError(
                f"{label}: DecayCorrection (0054,1102) '{inputs.decay_correction}' is not "
                "NONE, START or ADMIN."
            ) from None
    corrected = set(inputs.corrected_image or ())
    missing = []
    if "ATTN" not in corrected:
        missing.append("ATTN")
    decay_corrected = bool(corrected & {"DECY", "DECAY"})
    if decay is not DecayCorrection.NONE and not decay_corrected:
        missing.append("DECY")
    if missing:
        found = "\\".join(inputs.corrected_image) if inputs.corrected_image else "nothing"
        raise NonQuantitativeSeriesError(
            f"{label}: CorrectedImage (0028,0051) lists {found}; SUV needs an attenuation- "
            f"and decay-corrected series but {' and '.join(missing)} is missing. Use the "
            "attenuation-corrected reconstruction."
        )
    if decay is DecayCorrection.NONE and decay_corrected:
        raise NonQuantitativeSeriesError(
            f"{label}: CorrectedImage (0028,0051) says decay-corrected (DECY) but "
            "DecayCorrection (0054,1102) is NONE; the two contradict each other. Fix the header."
        )
    for frame in inputs.frames:
        if frame.rescale_intercept != 0.0:
            raise NonQuantitativeSeriesError(
                f"{label}: RescaleIntercept (0028,1052) is {frame.rescale_intercept:g} in "
                f"{frame.where}; PET activity must be proportional to the stored value "
                "(intercept 0). petdx refuses rather than guess what the offset means."
            )
    return units, decay


def _stored_normalization(inputs: SuvInputs, units: Units) -> tuple[SuvNormalization, list[str]]:
    """Which normalisation a GML/CM2ML image was stored in (from SUVType)."""
    notes: list[str] = []
    raw = inputs.suv_type
    if units is Units.CM2ML:
        if raw not in (None, SuvType.BSA.value):
            notes.append(f"Units CM2ML with SUVType {raw}: taken as SUVbsa")
        return SuvNormalization.BSA, notes
    mapping = {
        None: SuvNormalization.BW,
        SuvType.BW.value: SuvNormalization.BW,
        SuvType.LBMJANMA.value: SuvNormalization.SUL,
        SuvType.LBMJAMES128.value: SuvNormalization.SUL_JAMES,
        SuvType.LBM.value: SuvNormalization.SUL_JAMES,
        SuvType.IBW.value: SuvNormalization.IBW,
    }
    if raw not in mapping:
        raise NonQuantitativeSeriesError(
            f"{inputs.label}: SUVType (0054,1006) '{raw}' cannot be read with Units GML "
            "(expected BW, LBM, LBMJAMES128, LBMJANMA or IBW)."
        )
    if raw == SuvType.LBM.value:
        notes.append("SUVType LBM does not name its formula; James 1976 was assumed")
    return mapping[raw], notes


def _finite(inputs: SuvInputs, value: float | None, attribute: str, what: str) -> None:
    """A header number that is NaN or infinite is an error naming it, never an SUV."""
    if value is not None and not math.isfinite(value):
        raise InvalidSeriesError(
            f"{inputs.label}: {attribute} is {value}, not a finite number; SUV needs {what}. "
            "Fix the header."
        )


def _check_uptake(
    inputs: SuvInputs, injected: datetime, reference: datetime, elapsed_s: float, half_life_s: float
) -> None:
    """The injection must precede the reference time by at most
    :data:`MAX_UPTAKE_HALF_LIVES` half-lives (else the decay factor is meaningless: an
    injection dated years before the scan would give an infinite SUV)."""
    if elapsed_s > MAX_UPTAKE_HALF_LIVES * half_life_s:
        raise InvalidSeriesError(
            f"{inputs.label}: the injection (RadiopharmaceuticalStartDateTime (0018,1078) or "
            f"StartTime (0018,1072)) {injected} is {elapsed_s / 3600:.4g} h before the scan "
            f"reference time {reference}, more than {MAX_UPTAKE_HALF_LIVES:g} half-lives "
            f"({MAX_UPTAKE_HALF_LIVES * half_life_s / 3600:.4g} h) of the radionuclide. Fix "
            "the header's injection date and time."
        )


def _check_factors(inputs: SuvInputs, factors: npt.NDArray[np.float64]) -> None:
    """The last guard: no SUV factor that is not a finite positive number leaves here."""
    bad = np.flatnonzero(~np.isfinite(factors) | (factors <= 0))
    if bad.size:
        first = int(bad[0])
        raise InvalidSeriesError(
            f"{inputs.label}: the SUV factor of {bad.size} of {factors.size} frame(s) is "
            f"{factors[first]:g} (first: {inputs.frames[first].where}), not a finite positive "
            "number: a header value it is computed from is not plausible (PatientWeight, "
            "RadionuclideTotalDose, RadionuclideHalfLife, the injection and scan times, "
            "Philips (7053,1000)/(7053,1009), GE (0009,xx38)). Fix the header."
        )


def _decayed_activities(
    ctx: _Context, decay: DecayCorrection | None, half_life_s: float, dose: float
) -> tuple[list[float], datetime | None, datetime | None, ReferenceTimeRule]:
    """(activity at reference per frame, injection time, reference time, rule)."""
    inputs = ctx.inputs
    n = len(inputs.frames)
    if decay is None:
        raise MissingAttributeError(
            f"{inputs.label}: DecayCorrection (0054,1102) is missing; SUV needs to know "
            "whether and to when the values are decay-corrected. Fix the header."
        )
    if decay is DecayCorrection.ADMIN:
        return [dose] * n, None, None, ReferenceTimeRule.ADMINISTRATION
    if decay is DecayCorrection.START:
        ref = reference_time(inputs, half_life_s)
        ctx.warnings.extend(ref.warnings)
        start = min(ref.value, earliest_acquisition(inputs) or ref.value)
        injected, notes = injection_datetime(inputs, start)
        ctx.warnings.extend(notes)
        elapsed = (ref.value - injected).total_seconds()
        _check_uptake(inputs, injected, ref.value, elapsed, half_life_s)
        return [dose * 2.0 ** (-elapsed / half_life_s)] * n, injected, ref.value, ref.rule
    # NONE: each frame is the mean activity during its own acquisition.
    lam = math.log(2.0) / half_life_s
    start_times = [f.acquisition_datetime for f in inputs.frames]
    if any(t is None for t in start_times):
        raise MissingAttributeError(
            f"{inputs.label}: AcquisitionTime (0008,0032) is missing in some frames; a series "
            "that is not decay corrected (DecayCorrection NONE) needs each frame's start."
        )
    starts = [t for t in start_times if t is not None]
    injected, notes = injection_datetime(inputs, min(starts))
    ctx.warnings.extend(notes)
    last = max(starts)
    _check_uptake(inputs, injected, last, (last - injected).total_seconds(), half_life_s)
    activities = []
    for frame, start in zip(inputs.frames, starts, strict=True):
        if not frame.duration_s or frame.duration_s <= 0:
            raise MissingAttributeError(
                f"{inputs.label}: ActualFrameDuration (0018,1242) is missing in {frame.where}; "
                "DecayCorrection NONE needs each frame's duration. Fix the header."
            )
        elapsed = (start - injected).total_seconds()
        in_frame = -math.expm1(-lam * frame.duration_s) / (lam * frame.duration_s)
        activities.append(dose * 2.0 ** (-elapsed / half_life_s) * in_frame)
    return activities, injected, min(starts), ReferenceTimeRule.FRAME_ACQUISITION


def suv_factors_from_inputs(
    inputs: SuvInputs,
    series_instance_uid: str,
    *,
    normalization: str | SuvNormalization = SuvNormalization.BW,
    overrides: SuvOverrides | None = None,
) -> SuvResult:
    """Compute SUV factors from gathered header values (see :func:`compute_suv`)."""
    target = SuvNormalization(normalization)
    ctx = _Context(inputs, overrides or SuvOverrides())
    units, decay = _check_quantitative(inputs)
    if inputs.n_radiopharmaceuticals > 1:
        ctx.warnings.append(
            f"{inputs.n_radiopharmaceuticals} radiopharmaceuticals listed; the first was used"
        )
    n = len(inputs.frames)
    injected_at: datetime | None = None
    reference_at: datetime | None = None
    rule = ReferenceTimeRule.NOT_NEEDED
    injected_bq: float | None = None
    decayed: list[float] | None = None
    half_life: float | None = None
    quantity: float | None = None

    philips_suv = [f.philips_suv_factor for f in inputs.frames]
    philips_activity = [f.philips_activity_factor for f in inputs.frames]
    vendor = scanner_vendor(inputs.manufacturer)
    philips = vendor is ScannerVendor.PHILIPS or inputs.philips_creator_present
    if units is Units.CNTS and not philips:
        ctx.warnings.append(
            "Units CNTS read with Philips private factors although Manufacturer is "
            f"'{inputs.manufacturer}'"
        )

    petdx_bw: npt.NDArray[np.float64] | None = None  # petdx's own SUVbw factors
    ge: VendorFactorCheck | None = None
    if units is Units.CNTS and all(v for v in philips_suv):
        factors = np.array(philips_suv, dtype=np.float64)
        if target is not SuvNormalization.BW:
            bw = ctx.body_quantity(SuvNormalization.BW)
            quantity = ctx.body_quantity(target)
            factors *= quantity / bw
        if all(v for v in philips_activity):
            petdx_bw = _own_counts_factors(ctx, decay, philips_activity)
    elif units in (Units.BQML, Units.CNTS):
        scale = np.ones(n)
        if units is Units.CNTS:
            if not all(v for v in philips_activity):
                raise MissingAttributeError(
                    f"{inputs.label}: Units CNTS but neither Philips private SUV scale factor "
                    "(7053,1000) nor activity concentration scale factor (7053,1009) is set "
                    "in every slice; counts cannot be converted. Export the series in BQML."
                )
            scale = np.array(philips_activity, dtype=np.float64)
        half_life = ctx.half_life_s()
        quantity = ctx.body_quantity(target)
        injected_bq = ctx.injected_activity_bq()
        decayed, injected_at, reference_at, rule = _decayed_activities(
            ctx, decay, half_life, injected_bq
        )
        factors = scale * quantity / np.array(decayed, dtype=np.float64)
        weight_g = ctx.body_quantity(SuvNormalization.BW)
        petdx_bw = factors * (weight_g / quantity)
        if units is Units.BQML and decay in (DecayCorrection.START, DecayCorrection.ADMIN):
            ge = ge_check(
                inputs,
                reference=reference_at if decay is DecayCorrection.START else _injection(ctx),
                half_life_s=half_life,
                weight_g=weight_g,
                petdx_bw_factors=petdx_bw,
            )
    else:  # GML or CM2ML: already SUV
        stored, notes = _stored_normalization(inputs, units)
        ctx.warnings.extend(notes)
        factors = np.ones(n)
        if stored is not target:
            quantity = ctx.body_quantity(target)
            factors *= quantity / ctx.body_quantity(stored)

    factors = np.asarray(factors, dtype=np.float64)
    _check_factors(inputs, factors)
    check = philips_check(inputs, units, petdx_bw) if petdx_bw is not None else None
    check = check or ge
    if check is not None:
        warning = vendor_warning(check, inputs.label)
        if warning:
            ctx.warnings.append(warning)

    weight = _safe(lambda: ctx.weight_kg("report"))
    height = _safe(lambda: ctx.height_m("report")) if target is not SuvNormalization.BW else None
    sex = (ctx.overrides.sex or inputs.sex or "").upper() or None
    return SuvResult(
        series_instance_uid=series_instance_uid,
        normalization=target,
        units=units.value,
        decay_correction=decay.value if decay else None,
        factors=tuple(float(f) for f in factors),
        injection_datetime=injected_at,
        reference_datetime=reference_at,
        reference_time_rule=rule,
        injected_activity_bq=injected_bq,
        decayed_activity_bq=tuple(decayed) if decayed else None,
        body_weight_kg=weight,
        height_m=height,
        sex=sex,
        normalizing_quantity=quantity,
        half_life_s=half_life,
        nuclide=inputs.nuclide.symbol if inputs.nuclide else None,
        warnings=tuple(dict.fromkeys(ctx.warnings)),
        vendor=vendor,
        vendor_check=check,
    )


def _injection(ctx: _Context) -> datetime | None:
    """The injection time for an ADMIN series (only the GE cross-check needs it)."""
    inputs = ctx.inputs
    earliest = earliest_acquisition(inputs) or inputs.series_datetime
    if earliest is None:
        return inputs.injection_datetime
    try:
        injected, _ = injection_datetime(inputs, earliest)
    except (MissingAttributeError, InvalidSeriesError):
        return None
    return injected


def _own_counts_factors(
    ctx: _Context, decay: DecayCorrection | None, activity_factors: Sequence[float | None]
) -> npt.NDArray[np.float64] | None:
    """petdx's own SUVbw factors of a Philips CNTS series, from (7053,1009), to check the
    scanner's (7053,1000); ``None`` (with a note) when the header lacks what they need."""
    try:
        half_life = ctx.half_life_s()
        dose = ctx.injected_activity_bq()
        decayed, *_ = _decayed_activities(ctx, decay, half_life, dose)
        weight_g = ctx.body_quantity(SuvNormalization.BW)
    except (MissingAttributeError, InvalidSeriesError) as exc:
        ctx.warnings.append(
            "the scanner's Philips SUV Scale Factor (7053,1000) was used without a cross-check: "
            f"petdx cannot compute its own factor from (7053,1009) ({exc})"
        )
        return None
    scale = np.array(activity_factors, dtype=np.float64)
    return scale * weight_g / np.array(decayed, dtype=np.float64)


def _safe(get: Any) -> Any:
    try:
        return get()
    except MissingAttributeError:
        return None


def compute_suv(
    series: ImageSeries | Sequence[Frame],
    *,
    normalization: str | SuvNormalization = SuvNormalization.BW,
    overrides: SuvOverrides | None = None,
) -> SuvResult:
    """Compute the SUV factor of every frame of a PET series.

    Parameters
    ----------
    series
        A PET series read by :func:`petdx.dicom.read_series_volume` (factors come back in
        its volume order), or its frames.
    normalization
        ``bw`` (default), ``sul``, ``sul-james``, ``bsa`` or ``ibw``.
    overrides
        User-given weight, height or sex replacing the header's.

    Returns
    -------
    SuvResult
        Factors per frame, times, the rule that fixed the reference time, and warnings.

    Raises
    ------
    NonQuantitativeSeriesError
        Relative units, no attenuation or decay correction, non-zero RescaleIntercept.
    MissingAttributeError
        A value SUV needs is missing (the message names it and the series).
    InvalidSeriesError
        Contradictory times (injection after the scan).
    """
    if isinstance(series, ImageSeries):
        frames: Sequence[Frame] = series.frames
        label = series.entry.label()
        uid = series.series_instance_uid
    else:
        frames = series
        if not frames:
            raise InvalidSeriesError("compute_suv: no frames given.")
        uid = str(frames[0].header.get("SeriesInstanceUID", ""))
        label = f"PT series ({uid})"
    inputs = suv_inputs_from_frames(frames, label)
    result = suv_factors_from_inputs(inputs, uid, normalization=normalization, overrides=overrides)
    correction = str(frames[0].get("AttenuationCorrectionMethod", "") or "").strip()
    result = replace(result, attenuation_correction_method=correction or None)
    if isinstance(series, ImageSeries):
        # What was assumed to read the series belongs with every result computed from it.
        result = replace(
            result,
            warnings=(*series.warnings, *result.warnings),
            pixel_encoding=series.pixel_encoding,
        )
    return result


def suv_volume(series: ImageSeries, result: SuvResult) -> Volume:
    """The series' volume converted to SUV (float32), factor applied slice by slice."""
    if len(result.factors) != series.volume.shape[0]:
        raise InvalidSeriesError(
            f"{series.entry.label()}: {len(result.factors)} SUV factors for "
            f"{series.volume.shape[0]} slices; compute the factors from this series."
        )
    factors: npt.NDArray[np.float32] = np.asarray(result.factors, dtype=np.float32)
    values = np.asarray(series.volume.array, dtype=np.float32)
    return series.volume.with_array(values * factors[:, None, None])
