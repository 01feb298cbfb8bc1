"""``petdx run``: incremental re-runs and a run killed midway (issue 7 acceptance)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from petdx.pipeline.run import run_study
from petdx.study.config import open_study
from petdx.study.database import open_database
from petdx.study.importing import import_csv
from petdx.study.records import Author
from tests.demo_study import AUTHOR, DemoStudy, copy_study

pytestmark = pytest.mark.slow

OUTPUTS = ("results.json", "analysis_patients.csv", "analysis_lesions.csv", "screening_log.csv")


def _stages(summary) -> dict[str, tuple[int, int]]:  # type: ignore[no-untyped-def]
    return {s.name: (s.done, s.skipped) for s in summary.stages}


def test_first_run_did_every_stage(demo_study: DemoStudy) -> None:
    stages = _stages(demo_study.summary)
    assert stages["quantify"][0] == 8
    assert stages["analyse"] == (1, 0)
    assert stages["report"] == (1, 0)


def test_second_run_with_nothing_changed_does_no_work(
    demo_study: DemoStudy, tmp_path: Path
) -> None:
    study = copy_study(demo_study.reference, tmp_path / "study")
    summary = run_study(study, workers=1, pdf=True, author=AUTHOR)
    stages = _stages(summary)
    assert stages["ingest"] == (0, 0)
    assert stages["quantify"] == (0, 8)
    assert stages["analyse"] == (0, 1)
    assert stages["report"] == (0, 1)


def test_changed_reference_standard_redoes_only_analysis_and_report(
    demo_study: DemoStudy, tmp_path: Path
) -> None:
    study = copy_study(demo_study.reference, tmp_path / "study")
    rows = list(csv.DictReader((demo_study.cohort / "reference_standard.csv").open()))
    row = next(r for r in rows if r["outcome"] == "benign")
    row["outcome"] = "malignant"
    edited = tmp_path / "reference_standard.csv"
    with edited.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    database = open_database(open_study(study))
    try:
        import_csv(database, "reference_standard", edited, author=Author("test", "re-read"))
    finally:
        database.dispose()
    before = (study / "results" / "results.json").read_bytes()
    summary = run_study(study, workers=1, pdf=False, author=AUTHOR)
    stages = _stages(summary)
    assert stages["quantify"] == (0, 8)
    assert stages["analyse"] == (1, 0)
    assert stages["report"] == (1, 0)
    assert (study / "results" / "results.json").read_bytes() != before


def test_run_killed_midway_then_rerun_gives_the_same_outputs(
    demo_study: DemoStudy, tmp_path: Path
) -> None:
    study = copy_study(demo_study.template, tmp_path / "study")
    process = subprocess.Popen(
        [sys.executable, "-m", "petdx", "run", str(study), "--workers", "1", "--no-pdf"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        done = (
            list((study / "derived").glob("*/summary.json")) if (study / "derived").exists() else []
        )
        if len(done) >= 2:
            break
        time.sleep(0.2)
    assert process.poll() is None, "the run finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (study / "results" / "results.json").exists()
    run_study(study, workers=1, pdf=False, author=AUTHOR)
    for name in OUTPUTS:
        assert (study / "results" / name).read_bytes() == (
            demo_study.reference / "results" / name
        ).read_bytes(), name
