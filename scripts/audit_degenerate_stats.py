"""Audit of petdx.stats on degenerate inputs (issue 19 Build 3): every statistic is fed all
positive / all negative references, constant markers, n = 1 and 2, zero cells, one group, no
or only events, constant or separating Cox covariates and identical ratings; each line prints
the result, the warnings raised, or the exception. An exception other than InputValidationError,
or a NaN without a warning, is a finding; docs/stats.md ("Degenerate inputs") tabulates them
with R's behaviour and tests/stats/test_degenerate.py holds their regression tests.

Run: PYTHONPATH=src .venv/bin/python scripts/audit_degenerate_stats.py
"""

import warnings

import numpy as np

from petdx import stats as S


def run(name, fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            r = fn()
            out = repr(r)
        except Exception as e:
            out = f"RAISED {type(e).__module__}.{type(e).__name__}: {str(e)[:200]}"
    ws = sorted({f"{x.category.__name__}: {str(x.message)[:120]}" for x in w})
    print(f"### {name}\n  {out}")
    for x in ws:
        print("  W", x)


T = np.array
# accuracy
run("acc zero TP", lambda: S.diagnostic_accuracy(0, 5, 10, 20))
run("acc all-pos reference (no negatives)", lambda: S.diagnostic_accuracy(10, 0, 5, 0))
run("acc all-neg reference", lambda: S.diagnostic_accuracy(0, 4, 0, 10))
run("acc all zero", lambda: S.diagnostic_accuracy(0, 0, 0, 0))
run("acc n=1", lambda: S.accuracy_from_labels([1], [1]))
run("acc perfect", lambda: S.diagnostic_accuracy(10, 0, 0, 10))
run("acc labels all pos", lambda: S.accuracy_from_labels([1, 1, 1], [1, 0, 1]))
# ROC
run("roc all pos", lambda: S.roc_analysis([1, 1, 1, 1], [1, 2, 3, 4]))
run("roc all neg", lambda: S.roc_analysis([0, 0, 0, 0], [1, 2, 3, 4]))
run("roc constant marker", lambda: S.roc_analysis([0, 1, 0, 1, 1, 0], [2, 2, 2, 2, 2, 2]))
run("roc n=2", lambda: S.roc_analysis([0, 1], [1, 2]))
run("roc n=1", lambda: S.roc_analysis([1], [1]))
run("roc perfect sep", lambda: S.roc_analysis([0, 0, 0, 1, 1, 1], [1, 2, 3, 4, 5, 6]))
run("delong_auc all pos", lambda: S.delong_auc([1, 1, 1], [1, 2, 3]))
run("delong constant", lambda: S.delong_auc([0, 1, 0, 1], [1, 1, 1, 1]))
run(
    "cmp identical markers",
    lambda: S.compare_aucs([0, 1, 0, 1, 0, 1], [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6]),
)
run("cmp constant both", lambda: S.compare_aucs([0, 1, 0, 1], [1, 1, 1, 1], [2, 2, 2, 2]))
run("cmp all pos", lambda: S.compare_aucs([1, 1, 1, 1], [1, 2, 3, 4], [4, 3, 2, 1]))
run("cmp n=2", lambda: S.compare_aucs([0, 1], [1, 2], [2, 1]))
run("cmp unpaired n tiny", lambda: S.delong_unpaired_test([0, 1], [1, 2], [0, 1], [2, 1]))
run("cmp perfect both", lambda: S.compare_aucs([0, 0, 1, 1], [1, 2, 3, 4], [1, 2, 5, 6]))
# clustered
run("obu all pos", lambda: S.obuchowski_auc([1, 1, 1, 1], [1, 2, 3, 4], [1, 1, 2, 2]))
run("obu one cluster", lambda: S.obuchowski_auc([0, 1, 0, 1], [1, 2, 3, 4], [1, 1, 1, 1]))
run("obu constant", lambda: S.obuchowski_auc([0, 1, 0, 1], [1, 1, 1, 1], [1, 1, 2, 2]))
run("obu clusters size1", lambda: S.obuchowski_auc([0, 1, 0, 1], [1, 2, 3, 4], [1, 2, 3, 4]))
run(
    "obu paired identical",
    lambda: S.obuchowski_paired_test(
        [0, 1, 0, 1, 0, 1], [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], [1, 1, 2, 2, 3, 3]
    ),
)
run(
    "roc clustered one cluster",
    lambda: S.roc_analysis([0, 1, 0, 1], [1, 2, 3, 4], cluster=[1, 1, 1, 1]),
)
run(
    "roc clustered all pos",
    lambda: S.roc_analysis([1, 1, 1, 1], [1, 2, 3, 4], cluster=[1, 1, 2, 2]),
)
run(
    "cmp clustered all pos",
    lambda: S.compare_aucs([1, 1, 1, 1], [1, 2, 3, 4], [2, 3, 4, 1], cluster=[1, 1, 2, 2]),
)
run(
    "pauc constant", lambda: S.partial_auc([0, 1, 0, 1], [1, 1, 1, 1], specificity_range=(0.8, 1.0))
)
run("pauc all pos", lambda: S.partial_auc([1, 1, 1, 1], [1, 2, 3, 4], specificity_range=(0.8, 1.0)))
run(
    "pauc mcclish perfect",
    lambda: S.partial_auc([0, 0, 1, 1], [1, 2, 3, 4], specificity_range=(0.8, 1.0), mcclish=True),
)
run(
    "pauc mcclish constant",
    lambda: S.partial_auc([0, 1, 0, 1], [1, 1, 1, 1], specificity_range=(0.8, 1.0), mcclish=True),
)
run("roc_band all pos", lambda: S.roc_band([1, 1, 1, 1], [1, 2, 3, 4], n_bootstrap=50))
run(
    "pauc boot all pos",
    lambda: S.partial_auc_bootstrap(
        [1, 1, 1, 1], [1, 2, 3, 4], specificity_range=(0.8, 1.0), n_bootstrap=50
    ),
)
run(
    "pauc boot n2",
    lambda: S.partial_auc_bootstrap([0, 1], [1, 2], specificity_range=(0.8, 1.0), n_bootstrap=50),
)
run("hanley 1.0", lambda: S.hanley_mcneil_se(1.0, 3, 3))
run("cutoff all pos", lambda: S.optimal_cutoff(S.roc_curve([1, 1, 1], [1, 2, 3])))
run("cutoff constant", lambda: S.optimal_cutoff(S.roc_curve([0, 1, 0, 1], [1, 1, 1, 1])))
# survival
run("km no events", lambda: S.kaplan_meier([1, 2, 3, 4], [0, 0, 0, 0]))
run("km all events", lambda: S.kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1]))
run("km n=1 event", lambda: S.kaplan_meier([5], [1]))
run("km n=1 censored", lambda: S.kaplan_meier([5], [0]))
run("km n=2", lambda: S.kaplan_meier([5, 6], [1, 1]))
run("km all same time all events", lambda: S.kaplan_meier([5, 5, 5], [1, 1, 1]))
run("km loglog all events", lambda: S.kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1], conf_type="log-log"))
run("km at_times beyond", lambda: S.kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1], at_times=[10]))
run("km empty", lambda: S.kaplan_meier([], []))
run("logrank one group", lambda: S.logrank_test([1, 2, 3, 4], [1, 0, 1, 1], ["a"] * 4))
run("logrank no events", lambda: S.logrank_test([1, 2, 3, 4], [0, 0, 0, 0], ["a", "a", "b", "b"]))
run("logrank all events", lambda: S.logrank_test([1, 2, 3, 4], [1, 1, 1, 1], ["a", "a", "b", "b"]))
run("logrank n=2", lambda: S.logrank_test([1, 2], [1, 1], ["a", "b"]))
run(
    "logrank one group has no events at risk",
    lambda: S.logrank_test([1, 2, 10, 11], [1, 1, 0, 0], ["a", "a", "b", "b"]),
)
run("logrank same time", lambda: S.logrank_test([3, 3, 3, 3], [1, 1, 1, 1], ["a", "a", "b", "b"]))
run(
    "cox no events",
    lambda: S.cox_regression([1, 2, 3, 4, 5], [0, 0, 0, 0, 0], {"x": [1, 2, 3, 4, 5]}),
)
run(
    "cox all events",
    lambda: S.cox_regression([1, 2, 3, 4, 5], [1, 1, 1, 1, 1], {"x": [1, 3, 2, 5, 4]}),
)
run(
    "cox constant covariate",
    lambda: S.cox_regression([1, 2, 3, 4, 5], [1, 1, 0, 1, 1], {"x": [2, 2, 2, 2, 2]}),
)
run(
    "cox perfect separation",
    lambda: S.cox_regression([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 1], {"x": [6, 5, 4, 3, 2, 1]}),
)
run(
    "cox perfect sep binary",
    lambda: S.cox_regression([1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 0, 0], {"x": [1, 1, 1, 0, 0, 0]}),
)
run("cox n=1", lambda: S.cox_regression([1], [1], {"x": [1]}))
run("cox n=2", lambda: S.cox_regression([1, 2], [1, 1], {"x": [0, 1]}))
run(
    "cox collinear",
    lambda: S.cox_regression(
        [1, 2, 3, 4, 5, 6], [1, 0, 1, 1, 0, 1], {"x": [1, 2, 3, 4, 5, 6], "y": [2, 4, 6, 8, 10, 12]}
    ),
)
# agreement
run("kappa identical ratings one category", lambda: S.cohen_kappa(["a"] * 5, ["a"] * 5))
run(
    "kappa identical ratings 2 cats",
    lambda: S.cohen_kappa(["a", "b", "a", "b"], ["a", "b", "a", "b"]),
)
run("kappa each rater constant different", lambda: S.cohen_kappa(["a"] * 4, ["b"] * 4))
run("kappa n=1", lambda: S.cohen_kappa(["a"], ["a"]))
run("kappa weighted one cat", lambda: S.cohen_kappa([1] * 4, [1] * 4, weights="linear"))
run("kappa table zeros", lambda: S.cohen_kappa_table([[0, 0], [0, 0]]))
run("fleiss identical", lambda: S.fleiss_kappa([["a", "a", "a"]] * 4, n_bootstrap=20))
run("fleiss n=1", lambda: S.fleiss_kappa([["a", "b", "a"]], n_bootstrap=20))
run("icc identical", lambda: S.icc([[1, 1], [2, 2], [3, 3]]))
run("icc constant", lambda: S.icc([[1, 1], [1, 1], [1, 1]]))
run("icc n=1", lambda: S.icc([[1, 2]]))
run("icc n=2", lambda: S.icc([[1, 2], [3, 5]]))
run("bland n=1", lambda: S.bland_altman([1], [2]))
run("bland identical", lambda: S.bland_altman([1, 2, 3], [1, 2, 3]))
run("bland n=2 exact", lambda: S.bland_altman([1, 2], [1.5, 2.5], limits="exact"))
run("spearman constant", lambda: S.spearman([1, 1, 1, 1], [1, 2, 3, 4]))
run("spearman n=2", lambda: S.spearman([1, 2], [1, 2]))
run("spearman n=3 perfect", lambda: S.spearman([1, 2, 3], [1, 2, 3]))
run(
    "spearman boot constant",
    lambda: S.spearman([1, 1, 1, 2], [1, 2, 3, 4], method="bootstrap", n_bootstrap=50),
)
# proportions / paired
run("prop 0/0", lambda: S.proportion(0, 0))
run("prop 0/n", lambda: S.proportion(0, 10))
run("prop n/n", lambda: S.proportion(10, 10))
run("mcnemar no discordant", lambda: S.mcnemar_test([[2, 0], [0, 2]]))
run("wilcoxon all zero diffs", lambda: S.wilcoxon_signed_rank([1, 2, 3], [1, 2, 3]))
run("wilcoxon n=1", lambda: S.wilcoxon_signed_rank([1], [2]))
run("paired diff n=1", lambda: S.paired_difference([1], [2]))
run("paired acc all pos", lambda: S.compare_paired_accuracy([1, 1, 1], [1, 0, 1], [1, 1, 0]))
run("clustered prop one cluster", lambda: S.clustered_proportion([1, 0, 1], [1, 1, 1]))
run("clustered acc all pos", lambda: S.clustered_accuracy([1, 1, 1, 1], [1, 0, 1, 1], [1, 1, 2, 2]))
run(
    "clustered mcnemar no discordant",
    lambda: S.clustered_mcnemar([1, 0, 1, 0], [1, 0, 1, 0], [1, 1, 2, 2]),
)
# sample size
for label, se, sp, prev in [
    ("buderer prev 0", 0.9, 0.8, 0.0),
    ("buderer prev 1", 0.9, 0.8, 1.0),
    ("buderer se 1", 1.0, 0.8, 0.2),
    ("buderer se 0", 0.0, 0.8, 0.2),
]:
    run(
        label,
        lambda se=se, sp=sp, prev=prev: S.buderer_sample_size(
            sensitivity=se, specificity=sp, prevalence=prev, precision=0.05
        ),
    )
run("auc_power auc 0.5", lambda: S.auc_power(auc=0.5, n_cases=20, n_controls=20))
run("auc_power auc 1", lambda: S.auc_power(auc=1.0, n_cases=20, n_controls=20))
run("auc_power auc .5 solve n", lambda: S.auc_power(auc=0.5, power=0.8, kappa=1.0))
run("auc_power n=1", lambda: S.auc_power(auc=0.8, n_cases=1, n_controls=1))
run("auc_power solve power tiny", lambda: S.auc_power(auc=0.8, n_cases=1, n_controls=1, power=None))
run(
    "aucdiff delta 0",
    lambda: S.auc_difference_power(
        a1=1, b1=1, a2=1, b2=1, r_negative=0.5, r_positive=0.5, delta=0.0
    ),
)
