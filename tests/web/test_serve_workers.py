"""``petdx serve --workers N``: N processes answer one study, and what one process wrote
(a session, a patient) is seen by the others, because everything lives in the study
database."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from petdx.study.config import StudyFolder
from petdx.study.roles import Role
from tests.study.cohort import PATIENTS
from tests.web.conftest import ACCOUNTS, BOTH_DATABASES, PASSWORD, csrf_of
from tests.web.server import start_server, stop_server


def _children(pid: int, *, workers_only: bool = False) -> set[int]:
    """The child processes of ``pid`` (only uvicorn's worker processes: not
    multiprocessing's resource tracker)."""
    found: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and (not workers_only or b"resource_tracker" not in command):
            found.add(int(stat.parent.name))
    return found


@BOTH_DATABASES
def test_two_worker_processes_share_sessions_and_writes(
    web_study: StudyFolder, tmp_path: Path
) -> None:
    server = start_server(web_study.root, tmp_path / "serve.log", workers=2)
    try:
        workers = _children(server.process.pid, workers_only=True)
        # uvicorn's supervisor keeps one process per worker (and no other child)
        assert len(workers) == 2, (workers, server.log.read_text())
        # many connections, one session: whichever process answers knows it
        with httpx.Client(base_url=server.url, follow_redirects=False) as browser:
            page = browser.get("/login")
            signed_in = browser.post(
                "/login",
                data={
                    "name": ACCOUNTS[Role.COORDINATOR],
                    "password": PASSWORD,
                    "csrf_token": csrf_of(page.text),
                },
            )
            assert signed_in.status_code == 303, signed_in.text
            csrf = csrf_of(browser.get("/").text)
            cookies = dict(browser.cookies)
        patient = {k: v for k, v in PATIENTS[0].items() if k != "patient_id"}
        for k in range(12):
            # a new connection each time, so that the kernel spreads them over the workers
            with httpx.Client(base_url=server.url, cookies=cookies) as one:
                saved = one.post(
                    "/patients/new",
                    data={**patient, "patient_id": f"W-{k:02d}", "csrf_token": csrf},
                    follow_redirects=False,
                )
                assert saved.status_code == 303, saved.text
                listed = one.get("/patients?page=1")
                assert listed.status_code == 200
        with httpx.Client(base_url=server.url, cookies=cookies) as one:
            text = one.get("/patients").text
        for k in range(12):
            assert f"W-{k:02d}" in text
    finally:
        stop_server(server)
    assert server.process.returncode is not None
    assert not _children(server.process.pid), "a worker outlived the server"


@pytest.mark.parametrize("workers", ["0", "many"])
def test_bad_worker_count_is_refused(web_study: StudyFolder, workers: str) -> None:
    from typer.testing import CliRunner

    from petdx.cli.app import app

    result = CliRunner().invoke(app, ["serve", str(web_study.root), "--workers", workers])
    assert result.exit_code == 2
    assert "--workers" in result.output
