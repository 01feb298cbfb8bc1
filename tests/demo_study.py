"""A small demo study for the end-to-end tests (built once per test run).

``template``: a simulated ``--small`` cohort (8 enrolled patients, 68Ga-DOTA-BLP at 60 and
120 min, paired FDG, seed 3) imported and ingested into a study folder, not yet run.
``reference``: a copy of it after ``petdx run`` (workers 1, with the PDF).
Tests that change a study work on their own copy (:func:`copy_study`).

:func:`shared_demo` builds it once for the whole run, pytest-xdist's workers included (under
a file lock in a folder they share), and gives each worker its own copy: the demo tests need
not share one worker (the ``demo`` xdist group that pinned them all to one worker made the
run's tail: one worker read cases in a browser while the other idled).
"""

from __future__ import annotations

import fcntl
import pickle
import shutil
from dataclasses import dataclass
from pathlib import Path

from petdx.pipeline.demo import new_demo_study
from petdx.pipeline.ingest import ingest
from petdx.pipeline.run import RunSummary, run_study
from petdx.simulate import simulate_cohort
from petdx.study.config import StudyFolder
from petdx.study.database import open_database
from petdx.study.records import Author

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
    study = ingested_study(root / "template", cohort)
    reference = copy_study(study.root, root / "reference")
    summary = run_study(reference, workers=1, pdf=True, author=AUTHOR)
    return DemoStudy(cohort, study.root, reference, summary)


def shared_demo(shared: Path, private: Path) -> DemoStudy:
    """The demo study built into ``shared`` by the first caller of the run (the others wait
    on ``shared/lock``), copied to ``private``: nothing opens the shared build, so a worker's
    copy never catches another worker's SQLite journal files."""
    build, done = shared / "build", shared / "summary.pickle"
    shared.mkdir(parents=True, exist_ok=True)
    with (shared / "lock").open("a") as lock:
        fcntl.lockf(lock, fcntl.LOCK_EX)
        try:
            if not done.exists():
                if build.exists():  # a build that failed in another worker: build again
                    shutil.rmtree(build)
                summary = build_demo(build).summary
                partial = done.with_suffix(".partial")
                partial.write_bytes(pickle.dumps(summary))
                partial.replace(done)
            summary = pickle.loads(done.read_bytes())
        finally:
            fcntl.lockf(lock, fcntl.LOCK_UN)
    shutil.copytree(build, private)
    return DemoStudy(private / "cohort", private / "template", private / "reference", summary)


def ingested_study(folder: Path, cohort: Path) -> StudyFolder:
    """A new study at ``folder`` holding the simulated ``cohort``: imported and ingested."""
    study = new_demo_study(folder, cohort, author=AUTHOR)
    database = open_database(study)
    try:
        result = ingest(study, database, cohort / "dicom", author=AUTHOR)
        assert not result.problems, result.problems
    finally:
        database.dispose()
    return study


def copy_study(source: Path, target: Path) -> Path:
    """A complete copy of a study folder (database, images, derived files, state)."""
    shutil.copytree(source, target)
    return target
