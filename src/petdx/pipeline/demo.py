"""``petdx demo [DIR]``: the whole study on a simulated cohort, from nothing to the report.

1. Simulate the default cohort (50 enrolled patients, 68Ga-DOTA-BLP at 60 and 120 min, a paired
   18F-FDG scan; seed 1) into ``DIR/cohort`` — reused when a complete cohort is already there.
2. Create the study ``DIR/study`` (SQLite) with the demo's pre-specified settings.
3. Import every exchange table the simulator wrote (not its ground truth).
4. ``petdx run``: ingest the DICOM, quantify, analyse, write the report.

Every step is idempotent, so running the demo again only redoes what changed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from petdx.pipeline.run import ProgressFactory, RunSummary, run_study
from petdx.simulate import simulate_cohort
from petdx.study.config import StudyConfig
from petdx.study.database import init_study, open_database
from petdx.study.importing import import_csv
from petdx.study.records import Author
from petdx.study.schema import IMPORTABLE

__all__ = ["DEMO_CONFIG", "DemoSettings", "run_demo"]

#: The demo study's pre-specified settings. The SUVmax cut-off is an assumption made before
#: any data (2x a typical 68Ga-peptide blood-pool SUV), pending the trial's pilot data.
DEMO_CONFIG = StudyConfig(
    name="68Ga-DOTA-BLP PET in malignant tumours (simulated cohort)",
    tracer="ga68-dota-blp",
    comparator_tracer="f18-fdg",
    time_points_min=(60, 120),
    visual_score_at_least=3,
    suv_max_at_least=3.0,
)


@dataclass(frozen=True)
class DemoSettings:
    patients: int = 50
    seed: int = 1
    small: bool = False
    workers: int | None = None
    pdf: bool = True


def run_demo(
    folder: str | os.PathLike[str],
    settings: DemoSettings | None = None,
    *,
    progress: ProgressFactory | None = None,
) -> RunSummary:
    """Run the demo in ``folder`` (module docstring)."""
    settings = settings or DemoSettings()
    root = Path(folder)
    cohort = root / "cohort"
    if not (cohort / "cohort.toml").exists():
        if progress is not None:
            with progress("Simulate cohort") as update:
                simulate_cohort(
                    cohort,
                    n_patients=settings.patients,
                    seed=settings.seed,
                    with_fdg=True,
                    small=settings.small,
                    progress=update,
                    workers=settings.workers,
                )
        else:
            simulate_cohort(
                cohort,
                n_patients=settings.patients,
                seed=settings.seed,
                with_fdg=True,
                small=settings.small,
                workers=settings.workers,
            )
    study = init_study(root / "study", DEMO_CONFIG)
    database = open_database(study)
    author = Author(os.environ.get("USER", "petdx-demo"), "petdx demo: simulated cohort")
    try:
        for kind in IMPORTABLE:
            path = cohort / f"{kind}.csv"
            if path.exists():
                import_csv(database, kind, path, author=author)
    finally:
        database.dispose()
    return run_study(
        study.root,
        sources=[cohort / "dicom"],
        workers=settings.workers,
        pdf=settings.pdf,
        author=author,
        progress=progress,
    )
