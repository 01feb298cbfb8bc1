"""petdx's ROC statistics against pROC, run now on this machine's R (roc.R, one R process) on
seeded random paired datasets (two scores, one truth).

Direction: petdx never guesses it; R is called with petdx's (``"higher"`` is pROC ``"<"``,
``"lower"`` is ``">"``), never pROC's default ``"auto"``. Single-curve statistics are
counted per score (two per dataset).

Deliberate difference, the Youden cut-off: petdx compares Se + Sp - 1 exactly in integer
counts and never offers the point "nothing positive"; pROC ``coords(x = "best")`` compares
floating-point sums (a true tie can be split in the last bit) and offers both ends of the
curve (threshold +/-Inf), which tie at J = 0 when no cut-off beats chance. roc.R computes the
cut-off by petdx's definition from pROC's own curve (``exact.`` fields): petdx must match it
exactly; a dataset where pROC's default returns another set is counted as explained, with
the reason. Tolerances: AUC, partial AUC, thresholds relative 1e-12; DeLong variance, CI,
z, p relative 1e-9 (absolute 1e-12 near 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from petdx.stats import delong_auc, delong_paired_test, optimal_cutoff, partial_auc, roc_curve
from tests.stats.r_differential import datasets as gen
from tests.stats.r_differential.harness import PetdxRun, Tally, petdx_run, report, run_r, tally

PARTIAL = {
    "pauc.sp.raw": {"specificity_range": (0.8, 1.0), "mcclish": False},
    "pauc.sp.mcclish": {"specificity_range": (0.8, 1.0), "mcclish": True},
    "pauc.se.raw": {"sensitivity_range": (0.9, 1.0), "mcclish": False},
    "pauc.se.mcclish": {"sensitivity_range": (0.9, 1.0), "mcclish": True},
}


def _write(folder: Path, sets: list[dict[str, Any]]) -> None:
    rows = (
        [d["dataset"], int(t), s1, s2, d["direction_1"], d["direction_2"]]
        for d in sets
        for t, s1, s2 in zip(d["truth"], d["score_1"], d["score_2"], strict=True)
    )
    columns = ("dataset", "truth", "score_1", "score_2", "direction_1", "direction_2")
    gen.write_long(
        folder / "roc.csv", columns, ([*r[:2], float(r[2]), float(r[3]), *r[4:]] for r in rows)
    )


def _cutoff(t: Tally, key: str, ours: PetdxRun, theirs: dict[str, Any], p: str) -> str | None:
    """Compare the Youden cut-off; return why pROC's default differs, if it does."""
    if t.refusal(key, ours, theirs.get(f"{p}roc.error")):
        return None
    curve, cut = ours.value
    midpoint = dict(zip(curve.thresholds.tolist(), curve.midpoint_thresholds.tolist(), strict=True))
    ours_set = [cut.midpoint_threshold, *(midpoint[v] for v in cut.tied_thresholds)]
    exact = [theirs[f"{p}exact.{j}"] for j in range(1, int(theirs[f"{p}exact.n"]) + 1)]
    default = sorted(theirs[f"{p}best.{j}"] for j in range(1, int(theirs[f"{p}best.n"]) + 1))
    if len(exact) != len(ours_set):
        t.compare(key, {"number of tied cut-offs": (len(ours_set), len(exact))}, warned=False)
        return None
    pairs = {f"threshold {j}": (a, b) for j, (a, b) in enumerate(zip(ours_set, exact, strict=True))}
    pairs["sensitivity"] = (cut.sensitivity.estimate, theirs[f"{p}exact.se"])
    pairs["specificity"] = (cut.specificity.estimate, theirs[f"{p}exact.sp"])
    reason = None
    if default != sorted(exact):
        ends = [v for v in default if math.isinf(v)]
        reason = (
            "pROC default offers the 'nothing positive' end (threshold +/-Inf) tied at J = 0"
            if ends
            else "pROC default splits or makes a tie by floating-point rounding of Se + Sp"
        )
    t.compare(key, pairs, warned=False, reason=reason)
    return reason


def test_roc_against_proc(
    r_exe: tuple[str, str], tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    sets = gen.roc_sets()
    _write(tmp_path, sets)
    r = run_r(*r_exe, "roc.R", tmp_path)

    auc = tally("roc auc", rtol=1e-12)
    var = tally("var (DeLong)", rtol=1e-9, atol=1e-15)
    ci = tally('ci.auc(method = "delong")', rtol=1e-9, atol=1e-12)
    pauc = {name: tally(f"auc partial {name[5:]}", rtol=1e-12, atol=1e-15) for name in PARTIAL}
    best = tally('coords("best", "youden")', rtol=1e-12, atol=1e-15)
    test = tally("roc.test(paired, delong)", rtol=1e-9, atol=1e-12)
    for d in sets:
        theirs = r.get(d["dataset"], {})
        truth = np.asarray(d["truth"])
        for k in (1, 2):
            key, p = f"{d['dataset']}.{k}", f"{k}."
            score, direction = d[f"score_{k}"], d[f"direction_{k}"]
            error = theirs.get(f"{p}roc.error")
            ours = petdx_run(lambda s=score, dr=direction, t=truth: delong_auc(t, s, direction=dr))
            if not auc.refusal(key, ours, error):
                est = ours.value
                warned = bool(est.warnings)
                auc.compare(key, {"auc": (est.estimate, theirs[f"{p}auc"])}, warned=warned)
                var.compare(key, {"var": (est.se**2, theirs[f"{p}var"])}, warned=warned)
                pairs = {"lower": (est.ci_low, theirs[f"{p}ci.lower"])}
                pairs["upper"] = (est.ci_high, theirs[f"{p}ci.upper"])
                ci.compare(key, pairs, warned=warned)
            else:
                var.refusal(key, ours, error)
                ci.refusal(key, ours, error)
            for name, options in PARTIAL.items():
                part = petdx_run(
                    lambda s=score, dr=direction, o=options, t=truth: partial_auc(
                        t, s, direction=dr, **o
                    )
                )
                if not pauc[name].refusal(key, part, error):
                    pair = {name: (part.value.estimate, theirs[f"{p}{name}"])}
                    pauc[name].compare(key, pair, warned=bool(part.value.warnings))
            cut = petdx_run(
                lambda s=score, dr=direction, t=truth: (
                    (c := roc_curve(t, s, direction=dr)),
                    optimal_cutoff(c, "youden"),
                )
            )
            _cutoff(best, key, cut, theirs, p)
        paired = petdx_run(
            lambda d=d, t=truth: delong_paired_test(
                t,
                d["score_1"],
                d["score_2"],
                direction_1=d["direction_1"],
                direction_2=d["direction_2"],
            )
        )
        error = theirs.get("1.roc.error") or theirs.get("2.roc.error") or theirs.get("test.error")
        undefined = paired.value is not None and math.isnan(paired.value.statistic)
        if not test.refusal(d["dataset"], paired, error, undefined=undefined):
            c = paired.value
            pairs = {"z": (c.statistic, theirs["test.z"]), "p": (c.p_value, theirs["test.p"])}
            pairs |= {"lower": (c.ci_low, theirs["test.ci.lower"])}
            pairs |= {"upper": (c.ci_high, theirs["test.ci.upper"])}
            test.compare(d["dataset"], pairs, warned=bool(c.warnings))
    report(record_property, "pROC", [auc, var, ci, *pauc.values(), best, test])
