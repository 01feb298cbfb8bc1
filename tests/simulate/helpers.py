"""Helpers of the simulate tests."""

from __future__ import annotations

import csv
import hashlib
import subprocess
from pathlib import Path


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
