"""AUC with DeLong variance (petdx, fast midrank algorithm) against scikit-learn and the
O(m n) placement-value definition; cluster bootstrap of the AUC against a replicate loop.

1. n = 1e4, 1e5, 1e6 units (30 % diseased, scores rounded to 0.001 so ties occur):
   petdx ``delong_auc`` (AUC + DeLong variance + CI) vs scikit-learn ``roc_auc_score`` (AUC
   only) and, at 1e4 only (1e5 would take minutes), the O(m n) pairwise placement values
   computed in blocks with numpy. Goal: petdx at 1e6 in under 2x scikit-learn's time
   (ratio scikit-learn / petdx >= 0.5).
2. Cluster bootstrap, 2000 replicates, 500 patients x 10 lesions: petdx ``roc_analysis``
   (vectorised replicates, AUC interval plus the cut-off re-chosen in every replicate) vs the
   usual loop: resample patients, gather their lesions, ``roc_auc_score`` per replicate.

Both sides are checked to agree before timing.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from benchmarks._timing import measure, report
from petdx.stats import delong_auc, roc_analysis

SIZES = (10_000, 100_000, 1_000_000)
QUADRATIC_MAX_N = 10_000


def _data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.random(n) < 0.3
    score = np.round(rng.normal(truth * 1.0, 1.0), 3)
    return truth, score


def _delong_quadratic(truth: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """AUC and DeLong variance from explicit pairwise comparisons, in blocks of positives."""
    x, y = score[truth], score[~truth]
    v10 = np.empty(x.size)
    v01 = np.zeros(y.size)
    for start in range(0, x.size, 256):
        block = x[start : start + 256, None]
        psi = (block > y[None, :]) + 0.5 * (block == y[None, :])
        v10[start : start + 256] = psi.mean(axis=1)
        v01 += psi.sum(axis=0)
    v01 /= x.size
    auc = float(v10.mean())
    return auc, float(v10.var(ddof=1) / x.size + v01.var(ddof=1) / y.size)


def _clustered(n_patients: int = 500, lesions: int = 10, seed: int = 1) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    cluster = np.repeat(np.arange(n_patients), lesions)
    effect = rng.normal(0, 0.7, n_patients)[cluster]
    truth = rng.random(cluster.size) < 0.4
    score = np.round(truth * 1.0 + effect + rng.normal(0, 1, cluster.size), 2)
    return truth, score, cluster


def _loop_bootstrap(
    truth: np.ndarray, score: np.ndarray, cluster: np.ndarray, n_boot: int
) -> np.ndarray:
    rng = np.random.default_rng(0)
    members = [np.flatnonzero(cluster == c) for c in range(int(cluster.max()) + 1)]
    out = np.empty(n_boot)
    for b in range(n_boot):
        picks = rng.integers(0, len(members), len(members))
        idx = np.concatenate([members[p] for p in picks])
        out[b] = roc_auc_score(truth[idx], score[idx])
    return out


def run() -> str:
    texts = []
    for n in SIZES:
        truth, score = _data(n)
        ours = delong_auc(truth, score)
        assert abs(ours.estimate - roc_auc_score(truth, score)) < 1e-12
        repeat = 7 if n < 1_000_000 else 5
        petdx = measure(
            f"petdx delong_auc (AUC + variance), n={n:.0e}",
            lambda t=truth, s=score: delong_auc(t, s),
            repeat=repeat,
        )
        sklearn = measure(
            f"scikit-learn roc_auc_score (AUC only), n={n:.0e}",
            lambda t=truth, s=score: roc_auc_score(t, s),
            repeat=repeat,
        )
        texts.append(
            report(
                f"AUC with DeLong variance, n = {n:.0e}",
                petdx,
                sklearn,
                goal="ratio >= 0.5 at 1e6 (petdx < 2x scikit-learn)",
            )
        )
        if n <= QUADRATIC_MAX_N:
            auc, var = _delong_quadratic(truth, score)
            assert abs(auc - ours.estimate) < 1e-12
            assert abs(var - ours.se**2) < 1e-12
            quad = measure(
                f"O(m n) placement values, n={n:.0e}",
                lambda t=truth, s=score: _delong_quadratic(t, s),
                repeat=3,
            )
            texts.append(
                report(
                    f"DeLong fast vs O(m n), n = {n:.0e}",
                    petdx,
                    quad,
                    goal="fast algorithm faster (ratio > 1)",
                )
            )
    truth, score, cluster = _clustered()
    n_boot = 2000
    ours_ci = roc_analysis(truth, score, cluster=cluster, n_bootstrap=n_boot, seed=0).auc
    loop = _loop_bootstrap(truth, score, cluster, n_boot)
    low, high = np.quantile(loop, [0.025, 0.975])
    assert abs(ours_ci.ci_low - low) < 0.01
    assert abs(ours_ci.ci_high - high) < 0.01
    petdx = measure(
        "petdx roc_analysis cluster bootstrap (AUC + cut-off)",
        lambda: roc_analysis(truth, score, cluster=cluster, n_bootstrap=n_boot),
        repeat=3,
    )
    peer = measure(
        "loop: resample patients + roc_auc_score (AUC only)",
        lambda: _loop_bootstrap(truth, score, cluster, n_boot),
        repeat=3,
        warmup=0,
    )
    texts.append(
        report(
            "Cluster bootstrap, 2000 replicates, 500 patients x 10 lesions",
            petdx,
            peer,
            goal="vectorised faster than the loop (ratio > 1)",
        )
    )
    return "\n".join(texts)
