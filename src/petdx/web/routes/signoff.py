"""Lock and sign: the data manager locks and unlocks a patient's forms; the investigator
e-signs them, entering the password again (checked by
:func:`petdx.study.accounts.check_password`, throttled like a sign-in). Thin over
:mod:`petdx.study.signoff`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from petdx.errors import InputValidationError
from petdx.study.accounts import check_password
from petdx.study.forms import AccessRefused
from petdx.study.signoff import SIGNATURE_MEANING, lock_patient, sign_patient, unlock_patient
from petdx.web.body import PostedForm, field_text
from petdx.web.routes.coordinator import (
    REFUSED,
    account,
    act,
    overview_context,
    reading,
    require_patient,
    to_overview,
    writing,
)
from petdx.web.templating import render, web_state

__all__ = ["router"]

router = APIRouter(prefix="/patients")


@router.post("/{patient_id}/lock", name="patient_lock")
def lock(request: Request, patient_id: str) -> Response:
    who = account(request)
    return act(
        request, patient_id, lambda c: lock_patient(c, patient_id, actor=who.name, role=who.role)
    )


@router.post("/{patient_id}/unlock", name="patient_unlock")
def unlock(request: Request, patient_id: str, form: PostedForm) -> Response:
    who = account(request)
    reason = field_text(form, "reason")
    return act(
        request,
        patient_id,
        lambda c: unlock_patient(c, patient_id, reason, actor=who.name, role=who.role),
    )


def _sign_page(
    request: Request, patient_id: str, error: str | None = None, status_code: int = 200
) -> Response:
    who = account(request)
    with reading(request) as c:
        require_patient(c, patient_id, who)
        context = overview_context(c, patient_id, who)
    context.update(meaning=SIGNATURE_MEANING, error=error)
    return render(request, "quality/sign.html", context, status_code=status_code)


@router.get("/{patient_id}/sign", name="sign_page")
def sign_page(request: Request, patient_id: str) -> Response:
    return _sign_page(request, patient_id)


@router.post("/{patient_id}/sign", name="patient_sign")
def sign(request: Request, patient_id: str, form: PostedForm) -> Response:
    who = account(request)
    password = form.get("password")
    state = web_state(request)
    verified = (
        isinstance(password, str)
        and bool(password)
        and check_password(
            state.database, who.name, password, state.settings, now=request.app.state.clock()
        )
        is not None
    )
    if not verified:
        return _sign_page(
            request, patient_id, "The password is not right: nothing was signed.", REFUSED
        )
    try:
        with writing(request) as c:
            require_patient(c, patient_id, who)
            sign_patient(c, patient_id, actor=who.name, role=who.role, password_verified=True)
    except (InputValidationError, AccessRefused) as exc:
        return _sign_page(request, patient_id, str(exc), REFUSED)
    return to_overview(request, patient_id)
