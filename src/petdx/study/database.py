"""Connecting to the study database, migrating it, and fingerprinting its content.

SQLite (the default, a file in the study folder) runs with foreign keys on, write-ahead
logging and a busy timeout; every transaction starts with an explicit ``BEGIN`` so that a
whole import is one transaction (the pysqlite driver otherwise begins lazily). PostgreSQL is
used when ``study.toml`` gives a ``postgresql+psycopg://`` URL. The schema is created and
upgraded by Alembic (migrations shipped in ``petdx/study/migrations``).

References
----------
SQLAlchemy 2.0 documentation, "Serializable isolation / Savepoints / Transactional DDL"
(pysqlite driver notes). SQLite documentation, "Write-Ahead Logging".
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from petdx.errors import InputValidationError, StorageError
from petdx.study.config import StudyConfig, StudyFolder, open_study, write_config
from petdx.study.schema import metadata, study_meta

__all__ = [
    "StudyDatabase",
    "content_hash",
    "init_study",
    "open_database",
]

_SECRET_KEY = "deidentification_secret"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event emit BEGIN
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")


def make_engine(url: str) -> Engine:
    """A SQLAlchemy engine for ``url`` with petdx's SQLite settings.

    Raises
    ------
    InputValidationError
        The URL cannot be parsed or names a driver that is not installed.
    """
    try:
        parsed = make_url(url)
        engine = create_engine(parsed, future=True)
    except (ArgumentError, ImportError) as exc:
        raise InputValidationError(
            f"database URL '{_redact(url)}' is not usable ({exc}). Expected e.g. "
            "sqlite:///study.sqlite or postgresql+psycopg://user@host:5432/dbname."
        ) from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine, "handle_error", _sqlite_storage_fault(parsed.database or ""))
    return engine


#: SQLite's words for a database file the storage refuses, and what to do about each.
_SQLITE_FAULTS = {
    "readonly database": "the file (or its folder, where SQLite keeps the -wal and -shm "
    "files) is read-only for this user. Make both writable, or work on a writable copy of "
    "the study, and run again",
    "disk is full": "the disk holding it is full. Free space and run again; the last "
    "transaction was rolled back",
    "unable to open database file": "the file cannot be opened (a missing folder, or no "
    "permission to read it). Check the path in study.toml and the permissions",
}


def _sqlite_storage_fault(database: str) -> Any:
    """A ``handle_error`` listener: SQLite's storage errors (``OperationalError`` such as
    'attempt to write a readonly database') become a :class:`StorageError` naming the file."""

    def listener(context: Any) -> None:
        text = str(context.original_exception)
        for words, fix in _SQLITE_FAULTS.items():
            if words in text:
                raise StorageError(
                    f"study database {database}: {text} - {fix}."
                ) from context.original_exception

    return listener


def _redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("petdx.study") / "migrations"))
    config.attributes["connection"] = connection
    return config


@dataclass
class StudyDatabase:
    """The study database behind a :class:`~petdx.study.config.StudyFolder`.

    Use :meth:`begin` for a transaction: everything inside commits together or not at all.
    """

    engine: Engine

    @classmethod
    def from_url(cls, url: str) -> StudyDatabase:
        return cls(make_engine(url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection in a transaction, committed on success, rolled back on error."""
        try:
            with self.engine.begin() as connection:
                yield connection
        except OperationalError as exc:
            url = self.engine.url.render_as_string(hide_password=True)
            raise InputValidationError(
                f"study database {url}: {exc.orig}. Check that the database is reachable and "
                "not locked by another petdx process."
            ) from exc

    def upgrade(self) -> None:
        """Create or upgrade the schema to the newest migration (Alembic ``upgrade head``)."""
        with self.begin() as connection:
            command.upgrade(_alembic_config(connection), "head")
            _ensure_secret(connection)

    def check_current(self) -> None:
        """Refuse a database whose schema is older or newer than this petdx.

        Raises
        ------
        InputValidationError
            The database is not at the newest migration.
        """
        with self.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
            head = ScriptDirectory.from_config(_alembic_config(connection)).get_current_head()
        if current != head:
            url = self.engine.url.render_as_string(hide_password=True)
            raise InputValidationError(
                f"study database {url} is at schema revision {current or 'none'}, but this "
                f"petdx expects {head}. Run `petdx init` on the study folder to upgrade it."
            )

    def secret(self) -> bytes:
        """The study's de-identification secret (salt of UIDs and date offsets)."""
        with self.engine.connect() as connection:
            value = connection.execute(
                select(study_meta.c.value).where(study_meta.c.key == _SECRET_KEY)
            ).scalar_one()
        return bytes.fromhex(value)

    def content_hash(self) -> str:
        """SHA-256 of every row of every table (see :func:`content_hash`)."""
        with self.engine.connect() as connection:
            return content_hash(connection)

    def dispose(self) -> None:
        self.engine.dispose()


def _ensure_secret(connection: Connection) -> None:
    exists = connection.execute(
        select(study_meta.c.key).where(study_meta.c.key == _SECRET_KEY)
    ).first()
    if exists is None:
        connection.execute(
            study_meta.insert().values(key=_SECRET_KEY, value=secrets.token_bytes(32).hex())
        )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return value


def content_hash(connection: Connection) -> str:
    """A fingerprint of the database content: SHA-256 over every row of every table, tables
    in name order, rows in primary-key order. Equal hashes mean equal content (used to show
    that a refused import changed nothing)."""
    digest = hashlib.sha256()
    for name in sorted(metadata.tables):
        table = metadata.tables[name]
        order = list(table.primary_key.columns)
        rows = connection.execute(select(table).order_by(*order)).mappings()
        digest.update(name.encode())
        for row in rows:
            item = {k: _plain(v) for k, v in row.items()}
            digest.update(json.dumps(item, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def init_study(
    root: str | Path,
    config: StudyConfig | None = None,
) -> StudyFolder:
    """Create (or upgrade) a study folder: ``study.toml``, the database and ``images/``.

    An existing ``study.toml`` is kept (its database is upgraded to the newest schema); a new
    one is written from ``config`` (defaults: 68Ga-DOTA-BLP, SQLite in the folder).

    Raises
    ------
    InputValidationError
        The folder exists as a file, or the database cannot be reached.
    """
    root_path = Path(root)
    if root_path.exists() and not root_path.is_dir():
        raise InputValidationError(f"{root_path}: exists and is not a folder; choose a new path.")
    root_path.mkdir(parents=True, exist_ok=True)
    if not (root_path / "study.toml").exists():
        write_config(root_path, config or StudyConfig())
    study = open_study(root_path)
    study.images.mkdir(exist_ok=True)
    study.logs.mkdir(exist_ok=True)
    database = StudyDatabase.from_url(study.database_url)
    try:
        database.upgrade()
    finally:
        database.dispose()
    return study


def open_database(study: StudyFolder) -> StudyDatabase:
    """The database of an initialised study, checked to be at the newest schema."""
    database = StudyDatabase.from_url(study.database_url)
    database.check_current()
    return database
