"""The analysis sets as SPSS files (``.sav``, via pyreadstat) with variable and value labels.

Each analysis set (:mod:`petdx.analysis.labelled`: variable labels from the analysis data
dictionary, codes numeric with value labels, booleans 0/1 "No"/"Yes") becomes ``<table>.sav``;
a date column (``dates=True``; else study days) is an SPSS date; missing values stay
system-missing. Nothing in the file is a real name: the sets carry pseudonyms only.
"""

from __future__ import annotations

from pathlib import Path

from petdx.analysis.labelled import ExportedFile, LabelledTable, labelled_tables, write_each
from petdx.study.layout import ResultsFolder

__all__ = ["write_sav_files"]


def _write_sav(table: LabelledTable, path: Path) -> None:
    import pyreadstat

    pyreadstat.write_sav(
        table.frame,
        str(path),
        column_labels=dict(table.labels),
        variable_value_labels=table.value_labels,
        file_label=f"petdx {table.table}",
    )


def write_sav_files(
    results: ResultsFolder, out: Path, *, dates: bool = False
) -> list[ExportedFile]:
    """Write ``<table>.sav`` into ``out`` for every analysis set in ``results`` (each file
    atomically); refused when the analyses have not run."""
    return write_each(labelled_tables(results, dates=dates), out, ".sav", _write_sav)
