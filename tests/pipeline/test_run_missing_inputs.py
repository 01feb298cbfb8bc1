"""``petdx run`` on a study that lacks tables analyses what it can and says what is missing
(issue 20 Build 3/4: a study without reads failed with ``KeyError: 'visual_positive'``).
Exit status 0: a study still collecting data is not bad input; the notes name each gap."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from petdx.cli.app import app
from petdx.pipeline.demo import new_demo_study
from petdx.pipeline.ingest import ingest
from petdx.simulate import simulate_cohort
from petdx.study.database import open_database
from petdx.study.records import Author

# One worker simulates the module's cohort (split across both, each simulated it).
pytestmark = [pytest.mark.slow, pytest.mark.cohort, pytest.mark.xdist_group("run_missing_inputs")]

AUTHOR = Author("test", "missing inputs")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("missing") / "cohort"
    simulate_cohort(out, n_patients=3, seed=3, small=True, workers=1)
    return out


@pytest.mark.parametrize(
    "left_out",
    [
        ("reads",),
        ("reads", "reference_standard", "pathology", "follow_up", "lesion_registry"),
    ],
    ids=["no-reads", "no-lesion-data"],
)
def test_run_analyses_what_it_can_and_names_what_is_missing(
    cohort: Path, tmp_path: Path, left_out: tuple[str, ...]
) -> None:
    partial = tmp_path / "cohort"
    shutil.copytree(cohort, partial, ignore=shutil.ignore_patterns("dicom"))
    for name in left_out:
        (partial / f"{name}.csv").unlink()
    study = new_demo_study(tmp_path / "study", partial, author=AUTHOR)
    database = open_database(study)
    try:
        assert ingest(study, database, cohort / "dicom", author=AUTHOR).ok
    finally:
        database.dispose()
    result = CliRunner().invoke(
        app, ["run", str(study.root), "--workers", "1", "--no-pdf", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    notes = " ".join(summary["problems"])
    for name in left_out:
        assert f"missing input ({name})" in notes
    assert "KeyError" not in result.stderr
    results = json.loads((study.root / "results" / "results.json").read_text())
    assert any(p.startswith("missing input (reads)") for p in results["problems"])
    assert (study.root / "report" / "report.html").exists()
