"""The analysis sets as labelled tables, the common ground of the SPSS, Stata and R exports.

Each analysis CSV in ``results/`` (:data:`ANALYSIS_TABLES`) is read with its data dictionary
(:mod:`petdx.analysis.dictionary`) and turned into one :class:`LabelledTable`: every variable
labelled with its description (unit in brackets); a code column numeric 1..k in the
dictionary's order (codes seen in the data but not listed follow, sorted) with the codes'
labels as value labels (``F`` -> 1 "Female"); a boolean 0/1 with "No"/"Yes"; decimals and
integers numbers. Dates become study days unless the real dates are asked for
(``dates=True``, then ``datetime.date``): whole days since the patient's index scan (the
first index-tracer injection, ``index_scan_date``, survival's time zero; day 0, earlier
dates negative), with "days since the index scan" in the label; a date written inside a
text (the screening log's evidence, "signed 2026-04-14") becomes "day -6"; a patient
without an index scan (a screen failure) keeps no date at all (missing, "(date withheld)"
in text). Missing values stay missing. The writers
(:mod:`petdx.analysis.spss`, :mod:`petdx.analysis.stata`, :mod:`petdx.analysis.rscript`)
only put these into their formats, so that a code has the same number in every file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from petdx.analysis.dictionary import analysis_dictionary
from petdx.data_dictionary import code_label
from petdx.errors import InputValidationError
from petdx.fileio import atomic_output
from petdx.study.layout import ResultsFolder

__all__ = [
    "ANALYSIS_TABLES",
    "ExportedFile",
    "LabelledTable",
    "labelled_tables",
    "variable_label",
    "write_each",
]

ANALYSIS_TABLES = (
    "analysis_patients",
    "analysis_lesions",
    "analysis_pdl1_lesions",
    "screening_log",
)


@dataclass(frozen=True)
class LabelledTable:
    """One analysis set ready for a statistics package (see the module's docstring)."""

    table: str
    frame: pd.DataFrame
    labels: dict[str, str]  # column -> "description [unit]"
    value_labels: dict[str, dict[float, str]]  # code and boolean columns: number -> label
    kinds: dict[str, str]  # column -> the dictionary's type (code, boolean, date, ...)


@dataclass(frozen=True)
class ExportedFile:
    table: str
    path: Path
    rows: int
    variables: int


def variable_label(row: dict[str, str]) -> str:
    """``description [unit]`` of a dictionary row."""
    unit = f" [{row['unit']}]" if row["unit"] else ""
    return f"{row['description']}{unit}"


_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
STUDY_DAY_LABEL = "days since the index scan"


def _study_days(
    frame: pd.DataFrame, rows: list[dict[str, str]], reference: dict[str, pd.Timestamp]
) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """Dates as days since each row's patient's reference date (see the module docstring)."""
    out = frame.copy()
    refs = (
        pd.to_datetime(out["patient_id"].map(reference))
        if "patient_id" in out.columns
        else pd.Series(pd.NaT, index=out.index)
    )
    changed = []
    for row in rows:
        column = row["column"]
        if row["type"] == "date":
            days = (pd.to_datetime(out[column], errors="coerce") - refs).dt.days
            out[column] = days.astype("Float64")
            row = {**row, "type": "integer", "unit": STUDY_DAY_LABEL}
        elif row["type"] == "string":
            out[column] = [
                v if pd.isna(v) else _days_in_text(str(v), ref)
                for v, ref in zip(out[column], refs, strict=True)
            ]
        changed.append(row)
    return out, changed


def _days_in_text(text: str, reference: pd.Timestamp) -> str:
    """Every ``YYYY-MM-DD`` in ``text`` as ``day N`` (or "(date withheld)")."""

    def day(match: re.Match[str]) -> str:
        when = pd.to_datetime(match.group(0), errors="coerce")
        if pd.isna(reference) or pd.isna(when):
            return "(date withheld)"
        return f"day {(when - reference).days}"

    return _ISO_DATE.sub(day, text)


def _labelled(table: str, frame: pd.DataFrame, rows: list[dict[str, str]]) -> LabelledTable:
    out = frame.copy()
    labels: dict[str, str] = {}
    value_labels: dict[str, dict[float, str]] = {}
    for row in rows:
        column, kind = row["column"], row["type"]
        labels[column] = variable_label(row)
        values = out[column]
        if kind in ("decimal", "integer"):
            out[column] = pd.to_numeric(values, errors="coerce")
        elif kind == "boolean":
            text = values.astype("string").str.lower()
            out[column] = text.map({"true": 1.0, "false": 0.0}).astype("Float64")
            value_labels[column] = {0.0: "No", 1.0: "Yes"}
        elif kind == "code":
            listed = [part.split(" = ")[0] for part in row["values"].split("; ") if part]
            seen = sorted(str(v) for v in values.dropna().unique() if str(v) not in listed)
            codes = listed + seen  # the dictionary's order: the same numbers in every file
            number = {code: float(k) for k, code in enumerate(codes, start=1)}
            coded = [number.get(str(v)) if pd.notna(v) else None for v in values]
            out[column] = pd.to_numeric(pd.Series(coded, index=values.index, dtype=float))
            value_labels[column] = {number[code]: code_label(code) for code in codes}
        elif kind == "date":
            out[column] = pd.to_datetime(values, errors="coerce").dt.date
    kinds = {row["column"]: row["type"] for row in rows}
    return LabelledTable(table, out, labels, value_labels, kinds)


def labelled_tables(results: ResultsFolder, *, dates: bool = False) -> list[LabelledTable]:
    """Every analysis set present in ``results`` as a :class:`LabelledTable`, dates as study
    days unless ``dates``; refused when the analyses have not run."""
    present = [t for t in ANALYSIS_TABLES if (results.path / f"{t}.csv").exists()]
    if not present:
        raise InputValidationError(
            f"{results.path}: no analysis sets yet. Run `petdx run` on the study first."
        )
    frames = {
        t: pd.read_csv(results.path / f"{t}.csv", dtype=str, keep_default_na=False).replace(
            "", None
        )
        for t in present
    }
    dictionary = analysis_dictionary(frames)
    patients = frames.get("analysis_patients", pd.DataFrame(columns=["patient_id"]))
    reference = (
        dict(zip(patients["patient_id"], pd.to_datetime(patients["index_scan_date"]), strict=True))
        if "index_scan_date" in patients.columns
        else {}
    )
    tables = []
    for table, frame in frames.items():
        rows = [r for r in dictionary if r["table"] == table]
        if not dates:
            frame, rows = _study_days(frame, rows, reference)
        tables.append(_labelled(table, frame, rows))
    return tables


def write_each(
    tables: list[LabelledTable],
    out: Path,
    suffix: str,
    write: Callable[[LabelledTable, Path], None],
) -> list[ExportedFile]:
    """``out/<table><suffix>`` for every table, each written by ``write(table, temporary
    path)`` and renamed into place (atomically)."""
    written = []
    for table in tables:
        path = out / f"{table.table}{suffix}"
        with atomic_output(path, suffix=suffix) as tmp:
            write(table, tmp)
        written.append(ExportedFile(table.table, path, len(table.frame), len(table.frame.columns)))
    return written
