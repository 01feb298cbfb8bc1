"""Helpers of the simulate tests."""

from __future__ import annotations

import csv
import hashlib
import subprocess
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from petdx.nuclides import NUCLIDES
from petdx.simulate.dicom_writer import PetAcquisition
from petdx.simulate.scanner import BedTiming


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def file_hashes(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root``, by relative path."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def dciodvfy_errors(path: Path) -> list[str]:
    """The ``Error`` lines dicom3tools' dciodvfy reports for a file."""
    result = subprocess.run(
        ["dciodvfy", str(path)], capture_output=True, text=True, check=False, timeout=120
    )
    lines = (result.stdout + result.stderr).splitlines()
    return [line for line in lines if line.startswith("Error")]


def ga68_acquisition(
    series_uid: str, injection: datetime, beds: Sequence[BedTiming], *, description: str = "test"
) -> PetAcquisition:
    """A 68Ga-DOTA-BLP PET acquisition: 120 MBq injected at ``injection``, series 60 min later."""
    return PetAcquisition(
        series_uid=series_uid,
        series_number=2,
        description=description,
        series_start=injection + timedelta(minutes=60),
        injection=injection,
        injected_activity_bq=1.2e8,
        radiopharmaceutical="68Ga-DOTA-BLP",
        nuclide=NUCLIDES["Ga-68"],
        positron_fraction=0.889,
        beds=tuple(beds),
        resolution_fwhm_mm=9.2,
    )
