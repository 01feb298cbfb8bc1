"""De-identification of DICOM objects: PS3.15 Basic Application Level Confidentiality Profile
with the Retain Patient Characteristics, Retain Longitudinal Temporal Information with
Modified Dates, and Retain Safe Private options.

What happens to each attribute, at every nesting level:

* **Basic profile** (PS3.15 Annex E, Table E.1-1): the action of each listed attribute comes
  from the standard's table as shipped by ``dicom-anonymizer`` (KitwareMedical), edition
  ``2026c``. ``X`` removes; ``Z`` empties; ``D`` replaces with a dummy of the right VR;
  ``U`` replaces a UID with a new one; for combined codes petdx takes ``X/Z``, ``X/Z/D`` and
  ``Z/D`` -> ``Z``, ``X/D`` -> ``D``, ``X/Z/U*`` -> ``U``, except DeviceSerialNumber
  (0018,1000) -> ``D``: it is Type 1 in the Enhanced General Equipment module of the Enhanced
  and Legacy Converted Enhanced IODs, where ``X/Z/D`` asks for the dummy that keeps the object
  valid (PS3.15 E.1.1). PatientName and PatientID become
  the study pseudonym. Curves (repeating group 50xx) and overlay comments and data
  (60xx,4000), (60xx,3000) are removed, as the table lists them.
* **Text not in the table** (petdx's rule, stricter than the profile, which keeps unlisted
  attributes): a public attribute not listed in Table E.1-1 whose VR holds free text (AE,
  LO, LT, PN, SH, ST, UC, UR, UT) or is unknown (UN, not in the dictionary) is removed,
  unless it is in :data:`KEPT_TEXT`, the documented list of what SUV, geometry and
  quantification read (vendor, radiopharmaceutical, coded entries, reconstruction and
  correction methods, position reference). This removes, among others, OverlayDescription
  (60xx,0022), OverlayLabel (60xx,1500) and the other overlay and curve texts of the
  repeating groups, ContentDescription (0070,0081) and ImageID (0054,0400), and any text a
  newer edition of the standard adds. ContentLabel (0070,0080), a free-form label of VR CS,
  is removed too (:data:`REMOVED_CODE_STRINGS`). Code strings (CS), numbers, dates, times
  and UIDs not in the table are kept: they hold coded values, not names.
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
* **Retain Safe Private**: private elements (creators included) are removed except the
  vendor SUV elements in :data:`SAFE_PRIVATE` (Philips (7053,xx00/xx09); GE GEMS_PETD_01
  dose and time elements), each checked to hold a number or a date-time, with their
  private creator.
* PatientIdentityRemoved (0012,0062) ``YES``, LongitudinalTemporalInformationModified
  (0028,0303) ``MODIFIED``, DeidentificationMethod (0012,0063) and
  DeidentificationMethodCodeSequence (0012,0064) with the CID 7050 codes of the profile and
  options are added.
* **File**: the 128-byte preamble is written as zeros and the File Meta Information keeps
  only its version, the SOP class and instance UIDs and the transfer syntax (the source's
  application entity titles, implementation name and private information go; the writer
  adds its own implementation UID and name).
* Objects with BurnedInAnnotation ``YES`` are refused: pixel data are not cleaned.

:mod:`petdx.dicom.deidentified_file` writes the de-identified file of an instance fast,
byte for byte as :func:`deidentify_dataset` then ``dcmwrite``, from the steps of this
module's public API (:func:`apply_profile`, :func:`keeps_unchanged`,
:func:`keep_safe_private`, :func:`add_deidentification_attributes`,
:func:`deidentify_uid_value`, :func:`strip_file_meta`, :func:`refuse_burned_in_annotation`).

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
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum, StrEnum
from functools import cache
from typing import Any

from dicomanonymizer.dicomfields_selector import dicom_anonymization_database_selector
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes
from pydicom.tag import BaseTag, Tag

from petdx.dicom._fastread import element_value
from petdx.errors import InvalidSeriesError

__all__ = [
    "FILE_META_KEPT",
    "KEPT_TEXT",
    "PROFILE_TABLE_EDITION",
    "REMOVED_CODE_STRINGS",
    "SAFE_PRIVATE",
    "TEXT_VRS",
    "DeidentificationSettings",
    "ProfileAction",
    "SafePrivateElement",
    "add_deidentification_attributes",
    "apply_profile",
    "deidentify_dataset",
    "deidentify_uid",
    "deidentify_uid_value",
    "keep_safe_private",
    "keeps_unchanged",
    "patient_date_offset_days",
    "profile_action",
    "redact_uids",
    "refuse_burned_in_annotation",
    "strip_file_meta",
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
#: ``X/Z/D`` attributes that are Type 1 in an IOD petdx reads: DeviceSerialNumber in the
#: Enhanced General Equipment module (PS3.3 C.7.5.2) of Enhanced and Legacy Converted
#: Enhanced PET/CT/MR. A dummy keeps those objects valid; the step is per tag (the encoder
#: caches it), so every object gets the dummy.
_DUMMY_FOR_CONFORMANCE = frozenset(Tag(t) for t in ("DeviceSerialNumber",))

#: VRs whose values are free text (or unknown: UN): an attribute of one of these VRs that
#: Table E.1-1 does not list is removed unless it is in :data:`KEPT_TEXT`.
TEXT_VRS = frozenset(("AE", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT", "UN"))

#: Text attributes not in Table E.1-1 that are kept on purpose, each for what reads it.
KEPT_TEXT: dict[str, str] = {
    "Manufacturer": "scanner vendor: vendor SUV rules and cross-checks (petdx.suv.vendor)",
    "ManufacturerModelName": "scanner model: vendor SUV rules, reported with the SUV",
    "SoftwareVersions": "scanner software: vendor SUV rules depend on the version",
    "Radiopharmaceutical": "radionuclide and tracer when the code sequence lacks them",
    "RadiopharmaceuticalRoute": "route of administration (quantification provenance)",
    "CodeValue": "coded entries (radionuclide, radiopharmaceutical, anatomy, units)",
    "CodingSchemeDesignator": "coded entries",
    "CodingSchemeVersion": "coded entries",
    "CodeMeaning": "coded entries: the radionuclide when its code is not known",
    "LongCodeValue": "coded entries",
    "URNCodeValue": "coded entries",
    "RescaleType": "units of Enhanced PET pixel values (SUV needs them)",
    "AttenuationCorrectionMethod": "quantification provenance, reported with the SUV",
    "ScatterCorrectionMethod": "quantification provenance",
    "ReconstructionMethod": "quantification provenance (harmonisation)",
    "ConvolutionKernel": "CT reconstruction kernel (quantification provenance)",
    "PositionReferenceIndicator": "geometry: the Frame of Reference module (Type 2)",
    "StackID": "geometry: the stack of an Enhanced object's frames (InStackPositionNumber)",
}

#: Code strings (CS) that are free-form labels, removed like the text above.
REMOVED_CODE_STRINGS: tuple[str, ...] = ("ContentLabel",)

_KEPT_TEXT_TAGS = frozenset(Tag(k) for k in KEPT_TEXT)
_REMOVED_CODE_STRING_TAGS = frozenset(Tag(k) for k in REMOVED_CODE_STRINGS)


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


#: A DICOM UID in free text (four components or more, so version numbers are left alone).
_UID_IN_TEXT = re.compile(r"(?<![\w.])[0-2](?:\.\d+){3,}(?![\w.])")


def redact_uids(text: str, secret: bytes | None, keep: frozenset[str] = frozenset()) -> str:
    """``text`` with every UID in it (except those in ``keep``, already de-identified)
    replaced by its de-identified UID (``secret`` given) or by ``[UID]``."""

    def replace(match: re.Match[str]) -> str:
        uid = match.group(0)
        if uid in keep:
            return uid
        return deidentify_uid(secret, uid) if secret is not None else "[UID]"

    return _UID_IN_TEXT.sub(replace, text)


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


def deidentify_uid_value(value: Any, secret: bytes) -> Any:
    """The value of a UI element with each UID replaced by :func:`deidentify_uid` (empty
    values of a multi-valued element dropped; an empty value returned as it is)."""
    if isinstance(value, MultiValue | list):
        return [deidentify_uid(secret, str(v)) for v in value if str(v).strip()]
    if not str(value or "").strip():
        return value
    return deidentify_uid(secret, str(value))


def keep_safe_private(ds: Dataset, offset_days: int) -> None:
    """Retain Safe Private on the top level of ``ds``: the private elements of
    :data:`SAFE_PRIVATE` that hold what they must (dates moved by ``offset_days``) and
    their creators are kept; every other private element is removed."""
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


class _Step(Enum):
    """What :func:`apply_profile` does to one public element, resolved once per (tag, VR)."""

    KEEP = "keep"
    DESCEND = "descend"  # a kept sequence: its items are processed
    PSEUDONYM = "pseudonym"
    SHIFT_DA = "shift DA"
    SHIFT_DT = "shift DT"
    REMOVE = "remove"
    EMPTY = "empty"
    DUMMY = "dummy"
    UID = "uid"


_ACTION_STEP = {
    ProfileAction.REMOVE: _Step.REMOVE,
    ProfileAction.EMPTY: _Step.EMPTY,
    ProfileAction.DUMMY: _Step.DUMMY,
    ProfileAction.UID: _Step.UID,
}


@cache
def _step(tag: BaseTag, vr: str) -> _Step:
    """The step for a public element: pseudonym tags, then the attributes never retained,
    then the Modified Dates option (DA, DT shifted; TM kept), then Retain Patient
    Characteristics, then the basic-profile table; an unlisted attribute is kept unless it
    holds free text (:data:`TEXT_VRS`) and is not in :data:`KEPT_TEXT`."""
    if tag in _PSEUDONYM_TAGS:
        return _Step.PSEUDONYM
    if tag in _DUMMY_FOR_CONFORMANCE:
        return _Step.DUMMY
    if tag in _NEVER_RETAINED:
        action = profile_action(tag) or ProfileAction.REMOVE
    elif vr == "DA":
        return _Step.SHIFT_DA
    elif vr == "DT":
        return _Step.SHIFT_DT
    elif vr == "TM" or tag in _PATIENT_CHARACTERISTICS:
        return _Step.KEEP
    else:
        action = profile_action(tag) or _unlisted_action(tag, vr)
    if action is ProfileAction.KEEP:
        return _Step.DESCEND if vr == "SQ" else _Step.KEEP
    return _ACTION_STEP[action]


def keeps_unchanged(tag: BaseTag, vr: str) -> bool:
    """Whether :func:`apply_profile` leaves a public element of this tag and VR as it is
    (not converted, written back from its raw bytes). Resolved once per (tag, VR)."""
    return _step(tag, vr) is _Step.KEEP


def _unlisted_action(tag: BaseTag, vr: str) -> ProfileAction:
    """petdx's action for a public attribute that Table E.1-1 does not list."""
    if tag in _REMOVED_CODE_STRING_TAGS:
        return ProfileAction.REMOVE
    if vr in TEXT_VRS and tag not in _KEPT_TEXT_TAGS:
        return ProfileAction.REMOVE
    return ProfileAction.KEEP


def apply_profile(ds: Dataset, settings: DeidentificationSettings, offset_days: int) -> None:
    """Apply the profile to the public elements of ``ds`` and its kept sequences, then
    :func:`keep_safe_private` to each of them; ``offset_days`` is ``settings.offset_days``.

    Elements that are kept are not converted from their raw encoding (only their tag and VR
    are looked at), so they are written back byte for byte and cost next to nothing.
    """
    for tag in list(ds.keys()):
        if tag.group & 1:  # private: Retain Safe Private, below
            continue
        vr = ds.get_item(tag, keep_deferred=True).VR
        if vr is None or vr == "UN":  # implicit VR, or UN: the VR pydicom resolves
            vr = ds[tag].VR
        step = _step(tag, vr)
        if step is _Step.KEEP:
            continue
        if step is _Step.REMOVE:
            del ds[tag]
            continue
        elem = ds[tag]
        if step is _Step.DESCEND:
            for item in elem.value or ():
                apply_profile(item, settings, offset_days)
        elif step is _Step.PSEUDONYM:
            elem.value = settings.pseudonym
        elif step is _Step.SHIFT_DA:
            elem.value = _shift_values(elem.value, lambda v: _shift_da(v, offset_days)) or ""
        elif step is _Step.SHIFT_DT:
            elem.value = _shift_values(elem.value, lambda v: _shift_dt(v, offset_days)) or ""
        elif step is _Step.EMPTY:
            elem.value = Sequence([]) if vr == "SQ" else None
        elif step is _Step.DUMMY:
            elem.value = _dummy(elem, settings.pseudonym)
        else:
            elem.value = deidentify_uid_value(elem.value, settings.secret)
    keep_safe_private(ds, offset_days)


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


def refuse_burned_in_annotation(ds: Dataset) -> None:
    """Raise :class:`~petdx.errors.InvalidSeriesError` when BurnedInAnnotation is YES."""
    if str(element_value(ds, "BurnedInAnnotation", "")).upper() == "YES":
        raise InvalidSeriesError(
            f"SOP instance in series {element_value(ds, 'SeriesInstanceUID', '?')}: "
            "BurnedInAnnotation (0028,0301) is YES, so identifiers may be burned into the "
            "pixels, which petdx does not clean. Leave this series out or have the PACS "
            "remove the annotation."
        )


def add_deidentification_attributes(ds: Dataset) -> None:
    """PatientIdentityRemoved, LongitudinalTemporalInformationModified and the method."""
    ds.PatientIdentityRemoved = "YES"
    ds.LongitudinalTemporalInformationModified = "MODIFIED"
    ds.DeidentificationMethod = [  # LO, VM 1-n, 64 characters each
        f"petdx PS3.15 E.1-1 {PROFILE_TABLE_EDITION} Basic Profile",
        "Retain Patient Characteristics Option",
        "Retain Longitudinal Temporal Modified Dates Option",
        "Retain Safe Private Option",
    ]
    ds.DeidentificationMethodCodeSequence = _method_codes()


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
    refuse_burned_in_annotation(ds)
    offset_days = settings.offset_days
    apply_profile(ds, settings, offset_days)
    add_deidentification_attributes(ds)
    if getattr(ds, "preamble", None):
        ds.preamble = None  # written as 128 zero bytes (PS3.10 7.1): it may hold anything
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        if "SOPInstanceUID" in ds:
            meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        strip_file_meta(meta)
    return ds


#: File Meta Information elements kept (PS3.10 7.1): the rest (application entity titles,
#: the source's implementation name, private information) may name the site; the writer
#: adds its own implementation class UID and version name.
FILE_META_KEPT = frozenset(
    Tag(t)
    for t in (
        "FileMetaInformationGroupLength",
        "FileMetaInformationVersion",
        "MediaStorageSOPClassUID",
        "MediaStorageSOPInstanceUID",
        "TransferSyntaxUID",
    )
)


def strip_file_meta(meta: Dataset) -> None:
    """Remove from ``meta`` every element not in :data:`FILE_META_KEPT`."""
    for tag in [t for t in meta.keys() if t not in FILE_META_KEPT]:  # noqa: SIM118
        del meta[tag]
