"""Flat JSON records of the statistics' results: what ``petdx stats ... --json`` prints.

One function per result kind; each returns a JSON-ready dict whose keys are the schemas of
docs/stats.md (``petdx stats``), so the command line, the web app and a notebook print the same
record of the same result. The full result objects keep their ``to_dict()``; these records are
the short form a reader of one command's output wants.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from petdx.jsonsafe import json_ready
from petdx.stats.accuracy import AccuracyResult
from petdx.stats.agreement import BlandAltmanResult, IccEstimate, KappaResult
from petdx.stats.delong import AucComparison
from petdx.stats.results import Estimate, HypothesisTest
from petdx.stats.survival import CoxResult, KaplanMeierResult

__all__ = [
    "accuracy_summary",
    "auc_comparison_summary",
    "bland_altman_summary",
    "fleiss_summary",
    "icc_summary",
    "kappa_summary",
    "spearman_summary",
    "survival_summary",
]


def accuracy_summary(result: AccuracyResult) -> dict[str, Any]:
    """Every measure of :func:`~petdx.stats.diagnostic_accuracy` by name, as ``to_dict()``."""
    return json_ready({name: e.to_dict() for name, e in result.measures().items()})


def auc_comparison_summary(comparison: AucComparison | None) -> dict[str, Any] | None:
    """The comparison of two AUCs (:func:`~petdx.stats.compare_aucs`); None stays None."""
    if comparison is None:
        return None
    c = comparison
    return json_ready(
        {
            "method": c.method,
            "scores": [c.label_1, c.label_2],
            "auc_1": c.auc_1,
            "auc_2": c.auc_2,
            "difference": c.difference,
            "ci_low": c.ci_low,
            "ci_high": c.ci_high,
            "z": c.statistic,
            "statistic_name": c.statistic_name,
            "df": c.df,
            "p": c.p_value,
            "n_clusters": c.n_clusters,
            "warnings": list(c.warnings),
        }
    )


def survival_summary(
    km: Sequence[KaplanMeierResult],
    logrank: HypothesisTest | None = None,
    cox: CoxResult | None = None,
) -> dict[str, Any]:
    """Kaplan-Meier medians per group, the log-rank test and the Cox model, in one record."""
    record: dict[str, Any] = {
        "groups": [
            {
                "group": k.label,
                "n": k.n,
                "events": k.events,
                "median": k.median.estimate,
                "median_ci_low": k.median.ci_low,
                "median_ci_high": k.median.ci_high,
                "conf_type": k.conf_type.value,
                "warnings": list(k.median.warnings),
                "at_risk": [
                    {"time": tt, "n_at_risk": n, "survival": s}
                    for tt, n, s in zip(k.at_risk_times, k.at_risk, k.survival_at, strict=True)
                ],
            }
            for k in km
        ],
        "logrank": None,
        "cox": None,
        "cox_model": None,
    }
    if logrank is not None:
        record["logrank"] = {
            "chi2": logrank.statistic,
            "df": logrank.df,
            "p": logrank.p_value,
            "method": logrank.method,
            "warnings": list(logrank.warnings),
        }
    if cox is not None:
        record["cox"] = [
            {
                "term": term.term,
                "coef": term.coef,
                "se": term.se,
                "hr": term.hazard_ratio.estimate,
                "hr_ci_low": term.hazard_ratio.ci_low,
                "hr_ci_high": term.hazard_ratio.ci_high,
                "z": term.z,
                "p": term.p_value,
                "ph_test_chi2": term.ph_test_chi2,
                "ph_test_p": term.ph_test_p,
            }
            for term in cox.terms
        ]
        record["cox_model"] = {
            "n": cox.n,
            "events": cox.events,
            "concordance": cox.concordance,
            "ties": cox.ties,
            "ph_test_method": cox.ph_test_method,
            "warnings": list(cox.warnings),
        }
    return json_ready(record)


def _interval(e: Estimate) -> dict[str, Any]:
    return {"estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high}


def _warnings(*estimates: Estimate | None) -> list[str]:
    """The reasons an estimate is undefined or doubtful, each once, in order."""
    seen: dict[str, None] = {}
    for e in estimates:
        for w in e.warnings if e is not None else ():
            seen.setdefault(w, None)
    return list(seen)


def kappa_summary(result: KappaResult) -> dict[str, Any]:
    """Cohen's kappa (:func:`~petdx.stats.cohen_kappa`) with its interval and test."""
    e = result.kappa
    return json_ready(
        {
            "measure": "cohen_kappa",
            "weights": result.weights.value,
            **_interval(e),
            "se": e.se,
            "z": result.z,
            "p": result.p_value,
            "n": e.n,
            "method": e.method,
            "categories": list(result.categories),
            "warnings": _warnings(e),
        }
    )


def fleiss_summary(estimate: Estimate) -> dict[str, Any]:
    """Fleiss' kappa (:func:`~petdx.stats.fleiss_kappa`) with its interval."""
    return json_ready(
        {
            "measure": "fleiss_kappa",
            **_interval(estimate),
            "n": estimate.n,
            "method": estimate.method,
            "warnings": _warnings(estimate),
        }
    )


def icc_summary(forms: Sequence[IccEstimate], *, n: int, raters: int) -> dict[str, Any]:
    """Every Shrout-Fleiss form (:func:`~petdx.stats.icc`) of ``n`` subjects by ``raters``."""
    return json_ready(
        {
            "measure": "icc",
            "n": n,
            "raters": raters,
            "forms": [
                {
                    "form": f.form.value,
                    **_interval(f.estimate),
                    "f": f.f,
                    "df1": f.df1,
                    "df2": f.df2,
                    "p": f.p_value,
                    "warnings": _warnings(f.estimate),
                }
                for f in forms
            ],
        }
    )


def bland_altman_summary(result: BlandAltmanResult, *, difference: str) -> dict[str, Any]:
    """Bias and limits of agreement; ``difference`` names what was subtracted (``"a - b"``)."""
    limits = {
        name: {**_interval(e), "method": e.method}
        for name, e in (
            ("bias", result.bias),
            ("lower_limit", result.lower_limit),
            ("upper_limit", result.upper_limit),
        )
    }
    return json_ready(
        {
            "measure": "bland_altman",
            "difference": difference,
            **limits,
            "sd_difference": result.sd_difference,
            "n": result.n,
            "warnings": _warnings(result.bias, result.lower_limit, result.upper_limit),
        }
    )


def spearman_summary(result: HypothesisTest) -> dict[str, Any]:
    """Spearman's rho (:func:`~petdx.stats.spearman`) with its interval and p-value."""
    effect = result.effect or Estimate(
        "spearman_rho", result.statistic, math.nan, math.nan, "", result.n
    )
    return json_ready(
        {
            "measure": "spearman",
            **_interval(effect),
            "estimate": result.statistic,
            "p": result.p_value,
            "n": result.n,
            "method": effect.method or None,
            "warnings": list(dict.fromkeys([*result.warnings, *_warnings(effect)])),
        }
    )
