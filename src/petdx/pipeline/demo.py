"""``petdx demo [DIR]``: the whole study on a simulated cohort, from nothing to the report.

1. Simulate the default cohort (50 enrolled patients, 68Ga-DOTA-BLP at 60 and 120 min, a paired
   18F-FDG scan; seed 1) into ``DIR/cohort`` — reused when a complete cohort is already there.
2. Create the study ``DIR/study`` (SQLite) with the demo's pre-specified settings.
3. Import every exchange table the simulator wrote (not its ground truth).
4. ``petdx run``: ingest the DICOM, quantify, analyse, write the report.
5. One web-application account per role (:func:`create_demo_accounts`), with generated
   passwords that the command prints once (only their Argon2id hashes are stored).

Every step is idempotent, so running the demo again only redoes what changed.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from petdx.errors import InputValidationError
from petdx.pipeline.run import ProgressFactory, RunSummary, run_study
from petdx.simulate import simulate_cohort
from petdx.simulate.scanner import ScannerModel
from petdx.study.accounts import create_account, list_accounts
from petdx.study.config import SampleSizePlan, StudyConfig, StudyFolder
from petdx.study.database import init_study, open_database
from petdx.study.forms import assign_unsited_patients
from petdx.study.importing import import_exchange_tables
from petdx.study.records import Author
from petdx.study.roles import Role

__all__ = [
    "DEMO_CONFIG",
    "DEMO_SITE",
    "DemoAccount",
    "DemoSettings",
    "create_demo_accounts",
    "new_demo_study",
    "run_demo",
]

#: The site of the demo's accounts (the simulated cohort has one centre).
DEMO_SITE = "demo-site"

#: The demo study's pre-specified settings. The SUVmax cut-off is an assumption made before
#: any data (2x a typical 68Ga-peptide blood-pool SUV), pending the trial's pilot data.
DEMO_CONFIG = StudyConfig(
    name="68Ga-DOTA-BLP PET in malignant tumours (simulated cohort)",
    tracer="ga68-dota-blp",
    comparator_tracer="f18-fdg",
    time_points_min=(60, 120),
    visual_score_at_least=3,
    suv_max_at_least=3.0,
    # the trial record (clinicaltrials.gov, first posted 9 March 2026) gives the enrolment
    # but no registry number in its text, nor how the number was determined
    sample_size=SampleSizePlan(
        intended=50,
        basis="trial record, Enrollment (Estimated); the record does not say how it was determined",
    ),
)

#: The demo's cohort is simulated with the scanner model's default noise.
_DEFAULT_NOISE_ALPHA = ScannerModel().noise_alpha


def _check_existing_cohort(cohort: Path, settings: DemoSettings) -> None:
    """Refuse to reuse a cohort simulated with other settings (it would silently change
    what the demo reports)."""
    recorded = tomllib.loads((cohort / "cohort.toml").read_text())
    wanted = {
        "n_patients": settings.patients,
        "seed": settings.seed,
        "small": settings.small,
        "noise_alpha": _DEFAULT_NOISE_ALPHA,
    }
    found = {
        "n_patients": recorded.get("parameters", {}).get("n_patients"),
        "seed": recorded.get("seed"),
        "small": recorded.get("parameters", {}).get("small"),
        "noise_alpha": recorded.get("scanner", {}).get("noise_alpha"),
    }
    different = [f"{k} {found[k]!r} (asked {v!r})" for k, v in wanted.items() if found[k] != v]
    if different:
        raise InputValidationError(
            f"{cohort / 'cohort.toml'}: the cohort already there was simulated with "
            f"{', '.join(different)}. Give the same settings, or another folder, or remove "
            f"{cohort.parent} to start again."
        )


@dataclass(frozen=True)
class DemoSettings:
    patients: int = 50
    seed: int = 1
    small: bool = False
    workers: int | None = None
    pdf: bool = True
    #: Fork the local workers of the simulator and the ingest (``simulate_cohort`` and
    #: ``run_study``): the command line's opt-in, never in a server process.
    fork_workers: bool = False


def _check_folder_path(workspace: Path) -> None:
    """Refuse a demo folder that is a file, or lies below one (NotADirectoryError later)."""
    for path in (workspace, *workspace.parents):
        if path.exists():
            if not path.is_dir():
                raise InputValidationError(
                    f"{path} is a file, so the demo cannot make its folder "
                    f"{'there' if path == workspace else workspace}. Give a new or existing "
                    "folder (for example demo-study) and run again."
                )
            return


def new_demo_study(folder: str | Path, cohort: str | Path, *, author: Author) -> StudyFolder:
    """A study folder with the demo's settings (:data:`DEMO_CONFIG`) holding every exchange
    table of a simulated ``cohort`` (steps 2 and 3 of the module docstring; its DICOM is not
    ingested). An existing study there is kept and its tables imported again (idempotent)."""
    study = init_study(folder, DEMO_CONFIG)
    database = open_database(study)
    try:
        import_exchange_tables(database, cohort, author=author)
    finally:
        database.dispose()
    return study


def run_demo(
    folder: str | os.PathLike[str],
    settings: DemoSettings | None = None,
    *,
    progress: ProgressFactory | None = None,
) -> RunSummary:
    """Run the demo in ``folder`` (module docstring)."""
    settings = settings or DemoSettings()
    workspace = Path(folder)  # the demo's own folder: the cohort beside the study folder
    _check_folder_path(workspace)
    cohort = workspace / "cohort"
    if (cohort / "cohort.toml").exists():
        _check_existing_cohort(cohort, settings)
    else:
        stage = progress("Simulate cohort") if progress is not None else nullcontext(None)
        with stage as update:
            simulate_cohort(
                cohort,
                n_patients=settings.patients,
                seed=settings.seed,
                with_fdg=True,
                small=settings.small,
                progress=update,
                workers=settings.workers,
                fork_workers=settings.fork_workers,
            )
    author = Author(os.environ.get("USER", "petdx-demo"), "petdx demo: simulated cohort")
    study = new_demo_study(workspace / "study", cohort, author=author)
    return run_study(
        study.root,
        sources=[cohort / "dicom"],
        workers=settings.workers,
        pdf=settings.pdf,
        author=author,
        progress=progress,
        fork_ingest_workers=settings.fork_workers,
    )


@dataclass(frozen=True)
class DemoAccount:
    """A demo account and its generated password (shown once, never stored)."""

    name: str
    role: Role
    site: str
    password: str


def create_demo_accounts(study_root: str | Path, *, actor: str) -> list[DemoAccount]:
    """One account per role on the demo study (named after the role, at :data:`DEMO_SITE`),
    each with a generated password (``secrets``, 16 random bytes as URL-safe text). Roles
    that have an account already are left alone (their passwords were shown when they were
    made); the new accounts are returned with their passwords, to be shown once."""
    from petdx.study.config import open_study

    database = open_database(open_study(study_root))
    try:
        taken = {account.role for account in list_accounts(database)}
        made = []
        for role in Role:
            if role in taken:
                continue
            password = secrets.token_urlsafe(16)
            create_account(
                database, role.value, role=role, site=DEMO_SITE, password=password, actor=actor
            )
            made.append(DemoAccount(role.value, role, DEMO_SITE, password))
        # the simulated cohort is one centre: its patients belong to the accounts' site
        with database.begin_write() as connection:
            assign_unsited_patients(connection, DEMO_SITE, author=Author(actor))
        return made
    finally:
        database.dispose()
