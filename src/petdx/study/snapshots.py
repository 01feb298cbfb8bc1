"""Locked snapshots of the study database: the data a statistician analyses, frozen.

:func:`lock_snapshot` copies every table of the live study database (study data, imaging
records, the audit trail and the study's metadata) in **one consistent read** — one
transaction; on PostgreSQL ``REPEATABLE READ, READ ONLY``, so rows committed by others while
the copy runs are not seen; on SQLite the read transaction of write-ahead logging — into
``snapshots/<n>/``:

* ``snapshot.sqlite``: a SQLite database made by the same migrations as a study database
  (so it opens with the same code, whether the live study is on SQLite or PostgreSQL);
* ``study.toml``: the study's configuration at lock time (the analyses' settings);
* ``derived/<patient>/summary.json``: the quantification summaries the analyses read
  (liver reference, attenuation correction), as at lock time;
* ``manifest.json``: number, time (UTC), who, why, the content hash of the database
  (:func:`petdx.study.database.content_hash`, computed in the same transaction as the copy
  and checked on the copy), the audit trail's head (sequence number and hash), the schema
  revision, the row count of each table and the SHA-256 of ``snapshot.sqlite``.

The snapshot is written under a temporary name and renamed when complete, so a failure
leaves nothing; the lock is an audited event of the live database (table ``snapshots``,
record key the number, the reason given), committed with the rename. Afterwards the
snapshot's files are read-only (mode 0444) and petdx opens ``snapshot.sqlite`` read-only
(SQLite ``mode=ro&immutable=1``, ``PRAGMA query_only``): nothing writes to it again. The
analyses of a snapshot (:func:`petdx.pipeline.snapshots.analyse_snapshot`) and its export
(:func:`export_snapshot`) write beside it, into ``results/``, ``report/`` and
``export.zip``.

:func:`export_snapshot` is ``petdx export`` (:mod:`petdx.study.exporting`: pseudonyms only,
never the hospital identifiers, the audit trail or the study secret) run on the snapshot,
packed into one zip whose entries are in name order with a fixed time stamp and mode, so two
exports of one snapshot are byte-identical.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Table, create_engine, event, func, select
from sqlalchemy.pool import NullPool

from petdx import __version__
from petdx.errors import Hint, InputValidationError
from petdx.fileio import atomic_output, exclusive_lock
from petdx.study.audit import AuditAction, append_audit, flush_audit
from petdx.study.config import StudyFolder, load_config
from petdx.study.database import StudyDatabase, content_hash, make_engine
from petdx.study.exporting import ExportResult, export_study
from petdx.study.layout import SnapshotLayout
from petdx.study.schema import exchange_table, metadata, study_meta

__all__ = [
    "NOT_SNAPSHOTTED",
    "SNAPSHOT_TABLE",
    "SnapshotExport",
    "SnapshotManifest",
    "SnapshotVerification",
    "export_snapshot",
    "list_snapshots",
    "lock_snapshot",
    "open_snapshot",
    "snapshot_database",
    "snapshot_study",
    "verify_snapshot",
]

#: ``table_name`` of the lock events in the audit trail.
SNAPSHOT_TABLE = "snapshots"
_AUDIT_HEAD_KEY = "audit_head"
_BATCH = 5000
_READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
#: Time stamp of every entry of an export zip (the earliest a zip can hold).
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_MAX_REASON = 2000


@dataclass(frozen=True)
class SnapshotManifest:
    """What ``manifest.json`` of a snapshot holds (module docstring)."""

    number: int
    locked_at_utc: str
    actor: str
    reason: str
    content_hash: str
    audit_head_seq: int
    audit_head_hash: str
    schema_revision: str | None
    source_dialect: str
    petdx_version: str
    database_sha256: str
    row_counts: Mapping[str, int] = field(default_factory=dict)
    summaries: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "locked_at_utc": self.locked_at_utc,
            "actor": self.actor,
            "reason": self.reason,
            "content_hash": self.content_hash,
            "audit_head_seq": self.audit_head_seq,
            "audit_head_hash": self.audit_head_hash,
            "schema_revision": self.schema_revision,
            "source_dialect": self.source_dialect,
            "petdx_version": self.petdx_version,
            "database_sha256": self.database_sha256,
            "row_counts": dict(sorted(self.row_counts.items())),
            "summaries": self.summaries,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: Path) -> SnapshotManifest:
        try:
            return cls(
                number=int(data["number"]),
                locked_at_utc=str(data["locked_at_utc"]),
                actor=str(data["actor"]),
                reason=str(data["reason"]),
                content_hash=str(data["content_hash"]),
                audit_head_seq=int(data["audit_head_seq"]),
                audit_head_hash=str(data["audit_head_hash"]),
                schema_revision=data.get("schema_revision"),
                source_dialect=str(data["source_dialect"]),
                petdx_version=str(data["petdx_version"]),
                database_sha256=str(data["database_sha256"]),
                row_counts={str(k): int(v) for k, v in data.get("row_counts", {}).items()},
                summaries=int(data.get("summaries", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputValidationError(
                f"{where}: not a petdx snapshot manifest ({type(exc).__name__}: {exc}); the "
                "file was changed outside petdx. Lock a new snapshot."
            ) from None

    def __str__(self) -> str:
        rows = sum(self.row_counts.values())
        return (
            f"snapshot {self.number}: locked {self.locked_at_utc} by {self.actor} "
            f"({rows} rows, audit trail to row {self.audit_head_seq}, "
            f"content {self.content_hash[:12]}): {self.reason}"
        )


@dataclass(frozen=True)
class SnapshotVerification:
    """The result of :func:`verify_snapshot`."""

    number: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"snapshot": self.number, "ok": self.ok, "problems": list(self.problems)}

    def __str__(self) -> str:
        if self.ok:
            return f"snapshot {self.number} intact: database and content hash as locked"
        return f"snapshot {self.number} ALTERED: " + "; ".join(self.problems)


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _numbers(study: StudyFolder) -> list[int]:
    folder = study.layout.snapshots
    if not folder.is_dir():
        return []
    return sorted(int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit())


@contextmanager
def _consistent_read(database: StudyDatabase) -> Iterator[Connection]:
    """One read-only transaction that sees the database as of its first read."""
    with database.engine.connect() as connection:
        if database.dialect == "postgresql":
            connection = connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        with connection.begin():
            yield connection


def _audit_head(connection: Connection) -> tuple[int, str]:
    flush_audit(connection)
    value = connection.execute(
        select(study_meta.c.value).where(study_meta.c.key == _AUDIT_HEAD_KEY)
    ).scalar_one_or_none()
    if value is None:
        return 0, "0" * 64
    seq, digest = str(value).split(":", 1)
    return int(seq), digest


#: Tables a snapshot leaves out: the web application's sign-in credentials (Argon2 password
#: hashes, session token hashes and CSRF tokens) are no study data, and a snapshot is handed
#: to statisticians and archived. Who did what stays in the audit trail, which is copied.
NOT_SNAPSHOTTED: tuple[str, ...] = ("accounts", "web_sessions")


def _snapshotted_tables() -> list[Table]:
    return [t for t in metadata.sorted_tables if t.name not in NOT_SNAPSHOTTED]


def _copy_tables(source: Connection, target: Connection) -> dict[str, int]:
    """Every table of the schema but :data:`NOT_SNAPSHOTTED`, parents before children, rows
    in primary-key order."""
    target.execute(study_meta.delete())  # the fresh database's own secret: replaced
    counts: dict[str, int] = {}
    for table in _snapshotted_tables():
        order = list(table.primary_key.columns)
        result = source.execute(select(table).order_by(*order)).mappings()
        count = 0
        while batch := result.fetchmany(_BATCH):
            target.execute(table.insert(), [dict(r) for r in batch])
            count += len(batch)
        counts[table.name] = count
    return counts


def _new_snapshot_database(path: Path) -> StudyDatabase:
    database = StudyDatabase(make_engine(f"sqlite:///{path}"))
    database.upgrade()
    return database


def _self_contained(path: Path) -> None:
    """Fold the write-ahead log into the file and leave rollback-journal mode, so the file
    alone is the database (read-only openers need no -wal or -shm files)."""
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA journal_mode=DELETE")
    finally:
        connection.close()


def _copy_summaries(study: StudyFolder, target: SnapshotLayout, ids: list[str]) -> int:
    copied = 0
    for patient in ids:
        source = study.layout.patient_summary(patient)
        if source.is_file():
            destination = target.derived.patient_summary(patient)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
            copied += 1
    return copied


def _freeze(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            path.chmod(_READ_ONLY)


def lock_snapshot(
    study: StudyFolder,
    database: StudyDatabase,
    *,
    actor: str,
    reason: str,
) -> SnapshotManifest:
    """Lock the next snapshot of the study's database (module docstring).

    Parameters
    ----------
    study, database
        The live study and its database (SQLite or PostgreSQL).
    actor
        Who locks it (manifest and audit trail).
    reason
        Why (e.g. "primary analysis, database lock 2026-12-01"); required.

    Raises
    ------
    InputValidationError
        No reason given, or another snapshot of the study is being locked.
    """
    reason = (reason or "").strip()
    if not reason:
        raise InputValidationError(
            "a snapshot needs a reason (why the data are frozen now, e.g. 'primary analysis'); "
            "give one.",
            hint=Hint("reason"),
        )
    if len(reason) > _MAX_REASON:
        raise InputValidationError(
            f"reason is {len(reason)} characters long; at most {_MAX_REASON} are kept. Shorten it.",
            hint=Hint("reason"),
        )
    layout = study.layout
    layout.snapshots.mkdir(parents=True, exist_ok=True)
    layout.snapshots_lock.parent.mkdir(parents=True, exist_ok=True)
    busy = f"{study.root}: another snapshot is being locked right now; try again when it ends."
    with exclusive_lock(layout.snapshots_lock, busy):
        number = (_numbers(study) or [0])[-1] + 1
        final = layout.snapshot(number)
        temporary = Path(tempfile.mkdtemp(prefix=f".locking-{number}-", dir=layout.snapshots))
        staged = SnapshotLayout(temporary)
        try:
            manifest = _write_snapshot(study, database, staged, number, actor, reason)
            _commit(database, staged, final, manifest)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
    return manifest


def _write_snapshot(
    study: StudyFolder,
    database: StudyDatabase,
    staged: SnapshotLayout,
    number: int,
    actor: str,
    reason: str,
) -> SnapshotManifest:
    target = _new_snapshot_database(staged.database)
    try:
        with _consistent_read(database) as source, target.begin() as copy:
            counts = _copy_tables(source, copy)
            live_hash = content_hash(source, exclude=NOT_SNAPSHOTTED)
            head_seq, head_hash = _audit_head(source)
            revision = MigrationContext.configure(source).get_current_revision()
            patients = exchange_table("patients")
            ids = list(source.execute(select(patients.c.patient_id)).scalars())
        copied_hash = target.content_hash(exclude=NOT_SNAPSHOTTED)
    finally:
        target.dispose()
    if copied_hash != live_hash:
        raise InputValidationError(
            f"snapshot {number}: the copy's content hash {copied_hash[:12]} differs from the "
            f"live database's {live_hash[:12]} (a value the SQLite copy cannot hold exactly); "
            "nothing was kept. Report this to the petdx maintainers."
        )
    _self_contained(staged.database)
    shutil.copyfile(study.layout.config_file, staged.config_file)
    summaries = _copy_summaries(study, staged, sorted(str(i) for i in ids))
    manifest = SnapshotManifest(
        number=number,
        locked_at_utc=_utc_now(),
        actor=actor,
        reason=reason,
        content_hash=live_hash,
        audit_head_seq=head_seq,
        audit_head_hash=head_hash,
        schema_revision=revision,
        source_dialect=database.dialect,
        petdx_version=__version__,
        database_sha256=_sha256(staged.database),
        row_counts=counts,
        summaries=summaries,
    )
    staged.manifest.write_text(json.dumps(manifest.to_dict(), indent=1, sort_keys=True) + "\n")
    _freeze(staged.path)
    return manifest


def _commit(
    database: StudyDatabase, staged: SnapshotLayout, final: SnapshotLayout, manifest: Any
) -> None:
    """The lock's audit row and the rename, together: the row commits only after the
    rename, and a failed commit removes the renamed folder."""
    renamed = False
    try:
        with database.begin_write() as connection:  # queues behind the server's writers
            append_audit(
                connection,
                action=AuditAction.INSERT,
                table_name=SNAPSHOT_TABLE,
                record_key=str(manifest.number),
                patient_id=None,
                old=None,
                new={
                    "number": manifest.number,
                    "content_hash": manifest.content_hash,
                    "audit_head_seq": manifest.audit_head_seq,
                    "database_sha256": manifest.database_sha256,
                },
                actor=manifest.actor,
                reason=manifest.reason,
            )
            os.rename(staged.path, final.path)
            renamed = True
    except BaseException:
        if renamed:
            os.rename(final.path, staged.path)  # the caller removes it
        raise


def _manifest_at(snapshot: SnapshotLayout) -> SnapshotManifest:
    try:
        data = json.loads(snapshot.manifest.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputValidationError(
            f"{snapshot.manifest}: not valid JSON ({exc}); the file was changed outside petdx. "
            "Lock a new snapshot."
        ) from None
    if not isinstance(data, dict):
        raise InputValidationError(
            f"{snapshot.manifest}: expected a JSON object; the file was changed outside petdx."
        )
    return SnapshotManifest.from_dict(data, snapshot.manifest)


def list_snapshots(study: StudyFolder) -> list[SnapshotManifest]:
    """The study's snapshots, oldest first."""
    return [_manifest_at(study.layout.snapshot(n)) for n in _numbers(study)]


def open_snapshot(study: StudyFolder, number: int) -> SnapshotManifest:
    """The manifest of snapshot ``number``.

    Raises
    ------
    InputValidationError
        The study has no such snapshot.
    """
    snapshot = study.layout.snapshot(number)
    if not snapshot.manifest.is_file():
        known = ", ".join(str(n) for n in _numbers(study)) or "none yet"
        raise InputValidationError(
            f"{study.root}: no snapshot {number} (snapshots: {known}). Choose one of them, or "
            "lock one first."
        )
    return _manifest_at(snapshot)


def _read_only_connect(path: Path) -> Any:
    def connect() -> sqlite3.Connection:
        uri = f"file:{path}?mode=ro&immutable=1"
        connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
        connection.execute("PRAGMA query_only=ON")
        return connection

    return connect


def snapshot_database(study: StudyFolder, number: int) -> StudyDatabase:
    """Snapshot ``number``'s database, opened read-only (module docstring)."""
    open_snapshot(study, number)
    path = study.layout.snapshot(number).database
    engine = create_engine("sqlite://", creator=_read_only_connect(path), poolclass=NullPool)

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")

    return StudyDatabase(engine)


def snapshot_study(study: StudyFolder, number: int) -> StudyFolder:
    """The study as the analyses of snapshot ``number`` see it: the live folder (images and
    derived projections stay where they are) with the configuration locked with it."""
    config_file = study.layout.snapshot(number).config_file
    return StudyFolder(study.root, load_config(config_file))


def verify_snapshot(study: StudyFolder, number: int) -> SnapshotVerification:
    """Check that snapshot ``number``'s database is the file that was locked and holds the
    content that was locked."""
    manifest = open_snapshot(study, number)
    snapshot = study.layout.snapshot(number)
    problems = []
    digest = _sha256(snapshot.database)
    if digest != manifest.database_sha256:
        problems.append(
            f"{snapshot.database}: SHA-256 {digest[:12]} is not the locked "
            f"{manifest.database_sha256[:12]}"
        )
    database = snapshot_database(study, number)
    try:
        content = database.content_hash(exclude=NOT_SNAPSHOTTED)
        with database.engine.connect() as connection:
            head = _audit_head(connection)
            counts = {
                t.name: int(connection.execute(select(func.count()).select_from(t)).scalar_one())
                for t in _snapshotted_tables()
            }
    finally:
        database.dispose()
    if content != manifest.content_hash:
        problems.append(
            f"content hash {content[:12]} is not the locked {manifest.content_hash[:12]}"
        )
    if head != (manifest.audit_head_seq, manifest.audit_head_hash):
        problems.append(f"audit head {head[0]} is not the locked {manifest.audit_head_seq}")
    if counts != dict(manifest.row_counts):
        problems.append("row counts differ from the manifest's")
    return SnapshotVerification(number, tuple(problems))


def _deterministic_zip(folder: Path, zip_path: Path) -> None:
    with zipfile.ZipFile(zip_path, "w") as archive:
        for path in sorted(folder.rglob("*"), key=lambda p: p.relative_to(folder).as_posix()):
            if not path.is_file():
                continue
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            archive.writestr(info, path.read_bytes(), compresslevel=9)


@dataclass(frozen=True)
class SnapshotExport:
    """An export of a snapshot: the zip and what went into it."""

    zip_path: Path
    result: ExportResult

    def to_dict(self) -> dict[str, Any]:
        out = self.result.to_dict()
        del out["folder"]  # a temporary folder, gone
        return {"zip": str(self.zip_path), **out}


def export_snapshot(
    study: StudyFolder,
    number: int,
    *,
    out: str | Path | None = None,
    deidentify: bool = False,
) -> SnapshotExport:
    """``petdx export`` of snapshot ``number`` as one reproducible zip (module docstring).

    ``out`` is the zip file (default ``snapshots/<n>/export.zip``, or
    ``export-deidentified.zip`` with ``deidentify``, which moves every patient's dates as
    :func:`petdx.study.exporting.export_study` does).
    """
    snapshot = study.layout.snapshot(number)
    database = snapshot_database(study, number)
    default = snapshot.export_deidentified_zip if deidentify else snapshot.export_zip
    target = Path(out) if out is not None else default
    try:
        with tempfile.TemporaryDirectory(prefix=".export-", dir=snapshot.path) as tmp:
            result = export_study(
                snapshot_study(study, number), database, out=tmp, deidentify=deidentify
            )
            with atomic_output(target) as tmp_zip:
                _deterministic_zip(Path(tmp), tmp_zip)
    finally:
        database.dispose()
    return SnapshotExport(target, result)
