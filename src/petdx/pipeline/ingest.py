"""``petdx ingest STUDY PATH``: store de-identified copies of PET/CT series in the study.

For every PET and CT series found under PATH (:func:`petdx.dicom.index_dicom_folder`):

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
   ``series.suv_error``. A CT takes the visit of the
   PET series with the same study and frame of reference (or its ``scans.ct_series_uid``).
3. **Copies**: every instance is de-identified (:mod:`petdx.dicom.deidentify`) and written
   to ``images/<patient>/<study uid>/<modality>_<series uid>/<sop uid>.dcm`` through a
   temporary name and a rename, then the SUV factors of the copy are recomputed and must
   equal the original's exactly; only then are the series and its instances recorded, in one
   transaction (series and visits go to the audit trail).

Idempotent by SOPInstanceUID: de-identified UIDs are a keyed hash of the original, so an
instance already recorded with its file present is skipped. Crash-safe: a run killed at any
point leaves complete files (perhaps not yet recorded) and stale temporary files; the next
run removes the temporary files, rewrites the unrecorded instances (same bytes) and records
them, so every instance ends up present once. One ingest runs at a time per study (a lock
file).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from sqlalchemy import Connection, select

from petdx.dicom import (
    DeidentificationSettings,
    SeriesEntry,
    SeriesKind,
    deidentify_dataset,
    deidentify_uid,
    index_dicom_files,
    index_dicom_folder,
    read_series_volume,
)
from petdx.errors import InputValidationError, PetdxError
from petdx.fileio import atomic_output
from petdx.study.config import StudyFolder
from petdx.study.database import StudyDatabase
from petdx.study.records import Author, get_record, insert_record, update_record
from petdx.study.schema import exchange_table, instances, patient_identity
from petdx.suv import compute_suv
from petdx.suv.inputs import suv_inputs_from_frames
from petdx.suv.timing import earliest_acquisition

__all__ = ["IngestProblem", "IngestResult", "IngestedSeries", "ingest"]

ProgressCallback = Callable[[int, int], None]
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

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class IngestProblem:
    """A series or file that was not ingested. ``source`` is the original series UID (or a
    file); ``folder`` where it was found (shown to the user, not written to logs)."""

    source: str
    folder: str
    message: str

    def __str__(self) -> str:
        return f"{self.source} in {self.folder}: {self.message}"

    def to_dict(self, *, with_folder: bool = True) -> dict[str, Any]:
        out = {"source": self.source, "message": self.message}
        if with_folder:
            out["folder"] = self.folder
        return out


@dataclass(frozen=True)
class IngestResult:
    """What an ingest run stored and refused."""

    series: tuple[IngestedSeries, ...]
    problems: tuple[IngestProblem, ...]
    n_skipped_series: int = 0

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
        return text


@dataclass
class _Context:
    study: StudyFolder
    database: StudyDatabase
    author: Author
    root: Path
    secret: bytes
    identities: dict[tuple[str, str], str]
    patients: set[str]
    scans_by_pet: dict[str, dict[str, Any]]
    scans_by_ct: dict[str, dict[str, Any]]
    pet_visits: dict[tuple[str, str], tuple[str | None, str | None, int | None]] = field(
        default_factory=dict
    )


@contextmanager
def _study_lock(study: StudyFolder) -> Iterator[None]:
    path = study.root / ".ingest.lock"
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputValidationError(
                f"{study.root}: another petdx ingest is running on this study; wait for it."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_stale_temporaries(images: Path) -> int:
    removed = 0
    for path in images.rglob(".*.dcm"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def _load_context(
    study: StudyFolder, database: StudyDatabase, author: Author, root: Path
) -> _Context:
    scans = exchange_table("scans")
    patients = exchange_table("patients")
    with database.engine.connect() as connection:
        identities = {
            (str(row.issuer or ""), str(row.hospital_id)): str(row.patient_id)
            for row in connection.execute(select(patient_identity))
        }
        known = {str(p) for p in connection.execute(select(patients.c.patient_id)).scalars()}
        scan_rows = [dict(r) for r in connection.execute(select(scans)).mappings()]
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


def _plan_pet(ctx: _Context, entry: SeriesEntry, patient_id: str) -> _SeriesPlan:
    image = read_series_volume(entry)
    try:
        result = compute_suv(image)
    except PetdxError as exc:  # stored all the same, with the reason SUV is unavailable
        scan = ctx.scans_by_pet.get(entry.series_instance_uid)
        return _SeriesPlan(
            entry,
            patient_id,
            None if scan is None else str(scan["tracer"]),
            None if scan is None else int(scan["time_point_min"]),
            None,
            None if scan is None else str(scan["scan_id"]),
            None,
            {"suv_error": str(exc)},
        )
    inputs = suv_inputs_from_frames(list(image.frames), entry.label())
    start = earliest_acquisition(inputs)
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
        "_factors": np.asarray(result.factors),
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
    visit_id, tracer, time_point = ctx.pet_visits.get(key, (None, None, None))
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


def _write_copies(
    ctx: _Context, plan: _SeriesPlan, progress: Callable[[], None]
) -> tuple[str, str, Path, list[dict[str, Any]], int]:
    settings = DeidentificationSettings(ctx.secret, plan.patient_id)
    entry = plan.entry
    study_uid = deidentify_uid(ctx.secret, entry.study_instance_uid)
    series_uid = deidentify_uid(ctx.secret, entry.series_instance_uid)
    folder = ctx.study.images / plan.patient_id / study_uid / f"{entry.kind.value}_{series_uid}"
    with ctx.database.engine.connect() as connection:
        recorded = {
            str(row.sop_instance_uid): str(row.sha256)
            for row in connection.execute(
                select(instances.c.sop_instance_uid, instances.c.sha256).where(
                    instances.c.series_uid == series_uid
                )
            )
        }
    rows: list[dict[str, Any]] = []
    written = 0
    for instance in entry.instances:
        sop_uid = deidentify_uid(ctx.secret, instance.sop_instance_uid)
        target = folder / f"{sop_uid}.dcm"
        if sop_uid in recorded and target.exists():
            progress()
            continue
        dataset = pydicom.dcmread(instance.path)
        deidentify_dataset(dataset, settings)
        with atomic_output(target) as tmp:
            dataset.save_as(tmp, enforce_file_format=True)
            data = tmp.read_bytes()
            with tmp.open("rb+") as handle:
                os.fsync(handle.fileno())
        rows.append(
            {
                "sop_instance_uid": sop_uid,
                "series_uid": series_uid,
                "path": str(target.relative_to(ctx.study.root)),
                "sha256": hashlib.sha256(data).hexdigest(),
                "_new": sop_uid not in recorded,
            }
        )
        written += 1
        progress()
    return study_uid, series_uid, folder, rows, written


def _check_suv_unchanged(plan: _SeriesPlan, folder: Path) -> None:
    if "_factors" not in plan.suv:
        return
    copies = [p for p in sorted(folder.glob("*.dcm")) if not p.name.startswith(".")]
    index = index_dicom_files(copies)
    entry = index.of_kind(SeriesKind.PT)[0]
    after = np.asarray(compute_suv(read_series_volume(entry)).factors)
    if after.shape != plan.suv["_factors"].shape or not np.array_equal(after, plan.suv["_factors"]):
        raise PetdxError(
            "the SUV factors of the de-identified copy differ from the original's; the copy "
            "was not recorded. This is a bug in petdx's de-identification; please report it."
        )


def _record(
    connection: Connection,
    ctx: _Context,
    plan: _SeriesPlan,
    study_uid: str,
    series_uid: str,
    folder: Path,
    rows: list[dict[str, Any]],
) -> None:
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
        "folder": str(folder.relative_to(ctx.study.root)),
        **{k: v for k, v in plan.suv.items() if not k.startswith("_")},
    }
    stored = get_record(connection, "series", values)
    if stored is None:
        insert_record(connection, "series", values, author=author)
    else:
        merged = {**values, "n_instances": max(int(stored["n_instances"]), values["n_instances"])}
        update_record(connection, "series", values, merged, author=author)
    new_rows = [{k: v for k, v in r.items() if k != "_new"} for r in rows if r["_new"]]
    if new_rows:
        connection.execute(instances.insert(), new_rows)
    for r in rows:
        if not r["_new"]:
            connection.execute(
                instances.update()
                .where(instances.c.sop_instance_uid == r["sop_instance_uid"])
                .values(path=r["path"], sha256=r["sha256"])
            )


def ingest(
    study: StudyFolder,
    database: StudyDatabase,
    path: str | os.PathLike[str],
    *,
    author: Author,
    progress: ProgressCallback | None = None,
) -> IngestResult:
    """Ingest every PET and CT series under ``path`` into ``study`` (see the module docstring).

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
    root = Path(path)
    with _study_lock(study):
        _remove_stale_temporaries(study.images)
        index = index_dicom_folder(root)
        ctx = _load_context(study, database, author, root)
        pet = index.of_kind(SeriesKind.PT)
        ct = index.of_kind(SeriesKind.CT)
        total = sum(len(e.instances) for e in pet + ct)
        done = 0

        def tick() -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(done, total)

        stored: list[IngestedSeries] = []
        problems = [
            IngestProblem(str(p.path.name), str(p.path.parent), p.message) for p in index.unreadable
        ]
        for entry in pet + ct:
            where = _relative(entry.folder, root)
            patient_id = _pseudonym(ctx, entry.first_header)
            if patient_id is None:
                problems.append(
                    IngestProblem(
                        entry.series_instance_uid,
                        where,
                        f"{entry.kind.value} series: its PatientID is neither in the identity "
                        "table nor a study pseudonym. Import the mapping with `petdx import "
                        "STUDY patient_identity FILE.csv` (columns patient_id, hospital_id, "
                        "issuer) and ingest again.",
                    )
                )
                for _ in entry.instances:
                    tick()
                continue
            try:
                plan = (
                    _plan_pet(ctx, entry, patient_id)
                    if entry.kind is SeriesKind.PT
                    else _plan_ct(ctx, entry, patient_id)
                )
                study_uid, series_uid, folder, rows, written = _write_copies(ctx, plan, tick)
                _check_suv_unchanged(plan, folder)
                with database.begin() as connection:
                    _record(connection, ctx, plan, study_uid, series_uid, folder, rows)
            except PetdxError as exc:
                problems.append(IngestProblem(entry.series_instance_uid, where, str(exc)))
                continue
            stored.append(
                IngestedSeries(
                    series_uid=series_uid,
                    patient_id=patient_id,
                    modality=entry.kind.value,
                    tracer=plan.tracer,
                    time_point_min=plan.time_point_min,
                    n_instances=len(entry.instances),
                    n_written=written,
                    folder=str(folder.relative_to(study.root)),
                )
            )
        skipped = len(index.series) - len(pet) - len(ct)
    return IngestResult(tuple(stored), tuple(problems), skipped)


def _relative(folder: Path, root: Path) -> str:
    try:
        return str(folder.resolve().relative_to(root.resolve())) or "."
    except ValueError:
        return str(folder)
