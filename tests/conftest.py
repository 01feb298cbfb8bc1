"""Shared fixtures: where the external reference data lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: External reference data (never copied into the repository), see ../shared/data/README.md.
SHARED_DATA = Path(
    os.environ.get(
        "PETDX_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
    )
).resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(
            f"External reference data not found at {SHARED_DATA}. Set PETDX_SHARED_DATA to the "
            "folder holding ibsi-suv-dro/, cornerstone-suv-vectors/ and mirp-sts-suv/."
        )
    return SHARED_DATA
