"""Fixtures of the study tests: every test that takes ``database`` or ``study`` runs twice,
on SQLite and on a throwaway PostgreSQL server started for the session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from petdx.study.config import StudyConfig, StudyFolder
from petdx.study.database import StudyDatabase, init_study, open_database
from tests.study.postgres import PostgresServer, postgres_server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return "sqlite:///study.sqlite"
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.new_database()


@pytest.fixture
def study(tmp_path: Path, db_url: str) -> StudyFolder:
    return init_study(tmp_path / "study", StudyConfig(database_url=db_url))


@pytest.fixture
def database(study: StudyFolder) -> Iterator[StudyDatabase]:
    db = open_database(study)
    yield db
    db.dispose()
