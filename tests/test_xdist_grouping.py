"""make test's scheduling: ``pytest -n 2 --dist loadgroup`` sends every test of an
``xdist_group`` to one worker. The cohort modules (tests/pipeline/test_pet_mr_cohort.py,
tests/quantify/test_simulated_cohort.py, ...) build a module fixture of about 45 s that is
built once only if their tests share a worker; pytest 9.2 with pytest-xdist 3.8 silently
dropped the grouping (pytest-xdist issue 1386) and each worker built each of them. This runs
a small suite of its own the way the Makefile runs the real one and reads which worker ran
which test from pytest's own verbose report."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

GROUPED = """
import pytest

pytestmark = pytest.mark.xdist_group("one_build")


@pytest.fixture(scope="module")
def build():
    return object()


@pytest.mark.parametrize("n", range(6))
def test_grouped(build, n):
    pass
"""

UNGROUPED = """
import pytest


@pytest.mark.parametrize("n", range(6))
def test_free(n):
    pass
"""


def test_an_xdist_group_runs_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    (tmp_path / "test_free.py").write_text(UNGROUPED)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v",
         "-p", "no:cacheprovider", "-p", "no:randomly", "--rootdir", str(tmp_path),
         str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    workers: dict[str, set[str]] = {}
    for worker, module in re.findall(r"\[(gw\d+)\].*PASSED (test_\w+)\.py::", run.stdout):
        workers.setdefault(module, set()).add(worker)
    assert set(workers) == {"test_grouped", "test_free"}, run.stdout
    assert len(re.findall(r"PASSED test_grouped\.py::", run.stdout)) == 6, run.stdout
    assert len(workers["test_grouped"]) == 1, (
        f"the xdist_group ran on {sorted(workers['test_grouped'])}; check the pytest / "
        f"pytest-xdist pins in pyproject.toml\n{run.stdout}"
    )
