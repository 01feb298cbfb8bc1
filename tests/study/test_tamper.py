"""The tamper suite (issue 20, Build 1): what a database editor does to a study, and
``petdx audit verify`` finding it (exit 2, the first bad row or table named).

Every attack works on the database with the tools an administrator has (SQL through a plain
engine, the append-only triggers dropped first) or on the study folder's files; none uses
petdx's audit writer. Each runs on SQLite and PostgreSQL. The last tests show what must not
raise an alarm: a rolled-back write, a lagging anchor, concurrent writers, a legacy study
sealed by ``petdx init``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from typer.testing import CliRunner

from petdx.cli.app import app
from petdx.study.config import open_study
from petdx.study.database import make_engine, open_database
from petdx.study.records import Author, insert_record
from tests.demo_study import DemoStudy
from tests.study.cohort import EXPOSURES, PATIENTS, SCREENING, copy_rows, write_csv


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _verify(root: Path) -> tuple[int, dict[str, object], str]:
    code, out, err = _run("audit", "verify", str(root))
    assert "Traceback" not in err
    return code, (json.loads(out) if out else {}), err


def _first(payload: dict[str, object]) -> dict[str, object]:
    problems = payload["problems"]
    assert isinstance(problems, list)
    assert problems
    first = problems[0]
    assert isinstance(first, dict)
    return first


@contextmanager
def _editor(root: Path) -> Iterator[Connection]:
    """A database administrator's session: a plain engine (no audit key), triggers off."""
    engine = make_engine(open_study(root).database_url)
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "sqlite":
                connection.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
                connection.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
            else:
                connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            yield connection
    finally:
        engine.dispose()


def _rows(connection: Connection) -> list[dict[str, object]]:
    result = connection.execute(text("SELECT * FROM audit_log ORDER BY seq"))
    return [dict(r) for r in result.mappings()]


def _sha256_chain(prev_hash: str, row: dict[str, object]) -> str:
    """The unkeyed chain of petdx before issue 20 (audit.py at 4af8631, ``_row_hash``): what
    an editor without the key can recompute."""
    content = [
        row["seq"],
        row["at_utc"],
        row["actor"],
        row["action"],
        row["table_name"],
        row["record_key"],
        row["patient_id"],
        row["old_values"],
        row["new_values"],
        row["reason"],
    ]
    payload = prev_hash + json.dumps(content, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _rechain(connection: Connection, rows: list[dict[str, object]], start: int) -> None:
    """Recompute every row's hash from ``start`` on without the key, and the head."""
    prev = "0" * 64
    for row in rows:
        if int(str(row["seq"])) >= start:
            row["prev_hash"] = prev
            row["row_hash"] = _sha256_chain(prev, row)
            connection.execute(
                text(
                    "UPDATE audit_log SET prev_hash = :p, row_hash = :h, new_values = :n, "
                    "actor = :a WHERE seq = :s"
                ),
                {
                    "p": row["prev_hash"],
                    "h": row["row_hash"],
                    "n": row["new_values"],
                    "a": row["actor"],
                    "s": row["seq"],
                },
            )
        prev = str(row["row_hash"])
    last = rows[-1]
    connection.execute(
        text("UPDATE study_meta SET value = :v WHERE key = 'audit_head'"),
        {"v": f"{last['seq']}:{last['row_hash']}"},
    )


def _exposure(exposure_id: str) -> dict[str, object]:
    return {
        "exposure_id": exposure_id,
        "patient_id": "SIM-0001",
        "exposure_date": date(2025, 1, 10),
        "modality": "CT",
        "ct_dlp_mgy_cm": 500.0,
    }


@pytest.fixture
def root(tmp_path: Path, db_url: str) -> Path:
    """A study with three patients, their screening and exposures, an identity row and one
    audited correction (five imports: 3 + 3 + 1 + 1 + 1 audit rows)."""
    folder = tmp_path / "study"
    code, _, err = _run("init", str(folder), "--db", db_url)
    assert code == 0, err
    for name, rows in (("patients", PATIENTS), ("screening", SCREENING), ("exposures", EXPOSURES)):
        code, _, err = _run("import", str(folder), name, str(write_csv(tmp_path / name, rows)))
        assert code == 0, err
    identity = [{"patient_id": "SIM-0001", "hospital_id": "MRN-4417-2290"}]
    code, _, err = _run(
        "import", str(folder), "patient_identity", str(write_csv(tmp_path / "id", identity))
    )
    assert code == 0, err
    changed = copy_rows(PATIENTS)
    changed[1]["weight_kg"] = "82"
    path = write_csv(tmp_path / "p2.csv", changed)
    code, _, err = _run("import", str(folder), "patients", str(path), "--reason", "scale")
    assert code == 0, err
    code, payload, err = _verify(folder)
    assert code == 0, err
    assert payload["n_rows"] == 9
    assert payload["keyed"] is True
    assert payload["anchor_entries"] == 6  # init (row 0) and five imports
    assert payload["records_checked"] == 8
    return folder


# --- the audit's five attacks (a)-(e) -----------------------------------------------------


def test_a_truncated_tail_with_an_earlier_hash_copied_into_the_head(root: Path) -> None:
    with _editor(root) as db:
        rows = _rows(db)
        db.execute(text("DELETE FROM audit_log WHERE seq > 7"))
        db.execute(
            text("UPDATE study_meta SET value = :v WHERE key = 'audit_head'"),
            {"v": f"7:{rows[6]['row_hash']}"},
        )
    code, payload, err = _verify(root)
    assert code == 2
    assert _first(payload)["seq"] == 8
    assert "records row 9" in err
    assert "rows 8-9 were removed" in err


def test_b_the_trail_and_its_head_wiped(root: Path) -> None:
    with _editor(root) as db:
        db.execute(text("DELETE FROM audit_log"))
        db.execute(text("DELETE FROM study_meta WHERE key = 'audit_head'"))
    code, payload, err = _verify(root)
    assert code == 2
    assert _first(payload)["seq"] == 1
    assert "rows 1-9 were removed" in err
    # and every record now lacks its audit rows
    assert "table patients: [SIM-0001] is in the table but no audit row inserted it" in err


def test_c_database_deleted_and_the_study_initialised_again(root: Path, tmp_path: Path) -> None:
    study = open_study(root)
    url = study.database_url
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":  # the administrator deletes the database
        for suffix in ("", "-wal", "-shm"):
            Path(str(engine.url.database) + suffix).unlink(missing_ok=True)
    else:
        with engine.begin() as db:
            db.execute(text("DROP SCHEMA public CASCADE"))
            db.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    if engine.dialect.name == "sqlite":
        code, payload, err = _verify(root)
        assert code == 2
        assert "does not exist (the audit anchor records 9 audit row(s)" in err
        assert not Path(str(engine.url.database)).exists()  # verify created nothing
    # petdx init refuses to start the study again under the old key
    code, _, err = _run("init", str(root))
    assert code == 2
    assert "belongs to a study database that is not this one" in err
    # the editor builds a fresh study database at the same place through another folder
    code, _, err = _run("init", str(tmp_path / "other"), "--db", url)
    assert code == 0, err
    code, payload, err = _verify(root)
    assert code == 2
    assert "was not sealed with the study's audit key" in str(_first(payload)["message"])
    assert "rows 1-9 were removed" in err


def test_d_a_row_edited_and_the_chain_recomputed_without_the_key(root: Path) -> None:
    with _editor(root) as db:
        rows = _rows(db)
        target = next(r for r in rows if r["table_name"] == "patients")  # SIM-0001 insert
        values = json.loads(str(target["new_values"]))
        values["weight_kg"] = 95.0
        target["new_values"] = json.dumps(values, sort_keys=True, separators=(",", ":"))
        db.execute(text("UPDATE patients SET weight_kg = 95.0 WHERE patient_id = 'SIM-0001'"))
        _rechain(db, rows, start=int(str(target["seq"])))
    code, payload, err = _verify(root)
    assert code == 2
    first = _first(payload)
    assert first["seq"] == target["seq"]
    assert "was altered" in str(first["message"])
    assert "keyed hash" in str(first["message"])
    assert "differs from the anchor" in err


@pytest.mark.parametrize(
    ("statement", "table", "named"),
    [
        (
            "UPDATE patients SET weight_kg = 99 WHERE patient_id = 'SIM-0002'",
            "patients",
            "[SIM-0002] differs from the audit trail (last written by audit row 9): "
            "weight_kg is 99.0 in the table, 82.0 in the trail",
        ),
        (
            "DELETE FROM exposures WHERE exposure_id = 'EXP-1'",
            "exposures",
            "was written by audit row",
        ),
        (
            "UPDATE screening SET consent_signed = 'no' WHERE patient_id = 'SIM-0001'",
            "screening",
            "consent_signed is 'no' in the table, 'yes' in the trail",
        ),
        (
            "UPDATE patient_identity SET hospital_id = 'MRN-0000' WHERE patient_id = 'SIM-0001'",
            "patient_identity",
            "[<redacted sha256:",
        ),
        (
            "INSERT INTO patients (patient_id, sex, birth_date, screening_date) "
            "VALUES ('SIM-0099', 'F', '1950-01-01', '2025-05-01')",
            "patients",
            "[SIM-0099] is in the table but no audit row inserted it",
        ),
    ],
    ids=["patients-edit", "exposure-delete", "screening-edit", "identity-edit", "insert"],
)
def test_e_data_tables_edited_directly(root: Path, statement: str, table: str, named: str) -> None:
    with _editor(root) as db:
        db.execute(text(statement))
    code, payload, err = _verify(root)
    assert code == 2
    first = _first(payload)
    assert first["table"] == table
    assert named in str(first["message"])
    assert "MRN-0000" not in err
    assert "MRN-4417-2290" not in err


# --- reordering, single fields, the key -----------------------------------------------------


def test_reordered_rows(root: Path) -> None:
    with _editor(root) as db:
        db.execute(text("UPDATE audit_log SET seq = -4 WHERE seq = 4"))
        db.execute(text("UPDATE audit_log SET seq = 4 WHERE seq = 5"))
        db.execute(text("UPDATE audit_log SET seq = 5 WHERE seq = -4"))
    code, payload, _ = _verify(root)
    assert code == 2
    assert _first(payload)["seq"] == 4


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("actor", "mallory"),
        ("at_utc", "2025-01-01T00:00:00.000000Z"),
        ("reason", "no reason"),
        ("record_key", "SIM-0003"),
        ("patient_id", "SIM-0003"),
        ("action", "delete"),
    ],
)
def test_a_single_field_edited(root: Path, field: str, value: str) -> None:
    with _editor(root) as db:
        db.execute(text(f"UPDATE audit_log SET {field} = :v WHERE seq = 2"), {"v": value})
    code, payload, _ = _verify(root)
    assert code == 2
    first = _first(payload)
    assert first["seq"] == 2
    assert "was altered" in str(first["message"])


def test_the_key_removed(root: Path) -> None:
    key = open_study(root).audit_key_path
    secret = key.read_bytes()
    key.unlink()
    code, payload, err = _verify(root)
    assert code == 2
    assert "audit key" in str(_first(payload)["message"])
    assert "missing" in err
    code, _, err = _run("import", str(root), "patients", "nothing.csv")
    assert code == 2
    assert "audit key file" in err
    assert "is missing" in err
    # removing the key's trace from the database too does not make the trail look new
    with _editor(root) as db:
        db.execute(text("DELETE FROM study_meta WHERE key = 'audit_key_id'"))
    code, payload, err = _verify(root)
    assert code == 2
    assert "missing" in str(_first(payload)["message"])
    key.write_bytes(secret)
    key.chmod(0o644)  # a key others can read is no key
    code, payload, err = _verify(root)
    assert code == 2
    assert "chmod 600" in err


def test_the_anchor_removed(root: Path) -> None:
    open_study(root).audit_anchor_path.unlink()
    code, payload, _ = _verify(root)
    assert code == 2
    assert "anchor" in str(_first(payload)["message"])
    assert "missing" in str(_first(payload)["message"])


def test_the_key_never_enters_the_database_or_an_export(root: Path) -> None:
    study = open_study(root)
    secret = json.loads(study.audit_key_path.read_text())["key"]
    code, _, err = _run("export", str(root), "--out", str(root.parent / "exported"))
    assert code == 0, err
    assert (study.audit_key_path.stat().st_mode & 0o777) == 0o600
    with _editor(root) as db:
        names = [
            r[0]
            for r in db.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    if db.engine.dialect.name == "sqlite"
                    else "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            )
        ]
        dump = "".join(
            str(list(row)) for name in names for row in db.execute(text(f'SELECT * FROM "{name}"'))
        )
    assert names
    assert "audit_log" in names
    assert secret not in dump
    for path in (root.parent / "exported").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


# --- what must not raise an alarm -------------------------------------------------------------


def test_a_rolled_back_write_leaves_the_anchor_and_the_trail_consistent(root: Path) -> None:
    study = open_study(root)
    before = study.audit_anchor_path.read_text()
    database = open_database(study)
    try:

        def write_then_fail() -> None:
            with database.begin() as connection:
                insert_record(connection, "exposures", _exposure("X-9"), author=Author("t"))
                raise RuntimeError("abort after the audit row was written")

        with pytest.raises(RuntimeError, match="abort"):
            write_then_fail()
        with database.begin() as connection:  # a savepoint rolled back inside a commit
            insert_record(connection, "exposures", _exposure("X-10"), author=Author("t"))
            nested = connection.begin_nested()
            insert_record(connection, "exposures", _exposure("X-11"), author=Author("t"))
            nested.rollback()
    finally:
        database.dispose()
    after = study.audit_anchor_path.read_text()
    assert after.startswith(before)
    added = [json.loads(line) for line in after[len(before) :].splitlines()]
    assert [entry["seq"] for entry in added] == [10]
    code, payload, err = _verify(root)
    assert code == 0, err
    assert payload["head_seq"] == 10


def test_an_anchor_that_lags_by_the_last_transaction_is_no_alarm(root: Path) -> None:
    """A crash between the database commit and the anchor write leaves the anchor behind."""
    anchor = open_study(root).audit_anchor_path
    lines = anchor.read_text().splitlines(keepends=True)
    anchor.write_text("".join(lines[:-1]))
    code, payload, err = _verify(root)
    assert code == 0, err
    # but the rows after the anchor are still under the key
    with _editor(root) as db:
        db.execute(text("UPDATE audit_log SET reason = 'other' WHERE seq = 9"))
    code, payload, _ = _verify(root)
    assert code == 2
    assert _first(payload)["seq"] == 9


def test_concurrent_writers_keep_chain_and_anchor_consistent(root: Path) -> None:
    database = open_database(open_study(root))
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def writer(k: int) -> None:
        try:
            barrier.wait()
            for j in range(5):
                with database.begin() as connection:
                    values = _exposure(f"C-{k}-{j}")
                    insert_record(connection, "exposures", values, author=Author(f"w{k}"))
        except BaseException as exc:  # collected, re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    database.dispose()
    assert errors == []
    code, payload, err = _verify(root)
    assert code == 0, err
    assert payload["head_seq"] == 29
    assert payload["anchor_entries"] == 26


def _legacy_study(root: Path) -> int:
    """Turn the study into one from before audit keys: the trail re-chained with the old
    unkeyed formula, the key, anchor and key id gone."""
    study = open_study(root)
    study.audit_key_path.unlink()
    study.audit_anchor_path.unlink()
    with _editor(root) as db:
        rows = _rows(db)
        _rechain(db, rows, start=1)
        db.execute(text("DELETE FROM study_meta WHERE key = 'audit_key_id'"))
    return len(rows)


def test_a_study_from_before_audit_keys_is_sealed_by_init(root: Path) -> None:
    n_rows = _legacy_study(root)
    code, _, err = _run("import", str(root), "patients", "x.csv")
    assert code == 2
    assert "has no audit key yet" in err
    assert "petdx init" in err
    code, _, err = _run("init", str(root))
    assert code == 0, err
    code, payload, err = _verify(root)
    assert code == 0, err
    assert payload["head_seq"] == n_rows + 1  # the seal row
    key = json.loads(open_study(root).audit_key_path.read_text())
    assert key["keyed_from"] == n_rows + 1
    # an edit of a legacy row, re-chained without the key, breaks at the seal row
    with _editor(root) as db:
        rows = _rows(db)
        rows[2]["actor"] = "mallory"
        _rechain(db, rows[:n_rows], start=3)
    code, payload, err = _verify(root)
    assert code == 2
    assert _first(payload)["seq"] == n_rows + 1
    assert "does not follow the row before it" in err


# --- the crashes of `audit verify` and `init` (issue 20, Why: Crashes) ------------------------


def test_verify_on_a_missing_database_creates_nothing(tmp_path: Path) -> None:
    root = tmp_path / "s"
    assert _run("init", str(root))[0] == 0
    (root / "study.sqlite").unlink()
    code, _payload, err = _verify(root)
    assert code == 2
    assert "does not exist" in err
    assert not (root / "study.sqlite").exists()


def test_verify_on_a_corrupt_database_is_a_clear_error(tmp_path: Path) -> None:
    root = tmp_path / "s"
    assert _run("init", str(root))[0] == 0
    for suffix in ("-wal", "-shm"):
        (root / f"study.sqlite{suffix}").unlink(missing_ok=True)
    (root / "study.sqlite").write_bytes(b"this is not a database" * 200)
    code, _, err = _verify(root)
    assert code == 2
    assert "not a readable study database" in err
    assert "internal error" not in err


def test_a_failed_init_leaves_nothing_and_a_retry_uses_the_new_url(tmp_path: Path) -> None:
    root = tmp_path / "s"
    code, _, err = _run("init", str(root), "--db", "postgresql+psycopg://nobody@127.0.0.1:1/x")
    assert code == 2
    assert "connection" in err.lower()
    assert not (root / "study.toml").exists()
    assert not (root / "audit.key").exists()
    code, out, err = _run("init", str(root), "--db", "sqlite:///good.sqlite")
    assert code == 0, err
    assert json.loads(out)["config"]["database_url"] == "sqlite:///good.sqlite"
    assert (root / "good.sqlite").exists()
    # an existing study.toml is never silently kept over a different --db
    code, _, err = _run("init", str(root), "--db", "sqlite:///other.sqlite")
    assert code == 2
    assert "--db" in err
    assert "was not applied" in err


@pytest.mark.parametrize(
    "option", [("--pdl1-cutoff", "nan"), ("--pdl1-cutoff", "inf"), ("--suv-max-at-least", "nan")]
)
def test_init_refuses_non_finite_cut_offs(tmp_path: Path, option: tuple[str, str]) -> None:
    code, _, err = _run("init", str(tmp_path / "s"), *option)
    assert code == 2
    assert "nan" in err.lower() or "inf" in err.lower()
    assert not (tmp_path / "s" / "study.toml").exists()


def test_the_demo_study_after_import_ingest_and_run_verifies_intact(demo_study: DemoStudy) -> None:
    """No false alarm from the table replay on a whole study: imported tables, ingested visits
    and series, measurements written by ``petdx run``."""
    code, payload, err = _verify(demo_study.reference)
    assert code == 0, err
    with _editor(demo_study.reference) as db:
        n_measurements = db.execute(text("SELECT count(*) FROM measurements")).scalar_one()
        n_series = db.execute(text("SELECT count(*) FROM series")).scalar_one()
    assert n_measurements > 0
    assert n_series > 0
    assert int(str(payload["records_checked"])) > n_measurements + n_series


def test_a_table_the_web_forms_write_is_replayed_too(root: Path) -> None:
    """Tables outside AUDITED_TABLES that the trail writes (issue 13's enrolments) are
    compared with the trail like the exchange tables."""
    database = open_database(open_study(root))
    try:
        with database.begin() as connection:
            values = {
                "patient_id": "SIM-0001",
                "enrolled_by": "coordinator",
                "enrolled_at_utc": "2025-05-03T09:00:00Z",
                "evidence": "{}",
            }
            insert_record(connection, "enrolments", values, author=Author("coordinator"))
    finally:
        database.dispose()
    code, _, err = _verify(root)
    assert code == 0, err
    with _editor(root) as db:
        db.execute(text("UPDATE enrolments SET enrolled_by = 'mallory'"))
    code, payload, _ = _verify(root)
    assert code == 2
    first = _first(payload)
    assert first["table"] == "enrolments"
    assert "enrolled_by is 'mallory' in the table, 'coordinator' in the trail" in str(
        first["message"]
    )


def test_a_head_kept_by_the_investigator_finds_a_consistent_rewrite(root: Path) -> None:
    """The anchor and the trail truncated together (someone who can write both): the head
    the investigator printed earlier still shows it."""
    code, payload, err = _verify(root)
    kept = f"{payload['head_seq']}:{payload['head_hash']}"
    assert f"head row {payload['head_seq']} {payload['head_hash']}" in err
    code, _, err = _run("audit", "verify", str(root), "--head", kept)
    assert code == 0, err
    anchor = open_study(root).audit_anchor_path
    anchor.write_text("".join(anchor.read_text().splitlines(keepends=True)[:-1]))
    with _editor(root) as db:
        rows = _rows(db)
        db.execute(text("DELETE FROM audit_log WHERE seq = 9"))
        db.execute(text("UPDATE patients SET weight_kg = 81 WHERE patient_id = 'SIM-0002'"))
        db.execute(
            text("UPDATE study_meta SET value = :v WHERE key = 'audit_head'"),
            {"v": f"8:{rows[7]['row_hash']}"},
        )
    code, _, err = _verify(root)
    assert code == 0, err  # a lagging anchor hides the last transaction's removal ...
    code, out, err = _run("audit", "verify", str(root), "--head", kept)
    assert code == 2  # ... the kept head does not
    assert json.loads(out)["problems"][0]["seq"] == 9
    assert "recorded head row 9 is no longer in the trail" in err
    code, _, err = _run("audit", "verify", str(root), "--head", "9:abc")
    assert code == 2
    assert "expected SEQ:HASH" in err


def test_web_accounts_and_sessions_raise_no_alarm_and_a_role_raised_by_sql_is_found(
    root: Path,
) -> None:
    """Accounts' trail rows hold the role, site and state (not the password hash or the
    sign-in counters); sessions are audited events. Neither is a false alarm; an account
    whose role an administrator raised in SQL is named."""
    from petdx.study.accounts import create_account, end_session, start_session

    database = open_database(open_study(root))
    try:
        account = create_account(
            database,
            "rita",
            role="reader",
            site="site-a",
            password="a long enough passphrase 42",
            actor="admin",
        )
        token, _ = start_session(database, account)
        end_session(database, token)
        start_session(database, account)
    finally:
        database.dispose()
    code, _, err = _verify(root)
    assert code == 0, err
    with _editor(root) as db:
        db.execute(text("UPDATE accounts SET role = 'admin' WHERE name = 'rita'"))
    code, payload, _ = _verify(root)
    assert code == 2
    first = _first(payload)
    assert first["table"] == "accounts"
    assert "role is 'admin' in the table, 'reader' in the trail" in str(first["message"])
