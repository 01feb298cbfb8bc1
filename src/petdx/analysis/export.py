"""Writing the results: the results document and the analysis datasets, atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from petdx.analysis.dictionary import analysis_dictionary
from petdx.analysis.outcomes import StudyResults
from petdx.fileio import atomic_write_text
from petdx.study.layout import ResultsFolder
from petdx.study.spreadsheet import spreadsheet_text

__all__ = ["write_analysis"]


def _is_boolean(values: pd.Series) -> bool:
    if values.dtype == bool or str(values.dtype) == "boolean":
        return True
    present = values.dropna()
    return (
        values.dtype == object
        and len(present) > 0
        and all(isinstance(v, (bool, np.bool_)) for v in present)
    )


def _csv(frame: pd.DataFrame) -> str:
    out = frame.copy()
    for column in out.columns:
        if _is_boolean(out[column]):
            out[column] = [
                "" if pd.isna(v) else ("true" if bool(v) else "false") for v in out[column]
            ]
        elif out[column].dtype == object:
            out[column] = [spreadsheet_text(v) if isinstance(v, str) else v for v in out[column]]
    return out.to_csv(index=False, lineterminator="\n", float_format="%.10g")


def write_analysis(results: StudyResults, folder: str | Path) -> dict[str, Path]:
    """Write ``results.json``, ``analysis_patients.csv`` (enrolled patients),
    ``analysis_lesions.csv`` (the lesion-level analysis set: enrolled patients' non-primary
    lesions with a reference standard), ``screening_log.csv`` and, when the secondary
    PD-L1 analysis ran, ``analysis_pdl1_lesions.csv`` into ``folder``, with their data
    dictionary ``analysis_dictionary.csv`` (:func:`petdx.analysis.dictionary.analysis_dictionary`).

    Booleans are written ``true``/``false`` as in the exchange format, so the files feed
    ``petdx stats`` directly (e.g. ``--truth target --positive true``). Text that a
    spreadsheet would run as a formula gets a leading quote, as in ``petdx export``
    (:mod:`petdx.study.spreadsheet`); numbers never do.
    """
    files = ResultsFolder(Path(folder))
    paths = {
        "results": atomic_write_text(files.results_json, results.to_json()),
        "patients": atomic_write_text(files.patients_csv, _csv(results.patients)),
        "lesions": atomic_write_text(files.lesions_csv, _csv(results.lesions)),
        "screening_log": atomic_write_text(
            files.screening_log_csv, _csv(pd.DataFrame(list(results.screening_rows)))
        ),
    }
    tables = {
        "analysis_patients": results.patients,
        "analysis_lesions": results.lesions,
        "screening_log": pd.DataFrame(list(results.screening_rows)),
    }
    if not results.pdl1_lesions.empty:
        paths["pdl1_lesions"] = atomic_write_text(
            files.pdl1_lesions_csv, _csv(results.pdl1_lesions)
        )
        tables["analysis_pdl1_lesions"] = results.pdl1_lesions
    paths["dictionary"] = atomic_write_text(
        files.dictionary_csv, _csv(pd.DataFrame(analysis_dictionary(tables)))
    )
    return paths
