"""The administrator's pages: the study's accounts, and disabling one.

Accounts are created with ``petdx users add`` (the password is typed at the server, never
sent through a form of this application); an account can be disabled here or with
``petdx users disable``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from petdx.errors import InputValidationError
from petdx.study.accounts import disable_account, list_accounts
from petdx.web.security import current_session
from petdx.web.templating import render, web_state

__all__ = ["router"]

router = APIRouter(prefix="/admin")


@router.get("/accounts", name="admin_accounts")
def accounts_page(request: Request) -> Response:
    return render(
        request,
        "admin/accounts.html",
        {"accounts": list_accounts(web_state(request).database), "error": None},
    )


@router.post("/accounts/disable", name="admin_disable_account")
def disable(request: Request, name: Annotated[str, Form(max_length=256)] = "") -> Response:
    session = current_session(request)
    state = web_state(request)
    if name == session.account.name:
        error = "You cannot disable your own account while signed in with it."
    else:
        try:
            disable_account(state.database, name, actor=session.account.name)
        except InputValidationError as exc:
            error = str(exc)
        else:
            return RedirectResponse(request.app.url_path_for("admin_accounts"), 303)
    return render(
        request,
        "admin/accounts.html",
        {"accounts": list_accounts(state.database), "error": error},
        status_code=422,
    )
