"""A transaction's audit rows are written as it commits (petdx.study.audit.flush_audit): the
chain head is locked for the last statements only, rows follow the order of the commits, a
read of the trail inside the transaction sees its rows, and a rollback leaves none."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text

from petdx.study.audit import AuditAction, append_audit, audit_history, verify_audit_trail
from petdx.study.database import StudyDatabase


def _note(connection: Connection, key: str) -> None:
    append_audit(
        connection,
        action=AuditAction.INSERT,
        table_name="exposures",
        record_key=key,
        patient_id=None,
        old=None,
        new={"exposure_id": key},
        actor="test",
        reason=None,
    )


def _keys(database: StudyDatabase) -> list[str]:
    with database.begin() as connection:
        return [e.record_key for e in audit_history(connection, table_name="exposures")]


def test_rows_are_written_at_the_commit_and_seen_by_reads_before_it(
    database: StudyDatabase,
) -> None:
    with database.begin_write() as connection:
        _note(connection, "A")
        inside = audit_history(connection, table_name="exposures")  # written for the read
        _note(connection, "B")
    assert [e.record_key for e in inside] == ["A"]
    with database.begin() as connection:
        rows = audit_history(connection, table_name="exposures")
        verified = verify_audit_trail(connection)
    assert [e.record_key for e in rows] == ["A", "B"]
    assert rows[1].seq == rows[0].seq + 1
    assert verified.ok, verified.problems
    assert verified.head_seq == rows[1].seq


def test_a_rolled_back_transaction_and_savepoint_leave_no_row(database: StudyDatabase) -> None:
    def write_then_fail() -> None:
        with database.begin_write() as connection:
            _note(connection, "gone")
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError, match="abort"):
        write_then_fail()
    with database.begin_write() as connection:
        _note(connection, "kept before the savepoint")
        savepoint = connection.begin_nested()
        _note(connection, "gone after the savepoint")
        savepoint.rollback()
        _note(connection, "kept after the savepoint")
    assert _keys(database) == ["kept before the savepoint", "kept after the savepoint"]
    with database.begin() as connection:
        assert verify_audit_trail(connection).ok


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_writer_does_not_wait_for_another_writers_open_transaction(
    database: StudyDatabase,
) -> None:
    """The first transaction has an audited change and stays open; the second commits
    without waiting for it (before the buffer, it waited on the chain head the first had
    locked with its change, until the first ended: here, a lock timeout)."""
    first = database.engine.connect()
    second = database.engine.connect()
    try:
        first_transaction = first.begin()
        _note(first, "first, committed last")
        with second.begin():
            second.execute(text("SET LOCAL lock_timeout = '5s'"))
            _note(second, "second, committed first")
        first_transaction.commit()
    finally:
        first.close()
        second.close()
    assert _keys(database) == ["second, committed first", "first, committed last"]
    with database.begin() as connection:
        assert verify_audit_trail(connection).ok
