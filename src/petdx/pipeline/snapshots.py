"""``petdx snapshot analyse``: the pre-specified analyses and the report of a locked snapshot.

The same two stages ``petdx run`` ends with (:func:`petdx.analysis.analyse_into`,
:func:`petdx.report.write_report`), pointed at the snapshot: its read-only database
(:func:`petdx.study.snapshots.snapshot_database`), the configuration and quantification
summaries locked with it, and its own ``results/`` and ``report/``. The images and the
coronal projections the report shows stay in the study folder. One analysis of a snapshot at
a time (a lock file beside it); the results replace the previous ones atomically, file by
file.

:func:`start_analysis` runs them in a spawned process (for the web application: the server
never blocks and never forks) and returns at once; the process records its step and its end
in ``snapshots/<n>/analysis-status.json``, which :func:`analysis_status` reads. A second run
of a snapshot while one is running is refused, whether it was started by this process or by
another.
"""

from __future__ import annotations

import json
import multiprocessing
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from petdx.errors import InputValidationError, PetdxError
from petdx.fileio import atomic_write_text, exclusive_lock
from petdx.study.config import StudyFolder
from petdx.study.snapshots import open_snapshot, snapshot_database, snapshot_study

__all__ = [
    "AnalysisStatus",
    "SnapshotAnalysis",
    "analyse_snapshot",
    "analysis_status",
    "start_analysis",
]

#: ``progress(step, done, total)``: the step's name and how many of the steps are done.
SnapshotProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SnapshotAnalysis:
    """What the analyses of a snapshot wrote."""

    number: int
    results_json: Path
    report_html: Path
    report_pdf: Path | None
    headline: list[dict[str, Any]] = field(default_factory=list)
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "snapshot": self.number,
            "results_json": str(self.results_json),
            "report_html": str(self.report_html),
            "report_pdf": None if self.report_pdf is None else str(self.report_pdf),
            "headline": self.headline,
            "problems": list(self.problems),
        }


def analyse_snapshot(
    study: StudyFolder,
    number: int,
    *,
    pdf: bool = False,
    progress: SnapshotProgress | None = None,
) -> SnapshotAnalysis:
    """Run the analyses and write the report of snapshot ``number`` (module docstring).

    Raises
    ------
    InputValidationError
        No such snapshot, or its analyses are running already.
    """
    from petdx.analysis import analyse_into
    from petdx.report import write_report

    manifest = open_snapshot(study, number)
    snapshot = study.layout.snapshot(number)
    report = progress or (lambda _step, _done, _total: None)
    busy = f"snapshot {number}: its analyses are running already; wait for them to end."
    with exclusive_lock(snapshot.analysis_lock, busy):
        locked = snapshot_study(study, number)
        database = snapshot_database(study, number)
        try:
            report("analyse", 0, 2)
            results = analyse_into(locked, database, snapshot.results, summaries=snapshot.derived)
        finally:
            database.dispose()
        report("report", 1, 2)
        paths = write_report(
            study.root,
            pdf=pdf,
            results=snapshot.results,
            out=snapshot.report,
            config=locked.config,
            provenance=[
                ("Snapshot", str(number)),
                ("Snapshot locked (UTC)", manifest.locked_at_utc),
                ("Snapshot locked by", manifest.actor),
                ("Snapshot content hash (SHA-256)", manifest.content_hash),
                ("Audit trail head at lock", f"row {manifest.audit_head_seq}"),
            ],
        )
        report("done", 2, 2)
    return SnapshotAnalysis(
        number=number,
        results_json=snapshot.results.results_json,
        report_html=paths.html,
        report_pdf=paths.pdf,
        headline=[row.to_dict() for row in results.results.headline],
        problems=tuple(results.problems),
    )


# --- Running a snapshot's analyses in the background (the web application) -------------

#: States of a background analysis (``analysis-status.json``).
RUNNING, DONE, FAILED = "running", "done", "failed"


@dataclass(frozen=True)
class AnalysisStatus:
    """Where a background analysis of a snapshot is (``snapshots/<n>/analysis-status.json``)."""

    state: str
    step: str = ""
    done: int = 0
    total: int = 2
    started_utc: str = ""
    finished_utc: str | None = None
    actor: str = ""
    message: str | None = None

    @property
    def running(self) -> bool:
        return self.state == RUNNING

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "step": self.step,
            "done": self.done,
            "total": self.total,
            "started_utc": self.started_utc,
            "finished_utc": self.finished_utc,
            "actor": self.actor,
            "message": self.message,
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _write_status(path: Path, status: AnalysisStatus) -> None:
    atomic_write_text(path, json.dumps(status.to_dict(), indent=1, sort_keys=True))


def _is_locked(lock: Path) -> bool:
    """Whether another process holds ``lock`` (probed by taking and releasing it)."""
    if not lock.exists():
        return False
    try:
        with exclusive_lock(lock, "busy"):
            return False
    except InputValidationError:
        return True


def analysis_status(study: StudyFolder, number: int) -> AnalysisStatus | None:
    """The last background analysis of snapshot ``number`` (None: never started). A run whose
    process ended without writing its end (killed) is reported failed."""
    snapshot = study.layout.snapshot(number)
    path = snapshot.analysis_status
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        status = AnalysisStatus(**data)
    except (json.JSONDecodeError, TypeError) as exc:
        return AnalysisStatus(FAILED, message=f"{path}: unreadable status ({exc})")
    if status.running and not _is_locked(snapshot.analysis_lock) and not _starting(path):
        return AnalysisStatus(
            FAILED,
            step=status.step,
            started_utc=status.started_utc,
            actor=status.actor,
            message="the analysis process ended before finishing (killed?); run it again",
        )
    return status


_starting_lock = threading.Lock()
_starting_paths: dict[Path, Any] = {}


def _starting(status_path: Path) -> bool:
    """A process this server started that has not ended yet (it may not hold its lock yet)."""
    with _starting_lock:
        process = _starting_paths.get(status_path)
        return process is not None and process.is_alive()


def _ended(path: Path) -> bool:
    """The status file records the end of the run (done or failed)."""
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("state") != RUNNING
    except (OSError, json.JSONDecodeError, AttributeError):
        return False


def _background_run(root: str, number: int, actor: str, started: str) -> None:
    """The child process: run the analyses, recording progress and the end in the status."""
    from petdx.study.config import open_study

    study = open_study(root)
    path = study.layout.snapshot(number).analysis_status

    def progress(step: str, done: int, total: int) -> None:
        _write_status(path, AnalysisStatus(RUNNING, step, done, total, started, actor=actor))

    try:
        analysis = analyse_snapshot(study, number, progress=progress)
    except PetdxError as exc:
        _write_status(path, AnalysisStatus(FAILED, "", 0, 2, started, _now(), actor, str(exc)))
        return
    except BaseException as exc:  # recorded for the page, then the process fails
        message = f"internal error ({type(exc).__name__}: {exc}); please report it"
        _write_status(path, AnalysisStatus(FAILED, "", 0, 2, started, _now(), actor, message))
        raise
    note = f"{len(analysis.problems)} note(s)" if analysis.problems else None
    _write_status(path, AnalysisStatus(DONE, "done", 2, 2, started, _now(), actor, note))


def start_analysis(study: StudyFolder, number: int, *, actor: str) -> AnalysisStatus:
    """Start the analyses of snapshot ``number`` in a separate process (spawned, never
    forked from a server) and return at once; :func:`analysis_status` follows it.

    Raises
    ------
    InputValidationError
        No such snapshot, or its analyses are running already (here or in another process).
    """
    open_snapshot(study, number)
    snapshot = study.layout.snapshot(number)
    path = snapshot.analysis_status
    busy = f"snapshot {number}: its analyses are running already; wait for them to end."
    with _starting_lock:
        process = _starting_paths.get(path)
        if process is not None and process.is_alive() and not _ended(path):
            raise InputValidationError(busy)
        if process is not None:
            process.join(30)  # it has recorded its end: let it exit
        if _is_locked(snapshot.analysis_lock):
            raise InputValidationError(busy)
        started = _now()
        status = AnalysisStatus(RUNNING, "starting", 0, 2, started, actor=actor)
        _write_status(path, status)
        context = multiprocessing.get_context("spawn")
        process = context.Process(
            target=_background_run,
            args=(str(study.root), number, actor, started),
            name=f"petdx-snapshot-{number}",
            daemon=False,
        )
        process.start()
        _starting_paths[path] = process
    return status
