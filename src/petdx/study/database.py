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
from collections.abc import Collection, Iterator
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
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError

from petdx.errors import InputValidationError, StorageError
from petdx.study.audit import (
    GENESIS_HASH,
    AuditAction,
    append_audit,
    current_actor,
    flush_audit,
    flush_audit_on_commit,
    stored_head,
)
from petdx.study.config import StudyConfig, StudyFolder, open_study, write_config
from petdx.study.schema import audit_log, metadata, study_meta
from petdx.study.seal import (
    AnchorFile,
    AuditKey,
    AuditSeal,
    bind_seal,
    create_key,
    load_key,
    note_head,
)

__all__ = [
    "StudyDatabase",
    "content_hash",
    "init_study",
    "open_database",
]

_SECRET_KEY = "deidentification_secret"
#: ``study_meta`` key of the audit key's identifier (:attr:`petdx.study.seal.AuditKey.key_id`).
AUDIT_KEY_ID = "audit_key_id"
#: Execution option of :meth:`StudyDatabase.begin_write`'s connections (SQLite BEGIN IMMEDIATE).
_IMMEDIATE = "petdx_begin_immediate"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event emit BEGIN
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # a writer that reads first (the audit chain head) takes the write lock at BEGIN
    # (IMMEDIATE), so concurrent writers wait for each other (busy timeout) instead of failing
    # when a read lock cannot be upgraded (SQLITE_BUSY_SNAPSHOT)
    immediate = connection.get_execution_options().get(_IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


#: Connections an engine keeps open, and how many more it may open for a while. The web
#: application served each request on a thread of a pool of 40 with one connection at a time;
#: with SQLAlchemy's default of 5 kept, 20 busy users made a PostgreSQL connection (a new
#: server process, its authentication) for about every second request (bench_web: 168
#: sessions in 10 s). It now serves 4 requests at once (``petdx.web.app.REQUEST_THREADS``),
#: so fewer are in use. A server process of ``petdx serve`` may hold up to 30, so PostgreSQL's
#: ``max_connections`` should be at least 30 x the number of processes (``--workers``).
POOL_SIZE = 20
POOL_OVERFLOW = 10


def make_engine(url: str) -> Engine:
    """A SQLAlchemy engine for ``url`` with petdx's SQLite settings.

    Raises
    ------
    InputValidationError
        The URL cannot be parsed or names a driver that is not installed.
    """
    try:
        parsed = make_url(url)
        in_memory = parsed.get_backend_name() == "sqlite" and parsed.database in (
            None,
            "",
            ":memory:",
        )
        pool = {} if in_memory else {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW}
        engine = create_engine(parsed, future=True, **pool)
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
        with self._transaction(immediate=False) as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection that only reads. On PostgreSQL it runs in autocommit: at petdx's
        isolation level (READ COMMITTED, the server's default) each statement takes its
        own snapshot inside a transaction too, so a read-only transaction adds nothing but
        its ``BEGIN`` and ``ROLLBACK`` round trips (the web application reads every
        request's session and most pages this way). On SQLite it is ``engine.connect()``,
        whose deferred transaction keeps one snapshot for all its reads. Never for writes
        (each statement would commit alone): :meth:`begin` / :meth:`begin_write`."""
        with self.engine.connect() as connection:
            if self.dialect == "postgresql":
                connection.execution_options(isolation_level="AUTOCOMMIT")
            yield connection

    @contextmanager
    def _transaction(self, *, immediate: bool) -> Iterator[Connection]:
        try:
            with self.engine.connect() as connection:
                if immediate:  # read by _sqlite_begin; the connection stays this engine's
                    connection.execution_options(**{_IMMEDIATE: True})
                with connection.begin():
                    yield connection
        except OperationalError as exc:
            url = self.engine.url.render_as_string(hide_password=True)
            raise InputValidationError(
                f"study database {url}: {exc.orig}. Check that the database is reachable and "
                "not locked by another petdx process."
            ) from exc

    @contextmanager
    def begin_write(self) -> Iterator[Connection]:
        """Like :meth:`begin`, for a transaction that will write: on SQLite it takes the write
        lock at its start (``BEGIN IMMEDIATE``), so that concurrent writers (the web
        application's requests) queue on the busy timeout instead of failing; on PostgreSQL
        it is :meth:`begin`."""
        with self._transaction(immediate=self.dialect == "sqlite") as connection:
            yield connection

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
        try:
            with self.engine.connect() as connection:
                current = MigrationContext.configure(connection).get_current_revision()
                head = ScriptDirectory.from_config(_alembic_config(connection)).get_current_head()
        except OperationalError as exc:
            url = self.engine.url.render_as_string(hide_password=True)
            raise InputValidationError(
                f"study database {url}: {exc.orig}. Check that the database is reachable."
            ) from exc
        except DatabaseError as exc:
            raise _unreadable(self.engine, exc) from exc
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

    def content_hash(self, *, exclude: Collection[str] = ()) -> str:
        """SHA-256 of every row of every table but ``exclude`` (see :func:`content_hash`)."""
        with self.engine.connect() as connection:
            return content_hash(connection, exclude=exclude)

    def dispose(self) -> None:
        self.engine.dispose()


def _unreadable(engine: Engine, exc: DatabaseError) -> InputValidationError:
    url = engine.url.render_as_string(hide_password=True)
    return InputValidationError(
        f"study database {url}: not a readable study database ({exc.orig}); the file is "
        "damaged or is not a database. Restore it from the study's backup and run `petdx "
        "audit verify` on the study."
    )


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases, memory and URI filenames)."""
    parsed = make_url(url)
    name = parsed.database or ""
    if (
        parsed.get_backend_name() != "sqlite"
        or name in ("", ":memory:")
        or name.startswith("file:")
    ):
        return None
    return Path(name)


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


def content_hash(connection: Connection, *, exclude: Collection[str] = ()) -> str:
    """A fingerprint of the database content: SHA-256 over every row of every table (but the
    tables named in ``exclude``), tables in name order, rows in primary-key order. Equal
    hashes mean equal content (used to show that a refused import changed nothing)."""
    digest = hashlib.sha256()
    for name in sorted(set(metadata.tables) - set(exclude)):
        table = metadata.tables[name]
        order = list(table.primary_key.columns)
        rows = connection.execute(select(table).order_by(*order)).mappings()
        digest.update(name.encode())
        for row in rows:
            item = {k: _plain(v) for k, v in row.items()}
            digest.update(json.dumps(item, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def stored_key_id(connection: Connection) -> str | None:
    """The identifier of the audit key that sealed this database, or None."""
    value = connection.execute(
        select(study_meta.c.value).where(study_meta.c.key == AUDIT_KEY_ID)
    ).scalar_one_or_none()
    return None if value is None else str(value)


def _audit_rows(connection: Connection) -> int:
    flush_audit(connection)
    value = connection.execute(select(audit_log.c.seq).order_by(audit_log.c.seq.desc())).first()
    return 0 if value is None else int(value[0])


def _restore_hint(study: StudyFolder) -> str:
    return (
        f"Restore the study's database from its backup. To start a new study in this folder "
        f"instead, move {study.audit_key_path} and {study.audit_anchor_path} away first."
    )


def _ensure_audit_key(connection: Connection, study: StudyFolder, created: list[Path]) -> None:
    """Give the study its audit key (a new study, or an existing one from before keys), or
    check that the key file belongs to this database."""
    key = load_key(study.audit_key_path)
    key_id = stored_key_id(connection)
    if key is None and key_id is not None:
        raise InputValidationError(
            f"{study.root}: the audit key file {study.audit_key_path} is missing, but the "
            f"database's audit trail is sealed with key {key_id}. Restore the key file from "
            "its backup (without it the trail cannot be verified or extended)."
        )
    if key is not None:
        if key_id is None:
            raise InputValidationError(
                f"{study.root}: the audit key {study.audit_key_path} (created "
                f"{key.created_utc}) belongs to a study database that is not this one: this "
                "database was never sealed with it (it was replaced or created again). "
                + _restore_hint(study)
            )
        if key_id != key.key_id:
            raise InputValidationError(
                f"{study.root}: the audit key {study.audit_key_path} is key {key.key_id}, but "
                f"the database was sealed with key {key_id}. Use the study's own key file. "
                + _restore_hint(study)
            )
        _bind(connection.engine, study, key)
        return
    n_rows = _audit_rows(connection)
    key = create_key(study.audit_key_path, keyed_from=n_rows + 1)
    created.append(study.audit_key_path)
    connection.execute(study_meta.insert().values(key=AUDIT_KEY_ID, value=key.key_id))
    _bind(connection.engine, study, key)
    if not n_rows:
        note_head(connection, 0, GENESIS_HASH)  # the anchor's first line, after the commit
    else:
        head = stored_head(connection)
        append_audit(
            connection,
            action=AuditAction.SEAL,
            table_name="audit_log",
            record_key=f"rows 1-{n_rows}",
            patient_id=None,
            old=None,
            new={"sealed_rows": n_rows, "sealed_head": head[1] if head else None},
            actor=current_actor(),
            reason="audit key created: the rows written before it are sealed by this row",
        )


def _bind(engine: Engine, study: StudyFolder, key: AuditKey) -> None:
    flush_audit_on_commit(engine)  # first: see its docstring
    bind_seal(engine, AuditSeal(key, AnchorFile(study.audit_anchor_path)))


def init_study(
    root: str | Path,
    config: StudyConfig | None = None,
) -> StudyFolder:
    """Create (or upgrade) a study folder: ``study.toml``, the database, the audit key and
    anchor, ``images/`` and ``logs/``.

    An existing ``study.toml`` is kept (its database is upgraded to the newest schema); a new
    one is written from ``config`` (defaults: 68Ga-DOTA-BLP, SQLite in the folder). A study
    from before audit keys receives its key here, and a ``seal`` row seals its earlier rows.
    When the database cannot be set up, what this call created (``study.toml``, the key, a
    new SQLite file) is removed again, so a retry starts afresh.

    Raises
    ------
    InputValidationError
        The folder exists as a file, the database cannot be reached, or the study's audit key
        does not belong to the database (a replaced or re-created database).
    """
    root_path = Path(root)
    if root_path.exists() and not root_path.is_dir():
        raise InputValidationError(f"{root_path}: exists and is not a folder; choose a new path.")
    created: list[Path] = []
    if not root_path.exists():
        created.append(root_path)
    root_path.mkdir(parents=True, exist_ok=True)
    try:
        if not (root_path / "study.toml").exists():
            write_config(root_path, config or StudyConfig())
            created.append(root_path / "study.toml")
        study = open_study(root_path)
        for folder in (study.images, study.logs):
            if not folder.exists():
                folder.mkdir()
                created.append(folder)
        db_file = sqlite_file(study.database_url)
        if db_file is not None and not db_file.exists():
            created += [db_file, Path(f"{db_file}-wal"), Path(f"{db_file}-shm")]
        database = StudyDatabase.from_url(study.database_url)
        try:
            with database.begin() as connection:
                command.upgrade(_alembic_config(connection), "head")
                _ensure_secret(connection)
                _ensure_audit_key(connection, study, created)
        finally:
            database.dispose()
    except BaseException:
        _remove_created(created)
        raise
    return study


def _remove_created(created: list[Path]) -> None:
    for path in reversed(created):
        try:
            if path.is_dir():
                path.rmdir()  # only when empty
            else:
                path.unlink(missing_ok=True)
        except OSError:
            pass


def open_database(study: StudyFolder) -> StudyDatabase:
    """The database of an initialised study, checked to be at the newest schema and sealed
    with the study's audit key (which is bound to it: audited writes are keyed and
    anchored).

    Raises
    ------
    InputValidationError
        The database is missing, unreadable or at another schema; the audit key is missing,
        readable by others, or not the database's.
    """
    db_file = sqlite_file(study.database_url)
    if db_file is not None and not db_file.exists():
        if study.audit_key_path.exists() or study.audit_anchor_path.exists():
            fix = (
                f"The study's audit key and anchor say it had one: restore it from the study's "
                f"backup (`petdx audit verify {study.root}` shows what the anchor recorded)."
            )
        else:
            fix = f"Run `petdx init {study.root}` to create it."
        raise InputValidationError(
            f"study database {db_file} (named by study.toml) does not exist. {fix}"
        )
    database = StudyDatabase.from_url(study.database_url)
    try:
        database.check_current()
        key = load_key(study.audit_key_path)
        with database.engine.connect() as connection:
            key_id = stored_key_id(connection)
        if key is None:
            if key_id is None:
                raise InputValidationError(
                    f"{study.root}: the study has no audit key yet (created before petdx kept "
                    f"one). Run `petdx init {study.root}` once: it creates the key "
                    f"{study.audit_key_path} and seals the trail (docs/study.md, 'Audit trail')."
                )
            raise InputValidationError(
                f"{study.root}: the audit key file {study.audit_key_path} is missing; the "
                f"database's trail is sealed with key {key_id}. Restore the key file from its "
                f"backup; `petdx audit verify {study.root}` reports the study's state."
            )
        if key_id != key.key_id:
            raise InputValidationError(
                f"{study.root}: the audit key {study.audit_key_path} (key {key.key_id}) is not "
                f"the key that sealed this database ({key_id or 'none'}): the database or the "
                f"key was replaced. Run `petdx audit verify {study.root}`."
            )
    except BaseException:
        database.dispose()
        raise
    _bind(database.engine, study, key)
    return database
