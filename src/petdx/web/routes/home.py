"""The home page: who is signed in, and what their role can do here."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from petdx.study.roles import Role
from petdx.web.security import current_session
from petdx.web.templating import render

__all__ = ["ROLE_TASKS", "router"]

router = APIRouter()

#: What each role does in the study (shown on its home page, above its pages).
ROLE_TASKS: dict[Role, str] = {
    Role.ADMIN: "Manage the study's accounts: who may sign in, with which role, at which site.",
    Role.COORDINATOR: "Screen, enrol and record the patients of your site: screening, "
    "radiation history, consent, scan visits, pathology and PD-L1, follow-up.",
    Role.DATA_MANAGER: "Review data quality: raise and close queries, lock a patient's forms.",
    Role.INVESTIGATOR: "Review and e-sign the locked forms of your site's patients.",
    Role.READER: "Read the study's images blinded to pathology and clinical data.",
    Role.STATISTICIAN: "Lock a snapshot of the database, run the pre-specified analyses, "
    "read the report and download the export.",
}


@router.get("/", name="home")
def home(request: Request) -> Response:
    session = current_session(request)
    return render(request, "home.html", {"task": ROLE_TASKS[session.account.role]})
