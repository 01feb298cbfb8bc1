"""``petdx run STUDY``: ingest -> SUV -> lesion quantification -> analyses -> report.

Stages, each incremental (:mod:`petdx.pipeline.run_state`):

1. **Ingest** every DICOM source folder given now or remembered from earlier runs; a folder
   whose files are unchanged (path, size, time) is not read again.
2. **Quantify** each patient with PET scans and registered lesions
   (:func:`petdx.pipeline.quantification.quantify_patient`, timed: its wall time and the
   worker's peak memory go into the run state's ``tasks``) on an executor
   (:mod:`petdx.pipeline.executors`: given, or ``workers`` spawned local processes), each
   patient's results stored as they come; a patient whose series (instance hashes), registered
   lesions and quantification settings are unchanged is skipped. Measurements are written
   per patient in one transaction, only their differences going to the audit trail.
3. **Analyse**: the pre-specified analyses (:func:`petdx.analysis.analyse_study`) when any
   study record, measurement or setting they read changed; writes ``results/``.
4. **Report**: HTML (and PDF) when the results or petdx changed; writes ``report/``.

A run killed midway and started again ends with the same outputs as an uninterrupted run:
every unit is deterministic, replaces its own outputs atomically, and is marked done only
after its outputs are committed.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from petdx import __version__
from petdx.errors import Hint, InputValidationError
from petdx.fileio import atomic_write_text
from petdx.pipeline.executors import executor_for, map_as_completed
from petdx.pipeline.ingest import ingest
from petdx.pipeline.quantification import (
    PatientJob,
    PatientMeasurements,
    QuantificationParams,
    RegistryLesion,
    ScanRef,
    quantify_patient_measured,
)
from petdx.pipeline.run_state import RunState, content_hash, folder_signature
from petdx.study.config import StudyFolder, open_study
from petdx.study.database import StudyDatabase, open_database
from petdx.study.queries import (
    instance_digests,
    table_rows,
    table_snapshot,
    usable_pet_series,
)
from petdx.study.records import Author, sync_records
from petdx.study.schema import AUDITED_TABLES

__all__ = ["RunSummary", "StageSummary", "run_study"]

ProgressFactory = Callable[[str], AbstractContextManager[Callable[[int, int], None]]]


@contextmanager
def _silent(_description: str) -> Iterator[Callable[[int, int], None]]:
    yield lambda done, total: None


@dataclass
class StageSummary:
    """What one stage did."""

    name: str
    done: int = 0
    skipped: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    #: Inputs given that yielded nothing (a source folder with no readable series).
    unusable_inputs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.name,
            "done": self.done,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 2),
            "problems": self.problems,
        }


@dataclass
class RunSummary:
    """What a run did, stage by stage, and where the report is."""

    study: str
    stages: list[StageSummary] = field(default_factory=list)
    report_html: str | None = None
    report_pdf: str | None = None
    headline: list[dict[str, Any]] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [p for s in self.stages for p in s.problems]

    @property
    def unusable_inputs(self) -> list[str]:
        return [p for s in self.stages for p in s.unusable_inputs]

    def to_dict(self) -> dict[str, Any]:
        return {
            "study": self.study,
            "stages": [s.to_dict() for s in self.stages],
            "report_html": self.report_html,
            "report_pdf": self.report_pdf,
            "headline": self.headline,
            "problems": self.problems,
            "unusable_inputs": self.unusable_inputs,
        }


def _stage(summary: RunSummary, name: str) -> StageSummary:
    stage = StageSummary(name)
    summary.stages.append(stage)
    return stage


@dataclass(frozen=True)
class _Copying:
    """How the ingest runs its copies (:func:`petdx.pipeline.ingest.ingest`)."""

    executor: Executor | None
    fork: bool


def _ingest_stage(
    study: StudyFolder,
    database: StudyDatabase,
    state: RunState,
    sources: Sequence[Path],
    author: Author,
    stage: StageSummary,
    progress: ProgressFactory,
    copying: _Copying,
) -> None:
    remembered = [Path(p) for p in state.sources]
    for source in dict.fromkeys([*remembered, *(s.resolve() for s in sources)]):
        if not source.exists():
            stage.problems.append(f"DICOM source {source} no longer exists; skipped.")
            continue
        signature = folder_signature(source)
        if state.sources.get(str(source)) == signature:
            stage.skipped += 1
            continue
        with progress(f"Ingest {source.name}") as update:
            result = ingest(
                study,
                database,
                source,
                author=author,
                progress=update,
                executor=copying.executor,
                fork_workers=copying.fork,
            )
        stage.problems.extend(str(p) for p in result.problems)
        if result.nothing_read is not None:
            stage.unusable_inputs.append(str(source))
        stage.done += 1
        state.sources[str(source)] = signature
        state.save()


def _jobs(study: StudyFolder, database: StudyDatabase) -> list[tuple[PatientJob, str]]:
    """One job per patient with PET series and registered lesions, with its input hash."""
    config = study.config
    order = {config.tracer: 0}
    if config.comparator_tracer:
        order[config.comparator_tracer] = 1
    with database.engine.connect() as connection:
        pet = [r.as_dict() for r in usable_pet_series(connection)]
        lesions = [r.as_dict() for r in table_rows(connection, "lesion_registry")]
        digests = instance_digests(connection)
    params = QuantificationParams(
        method=config.quantification_method,
        voi_margin_mm=config.voi_margin_mm,
        seed_radius_mm=config.seed_radius_mm,
        align=config.align_scans,
    )
    jobs = []
    for patient in sorted({r["patient_id"] for r in pet}):
        scans = sorted(
            (r for r in pet if r["patient_id"] == patient and r["tracer"] in order),
            key=lambda r: (order[r["tracer"]], r["time_point_min"], r["series_uid"]),
        )
        mine = sorted(
            (r for r in lesions if r["patient_id"] == patient), key=lambda r: r["lesion_id"]
        )
        if not scans or scans[0]["tracer"] != config.tracer or not mine:
            continue
        job = PatientJob(
            patient_id=patient,
            study_root=str(study.root),
            scans=tuple(
                ScanRef(r["series_uid"], r["folder"], r["tracer"], int(r["time_point_min"]))
                for r in scans
            ),
            lesions=tuple(
                RegistryLesion(
                    r["lesion_id"],
                    (float(r["centre_x_mm"]), float(r["centre_y_mm"]), float(r["centre_z_mm"])),
                    None if r.get("diameter_mm") is None else float(r["diameter_mm"]),
                )
                for r in mine
            ),
            params=params,
        )
        inputs = {s.series_uid: sorted(digests.get(s.series_uid, [])) for s in job.scans}
        jobs.append((job, content_hash(job.fingerprint(), inputs)))
    return jobs


def _series_without_suv(database: StudyDatabase) -> list[str]:
    """A note for every stored PET series left out of quantification for want of SUV."""
    with database.engine.connect() as connection:
        rows = [r.as_dict() for r in table_rows(connection, "series")]
    return [
        f"{r['patient_id']} PT series {r['series_uid']} ({r['tracer'] or 'tracer unknown'}, "
        f"{r['time_point_min'] if r['time_point_min'] is not None else '?'} min) is not "
        f"quantified: it has no SUV ({r['suv_error']})"
        for r in rows
        if r["modality"] == "PT" and r["suv_error"]
    ]


def _store(
    study: StudyFolder,
    database: StudyDatabase,
    result: PatientMeasurements,
    author: Author,
) -> None:
    with database.begin() as connection:
        sync_records(
            connection,
            "measurements",
            {"patient_id": result.patient_id},
            result.rows,
            author=Author(author.actor, "petdx run: lesion quantification"),
        )
    summary = {
        "patient_id": result.patient_id,
        "scans": [asdict(s) for s in result.scans],
        "problems": list(result.problems),
    }
    atomic_write_text(
        study.layout.patient_summary(result.patient_id),
        json.dumps(summary, indent=1, default=list),
    )


def _quantify_stage(
    study: StudyFolder,
    database: StudyDatabase,
    state: RunState,
    executor: Executor,
    author: Author,
    stage: StageSummary,
    progress: ProgressFactory,
) -> None:
    stage.problems.extend(_series_without_suv(database))
    jobs = _jobs(study, database)
    todo = [
        (job, digest)
        for job, digest in jobs
        if not state.is_current(f"quantify:{job.patient_id}", digest)
        or not study.layout.patient_summary(job.patient_id).exists()
    ]
    stage.skipped = len(jobs) - len(todo)
    if not todo:
        return
    with progress("Quantify lesions") as update:
        update(0, len(todo))
        results = map_as_completed(executor, quantify_patient_measured, [job for job, _ in todo])
        try:
            for n, (index, result) in enumerate(results, start=1):
                _finish(study, database, state, result, todo[index][1], author, stage)
                update(n, len(todo))
        finally:
            results.close()


def _finish(
    study: StudyFolder,
    database: StudyDatabase,
    state: RunState,
    result: PatientMeasurements,
    digest: str,
    author: Author,
    stage: StageSummary,
) -> None:
    stage.problems.extend(result.problems)
    _store(study, database, result, author)
    stage.done += 1
    unit = f"quantify:{result.patient_id}"
    if result.seconds is not None and result.peak_rss_mib is not None:
        state.record_task(unit, result.seconds, result.peak_rss_mib)
    if result.rows:
        state.mark(unit, digest)


def _analysis_inputs(study: StudyFolder, database: StudyDatabase) -> str:
    """Hash of every record the analyses read (not the audit trail) and the settings."""
    tables = [t for name, t in AUDITED_TABLES.items() if name != "patient_identity"]
    # The version too: results labelled with a petdx version were computed by it.
    parts: list[Any] = [study.config.to_dict() | {"created_utc": None}, __version__]
    with database.engine.connect() as connection:
        for table in tables:
            parts.append([table.name, table_snapshot(connection, table.name)])
    return content_hash(parts)


def run_study(
    root: str | os.PathLike[str],
    *,
    sources: Sequence[str | os.PathLike[str]] = (),
    workers: int | None = None,
    pdf: bool = True,
    author: Author | None = None,
    progress: ProgressFactory | None = None,
    executor: Executor | None = None,
    fork_ingest_workers: bool = False,
) -> RunSummary:
    """Run every stage on a study folder (module docstring).

    Parameters
    ----------
    root
        The study folder (``petdx init``).
    sources
        DICOM folders to ingest now; they are remembered for later runs.
    workers
        Worker processes for quantification (default: the number of CPUs, at most 4).
        The ingest sizes its own pool (:func:`petdx.pipeline.ingest.ingest`).
    pdf
        Also write the PDF report.
    author
        Who runs it (audit trail).
    progress
        Factory of progress reporters, ``progress(description)`` -> context manager yielding
        ``update(done, total)``.
    executor
        Run the series copies and the quantification on this executor
        (:mod:`petdx.pipeline.executors`; the caller shuts it down) instead of local
        processes; ``workers`` and ``fork_ingest_workers`` are then not used (the copies
        run on it whatever the number of files).
    fork_ingest_workers
        Fork the ingest's local copy workers (``ingest(fork_workers=True)``): the opt-in of
        the local command line, never to be set inside a server process.

    Raises
    ------
    InputValidationError
        The study folder or a source does not exist, or the database cannot be opened.
    """
    from petdx.analysis import analyse_into
    from petdx.report import write_report

    study = open_study(Path(root))
    database = open_database(study)
    author = author or Author(os.environ.get("USER", "petdx"))
    progress = progress or _silent
    n_workers = workers or min(4, os.cpu_count() or 1)
    if n_workers < 1:
        raise InputValidationError(
            f"workers {workers}: expected 1 or more worker processes.", hint=Hint("workers")
        )
    state = RunState.load(study.root)
    summary = RunSummary(str(study.root))
    try:
        stage = _stage(summary, "ingest")
        start = time.perf_counter()
        _ingest_stage(
            study,
            database,
            state,
            [Path(s) for s in sources],
            author,
            stage,
            progress,
            _Copying(executor, fork_ingest_workers),
        )
        stage.seconds = time.perf_counter() - start

        stage = _stage(summary, "quantify")
        start = time.perf_counter()
        with ExitStack() as stack:
            quantify_on = (
                executor if executor is not None else stack.enter_context(executor_for(n_workers))
            )
            _quantify_stage(study, database, state, quantify_on, author, stage, progress)
        stage.seconds = time.perf_counter() - start

        stage = _stage(summary, "analyse")
        start = time.perf_counter()
        digest = _analysis_inputs(study, database)
        results_path = study.layout.results.results_json
        if state.is_current("analysis", digest) and results_path.exists():
            stage.skipped = 1
        else:
            with progress("Analyse") as update:
                results = analyse_into(study, database, study.layout.results)
                update(1, 1)
            stage.done = 1
            stage.problems.extend(results.problems)
            state.mark("analysis", digest)
        stage.seconds = time.perf_counter() - start

        stage = _stage(summary, "report")
        start = time.perf_counter()
        report_digest = content_hash(hashlib.sha256(results_path.read_bytes()).hexdigest(), pdf)
        html = study.layout.report_html
        pdf_path = study.layout.report_pdf
        if (
            state.is_current("report", report_digest)
            and html.exists()
            and (pdf_path.exists() or not pdf)
        ):
            stage.skipped = 1
        else:
            with progress("Report") as update:
                write_report(study.root, pdf=pdf)
                update(1, 1)
            stage.done = 1
            state.mark("report", report_digest)
        stage.seconds = time.perf_counter() - start
        summary.report_html = str(html)
        summary.report_pdf = str(pdf_path) if pdf else None
    finally:
        database.dispose()
    return summary
