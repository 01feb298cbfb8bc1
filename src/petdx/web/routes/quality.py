"""The data manager's pages: queries per site, form and status; raising, answering (the
coordinator), closing and reopening a query; running the data-quality rules on demand.

Thin over :mod:`petdx.study.data_quality`, which enforces who may do what (only a data manager
closes a query) whatever the policy table lets through.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import Response

from petdx.errors import InputValidationError
from petdx.study.data_quality import (
    QueryStatus,
    answer_query,
    close_query,
    get_query,
    list_queries,
    query_counts,
    raise_query,
    reopen_query,
    run_data_quality,
)
from petdx.study.forms import FORMS
from petdx.web.body import PostedForm, field_text
from petdx.web.routes.coordinator import (
    REFUSED,
    STUDY_WIDE,
    account,
    act,
    overview_page,
    reading,
    require_patient,
)
from petdx.web.templating import render

__all__ = ["router"]

router = APIRouter(prefix="/quality")


@router.get("", name="queries")
def queries_page(
    request: Request,
    site: str | None = None,
    form: str | None = None,
    status: str | None = "open",
) -> Response:
    who = account(request)
    if who.role not in STUDY_WIDE:
        site = who.site
    site = site or None
    form = form if form in FORMS else None
    wanted = status if status in {s.value for s in QueryStatus} else None
    with reading(request) as c:
        queries = list_queries(c, site=site, form=form, status=wanted)
        counts = query_counts(c, site=site)
    sites = sorted({s or "" for s, _, _ in counts})
    return render(
        request,
        "quality/queries.html",
        {
            "queries": queries,
            "counts": counts,
            "sites": sites,
            "forms": FORMS,
            "statuses": [s.value for s in QueryStatus],
            "site": site,
            "form": form,
            "status": wanted,
        },
    )


def _query_patient(request: Request, query_id: str) -> str:
    """The patient of a query (404 when there is no such query; 403 for another site)."""
    with reading(request) as c:
        try:
            query = get_query(c, query_id)
        except InputValidationError as exc:
            raise HTTPException(404, str(exc)) from None
        require_patient(c, query.patient_id, account(request))
    return query.patient_id


@router.post("/patients/{patient_id}/raise", name="query_raise")
def raise_page(request: Request, patient_id: str, posted: PostedForm) -> Response:
    who = account(request)
    target = field_text(posted, "target").split("|")
    message = field_text(posted, "message")
    spec = FORMS.get(target[0]) if len(target) == 3 else None
    if spec is None:
        return overview_page(
            request, patient_id, refusal="Choose the field the query is about.", status_code=REFUSED
        )
    form, record, field = target
    key = {spec.key[0]: record}
    return act(
        request,
        patient_id,
        lambda c: raise_query(
            c, patient_id, form, key, field, message, actor=who.name, role=who.role
        ),
        "#queries",
    )


@router.post("/patients/{patient_id}/run", name="quality_run")
def run_page(request: Request, patient_id: str) -> Response:
    who = account(request)
    return act(
        request, patient_id, lambda c: run_data_quality(c, patient_id, actor=who.name), "#queries"
    )


@router.post("/{query_id}/answer", name="query_answer")
def answer_page(request: Request, query_id: str, form: PostedForm) -> Response:
    who = account(request)
    answer = field_text(form, "answer")
    return act(
        request,
        _query_patient(request, query_id),
        lambda c: answer_query(c, query_id, answer, actor=who.name, role=who.role),
        "#queries",
    )


@router.post("/{query_id}/close", name="query_close")
def close_page(request: Request, query_id: str) -> Response:
    who = account(request)
    return act(
        request,
        _query_patient(request, query_id),
        lambda c: close_query(c, query_id, actor=who.name, role=who.role),
        "#queries",
    )


@router.post("/{query_id}/reopen", name="query_reopen")
def reopen_page(request: Request, query_id: str, form: PostedForm) -> Response:
    who = account(request)
    reason = field_text(form, "reason")
    return act(
        request,
        _query_patient(request, query_id),
        lambda c: reopen_query(c, query_id, reason, actor=who.name, role=who.role),
        "#queries",
    )
