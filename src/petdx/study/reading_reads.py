"""Reads at the reader workstation: submitting a read and its later versions, reading
times, and locking a read session (issue 14; the worklist and cases:
:mod:`petdx.study.reading`).

A submitted read is never changed in place: a change is a new version with a reason;
every version is kept (``reader_reads``) and the current one is written into the study's
``reads`` table (one row per time point of the case and lesion, and the patient-level row),
exactly the rows ``petdx import`` would store, so the analyses use them as imported reads.
A rejected candidate is stored as score 1, call negative; a confirmed one with its score and
the call the study's positivity rule gives (``score >= visual_score_at_least``).

Reading time is server-side: from the first opening of the case after the previous version
to the submission. Per lesion, the browser's interaction intervals are kept only when each
is finite and non-negative and they add up to no more than the case's own time (+2 s).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from petdx.data_dictionary import LESION_SITES
from petdx.errors import Hint, InputValidationError
from petdx.study.config import StudyConfig
from petdx.study.forms import AccessRefused
from petdx.study.reading import (
    Candidate,
    ReaderCase,
    case_candidates,
    parse_utc,
    reader_case,
    utc_text,
    worklist,
)
from petdx.study.records import Author, insert_record, sync_records
from petdx.study.schema import reader_reads, reading_opens

__all__ = [
    "CALLS",
    "LesionRead",
    "ReadSubmission",
    "ReadVersion",
    "lock_session",
    "opened_since",
    "read_rows",
    "read_versions",
    "record_open",
    "submit_read",
]

#: The patient-level calls a reader gives.
CALLS = ("positive", "negative", "indeterminate")
#: Slack (s) allowed between the browser's per-lesion times and the server's case time.
_SLACK_S = 2.0


@dataclass(frozen=True)
class LesionRead:
    lesion_id: str
    confirmed: bool
    score: int | None  # 1-5 when confirmed; a rejected candidate is stored as score 1
    site: str | None
    seconds: float | None = None


@dataclass(frozen=True)
class ReadSubmission:
    """What a reader submits for a case."""

    patient_score: int
    patient_call: str
    lesions: tuple[LesionRead, ...]
    reason: str | None = None


@dataclass(frozen=True)
class ReadVersion:
    version: int
    reason: str | None
    opened_utc: str | None
    submitted_utc: str
    seconds: float | None
    patient_score: int
    patient_call: str
    lesions: tuple[LesionRead, ...]


def record_open(connection: Connection, reader_id: str, case_id: str, *, now: datetime) -> None:
    """Note (server time) that the reader opened the case, unless an opening since the
    current version's submission is already noted."""
    last_open = connection.execute(
        select(func.max(reading_opens.c.opened_utc)).where(reading_opens.c.case_id == case_id)
    ).scalar()
    last_submit = connection.execute(
        select(func.max(reader_reads.c.submitted_utc)).where(reader_reads.c.case_id == case_id)
    ).scalar()
    if last_open is not None and (last_submit is None or last_open > last_submit):
        return
    count = connection.execute(
        select(func.count()).select_from(reading_opens).where(reading_opens.c.case_id == case_id)
    ).scalar_one()
    insert_record(
        connection,
        "reading_opens",
        {
            "open_id": f"{case_id}:{count + 1}",
            "case_id": case_id,
            "reader_id": reader_id,
            "opened_utc": utc_text(now),
        },
        author=Author(reader_id, "case opened"),
    )


def opened_since(connection: Connection, case_id: str) -> str | None:
    last_submit = connection.execute(
        select(func.max(reader_reads.c.submitted_utc)).where(reader_reads.c.case_id == case_id)
    ).scalar()
    query = select(func.min(reading_opens.c.opened_utc)).where(reading_opens.c.case_id == case_id)
    if last_submit is not None:
        query = query.where(reading_opens.c.opened_utc > last_submit)
    value = connection.execute(query).scalar()
    return None if value is None else str(value)


def _lesions_json(lesions: Sequence[LesionRead]) -> str:
    return json.dumps(
        [
            {
                "lesion_id": r.lesion_id,
                "confirmed": r.confirmed,
                "score": r.score,
                "site": r.site,
                "seconds": r.seconds,
            }
            for r in lesions
        ],
        sort_keys=True,
    )


def read_versions(connection: Connection, reader_id: str, case_id: str) -> list[ReadVersion]:
    """Every version of the reader's read of the case, oldest first (the last is current)."""
    rows = connection.execute(
        select(reader_reads)
        .where(reader_reads.c.case_id == case_id, reader_reads.c.reader_id == reader_id)
        .order_by(reader_reads.c.version)
    ).mappings()
    return [
        ReadVersion(
            int(r["version"]),
            r["reason"],
            r["opened_utc"],
            str(r["submitted_utc"]),
            r["seconds"],
            int(r["patient_score"]),
            str(r["patient_call"]),
            tuple(LesionRead(**item) for item in json.loads(r["lesions"])),
        )
        for r in rows
    ]


def _problem(message: str, field: str) -> InputValidationError:
    return InputValidationError(message, hint=Hint(field))


def _check_submission(
    submission: ReadSubmission, candidates: Sequence[Candidate], case_id: str
) -> None:
    where = f"case {case_id}"
    if submission.patient_score not in range(1, 6):
        raise _problem(
            f"{where}: patient-level score {submission.patient_score} is not 1-5; give the "
            "confidence of malignancy from 1 (definitely benign) to 5 (definitely malignant).",
            "patient_score",
        )
    if submission.patient_call not in CALLS:
        raise _problem(
            f"{where}: patient-level call '{submission.patient_call}' is not one of "
            f"{', '.join(CALLS)}.",
            "patient_call",
        )
    known = {c.lesion_id for c in candidates}
    given = [r.lesion_id for r in submission.lesions]
    unknown = sorted(set(given) - known)
    if unknown or len(set(given)) != len(given):
        raise _problem(
            f"{where}: lesion {', '.join(unknown) or 'given twice'} is not a candidate of this "
            "case once; read the case's candidates only.",
            "lesions",
        )
    missing = sorted(known - set(given))
    if missing:
        raise _problem(
            f"{where}: candidate {', '.join(missing)} is neither confirmed nor rejected; "
            "decide every candidate before submitting.",
            f"decision_{missing[0]}",
        )
    for read in submission.lesions:
        if read.confirmed and read.score not in range(1, 6):
            raise _problem(
                f"{where}: lesion {read.lesion_id} is confirmed without a score 1-5; score it.",
                f"score_{read.lesion_id}",
            )
        if read.confirmed and read.site not in LESION_SITES:
            raise _problem(
                f"{where}: lesion {read.lesion_id}: site '{read.site}' is not one of "
                f"{', '.join(LESION_SITES)}.",
                f"site_{read.lesion_id}",
            )


def _lesion_seconds(
    lesions: Sequence[LesionRead], case_seconds: float | None
) -> tuple[LesionRead, ...]:
    """The browser's per-lesion times, kept only when plausible (else all None)."""
    times = [r.seconds for r in lesions]
    valid = (
        case_seconds is not None
        and all(t is not None and math.isfinite(t) and t >= 0 for t in times)
        and sum(t or 0.0 for t in times) <= case_seconds + _SLACK_S
    )
    return tuple(
        LesionRead(
            r.lesion_id,
            r.confirmed,
            r.score if r.confirmed else 1,
            r.site,
            r.seconds if valid else None,
        )
        for r in lesions
    )


def read_rows(
    config: StudyConfig,
    reader_id: str,
    case: ReaderCase,
    submission: ReadSubmission,
    when: datetime,
) -> list[dict[str, Any]]:
    """The ``reads`` rows of a read: per time point of the case, each lesion and the
    patient (what ``petdx import`` of the same reads stores)."""
    k = config.visual_score_at_least
    stamp = when.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    rows = []
    for point in case.time_points_min:
        base = {
            "reader_id": reader_id,
            "patient_id": case.patient_id,
            "tracer": case.tracer,
            "time_point_min": point,
            "read_datetime": stamp,
        }
        for read in submission.lesions:
            score = int(read.score) if read.confirmed and read.score else 1
            call = "positive" if read.confirmed and score >= k else "negative"
            rows.append({**base, "lesion_id": read.lesion_id, "score": score, "call": call})
        rows.append(
            {
                **base,
                "lesion_id": None,
                "score": submission.patient_score,
                "call": submission.patient_call,
            }
        )
    return rows


def submit_read(
    connection: Connection,
    config: StudyConfig,
    reader_id: str,
    case_id: str,
    submission: ReadSubmission,
    *,
    now: datetime,
) -> ReadVersion:
    """Store a read of the case as its next version and write it into ``reads``.

    Raises
    ------
    InputValidationError
        A score, call or decision is missing or out of range, or a change without a reason
        (the message names the field; ``hint`` the form field).
    AccessRefused, CaseNotFound
        As :func:`reader_case`.
    """
    case = reader_case(connection, reader_id, case_id)
    if case_id.startswith("t"):
        raise AccessRefused(f"Case {case_id} is an adjudication task; submit the adjudication.")
    candidates = case_candidates(connection, reader_id, case)
    _check_submission(submission, candidates, case_id)
    versions = read_versions(connection, reader_id, case_id)
    reason = (submission.reason or "").strip() or None
    if versions and reason is None:
        raise _problem(
            f"case {case_id}: the read was submitted before (version {versions[-1].version}); "
            "a change is a new version and needs a reason.",
            "reason",
        )
    opened = opened_since(connection, case_id)
    seconds = None if opened is None else max(0.0, (now - parse_utc(opened)).total_seconds())
    lesions = _lesion_seconds(submission.lesions, seconds)
    version = (versions[-1].version if versions else 0) + 1
    author = Author(reader_id, reason or "read submitted at the reader workstation")
    insert_record(
        connection,
        "reader_reads",
        {
            "read_id": f"{case_id}:v{version}",
            "case_id": case_id,
            "reader_id": reader_id,
            "version": version,
            "reason": reason,
            "opened_utc": opened,
            "submitted_utc": utc_text(now),
            "seconds": seconds,
            "patient_score": submission.patient_score,
            "patient_call": submission.patient_call,
            "lesions": _lesions_json(lesions),
        },
        author=author,
    )
    rows = read_rows(config, reader_id, case, submission, now)
    for point in case.time_points_min:
        scope = {
            "reader_id": reader_id,
            "patient_id": case.patient_id,
            "tracer": case.tracer,
            "time_point_min": point,
        }
        sync_records(
            connection,
            "reads",
            scope,
            [r for r in rows if r["time_point_min"] == point],
            author=author,
        )
    return read_versions(connection, reader_id, case_id)[-1]


def lock_session(
    connection: Connection, config: StudyConfig, reader_id: str, *, now: datetime
) -> int:
    """Lock the reader's open session (every case read); returns its number. When every
    reader has locked the session, its discordant calls become adjudication tasks
    (:func:`petdx.study.adjudication.create_tasks`)."""
    from petdx.study.adjudication import create_tasks

    listed = worklist(connection, config, reader_id, now=now)
    session = listed.state.session
    if session is None or not listed.state.is_open:
        raise InputValidationError(f"{reader_id}: no open read session to lock.")
    if not listed.entries:
        raise InputValidationError(
            f"read session {session} has no cases (no PET series stored when its worklist "
            "was drawn); nothing to lock."
        )
    unread = [e.position for e in listed.entries if e.current_version is None]
    if unread:
        raise _problem(
            f"read session {session}: {len(unread)} case(s) not read yet (worklist place "
            f"{', '.join(str(p) for p in unread[:10])}); read every case before locking.",
            "session",
        )
    insert_record(
        connection,
        "reading_session_locks",
        {"reader_id": reader_id, "session": session, "locked_utc": utc_text(now)},
        author=Author(reader_id, f"read session {session} locked"),
    )
    create_tasks(connection, config, session, now=now)
    return session
