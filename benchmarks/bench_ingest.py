"""Ingest: de-identified copies of a simulated cohort into a study, against a plain pydicom
copy loop of the same files, and the whole demo cohort against the goal of issue 7.

Peer: a plain pydicom loop that reads every file fully (``dcmread``) and writes it back
(``dcmwrite``), one process, nothing else. It is the floor of any pydicom-based copier or
anonymiser (dicognito, dicom-anonymizer and deid all read with ``dcmread`` and write with
``save_as``, and do their de-identification on top), so an anonymiser peer could only be
slower; and it needs no extra package. petdx does strictly more per file: the PS3.15
profile, the SUV of every PET series computed on the original and again on the stored
copies, SHA-256, temporary name and rename, one sync and one audited transaction per
series. It is timed with one worker (same single core as the peer) and with two.

1. **Against the peer**: a 2-patient cohort (two 68Ga-DOTA-BLP time points and FDG, 4 mm
   PET, ~3,000 files), each run into a fresh study (setup untimed).
2. **Demo scale**: the 50-patient cohort of ``make demo`` (~75,000 files), ingested once
   with the default workers; goal (issue 7 / the ingest brief): under 180 s on 2 cores.

The machine is shared: the load average before and after and the CPU time used (this
process and its workers) are printed with each figure.
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import pydicom

from benchmarks._timing import Timing, report
from petdx.pipeline import ingest
from petdx.simulate import simulate_cohort
from petdx.study.config import StudyConfig
from petdx.study.database import init_study, open_database
from petdx.study.importing import import_csv
from petdx.study.records import Author

N_PEER_PATIENTS = 2
N_DEMO_PATIENTS = 50
REPEAT = 3
GOAL_S = 180.0
AUTHOR = Author("bench")


def _dicom_files(cohort: Path) -> list[Path]:
    return sorted((cohort / "dicom").rglob("*.dcm"))


def _fresh_study(root: Path, cohort: Path) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    study = init_study(root, StudyConfig())
    database = open_database(study)
    for table in ("patients", "screening", "exposures", "scans"):
        import_csv(database, table, cohort / f"{table}.csv", author=AUTHOR)
    database.dispose()
    return root


def _cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def _ingest_once(root: Path, cohort: Path, workers: int | None) -> tuple[float, float, int]:
    """(wall s, CPU s, files written) of one ingest into a fresh study."""
    from petdx.study.config import open_study

    study = open_study(_fresh_study(root, cohort))
    database = open_database(study)
    cpu, start = _cpu_s(), time.perf_counter()
    result = ingest(  # forked workers, as `petdx ingest` runs them (pipeline.executors)
        study, database, cohort / "dicom", author=AUTHOR, workers=workers, fork_workers=True
    )
    wall = time.perf_counter() - start
    database.dispose()
    if not result.ok:
        raise RuntimeError(f"ingest refused series: {result.problems}")
    return wall, _cpu_s() - cpu, result.n_written


def _peer_copy(files: list[Path], out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for k, path in enumerate(files):
        pydicom.dcmwrite(out / f"{k:06d}.dcm", pydicom.dcmread(path), enforce_file_format=True)


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def _against_peer(root: Path) -> str:
    cohort = root / "cohort-peer"
    simulate_cohort(cohort, n_patients=N_PEER_PATIENTS, seed=1, with_fdg=True, workers=2)
    files = _dicom_files(cohort)
    runs: dict[str, list[float]] = {"peer": [], "1": [], "2": []}
    cpu: dict[str, list[float]] = {"peer": [], "1": [], "2": []}
    loads = [_load()]
    for _ in range(REPEAT):
        start, used = time.perf_counter(), _cpu_s()
        _peer_copy(files, root / "peer-out")
        runs["peer"].append(time.perf_counter() - start)
        cpu["peer"].append(_cpu_s() - used)
        for workers in (1, 2):
            wall, used_s, written = _ingest_once(root / "study", cohort, workers)
            assert written == len(files), (written, len(files))
            runs[str(workers)].append(wall)
            cpu[str(workers)].append(used_s)
    loads.append(_load())
    peer = Timing("pydicom dcmread + dcmwrite loop (1 process)", runs["peer"])
    text = ""
    for workers in ("1", "2"):
        ours = Timing(f"petdx ingest, {workers} worker(s)", runs[workers])
        text += report(
            f"Ingest {len(files)} files of a {N_PEER_PATIENTS}-patient cohort "
            f"({workers} worker(s))",
            ours,
            peer,
            goal="petdx faster than the plain copy loop (ratio > 1)",
        )
    lines = (
        "  files/s (median): "
        + ", ".join(
            f"{name} {len(files) / sorted(times)[len(times) // 2]:.0f}"
            for name, times in runs.items()
        )
        + "\n  CPU ms per file (median): "
        + ", ".join(
            f"{name} {1e3 * sorted(c)[len(c) // 2] / len(files):.2f}" for name, c in cpu.items()
        )
        + f"\n  machine {' -> '.join(loads)} (2 cores, shared)\n"
    )
    print(lines, flush=True)
    return text + lines


def _demo_scale(root: Path) -> str:
    cohort = root / "cohort-demo"
    simulate_cohort(cohort, n_patients=N_DEMO_PATIENTS, seed=1, with_fdg=True, workers=2)
    n_files = len(_dicom_files(cohort))
    load = _load()
    wall, cpu_s, written = _ingest_once(root / "study-demo", cohort, None)
    assert written == n_files, (written, n_files)
    text = (
        f"## Demo-scale ingest (no peer: time against the goal, default workers)\n"
        f"  {N_DEMO_PATIENTS} patients, 60+120 min 68Ga-DOTA-BLP + FDG, {n_files} files: "
        f"{wall:.1f} s = {n_files / wall:.0f} files/s   goal < {GOAL_S:.0f} s "
        f"(>= {n_files / GOAL_S:.0f} files/s)\n"
        f"  CPU {cpu_s:.0f} s = {1e3 * cpu_s / n_files:.2f} ms per file; "
        f"machine {load} -> {_load()} (2 cores, shared)\n"
    )
    print(text, flush=True)
    return text


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="petdx-bench-ingest-") as tmp:
        root = Path(tmp)
        text = _against_peer(root)
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(exist_ok=True)
        text += _demo_scale(root)
    return text


if __name__ == "__main__":
    run()
