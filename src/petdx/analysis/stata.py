"""The analysis sets as Stata files (``.dta``, format 118 via pyreadstat) with labels.

Each analysis set (:mod:`petdx.analysis.labelled`: codes numeric 1..k with value labels,
booleans 0/1 "No"/"Yes", the dictionary's descriptions as variable labels) becomes
``<table>.dta``; a date column (``dates=True``; else study days) is a Stata date (``%td``);
numeric missing values are ``.``, missing text is "" (Stata has no missing string).

Stata's rules, and how petdx meets them (:func:`stata_names`):

- a variable name has 1-32 characters, letters, digits and ``_``, not starting with a digit,
  and is not a reserved word (``_all``, ``in``, ``long``...). A character outside the set
  becomes ``_``; a leading digit gets ``v`` before it. A longer name is shortened by the
  abbreviations of :data:`ABBREVIATIONS`, in order, until it fits
  (``comparator_suv_mean_carried_noise_sd_60min`` -> ``cmp_suv_mean_carr_noise_sd_60min``),
  then cut at 32; a name already taken or reserved gets ``_2``, ``_3``...;
- a variable label has at most 80 characters: a longer one is cut at 79 and ends in "…".

``stata_variables.csv`` beside the files lists every variable: ``table, column`` (the name
in the CSV and the dictionary), ``variable`` (the Stata name) and the full ``label``; each
file's label points to it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from petdx.analysis.labelled import ExportedFile, LabelledTable, labelled_tables, write_each
from petdx.fileio import atomic_write_text
from petdx.study.layout import ResultsFolder

__all__ = ["ABBREVIATIONS", "NAMES_CSV", "stata_names", "write_dta_files"]

NAMES_CSV = "stata_variables.csv"
MAX_NAME = 32
MAX_LABEL = 80

#: Applied in this order, only while a name is longer than 32 characters.
ABBREVIATIONS = (
    ("comparator_", "cmp_"),
    ("_carried", "_carr"),
    ("_noise_sd", "_nsd"),
    ("_global", "_glob"),
    ("_non_primary", "_nonprim"),
    ("_reference", "_ref"),
)

#: Stata's reserved names (Stata 18 manual, [U] 11.3 Naming conventions).
RESERVED = frozenset(
    [
        "_all",
        "_b",
        "byte",
        "_coef",
        "_cons",
        "double",
        "float",
        "if",
        "in",
        "int",
        "long",
        "_n",
        "_N",
        "_pi",
        "_pred",
        "_rc",
        "_skip",
        "strL",
        "using",
        "with",
    ]
)
_STR_N = re.compile(r"^str\d+$")


def _usable(name: str, taken: set[str]) -> bool:
    return name not in RESERVED and not _STR_N.match(name) and name not in taken


def stata_names(columns: list[str]) -> dict[str, str]:
    """Column -> a valid, unique Stata variable name (the rules in the module's docstring)."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for column in columns:
        name = re.sub(r"[^A-Za-z0-9_]", "_", column) or "v"
        if name[0].isdigit():
            name = f"v{name}"
        for long, short in ABBREVIATIONS:
            if len(name) <= MAX_NAME:
                break
            name = name.replace(long, short)
        name = name[:MAX_NAME]
        base, n = name, 1
        while not _usable(name, taken):
            n += 1
            name = f"{base[: MAX_NAME - len(str(n)) - 1]}_{n}"
        names[column] = name
        taken.add(name)
    return names


def _short_label(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def _write_dta(table: LabelledTable, path: Path, names: dict[str, str]) -> None:
    import pyreadstat

    frame = table.frame.rename(columns=names)
    for column, kind in table.kinds.items():
        if kind not in ("decimal", "integer", "code", "boolean", "date"):
            frame[names[column]] = frame[names[column]].fillna("").astype(str)
    pyreadstat.write_dta(
        frame,
        str(path),
        file_label=_short_label(f"petdx {table.table}; names and full labels: {NAMES_CSV}"),
        column_labels={names[c]: _short_label(label) for c, label in table.labels.items()},
        variable_value_labels={names[c]: v for c, v in table.value_labels.items()},
    )


def write_dta_files(
    results: ResultsFolder, out: Path, *, dates: bool = False
) -> list[ExportedFile]:
    """Write ``<table>.dta`` and ``stata_variables.csv`` into ``out`` for every analysis set
    in ``results`` (each file atomically); refused when the analyses have not run."""
    tables = labelled_tables(results, dates=dates)
    names = {t.table: stata_names(list(t.frame.columns)) for t in tables}
    written = write_each(tables, out, ".dta", lambda t, path: _write_dta(t, path, names[t.table]))
    rows = [
        {"table": t.table, "column": column, "variable": name, "label": t.labels[column]}
        for t in tables
        for column, name in names[t.table].items()
    ]
    atomic_write_text(out / NAMES_CSV, pd.DataFrame(rows).to_csv(index=False, lineterminator="\n"))
    return written
