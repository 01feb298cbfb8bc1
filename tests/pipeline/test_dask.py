"""``petdx run`` on Dask distributed (issue 16): a small simulated study run on the local
pool, on a ``LocalCluster(processes=True, n_workers=2)`` and on a ``dask scheduler`` with two
``dask worker`` processes started here, one of them killed (SIGKILL) while it quantifies,
gives byte-identical analysis tables and results.json; a second run computes nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from petdx.pipeline.dask_cluster import dask_executor
from petdx.pipeline.demo import new_demo_study
from petdx.pipeline.run import RunSummary, run_study
from petdx.pipeline.run_state import RunState
from petdx.simulate import simulate_cohort
from petdx.study.layout import StudyLayout
from petdx.study.records import Author

# One worker builds the module's cohort and runs (split across both, each built them).
pytestmark = [pytest.mark.slow, pytest.mark.cohort, pytest.mark.xdist_group("dask")]

AUTHOR = Author("test", "Dask executor")
OUTPUTS = (
    "results.json",
    "analysis_patients.csv",
    "analysis_lesions.csv",
    "screening_log.csv",
)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dask") / "cohort"
    simulate_cohort(folder, n_patients=4, seed=3, with_fdg=False, small=True, workers=1)
    return folder


def _study(cohort: Path, where: Path) -> Path:
    """A fresh study folder (same name everywhere: outputs compare byte for byte)."""
    return new_demo_study(where / "study", cohort, author=AUTHOR).root


def _outputs(root: Path) -> dict[str, bytes]:
    results = StudyLayout(root).results.path
    return {name: (results / name).read_bytes() for name in OUTPUTS}


def _quantified(summary: RunSummary) -> tuple[int, int]:
    (stage,) = [s for s in summary.stages if s.name == "quantify"]
    return stage.done, stage.skipped


@pytest.fixture(scope="module")
def local_run(cohort: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    root = _study(cohort, tmp_path_factory.mktemp("local"))
    summary = run_study(root, sources=[cohort / "dicom"], workers=2, pdf=False, author=AUTHOR)
    assert _quantified(summary)[0] >= 3
    return _outputs(root)


def test_local_cluster_gives_the_local_outputs(
    cohort: Path, tmp_path: Path, local_run: dict[str, bytes]
) -> None:
    from distributed import LocalCluster

    root = _study(cohort, tmp_path)
    with (
        LocalCluster(
            processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        dask_executor(cluster.scheduler_address, wait_for_workers=2) as connection,
    ):
        assert connection.n_workers == 2
        summary = run_study(
            root,
            sources=[cohort / "dicom"],
            executor=connection.executor,
            pdf=False,
            author=AUTHOR,
        )
        again = run_study(root, executor=connection.executor, pdf=False, author=AUTHOR)
    done, _ = _quantified(summary)
    assert done >= 3
    assert summary.problems == [] or all("not computed" not in p for p in summary.problems)
    assert _outputs(root) == local_run
    assert _quantified(again) == (0, done)  # a rerun after completion computes nothing
    # per-task wall time and the worker's peak memory in the run state (issue 16, Build 3)
    tasks = RunState.load(root).tasks
    quantified = {unit: t for unit, t in tasks.items() if unit.startswith("quantify:")}
    assert len(quantified) == done
    assert all(t["seconds"] > 0 and t["peak_rss_mib"] > 50 for t in quantified.values())


@pytest.fixture
def scheduler_and_workers(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """``dask scheduler`` and two ``dask worker`` processes (one thread each)."""
    address_file = tmp_path / "scheduler.json"
    env = dict(os.environ, DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="3")
    scheduler = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "distributed.cli.dask_scheduler",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(address_file),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    processes = [scheduler]
    try:
        deadline = time.monotonic() + 60
        while not address_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(address_file.read_text())["address"]
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "distributed.cli.dask_worker",
                    address,
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--no-nanny",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(2)
        ]
        processes += workers
        yield address, workers
    finally:
        for process in reversed(processes):
            process.kill()
            process.wait(timeout=30)


def test_scheduler_and_workers_survive_a_killed_worker(
    cohort: Path,
    tmp_path: Path,
    local_run: dict[str, bytes],
    scheduler_and_workers: tuple[str, list[subprocess.Popen[bytes]]],
) -> None:
    address, workers = scheduler_and_workers
    root = _study(cohort, tmp_path)
    layout = StudyLayout(root)
    with dask_executor(address, wait_for_workers=2, timeout_s=60) as connection:
        assert connection.n_workers == 2
        killed: list[int] = []

        def kill_one_when_quantifying() -> None:
            # the first patient's summary is written by the parent once its task returned:
            # the other tasks are then running or queued on the workers
            end = time.monotonic() + 600
            while time.monotonic() < end and not killed:
                if layout.derived.exists() and any(layout.derived.glob("*/summary.json")):
                    workers[0].send_signal(signal.SIGKILL)
                    killed.append(workers[0].pid)
                time.sleep(0.05)

        killer = threading.Thread(target=kill_one_when_quantifying, daemon=True)
        killer.start()
        summary = run_study(
            root,
            sources=[cohort / "dicom"],
            executor=connection.executor,
            pdf=False,
            author=AUTHOR,
        )
        killer.join(timeout=5)
    assert killed, "the worker was not killed during the run"
    assert workers[0].wait(timeout=10) == -signal.SIGKILL
    assert _quantified(summary)[0] >= 3
    assert _outputs(root) == local_run  # the lost tasks ran again: same outputs, no duplicates


def test_no_scheduler_is_a_clear_error() -> None:
    from petdx.errors import InputValidationError

    with (
        pytest.raises(InputValidationError, match=r"tcp://127\.0\.0\.1:9.*no Dask scheduler"),
        dask_executor("tcp://127.0.0.1:9", timeout_s=2),
    ):
        pass
