"""The blinded reader's workstation: worklists, cases, reads and read sessions (issue 14).

A reader (an account of role ``reader``; ``reader_id`` = the account's name) reads the
study's cases in a seeded random order of their own, one session at a time:

* **Cases** (:func:`case_contents`): a case is one patient's PET scans of one tracer, the
  time points read together (``[reading] time_points = "together"``, default) or one case
  per time point (``"apart"``). The comparator tracer (FDG) is read in its own session 2
  (``comparator_session``, default) or with the index tracer in session 1.
* **Worklist** (:func:`worklist`): drawn on the reader's first visit of a session: a random
  seed, the permutation of the session's cases it gives, and an opaque case id per case
  (a keyed hash of the seed and the case); all stored through the audited writes of
  :mod:`petdx.study.records`, so the seed and the ordered case ids are in the audit trail
  and the order is the same at every later visit. A permutation already given to another
  reader (or to this reader in another session) of the same cases is drawn again, so orders
  differ whenever the number of cases allows.
* **Sessions**: session 2 opens ``washout_days`` after the reader locked session 1
  (:func:`petdx.study.reading_reads.lock_session`, once every case is read); a locked
  session takes no change and its reads are not shown again (only the open session's cases
  open, :func:`reader_case`).
* **Reads**, their versions and reading times: :mod:`petdx.study.reading_reads`.

What a reader sees goes through :class:`petdx.study.blinding.ReaderView` (series and
lesion registry columns a reader may see) and the workstation's own tables, filtered by
``reader_id``; nothing here reads a table of
:data:`~petdx.study.blinding.FORBIDDEN_TABLES`. Discordant calls and adjudication:
:mod:`petdx.study.adjudication`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, func, select

from petdx.errors import PetdxError
from petdx.study.blinding import ReaderView
from petdx.study.config import StudyConfig
from petdx.study.forms import AccessRefused
from petdx.study.records import Author, insert_record
from petdx.study.roles import Role
from petdx.study.schema import (
    accounts,
    adjudication_tasks,
    reader_reads,
    reading_cases,
    reading_session_locks,
    reading_worklists,
)

__all__ = [
    "AccessRefused",
    "Candidate",
    "CaseContent",
    "CaseNotFound",
    "ReaderCase",
    "SessionState",
    "Worklist",
    "WorklistEntry",
    "case_candidates",
    "case_contents",
    "current_versions",
    "n_sessions",
    "parse_utc",
    "reader_case",
    "session_state",
    "study_readers",
    "utc_text",
    "worklist",
]


class CaseNotFound(PetdxError):
    """No case with this id in the study (the web application answers 404)."""


@dataclass(frozen=True)
class ReaderCase:
    """One case of a reader's worklist (the contract the viewer and VOI pages build on)."""

    case_id: str  # opaque, stable, reveals nothing (keyed hash), used in URLs
    patient_id: str  # the study pseudonym (readers may see it: READER_COLUMNS)
    tracer: str
    time_points_min: tuple[int, ...]  # the time points read together in this case
    pet_series_uids: tuple[str, ...]  # de-identified PET series, one per time point
    anatomy_series_uids: tuple[str, ...]  # the CT or MR under each PET ("" when none)
    session: int


@dataclass(frozen=True)
class CaseContent:
    """What a case is, before it has a reader and an id."""

    patient_id: str
    tracer: str
    time_points_min: tuple[int, ...]
    session: int

    @property
    def key(self) -> str:
        points = ",".join(str(t) for t in self.time_points_min)
        return f"{self.patient_id}|{self.tracer}|{points}"


@dataclass(frozen=True)
class SessionState:
    """A reader's read session: which one, whether it is open, when it opens."""

    session: int | None  # None: every session locked
    n_sessions: int
    is_open: bool
    opens_utc: datetime | None  # the end of the washout, when the session is not open yet
    locked: tuple[int, ...]


@dataclass(frozen=True)
class WorklistEntry:
    position: int
    case: ReaderCase
    current_version: int | None  # None: not read yet


@dataclass(frozen=True)
class Worklist:
    reader_id: str
    state: SessionState
    seed: str | None
    entries: tuple[WorklistEntry, ...]

    @property
    def complete(self) -> bool:
        return bool(self.entries) and all(e.current_version for e in self.entries)


@dataclass(frozen=True)
class Candidate:
    """A lesion candidate shown to the reader (registry columns a reader may see)."""

    lesion_id: str
    site: str
    centre_mm: tuple[float, float, float]


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


def n_sessions(config: StudyConfig) -> int:
    """How many read sessions the study has (2 when the comparator is read apart)."""
    return 2 if config.comparator_tracer and config.reading.comparator_session else 1


def study_readers(connection: Connection, config: StudyConfig) -> tuple[str, ...]:
    """The readers who read every case: ``[reading] readers``, or every enabled reader
    account but the adjudicator (sorted)."""
    if config.reading.readers:
        return config.reading.readers
    names = connection.execute(
        select(accounts.c.name)
        .where(accounts.c.role == Role.READER.value, accounts.c.disabled.is_(False))
        .order_by(accounts.c.name)
    ).scalars()
    return tuple(n for n in names if n != config.reading.adjudicator)


def _series_by_case(
    connection: Connection, reader_id: str
) -> dict[tuple[str, str, int], dict[str, list[str]]]:
    """(patient, tracer, time point) -> {"PT": [uids], "CT": [...], "MR": [...]}."""
    out: dict[tuple[str, str, int], dict[str, list[str]]] = {}
    for row in ReaderView(connection, reader_id).worklist():
        if row["tracer"] is None or row["time_point_min"] is None:
            continue
        key = (str(row["patient_id"]), str(row["tracer"]), int(row["time_point_min"]))
        out.setdefault(key, {}).setdefault(str(row["modality"]), []).append(str(row["series_uid"]))
    return out


def case_contents(connection: Connection, config: StudyConfig, reader_id: str) -> list[CaseContent]:
    """Every case of the study, sorted by session, patient, tracer and time point."""
    pet: dict[tuple[str, str], set[int]] = {}
    for (patient, tracer, point), kinds in _series_by_case(connection, reader_id).items():
        if "PT" in kinds:
            pet.setdefault((patient, tracer), set()).add(point)
    out: list[CaseContent] = []
    apart = n_sessions(config) == 2
    for (patient, tracer), points in sorted(pet.items()):
        session = 2 if apart and tracer == config.comparator_tracer else 1
        groups = (
            [tuple(sorted(points))]
            if config.reading.time_points == "together"
            else [(p,) for p in sorted(points)]
        )
        out.extend(CaseContent(patient, tracer, g, session) for g in groups)
    return sorted(out, key=lambda c: (c.session, c.key))


def _locks(connection: Connection, reader_id: str) -> dict[int, str]:
    rows = connection.execute(
        select(reading_session_locks.c.session, reading_session_locks.c.locked_utc).where(
            reading_session_locks.c.reader_id == reader_id
        )
    )
    return {int(s): str(t) for s, t in rows}


def session_state(
    connection: Connection, config: StudyConfig, reader_id: str, *, now: datetime
) -> SessionState:
    """The reader's current session: the first one not locked, open once the washout after
    the previous one's lock has passed."""
    total = n_sessions(config)
    locks = _locks(connection, reader_id)
    locked = tuple(sorted(locks))
    current = next((s for s in range(1, total + 1) if s not in locks), None)
    if current is None:
        return SessionState(None, total, False, None, locked)
    if current == 1:
        return SessionState(1, total, True, None, locked)
    opens = parse_utc(locks[current - 1]) + timedelta(days=config.reading.washout_days)
    return SessionState(current, total, now >= opens, opens, locked)


def _case_id(seed: str, content: CaseContent) -> str:
    digest = hmac.new(bytes.fromhex(seed), content.key.encode(), hashlib.sha256).hexdigest()
    return "c" + digest[:23]


def _permutation(seed: str, n: int) -> list[int]:
    return [int(i) for i in np.random.default_rng(int(seed, 16)).permutation(n)]


def _orders_given(connection: Connection, reader_id: str, session: int) -> set[tuple[str, ...]]:
    """Orders (as case keys) already given: other readers of the session, this reader's
    other sessions."""
    rows = connection.execute(
        select(
            reading_cases.c.reader_id,
            reading_cases.c.session,
            reading_cases.c.position,
            reading_cases.c.patient_id,
            reading_cases.c.tracer,
            reading_cases.c.time_points,
        ).order_by(reading_cases.c.position)
    ).all()
    lists: dict[tuple[str, int], list[str]] = {}
    for reader, sess, _pos, patient, tracer, points in rows:
        if (reader == reader_id) == (int(sess) == session):
            continue  # this worklist itself, or another reader's other session
        lists.setdefault((reader, int(sess)), []).append(f"{patient}|{tracer}|{points}")
    return {tuple(v) for v in lists.values()}


def _draw(
    connection: Connection, contents: Sequence[CaseContent], reader_id: str, session: int
) -> tuple[str, list[CaseContent]]:
    given = _orders_given(connection, reader_id, session)
    n = len(contents)
    distinct = math.factorial(min(n, 12))
    for _ in range(64):
        seed = secrets.token_hex(16)
        order = [contents[i] for i in _permutation(seed, n)]
        if tuple(c.key for c in order) not in given or len(given) >= distinct:
            return seed, order
    return seed, order


def _stored_worklist(
    connection: Connection, reader_id: str, session: int
) -> tuple[str, list[str]] | None:
    row = connection.execute(
        select(reading_worklists.c.seed, reading_worklists.c.case_ids).where(
            reading_worklists.c.reader_id == reader_id, reading_worklists.c.session == session
        )
    ).first()
    return None if row is None else (str(row[0]), list(json.loads(row[1])))


def _check_reader(connection: Connection, config: StudyConfig, reader_id: str) -> None:
    if reader_id not in study_readers(connection, config):
        raise AccessRefused(
            f"{reader_id} is not one of the study's readers "
            f"({', '.join(study_readers(connection, config)) or 'none'}); ask the study's "
            "administrator to list the account in study.toml [reading] readers."
        )


def worklist(
    connection: Connection, config: StudyConfig, reader_id: str, *, now: datetime
) -> Worklist:
    """The reader's worklist of their current session, drawn and stored on the first visit
    (``connection`` must be able to write then: the web application passes a write
    transaction)."""
    _check_reader(connection, config, reader_id)
    state = session_state(connection, config, reader_id, now=now)
    if state.session is None or not state.is_open:
        return Worklist(reader_id, state, None, ())
    stored = _stored_worklist(connection, reader_id, state.session)
    if stored is None:
        contents = [
            c for c in case_contents(connection, config, reader_id) if c.session == state.session
        ]
        seed, order = _draw(connection, contents, reader_id, state.session)
        author = Author(reader_id, f"worklist of read session {state.session} drawn")
        ids = [_case_id(seed, c) for c in order]
        insert_record(
            connection,
            "reading_worklists",
            {
                "reader_id": reader_id,
                "session": state.session,
                "seed": seed,
                "case_ids": json.dumps(ids),
                "created_utc": utc_text(now),
            },
            author=author,
        )
        for position, (case_id, content) in enumerate(zip(ids, order, strict=True), start=1):
            insert_record(
                connection,
                "reading_cases",
                {
                    "case_id": case_id,
                    "reader_id": reader_id,
                    "session": state.session,
                    "position": position,
                    "patient_id": content.patient_id,
                    "tracer": content.tracer,
                    "time_points": ",".join(str(t) for t in content.time_points_min),
                },
                author=author,
            )
        stored = (seed, ids)
    seed, ids = stored
    versions = current_versions(connection, ids)
    entries = tuple(
        WorklistEntry(i, _build_case(connection, reader_id, case_id), versions.get(case_id))
        for i, case_id in enumerate(ids, start=1)
    )
    return Worklist(reader_id, state, seed, entries)


def current_versions(connection: Connection, case_ids: Sequence[str]) -> dict[str, int]:
    if not case_ids:
        return {}
    rows = connection.execute(
        select(reader_reads.c.case_id, func.max(reader_reads.c.version))
        .where(reader_reads.c.case_id.in_(list(case_ids)))
        .group_by(reader_reads.c.case_id)
    )
    return {str(c): int(v) for c, v in rows}


def _case_row(connection: Connection, case_id: str) -> Mapping[str, Any] | None:
    row = (
        connection.execute(select(reading_cases).where(reading_cases.c.case_id == case_id))
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def _content_case(
    connection: Connection,
    viewer_id: str,
    case_id: str,
    patient_id: str,
    tracer: str,
    points: tuple[int, ...],
    session: int,
) -> ReaderCase:
    series = _series_by_case(connection, viewer_id)
    pet, anatomy = [], []
    for point in points:
        kinds = series.get((patient_id, tracer, point), {})
        pet.append(sorted(kinds.get("PT", [""]))[0])
        anatomy.append(sorted(kinds.get("CT") or kinds.get("MR") or [""])[0])
    return ReaderCase(case_id, patient_id, tracer, points, tuple(pet), tuple(anatomy), session)


def _points(text: str) -> tuple[int, ...]:
    return tuple(int(t) for t in text.split(",") if t)


def _build_case(connection: Connection, reader_id: str, case_id: str) -> ReaderCase:
    row = _case_row(connection, case_id)
    assert row is not None
    return _content_case(
        connection,
        reader_id,
        case_id,
        str(row["patient_id"]),
        str(row["tracer"]),
        _points(str(row["time_points"])),
        int(row["session"]),
    )


def reader_case(connection: Connection, reader_id: str, case_id: str) -> ReaderCase:
    """The case ``case_id`` of ``reader_id``'s worklist of their open session (or, for the
    adjudicator, the case of an adjudication task given to them).

    Raises
    ------
    CaseNotFound
        No such case in the study.
    AccessRefused
        Another reader's case, or a case of a session that is locked or not open.
    """
    row = _case_row(connection, case_id)
    if row is None:
        task = (
            connection.execute(
                select(adjudication_tasks).where(adjudication_tasks.c.task_id == case_id)
            )
            .mappings()
            .first()
        )
        if task is None:
            raise CaseNotFound(f"No case {case_id} in this study.")
        if task["adjudicator"] != reader_id:
            raise AccessRefused(f"Case {case_id} is not in your worklist.")
        return _content_case(
            connection,
            reader_id,
            case_id,
            str(task["patient_id"]),
            str(task["tracer"]),
            _points(str(task["time_points"])),
            int(task["session"]),
        )
    if row["reader_id"] != reader_id:
        raise AccessRefused(f"Case {case_id} is not in your worklist.")
    session = int(row["session"])
    if session in _locks(connection, reader_id):
        raise AccessRefused(
            f"Case {case_id} belongs to read session {session}, which is locked: its reads "
            "are not shown again."
        )
    if _stored_worklist(connection, reader_id, session) is None:  # pragma: no cover - guard
        raise AccessRefused(f"Case {case_id} is not in an open session.")
    return _build_case(connection, reader_id, case_id)


def case_candidates(connection: Connection, reader_id: str, case: ReaderCase) -> list[Candidate]:
    """The lesion candidates of the case's patient (the study's lesion registry, through the
    reader layer), by lesion id."""
    return [
        Candidate(
            str(r["lesion_id"]),
            str(r["site"]),
            (float(r["centre_x_mm"]), float(r["centre_y_mm"]), float(r["centre_z_mm"])),
        )
        for r in ReaderView(connection, reader_id).lesions(case.patient_id)
    ]
