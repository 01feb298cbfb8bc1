"""The audit trail: every insert, update and delete of study data, hash-chained.

Each row records who, when (UTC), what (action, table, record key, patient), the old and new
values (JSON, changed fields only for an update) and the reason. ``row_hash`` is the SHA-256
of the previous row's hash and this row's content in canonical JSON, so altering, removing or
reordering any row breaks the chain from that row on; the newest row's sequence number and
hash are also kept in ``study_meta`` (the chain head), so removing the newest rows is found
too. The database refuses UPDATE and DELETE on ``audit_log`` (triggers, see the initial
migration); :func:`verify_audit_trail` finds what someone with administrator rights could
still do by hand.

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
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, func, select

from petdx.study.schema import audit_log, study_meta

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


def _row_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
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


def append_audit_many(
    connection: Connection,
    changes: Sequence[AuditChange],
    *,
    actor: str,
    reason: str | None,
) -> None:
    """Append rows to the audit trail in the caller's transaction (one read and one update of
    the chain head, one multi-row insert)."""
    if not changes:
        return
    seq, prev_hash = _head(connection)
    needs_salt = any(c.table_name in _REDACTED_FIELDS for c in changes)
    salt = _salt(connection) if needs_salt else ""
    at_utc = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    rows = []
    for change in changes:
        redact = change.table_name in _REDACTED_FIELDS
        seq += 1
        row: dict[str, Any] = {
            "seq": seq,
            "at_utc": at_utc,
            "actor": actor,
            "action": AuditAction(change.action).value,
            "table_name": change.table_name,
            "record_key": _redact_key(change.record_key, salt) if redact else change.record_key,
            "patient_id": change.patient_id,
            "old_values": _canonical(_redact(change.table_name, change.old, salt)),
            "new_values": _canonical(_redact(change.table_name, change.new, salt)),
            "reason": reason,
            "prev_hash": prev_hash,
        }
        row["row_hash"] = prev_hash = _row_hash(prev_hash, row)
        rows.append(row)
    connection.execute(audit_log.insert(), rows)
    head = f"{seq}:{prev_hash}"
    updated = connection.execute(
        study_meta.update().where(study_meta.c.key == _HEAD_KEY).values(value=head)
    )
    if updated.rowcount == 0:
        connection.execute(study_meta.insert().values(key=_HEAD_KEY, value=head))


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
    """A break in the audit chain, at row ``seq``."""

    seq: int
    message: str

    def __str__(self) -> str:
        return f"audit row {self.seq}: {self.message}"


@dataclass(frozen=True)
class AuditVerification:
    """Result of :func:`verify_audit_trail`."""

    n_rows: int
    head_seq: int
    problems: tuple[AuditProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "n_rows": self.n_rows,
            "head_seq": self.head_seq,
            "problems": [{"seq": p.seq, "message": p.message} for p in self.problems],
        }

    def __str__(self) -> str:
        if self.ok:
            return f"audit trail intact: {self.n_rows} rows, chain verified to row {self.head_seq}"
        lines = [f"audit trail BROKEN ({len(self.problems)} problem(s) in {self.n_rows} rows):"]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)


def _describe(row: Mapping[str, Any]) -> str:
    what = f"{row['action']} {row['table_name']} [{row['record_key']}]"
    return f"({row['at_utc']} {row['actor']} {what})"


def verify_audit_trail(connection: Connection) -> AuditVerification:
    """Recompute the hash chain and compare it with the rows and the chain head.

    Finds a row whose content was altered (its hash no longer matches), a removed row (a gap
    in the sequence numbers, or the next row's ``prev_hash`` not matching), rows removed from
    the end (the chain head names a row that is missing) and rows added without the chain.
    """
    problems: list[AuditProblem] = []
    rows: list[Any] = list(
        connection.execute(select(audit_log).order_by(audit_log.c.seq)).mappings()
    )
    head_row = connection.execute(
        select(study_meta.c.value).where(study_meta.c.key == _HEAD_KEY)
    ).first()
    head_seq, head_hash = (0, GENESIS_HASH)
    if head_row is not None:
        seq_text, head_hash = str(head_row[0]).split(":", 1)
        head_seq = int(seq_text)
    expected_seq, prev_hash = 1, GENESIS_HASH
    for row in rows:
        seq = int(row["seq"])
        if seq != expected_seq:
            missing = (
                f"row {expected_seq}"
                if seq == expected_seq + 1
                else f"rows {expected_seq}-{seq - 1}"
            )
            problems.append(
                AuditProblem(expected_seq, f"{missing} removed (the sequence jumps to {seq})")
            )
        if row["prev_hash"] != prev_hash:
            problems.append(
                AuditProblem(
                    seq,
                    f"{_describe(row)} does not follow the row before it (prev_hash mismatch): "
                    "a row before it was removed, altered or inserted out of order",
                )
            )
        recomputed = _row_hash(row["prev_hash"], row)
        if recomputed != row["row_hash"]:
            problems.append(
                AuditProblem(
                    seq,
                    f"{_describe(row)} was altered: its content no longer matches its hash",
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
    count = connection.execute(select(func.count()).select_from(audit_log)).scalar_one()
    return AuditVerification(n_rows=int(count), head_seq=head_seq, problems=tuple(problems))
