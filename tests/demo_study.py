"""A small demo study for the end-to-end tests (built once per test session).

``template``: a simulated ``--small`` cohort (8 enrolled patients, 68Ga-DOTA-BLP at 60 and
120 min, paired FDG, seed 3) imported and ingested into a study folder, not yet run.
``reference``: a copy of it after ``petdx run`` (workers 1, with the PDF).
Tests that change a study work on their own copy (:func:`copy_study`).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from petdx.pipeline.demo import DEMO_CONFIG
from petdx.pipeline.ingest import ingest
from petdx.pipeline.run import RunSummary, run_study
from petdx.simulate import simulate_cohort
from petdx.study.database import init_study, open_database
from petdx.study.importing import import_csv
from petdx.study.records import Author
from petdx.study.schema import IMPORTABLE

DEMO_PATIENTS = 8
DEMO_SEED = 3
AUTHOR = Author("test", "end-to-end test")


@dataclass(frozen=True)
class DemoStudy:
    cohort: Path
    template: Path  # imported and ingested, not run
    reference: Path  # after one complete run
    summary: RunSummary


def build_demo(root: Path) -> DemoStudy:
    cohort = root / "cohort"
    simulate_cohort(
        cohort, n_patients=DEMO_PATIENTS, seed=DEMO_SEED, with_fdg=True, small=True, workers=1
    )
    study = init_study(root / "template", DEMO_CONFIG)
    database = open_database(study)
    try:
        for kind in IMPORTABLE:
            path = cohort / f"{kind}.csv"
            if path.exists():
                import_csv(database, kind, path, author=AUTHOR)
        result = ingest(study, database, cohort / "dicom", author=AUTHOR)
        assert not result.problems, result.problems
    finally:
        database.dispose()
    reference = copy_study(study.root, root / "reference")
    summary = run_study(reference, workers=1, pdf=True, author=AUTHOR)
    return DemoStudy(cohort, study.root, reference, summary)


def copy_study(source: Path, target: Path) -> Path:
    """A complete copy of a study folder (database, images, derived files, state)."""
    shutil.copytree(source, target)
    return target
