"""Confidence intervals of a binomial proportion x/n.

The point estimate is always the raw proportion x/n, whatever the interval method (the
Agresti-Coull and Wilson centres are never reported as the estimate).

* Clopper-Pearson "exact": quantiles of Beta(x, n-x+1) and Beta(x+1, n-x); 0 when x = 0 and
  1 when x = n. The default, as epiR ``epi.tests`` and ``binom.confint(method="exact")``.
* Wilson score interval (no continuity correction).
* Jeffreys: equal-tailed quantiles of Beta(x+1/2, n-x+1/2), with the lower limit set to 0 when
  x = 0 and the upper to 1 when x = n (Brown, Cai & DasGupta 2001, section 4.1.2).
* Agresti-Coull: Wald interval around (x + z^2/2)/(n + z^2) with n + z^2 trials, clipped to
  [0, 1].

An empty denominator (n = 0) gives NaN with an :class:`~petdx.errors.UndefinedStatisticWarning`.

References
----------
Clopper CJ, Pearson ES. The use of confidence or fiducial limits illustrated in the case of the
binomial. Biometrika 1934;26:404-413. doi:10.1093/biomet/26.4.404
Wilson EB. Probable inference, the law of succession, and statistical inference. J Am Stat
Assoc 1927;22:209-212. doi:10.1080/01621459.1927.10502953
Agresti A, Coull BA. Approximate is better than "exact" for interval estimation of binomial
proportions. Am Stat 1998;52:119-126. doi:10.1080/00031305.1998.10480550
Brown LD, Cai TT, DasGupta A. Interval estimation for a binomial proportion. Stat Sci
2001;16:101-133. doi:10.1214/ss/1009213286
"""

from __future__ import annotations

import math

from scipy import stats

from petdx.errors import InputValidationError
from petdx.stats import _validate
from petdx.stats.enums import BinomialCi
from petdx.stats.results import Estimate, warn_undefined

__all__ = ["binomial_interval", "proportion"]


def binomial_interval(
    successes: int,
    n: int,
    *,
    method: BinomialCi | str = BinomialCi.EXACT,
    confidence_level: float = 0.95,
) -> tuple[float, float]:
    """Two-sided confidence interval of the binomial proportion ``successes / n``.

    Parameters
    ----------
    successes, n : int
        Number of successes and of trials (0 <= successes <= n).
    method : {"exact", "wilson", "jeffreys", "agresti"}
        Interval method (see the module docstring).
    confidence_level : float
        Two-sided level, default 0.95.

    Returns
    -------
    (float, float)
        Lower and upper limit; (NaN, NaN) when n = 0.

    Raises
    ------
    InputValidationError
        Negative counts, successes > n, unknown method or a level outside (0, 1).
    """
    x = _validate.count(successes, "successes")
    n = _validate.count(n, "n")
    if x > n:
        raise InputValidationError(f"successes ({x}) cannot exceed the number of trials ({n}).")
    kind = _validate.as_enum(BinomialCi, method, "method")
    level = _validate.confidence(confidence_level)
    if n == 0:
        return math.nan, math.nan
    alpha = 1.0 - level
    z = float(stats.norm.ppf(1.0 - alpha / 2.0))
    p = x / n
    if kind is BinomialCi.EXACT:
        low = 0.0 if x == 0 else float(stats.beta.ppf(alpha / 2.0, x, n - x + 1))
        high = 1.0 if x == n else float(stats.beta.ppf(1.0 - alpha / 2.0, x + 1, n - x))
        return low, high
    if kind is BinomialCi.JEFFREYS:
        low = 0.0 if x == 0 else float(stats.beta.ppf(alpha / 2.0, x + 0.5, n - x + 0.5))
        high = 1.0 if x == n else float(stats.beta.ppf(1.0 - alpha / 2.0, x + 0.5, n - x + 0.5))
        return low, high
    if kind is BinomialCi.WILSON:
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return max(0.0, centre - half), min(1.0, centre + half)
    n_tilde = n + z * z
    p_tilde = (x + z * z / 2.0) / n_tilde
    half = z * math.sqrt(p_tilde * (1 - p_tilde) / n_tilde)
    return max(0.0, p_tilde - half), min(1.0, p_tilde + half)


def proportion(
    successes: int,
    n: int,
    *,
    name: str = "proportion",
    method: BinomialCi | str = BinomialCi.EXACT,
    confidence_level: float = 0.95,
    undefined_reason: str | None = None,
) -> Estimate:
    """The proportion ``successes / n`` with its confidence interval, as an :class:`Estimate`.

    ``n = 0`` gives NaN and an :class:`~petdx.errors.UndefinedStatisticWarning` whose message
    is ``undefined_reason`` (or a generic one).

    Parameters
    ----------
    successes, n : int
        Numerator and denominator.
    name : str
        Name of the estimate (``"sensitivity"``).
    method, confidence_level
        As :func:`binomial_interval`.
    undefined_reason : str, optional
        Message used when ``n = 0`` (e.g. "no diseased units: sensitivity is undefined").
    """
    kind = _validate.as_enum(BinomialCi, method, "method")
    low, high = binomial_interval(successes, n, method=kind, confidence_level=confidence_level)
    n = int(n)
    if n == 0:
        message = undefined_reason or f"{name}: the denominator is 0, so it is undefined"
        return Estimate(
            name,
            math.nan,
            math.nan,
            math.nan,
            kind.label,
            0,
            confidence_level,
            numerator=int(successes),
            warnings=(warn_undefined(message),),
        )
    return Estimate(
        name, successes / n, low, high, kind.label, n, confidence_level, numerator=int(successes)
    )
