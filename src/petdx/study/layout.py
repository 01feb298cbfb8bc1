"""Every location of a study folder, in one place.

The pipeline, the analyses, the report, the command line and the web application ask
:class:`StudyLayout` (``StudyFolder.layout``) where a thing is; nothing else builds a path
inside a study folder. The layout needs only the folder's root, so code that holds a root
(a worker process, the report) can use it without reading the configuration::

    study.toml                         configuration (petdx init)
    study.sqlite                       the default embedded database (database_url)
    images/<patient>/<study>/<kind>_<series>/   de-identified DICOM (petdx ingest)
    derived/<patient>/summary.json     per patient: the quantification summary
    derived/<patient>/<tracer>_<t>min/ per scan: label map (NIfTI), coronal MIPs (mip.npz)
    derived/<patient>/viewer/<series>.nii.gz  the reader's viewer: a series as NIfTI (PET in
                                       SUVbw), with <series>.json saying unit and source
    results/                           analysis tables and results.json (petdx analyse)
    report/report.html, report.pdf     the report (petdx report)
    exports/                           exchange CSV exports (petdx export)
    export-spss/                       the analysis sets as SPSS .sav (petdx export-spss)
    export-stata/                      the analysis sets as Stata .dta (petdx export-stata)
    export-r/                          the analysis sets as CSV + an R script (petdx export-r)
    snapshots/<n>/                     locked snapshots (petdx snapshot lock): snapshot.sqlite,
                                       manifest.json, study.toml and derived/<patient>/
                                       summary.json as at lock time (read-only); results/,
                                       report/ and export.zip (petdx snapshot analyse|export)
    reader-vois/<reader>/<case>/<voi>-v<n>.seg.dcm
                                       a reader's VOI, one DICOM SEG per version (issue 14)
    logs/                              run logs
    audit.key, audit.anchor            the audit trail's key and anchor (petdx.study.seal)
    .petdx/run-state.json              what each stage last did (incremental runs)
    .ingest.lock                       one ingest at a time

Names that come from data (a patient's pseudonym, de-identified UIDs, a tracer profile) are
path components: each must match :data:`PATH_COMPONENT` (a letter or digit, then at most 63
letters, digits, ``.``, ``_`` or ``-``; never ``..``), and every path built from them must
resolve inside the study folder, else :class:`~petdx.errors.InputValidationError` names the
field and the value. :func:`check_path_component` is the same rule for any other code that
turns data into a file name (``petdx import`` refuses such identifiers at the door, tracer
profiles refuse such names); the rule itself lives in :mod:`petdx.fileio`, beside the file
writers, so that light packages (tracers, simulate) use it without loading the database.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass
from pathlib import Path

from petdx.errors import InputValidationError
from petdx.fileio import PATH_COMPONENT, check_path_component, path_component_problem, shown_value

__all__ = [
    "PATH_COMPONENT",
    "ReportFolder",
    "ResultsFolder",
    "SnapshotLayout",
    "StudyLayout",
    "check_path_component",
    "path_component_problem",
    "scan_folder_name",
]


def scan_folder_name(tracer: str, time_point_min: int) -> str:
    """Folder of a scan's derived files: ``<tracer>_<t>min``."""
    check_path_component(tracer, field="tracer")
    if isinstance(time_point_min, bool) or not isinstance(time_point_min, numbers.Integral):
        raise InputValidationError(
            f"time_point_min {shown_value(time_point_min)} is not a whole number of minutes; "
            "give the scan's nominal time point as an integer."
        )
    return f"{tracer}_{time_point_min}min"


@dataclass(frozen=True)
class ResultsFolder:
    """The files an analysis writes (a study's ``results/``, or any folder given)."""

    path: Path

    @property
    def results_json(self) -> Path:
        return self.path / "results.json"

    @property
    def patients_csv(self) -> Path:
        return self.path / "analysis_patients.csv"

    @property
    def lesions_csv(self) -> Path:
        return self.path / "analysis_lesions.csv"

    @property
    def screening_log_csv(self) -> Path:
        return self.path / "screening_log.csv"

    @property
    def pdl1_lesions_csv(self) -> Path:
        return self.path / "analysis_pdl1_lesions.csv"

    @property
    def dictionary_csv(self) -> Path:
        """The analysis sets' data dictionary (:mod:`petdx.analysis.dictionary`)."""
        return self.path / "analysis_dictionary.csv"


@dataclass(frozen=True)
class ReportFolder:
    """The files a report writes (a study's ``report/``, or a snapshot's)."""

    path: Path

    @property
    def html(self) -> Path:
        return self.path / "report.html"

    @property
    def pdf(self) -> Path:
        return self.path / "report.pdf"

    @property
    def tables_docx(self) -> Path:
        """``tables.docx``: the report's result tables for a journal (python-docx)."""
        return self.path / "tables.docx"

    @property
    def figures(self) -> Path:
        """``figures/``: every figure as a 300 dpi PNG, an SVG and a PDF (for a journal)."""
        return self.path / "figures"


@dataclass(frozen=True)
class SnapshotLayout:
    """The files of one locked snapshot (``snapshots/<n>/``)."""

    path: Path

    @property
    def database(self) -> Path:
        return self.path / "snapshot.sqlite"

    @property
    def manifest(self) -> Path:
        return self.path / "manifest.json"

    @property
    def config_file(self) -> Path:
        """The study's ``study.toml`` as it was at lock time (the analyses' settings)."""
        return self.path / "study.toml"

    @property
    def derived(self) -> StudyLayout:
        """The snapshot's copy of ``derived/<patient>/summary.json`` is laid out as in a study
        folder: ``layout.derived.patient_summary(patient)``."""
        return StudyLayout(self.path)

    @property
    def results(self) -> ResultsFolder:
        return ResultsFolder(self.path / "results")

    @property
    def report(self) -> ReportFolder:
        return ReportFolder(self.path / "report")

    @property
    def export_zip(self) -> Path:
        return self.path / "export.zip"

    @property
    def export_deidentified_zip(self) -> Path:
        return self.path / "export-deidentified.zip"

    @property
    def analysis_status(self) -> Path:
        """Step and end of the last background analysis (``petdx.pipeline.snapshots``)."""
        return self.path / "analysis-status.json"

    @property
    def analysis_lock(self) -> Path:
        """Held while the snapshot's analyses run (one run per snapshot at a time)."""
        return self.path / ".analysis.lock"


@dataclass(frozen=True)
class StudyLayout:
    """Where everything of the study folder at ``root`` lives (module docstring)."""

    root: Path

    @property
    def config_file(self) -> Path:
        return self.root / "study.toml"

    @property
    def images(self) -> Path:
        return self.root / "images"

    def inside(self, path: Path, *, field: str) -> Path:
        """``path`` when it resolves inside the study folder, else raise
        :class:`~petdx.errors.InputValidationError` naming ``field``.

        The check is lexical (``.`` and ``..`` resolved, symbolic links kept), so a study may
        keep ``images/`` on another disk through a link its operator made.
        """
        root = Path(os.path.abspath(self.root))
        resolved = Path(os.path.abspath(self.root / path))
        if resolved != root and not resolved.is_relative_to(root):
            raise InputValidationError(
                f"{field} {shown_value(str(path))} leads outside the study folder {self.root} "
                f"(to {shown_value(str(resolved))}); petdx writes only inside the study folder. "
                f"Correct the {field} and run again."
            )
        return path

    def stored(self, relative: str | Path, *, field: str = "stored folder") -> Path:
        """A location the database holds relative to the root (a series' ``folder``),
        proven to stay inside the study folder."""
        relative = Path(relative)
        if relative.is_absolute() or ".." in relative.parts or "\x00" in str(relative):
            raise InputValidationError(
                f"{field} {shown_value(str(relative))} is not a path inside the study folder "
                "(absolute, '..' or NUL); the database was changed outside petdx. Run "
                "`petdx ingest` again to record the series' folder."
            )
        return self.inside(self.root / relative, field=field)

    def series_folder(self, patient_id: str, study_uid: str, kind: str, series_uid: str) -> Path:
        """``images/<patient>/<study>/<kind>_<series>`` (de-identified UIDs)."""
        for field, value in (
            ("patient_id", patient_id),
            ("study_uid", study_uid),
            ("kind", kind),
            ("series_uid", series_uid),
        ):
            check_path_component(value, field=field)
        folder = self.images / patient_id / study_uid / f"{kind}_{series_uid}"
        return self.inside(folder, field="patient_id")

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def export_spss(self) -> Path:
        """Default folder of ``petdx export-spss`` (the analysis sets as SPSS .sav)."""
        return self.root / "export-spss"

    @property
    def export_stata(self) -> Path:
        """Default folder of ``petdx export-stata`` (the analysis sets as Stata .dta)."""
        return self.root / "export-stata"

    @property
    def export_r(self) -> Path:
        """Default folder of ``petdx export-r`` (the analysis sets as CSV and an R script)."""
        return self.root / "export-r"

    @property
    def derived(self) -> Path:
        return self.root / "derived"

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def snapshots_lock(self) -> Path:
        """Held while a snapshot is locked (numbers are given one at a time)."""
        return self.root / ".petdx" / "snapshots.lock"

    def snapshot(self, number: int) -> SnapshotLayout:
        """``snapshots/<n>/`` (``n`` a positive whole number)."""
        if isinstance(number, bool) or not isinstance(number, numbers.Integral) or number < 1:
            raise InputValidationError(
                f"snapshot {shown_value(number)} is not a snapshot number; give a whole number "
                "of 1 or more (`petdx snapshot list STUDY` shows them)."
            )
        return SnapshotLayout(self.snapshots / str(int(number)))

    def derived_patient(self, patient_id: str) -> Path:
        check_path_component(patient_id, field="patient_id")
        return self.inside(self.derived / patient_id, field="patient_id")

    def patient_summary(self, patient_id: str) -> Path:
        """``derived/<patient>/summary.json`` (written by the quantify stage)."""
        return self.derived_patient(patient_id) / "summary.json"

    def derived_scan(self, patient_id: str, tracer: str, time_point_min: int) -> Path:
        folder = self.derived_patient(patient_id) / scan_folder_name(tracer, time_point_min)
        return self.inside(folder, field="tracer")

    def scan_mip(self, patient_id: str, tracer: str, time_point_min: int) -> Path:
        """Coronal maximum-intensity projections of a scan (``mip.npz``)."""
        return self.derived_scan(patient_id, tracer, time_point_min) / "mip.npz"

    # petdx.pipeline.viewer_volumes (the reader's viewer): one cached NIfTI per series
    def viewer_volume(self, patient_id: str, series_uid: str) -> Path:
        """``derived/<patient>/viewer/<series>.nii.gz``: a de-identified series as NIfTI for
        the reader's viewer (PET in SUVbw or Bq/ml), cached per series."""
        check_path_component(series_uid, field="series_uid")
        folder = self.derived_patient(patient_id) / "viewer"
        return self.inside(folder / f"{series_uid}.nii.gz", field="series_uid")

    def viewer_volume_record(self, patient_id: str, series_uid: str) -> Path:
        """``derived/<patient>/viewer/<series>.json``: the cached volume's unit, warning and
        the fingerprint of the DICOM files it was made from."""
        return self.viewer_volume(patient_id, series_uid).with_name(f"{series_uid}.json")

    # reader VOIs (petdx.study.reader_vois, issue 14) ---------------------------------
    @property
    def reader_vois(self) -> Path:
        return self.root / "reader-vois"

    def reader_voi_seg(self, reader_id: str, case_id: str, voi_id: str, version: int) -> Path:
        """``reader-vois/<reader>/<case>/<voi>-v<n>.seg.dcm``: one version of a reader's VOI
        as a DICOM SEG (a new version is a new file; none is overwritten)."""
        for field, value in (("reader_id", reader_id), ("case_id", case_id), ("voi_id", voi_id)):
            check_path_component(value, field=field)
        if isinstance(version, bool) or not isinstance(version, numbers.Integral) or version < 1:
            raise InputValidationError(
                f"VOI version {shown_value(version)} is not a version number (1 or more)."
            )
        path = self.reader_vois / reader_id / case_id / f"{voi_id}-v{int(version)}.seg.dcm"
        return self.inside(path, field="reader_id")

    def relative(self, path: Path) -> Path:
        """``path`` relative to the study root (as the database stores folders)."""
        return path.relative_to(self.root)

    @property
    def results(self) -> ResultsFolder:
        return ResultsFolder(self.root / "results")

    @property
    def report(self) -> Path:
        return self.root / "report"

    @property
    def report_html(self) -> Path:
        return self.report_files.html

    @property
    def report_pdf(self) -> Path:
        return self.report_files.pdf

    @property
    def report_files(self) -> ReportFolder:
        return ReportFolder(self.report)

    @property
    def audit_key(self) -> Path:
        """The audit trail's key (default place; ``[audit] key_file`` may move it)."""
        return self.root / "audit.key"

    @property
    def audit_anchor(self) -> Path:
        """The audit trail's anchor file (default place; ``[audit] anchor_file``)."""
        return self.root / "audit.anchor"

    @property
    def run_state(self) -> Path:
        return self.root / ".petdx" / "run-state.json"

    @property
    def ingest_lock(self) -> Path:
        return self.root / ".ingest.lock"

    @property
    def pacs_staging(self) -> Path:
        """Where ``petdx pacs pull`` stages a study's retrieved (identifiable) instances until
        they are ingested; emptied after each study and at the start of each pull."""
        return self.root / ".petdx" / "pacs-staging"

    @property
    def pacs_quarantine(self) -> Path:
        """Records (JSON, de-identified names only) of PACS series that failed the checks
        after retrieval and were not ingested; removed when a later pull stores them."""
        return self.root / ".petdx" / "pacs-quarantine"

    @property
    def pacs_watch_state(self) -> Path:
        """Where ``petdx pacs watch`` keeps its place in Orthanc's change feed."""
        return self.root / ".petdx" / "pacs-watch.json"

    @property
    def pacs_lock(self) -> Path:
        """Held by a running ``petdx pacs pull`` (one pull per study at a time)."""
        return self.root / ".petdx" / "pacs-pull.lock"
