"""The reader workstation through its pages (TestClient, on SQLite and PostgreSQL): the
worklist order per reader, repeatable after signing in again; a read submitted and changed
with a reason; another reader's case refused (403); an unknown case 404; both readers'
sessions locked -> one adjudication task for a planted disagreement, read by the adjudicator
on the same pages; a session's reads hidden after its lock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from petdx.study.adjudication import adjudication_tasks_of
from petdx.study.config import ReadingConfig, StudyConfig, StudyFolder
from petdx.study.database import init_study, open_database
from petdx.study.reading_reads import read_versions
from petdx.web import create_app
from tests.study.reading_study import lesion_ids, seed_study
from tests.web.conftest import BOTH_DATABASES, Clock, add_role_accounts
from tests.web.reader_helpers import Clients, read_case, with_readers, worklist_ids

READING = ReadingConfig(readers=("reader-a", "reader-b"), adjudicator="reader-c")


@pytest.fixture
def web_study(tmp_path: Path, web_db_url: str) -> StudyFolder:
    study = init_study(
        tmp_path / "study", StudyConfig(name="Reader test study", database_url=web_db_url)
    )
    database = open_database(study)
    try:
        with database.begin_write() as c:
            seed_study(c, 4)
    finally:
        database.dispose()
    return with_readers(add_role_accounts(study), READING)


@pytest.fixture
def clients(app: FastAPI) -> Iterator[Clients]:
    made = Clients(app)
    yield made
    made.close()


@BOTH_DATABASES
def test_worklists_reads_access_and_adjudication_through_the_pages(
    app: FastAPI, clients: Clients, clock: Clock
) -> None:
    a, b = clients("reader-a"), clients("reader-b")
    order_a, order_b = worklist_ids(a), worklist_ids(b)
    assert len(order_a) == len(order_b) == 4
    assert worklist_ids(clients("reader-a")) == order_a  # signed in again: the same order
    assert not set(order_a) & set(order_b)
    # reader B: 403 on A's case and on posting to it; 404 on a case that does not exist
    assert b.get(f"/read/cases/{order_a[0]}").status_code == 403
    posted = b.post(f"/read/cases/{order_a[0]}", data={"csrf_token": b.csrf})
    assert posted.status_code == 403
    assert b.get("/read/cases/cnosuchcase").status_code == 404
    # an incomplete read is shown again with the problem, nothing stored
    page = a.post(f"/read/cases/{order_a[0]}", data={"csrf_token": a.csrf, "patient_score": "3"})
    assert page.status_code == 200
    assert "patient-level call" in page.text
    # A calls RW-0003's node positive (5), B negative (2): one planted disagreement
    planted = lesion_ids("RW-0003")[1]

    def score_a(lesion: str) -> int:
        return 5 if lesion == planted else 2

    for client, score_of in ((a, score_a), (b, lambda _: 2)):
        for case_id in worklist_ids(client):
            assert read_case(client, case_id, score_of) == 303
    # a change is a new version with a reason
    assert read_case(a, order_a[0], score_a, patient_score=5) == 200  # refused: no reason
    assert read_case(a, order_a[0], score_a, patient_score=5, reason="looked again") == 303
    database = app.state.web.database
    with database.engine.connect() as c:
        assert [v.version for v in read_versions(c, "reader-a", order_a[0])] == [1, 2]
    # B's pages never show A's reason or A's case ids
    assert "looked again" not in b.get("/read").text
    for client in (a, b):
        assert (
            client.post("/read/sessions/lock", data={"csrf_token": client.csrf}).status_code == 303
        )
    with database.engine.connect() as c:
        tasks = adjudication_tasks_of(c, "reader-c")
    assert [(t.patient_id, t.lesion_id) for t in tasks] == [("RW-0003", planted)]
    # locked: session 1's case does not open again; session 2 waits for the washout
    assert a.get(f"/read/cases/{order_a[1]}").status_code == 403
    assert "opens after the washout" in a.get("/read").text
    clock.advance(28 * 86400)
    a = clients("reader-a")  # the old session timed out meanwhile
    assert len(worklist_ids(a)) == 4  # session 2: the FDG cases
    # the adjudicator reads the task's case and settles it
    c_client = clients("reader-c")
    listing = c_client.get("/read").text
    assert tasks[0].task_id in listing
    assert a.get(f"/read/cases/{tasks[0].task_id}").status_code == 403
    page = c_client.get(f"/read/cases/{tasks[0].task_id}")
    assert page.status_code == 200
    assert f"lesion {planted}" in page.text
    done = c_client.post(
        f"/read/cases/{tasks[0].task_id}",
        data={"csrf_token": c_client.csrf, "patient_score": "2", "patient_call": "negative"},
    )
    assert done.status_code == 303
    with database.engine.connect() as c:
        assert adjudication_tasks_of(c, "reader-c")[0].score == 2


def test_a_reader_account_not_named_in_the_study_reads_nothing(
    app: FastAPI, clients: Clients
) -> None:
    page = clients("reader").get("/read")  # the role's test account, not in [reading] readers
    assert page.status_code == 200
    assert "not one of the study&#39;s readers" in page.text


def test_create_app_on_the_default_reading_settings(tmp_path: Path) -> None:
    """A study without [reading]: every reader account reads, in one session without a
    comparator tracer apart (defaults keep existing studies working)."""
    study = add_role_accounts(init_study(tmp_path / "plain", StudyConfig(comparator_tracer=None)))
    app = create_app(study.root)
    made = Clients(app)
    try:
        assert "Read session 1 of 1: 0 cases" in made("reader").get("/read").text
    finally:
        made.close()
        app.state.web.database.dispose()
