"""``petdx stats ...`` on CSV input: documented JSON, and exit 2 with row-numbered errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from lifelines.datasets import load_lung
from typer.testing import CliRunner

from petdx.cli import app
from petdx.stats import delong_auc, delong_paired_test, diagnostic_accuracy, obuchowski_auc

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["stats", *args])
    return result.exit_code, result.stdout, result.stderr


def _lesions(path: Path, n_patients: int = 40, seed: int = 0) -> Path:
    """A lesion table: patient, outcome (malignant/benign), read, two scores."""
    rng = np.random.default_rng(seed)
    rows = ["lesion,patient,outcome,read,suv_ga68,suv_fdg"]
    k = 0
    for p in range(n_patients):
        for _ in range(int(rng.integers(1, 4))):
            malignant = rng.random() < 0.5
            ga = round(float(rng.normal(4.0 if malignant else 2.0, 1.2)), 2)
            fdg = round(float(rng.normal(3.2 if malignant else 2.4, 1.2)), 2)
            read = "positive" if ga > 3.0 else "negative"
            rows.append(f"L{k},P{p},{'malignant' if malignant else 'benign'},{read},{ga},{fdg}")
            k += 1
    path.write_text("\n".join(rows) + "\n")
    return path


def _columns(path: Path) -> dict[str, np.ndarray]:
    lines = path.read_text().strip().splitlines()
    header = lines[0].split(",")
    cells = [line.split(",") for line in lines[1:]]
    return {h: np.array([c[i] for c in cells]) for i, h in enumerate(header)}


def test_accuracy_counts_json() -> None:
    code, out, _ = _run(
        "accuracy", "--tp", "670", "--fp", "202", "--fn", "74", "--tn", "640", "--json"
    )
    assert code == 0
    doc = json.loads(out)
    expected = diagnostic_accuracy(670, 202, 74, 640)
    for key in (
        "sensitivity",
        "specificity",
        "accuracy",
        "ppv",
        "npv",
        "lr_positive",
        "lr_negative",
        "dor",
    ):
        assert {"estimate", "ci_low", "ci_high", "method"} <= set(doc[key])
        assert doc[key]["estimate"] == pytest.approx(getattr(expected, key).estimate)
    assert doc["sensitivity"]["method"] == "Clopper-Pearson exact"


def test_accuracy_table_output_and_wilson() -> None:
    code, out, _ = _run(
        "accuracy", "--tp", "18", "--fp", "1", "--fn", "2", "--tn", "19", "--ci", "wilson"
    )
    assert code == 0
    assert "sensitivity" in out
    assert "Wilson score" in out


def test_accuracy_csv_plain_and_clustered(tmp_path: Path) -> None:
    path = _lesions(tmp_path / "lesions.csv")
    col = _columns(path)
    truth, test = col["outcome"] == "malignant", col["read"] == "positive"
    args = [
        "accuracy",
        str(path),
        "--truth",
        "outcome",
        "--positive",
        "malignant",
        "--test",
        "read",
        "--test-positive",
        "positive",
        "--json",
    ]
    code, out, _ = _run(*args)
    assert code == 0
    assert json.loads(out)["sensitivity"]["estimate"] == pytest.approx(test[truth].mean())
    code, out, _ = _run(*args, "--cluster", "patient", "--bootstrap", "200")
    assert code == 0
    doc = json.loads(out)
    assert doc["sensitivity"]["n_clusters"] == len(set(col["patient"][truth]))
    assert doc["sensitivity"]["method"].startswith("Rao-Scott")
    assert "cluster bootstrap" in doc["lr_positive"]["method"]


def test_roc_paired_and_clustered(tmp_path: Path) -> None:
    path = _lesions(tmp_path / "lesions.csv")
    col = _columns(path)
    truth = col["outcome"] == "malignant"
    a, b = col["suv_ga68"].astype(float), col["suv_fdg"].astype(float)
    base = [
        "roc",
        str(path),
        "--truth",
        "outcome",
        "--positive",
        "malignant",
        "--score",
        "suv_ga68",
        "--score",
        "suv_fdg",
        "--paired",
        "--json",
    ]
    code, out, _ = _run(*base)
    assert code == 0
    doc = json.loads(out)
    curve = doc["curves"][0]
    for key in (
        "score",
        "auc",
        "variance",
        "ci_low",
        "ci_high",
        "ci_method",
        "n_positive",
        "n_negative",
        "best_threshold",
        "best_sensitivity",
        "best_specificity",
    ):
        assert key in curve
    ref = delong_auc(truth, a)
    assert curve["auc"] == pytest.approx(ref.estimate)
    assert curve["variance"] == pytest.approx(ref.se**2)
    comp = doc["comparison"]
    assert set(comp) >= {"method", "difference", "ci_low", "ci_high", "z", "p"}
    assert comp["z"] == pytest.approx(delong_paired_test(truth, a, b).statistic)
    code, out, _ = _run(*base, "--cluster", "patient")
    doc = json.loads(out)
    assert code == 0
    assert "Obuchowski" in doc["curves"][0]["ci_method"]
    assert "Obuchowski" in doc["comparison"]["method"]
    ref = obuchowski_auc(truth, a, col["patient"])
    assert doc["curves"][0]["variance"] == pytest.approx(ref.se**2)


def test_roc_single_with_bootstrap_and_table(tmp_path: Path) -> None:
    path = _lesions(tmp_path / "lesions.csv")
    code, out, _ = _run(
        "roc",
        str(path),
        "--truth",
        "outcome",
        "--positive",
        "malignant",
        "--score",
        "suv_ga68",
        "--bootstrap",
        "200",
        "--seed",
        "3",
        "--json",
    )
    doc = json.loads(out)
    assert code == 0
    assert doc["comparison"] is None
    assert "stratified bootstrap" in doc["curves"][0]["ci_method"]
    assert doc["curves"][0]["best_threshold_ci"][0] is not None
    code, out, _ = _run(
        "roc",
        str(path),
        "--truth",
        "outcome",
        "--positive",
        "malignant",
        "--score",
        "suv_ga68",
        "--score",
        "suv_fdg",
    )
    assert code == 0
    assert "suv_fdg" in out
    assert "unpaired" in out


def test_survival_json(tmp_path: Path) -> None:
    lung = load_lung()
    path = tmp_path / "lung.csv"
    frame = lung[["time", "status", "sex", "age"]].copy()
    frame["status"] = np.where(frame.status == 1, "dead", "censored")
    frame["sex"] = np.where(lung.sex == 1, "male", "female")
    frame.to_csv(path, index=False)
    code, out, err = _run(
        "survival",
        str(path),
        "--time",
        "time",
        "--event",
        "status",
        "--event-value",
        "dead",
        "--group",
        "sex",
        "--covariates",
        "age",
        "--at",
        "365",
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    groups = {g["group"]: g for g in doc["groups"]}
    assert (
        groups["male"]["median"],
        groups["male"]["median_ci_low"],
        groups["male"]["median_ci_high"],
    ) == (270, 212, 310)
    assert set(groups["female"]) >= {
        "group",
        "n",
        "events",
        "median",
        "median_ci_low",
        "median_ci_high",
    }
    assert round(doc["logrank"]["chi2"], 1) == 10.3
    assert doc["logrank"]["df"] == 1
    (term,) = doc["cox"]
    assert set(term) >= {"term", "coef", "se", "hr", "hr_ci_low", "hr_ci_high", "p"}
    assert term["term"] == "age"


def test_agreement_and_sample_size(tmp_path: Path) -> None:
    path = tmp_path / "reads.csv"
    rng = np.random.default_rng(0)
    a = rng.integers(1, 6, 60)
    b = np.clip(a + rng.integers(-1, 2, 60), 1, 5)
    c = np.clip(a + rng.integers(-1, 2, 60), 1, 5)
    path.write_text(
        "r1,r2,r3\n" + "\n".join(f"{x},{y},{z}" for x, y, z in zip(a, b, c, strict=True))
    )
    for measure, key in (
        ("kappa", "estimate"),
        ("icc", "forms"),
        ("bland-altman", "bias"),
        ("spearman", "ci_low"),
    ):
        code, out, err = _run(
            "agreement",
            str(path),
            "--rater",
            "r1",
            "--rater",
            "r2",
            "--measure",
            measure,
            "--weights",
            "quadratic",
            "--json",
        )
        assert code == 0, err
        assert key in json.loads(out)
    code, out, _ = _run(
        "agreement",
        str(path),
        "--rater",
        "r1",
        "--rater",
        "r2",
        "--rater",
        "r3",
        "--measure",
        "fleiss",
        "--bootstrap",
        "100",
        "--json",
    )
    assert code == 0
    assert json.loads(out)["measure"] == "fleiss_kappa"
    code, out, _ = _run(
        "sample-size",
        "buderer",
        "--sensitivity",
        "0.9",
        "--specificity",
        "0.8",
        "--prevalence",
        "0.2",
        "--precision",
        "0.05",
        "--json",
    )
    assert code == 0
    assert json.loads(out)["n_total"] == 692
    code, out, _ = _run(
        "sample-size",
        "auc",
        "--solve",
        "power",
        "--auc",
        "0.73",
        "--cases",
        "41",
        "--controls",
        "72",
        "--json",
    )
    assert code == 0
    assert json.loads(out)["power"] == pytest.approx(0.9897453, abs=1e-6)


BAD_CSV_CASES = [
    # (file content, extra args, expected fragments of the error)
    (
        "id,outcome,suv\n1,malignant,2.0\n2,benign,1.0\n",
        ["--score", "suvmax"],
        ["no column 'suvmax'", "'id', 'outcome', 'suv'"],
    ),
    (
        "id,outcome,suv\n1,malignant,2.0\n2,benign,abc\n3,benign,1.0\n",
        ["--score", "suv"],
        ["row 3, column 'suv'", "'abc'"],
    ),
    (
        "id,outcome,suv\n1,malignant,2.0\n2,benign,1.0\n3,unknown,1.5\n4,maybe,1\n",
        ["--score", "suv"],
        ["rows 4, 5, column 'outcome'", "third value"],
    ),
    (
        "id,outcome,suv\n1,benign,2.0\n2,benign,1.0\n",
        ["--score", "suv"],
        ["no row has the positive value 'malignant'"],
    ),
    (
        "id,outcome,suv\n1,malignant,2.0\n2,malignant,1.0\n",
        ["--score", "suv"],
        ["every row is 'malignant'", "empty"],
    ),
    (
        "id,outcome,suv\n1,malignant,2.0\n2,,1.0\n",
        ["--score", "suv", "--missing", "error"],
        ["row 3, column 'outcome': empty cell"],
    ),
    (  # the default (--missing exclude) leaves row 3 out: no benign row is left
        "id,outcome,suv\n1,malignant,2.0\n2,,1.0\n",
        ["--score", "suv"],
        ["every row is 'malignant'"],
    ),
]


@pytest.mark.parametrize(("content", "extra", "fragments"), BAD_CSV_CASES)
def test_roc_bad_csv_exits_2_naming_the_row(
    tmp_path: Path, content: str, extra: list[str], fragments: list[str]
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    code, out, err = _run("roc", str(path), "--truth", "outcome", "--positive", "malignant", *extra)
    assert code == 2
    assert out == ""
    text = " ".join(err.split())
    assert str(path) in text
    for fragment in fragments:
        assert fragment in text


def test_survival_bad_cells_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("time,status,arm\n10,1,A\n12,maybe,B\n5,0,A\n")
    code, _, err = _run("survival", str(path), "--time", "time", "--event", "status")
    assert code == 2
    assert "row 3, column 'status'" in " ".join(err.split())
    path.write_text("time,status,arm\n10,1,A\n12,1,A\n")
    code, _, err = _run(
        "survival", str(path), "--time", "time", "--event", "status", "--group", "arm"
    )
    assert code == 2
    assert "only one group" in err


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["accuracy", "--tp", "1"], "give all four counts"),
        (
            [
                "accuracy",
                "missing.csv",
                "--truth",
                "a",
                "--positive",
                "b",
                "--test",
                "c",
                "--test-positive",
                "d",
            ],
            "missing.csv: no such file",
        ),
        (["agreement", "x.csv", "--rater", "a", "--measure", "kappa"], "two --rater"),
        (
            ["agreement", "x.csv", "--rater", "a", "--rater", "b", "--measure", "pearson"],
            "--measure: expected one of",
        ),
        (["sample-size", "auc", "--solve", "everything"], "--solve: expected one of"),
        (
            [
                "roc",
                "x.csv",
                "--truth",
                "t",
                "--positive",
                "p",
                "--score",
                "a",
                "--score",
                "b",
                "--cluster",
                "patient",
            ],
            "add --paired",
        ),
        (
            [
                "sample-size",
                "buderer",
                "--sensitivity",
                "1.2",
                "--specificity",
                "0.8",
                "--prevalence",
                "0.2",
                "--precision",
                "0.05",
            ],
            "sensitivity",
        ),
    ],
)
def test_option_errors_exit_2(args: list[str], fragment: str) -> None:
    code, _, err = _run(*args)
    assert code == 2
    assert fragment in " ".join(err.split())
