"""The workstation's reads are the study's reads: two readers read every index-tracer case
of the demo study through the case pages; the same scores written as a reads CSV (from the
lesion registry and the score rule, not from the web study's database) and imported with
``petdx import``'s function into a second copy give the same reads rows (apart from the
time of the read) and the same analyses: accuracy, ROC and Cohen's kappa, recomputed (they
differ from the simulator's reads the copies started with)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select

from petdx.analysis import analyse_study
from petdx.analysis.results import results_json
from petdx.study.config import ReadingConfig, open_study
from petdx.study.database import open_database
from petdx.study.importing import import_csv
from petdx.study.records import Author
from petdx.study.schema import exchange_table, series
from petdx.web import create_app
from tests.demo_study import DemoStudy, copy_study
from tests.study.cohort import write_csv
from tests.web.conftest import Clock, add_role_accounts
from tests.web.reader_helpers import Clients, read_case, with_readers, worklist_ids

pytestmark = pytest.mark.slow

READERS = ("R1", "R2")  # the simulator's reader ids: the web reads replace theirs


def score(reader: str, item: str) -> int:
    """A reader's score of a lesion or patient (1-5), fixed by a hash: readers disagree."""
    return 1 + hashlib.sha256(f"{reader}|{item}".encode()).digest()[0] % 5


def call(value: int) -> str:
    return "positive" if value >= 4 else "indeterminate" if value == 3 else "negative"


def _reads(root: Path) -> list[tuple[object, ...]]:
    database = open_database(open_study(root))
    try:
        table = exchange_table("reads")
        columns = [c for c in table.c if c.name != "read_datetime"]
        with database.engine.connect() as c:
            return sorted(tuple(str(v) for v in r) for r in c.execute(select(*columns)).all())
    finally:
        database.dispose()


def _results(root: Path) -> str:
    study = open_study(root)
    database = open_database(study)
    try:
        return results_json(analyse_study(study, database).results)
    finally:
        database.dispose()


def test_reads_entered_at_the_workstation_equal_the_same_reads_imported(
    demo_study: DemoStudy, tmp_path: Path
) -> None:
    reading = ReadingConfig(readers=READERS)
    web = with_readers(
        add_role_accounts(open_study(copy_study(demo_study.reference, tmp_path / "web"))), reading
    )
    by_csv = open_study(copy_study(demo_study.reference, tmp_path / "csv"))
    tracer = web.config.tracer

    app = create_app(web.root, clock=Clock())
    clients = Clients(app)
    try:
        for reader in READERS:
            client = clients(reader)
            for case_id in worklist_ids(client):
                page = client.get(f"/read/cases/{case_id}").text
                patient = page.split('<p class="lead">', 1)[1].split(" ", 1)[0]
                patient_score = score(reader, patient)
                status = read_case(
                    client,
                    case_id,
                    lambda lesion, r=reader: score(r, lesion),
                    patient_score=patient_score,
                    call=call(patient_score),
                )
                assert status == 303
    finally:
        clients.close()
        app.state.web.database.dispose()

    k = by_csv.config.visual_score_at_least
    database = open_database(by_csv)
    try:
        with database.engine.connect() as c:
            scans = c.execute(
                select(series.c.patient_id, series.c.time_point_min)
                .where(series.c.modality == "PT", series.c.tracer == tracer)
                .distinct()
            ).all()
            registry = exchange_table("lesion_registry")
            lesions = c.execute(select(registry.c.lesion_id, registry.c.patient_id)).all()
        rows = []
        for reader in READERS:
            for patient, point in sorted(scans):
                base = {
                    "reader_id": reader,
                    "patient_id": patient,
                    "tracer": tracer,
                    "time_point_min": str(point),
                    "read_datetime": "",
                }
                for lesion, owner in sorted(lesions):
                    if owner == patient:
                        s = score(reader, lesion)
                        verdict = "positive" if s >= k else "negative"
                        rows.append({**base, "lesion_id": lesion, "score": str(s), "call": verdict})
                s = score(reader, patient)
                rows.append({**base, "lesion_id": "", "score": str(s), "call": call(s)})
        path = write_csv(tmp_path / "reads.csv", rows)
        import_csv(database, "reads", path, author=Author("importer", "reads re-entered"))
    finally:
        database.dispose()

    assert _reads(web.root) == _reads(by_csv.root)
    before, web_results = _results(demo_study.reference), _results(web.root)
    assert web_results == _results(by_csv.root)
    assert '"agreement"' in web_results
    # kappa (and the rest) recomputed from the new reads, not the simulator's
    assert web_results != before
