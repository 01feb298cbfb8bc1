"""``petdx report STUDY``: the study report as one self-contained HTML file and a PDF.

The report lays out ``STUDY/results/results.json`` (written by the analyses, read back as
typed results by :func:`petdx.analysis.results.load_results`) and the
per-patient projections written by ``petdx run``; it computes no statistic. HTML: Jinja2, every
figure embedded as a PNG data URI, so the file can be mailed or archived alone. PDF:
WeasyPrint from the same HTML. Both are written to a temporary name and renamed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import jinja2

from petdx import __version__
from petdx.analysis.results import StudyInfo, parse_results
from petdx.data_dictionary import code_label
from petdx.errors import InputValidationError
from petdx.fileio import atomic_output, atomic_write_bytes, atomic_write_text
from petdx.report.docx_tables import write_tables_docx
from petdx.report.formatting import fmt_estimate, fmt_iqr, fmt_number, fmt_p, fmt_plain
from petdx.report.sections import FigureBlock, ReportContext, build_context
from petdx.study.config import StudyConfig, open_study
from petdx.study.layout import ReportFolder, ResultsFolder, StudyLayout

__all__ = ["ReportPaths", "render_html", "write_report"]

_LIBRARIES = (
    "numpy",
    "scipy",
    "pandas",
    "pydicom",
    "highdicom",
    "nibabel",
    "SimpleITK",
    "connected-components-3d",
    "statsmodels",
    "lifelines",
    "SQLAlchemy",
    "matplotlib",
    "Jinja2",
    "weasyprint",
    "python-docx",
)


@dataclass(frozen=True)
class ReportPaths:
    html: Path
    pdf: Path | None


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("petdx.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        est=fmt_estimate, iqr=fmt_iqr, num=fmt_number, p=fmt_p, plain=fmt_plain, label=code_label
    )
    return env


def _versions() -> list[tuple[str, str]]:
    out = [("petdx", __version__)]
    for name in _LIBRARIES:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            continue
    return out


def _methods(study: StudyInfo) -> dict[str, Any]:
    quant = study.quantification
    return {
        "tracer": study.tracer,
        "comparator": study.comparator_tracer,
        "time_points": ", ".join(f"{t}" for t in study.time_points_min),
        "method": quant.method,
        "margin": quant.voi_margin_mm,
        "align": quant.align_scans,
        "k": study.visual_score_at_least,
        "reader": study.primary_reader,
        "readers": ", ".join(study.readers),
        "cutoff": study.suv_max_at_least,
        "version": study.petdx_version,
        "modality": study.hybrid_modality,
        "radiation": study.radiation,
        "attenuation": "; ".join(study.attenuation_correction_methods) or "not stated",
    }


def render_html(
    study_root: str | Path,
    *,
    results: ResultsFolder | None = None,
    config: StudyConfig | None = None,
    provenance: Sequence[tuple[str, str]] = (),
) -> str:
    """The report HTML of a study whose analyses have run (figures as 300 dpi PNGs).

    By default the study's own ``results/`` and ``study.toml``; a locked snapshot passes its
    ``results`` folder, the configuration locked with it and its own ``provenance`` lines
    (shown after the study folder); the per-patient projections always come from the study.
    """
    context, config = _report_context(Path(study_root), results, config, provenance)
    return _render(context, config, vector=False)


def _render(context: ReportContext, config: StudyConfig, *, vector: bool) -> str:
    """The report HTML from its context; ``vector``: figures as SVG (for the PDF)."""
    template = _environment().get_template("report.html.j2")
    css = (Path(__file__).parent / "templates" / "report.css").read_text(encoding="utf-8")
    return template.render(ctx=context, css=css, config=config.to_dict(), vector=vector)


def _report_context(
    root: Path,
    results: ResultsFolder | None,
    config: StudyConfig | None,
    provenance: Sequence[tuple[str, str]],
) -> tuple[ReportContext, StudyConfig]:
    layout = StudyLayout(root)
    folder = results or layout.results
    results_json = folder.results_json
    if not results_json.exists():
        raise InputValidationError(
            f"{results_json}: no analysis results yet. Run `petdx run {root}` first."
        )
    raw = results_json.read_bytes()
    analysed = parse_results(raw, results_json)
    config = config or open_study(root).config
    patients_csv = folder.patients_csv
    patients = []
    if patients_csv.exists():
        import pandas as pd

        patients = sorted(pd.read_csv(patients_csv)["patient_id"].astype(str))
    lines = [
        ("Study folder", root.name),
        *provenance,
        ("Results (results.json) SHA-256", hashlib.sha256(raw).hexdigest()),
        ("Study configuration", layout.config_file.name),
        ("Database", config.database_url.split("://")[0]),
        ("Report written (UTC)", datetime.now(UTC).isoformat(timespec="seconds")),
        *[(f"Software: {name}", version) for name, version in _versions()],
    ]
    state = layout.run_state
    if results is None and state.exists():
        units = json.loads(state.read_text()).get("units", {})
        if "analysis" in units:
            lines.insert(2, ("Analysis inputs (content hash)", units["analysis"]))
    context = build_context(
        analysed,
        study_root=root,
        patients=patients,
        provenance=lines,
        methods=_methods(analysed.study),
        config=config,
    )
    return context, config


def write_report(
    study_root: str | Path,
    *,
    pdf: bool = True,
    results: ResultsFolder | None = None,
    out: ReportFolder | None = None,
    config: StudyConfig | None = None,
    provenance: Sequence[tuple[str, str]] = (),
) -> ReportPaths:
    """Write ``report/report.html`` (and ``report/report.pdf``) of a study; a snapshot gives
    its ``results``, ``config`` and ``provenance`` (:func:`render_html`) and its report
    folder ``out``."""
    root = Path(study_root)
    layout = StudyLayout(root)
    folder = out or layout.report_files
    context, config = _report_context(root, results, config, provenance)
    html = _render(context, config, vector=False)
    html_path = atomic_write_text(folder.html, html)
    _write_figures(folder.figures, [*context.figures.values(), *context.mips])
    write_tables_docx(html, folder.tables_docx, title=f"{context.study.name}: tables")
    pdf_path = None
    if pdf:
        import weasyprint

        pdf_path = folder.pdf
        with atomic_output(pdf_path) as tmp:
            weasyprint.HTML(
                string=_render(context, config, vector=True), base_url=str(root)
            ).write_pdf(tmp)
    return ReportPaths(html_path, pdf_path)


def _write_figures(folder: Path, figures: Sequence[FigureBlock]) -> None:
    """Every figure as ``<stem>.png`` (300 dpi), ``<stem>.svg`` and ``<stem>.pdf``, each written
    atomically; files of figures the report no longer has are removed."""
    folder.mkdir(parents=True, exist_ok=True)
    written = set()
    for fig in figures:
        for suffix, data in ((".png", fig.png), (".svg", fig.svg), (".pdf", fig.pdf)):
            path = folder / f"{fig.stem}{suffix}"
            atomic_write_bytes(path, data)
            written.add(path.name)
    for stale in folder.iterdir():
        if stale.suffix in (".png", ".svg", ".pdf") and stale.name not in written:
            stale.unlink()
