"""Brute-force reference implementations used as oracles by the statistics tests.

They follow the papers' definitions literally (pairwise comparisons, loops over clusters) and
share no code with petdx.stats.
"""

from __future__ import annotations

import numpy as np


def psi(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mann-Whitney kernel for every (diseased x, non-diseased y) pair: 1, 1/2 on ties, 0."""
    return (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])


def delong_quadratic(truth: np.ndarray, scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """AUCs and their DeLong (1988) covariance matrix by explicit placement values, O(m n)."""
    aucs, v10, v01 = [], [], []
    for s in scores:
        k = psi(s[truth], s[~truth])
        aucs.append(k.mean())
        v10.append(k.mean(axis=1))
        v01.append(k.mean(axis=0))
    m, n = int(truth.sum()), int((~truth).sum())
    cov = (
        np.cov(np.array(v10)).reshape(len(scores), len(scores)) / m
        + np.cov(np.array(v01)).reshape(len(scores), len(scores)) / n
    )
    return np.array(aucs), cov


def obuchowski_loops(
    truth: np.ndarray, s1: np.ndarray, s2: np.ndarray, cluster: np.ndarray
) -> tuple[float, float, float, float, float]:
    """Obuchowski (1997) AUCs, variances and covariance, cluster by cluster as in the paper
    (and the author's funcs_clusteredROC.R): (auc1, auc2, var1, var2, cov12)."""
    ids = list(dict.fromkeys(cluster.tolist()))
    pos_all = [s[truth] for s in (s1, s2)]
    neg_all = [s[~truth] for s in (s1, s2)]
    big_m, big_n = int(truth.sum()), int((~truth).sum())
    aucs = [psi(p, q).mean() for p, q in zip(pos_all, neg_all, strict=True)]
    x = np.zeros((2, len(ids)))
    y = np.zeros((2, len(ids)))
    m = np.zeros(len(ids))
    n = np.zeros(len(ids))
    for i, c in enumerate(ids):
        here = cluster == c
        m[i] = np.sum(here & truth)
        n[i] = np.sum(here & ~truth)
        for r, s in enumerate((s1, s2)):
            for v in s[here & truth]:
                x[r, i] += np.mean((v > neg_all[r]) + 0.5 * (v == neg_all[r]))
            for v in s[here & ~truth]:
                y[r, i] += np.mean((pos_all[r] > v) + 0.5 * (pos_all[r] == v))
    i10, i01, k = np.count_nonzero(m), np.count_nonzero(n), len(ids)

    def cov(a: int, b: int) -> float:
        xa, xb = x[a] - m * aucs[a], x[b] - m * aucs[b]
        ya, yb = y[a] - n * aucs[a], y[b] - n * aucs[b]
        s10 = i10 / ((i10 - 1) * big_m) * np.sum(xa * xb)
        s01 = i01 / ((i01 - 1) * big_n) * np.sum(ya * yb)
        s11_ab = k / (k - 1) * np.sum(xa * yb)
        s11_ba = k / (k - 1) * np.sum(xb * ya)
        return float(s10 / big_m + s01 / big_n + (s11_ab + s11_ba) / (big_m * big_n))

    return aucs[0], aucs[1], cov(0, 0), cov(1, 1), cov(0, 1)
