"""``petdx audit verify``: the keyed chain, the key, the anchor, and every data table.

:func:`verify_study` checks, in this order, and reports each problem found (the first one is
the first bad row or table):

1. the database is there and readable (a missing SQLite file is reported, never created);
2. the audit key: present, owner-only, and the key that sealed this database (its id in
   ``study_meta``); a missing key, or a database never sealed with the key (replaced or
   re-initialised), is a problem;
3. the chain, recomputed under the key (:func:`petdx.study.audit.chain_problems`): altered,
   removed, added and reordered rows, and a head that does not match;
4. the anchor (:mod:`petdx.study.seal`): every line names a row the trail has, with the same
   hash; a line beyond the trail's end is truncation (or a wiped or replaced trail); a
   missing anchor while the study is sealed is a problem; the trail may be ahead of the
   anchor (a crash between commit and anchor write);
5. the data tables, recomputed from the trail (:func:`table_problems`): every record of every
   audited table (:data:`~petdx.study.schema.AUDITED_TABLES`, and every other table the trail
   writes, such as the web forms' enrolments, queries and locks) must equal what its inserts,
   updates and deletes in the trail say; each record that differs, is missing, or was added
   outside petdx is named with its table, key and fields.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select

from petdx.errors import InputValidationError
from petdx.study.audit import (
    GENESIS_HASH,
    AuditAction,
    AuditProblem,
    AuditVerification,
    _redact,
    _redact_key,
    _salt,
    audit_rows,
    chain_problems,
    stored_head,
)
from petdx.study.config import StudyFolder
from petdx.study.database import StudyDatabase, sqlite_file, stored_key_id
from petdx.study.schema import AUDITED_TABLES, metadata, record_key
from petdx.study.seal import AnchorFile, AuditKey, load_key

__all__ = ["parse_head", "table_problems", "verify_study"]

#: Columns a table holds that the trail does not: derived keys and surrogate identifiers.
_NOT_IN_TRAIL = {"record_key", "measurement_id"}
#: At most this many differing records are named per table (the count is always given).
_MAX_PER_TABLE = 20
#: Tables the trail does not describe record by record (the web application's sessions are
#: audited as events, signed in and out; their tokens, times and expired sessions never reach
#: the trail, see petdx.study.accounts).
_NOT_REPLAYED = {"audit_log", "study_meta", "instances", "web_sessions"}
#: Tables whose trail rows hold only some columns: only those are compared (an account's
#: name, role, site, state and creation are audited; its password hash and sign-in counters
#: are not).
_TRAIL_COLUMNS = {"accounts": frozenset({"name", "role", "site", "disabled", "created_utc"})}


def _same(stored: Any, recorded: Any) -> bool:
    if stored == recorded:
        return True
    if stored is None or recorded is None:
        return False
    if isinstance(stored, float) and isinstance(recorded, float):
        return math.isnan(stored) and math.isnan(recorded)
    if isinstance(stored, str) and isinstance(recorded, str):
        try:  # a date or time written as text, stored as a date or time
            return datetime.fromisoformat(stored) == datetime.fromisoformat(recorded)
        except ValueError:
            return False
    if isinstance(stored, bool | int | float) and isinstance(recorded, str):
        try:
            return float(stored) == float(recorded)
        except ValueError:
            return False
    return False


def _stored_values(row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in row.items():
        if name in _NOT_IN_TRAIL or value is None:
            continue
        out[name] = value.isoformat() if isinstance(value, datetime | date) else value
    return out


def _shown(value: Any) -> str:
    text = "(empty)" if value is None else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def table_problems(
    connection: Connection, rows: Sequence[Mapping[str, Any]]
) -> tuple[list[AuditProblem], int]:
    """Replay the trail's inserts, updates and deletes and compare the result with every
    record of every audited table. Returns the problems and the number of records checked."""
    salt = _salt(connection)
    tables = dict(AUDITED_TABLES)
    for name in sorted({str(row["table_name"]) for row in rows}):  # e.g. the web forms' tables
        if name in metadata.tables and name not in _NOT_REPLAYED:
            tables[name] = metadata.tables[name]
    expected: dict[str, dict[str, tuple[int, dict[str, Any]]]] = {t: {} for t in tables}
    problems: list[AuditProblem] = []
    for row in rows:
        table = row["table_name"]
        if table not in expected:
            continue
        key, seq = str(row["record_key"]), int(row["seq"])
        new = json.loads(row["new_values"]) if row["new_values"] else {}
        if row["action"] == AuditAction.INSERT:
            expected[table][key] = (seq, dict(new))
        elif row["action"] == AuditAction.UPDATE:
            before = expected[table].get(key)
            values = dict(before[1]) if before else {}
            values.update(new)
            expected[table][key] = (seq, values)
        elif row["action"] == AuditAction.DELETE:
            expected[table].pop(key, None)
    checked = 0
    for name, table in tables.items():
        recorded = expected[name]
        found: list[AuditProblem] = []
        for mapping in connection.execute(select(table)).mappings():
            stored = dict(mapping)
            checked += 1
            key = record_key(name, stored)
            if name in ("patient_identity",):
                key = _redact_key(key, salt)
            values = _stored_values(stored)
            if name in _TRAIL_COLUMNS:
                values = {k: v for k, v in values.items() if k in _TRAIL_COLUMNS[name]}
            if name == "patient_identity":
                values = _redact(name, values, salt)
            entry = recorded.pop(key, None)
            if entry is None:
                found.append(
                    AuditProblem(
                        0,
                        f"[{key}] is in the table but no audit row inserted it: added outside "
                        "petdx (or its audit rows were removed)",
                        table=name,
                    )
                )
                continue
            seq, trail = entry
            differing = [
                f"{field} is {_shown(values.get(field))} in the table, "
                f"{_shown(trail.get(field))} in the trail"
                for field in sorted(set(values) | set(trail))
                if not _same(values.get(field), trail.get(field))
            ]
            if differing:
                found.append(
                    AuditProblem(
                        seq,
                        f"[{key}] differs from the audit trail (last written by audit row "
                        f"{seq}): {'; '.join(differing)} - changed outside petdx",
                        table=name,
                    )
                )
        for key, (seq, _values) in sorted(recorded.items(), key=lambda item: item[1][0]):
            found.append(
                AuditProblem(
                    seq,
                    f"[{key}] was written by audit row {seq} and never deleted through petdx, "
                    "but is not in the table: removed outside petdx",
                    table=name,
                )
            )
        if len(found) > _MAX_PER_TABLE:
            more = len(found) - _MAX_PER_TABLE
            found = found[:_MAX_PER_TABLE]
            found.append(AuditProblem(0, f"... and {more} more record(s)", table=name))
        problems += found
    return problems, checked


def _anchor_problems(
    anchor: AnchorFile,
    rows: Sequence[Mapping[str, Any]],
    key: AuditKey | None,
    key_id: str | None,
) -> tuple[list[AuditProblem], int]:
    entries, bad = anchor.read()
    problems = [AuditProblem(0, text) for text in bad]
    hashes = {int(r["seq"]): str(r["row_hash"]) for r in rows}
    last = max(hashes, default=0)
    if not anchor.exists():
        if key is not None or key_id is not None:
            problems.append(
                AuditProblem(
                    0,
                    f"the audit anchor {anchor.path} is missing, but the study is sealed "
                    "(petdx writes the anchor when it creates the key): it was deleted. "
                    "Restore it from the backup",
                )
            )
        return problems, 0
    beyond = [e for e in entries if e.seq > last]
    if beyond:
        top = max(beyond, key=lambda e: e.seq)
        problems.append(
            AuditProblem(
                last + 1,
                f"the anchor {anchor.path} line {top.line} records row {top.seq} "
                f"(committed {top.at_utc}), but the trail ends at row {last}: rows "
                f"{last + 1}-{top.seq} were removed (truncated, wiped or replaced database)",
            )
        )
    first_mismatch = None
    for entry in sorted(entries, key=lambda e: e.seq):
        if entry.seq in hashes and hashes[entry.seq] != entry.row_hash:
            first_mismatch = entry
            break
    if first_mismatch is not None:
        problems.append(
            AuditProblem(
                first_mismatch.seq,
                f"differs from the anchor {anchor.path} line {first_mismatch.line} "
                f"(committed {first_mismatch.at_utc}): the trail was rewritten from this row "
                "on or the database replaced",
            )
        )
    wanted = key.key_id if key is not None else key_id
    foreign = [e for e in entries if wanted is not None and e.key_id != wanted]
    if foreign:
        problems.append(
            AuditProblem(
                0,
                f"the anchor {anchor.path} line {foreign[0].line} was written under key "
                f"{foreign[0].key_id}, not this study's key {wanted}",
            )
        )
    return problems, len(entries)


def _recorded_head_problems(
    rows: Sequence[Mapping[str, Any]], recorded: Sequence[tuple[int, str]]
) -> list[AuditProblem]:
    """Heads the investigator kept (``verify``'s last line): each row must still be there
    with the same hash."""
    hashes = {int(r["seq"]): str(r["row_hash"]) for r in rows}
    problems = []
    for seq, digest in recorded:
        if seq not in hashes:
            problems.append(
                AuditProblem(seq, f"the recorded head row {seq} is no longer in the trail")
            )
        elif hashes[seq] != digest:
            problems.append(
                AuditProblem(
                    seq,
                    f"differs from the recorded head ({digest[:16]}...): the trail was "
                    "rewritten from this row back",
                )
            )
    return problems


def parse_head(text: str) -> tuple[int, str]:
    """``SEQ:HASH`` (as ``verify`` prints it: ``head row SEQ HASH`` also accepted)."""
    cleaned = text.strip().removeprefix("head row").strip().replace(" ", ":", 1)
    seq_text, _, digest = cleaned.partition(":")
    digest = digest.strip().lower()
    if not seq_text.strip().isdigit() or len(digest) != 64 or set(digest) - set("0123456789abcdef"):
        raise InputValidationError(
            f"recorded head {text!r}: expected SEQ:HASH, the row number and the 64-digit hex "
            "hash of a line `petdx audit verify` printed (head row SEQ HASH)."
        )
    return int(seq_text), digest


def verify_study(
    study: StudyFolder, *, recorded_heads: Sequence[tuple[int, str]] = ()
) -> AuditVerification:
    """Every check of the module docstring, and each of ``recorded_heads`` (row, hash) that
    the investigator kept; raises only when the database cannot be read.

    Raises
    ------
    InputValidationError
        The database exists but is unreadable or at another schema.
    """
    anchor = AnchorFile(study.audit_anchor_path)
    db_file = sqlite_file(study.database_url)
    if db_file is not None and not db_file.exists():
        entries, _ = anchor.read()
        recorded = max((e.seq for e in entries), default=0)
        what = (
            f"the audit anchor records {recorded} audit row(s): the database was deleted"
            if recorded
            else "no audit anchor entries exist for it"
        )
        problem = AuditProblem(
            1 if recorded else 0,
            f"the study database {db_file} does not exist ({what}). Restore it from the "
            "study's backup",
        )
        return AuditVerification(0, 0, (problem,), anchor_entries=len(entries))
    database = StudyDatabase.from_url(study.database_url)
    try:
        database.check_current()
        problems: list[AuditProblem] = []
        try:
            key = load_key(study.audit_key_path)
        except InputValidationError as exc:
            key = None
            problems.append(AuditProblem(0, str(exc)))
        with database.engine.connect() as connection:
            key_id = stored_key_id(connection)
            rows = audit_rows(connection)
            head = stored_head(connection)
            if key is None and not problems:
                problems.append(
                    AuditProblem(
                        0,
                        f"the audit key {study.audit_key_path} is missing"
                        + (
                            f"; the trail is sealed with key {key_id}: restore the key file"
                            if key_id
                            else f": the trail is not keyed (run `petdx init {study.root}` "
                            "once for a study from before audit keys)"
                        ),
                    )
                )
            elif key is not None and key_id != key.key_id:
                problems.append(
                    AuditProblem(
                        0,
                        f"the database was not sealed with the study's audit key "
                        f"{study.audit_key_path} (key {key.key_id}; the database names "
                        f"{key_id or 'no key'}): the database was replaced or re-initialised",
                    )
                )
            problems += chain_problems(rows, head, key)
            anchored, n_anchor = _anchor_problems(anchor, rows, key, key_id)
            problems += anchored
            problems += _recorded_head_problems(rows, recorded_heads)
            tables, checked = table_problems(connection, rows)
            problems += tables
    finally:
        database.dispose()
    head_seq, head_hash = head or (0, GENESIS_HASH)
    return AuditVerification(
        n_rows=len(rows),
        head_seq=head_seq,
        problems=tuple(problems),
        head_hash=head_hash,
        keyed=key is not None,
        anchor_entries=n_anchor,
        records_checked=checked,
    )
