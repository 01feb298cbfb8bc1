"""A field's history, one click from the form: every change of one field of one record from
the audit trail (who, when, old value, new value, reason), oldest first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from petdx.study.audit import AuditEntry, audit_history
from petdx.study.forms import form_spec
from petdx.study.schema import record_key

__all__ = ["FieldHistoryEntry", "field_history"]


@dataclass(frozen=True)
class FieldHistoryEntry:
    """One change of a field: who, when, old and new value, why."""

    seq: int
    at_utc: str
    actor: str
    action: str
    old: Any
    new: Any
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at_utc": self.at_utc,
            "actor": self.actor,
            "action": self.action,
            "old": self.old,
            "new": self.new,
            "reason": self.reason,
        }


def field_history(
    connection: Connection, form: str, key: Mapping[str, Any], field_name: str
) -> list[FieldHistoryEntry]:
    """The audit history of one field of one record (from
    :func:`petdx.study.audit.audit_history`), oldest first."""
    spec = form_spec(form)
    spec.field(field_name)
    wanted = record_key(spec.table, key)
    patient_id = key.get("patient_id")
    entries: list[AuditEntry] = audit_history(
        connection,
        patient_id=None if patient_id is None else str(patient_id),
        table_name=spec.table,
    )
    out = []
    for e in entries:
        if e.record_key != wanted:
            continue
        old = (e.old_values or {}).get(field_name)
        new = (e.new_values or {}).get(field_name)
        touched = field_name in (e.old_values or {}) or field_name in (e.new_values or {})
        if touched:
            out.append(FieldHistoryEntry(e.seq, e.at_utc, e.actor, e.action, old, new, e.reason))
    return out
