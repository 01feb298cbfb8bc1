"""A small simulated cohort shared by the simulate tests (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from petdx.simulate import CohortSummary, simulate_cohort

COHORT_SEED = 7


@pytest.fixture(scope="session")
def small_cohort(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CohortSummary]:
    """Three enrolled patients, 68Ga-DOTA-BLP at 60 and 120 min plus FDG, --small."""
    out = tmp_path_factory.mktemp("cohort") / "out"
    summary = simulate_cohort(out, n_patients=3, seed=COHORT_SEED, with_fdg=True, small=True)
    return out, summary
