"""The web application's one policy table: which role may use which route.

Every request is decided here, by :func:`decide`, called once per request by the access
middleware (:mod:`petdx.web.security`) with the name of the route the request matches:

* a public route (:data:`PUBLIC`: the sign-in page and the static files) answers anyone;
* without a live session, every other request is sent to the sign-in page (HTML) or refused
  with 401;
* a route that has no row in :data:`POLICY` is refused (403) to every role: a new route is
  closed until someone decides who may use it;
* otherwise the route answers the roles of its row and refuses (403) the others.

Routes are named by their FastAPI ``name`` (one name per path and method). Helpers adding
routes add their rows here; :data:`PAGES` gives the pages listed on each role's home page.

The table decides who may reach a route, not what a route may show: the study layer
(:mod:`petdx.study`) still applies its own rules (a coordinator sees the hospital identifiers
of their own site only; a locked form takes no write).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from petdx.study.roles import Role

__all__ = ["ALL_ROLES", "PAGES", "POLICY", "PUBLIC", "Decision", "decide"]

ALL_ROLES = frozenset(Role)

#: Routes that answer without a session.
PUBLIC = frozenset({"login_page", "login", "static"})

_COORDINATOR = frozenset({Role.COORDINATOR})
_DATA_MANAGER = frozenset({Role.DATA_MANAGER})
_INVESTIGATOR = frozenset({Role.INVESTIGATOR})
#: the statistician's snapshots, analyses, report and export: no other role
_STATISTICIAN = frozenset({Role.STATISTICIAN})
#: the blinded reader (and the adjudicator, a reader account): no other role
_READER = frozenset({Role.READER})
#: who works on a site's patients (a coordinator and an investigator: their own site's)
_SITE_STAFF = frozenset({Role.COORDINATOR, Role.DATA_MANAGER, Role.INVESTIGATOR})

#: route name -> the roles that may use it. A route not listed is refused to everyone.
POLICY: Mapping[str, frozenset[Role]] = {
    # petdx.web.routes.auth, home
    "logout": ALL_ROLES,
    "home": ALL_ROLES,
    # petdx.web.routes.admin
    "admin_accounts": frozenset({Role.ADMIN}),
    "admin_disable_account": frozenset({Role.ADMIN}),
    # petdx.web.routes.coordinator: the site's patients and their forms
    "patients": _SITE_STAFF,
    "patient_new": _COORDINATOR,
    "patient_create": _COORDINATOR,
    "patient_overview": _SITE_STAFF,
    "patient_enrol": _COORDINATOR,
    "form_page": _SITE_STAFF,
    "form_save": _COORDINATOR,
    "form_check": _COORDINATOR,
    "form_complete": _COORDINATOR,
    "field_history": _SITE_STAFF,
    # petdx.web.routes.quality: data-quality queries
    "queries": frozenset({Role.DATA_MANAGER, Role.COORDINATOR}),
    "query_raise": _DATA_MANAGER,
    "quality_run": frozenset({Role.DATA_MANAGER, Role.COORDINATOR}),
    "query_answer": _COORDINATOR,
    "query_close": _DATA_MANAGER,
    "query_reopen": _DATA_MANAGER,
    # petdx.web.routes.signoff: lock and e-signature
    "patient_lock": _DATA_MANAGER,
    "patient_unlock": _DATA_MANAGER,
    "sign_page": _INVESTIGATOR,
    "patient_sign": _INVESTIGATOR,
    # petdx.web.routes.statistician: snapshots, their analyses, report and export
    "stat_snapshots": _STATISTICIAN,
    "stat_lock_snapshot": _STATISTICIAN,
    "stat_snapshot": _STATISTICIAN,
    "stat_analyse_snapshot": _STATISTICIAN,
    "stat_analysis_status": _STATISTICIAN,
    "stat_report": _STATISTICIAN,
    "stat_export": _STATISTICIAN,
    "stat_export_deidentified": _STATISTICIAN,
    # petdx.web.routes.reader: the reader workstation (petdx.study.reading)
    "reader_worklist": _READER,
    "reader_case": _READER,
    "reader_case_submit": _READER,
    "reader_session_lock": _READER,
    # petdx.web.routes.voi: the reader's VOIs (issue 14, docs/vois.md)
    "reader_vois": _READER,
    "reader_voi_add": _READER,
    "reader_voi_edit": _READER,
    "reader_voi_delete": _READER,
    "reader_voi": _READER,
    "reader_voi_mask": _READER,
    # petdx.web.routes.viewer: the volumes of a reader's case (the route checks the case)
    "reader_volume": _READER,
}

#: Pages listed on the home page of the roles that may open them: route name -> label.
PAGES: Mapping[str, str] = {
    "admin_accounts": "Accounts: who may sign in, their roles and sites",
    "patients": "Patients: screening, enrolment and the forms of each patient",
    "queries": "Queries: data-quality queries per site, form and status",
    "stat_snapshots": "Snapshots: lock the data, run the analyses, read the report, export",
    # petdx.web.routes.reader
    "reader_worklist": "Worklist: your cases to read, in your own random order",
}


class Decision(StrEnum):
    ALLOW = "allow"
    #: no session: to the sign-in page (or 401)
    SIGN_IN = "sign_in"
    #: 403
    REFUSE = "refuse"


def decide(route: str | None, role: Role | None) -> Decision:
    """What to do with a request to ``route`` (None: no route matches) by ``role`` (None: no
    live session)."""
    if route in PUBLIC:
        return Decision.ALLOW
    if role is None:
        return Decision.SIGN_IN
    if route is None:  # no such page: the application answers 404
        return Decision.ALLOW
    allowed = POLICY.get(route)
    if allowed is None or role not in allowed:
        return Decision.REFUSE
    return Decision.ALLOW
