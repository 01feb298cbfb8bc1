"""The blinded reader's pages: the worklist of the open session, a case (the viewer, the
lesion candidates to confirm or reject, the scores and the patient-level call), submitting a
read or a new version of it, locking the session; for the adjudicator, the adjudication
tasks on the same pages.

Thin over :mod:`petdx.study.reading` and :mod:`petdx.study.adjudication`. Blinding by
construction: every route starts with :func:`~petdx.study.reading.worklist` or
:func:`~petdx.study.reading.reader_case` for the signed-in reader, and the pages get their
data from the reader layer only (no table of
:data:`petdx.study.blinding.FORBIDDEN_TABLES`). An unknown case is 404, another reader's
case 403.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import Connection
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from petdx.data_dictionary import LESION_SITES
from petdx.errors import InputValidationError
from petdx.study.adjudication import (
    adjudication_task,
    adjudication_tasks_of,
    submit_adjudication,
)
from petdx.study.forms import AccessRefused
from petdx.study.reading import CaseNotFound, ReaderCase, case_candidates, reader_case, worklist
from petdx.study.reading_reads import (
    CALLS,
    LesionRead,
    ReadSubmission,
    lock_session,
    read_versions,
    record_open,
    submit_read,
)
from petdx.web.body import PostedForm
from petdx.web.routes.coordinator import REFUSED, account, writing
from petdx.web.templating import render, web_state

__all__ = ["router", "volumes_of"]

router = APIRouter(prefix="/read")


def _now(request: Request) -> datetime:
    return datetime.fromtimestamp(request.app.state.clock(), UTC)


def _case(connection: Connection, reader_id: str, case_id: str) -> ReaderCase:
    try:
        return reader_case(connection, reader_id, case_id)
    except CaseNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except AccessRefused as exc:
        raise HTTPException(403, str(exc)) from None


def volumes_of(request: Request, case: ReaderCase) -> list[dict[str, Any]]:
    """The case's series for the viewer: PET and its anatomy per time point, with the URL of
    the volume when the viewer's route (``reader_volume``) is part of the application."""
    names = {getattr(r, "name", None) for r in request.app.router.routes}
    out = []
    for point, pet, anatomy in zip(
        case.time_points_min, case.pet_series_uids, case.anatomy_series_uids, strict=True
    ):
        for kind, uid in (("pet", pet), ("anatomy", anatomy)):
            if not uid:
                continue
            url = (
                str(request.app.url_path_for("reader_volume", case_id=case.case_id, series_uid=uid))
                if "reader_volume" in names
                else None
            )
            out.append({"kind": kind, "time_point_min": point, "series_uid": uid, "url": url})
    return out


def _template_exists(name: str) -> bool:
    return (files("petdx.web") / "templates" / name).is_file()


@router.get("", name="reader_worklist")
def worklist_page(request: Request, error: str | None = None) -> Response:
    who = account(request)
    state = web_state(request)
    config = state.study.config
    with writing(request) as c:  # the first visit of a session draws and stores the worklist
        tasks = adjudication_tasks_of(c, who.name) if who.name == config.reading.adjudicator else []
        try:
            listed = worklist(c, config, who.name, now=_now(request))
        except AccessRefused as exc:
            listed = None
            if not tasks:
                error = error or str(exc)
    return render(
        request,
        "reader/worklist.html",
        {"worklist": listed, "tasks": tasks, "error": error},
    )


def _case_context(
    c: Connection, request: Request, reader_id: str, case: ReaderCase
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "case": case,
        "volumes": volumes_of(request, case),
        "candidates": case_candidates(c, reader_id, case),
        "sites": LESION_SITES,
        "calls": CALLS,
        "has_viewer": _template_exists("reader/viewer.html"),
        "has_voi_panel": _template_exists("reader/voi_panel.html"),
        "task": None,
        "versions": [],
        "current": None,
    }
    if case.case_id.startswith("t"):
        context["task"] = adjudication_task(c, reader_id, case.case_id)
    else:
        versions = read_versions(c, reader_id, case.case_id)
        context["versions"] = versions
        context["current"] = versions[-1] if versions else None
    return context


def _case_page(
    request: Request,
    case_id: str,
    *,
    error: str | None = None,
    field: str | None = None,
    status_code: int = 200,
) -> Response:
    who = account(request)
    with writing(request) as c:
        case = _case(c, who.name, case_id)
        if error is None:
            record_open(c, who.name, case_id, now=_now(request))
        context = _case_context(c, request, who.name, case)
    context.update(error=error, error_field=field)
    return render(request, "reader/case.html", context, status_code=status_code)


@router.get("/cases/{case_id}", name="reader_case")
def case_page(request: Request, case_id: str) -> Response:
    return _case_page(request, case_id)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _int(form: FormData, name: str) -> int:
    text = _text(form, name)
    try:
        return int(text)
    except ValueError:
        return 0


def _seconds(form: FormData, name: str) -> float | None:
    try:
        value = float(_text(form, name))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def submission_of(form: FormData, lesion_ids: list[str]) -> ReadSubmission:
    """The read a posted case form holds: ``decision_<lesion>`` (confirmed/rejected),
    ``score_<lesion>``, ``site_<lesion>``, ``seconds_<lesion>``, ``patient_score``,
    ``patient_call``, ``reason``."""
    lesions = []
    for lesion in lesion_ids:
        decision = _text(form, f"decision_{lesion}")
        if decision not in ("confirmed", "rejected"):
            continue  # the library names the undecided candidate
        confirmed = decision == "confirmed"
        lesions.append(
            LesionRead(
                lesion,
                confirmed,
                _int(form, f"score_{lesion}") if confirmed else None,
                _text(form, f"site_{lesion}") or None,
                _seconds(form, f"seconds_{lesion}"),
            )
        )
    return ReadSubmission(
        _int(form, "patient_score"),
        _text(form, "patient_call"),
        tuple(lesions),
        _text(form, "reason") or None,
    )


@router.post("/cases/{case_id}", name="reader_case_submit")
def case_submit(request: Request, case_id: str, form: PostedForm) -> Response:
    who = account(request)
    config = web_state(request).study.config
    try:
        with writing(request) as c:
            case = _case(c, who.name, case_id)
            if case_id.startswith("t"):
                submit_adjudication(
                    c,
                    who.name,
                    case_id,
                    score=_int(form, "patient_score"),
                    call=_text(form, "patient_call"),
                    reason=_text(form, "reason") or None,
                    now=_now(request),
                )
            else:
                ids = [x.lesion_id for x in case_candidates(c, who.name, case)]
                submit_read(
                    c, config, who.name, case_id, submission_of(form, ids), now=_now(request)
                )
    except InputValidationError as exc:
        field = exc.hint.parameter if exc.hint is not None else None
        return _case_page(request, case_id, error=str(exc), field=field, status_code=REFUSED)
    return RedirectResponse(
        str(request.app.url_path_for("reader_worklist")) + "?submitted=" + case_id,
        status_code=303,
    )


@router.post("/sessions/lock", name="reader_session_lock")
def session_lock(request: Request) -> Response:
    who = account(request)
    config = web_state(request).study.config
    try:
        with writing(request) as c:
            lock_session(c, config, who.name, now=_now(request))
    except (InputValidationError, AccessRefused) as exc:
        return worklist_page(request, error=str(exc))
    return RedirectResponse(str(request.app.url_path_for("reader_worklist")), status_code=303)
