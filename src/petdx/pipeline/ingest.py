"""``petdx ingest STUDY PATH``: store de-identified copies of PET/CT and PET/MR series in the
study.

For every PET, CT and anatomical MR series found under PATH (an MR-derived attenuation map,
``SeriesKind.MR_AC``, is not stored) (:func:`petdx.dicom.index_dicom_folder`):

1. **Patient**: DICOM PatientID (with IssuerOfPatientID) is looked up in the identity table
   (``patient_identity``); a PatientID that is already a study pseudonym (simulated data,
   e.g. ``SIM-0001``) is taken as it is. Otherwise the series is refused, by UID and folder
   (never by the PatientID itself).
2. **Visit and time point** (PET): tracer from the radionuclide and radiopharmaceutical of
   the header, matched to a tracer profile; injection time and SUV provenance from
   :func:`petdx.suv.compute_suv`; uptake = earliest acquisition start - injection. The
   nominal time point is the study's (or the profile's) nearest within 15 min or 20 %, or
   the ``scans`` row whose ``pet_series_uid`` is this series. A PET series whose SUV cannot
   be computed (not quantitative, a missing dose) is stored with the reason in
   ``series.suv_error``. A CT or MR takes the visit of the
   PET series with the same study and frame of reference (or its ``scans.ct_series_uid``),
   stored in the same run or an earlier one (a CT the PACS received later); the reader's
   viewer shows it under the PET (:mod:`petdx.pipeline.viewer_volumes`).
3. **Copies**: every instance is de-identified (:mod:`petdx.dicom.deidentify`, through
   :class:`~petdx.dicom.deidentified_file.DeidentifiedFileEncoder`, byte-identical to
   ``deidentify_dataset`` + ``dcmwrite``) and written to
   ``images/<patient>/<study uid>/<modality>_<series uid>/<sop uid>.dcm`` through a
   temporary name and a rename, then the SUV factors of the stored copies are recomputed
   from the bytes written (the encoder's output, parsed from memory: a second read of the
   files would find the same bytes in the page cache) and must equal the original's
   exactly, instance by instance; only then
   are the series and its instances recorded, in one transaction (series and visits go to
   the audit trail).

**Parallel**: the copies of a series (SUV of the original, de-identification, writing,
SUV of the copies) are one task; an executor (:mod:`petdx.pipeline.executors`: given, or
``workers`` local processes) runs the tasks (threads would not help: pydicom's parsing
holds the GIL), while this process records the results in the order the series were found,
so the database, the audit trail and every file are the same whatever runs them. Local
workers are spawned and read the files again; with ``fork_workers`` (the command line's
opt-in, Linux only, never in a server process) they are forked after the index, so they use
its headers instead of parsing every file again (a worker checks that no file changed
since, by its modification time). Local worker processes end with this process (Linux:
``PR_SET_PDEATHSIG``), so a killed ingest leaves none writing behind it, and they never
hold the study's lock (a POSIX record lock, not inherited by a fork).

Idempotent by SOPInstanceUID: de-identified UIDs are a keyed hash of the original, so an
instance already recorded with its file present is skipped. Crash-safe: a run killed at any
point leaves complete files (perhaps not yet recorded) and stale temporary files; the next
run removes the temporary files, rewrites the unrecorded instances (same bytes) and records
them, so every instance ends up present once. One ingest runs at a time per study (a lock
file).

**Durability** (power loss, not only a killed process): the files of a series are written
and renamed without a flush each; when the worker has renamed the last one, this process
calls ``sync`` (file data and folder entries to disk) and records the series only after it
returns. So a recorded instance always has its complete file on disk, which is all the skip
rule above relies on; an unrecorded file may be lost or truncated by a power cut, and is
rewritten by the next run. One flush per series costs one journal commit instead of one per
file, and it runs here while the workers go on copying.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
from collections.abc import Callable
from concurrent.futures import Executor
from contextlib import AbstractContextManager, ExitStack, closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset
from sqlalchemy import Connection

from petdx.dicom import (
    SeriesEntry,
    SeriesKind,
    deidentify_uid,
)
from petdx.dicom.deidentify import redact_uids
from petdx.dicom.sources import ImageSource, as_image_source
from petdx.errors import InputValidationError, PetdxError
from petdx.fileio import exclusive_lock
from petdx.pipeline.executors import executor_for
from petdx.pipeline.series_copy import CopyTask, PetSuv, copy_all, remove_unrecorded
from petdx.study.config import StudyFolder
from petdx.study.database import StudyDatabase
from petdx.study.queries import (
    patient_identities,
    patient_ids,
    recorded_instance_uids,
    store_instances,
    table_rows,
)
from petdx.study.records import Author, get_record, insert_record, update_record

__all__ = ["IngestProblem", "IngestResult", "IngestedSeries", "ingest", "log_handle"]

ProgressCallback = Callable[[int, int], None]
#: Below this many files the default is to copy in this process (see ``ingest``).
_POOL_MIN_FILES = 1000
_TOLERANCE_MIN = 15.0
_TOLERANCE_FRACTION = 0.20


@dataclass(frozen=True)
class IngestedSeries:
    """One series stored in the study (UIDs de-identified)."""

    series_uid: str
    patient_id: str
    modality: str
    tracer: str | None
    time_point_min: int | None
    n_instances: int
    n_written: int
    folder: str
    #: Why a stored PET series has no SUV (stored in ``series.suv_error`` too).
    suv_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def log_handle(secret: bytes, what: str) -> str:
    """A stable name for a refused series or file that identifies nothing: a keyed hash
    (HMAC-SHA256 with the study secret, 16 hex digits) of its original UID or path."""
    digest = hmac.new(secret, b"ingest-log|" + what.encode("utf-8", "replace"), hashlib.sha256)
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class IngestProblem:
    """A series or file that was not ingested.

    ``source`` (the original series UID, or a file) and ``folder`` (where it was found)
    are for the operator's console only. What is written to disk (:meth:`to_dict` without
    folders: logs, the JSON output) names it by ``handle`` - the de-identified series UID
    and pseudonym when the patient is known, else a keyed hash (:func:`log_handle`) - and
    its ``position`` in the run, with ``log_message``: the message without source paths or
    original UIDs."""

    source: str
    folder: str
    message: str
    handle: str = ""
    position: int | None = None
    log_message: str = ""

    def __str__(self) -> str:
        return f"{self.source} in {self.folder}: {self.message}"

    def to_dict(self, *, with_folder: bool = True) -> dict[str, Any]:
        if with_folder:
            return {"source": self.source, "folder": self.folder, "message": self.message}
        return {
            "handle": self.handle or "unnamed",
            "position": self.position,
            "message": self.log_message or self._redacted(),
        }

    def _redacted(self) -> str:
        text = self.message
        for known in sorted({self.source, self.folder} - {""}, key=len, reverse=True):
            text = text.replace(known, "[source]")
        return redact_uids(text, None)


@dataclass(frozen=True)
class IngestResult:
    """What an ingest run stored and refused."""

    series: tuple[IngestedSeries, ...]
    problems: tuple[IngestProblem, ...]
    n_skipped_series: int = 0
    #: Set when the folder held files but no PET or CT series: what was skipped and why.
    nothing_read: str | None = None

    @property
    def n_written(self) -> int:
        return sum(s.n_written for s in self.series)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self, *, with_folders: bool = True) -> dict[str, Any]:
        return {
            "series": [s.to_dict() for s in self.series],
            "n_instances_written": self.n_written,
            "n_other_series_skipped": self.n_skipped_series,
            "problems": [p.to_dict(with_folder=with_folders) for p in self.problems],
        }

    def __str__(self) -> str:
        text = (
            f"{len(self.series)} series ingested ({self.n_written} instance file(s) written), "
            f"{len(self.problems)} problem(s)"
        )
        if self.n_skipped_series:
            text += f", {self.n_skipped_series} non-image series skipped"
        without_suv = sum(1 for s in self.series if s.suv_error)
        if without_suv:
            text += f", {without_suv} PET series stored without SUV (not quantified)"
        return text


@dataclass
class _Context:
    study: StudyFolder
    database: StudyDatabase
    author: Author
    root: Path | None
    secret: bytes
    identities: dict[tuple[str, str], str]
    patients: set[str]
    scans_by_pet: dict[str, dict[str, Any]]
    scans_by_ct: dict[str, dict[str, Any]]
    pet_visits: dict[tuple[str, str], tuple[str | None, str | None, int | None]] = field(
        default_factory=dict
    )
    #: The visits of PET series stored by earlier runs, by de-identified study and frame of
    #: reference UIDs: a CT ingested later (a series the PACS received late) joins them.
    stored_pet_visits: dict[tuple[str, str], tuple[str | None, str | None, int | None]] = field(
        default_factory=dict
    )


def _study_lock(study: StudyFolder) -> AbstractContextManager[None]:
    """One ingest per study (a record lock, which forked workers do not inherit)."""
    return exclusive_lock(
        study.layout.ingest_lock,
        f"{study.root}: another petdx ingest is running on this study; wait for it.",
    )


def _remove_stale_temporaries(images: Path) -> int:
    removed = 0
    for path in images.rglob(".*.dcm"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def _load_context(
    study: StudyFolder, database: StudyDatabase, author: Author, root: Path | None
) -> _Context:
    with database.engine.connect() as connection:
        identities = patient_identities(connection)
        known = set(patient_ids(connection))
        scan_rows = [r.as_dict() for r in table_rows(connection, "scans")]
        stored_pet: dict[tuple[str, str], tuple[str | None, str | None, int | None]] = {
            (str(r["study_uid"]), str(r["frame_of_reference_uid"])): (
                str(r["visit_id"]),
                r["tracer"],
                r["time_point_min"],
            )
            for r in (row.as_dict() for row in table_rows(connection, "series"))
            if r["modality"] == "PT" and r["visit_id"] and r["frame_of_reference_uid"]
        }
    return _Context(
        study=study,
        database=database,
        author=author,
        root=root,
        secret=database.secret(),
        identities=identities,
        patients=known,
        scans_by_pet={r["pet_series_uid"]: r for r in scan_rows if r.get("pet_series_uid")},
        scans_by_ct={r["ct_series_uid"]: r for r in scan_rows if r.get("ct_series_uid")},
        stored_pet_visits=stored_pet,
    )


def _pseudonym(ctx: _Context, header: Dataset) -> str | None:
    patient_id = str(header.get("PatientID", "") or "").strip()
    issuer = str(header.get("IssuerOfPatientID", "") or "").strip()
    for key in ((issuer, patient_id), ("", patient_id)):
        if key in ctx.identities:
            return ctx.identities[key]
    return patient_id if patient_id in ctx.patients else None


def _tracer(ctx: _Context, nuclide: str | None, header: Dataset) -> str | None:
    from petdx.tracers import available_tracers, load_tracer_profile

    if nuclide is None:
        return None
    candidates = [
        name for name in available_tracers() if load_tracer_profile(name).nuclide.symbol == nuclide
    ]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    if ctx.study.config.tracer in candidates:
        return ctx.study.config.tracer
    return candidates[0]


def _nominal_time_point(ctx: _Context, tracer: str | None, uptake_min: float) -> int:
    from petdx.tracers import load_tracer_profile

    config = ctx.study.config
    points: tuple[int, ...] = ()
    if tracer == config.tracer:
        points = config.time_points_min
    elif tracer is not None:
        points = load_tracer_profile(tracer).time_points_min
    if points:
        nearest = min(points, key=lambda t: abs(t - uptake_min))
        if abs(nearest - uptake_min) <= max(_TOLERANCE_MIN, _TOLERANCE_FRACTION * nearest):
            return int(nearest)
    return round(uptake_min)


def _visit_id(patient_id: str, tracer: str, injection: datetime) -> str:
    digest = hashlib.sha256(f"{patient_id}|{tracer}|{injection.isoformat()}".encode()).hexdigest()
    return f"{patient_id}/{tracer}/{digest[:10]}"


@dataclass(frozen=True)
class _SeriesPlan:
    entry: SeriesEntry
    patient_id: str
    tracer: str | None
    time_point_min: int | None
    uptake_min: float | None
    scan_id: str | None
    visit: dict[str, Any] | None
    suv: dict[str, Any]


def _plan_pet(ctx: _Context, entry: SeriesEntry, patient_id: str, measured: PetSuv) -> _SeriesPlan:
    result = measured.result
    if result is None:  # stored all the same, with the reason SUV is unavailable
        scan = ctx.scans_by_pet.get(entry.series_instance_uid)
        return _SeriesPlan(
            entry,
            patient_id,
            None if scan is None else str(scan["tracer"]),
            None if scan is None else int(scan["time_point_min"]),
            None,
            None if scan is None else str(scan["scan_id"]),
            None,
            {"suv_error": measured.error},
        )
    start = measured.acquisition_start
    injection = result.injection_datetime
    uptake = (start - injection).total_seconds() / 60.0 if start and injection else None
    tracer = _tracer(ctx, result.nuclide, entry.first_header)
    scan = ctx.scans_by_pet.get(entry.series_instance_uid)
    if scan is not None:
        time_point: int | None = int(scan["time_point_min"])
        tracer = str(scan["tracer"])
    else:
        time_point = _nominal_time_point(ctx, tracer, uptake) if uptake is not None else None
    visit = None
    if tracer is not None and injection is not None:
        activity = result.injected_activity_bq
        visit = {
            "visit_id": _visit_id(patient_id, tracer, injection),
            "patient_id": patient_id,
            "tracer": tracer,
            "injection_datetime": injection,
            "administered_activity_mbq": None if activity is None else activity / 1e6,
        }
    suv = {
        "suv_factor": result.suv_factor,
        "suv_units": result.units,
        "suv_decay_correction": result.decay_correction,
        "suv_reference_time_rule": result.reference_time_rule.value,
        "suv_warnings": "\n".join(result.warnings) or None,
        "suv_error": None,
    }
    key = (entry.study_instance_uid, entry.frame_of_reference_uid)
    visit_id = None if visit is None else str(visit["visit_id"])
    ctx.pet_visits[key] = (visit_id, tracer, time_point)
    return _SeriesPlan(
        entry,
        patient_id,
        tracer,
        time_point,
        uptake,
        None if scan is None else str(scan["scan_id"]),
        visit,
        suv,
    )


def _plan_ct(ctx: _Context, entry: SeriesEntry, patient_id: str) -> _SeriesPlan:
    key = (entry.study_instance_uid, entry.frame_of_reference_uid)
    stored_key = tuple(deidentify_uid(ctx.secret, uid) if uid else "" for uid in key)
    visit_id, tracer, time_point = ctx.pet_visits.get(
        key,
        ctx.stored_pet_visits.get(stored_key, (None, None, None)),  # type: ignore[arg-type]
    )
    scan = ctx.scans_by_ct.get(entry.series_instance_uid)
    if scan is not None:
        tracer, time_point = str(scan["tracer"]), int(scan["time_point_min"])
    plan_visit = {"visit_id": visit_id} if visit_id else None
    return _SeriesPlan(
        entry,
        patient_id,
        tracer,
        time_point,
        None,
        None if scan is None else str(scan["scan_id"]),
        plan_visit,
        {},
    )


def _record(
    connection: Connection,
    ctx: _Context,
    plan: _SeriesPlan,
    task: CopyTask,
    rows: tuple[dict[str, Any], ...],
) -> None:
    study_uid = deidentify_uid(ctx.secret, plan.entry.study_instance_uid)
    series_uid = deidentify_uid(ctx.secret, plan.entry.series_instance_uid)
    author = Author(ctx.author.actor, ctx.author.reason or "ingest")
    visit = plan.visit
    if visit is not None and "tracer" in visit and get_record(connection, "visits", visit) is None:
        insert_record(connection, "visits", visit, author=author)
    values = {
        "series_uid": series_uid,
        "patient_id": plan.patient_id,
        "visit_id": None if visit is None else visit["visit_id"],
        "study_uid": study_uid,
        "frame_of_reference_uid": deidentify_uid(ctx.secret, plan.entry.frame_of_reference_uid)
        if plan.entry.frame_of_reference_uid
        else None,
        "modality": plan.entry.kind.value,
        "tracer": plan.tracer,
        "time_point_min": plan.time_point_min,
        "uptake_min": plan.uptake_min,
        "scan_id": plan.scan_id,
        "manufacturer": plan.entry.manufacturer or None,
        "n_instances": len(plan.entry.instances),
        "folder": str(ctx.study.layout.relative(task.folder)),
        **{k: v for k, v in plan.suv.items() if not k.startswith("_")},
    }
    factor = values.get("suv_factor")
    if factor is not None and not math.isfinite(float(factor)):
        raise PetdxError(  # never stored: compute_suv refuses such headers first
            f"{plan.entry.kind.value} series: its SUV factor is {factor}, not a finite number; "
            "the series was not recorded. Check the PET header's weight, dose and times."
        )
    stored = get_record(connection, "series", values)
    if stored is None:
        insert_record(connection, "series", values, author=author)
    else:
        merged = {**values, "n_instances": max(int(stored["n_instances"]), values["n_instances"])}
        update_record(connection, "series", values, merged, author=author)
    new_rows = [{k: v for k, v in r.items() if k != "_new"} for r in rows if r["_new"]]
    store_instances(connection, new_rows, [r for r in rows if not r["_new"]])


def ingest(
    study: StudyFolder,
    database: StudyDatabase,
    path: ImageSource | str | os.PathLike[str],
    *,
    author: Author,
    progress: ProgressCallback | None = None,
    workers: int | None = None,
    executor: Executor | None = None,
    fork_workers: bool = False,
) -> IngestResult:
    """Ingest every PET, CT and anatomical MR series under ``path`` into ``study`` (see the
    module docstring).

    ``path`` is a folder, or any :class:`~petdx.dicom.sources.ImageSource` (a list of files,
    the PACS): the source finds the series, ingest copies them.

    Parameters
    ----------
    workers
        Processes copying series; 1 copies in this process. Default: the number of CPUs,
        at most 2, from 1000 files on (below, starting the workers, each importing petdx,
        would cost more than it saves). The result, the files and the database are the
        same for any number.
    executor
        Run the copies on this executor instead (:mod:`petdx.pipeline.executors`; the
        caller shuts it down); ``workers`` and ``fork_workers`` are then not used.
    fork_workers
        Fork the local workers (Linux; spawn elsewhere) so they reuse the index instead of
        parsing the files again: the opt-in of the local command line, never to be set
        inside a server process.

    Returns
    -------
    IngestResult
        Series stored (with the number of files written this run) and series refused, each
        with the reason; good series are stored even when others fail.

    Raises
    ------
    InputValidationError
        ``path`` does not exist, or another ingest holds the study's lock.
    """
    source = as_image_source(path)
    root = source.root
    with ExitStack() as stack:
        stack.enter_context(_study_lock(study))
        _remove_stale_temporaries(study.images)
        index = source.index()
        ctx = _load_context(study, database, author, root)
        entries = (
            index.of_kind(SeriesKind.PT)
            + index.of_kind(SeriesKind.CT)
            + index.of_kind(SeriesKind.MR)  # the anatomy of a PET/MR scan (the reader's viewer)
        )
        total = sum(len(e.instances) for e in entries)
        n_workers = workers or (min(2, os.cpu_count() or 1) if total >= _POOL_MIN_FILES else 1)
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            for _ in range(n):
                done += 1
                if progress is not None:
                    progress(done, total)

        stored: list[IngestedSeries] = []
        problems = [
            _file_problem(ctx, p.path, p.message, root, position)
            for position, p in enumerate(index.unreadable)
        ]
        patients = [_pseudonym(ctx, entry.first_header) for entry in entries]
        tasks: list[CopyTask | None] = []
        unsafe: dict[int, str] = {}  # position: why its folder cannot be built
        for position, (entry, patient_id) in enumerate(zip(entries, patients, strict=True)):
            try:
                task = None if patient_id is None else _copy_task(ctx, entry, patient_id, position)
            except InputValidationError as exc:
                task, unsafe[position] = None, str(exc)
            tasks.append(task)
        if executor is None:
            n_tasks = sum(t is not None for t in tasks)
            executor = stack.enter_context(
                executor_for(max(1, min(n_workers, n_tasks)), fork=fork_workers)
            )
        outcomes = stack.enter_context(closing(copy_all(entries, tasks, executor)))
        for position, (entry, patient_id, task, outcome) in enumerate(
            zip(entries, patients, tasks, outcomes, strict=True)
        ):
            tick(len(entry.instances))
            where = _relative(entry.folder, root)
            if position in unsafe:
                problems.append(
                    _series_problem(
                        ctx,
                        entry,
                        where,
                        position,
                        None,
                        f"{entry.kind.value} series: not stored: {unsafe[position]}",
                    )
                )
                continue
            if patient_id is None or task is None or outcome is None:
                problems.append(
                    _series_problem(
                        ctx,
                        entry,
                        where,
                        position,
                        None,
                        f"{entry.kind.value} series: its PatientID is neither in the identity "
                        "table nor a study pseudonym. Import the mapping with `petdx import "
                        "STUDY patient_identity FILE.csv` (columns patient_id, hospital_id, "
                        "issuer) and ingest again.",
                    )
                )
                continue
            plan = None
            try:
                if outcome.error is not None:
                    raise PetdxError(outcome.error)
                plan = (
                    _plan_pet(ctx, entry, patient_id, outcome.pet)
                    if outcome.pet is not None
                    else _plan_ct(ctx, entry, patient_id)
                )
                if outcome.written:
                    os.sync()  # the files on disk before their rows (see Durability)
                with database.begin() as connection:
                    _record(connection, ctx, plan, task, outcome.rows)
            except PetdxError as exc:
                new = [study.root / str(r["path"]) for r in outcome.rows if r["_new"]]
                remove_unrecorded(new, study.root)  # nothing of a refused series stays
                if plan is not None and plan.visit is not None:  # its visit was not stored:
                    _forget_visit(ctx, plan)  # its CT must not name it
                problems.append(_series_problem(ctx, entry, where, position, patient_id, str(exc)))
                continue
            stored.append(
                IngestedSeries(
                    series_uid=deidentify_uid(ctx.secret, entry.series_instance_uid),
                    patient_id=patient_id,
                    modality=entry.kind.value,
                    tracer=plan.tracer,
                    time_point_min=plan.time_point_min,
                    n_instances=len(entry.instances),
                    n_written=outcome.written,
                    folder=str(task.folder.relative_to(study.root)),
                    suv_error=plan.suv.get("suv_error"),
                )
            )
        skipped = len(index.series) - len(entries)
        nothing_read = None
        if not entries and index.n_inputs:
            nothing_read = index.skipped_summary()
            advice = "Give the folder holding the PET/CT series' DICOM files."
            counts = (
                f"{len(index.non_dicom)} not DICOM, {len(index.unreadable)} unreadable, "
                f"{len(index.ignored)} ignored, {len(index.series)} series of other kinds"
            )
            problems.append(
                IngestProblem(
                    source.label,
                    source.label,
                    f"no PET or CT series could be read from {index.n_inputs} file(s): "
                    f"{nothing_read}. {advice}",
                    handle="input",
                    log_message=f"no PET or CT series could be read from {index.n_inputs} "
                    f"file(s) ({counts}). {advice}",
                )
            )
    return IngestResult(tuple(stored), tuple(problems), skipped, nothing_read)


def _forget_visit(ctx: _Context, plan: _SeriesPlan) -> None:
    key = (plan.entry.study_instance_uid, plan.entry.frame_of_reference_uid)
    if plan.visit is not None and ctx.pet_visits.get(key, (None,))[0] == plan.visit["visit_id"]:
        del ctx.pet_visits[key]


def _copy_task(ctx: _Context, entry: SeriesEntry, patient_id: str, position: int) -> CopyTask:
    study_uid = deidentify_uid(ctx.secret, entry.study_instance_uid)
    series_uid = deidentify_uid(ctx.secret, entry.series_instance_uid)
    folder = ctx.study.layout.series_folder(patient_id, study_uid, entry.kind.value, series_uid)
    with ctx.database.engine.connect() as connection:
        recorded = recorded_instance_uids(connection, series_uid)
    return CopyTask(
        series_uid=entry.series_instance_uid,
        kind=entry.kind,
        paths=tuple(i.path for i in entry.instances),
        secret=ctx.secret,
        pseudonym=patient_id,
        study_root=ctx.study.root,
        folder=folder,
        recorded=recorded,
        position=position,
    )


def _scrubbed(
    ctx: _Context, message: str, identifying: set[str], keep: frozenset[str] = frozenset()
) -> str:
    """``message`` without the given paths and names and with de-identified UIDs (those in
    ``keep`` are de-identified already)."""
    text = message
    for known in sorted(identifying - {"", "."}, key=len, reverse=True):
        text = text.replace(known, "[source]")
    return redact_uids(text, ctx.secret, keep)


def _paths_of(path: Path, root: Path | None) -> set[str]:
    """How messages name a file or folder: its absolute path, its path below the source
    (when it has a folder in it) and its name (four characters or more, so that a short
    name such as ``PT`` does not blank words of the message)."""
    names = {str(path)}
    relative = _relative(path, root)
    if os.sep in relative:
        names.add(relative)
    if len(path.name) >= 4:
        names.add(path.name)
    return names


def _series_problem(
    ctx: _Context,
    entry: SeriesEntry,
    where: str,
    position: int,
    patient_id: str | None,
    message: str,
) -> IngestProblem:
    """A refused series: the console names its UID and folder, the log its handle."""
    uid = entry.series_instance_uid
    if patient_id is not None:
        handle = f"{patient_id} {entry.kind.value} series {deidentify_uid(ctx.secret, uid)}"
    else:
        handle = f"{entry.kind.value} series {log_handle(ctx.secret, uid)}"
    identifying = _paths_of(entry.folder, ctx.root) | ({where} if os.sep in where else set())
    if len(entry.description) >= 4:  # messages name a series by its description too
        identifying.add(entry.description)
    for instance in entry.instances:
        identifying |= _paths_of(instance.path, ctx.root)
    keep = frozenset((deidentify_uid(ctx.secret, uid),))
    return IngestProblem(
        uid, where, message, handle, position, _scrubbed(ctx, message, identifying, keep)
    )


def _file_problem(
    ctx: _Context, path: Path, message: str, root: Path | None, position: int
) -> IngestProblem:
    """An unreadable file or folder: the console names it, the log its keyed hash and its
    position among the unreadable files and folders of the run."""
    return IngestProblem(
        path.name,
        str(path.parent),
        message,
        f"{'folder' if path.is_dir() else 'file'} {log_handle(ctx.secret, str(path))}",
        position,
        _scrubbed(ctx, message, _paths_of(path, root) | _paths_of(path.parent, root)),
    )


def _relative(folder: Path, root: Path | None) -> str:
    if root is None:
        return str(folder)
    try:
        return str(folder.resolve().relative_to(root.resolve())) or "."
    except ValueError:
        return str(folder)
