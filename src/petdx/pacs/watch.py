"""``petdx pacs watch``: follow Orthanc's change feed and pull each study once it is stable.

One **cycle** (:func:`watch_once`):

1. reads Orthanc's change feed (REST ``/changes?since=N``) from where the last cycle
   stopped (``.petdx/pacs-watch.json``, written atomically after each study);
2. a ``StableStudy`` change (Orthanc's ``StableAge`` quiet period passed with no new
   instance) of a patient of the identity table is pulled with :func:`petdx.pacs.pull.pull`
   restricted to that study and patient: the same find, retrieve, checks, quarantine and
   ingest as ``petdx pacs pull``. Studies of other patients are skipped (not opened);
3. a study whose pull had problems (a quarantined series, a transfer that failed) is kept
   in the state and pulled again at the next cycle, until it is stored.

Idempotent: pull skips the series already stored, so a study sent three times (three
``StableStudy`` changes) is stored once, and a series sent later (Orthanc makes the study
unstable, then stable again) joins its study and visit. Resumable: after a crash or
``kill -9`` the next cycle starts from the last study recorded as done; a study interrupted
midway is pulled again (the staging of the killed pull is removed, the stored series are
skipped).

``once=True`` (``--once``) runs cycles until no study seen arriving (``NewSeries``) is
still waiting for its quiet period, or ``wait_s`` passed, then returns: for cron and tests.
Orthanc only: the change feed is Orthanc's REST API, not DICOMweb.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from petdx.errors import InputValidationError
from petdx.fileio import atomic_write_text, exclusive_lock
from petdx.pacs.client import OrthancRest, PacsConnection, PacsError, connect, orthanc_rest
from petdx.pacs.config import PacsConfig, PacsConfigError
from petdx.pacs.pull import PullResult, pull
from petdx.pipeline.ingest import IngestProblem
from petdx.study.config import StudyFolder
from petdx.study.database import StudyDatabase
from petdx.study.queries import patient_identities
from petdx.study.records import Author

__all__ = ["WatchResult", "watch_once"]

_PAGE = 200
_STATE_VERSION = 1


class WatchStateError(InputValidationError):
    """``.petdx/pacs-watch.json`` cannot be read or does not fit the PACS's feed."""


@dataclass
class _State:
    """Where the watch is: the last change read, studies to pull again, studies arriving."""

    orthanc: str
    last_seq: int = 0
    retry: list[str] = field(default_factory=list)  # Orthanc study IDs
    arriving: list[str] = field(default_factory=list)  # Orthanc study IDs, not yet stable

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": _STATE_VERSION,
                "orthanc": self.orthanc,
                "last_seq": self.last_seq,
                "retry": self.retry,
                "arriving": self.arriving,
            },
            indent=2,
        )


def _load_state(path: Path, orthanc: str) -> _State:
    if not path.exists():
        return _State(orthanc)
    fix = (
        f"Delete {path} to read the change feed from its start (pull is idempotent: what is "
        "stored already is not stored again)."
    )
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        state = _State(
            orthanc=str(doc["orthanc"]),
            last_seq=int(doc["last_seq"]),
            retry=[str(x) for x in doc.get("retry", [])],
            arriving=[str(x) for x in doc.get("arriving", [])],
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WatchStateError(
            f"{path}: not a petdx pacs watch state ({type(exc).__name__}: {exc}). {fix}"
        ) from None
    if state.orthanc != orthanc:
        raise WatchStateError(
            f"{path}: the state follows {state.orthanc}, but [pacs] now names {orthanc}. " + fix
        )
    return state


@dataclass
class WatchResult:
    """What the cycles of a watch read and stored (pseudonyms and de-identified UIDs)."""

    changes_read: int = 0
    studies_stable: int = 0
    studies_pulled: int = 0
    studies_not_in_study: int = 0
    cycles: int = 0
    last_seq: int = 0
    pulls: list[PullResult] = field(default_factory=list)
    retry: int = 0
    arriving: int = 0

    @property
    def problems(self) -> list[IngestProblem]:
        return [p for r in self.pulls for p in r.problems]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "cycles": self.cycles,
            "changes_read": self.changes_read,
            "last_seq": self.last_seq,
            "studies_stable": self.studies_stable,
            "studies_pulled": self.studies_pulled,
            "studies_not_in_study": self.studies_not_in_study,
            "series": [s.to_dict() for r in self.pulls for s in r.series],
            "n_instances_written": sum(r.n_written for r in self.pulls),
            "instances_md5_checked": sum(r.n_md5_checked for r in self.pulls),
            "studies_to_retry": self.retry,
            "studies_still_arriving": self.arriving,
            "problems": [p.to_dict(with_folder=False) for p in self.problems],
        }

    def __str__(self) -> str:
        return (
            f"{self.cycles} cycle(s): {self.changes_read} change(s) read, "
            f"{self.studies_stable} stable stud(ies), {self.studies_pulled} pulled "
            f"({sum(len(r.series) for r in self.pulls)} series ingested, "
            f"{sum(r.n_written for r in self.pulls)} instance file(s) written), "
            f"{self.studies_not_in_study} of other patients, {self.retry} to retry, "
            f"{self.arriving} still arriving, {len(self.problems)} problem(s)"
        )


def _rest(connection: PacsConnection) -> OrthancRest:
    rest = orthanc_rest(connection)
    if rest is None:
        config = connection.config
        raise PacsConfigError(
            f"{config.where}: [pacs]: petdx pacs watch follows Orthanc's change feed, but "
            f"{config.orthanc_url or config.url} does not answer Orthanc's REST API (/system). "
            "Set [pacs] orthanc_url to Orthanc's REST root (http://HOST:8042), or use "
            "`petdx pacs pull` from cron with another PACS."
        )
    return rest


def _cycle(
    study: StudyFolder,
    database: StudyDatabase,
    connection: PacsConnection,
    rest: OrthancRest,
    state: _State,
    result: WatchResult,
    author: Author,
) -> None:
    path = study.layout.pacs_watch_state
    newest = int(rest.get("/changes", "change feed", last="")["Last"])
    if newest < state.last_seq:
        raise WatchStateError(
            f"{path}: the change feed of {rest.base} ends at change {newest}, but this study "
            f"read it up to {state.last_seq} (a new Orthanc database?). Delete {path} to read "
            "the feed from its start (pull is idempotent)."
        )
    with database.engine.connect() as db:
        by_hospital_id: dict[str, str] = {}
        for (_, hid), pseudonym in patient_identities(db).items():
            by_hospital_id.setdefault(hid, pseudonym)

    def save() -> None:
        atomic_write_text(path, state.to_json())

    def process(orthanc_id: str) -> None:
        """Pull one stable study of the study's patients; keep it for retry if it fails."""
        try:
            info = rest.get(f"/studies/{orthanc_id}", "study")
        except PacsError as exc:  # deleted from Orthanc since the change: nothing to pull
            if exc.stage in ("server", "authentication"):
                raise
            info = None
        if orthanc_id in state.retry:
            state.retry.remove(orthanc_id)
        if not isinstance(info, dict):
            return
        hid = str(info.get("PatientMainDicomTags", {}).get("PatientID", ""))
        uid = str(info.get("MainDicomTags", {}).get("StudyInstanceUID", ""))
        pseudonym = by_hospital_id.get(hid)
        if pseudonym is None or not uid:
            result.studies_not_in_study += 1
            return
        pulled = pull(
            study,
            database,
            connection.config,
            author=author,
            patients=(pseudonym,),
            studies=(uid,),
            connection=connection,
        )
        result.studies_pulled += 1
        result.pulls.append(pulled)
        if not pulled.ok:
            state.retry.append(orthanc_id)

    for orthanc_id in list(state.retry):  # failed before: pull again first
        process(orthanc_id)
        save()
    while True:
        page = rest.get("/changes", "change feed", since=str(state.last_seq), limit=str(_PAGE))
        changes = page.get("Changes", [])
        for change in changes:
            seq, kind = int(change["Seq"]), str(change.get("ChangeType", ""))
            result.changes_read += 1
            orthanc_id = str(change.get("ID", ""))
            if kind == "NewSeries":
                try:
                    parent = str(rest.get(f"/series/{orthanc_id}", "series")["ParentStudy"])
                except PacsError as exc:  # deleted since
                    if exc.stage in ("server", "authentication"):
                        raise
                else:
                    if parent not in state.arriving:
                        state.arriving.append(parent)
            elif kind == "StableStudy":
                result.studies_stable += 1
                if orthanc_id in state.arriving:
                    state.arriving.remove(orthanc_id)
                process(orthanc_id)
            state.last_seq = seq
            if kind in ("StableStudy", "NewSeries"):
                save()
        if page.get("Done", True) or not changes:
            break
    state.last_seq = max(state.last_seq, int(page.get("Last", state.last_seq)))
    save()
    result.cycles += 1
    result.last_seq = state.last_seq
    result.retry = len(state.retry)
    result.arriving = len(state.arriving)


def watch_once(
    study: StudyFolder,
    database: StudyDatabase,
    config: PacsConfig,
    *,
    author: Author,
    once: bool = True,
    wait_s: float = 120.0,
    interval_s: float = 1.0,
    keep_going: Callable[[], bool] = lambda: True,
    on_cycle: Callable[[WatchResult], None] | None = None,
) -> WatchResult:
    """Follow the change feed (module docstring).

    ``once``: cycles until no study is still arriving or ``wait_s`` passed. Otherwise cycles
    every ``interval_s`` while ``keep_going()``; ``on_cycle`` is called after each.

    Raises
    ------
    PacsConfigError, PacsError, WatchStateError
        The server is not Orthanc, cannot be reached or refuses the account; the state file
        is unreadable or does not fit the feed; another watch runs on the study.
    """
    lock = study.layout.pacs_watch_state.with_suffix(".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    busy = f"{study.root}: another petdx pacs watch is running on this study; stop it first."
    connection = connect(config)
    result = WatchResult()
    with exclusive_lock(lock, busy), contextlib.closing(connection):
        rest = _rest(connection)
        state = _load_state(study.layout.pacs_watch_state, rest.base)
        deadline = time.monotonic() + wait_s
        while True:
            _cycle(study, database, connection, rest, state, result, author)
            if on_cycle is not None:
                on_cycle(result)
            if once:  # studies failed are retried by the next run, not in a loop here
                if not state.arriving or time.monotonic() > deadline:
                    return result
            elif not keep_going():
                return result
            time.sleep(interval_s)
