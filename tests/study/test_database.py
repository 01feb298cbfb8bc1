"""The database layer: migrations match the models, the audit log is append-only."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from petdx.errors import InputValidationError
from petdx.study.audit import append_audit
from petdx.study.database import StudyDatabase, init_study, open_database
from petdx.study.schema import metadata


def test_migrated_schema_matches_the_models(database: StudyDatabase) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_audit_log_refuses_update_and_delete(database: StudyDatabase) -> None:
    with database.begin() as connection:
        append_audit(
            connection,
            action="insert",
            table_name="patients",
            record_key="SIM-0001",
            patient_id="SIM-0001",
            old=None,
            new={"sex": "F"},
            actor="tester",
            reason=None,
        )
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), database.begin() as connection:
            connection.execute(text(statement))


def test_sqlite_runs_with_foreign_keys_and_wal(tmp_path) -> None:
    study = init_study(tmp_path / "s")
    database = open_database(study)
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    database.dispose()
    assert (tmp_path / "s" / "study.sqlite").exists()
    assert (tmp_path / "s" / "images").is_dir()


def test_init_twice_keeps_the_configuration_and_the_data(study, database) -> None:
    before = database.content_hash()
    toml = (study.root / "study.toml").read_text()
    init_study(study.root)
    assert (study.root / "study.toml").read_text() == toml
    assert database.content_hash() == before


def test_a_bad_database_url_is_refused(tmp_path) -> None:
    with pytest.raises(InputValidationError, match=r"database URL .* is not usable"):
        StudyDatabase.from_url("nosuchdialect://x/y")


def test_a_database_without_schema_is_refused(tmp_path) -> None:
    from petdx.study.config import StudyConfig, open_study, write_config

    write_config(tmp_path, StudyConfig())
    (tmp_path / "study.sqlite").touch()
    with pytest.raises(InputValidationError, match=r"schema revision none.*petdx init"):
        open_database(open_study(tmp_path))


def test_a_missing_sqlite_database_is_refused_and_not_created(tmp_path) -> None:
    """Opening a study whose SQLite file is gone used to create an empty file (issue 20)."""
    from petdx.study.config import StudyConfig, open_study, write_config

    write_config(tmp_path, StudyConfig())
    with pytest.raises(InputValidationError, match=r"study.sqlite .*does not exist.*petdx init"):
        open_database(open_study(tmp_path))
    assert not (tmp_path / "study.sqlite").exists()


def test_migrations_downgrade_and_upgrade_again(database: StudyDatabase) -> None:
    from alembic import command

    from petdx.study.database import _alembic_config

    with database.engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "base")
    with database.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() is None
    database.upgrade()
    database.check_current()


def test_twenty_concurrent_users_reuse_their_connections(database: StudyDatabase) -> None:
    """The web application's busy hour: 20 requests at once, again and again. The engine keeps
    their connections (on PostgreSQL each new one is a server process); with SQLAlchemy's
    default of 5 kept it opened about one per second request (issue 13's load)."""
    opened: list[object] = []
    event.listen(database.engine, "connect", lambda connection, record: opened.append(record))
    database.engine.dispose()  # count from an empty pool
    barrier = threading.Barrier(20)

    def request(_: int) -> int:
        with database.engine.connect() as connection:
            barrier.wait(timeout=30)  # all 20 hold a connection at once
            return int(connection.execute(text("SELECT 1")).scalar_one())

    with ThreadPoolExecutor(max_workers=20) as users:
        for _ in range(5):
            assert sum(users.map(request, range(20))) == 20
    assert len(opened) == 20


def test_read_reads_without_a_transaction_on_postgresql_and_the_pool_gets_it_back(
    database: StudyDatabase,
) -> None:
    """``read`` on PostgreSQL is autocommit: each statement is its own transaction, so
    ``now()`` (the transaction's start) moves between two statements, where inside
    ``begin()`` it stands still; the connection goes back to the pool transactional again."""
    from sqlalchemy import select

    from petdx.study.schema import audit_log

    audit_rows = select(audit_log.c.seq, audit_log.c.row_hash).order_by(audit_log.c.seq)
    with database.begin() as c:
        expected = c.execute(audit_rows).all()
    with database.read() as c:
        assert c.execute(audit_rows).all() == expected
    if database.dialect != "postgresql":
        return  # SQLite: engine.connect(), nothing else to see
    moving = "SELECT now(), pg_sleep(0.02)"
    with database.read() as c:
        first = c.exec_driver_sql(moving).scalar_one()
        second = c.exec_driver_sql(moving).scalar_one()
    assert second > first
    for _ in range(3):  # whichever pooled connection comes back: transactional
        with database.begin() as c:
            first = c.exec_driver_sql(moving).scalar_one()
            second = c.exec_driver_sql(moving).scalar_one()
        assert second == first
