"""The statistician's pages: lock a snapshot of the database, run the pre-specified analyses
on it, read the headline results and the report, download the export.

Thin over the library: :mod:`petdx.study.snapshots` (lock, list, export) and
:mod:`petdx.pipeline.snapshots` (the analyses, run in a spawned process so that the server
never blocks; a second run of a snapshot is refused there). The report is served as the
file the analyses wrote, under a Content-Security-Policy of its own that allows only what a
self-contained report holds (its inline style and its embedded PNG figures) and sandboxes
it: no script runs, no request leaves the page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from petdx.analysis.results import load_results
from petdx.errors import InputValidationError
from petdx.pipeline.snapshots import analysis_status, start_analysis
from petdx.study.config import StudyFolder
from petdx.study.snapshots import (
    export_snapshot,
    list_snapshots,
    lock_snapshot,
    open_snapshot,
)
from petdx.web.security import current_session
from petdx.web.templating import render, web_state

__all__ = ["REPORT_CSP", "router"]

router = APIRouter(prefix="/statistician")

#: The report page's policy: its inline <style>, its data: figures, nothing else; sandboxed.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'; sandbox"
)


def _manifest(study: StudyFolder, number: int) -> Any:
    try:
        return open_snapshot(study, number)
    except InputValidationError as exc:
        raise HTTPException(404, str(exc)) from None


def _snapshot_page(
    request: Request, number: int, *, error: str | None = None, status_code: int = 200
) -> Response:
    study = web_state(request).study
    manifest = _manifest(study, number)
    snapshot = study.layout.snapshot(number)
    results = None
    results_error = None
    status = analysis_status(study, number)
    if snapshot.results.results_json.is_file() and not (status and status.running):
        try:
            results = load_results(snapshot.results.results_json)
        except InputValidationError as exc:
            results_error = str(exc)
    return render(
        request,
        "statistician/snapshot.html",
        {
            "manifest": manifest,
            "status": status,
            "results": results,
            "results_error": results_error,
            "has_report": snapshot.report.html.is_file() and not (status and status.running),
            "error": error,
        },
        status_code=status_code,
    )


def _list_page(request: Request, *, error: str | None = None, reason: str = "") -> Response:
    study = web_state(request).study
    manifests = list_snapshots(study)
    return render(
        request,
        "statistician/snapshots.html",
        {
            "snapshots": manifests,
            "statuses": {m.number: analysis_status(study, m.number) for m in manifests},
            "error": error,
            "reason": reason,
        },
        status_code=422 if error else 200,
    )


@router.get("/snapshots", name="stat_snapshots")
def snapshots_page(request: Request) -> Response:
    return _list_page(request)


@router.post("/snapshots", name="stat_lock_snapshot")
def lock(request: Request, reason: Annotated[str, Form(max_length=4000)] = "") -> Response:
    session = current_session(request)
    state = web_state(request)
    try:
        manifest = lock_snapshot(
            state.study, state.database, actor=session.account.name, reason=reason
        )
    except InputValidationError as exc:
        return _list_page(request, error=str(exc), reason=reason)
    target = request.app.url_path_for("stat_snapshot", number=str(manifest.number))
    return RedirectResponse(str(target), 303)


@router.get("/snapshots/{number}", name="stat_snapshot")
def snapshot_page(request: Request, number: int) -> Response:
    return _snapshot_page(request, number)


@router.post("/snapshots/{number}/analyse", name="stat_analyse_snapshot")
def analyse(request: Request, number: int) -> Response:
    session = current_session(request)
    study = web_state(request).study
    _manifest(study, number)
    try:
        start_analysis(study, number, actor=session.account.name)
    except InputValidationError as exc:
        return _snapshot_page(request, number, error=str(exc), status_code=409)
    target = request.app.url_path_for("stat_snapshot", number=str(number))
    return RedirectResponse(str(target), 303)


@router.get("/snapshots/{number}/status", name="stat_analysis_status")
def status_fragment(request: Request, number: int) -> Response:
    """The analysis's progress (an htmx fragment: polls itself while running)."""
    study = web_state(request).study
    manifest = _manifest(study, number)
    return render(
        request,
        "statistician/_status.html",
        {"manifest": manifest, "status": analysis_status(study, number)},
    )


@router.get("/snapshots/{number}/report", name="stat_report")
def report(request: Request, number: int) -> Response:
    study = web_state(request).study
    _manifest(study, number)
    html = study.layout.snapshot(number).report.html
    status = analysis_status(study, number)
    if not html.is_file() or (status is not None and status.running):
        raise HTTPException(404, f"Snapshot {number} has no report yet: run its analyses.")
    return HTMLResponse(
        html.read_text(encoding="utf-8"),
        headers={"content-security-policy": REPORT_CSP, "x-frame-options": "DENY"},
    )


def _export(request: Request, number: int, *, deidentify: bool) -> Response:
    study = web_state(request).study
    _manifest(study, number)
    snapshot = study.layout.snapshot(number)
    path = snapshot.export_deidentified_zip if deidentify else snapshot.export_zip
    if not path.is_file():  # exports of a snapshot are byte-identical: made once
        path = export_snapshot(study, number, deidentify=deidentify).zip_path
    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"{study.root.name}-snapshot-{number}-{path.name}",
    )


@router.get("/snapshots/{number}/export.zip", name="stat_export")
def export(request: Request, number: int) -> Response:
    return _export(request, number, deidentify=False)


@router.get("/snapshots/{number}/export-deidentified.zip", name="stat_export_deidentified")
def export_deidentified(request: Request, number: int) -> Response:
    return _export(request, number, deidentify=True)
