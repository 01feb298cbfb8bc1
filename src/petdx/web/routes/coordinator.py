"""The coordinator's pages: the site's patients, the forms generated from the data dictionary,
live eligibility and the radiation budget, enrolment, a field's history.

Thin over :mod:`petdx.study.forms` and :mod:`petdx.study.enrolment`: a route parses the
request, calls the library in one transaction and renders what it returns; every rule
(validation, reasons, locks, sites, who may see hospital identifiers) is the library's.
A coordinator and an investigator see the patients of their own site; a data manager sees
every site's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import Connection
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from petdx.errors import InputValidationError
from petdx.study.accounts import Account
from petdx.study.data_quality import list_queries, open_query_counts
from petdx.study.enrolment import enrol_patient, enrolment
from petdx.study.field_history import field_history
from petdx.study.forms import (
    FORMS,
    AccessRefused,
    FieldMessage,
    FormRejected,
    FormSpec,
    check_patient_access,
    form_records,
    hospital_identifiers,
    is_complete,
    mark_complete,
    next_record_id,
    patient_page,
    patient_site,
    save_form,
)
from petdx.study.live_eligibility import live_eligibility
from petdx.study.records import Author, get_record
from petdx.study.roles import Role
from petdx.study.signoff import lock_state
from petdx.web.body import PostedForm
from petdx.web.security import current_session
from petdx.web.templating import render, web_state

__all__ = [
    "REFUSED",
    "STUDY_WIDE",
    "account",
    "act",
    "as_text",
    "overview_context",
    "overview_page",
    "patient_context",
    "reading",
    "require_patient",
    "router",
    "to_overview",
    "writing",
]

router = APIRouter(prefix="/patients")

#: Forms whose values the eligibility engine reads: their pages show the live panel.
LIVE_FORMS = ("patients", "screening", "exposures")
#: Roles that see every site's patients (the others: their own site's).
STUDY_WIDE = (Role.DATA_MANAGER, Role.ADMIN, Role.STATISTICIAN)
#: Status of a page that shows a refused request (its messages) again: 200, because a
#: browser reports every 4xx page it loads as a console error, and the refusal is an answer
#: (the page's messages say what was refused; nothing was stored).
REFUSED = 200
#: Fields of a posted form that are the page's own, not the record's.
_PAGE_FIELDS = ("csrf_token", "reason", "record", "mode")


def account(request: Request) -> Account:
    return current_session(request).account


@contextmanager
def reading(request: Request) -> Iterator[Connection]:
    """A page's reads (:meth:`petdx.study.database.StudyDatabase.read`): never a write."""
    with web_state(request).database.read() as connection:
        yield connection


@contextmanager
def writing(request: Request) -> Iterator[Connection]:
    with web_state(request).database.begin_write() as connection:
        yield connection


def as_text(value: Any) -> str:
    """A stored value as a form field shows it (what the import would read back)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def require_patient(connection: Connection, patient_id: str, who: Account) -> dict[str, Any]:
    """The stored patient (404 when absent), refused (403) to a coordinator or investigator
    of another site."""
    patient = get_record(connection, "patients", {"patient_id": patient_id})
    if patient is None:
        raise HTTPException(404, f"No patient {patient_id} in this study.")
    if who.role not in STUDY_WIDE:
        try:
            check_patient_access(connection, patient_id, role=Role.COORDINATOR, site=who.site)
        except AccessRefused as exc:
            raise HTTPException(403, str(exc)) from None
    return patient


def require_form(form: str) -> FormSpec:
    spec = FORMS.get(form)
    if spec is None:
        raise HTTPException(404, f"No form {form}; the forms are {', '.join(FORMS)}.")
    return spec


def patient_context(connection: Connection, patient_id: str, who: Account) -> dict[str, Any]:
    """What every page about one patient shows in its header."""
    try:
        identifiers = hospital_identifiers(connection, patient_id, role=who.role, site=who.site)
    except AccessRefused:
        identifiers = None
    return {
        "patient_id": patient_id,
        "site": patient_site(connection, patient_id),
        "identifiers": identifiers,
        "lock": lock_state(connection, patient_id),
        "enrolment": enrolment(connection, patient_id),
        "forms": FORMS,
    }


def submitted(form: FormData) -> dict[str, str]:
    """The form's fields as text (the CSRF token and the page's own fields left out)."""
    return {k: v for k, v in form.items() if isinstance(v, str) and k not in _PAGE_FIELDS}


#: Patients per page of the patient list.
PATIENTS_PER_PAGE = 50


@router.get("", name="patients")
def patients_page(request: Request, page: int = 1) -> Response:
    who = account(request)
    site = None if who.role in STUDY_WIDE else who.site
    with reading(request) as c:
        page = max(page, 1)
        first = (page - 1) * PATIENTS_PER_PAGE
        shown = patient_page(c, site=site, limit=PATIENTS_PER_PAGE, offset=first)
        total = shown.total
        pages = max(1, -(-total // PATIENTS_PER_PAGE))
        if page > pages:  # past the end: the last page
            page = pages
            first = (page - 1) * PATIENTS_PER_PAGE
            shown = patient_page(c, site=site, limit=PATIENTS_PER_PAGE, offset=first)
        patients = shown.patients
        open_queries = open_query_counts(c, (p.patient_id for p in patients))
    return render(
        request,
        "coordinator/patients.html",
        {
            "patients": patients,
            "open_queries": open_queries,
            "site": site,
            "forms": FORMS,
            "page": page,
            "pages": pages,
            "total": total,
            "first": first + 1,
        },
    )


def _blank(spec: FormSpec, fixed: Mapping[str, str]) -> dict[str, str]:
    return {name: fixed.get(name, "") for name in spec.field_names}


def _by_field(messages: tuple[FieldMessage, ...]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for m in messages:
        if m.field is not None:
            out.setdefault(m.field, []).append(m.message)
    return out


def _form_page(
    request: Request,
    connection: Connection,
    spec: FormSpec,
    patient_id: str | None,
    values: Mapping[str, str],
    *,
    messages: tuple[FieldMessage, ...] = (),
    creating: bool,
    saved: str | None = None,
    status_code: int = 200,
) -> Response:
    who = account(request)
    context: dict[str, Any] = {
        "spec": spec,
        "values": values,
        "errors": _by_field(messages),
        "form_errors": [m.message for m in messages if m.field is None],
        "creating": creating,
        "saved": saved,
        "live": None,
        "records": [],
        "complete": False,
        "can_edit": who.role is Role.COORDINATOR,
        "patient": None,
        "queries": [],
        "as_text": as_text,
    }
    if patient_id is not None:
        context["patient"] = patient_context(connection, patient_id, who)
        context["complete"] = is_complete(connection, patient_id, spec.name)
        context["records"] = form_records(connection, patient_id, spec.name)
        context["can_edit"] = context["can_edit"] and context["patient"]["lock"] is None
        if spec.name in LIVE_FORMS:
            context["live"] = live_eligibility(connection, patient_id, spec.name, values)
        context["queries"] = [
            q
            for q in list_queries(connection, patient_id=patient_id, form=spec.name)
            if q.status.value != "closed"
        ]
    return render(request, "coordinator/form.html", context, status_code=status_code)


@router.get("/new", name="patient_new")
def new_patient(request: Request) -> Response:
    spec = FORMS["patients"]
    with reading(request) as c:
        return _form_page(request, c, spec, None, _blank(spec, {}), creating=True)


@router.post("/new", name="patient_create")
def create_patient(request: Request, form: PostedForm) -> Response:
    who = account(request)
    spec = FORMS["patients"]
    values = submitted(form)
    try:
        with writing(request) as c:
            save_form(c, "patients", values, author=Author(who.name), create=True, site=who.site)
    except FormRejected as exc:
        with reading(request) as c:
            return _form_page(
                request,
                c,
                spec,
                None,
                values,
                messages=exc.messages,
                creating=True,
                status_code=REFUSED,
            )
    url = request.app.url_path_for("patient_overview", patient_id=values["patient_id"])
    return RedirectResponse(str(url), 303)


def overview_context(
    connection: Connection, patient_id: str, who: Account, refusal: str | None = None
) -> dict[str, Any]:
    """What the patient's overview shows: forms, eligibility, budget, queries, lock."""
    head = patient_context(connection, patient_id, who)
    return {
        **head,
        "patient": head,
        "live": live_eligibility(connection, patient_id),
        "complete": {f: is_complete(connection, patient_id, f) for f in FORMS},
        "counts": {f: len(form_records(connection, patient_id, f)) for f in FORMS},
        "records": {f: form_records(connection, patient_id, f) for f in FORMS},
        "queries": list_queries(connection, patient_id=patient_id),
        "refusal": refusal,
        "as_text": as_text,
    }


def overview_page(
    request: Request, patient_id: str, *, refusal: str | None = None, status_code: int = 200
) -> Response:
    who = account(request)
    with reading(request) as c:
        require_patient(c, patient_id, who)
        context = overview_context(c, patient_id, who, refusal)
    return render(request, "coordinator/patient.html", context, status_code=status_code)


def to_overview(request: Request, patient_id: str, anchor: str = "") -> Response:
    url = request.app.url_path_for("patient_overview", patient_id=patient_id)
    return RedirectResponse(str(url) + anchor, 303)


def act(
    request: Request,
    patient_id: str,
    action: Callable[[Connection], object],
    anchor: str = "",
) -> Response:
    """Run a state change on the patient in one write transaction: back to the overview
    (303), or the overview with the library's refusal (:data:`REFUSED`) when it refuses."""
    who = account(request)
    try:
        with writing(request) as c:
            require_patient(c, patient_id, who)
            action(c)
    except (InputValidationError, AccessRefused) as exc:
        return overview_page(request, patient_id, refusal=str(exc), status_code=REFUSED)
    return to_overview(request, patient_id, anchor)


@router.get("/{patient_id}", name="patient_overview")
def overview(request: Request, patient_id: str) -> Response:
    return overview_page(request, patient_id)


@router.post("/{patient_id}/enrol", name="patient_enrol")
def enrol(request: Request, patient_id: str) -> Response:
    author = Author(account(request).name)
    return act(request, patient_id, lambda c: enrol_patient(c, patient_id, author=author))


def _record_values(
    connection: Connection, spec: FormSpec, patient_id: str, record: str | None
) -> tuple[dict[str, str], bool]:
    """The values a form page starts from, and whether it creates a record."""
    if not spec.repeating:
        stored = get_record(connection, spec.table, {"patient_id": patient_id})
    elif record:
        stored = get_record(connection, spec.table, {spec.key[0]: record})
        if stored is None or stored.get("patient_id") != patient_id:
            raise HTTPException(404, f"No record {record} of {spec.name} for {patient_id}.")
    else:
        stored = None
    if stored is None:
        fixed = {"patient_id": patient_id}
        if spec.repeating:
            fixed[spec.key[0]] = next_record_id(connection, patient_id, spec.name)
        return _blank(spec, fixed), True
    return {name: as_text(stored.get(name)) for name in spec.field_names}, False


@router.get("/{patient_id}/forms/{form}", name="form_page")
def form_page(request: Request, patient_id: str, form: str, record: str | None = None) -> Response:
    who = account(request)
    spec = require_form(form)
    with reading(request) as c:
        require_patient(c, patient_id, who)
        values, creating = _record_values(c, spec, patient_id, record)
        return _form_page(request, c, spec, patient_id, values, creating=creating)


@router.post("/{patient_id}/forms/{form}", name="form_save")
def form_save(request: Request, patient_id: str, form: str, raw: PostedForm) -> Response:
    who = account(request)
    spec = require_form(form)
    values = submitted(raw)
    values["patient_id"] = patient_id  # the page's patient, whatever was posted
    reason = str(raw.get("reason") or "").strip() or None
    creating = raw.get("mode") == "create"
    try:
        with writing(request) as c:
            require_patient(c, patient_id, who)
            result = save_form(
                c, form, values, author=Author(who.name, reason), create=creating or None
            )
    except FormRejected as exc:
        with reading(request) as c:
            return _form_page(
                request,
                c,
                spec,
                patient_id,
                values,
                messages=exc.messages,
                creating=creating,
                status_code=REFUSED,
            )
    with reading(request) as c:
        shown, fresh = _record_values(c, spec, patient_id, None)
        note = f"Saved ({result.action})."
        if result.queries_raised:
            note += f" {len(result.queries_raised)} data-quality query(ies) raised."
        return _form_page(request, c, spec, patient_id, shown, creating=fresh, saved=note)


@router.post("/{patient_id}/forms/{form}/check", name="form_check")
def form_check(request: Request, patient_id: str, form: str, raw: PostedForm) -> Response:
    """The live panel: every criterion's verdict on the unsaved values (htmx)."""
    who = account(request)
    spec = require_form(form)
    values = submitted(raw)
    values["patient_id"] = patient_id
    with reading(request) as c:
        require_patient(c, patient_id, who)
        live = live_eligibility(c, patient_id, spec.name, values)
    return render(request, "coordinator/_eligibility.html", {"live": live, "spec": spec})


@router.post("/{patient_id}/forms/{form}/complete", name="form_complete")
def form_complete(request: Request, patient_id: str, form: str) -> Response:
    who = account(request)
    spec = require_form(form)
    try:
        with writing(request) as c:
            require_patient(c, patient_id, who)
            mark_complete(c, patient_id, spec.name, author=Author(who.name))
    except FormRejected as exc:
        with reading(request) as c:
            values, creating = _record_values(c, spec, patient_id, None)
            return _form_page(
                request,
                c,
                spec,
                patient_id,
                values,
                messages=exc.messages,
                creating=creating,
                status_code=REFUSED,
            )
    url = request.app.url_path_for("form_page", patient_id=patient_id, form=form)
    return RedirectResponse(str(url), 303)


@router.get("/{patient_id}/forms/{form}/history/{field}", name="field_history")
def history(
    request: Request, patient_id: str, form: str, field: str, record: str | None = None
) -> Response:
    who = account(request)
    spec = require_form(form)
    if field not in spec.field_names:
        raise HTTPException(404, f"Form {form} has no field {field}.")
    key = {"patient_id": patient_id} if not spec.repeating else {spec.key[0]: record}
    with reading(request) as c:
        require_patient(c, patient_id, who)
        if spec.repeating:
            stored = get_record(c, spec.table, key)
            if stored is None or stored.get("patient_id") != patient_id:
                raise HTTPException(404, f"No record {record} of {form} for {patient_id}.")
        try:
            entries = field_history(c, form, key, field)
        except InputValidationError as exc:
            raise HTTPException(404, str(exc)) from None
        context: dict[str, Any] = {"patient": patient_context(c, patient_id, who)}
    context.update(spec=spec, field=spec.field(field), record=record, entries=entries)
    return render(request, "coordinator/history.html", context)
