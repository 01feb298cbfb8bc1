"""The reader's VOI routes (petdx.web.routes.voi) on a simulated study, on SQLite and on
PostgreSQL: a reader adds a missed lesion at a point, edits it, sees petdx's metrics; the
SEG on disk reads back as the mask the server answers; another reader gets 403 on the case
and on the VOI; bad posts are refused by name. In Chromium (the panel adding a missed lesion
at the crosshair, editing it, the SEG read back and checked by dciodvfy, the read
submitted): tests/web/test_reader_browser.py."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fastapi import FastAPI

from petdx.study.accounts import create_account
from petdx.study.config import StudyFolder
from petdx.study.database import open_database
from petdx.study.reader_vois import voi_history
from petdx.study.roles import Role
from petdx.web import create_app
from tests.dicom._dciodvfy import dciodvfy_errors
from tests.study.postgres import PostgresServer
from tests.voi_study import build_voi_study, largest_lesion
from tests.web.conftest import PASSWORD, SITE, Clock, WebClient, add_role_accounts, sign_in
from tests.web.reader_helpers import runs_mask, seg_mask

READER_A = Role.READER.value  # the conftest's reader account
READER_B = "reader-b"
#: How long the browser waits for petdx's answer to a post (ms).
POST_TIMEOUT_MS = 30_000
_CASE = re.compile(r'href="/read/cases/([^"/]+)"')


@dataclass(frozen=True)
class VoiWorld:
    cohort: Path
    study: StudyFolder


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def voi_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> VoiWorld:
    """The one-patient VOI study, on SQLite and on PostgreSQL (each test runs on both)."""
    url = None
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("web_pg_server")
        url = server.new_database()
    cohort, study = build_voi_study(tmp_path_factory.mktemp(f"voi-web-{request.param}"), url)
    add_role_accounts(study)
    database = open_database(study)
    try:
        create_account(
            database, READER_B, role=Role.READER, site=SITE, password=PASSWORD, actor="test"
        )
    finally:
        database.dispose()
    return VoiWorld(cohort, study)


@pytest.fixture
def voi_app(voi_world: VoiWorld) -> Iterator[FastAPI]:
    application = create_app(voi_world.study.root, clock=Clock())
    yield application
    application.state.web.database.dispose()


def _reader(app: FastAPI, name: str) -> tuple[WebClient, str]:
    """A signed-in reader client and the (only) case of its worklist."""
    client = WebClient(app, follow_redirects=False)
    client.__enter__()
    assert sign_in(client, name).status_code == 303
    page = client.get("/read")
    assert page.status_code == 200, page.text
    (case_id,) = set(_CASE.findall(page.text))
    case = client.get(f"/read/cases/{case_id}")
    assert case.status_code == 200
    client.csrf = re.search(r'data-csrf="([^"]+)"', case.text).group(1)  # type: ignore[union-attr]
    return client, case_id


def _post(client: WebClient, url: str, body: object) -> str:
    response = client.post(url, content=json.dumps(body), headers={"x-csrf-token": client.csrf})
    assert response.status_code == 200, response.text
    return response.text


def _seed(world: VoiWorld) -> list[float]:
    lesion = largest_lesion(world.cohort)
    return [float(lesion[f"centre_{a}_mm"]) for a in "xyz"]


def _voi_id(html: str) -> str:
    found = re.findall(r'data-voi="([^"]+)"', html)
    assert found, html
    return found[-1]


def _history(world: VoiWorld, reader: str, voi_id: str) -> list:
    database = open_database(world.study)
    try:
        with database.begin() as connection:
            return voi_history(connection, reader, voi_id)
    finally:
        database.dispose()


def test_add_edit_and_metrics_are_the_servers(voi_world: VoiWorld, voi_app: FastAPI) -> None:
    client, case_id = _reader(voi_app, READER_A)
    base = f"/read/cases/{case_id}/vois"
    lesion = largest_lesion(voi_world.cohort)
    html = _post(client, base, {"seed_mm": _seed(voi_world), "lesion_id": lesion["lesion_id"]})
    voi_id = _voi_id(html)
    (first,) = _history(voi_world, READER_A, voi_id)
    assert first.lesion_id == lesion["lesion_id"]
    assert f"<td>{lesion['lesion_id']}</td>" in html
    # The page shows the stored metrics (computed by petdx.quantify in the library).
    assert f"{first.metrics['suv_max']:.2f}" in html
    assert f"{first.metrics['volume_ml']:.2f}" in html
    edited = _post(
        client,
        f"{base}/{voi_id}/edits",
        {
            "operations": [{"op": "brush", "centre_mm": _seed(voi_world), "radius_mm": 14}],
            "base_version": 1,
            "reason": "whole lesion",
        },
    )
    history = _history(voi_world, READER_A, voi_id)
    assert [v.version for v in history] == [1, 2]
    second = history[-1]
    assert second.voxels > first.voxels
    assert f"{second.metrics['volume_ml']:.2f}" in edited
    assert "v2" in edited
    detail = client.get(f"{base}/{voi_id}").json()
    served = runs_mask(detail)
    assert second.seg_path is not None
    on_disk = seg_mask(voi_world.study, second.seg_path, second.series_uid)
    assert np.array_equal(served, on_disk)
    assert int(served.sum()) == second.voxels
    assert dciodvfy_errors(voi_world.study.layout.stored(second.seg_path)) == []
    nifti = client.get(f"{base}/{voi_id}/mask.nii.gz")
    assert nifti.status_code == 200
    assert nifti.content[:2] == b"\x1f\x8b"  # gzip
    client.__exit__(None, None, None)


def test_another_reader_gets_403(voi_world: VoiWorld, voi_app: FastAPI) -> None:
    client_a, case_a = _reader(voi_app, READER_A)
    html = _post(client_a, f"/read/cases/{case_a}/vois", {"seed_mm": _seed(voi_world)})
    voi_id = _voi_id(html)
    client_b, case_b = _reader(voi_app, READER_B)
    edit = {"operations": [{"op": "erase", "centre_mm": _seed(voi_world), "radius_mm": 4}]}
    assert case_a != case_b  # case ids are drawn per reader's worklist
    # A's case: refused by reader_case before anything else.
    for method, path in (
        ("GET", f"/read/cases/{case_a}/vois"),
        ("GET", f"/read/cases/{case_a}/vois/{voi_id}"),
        ("GET", f"/read/cases/{case_a}/vois/{voi_id}/mask.nii.gz"),
        ("POST", f"/read/cases/{case_a}/vois/{voi_id}/edits"),
    ):
        response = client_b.request(
            method, path, content=json.dumps(edit), headers={"x-csrf-token": client_b.csrf}
        )
        assert response.status_code == 403, (method, path)
    # A's VOI through B's own case: not B's VOI.
    for method, path in (
        ("GET", f"/read/cases/{case_b}/vois/{voi_id}"),
        ("GET", f"/read/cases/{case_b}/vois/{voi_id}/mask.nii.gz"),
        ("POST", f"/read/cases/{case_b}/vois/{voi_id}/edits"),
        ("POST", f"/read/cases/{case_b}/vois/{voi_id}/delete"),
    ):
        response = client_b.request(
            method, path, content=json.dumps(edit), headers={"x-csrf-token": client_b.csrf}
        )
        assert response.status_code == 403, (method, path)
    assert voi_id not in client_b.get(f"/read/cases/{case_b}/vois").text
    assert len(_history(voi_world, READER_A, voi_id)) == 1
    for client in (client_a, client_b):
        client.__exit__(None, None, None)


def test_bad_posts_are_refused_by_name(voi_world: VoiWorld, voi_app: FastAPI) -> None:
    client, case_id = _reader(voi_app, READER_A)
    base = f"/read/cases/{case_id}/vois"
    voi_id = _voi_id(_post(client, base, {"seed_mm": _seed(voi_world)}))
    for body, message in (
        ({"operations": [{"op": "smudge"}]}, "edit operation 1: unknown op"),
        (
            {"operations": [{"op": "brush", "centre_zyx": [0, 0, 99999], "radius_mm": 2}]},
            "outside the PET grid",
        ),
        ({"operations": []}, "non-empty list"),
    ):
        html = _post(client, f"{base}/{voi_id}/edits", body)
        assert 'id="voi-error"' in html
        assert message in html
    assert "outside the PET grid" in _post(client, base, {"seed_mm": [0, 0, 1e6]})
    assert "not a lesion candidate of this case" in _post(
        client, base, {"seed_mm": _seed(voi_world), "lesion_id": "SIM-9999-L01"}
    )
    # a form post (read by the CSRF check first) is told to send JSON, not answered with 500
    form = client.post(
        f"{base}/{voi_id}/edits", data={"csrf_token": client.csrf, "operations": "[]"}
    )
    assert form.status_code < 500
    assert "send a JSON object" in form.text
    response = client.post(f"{base}/{voi_id}/edits", content=b"{}")  # no CSRF token
    assert response.status_code == 403
    assert len(_history(voi_world, READER_A, voi_id)) == 1
    client.__exit__(None, None, None)
