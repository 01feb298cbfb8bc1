"""The statistician's pages (petdx.web.routes.statistician) with the TestClient, on a copy of
the demo study (simulated, quantified and analysed once by ``petdx run``): lock a snapshot,
run its analyses in the background (a second run refused), read the headline results and
the report (under the report's own CSP), download the export (byte-identical twice); every
other role refused by the policy table."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from petdx.analysis.results import load_results
from petdx.study.config import StudyFolder, open_study
from petdx.study.roles import Role
from petdx.web.policy import POLICY
from petdx.web.routes.statistician import REPORT_CSP
from tests.demo_study import DemoStudy, copy_study
from tests.web.conftest import ACCOUNTS, PASSWORD, LiveServer, WebClient, add_role_accounts

pytestmark = pytest.mark.slow

ROUTES = {
    "stat_snapshots": ("GET", "/statistician/snapshots"),
    "stat_lock_snapshot": ("POST", "/statistician/snapshots"),
    "stat_snapshot": ("GET", "/statistician/snapshots/1"),
    "stat_analyse_snapshot": ("POST", "/statistician/snapshots/1/analyse"),
    "stat_analysis_status": ("GET", "/statistician/snapshots/1/status"),
    "stat_report": ("GET", "/statistician/snapshots/1/report"),
    "stat_export": ("GET", "/statistician/snapshots/1/export.zip"),
    "stat_export_deidentified": ("GET", "/statistician/snapshots/1/export-deidentified.zip"),
}


@pytest.fixture
def web_study(demo_study: DemoStudy, tmp_path: Path) -> StudyFolder:
    """The demo study (analysed by ``petdx run``) with one account per role."""
    return add_role_accounts(open_study(copy_study(demo_study.reference, tmp_path / "study")))


def _wait_done(client: WebClient, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        fragment = client.get("/statistician/snapshots/1/status")
        assert fragment.status_code == 200
        if "hx-trigger" not in fragment.text:  # no longer polling: the run has ended
            return fragment.text
        time.sleep(1)
    raise AssertionError(f"the analyses did not end within {seconds} s")


def test_policy_rows_for_every_statistician_route() -> None:
    for name in ROUTES:
        assert POLICY[name] == frozenset({Role.STATISTICIAN}), name


def test_statistician_locks_analyses_reads_and_exports(
    client_as: Callable[[Role], WebClient], web_study: StudyFolder, demo_study: DemoStudy
) -> None:
    stat = client_as(Role.STATISTICIAN)
    assert stat.get("/statistician/snapshots").status_code == 200
    refused = stat.post("/statistician/snapshots", data={"reason": "no token"})
    assert refused.status_code == 403  # no CSRF token
    empty = stat.post("/statistician/snapshots", data={"reason": " ", "csrf_token": stat.csrf})
    assert empty.status_code == 422
    assert "needs a reason" in empty.text
    assert not (web_study.root / "snapshots" / "1").exists()

    locked = stat.post(
        "/statistician/snapshots",
        data={"reason": "primary <script>alert(1)</script>", "csrf_token": stat.csrf},
    )
    assert locked.status_code == 303
    assert locked.headers["location"] == "/statistician/snapshots/1"
    page = stat.get("/statistician/snapshots/1")
    assert page.status_code == 200
    assert "primary &lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)" not in page.text
    assert "have not been run" in page.text
    assert stat.get("/statistician/snapshots/1/report").status_code == 404

    started = stat.post("/statistician/snapshots/1/analyse", data={"csrf_token": stat.csrf})
    assert started.status_code == 303
    again = stat.post("/statistician/snapshots/1/analyse", data={"csrf_token": stat.csrf})
    assert again.status_code == 409
    assert "running already" in again.text
    running = stat.get("/statistician/snapshots/1/status")
    assert 'hx-trigger="every 2s"' in running.text
    assert "<progress" in running.text
    ended = _wait_done(stat, 600)
    assert "Analyses finished" in ended, ended

    # The headline table, against the results of the reference `petdx run` (same data).
    page = stat.get("/statistician/snapshots/1").text
    reference = load_results(demo_study.reference / "results" / "results.json")
    assert reference.headline
    for row in reference.headline:
        if row.estimate is not None:
            assert f"<td>{row.measure}</td>" in page
            assert f"{row.estimate:.3f}" in page

    report = stat.get("/statistician/snapshots/1/report")
    assert report.status_code == 200
    assert report.headers["content-security-policy"] == REPORT_CSP
    html = web_study.root / "snapshots" / "1" / "report" / "report.html"
    assert report.text == html.read_text(encoding="utf-8")
    assert "Snapshot content hash (SHA-256)" in report.text

    first = stat.get("/statistician/snapshots/1/export.zip")
    second = stat.get("/statistician/snapshots/1/export.zip")
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/zip"
    assert "attachment" in first.headers["content-disposition"]
    assert first.content == second.content
    (web_study.root / "snapshots" / "1" / "export.zip").unlink()  # made again: the same bytes
    assert stat.get("/statistician/snapshots/1/export.zip").content == first.content
    with zipfile.ZipFile(io.BytesIO(first.content)) as archive:
        names = archive.namelist()
    assert "patients.csv" in names
    assert "data_dictionary.csv" in names
    assert "screening_log.csv" in names
    assert "patient_identity.csv" not in names
    deidentified = stat.get("/statistician/snapshots/1/export-deidentified.zip")
    assert deidentified.status_code == 200
    assert deidentified.content != first.content

    assert stat.get("/statistician/snapshots/9").status_code == 404


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.STATISTICIAN])
def test_other_roles_are_refused(client_as: Callable[[Role], WebClient], role: Role) -> None:
    client = client_as(role)
    for name, (method, path) in ROUTES.items():
        if method == "GET":
            response = client.get(path)
        else:
            response = client.post(path, data={"reason": "x", "csrf_token": client.csrf})
        assert response.status_code == 403, (role, name, response.status_code)


def test_no_session_no_statistician_page(anonymous: WebClient, web_study: StudyFolder) -> None:
    for name, (method, path) in ROUTES.items():
        response = anonymous.request(method, path)
        assert response.status_code in (303, 401), (name, response.status_code)
    assert not (web_study.root / "snapshots").exists()


def test_statistician_in_the_browser(
    live_server: LiveServer, page: Page, screenshot: Callable[[str], Path], tmp_path: Path
) -> None:
    """Sign in, lock a snapshot, run the analyses (progress polled by htmx), read the
    headline results, open the report, download the export; no console error (CSP
    violations included: the page fixture fails the test on any)."""
    page.goto(live_server.url + "/login")
    page.get_by_label("Name").fill(ACCOUNTS[Role.STATISTICIAN])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Snapshots: lock the data").click()
    expect(page.locator("h1")).to_have_text("Snapshots")
    page.get_by_label("Reason").fill("primary analysis")
    page.get_by_role("button", name="Lock snapshot").click()
    expect(page.locator("h1")).to_have_text("Snapshot 1")
    screenshot("snapshot-locked")
    page.get_by_role("button", name="Run the analyses").click()
    expect(page.locator("#analysis-status")).to_contain_text("Analyses finished", timeout=600_000)
    page.get_by_role("link", name="Show the results").click()
    expect(page.get_by_role("heading", name="Headline results")).to_be_visible()
    expect(page.locator("table tbody tr").first).to_be_visible()
    screenshot("snapshot-results")
    with page.expect_download() as info:
        page.get_by_role("link", name="Export with the real dates").click()
    download = info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.name.endswith("snapshot-1-export.zip")
    with zipfile.ZipFile(saved) as archive:
        assert "data_dictionary.csv" in archive.namelist()
    report = page.get_by_role("link", name="Open the report").get_attribute("href")
    assert report == "/statistician/snapshots/1/report"
    page.goto(live_server.url + report)
    expect(page.locator("body")).to_contain_text("Snapshot content hash")
    screenshot("snapshot-report")
