"""Write the cohort's CSV tables exactly in the format of :mod:`petdx.data_dictionary`.

Each table gets exactly its fields in their order; cells follow the dictionary's
conventions (ISO dates, ``true``/``false``, empty for missing); every value is checked
against its field (required, allowed values, range) before anything is written, so a
simulator bug cannot produce a file that ``petdx import`` would refuse.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from petdx.data_dictionary import TABLES, Field, FieldType, dictionary_rows

__all__ = ["format_cell", "write_data_dictionary", "write_table"]


def format_cell(value: Any) -> str:
    """One CSV cell in the exchange format."""
    if value is None:
        return ""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e15 else repr(value)
    return str(value)


def _check(table: str, row_number: int, field: Field, cell: str) -> None:
    where = f"{table}.csv row {row_number}, field {field.name}"
    if not cell:
        if field.required:
            raise ValueError(f"{where}: required value is empty (simulator bug)")
        return
    values = cell.split(";") if field.type is FieldType.CODES else [cell]
    if field.allowed is not None and any(v not in field.allowed for v in values):
        raise ValueError(f"{where}: {cell!r} is not one of {field.allowed} (simulator bug)")
    if field.type in (FieldType.INTEGER, FieldType.DECIMAL):
        number = float(cell)
        if field.type is FieldType.INTEGER and number != int(number):
            raise ValueError(f"{where}: {cell!r} is not an integer (simulator bug)")
        if (field.minimum is not None and number < field.minimum) or (
            field.maximum is not None and number > field.maximum
        ):
            raise ValueError(
                f"{where}: {cell} outside [{field.minimum}, {field.maximum}] (simulator bug)"
            )


def write_table(folder: Path, name: str, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write ``<folder>/<name>.csv`` with exactly the table's fields, in order."""
    table = TABLES[name]
    fields = table.field_names
    lines = []
    for number, row in enumerate(rows, start=2):
        unknown = set(row) - set(fields)
        if unknown:
            raise ValueError(f"{name}.csv: fields {sorted(unknown)} are not in the dictionary")
        cells = [format_cell(row.get(field)) for field in fields]
        for field, cell in zip(table.fields, cells, strict=True):
            _check(name, number, field, cell)
        lines.append(cells)
    path = folder / f"{name}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(fields)
        writer.writerows(lines)
    return path


def write_data_dictionary(folder: Path) -> Path:
    """Write ``data_dictionary.csv`` from :func:`petdx.data_dictionary.dictionary_rows`."""
    rows = dictionary_rows()
    path = folder / "data_dictionary.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path
