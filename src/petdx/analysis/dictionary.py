"""The data dictionary of the analysis sets (``results/analysis_dictionary.csv``).

One row per column of every analysis table petdx writes beside the report
(``analysis_patients``, ``analysis_lesions``, ``analysis_pdl1_lesions``, ``screening_log``):
its type, unit, code values with their labels and what it means. Columns copied from the
exchange format take its definitions (:data:`petdx.data_dictionary.TABLES`); derived columns
(:mod:`petdx.analysis.datasets`) are defined here, the per-time-point measurement columns by
pattern (``suv_max_60min``, ``comparator_...``, ``max_...``, ``ri_..._pct``,
``visual_score_<reader>``). A column without a definition is listed as such (a test keeps
the demo's sets fully defined).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

from petdx.data_dictionary import TABLES, Field, code_label

__all__ = ["UNDEFINED", "analysis_dictionary"]

UNDEFINED = "(no definition)"

#: Exchange tables whose fields the analysis sets carry, searched in this order.
_SOURCES = ("patients", "screening", "lesion_registry", "reference_standard", "pathology")

#: Derived columns, one a line: ``column | type | unit | description``.
_DERIVED_TABLE = """
enrolled | boolean |  | every eligibility criterion passed (docs/protocol.md)
age_years | integer | years | age at screening, whole years
bmi_kg_m2 | decimal | kg/m² | body-mass index, weight_kg / height_m²
index_scan_date | date |  | injection date of the index scan (survival's time zero)
visual_score | integer |  | the primary read's score (1-5): the visual index test
visual_positive | boolean |  | visual_score >= visual_score_at_least (study.toml)
n_lesions_non_primary | integer |  | registered non-primary (nodal/distant) lesions
n_malignant_non_primary | integer |  | non-primary lesions malignant by their reference standard
pdl1_tps_primary | decimal | % | PD-L1 tumour proportion score of the primary
pdl1_cps_primary | decimal |  | PD-L1 combined positive score of the primary
pdl1_positive_primary | boolean |  | the primary's PD-L1 score >= pdl1_cutoff (study.toml)
target | boolean |  | target condition (study.toml) present by the reference standard
pfs_months | decimal | months | progression-free survival time (days / 30.4375)
pfs_event | boolean |  | progression or death observed (false: censored)
os_months | decimal | months | overall survival time (days / 30.4375)
os_event | boolean |  | death observed (false: censored)
last_follow_up | date |  | date of the last follow-up record
uptake_group | code |  | highest non-primary SUVmax (first time point) above the median
non_primary | boolean |  | a nodal or distant lesion (not the primary tumour)
malignant | boolean |  | malignant by the lesion's reference standard
pdl1_positive | boolean |  | the lesion's own sample's PD-L1 score >= pdl1_cutoff
voi_diameter_mm | decimal | mm | equivalent-sphere diameter of the first scan's delineated volume
days_index_to_reference | integer | days | index scan to reference standard (STARD 22)
criterion_id | code |  | eligibility criterion (docs/protocol.md)
kind | code |  | inclusion or exclusion criterion
verdict | code |  | pass, fail or unknown (missing evidence counts as not passed)
evidence | string |  | the values the verdict rests on
"""

_DERIVED: dict[str, tuple[str, str, str]] = {
    name: (kind, unit, text)
    for name, kind, unit, text in (
        (part.strip() for part in line.split(" | ", 3))
        for line in _DERIVED_TABLE.strip().splitlines()
    )
}

_METRICS: dict[str, tuple[str, str]] = {
    "suv_max": ("g/ml", "SUVmax (body weight) of the lesion's VOI"),
    "suv_peak_global": ("g/ml", "SUVpeak: highest mean in a 1 cm³ sphere"),
    "suv_mean": ("g/ml", "SUVmean of the delineated lesion"),
    "volume_ml": ("ml", "metabolic volume of the delineated lesion"),
    "tbr_liver": ("ratio", "SUVmax / liver reference SUVmean"),
    "suv_mean_carried": ("g/ml", "SUVmean in the first scan's VOI carried to this scan"),
    "suv_mean_carried_noise_sd": ("g/ml", "image-noise SD of the carried-VOI SUVmean"),
    "suv_max_noise_sd": ("g/ml", "image-noise SD of SUVmax"),
}
#: Retention-index stems: ``ri_<stem>_pct`` and its noise CI and verdict (petdx.quantify.noise).
_RI_STEMS = {**{m: _METRICS[m][1] for m in _METRICS}, "voi_mean": "the carried-VOI SUVmean"}

# longest first, so that suv_mean_carried_noise_sd is not read as suv_mean
_ALTERNATIVES = "|".join(sorted(_METRICS, key=len, reverse=True))
_METRIC = re.compile(
    r"^(?P<max>max_)?(?P<comparator>comparator_)?(?P<metric>" + _ALTERNATIVES + r")_(?P<t>\d+)min$"
)
_RI = re.compile(
    r"^ri_(?P<stem>"
    + "|".join(sorted(_RI_STEMS, key=len, reverse=True))
    + r")_(?P<part>pct|ci_low_pct|ci_high_pct|verdict)$"
)
_READER = re.compile(r"^visual_score_(?P<reader>.+)$")


def _exchange_field(column: str) -> Field | None:
    for name in _SOURCES:
        table = TABLES[name]
        if column in table.field_names:
            return table.field(column)
    return None


def _values(allowed: tuple[str, ...] | None) -> str:
    if not allowed:
        return ""
    return "; ".join(
        f"{code} = {code_label(code)}" if code_label(code) != code else code for code in allowed
    )


def _define(column: str) -> tuple[str, str, str, str]:
    """(type, unit, values, description) of an analysis-set column."""
    if column in _DERIVED:
        kind, unit, text = _DERIVED[column]
        values = "high; low" if column == "uptake_group" else ""
        return kind, unit, values, text
    found = _exchange_field(column)
    if found is not None:
        return found.type.value, found.unit or "", _values(found.allowed), found.description
    if match := _METRIC.match(column):
        unit, text = _METRICS[match["metric"]]
        scan = "comparator-tracer" if match["comparator"] else "index-tracer"
        text = f"{text}, {scan} PET at {match['t']} min"
        if match["max"]:
            text = f"highest over the patient's non-primary lesions: {text}"
        return "decimal", unit, "", text
    if match := _RI.match(column):
        what = _RI_STEMS[match["stem"]].split(":")[0]
        text = f"retention index of {what} between the first two time points, (v2 - v1) / v1 x 100"
        part = match["part"]
        if part == "verdict":
            return (
                "code",
                "",
                "retained; washout; indeterminate",
                f"{text}: retained / washout when its image-noise 95 % CI lies above / below 0",
            )
        if part != "pct":
            bound = "lower" if part == "ci_low_pct" else "upper"
            text = f"{bound} bound of the image-noise 95 % CI of the {text}"
        return "decimal", "%", "", text
    if match := _READER.match(column):
        return "integer", "", "1-5", f"reader {match['reader']}'s score (1-5)"
    return "", "", "", UNDEFINED


def analysis_dictionary(tables: Mapping[str, pd.DataFrame]) -> list[dict[str, str]]:
    """Rows ``table, column, type, unit, values, description`` for every column of
    ``tables`` (name -> the analysis set as written)."""
    rows = []
    for name, frame in tables.items():
        for column in frame.columns:
            kind, unit, values, text = _define(str(column))
            rows.append(
                {
                    "table": name,
                    "column": str(column),
                    "type": kind,
                    "unit": unit,
                    "values": values,
                    "description": text,
                }
            )
    return rows
