"""The reader's viewer (petdx.web.routes.viewer, templates/reader/viewer.html, static/viewer.js)
in Debian's Chromium on the demo study (simulated, ingested and quantified by ``petdx run``)
and on a simulated PET/MR study: the case opens, PET renders fused over CT (or MR) - the
canvas is read back and its pixels counted -, the SUV at a lesion's hottest voxel equals
``petdx quantify``'s SUVmax of that lesion, and a volume outside the reader's case is refused.

The hottest voxel is found without the viewer's code: the quantify stage's own label map
(``derived/<patient>/<tracer>_<t>min/lesions.nii.gz``) gives the lesion's voxels, the PET
series read and converted by petdx.dicom / petdx.suv gives their SUV, and the SUVmax compared
with is the one the quantify stage stored in the ``measurements`` table.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pydicom
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from petdx.dicom import SeriesKind, index_dicom_folder, read_series_volume
from petdx.simulate import simulate_cohort
from petdx.study.accounts import create_account
from petdx.study.config import StudyFolder, open_study
from petdx.study.database import open_database
from petdx.study.queries import measurement_rows, table_rows
from petdx.study.reading import ReaderCase, reader_case
from petdx.study.roles import Role
from petdx.suv import compute_suv, suv_volume
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

pytestmark = [pytest.mark.xdist_group("demo"), pytest.mark.slow]

READER = ACCOUNTS[Role.READER]
#: Chromium's canvas background (NiiVue backColor) and the viewer's crosshair colour.
BACKGROUND = (0, 0, 0)
CROSSHAIR = (0, 255, 0)


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


def _fused_pixels(page: Page) -> dict[str, int]:
    """Pixels of the fused canvas read back (its screenshot), the colour bar strip left out:
    ``image`` (neither background nor crosshair), ``grey`` (r = g = b: the CT or MR) and
    ``colour`` (a PET colour map's pixel over it)."""
    png = page.locator("#viewer canvas.viewer-canvas").screenshot()
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    rgb = rgb[: int(rgb.shape[0] * 0.88)]  # above NiiVue's colour bar
    flat = rgb.reshape(-1, 3)
    background = np.all(flat == BACKGROUND, axis=1)
    crosshair = np.all(flat == CROSSHAIR, axis=1)
    image = ~background & ~crosshair
    grey = image & (flat.max(axis=1) - flat.min(axis=1) <= 2)
    colour = image & (flat[:, 0] - flat[:, 2] > 60)  # warm colour maps: red well above blue
    return {
        "total": int(flat.shape[0]),
        "image": int(image.sum()),
        "grey": int(grey.sum()),
        "colour": int(colour.sum()),
    }


def _check_fused(page: Page) -> None:
    """The fused canvas is not blank and shows a PET colour map; with the PET's opacity at 0
    the anatomy (CT or MR, grey) is what remains."""
    fused = _fused_pixels(page)
    assert fused["image"] > 0.10 * fused["total"], fused  # not blank
    assert fused["colour"] > 0.01 * fused["total"], fused  # the PET's colour map
    opacity = page.locator("input.viewer-opacity")
    opacity.evaluate("input => { input.value = '0'; input.dispatchEvent(new Event('input')); }")
    page.wait_for_timeout(500)
    anatomy = _fused_pixels(page)
    assert anatomy["grey"] > 0.05 * anatomy["total"], anatomy  # the CT or MR under it
    assert anatomy["colour"] < fused["colour"] / 10, (fused, anatomy)
    opacity.evaluate("input => { input.value = '0.6'; input.dispatchEvent(new Event('input')); }")


def _case(study: StudyFolder, case_id: str) -> ReaderCase:
    database = open_database(study)
    try:
        with database.engine.connect() as connection:
            return reader_case(connection, READER, case_id)
    finally:
        database.dispose()


def _series_row(study: StudyFolder, series_uid: str) -> Any:
    database = open_database(study)
    try:
        with database.engine.connect() as connection:
            return next(r for r in table_rows(connection, "series") if r.series_uid == series_uid)
    finally:
        database.dispose()


def _hottest_lesion_voxel(study: StudyFolder, case: ReaderCase) -> tuple[str, float, np.ndarray]:
    """(lesion id, quantify's SUVmax, the RAS mm of the lesion's hottest voxel) of the case's
    first scan, found from quantify's label map and petdx's SUV (not the viewer's files)."""
    minutes = case.time_points_min[0]
    folder = study.layout.derived_scan(case.patient_id, case.tracer, minutes)
    labels = nib.load(folder / "lesions.nii.gz")
    names = json.loads((folder / "labels.json").read_text())
    row = _series_row(study, case.pet_series_uids[0])
    (entry,) = [
        e
        for e in index_dicom_folder(study.layout.stored(row.folder)).of_kind(SeriesKind.PT)
        if e.series_instance_uid == case.pet_series_uids[0]
    ]
    image = read_series_volume(entry)
    suv = suv_volume(image, compute_suv(image, normalization="bw"))
    suv_xyz = np.transpose(np.asarray(suv.array), (2, 1, 0))  # NIfTI order, as the label map
    assert labels.shape == suv_xyz.shape
    label_data = np.asarray(labels.dataobj)
    database = open_database(study)
    try:
        with database.engine.connect() as connection:
            stored = {
                m.lesion_id: float(m.value)
                for m in measurement_rows(connection)
                if m.metric == "suv_max"
                and m.patient_id == case.patient_id
                and m.tracer == case.tracer
                and m.time_point_min == minutes
                and m.value is not None
            }
    finally:
        database.dispose()
    candidates = [(int(k), lid) for k, lid in names.items() if lid in stored]
    assert candidates, f"no quantified lesion in {folder}"
    label, lesion_id = max(candidates, key=lambda c: stored[c[1]])
    mask = label_data == label
    index = np.unravel_index(np.argmax(np.where(mask, suv_xyz, -np.inf)), suv_xyz.shape)
    ras = labels.affine @ np.array([*index, 1.0])
    return lesion_id, stored[lesion_id], ras[:3]


def test_a_reader_case_opens_fused_pet_ct_with_quantify_suv_at_the_hottest_voxel(
    live_server: LiveServer, page: Page, screenshot: Callable[[str], Path], web_study: StudyFolder
) -> None:
    _sign_in(page, live_server)
    (case_id, *_) = case_ids_of(web_study, READER)
    case = _case(web_study, case_id)
    _open_case(page, live_server, case_id)
    viewer = page.locator("#viewer")
    expect(viewer).to_have_attribute("data-unit", "SUVbw")
    expect(viewer).to_have_attribute("data-anatomy", "HU")
    expect(page.locator(".viewer-warning")).to_be_hidden()
    screenshot("viewer-pet-ct")
    _check_fused(page)

    lesion_id, suv_max, ras = _hottest_lesion_voxel(web_study, case)
    at = page.evaluate("mm => window.petdxViewer.moveTo(mm)", ras.tolist())
    assert at["value"] == pytest.approx(suv_max, rel=1e-6), (lesion_id, at)
    value = page.locator(".viewer-value")
    assert float(value.get_attribute("data-value") or "nan") == pytest.approx(suv_max, rel=1e-6)
    expect(value).to_have_text(f"{suv_max:.2f}")
    expect(page.locator(".viewer-unit")).to_have_text("SUV")
    screenshot("viewer-hottest-voxel")

    # the window presets, the single planes and the rotating MIP
    preset = page.locator("select.viewer-preset")
    expect(preset.locator("option")).to_have_text(["SUV 0–5", "SUV 0–10", "Custom"])
    preset.select_option("0-10")
    assert page.evaluate("window.petdxViewer.petVolume.cal_max") == 10
    preset.select_option("custom")
    page.locator("input.viewer-max").fill("7.5")
    page.locator("input.viewer-max").dispatch_event("change")
    assert page.evaluate("window.petdxViewer.petVolume.cal_max") == 7.5
    for view in ("axial", "coronal", "sagittal"):
        page.locator(f"button[data-view={view}]").click()
        expect(page.locator(f"button[data-view={view}]")).to_have_attribute("aria-pressed", "true")
    page.locator("button[data-view=mip]").click()
    mip = page.locator("canvas.viewer-mip")
    expect(mip).to_be_visible()
    png = np.asarray(Image.open(io.BytesIO(mip.screenshot())).convert("L"))
    assert (png < 200).mean() > 0.01  # dark uptake on the white projection
    screenshot("viewer-mip")
    page.locator("button[data-view=multiplanar]").click()
    expect(page.locator("canvas.viewer-canvas")).to_be_visible()


def test_pet_mr_fuses_pet_over_mr(
    pet_mr_live: tuple[LiveServer, StudyFolder], page: Page, screenshot: Callable[[str], Path]
) -> None:
    server, study = pet_mr_live
    _sign_in(page, server)
    (case_id, *_) = case_ids_of(study, READER)
    case = _case(study, case_id)
    assert _series_row(study, case.anatomy_series_uids[0]).modality == "MR"
    _open_case(page, server, case_id)
    expect(page.locator("#viewer")).to_have_attribute("data-anatomy", "MR")
    expect(page.locator("#viewer")).to_have_attribute("data-unit", "SUVbw")
    screenshot("viewer-pet-mr")
    _check_fused(page)


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
    case = _case(web_study, first)
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
    case = _case(web_study, case_id)
    folder = web_study.layout.stored(_series_row(web_study, case.pet_series_uids[0]).folder)
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
