"""The coordinator's, data manager's and investigator's pages (petdx.web.routes.coordinator,
quality, signoff) through the TestClient: generated forms with server-side field messages,
nothing stored on bad input, markup escaped, live eligibility, enrolment refused over the
radiation budget, completion and reasons, field history, queries, lock and e-signature,
site scoping of patients and hospital identifiers."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from petdx.study.accounts import create_account
from petdx.study.database import StudyDatabase
from petdx.study.records import Author, insert_record
from petdx.study.roles import Role
from petdx.study.signoff import lock_state
from petdx.web.policy import POLICY
from petdx.web.routes.coordinator import REFUSED
from tests.study.cohort import PATIENTS, SCREENING
from tests.study.test_forms import BAD_INPUTS
from tests.web.conftest import BOTH_DATABASES, PASSWORD, WebClient, csrf_of, sign_in

P1, S1 = PATIENTS[0], SCREENING[0]
Client = Callable[[Role], WebClient]

#: The routes of the forms' pages (petdx.web.routes.coordinator, quality, signoff).
FORM_ROUTES = {
    "patients",
    "patient_new",
    "patient_create",
    "patient_overview",
    "patient_enrol",
    "form_page",
    "form_save",
    "form_check",
    "form_complete",
    "field_history",
    "queries",
    "query_raise",
    "quality_run",
    "query_answer",
    "query_close",
    "query_reopen",
    "patient_lock",
    "patient_unlock",
    "sign_page",
    "patient_sign",
}


def _db(app: FastAPI) -> StudyDatabase:
    database: StudyDatabase = app.state.web.database
    return database


def _post(client: WebClient, url: str, data: dict[str, str]) -> httpx.Response:
    return client.post(url, data={**data, "csrf_token": client.csrf})


def _screen(coordinator: WebClient, screening: dict[str, str] | None = None) -> None:
    response = _post(coordinator, "/patients/new", dict(P1))
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/patients/SIM-0001"
    data = {**(screening or S1), "mode": "create"}
    response = _post(coordinator, "/patients/SIM-0001/forms/screening", data)
    assert response.status_code == 200, response.text


def test_every_forms_route_is_in_the_policy_and_a_reader_is_refused(
    app: FastAPI, client_as: Client
) -> None:
    contexts = [c for c in iter_route_contexts(app.router.routes) if c.name in FORM_ROUTES]
    assert {c.name for c in contexts} == FORM_ROUTES
    assert set(POLICY) >= FORM_ROUTES
    reader = client_as(Role.READER)
    for route in contexts:
        path = re.sub(r"\{[^}]+\}", "SIM-0001", route.path)
        for method in sorted(set(route.methods or ()) - {"HEAD"}):
            response = reader.request(method, path, headers={"x-csrf-token": reader.csrf})
            assert response.status_code == 403, (method, path)


@BOTH_DATABASES
def test_screen_a_patient_see_the_failing_criterion_then_correct_it(client_as: Client) -> None:
    coordinator = client_as(Role.COORDINATOR)
    _screen(coordinator, {**S1, "consent_signed": "no", "consent_date": ""})
    page = coordinator.get("/patients/SIM-0001/forms/screening")
    assert page.status_code == 200
    for name in ("consent_signed", "planned_scan_date", "investigator_reason"):
        assert f'name="{name}"' in page.text
    assert "Written informed consent signed" in page.text  # the dictionary's label
    assert 'data-criterion="written_consent"' in page.text
    assert "<strong>fail</strong> · written consent" in page.text
    # the live panel on unsaved values (what htmx posts while the form is typed)
    live = _post(coordinator, "/patients/SIM-0001/forms/screening/check", dict(S1))
    assert live.status_code == 200
    assert "<strong>pass</strong> · written consent" in live.text
    assert "<strong>fail</strong>" not in live.text
    # nothing was stored by the check
    again = coordinator.get("/patients/SIM-0001")
    assert "<strong>fail</strong> · written consent" in again.text
    saved = _post(coordinator, "/patients/SIM-0001/forms/screening", dict(S1))
    assert saved.status_code == 200
    assert "<strong>fail</strong>" not in coordinator.get("/patients/SIM-0001").text


def test_bad_input_gives_a_field_message_and_stores_nothing(
    app: FastAPI, client_as: Client
) -> None:
    coordinator = client_as(Role.COORDINATOR)
    _screen(coordinator)
    exposure = {
        "exposure_id": "EXP-9",
        "patient_id": "SIM-0001",
        "exposure_date": "2025-01-10",
        "modality": "CT",
        "ct_dlp_mgy_cm": "500",
        "ct_region": "chest",
    }
    before = _db(app).content_hash()
    kinds = 0
    for form, name, text, words in BAD_INPUTS:
        if name == "patient_id" and form != "patients":
            continue  # the page fixes the patient of its URL
        base = {"patients": {**P1, "patient_id": "SIM-0009"}, "screening": S1}.get(form, exposure)
        url = "/patients/new" if form == "patients" else f"/patients/SIM-0001/forms/{form}"
        data = {**base, name: text}
        if form != "screening":
            data["mode"] = "create"
        response = _post(coordinator, url, data)
        assert response.status_code == REFUSED, (form, name, text)
        message = re.search(rf'id="f-{name}-err"[^>]*>(.*?)</p>', response.text, re.S)
        assert message is not None, (form, name, text)
        assert words in html.unescape(message.group(1)), (name, message.group(1))
        kinds += 1
    assert kinds >= 20
    assert _db(app).content_hash() == before


def test_markup_in_any_field_comes_back_escaped(client_as: Client) -> None:
    coordinator = client_as(Role.COORDINATOR)
    _screen(coordinator)
    script = '<script>alert("x")</script>'
    data = {**S1, "investigator_excludes": "yes", "investigator_reason": script}
    assert _post(coordinator, "/patients/SIM-0001/forms/screening", data).status_code == 200
    for url in ("/patients/SIM-0001/forms/screening", "/patients/SIM-0001"):
        page = coordinator.get(url).text
        assert script not in page
        assert "&lt;script&gt;" in page
    bad = _post(coordinator, "/patients/new", {**P1, "patient_id": script})
    assert bad.status_code == REFUSED
    assert script not in bad.text


@BOTH_DATABASES
def test_enrolment_refused_over_the_radiation_budget(client_as: Client) -> None:
    coordinator = client_as(Role.COORDINATOR)
    _screen(coordinator)
    # stated doses 30 + 25 = 55 mSv in the year before 2025-05-12 > the protocol's 50 mSv
    for n, (when, msv) in enumerate((("2025-01-10", "30"), ("2025-03-10", "25")), start=1):
        data = {
            "exposure_id": f"SIM-0001-X{n}",
            "exposure_date": when,
            "modality": "CT",
            "effective_dose_msv": msv,
            "mode": "create",
        }
        assert _post(coordinator, "/patients/SIM-0001/forms/exposures", data).status_code == 200
    page = coordinator.get("/patients/SIM-0001/forms/exposures").text
    assert "<strong>55.00 mSv</strong> of 50 mSv" in page
    refused = _post(coordinator, "/patients/SIM-0001/enrol", {})
    assert refused.status_code == REFUSED
    assert "fails radiation_under_50msv: 55.00 mSv" in refused.text
    assert "not enrolled" in coordinator.get("/patients/SIM-0001").text
    fix = {
        "exposure_id": "SIM-0001-X2",
        "exposure_date": "2025-03-10",
        "modality": "CT",
        "effective_dose_msv": "15",
    }
    assert _post(coordinator, "/patients/SIM-0001/forms/exposures", fix).status_code == 200
    enrolled = _post(coordinator, "/patients/SIM-0001/enrol", {})
    assert enrolled.status_code == 303
    assert "Enrolled on" in coordinator.get("/patients/SIM-0001").text


def test_complete_then_a_change_needs_a_reason_and_history_shows_it(client_as: Client) -> None:
    coordinator = client_as(Role.COORDINATOR)
    _screen(coordinator)
    done = _post(coordinator, "/patients/SIM-0001/forms/patients/complete", {})
    assert done.status_code == 303
    page = coordinator.get("/patients/SIM-0001/forms/patients").text
    assert 'name="reason"' in page
    assert 'href="/patients/SIM-0001/forms/patients/history/weight_kg"' in page
    refused = _post(coordinator, "/patients/SIM-0001/forms/patients", {**P1, "weight_kg": "64"})
    assert refused.status_code == REFUSED
    assert 'id="f-reason"' in refused.text
    assert "give the reason for the change" in refused.text
    ok = _post(
        coordinator,
        "/patients/SIM-0001/forms/patients",
        {**P1, "weight_kg": "64", "reason": "re-weighed"},
    )
    assert ok.status_code == 200
    history = coordinator.get("/patients/SIM-0001/forms/patients/history/weight_kg")
    assert history.status_code == 200
    rows = re.findall(
        r"<tr><td>[^<]+</td><td>coordinator</td><td>update</td>(.*?)</tr>", history.text
    )
    assert rows == ["<td>62.5</td><td>64.0</td><td>re-weighed</td>"]


@BOTH_DATABASES
def test_query_answer_close_lock_sign_unlock(app: FastAPI, client_as: Client) -> None:
    coordinator = client_as(Role.COORDINATOR)
    manager = client_as(Role.DATA_MANAGER)
    investigator = client_as(Role.INVESTIGATOR)
    _screen(coordinator)
    raised = _post(
        manager,
        "/quality/patients/SIM-0001/raise",
        {"target": "patients|SIM-0001|weight_kg", "message": "please check 62.5 kg"},
    )
    assert raised.status_code == 303
    listing = manager.get("/quality?status=open&form=patients").text
    assert "please check 62.5 kg" in listing
    found = re.search(r'#(Q-[0-9a-f]+)"', listing)
    assert found is not None
    qid = found.group(1)
    assert _post(coordinator, f"/quality/{qid}/close", {}).status_code == 403
    answered = _post(coordinator, f"/quality/{qid}/answer", {"answer": "scale log: 62.5 kg"})
    assert answered.status_code == 303
    assert "scale log: 62.5 kg" in manager.get("/quality?status=answered").text
    assert _post(manager, f"/quality/{qid}/close", {}).status_code == 303
    assert qid in manager.get("/quality?status=closed").text
    assert _post(manager, "/patients/SIM-0001/lock", {}).status_code == 303
    before = _db(app).content_hash()
    locked = _post(coordinator, "/patients/SIM-0001/forms/patients", {**P1, "weight_kg": "70"})
    assert locked.status_code == REFUSED
    assert "locked" in locked.text
    assert _db(app).content_hash() == before
    wrong = _post(investigator, "/patients/SIM-0001/sign", {"password": "not it"})
    assert wrong.status_code == REFUSED
    with _db(app).engine.connect() as c:  # (the failed password is counted: throttling)
        state = lock_state(c, "SIM-0001")
    assert state is not None
    assert state.signed_by is None
    assert 'type="password"' in investigator.get("/patients/SIM-0001/sign").text
    signed = _post(investigator, "/patients/SIM-0001/sign", {"password": PASSWORD})
    assert signed.status_code == 303
    assert "signed by investigator" in manager.get("/patients/SIM-0001").text
    unlocked = _post(manager, "/patients/SIM-0001/unlock", {"reason": "late lab value"})
    assert unlocked.status_code == 303
    page = manager.get("/patients/SIM-0001").text
    assert "signed by" not in page
    assert "forms locked" not in page


def test_patients_and_hospital_ids_stay_within_the_site(app: FastAPI, client_as: Client) -> None:
    coordinator = client_as(Role.COORDINATOR)
    _screen(coordinator)
    with _db(app).begin() as c:
        insert_record(
            c,
            "patient_identity",
            {"patient_id": "SIM-0001", "hospital_id": "H-777001", "issuer": ""},
            author=Author("test-setup"),
        )
    assert "H-777001" in coordinator.get("/patients/SIM-0001").text
    assert "SIM-0001" in coordinator.get("/patients").text
    manager = client_as(Role.DATA_MANAGER)
    overview = manager.get("/patients/SIM-0001")
    assert overview.status_code == 200
    assert "H-777001" not in overview.text
    create_account(
        _db(app),
        "coord-b",
        role=Role.COORDINATOR,
        site="site-b",
        password=PASSWORD,
        actor="test-setup",
    )
    with WebClient(app, follow_redirects=False) as other:
        assert sign_in(other, "coord-b").status_code == 303
        other.csrf = csrf_of(other.get("/").text)
        assert "SIM-0001" not in other.get("/patients").text
        assert other.get("/patients/SIM-0001").status_code == 403
        assert other.get("/patients/SIM-0001/forms/screening").status_code == 403
        response = _post(other, "/patients/SIM-0001/forms/patients", {**P1, "weight_kg": "70"})
        assert response.status_code == 403


def test_a_form_post_without_the_csrf_token_is_refused(app: FastAPI, client_as: Client) -> None:
    coordinator = client_as(Role.COORDINATOR)
    before = _db(app).content_hash()
    response = coordinator.post("/patients/new", data=dict(P1))
    assert response.status_code == 403
    assert _db(app).content_hash() == before


@pytest.mark.parametrize(
    "form",
    ["patients", "screening", "exposures", "scans", "lesion_registry", "pathology", "follow_up"],
)
def test_every_form_page_renders(client_as: Client, form: str) -> None:
    coordinator = client_as(Role.COORDINATOR)
    _screen(coordinator)
    page = coordinator.get(f"/patients/SIM-0001/forms/{form}")
    assert page.status_code == 200
    assert page.text.count("<label for=") >= 3


def test_the_patient_list_comes_in_pages(
    app: FastAPI, client_as: Callable[[Role], WebClient]
) -> None:
    """A site with many patients gets its list 50 at a time (the list had no paging and
    slowed every other request under load); a page past the end shows the last page."""
    from petdx.data_dictionary import TABLES
    from petdx.study.forms import assign_unsited_patients, list_patients
    from petdx.study.validation import parse_values
    from petdx.web.routes.coordinator import PATIENTS_PER_PAGE
    from tests.web.conftest import SITE

    n = 2 * PATIENTS_PER_PAGE + 7
    with _db(app).begin() as c:
        for k in range(n):
            values, problems = parse_values(
                TABLES["patients"], dict(PATIENTS[0], patient_id=f"PG-{k:04d}")
            )
            assert problems == []
            insert_record(c, "patients", values, author=Author("setup"))
        assign_unsited_patients(c, SITE, author=Author("setup"))
        expected = [p.patient_id for p in list_patients(c, site=SITE)]
    assert len(expected) == n
    coordinator = client_as(Role.COORDINATOR)
    seen: list[str] = []
    for page in (1, 2, 3):
        text = coordinator.get(f"/patients?page={page}").text
        listed = re.findall(r'href="/patients/(PG-\d{4})"', text)
        assert len(listed) == (PATIENTS_PER_PAGE if page < 3 else 7)
        assert f"of {n}" in text
        seen += listed
    assert seen == expected  # every patient once, in pseudonym order
    last = coordinator.get("/patients?page=99").text
    assert re.findall(r'href="/patients/(PG-\d{4})"', last) == expected[-7:]
    assert 'rel="prev"' in last
    assert 'rel="next"' not in last
