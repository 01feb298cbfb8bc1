"""Fixtures of the R differential: R itself (fails when missing: make test installs it with
scripts/install-system-deps.sh) and the folder the datasets are written to.

The per-statistic tables reach the ``make test`` log through ``record_property`` and the
session summary in tests/conftest.py (``pytest_terminal_summary``): under pytest-xdist only
the root conftest runs in the controlling process.
"""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import r_versions


@pytest.fixture(scope="module")
def r_exe() -> tuple[str, str]:
    """(Rscript path, R and package versions); fails without R (a skipped oracle would pass
    silently)."""
    exe = shutil.which("Rscript")
    versions = r_versions()
    if exe is None or versions is None or "not installed" in versions:
        pytest.fail(
            f"R with pROC, survival and epiR is needed (found: {versions}); run `make "
            "system-deps` (scripts/install-system-deps.sh installs them)"
        )
    return exe, versions
