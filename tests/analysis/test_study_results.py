"""The report's numbers against independent recomputation and the simulator's truth.

* Consistency: every headline number of the report equals what ``petdx stats`` (the command
  line, on the exported analysis tables) returns.
* Truth flows through: the simulated cohort's design fixes the visual read's operating
  characteristics (readers' scores are part of the simulation), so the report's visual
  sensitivity and specificity must be exactly those computed from the simulator's own truth
  files (lesions.csv, reads.csv, enrolment_truth.csv), and the measured SUVmax must separate
  malignant from benign lesions about as well as the true uptake does.
* The STARD flow diagram's counts equal the screening log and the simulator's enrolment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from petdx.cli import app
from tests.demo_study import DemoStudy

pytestmark = pytest.mark.slow


def _results(study: Path) -> dict[str, Any]:
    return json.loads((study / "results" / "results.json").read_text())


def _cli(*args: str) -> dict[str, Any]:
    run = CliRunner().invoke(app, ["stats", *args, "--json"])
    assert run.exit_code == 0, run.output
    return json.loads(run.stdout)


def _clustered_roc(csv: Path, truth: str, score: str) -> dict[str, Any]:
    """``petdx stats roc`` on a lesion table, patients as clusters: the one curve."""
    cli = _cli(
        "roc", str(csv), "--truth", truth, "--positive", "true", "--score", score,
        "--cluster", "patient_id",
    )  # fmt: skip
    (curve,) = cli["curves"]
    return dict(curve)


def _accuracy(doc: dict[str, Any], level: str, column: str) -> dict[str, Any]:
    (entry,) = [a for a in doc["accuracy"] if a["level"] == level and a["column"] == column]
    return entry["result"]["measures"]


MEASURES = ("sensitivity", "specificity", "accuracy", "ppv", "npv")


@pytest.mark.parametrize(
    ("level", "table", "extra"),
    [
        ("patient", "analysis_patients.csv", ()),
        ("lesion", "analysis_lesions.csv", ("--cluster", "patient_id")),
    ],
)
def test_accuracy_equals_petdx_stats(
    demo_study: DemoStudy, level: str, table: str, extra: tuple[str, ...]
) -> None:
    doc = _results(demo_study.reference)
    csv = demo_study.reference / "results" / table
    cli = _cli(
        "accuracy",
        str(csv),
        "--truth",
        "target",
        "--positive",
        "true",
        "--test",
        "visual_positive",
        "--test-positive",
        "true",
        *extra,
    )
    report = _accuracy(doc, level, "visual_positive")
    for name in MEASURES:
        for key in ("estimate", "ci_low", "ci_high"):
            assert cli[name][key] == pytest.approx(report[name][key], abs=1e-12), (name, key)


def test_roc_aucs_equal_petdx_stats(demo_study: DemoStudy) -> None:
    doc = _results(demo_study.reference)
    csv = demo_study.reference / "results" / "analysis_lesions.csv"
    headline = [h for h in doc["headline"] if h["measure"] == "auc"]
    assert headline
    for entry in doc["roc"]["lesion"]:
        curve = _clustered_roc(csv, "target", entry["column"])
        assert "Obuchowski" in curve["ci_method"]
        for key in ("auc", "ci_low", "ci_high"):
            assert curve[key] == pytest.approx(entry["result"][key], abs=1e-12), entry["label"]


def test_survival_equals_petdx_stats(demo_study: DemoStudy) -> None:
    doc = _results(demo_study.reference)
    csv = demo_study.reference / "results" / "analysis_patients.csv"
    compared = 0
    for endpoint in doc["survival"]["endpoints"]:
        if sum(g["events"] for g in endpoint["groups"]) == 0:
            continue  # no event: nothing to compare (petdx stats refuses an absent event value)
        compared += 1
        cli = _cli(
            "survival",
            str(csv),
            "--time",
            endpoint["time_column"],
            "--event",
            endpoint["event_column"],
            "--event-value",
            "true",
            "--group",
            "uptake_group",
        )
        groups = {g["group"]: g for g in cli["groups"]}
        for km in endpoint["groups"]:
            mine = groups[km["label"]]
            assert mine["n"] == km["n"]
            assert mine["events"] == km["events"]
            median = km["median"]
            for key, cli_key in (("estimate", "median"), ("ci_low", "median_ci_low")):
                expected, found = median[key], mine[cli_key]
                assert (expected is None and found is None) or found == pytest.approx(expected)
        assert cli["logrank"]["p"] == pytest.approx(endpoint["logrank"]["p_value"], abs=1e-12)
    assert compared >= 1


def test_visual_read_equals_the_simulators_truth(demo_study: DemoStudy) -> None:
    """Design values from the simulator's own files, not from petdx's database."""
    cohort = demo_study.cohort
    truth = pd.read_csv(cohort / "lesions.csv")
    reads = pd.read_csv(cohort / "reads.csv")
    enrolled = set(pd.read_csv(cohort / "enrolment_truth.csv").query("enrolled")["patient_id"])
    reads = reads[
        (reads["reader_id"] == "R1")
        & (reads["tracer"] == "ga68-dota-blp")
        & (reads["time_point_min"] == 60)
        & reads["lesion_id"].notna()
    ]
    lesions = truth[truth["patient_id"].isin(enrolled) & (truth["role"] != "primary")]
    merged = lesions.merge(reads[["lesion_id", "score"]], on="lesion_id")
    positive = merged["score"] >= 3
    malignant = merged["malignant"].astype(str).str.lower() == "true"
    design_se = (positive & malignant).sum() / malignant.sum()
    design_sp = (~positive & ~malignant).sum() / (~malignant).sum()
    report = _accuracy(_results(demo_study.reference), "lesion", "visual_positive")
    assert report["sensitivity"]["estimate"] == pytest.approx(design_se, abs=1e-12)
    assert report["specificity"]["estimate"] == pytest.approx(design_sp, abs=1e-12)
    assert report["sensitivity"]["n"] == int(malignant.sum())


def test_measured_suvmax_tracks_true_uptake(demo_study: DemoStudy) -> None:
    """The design separates malignant from benign lesions by their true uptake (tracer
    profile); the SUVmax petdx measures through blur and noise must separate them about as
    well: its AUC within 0.15 of the true-uptake AUC (scikit-learn, independent)."""
    cohort = demo_study.cohort
    uptake = pd.read_csv(cohort / "lesion_uptake.csv").query(
        "tracer == 'ga68-dota-blp' and time_point_min == 60"
    )
    lesions = pd.read_csv(demo_study.reference / "results" / "analysis_lesions.csv")
    merged = lesions.merge(uptake[["lesion_id", "true_suv_mean"]], on="lesion_id")
    truth = merged["target"].astype(str).str.lower() == "true"
    design_auc = roc_auc_score(truth, merged["true_suv_mean"])
    measured_auc = roc_auc_score(truth, merged["suv_max_60min"])
    assert abs(measured_auc - design_auc) <= 0.15, (measured_auc, design_auc)
    assert np.corrcoef(merged["true_suv_mean"], merged["suv_max_60min"])[0, 1] > 0.5


def test_flow_counts_equal_screening_log_and_enrolment(demo_study: DemoStudy) -> None:
    doc = _results(demo_study.reference)
    flow = doc["flow"]
    truth = pd.read_csv(demo_study.cohort / "enrolment_truth.csv")
    assert flow["potentially_eligible"] == len(truth)
    assert flow["enrolled"] == int(truth["enrolled"].sum())
    assert flow["excluded"] == int((~truth["enrolled"]).sum())
    failed: dict[str, int] = {}
    for cell in truth.loc[~truth["enrolled"], "failed_criteria"].dropna():
        for cid in str(cell).split(";"):
            failed[cid] = failed.get(cid, 0) + 1
    reported = {r["criterion"]: r["n"] for r in flow["exclusion_reasons"] if r["kind"] == "fails"}
    assert reported == failed
    log = pd.read_csv(demo_study.reference / "results" / "screening_log.csv")
    assert log["patient_id"].nunique() == flow["potentially_eligible"]
    arms = {a["result"]: a for a in flow["arms"]}
    patients = pd.read_csv(demo_study.reference / "results" / "analysis_patients.csv")
    assert (
        arms["positive"]["n"] + arms["negative"]["n"] == patients["visual_positive"].notna().sum()
    )
    present = patients["target"].astype(str).str.lower() == "true"
    assert arms["positive"]["target_present"] + arms["negative"]["target_present"] == present.sum()


def test_analysis_sets_and_report_carry_age_not_date_of_birth(demo_study: DemoStudy) -> None:
    """Privacy: what leaves the study with the report (results/, report/) holds pseudonyms and
    age, never a date of birth (the simulator's patients.csv is the source of the dates)."""
    births = pd.read_csv(demo_study.cohort / "patients.csv", dtype=str)["birth_date"]
    patients = pd.read_csv(demo_study.reference / "results" / "analysis_patients.csv")
    assert "birth_date" not in patients.columns
    assert patients["age_years"].between(18, 100).all()
    outputs = [
        p
        for folder in ("results", "report")
        for p in (demo_study.reference / folder).rglob("*")
        if p.is_file() and p.suffix in {".csv", ".json", ".html"}
    ]
    assert outputs
    for path in outputs:
        text = path.read_text()
        leaked = [b for b in births if b in text]
        assert not leaked, (path.name, leaked[:3])


def test_pdl1_secondary_target_equals_petdx_stats(demo_study: DemoStudy, tmp_path: Path) -> None:
    """PD-L1 positivity as the secondary target condition: the report's AUCs and Se/Sp equal
    ``petdx stats`` on the exported set, and the set is what the simulator says it is."""
    target = _results(demo_study.reference)["pdl1"]["as_target"]
    csv = demo_study.reference / "results" / "analysis_pdl1_lesions.csv"
    exported = pd.read_csv(csv)
    truth = pd.read_csv(demo_study.cohort / "lesions.csv").set_index("lesion_id")
    assert len(exported) == target["lesions"] > 0
    assert truth.loc[exported["lesion_id"], "malignant"].astype(str).str.lower().eq("true").all()
    assert target["roc"]
    for entry in target["roc"]:
        curve = _clustered_roc(csv, "pdl1_positive", entry["column"])
        for key in ("auc", "ci_low", "ci_high"):
            assert curve[key] == pytest.approx(entry["result"][key], abs=1e-12), entry["label"]
        # The tracer model gives PD-L1-negative tumours blood-pool uptake: SUVmax separates.
        assert entry["result"]["auc"] > 0.75
    for entry in target["accuracy"]:
        table = exported.copy()
        if entry["cutoff"] is None:
            table["test_positive"] = table[entry["column"]]
        else:  # the test derives the positive calls from the cut-off itself
            table["test_positive"] = table[entry["column"]] >= entry["cutoff"]
        derived = tmp_path / "pdl1_calls.csv"
        table.to_csv(derived, index=False)
        cli = _cli(
            "accuracy",
            str(derived),
            "--truth",
            "pdl1_positive",
            "--positive",
            "True",
            "--test",
            "test_positive",
            "--test-positive",
            "True",
            "--cluster",
            "patient_id",
        )
        for name in ("sensitivity", "specificity"):
            for key in ("estimate", "ci_low", "ci_high"):
                expected = entry["result"]["measures"][name][key]
                assert cli[name][key] == pytest.approx(expected, abs=1e-12), (entry["test"], name)


def test_retention_cohort_test_equals_petdx_stats(demo_study: DemoStudy) -> None:
    """Issue 17: the report's cohort-level retention test is what ``petdx stats retention``
    gives on the exported lesion table; every lesion with a carried-VOI-mean retention
    index there has an image-noise CI and a verdict that matches it."""
    doc = _results(demo_study.reference)["retention"]["uncertainty"]
    csv = demo_study.reference / "results" / "analysis_lesions.csv"
    cli = _cli("retention", str(csv))
    for key in ("primary", "secondary"):
        mine, theirs = doc["cohort_test"][key], cli[key]
        assert mine["p_value"] == pytest.approx(theirs["p_value"], rel=1e-9, nan_ok=True)
        for field in ("estimate", "ci_low", "ci_high", "n", "n_clusters"):
            assert mine["effect"][field] == pytest.approx(theirs["effect"][field], nan_ok=True)
    table = pd.read_csv(csv)
    with_ri = table[table["ri_voi_mean_pct"].notna()]
    assert len(doc["lesions"]) == len(with_ri) > 0
    assert cli["primary"]["effect"]["n"] + cli["secondary"]["effect"]["n"] > 0
    for lesion in doc["lesions"]:
        low, high, verdict = lesion["ci_low_pct"], lesion["ci_high_pct"], lesion["verdict"]
        assert low is not None
        assert low < lesion["ri_pct"] < high
        expected = "retained" if low > 0 else "washout" if high < 0 else "indeterminate"
        assert verdict == expected
    assert sum(v["n"] for v in doc["verdicts"]) == len(doc["lesions"])
    html = (demo_study.reference / "report" / "report.html").read_text()
    assert "Retention with its uncertainty" in html
    assert "Per-lesion retention index with confidence intervals" in html  # the figure
