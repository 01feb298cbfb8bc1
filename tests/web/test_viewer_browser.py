"""The reader's viewer (petdx.web.routes.viewer, templates/reader/viewer.html, static/viewer.js)
in Debian's Chromium: a simulated PET/MR study fuses PET over MR (the canvas read back and
its pixels counted), a PET without SUV is shown in Bq/ml with a warning that never names
SUV, and a volume outside the reader's case is refused. The PET/CT case of the demo study
(fused pixels, quantify's SUVmax at a lesion's hottest voxel, presets, planes and the
rotating MIP) is walked in tests/web/test_reader_browser.py.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nibabel as nib
import pydicom
import pytest
from playwright.sync_api import Page, expect

from petdx.simulate import simulate_cohort
from petdx.study.accounts import create_account
from petdx.study.config import StudyFolder, open_study
from petdx.study.database import open_database
from petdx.study.queries import table_rows
from petdx.study.reading import reader_case
from petdx.study.roles import Role
from tests.demo_study import DemoStudy, copy_study, ingested_study
from tests.web.conftest import (
    ACCOUNTS,
    PASSWORD,
    SITE,
    LiveServer,
    WebClient,
    add_role_accounts,
)
from tests.web.reader_cases import case_ids_of
from tests.web.reader_helpers import case_of, check_fused, series_row

pytestmark = pytest.mark.slow

READER = ACCOUNTS[Role.READER]


@pytest.fixture
def web_study(demo_study: DemoStudy, tmp_path: Path) -> StudyFolder:
    return add_role_accounts(open_study(copy_study(demo_study.reference, tmp_path / "study")))


def _sign_in(page: Page, server: LiveServer) -> None:
    page.goto(server.url + "/login")
    page.get_by_label("Name").fill(READER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _open_case(page: Page, server: LiveServer, case_id: str) -> None:
    page.goto(f"{server.url}/read/cases/{case_id}")
    expect(page.locator("#viewer")).to_have_attribute("data-state", "ready", timeout=120_000)


def test_pet_mr_fuses_pet_over_mr(
    pet_mr_live: tuple[LiveServer, StudyFolder], page: Page, screenshot: Callable[[str], Path]
) -> None:
    server, study = pet_mr_live
    _sign_in(page, server)
    (case_id, *_) = case_ids_of(study, READER)
    case = case_of(study, READER, case_id)
    assert series_row(study, case.anatomy_series_uids[0]).modality == "MR"
    _open_case(page, server, case_id)
    expect(page.locator("#viewer")).to_have_attribute("data-anatomy", "MR")
    expect(page.locator("#viewer")).to_have_attribute("data-unit", "SUVbw")
    screenshot("viewer-pet-mr")
    check_fused(page)


@pytest.fixture
def pet_mr_live(tmp_path: Path) -> Any:
    """A one-patient simulated PET/MR study (``petdx simulate --modality pet-mr``), ingested,
    with one account per role, served by ``petdx serve``."""
    from tests.web.server import start_server, stop_server

    cohort = tmp_path / "cohort"
    simulate_cohort(cohort, n_patients=1, seed=5, small=True, modality="pet-mr", workers=1)
    study = ingested_study(tmp_path / "study", cohort)
    add_role_accounts(study)
    server = start_server(study.root, tmp_path / "serve.log")
    yield server, study
    stop_server(server)


def test_a_volume_outside_the_readers_case_is_refused(
    client_as: Callable[[Role], WebClient], web_study: StudyFolder
) -> None:
    reader = client_as(Role.READER)
    first, *_ = case_ids_of(web_study, READER)
    case = case_of(web_study, READER, first)
    url = f"/read/cases/{first}/series/{{}}/volume.nii.gz"
    answer = reader.get(url.format(case.pet_series_uids[0]))
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-petdx-unit"] == "SUVbw"
    assert answer.content[:2] == b"\x1f\x8b"  # gzip
    header = nib.Nifti1Image.from_bytes(gzip.decompress(answer.content)).header
    assert header["descrip"].tobytes().rstrip(b"\0") == b"petdx SUVbw"  # nothing of DICOM
    database = open_database(web_study)
    try:
        with database.engine.connect() as connection:
            others = [
                r.series_uid
                for r in table_rows(connection, "series")
                if r.series_uid not in (*case.pet_series_uids, *case.anatomy_series_uids)
            ]
    finally:
        database.dispose()
    assert others
    for uid in others[:3]:  # another patient's or another tracer's series: not in this case
        assert reader.get(url.format(uid)).status_code == 404
    assert reader.get("/read/cases/no-such-case/series/1.2.3/volume.nii.gz").status_code == 404
    # another reader's case, even its own series: 403 (reader_case refuses it)
    database = open_database(web_study)
    try:
        create_account(
            database, "reader-b", role=Role.READER, site=SITE, password=PASSWORD, actor="test"
        )
    finally:
        database.dispose()
    theirs = case_ids_of(web_study, "reader-b")[0]
    assert theirs not in case_ids_of(web_study, READER)
    database = open_database(web_study)
    try:
        with database.engine.connect() as connection:
            their_case = reader_case(connection, "reader-b", theirs)
    finally:
        database.dispose()
    refused = reader.get(
        f"/read/cases/{theirs}/series/{their_case.pet_series_uids[0]}/volume.nii.gz"
    )
    assert refused.status_code == 403
    for role in (Role.COORDINATOR, Role.STATISTICIAN):  # not a reader: the policy refuses
        assert client_as(role).get(url.format(case.pet_series_uids[0])).status_code == 403


def test_a_pet_without_suv_is_shown_in_bq_per_ml_with_a_warning_never_naming_suv(
    live_server: LiveServer, page: Page, screenshot: Callable[[str], Path], web_study: StudyFolder
) -> None:
    (case_id, *_) = case_ids_of(web_study, READER)
    case = case_of(web_study, READER, case_id)
    folder = web_study.layout.stored(series_row(web_study, case.pet_series_uids[0]).folder)
    for path in sorted(folder.glob("*.dcm")):  # the stored copy loses its patient weight
        ds = pydicom.dcmread(path)
        del ds.PatientWeight
        ds.save_as(path)
    _sign_in(page, live_server)
    _open_case(page, live_server, case_id)
    expect(page.locator("#viewer")).to_have_attribute("data-unit", "Bq/ml")
    warning = page.locator(".viewer-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("could not be computed")
    expect(page.locator(".viewer-unit")).to_have_text("Bq/ml")
    screenshot("viewer-bq-ml")
    shown = page.locator("#viewer").inner_text()
    assert "SUV" not in shown, shown  # not in the warning, the presets or the readout
    options = page.locator("select.viewer-preset option").all_inner_texts()
    assert options == ["0 to the 99.5th percentile (Bq/ml)", "Custom"]
