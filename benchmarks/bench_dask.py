"""The quantify stage of ``petdx run`` on Dask distributed against the local process pool
(issue 16), and the memory per worker of a 4 mm and a 2 mm whole-body scan.

Peer: petdx's own local executor (``petdx run --workers N``: in this process for 1 worker,
a spawned ``ProcessPoolExecutor`` for 2), the default that Dask replaces. The question is the
overhead of the scheduler (task submission over TCP, pickled results, one more process for
1 worker), so the work is the same: the quantify stage of ``run_study`` on the same
10-patient study (two 68Ga-DOTA-BLP time points, 4 mm PET), its run state cleared before
each run so that every patient is quantified again. Both executors are started and warmed
once, outside the timing (a cluster outlives the runs it serves; so does a pool here).
Timed: the stage's wall time from :class:`petdx.pipeline.run.RunSummary`, which includes
storing the results in the database (the same on both). Goal: Dask overhead under 10 %
(ratio local / Dask >= 0.91).

Memory: the peak resident memory that the run state records per task (``ru_maxrss`` of the
worker process, its peak so far) on one Dask worker, for the 4 mm study and for one patient
simulated at 2 mm (8 times the voxels). That is the figure to give ``dask worker
--memory-limit`` or ``SLURMCluster(memory=...)``.

The machine is shared: the load average before and after is printed with each figure.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from pathlib import Path

from benchmarks._timing import Timing, report
from petdx.pipeline.dask_cluster import dask_executor
from petdx.pipeline.demo import new_demo_study
from petdx.pipeline.executors import executor_for
from petdx.pipeline.run import RunSummary, run_study
from petdx.pipeline.run_state import RunState
from petdx.simulate import simulate_cohort
from petdx.study.records import Author

N_PATIENTS = 10
ROUNDS = int(os.environ.get("PETDX_BENCH_DASK_ROUNDS", "3"))
AUTHOR = Author("bench", "Dask benchmark")


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def _study(cohort: Path, where: Path) -> Path:
    shutil.rmtree(where, ignore_errors=True)
    return new_demo_study(where, cohort, author=AUTHOR).root


def _forget_quantification(root: Path) -> None:
    state = RunState.load(root)
    for unit in [u for u in state.units if u.startswith("quantify:")]:
        state.forget(unit)


def _quantify_seconds(root: Path, executor: Executor) -> tuple[float, int, float]:
    """(stage wall s, patients quantified, the tasks' own wall s summed)."""
    _forget_quantification(root)
    summary: RunSummary = run_study(root, executor=executor, pdf=False, author=AUTHOR)
    (stage,) = [s for s in summary.stages if s.name == "quantify"]
    if stage.problems:
        raise RuntimeError(f"quantify reported problems: {stage.problems}")
    tasks = RunState.load(root).tasks
    own = sum(t["seconds"] for unit, t in tasks.items() if unit.startswith("quantify:"))
    return stage.seconds, stage.done, own


def _warm(executor: Executor) -> Executor:
    executor.submit(os.getpid).result()  # start the workers (and their imports) untimed
    return executor


def _peak_mib(root: Path) -> float:
    tasks = RunState.load(root).tasks
    return max(t["peak_rss_mib"] for unit, t in tasks.items() if unit.startswith("quantify:"))


@contextmanager
def _dask(workers: int) -> Iterator[Executor]:
    from distributed import LocalCluster

    with (
        LocalCluster(
            processes=True, n_workers=workers, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        dask_executor(cluster.scheduler_address, wait_for_workers=workers) as dask,
    ):
        yield _warm(dask.executor)


def _overhead(root: Path) -> str:
    cohort = root / "cohort"
    simulate_cohort(cohort, n_patients=N_PATIENTS, seed=16, workers=2)
    study = _study(cohort, root / "study")
    first = run_study(study, sources=[cohort / "dicom"], workers=2, pdf=False, author=AUTHOR)
    image_problems = [
        p for s in first.stages if s.name in ("ingest", "quantify") for p in s.problems
    ]
    if image_problems:  # (a 10-patient study's analyses have statistical notes: not checked)
        raise RuntimeError(f"setup run reported problems: {image_problems}")
    text = ""
    for workers in (1, 2):
        runs: dict[str, list[float]] = {"local": [], "dask": []}
        # stage wall time minus the tasks' own time per worker: what the executor adds
        # (submission, transfer, waiting), robust to the load of a shared machine
        added: dict[str, list[float]] = {"local": [], "dask": []}
        loads = [_load()]
        done = 0
        for _ in range(ROUNDS):
            local = executor_for(workers)
            try:
                seconds, done, own = _quantify_seconds(study, _warm(local))
                runs["local"].append(seconds)
                added["local"].append(seconds - own / workers)
            finally:
                local.shutdown()
            with _dask(workers) as dask:
                seconds, done, own = _quantify_seconds(study, dask)
                runs["dask"].append(seconds)
                added["dask"].append(seconds - own / workers)
        loads.append(_load())
        text += report(
            f"Quantify stage, {done} patients ({2 * done} scans), {workers} worker(s)",
            Timing(f"Dask LocalCluster, {workers} worker(s)", runs["dask"]),
            Timing(f"local pool, {workers} worker(s)", runs["local"]),
            goal="Dask overhead under 10 % (ratio >= 0.91)",
        )
        line = (
            "  stage minus the tasks' own time per worker (median): "
            + ", ".join(f"{k} {statistics.median(v):.1f} s" for k, v in added.items())
            + f"\n  machine {' -> '.join(loads)} (2 cores, shared), rounds {ROUNDS}\n"
        )
        print(line, flush=True)
        text += line
    return text


def _memory(root: Path) -> str:
    """Peak worker memory of a 4 mm and a 2 mm whole-body patient on one Dask worker."""
    text = "## Memory per Dask worker (peak RSS of the worker running the task)\n"
    for voxel_mm, patients in ((4.0, 2), (2.0, 1)):
        cohort = root / f"cohort-{voxel_mm:g}mm"
        simulate_cohort(cohort, n_patients=patients, seed=17, voxel_mm=voxel_mm, workers=2)
        study = _study(cohort, root / f"study-{voxel_mm:g}mm")
        with _dask(1) as dask:
            started = time.perf_counter()
            summary = run_study(
                study, sources=[cohort / "dicom"], executor=dask, pdf=False, author=AUTHOR
            )
            wall = time.perf_counter() - started
        (stage,) = [s for s in summary.stages if s.name == "quantify"]
        tasks = RunState.load(study).tasks
        per_task = [t["seconds"] for u, t in tasks.items() if u.startswith("quantify:")]
        line = (
            f"  {voxel_mm:g} mm PET: peak {_peak_mib(study):.0f} MiB per worker, "
            f"{max(per_task):.1f} s per patient (2 time points), quantify stage "
            f"{stage.seconds:.1f} s, run {wall:.0f} s, {_load()}\n"
        )
        print(line, end="", flush=True)
        text += line
        shutil.rmtree(cohort, ignore_errors=True)
        shutil.rmtree(study, ignore_errors=True)
    return text


def run(parts: tuple[Callable[[Path], str], ...] = (_overhead, _memory)) -> str:
    with tempfile.TemporaryDirectory(prefix="petdx-bench-dask-") as tmp:
        return "".join(part(Path(tmp)) for part in parts)


if __name__ == "__main__":
    run()
