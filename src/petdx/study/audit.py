"""The audit trail: every insert, update and delete of study data, in a keyed hash chain.

Each row records who, when (UTC), what (action, table, record key, patient), the old and new
values (JSON, changed fields only for an update) and the reason. ``row_hash`` is the
HMAC-SHA256, under the study's audit key (:mod:`petdx.study.seal`, kept outside the
database), of the previous row's hash and this row's content in canonical JSON, so altering,
removing, adding or reordering any row breaks the chain from that row on and cannot be
re-chained without the key; the newest row's sequence number and hash are kept in
``study_meta`` (the chain head) and, after every commit, in the anchor file outside the
database, so removing the newest rows, wiping the trail or replacing the database is found
too. Rows written before an existing study received its key (``keyed_from``) keep their
plain SHA-256 chain and are sealed by a ``seal`` row, the first keyed row. The database
refuses UPDATE and DELETE on ``audit_log`` (triggers, see the initial migration);
:func:`verify_audit_trail` and :func:`petdx.study.integrity.verify_study` find what someone
with administrator rights could still do by hand.

Identity values (``patient_identity.hospital_id`` and ``issuer``) are never written to the
trail: they appear as ``"<redacted sha256:...>"`` (a salted hash, so a change is still
visible without the value).

References
----------
ICH E6(R3) Good Clinical Practice, section 4.2 (data integrity, audit trails).
21 CFR 11.10(e): "secure, computer-generated, time-stamped audit trails to independently
record the date and time of operator entries and actions that create, modify, or delete
electronic records. Record changes shall not obscure previously recorded information."
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, event, func, select

from petdx.errors import InputValidationError
from petdx.study.schema import audit_log, study_meta
from petdx.study.seal import AuditKey, note_head, seal_for

__all__ = [
    "GENESIS_HASH",
    "AuditAction",
    "AuditEntry",
    "AuditProblem",
    "AuditVerification",
    "append_audit",
    "append_audit_many",
    "audit_history",
    "current_actor",
    "flush_audit",
    "flush_audit_on_commit",
    "verify_audit_trail",
]

#: ``prev_hash`` of the first row.
GENESIS_HASH = "0" * 64
_HEAD_KEY = "audit_head"
_REDACTED_FIELDS = {"patient_identity": ("hospital_id", "issuer")}


class AuditAction(StrEnum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    #: The first keyed row of a study that had rows before it received its audit key.
    SEAL = "seal"


def current_actor(user: str | None = None) -> str:
    """The name recorded as ``actor``: ``user`` when given, else the login name."""
    if user:
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _canonical(values: Mapping[str, Any] | None) -> str | None:
    if values is None:
        return None
    return json.dumps(
        {k: _json_value(v) for k, v in values.items()},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def _row_hash(prev_hash: str, row: Mapping[str, Any], key: AuditKey | None = None) -> str:
    """HMAC-SHA256 under ``key`` of the previous hash and the row's content (plain SHA-256
    without a key, or for the rows before ``key.keyed_from``)."""
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
    if key is not None and int(row["seq"]) >= key.keyed_from:
        return hmac.new(key.secret, payload.encode("utf-8"), hashlib.sha256).hexdigest()
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _redact(table_name: str, values: Mapping[str, Any] | None, salt: str) -> Any:
    fields = _REDACTED_FIELDS.get(table_name)
    if values is None or not fields:
        return values
    out = dict(values)
    for name in fields:
        if out.get(name) not in (None, ""):
            digest = hashlib.sha256((salt + str(out[name])).encode()).hexdigest()[:16]
            out[name] = f"<redacted sha256:{digest}>"
    return out


def _redact_key(key: str, salt: str) -> str:
    return f"<redacted sha256:{hashlib.sha256((salt + key).encode()).hexdigest()[:16]}>"


def _salt(connection: Connection) -> str:
    value = connection.execute(
        select(study_meta.c.value).where(study_meta.c.key == "deidentification_secret")
    ).scalar_one_or_none()
    return str(value or "")


def _head(connection: Connection) -> tuple[int, str]:
    row = connection.execute(
        select(study_meta.c.value).where(study_meta.c.key == _HEAD_KEY).with_for_update()
    ).first()
    if row is None:
        return 0, GENESIS_HASH
    seq, digest = str(row[0]).split(":", 1)
    return int(seq), digest


@dataclass(frozen=True)
class AuditChange:
    """One change to record: what was done to which record, old and new values."""

    action: AuditAction
    table_name: str
    record_key: str
    patient_id: str | None
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None


#: ``connection.info`` key: the transaction's audit rows not yet written.
_BUFFER = "petdx_audit_buffer"


@dataclass(frozen=True)
class _Buffered:
    change: AuditChange
    actor: str
    reason: str | None
    at_utc: str


def append_audit_many(
    connection: Connection,
    changes: Sequence[AuditChange],
    *,
    actor: str,
    reason: str | None,
) -> None:
    """Append rows to the audit trail in the caller's transaction.

    The rows are numbered, chained and written when the transaction commits (or when the
    trail is read in it, :func:`flush_audit`): the chain head is the one row every writer
    locks, so it is locked for the last statements of a transaction only, not from its first
    audited change to its end (on PostgreSQL, concurrent writers queued on it for the whole
    of each other's transactions). Rolled back with the transaction or its savepoint."""
    if not changes:
        return
    if seal_for(connection) is None:
        raise InputValidationError(
            "the audit trail is written only through a database opened with "
            "petdx.study.database.open_database(study) or init_study, which holds the study's "
            "audit key; this connection has none."
        )
    if not connection.in_transaction():
        raise InputValidationError("audit rows are written in a transaction (connection.begin())")
    if connection.engine not in _FLUSHING:  # bound with its seal, so this is a petdx bug
        raise RuntimeError("the audit buffer is not flushed on this engine's commits")
    at_utc = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    buffer: list[_Buffered] = connection.info.setdefault(_BUFFER, [])
    buffer.extend(_Buffered(change, actor, reason, at_utc) for change in changes)


def flush_audit(connection: Connection) -> None:
    """Write the transaction's buffered audit rows now (one read and one update of the chain
    head, one multi-row insert); a no-op without any."""
    buffer: list[_Buffered] | None = connection.info.get(_BUFFER)
    if not buffer:
        return
    seal = seal_for(connection)
    if seal is None:  # checked when buffered; the engine lost its seal since
        raise InputValidationError("the audit key of this database was unbound mid-transaction")
    seq, prev_hash = _head(connection)
    needs_salt = any(b.change.table_name in _REDACTED_FIELDS for b in buffer)
    salt = _salt(connection) if needs_salt else ""
    rows = []
    for buffered in buffer:
        change = buffered.change
        redact = change.table_name in _REDACTED_FIELDS
        seq += 1
        row: dict[str, Any] = {
            "seq": seq,
            "at_utc": buffered.at_utc,
            "actor": buffered.actor,
            "action": AuditAction(change.action).value,
            "table_name": change.table_name,
            "record_key": _redact_key(change.record_key, salt) if redact else change.record_key,
            "patient_id": change.patient_id,
            "old_values": _canonical(_redact(change.table_name, change.old, salt)),
            "new_values": _canonical(_redact(change.table_name, change.new, salt)),
            "reason": buffered.reason,
            "prev_hash": prev_hash,
        }
        row["row_hash"] = prev_hash = _row_hash(prev_hash, row, seal.key)
        rows.append(row)
    connection.execute(audit_log.insert(), rows)
    buffer.clear()
    note_head(connection, seq, prev_hash)
    head = f"{seq}:{prev_hash}"
    updated = connection.execute(
        study_meta.update().where(study_meta.c.key == _HEAD_KEY).values(value=head)
    )
    if updated.rowcount == 0:
        connection.execute(study_meta.insert().values(key=_HEAD_KEY, value=head))


_FLUSHING: weakref.WeakSet[Engine] = weakref.WeakSet()


def flush_audit_on_commit(engine: Engine) -> None:
    """Listen on ``engine`` once: buffered rows are written before each commit and before
    each savepoint (so every buffered row is newer than the innermost savepoint), and dropped
    with a rollback of the transaction or of that savepoint. Called before
    :func:`petdx.study.seal.bind_seal`: its savepoint listener notes the chain head the
    savepoint starts from, so the rows must be written first (SQLAlchemy calls an engine's
    listeners in the order they were added; ``insert=True`` does not reorder them)."""
    if engine in _FLUSHING:
        return
    _FLUSHING.add(engine)

    def forget(connection: Connection, *_args: Any) -> None:
        connection.info.pop(_BUFFER, None)

    event.listen(engine, "begin", forget)
    event.listen(engine, "commit", flush_audit)
    event.listen(engine, "rollback", forget)
    event.listen(engine, "savepoint", lambda connection, _name: flush_audit(connection))
    event.listen(engine, "rollback_savepoint", forget)


def append_audit(
    connection: Connection,
    *,
    action: AuditAction | str,
    table_name: str,
    record_key: str,
    patient_id: str | None,
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    actor: str,
    reason: str | None,
) -> None:
    """Append one row to the audit trail, in the caller's transaction."""
    change = AuditChange(AuditAction(action), table_name, record_key, patient_id, old, new)
    append_audit_many(connection, [change], actor=actor, reason=reason)


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit trail, for display."""

    seq: int
    at_utc: str
    actor: str
    action: str
    table_name: str
    record_key: str
    patient_id: str | None
    old_values: dict[str, Any] | None
    new_values: dict[str, Any] | None
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        who = f"{self.at_utc} {self.actor}"
        what = f"{self.action} {self.table_name} [{self.record_key}]"
        if self.action == AuditAction.UPDATE and self.old_values and self.new_values:
            changes = "; ".join(
                f"{k}: {self.old_values.get(k)!r} -> {self.new_values.get(k)!r}"
                for k in sorted(self.new_values)
            )
            what += f" {changes}"
        why = f" (reason: {self.reason})" if self.reason else ""
        return f"#{self.seq} {who}: {what}{why}"


def audit_history(
    connection: Connection,
    *,
    patient_id: str | None = None,
    table_name: str | None = None,
) -> list[AuditEntry]:
    """The audit trail in order, optionally for one patient or one table."""
    flush_audit(connection)
    query = select(audit_log).order_by(audit_log.c.seq)
    if patient_id is not None:
        query = query.where(audit_log.c.patient_id == patient_id)
    if table_name is not None:
        query = query.where(audit_log.c.table_name == table_name)
    entries = []
    for row in connection.execute(query).mappings():
        entries.append(
            AuditEntry(
                seq=row["seq"],
                at_utc=row["at_utc"],
                actor=row["actor"],
                action=row["action"],
                table_name=row["table_name"],
                record_key=row["record_key"],
                patient_id=row["patient_id"],
                old_values=json.loads(row["old_values"]) if row["old_values"] else None,
                new_values=json.loads(row["new_values"]) if row["new_values"] else None,
                reason=row["reason"],
            )
        )
    return entries


@dataclass(frozen=True)
class AuditProblem:
    """A break in the audit chain at row ``seq``, or (``table`` given) a record of a data
    table that differs from what the trail says (``seq``: the trail row that last wrote it,
    0 when none did)."""

    seq: int
    message: str
    table: str | None = None

    def __str__(self) -> str:
        if self.table is not None:
            return f"table {self.table}: {self.message}"
        if self.seq == 0:
            return self.message
        return f"audit row {self.seq}: {self.message}"


@dataclass(frozen=True)
class AuditVerification:
    """Result of :func:`verify_audit_trail` (and :func:`petdx.study.integrity.verify_study`).

    ``head_seq`` and ``head_hash`` are the chain head found (print them for the investigator's
    records: a later verification can be checked against them); ``keyed`` is whether the key
    was at hand; ``anchor_entries`` the anchor lines checked; ``records_checked`` the data
    records compared with the trail."""

    n_rows: int
    head_seq: int
    problems: tuple[AuditProblem, ...]
    head_hash: str = GENESIS_HASH
    keyed: bool = False
    anchor_entries: int = 0
    records_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "n_rows": self.n_rows,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "keyed": self.keyed,
            "anchor_entries": self.anchor_entries,
            "records_checked": self.records_checked,
            "problems": [
                {"seq": p.seq, "table": p.table, "message": p.message} for p in self.problems
            ],
        }

    def __str__(self) -> str:
        head = f"head row {self.head_seq} {self.head_hash}"
        if self.ok:
            return (
                f"audit trail intact: {self.n_rows} rows, chain verified to row "
                f"{self.head_seq} ({'keyed' if self.keyed else 'not keyed'}; "
                f"{self.anchor_entries} anchor entries, {self.records_checked} data records "
                f"match the trail); {head}"
            )
        lines = [f"audit trail BROKEN ({len(self.problems)} problem(s) in {self.n_rows} rows):"]
        lines.append(f"  first: {self.problems[0]}")
        lines += [f"  {p}" for p in self.problems[1:]]
        return "\n".join(lines)


def _describe(row: Mapping[str, Any]) -> str:
    what = f"{row['action']} {row['table_name']} [{row['record_key']}]"
    return f"({row['at_utc']} {row['actor']} {what})"


def audit_rows(connection: Connection) -> list[Any]:
    """Every row of the trail in sequence order (mappings)."""
    flush_audit(connection)
    return list(connection.execute(select(audit_log).order_by(audit_log.c.seq)).mappings())


def stored_head(connection: Connection) -> tuple[int, str] | None:
    """The chain head kept in ``study_meta``, or None."""
    flush_audit(connection)
    row = connection.execute(
        select(study_meta.c.value).where(study_meta.c.key == _HEAD_KEY)
    ).first()
    if row is None:
        return None
    seq_text, digest = str(row[0]).split(":", 1)
    return int(seq_text), digest


def chain_problems(
    rows: Sequence[Mapping[str, Any]],
    head: tuple[int, str] | None,
    key: AuditKey | None,
) -> list[AuditProblem]:
    """Recompute the chain (keyed from ``key.keyed_from`` on) and compare it with the rows
    and the stored head."""
    problems: list[AuditProblem] = []
    head_seq, head_hash = head or (0, GENESIS_HASH)
    expected_seq, prev_hash = 1, GENESIS_HASH
    for row in rows:
        seq = int(row["seq"])
        if seq != expected_seq:
            if seq > expected_seq:
                missing = (
                    f"row {expected_seq}"
                    if seq == expected_seq + 1
                    else f"rows {expected_seq}-{seq - 1}"
                )
                text = f"{missing} removed (the sequence jumps to {seq})"
            else:
                text = f"row {seq} is out of order (expected row {expected_seq})"
            problems.append(AuditProblem(expected_seq, text))
        if row["prev_hash"] != prev_hash:
            problems.append(
                AuditProblem(
                    seq,
                    f"{_describe(row)} does not follow the row before it (prev_hash mismatch): "
                    "a row before it was removed, altered or inserted out of order",
                )
            )
        recomputed = _row_hash(row["prev_hash"], row, key)
        if not hmac.compare_digest(recomputed, str(row["row_hash"])):
            keyed = key is not None and seq >= key.keyed_from
            problems.append(
                AuditProblem(
                    seq,
                    f"{_describe(row)} was altered: its content no longer matches its "
                    + ("keyed hash (HMAC under the study's audit key)" if keyed else "hash"),
                )
            )
        prev_hash = row["row_hash"]
        expected_seq = seq + 1
    last_seq = int(rows[-1]["seq"]) if rows else 0
    if head_seq > last_seq:
        problems.append(
            AuditProblem(
                last_seq + 1,
                f"rows {last_seq + 1}-{head_seq} removed from the end (the chain head names "
                f"row {head_seq})",
            )
        )
    elif head_seq < last_seq:
        problems.append(
            AuditProblem(
                head_seq + 1,
                f"rows {head_seq + 1}-{last_seq} were added outside petdx (not in the chain head)",
            )
        )
    elif rows and head_hash != rows[-1]["row_hash"]:
        problems.append(AuditProblem(last_seq, "the chain head hash does not match the last row"))
    return problems


def verify_audit_trail(connection: Connection, key: AuditKey | None = None) -> AuditVerification:
    """Recompute the hash chain and compare it with the rows and the chain head.

    Finds a row whose content was altered (its hash no longer matches), a removed row (a gap
    in the sequence numbers, or the next row's ``prev_hash`` not matching), rows removed from
    the end (the chain head names a row that is missing) and rows added without the chain.
    With the study's key (``key``, else the key bound to the connection's engine) the chain
    is checked as keyed, so a chain recomputed without the key is found too; the anchor, the
    key file and the data tables are checked by :func:`petdx.study.integrity.verify_study`.
    """
    if key is None:
        seal = seal_for(connection)
        key = seal.key if seal is not None else None
    rows = audit_rows(connection)
    head = stored_head(connection)
    problems = chain_problems(rows, head, key)
    count = connection.execute(select(func.count()).select_from(audit_log)).scalar_one()
    head_seq, head_hash = head or (0, GENESIS_HASH)
    return AuditVerification(
        n_rows=int(count),
        head_seq=head_seq,
        problems=tuple(problems),
        head_hash=head_hash,
        keyed=key is not None,
    )
