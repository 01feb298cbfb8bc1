"""Result objects of a quantification run and the tidy measurement table.

Table: one row per lesion x time point x method, with provenance columns (petdx version,
method and parameters, SUV normalisation, series UID). Written as CSV or Parquet, atomically.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from petdx import __version__
from petdx.errors import InputValidationError
from petdx.fileio import write_atomically
from petdx.image import Volume
from petdx.quantify.align import RigidTransform
from petdx.quantify.method import MethodSpec
from petdx.quantify.metrics import LesionMetrics
from petdx.quantify.noise import NoiseModel, retention_ci_pct, retention_verdict
from petdx.quantify.pvc import PvcEstimate, pvc_retention_ci_pct
from petdx.quantify.timepoints import LesionMatch, MatchStatus, retention_index_pct
from petdx.segment import ReferenceRegion

__all__ = ["QuantificationResult", "TimePointResult", "write_table"]


@dataclass(frozen=True)
class TimePointResult:
    """Everything measured on one PET scan.

    ``detection`` holds the detection method and its numbers when the lesions were detected;
    ``carried_voi_mean_suv`` (later scans only) maps each first-scan lesion label to this
    scan's mean SUV inside that lesion's first-scan VOI carried here through the rigid
    transform, without re-segmenting; ``pvc_voi_mean_suv`` (every scan, when a PSF FWHM was
    given) the same VOI's partial-volume-corrected mean uptake, keyed the same way, and
    ``pvc_estimates`` the full two-compartment estimates (with their uncertainty terms).
    """

    index: int
    series_instance_uid: str
    suv_factor: float
    normalization: str
    suv_unit: str
    method: MethodSpec
    references: dict[str, ReferenceRegion]
    reference_problems: dict[str, str]
    percist_threshold_suv: float | None
    labels: Volume = field(repr=False)
    lesions: tuple[LesionMetrics, ...]
    transform_to_first: RigidTransform | None = None
    warnings: tuple[str, ...] = ()
    detection: dict[str, Any] | None = None
    carried_voi_mean_suv: dict[int, float] = field(default_factory=dict)
    pvc_voi_mean_suv: dict[int, float] = field(default_factory=dict)
    pvc_estimates: dict[int, PvcEstimate] = field(default_factory=dict, repr=False)
    pixel_compression: str = "uncompressed"
    attenuation_correction_method: str = ""
    noise: NoiseModel | None = None
    voi_noise_factor: dict[int, float] = field(default_factory=dict)

    def lesion(self, label: int) -> LesionMetrics | None:
        for lesion in self.lesions:
            if lesion.label == label:
                return lesion
        return None

    def to_dict(self) -> dict[str, Any]:
        refs: dict[str, Any] = {k: v.to_dict() for k, v in self.references.items()}
        for tissue, problem in self.reference_problems.items():
            refs[tissue] = {"tissue": tissue, "error": problem}
        return {
            "time_point": self.index + 1,
            "series_instance_uid": self.series_instance_uid,
            "suv_factor": self.suv_factor,
            "normalization": self.normalization,
            "suv_unit": self.suv_unit,
            "pixel_compression": self.pixel_compression,
            "attenuation_correction_method": self.attenuation_correction_method,
            "method": str(self.method),
            "percist_threshold_suv": self.percist_threshold_suv,
            "reference_regions": refs,
            "alignment_to_first": (
                self.transform_to_first.to_dict() if self.transform_to_first else None
            ),
            "lesions": [lesion.to_dict() for lesion in self.lesions],
            "warnings": list(self.warnings),
            "detection": self.detection,
            "carried_voi_mean_suv": (
                {str(k): v for k, v in sorted(self.carried_voi_mean_suv.items())}
                if self.index
                else None
            ),
        }

    def __str__(self) -> str:
        return (
            f"time point {self.index + 1} ({self.series_instance_uid}): "
            f"{len(self.lesions)} lesion(s), method {self.method}"
        )


#: The per-estimate uncertainty keys (issue 17) of the JSON; tables split each CI into
#: ``..._ci_low_pct`` and ``..._ci_high_pct``.
_CI_KEYS = tuple(
    f"retention_{part}"
    for key in ("", "peak_", "voi_mean_", "pvc_")
    for part in (f"index_{key}ci_pct", f"{key}verdict")
)


def _attr(lesion: LesionMetrics | None, name: str) -> float | None:
    if lesion is None:
        return None
    value = getattr(lesion, name)
    return None if value is None else float(value)


def _ri(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    value = retention_index_pct(a, b)
    return None if math.isnan(value) else value


def _ri_ci(
    first: TimePointResult,
    later: TimePointResult,
    values: tuple[float | None, float | None],
    factors: tuple[float | None, float | None],
) -> tuple[list[float] | None, str | None]:
    """95 % CI ([low, high], percent) of a retention index from both scans' image noise,
    and its verdict (petdx.quantify.noise); ``(None, None)`` without a noise model."""
    m1, m2 = values
    f1, f2 = factors
    if first.noise is None or later.noise is None or m1 is None or m2 is None:
        return None, None
    if f1 is None or f2 is None:
        return None, None
    ci = retention_ci_pct(m1, m2, first.noise.variance(m1, f1), later.noise.variance(m2, f2))
    verdict = retention_verdict(ci)
    return (list(ci) if ci else None), (verdict.value if verdict else None)


def _uncertainty(
    first: TimePointResult,
    later: TimePointResult,
    lesion: LesionMetrics,
    other: LesionMetrics | None,
) -> dict[str, Any]:
    """CI and verdict of each estimate's retention index: SUVmax (``retention_index_ci_pct``,
    ``retention_verdict``), SUVpeak (``..._peak_...``) and the carried VOI's mean
    (``..._voi_mean_...``), and the partial-volume-corrected carried-VOI mean
    (``..._pvc_...``, docs/validation.md revision 1) when the scans were corrected."""
    voi = first.voi_noise_factor.get(lesion.label)
    peaks = (
        first.noise.peak_factor if first.noise else None,
        later.noise.peak_factor if later.noise else None,
    )
    estimates = {
        "": ((lesion.suv_max, _attr(other, "suv_max")), (1.0, 1.0)),
        "peak_": ((lesion.suv_peak_local, _attr(other, "suv_peak_local")), peaks),
        "voi_mean_": ((lesion.suv_mean, later.carried_voi_mean_suv.get(lesion.label)), (voi, voi)),
    }
    out: dict[str, Any] = {}
    for key, (values, factors) in estimates.items():
        ci, verdict = _ri_ci(first, later, values, factors)
        out[f"retention_index_{key}ci_pct"] = ci
        out[f"retention_{key}verdict"] = verdict
    pvc_ci = pvc_retention_ci_pct(
        first.pvc_estimates.get(lesion.label),
        later.pvc_estimates.get(lesion.label),
        (first.noise.variance_per_suv, later.noise.variance_per_suv)
        if first.noise and later.noise
        else None,
    )
    pvc_verdict = retention_verdict(pvc_ci)
    out["retention_index_pvc_ci_pct"] = list(pvc_ci) if pvc_ci else None
    out["retention_pvc_verdict"] = pvc_verdict.value if pvc_verdict else None
    return out


@dataclass(frozen=True)
class QuantificationResult:
    """All time points of one visit and the lesion matches between them.

    ``matches[n]`` holds the matches between the first time point and time point ``n + 2``.
    """

    time_points: tuple[TimePointResult, ...]
    matches: tuple[tuple[LesionMatch, ...], ...] = ()

    def _pairs(self, later: int) -> dict[int, LesionMatch]:
        return {m.label_t1: m for m in self.matches[later - 1] if m.label_t1 is not None}

    def lesion_ids(self, time_point: int) -> dict[int, str]:
        """Stable lesion identifiers: ``L<label>`` of the first time point, carried to the
        matched lesion of later time points; unmatched later lesions are ``T<n>-L<label>``."""
        if time_point == 0:
            return {les.label: f"L{les.label}" for les in self.time_points[0].lesions}
        ids = {}
        for m in self.matches[time_point - 1]:
            if m.status is MatchStatus.MATCHED and m.label_t2 is not None:
                ids[m.label_t2] = f"L{m.label_t1}"
        for les in self.time_points[time_point].lesions:
            ids.setdefault(les.label, f"T{time_point + 1}-L{les.label}")
        return ids

    def to_dict(self) -> dict[str, Any]:
        """The ``petdx quantify --json`` object (first time point at the top level)."""
        first = self.time_points[0].to_dict()
        lesions = first["lesions"]
        for later in range(1, len(self.time_points)):
            pairs = self._pairs(later)
            tp = self.time_points[later]
            for entry, lesion in zip(lesions, self.time_points[0].lesions, strict=True):
                match = pairs.get(lesion.label)
                other = (
                    tp.lesion(match.label_t2)
                    if match and match.status is MatchStatus.MATCHED and match.label_t2
                    else None
                )
                follow = {
                    "time_point": later + 1,
                    "match": match.to_dict() if match else None,
                    "retention_index_pct": _ri(lesion.suv_max, _attr(other, "suv_max")),
                    "retention_index_peak_pct": _ri(
                        lesion.suv_peak_local, _attr(other, "suv_peak_local")
                    ),
                    "retention_index_mean_pct": _ri(lesion.suv_mean, _attr(other, "suv_mean")),
                    "suv_mean_in_first_voi": tp.carried_voi_mean_suv.get(lesion.label),
                    "retention_index_voi_mean_pct": _ri(
                        lesion.suv_mean, tp.carried_voi_mean_suv.get(lesion.label)
                    ),
                    "retention_index_pvc_pct": _ri(
                        self.time_points[0].pvc_voi_mean_suv.get(lesion.label),
                        tp.pvc_voi_mean_suv.get(lesion.label),
                    ),
                    **_uncertainty(self.time_points[0], tp, lesion, other),
                    "tbr_liver_change_pct": _ri(lesion.tbr_liver, _attr(other, "tbr_liver")),
                    "tbr_blood_change_pct": _ri(lesion.tbr_blood, _attr(other, "tbr_blood")),
                }
                entry.setdefault("follow_up", []).append(follow)
                if later == 1:
                    entry["retention_index_pct"] = follow["retention_index_pct"]
                    for key in _CI_KEYS:
                        entry[key] = follow[key]
                    entry["match_distance_mm"] = match.distance_mm if match else None
                    entry["match_status"] = match.status.value if match else None
            for tissue, ref in self.time_points[0].references.items():
                later_ref = tp.references.get(tissue)
                region = first["reference_regions"][tissue]
                region.setdefault(
                    "retention_index_pct",
                    _ri(ref.mean_suv, later_ref.mean_suv if later_ref else None),
                )
        first["time_points"] = [tp.to_dict() for tp in self.time_points]
        first["matches"] = [[m.to_dict() for m in ms] for ms in self.matches]
        first["petdx_version"] = __version__
        return first

    def table(self) -> pd.DataFrame:
        """One row per lesion x time point x method, with provenance columns."""
        rows = []
        for n, tp in enumerate(self.time_points):
            ids = self.lesion_ids(n)
            pairs = self._pairs(n) if n else {}
            inverse = {m.label_t2: m for m in pairs.values() if m.label_t2 is not None}
            for lesion in tp.lesions:
                row: dict[str, Any] = {
                    "lesion_id": ids[lesion.label],
                    "time_point": n + 1,
                    "label": lesion.label,
                }
                data = lesion.to_dict()
                for axis, key in enumerate(("x", "y", "z")):
                    row[f"centroid_{key}_mm"] = data["centroid_mm"][axis]
                for key in ("centroid_mm", "suv_max_mm", "suv_peak_global_centre_mm"):
                    data.pop(key)
                row.update(data)
                match = inverse.get(lesion.label)
                row["match_status"] = match.status.value if match else None
                row["match_distance_mm"] = match.distance_mm if match else None
                first = (
                    self.time_points[0].lesion(match.label_t1)
                    if match and match.status is MatchStatus.MATCHED and match.label_t1
                    else None
                )
                row["retention_index_pct"] = _ri(_attr(first, "suv_max"), lesion.suv_max)
                row["retention_index_peak_pct"] = _ri(
                    _attr(first, "suv_peak_local"), lesion.suv_peak_local
                )
                row["retention_index_mean_pct"] = _ri(_attr(first, "suv_mean"), lesion.suv_mean)
                carried = tp.carried_voi_mean_suv.get(first.label) if first else None
                row["suv_mean_in_first_voi"] = carried
                row["retention_index_voi_mean_pct"] = _ri(_attr(first, "suv_mean"), carried)
                uncertainty = (
                    _uncertainty(self.time_points[0], tp, first, lesion)
                    if n and first is not None
                    else {}
                )
                for key in _CI_KEYS:
                    value = uncertainty.get(key)
                    if key.endswith("_ci_pct"):
                        stem = key.removesuffix("_pct")
                        row[f"{stem}_low_pct"] = value[0] if value else None
                        row[f"{stem}_high_pct"] = value[1] if value else None
                    else:
                        row[key] = value
                if n == 0:
                    row["suv_pvc"] = tp.pvc_voi_mean_suv.get(lesion.label)
                    row["retention_index_pvc_pct"] = None
                else:
                    before = self.time_points[0].pvc_voi_mean_suv
                    after = tp.pvc_voi_mean_suv.get(first.label) if first else None
                    row["suv_pvc"] = after
                    row["retention_index_pvc_pct"] = _ri(
                        before.get(first.label) if first else None, after
                    )
                for tissue in ("liver", "blood_pool", "muscle"):
                    ref = tp.references.get(tissue)
                    row[f"reference_{tissue}_mean_suv"] = ref.mean_suv if ref else None
                row.update(
                    {
                        "series_instance_uid": tp.series_instance_uid,
                        "suv_normalization": tp.normalization,
                        "suv_unit": tp.suv_unit,
                        "suv_factor": tp.suv_factor,
                        "pixel_compression": tp.pixel_compression,
                        "attenuation_correction_method": tp.attenuation_correction_method,
                        "method": tp.method.method.value,
                        "method_parameters": json.dumps(
                            {
                                **tp.method.parameters(),
                                "percist_threshold_suv": tp.percist_threshold_suv,
                                **(
                                    {"detection_method": tp.detection["method"]}
                                    if tp.detection
                                    else {}
                                ),
                            },
                            sort_keys=True,
                        ),
                        "petdx_version": __version__,
                    }
                )
                rows.append(row)
        return pd.DataFrame(rows)


def write_table(table: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write the table as CSV (``.csv``) or Parquet (``.parquet``), atomically."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".csv":
        return write_atomically(target, lambda tmp: table.to_csv(tmp, index=False))
    if suffix == ".parquet":
        return write_atomically(target, lambda tmp: table.to_parquet(tmp, index=False))
    raise InputValidationError(f"{target}: expected a .csv or .parquet file name.")
