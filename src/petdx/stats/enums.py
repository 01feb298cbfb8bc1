"""Closed vocabularies of the statistics: interval methods, ROC direction, rules and forms.

Public functions accept either the enum member or its string value and convert once at the
boundary (``BinomialCi("wilson")``).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "BinomialCi",
    "ClusteredCi",
    "ClusteredMcNemar",
    "CutoffRule",
    "IccForm",
    "KappaWeights",
    "KmConfType",
    "MissingData",
    "PairedDifferenceCi",
    "RocDirection",
    "SpearmanCi",
]


class BinomialCi(StrEnum):
    """Confidence interval of a binomial proportion (the point estimate is always x/n)."""

    EXACT = "exact"  # Clopper-Pearson, as epiR epi.tests "exact" and binom.confint "exact"
    WILSON = "wilson"  # Wilson score interval without continuity correction
    JEFFREYS = "jeffreys"  # equal-tailed Beta(x+1/2, n-x+1/2) interval, BCD 2001 boundaries
    AGRESTI = "agresti"  # Agresti-Coull ("add z^2/2 successes and failures")

    @property
    def label(self) -> str:
        return {
            BinomialCi.EXACT: "Clopper-Pearson exact",
            BinomialCi.WILSON: "Wilson score",
            BinomialCi.JEFFREYS: "Jeffreys",
            BinomialCi.AGRESTI: "Agresti-Coull",
        }[self]


class RocDirection(StrEnum):
    """Which side of a threshold is called positive. Always set by the caller, never guessed."""

    HIGHER = "higher"  # score >= threshold is positive
    LOWER = "lower"  # score <= threshold is positive


class CutoffRule(StrEnum):
    """Rule choosing the 'optimal' cut-off on an empirical ROC curve."""

    YOUDEN = "youden"  # maximum of sensitivity + specificity - 1
    CLOSEST_TOPLEFT = "closest-topleft"  # minimum of (1 - Se)^2 + (1 - Sp)^2


class ClusteredCi(StrEnum):
    """Confidence interval of a proportion over units clustered in patients."""

    RAO_SCOTT = "rao-scott"  # Wilson interval on the design-effect-adjusted counts
    RATIO = "ratio"  # Wald interval with the ratio-estimator variance (Obuchowski 1998)
    GEE = "gee"  # logit GEE, independence working correlation, robust variance
    BOOTSTRAP = "bootstrap"  # cluster (patient) bootstrap percentile interval


class ClusteredMcNemar(StrEnum):
    """McNemar-type test of two paired proportions over clustered units."""

    OBUCHOWSKI = "obuchowski"  # Obuchowski 1998 (ratio-estimator variance of the difference)
    DURKALSKI = "durkalski"  # Durkalski et al. 2003 (cluster-level differences, equal weights)


class PairedDifferenceCi(StrEnum):
    """Confidence interval of a difference of two paired proportions."""

    NEWCOMBE = "newcombe"  # Newcombe 1998 method 10 (hybrid Wilson score, phi-corrected)
    WALD = "wald"  # Wald interval of the paired difference


class KappaWeights(StrEnum):
    """Disagreement weights of Cohen's kappa."""

    NONE = "none"  # unweighted kappa
    LINEAR = "linear"  # |i - j| (Cicchetti-Allison agreement weights)
    QUADRATIC = "quadratic"  # (i - j)^2 (Fleiss-Cohen agreement weights)


class IccForm(StrEnum):
    """Intraclass correlation forms of Shrout & Fleiss (1979), named as psych::ICC names them."""

    ICC1 = "ICC1"  # one-way random, single rater: ICC(1,1)
    ICC2 = "ICC2"  # two-way random, absolute agreement, single rater: ICC(2,1)
    ICC3 = "ICC3"  # two-way mixed, consistency, single rater: ICC(3,1)
    ICC1K = "ICC1k"  # ICC(1,k): mean of k raters
    ICC2K = "ICC2k"  # ICC(2,k)
    ICC3K = "ICC3k"  # ICC(3,k)


class SpearmanCi(StrEnum):
    """Confidence interval of Spearman's rank correlation."""

    BONETT_WRIGHT = "bonett-wright"  # Fisher z, variance (1 + r^2/2)/(n - 3)
    FIELLER = "fieller"  # Fisher z, variance 1.06/(n - 3)
    BOOTSTRAP = "bootstrap"  # percentile bootstrap over pairs


class KmConfType(StrEnum):
    """Transform of the Kaplan-Meier pointwise confidence interval (R survfit ``conf.type``)."""

    LOG = "log"  # R survfit's default
    LOG_LOG = "log-log"  # lifelines' default ("exponential Greenwood")
    PLAIN = "plain"


class MissingData(StrEnum):
    """What an analysis does with a row missing a value in a column it uses."""

    ERROR = "error"  # refuse the table, naming the rows and the column
    EXCLUDE = "exclude"  # leave the row out and report it (listwise deletion, R's na.omit)
