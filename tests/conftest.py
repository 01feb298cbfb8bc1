"""Shared fixtures: where the external reference data lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.demo_study import DemoStudy, build_demo

_REPO = Path(__file__).resolve().parents[1]


def _find_shared_data() -> Path:
    """External reference data (never copied into the repository): PETDX_SHARED_DATA, else
    ``../shared/data`` beside the checkout, else the workplace copy at /work/shared/data (a
    fresh clone elsewhere, e.g. /tmp/fresh, has no sibling ``shared``)."""
    candidates = [
        os.environ.get("PETDX_SHARED_DATA"),
        _REPO.parent / "shared" / "data",
        "/work/shared/data",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate).resolve()
    return (_REPO.parent / "shared" / "data").resolve()


SHARED_DATA = _find_shared_data()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(
            f"External reference data not found at {SHARED_DATA}. Set PETDX_SHARED_DATA to the "
            "folder holding ibsi-suv-dro/, cornerstone-suv-vectors/ and mirp-sts-suv/."
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo_study(tmp_path_factory: pytest.TempPathFactory) -> DemoStudy:
    """A small simulated study, run once (tests/demo_study.py). Tests using it carry
    ``@pytest.mark.xdist_group("demo")`` so that one worker builds it."""
    return build_demo(tmp_path_factory.mktemp("demo"))
