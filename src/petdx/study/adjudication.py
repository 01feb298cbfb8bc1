"""Two readers and adjudication, the primary read, and the multi-reader table (issue 14).

* :func:`create_tasks`: once every reader of the study has locked a read session, each
  case read by two or more readers is compared: a patient-level call that differs, or a
  lesion one reader calls positive (confirmed with score ``>= visual_score_at_least``) and
  another does not, becomes one adjudication task for ``[reading] adjudicator``. Tasks have
  stable ids, so running it again adds none twice. The adjudicator reads the task's case
  (the images and the candidates, not the other readers' reads) and gives a score and call
  (:func:`submit_adjudication`), stored in ``adjudications``, apart from ``reads``; a change
  is a new version with a reason.
* :func:`primary_reads`: the reads the analyses use as the visual index test when
  ``[reading] primary_read`` is ``"consensus"`` (per lesion or patient, tracer and time
  point, the median of the readers' scores, rounded up) or ``"adjudicated"`` (the first
  reader's reads, with the adjudicator's score wherever a task was adjudicated).
* :func:`mrmc_rows`: the long table multi-reader multi-case software reads (reader, case,
  tracer, time point, rating, truth), truth from the reference standard. Statistician-side:
  it reads the reference standard, so no reader route calls it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from petdx.errors import Hint, InputValidationError
from petdx.study.config import StudyConfig
from petdx.study.forms import AccessRefused
from petdx.study.reading import study_readers, utc_text
from petdx.study.reading_reads import CALLS
from petdx.study.records import Author, insert_record
from petdx.study.schema import (
    adjudication_tasks,
    adjudications,
    exchange_table,
    reader_reads,
    reading_cases,
    reading_opens,
    reading_session_locks,
)

__all__ = [
    "MRMC_COLUMNS",
    "AdjudicationTask",
    "adjudication_task",
    "adjudication_tasks_of",
    "create_tasks",
    "mrmc_rows",
    "primary_reads",
    "submit_adjudication",
]

MRMC_COLUMNS = ("reader", "case", "tracer", "time_point_min", "rating", "truth")


@dataclass(frozen=True)
class AdjudicationTask:
    task_id: str
    session: int
    patient_id: str
    tracer: str
    time_points_min: tuple[int, ...]
    lesion_id: str | None  # None: the patient-level call
    score: int | None  # the adjudicator's current result, None while open
    call: str | None
    version: int | None

    @property
    def what(self) -> str:
        return "the patient-level call" if self.lesion_id is None else f"lesion {self.lesion_id}"


def _current_reads(
    connection: Connection, readers: Sequence[str], session: int
) -> dict[tuple[str, str, str], dict[str, dict[str, Any]]]:
    """case key -> reader -> {"patient_call", "positive": {lesion: bool}} (current version)."""
    latest = (
        select(reader_reads.c.case_id, func.max(reader_reads.c.version).label("v"))
        .group_by(reader_reads.c.case_id)
        .subquery()
    )
    rows = connection.execute(
        select(
            reading_cases.c.reader_id,
            reading_cases.c.patient_id,
            reading_cases.c.tracer,
            reading_cases.c.time_points,
            reader_reads.c.patient_call,
            reader_reads.c.lesions,
        )
        .join(reader_reads, reader_reads.c.case_id == reading_cases.c.case_id)
        .join(
            latest,
            (latest.c.case_id == reader_reads.c.case_id) & (latest.c.v == reader_reads.c.version),
        )
        .where(reading_cases.c.session == session, reading_cases.c.reader_id.in_(list(readers)))
    ).all()
    out: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
    for reader, patient, tracer, points, call, lesions in rows:
        out.setdefault((str(patient), str(tracer), str(points)), {})[str(reader)] = {
            "call": str(call),
            "lesions": {str(item["lesion_id"]): item for item in json.loads(lesions)},
        }
    return out


def _task_id(session: int, patient: str, tracer: str, points: str, lesion: str | None) -> str:
    text = f"{session}|{patient}|{tracer}|{points}|{lesion or ''}"
    return "t" + hashlib.sha256(text.encode()).hexdigest()[:23]


def create_tasks(
    connection: Connection, config: StudyConfig, session: int, *, now: datetime
) -> list[str]:
    """Adjudication tasks of ``session``'s discordant calls, once every reader locked it
    (returns the ids of the tasks added; none without an adjudicator or a second reader)."""
    adjudicator = config.reading.adjudicator
    readers = study_readers(connection, config)
    if adjudicator is None or len(readers) < 2:
        return []
    locked = set(
        connection.execute(
            select(reading_session_locks.c.reader_id).where(
                reading_session_locks.c.session == session
            )
        ).scalars()
    )
    if not set(readers) <= locked:
        return []
    k = config.visual_score_at_least
    added = []
    for (patient, tracer, points), by_reader in sorted(
        _current_reads(connection, readers, session).items()
    ):
        if len(by_reader) < 2:
            continue
        discordant: list[str | None] = []
        if len({r["call"] for r in by_reader.values()}) > 1:
            discordant.append(None)
        lesions = sorted({lesion for r in by_reader.values() for lesion in r["lesions"]})
        for lesion in lesions:
            calls = set()
            for read in by_reader.values():
                item = read["lesions"].get(lesion)
                calls.add(bool(item and item["confirmed"] and (item["score"] or 0) >= k))
            if len(calls) > 1:
                discordant.append(lesion)
        for lesion in discordant:
            task_id = _task_id(session, patient, tracer, points, lesion)
            exists = connection.execute(
                select(adjudication_tasks.c.task_id).where(adjudication_tasks.c.task_id == task_id)
            ).first()
            if exists is not None:
                continue
            insert_record(
                connection,
                "adjudication_tasks",
                {
                    "task_id": task_id,
                    "session": session,
                    "adjudicator": adjudicator,
                    "patient_id": patient,
                    "tracer": tracer,
                    "time_points": points,
                    "lesion_id": lesion,
                    "created_utc": utc_text(now),
                },
                author=Author("petdx", f"discordant reads of read session {session}"),
            )
            added.append(task_id)
    return added


def _results(connection: Connection) -> dict[str, dict[str, Any]]:
    """task id -> its current adjudication (highest version)."""
    out: dict[str, dict[str, Any]] = {}
    for row in connection.execute(
        select(adjudications).order_by(adjudications.c.version)
    ).mappings():
        out[str(row["task_id"])] = dict(row)
    return out


def _task(row: Any, result: dict[str, Any] | None) -> AdjudicationTask:
    return AdjudicationTask(
        str(row["task_id"]),
        int(row["session"]),
        str(row["patient_id"]),
        str(row["tracer"]),
        tuple(int(t) for t in str(row["time_points"]).split(",") if t),
        row["lesion_id"],
        None if result is None else int(result["score"]),
        None if result is None else str(result["call"]),
        None if result is None else int(result["version"]),
    )


def adjudication_tasks_of(connection: Connection, adjudicator: str) -> list[AdjudicationTask]:
    """The adjudicator's tasks, in a stable order (by task id: opaque, not by patient)."""
    results = _results(connection)
    rows = connection.execute(
        select(adjudication_tasks)
        .where(adjudication_tasks.c.adjudicator == adjudicator)
        .order_by(adjudication_tasks.c.task_id)
    ).mappings()
    return [_task(r, results.get(str(r["task_id"]))) for r in rows]


def adjudication_task(connection: Connection, adjudicator: str, task_id: str) -> AdjudicationTask:
    row = (
        connection.execute(
            select(adjudication_tasks).where(adjudication_tasks.c.task_id == task_id)
        )
        .mappings()
        .first()
    )
    if row is None or row["adjudicator"] != adjudicator:
        raise AccessRefused(f"Task {task_id} is not in your worklist.")
    return _task(row, _results(connection).get(task_id))


def submit_adjudication(
    connection: Connection,
    adjudicator: str,
    task_id: str,
    *,
    score: int,
    call: str,
    reason: str | None,
    now: datetime,
) -> AdjudicationTask:
    """Store the adjudicator's score and call for the task (a new version; a change needs a
    reason)."""
    task = adjudication_task(connection, adjudicator, task_id)
    if score not in range(1, 6):
        raise InputValidationError(
            f"task {task_id}: score {score} is not 1-5.", hint=Hint("patient_score")
        )
    if call not in CALLS:
        raise InputValidationError(
            f"task {task_id}: call '{call}' is not one of {', '.join(CALLS)}.",
            hint=Hint("patient_call"),
        )
    reason = (reason or "").strip() or None
    if task.version is not None and reason is None:
        raise InputValidationError(
            f"task {task_id}: adjudicated before (version {task.version}); a change needs a "
            "reason.",
            hint=Hint("reason"),
        )
    last = connection.execute(
        select(func.max(adjudications.c.submitted_utc)).where(adjudications.c.task_id == task_id)
    ).scalar()
    query = select(func.min(reading_opens.c.opened_utc)).where(reading_opens.c.case_id == task_id)
    if last is not None:
        query = query.where(reading_opens.c.opened_utc > last)
    opened = connection.execute(query).scalar()
    seconds = (
        None if opened is None else max(0.0, (now - datetime.fromisoformat(opened)).total_seconds())
    )
    version = (task.version or 0) + 1
    insert_record(
        connection,
        "adjudications",
        {
            "task_id": task_id,
            "version": version,
            "adjudicator": adjudicator,
            "reason": reason,
            "opened_utc": opened,
            "submitted_utc": utc_text(now),
            "seconds": seconds,
            "score": score,
            "call": call,
        },
        author=Author(adjudicator, reason or "adjudicated"),
    )
    return adjudication_task(connection, adjudicator, task_id)


def _reads(connection: Connection) -> list[dict[str, Any]]:
    table = exchange_table("reads")
    return [
        {k: v for k, v in row.items() if k != "record_key"}
        for row in connection.execute(select(table)).mappings()
    ]


def primary_reads(connection: Connection, config: StudyConfig) -> tuple[str, list[dict[str, Any]]]:
    """(label, reads rows) of ``[reading] primary_read`` ``"consensus"`` or
    ``"adjudicated"``; the rows have the ``reads`` columns with ``reader_id`` = the label."""
    kind = config.reading.primary_read
    if kind not in ("consensus", "adjudicated"):
        raise InputValidationError(f"primary_read '{kind}' is a reader's own reads.")
    reads = _reads(connection)
    readers = config.reading.readers or tuple(sorted({str(r["reader_id"]) for r in reads}))
    readers = tuple(r for r in readers if r != config.reading.adjudicator)
    grouped: dict[tuple[Any, ...], dict[str, dict[str, Any]]] = {}
    for row in reads:
        if row["reader_id"] in readers:
            key = (row["patient_id"], row["lesion_id"], row["tracer"], row["time_point_min"])
            grouped.setdefault(key, {})[str(row["reader_id"])] = row
    out = []
    if kind == "consensus":
        for key, by_reader in sorted(grouped.items(), key=lambda kv: str(kv[0])):
            scores = sorted(int(r["score"]) for r in by_reader.values())
            n = len(scores)
            median = (scores[(n - 1) // 2] + scores[n // 2]) / 2
            out.append(_row(kind, key, math.ceil(median)))
        return kind, out
    adjudicated: dict[tuple[Any, ...], int] = {}
    results = _results(connection)
    for task in connection.execute(select(adjudication_tasks)).mappings():
        result = results.get(str(task["task_id"]))
        if result is None:
            continue
        for point in str(task["time_points"]).split(","):
            key = (task["patient_id"], task["lesion_id"], task["tracer"], int(point))
            adjudicated[key] = int(result["score"])
    first = readers[0] if readers else None
    for key, by_reader in sorted(grouped.items(), key=lambda kv: str(kv[0])):
        if key in adjudicated:
            out.append(_row(kind, key, adjudicated[key]))
        elif first in by_reader:
            out.append(_row(kind, key, int(by_reader[first]["score"])))
    return kind, out


def _row(label: str, key: tuple[Any, ...], score: int) -> dict[str, Any]:
    patient, lesion, tracer, point = key
    return {
        "reader_id": label,
        "patient_id": patient,
        "lesion_id": lesion,
        "tracer": tracer,
        "time_point_min": point,
        "score": score,
    }


def mrmc_rows(connection: Connection, *, level: str = "lesion") -> tuple[list[dict[str, Any]], int]:
    """The long multi-reader table: one row per reader, case (lesion or patient), tracer and
    time point: the reader's score (rating) and the truth (1 malignant, 0 benign, by the
    reference standard; a patient is malignant when any of their lesions is). Returns the
    rows and the number of reads left out for want of a reference standard."""
    if level not in ("lesion", "patient"):
        raise InputValidationError(f"level '{level}' is not lesion or patient.")
    reference = exchange_table("reference_standard")
    registry = exchange_table("lesion_registry")
    outcome: dict[str, int] = {
        str(lesion): int(result == "malignant")
        for lesion, result in connection.execute(select(reference.c.lesion_id, reference.c.outcome))
    }
    patients: dict[str, int] = {}
    for lesion, patient in connection.execute(select(registry.c.lesion_id, registry.c.patient_id)):
        if str(lesion) in outcome:
            patients[str(patient)] = max(patients.get(str(patient), 0), outcome[str(lesion)])
    rows, left_out = [], 0
    for read in _reads(connection):
        lesion = read["lesion_id"]
        if (level == "lesion") != (lesion is not None):
            continue
        case = str(lesion) if level == "lesion" else str(read["patient_id"])
        truth = outcome.get(case) if level == "lesion" else patients.get(case)
        if truth is None:
            left_out += 1
            continue
        rows.append(
            {
                "reader": read["reader_id"],
                "case": case,
                "tracer": read["tracer"],
                "time_point_min": read["time_point_min"],
                "rating": read["score"],
                "truth": truth,
            }
        )
    rows.sort(key=lambda r: (r["tracer"], r["time_point_min"], r["reader"], r["case"]))
    return rows, left_out
