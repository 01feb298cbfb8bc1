"""petdx's 2x2 accuracy and binomial intervals against epiR ``epi.tests`` and ``binom.test``,
run now on this machine's R (accuracy.R, one R process) on seeded random tables.

Fields compared (estimate, lower, upper of each): Se, Sp, accuracy, PPV, NPV, prevalence (all
Clopper-Pearson exact), LR+ and LR- (log method of Simel et al.), DOR (Woolf). Youden's J is
left out on purpose: epiR's interval is the sum of the exact limits of Se and Sp minus 1,
petdx's the Wald interval with Se and Sp independent (docs/stats.md). Tolerance: relative
1e-9 (scipy's and R's beta quantiles), absolute 1e-12 near 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from petdx.stats import binomial_interval, diagnostic_accuracy, mcnemar_test
from tests.stats.r_differential import datasets as gen
from tests.stats.r_differential.harness import petdx_run, report, run_r, tally

#: epiR statistic -> petdx measure
MEASURES = {
    "se": "sensitivity",
    "sp": "specificity",
    "diag.ac": "accuracy",
    "pv.pos": "ppv",
    "pv.neg": "npv",
    "tp": "prevalence",
    "lr.pos": "lr_positive",
    "lr.neg": "lr_negative",
    "diag.or": "dor",
}

PROPORTIONS = ("se", "sp", "diag.ac", "pv.pos", "pv.neg", "tp")


def test_accuracy_and_binomial_against_r(
    r_exe: tuple[str, str], tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    tables = gen.accuracy_tables()
    cases = gen.binomial_cases()
    gen.write_long(
        tmp_path / "tables.csv",
        ("dataset", "tp", "fp", "fn", "tn"),
        ([t["dataset"], t["tp"], t["fp"], t["fn"], t["tn"]] for t in tables),
    )
    gen.write_long(
        tmp_path / "binomial.csv",
        ("dataset", "x", "n", "level"),
        ([c["dataset"], c["x"], c["n"], c["level"]] for c in cases),
    )
    r = run_r(*r_exe, "accuracy.R", tmp_path)

    tallies = {s: tally(f"epi.tests {s}", rtol=1e-9, atol=1e-12) for s in MEASURES}
    for t in tables:
        ours = petdx_run(lambda t=t: diagnostic_accuracy(t["tp"], t["fp"], t["fn"], t["tn"]))
        theirs = r[t["dataset"]]
        for s, measure in MEASURES.items():
            if tallies[s].refusal(t["dataset"], ours, theirs.get("epi.error")):
                continue
            est = ours.value.measures()[measure]
            pairs = {
                "estimate": (est.estimate, theirs[f"{s}.est"]),
                "lower": (est.ci_low, theirs[f"{s}.lower"]),
                "upper": (est.ci_high, theirs[f"{s}.upper"]),
            }
            reason = None
            r_est = theirs[f"{s}.est"]
            if s in PROPORTIONS and math.isnan(r_est) and math.isnan(est.estimate):
                # 0/0: R's exact limits on no trials are qbeta(0.025, 0, 1) = 0 and
                # qbeta(0.975, 1, 0) = 1, a vacuous interval; petdx gives none (warned)
                del pairs["lower"], pairs["upper"]
                reason = "proportion 0/0: epiR NaN [0, 1], petdx NaN, no interval, warned"
            elif s not in PROPORTIONS and r_est == 0 == est.estimate and est.warnings:
                # a ratio with a zero numerator: R's log interval is 0 exp(-/+ z Inf), i.e.
                # 0 and NaN; petdx reports 0 without an interval (warned)
                del pairs["lower"], pairs["upper"]
                reason = "ratio 0 (zero cell): epiR 0 [0, NaN], petdx 0, no interval, warned"
            tallies[s].compare(t["dataset"], pairs, warned=bool(est.warnings), reason=reason)

    interval = tally("binom.test conf.int", rtol=1e-9, atol=1e-12)
    p_value = tally("binom.test p (McNemar exact)", rtol=1e-9, atol=1e-15)
    for c in cases:
        x, n, level = c["x"], c["n"], c["level"]
        theirs = r[c["dataset"]]
        low, high = binomial_interval(x, n, method="exact", confidence_level=level)
        pairs = {"estimate": (x / n, theirs["estimate"])}
        pairs |= {"lower": (low, theirs["lower"]), "upper": (high, theirs["upper"])}
        interval.compare(c["dataset"], pairs, warned=False)
        # petdx's exact McNemar test is the two-sided binomial test of b of b + c at 1/2
        test = petdx_run(lambda x=x, n=n: mcnemar_test([[0, x], [n - x, 0]], method="exact"))
        p_value.compare(
            c["dataset"], {"p": (test.value.p_value, theirs["p.value"])}, warned=bool(test.warned)
        )
    report(record_property, "epiR epi.tests, binom.test", [*tallies.values(), interval, p_value])
