"""Identifiers planted in DICOM headers, for the de-identification byte scans.

Every planted value is a distinctive string that cannot occur by chance in a DICOM file,
so finding its bytes anywhere after de-identification means it leaked.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydicom.dataset import Dataset

NAME = "Wintergreen^Philippa"
FAMILY_NAME = "Wintergreen"
HOSPITAL_ID = "MRN-4417-2290"
BIRTH_DATE = "19580214"
INSTITUTION = "Saint Quillan Infirmary"
ACCESSION = "ACC-77310-XQ"
REFERRER = "Fothergill^Ambrose"
OPERATOR = "Tumblethwaite^Ina"
DESCRIPTION = "Whole body PET for Philippa Wintergreen"
ADDRESS = "12 Larkspur Crescent"
PRIVATE_NAME = "Philippa Wintergreen (private)"
OTHER_ID = "NHS-998-221-7731"

#: Byte strings that must not appear anywhere after de-identification.
NEEDLES: tuple[bytes, ...] = tuple(
    s.encode("ascii")
    for s in (
        FAMILY_NAME,
        "Philippa",
        HOSPITAL_ID,
        BIRTH_DATE,
        INSTITUTION,
        ACCESSION,
        "Fothergill",
        "Tumblethwaite",
        ADDRESS,
        OTHER_ID,
    )
)


def plant_identifiers(ds: Dataset, *, patient_id: str = HOSPITAL_ID) -> Dataset:
    """Write names, IDs, a birth date, an institution, free text and a private element
    holding the name into ``ds`` (in place)."""
    ds.PatientName = NAME
    ds.PatientID = patient_id
    ds.PatientBirthDate = BIRTH_DATE
    ds.PatientAddress = ADDRESS
    ds.OtherPatientIDs = OTHER_ID
    ds.InstitutionName = INSTITUTION
    ds.InstitutionAddress = ADDRESS
    ds.AccessionNumber = ACCESSION
    ds.ReferringPhysicianName = REFERRER
    ds.OperatorsName = OPERATOR
    ds.StudyDescription = DESCRIPTION
    ds.SeriesDescription = DESCRIPTION
    ds.ImageComments = f"patient {NAME}, MRN {HOSPITAL_ID}"
    ds.StudyID = ACCESSION
    request = Dataset()
    request.RequestedProcedureID = ACCESSION
    request.ScheduledProcedureStepDescription = DESCRIPTION
    ds.RequestAttributesSequence = [request]
    block = ds.private_block(0x0011, "ACME Hospital RIS", create=True)
    block.add_new(0x10, "LO", PRIVATE_NAME)
    block.add_new(0x11, "LO", HOSPITAL_ID)
    return ds


def scan_for_needles(paths: Iterable[Path], needles: Iterable[bytes] = NEEDLES) -> list[str]:
    """Every (file, needle) where a planted identifier's bytes occur; files are read whole."""
    found = []
    needle_list = list(needles)
    for path in paths:
        if not path.is_file():
            continue
        data = path.read_bytes()
        for needle in needle_list:
            if needle in data or needle.upper() in data or needle.lower() in data:
                found.append(f"{path}: {needle.decode()}")
    return found


def all_files(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in sorted(root.rglob("*")) if p.is_file()]


#: VRs that hold free text (DICOM PS3.5 Table 6.2-1: AE, LO, LT, PN, SH, ST, UC, UR, UT).
TEXT_VRS = frozenset(("AE", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"))
#: The prefix of every value :func:`plant_every_text_attribute` writes (long enough that
#: its bytes cannot occur by chance in pixel data or a compressed file).
PLANT_PREFIX = "QXZPLNT"
#: Free-form labels of VR CS that the issue found surviving (ContentLabel).
PLANTED_CODE_STRINGS = ("ContentLabel",)
#: Text attributes of the repeating groups (overlays 60xx, curves 50xx), element numbers.
_OVERLAY_TEXT = (0x0022, 0x0045, 0x0061, 0x0062, 0x1500, 0x4000)
_CURVE_TEXT = (0x0022, 0x0030, 0x0040, 0x0106, 0x200E, 0x2500)


def text_attributes(exclude: Iterable[str] = ()) -> list[tuple[int, str, str]]:
    """(tag, VR, name) of every attribute of pydicom's dictionary whose VR is one text VR
    (retired ones included; not file meta, command or item delimiters), the ContentLabel
    code string, and the overlay (groups 6000, 6002) and curve (5000) texts."""
    from pydicom.datadict import DicomDictionary, RepeatersDictionary, keyword_for_tag

    skip = set(exclude)
    out = []
    for tag, (vr, _vm, name, _retired, keyword) in DicomDictionary.items():
        group = tag >> 16
        if group in (0x0000, 0x0002, 0xFFFE) or keyword in skip:
            continue
        if vr in TEXT_VRS or keyword in PLANTED_CODE_STRINGS:
            out.append((tag, vr, keyword or name))
    for group in (0x6000, 0x6002):
        for element in _OVERLAY_TEXT:
            tag = group << 16 | element
            out.append((tag, RepeatersDictionary[f"60xx{element:04X}"][0], f"({tag:08X})"))
    for element in _CURVE_TEXT:
        tag = 0x5000 << 16 | element
        out.append((tag, RepeatersDictionary[f"50xx{element:04X}"][0], f"({tag:08X})"))
    assert keyword_for_tag(0x00100010) == "PatientName"
    return out


def plant_every_text_attribute(
    ds: Dataset,
    attributes: Iterable[tuple[int, str, str]],
    *,
    nested: str | None = None,
    share: tuple[int, int] = (0, 1),
) -> dict[bytes, str]:
    """Write a distinct planted value into each attribute of ``ds`` (and, when ``nested``
    names a sequence of ``ds``, into its first item too); returns needle -> attribute, for
    every attribute. ``share=(k, n)`` plants only the attributes whose number is k modulo n
    (the same value for an attribute in every file: a cohort's files can share the work)."""
    from pydicom.dataelem import DataElement

    needles: dict[bytes, str] = {}
    targets = [ds]
    if nested is not None and ds.get(nested):
        targets.append(ds[nested][0])
    part, parts = share
    for number, (tag, vr, name) in enumerate(attributes):
        value = f"{PLANT_PREFIX}{number:04d}"
        needles[value.encode("ascii")] = name
        if number % parts == part:
            for target in targets:
                target[tag] = DataElement(tag, vr, value)
    return needles


def scan_for_planted(paths: Iterable[Path], needles: dict[bytes, str]) -> list[str]:
    """Every (file, attribute) whose planted value occurs in a file (read whole)."""
    found = []
    prefix = PLANT_PREFIX.encode("ascii")
    for path in paths:
        if not path.is_file():
            continue
        data = path.read_bytes()
        start = data.find(prefix)
        while start != -1:
            needle = data[start : start + len(prefix) + 4]
            found.append(f"{path}: {needles.get(needle, needle.decode('ascii', 'replace'))}")
            start = data.find(prefix, start + 1)
    return found
