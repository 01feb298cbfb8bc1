"""The reader-facing query layer: what a nuclear medicine physician may see while reading.

A blinded reader sees images and where the lesions to score are, and their own reads - never
the reference standard, pathology, PD-L1 immunohistochemistry, follow-up, clinical history
(screening answers, tumour type, performance status, exposures), measurements, hospital
identifiers, or other readers' scores. The layer enforces this by construction: every query
selects from :data:`READER_COLUMNS` only, and a test inspects every column every method can
return and plants markers in the forbidden tables to show none leaks.

References
----------
Bossuyt PM et al. STARD 2015: an updated list of essential items for reporting diagnostic
accuracy studies. BMJ 2015;351:h5527 (item 13a: blinding of index-test readers).
doi:10.1136/bmj.h5527
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, select

from petdx.errors import InputValidationError
from petdx.study.schema import exchange_table, series

__all__ = ["FORBIDDEN_TABLES", "READER_COLUMNS", "ReaderView"]

#: The only columns a reader query may select, by table.
READER_COLUMNS: dict[str, tuple[str, ...]] = {
    "series": ("patient_id", "series_uid", "modality", "tracer", "time_point_min", "folder"),
    "lesion_registry": (
        "lesion_id",
        "patient_id",
        "site",
        "centre_x_mm",
        "centre_y_mm",
        "centre_z_mm",
    ),
    "reads": (
        "reader_id",
        "patient_id",
        "lesion_id",
        "tracer",
        "time_point_min",
        "score",
        "call",
        "read_datetime",
    ),
}

#: Tables no reader query touches.
FORBIDDEN_TABLES = frozenset(
    {
        "pathology",
        "reference_standard",
        "follow_up",
        "screening",
        "exposures",
        "patients",
        "patient_identity",
        "measurements",
        "audit_log",
        "study_meta",
        "visits",
        "scans",
    }
)


class ReaderView:
    """Queries for one reader. Every method returns plain rows (dicts).

    Parameters
    ----------
    connection
        A database connection.
    reader_id
        The reader's pseudonym; :meth:`own_reads` returns this reader's reads only.
    """

    def __init__(self, connection: Connection, reader_id: str) -> None:
        if not reader_id.strip():
            raise InputValidationError("reader id is empty; give the reader's pseudonym.")
        self._connection = connection
        self.reader_id = reader_id

    @staticmethod
    def _columns(table_name: str) -> list[Any]:
        table = series if table_name == "series" else exchange_table(table_name)
        return [table.c[name] for name in READER_COLUMNS[table_name]]

    def _run(self, query: Select[Any]) -> list[dict[str, Any]]:
        return [dict(row) for row in self._connection.execute(query).mappings()]

    def worklist_query(self) -> Select[Any]:
        columns = self._columns("series")
        return select(*columns).order_by(columns[0], columns[3], columns[4], columns[2])

    def worklist(self) -> list[dict[str, Any]]:
        """Series to read: pseudonym, de-identified series UID, modality, tracer, time
        point and the folder of the de-identified copies."""
        return self._run(self.worklist_query())

    def lesions_query(self, patient_id: str | None = None) -> Select[Any]:
        columns = self._columns("lesion_registry")
        query = select(*columns).order_by(columns[1], columns[0])
        if patient_id is not None:
            query = query.where(columns[1] == patient_id)
        return query

    def lesions(self, patient_id: str | None = None) -> list[dict[str, Any]]:
        """Lesions to score: identifier, patient, anatomical site and centre (LPS mm)."""
        return self._run(self.lesions_query(patient_id))

    def own_reads_query(self) -> Select[Any]:
        columns = self._columns("reads")
        return (
            select(*columns)
            .where(columns[0] == self.reader_id)
            .order_by(columns[1], columns[3], columns[4], columns[2])
        )

    def own_reads(self) -> list[dict[str, Any]]:
        """This reader's reads so far (never another reader's)."""
        return self._run(self.own_reads_query())

    def queries(self) -> dict[str, Select[Any]]:
        """Every query the view can run (for audits and tests)."""
        return {
            "worklist": self.worklist_query(),
            "lesions": self.lesions_query(),
            "own_reads": self.own_reads_query(),
        }
