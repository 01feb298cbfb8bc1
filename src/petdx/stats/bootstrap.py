"""Vectorised, seeded bootstrap for ROC statistics: stratified and cluster (patient) resampling.

* **Stratified** (pROC's default for ROC curves): diseased and non-diseased units are
  resampled separately, so every replicate keeps the observed numbers of each class.
* **Cluster**: whole clusters (patients, with all their lesions) are resampled with
  replacement; a replicate's class sizes vary, and a replicate without one of the classes
  gives NaN for statistics that need both (they are left out of the percentile interval and
  counted in the warnings).

Replicates are computed in blocks without a Python loop over units: each block of replicates
becomes two matrices of counts per tie group (diseased, non-diseased) from which the AUC, the
ROC points and the optimal cut-off of every replicate follow by cumulative sums. The score's
direction is fixed by the caller once and never re-detected inside a replicate.

Intervals are percentile intervals, quantiles of type 7 (numpy's default, R's ``quantile``
default, as pROC ``ci.auc(method="bootstrap")``).

References
----------
Efron B, Tibshirani RJ. An Introduction to the Bootstrap. Chapman & Hall, 1993.
doi:10.1201/9780429246593
Carpenter J, Bithell J. Bootstrap confidence intervals: when, which, what? Stat Med
2000;19:1141-1164. doi:10.1002/(SICI)1097-0258(20000515)19:9<1141::AID-SIM479>3.0.CO;2-F
Field CA, Welsh AH. Bootstrapping clustered data. J R Stat Soc B 2007;69:369-390.
doi:10.1111/j.1467-9868.2007.00593.x
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from petdx.errors import InputValidationError
from petdx.stats._ranking import TieGroups
from petdx.stats._validate import BoolArray, FloatArray, IntArray

__all__ = [
    "BootstrapDesign",
    "cluster_multiplicities",
    "percentile_interval",
    "resample_counts",
]

#: Replicates per block: bounds memory at about BLOCK * units * 8 bytes.
BLOCK = 250


def check_replicates(n_bootstrap: int) -> int:
    n = int(n_bootstrap)
    if n < 1 or n != n_bootstrap:
        raise InputValidationError(
            f"n_bootstrap: expected a positive whole number of replicates (e.g. 2000); got "
            f"{n_bootstrap}."
        )
    return n


def resample_counts(rng: np.random.Generator, n_items: int, n_rows: int) -> FloatArray:
    """How often each of ``n_items`` is drawn in each of ``n_rows`` resamples of size
    ``n_items`` with replacement: a (n_rows, n_items) float array."""
    if n_items == 0:
        return np.zeros((n_rows, 0))
    draws = rng.integers(0, n_items, size=(n_rows, n_items))
    offsets = (np.arange(n_rows) * n_items)[:, None]
    flat = np.bincount((draws + offsets).ravel(), minlength=n_rows * n_items)
    counts: FloatArray = flat.reshape(n_rows, n_items).astype(np.float64)
    return counts


def cluster_multiplicities(rng: np.random.Generator, n_clusters: int, n_rows: int) -> FloatArray:
    """Multiplicity of every cluster in ``n_rows`` cluster-bootstrap resamples."""
    return resample_counts(rng, n_clusters, n_rows)


def _group_sums(weights: FloatArray, unit_group: IntArray, n_groups: int) -> FloatArray:
    """Sum unit weights (rows x units) within tie groups: rows x groups."""
    rows = weights.shape[0]
    index = unit_group[None, :] + (np.arange(rows) * n_groups)[:, None]
    flat = np.bincount(index.ravel(), weights=weights.ravel(), minlength=rows * n_groups)
    sums: FloatArray = flat.reshape(rows, n_groups).astype(np.float64, copy=False)
    return sums


@dataclass(frozen=True, eq=False)
class BootstrapDesign:
    """How units are resampled: stratified by class, or by cluster.

    Build with :meth:`stratified` or :meth:`clustered`; :meth:`group_counts` yields blocks of
    replicate counts per tie group.
    """

    truth: BoolArray
    n_bootstrap: int
    seed: int
    cluster: IntArray | None = None
    n_clusters: int = 0

    @classmethod
    def stratified(cls, truth: BoolArray, *, n_bootstrap: int, seed: int) -> BootstrapDesign:
        return cls(truth, check_replicates(n_bootstrap), int(seed))

    @classmethod
    def clustered(
        cls, truth: BoolArray, cluster: IntArray, n_clusters: int, *, n_bootstrap: int, seed: int
    ) -> BootstrapDesign:
        return cls(truth, check_replicates(n_bootstrap), int(seed), cluster, n_clusters)

    @property
    def description(self) -> str:
        kind = "cluster" if self.cluster is not None else "stratified"
        return f"{kind} bootstrap percentile ({self.n_bootstrap} replicates, seed {self.seed})"

    def unit_weights(self) -> Iterator[FloatArray]:
        """Blocks of replicate weights of every unit (rows = replicates, columns = units)."""
        rng = np.random.default_rng(self.seed)
        n_units = self.truth.size
        pos = np.flatnonzero(self.truth)
        neg = np.flatnonzero(~self.truth)
        for start in range(0, self.n_bootstrap, BLOCK):
            rows = min(BLOCK, self.n_bootstrap - start)
            if self.cluster is not None:
                mult = cluster_multiplicities(rng, self.n_clusters, rows)
                yield mult[:, self.cluster]
            else:
                weights = np.zeros((rows, n_units))
                weights[:, pos] = resample_counts(rng, pos.size, rows)
                weights[:, neg] = resample_counts(rng, neg.size, rows)
                yield weights

    def group_counts(self, groups: TieGroups) -> Iterator[tuple[FloatArray, FloatArray]]:
        """Blocks of (positives, negatives) per tie group for every replicate."""
        assert groups.unit_group is not None, "tie groups must carry unit_group"
        g = groups.values.size
        for weights in self.unit_weights():
            pos = _group_sums(weights[:, self.truth], groups.unit_group[self.truth], g)
            neg = _group_sums(weights[:, ~self.truth], groups.unit_group[~self.truth], g)
            yield pos, neg


def replicate_auc(pos: FloatArray, neg: FloatArray) -> FloatArray:
    """Mann-Whitney AUC of each replicate (rows) from counts per ascending tie group."""
    n_pos = pos.sum(axis=1)
    n_neg = neg.sum(axis=1)
    neg_below = np.cumsum(neg, axis=1) - neg
    wins = np.einsum("bg,bg->b", pos, neg_below + 0.5 * neg)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n_pos > 0) & (n_neg > 0), wins / (n_pos * n_neg), np.nan)


def replicate_curves(pos: FloatArray, neg: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Sensitivity and false-positive fraction of each replicate at every threshold, from the
    most stringent (highest oriented value) down; column 0 is the point (0, 0)."""
    n_pos = pos.sum(axis=1, keepdims=True)
    n_neg = neg.sum(axis=1, keepdims=True)
    tp = np.cumsum(pos[:, ::-1], axis=1)
    fp = np.cumsum(neg[:, ::-1], axis=1)
    zero = np.zeros((pos.shape[0], 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = np.hstack([zero, tp / n_pos])
        fpr = np.hstack([zero, fp / n_neg])
    return tpr, fpr


def percentile_interval(values: FloatArray, confidence_level: float) -> tuple[float, float, int]:
    """Percentile interval of the finite replicate values, and how many were not finite."""
    finite = values[np.isfinite(values)]
    dropped = int(values.size - finite.size)
    if finite.size == 0:
        return math.nan, math.nan, dropped
    alpha = 1.0 - confidence_level
    low, high = np.quantile(finite, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high), dropped


def dropped_message(dropped: int, total: int, what: str) -> str:
    return (
        f"{dropped} of {total} bootstrap replicates had no {what} and were left out of the interval"
    )
