"""Sample size and power: Buderer's formula for Se/Sp, and power of AUC tests (pROC-compatible).

* :func:`buderer_sample_size`: patients to enrol so that sensitivity and specificity are
  estimated within ``+/- precision`` (normal approximation) at an expected prevalence:
  ``n_diseased = z^2 Se (1 - Se) / d^2``, total ``n_diseased / prevalence``; likewise for
  specificity with ``1 - prevalence``; the study needs the larger total (Buderer 1996).
* :func:`auc_power`: one AUC against 0.5, Obuchowski's variance function for a binormal curve
  with equal variances (Obuchowski, Lieber & Wians 2004, formula 3, with pROC's constant
  1.414), solving for whichever of power, sample size, significance level or AUC is missing,
  exactly as pROC ``power.roc.test(auc=, ncases=, ncontrols=, ...)``.
* :func:`auc_difference_power`: two correlated AUCs (full or partial) from binormal parameters,
  variances and covariance of Obuchowski & McClish (1997), as pROC
  ``power.roc.test(list(A1=, B1=, A2=, B2=, rn=, ra=, delta=))``.

References
----------
Buderer NM. Statistical methodology: I. Incorporating the prevalence of disease into the
sample size calculation for sensitivity and specificity. Acad Emerg Med 1996;3:895-900.
doi:10.1111/j.1553-2712.1996.tb03538.x
Obuchowski NA, McClish DK. Sample size determination for diagnostic accuracy studies
involving binormal ROC curve indices. Stat Med 1997;16:1529-1542.
doi:10.1002/(SICI)1097-0258(19970715)16:13<1529::AID-SIM565>3.0.CO;2-H
Obuchowski NA, Lieber ML, Wians FH. ROC curves in clinical chemistry: uses, misuses, and
possible solutions. Clin Chem 2004;50:1118-1125. doi:10.1373/clinchem.2004.031823
Robin X, et al. pROC. BMC Bioinformatics 2011;12:77. doi:10.1186/1471-2105-12-77
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scipy import optimize, stats

from petdx.errors import InputValidationError
from petdx.stats.results import dataclass_dict

__all__ = [
    "AucPowerResult",
    "BudererResult",
    "auc_difference_power",
    "auc_power",
    "buderer_sample_size",
]

_NULL_VARIANCE = 0.0792  # Obuchowski's V(0.5) per (1 + 1/kappa), as pROC
#: Above this a sample size is not a study one can plan (and near it floats stop being counts).
_MAX_PATIENTS = 1e9


def _proportion(value: float, what: str, *, open_interval: bool = True) -> float:
    v = float(value)
    ok = 0.0 < v < 1.0 if open_interval else 0.0 <= v <= 1.0
    if not ok:
        raise InputValidationError(
            f"{what}: expected a proportion strictly between 0 and 1; got {value}."
        )
    return v


@dataclass(frozen=True)
class BudererResult:
    """Patients needed to estimate Se and Sp within ``precision`` (Buderer 1996)."""

    sensitivity: float
    specificity: float
    prevalence: float
    precision: float
    confidence_level: float
    n_diseased: int
    n_non_diseased: int
    n_for_sensitivity: int
    n_for_specificity: int
    n_total: int
    method: str = "Buderer 1996 (normal approximation)"

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def __str__(self) -> str:
        return (
            f"Enrol {self.n_total} patients (Se: {self.n_for_sensitivity}, Sp: "
            f"{self.n_for_specificity}) to estimate Se {self.sensitivity:g} and Sp "
            f"{self.specificity:g} within +/-{self.precision:g} at prevalence "
            f"{self.prevalence:g} ({100 * self.confidence_level:g}% confidence; {self.method})"
        )


def buderer_sample_size(
    *,
    sensitivity: float,
    specificity: float,
    prevalence: float,
    precision: float,
    confidence_level: float = 0.95,
) -> BudererResult:
    """Sample size for estimating sensitivity and specificity (Buderer 1996).

    Parameters
    ----------
    sensitivity, specificity : float
        Expected values.
    prevalence : float
        Expected proportion of diseased patients among those enrolled.
    precision : float
        Half-width of the confidence interval wanted (0.05 for +/- 5 points).
    confidence_level : float

    Returns
    -------
    BudererResult
        Counts rounded up: ``n_diseased = ceil(z^2 Se(1-Se)/d^2)``, ``n_for_sensitivity =
        ceil(z^2 Se(1-Se)/d^2 / prevalence)`` and likewise for specificity; ``n_total`` is
        the larger of the two.
    """
    se = _proportion(sensitivity, "sensitivity")
    sp = _proportion(specificity, "specificity")
    prev = _proportion(prevalence, "prevalence")
    d = _proportion(precision, "precision")
    level = _proportion(confidence_level, "confidence_level")
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    n_dis, n_non, n_se_exact, n_sp_exact = _buderer_counts(z, se, sp, prev, d)
    n_se = math.ceil(n_se_exact - 1e-9)
    n_sp = math.ceil(n_sp_exact - 1e-9)
    return BudererResult(
        se,
        sp,
        prev,
        d,
        level,
        math.ceil(n_dis - 1e-9),
        math.ceil(n_non - 1e-9),
        n_se,
        n_sp,
        max(n_se, n_sp),
    )


def _buderer_counts(
    z: float, se: float, sp: float, prev: float, d: float
) -> tuple[float, float, float, float]:
    """Buderer's four counts, refused when not finite or above :data:`_MAX_PATIENTS` (a
    prevalence next to 0 or 1 divides by almost 0; a tiny precision squares to 0)."""
    counts: tuple[float, ...] = ()
    if d * d > 0 and prev > 0 and 1 - prev > 0:
        n_dis = z * z * se * (1 - se) / (d * d)
        n_non = z * z * sp * (1 - sp) / (d * d)
        counts = (n_dis, n_non, n_dis / prev, n_non / (1 - prev))
    if not counts or not all(math.isfinite(n) and n <= _MAX_PATIENTS for n in counts):
        raise InputValidationError(
            f"prevalence {prev:g} and precision {d:g}: the sample size is more than "
            f"{_MAX_PATIENTS:g} patients (or not a finite number). The valid range: a "
            "prevalence inside (0, 1) and far enough from 0 and 1, and a precision (the CI "
            "half-width, such as 0.05) large enough that z^2 Se(1-Se) / precision^2 / "
            f"prevalence and z^2 Sp(1-Sp) / precision^2 / (1 - prevalence) stay at most "
            f"{_MAX_PATIENTS:g}."
        )
    return counts[0], counts[1], counts[2], counts[3]


@dataclass(frozen=True)
class AucPowerResult:
    """Power / sample size of an AUC test; the quantity solved for is named in ``solved``."""

    solved: str
    n_cases: float
    n_controls: float
    sig_level: float
    power: float
    alternative: str
    method: str
    auc: float = math.nan
    delta: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def __str__(self) -> str:
        what = f"AUC {self.auc:.4g}" if not math.isnan(self.auc) else f"delta {self.delta:g}"
        return (
            f"{what}: cases {self.n_cases:.2f}, controls {self.n_controls:.2f}, "
            f"significance {self.sig_level:.4g} ({self.alternative}), power {self.power:.4g} "
            f"[solved for {self.solved}; {self.method}]"
        )


def _obuchowski_variance(theta: float, kappa: float) -> float:
    """Obuchowski's V(theta) for a binormal curve with equal variances (pROC's 1.414)."""
    a = float(stats.norm.ppf(theta)) * 1.414
    return 0.0099 * math.exp(-a * a / 2.0) * ((5 * a * a + 8) + (a * a + 8) / kappa)


def _quadratic_root(a: float, b: float, c: float) -> float:
    return (-b - math.sqrt(b * b - 4 * a * c)) / (2 * a)


def _check_alternative(alternative: str) -> bool:
    if alternative not in ("two-sided", "one-sided"):
        raise InputValidationError(
            f"alternative: expected two-sided or one-sided; got {alternative!r}."
        )
    return alternative == "two-sided"


def _counts(
    n_cases: float | None, n_controls: float | None, kappa: float
) -> tuple[float | None, float | None]:
    if kappa <= 0:
        raise InputValidationError(f"kappa: expected controls per case > 0; got {kappa}.")
    if (n_cases is not None and n_cases <= 0) or (n_controls is not None and n_controls <= 0):
        raise InputValidationError("n_cases and n_controls must be positive.")
    if n_controls is None and n_cases is not None:
        n_controls = kappa * n_cases
    elif n_cases is None and n_controls is not None:
        n_cases = n_controls / kappa
    return n_cases, n_controls


def auc_power(
    *,
    auc: float | None = None,
    n_cases: float | None = None,
    n_controls: float | None = None,
    power: float | None = None,
    sig_level: float | None = 0.05,
    kappa: float = 1.0,
    alternative: str = "two-sided",
) -> AucPowerResult:
    """Power, sample size, significance level or detectable AUC of a test of AUC = 0.5.

    Leave exactly one of ``auc``, the sample size (``n_cases`` and ``n_controls``, or one
    with ``kappa`` controls per case), ``power`` and ``sig_level`` as None; it is solved for.
    Same formulas and conventions as pROC ``power.roc.test`` for a single AUC.
    """
    two_sided = _check_alternative(alternative)
    n_cases, n_controls = _counts(n_cases, n_controls, kappa)
    missing = [
        name for name, v in (("auc", auc), ("power", power), ("sig_level", sig_level)) if v is None
    ]
    if n_cases is None:
        missing.append("sample size")
    if len(missing) != 1:
        raise InputValidationError(
            "auc_power: leave exactly one of auc, sample size (n_cases/n_controls), power and "
            f"sig_level unset; unset now: {missing or 'none'}."
        )
    if auc is not None:
        auc = _proportion(auc, "auc")
    if power is not None:
        power = _proportion(power, "power")
    if sig_level is not None:
        sig_level = _proportion(sig_level, "sig_level")
    alpha = None if sig_level is None else (sig_level / 2 if two_sided else sig_level)
    method = "Obuchowski 2004 variance, as pROC power.roc.test"
    solved = missing[0]
    if solved == "sample size":
        assert auc is not None
        assert power is not None
        assert alpha is not None
        if auc == 0.5:
            raise InputValidationError(
                "auc 0.5: the AUC of the null hypothesis cannot be detected at any sample "
                "size; expected an AUC between 0 and 1 other than 0.5."
            )
        v = _obuchowski_variance(auc, kappa)
        z_a, z_b = stats.norm.ppf(alpha), stats.norm.ppf(1 - power)
        n_cases = float(
            (z_a * math.sqrt(_NULL_VARIANCE * (1 + 1 / kappa)) + z_b * math.sqrt(v)) ** 2
            / (auc - 0.5) ** 2
        )
        n_controls = kappa * n_cases
    else:
        assert n_cases is not None
        assert n_controls is not None
        kappa = n_controls / n_cases
        null_var = _NULL_VARIANCE * (1 + 1 / kappa)
        if solved == "power":
            assert auc is not None
            assert alpha is not None
            v = _obuchowski_variance(auc, kappa)
            z_a = float(stats.norm.ppf(alpha))
            zb = _quadratic_root(
                v,
                2 * z_a * math.sqrt(null_var) * math.sqrt(v),
                z_a**2 * null_var - n_cases * (auc - 0.5) ** 2,
            )
            power = float(1 - stats.norm.cdf(zb))
        elif solved == "sig_level":
            assert auc is not None
            assert power is not None
            v = _obuchowski_variance(auc, kappa)
            zbr = float(stats.norm.ppf(1 - power)) * math.sqrt(v)
            za = _quadratic_root(
                null_var, 2 * zbr * math.sqrt(null_var), zbr**2 - n_cases * (auc - 0.5) ** 2
            )
            sig_level = float(stats.norm.cdf(za)) * (2 if two_sided else 1)
        else:
            assert power is not None
            assert alpha is not None
            z_a, z_b = float(stats.norm.ppf(alpha)), float(stats.norm.ppf(1 - power))
            ncases = n_cases

            def gap(x: float) -> float:
                v = _obuchowski_variance(x, kappa)
                root = z_a * math.sqrt(null_var) + z_b * math.sqrt(v)
                return float(root**2 / (x - 0.5) ** 2 - ncases)

            if gap(1 - 1e-12) > 0:  # even an AUC of almost 1 needs more cases
                raise InputValidationError(
                    f"n_cases {ncases:g}: too few cases to reach power {power:g} at any AUC "
                    f"below 1; at least {gap(1 - 1e-12) + ncases:.4g} cases (with "
                    f"{kappa:g} controls per case) are needed."
                )
            auc = float(optimize.brentq(gap, 0.5 + 1e-9, 1 - 1e-12, xtol=1e-14))
    assert n_cases is not None
    assert n_controls is not None
    assert power is not None
    assert sig_level is not None
    assert auc is not None
    return AucPowerResult(
        solved, n_cases, n_controls, sig_level, power, alternative, method, auc=auc
    )


def _binormal_fg(a: float, b: float, fpr: tuple[float, float] | None) -> tuple[float, float]:
    """Obuchowski & McClish (1997) Table 1 derivatives f, g of the (partial) AUC, with the
    sign convention of pROC for the partial g."""
    e1 = math.exp(-a * a / (2 * (1 + b * b)))
    e2 = 1 + b * b
    if fpr is None:
        f = e1 * (2 * math.pi * e2) ** -0.5
        g = -e1 * a * b * (2 * math.pi * e2**3) ** -0.5
        return f, g
    c = [(float(stats.norm.ppf(p)) + a * b / e2) * math.sqrt(e2) for p in fpr]
    e3 = float(stats.norm.cdf(c[0]) - stats.norm.cdf(c[1]))
    e4 = math.exp(-(c[0] ** 2) / 2) - math.exp(-(c[1] ** 2) / 2)
    f = e1 * (2 * math.pi * e2) ** -0.5 * e3
    g = e1 * (2 * math.pi * e2) ** -1 * (-e4) - a * b * e1 * (2 * math.pi * e2**3) ** -0.5 * e3
    return f, g


def auc_difference_power(
    *,
    a1: float,
    b1: float,
    a2: float,
    b2: float,
    r_negative: float,
    r_positive: float,
    delta: float,
    fpr_range: tuple[float, float] | None = None,
    n_cases: float | None = None,
    n_controls: float | None = None,
    power: float | None = None,
    sig_level: float | None = 0.05,
    kappa: float = 1.0,
    alternative: str = "two-sided",
) -> AucPowerResult:
    """Power or sample size to detect a difference ``delta`` between two correlated AUCs.

    Binormal parameters (A, B) of each test, the correlation of the two tests' results in
    non-diseased (``r_negative``) and diseased (``r_positive``) patients, and optionally an
    FPR range for partial AUCs (Obuchowski & McClish 1997; pROC ``power.roc.test(list)``).
    Leave exactly one of the sample size, ``power`` and ``sig_level`` unset.
    """
    two_sided = _check_alternative(alternative)
    n_cases, n_controls = _counts(n_cases, n_controls, kappa)
    if delta == 0:
        raise InputValidationError(
            "delta: expected the difference of the two AUCs to detect, not 0 (no sample "
            "size detects no difference)."
        )
    missing = [name for name, v in (("power", power), ("sig_level", sig_level)) if v is None]
    if n_cases is None:
        missing.append("sample size")
    if len(missing) != 1:
        raise InputValidationError(
            "auc_difference_power: leave exactly one of sample size, power and sig_level "
            f"unset; unset now: {missing or 'none'}."
        )
    if n_cases is not None and n_controls is not None:
        kappa = n_controls / n_cases
    fpr = tuple(sorted(fpr_range)) if fpr_range is not None else None
    f1, g1 = _binormal_fg(a1, b1, fpr)  # type: ignore[arg-type]
    f2, g2 = _binormal_fg(a2, b2, fpr)  # type: ignore[arg-type]
    var1 = f1**2 * (1 + b1**2 / kappa + a1**2 / 2) + g1**2 * b1**2 * (1 + kappa) / (2 * kappa)
    var2 = f2**2 * (1 + b2**2 / kappa + a2**2 / 2) + g2**2 * b2**2 * (1 + kappa) / (2 * kappa)
    rp, rn = r_positive, r_negative
    cov = (
        f1 * f2 * (rp + rn * b1 * b2 / kappa + rp**2 * a1 * a2 / 2)
        + g1 * g2 * (b1 * b2 * (rn**2 + kappa * rp**2) / (2 * kappa))
        + f1 * g2 * (rp**2 * a1 * b2 / 2)
        + f2 * g1 * (rp**2 * a2 * b1 / 2)
    )
    v0, va = 2 * var1 - 2 * cov, var1 + var2 - 2 * cov
    method = "Obuchowski & McClish 1997 binormal (co)variances, as pROC power.roc.test"
    solved = missing[0]
    if solved == "sample size":
        assert power is not None
        assert sig_level is not None
        alpha = sig_level / 2 if two_sided else sig_level
        z_a, z_b = float(stats.norm.ppf(alpha)), float(stats.norm.ppf(1 - power))
        n_cases = (z_a * math.sqrt(v0) + z_b * math.sqrt(va)) ** 2 / delta**2
        n_controls = kappa * n_cases
    elif solved == "power":
        assert sig_level is not None
        assert n_cases is not None
        alpha = sig_level / 2 if two_sided else sig_level
        z_a = float(stats.norm.ppf(alpha))
        zb = _quadratic_root(
            va, 2 * z_a * math.sqrt(va) * math.sqrt(v0), z_a**2 * v0 - n_cases * delta**2
        )
        power = float(1 - stats.norm.cdf(zb))
    else:
        assert power is not None
        assert n_cases is not None
        z_b = float(stats.norm.ppf(1 - power))
        za = _quadratic_root(
            v0, 2 * z_b * math.sqrt(v0) * math.sqrt(va), z_b**2 * va - n_cases * delta**2
        )
        sig_level = float(stats.norm.cdf(za)) * (2 if two_sided else 1)
    assert n_cases is not None
    assert n_controls is not None
    assert power is not None
    assert sig_level is not None
    return AucPowerResult(
        solved, n_cases, n_controls, sig_level, power, alternative, method, delta=delta
    )
