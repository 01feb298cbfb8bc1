"""Shared fixtures: where the external reference data lives, the Hypothesis profile, and the
R that the R-oracle tests call."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from hypothesis import settings

from tests.demo_study import DemoStudy, shared_demo

# Property tests draw the same examples on every run and machine (CI is reproducible): a
# fixed seed derived from each test (derandomize), a fixed number of examples unless a test
# sets its own, no time limit (shared CI cores), no example database. HYPOTHESIS_PROFILE=explore
# draws fresh random examples, more of them, for a local bug hunt.
settings.register_profile(
    "petdx", derandomize=True, max_examples=100, deadline=None, database=None, print_blob=True
)
settings.register_profile("explore", derandomize=False, max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "petdx"))

#: R packages whose versions the R-oracle tests and the quoted R reference values depend on.
R_PACKAGES = ("pROC", "survival", "epiR")

_REPO = Path(__file__).resolve().parents[1]


def _find_shared_data() -> Path:
    """External reference data (never copied into the repository): PETDX_SHARED_DATA, else
    ``../shared/data`` beside the checkout, else the workplace copy at /work/shared/data (a
    fresh clone elsewhere, e.g. /tmp/fresh, has no sibling ``shared``)."""
    candidates = [
        os.environ.get("PETDX_SHARED_DATA"),
        _REPO.parent / "shared" / "data",
        "/work/shared/data",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate).resolve()
    return (_REPO.parent / "shared" / "data").resolve()


SHARED_DATA = _find_shared_data()


#: Fixtures that simulate a cohort of patients (DICOM for every scan): a test using one is
#: marked ``cohort`` and left out of ``make test-fast``.
COHORT_FIXTURES = frozenset({"small_cohort", "demo_study", "cohort"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if COHORT_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.cohort)
    # The first test of the demo study stays in place (its worker builds the study while the
    # other worker runs other tests); the others run last, when the study is built. Every
    # worker sorts alike (pytest-xdist requires one collection order).
    demo = [item for item in items if "demo_study" in getattr(item, "fixturenames", ())]
    if demo:
        later = set(map(id, demo[1:]))
        items[:] = [item for item in items if id(item) not in later] + demo[1:]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(
            f"External reference data not found at {SHARED_DATA}. Set PETDX_SHARED_DATA to the "
            "folder holding ibsi-suv-dro/, cornerstone-suv-vectors/ and mirp-sts-suv/."
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo_study(tmp_path_factory: pytest.TempPathFactory) -> DemoStudy:
    """A small simulated study, built once per run (tests/demo_study.py): the first worker
    to need it builds it in the folder pytest-xdist's workers share (the parent of their
    base temporary folders), and every worker works on its own copy."""
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "demo-shared"
    return shared_demo(shared, tmp_path_factory.mktemp("demo") / "study")


@cache
def r_versions() -> str | None:
    """``R version ...; pROC x.y.z; ...`` (R_PACKAGES) of the Rscript on PATH, or None."""
    exe = shutil.which("Rscript")
    if exe is None:
        return None
    packages = ", ".join(f'"{name}"' for name in R_PACKAGES)
    code = (
        "cat(R.version.string); for (p in c(" + packages + ")) cat(paste0('; ', p, ' ', "
        "tryCatch(as.character(packageVersion(p)), error = function(e) 'not installed')))"
    )
    run = subprocess.run([exe, "-e", code], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        return f"Rscript at {exe} failed: {run.stderr.strip()[:200]}"
    return run.stdout.strip()


def pytest_report_header(config: pytest.Config) -> str:
    found = r_versions()
    hypothesis_profile = settings.get_current_profile_name()
    r_line = f"R: {found}" if found else "R: Rscript not on PATH (R-oracle tests fail)"
    return f"{r_line}\nhypothesis profile: {hypothesis_profile}"


@dataclass(frozen=True)
class RScript:
    """The Rscript on PATH and the versions it reports (``r_versions``)."""

    exe: str
    versions: str

    def run(self, script: Path, *args: str | Path) -> str:
        """stdout of ``Rscript script args...``; a failure names R's and the packages'
        versions."""
        command = [self.exe, str(script), *map(str, args)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.fail(f"{script.name} failed under {self.versions}:\n{done.stderr}")
        return done.stdout


@pytest.fixture(scope="session")
def rscript() -> RScript:
    """Rscript and its versions; fails when R is missing (make system-deps installs it:
    scripts/install-system-deps.sh), since a skipped oracle would pass silently in CI."""
    exe = shutil.which("Rscript")
    versions = r_versions()
    if exe is None or versions is None:
        pytest.fail(
            "Rscript (with pROC, survival, epiR) is not on PATH: run `make system-deps` "
            "(scripts/install-system-deps.sh installs r-base-core r-cran-proc "
            "r-cran-survival r-cran-epir)."
        )
    return RScript(exe, versions)


#: Per-statistic tables of the R differential (tests/stats/r_differential), gathered from the
#: test reports (``record_property("r_differential", ...)``), which pytest-xdist carries back
#: from its workers: only this root conftest runs in the controlling process.
_R_DIFFERENTIAL: list[dict[str, object]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        _R_DIFFERENTIAL.extend(v for k, v in report.user_properties if k == "r_differential")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _R_DIFFERENTIAL:
        return
    from tests.stats.r_differential.harness import format_table

    terminalreporter.section("R differential: petdx against R, per statistic")
    terminalreporter.write_line(f"R: {r_versions()}")
    for block in sorted(_R_DIFFERENTIAL, key=lambda b: str(b["family"])):
        terminalreporter.write_line(format_table(str(block["family"]), block["rows"]))  # type: ignore[arg-type]
