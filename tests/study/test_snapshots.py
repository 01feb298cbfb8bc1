"""Locked snapshots (petdx.study.snapshots): one consistent copy, audited, read-only, atomic;
reproducible exports. Runs on SQLite and PostgreSQL (the ``study``/``database`` fixtures)."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import stat
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text
from typer.testing import CliRunner

from petdx.cli.app import app
from petdx.errors import InputValidationError
from petdx.study import snapshots
from petdx.study.audit import audit_history, verify_audit_trail
from petdx.study.config import StudyFolder
from petdx.study.database import StudyDatabase
from petdx.study.exporting import export_study
from petdx.study.importing import import_csv
from petdx.study.integrity import verify_study
from petdx.study.records import Author
from petdx.study.snapshots import (
    export_snapshot,
    list_snapshots,
    lock_snapshot,
    snapshot_database,
    verify_snapshot,
)
from tests.study.cohort import PATIENTS, write_csv
from tests.study.test_export_blinding import _populate

ME = Author("coordinator")


def _patients(database: StudyDatabase) -> list[str]:
    with database.engine.connect() as connection:
        return [r[0] for r in connection.execute(text("SELECT patient_id FROM patients"))]


def _new_patient(database: StudyDatabase, folder: Path, patient_id: str) -> None:
    row = dict(PATIENTS[0], patient_id=patient_id)
    import_csv(database, "patients", write_csv(folder / f"{patient_id}.csv", [row]), author=ME)


def test_lock_copies_everything_audited_and_read_only(
    study: StudyFolder, database: StudyDatabase, tmp_path: Path
) -> None:
    _populate(database, tmp_path / "in")
    before = database.content_hash(exclude=snapshots.NOT_SNAPSHOTTED)
    with database.engine.connect() as connection:
        audit_rows = len(audit_history(connection))
    manifest = lock_snapshot(study, database, actor="stat1", reason="primary analysis")

    assert manifest.number == 1
    assert manifest.content_hash == before  # the live database's content at the lock
    assert manifest.source_dialect == database.dialect
    assert manifest.audit_head_seq == audit_rows
    assert manifest.row_counts["patients"] == 3
    assert manifest.row_counts["patient_identity"] == 1
    assert manifest.row_counts["audit_log"] == audit_rows
    folder = study.root / "snapshots" / "1"
    assert sorted(p.name for p in folder.iterdir()) == [
        "manifest.json",
        "snapshot.sqlite",
        "study.toml",
    ]
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o444, path
    assert json.loads((folder / "manifest.json").read_text())["reason"] == "primary analysis"

    # The lock is the next audited event of the live database; its chain stays intact.
    with database.engine.connect() as connection:
        history = audit_history(connection)
        assert verify_audit_trail(connection).ok
    last = history[-1]
    assert (last.table_name, last.record_key, last.actor, last.reason) == (
        "snapshots",
        "1",
        "stat1",
        "primary analysis",
    )
    assert len(history) == audit_rows + 1
    full = verify_study(study)  # key, chain, anchor and the replay of every table
    assert full.ok, full.problems

    # The snapshot opens with the study's code, holds the content locked, refuses writes.
    snap = snapshot_database(study, 1)
    try:
        assert snap.content_hash(exclude=snapshots.NOT_SNAPSHOTTED) == before
        assert _patients(snap) == _patients(database)
        with pytest.raises(Exception, match=r"readonly|read-only|query_only"), snap.begin() as c:
            c.execute(text("DELETE FROM exposures"))
    finally:
        snap.dispose()
    assert verify_snapshot(study, 1).ok


def test_later_changes_leave_the_snapshot_alone(
    study: StudyFolder, database: StudyDatabase, tmp_path: Path
) -> None:
    _populate(database, tmp_path / "in")
    first = lock_snapshot(study, database, actor="stat1", reason="interim")
    _new_patient(database, tmp_path, "SIM-0009")
    second = lock_snapshot(study, database, actor="stat1", reason="final")
    assert [m.number for m in list_snapshots(study)] == [1, 2]
    assert first.content_hash != second.content_hash
    assert (first.row_counts["patients"], second.row_counts["patients"]) == (3, 4)
    snap = snapshot_database(study, 1)
    try:
        assert "SIM-0009" not in _patients(snap)
    finally:
        snap.dispose()
    assert verify_snapshot(study, 1).ok
    assert verify_snapshot(study, 2).ok


def test_the_copy_is_one_consistent_read(
    study: StudyFolder, database: StudyDatabase, tmp_path: Path, monkeypatch: Any
) -> None:
    """A patient committed by another connection while the copy runs (after its first read)
    is in neither the copy nor its content hash."""
    _populate(database, tmp_path / "in")
    before = database.content_hash(exclude=snapshots.NOT_SNAPSHOTTED)
    copy = snapshots._copy_tables

    def copy_with_a_write_in_between(source: Connection, target: Connection) -> dict[str, int]:
        source.execute(text("SELECT count(*) FROM patients")).scalar_one()  # the read begins
        _new_patient(database, tmp_path, "SIM-0010")  # another connection commits
        return copy(source, target)

    monkeypatch.setattr(snapshots, "_copy_tables", copy_with_a_write_in_between)
    manifest = lock_snapshot(study, database, actor="stat1", reason="consistency")
    assert "SIM-0010" in _patients(database)
    assert manifest.content_hash == before
    assert manifest.row_counts["patients"] == 3
    assert verify_snapshot(study, manifest.number).ok


def test_a_failed_lock_leaves_nothing(
    study: StudyFolder, database: StudyDatabase, tmp_path: Path, monkeypatch: Any
) -> None:
    _populate(database, tmp_path / "in")
    before = database.content_hash()

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(snapshots.os, "rename", refuse)
    with pytest.raises(OSError, match="No space left"):
        lock_snapshot(study, database, actor="stat1", reason="will fail")
    assert list((study.root / "snapshots").iterdir()) == []
    assert database.content_hash() == before  # no audit row of a lock that did not happen
    assert list_snapshots(study) == []


def test_a_lock_needs_a_reason(study: StudyFolder, database: StudyDatabase) -> None:
    with pytest.raises(InputValidationError, match="needs a reason"):
        lock_snapshot(study, database, actor="stat1", reason="  ")
    with pytest.raises(InputValidationError, match="at most 2000"):
        lock_snapshot(study, database, actor="stat1", reason="x" * 2001)
    with pytest.raises(InputValidationError, match=r"no snapshot 4 \(snapshots: none yet\)"):
        snapshot_database(study, 4)


def test_an_altered_snapshot_is_found(
    study: StudyFolder, database: StudyDatabase, tmp_path: Path
) -> None:
    _populate(database, tmp_path / "in")
    lock_snapshot(study, database, actor="stat1", reason="primary")
    path = study.root / "snapshots" / "1" / "snapshot.sqlite"
    path.chmod(0o644)
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE patients SET weight_kg = 99 WHERE patient_id = 'SIM-0001'")
    verification = verify_snapshot(study, 1)
    assert not verification.ok
    assert "SHA-256" in verification.problems[0]
    assert any("content hash" in p for p in verification.problems)


def _zip_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_two_exports_of_a_snapshot_are_byte_identical(
    study: StudyFolder, database: StudyDatabase, tmp_path: Path
) -> None:
    _populate(database, tmp_path / "in")
    lock_snapshot(study, database, actor="stat1", reason="primary")
    live = export_study(study, database, out=tmp_path / "live")
    _new_patient(database, tmp_path, "SIM-0011")  # the live study moves on

    first = export_snapshot(study, 1, out=tmp_path / "a.zip")
    second = export_snapshot(study, 1)  # default place, another day
    assert second.zip_path == study.root / "snapshots" / "1" / "export.zip"
    assert first.zip_path.read_bytes() == second.zip_path.read_bytes()

    members = _zip_members(first.zip_path)
    assert list(members) == sorted(members)
    with zipfile.ZipFile(first.zip_path) as archive:
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    # The snapshot's export is the live export as it was at the lock (pseudonyms only).
    assert set(members) == set(live.files) | {"data_dictionary.csv", "redcap_data_dictionary.csv"}
    for name in live.files:
        if name.endswith(".csv"):
            assert members[name] == (tmp_path / "live" / name).read_bytes(), name
    assert "patient_identity.csv" not in members
    assert not any(b"MRN-0001-XYZ" in data for data in members.values())
    assert b"SIM-0011" not in members["patients.csv"]
    dictionary = list(csv.DictReader(io.StringIO(members["data_dictionary.csv"].decode())))
    weight = next(r for r in dictionary if r["table"] == "patients" and r["field"] == "weight_kg")
    assert weight["unit"] == "kg"
    assert weight["description"]
    assert any(r["allowed_values"] for r in dictionary)  # the code lists
    log = members["screening_log.csv"].decode().splitlines()
    assert log[0] == "patient_id,criterion_id,kind,verdict,evidence"

    deidentified = export_snapshot(study, 1, deidentify=True)
    assert deidentified.zip_path.name == "export-deidentified.zip"
    shifted = _zip_members(deidentified.zip_path)["patients.csv"]
    assert shifted != members["patients.csv"]
    assert b"1960-03-15" not in shifted


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_snapshot_commands(study: StudyFolder, database: StudyDatabase, tmp_path: Path) -> None:
    _populate(database, tmp_path / "in")
    root = str(study.root)
    locked = _cli("snapshot", "lock", root, "--reason", "primary analysis", "--user", "stat1")
    assert locked.exit_code == 0, locked.output
    listed = _cli("snapshot", "list", root)
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [(r["number"], r["actor"], r["reason"]) for r in rows] == [
        (1, "stat1", "primary analysis")
    ]
    assert _cli("snapshot", "verify", root, "1").exit_code == 0
    exported = _cli("snapshot", "export", root, "1", "--out", str(tmp_path / "x.zip"))
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "x.zip").is_file()

    no_reason = _cli("snapshot", "lock", root, "--reason", "")
    assert no_reason.exit_code == 2
    assert "needs a reason" in no_reason.stderr
    missing = _cli("snapshot", "export", root, "7")
    assert missing.exit_code == 2
    assert "no snapshot 7 (snapshots: 1)" in missing.stderr
    not_a_study = _cli("snapshot", "list", str(tmp_path / "nowhere"))
    assert not_a_study.exit_code == 2


def test_a_snapshot_holds_no_sign_in_credentials(
    study: StudyFolder, database: StudyDatabase, tmp_path: Path
) -> None:
    """Accounts' Argon2 hashes and the session rows (token hashes, CSRF tokens) are no
    study data: a snapshot, handed to statisticians and archived, leaves them out; who did
    what stays in its copy of the audit trail."""
    from petdx.study.accounts import create_account, start_session

    _populate(database, tmp_path / "in")
    account = create_account(
        database,
        "stat1",
        role="statistician",
        site="main",
        password="a long pass phrase 1",
        actor="admin",
    )
    _, session = start_session(database, account)
    with database.engine.connect() as connection:
        stored_hash = connection.execute(text("SELECT password_hash FROM accounts")).scalar_one()
    manifest = lock_snapshot(study, database, actor="stat1", reason="primary analysis")
    raw = (study.root / "snapshots" / str(manifest.number) / "snapshot.sqlite").read_bytes()
    for secret in (stored_hash, session.csrf_token):  # the session id is public (audited)
        assert secret.encode() not in raw
    snap = snapshot_database(study, manifest.number)
    try:
        with snap.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM accounts")).scalar_one() == 0
            assert connection.execute(text("SELECT count(*) FROM web_sessions")).scalar_one() == 0
            actors = {a.actor for a in audit_history(connection)}
    finally:
        snap.dispose()
    assert "stat1" in actors
    assert verify_snapshot(study, manifest.number).ok
