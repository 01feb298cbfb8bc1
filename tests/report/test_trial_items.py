"""STARD 18 (intended sample size) and 28 (registration) come from study.toml; what is not
given is said to be not given, never invented."""

from __future__ import annotations

import math

from scipy import stats

from petdx.report.sections import _checklist, _trial
from petdx.study.config import SampleSizePlan, StudyConfig


def _row(config: StudyConfig, number: str) -> dict[str, str | None]:
    (row,) = [r for r in _checklist(config) if r["number"] == number]
    return row


def test_nothing_given_reads_not_given() -> None:
    config = StudyConfig()
    assert _row(config, "28")["status"] == "authors"
    assert "not given" in str(_row(config, "28")["where"])
    assert _row(config, "18")["status"] == "authors"
    assert "Not given" in str(_row(config, "18")["where"])
    trial = _trial(config, enrolled=8)
    assert trial["registration"] is None
    assert trial["intended"] is None
    assert trial["buderer"] is None


def test_intended_size_without_its_basis_is_partly_answered() -> None:
    row = _row(StudyConfig(sample_size=SampleSizePlan(intended=50)), "18")
    assert row["status"] == "partly"
    assert "how it was determined: not given" in str(row["where"])


def test_registration_and_buderer_size_when_given() -> None:
    """Oracle for the size: Buderer's formula (Acad Emerg Med 1996;3:895) written out here."""
    # intended, basis, expected Se, Sp, prevalence, precision
    plan = SampleSizePlan(120, "protocol 9.2", 0.85, 0.8, 0.6, 0.1)
    config = StudyConfig(registration="ClinicalTrials.gov NCT01234567", sample_size=plan)
    row = _row(config, "28")
    assert row["status"] == "report"
    assert "NCT01234567" in str(row["where"])
    assert row["anchor"] == "registration"
    assert _row(config, "18")["status"] == "report"
    z = stats.norm.ppf(0.975)
    n_se = math.ceil(z**2 * 0.85 * 0.15 / 0.01 / 0.6)
    n_sp = math.ceil(z**2 * 0.8 * 0.2 / 0.01 / 0.4)
    buderer = _trial(config, enrolled=100)["buderer"]
    assert (buderer.n_for_sensitivity, buderer.n_for_specificity) == (n_se, n_sp)
    assert buderer.n_total == max(n_se, n_sp)
