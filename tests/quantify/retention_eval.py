"""Issue 17's acceptance figures from per-lesion tables of ``cohort_eval --lesions``.

``python -m tests.quantify.retention_eval TABLE.csv [--null NULL.csv ...]`` prints, for the
lesions >= 15 mm of the study tracer (the thresholds fixed in docs/validation.md):

* coverage of the carried-VOI-mean 95 % CIs (true RI inside), target 90-98 %;
* sign: among `retained`/`washout` verdicts, share with the true sign (>= 95 %); among
  lesions with |true change| >= 10 %, share of measured RIs with the true sign (>= 90 %);
* median bias (measured - true RI) per lesion class (within +/- 3 points);
* the cohort-level test (petdx.stats.retention) per cohort and pooled (patients are
  ``cohort/patient``);
* with ``--null``: the primary test's p on each null cohort and the rejections at 5 %.

``--index pvc`` evaluates revision 1's index instead (docs/validation.md): the
partial-volume-corrected carried-VOI mean (``ri_pvc_pct`` and its ``ri_pvc_ci_*`` and
``ri_pvc_verdict`` columns); lesions without it are left out and counted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from petdx.stats.retention import RetentionTests, retention_tests

MIN_DIAMETER_MM = 15.0
TRACER = "ga68-dota-blp"


#: The index evaluated (``--index``): its value column and the stem of its CI and verdict.
INDEX = {"voi_mean": ("ri_voi_mean_pct", "ri_voi_mean_"), "pvc": ("ri_pvc_pct", "ri_pvc_")}
_value, _stem = INDEX["voi_mean"]


def use_index(name: str) -> None:
    """Evaluate the carried-VOI mean (``voi_mean``) or revision 1's corrected mean (``pvc``)."""
    global _value, _stem
    _value, _stem = INDEX[name]


def evaluable(table: pd.DataFrame) -> pd.DataFrame:
    """Study-tracer lesions >= 15 mm with a true change and a value of the index."""
    rows = table[(table["tracer"] == TRACER) & (table["diameter_mm"] >= MIN_DIAMETER_MM)]
    rows = rows.dropna(subset=["true_change_pct"])
    if _value not in rows:
        rows = rows.assign(**{_value: np.nan})
    for column in (f"{_stem}ci_low_pct", f"{_stem}ci_high_pct", f"{_stem}verdict"):
        if column not in rows:
            rows = rows.assign(**{column: np.nan})
    missing = int(rows[_value].isna().sum())
    if missing:
        print(f"   ({missing} lesion(s) >= 15 mm without {_value} left out)")
    return rows.dropna(subset=[_value])


def cohort_test(rows: pd.DataFrame) -> RetentionTests:
    malignant = rows["malignant"].astype(bool)
    pdl1 = [bool(p) if m else None for p, m in zip(rows["pdl1_positive"], malignant, strict=True)]
    patients = rows["cohort"].astype(str) + "/" + rows["patient_id"].astype(str)
    return retention_tests(rows[_value], malignant, pdl1, patients, value=_value)


def _share(hit: pd.Series, among: pd.Series) -> str:
    n = int(among.sum())
    k = int((hit & among).sum())
    return f"{k}/{n} ({100 * k / n:.1f} %)" if n else "0/0"


def figures(rows: pd.DataFrame) -> dict[str, object]:
    true = rows["true_change_pct"]
    low, high = rows[f"{_stem}ci_low_pct"], rows[f"{_stem}ci_high_pct"]
    has_ci = low.notna() & high.notna()
    covered = has_ci & (low <= true) & (true <= high)
    verdict = rows[f"{_stem}verdict"]
    called = verdict.isin(["retained", "washout"])
    called_right = (verdict == "retained") & (true > 0) | (verdict == "washout") & (true < 0)
    big = true.abs() >= 10
    sign_right = np.sign(rows[_value]) == np.sign(true)
    bias = (rows[_value] - true).groupby(rows["lesion_class"]).median()
    half = (high - low) / 2
    size = pd.cut(rows["diameter_mm"], [15, 20, 30, 100], right=False)
    return {
        "lesions": len(rows),
        "with_ci": int(has_ci.sum()),
        "coverage": _share(covered, has_ci),
        "retained": int((verdict == "retained").sum()),
        "washout": int((verdict == "washout").sum()),
        "called_true_sign": _share(called_right, called),
        "change_10pct_true_sign": _share(sign_right & big, big),
        "median_bias_by_class": {k: round(float(v), 2) for k, v in bias.items()},
        "error_mean_sd": (
            round(float((rows[_value] - true).mean()), 2),
            round(float((rows[_value] - true).std()), 2),
        ),
        "median_ci_half_width_by_size": {
            str(k): round(float(v), 1)
            for k, v in half.groupby(size, observed=True).median().items()
        },
        "coverage_by_class": {
            str(k): f"{int(v.sum())}/{len(v)}"
            for k, v in covered[has_ci].groupby(rows["lesion_class"][has_ci])
        },
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tables", nargs="*", type=Path)
    parser.add_argument("--null", nargs="*", type=Path, default=[])
    parser.add_argument("--index", choices=sorted(INDEX), default="voi_mean")
    args = parser.parse_args(argv)
    use_index(args.index)
    if args.tables:
        pooled = evaluable(pd.concat([pd.read_csv(t) for t in args.tables], ignore_index=True))
        for cohort, rows in pooled.groupby("cohort"):
            print(f"== {cohort}: {figures(rows)}")
            print(f"   {cohort_test(rows).primary}")
        print(f"== pooled: {figures(pooled)}")
        print(cohort_test(pooled))
    rejections = 0
    for path in args.null:
        rows = evaluable(pd.read_csv(path))
        test = cohort_test(rows).primary
        rejections += bool(test.p_value < 0.05)
        effect = test.effect
        assert effect is not None
        print(
            f"null {path.stem}: {len(rows)} lesions, {effect.n_clusters} patients, "
            f"difference {effect.estimate:.2f} ({effect.ci_low:.2f} to {effect.ci_high:.2f}), "
            f"p = {test.p_value:.4f}"
        )
    if args.null:
        print(f"null cohorts: {rejections} of {len(args.null)} rejected at 5 %")


if __name__ == "__main__":
    main(sys.argv[1:])
