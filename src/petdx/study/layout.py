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
    results/                           analysis tables and results.json (petdx analyse)
    report/report.html, report.pdf     the report (petdx report)
    exports/                           exchange CSV exports (petdx export)
    logs/                              run logs
    .petdx/run-state.json              what each stage last did (incremental runs)
    .ingest.lock                       one ingest at a time
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["ResultsFolder", "StudyLayout", "scan_folder_name"]


def scan_folder_name(tracer: str, time_point_min: int) -> str:
    """Folder of a scan's derived files: ``<tracer>_<t>min``."""
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

    def series_folder(self, patient_id: str, study_uid: str, kind: str, series_uid: str) -> Path:
        """``images/<patient>/<study>/<kind>_<series>`` (de-identified UIDs)."""
        return self.images / patient_id / study_uid / f"{kind}_{series_uid}"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def derived(self) -> Path:
        return self.root / "derived"

    def derived_patient(self, patient_id: str) -> Path:
        return self.derived / patient_id

    def patient_summary(self, patient_id: str) -> Path:
        """``derived/<patient>/summary.json`` (written by the quantify stage)."""
        return self.derived_patient(patient_id) / "summary.json"

    def derived_scan(self, patient_id: str, tracer: str, time_point_min: int) -> Path:
        return self.derived_patient(patient_id) / scan_folder_name(tracer, time_point_min)

    def scan_mip(self, patient_id: str, tracer: str, time_point_min: int) -> Path:
        """Coronal maximum-intensity projections of a scan (``mip.npz``)."""
        return self.derived_scan(patient_id, tracer, time_point_min) / "mip.npz"

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
        return self.report / "report.html"

    @property
    def report_pdf(self) -> Path:
        return self.report / "report.pdf"

    @property
    def run_state(self) -> Path:
        return self.root / ".petdx" / "run-state.json"

    @property
    def ingest_lock(self) -> Path:
        return self.root / ".ingest.lock"
