"""Lesion quantification: SUVmax/peak/mean, MTV, TLG, TBR per lesion and time point,
multi-time-point matching and retention, the tidy measurement table."""

from petdx.quantify.align import (
    RigidTransform,
    estimate_rigid_transform,
    resample_labels,
    to_sitk,
)
from petdx.quantify.method import MethodSpec
from petdx.quantify.metrics import LesionMetrics, longest_diameter_mm, quantify_lesions
from petdx.quantify.peak import PeakResult, suv_peak_global, suv_peak_local
from petdx.quantify.pipeline import LesionSource, ReferenceSpec, ScanInput, quantify_visit
from petdx.quantify.pvc import PvcEstimate, two_compartment_pvc
from petdx.quantify.results import QuantificationResult, TimePointResult, write_table
from petdx.quantify.timepoints import (
    LesionMatch,
    MatchStatus,
    match_lesions,
    retention_index_pct,
    retention_index_pct_values,
)

__all__ = [
    "LesionMatch",
    "LesionMetrics",
    "LesionSource",
    "MatchStatus",
    "MethodSpec",
    "PeakResult",
    "PvcEstimate",
    "QuantificationResult",
    "ReferenceSpec",
    "RigidTransform",
    "ScanInput",
    "TimePointResult",
    "estimate_rigid_transform",
    "longest_diameter_mm",
    "match_lesions",
    "quantify_lesions",
    "quantify_visit",
    "resample_labels",
    "retention_index_pct",
    "retention_index_pct_values",
    "suv_peak_global",
    "suv_peak_local",
    "to_sitk",
    "two_compartment_pvc",
    "write_table",
]
