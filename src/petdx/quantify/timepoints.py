"""Lesions across time points of one visit: matching by centroid and retention index.

Matching rule (:func:`match_lesions`), after the later scan's centroids are mapped into the
earlier scan's coordinates by the rigid alignment: lesion ``a`` (earlier) and ``b`` (later)
are matched when ``b`` is ``a``'s nearest later lesion, ``a`` is ``b``'s nearest earlier
lesion, their distance ``d`` is <= ``max_distance_mm``, and no other lesion of either scan
lies within ``max_distance_mm`` at a distance < ``d + ambiguity_margin_mm`` from ``a`` or
``b``. A lesion with a candidate that fails only the last condition is **ambiguous** and is
not matched (the reason names the competitors); one with no candidate is **unmatched**.

Retention index: ``RI = (SUV_t2 - SUV_t1) / SUV_t1 x 100 %`` (NaN with a warning when
``SUV_t1 <= 0``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from petdx.errors import InputValidationError, UndefinedStatisticWarning

__all__ = [
    "LesionMatch",
    "MatchStatus",
    "match_lesions",
    "retention_index_pct",
    "retention_index_pct_values",
]


class MatchStatus(StrEnum):
    MATCHED = "matched"
    AMBIGUOUS = "ambiguous"
    UNMATCHED = "unmatched"


@dataclass(frozen=True)
class LesionMatch:
    """The fate of one earlier-scan lesion (or of a later-scan lesion left unmatched)."""

    label_t1: int | None
    label_t2: int | None
    status: MatchStatus
    distance_mm: float | None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "label_t1": self.label_t1,
            "label_t2": self.label_t2,
            "status": self.status.value,
            "distance_mm": self.distance_mm,
            "reason": self.reason,
        }

    def __str__(self) -> str:
        d = f"{self.distance_mm:.1f} mm" if self.distance_mm is not None else "-"
        return f"{self.label_t1} -> {self.label_t2}: {self.status.value} ({d}) {self.reason}"


def retention_index_pct_values(
    suv_t1: npt.ArrayLike, suv_t2: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Element-wise ``(SUV_t2 - SUV_t1) / SUV_t1 x 100``; NaN where ``SUV_t1 <= 0`` or a
    value is not finite (no warning: the caller counts or states the undefined ones).

    The one retention-index formula of petdx: the quantification of a visit, the analysis
    tables and the liver's own retention all call it.
    """
    t1 = np.asarray(suv_t1, dtype=float)
    t2 = np.asarray(suv_t2, dtype=float)
    defined = np.isfinite(t1) & np.isfinite(t2) & (t1 > 0)
    safe_t1 = np.where(defined, t1, 1.0)
    return np.where(defined, (t2 - safe_t1) / safe_t1 * 100.0, np.nan)


def retention_index_pct(suv_t1: float, suv_t2: float) -> float:
    """``(SUV_t2 - SUV_t1) / SUV_t1 x 100``; NaN and an :class:`UndefinedStatisticWarning`
    when ``SUV_t1 <= 0`` or a value is not finite (:func:`retention_index_pct_values`)."""
    value = float(retention_index_pct_values(suv_t1, suv_t2))
    if math.isnan(value):
        warnings.warn(
            f"Retention index undefined for SUV_t1 = {suv_t1}, SUV_t2 = {suv_t2}.",
            UndefinedStatisticWarning,
            stacklevel=2,
        )
    return value


def match_lesions(
    labels_t1: Sequence[int],
    centroids_t1_mm: npt.ArrayLike,
    labels_t2: Sequence[int],
    centroids_t2_mm: npt.ArrayLike,
    *,
    max_distance_mm: float = 20.0,
    ambiguity_margin_mm: float = 5.0,
) -> list[LesionMatch]:
    """Match lesions of two time points by centroid distance (rule in the module docstring).

    Parameters
    ----------
    labels_t1, centroids_t1_mm
        Earlier scan's lesion labels and centroids ``(n1, 3)`` in LPS mm.
    labels_t2, centroids_t2_mm
        Later scan's labels and centroids ``(n2, 3)``, already mapped into the earlier scan's
        coordinates (:meth:`RigidTransform.apply`).
    max_distance_mm
        Largest centroid distance accepted.
    ambiguity_margin_mm
        A competitor closer than ``d + margin`` makes the match ambiguous.

    Returns
    -------
    list of LesionMatch
        One per earlier lesion (in the given order), then one per later lesion that no
        earlier lesion claimed (status unmatched, ``label_t1`` None).
    """
    if max_distance_mm <= 0 or ambiguity_margin_mm < 0:
        raise InputValidationError(
            "match_lesions: max_distance_mm must be > 0 and ambiguity_margin_mm >= 0."
        )
    c1 = np.asarray(centroids_t1_mm, dtype=np.float64).reshape(-1, 3)
    c2 = np.asarray(centroids_t2_mm, dtype=np.float64).reshape(-1, 3)
    if len(c1) != len(labels_t1) or len(c2) != len(labels_t2):
        raise InputValidationError("match_lesions: one centroid per label is needed.")
    d = np.linalg.norm(c1[:, None, :] - c2[None, :, :], axis=-1)
    results: list[LesionMatch] = []
    claimed: set[int] = set()
    for a in range(len(c1)):
        near = np.flatnonzero(d[a] <= max_distance_mm) if len(c2) else np.array([], int)
        if near.size == 0:
            results.append(
                LesionMatch(
                    labels_t1[a],
                    None,
                    MatchStatus.UNMATCHED,
                    None,
                    f"no later lesion within {max_distance_mm:g} mm",
                )
            )
            continue
        b = int(near[np.argmin(d[a, near])])
        dist = float(d[a, b])
        rivals_b = [
            f"later lesion {labels_t2[j]} at {d[a, j]:.1f} mm"
            for j in near.tolist()
            if j != b and d[a, j] < dist + ambiguity_margin_mm
        ]
        near_a = np.flatnonzero(d[:, b] <= max_distance_mm)
        rivals_a = [
            f"earlier lesion {labels_t1[i]} at {d[i, b]:.1f} mm from later lesion {labels_t2[b]}"
            for i in near_a.tolist()
            if i != a and d[i, b] < dist + ambiguity_margin_mm
        ]
        if rivals_b or rivals_a:
            results.append(
                LesionMatch(
                    labels_t1[a],
                    labels_t2[b],
                    MatchStatus.AMBIGUOUS,
                    dist,
                    f"nearest is later lesion {labels_t2[b]} at {dist:.1f} mm but "
                    + "; ".join(rivals_b + rivals_a)
                    + f" (within the {ambiguity_margin_mm:g} mm margin): confirm by hand",
                )
            )
            continue
        claimed.add(b)
        results.append(LesionMatch(labels_t1[a], labels_t2[b], MatchStatus.MATCHED, dist))
    for b in range(len(c2)):
        if b not in claimed and not any(
            r.label_t2 == labels_t2[b] and r.status is MatchStatus.AMBIGUOUS for r in results
        ):
            results.append(
                LesionMatch(
                    None,
                    labels_t2[b],
                    MatchStatus.UNMATCHED,
                    None,
                    "no earlier lesion matched (new lesion?)",
                )
            )
    return results
