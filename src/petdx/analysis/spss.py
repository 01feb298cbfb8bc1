"""The analysis sets as SPSS files (``.sav``, via pyreadstat) with variable and value labels.

Each analysis CSV in ``results/`` (``analysis_patients``, ``analysis_lesions``,
``analysis_pdl1_lesions``, ``screening_log``) becomes ``<table>.sav``: every variable labelled
with its description from the analysis data dictionary (:mod:`petdx.analysis.dictionary`,
unit in brackets); a code column becomes numeric 1..k with the codes' labels as value labels
(``F`` -> 1 "Female"), a boolean 0/1 with "No"/"Yes", a date column an SPSS date; numbers are
written as the CSV has them. Missing values stay system-missing. Nothing in the file is a
real name: the sets carry pseudonyms only (their dates are the study's; use ``petdx export
--deidentify`` rules before data leaves the site).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from petdx.analysis.dictionary import analysis_dictionary
from petdx.data_dictionary import code_label
from petdx.errors import InputValidationError
from petdx.fileio import atomic_output
from petdx.study.layout import ResultsFolder

__all__ = ["ANALYSIS_TABLES", "SavFile", "write_sav_files"]

ANALYSIS_TABLES = (
    "analysis_patients",
    "analysis_lesions",
    "analysis_pdl1_lesions",
    "screening_log",
)


@dataclass(frozen=True)
class SavFile:
    table: str
    path: Path
    rows: int
    variables: int


def _label(row: dict[str, str]) -> str:
    unit = f" [{row['unit']}]" if row["unit"] else ""
    return f"{row['description']}{unit}"


def _sav_frame(
    frame: pd.DataFrame, rows: list[dict[str, str]]
) -> tuple[pd.DataFrame, dict[str, str | None], dict[str, dict[float, str]]]:
    out = frame.copy()
    labels: dict[str, str | None] = {}
    value_labels: dict[str, dict[float, str]] = {}
    for row in rows:
        column, kind = row["column"], row["type"]
        labels[column] = _label(row)
        values = out[column]
        if kind == "boolean":
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
    return out, labels, value_labels


def write_sav_files(results: ResultsFolder, out: Path) -> list[SavFile]:
    """Write ``<table>.sav`` into ``out`` for every analysis set in ``results`` (each file
    atomically); refused when the analyses have not run."""
    import pyreadstat

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
    written = []
    for table, frame in frames.items():
        rows = [r for r in dictionary if r["table"] == table]
        for row in rows:
            if row["type"] in ("decimal", "integer"):
                frame[row["column"]] = pd.to_numeric(frame[row["column"]], errors="coerce")
        sav, labels, value_labels = _sav_frame(frame, rows)
        path = out / f"{table}.sav"
        with atomic_output(path, suffix=".sav") as tmp:
            pyreadstat.write_sav(
                sav,
                str(tmp),
                column_labels=labels,
                variable_value_labels=value_labels,
                file_label=f"petdx {table}",
            )
        written.append(SavFile(table, path, len(sav), len(sav.columns)))
    return written
