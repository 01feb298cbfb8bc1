"""``petdx import``: load one CSV table into the study database, all or nothing.

A file is validated completely before anything is written: cell types, units and ranges,
allowed codes, required values, duplicate keys (:mod:`petdx.study.validation`), then the
checks that need the database: the patient and the lesion exist (and the lesion is that
patient's), dates are in order (consent on or before the planned scan, injection before the
scan) and nothing is dated before the patient's birth. When anything is wrong the whole file
is refused with every problem listed and the database is unchanged.

A valid file is applied in one transaction. A row whose key is new is inserted; a row equal
to the stored record changes nothing (so importing the same file twice is harmless); a row
that differs is an edit, which needs a reason and is recorded in the audit trail with the old
and new values. A column absent from the file leaves that field as stored; an empty cell in
a present column clears it. Rows missing from the file are not deleted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from petdx.data_dictionary import TABLES, FieldType
from petdx.data_dictionary import Table as DictTable
from petdx.errors import InputValidationError
from petdx.study.database import StudyDatabase
from petdx.study.records import Author, insert_records, update_record
from petdx.study.schema import IMPORTABLE, exchange_table, record_key
from petdx.study.validation import RowProblem, as_date, parse_csv

__all__ = [
    "DATE_ORDER",
    "ImportRejected",
    "ImportResult",
    "check_rows",
    "import_csv",
    "import_exchange_tables",
    "import_kinds",
]

#: (earlier field, later field, what the rule says) per table, checked within a row.
DATE_ORDER: dict[str, tuple[tuple[str, str, str], ...]] = {
    "screening": (
        (
            "consent_date",
            "planned_scan_date",
            "consent must be signed on or before the planned scan",
        ),
    ),
    "scans": (("injection_datetime", "scan_datetime", "the scan must start after the injection"),),
    "patients": (("birth_date", "screening_date", "screening cannot be before birth"),),
}


class ImportRejected(InputValidationError):
    """A CSV file was refused; ``problems`` lists every bad row (nothing was written)."""

    def __init__(self, path: Path, table: str, problems: list[RowProblem]) -> None:
        self.path = path
        self.table = table
        self.problems = tuple(problems)
        rows = sorted({p.row for p in problems})
        lines = [
            f"{path}: refused, nothing imported: {len(problems)} problem(s) in "
            f"{len(rows)} row(s) of table {table}. Fix them and import the file again."
        ]
        lines += [f"  {path.name}: {p}" for p in problems]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class ImportResult:
    """What an import did."""

    table: str
    path: str
    n_rows: int
    inserted: int
    updated: int
    unchanged: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "path": self.path,
            "n_rows": self.n_rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }

    def __str__(self) -> str:
        return (
            f"{self.path}: {self.n_rows} rows of {self.table}: {self.inserted} inserted, "
            f"{self.updated} updated, {self.unchanged} unchanged"
        )


def import_kinds() -> tuple[str, ...]:
    """The table names ``petdx import`` accepts."""
    return tuple(IMPORTABLE)


def _check_kind(kind: str) -> None:
    if kind in IMPORTABLE:
        return
    if kind in TABLES and TABLES[kind].truth:
        raise InputValidationError(
            f"table '{kind}' is simulator ground truth, which a study never imports (the "
            "eligibility engine, the readers and the reference standard must not see it). "
            f"Import one of: {', '.join(IMPORTABLE)}."
        )
    raise InputValidationError(
        f"'{kind}' is not an importable table; expected one of {', '.join(IMPORTABLE)}."
    )


def check_rows(
    connection: Connection,
    table: DictTable,
    rows: Sequence[tuple[int, Mapping[str, Any]]],
) -> list[RowProblem]:
    """The checks of parsed records that need the database, as ``petdx import`` runs them
    (and the study's forms, :mod:`petdx.study.forms`): the patient exists (or is among
    ``rows`` of the patients table), the lesion exists and is that patient's, no date before
    the patient's birth, and the table's date order (:data:`DATE_ORDER`).

    Parameters
    ----------
    rows
        (row number, typed values) per record, as :func:`~petdx.study.validation.parse_csv`
        gives them; the row number goes into each problem.
    """
    problems: list[RowProblem] = []
    patients = exchange_table("patients")
    births: dict[str, date | None] = {
        str(pid): born
        for pid, born in connection.execute(select(patients.c.patient_id, patients.c.birth_date))
    }
    if table.name == "patients":
        births.update(
            {v["patient_id"]: v.get("birth_date") for _, v in rows if v.get("patient_id")}
        )
    lesions: dict[str, str] = {}
    check_lesions = "lesion_id" in table.field_names and table.name != "lesion_registry"
    if check_lesions:
        registry = exchange_table("lesion_registry")
        lesions = {
            str(lid): str(pid)
            for lid, pid in connection.execute(select(registry.c.lesion_id, registry.c.patient_id))
        }
    date_fields = [f.name for f in table.fields if f.type in (FieldType.DATE, FieldType.DATETIME)]
    if table.name == "reference_standard":
        problems += _histopathology_agrees(connection, rows)
    for row, values in rows:
        pid = values.get("patient_id")
        if pid is not None and pid not in births:
            problems.append(
                RowProblem(
                    row,
                    "patient_id",
                    pid,
                    "patient not in the study; import the patients table first",
                )
            )
            continue
        lid = values.get("lesion_id") if check_lesions else None
        if lid is not None and lesions:
            owner = lesions.get(lid)
            if owner is None:
                problems.append(
                    RowProblem(
                        row,
                        "lesion_id",
                        lid,
                        "lesion not in the lesion registry; import lesion_registry first",
                    )
                )
            elif owner != pid:
                problems.append(
                    RowProblem(
                        row, "lesion_id", lid, f"this lesion belongs to patient {owner}, not {pid}"
                    )
                )
        elif lid is not None:
            problems.append(
                RowProblem(
                    row,
                    "lesion_id",
                    lid,
                    "lesion not in the lesion registry; import lesion_registry first",
                )
            )
        born = births.get(pid) if pid is not None else None
        if born is not None and table.name != "patients":  # patients: see DATE_ORDER
            for name in date_fields:
                when = as_date(values.get(name))
                if name != "birth_date" and when is not None and when < born:
                    problems.append(
                        RowProblem(
                            row,
                            name,
                            str(values[name]),
                            f"dated before the patient's birth ({born.isoformat()})",
                        )
                    )
        for earlier, later, rule in DATE_ORDER.get(table.name, ()):
            first, second = values.get(earlier), values.get(later)
            if first is not None and second is not None and first > second:
                problems.append(
                    RowProblem(
                        row,
                        f"{earlier},{later}",
                        f"{first.isoformat()} > {second.isoformat()}",
                        f"{rule} ({earlier} must not be after {later})",
                    )
                )
    return problems


def _histopathology_agrees(
    connection: Connection, rows: Sequence[tuple[int, Mapping[str, Any]]]
) -> list[RowProblem]:
    """A histopathology reference standard must rest on the lesion's diagnostic samples in
    the pathology table and say what they say (a 'benign' standard for a lesion whose
    sample is malignant was accepted before)."""
    pathology = exchange_table("pathology")
    samples: dict[str, set[str]] = {}
    for lid, histology in connection.execute(select(pathology.c.lesion_id, pathology.c.histology)):
        if histology in ("malignant", "benign"):
            samples.setdefault(str(lid), set()).add(str(histology))
    problems = []
    for row, values in rows:
        lid, outcome = values.get("lesion_id"), values.get("outcome")
        if values.get("standard") != "histopathology" or lid is None:
            continue
        found = samples.get(str(lid))
        if not found:
            problems.append(
                RowProblem(
                    row,
                    "standard",
                    "histopathology",
                    f"lesion {lid} has no diagnostic sample (malignant or benign) in the "
                    "pathology table; import its pathology first, or use follow_up_composite",
                )
            )
        elif outcome is not None and found != {outcome}:
            said = " and ".join(sorted(found))
            problems.append(
                RowProblem(
                    row,
                    "outcome",
                    str(outcome),
                    f"the histopathology of lesion {lid} in the pathology table is {said}; "
                    "the reference standard must say what the samples say (correct the "
                    "outcome or the pathology record)",
                )
            )
    return problems


def _unique_sorted(problems: Sequence[RowProblem]) -> list[RowProblem]:
    """Problems by row, each once (a check may find what another already reported)."""
    seen: dict[tuple[int, str | None, str], RowProblem] = {}
    for problem in problems:
        seen.setdefault((problem.row, problem.field, problem.expected), problem)
    return sorted(seen.values(), key=lambda p: p.row)


def _stored_records(connection: Connection, kind: str) -> dict[str, dict[str, Any]]:
    """Every stored record of the table, by record key."""
    table = exchange_table(kind)
    out = {}
    for row in connection.execute(select(table)).mappings():
        values = {k: v for k, v in row.items() if k != "record_key"}
        out[record_key(kind, values)] = values
    return out


def _stored_equal(stored: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``values`` that differ from ``stored``."""
    return {k: v for k, v in values.items() if stored.get(k) != v}


def import_csv(
    database: StudyDatabase,
    kind: str,
    path: str | Path,
    *,
    author: Author,
) -> ImportResult:
    """Import ``path`` as table ``kind`` in one transaction.

    Parameters
    ----------
    database
        The study database.
    kind
        Table name (see :func:`import_kinds`); simulator ``truth`` tables are refused.
    path
        CSV file in the data-dictionary format.
    author
        Who imports, and the reason (required when a row changes a stored value).

    Returns
    -------
    ImportResult
        Counts of inserted, updated and unchanged rows.

    Raises
    ------
    ImportRejected
        Any row is invalid, or rows change stored values without a reason; every problem is
        listed and nothing was written.
    InputValidationError
        ``kind`` is not importable or the file cannot be read.
    """
    _check_kind(kind)
    table = IMPORTABLE[kind]
    path = Path(path)
    try:
        parsed = parse_csv(path, table)
    except FileNotFoundError:
        raise InputValidationError(f"{path}: no such file.") from None
    except (UnicodeDecodeError, OSError) as exc:
        raise InputValidationError(
            f"{path}: cannot be read as a UTF-8 CSV file ({exc}). Save it as CSV UTF-8."
        ) from None
    problems = list(parsed.problems)
    inserted = updated = unchanged = 0
    with database.begin() as connection:
        # every problem of the file at once: the database and cross-table checks run on the
        # rows with bad cells too (on their good cells), and a missing reason is reported
        # with them, so fixing one problem never reveals the next
        problems += check_rows(connection, parsed.table, parsed.checked_rows)
        edits: list[tuple[int, dict[str, Any], dict[str, Any], dict[str, Any]]] = []
        existing = _stored_records(connection, kind)
        new_rows: list[dict[str, Any]] = []
        for row, values in parsed.rows:
            present = {name: values.get(name) for name in parsed.columns}
            stored = existing.get(record_key(kind, present))
            if stored is None:
                new_rows.append(present)
                continue
            changed = _stored_equal(stored, present)
            if not changed:
                unchanged += 1
            else:
                edits.append((row, present, stored, changed))
        if edits and not author.reason:
            problems += [
                RowProblem(
                    row,
                    name,
                    _show(kind, name, new),
                    f"changes the stored value {_show(kind, name, stored[name])!r}; an edit "
                    "needs a reason for the audit trail (give the import a reason)",
                )
                for row, _, stored, changed in edits
                for name, new in changed.items()
            ]
        if problems:
            raise ImportRejected(path, kind, _unique_sorted(problems))
        insert_records(connection, kind, new_rows, author=author)
        inserted = len(new_rows)
        for _, present, _, changed in edits:
            update_record(connection, kind, present, changed, author=author)
            updated += 1
    return ImportResult(kind, str(path), len(parsed.rows), inserted, updated, unchanged)


def import_exchange_tables(
    database: StudyDatabase, folder: str | Path, *, author: Author
) -> dict[str, ImportResult]:
    """Import every exchange table found in ``folder`` as ``<table>.csv`` (the layout that
    ``petdx simulate`` and an export write), in dependency order, each in its own transaction
    (:func:`import_csv`); tables without a file are left alone.

    Returns
    -------
    dict[str, ImportResult]
        The result per imported table.
    """
    folder = Path(folder)
    return {
        kind: import_csv(database, kind, folder / f"{kind}.csv", author=author)
        for kind in IMPORTABLE
        if (folder / f"{kind}.csv").exists()
    }


def _show(kind: str, name: str, value: Any) -> str:
    if kind == "patient_identity" and name in ("hospital_id", "issuer"):
        return "<identifier hidden>"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return "" if value is None else str(value)
