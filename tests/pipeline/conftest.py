"""The pipeline tests use the study fixtures (SQLite and PostgreSQL)."""

from tests.study.conftest import database, db_url, pg_server, study

__all__ = ["database", "db_url", "pg_server", "study"]
