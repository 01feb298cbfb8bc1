"""Helpers of the reader workstation's web tests: a study's ``[reading]`` section and reader
accounts, a signed-in client per account name, reading a case through the pages' posts."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import nibabel as nib
import numpy as np
from fastapi import FastAPI
from PIL import Image
from playwright.sync_api import Page

from petdx.dicom import ImageSeries, SeriesKind, index_dicom_folder, read_seg, read_series_volume
from petdx.study.accounts import create_account
from petdx.study.config import ReadingConfig, StudyFolder, open_study, write_config
from petdx.study.database import open_database
from petdx.study.queries import measurement_rows, table_rows
from petdx.study.reading import ReaderCase, reader_case
from petdx.study.roles import Role
from petdx.suv import compute_suv, suv_volume
from tests.web.conftest import PASSWORD, SITE, WebClient, csrf_of, sign_in

_CASE_LINK = re.compile(r'<tr data-case="([^"]+)">')
_LESION = re.compile(r'<fieldset class="candidate" data-lesion="([^"]+)"')


def with_readers(study: StudyFolder, reading: ReadingConfig) -> StudyFolder:
    """``study`` with ``[reading]`` = ``reading`` and a reader account for each reader and
    the adjudicator (password :data:`PASSWORD`)."""
    write_config(study.root, replace(study.config, reading=reading))
    database = open_database(study)
    try:
        for name in (*reading.readers, *([reading.adjudicator] if reading.adjudicator else [])):
            create_account(
                database, name, role=Role.READER, site=SITE, password=PASSWORD, actor="test-setup"
            )
    finally:
        database.dispose()
    return open_study(study.root)


class Clients:
    """Signed-in TestClients by account name (closed by :meth:`close`)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.open: list[WebClient] = []

    def __call__(self, name: str) -> WebClient:
        client = WebClient(self.app, follow_redirects=False)
        client.__enter__()
        self.open.append(client)
        assert sign_in(client, name).status_code == 303
        client.csrf = csrf_of(client.get("/").text)
        return client

    def close(self) -> None:
        for client in self.open:
            client.__exit__(None, None, None)


def worklist_ids(client: WebClient) -> list[str]:
    page = client.get("/read")
    assert page.status_code == 200, page.text
    return _CASE_LINK.findall(page.text)


def candidates(html: str) -> list[str]:
    return _LESION.findall(html)


def read_case(
    client: WebClient,
    case_id: str,
    score_of: Callable[[str], int],
    *,
    patient_score: int = 4,
    call: str = "positive",
    reason: str | None = None,
) -> int:
    """Open the case page and post a read: every candidate confirmed with ``score_of``
    (lesion id -> 1-5; 0 rejects it), site as proposed; returns the post's status."""
    page = client.get(f"/read/cases/{case_id}")
    assert page.status_code == 200, page.text
    data = {"csrf_token": client.csrf, "patient_score": str(patient_score), "patient_call": call}
    for lesion in candidates(page.text):
        score = score_of(lesion)
        data[f"decision_{lesion}"] = "confirmed" if score else "rejected"
        data[f"score_{lesion}"] = str(score) if score else ""
        found = re.search(
            rf'name="site_{re.escape(lesion)}">.*?<option value="([^"]+)" selected', page.text, re.S
        )
        data[f"site_{lesion}"] = found.group(1) if found else "other"
        data[f"seconds_{lesion}"] = "0.5"
    if reason:
        data["reason"] = reason
    return client.post(f"/read/cases/{case_id}", data=data).status_code


# --- the viewer and the VOIs in the browser (the walk and the viewer's own tests) ---------

#: Chromium's canvas background (NiiVue backColor) and the viewer's crosshair colour.
BACKGROUND = (0, 0, 0)
CROSSHAIR = (0, 255, 0)


def fused_pixels(page: Page) -> dict[str, int]:
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


def check_fused(page: Page) -> None:
    """The fused canvas is not blank and shows a PET colour map; with the PET's opacity at 0
    the anatomy (CT or MR, grey) is what remains."""
    fused = fused_pixels(page)
    assert fused["image"] > 0.10 * fused["total"], fused  # not blank
    assert fused["colour"] > 0.01 * fused["total"], fused  # the PET's colour map
    opacity = page.locator("input.viewer-opacity")
    opacity.evaluate("input => { input.value = '0'; input.dispatchEvent(new Event('input')); }")
    page.wait_for_timeout(500)
    anatomy = fused_pixels(page)
    assert anatomy["grey"] > 0.05 * anatomy["total"], anatomy  # the CT or MR under it
    assert anatomy["colour"] < fused["colour"] / 10, (fused, anatomy)
    opacity.evaluate("input => { input.value = '0.6'; input.dispatchEvent(new Event('input')); }")


def case_of(study: StudyFolder, reader_id: str, case_id: str) -> ReaderCase:
    database = open_database(study)
    try:
        with database.engine.connect() as connection:
            return reader_case(connection, reader_id, case_id)
    finally:
        database.dispose()


def series_row(study: StudyFolder, series_uid: str) -> Any:
    database = open_database(study)
    try:
        with database.engine.connect() as connection:
            return next(r for r in table_rows(connection, "series") if r.series_uid == series_uid)
    finally:
        database.dispose()


def pet_series(study: StudyFolder, series_uid: str) -> ImageSeries:
    """The stored PET series ``series_uid``, read by petdx.dicom."""
    row = series_row(study, series_uid)
    (entry,) = [
        e
        for e in index_dicom_folder(study.layout.stored(row.folder)).of_kind(SeriesKind.PT)
        if e.series_instance_uid == series_uid
    ]
    return read_series_volume(entry)


def hottest_lesion_voxel(study: StudyFolder, case: ReaderCase) -> tuple[str, float, np.ndarray]:
    """(lesion id, quantify's SUVmax, the RAS mm of the lesion's hottest voxel) of the case's
    first scan, found from quantify's label map and petdx's SUV (not the viewer's files):
    the quantify stage's own label map (``derived/<patient>/<tracer>_<t>min/lesions.nii.gz``)
    gives the lesion's voxels, the PET series read and converted by petdx.dicom / petdx.suv
    their SUV, and the SUVmax is the one the quantify stage stored in ``measurements``."""
    minutes = case.time_points_min[0]
    folder = study.layout.derived_scan(case.patient_id, case.tracer, minutes)
    labels = nib.load(folder / "lesions.nii.gz")
    names = json.loads((folder / "labels.json").read_text())
    image = pet_series(study, case.pet_series_uids[0])
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


def runs_mask(detail: dict[str, Any]) -> np.ndarray:
    """The mask of a VOI's detail (``reader_voi``: run-length ``runs`` over ``shape``)."""
    flat = np.zeros(int(np.prod(detail["shape"])), dtype=bool)
    for start, length in detail["runs"]:
        flat[start : start + length] = True
    return flat.reshape(detail["shape"])


def seg_mask(study: StudyFolder, seg_path: str, pet_series_uid: str) -> np.ndarray:
    """The SEG stored at ``seg_path`` read back by petdx.dicom onto its PET series' grid."""
    series = pet_series(study, pet_series_uid)
    return np.asarray(read_seg(study.layout.stored(seg_path), series).labels.array) > 0
