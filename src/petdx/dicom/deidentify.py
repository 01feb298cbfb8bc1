"""De-identification of DICOM objects: PS3.15 Basic Application Level Confidentiality Profile
with the Retain Patient Characteristics, Retain Longitudinal Temporal Information with
Modified Dates, and Retain Safe Private options.

What happens to each attribute, at every nesting level:

* **Basic profile** (PS3.15 Annex E, Table E.1-1): the action of each listed attribute comes
  from the standard's table as shipped by ``dicom-anonymizer`` (KitwareMedical), edition
  ``2026c``. ``X`` removes; ``Z`` empties; ``D`` replaces with a dummy of the right VR;
  ``U`` replaces a UID with a new one; for combined codes petdx takes ``X/Z``, ``X/Z/D`` and
  ``Z/D`` -> ``Z``, ``X/D`` -> ``D``, ``X/Z/U*`` -> ``U``. PatientName and PatientID become
  the study pseudonym. Attributes not in the table are kept, as the profile specifies.
  Curves and overlay comments/data (repeating groups 50xx, 60xx) are removed.
* **UIDs** are replaced by ``2.25.<n>`` where ``n`` is a UUID derived from a study secret
  and the original UID (HMAC-SHA256, :func:`deidentify_uid`). The mapping
  is therefore consistent across series, runs and machines of the same study, so references
  (FrameOfReference, ReferencedSOPInstanceUID) still match, and re-ingesting a file gives the
  same UIDs - the key of idempotent ingest. Without the secret it cannot be inverted.
* **Retain Longitudinal Temporal Information, Modified Dates**: every DA and DT value
  (including private ones kept below) is moved by one whole-day offset per patient,
  derived from the secret and the pseudonym (between 365 and 3652 days back); TM values are
  kept. Time differences - all that SUV decay correction needs - are therefore unchanged.
  The patient's birth date and time are never retained (PatientAge is).
* **Retain Patient Characteristics**: sex, age, size, weight, body-mass index, measured AP
  and lateral dimensions, smoking and pregnancy status, sex neutered. Free-text
  characteristics (ethnic group, allergies, medical alerts, additional history) are removed
  as in the basic profile.
* **Retain Safe Private**: private elements are removed except the vendor SUV elements in
  :data:`SAFE_PRIVATE` (Philips (7053,xx00/xx09); GE GEMS_PETD_01 dose and time elements),
  each checked to hold a number or a date-time, with their private creator.
* PatientIdentityRemoved (0012,0062) ``YES``, LongitudinalTemporalInformationModified
  (0028,0303) ``MODIFIED``, DeidentificationMethod (0012,0063) and
  DeidentificationMethodCodeSequence (0012,0064) with the CID 7050 codes of the profile and
  options are added.
* Objects with BurnedInAnnotation ``YES`` are refused: pixel data are not cleaned.

Why petdx applies the table itself: ``dicom-anonymizer``'s own engine keeps a process-wide
map of random UIDs (a second run gives other UIDs, so ingest could not be idempotent),
replaces dates with 00010101 (no Modified Dates option), and applies per-tag rules at the top
level only; ``dicognito`` replaces names with random fake names and keeps descriptions and
private tags (not the PS3.15 profile); ``deid``'s default recipe is not the PS3.15 table.
Using the maintained table keeps petdx's list of attributes current with the standard.

References
----------
DICOM PS3.15 Annex E, "Attribute Confidentiality Profiles", Table E.1-1 and section E.3
(options). DICOM PS3.16 CID 7050 "De-identification Method".
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

from dicomanonymizer.dicomfields_selector import dicom_anonymization_database_selector
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes
from pydicom.tag import BaseTag, Tag

from petdx.errors import InvalidSeriesError

__all__ = [
    "PROFILE_TABLE_EDITION",
    "SAFE_PRIVATE",
    "DeidentificationSettings",
    "ProfileAction",
    "SafePrivateElement",
    "deidentify_dataset",
    "deidentify_uid",
    "patient_date_offset_days",
]

#: Edition of PS3.15 Table E.1-1 used (a module of dicom-anonymizer).
PROFILE_TABLE_EDITION = "dicomfields_2026c"

_MIN_OFFSET_DAYS = 365
_MAX_OFFSET_DAYS = 3652


class ProfileAction(StrEnum):
    """Action codes of PS3.15 Table E.1-1a, as petdx resolves them."""

    REMOVE = "X"
    EMPTY = "Z"
    DUMMY = "D"
    UID = "U"
    KEEP = "K"


_CATEGORY_ACTION = {
    "D_TAGS": ProfileAction.DUMMY,
    "Z_TAGS": ProfileAction.EMPTY,
    "X_TAGS": ProfileAction.REMOVE,
    "U_TAGS": ProfileAction.UID,
    "Z_D_TAGS": ProfileAction.EMPTY,
    "X_Z_TAGS": ProfileAction.EMPTY,
    "X_D_TAGS": ProfileAction.DUMMY,
    "X_Z_D_TAGS": ProfileAction.EMPTY,
    "X_Z_U_STAR_TAGS": ProfileAction.UID,
}

#: Retain Patient Characteristics Option (PS3.15 E.3.9): attributes kept.
_PATIENT_CHARACTERISTICS = frozenset(
    Tag(t)
    for t in (
        "PatientSex",
        "PatientAge",
        "PatientSize",
        "PatientWeight",
        "PatientBodyMassIndex",
        "MeasuredAPDimension",
        "MeasuredLateralDimension",
        "SmokingStatus",
        "PregnancyStatus",
        "PatientSexNeutered",
    )
)
#: Temporal attributes that the Modified Dates option does not retain.
_NEVER_RETAINED = frozenset(Tag(t) for t in ("PatientBirthDate", "PatientBirthTime"))
_PSEUDONYM_TAGS = frozenset(Tag(t) for t in ("PatientID", "PatientName"))


@dataclass(frozen=True)
class SafePrivateElement:
    """A private element kept by the Retain Safe Private option: creator, group, element
    offset within the block, and what it must hold (``number`` or ``datetime``)."""

    creator: str
    group: int
    offset: int
    kind: str
    name: str


#: Vendor elements SUV computation needs (see :mod:`petdx.suv.inputs`).
SAFE_PRIVATE: tuple[SafePrivateElement, ...] = (
    SafePrivateElement("Philips PET Private Group", 0x7053, 0x00, "number", "SUV Scale Factor"),
    SafePrivateElement(
        "Philips PET Private Group", 0x7053, 0x09, "number", "Activity Concentration Scale Factor"
    ),
    SafePrivateElement("GEMS_PETD_01", 0x0009, 0x0D, "datetime", "PET scan_datetime"),
    SafePrivateElement("GEMS_PETD_01", 0x0009, 0x38, "number", "PET tracer_activity"),
    SafePrivateElement("GEMS_PETD_01", 0x0009, 0x39, "datetime", "PET meas_datetime"),
    SafePrivateElement("GEMS_PETD_01", 0x0009, 0x3B, "datetime", "PET admin_datetime"),
    SafePrivateElement("GEMS_PETD_01", 0x0009, 0x3C, "number", "PET post_inj_activity"),
    SafePrivateElement("GEMS_PETD_01", 0x0009, 0x3D, "datetime", "PET post_inj_datetime"),
    SafePrivateElement("GEMS_PETD_01", 0x0009, 0x3F, "number", "PET half_life"),
    SafePrivateElement("GEMS_PETD_01", 0x0009, 0x40, "number", "PET positron_fraction"),
)


@cache
def _profile() -> tuple[
    dict[BaseTag, ProfileAction], tuple[tuple[int, int, int, int, ProfileAction], ...]
]:
    tables = dicom_anonymization_database_selector(PROFILE_TABLE_EDITION)
    exact: dict[BaseTag, ProfileAction] = {}
    masked: list[tuple[int, int, int, int, ProfileAction]] = []
    for category, action in _CATEGORY_ACTION.items():
        for entry in tables[category]:
            if len(entry) == 2:
                exact[Tag(entry[0], entry[1])] = action
            else:
                group, element, group_mask, element_mask = entry
                masked.append((group, element, group_mask, element_mask, action))
    return exact, tuple(masked)


def profile_action(tag: BaseTag) -> ProfileAction | None:
    """The basic-profile action of a (public) attribute, or None when it is not listed."""
    exact, masked = _profile()
    found = exact.get(tag)
    if found is not None:
        return found
    for group, element, group_mask, element_mask, action in masked:
        if tag.group & group_mask == group & group_mask and (
            tag.element & element_mask == element & element_mask
        ):
            return action
    return None


def deidentify_uid(secret: bytes, uid: str) -> str:
    """The study's replacement of ``uid``: ``2.25.<n>``, the same for the same secret.

    ``n`` is the integer of a UUID whose 122 free bits are the first bytes of
    HMAC-SHA256(secret, uid) (RFC 4122 variant and version bits set), so the result is a
    valid UUID-derived UID (PS3.5 B.2) that cannot be inverted without the secret.
    """
    digest = hmac.new(secret, uid.strip().encode("ascii", "replace"), hashlib.sha256).digest()
    return f"2.25.{uuid.UUID(bytes=digest[:16], version=4).int}"


def patient_date_offset_days(secret: bytes, pseudonym: str) -> int:
    """Days added to every date of one patient's images (negative: moved back 1-10 years)."""
    digest = hashlib.sha256(secret + b"date-offset" + pseudonym.encode("utf-8")).digest()
    span = _MAX_OFFSET_DAYS - _MIN_OFFSET_DAYS + 1
    return -(_MIN_OFFSET_DAYS + int.from_bytes(digest[:8], "big") % span)


@dataclass(frozen=True)
class DeidentificationSettings:
    """What de-identification needs: the study secret, the patient's pseudonym, and the
    patient's date offset (default: :func:`patient_date_offset_days`)."""

    secret: bytes
    pseudonym: str
    date_offset_days: int | None = None

    @property
    def offset_days(self) -> int:
        if self.date_offset_days is not None:
            return self.date_offset_days
        return patient_date_offset_days(self.secret, self.pseudonym)


def _shift_da(value: str, days: int) -> str | None:
    text = value.strip()
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        day = date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None
    return (day + timedelta(days=days)).strftime("%Y%m%d")


def _shift_dt(value: str, days: int) -> str | None:
    text = value.strip()
    shifted = _shift_da(text[:8], days)
    if shifted is None:
        return None
    return shifted + text[8:]


def _shift_values(value: Any, shift: Callable[[str], str | None]) -> Any:
    if isinstance(value, MultiValue | list):
        out = [shift(str(v)) for v in value]
        return None if any(v is None for v in out) else out
    if value in (None, ""):
        return value
    return shift(str(value))


def _dummy(elem: DataElement, pseudonym: str) -> Any:
    vr = elem.VR
    if vr in ("PN", "LO", "SH", "LT", "ST", "UT", "UC"):
        return "DEIDENTIFIED"
    if vr in ("CS", "AE"):
        return "DEIDENTIFIED"
    if vr == "AS":
        return "000Y"
    if vr == "UR":
        return "http://deidentified.invalid"
    if vr in ("DS", "IS"):
        return "0"
    if vr in ("FD", "FL", "SS", "US", "SL", "UL", "SV", "UV"):
        return 0
    if vr in ("OB", "OW", "UN", "OD", "OF", "OL", "OV"):
        return b"\x00\x00"
    if vr == "SQ":
        return Sequence([])
    return ""


def _replace_uid(value: Any, secret: bytes) -> Any:
    if isinstance(value, MultiValue | list):
        return [deidentify_uid(secret, str(v)) for v in value if str(v).strip()]
    if not str(value or "").strip():
        return value
    return deidentify_uid(secret, str(value))


def _keep_safe_private(ds: Dataset, offset_days: int) -> None:
    all_tags = list(ds.keys())
    present_groups = {t.group for t in all_tags if t.is_private}
    if not present_groups:
        return
    keep: dict[BaseTag, SafePrivateElement] = {}
    creators: set[BaseTag] = set()
    for safe in SAFE_PRIVATE:
        if safe.group not in present_groups:
            continue
        try:
            block = ds.private_block(safe.group, safe.creator)
        except KeyError:
            continue
        tag = block.get_tag(safe.offset)
        if tag in ds:
            keep[tag] = safe
            creators.add(Tag(safe.group, tag.element >> 8))
    tags = list(ds.keys())
    for tag in [t for t in tags if t.is_private]:
        if tag in creators:
            continue
        safe_entry = keep.get(tag)
        if safe_entry is None:
            del ds[tag]
            continue
        elem = ds[tag]
        raw = elem.value
        text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else raw
        if safe_entry.kind == "number":
            try:
                float(text if not isinstance(text, MultiValue | list) else text[0])
            except (TypeError, ValueError):
                del ds[tag]
        else:
            shifted = _shift_values(str(text).strip("\x00 "), lambda v: _shift_dt(v, offset_days))
            if shifted is None:
                del ds[tag]
            else:
                ds[tag] = DataElement(tag, "DT", shifted)
    for creator in creators:
        remaining = list(ds.keys())
        group_has = any(
            t.is_private and t.group == creator.group and (t.element >> 8) == creator.element
            for t in remaining
            if t != creator
        )
        if not group_has:
            del ds[creator]


def _process(ds: Dataset, settings: DeidentificationSettings, offset_days: int) -> None:
    secret = settings.secret
    for tag in list(ds.keys()):
        if tag.is_private:
            continue
        elem = ds[tag]
        vr = elem.VR
        if tag in _PSEUDONYM_TAGS:
            elem.value = settings.pseudonym
            continue
        if tag in _NEVER_RETAINED:
            action = profile_action(tag) or ProfileAction.REMOVE
        elif vr == "DA":
            elem.value = _shift_values(elem.value, lambda v: _shift_da(v, offset_days)) or ""
            continue
        elif vr == "DT":
            elem.value = _shift_values(elem.value, lambda v: _shift_dt(v, offset_days)) or ""
            continue
        elif vr == "TM" or tag in _PATIENT_CHARACTERISTICS:
            continue
        else:
            action = profile_action(tag) or ProfileAction.KEEP
        if action is ProfileAction.REMOVE:
            del ds[tag]
        elif action is ProfileAction.EMPTY:
            elem.value = Sequence([]) if vr == "SQ" else None
        elif action is ProfileAction.DUMMY:
            elem.value = _dummy(elem, settings.pseudonym)
        elif action is ProfileAction.UID:
            elem.value = _replace_uid(elem.value, secret)
        elif vr == "SQ":
            for item in elem.value or ():
                _process(item, settings, offset_days)
    _keep_safe_private(ds, offset_days)


def _method_codes() -> Sequence:
    items = []
    for code in (
        codes.DCM.BasicApplicationConfidentialityProfile,
        codes.DCM.RetainPatientCharacteristicsOption,
        codes.DCM.RetainLongitudinalTemporalInformationModifiedDatesOption,
        codes.DCM.RetainSafePrivateOption,
    ):
        item = Dataset()
        item.CodeValue = code.value
        item.CodingSchemeDesignator = code.scheme_designator
        item.CodeMeaning = code.meaning
        items.append(item)
    return Sequence(items)


def deidentify_dataset(ds: Dataset, settings: DeidentificationSettings) -> Dataset:
    """De-identify ``ds`` in place (see the module docstring) and return it.

    Parameters
    ----------
    ds
        A complete DICOM dataset (with ``file_meta`` when it will be written as a file).
    settings
        Study secret, pseudonym and date offset.

    Raises
    ------
    InvalidSeriesError
        BurnedInAnnotation (0028,0301) is YES: identifiers may be in the pixels.
    """
    if str(ds.get("BurnedInAnnotation", "")).upper() == "YES":
        raise InvalidSeriesError(
            f"SOP instance in series {ds.get('SeriesInstanceUID', '?')}: BurnedInAnnotation "
            "(0028,0301) is YES, so identifiers may be burned into the pixels, which petdx "
            "does not clean. Leave this series out or have the PACS remove the annotation."
        )
    offset_days = settings.offset_days
    _process(ds, settings, offset_days)
    ds.PatientIdentityRemoved = "YES"
    ds.LongitudinalTemporalInformationModified = "MODIFIED"
    ds.DeidentificationMethod = [  # LO, VM 1-n, 64 characters each
        f"petdx PS3.15 E.1-1 {PROFILE_TABLE_EDITION} Basic Profile",
        "Retain Patient Characteristics Option",
        "Retain Longitudinal Temporal Modified Dates Option",
        "Retain Safe Private Option",
    ]
    ds.DeidentificationMethodCodeSequence = _method_codes()
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        if "SOPInstanceUID" in ds:
            meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        for keyword in ("SourceApplicationEntityTitle", "SendingApplicationEntityTitle"):
            if keyword in meta:
                delattr(meta, keyword)
    return ds
