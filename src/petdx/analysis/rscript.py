"""The analysis sets for R: CSV files and a generated R script that labels them (base R only).

R's own readers of SPSS and Stata files (haven, foreign) are add-on packages; this export needs
none. ``petdx export-r`` writes, per analysis set (:mod:`petdx.analysis.labelled`),
``<table>.csv`` (codes as their numbers 1..k, booleans 0/1, dates ``YYYY-MM-DD``, missing
values empty) and one ``analysis_sets.R`` which, run with ``source("analysis_sets.R", chdir =
TRUE)``, makes a data frame per set: every code column a factor whose levels are the
dictionary's labels in the dictionary's order, every boolean a logical, every date a ``Date``
(``--dates``; else study days, numbers), and every column's ``attr(, "label")`` its description
and unit (the attribute haven and Hmisc use, shown by RStudio's viewer).
"""

from __future__ import annotations

from pathlib import Path

from petdx.analysis.labelled import ExportedFile, LabelledTable, labelled_tables, write_each
from petdx.fileio import atomic_write_text
from petdx.study.layout import ResultsFolder

__all__ = ["R_SCRIPT", "r_string", "write_r_files"]

R_SCRIPT = "analysis_sets.R"

_R_CLASS = {"decimal": "numeric", "integer": "numeric", "code": "numeric", "boolean": "numeric"}


def r_string(text: str) -> str:
    """``text`` as an R string literal in ASCII (others as ``\\u`` escapes, so that the
    script reads the same in any locale)."""
    out = []
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif 32 <= ord(char) < 127:
            out.append(char)
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


def _vector(items: list[str]) -> str:
    return "c(" + ", ".join(items) + ")"


def _r_code(table: LabelledTable) -> str:
    name = table.table
    classes = ",\n".join(
        f"    {r_string(c)} = {r_string(_R_CLASS.get(k, 'character'))}"
        for c, k in table.kinds.items()
    )
    lines = [
        f"{name} <- read.csv({r_string(name + '.csv')}, colClasses = c(\n{classes}\n  ),",
        '  na.strings = "", fileEncoding = "UTF-8", check.names = FALSE)',
    ]
    for column, kind in table.kinds.items():
        ref = f"{name}[[{r_string(column)}]]"
        if kind == "code":
            labels = table.value_labels[column]
            numbers = _vector([str(int(n)) for n in labels])
            texts = _vector([r_string(t) for t in labels.values()])
            lines.append(f"{ref} <- factor({ref}, levels = {numbers},\n    labels = {texts})")
        elif kind == "boolean":
            lines.append(f"{ref} <- {ref} == 1")
        elif kind == "date":
            lines.append(f'{ref} <- as.Date({ref}, format = "%Y-%m-%d")')
        lines.append(f'attr({ref}, "label") <- {r_string(table.labels[column])}')
    return "\n".join(lines)


def _write_csv(table: LabelledTable, path: Path) -> None:
    table.frame.to_csv(path, index=False, lineterminator="\n", float_format="%.15g")


def write_r_files(results: ResultsFolder, out: Path, *, dates: bool = False) -> list[ExportedFile]:
    """Write ``<table>.csv`` for every analysis set in ``results`` and ``analysis_sets.R``
    into ``out`` (each file atomically); refused when the analyses have not run."""
    tables = labelled_tables(results, dates=dates)
    written = write_each(tables, out, ".csv", _write_csv)
    header = (
        "# Written by petdx export-r: the analysis sets with factor levels and variable\n"
        "# labels from the analysis data dictionary, in base R. Run it from its folder:\n"
        f'#   source("{R_SCRIPT}", chdir = TRUE)\n'
        f"# It makes the data frames {', '.join(t.table for t in tables)}.\n"
    )
    script = header + "\n\n".join(_r_code(t) for t in tables) + "\n"
    atomic_write_text(out / R_SCRIPT, script)
    return written
