"""Audited writes: every insert, update and delete of study data goes through here.

Each function writes the record and its audit row in the caller's transaction, so either
both are stored or neither is (see :mod:`petdx.study.audit`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, select

from petdx.errors import Hint, InputValidationError
from petdx.study.audit import AuditAction, AuditChange, append_audit, append_audit_many
from petdx.study.schema import AUDITED_TABLES, key_columns, metadata, record_key

__all__ = [
    "Author",
    "delete_record",
    "get_record",
    "insert_record",
    "insert_records",
    "sync_records",
    "update_record",
]


@dataclass(frozen=True)
class Author:
    """Who makes a change and why (both go to the audit trail)."""

    actor: str
    reason: str | None = None


def _table(name: str) -> Table:
    try:
        return metadata.tables[name]
    except KeyError:
        raise InputValidationError(
            f"'{name}' is not a table of the study database; expected one of "
            f"{', '.join(sorted(AUDITED_TABLES))}."
        ) from None


def _where(table: Table, key: Mapping[str, Any]) -> ColumnElement[bool]:
    if "record_key" in table.c:
        return table.c.record_key == record_key(table.name, key)
    return and_(*(table.c[name] == key.get(name) for name in key_columns(table.name)))


def get_record(
    connection: Connection, table_name: str, key: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The stored record with this key, or None."""
    table = _table(table_name)
    row = connection.execute(select(table).where(_where(table, key))).mappings().first()
    if row is None:
        return None
    return {k: v for k, v in row.items() if k != "record_key"}


def _patient(values: Mapping[str, Any]) -> str | None:
    value = values.get("patient_id")
    return None if value is None else str(value)


def insert_record(
    connection: Connection, table_name: str, values: Mapping[str, Any], *, author: Author
) -> None:
    """Insert a record and its audit row."""
    table = _table(table_name)
    row = dict(values)
    if "record_key" in table.c:
        row["record_key"] = record_key(table_name, values)
    connection.execute(table.insert().values(**row))
    append_audit(
        connection,
        action=AuditAction.INSERT,
        table_name=table_name,
        record_key=record_key(table_name, values),
        patient_id=_patient(values),
        old=None,
        new={k: v for k, v in values.items() if v is not None},
        actor=author.actor,
        reason=author.reason,
    )


def insert_records(
    connection: Connection,
    table_name: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    author: Author,
) -> None:
    """Insert many records and their audit rows (one multi-row insert each)."""
    if not rows:
        return
    table = _table(table_name)
    stored = []
    for values in rows:
        row = dict(values)
        if "record_key" in table.c:
            row["record_key"] = record_key(table_name, values)
        stored.append(row)
    columns = {k for row in stored for k in row}
    connection.execute(table.insert(), [{k: row.get(k) for k in columns} for row in stored])
    changes = [
        AuditChange(
            AuditAction.INSERT,
            table_name,
            record_key(table_name, values),
            _patient(values),
            None,
            {k: v for k, v in values.items() if v is not None},
        )
        for values in rows
    ]
    append_audit_many(connection, changes, actor=author.actor, reason=author.reason)


def update_record(
    connection: Connection,
    table_name: str,
    key: Mapping[str, Any],
    changes: Mapping[str, Any],
    *,
    author: Author,
) -> None:
    """Change fields of an existing record; the audit row holds old and new values of the
    changed fields. Raises when the record does not exist or no reason is given."""
    if not author.reason:
        raise InputValidationError(
            f"{table_name} [{record_key(table_name, key)}]: changing a stored value needs a "
            "reason for the audit trail (the author's reason).",
            hint=Hint("reason"),
        )
    table = _table(table_name)
    old = get_record(connection, table_name, key)
    if old is None:
        raise InputValidationError(
            f"{table_name} [{record_key(table_name, key)}]: no such record to change."
        )
    changed = {k: v for k, v in changes.items() if old.get(k) != v}
    if not changed:
        return
    connection.execute(table.update().where(_where(table, key)).values(**changed))
    append_audit(
        connection,
        action=AuditAction.UPDATE,
        table_name=table_name,
        record_key=record_key(table_name, key),
        patient_id=_patient(old),
        old={k: old.get(k) for k in changed},
        new=changed,
        actor=author.actor,
        reason=author.reason,
    )


def delete_record(
    connection: Connection, table_name: str, key: Mapping[str, Any], *, author: Author
) -> None:
    """Delete a record (its values are kept in the audit row). A reason is required."""
    if not author.reason:
        raise InputValidationError(
            f"{table_name} [{record_key(table_name, key)}]: deleting a record needs a reason "
            "for the audit trail."
        )
    table = _table(table_name)
    old = get_record(connection, table_name, key)
    if old is None:
        raise InputValidationError(
            f"{table_name} [{record_key(table_name, key)}]: no such record to delete."
        )
    connection.execute(table.delete().where(_where(table, key)))
    append_audit(
        connection,
        action=AuditAction.DELETE,
        table_name=table_name,
        record_key=record_key(table_name, key),
        patient_id=_patient(old),
        old={k: v for k, v in old.items() if v is not None},
        new=None,
        actor=author.actor,
        reason=author.reason,
    )


def sync_records(
    connection: Connection,
    table_name: str,
    scope: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    *,
    author: Author,
) -> tuple[int, int, int]:
    """Make the records of ``table_name`` matching ``scope`` equal to ``rows``.

    Records are matched by their key (:func:`~petdx.study.schema.key_columns`); only the
    differences are written, each with its audit row: new keys are inserted, changed fields
    updated, keys absent from ``rows`` deleted. Writing the same rows again changes nothing.
    Updates and deletes need ``author.reason``.

    Returns
    -------
    tuple of int
        (inserted, updated, deleted).
    """
    table = _table(table_name)
    where = and_(*(table.c[name] == value for name, value in scope.items()))
    stored = {
        record_key(table_name, dict(row)): dict(row)
        for row in connection.execute(select(table).where(where)).mappings()
    }
    wanted = {record_key(table_name, row): dict(row) for row in rows}
    new = [row for key, row in wanted.items() if key not in stored]
    insert_records(connection, table_name, new, author=author)
    updated = 0
    for key, row in wanted.items():
        old = stored.get(key)
        if old is not None and any(old.get(k) != v for k, v in row.items()):
            update_record(
                connection,
                table_name,
                {k: row[k] for k in key_columns(table_name)},
                row,
                author=author,
            )
            updated += 1
    gone = [row for key, row in stored.items() if key not in wanted]
    for row in gone:
        delete_record(
            connection, table_name, {k: row[k] for k in key_columns(table_name)}, author=author
        )
    return len(new), updated, len(gone)
