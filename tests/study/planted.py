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
