"""Missing data and coded values in ``petdx stats`` (issue 19, Build 1).

``--missing exclude`` (the default) leaves out the rows missing a value in a column the analysis
uses and reports which (file row numbers, header = row 1; STARD 2015 item 16); ``--missing
error`` refuses the table naming the row and the column. Coded values (``--event-value``,
``--positive``, ...) match numerically when code and cell are both numbers.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from petdx.cli import app
from petdx.errors import InputValidationError
from petdx.stats import accuracy_from_labels, cohen_kappa, kaplan_meier
from petdx.stats.table import CsvTable, code_key
from tests.conftest import RScript

runner = CliRunner()
R_ORACLE = Path(__file__).parent / "r_oracle"

# survfit(Surv(time, status) ~ ph.ecog, data = lung) as R 4.2.2 with survival 3.5.3 prints it
# (n, events, median, 0.95LCL, 0.95UCL; "1 observation deleted due to missingness"), and as
# issue 19 quotes it for ECOG 0, 1, 2. ECOG 3 is one patient who died at day 118: the median
# is 118 and both log-CI limits are NA (the standard error at S = 0 is undefined).
PRINTED = {
    "0": (63, 37, 394.0, 348.0, 574.0),
    "1": (113, 82, 306.0, 268.0, 429.0),
    "2": (50, 44, 199.0, 156.0, 288.0),
    "3": (1, 1, 118.0, math.nan, math.nan),
}


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["stats", *args])
    return result.exit_code, result.stdout, result.stderr


def _json(*args: str) -> dict:
    """The JSON document of ``petdx stats ARGS --json``, which must succeed."""
    code, out, err = _run(*args, "--json")
    assert code == 0, err
    return dict(json.loads(out))


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _r_lung(rscript: RScript, path: Path) -> tuple[dict[str, tuple[float, ...]], list[int]]:
    """Write survival::lung to ``path`` with R and return R's survfit table and deleted rows."""
    out = rscript.run(R_ORACLE / "lung_missing.R", path)
    groups: dict[str, tuple[float, ...]] = {}
    deleted: list[int] = []
    for line in out.splitlines():
        word, *rest = line.split()
        if word == "group":
            groups[rest[0]] = tuple(float("nan" if v == "NA" else v) for v in rest[1:])
        elif word == "deleted":
            deleted = [int(v) for v in rest]
    return groups, deleted


LUNG_ARGS = ("--time", "time", "--event", "status", "--event-value", "2", "--group", "ph.ecog")


def test_lung_ecog_reproduces_r_survfit_and_reports_the_row_left_out(
    rscript: RScript, tmp_path: Path
) -> None:
    lung = tmp_path / "lung.csv"
    r_groups, r_deleted = _r_lung(rscript, lung)
    why = f"petdx vs R survfit under {rscript.versions}"
    # The live R agrees with the printed reference (guards the oracle script itself).
    assert r_groups.keys() == PRINTED.keys(), why
    for g, printed in PRINTED.items():
        np.testing.assert_array_equal(r_groups[g], printed, err_msg=why)

    code, out, err = _run("survival", str(lung), *LUNG_ARGS, "--missing", "exclude", "--json")
    assert code == 0, err
    doc = json.loads(out)
    mine = {g["group"]: g for g in doc["groups"]}
    assert mine.keys() == r_groups.keys()
    for g, (n, events, median, low, high) in r_groups.items():
        found = mine[g]
        assert (found["n"], found["events"]) == (n, events), (g, why)
        # exactly: a KM median and its log-CI limits are event times of the data
        found_median = (
            _nan(found["median"]),
            _nan(found["median_ci_low"]),
            _nan(found["median_ci_high"]),
        )
        np.testing.assert_array_equal(found_median, (median, low, high), err_msg=f"{g} {why}")
    # R deletes data row 14 (1-based); petdx names it as its errors do: file row 15.
    missing = doc["missing"]
    assert missing["policy"] == "exclude"
    assert missing["n_rows"] == 228
    assert missing["n_left_out"] == len(r_deleted) == 1
    assert [e["row"] for e in missing["left_out"]] == [r + 1 for r in r_deleted]
    assert missing["left_out"][0]["columns"] == ["ph.ecog"]
    # meal.cal and wt.loss have NA cells too, but the analysis does not use them
    assert missing["columns"] == ["time", "status", "ph.ecog"]

    code, out, _ = _run("survival", str(lung), *LUNG_ARGS)  # exclude is the default
    assert code == 0
    text = " ".join(out.split())
    assert "227 of 228 rows used; 1 left out" in text
    assert "row 15 (ph.ecog)" in text
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if "│" in line}
    for g, cells in (
        ("0", ["63", "37", "394", "348 to 574"]),
        ("1", ["113", "82", "306", "268 to 429"]),
        ("2", ["50", "44", "199", "156 to 288"]),
        ("3", ["1", "1", "118", "NA"]),  # R: 118, NA, NA
    ):
        assert [c.strip() for c in rows[g].split("│")[2:6]] == cells, rows[g]


def test_lung_missing_error_refuses_naming_row_and_column(rscript: RScript, tmp_path: Path) -> None:
    lung = tmp_path / "lung.csv"
    _r_lung(rscript, lung)
    code, out, err = _run("survival", str(lung), *LUNG_ARGS, "--missing", "error")
    assert code == 2
    assert out == ""
    text = " ".join(err.split())
    assert "row 15, column 'ph.ecog': missing value 'NA'" in text
    assert text.endswith("Pass --missing exclude.")


def test_survival_exclusion_equals_dropping_the_rows_by_hand(tmp_path: Path) -> None:
    """Rows with an empty time, event, group or covariate are left out of KM, log-rank, Cox."""
    rng = np.random.default_rng(19)
    n = 60
    time = rng.exponential(10.0, n).round(1) + 0.1
    event = rng.random(n) < 0.7
    arm = rng.choice(["A", "B"], n)
    age = rng.normal(60, 8, n).round()
    lines = ["time,status,arm,age"]
    gaps = {3: "time", 11: "status", 20: "arm", 33: "age", 47: "age"}
    for i in range(n):
        cells = [f"{time[i]}", "1" if event[i] else "0", arm[i], f"{age[i]:g}"]
        if i in gaps:
            cells[["time", "status", "arm", "age"].index(gaps[i])] = "" if i % 2 else "NA"
        lines.append(",".join(cells))
    path = tmp_path / "s.csv"
    path.write_text("\n".join(lines) + "\n")
    doc = _json(
        "survival", str(path), "--time", "time", "--event", "status", "--group", "arm",
        "--covariates", "age",
    )  # fmt: skip
    keep = np.array([i not in gaps for i in range(n)])
    assert [e["row"] for e in doc["missing"]["left_out"]] == [i + 2 for i in sorted(gaps)]
    assert [e["columns"] for e in doc["missing"]["left_out"]] == [[gaps[i]] for i in sorted(gaps)]
    assert doc["cox_model"]["n"] == keep.sum()
    for g in doc["groups"]:
        sel = keep & (arm == g["group"])
        km = kaplan_meier(time[sel], event[sel])
        assert g["n"] == sel.sum()
        assert _nan(g["median"]) == pytest.approx(km.median.estimate, nan_ok=True)


def test_roc_missing_truth_score_and_paired(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    n = 40
    truth = np.array(["m", "b"] * (n // 2))
    a = (rng.normal(size=n) + (truth == "m")).round(3)
    b = (rng.normal(size=n) + 0.5 * (truth == "m")).round(3)
    rows = ["truth,a,b"]
    for i in range(n):
        cells = [truth[i], f"{a[i]}", f"{b[i]}"]
        if i == 0:
            cells[0] = "NA"  # missing truth: out of every curve
        if i == 5:
            cells[1] = ""  # missing a: out of a's curve only (unpaired)
        if i == 9:
            cells[2] = "NaN"
        rows.append(",".join(cells))
    path = tmp_path / "r.csv"
    path.write_text("\n".join(rows) + "\n")
    base = ("roc", str(path), "--truth", "truth", "--positive", "m", "--score", "a")
    doc = _json(*base, "--score", "b")
    assert [e["row"] for e in doc["missing"]["left_out"]] == [2]
    curves = {c["score"]: c for c in doc["curves"]}
    assert [e["row"] for e in curves["a"]["missing"]["left_out"]] == [2, 7]
    assert [e["row"] for e in curves["b"]["missing"]["left_out"]] == [2, 11]
    assert curves["a"]["n_positive"] + curves["a"]["n_negative"] == n - 2

    doc = _json(*base, "--score", "b", "--paired")
    assert [e["row"] for e in doc["missing"]["left_out"]] == [2, 7, 11]
    assert all(c["n_positive"] + c["n_negative"] == n - 3 for c in doc["curves"])

    code, out, _ = _run(*base)
    assert code == 0
    assert "a: 38 of 40 rows used; 2 left out" in " ".join(out.split())

    code, _, err = _run(*base, "--missing", "error")
    assert code == 2
    assert "row 2, column 'truth': missing value 'NA'" in " ".join(err.split())


def test_accuracy_and_agreement_exclude_equal_the_complete_rows(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 50
    truth = rng.random(n) < 0.4
    test = np.where(rng.random(n) < 0.8, truth, ~truth)
    rows = ["t,r"]
    for i in range(n):
        cells = ["1" if truth[i] else "0", "1" if test[i] else "0"]
        if i in (4, 17):
            cells[i % 2] = ""
        rows.append(",".join(cells))
    path = tmp_path / "a.csv"
    path.write_text("\n".join(rows) + "\n")
    keep = np.ones(n, dtype=bool)
    keep[[4, 17]] = False
    expected = accuracy_from_labels(truth[keep], test[keep])

    doc = _json(
        "accuracy", str(path), "--truth", "t", "--positive", "1", "--test", "r",
        "--test-positive", "1",
    )  # fmt: skip
    assert doc["sensitivity"]["estimate"] == pytest.approx(expected.sensitivity.estimate)
    assert doc["specificity"]["ci_low"] == pytest.approx(expected.specificity.ci_low)
    assert doc["missing"]["left_out"] == [
        {"row": 6, "columns": ["t"]},
        {"row": 19, "columns": ["r"]},
    ]

    doc = _json("agreement", str(path), "--rater", "t", "--rater", "r")
    k = cohen_kappa(truth[keep].astype(int).astype(str), test[keep].astype(int).astype(str))
    assert doc["estimate"] == pytest.approx(k.kappa.estimate)
    assert doc["missing"]["n_left_out"] == 2

    code, _, err = _run(
        "agreement", str(path), "--rater", "t", "--rater", "r", "--missing", "error"
    )
    assert code == 2
    assert "row 6, column 't': empty cell" in " ".join(err.split())


# ----------------------------------------------------------------------- coded values


@pytest.mark.parametrize("written", ["2.0", "2.00", " 2 ", "2", "+2", "2e0"])
def test_event_value_matches_numerically(tmp_path: Path, written: str) -> None:
    """``--event-value 2`` against a column as pandas or a spreadsheet writes it."""
    times = [5, 8, 12, 3, 9, 15, 7, 11]
    dead = [True, False, True, True, False, True, False, True]
    as_int = tmp_path / "int.csv"
    as_written = tmp_path / "written.csv"
    as_int.write_text(
        "time,status\n"
        + "".join(f"{t},{2 if d else 1}\n" for t, d in zip(times, dead, strict=True))
    )
    alive = "1.0" if "." in written else "1"
    as_written.write_text(
        "time,status\n"
        + "".join(f"{t},{written if d else alive}\n" for t, d in zip(times, dead, strict=True))
    )
    docs = []
    for path in (as_int, as_written):
        code, out, err = _run(
            "survival", str(path), "--time", "time", "--event", "status", "--event-value", "2",
            "--json",
        )  # fmt: skip
        assert code == 0, err
        docs.append(json.loads(out)["groups"][0])
    assert docs[0]["events"] == docs[1]["events"] == sum(dead)
    assert docs[0]["median"] == docs[1]["median"]


def test_numeric_default_event_and_text_codes(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("time,status,outcome\n5,1.0,Dead\n8,0.0,alive\n12,1.0,Dead\n3,0.0,alive\n")
    code, out, err = _run("survival", str(path), "--time", "time", "--event", "status", "--json")
    assert code == 0, err
    assert json.loads(out)["groups"][0]["events"] == 2
    # a text code matches text exactly: 'dead' is not 'Dead'
    code, _, err = _run(
        "survival", str(path), "--time", "time", "--event", "outcome", "--event-value", "dead"
    )
    assert code == 2
    assert "no row has the event-value value 'dead'" in " ".join(err.split())


def test_code_key_and_third_value_after_numeric_matching(tmp_path: Path) -> None:
    assert code_key("2") == code_key("2.0") == code_key(" 2.00 ") == 2.0
    assert code_key("yes") == "yes"
    assert code_key("1_0") == "1_0"  # float() would take it as 10
    assert code_key("inf") == "inf"
    path = tmp_path / "t.csv"
    path.write_text("truth\n1\n0\n0.0\n1.0\n2\n")
    table = CsvTable.read(path)
    with pytest.raises(InputValidationError, match=r"row 6, column 'truth': '2' is a third"):
        table.binary("truth", "1", what="positive")


def test_complete_cases_keeps_file_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("x,y\n1,a\n,b\nNA,c\n4,\n5,e\nfoo,f\n")
    table = CsvTable.read(path)
    sub, left = table.complete_cases(["x", "y", "x"], missing="exclude")
    assert left.rows == (3, 4, 5)
    assert left.missing_columns == (("x",), ("x",), ("y",))
    assert (left.n_rows, left.n_used) == (6, 3)
    assert left.columns == ("x", "y")
    with pytest.raises(InputValidationError, match=r"row 7, column 'x': expected a finite"):
        sub.numeric("x")
    with pytest.raises(InputValidationError, match=r"rows 3, 4, column 'x': missing value ''"):
        table.complete_cases(["x"], missing="error")
    with pytest.raises(InputValidationError, match=r"row 5, column 'y': empty cell"):
        table.complete_cases(["y"], missing="error")
    none = tmp_path / "none.csv"
    none.write_text("x,y\n,a\n2,NA\n")
    with pytest.raises(InputValidationError, match="every row misses a value"):
        CsvTable.read(none).complete_cases(["x", "y"])
    with pytest.raises(ValueError, match="'drop' is not a valid MissingData"):
        table.complete_cases(["x"], missing="drop")


def test_kappa_categories_match_numerically(tmp_path: Path) -> None:
    """Rater 1 written as 1..10, rater 2 as 1.0..10.0 (a column with a gap, via pandas): the
    same categories, in numeric order for the weights, as cohen_kappa with the labels given."""
    rng = np.random.default_rng(11)
    a = rng.integers(1, 11, 40)
    b = np.clip(a + rng.integers(-1, 2, 40), 1, 10)
    path = tmp_path / "k.csv"
    path.write_text("r1,r2\n" + "".join(f"{x},{y:.1f}\n" for x, y in zip(a, b, strict=True)))
    order = [str(c) for c in range(1, 11)]
    for weights in ("none", "quadratic"):
        doc = _json("agreement", str(path), "--rater", "r1", "--rater", "r2", "--weights", weights)
        k = cohen_kappa(a.astype(str), b.astype(str), weights=weights, categories=order)
        assert doc["estimate"] == pytest.approx(k.kappa.estimate), weights
        assert doc["categories"] == order
    given = _json(
        "agreement", str(path), "--rater", "r1", "--rater", "r2", "--weights", "linear",
        "--categories", ",".join(f"{c}.0" for c in range(1, 11)),
    )  # fmt: skip
    k = cohen_kappa(a.astype(str), b.astype(str), weights="linear", categories=order)
    assert given["estimate"] == pytest.approx(k.kappa.estimate)
