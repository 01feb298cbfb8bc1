"""Section 5 of the results: tracer retention between time points."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from petdx.analysis.results._common import Doc, StatRecord, Summary, records, stat_or_none


@dataclass(frozen=True)
class RetentionGroup:
    """One lesion class at the first two time points; retention indices (%) may be None
    (undefined) in a file read back."""

    label: str
    suv_max_t1: tuple[float, ...]
    suv_max_t2: tuple[float, ...]
    ri_suv_max_pct: tuple[float | None, ...]
    ri_suv_peak_pct: tuple[float | None, ...]
    ri_suv_max_pct_summary: Summary
    wilcoxon: StatRecord | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "suv_max_t1": list(self.suv_max_t1),
            "suv_max_t2": list(self.suv_max_t2),
            "ri_suv_max_pct": list(self.ri_suv_max_pct),
            "ri_suv_peak_pct": list(self.ri_suv_peak_pct),
            "ri_suv_max_pct_summary": self.ri_suv_max_pct_summary.to_dict(),
            "wilcoxon": self.wilcoxon,
        }

    @classmethod
    def from_dict(cls, d: Doc) -> RetentionGroup:
        return cls(
            d["label"],
            tuple(d["suv_max_t1"]),
            tuple(d["suv_max_t2"]),
            tuple(d["ri_suv_max_pct"]),
            tuple(d["ri_suv_peak_pct"]),
            Summary.from_dict(d["ri_suv_max_pct_summary"]),
            stat_or_none(d.get("wilcoxon")),
        )


@dataclass(frozen=True)
class RetentionSection:
    """Retention between the first two index time points; the liver's fields are None (not
    written) when the study has fewer than two.

    ``uncertainty`` (issue 17, None without two time points): the carried-VOI-mean retention
    index with its image-noise CI per lesion of the exported lesion set (``lesions``: list
    of {lesion_id, patient_id, group, voi_diameter_mm, ri_pct, ci_low_pct, ci_high_pct,
    verdict}), the share of verdicts per lesion class (``verdicts``: list of {group, n,
    retained, washout, indeterminate, no_ci}), the noise floor per VOI size class
    (``noise_floor``: list of {size, n, median_half_width_pct}: the smallest change whose CI
    excludes 0) and the cohort-level test (``cohort_test``: petdx.stats.RetentionTests).
    """

    time_points_min: tuple[int, ...]
    groups: tuple[RetentionGroup, ...]
    ri_liver_pct: tuple[float, ...] | None = None
    ri_liver_pct_summary: Summary | None = None
    uncertainty: Doc | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "time_points_min": list(self.time_points_min),
            "groups": records(self.groups, RetentionGroup.to_dict),
        }
        if self.ri_liver_pct is not None:
            out["ri_liver_pct"] = list(self.ri_liver_pct)
        if self.ri_liver_pct_summary is not None:
            out["ri_liver_pct_summary"] = self.ri_liver_pct_summary.to_dict()
        if self.uncertainty is not None:
            out["uncertainty"] = self.uncertainty
        return out

    @classmethod
    def from_dict(cls, d: Doc) -> RetentionSection:
        summary = d.get("ri_liver_pct_summary")
        return cls(
            tuple(d["time_points_min"]),
            tuple(RetentionGroup.from_dict(g) for g in d["groups"]),
            tuple(d["ri_liver_pct"]) if "ri_liver_pct" in d else None,
            Summary.from_dict(summary) if summary is not None else None,
            d.get("uncertainty"),
        )
