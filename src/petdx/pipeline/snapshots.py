"""``petdx snapshot analyse``: the pre-specified analyses and the report of a locked snapshot.

The same two stages ``petdx run`` ends with (:func:`petdx.analysis.analyse_into`,
:func:`petdx.report.write_report`), pointed at the snapshot: its read-only database
(:func:`petdx.study.snapshots.snapshot_database`), the configuration and quantification
summaries locked with it, and its own ``results/`` and ``report/``. The images and the
coronal projections the report shows stay in the study folder. One analysis of a snapshot at
a time (a lock file beside it); the results replace the previous ones atomically, file by
file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from petdx.fileio import exclusive_lock
from petdx.study.config import StudyFolder
from petdx.study.snapshots import open_snapshot, snapshot_database, snapshot_study

__all__ = ["SnapshotAnalysis", "analyse_snapshot"]

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
