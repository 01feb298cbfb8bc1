"""Every column of the analysis sets has a definition in analysis_dictionary.csv."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from petdx.analysis.dictionary import UNDEFINED, analysis_dictionary
from petdx.data_dictionary import TABLES
from tests.demo_study import DemoStudy

_DEMO_RESULTS = (
    "analysis_patients",
    "analysis_lesions",
    "analysis_pdl1_lesions",
    "screening_log",
)


def test_columns_are_defined_by_the_exchange_format_derivations_and_patterns() -> None:
    frame = pd.DataFrame(
        columns=[
            "sex",
            "tumour_type",
            "enrolled",
            "max_comparator_suv_max_60min",
            "ri_suv_peak_global_pct",
            "visual_score_R2",
            "new_column",
        ]
    )
    rows = {r["column"]: r for r in analysis_dictionary({"analysis_patients": frame})}
    sex = TABLES["patients"].field("sex")
    assert rows["sex"]["description"] == sex.description
    assert "F = Female" in rows["sex"]["values"]
    assert "breast_tnbc = Triple-negative breast cancer" in rows["tumour_type"]["values"]
    comparator = rows["max_comparator_suv_max_60min"]
    assert comparator["unit"] == "g/ml"
    assert "highest over the patient's non-primary lesions" in comparator["description"]
    assert "comparator-tracer PET at 60 min" in comparator["description"]
    assert rows["ri_suv_peak_global_pct"]["unit"] == "%"
    assert "reader R2" in rows["visual_score_R2"]["description"]
    assert rows["new_column"]["description"] == UNDEFINED  # not silently described


@pytest.mark.xdist_group("demo")
@pytest.mark.slow
def test_every_column_of_the_demo_analysis_sets_is_defined(demo_study: DemoStudy) -> None:
    results = demo_study.reference / "results"
    written = pd.read_csv(results / "analysis_dictionary.csv", keep_default_na=False)
    for name in _DEMO_RESULTS:
        columns = list(pd.read_csv(results / f"{name}.csv", nrows=0).columns)
        defined = written[written["table"] == name]
        assert list(defined["column"]) == columns, name
    assert UNDEFINED not in set(written["description"])
    assert (written["description"].str.len() > 0).all()


@pytest.mark.xdist_group("demo")
@pytest.mark.slow
def test_spss_files_hold_the_analysis_sets_with_their_labels(
    demo_study: DemoStudy, tmp_path: Path
) -> None:
    """petdx export-spss: each .sav read back (pyreadstat) has the CSV's rows and numbers,
    codes as numbers whose value labels are the dictionary's labels, booleans 0/1 = No/Yes,
    and every variable labelled with its description."""
    import pyreadstat
    from typer.testing import CliRunner

    from petdx.cli import app
    from petdx.data_dictionary import code_label

    run = CliRunner().invoke(
        app, ["export-spss", str(demo_study.reference), "--out", str(tmp_path)]
    )
    assert run.exit_code == 0, run.stderr
    results = demo_study.reference / "results"
    dictionary = pd.read_csv(results / "analysis_dictionary.csv", keep_default_na=False)
    for name in _DEMO_RESULTS:
        csv = pd.read_csv(results / f"{name}.csv", dtype=str, keep_default_na=False)
        sav, meta = pyreadstat.read_sav(str(tmp_path / f"{name}.sav"))
        assert list(sav.columns) == list(csv.columns)
        assert len(sav) == len(csv)
        defined = dictionary[dictionary["table"] == name].set_index("column")
        for column in csv.columns:
            kind = defined.loc[column, "type"]
            assert meta.column_names_to_labels[column].startswith(
                defined.loc[column, "description"]
            )
            shown = sav[column]
            if kind == "code":
                labels = meta.variable_value_labels[column]
                read = [labels.get(v) if pd.notna(v) else "" for v in shown]
                assert read == [code_label(v) if v else "" for v in csv[column]], column
            elif kind == "boolean":
                expected = [{"true": 1.0, "false": 0.0}.get(v) for v in csv[column]]
                assert [None if pd.isna(v) else v for v in shown] == expected, column
            elif kind == "decimal":
                numbers = pd.to_numeric(csv[column].replace("", None))
                assert np.allclose(shown, numbers, equal_nan=True, rtol=1e-12), column


def test_spss_export_before_the_analyses_exits_2(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from petdx.cli import app
    from petdx.study.config import StudyConfig, write_config

    write_config(tmp_path, StudyConfig())
    run = CliRunner().invoke(app, ["export-spss", str(tmp_path)])
    assert run.exit_code == 2
    assert "no analysis sets yet" in run.stderr
