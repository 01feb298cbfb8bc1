"""Validate a CSV file against a table of the data dictionary, reporting every bad cell.

Rows are numbered as a spreadsheet shows them: the header is row 1, the first record row 2
(a quoted cell spanning lines counts as the row where its record starts). Every problem names
the row, the field, the value found and what was expected; parsing never stops at the first
problem, so one run lists everything a coordinator has to fix.

Cell rules (module docstring of :mod:`petdx.data_dictionary`): an empty cell is missing;
dates are ``YYYY-MM-DD``; date-times ``YYYY-MM-DDTHH:MM:SS`` (local time, no zone); booleans
``true``/``false``; codes must be one of the allowed values (exact spelling); several codes are
separated by ``;``; ``minimum``/``maximum`` are inclusive. Identifiers (every text field
named ``*_id`` but the hospital's own ``hospital_id``: :func:`is_identifier`) can name files and
folders of the study, so they follow :data:`petdx.study.layout.PATH_COMPONENT`: 1 to 64
letters, digits, ``.``, ``_`` or ``-``, starting with a letter or digit, never ``..``.
Other text holds at most :data:`MAX_TEXT_CHARS` characters and no control character (C0/C1,
DEL) but tab, line feed and carriage return, nor a bidirectional override or isolate (which
would make a value read differently from what it holds).
A text cell written with a leading single quote before a formula character (``'=x``, as
``petdx export`` writes it for spreadsheets: :mod:`petdx.study.spreadsheet`) reads as ``=x``.
"""

from __future__ import annotations

import csv
import math
import re
from calendar import month_name, monthrange
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from petdx.data_dictionary import Field, FieldType, Table
from petdx.study.layout import path_component_problem
from petdx.study.spreadsheet import from_spreadsheet_text

__all__ = [
    "MAX_TEXT_CHARS",
    "ParsedTable",
    "RowProblem",
    "as_date",
    "is_identifier",
    "parse_cell",
    "parse_csv",
    "parse_values",
]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_HIDDEN_FIELDS = {"hospital_id", "issuer"}
_SHOWN_CHARS = 60  # a refused value is shown up to this length
#: Longest free-text value (characters); a longer one is refused, never cut.
MAX_TEXT_CHARS = 2000
_ALLOWED_CONTROLS = {"\t", "\n", "\r"}
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def _text_problem(text: str) -> str | None:
    """Why free text is refused (too long, a control or bidi character), or None."""
    if len(text) > MAX_TEXT_CHARS:
        return (
            f"text of {len(text)} characters; at most {MAX_TEXT_CHARS} are kept, so shorten "
            "it (or attach the document elsewhere and name it here)"
        )
    for position, char in enumerate(text, start=1):
        code = ord(char)
        control = (code < 0x20 or 0x7F <= code < 0xA0) and char not in _ALLOWED_CONTROLS
        if control or char in _BIDI_CONTROLS:
            kind = "a control character" if control else "a bidirectional-text control"
            return (
                f"{kind} (U+{code:04X}) at position {position}; remove it (it is invisible "
                "and was probably pasted by accident)"
            )
    return None


@dataclass(frozen=True)
class RowProblem:
    """One bad cell (or row, or header) of a CSV file."""

    row: int
    field: str | None
    value: str | None
    expected: str

    def __str__(self) -> str:
        where = f"row {self.row}"
        if self.field:
            where += f", field {self.field}"
        if self.value is not None:
            where += f" = '{self.value}'"
        return f"{where}: {self.expected}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "field": self.field,
            "value": self.value,
            "expected": self.expected,
        }


@dataclass
class ParsedTable:
    """The typed rows of a CSV file and every problem found."""

    table: Table
    path: Path
    columns: tuple[str, ...]
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    #: every record with the header's number of cells, bad cells as None: the cross-row and
    #: database checks run on these too, so one import lists every problem of the file at once
    checked_rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def problem(self, row: int, name: str | None, value: str | None, expected: str) -> None:
        if name in _HIDDEN_FIELDS and value:
            value = "<identifier hidden>"
        elif value is not None:
            value = value.replace("\x00", "\\x00")
            if len(value) > _SHOWN_CHARS:
                value = value[: _SHOWN_CHARS - 3] + "..."
        self.problems.append(RowProblem(row, name, value, expected))


def as_date(value: Any) -> date | None:
    """The day of a parsed date or date-time value (None for anything else)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


def is_identifier(f: Field) -> bool:
    """Whether ``f`` holds a study identifier (a pseudonym that may name a file or folder)."""
    return f.type is FieldType.STRING and f.name.endswith("_id") and f.name not in _HIDDEN_FIELDS


def _describe(f: Field) -> str:
    if f.type is FieldType.CODE and f.allowed:
        return f"one of {', '.join(f.allowed)}"
    if f.type is FieldType.CODES and f.allowed:
        return f"codes from {', '.join(f.allowed)}, separated by ';'"
    text = {
        FieldType.STRING: "text",
        FieldType.INTEGER: "a whole number",
        FieldType.DECIMAL: "a number",
        FieldType.DATE: "a date YYYY-MM-DD",
        FieldType.DATETIME: "a date-time YYYY-MM-DDTHH:MM:SS (local time)",
        FieldType.BOOLEAN: "true or false",
    }[f.type]
    if f.unit:
        text += f" in {f.unit}"
    return text


#: Units a value is often typed in by mistake: (field unit, the unit typed, factor to the
#: field's unit). A height of 165 in a field in m reads as 165 cm.
_UNIT_SLIPS: tuple[tuple[str, str, float], ...] = (
    ("m", "cm", 0.01),
    ("m", "mm", 0.001),
    ("kg", "g", 0.001),
    ("kg", "lb", 0.45359237),
    ("MBq", "mCi", 37.0),
    ("MBq", "Bq", 1e-6),
    ("MBq", "kBq", 1e-3),
)


def _unit_slip(f: Field, value: float) -> str:
    """A hint when the value, read in a commonly confused unit, falls inside the field's
    range (the first such unit)."""
    for unit, typed, factor in _UNIT_SLIPS:
        if f.unit != unit:
            continue
        converted = value * factor
        if (f.minimum is None or converted >= f.minimum) and (
            f.maximum is None or converted <= f.maximum
        ):
            return (
                f"; {value:.12g} looks like {typed}: {f.name} is in {unit} "
                f"({value:.12g} {typed} = {converted:.4g} {unit})"
            )
    return ""


def _calendar_problem(text: str) -> str | None:
    """Why a YYYY-MM-DD text is no day of the calendar (1970-02-30), or None."""
    year, month, day = (int(part) for part in text.split("-"))
    if not 1 <= month <= 12:
        return f"{text} is not a date: month {month} does not exist (YYYY-MM-DD)"
    days = monthrange(year, month)[1] if year >= 1 else 31
    if not 1 <= day <= days:
        return (
            f"{text} is not a date: {month_name[month]} {year} has {days} days "
            "(dates are YYYY-MM-DD)"
        )
    return None


def parse_cell(f: Field, raw: str) -> tuple[Any, str | None]:
    """(typed value, None) or (None, what was expected). An empty cell gives (None, None);
    whether it may be empty is the caller's check."""
    text = raw.strip()
    if text == "":
        return None, None
    value: Any
    try:
        if f.type is FieldType.STRING:
            value = from_spreadsheet_text(text)
            problem = path_component_problem(value) if is_identifier(f) else None
            if problem is not None:
                return None, (
                    f"this identifier {problem}; identifiers name the study's files and "
                    "folders, so use 1 to 64 letters, digits, '.', '_' or '-', starting "
                    "with a letter or digit (a pseudonym such as SIM-0001)"
                )
            problem = _text_problem(value)
            if problem is not None:
                return None, problem
        elif f.type is FieldType.INTEGER:
            if not _INTEGER.match(text):
                raise ValueError
            value = int(text)
        elif f.type is FieldType.DECIMAL:
            value = float(text)
            if not math.isfinite(value):
                raise ValueError
        elif f.type is FieldType.DATE:
            if not _DATE.match(text):
                raise ValueError
            calendar = _calendar_problem(text)
            if calendar is not None:
                return None, calendar
            value = date.fromisoformat(text)
        elif f.type is FieldType.DATETIME:
            if not _DATETIME.match(text):
                raise ValueError
            calendar = _calendar_problem(text[:10])
            if calendar is not None:
                return None, calendar
            value = datetime.fromisoformat(text)
        elif f.type is FieldType.BOOLEAN:
            if text.lower() not in ("true", "false"):
                raise ValueError
            value = text.lower() == "true"
        elif f.type is FieldType.CODE:
            if f.allowed is not None and text not in f.allowed:
                raise ValueError
            value = text
        else:  # CODES
            codes = [c.strip() for c in text.split(";") if c.strip()]
            if f.allowed is not None and any(c not in f.allowed for c in codes):
                bad = [c for c in codes if c not in f.allowed]
                return None, f"unknown code(s) {', '.join(bad)}; expected {_describe(f)}"
            value = ";".join(codes) if codes else None
    except ValueError:
        return None, f"expected {_describe(f)}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        unit = f" {f.unit}" if f.unit else ""
        if f.minimum is not None and value < f.minimum:
            return None, f"below the minimum {f.minimum:g}{unit}" + _unit_slip(f, value)
        if f.maximum is not None and value > f.maximum:
            return None, f"above the maximum {f.maximum:g}{unit}" + _unit_slip(f, value)
    return value, None


def parse_values(
    table: Table, cells: Mapping[str, str]
) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """Parse one record's cells (field name -> text) by the table's rules: each cell by
    :func:`parse_cell`, then required values. Fields not in ``cells`` are not checked.

    Returns
    -------
    tuple
        (typed values of the given fields, problems as (field, value found, expected)).
    """
    values: dict[str, Any] = {}
    problems: list[tuple[str, str, str]] = []
    for name, raw in cells.items():
        f = table.field(name)
        value, problem = parse_cell(f, raw)
        if problem is not None:
            problems.append((name, raw.strip(), problem))
        elif value is None and f.required:
            problems.append((name, "", f"required value missing ({_describe(f)})"))
        values[name] = value
    return values, problems


def _records(handle: Any) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(handle)
    start = 1
    for record in reader:
        yield start, record
        start = reader.line_num + 1


def _other_separator(header: list[str]) -> str | None:
    """The separator of a header read as one column although it holds ';', tab or '|'.

    Decided: such a file is refused with the fix, not sniffed (``csv.Sniffer`` guesses, and a
    wrong guess would import shifted columns); the exchange format is comma-separated.
    """
    if len(header) != 1:
        return None
    return next((s for s in (";", "\t", "|") if s in header[0]), None)


def parse_csv(path: str | Path, table: Table) -> ParsedTable:
    """Read ``path`` as table ``table``: typed rows plus every problem.

    Header problems: a file separated by ';' (or tab or '|') instead of commas, a required
    column missing (the cells are still checked, but no row is kept as a record), an unknown
    column, a column named twice.
    Row problems: wrong type, unknown code, out of range, required value missing, wrong
    number of cells, and a key (``table.key``) that repeats an earlier row.
    """
    path = Path(path)
    parsed = ParsedTable(table=table, path=path, columns=())
    with path.open(newline="", encoding="utf-8-sig") as handle:
        records = _records(handle)
        first = next(records, None)
        if first is None:
            parsed.problem(1, None, None, "the file is empty; expected a header row")
            return parsed
        header = [h.strip() for h in first[1]]
        separator = _other_separator(header)
        if separator is not None:
            parsed.problem(
                1,
                None,
                first[1][0],
                f"the header is one column holding {separator!r}: the file is separated by "
                f"{separator!r}, and petdx reads comma-separated values (the exchange format). "
                "Save it as CSV with commas (in a spreadsheet program: 'CSV UTF-8 (comma "
                "delimited)') and import again",
            )
            return parsed
        known = set(table.field_names)
        for name in header:
            if name not in known:
                parsed.problem(
                    1,
                    name,
                    None,
                    f"unknown column for table {table.name}; expected columns "
                    f"{', '.join(table.field_names)}",
                )
        for name in sorted({h for h in header if header.count(h) > 1}):
            parsed.problem(1, name, None, "column appears more than once")
        missing = [f for f in table.fields if f.required and f.name not in header]
        for f in missing:
            parsed.problem(
                1,
                f.name,
                None,
                f"required column missing ({_describe(f)}); the header found is "
                f"{', '.join(header)}. Add the column {f.name} (or rename the one holding it)",
            )
        parsed.columns = tuple(h for h in header if h in known)
        seen_keys: dict[tuple[Any, ...], int] = {}
        for row_number, cells in records:
            if not any(c.strip() for c in cells):
                continue  # blank line
            if len(cells) != len(header):
                parsed.problem(
                    row_number,
                    None,
                    None,
                    f"{len(cells)} cells but the header has {len(header)} columns",
                )
                continue
            row_cells = {
                name: raw for name, raw in zip(header, cells, strict=True) if name in known
            }
            values, cell_problems = parse_values(table, row_cells)
            for name, shown, problem in cell_problems:
                parsed.problem(row_number, name, shown, problem)
            ok = not cell_problems
            key = tuple(values.get(k) for k in table.key)
            if all(
                v is not None
                for k, v in zip(table.key, key, strict=True)
                if table.field(k).required
            ):
                earlier = seen_keys.get(key)
                if earlier is not None:
                    shown = ", ".join(f"{k}={v}" for k, v in zip(table.key, key, strict=True))
                    parsed.problem(
                        row_number,
                        ",".join(table.key),
                        shown if table.name != "patient_identity" else "<identifier hidden>",
                        f"duplicate key: row {earlier} has the same {', '.join(table.key)}",
                    )
                    ok = False
                else:
                    seen_keys[key] = row_number
            parsed.checked_rows.append((row_number, values))
            if ok and not missing:  # cells are checked, but a row without them is no record
                parsed.rows.append((row_number, values))
    return parsed
