"""The reader workstation's library (petdx.study.reading, reading_reads, adjudication): seeded
worklists stored in the audit trail, read sessions and the washout, versioned reads written
into ``reads``, access, discordant calls -> adjudication tasks, the primary read and the
multi-reader table. Every test runs on SQLite and PostgreSQL (``database``)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from petdx.errors import InputValidationError
from petdx.study.adjudication import (
    adjudication_tasks_of,
    create_tasks,
    mrmc_rows,
    primary_reads,
    submit_adjudication,
)
from petdx.study.audit import audit_history
from petdx.study.config import (
    ReadingConfig,
    StudyConfig,
    StudyFolder,
    load_config,
    write_config,
)
from petdx.study.database import StudyDatabase
from petdx.study.forms import AccessRefused
from petdx.study.integrity import verify_study
from petdx.study.reading import CaseNotFound, reader_case, session_state, worklist
from petdx.study.reading_reads import (
    LesionRead,
    ReadSubmission,
    lock_session,
    read_versions,
    record_open,
    submit_read,
)
from petdx.study.records import insert_record
from petdx.study.schema import exchange_table
from tests.study.reading_study import AUTHOR, FDG, INDEX, at, lesion_ids, seed_study

CONFIG = StudyConfig(reading=ReadingConfig(readers=("R1", "R2"), adjudicator="R3"))


def _read(patient: str, second_score: int = 2, call: str = "positive") -> ReadSubmission:
    first, second = lesion_ids(patient)
    return ReadSubmission(
        4,
        call,
        (
            LesionRead(first, True, 4, "lung", 3.0),
            LesionRead(second, True, second_score, "bone", 2.0),
        ),
    )


def _read_all(
    database: StudyDatabase, reader: str, config: StudyConfig = CONFIG, **planted: int
) -> None:
    with database.begin_write() as c:
        for entry in worklist(c, config, reader, now=at()).entries:
            record_open(c, reader, entry.case.case_id, now=at())
            score = planted.get(entry.case.patient_id.replace("-", "_"), 2)
            submit_read(
                c,
                config,
                reader,
                entry.case.case_id,
                _read(entry.case.patient_id, score),
                now=at(0.01),
            )


def test_worklists_are_seeded_permutations_stored_in_the_audit_trail(
    database: StudyDatabase,
) -> None:
    with database.begin_write() as c:
        patients = seed_study(c, 5)
        first = worklist(c, CONFIG, "R1", now=at())
        other = worklist(c, CONFIG, "R2", now=at())
    order = [e.case.patient_id for e in first.entries]
    assert sorted(order) == patients  # one index-tracer case per patient in session 1
    assert order != [e.case.patient_id for e in other.entries]
    assert {e.case.tracer for e in first.entries} == {INDEX}
    assert all(e.case.time_points_min == (60, 120) for e in first.entries)
    # a case id says nothing of the patient, and is the reader's own
    ids = [e.case.case_id for e in first.entries]
    assert not any(p in i for p in patients for i in ids)
    assert not set(ids) & {e.case.case_id for e in other.entries}
    with database.engine.connect() as c:
        again = worklist(c, CONFIG, "R1", now=at(1))  # signing in again: the stored order
        trail = audit_history(c, table_name="reading_worklists")
    assert [e.case.case_id for e in again.entries] == ids
    mine = [e for e in trail if e.new_values and e.new_values["reader_id"] == "R1"]
    assert len(mine) == 1
    assert json.loads(mine[0].new_values["case_ids"]) == ids
    assert mine[0].new_values["seed"] == first.seed


def test_session_two_opens_after_the_washout_and_hides_session_one(
    database: StudyDatabase,
) -> None:
    with database.begin_write() as c:
        seed_study(c, 3)
    _read_all(database, "R1")
    with database.begin_write() as c:
        case_one = worklist(c, CONFIG, "R1", now=at()).entries[0].case.case_id
        lock_session(c, CONFIG, "R1", now=at(1))
        closed = worklist(c, CONFIG, "R1", now=at(1 + 27.9))
        assert (closed.state.session, closed.state.is_open, closed.entries) == (2, False, ())
        opened = worklist(c, CONFIG, "R1", now=at(1 + 28))
        with pytest.raises(AccessRefused, match="locked"):
            reader_case(c, "R1", case_one)
        with pytest.raises(InputValidationError, match="not read yet"):
            lock_session(c, CONFIG, "R1", now=at(30))
    assert opened.state.is_open
    assert {e.case.tracer for e in opened.entries} == {FDG}
    assert closed.state.opens_utc == at(29)


def test_a_changed_read_is_a_new_version_with_a_reason_and_the_reads_follow(
    study: StudyFolder, database: StudyDatabase
) -> None:
    with database.begin_write() as c:
        seed_study(c, 2)
        case = worklist(c, CONFIG, "R1", now=at()).entries[0].case
        record_open(c, "R1", case.case_id, now=at())
        submit_read(c, CONFIG, "R1", case.case_id, _read(case.patient_id, 2), now=at(0.01))
        with pytest.raises(InputValidationError, match="needs a reason") as refused:
            submit_read(c, CONFIG, "R1", case.case_id, _read(case.patient_id, 5), now=at(0.02))
        assert refused.value.hint is not None
        assert refused.value.hint.parameter == "reason"
        changed = replace(_read(case.patient_id, 5), reason="second look at the node")
        record_open(c, "R1", case.case_id, now=at(0.03))
        submit_read(c, CONFIG, "R1", case.case_id, changed, now=at(0.04))
        versions = read_versions(c, "R1", case.case_id)
        reads = {
            (r.lesion_id, r.time_point_min): (r.score, r.call)
            for r in c.execute(exchange_table("reads").select()).all()
        }
    assert [v.version for v in versions] == [1, 2]
    assert [v.lesions[1].score for v in versions] == [2, 5]
    assert versions[1].reason == "second look at the node"
    assert versions[0].seconds == pytest.approx(0.01 * 86400)
    assert versions[1].seconds == pytest.approx(0.01 * 86400)
    second = lesion_ids(case.patient_id)[1]
    assert reads[(second, 60)] == reads[(second, 120)] == (5, "positive")
    assert reads[(None, 60)] == (4, "positive")
    assert len(reads) == 6  # 2 lesions + the patient, at 60 and 120 min
    verification = verify_study(study)
    assert verification.ok, verification.problems


def test_bad_reads_are_refused_naming_the_field(database: StudyDatabase) -> None:
    with database.begin_write() as c:
        seed_study(c, 1)
        case = worklist(c, CONFIG, "R1", now=at()).entries[0].case
        first, second = lesion_ids(case.patient_id)
        undecided = ReadSubmission(3, "negative", (LesionRead(first, False, None, None),))
        with pytest.raises(InputValidationError, match=f"{second} is neither confirmed"):
            submit_read(c, CONFIG, "R1", case.case_id, undecided, now=at())
        unscored = ReadSubmission(
            3,
            "negative",
            (LesionRead(first, True, None, "lung"), LesionRead(second, False, None, None)),
        )
        with pytest.raises(InputValidationError, match="without a score"):
            submit_read(c, CONFIG, "R1", case.case_id, unscored, now=at())
        with pytest.raises(InputValidationError, match="not 1-5"):
            submit_read(
                c,
                CONFIG,
                "R1",
                case.case_id,
                replace(_read(case.patient_id), patient_score=7),
                now=at(),
            )
        # lesion times longer than the case itself are not kept
        record_open(c, "R1", case.case_id, now=at())
        slow = ReadSubmission(
            3,
            "negative",
            (LesionRead(first, True, 3, "lung", 500.0), LesionRead(second, False, None, None, 1.0)),
        )
        version = submit_read(c, CONFIG, "R1", case.case_id, slow, now=at(60 / 86400))
    assert version.seconds == pytest.approx(60.0)
    assert [r.seconds for r in version.lesions] == [None, None]


def test_other_readers_cases_are_refused_and_unknown_ones_not_found(
    database: StudyDatabase,
) -> None:
    with database.begin_write() as c:
        seed_study(c, 2)
        mine = worklist(c, CONFIG, "R1", now=at()).entries[0].case.case_id
        worklist(c, CONFIG, "R2", now=at())
        with pytest.raises(AccessRefused):
            reader_case(c, "R2", mine)
        with pytest.raises(AccessRefused):
            submit_read(c, CONFIG, "R2", mine, _read("RW-0001"), now=at())
        with pytest.raises(CaseNotFound):
            reader_case(c, "R1", "c-no-such-case")
        with pytest.raises(AccessRefused, match="not one of the study's readers"):
            worklist(c, CONFIG, "R9", now=at())


def test_a_planted_disagreement_creates_exactly_one_adjudication_task(
    database: StudyDatabase,
) -> None:
    with database.begin_write() as c:
        seed_study(c, 3)
    _read_all(database, "R1", RW_0002=5)  # R1 calls RW-0002's node positive, R2 does not
    _read_all(database, "R2")
    with database.begin_write() as c:
        lock_session(c, CONFIG, "R1", now=at(1))
        assert adjudication_tasks_of(c, "R3") == []  # R2 has not locked yet
        lock_session(c, CONFIG, "R2", now=at(1))
        tasks = adjudication_tasks_of(c, "R3")
        assert create_tasks(c, CONFIG, 1, now=at(2)) == []  # no task twice
        assert adjudication_tasks_of(c, "R1") == []
        (task,) = tasks
        assert (task.patient_id, task.lesion_id) == ("RW-0002", "RW-0002-L2")
        case = reader_case(c, "R3", task.task_id)  # the adjudicator reads the task's case
        with pytest.raises(AccessRefused):
            reader_case(c, "R1", task.task_id)
        record_open(c, "R3", task.task_id, now=at(2))
        submit_adjudication(
            c, "R3", task.task_id, score=2, call="negative", reason=None, now=at(2.001)
        )
        adjudicated = primary_reads(
            c, replace(CONFIG, reading=replace(CONFIG.reading, primary_read="adjudicated"))
        )
        consensus = primary_reads(
            c, replace(CONFIG, reading=replace(CONFIG.reading, primary_read="consensus"))
        )
        lesion_rows, left_out = mrmc_rows(c)
    assert (case.patient_id, case.time_points_min) == ("RW-0002", (60, 120))
    node = {(r["lesion_id"], r["time_point_min"]): r["score"] for r in adjudicated[1]}
    assert node[("RW-0002-L2", 60)] == node[("RW-0002-L2", 120)] == 2  # the adjudicator's
    assert node[("RW-0001-L2", 60)] == 2  # concordant: the first reader's
    pooled = {(r["lesion_id"], r["time_point_min"]): r["score"] for r in consensus[1]}
    assert pooled[("RW-0002-L2", 60)] == 4  # median of 5 and 2, rounded up
    assert lesion_rows == []
    assert left_out == 24  # no reference standard: 2 readers x 3 patients x 2 lesions x 2


def test_the_multi_reader_table_takes_the_truth_from_the_reference_standard(
    database: StudyDatabase,
) -> None:
    with database.begin_write() as c:
        seed_study(c, 2)
        for lesion, outcome in (("RW-0001-L1", "malignant"), ("RW-0001-L2", "benign")):
            insert_record(
                c,
                "reference_standard",
                {
                    "lesion_id": lesion,
                    "patient_id": "RW-0001",
                    "standard": "histopathology",
                    "outcome": outcome,
                    "assessment_date": at().date(),
                },
                author=AUTHOR,
            )
    _read_all(database, "R1", RW_0001=5)
    with database.engine.connect() as c:
        lesions, left_out = mrmc_rows(c)
        patients, _ = mrmc_rows(c, level="patient")
    # rows sorted by tracer, time point, reader, case
    assert [(r["case"], r["time_point_min"], r["rating"], r["truth"]) for r in lesions] == [
        ("RW-0001-L1", 60, 4, 1),
        ("RW-0001-L2", 60, 5, 0),
        ("RW-0001-L1", 120, 4, 1),
        ("RW-0001-L2", 120, 5, 0),
    ]
    assert left_out == 4  # RW-0002's two lesions at two time points
    assert {(r["case"], r["truth"]) for r in patients} == {("RW-0001", 1)}


def test_cases_read_apart_and_the_comparator_with_the_index_tracer(
    database: StudyDatabase,
) -> None:
    config = StudyConfig(
        reading=ReadingConfig(readers=("R1",), time_points="apart", comparator_session=False)
    )
    with database.begin_write() as c:
        seed_study(c, 2)
        listed = worklist(c, config, "R1", now=at())
        state = session_state(c, config, "R1", now=at())
    assert state.n_sessions == 1
    assert sorted(
        (e.case.patient_id, e.case.tracer, e.case.time_points_min) for e in listed.entries
    ) == [
        ("RW-0001", FDG, (60,)),
        ("RW-0001", INDEX, (60,)),
        ("RW-0001", INDEX, (120,)),
        ("RW-0002", FDG, (60,)),
        ("RW-0002", INDEX, (60,)),
        ("RW-0002", INDEX, (120,)),
    ]
    assert all(
        len(e.case.pet_series_uids) == len(e.case.anatomy_series_uids) == 1 for e in listed.entries
    )


def test_the_reading_section_of_study_toml(tmp_path) -> None:
    config = StudyConfig(
        reading=ReadingConfig(
            readers=("R1", "R2"), adjudicator="R3", primary_read="adjudicated", washout_days=14
        )
    )
    write_config(tmp_path, config)
    assert load_config(tmp_path / "study.toml").reading == config.reading
    assert "reading" not in StudyConfig().to_dict()  # studies without [reading] keep their hash
    bad = (
        (tmp_path / "study.toml")
        .read_text()
        .replace('time_points = "together"', 'time_points = "never"')
    )
    (tmp_path / "study.toml").write_text(bad)
    with pytest.raises(
        InputValidationError, match=r"study.toml: \[reading\] time_points is 'never'"
    ):
        load_config(tmp_path / "study.toml")
    with pytest.raises(InputValidationError, match="adjudicator must be a third reader"):
        ReadingConfig(readers=("R1", "R2"), adjudicator="R2")
    with pytest.raises(InputValidationError, match="no adjudicator is named"):
        ReadingConfig(primary_read="adjudicated")


def test_a_session_without_cases_is_not_locked(database: StudyDatabase) -> None:
    with database.begin_write() as c, pytest.raises(InputValidationError, match="has no cases"):
        lock_session(c, CONFIG, "R1", now=at())
