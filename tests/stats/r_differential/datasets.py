"""Seeded random datasets for the R differential, corner cases included.

Every generator returns plain records (dicts); ``write_long`` writes a family's datasets to
one CSV with a ``dataset`` column, which the family's R script splits. The kinds are drawn in
turn so that each corner case appears many times: ties, n = 3, perfect separation, one class
only, skewed prevalence, heavy censoring, tied event times, clusters of size 1 and of uneven
sizes.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

SEED = 19  # issue 19


def write_long(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """One CSV, header ``columns``; floats with 17 significant digits (R reads them back
    exactly)."""
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(columns)
        for row in rows:
            out.writerow([f"{v:.17g}" if isinstance(v, float) else v for v in row])
    return path


# --- 2x2 tables and binomial proportions ------------------------------------------------

TABLE_KINDS = ("random", "small", "zero cell", "one class only", "skewed", "n = 3", "large")


def accuracy_tables(n: int = 280, seed: int = SEED) -> list[dict[str, Any]]:
    """2x2 tables (tp, fp, fn, tn) of every kind in turn."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        kind = TABLE_KINDS[i % len(TABLE_KINDS)]
        if kind == "random":
            cells = rng.integers(1, 60, size=4)
        elif kind == "small":
            cells = rng.integers(0, 4, size=4)
        elif kind == "zero cell":
            cells = rng.integers(1, 30, size=4)
            cells[rng.integers(0, 4, size=int(rng.integers(1, 3)))] = 0
        elif kind == "one class only":
            cells = rng.integers(0, 20, size=4)
            if rng.random() < 0.5:
                cells[[0, 2]] = 0  # no diseased units
            else:
                cells[[1, 3]] = 0  # no non-diseased units
        elif kind == "skewed":
            cells = np.array([rng.integers(0, 3), rng.integers(5, 40), rng.integers(0, 2), 0])
            cells[3] = rng.integers(200, 2000)
        elif kind == "n = 3":
            cells = rng.multinomial(3, [0.25] * 4)
        else:
            cells = rng.integers(500, 5000, size=4)
        tp, fp, fn, tn = (int(v) for v in cells)
        out.append({"dataset": f"t{i:03d}", "kind": kind, "tp": tp, "fp": fp, "fn": fn, "tn": tn})
    return out


def binomial_cases(n: int = 260, seed: int = SEED) -> list[dict[str, Any]]:
    """(x, n, confidence level) with x = 0, x = n, n = 1, n = 3 among them."""
    rng = np.random.default_rng(seed + 1)
    levels = (0.8, 0.9, 0.95, 0.99)
    out = []
    for i in range(n):
        trials = (
            int(rng.choice([1, 2, 3, 5, 10, 40, 200, 1500])) if i % 3 else int(rng.integers(1, 80))
        )
        x = {0: 0, 1: trials}.get(i % 5, int(rng.integers(0, trials + 1)))
        level = float(levels[i % len(levels)])
        out.append({"dataset": f"b{i:03d}", "x": x, "n": trials, "level": level})
    return out


# --- ROC data: one truth, two scores on the same units -----------------------------------

ROC_KINDS = (
    "continuous",
    "rating ties",
    "n = 3",
    "perfect separation",
    "skewed prevalence",
    "identical scores",
    "constant score",
    "one class only",
    "binary score",
    "inverted",
)


def roc_sets(n: int = 250, seed: int = SEED) -> list[dict[str, Any]]:
    """Paired ROC datasets: truth, score_1, score_2 and each score's direction."""
    rng = np.random.default_rng(seed + 2)
    out = []
    for i in range(n):
        kind = ROC_KINDS[i % len(ROC_KINDS)]
        size = int(rng.integers(8, 80))
        truth = rng.random(size) < rng.uniform(0.25, 0.75)
        if kind == "n = 3":
            truth = np.array([True, False, rng.random() < 0.5])
        elif kind == "skewed prevalence":
            size = int(rng.integers(30, 120))
            truth = np.zeros(size, dtype=bool)
            truth[rng.choice(size, size=int(rng.integers(1, 4)), replace=False)] = True
        elif kind == "one class only":
            truth = np.full(size, rng.random() < 0.5)
        if truth.all() == truth.any() and kind != "one class only":
            truth[0] = not truth[0]
        m = truth.size
        shift = truth * rng.uniform(0.0, 2.0)
        s1 = rng.normal(size=m) + shift
        s2 = rng.normal(size=m) + 0.6 * shift + 0.5 * s1
        if kind == "rating ties":
            s1 = np.clip(np.round(s1 + 3), 1, 5)
            s2 = np.clip(np.round(s2 + 3), 1, 5)
        elif kind == "perfect separation":
            s1 = np.where(truth, 10 + rng.random(m), rng.random(m))
        elif kind == "identical scores":
            s2 = s1.copy()
        elif kind == "constant score":
            s1 = np.full(m, 2.5)
        elif kind == "binary score":
            s1 = (s1 > 0.5).astype(float)
            s2 = (s2 > 0.5).astype(float)
        elif kind == "inverted":
            s1 = -s1
        # mostly informative curves: a "lower" score is negated, so that it still ranks the
        # diseased first; "inverted" keeps a curve below chance whatever the direction
        d1, d2 = (("higher", "lower")[int(rng.random() < 0.3)] for _ in range(2))
        s1 = -s1 if d1 == "lower" and kind != "inverted" else s1
        s2 = -s2 if d2 == "lower" else s2
        out.append(
            {
                "dataset": f"r{i:03d}",
                "kind": kind,
                "truth": truth,
                "score_1": np.round(s1, 6) if kind != "n = 3" else s1,
                "score_2": np.round(s2, 6),
                "direction_1": d1,
                "direction_2": d2,
            }
        )
    return out


# --- survival ----------------------------------------------------------------------------

SURVIVAL_KINDS = (
    "continuous",
    "tied event times",
    "heavy censoring",
    "n = 3",
    "no censoring",
    "all censored",
    "three groups",
    "stratified",
    "binary covariate",
    "small",
)


def survival_sets(n: int = 220, seed: int = SEED) -> list[dict[str, Any]]:
    """Survival datasets: time, status, group, stratum, covariates x1 and x2."""
    rng = np.random.default_rng(seed + 3)
    out = []
    for i in range(n):
        kind = SURVIVAL_KINDS[i % len(SURVIVAL_KINDS)]
        size = {"n = 3": 3, "small": int(rng.integers(4, 9))}.get(kind, int(rng.integers(15, 90)))
        groups = 3 if kind == "three groups" else 2
        group = rng.integers(0, groups, size=size)
        if kind == "n = 3":
            group = np.array([0, 1, int(rng.integers(0, 2))])
        x1 = rng.normal(size=size)
        x2 = (
            rng.integers(0, 2, size=size).astype(float)
            if kind == "binary covariate"
            else (rng.normal(size=size))
        )
        hazard = np.exp(0.5 * x1 - 0.3 * x2 + 0.4 * group)
        event_time = rng.exponential(10.0 / hazard)
        censor_scale = {"heavy censoring": 2.0}.get(kind, 20.0)
        censor_time = rng.exponential(censor_scale, size=size)
        if kind == "no censoring":
            censor_time = np.full(size, np.inf)
        time = np.minimum(event_time, censor_time)
        status = (event_time <= censor_time).astype(int)
        if kind == "all censored":
            status[:] = 0
        if kind == "tied event times":
            time = np.ceil(time / 3.0) * 3.0
        else:
            time = np.round(time, 4) + 0.0001  # > 0, few accidental ties
        stratum = rng.integers(0, 2, size=size) if kind == "stratified" else np.zeros(size, int)
        out.append(
            {
                "dataset": f"s{i:03d}",
                "kind": kind,
                "time": time,
                "status": status,
                "group": group,
                "stratum": stratum,
                "x1": np.round(x1, 6),
                "x2": np.round(x2, 6),
            }
        )
    return out


# --- clustered ROC data ------------------------------------------------------------------

CLUSTER_KINDS = ("uneven sizes", "size 1 only", "mixed with singletons", "rating ties", "few")


def clustered_sets(n: int = 220, seed: int = SEED) -> list[dict[str, Any]]:
    """Lesions in patients: truth, two scores and the patient of every lesion."""
    rng = np.random.default_rng(seed + 4)
    out = []
    for i in range(n):
        kind = CLUSTER_KINDS[i % len(CLUSTER_KINDS)]
        patients = {"few": int(rng.integers(2, 5))}.get(kind, int(rng.integers(5, 30)))
        if kind == "size 1 only":
            sizes = np.ones(patients, dtype=int)
        elif kind == "mixed with singletons":
            sizes = np.where(rng.random(patients) < 0.5, 1, rng.integers(2, 6, size=patients))
        else:
            sizes = 1 + rng.poisson(rng.uniform(0.5, 4.0), size=patients)
        cluster = np.repeat(np.arange(patients), sizes)
        effect = rng.normal(scale=0.7, size=patients)[cluster]
        truth = rng.random(cluster.size) < rng.uniform(0.3, 0.7)
        if truth.all() or not truth.any():
            truth[0] = not truth[0]
        s1 = effect + truth * rng.uniform(0.0, 2.0) + rng.normal(size=cluster.size)
        s2 = effect + truth * rng.uniform(0.0, 2.0) + rng.normal(size=cluster.size)
        if kind == "rating ties":
            s1, s2 = np.clip(np.round(s1 + 2), 1, 5), np.clip(np.round(s2 + 2), 1, 5)
        out.append(
            {
                "dataset": f"c{i:03d}",
                "kind": kind,
                "truth": truth,
                "score_1": np.round(s1, 6),
                "score_2": np.round(s2, 6),
                "cluster": cluster,
                "direction": ("higher", "lower")[int(rng.integers(0, 2))],
            }
        )
    return out
