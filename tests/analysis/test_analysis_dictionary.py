"""Every column of the analysis sets has a definition in analysis_dictionary.csv."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from petdx.analysis.dictionary import UNDEFINED, analysis_dictionary
from petdx.analysis.labelled import STUDY_DAY_LABEL
from petdx.data_dictionary import TABLES
from tests.conftest import RScript
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


def _check_read_back(
    kind: str, shown: pd.Series, csv: pd.Series, value_labels: dict[float, str] | None
) -> None:
    """A column read back from a .sav or .dta against the CSV's text: codes through their
    value labels, booleans 0/1, decimals the same numbers."""
    from petdx.data_dictionary import code_label

    if kind == "code":
        assert value_labels is not None, csv.name
        read = [value_labels.get(v) if pd.notna(v) else "" for v in shown]
        assert read == [code_label(v) if v else "" for v in csv], csv.name
    elif kind == "boolean":
        expected = [{"true": 1.0, "false": 0.0}.get(v) for v in csv]
        assert [None if pd.isna(v) else v for v in shown] == expected, csv.name
    elif kind == "decimal":
        numbers = pd.to_numeric(csv.replace("", None))
        assert np.allclose(shown, numbers, equal_nan=True, rtol=1e-12), csv.name


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

    run = CliRunner().invoke(
        app, ["export-spss", str(demo_study.reference), "--out", str(tmp_path), "--dates"]
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
            _check_read_back(kind, sav[column], csv[column], meta.variable_value_labels.get(column))


@pytest.mark.slow
def test_stata_files_hold_the_analysis_sets_with_valid_names_and_labels(
    demo_study: DemoStudy, tmp_path: Path
) -> None:
    """petdx export-stata: each .dta read back (pyreadstat) has the CSV's rows and values
    under names Stata accepts (stata_variables.csv maps them), labels of at most 80
    characters, codes as numbers whose value labels are the dictionary's labels, and dates
    as Stata dates (%td)."""
    import re

    import pyreadstat
    from typer.testing import CliRunner

    from petdx.cli import app

    run = CliRunner().invoke(
        app, ["export-stata", str(demo_study.reference), "--out", str(tmp_path), "--dates"]
    )
    assert run.exit_code == 0, run.stderr
    results = demo_study.reference / "results"
    dictionary = pd.read_csv(results / "analysis_dictionary.csv", keep_default_na=False)
    names = pd.read_csv(tmp_path / "stata_variables.csv", keep_default_na=False)
    # Stata 18 [U] 11.3: 1-32 characters, letters, digits, _, no leading digit; unique
    assert names["variable"].map(lambda v: re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,31}", v)).all()
    assert (names["variable"].str.len() < names["column"].str.len()).any()  # some shortened
    for name in _DEMO_RESULTS:
        csv = pd.read_csv(results / f"{name}.csv", dtype=str, keep_default_na=False)
        dta, meta = pyreadstat.read_dta(str(tmp_path / f"{name}.dta"))
        mapped = names[names["table"] == name]
        assert list(mapped["column"]) == list(csv.columns)
        assert list(dta.columns) == list(mapped["variable"])
        assert mapped["variable"].is_unique
        assert len(dta) == len(csv)
        defined = dictionary[dictionary["table"] == name].set_index("column")
        for column, variable in zip(mapped["column"], mapped["variable"], strict=True):
            kind = defined.loc[column, "type"]
            label = meta.column_names_to_labels[variable]
            assert len(label) <= 80
            assert label.rstrip("…") in mapped.set_index("column").loc[column, "label"]
            shown = dta[variable]
            _check_read_back(kind, shown, csv[column], meta.variable_value_labels.get(variable))
            if kind == "date":
                assert meta.original_variable_types[variable] == "%td"
                assert [str(v) if pd.notna(v) else "" for v in shown] == list(csv[column])
            elif kind == "string":
                assert list(shown) == list(csv[column]), column


@pytest.mark.slow
def test_r_export_read_by_rscript_has_the_values_factors_and_labels(
    demo_study: DemoStudy, tmp_path: Path, rscript: RScript
) -> None:
    """petdx export-r, sourced by R (tests/analysis/r_read_export.R): every column carries
    its dictionary label; codes are factors showing the dictionary's labels, booleans
    logicals, numbers the CSV's numbers, and dates (no --dates) days since the patient's
    index scan, also inside text."""
    from typer.testing import CliRunner

    from petdx.cli import app
    from petdx.data_dictionary import code_label

    folder = tmp_path / "export-r"
    run = CliRunner().invoke(app, ["export-r", str(demo_study.reference), "--out", str(folder)])
    assert run.exit_code == 0, run.stderr
    rscript.run(Path(__file__).with_name("r_read_export.R"), folder, tmp_path / "seen.csv")
    seen = pd.read_csv(tmp_path / "seen.csv", dtype=str, keep_default_na=False)
    results = demo_study.reference / "results"
    dictionary = pd.read_csv(results / "analysis_dictionary.csv", keep_default_na=False)
    r_class = {"code": "factor", "boolean": "logical", "date": "numeric", "string": "character"}
    patients = pd.read_csv(results / "analysis_patients.csv", dtype=str)
    index_scans = dict(
        zip(patients["patient_id"], pd.to_datetime(patients["index_scan_date"]), strict=True)
    )
    for name in _DEMO_RESULTS:
        csv = pd.read_csv(results / f"{name}.csv", dtype=str, keep_default_na=False)
        defined = dictionary[dictionary["table"] == name].set_index("column")
        in_r = seen[seen["table"] == name]
        assert list(in_r["column"].unique()) == list(csv.columns)
        for column in csv.columns:
            row = defined.loc[column]
            values = in_r[in_r["column"] == column]
            assert len(values) == len(csv)
            assert set(values["class"]) == {r_class.get(row["type"], "numeric")}, column
            if row["type"] == "date":  # without --dates: days since the index scan
                assert set(values["label"]) == {f"{row['description']} [{STUDY_DAY_LABEL}]"}
                zero = csv["patient_id"].map(index_scans)
                days = (pd.to_datetime(csv[column].replace("", None)) - zero).dt.days
                assert list(values["value"]) == ["" if pd.isna(d) else str(int(d)) for d in days], (
                    column
                )
                continue
            unit = f" [{row['unit']}]" if row["unit"] else ""
            assert set(values["label"]) == {f"{row['description']}{unit}"}, column
            shown = list(values["value"])
            if row["type"] == "code":
                assert shown == [code_label(v) if v else "" for v in csv[column]], column
            elif row["type"] == "boolean":
                assert shown == [v.upper() for v in csv[column]], column
            elif row["type"] in ("decimal", "integer"):
                numbers = pd.to_numeric(csv[column].replace("", None))
                read = pd.to_numeric(pd.Series(shown).replace("", None))
                assert np.allclose(read, numbers, equal_nan=True, rtol=1e-12), column
            else:  # text keeps no calendar date: "signed 2026-04-14" -> "signed day -6"
                iso = r"\d{4}-\d{2}-\d{2}"
                assert not any(re.search(iso, v) for v in shown), column
                dated = csv[column].str.contains(iso)
                assert list(pd.Series(shown)[~dated.to_numpy()]) == list(csv[column][~dated])


@pytest.mark.parametrize("command", ["export-spss", "export-stata", "export-r"])
def test_labelled_exports_before_the_analyses_exit_2(tmp_path: Path, command: str) -> None:
    from typer.testing import CliRunner

    from petdx.cli import app
    from petdx.study.config import StudyConfig, write_config

    write_config(tmp_path, StudyConfig())
    run = CliRunner().invoke(app, [command, str(tmp_path)])
    assert run.exit_code == 2
    assert "no analysis sets yet" in run.stderr


def test_stata_names_are_valid_unique_and_shortened_by_the_documented_rule() -> None:
    from petdx.analysis.stata import stata_names

    names = stata_names(
        [
            "comparator_suv_mean_carried_noise_sd_60min",
            "in",
            "2nd-read",
            "x" * 40,
            "x" * 41,
        ]
    )
    assert names["comparator_suv_mean_carried_noise_sd_60min"] == (
        "cmp_suv_mean_carr_noise_sd_60min"
    )
    assert names["in"] == "in_2"  # reserved word
    assert names["2nd-read"] == "v2nd_read"
    assert names["x" * 40] == "x" * 32
    assert names["x" * 41] == "x" * 30 + "_2"  # cut to the same 32 characters: numbered
