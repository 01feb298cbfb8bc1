"""Tie groups of a score: the one sort every ROC computation in petdx.stats shares.

Scores are first *oriented* so that larger means "more positive" (a LOWER-direction score is
negated). One sort then groups equal values; per group we keep how many positives and
negatives it holds. Everything else (the empirical ROC curve, the Mann-Whitney AUC with ties
counted one half, DeLong placement values, bootstrap replicates) is a cumulative sum over
these groups, O(number of groups) after the O(n log n) sort.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from petdx.stats._validate import BoolArray, FloatArray, IntArray
from petdx.stats.enums import RocDirection


def orient(score: FloatArray, direction: RocDirection) -> FloatArray:
    """``score`` such that larger is more positive (negated for :attr:`RocDirection.LOWER`)."""
    return score if direction is RocDirection.HIGHER else -score


@dataclass(frozen=True, eq=False)
class TieGroups:
    """Equal oriented values grouped, in ascending order.

    Attributes
    ----------
    values : (G,) float array
        Distinct oriented values, ascending.
    pos, neg : (G,) float arrays
        Number of positive / negative units in each group.
    n_pos, n_neg : int
        Totals.
    unit_group : (n,) int array or None
        Group index of each unit in input order (only when requested).
    """

    values: FloatArray
    pos: FloatArray
    neg: FloatArray
    n_pos: int
    n_neg: int
    unit_group: IntArray | None = None

    def placements(self) -> tuple[FloatArray, FloatArray, float]:
        """DeLong placement values per group and the AUC.

        ``v10[g]``: fraction of negatives below a positive of group g, ties counting one half;
        ``v01[g]``: fraction of positives above a negative of group g, ties one half.
        AUC = mean of v10 over positives = mean of v01 over negatives (Mann-Whitney).
        """
        neg_below = np.cumsum(self.neg) - self.neg
        pos_above = self.n_pos - np.cumsum(self.pos)
        v10 = (neg_below + 0.5 * self.neg) / self.n_neg
        v01 = (pos_above + 0.5 * self.pos) / self.n_pos
        auc = float(np.dot(self.pos, v10) / self.n_pos)
        return v10, v01, auc


def tie_groups(truth: BoolArray, oriented: FloatArray, *, unit_groups: bool = False) -> TieGroups:
    """Group equal values of ``oriented`` and count positives / negatives per group."""
    n = oriented.size
    order = np.argsort(oriented)
    sorted_values = oriented[order]
    sorted_truth = truth[order]
    new = np.empty(n, dtype=bool)
    new[:1] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, n)).astype(np.float64)
    pos = np.add.reduceat(sorted_truth.astype(np.float64), starts) if n else np.zeros(0)
    n_pos = int(pos.sum())
    group = None
    if unit_groups:
        group = np.empty(n, dtype=np.intp)
        group[order] = np.cumsum(new) - 1
    return TieGroups(sorted_values[starts], pos, sizes - pos, n_pos, n - n_pos, group)
