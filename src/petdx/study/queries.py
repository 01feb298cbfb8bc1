"""The study's query API: every read and write the pipeline, the analyses, the command line
and the web application make of the study database, by name.

Outside :mod:`petdx.study` nothing builds SQL: callers open a connection
(``database.engine.connect()`` or ``.begin()`` for a transaction) and call these functions,
which return frozen rows. The row types are derived from the tables (so from the data
dictionary for the exchange tables, as :mod:`petdx.study.schema` derives the tables): one
frozen dataclass per table, its fields the table's columns in order, with
:meth:`StudyRow.as_dict`.

Writes of exchange records go through :mod:`petdx.study.records` (audited); the internal
``instances`` bookkeeping through :func:`store_instances`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields, make_dataclass
from functools import cache
from typing import Any

from sqlalchemy import Connection, RowMapping, Table, select

from petdx.study.schema import (
    exchange_table,
    instances,
    measurements,
    metadata,
    patient_identity,
    series,
    visits,
)

__all__ = [
    "StudyRow",
    "analysis_pet_scans",
    "instance_digests",
    "measurement_rows",
    "patient_identities",
    "patient_ids",
    "recorded_instance_digests",
    "recorded_instance_uids",
    "row_type",
    "store_instances",
    "table_rows",
    "table_snapshot",
    "usable_pet_series",
]


class StudyRow:
    """Base of the generated row types (frozen dataclasses with slots)."""

    __slots__ = ()

    def as_dict(self) -> dict[str, Any]:
        """The row as a mapping of column name to value, in column order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_")) + "Row"


@cache
def _row_type_of(name: str, columns: tuple[str, ...]) -> type[StudyRow]:
    return make_dataclass(
        _camel(name), [(c, Any) for c in columns], bases=(StudyRow,), frozen=True, slots=True
    )


def _table(name: str) -> Table:
    return metadata.tables[name]


def row_type(name: str) -> type[StudyRow]:
    """The frozen row type of the table ``name`` (exchange or internal)."""
    table = _table(name)
    return _row_type_of(name, tuple(c.name for c in table.columns))


def _rows(name: str, mappings: Iterable[RowMapping]) -> tuple[StudyRow, ...]:
    kind = row_type(name)
    return tuple(kind(**dict(m)) for m in mappings)


def table_rows(connection: Connection, name: str) -> tuple[StudyRow, ...]:
    """Every row of a table, in the database's order."""
    return _rows(name, connection.execute(select(_table(name))).mappings())


def table_snapshot(connection: Connection, name: str) -> list[tuple[Any, ...]]:
    """Every row of a table as plain tuples ordered by its primary key (for content hashes)."""
    table = _table(name)
    key = list(table.primary_key.columns)
    return [tuple(r) for r in connection.execute(select(table).order_by(*key)).all()]


def patient_identities(connection: Connection) -> dict[tuple[str, str], str]:
    """(issuer, hospital identifier) -> pseudonym, for ingest only (never shown)."""
    return {
        (str(row.issuer or ""), str(row.hospital_id)): str(row.patient_id)
        for row in connection.execute(select(patient_identity))
    }


def patient_ids(connection: Connection) -> frozenset[str]:
    """The pseudonyms of every registered patient."""
    column = exchange_table("patients").c.patient_id
    return frozenset(str(p) for p in connection.execute(select(column)).scalars())


def recorded_instance_digests(connection: Connection, series_uid: str) -> dict[str, str]:
    """(De-identified) SOP instance UID -> SHA-256 of the stored file, for a series."""
    query = select(instances.c.sop_instance_uid, instances.c.sha256).where(
        instances.c.series_uid == series_uid
    )
    return {str(uid): str(digest) for uid, digest in connection.execute(query)}


def recorded_instance_uids(connection: Connection, series_uid: str) -> frozenset[str]:
    """The (de-identified) SOP instance UIDs already stored for a series."""
    query = select(instances.c.sop_instance_uid).where(instances.c.series_uid == series_uid)
    return frozenset(str(uid) for uid in connection.execute(query).scalars())


def store_instances(
    connection: Connection,
    new: Sequence[Mapping[str, Any]],
    moved: Sequence[Mapping[str, Any]],
) -> None:
    """Record new instances and the new path and digest of instances stored again."""
    if new:
        connection.execute(instances.insert(), [dict(r) for r in new])
    for row in moved:
        connection.execute(
            instances.update()
            .where(instances.c.sop_instance_uid == row["sop_instance_uid"])
            .values(path=row["path"], sha256=row["sha256"])
        )


def usable_pet_series(connection: Connection) -> tuple[StudyRow, ...]:
    """Stored PET series whose SUV could be computed (``suv_error`` empty)."""
    query = select(series).where(series.c.modality == "PT", series.c.suv_error.is_(None))
    return _rows("series", connection.execute(query).mappings())


def instance_digests(connection: Connection) -> dict[str, list[str]]:
    """SHA-256 of every stored instance, by series (in the database's order)."""
    digests: dict[str, list[str]] = {}
    for row in connection.execute(select(instances.c.series_uid, instances.c.sha256)):
        digests.setdefault(row.series_uid, []).append(row.sha256)
    return digests


_PET_SCAN_COLUMNS = (
    *(c.name for c in series.columns),
    "injection_datetime",
    "administered_activity_mbq",
)


def analysis_pet_scans(connection: Connection) -> tuple[StudyRow, ...]:
    """Every stored PET series with its visit's injection time and activity."""
    query = (
        select(series, visits.c.injection_datetime, visits.c.administered_activity_mbq)
        .join(visits, visits.c.visit_id == series.c.visit_id)
        .where(series.c.modality == "PT")
    )
    kind = _row_type_of("pet_scan", _PET_SCAN_COLUMNS)
    return tuple(kind(**dict(m)) for m in connection.execute(query).mappings())


def measurement_rows(connection: Connection) -> tuple[StudyRow, ...]:
    """Every quantified value (lesion x tracer x time point x method x metric)."""
    return _rows(measurements.name, connection.execute(select(measurements)).mappings())
