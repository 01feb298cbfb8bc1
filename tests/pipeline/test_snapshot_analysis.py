"""The analyses of a locked snapshot (petdx.pipeline.snapshots): the same code path as the
analysis and report stages of ``petdx run``, on the snapshot's database, configuration and
quantification summaries, whatever the live study does afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from petdx.errors import InputValidationError
from petdx.pipeline import snapshots as snapshot_runs
from petdx.pipeline.snapshots import (
    AnalysisStatus,
    analyse_snapshot,
    analysis_status,
    start_analysis,
)
from petdx.study.config import StudyFolder, open_study
from petdx.study.database import open_database
from petdx.study.snapshots import lock_snapshot
from tests.demo_study import DemoStudy, copy_study

pytestmark = pytest.mark.slow


def _locked_copy(source: Path, root: Path, *, then: str | None = None) -> StudyFolder:
    """A copy of a study with snapshot 1 locked; ``then`` runs on the live database after."""
    study = open_study(copy_study(source, root))
    database = open_database(study)
    try:
        lock_snapshot(study, database, actor="stat1", reason="primary analysis")
        if then is not None:
            with database.begin() as connection:
                connection.execute(text(then))
    finally:
        database.dispose()
    return study


def test_a_snapshot_analyses_as_petdx_run_did(demo_study: DemoStudy, tmp_path: Path) -> None:
    # The live study moves on after the lock: a reader's reads removed, a summary changed.
    study = _locked_copy(
        demo_study.reference, tmp_path / "study", then="DELETE FROM reads WHERE reader_id = 'R2'"
    )
    root = study.root
    assert (root / "snapshots" / "1" / "derived").is_dir()
    summary = next((root / "derived").glob("*/summary.json"))
    changed = json.loads(summary.read_text())
    for scan in changed["scans"]:
        scan["liver_mean_suv"] = 99.0
    summary.write_text(json.dumps(changed))

    steps: list[tuple[str, int, int]] = []
    analysis = analyse_snapshot(study, 1, progress=lambda *step: steps.append(step))
    assert [s[0] for s in steps] == ["analyse", "report", "done"]
    snapshot = root / "snapshots" / "1"
    assert analysis.results_json == snapshot / "results" / "results.json"
    # Same data, settings and summaries as the reference run: the same results, byte for byte.
    reference = demo_study.reference / "results"
    assert analysis.results_json.read_bytes() == (reference / "results.json").read_bytes()
    for name in ("analysis_patients.csv", "analysis_lesions.csv", "screening_log.csv"):
        assert (snapshot / "results" / name).read_bytes() == (reference / name).read_bytes()
    headline = json.loads((reference / "results.json").read_text())["headline"]
    assert analysis.headline == headline
    html = analysis.report_html.read_text()
    assert analysis.report_html == snapshot / "report" / "report.html"
    assert "Snapshot content hash (SHA-256)" in html
    assert "stat1" in html
    assert analysis.report_pdf is None


def test_one_analysis_of_a_snapshot_at_a_time(demo_study: DemoStudy, tmp_path: Path) -> None:
    """Another process running the snapshot's analyses (holding its lock) refuses this one."""
    study = _locked_copy(demo_study.template, tmp_path / "study")
    root = study.root
    lock = root / "snapshots" / "1" / ".analysis.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from petdx.fileio import exclusive_lock\n"
            f"with exclusive_lock(Path({str(lock)!r}), 'held'):\n"
            "    print('locked', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(InputValidationError, match="running already"):
            analyse_snapshot(study, 1)
    finally:
        holder.kill()
        holder.wait()
    assert not (root / "snapshots" / "1" / "results").exists()


def test_no_such_snapshot(demo_study: DemoStudy) -> None:
    study = open_study(demo_study.reference)
    with pytest.raises(InputValidationError, match="no snapshot 3"):
        analyse_snapshot(study, 3)


def _wait(study: StudyFolder, number: int, seconds: float) -> AnalysisStatus:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = analysis_status(study, number)
        if status is not None and not status.running:
            return status
        time.sleep(0.5)
    raise AssertionError(f"snapshot {number}: analysis still running after {seconds} s")


def test_background_analysis_refuses_a_second_run(demo_study: DemoStudy, tmp_path: Path) -> None:
    study = _locked_copy(demo_study.reference, tmp_path / "study")
    assert analysis_status(study, 1) is None
    started = start_analysis(study, 1, actor="stat1")
    assert started.running
    assert started.actor == "stat1"
    with pytest.raises(InputValidationError, match="running already"):
        start_analysis(study, 1, actor="stat2")
    finished = _wait(study, 1, 600)
    assert finished.state == "done", finished
    assert finished.finished_utc is not None
    results = study.root / "snapshots" / "1" / "results" / "results.json"
    assert results.read_bytes() == (demo_study.reference / "results" / "results.json").read_bytes()
    assert (study.root / "snapshots" / "1" / "report" / "report.html").is_file()

    # A run whose process is killed is reported failed, and may be started again.
    start_analysis(study, 1, actor="stat1")
    process = snapshot_runs._starting_paths[study.root / "snapshots" / "1" / "analysis-status.json"]
    process.kill()
    process.join(30)
    killed = analysis_status(study, 1)
    assert killed is not None
    assert killed.state == "failed"
    assert "ended before finishing" in (killed.message or "")
