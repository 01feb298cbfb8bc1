"""study.toml: written, read back, and refused with a message naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from petdx.errors import InputValidationError
from petdx.study.config import (
    PdL1Score,
    StudyConfig,
    TargetCondition,
    load_config,
    open_study,
    write_config,
)


def test_round_trip(tmp_path: Path) -> None:
    config = StudyConfig(
        name="BLP pilot",
        time_points_min=(60, 120),
        target_condition=TargetCondition.PDL1_POSITIVE,
        pdl1_score=PdL1Score.CPS,
        pdl1_cutoff=10.0,
        visual_score_at_least=4,
        suv_max_at_least=2.5,
    )
    write_config(tmp_path, config)
    assert load_config(tmp_path / "study.toml") == config
    assert "visual_score_at_least = 4" in (tmp_path / "study.toml").read_text()


def test_relative_sqlite_url_is_resolved_in_the_folder(tmp_path: Path) -> None:
    write_config(tmp_path, StudyConfig())
    assert open_study(tmp_path).database_url == f"sqlite:///{tmp_path.resolve()}/study.sqlite"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tracer]\nprofile = 'tc99m'\n", "tracer 'tc99m' is not a known tracer profile"),
        ("[tracer]\ntime_points_min = [0]\n", r"time_points_min \[0\] must be one or more"),
        ("[target_condition]\nkind = 'cure'\n", "target_condition.kind is 'cure'"),
        ("[target_condition]\npdl1_cutoff = 150\n", "pdl1_cutoff 150.0 is outside"),
        ("[index_test]\nsuv_max_at_least = -1\n", "suv_max_at_least is -1.0"),
        ("[index_test]\nvisual_score_at_least = 0\n", "visual_score_at_least is 0"),
        ("[tracer\n", "not valid TOML"),
        ("[index_test]\nvisual_score_at_least = 'high'\n", "wrong type"),
        ("[sample_size]\nintended = 0\n", r"\[sample_size\] intended is 0"),
        ("[sample_size]\nintended = 50.5\n", r"\[sample_size\] intended is 50.5"),
        ("[sample_size]\nexpected_sensitivity = 85\n", "expected_sensitivity is 85; expected a"),
        ("[sample_size]\npatients = 50\n", r"\[sample_size\] patients: not a known key"),
        (
            "[sample_size]\nexpected_sensitivity = 0.85\n",
            "gives expected_sensitivity but not expected_prevalence, expected_specificity",
        ),
    ],
)
def test_bad_values_are_named(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "study.toml").write_text(text)
    with pytest.raises(InputValidationError, match=message) as raised:
        load_config(tmp_path / "study.toml")
    # the message starts with the file's path, once (it was doubled for enum fields)
    assert str(raised.value).startswith(f"{tmp_path / 'study.toml'}: ")
    assert str(raised.value).count(str(tmp_path)) == 1


def test_missing_folder_and_file(tmp_path: Path) -> None:
    with pytest.raises(InputValidationError, match="no such study folder"):
        open_study(tmp_path / "nope")
    with pytest.raises(InputValidationError, match="Create the study with `petdx init"):
        open_study(tmp_path)


def test_compute_scheduler_round_trips_and_stays_out_of_the_results(tmp_path: Path) -> None:
    """``[compute] scheduler`` (issue 16): kept in study.toml, absent from to_dict (the
    results and their input hash do not depend on where the work ran)."""
    from petdx.study.config import StudyConfig, load_config, write_config

    config = StudyConfig(scheduler="tcp://10.0.0.5:8786")
    back = load_config(write_config(tmp_path, config))
    assert back.scheduler == "tcp://10.0.0.5:8786"
    assert "[compute]" in config.to_toml()
    assert "scheduler" not in config.to_dict()
    assert back.to_dict() == config.to_dict()
    assert "[compute]" not in StudyConfig().to_toml()


def test_registration_and_sample_size_round_trip_and_stay_out_of_the_results(
    tmp_path: Path,
) -> None:
    """STARD 28 and 18: ``[registration] number`` and ``[sample_size]`` are what the report
    says of the trial, not settings of the analyses (to_dict, and so the results' input hash,
    leaves them out)."""
    from petdx.study.config import SampleSizePlan

    plan = SampleSizePlan(
        intended=120,
        basis="protocol section 9.2",
        expected_sensitivity=0.85,
        expected_specificity=0.8,
        expected_prevalence=0.6,
        precision=0.1,
    )
    config = StudyConfig(registration="ClinicalTrials.gov NCT01234567", sample_size=plan)
    back = load_config(write_config(tmp_path, config))
    assert back == config
    assert back.sample_size.planning == (0.85, 0.8, 0.6, 0.1)
    assert "registration" not in config.to_dict()
    assert config.to_dict() == StudyConfig(created_utc=config.created_utc).to_dict()
    plain = load_config(write_config(tmp_path, StudyConfig()))
    assert plain.registration is None
    assert plain.sample_size == SampleSizePlan()
    assert "[sample_size]" not in StudyConfig().to_toml()
