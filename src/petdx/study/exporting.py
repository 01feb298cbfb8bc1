"""``petdx export``: the study's tables as CSV and Parquet, the screening log, and a
REDCap-style data dictionary.

Written to the output folder (default ``STUDY/export``; de-identified:
``STUDY/export-deidentified``), each file through a temporary name:

* ``<table>.csv`` and ``<table>.parquet`` for every exchange table the study holds (the
  data-dictionary format, so an export imports back unchanged), plus ``visits``, ``series``
  and ``measurements``;
* ``screening_log.csv`` (patient x criterion: verdict and evidence) and ``eligibility.csv``
  (patient: eligible, failed and unknown criteria, the shape of the simulator's
  ``enrolment_truth.csv``);
* ``data_dictionary.csv`` (petdx's own) and ``redcap_data_dictionary.csv`` (the REDCap
  instrument-designer columns, so a site can build a matching REDCap project).

Never exported: ``patient_identity`` (hospital identifiers), the audit trail and the
study secret. Values: dates ISO 8601, booleans ``true``/``false``, empty for missing. A text
cell that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab or carriage
return first) is written to the CSV with a leading single quote, which ``petdx import`` takes
off again (:mod:`petdx.study.spreadsheet`); numbers are never quoted, and the Parquet files
hold every value exactly.

The default export is for the site's own data management: its dates are the real ones (an
export imports back unchanged). Data that leave the site go out **de-identified**
(``deidentify=True``, ``petdx export --deidentify``): every date and date-time of a patient
— birth date included, and ISO dates (``YYYY-MM-DD``) inside text such as the screening
log's evidence — is moved by that patient's offset, the one de-identified ingest applies to
the patient's images (1 to 10 years back, from the study secret and the pseudonym;
:func:`petdx.dicom.patient_date_offset_days`). Intervals in days are exact, so uptake
times, follow-up times and eligibility windows are unchanged, tables and images agree, and
the de-identified export still imports into a study. The scans table's series UIDs are the
de-identified UIDs of the stored images and its ``dicom_folder`` the series' folder in the
study's ``images/`` (empty for a series not ingested), never the source folder. Ages in
completed years can differ by one only when the offset moves a birthday across 29
February. Dates written in free text in any other format are not recognised: keep them out
of free-text fields.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
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
from petdx.study.spreadsheet import spreadsheet_text

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
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")


@dataclass(frozen=True)
class ExportResult:
    """Files written by an export."""

    folder: str
    files: tuple[str, ...]
    row_counts: dict[str, int]
    deidentified: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "files": list(self.files),
            "rows": dict(self.row_counts),
            "deidentified": self.deidentified,
        }

    def __str__(self) -> str:
        tables = ", ".join(f"{k} {v}" for k, v in self.row_counts.items())
        kind = (
            "de-identified (dates shifted per patient)" if self.deidentified else "with real dates"
        )
        return f"exported {len(self.files)} files to {self.folder}, {kind} ({tables})"


def _shift_iso_dates(text: str, delta: timedelta) -> str:
    """Every ISO calendar date (``YYYY-MM-DD``) inside ``text`` moved by ``delta``."""

    def shift(match: re.Match[str]) -> str:
        try:
            day = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:  # not a calendar date: leave it
            return match[0]
        return (day + delta).isoformat()

    return _ISO_DATE.sub(shift, text)


def _dates_shifted(rows: list[dict[str, Any]], secret: bytes) -> list[dict[str, Any]]:
    """The rows with every date, date-time and ISO date in text moved by the row's patient's
    image date offset (module docstring)."""
    # petdx.dicom loads highdicom; only a de-identified export needs it.
    from petdx.dicom.deidentify import patient_date_offset_days

    out = []
    for row in rows:
        delta = timedelta(days=patient_date_offset_days(secret, str(row["patient_id"])))
        shifted = dict(row)
        for key, value in row.items():
            if isinstance(value, date):  # datetime is a date too
                shifted[key] = value + delta
            elif isinstance(value, str) and key != "patient_id":
                shifted[key] = _shift_iso_dates(value, delta)
        out.append(shifted)
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds" if not value.microsecond else "microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return spreadsheet_text(value)
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


def _scans_deidentified(
    rows: list[dict[str, Any]], secret: bytes, folders: dict[str, str]
) -> list[dict[str, Any]]:
    """The scans rows with the de-identified series UIDs of the stored images, and as
    ``dicom_folder`` the de-identified series' folder in the study (empty when the series
    is not ingested): never the source folder."""
    from petdx.dicom.deidentify import deidentify_uid

    out = []
    for row in rows:
        row = dict(row)
        for column in ("pet_series_uid", "ct_series_uid"):
            if row.get(column):
                row[column] = deidentify_uid(secret, str(row[column]))
        row["dicom_folder"] = folders.get(str(row.get("pet_series_uid") or ""))
        out.append(row)
    return out


def export_study(
    study: StudyFolder,
    database: StudyDatabase,
    *,
    out: str | Path | None = None,
    deidentify: bool = False,
) -> ExportResult:
    """Write the study's tables, screening log and data dictionaries (module docstring).

    ``deidentify`` moves every patient's dates by the patient's image date offset (module
    docstring; default folder ``STUDY/export-deidentified``); the default keeps the real
    dates, for the site's own data management (default folder ``STUDY/export``).

    Returns
    -------
    ExportResult
        The folder, the files and the number of rows per table.
    """
    default = "export-deidentified" if deidentify else "export"
    folder = Path(out) if out is not None else study.root / default
    folder.mkdir(parents=True, exist_ok=True)
    files: list[str] = []
    counts: dict[str, int] = {}
    exported = [t for name, t in IMPORTABLE.items() if name != IDENTITY_TABLE.name]
    secret = database.secret() if deidentify else None

    def released(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return _dates_shifted(rows, secret) if secret is not None else rows

    with database.engine.connect() as connection:
        folders = {
            str(r["series_uid"]): str(r["folder"])
            for r in _rows(connection, series, ["series_uid", "folder"])
        }
        for table in exported:
            rows = _rows(connection, exchange_table(table.name), table.field_names)
            if secret is not None and table.name == "scans":
                rows = _scans_deidentified(rows, secret, folders)
            files += _write(folder, table.name, table.field_names, released(rows))
            counts[table.name] = len(rows)
        for internal in (visits, series, measurements):
            columns = list(internal.c.keys())
            rows = _rows(connection, internal, columns)
            files += _write(folder, internal.name, columns, released(rows))
            counts[internal.name] = len(rows)
        decisions = screening_log(connection)
    log_rows = released([row for d in decisions for row in d.log_rows()])
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
    return ExportResult(str(folder), tuple(files), counts, deidentified=deidentify)
