"""``petdx simulate`` and ``petdx simulate-nema`` on the command line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from petdx.cli.app import app

runner = CliRunner()


def test_simulate_writes_a_cohort_and_prints_json(tmp_path: Path) -> None:
    out = tmp_path / "cohort"
    result = runner.invoke(
        app,
        [
            "simulate",
            str(out),
            "--patients",
            "1",
            "--seed",
            "3",
            "--small",
            "--time-points",
            "60",
            "--workers",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n_enrolled"] == 1
    assert summary["time_points_min"] == [60]
    assert (out / "cohort.toml").is_file()
    assert len(list((out / "dicom").glob("*/ga68-dota-blp_60min/PT/*.dcm"))) > 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--time-points", "sixty"], r"--time-points 'sixty'"),
        (["--tracer", "no-such-tracer"], r"Unknown tracer 'no-such-tracer'"),
        (["--voxel-mm", "0"], r"--voxel-mm 0\.0"),
        (["--time-points", "30"], r"\[uptake\] times_min"),
        (["--modality", "pet-spect"], r"--modality 'pet-spect': not one of pet-ct, pet-mr"),
    ],
)
def test_simulate_bad_input_exits_2(tmp_path: Path, arguments: list[str], message: str) -> None:
    result = runner.invoke(
        app, ["simulate", str(tmp_path / "c"), "--patients", "1", "--seed", "1", *arguments]
    )
    assert result.exit_code == 2
    assert re.search(message, " ".join(result.stderr.split())), result.stderr
    assert not (tmp_path / "c").exists()


def test_simulate_refuses_existing_output(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("x")
    result = runner.invoke(app, ["simulate", str(tmp_path), "--patients", "1", "--seed", "1"])
    assert result.exit_code == 2
    assert "already exists and is not empty" in result.stderr


def test_simulate_nema(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate-nema", str(tmp_path / "n"), "--nuclide", "Ga-68"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["nuclide"] == "Ga-68"
    assert (tmp_path / "n" / "spheres.csv").is_file()
    bad = runner.invoke(app, ["simulate-nema", str(tmp_path / "m"), "--contrast", "0.5"])
    assert bad.exit_code == 2
    assert "--contrast 0.5" in bad.stderr
