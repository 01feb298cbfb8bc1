"""``petdx.analysis.export``: the analysis CSVs neutralise formula-leading text for
spreadsheets (issue 19) and keep numbers and booleans as they were."""

from __future__ import annotations

import csv
import io

import pandas as pd

from petdx.analysis.export import _csv


def test_formula_text_is_quoted_and_numbers_are_not() -> None:
    frame = pd.DataFrame(
        {
            "patient_id": ["SIM-0001", "SIM-0002"],
            "evidence": ["=cmd|' /C calc'!A0", "consent 2025-05-02"],
            "delta_suv": [-1.25, 3.0],
            "code": ["-3", "@SUM(A1)"],
            "enrolled": [True, False],
        }
    )
    rows = list(csv.DictReader(io.StringIO(_csv(frame))))
    assert [r["evidence"] for r in rows] == ["'=cmd|' /C calc'!A0", "consent 2025-05-02"]
    assert [r["delta_suv"] for r in rows] == ["-1.25", "3"]
    assert [r["code"] for r in rows] == ["-3", "'@SUM(A1)"]
    assert [r["enrolled"] for r in rows] == ["true", "false"]
    assert list(frame["evidence"]) == ["=cmd|' /C calc'!A0", "consent 2025-05-02"]  # untouched
