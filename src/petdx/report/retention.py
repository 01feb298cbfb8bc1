"""The report's "Retention with its uncertainty" block (issue 17): verdict shares per lesion
class, the noise floor per VOI size class, the cohort-level test and the per-lesion CI plot.
Everything is computed in petdx.analysis (``RetentionSection.uncertainty``); laid out here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure

from petdx.report.figures import interval_figure
from petdx.report.formatting import fmt_p

if TYPE_CHECKING:
    from petdx.report.sections import ReportContext

__all__ = ["retention_uncertainty"]

#: ``sections._add``: (context, key, figure, caption, alt text).
AddFigure = Callable[["ReportContext", str, Figure, str, str], None]


def retention_uncertainty(
    ctx: ReportContext, doc: Mapping[str, Any], times: tuple[int, int], add: AddFigure
) -> None:
    """Issue 17: verdict shares, noise floor, the cohort test and the per-lesion CI plot
    (all computed in petdx.analysis; laid out here)."""
    ctx.tables["retention_verdicts"] = [
        (
            v["group"],
            str(v["n"]),
            *(_share(v[k], v["n"]) for k in ("retained", "washout", "indeterminate")),
            str(v["no_ci"]),
        )
        for v in doc["verdicts"]
    ]
    ctx.tables["retention_floor"] = [
        (f["size"], str(f["n"]), f"{f['median_half_width_pct']:.1f} %") for f in doc["noise_floor"]
    ]
    test = doc.get("cohort_test") or {}
    rows = []
    for key in ("primary", "secondary"):
        entry = test.get(key) or {}
        effect = entry.get("effect") or {}
        if effect.get("estimate") is None:
            rows.append((entry.get("name", key), "—", "—", "—", "—"))
            continue
        rows.append(
            (
                entry["name"],
                f"{effect['estimate']:.1f}",
                f"{effect['ci_low']:.1f} to {effect['ci_high']:.1f}",
                fmt_p(entry["p_value"]),
                f"{effect['n']} ({effect['n_clusters']})",
            )
        )
    for entry in test.get("descriptive", ()):
        rows.append(
            (
                f"{entry['name']} (Wilcoxon rank-sum, descriptive)",
                "—",
                "—",
                fmt_p(entry["p_value"]),
                str(entry["n"]),
            )
        )
    ctx.tables["retention_test"] = rows
    points = [
        (p["group"], p["ri_pct"], p["ci_low_pct"], p["ci_high_pct"])
        for p in doc["lesions"]
        if p["ci_low_pct"] is not None and p["ci_high_pct"] is not None
    ]
    if points:
        add(
            ctx,
            "retention-ci",
            interval_figure(
                points, ylabel="Retention index (%)", title="Per-lesion retention with 95 % CI"
            ),
            f"Retention index of each lesion's {times[0]}-min VOI mean carried to {times[1]} min, "
            "with its 95 % CI from image noise (petdx.quantify.noise), by lesion class.",
            "Per-lesion retention index with confidence intervals",
        )


def _share(k: int, n: int) -> str:
    return f"{k} ({100 * k / n:.0f} %)" if n else "0"
