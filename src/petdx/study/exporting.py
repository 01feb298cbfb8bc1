"""``petdx export``: the study's tables as CSV and Parquet, the screening log, and a
REDCap-style data dictionary.

Written to the output folder (default ``STUDY/export``), each file through a temporary name:

* ``<table>.csv`` and ``<table>.parquet`` for every exchange table the study holds (the
  data-dictionary format, so an export imports back unchanged), plus ``visits``, ``series``
  and ``measurements``;
* ``screening_log.csv`` (patient x criterion: verdict and evidence) and ``eligibility.csv``
  (patient: eligible, failed and unknown criteria, the shape of the simulator's
  ``enrolment_truth.csv``);
* ``data_dictionary.csv`` (petdx's own) and ``redcap_data_dictionary.csv`` (the REDCap
  instrument-designer columns, so a site can build a matching REDCap project).

Never exported: ``patient_identity`` (hospital identifiers), the audit trail and the
study secret. Values: dates ISO 8601, booleans ``true``/``false``, empty for missing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Table, select

from petdx.data_dictionary import Field, FieldType, dictionary_rows
from petdx.data_dictionary import Table as DictTable
from petdx.fileio import atomic_output, atomic_write_text
from petdx.study.config import StudyFolder
from petdx.study.database import StudyDatabase
from petdx.study.eligibility import screening_log
from petdx.study.schema import (
    IDENTITY_TABLE,
    IMPORTABLE,
    exchange_table,
    measurements,
    series,
    visits,
)

__all__ = ["REDCAP_COLUMNS", "ExportResult", "export_study", "redcap_dictionary_rows"]

#: Columns of a REDCap data dictionary (instrument designer, CSV upload).
REDCAP_COLUMNS = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
_IDENTIFYING = {"birth_date"}  # HIPAA identifier among the exported fields


@dataclass(frozen=True)
class ExportResult:
    """Files written by an export."""

    folder: str
    files: tuple[str, ...]
    row_counts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "files": list(self.files), "rows": dict(self.row_counts)}

    def __str__(self) -> str:
        tables = ", ".join(f"{k} {v}" for k, v in self.row_counts.items())
        return f"exported {len(self.files)} files to {self.folder} ({tables})"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds" if not value.microsecond else "microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _csv_text(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buffer.getvalue()


def _rows(connection: Connection, table: Table, columns: Sequence[str]) -> list[dict[str, Any]]:
    order = list(table.primary_key.columns)
    query = select(*(table.c[c] for c in columns)).order_by(*order)
    return [dict(r) for r in connection.execute(query).mappings()]


def _write(
    folder: Path, name: str, columns: Sequence[str], rows: list[dict[str, Any]]
) -> list[str]:
    atomic_write_text(folder / f"{name}.csv", _csv_text(columns, rows))
    frame = pd.DataFrame(rows, columns=list(columns))
    with atomic_output(folder / f"{name}.parquet") as tmp:
        frame.to_parquet(tmp, index=False)
    return [f"{name}.csv", f"{name}.parquet"]


def _redcap_type(f: Field) -> tuple[str, str, str]:
    """(field type, choices, validation)."""
    if f.type is FieldType.CODE and f.allowed:
        return "dropdown", " | ".join(f"{a}, {a}" for a in f.allowed), ""
    if f.type is FieldType.CODES and f.allowed:
        return "checkbox", " | ".join(f"{a}, {a}" for a in f.allowed), ""
    if f.type is FieldType.BOOLEAN:
        return "dropdown", "true, true | false, false", ""
    validation = {
        FieldType.INTEGER: "integer",
        FieldType.DECIMAL: "number",
        FieldType.DATE: "date_ymd",
        FieldType.DATETIME: "datetime_seconds_ymd",
    }.get(f.type, "")
    return "text", "", validation


def redcap_dictionary_rows(tables: Sequence[DictTable]) -> list[dict[str, str]]:
    """REDCap data-dictionary rows: one instrument (form) per table. The record identifier
    ``patient_id`` is listed once, first; other field names that repeat across tables are
    prefixed with their table name."""
    counts: dict[str, int] = {}
    for table in tables:
        for f in table.fields:
            counts[f.name] = counts.get(f.name, 0) + 1
    rows: list[dict[str, str]] = []
    for table in tables:
        for f in table.fields:
            if f.name == "patient_id" and rows:
                continue
            name = (
                f.name
                if counts[f.name] == 1 or f.name == "patient_id"
                else f"{table.name}_{f.name}"
            )
            field_type, choices, validation = _redcap_type(f)
            row = dict.fromkeys(REDCAP_COLUMNS, "")
            row.update(
                {
                    "Variable / Field Name": name,
                    "Form Name": table.name,
                    "Field Type": field_type,
                    "Field Label": f.description,
                    "Choices, Calculations, OR Slider Labels": choices,
                    "Field Note": f.unit or "",
                    "Text Validation Type OR Show Slider Number": validation,
                    "Text Validation Min": "" if f.minimum is None else f"{f.minimum:g}",
                    "Text Validation Max": "" if f.maximum is None else f"{f.maximum:g}",
                    "Identifier?": "y" if f.name in _IDENTIFYING else "",
                    "Required Field?": "y" if f.required else "",
                }
            )
            rows.append(row)
    return rows


def export_study(
    study: StudyFolder, database: StudyDatabase, *, out: str | Path | None = None
) -> ExportResult:
    """Write the study's tables, screening log and data dictionaries (module docstring).

    Returns
    -------
    ExportResult
        The folder, the files and the number of rows per table.
    """
    folder = Path(out) if out is not None else study.root / "export"
    folder.mkdir(parents=True, exist_ok=True)
    files: list[str] = []
    counts: dict[str, int] = {}
    exported = [t for name, t in IMPORTABLE.items() if name != IDENTITY_TABLE.name]
    with database.engine.connect() as connection:
        for table in exported:
            rows = _rows(connection, exchange_table(table.name), table.field_names)
            files += _write(folder, table.name, table.field_names, rows)
            counts[table.name] = len(rows)
        for internal in (visits, series, measurements):
            columns = list(internal.c.keys())
            rows = _rows(connection, internal, columns)
            files += _write(folder, internal.name, columns, rows)
            counts[internal.name] = len(rows)
        decisions = screening_log(connection)
    log_rows = [row for d in decisions for row in d.log_rows()]
    log_columns = ("patient_id", "criterion_id", "kind", "verdict", "evidence")
    files += _write(folder, "screening_log", log_columns, log_rows)
    eligibility = [
        {
            "patient_id": d.patient_id,
            "enrolled": d.eligible,
            "failed_criteria": ";".join(d.failed),
            "unknown_criteria": ";".join(d.unknown),
        }
        for d in decisions
    ]
    files += _write(
        folder,
        "eligibility",
        ("patient_id", "enrolled", "failed_criteria", "unknown_criteria"),
        eligibility,
    )
    counts["screening_log"] = len(log_rows)
    dictionary = [r for r in dictionary_rows() if r["table"] in {t.name for t in exported}]
    atomic_write_text(folder / "data_dictionary.csv", _csv_text(tuple(dictionary[0]), dictionary))
    redcap = redcap_dictionary_rows(exported)
    atomic_write_text(folder / "redcap_data_dictionary.csv", _csv_text(REDCAP_COLUMNS, redcap))
    files += ["data_dictionary.csv", "redcap_data_dictionary.csv"]
    return ExportResult(str(folder), tuple(files), counts)
