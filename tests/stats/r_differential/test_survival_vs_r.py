"""petdx's survival statistics against R's survival package, run now on this machine's R
(survival.R, one R process) on seeded random datasets (ties, heavy censoring, n = 3, ...).

Compared: Kaplan-Meier median and its log-transformed CI (R ``survfit``'s default, petdx's
default), log-rank chi-square and p (``survdiff``, stratified where the dataset is), Cox
(Efron) coefficients, standard errors, log-likelihood and concordance, and the
proportional-hazards test per covariate. Deliberate difference, the PH test: petdx (lifelines)
computes the Grambsch-Therneau approximate test against 1 - KM(t) (right-continuous), R
survival 3.x ``cox.zph`` an exact score test; survival.R transcribes the approximate test with
petdx's transform on R's own Schoenfeld residuals and variance, and that is compared.
Tolerances: medians and limits relative 1e-12 (they are observed times); log-rank relative
1e-9; Cox coefficients and SEs relative 1e-6 (Newton-Raphson of lifelines vs R, both
converged), log-likelihood and concordance relative 1e-9; PH test relative 1e-6.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from petdx.stats import cox_regression, kaplan_meier, logrank_test
from tests.stats.r_differential import datasets as gen
from tests.stats.r_differential.harness import petdx_run, report, run_r, tally

#: statistic -> (relative, absolute) tolerance
TOLERANCES = {
    "survfit median, log CI": (1e-12, 0.0),
    "survdiff": (1e-9, 1e-12),
    'coxph(ties = "efron")': (1e-6, 1e-9),
    "coxph loglik, concordance": (1e-9, 1e-12),
    "cox.zph (petdx's definition)": (1e-6, 1e-9),
}


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _write(folder: Path, sets: list[dict[str, Any]]) -> None:
    columns = ("dataset", "kind", "time", "status", "group", "stratum", "x1", "x2")

    def rows() -> Any:
        for d in sets:
            for j in range(d["time"].size):
                yield [
                    d["dataset"],
                    d["kind"],
                    float(d["time"][j]),
                    int(d["status"][j]),
                    int(d["group"][j]),
                    int(d["stratum"][j]),
                    float(d["x1"][j]),
                    float(d["x2"][j]),
                ]

    gen.write_long(folder / "survival.csv", columns, rows())


def test_survival_against_r(
    r_exe: tuple[str, str], tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    sets = gen.survival_sets()
    _write(tmp_path, sets)
    r = run_r(*r_exe, "survival.R", tmp_path)

    median, logrank, cox, fit_stats, zph = (
        tally(name, rtol=rtol, atol=atol) for name, (rtol, atol) in TOLERANCES.items()
    )
    for d in sets:
        key, theirs = d["dataset"], r[d["dataset"]]
        t, e = d["time"], d["status"].astype(bool)
        km = petdx_run(lambda t=t, e=e: kaplan_meier(t, e))
        if not median.refusal(key, km, theirs.get("km.error")):
            m = km.value.median
            pairs = {"median": (m.estimate, theirs["median"])}
            pairs |= {"lower": (m.ci_low, theirs["median.lower"])}
            pairs |= {"upper": (m.ci_high, theirs["median.upper.first"])}
            reason = None
            if not _same(theirs["median.upper"], theirs["median.upper.first"]):
                reason = (
                    "upper band rises again after reaching 0.5: R's findq (approx() on the "
                    "band's values) takes a later time; petdx and R's findq on the monotone "
                    "band take the first crossing"
                )
            # a limit that is never reached is NaN in petdx and NA in R; petdx warns when
            # the median itself is not reached, and documents the limits (docs/stats.md)
            median.compare(key, pairs, warned=True, reason=reason)
        strata = d["stratum"] if d["kind"] == "stratified" else None
        lr = petdx_run(lambda d=d, t=t, e=e, s=strata: logrank_test(t, e, d["group"], strata=s))
        undefined = lr.value is not None and math.isnan(lr.value.p_value)
        if not logrank.refusal(key, lr, theirs.get("logrank.error"), undefined=undefined):
            test = lr.value
            pairs = {"chisq": (test.statistic, theirs["logrank.chisq"])}
            reason = None
            if theirs["logrank.df"] < 1:
                # fewer than two groups with an expected event: R's df is 0 or -1 and its
                # p-value 1 or NaN; petdx keeps the design's df, p NaN, warned
                reason = "nothing to compare (no events, or one group at risk): p undefined"
                pairs["p"] = (test.p_value, math.nan)
            else:
                pairs |= {"df": (test.df, theirs["logrank.df"])}
                pairs |= {"p": (test.p_value, theirs["logrank.p"])}
            logrank.compare(key, pairs, warned=bool(test.warnings), reason=reason)
        fit = petdx_run(lambda d=d, t=t, e=e: cox_regression(t, e, {"x1": d["x1"], "x2": d["x2"]}))
        undefined = fit.value is not None and any(math.isnan(x.coef) for x in fit.value.terms)
        error = theirs.get("cox.error")
        if cox.refusal(key, fit, error, undefined=undefined):
            fit_stats.refusal(key, fit, error, undefined=undefined)
            zph.refusal(key, fit, error, undefined=undefined)
            continue
        res = fit.value
        if not e.any() and res.warnings:
            # no event: R coxph returns coefficients 0 with variance 0 (nothing estimated);
            # petdx NaN with the reason warned
            why = "no events: R coxph coef 0, SE 0; petdx NaN with a warning"
            for tl in (cox, fit_stats, zph):
                tl.compare(key, {}, warned=True, reason=why)
            continue
        if theirs["cox.warned"] == 1.0 and res.warnings:
            # both warn (an infinite coefficient: the likelihood keeps rising along a
            # direction); the iterates stop at different points of a flat likelihood
            why = "R coxph and petdx both warn of non-convergence (infinite coefficient)"
            for tl in (cox, fit_stats, zph):
                tl.compare(key, {}, warned=True, reason=why)
            continue
        pairs = {}
        for k, term in enumerate(res.terms, start=1):
            pairs[f"coef {term.term}"] = (term.coef, theirs[f"cox.coef.{k}"])
            pairs[f"se {term.term}"] = (term.se, theirs[f"cox.se.{k}"])
        warned = bool(res.warnings)
        cox.compare(key, pairs, warned=warned)
        pairs = {"loglik": (res.log_likelihood, theirs["cox.loglik"])}
        pairs["concordance"] = (res.concordance, theirs["cox.concordance"])
        fit_stats.compare(key, pairs, warned=warned)
        pairs = {
            f"chi2 {term.term}": (term.ph_test_chi2, theirs.get(f"zph.{k}", np.nan))
            for k, term in enumerate(res.terms, start=1)
        }
        zph.compare(key, pairs, warned=warned)
    report(record_property, "survival", [median, logrank, cox, fit_stats, zph])
