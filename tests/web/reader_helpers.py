"""Helpers of the reader workstation's web tests: a study's ``[reading]`` section and reader
accounts, a signed-in client per account name, reading a case through the pages' posts."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from fastapi import FastAPI

from petdx.study.accounts import create_account
from petdx.study.config import ReadingConfig, StudyFolder, open_study, write_config
from petdx.study.database import open_database
from petdx.study.roles import Role
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
