"""The report's sections: tables (formatted strings) and figures (PNG data URIs) laid out from
the typed results of :mod:`petdx.analysis` (:class:`~petdx.analysis.results.AnalysisResults`,
as :func:`~petdx.analysis.results.load_results` reads them from ``results.json``). Nothing
here computes a statistic."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from petdx.analysis.results import (
    AccuracyEntry,
    AgreementEntry,
    AnalysisResults,
    Baseline,
    Flow,
    Pdl1Section,
    RetentionGroup,
    RetentionSection,
    RocSection,
    StudyInfo,
    Summary,
    SurvivalSection,
)
from petdx.data_dictionary import code_label
from petdx.report.figures import (
    CurveBand,
    KaplanMeierCurve,
    RocCurve,
    box_figure,
    figure_pdf,
    figure_png,
    figure_svg,
    forest_figure,
    kaplan_meier_figure,
    mip_figure,
    mip_window,
    paired_figure,
    roc_figure,
    scatter_figure,
)
from petdx.report.formatting import (
    fmt_count_of,
    fmt_estimate,
    fmt_iqr,
    fmt_median_survival,
    fmt_number,
    fmt_p,
)
from petdx.report.retention import retention_uncertainty
from petdx.report.stard import STARD_2015_ITEMS, IndexTestArm, StardFlow, flow_diagram
from petdx.stats.sample_size import buderer_sample_size
from petdx.study.config import StudyConfig
from petdx.study.layout import StudyLayout

__all__ = ["FigureBlock", "ReportContext", "build_context"]

_MEASURES = (
    ("sensitivity", "Sensitivity"),
    ("specificity", "Specificity"),
    ("accuracy", "Accuracy"),
    ("ppv", "PPV"),
    ("npv", "NPV"),
    ("lr_positive", "LR+"),
    ("lr_negative", "LR−"),
    ("dor", "Diagnostic odds ratio"),
)


@dataclass(frozen=True)
class FigureBlock:
    """A figure with its number, caption and alt text, drawn once in three formats: a
    300 dpi PNG (embedded in the HTML), SVG (embedded in the PDF, so the PDF's figures are
    vector) and PDF; all three are also written as files beside the report."""

    id: str
    caption: str
    alt: str
    png: bytes
    svg: bytes
    pdf: bytes
    #: The files' name in ``report/figures/`` (``figure-01-flow``, ``mip-SIM-0001``).
    stem: str

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode()

    @property
    def svg_uri(self) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg).decode()


def _block(id_: str, fig: Figure, caption: str, alt: str, stem: str) -> FigureBlock:
    return FigureBlock(id_, caption, alt, figure_png(fig), figure_svg(fig), figure_pdf(fig), stem)


@dataclass
class ReportContext:
    """Everything the template shows."""

    study: StudyInfo
    figures: dict[str, FigureBlock] = field(default_factory=dict)
    mips: list[FigureBlock] = field(default_factory=list)
    tables: dict[str, Any] = field(default_factory=dict)
    text: dict[str, Any] = field(default_factory=dict)
    checklist: list[dict[str, str | None]] = field(default_factory=list)
    provenance: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _add(ctx: ReportContext, key: str, fig: Figure, caption: str, alt: str) -> None:
    number = len(ctx.figures) + 1
    ctx.figures[key] = _block(
        f"fig-{key}", fig, f"Figure {number}. {caption}", alt, f"figure-{number:02d}-{key}"
    )


def _flow(ctx: ReportContext, flow: Flow, study: StudyInfo) -> None:
    reasons = tuple(
        (f"{r.text}{' (unknown)' if r.kind == 'unknown' else ''}", int(r.n))
        for r in flow.exclusion_reasons
    )
    arms = tuple(
        IndexTestArm(
            result=arm.result,
            n=arm.n,
            no_reference_standard=arm.no_reference_standard,
            reference_inconclusive=arm.reference_inconclusive,
            target_present=arm.target_present,
            target_absent=arm.target_absent,
        )
        for arm in flow.arms
    )
    diagram = StardFlow(
        index_test=f"{study.tracer} PET visual read",
        target_condition=_target_name(study),
        potentially_eligible=flow.potentially_eligible,
        excluded=flow.excluded,
        exclusion_reasons=reasons,
        index_test_not_performed=flow.index_test_not_performed,
        not_performed_reasons=tuple((r.reason, r.n) for r in flow.not_performed_reasons),
        arms=arms,
    )
    _add(
        ctx,
        "flow",
        flow_diagram(diagram),
        "STARD 2015 flow of participants (patient level). Exclusion reasons count every "
        "criterion a patient fails, so they may add up to more than the excluded; "
        "'(unknown)' counts patients excluded only because evidence was missing.",
        "Flow diagram of participants",
    )
    ctx.tables["flow_reasons"] = flow.exclusion_reasons


def _target_name(study: StudyInfo) -> str:
    if study.target_condition == "malignancy":
        return "Nodal/distant malignancy"
    return f"PD-L1 {study.pdl1_score.upper()} >= {study.pdl1_cutoff:g}"


def _value_label(value: Any) -> str:
    """A category as people read it: a code's label from the data dictionary; booleans as
    Yes/No (the target condition and PD-L1 status are stored as true/false)."""
    if isinstance(value, bool) or str(value).lower() in ("true", "false"):
        return "Yes" if str(value).lower() == "true" else "No"
    return code_label(str(value))


def _baseline(ctx: ReportContext, b: Baseline, interval_days: Mapping[str, Summary]) -> None:
    rows: list[tuple[str, str]] = [("Patients enrolled", str(b.n))]
    rows.append(("Age, years, median (IQR)", fmt_iqr(b.age_years, 0)))
    for label, counts in (
        ("Sex", b.sex),
        ("Tumour type", b.tumour_type),
        ("ECOG performance status", b.ecog),
        ("PD-L1 of the primary", b.pdl1_positive_primary),
        ("Target condition", b.target_present),
    ):
        for item in counts:
            rows.append((f"{label}: {_value_label(item.value)}", fmt_count_of(item.n, b.n)))
    rows += [
        ("Weight, kg, median (IQR)", fmt_iqr(b.weight_kg)),
        ("Height, m, median (IQR)", fmt_iqr(b.height_m, 2)),
        ("BMI, kg/m², median (IQR)", fmt_iqr(b.bmi_kg_m2)),
        ("Non-primary lesions per patient, median (IQR)", fmt_iqr(b.lesions_non_primary, 0)),
    ]
    for tracer, summary in b.administered_activity_mbq.items():
        rows.append(
            (f"Injected activity, {code_label(tracer)}, MBq, median (IQR)", fmt_iqr(summary, 0))
        )
    for label, summary in b.uptake_min.items():
        tracer, _, time_point = label.partition(" ")
        rows.append(
            (
                f"Uptake time, {code_label(tracer)} {time_point}, min, median (IQR)",
                fmt_iqr(summary, 0),
            )
        )
    ctx.tables["baseline"] = rows
    ctx.tables["interval"] = [
        (_value_label(name), str(s.n), fmt_iqr(s, 0)) for name, s in interval_days.items()
    ]


def _method_with_dropped(measure: Mapping[str, Any]) -> str:
    """The interval method, with what was done to bootstrap replicates whose ratio had a
    zero denominator (corrected, :func:`petdx.stats.clustered._bootstrap_ratios`) or that
    had no diseased or no non-diseased unit (left out), beside it rather than only in the
    notes at the end."""
    method = str(measure.get("method") or "")
    notes = []
    for warning in measure.get("warnings") or ():
        text = warning.split(": ", 1)[-1]
        count = text.split(" bootstrap replicates", 1)[0]
        if "bootstrap replicates had a zero denominator" in text:
            notes.append(f"{count} replicates with a zero denominator corrected (0.5 added)")
        elif "bootstrap replicates had no" in text:
            what = text.split(" had no ", 1)[1].split(" and were left out", 1)[0]
            notes.append(f"{count} replicates left out (no {what})")
    return "; ".join([method, *notes]) if notes else method


def _count_of(measure: Mapping[str, Any]) -> str:
    """n/N (%) of a proportion (its numerator and denominator); blank for a ratio measure
    (likelihood ratios and the odds ratio have no numerator)."""
    numerator = measure.get("numerator")
    return "" if numerator is None else fmt_count_of(numerator, measure.get("n"))


def _accuracy(ctx: ReportContext, accuracy: Sequence[AccuracyEntry]) -> None:
    blocks = []
    for entry in accuracy:
        r = entry.result
        counts = r["counts"]
        tp, fp, fn, tn = (int(counts[k]) for k in ("tp", "fp", "fn", "tn"))
        blocks.append(
            {
                "title": f"{entry.level.capitalize()} level — {entry.test}",
                "pre_specified": entry.pre_specified,
                "counts": counts,
                "totals": {
                    "positive": tp + fp,
                    "negative": fn + tn,
                    "present": tp + fn,
                    "absent": fp + tn,
                    "n": tp + fp + fn + tn,
                },
                "prevalence": fmt_count_of(tp + fn, tp + fp + fn + tn),
                "unit": "lesions" if entry.level == "lesion" else "patients",
                "n_clusters": r.get("n_clusters"),
                "ci_method": r["ci_method"],
                "rows": [
                    (
                        label,
                        _count_of(r["measures"][key]),
                        fmt_estimate(r["measures"][key]),
                        _method_with_dropped(r["measures"][key]),
                    )
                    for key, label in _MEASURES
                    if key in r["measures"]
                ],
            }
        )
    ctx.tables["accuracy"] = blocks


def _roc(ctx: ReportContext, roc: RocSection, study: StudyInfo) -> None:
    rows = []
    for entry in [*roc.lesion, *roc.patient]:
        r = entry.result
        cutoff = entry.cutoff or r.get("cutoff") or {}
        threshold = cutoff.get("threshold")
        rows.append(
            {
                "level": entry.level,
                "label": entry.label,
                "auc": fmt_estimate(
                    {"estimate": r["auc"], "ci_low": r["ci_low"], "ci_high": r["ci_high"]}
                ),
                "method": r["ci_method"],
                "n": f"{r['n_positive']} / {r['n_negative']}"
                + (f" ({r['n_clusters']} patients)" if r.get("n_clusters") else ""),
                "cutoff": "—"
                if threshold is None
                else f"≥ {fmt_number(cutoff.get('midpoint_threshold', threshold), 2)}: Se "
                f"{fmt_estimate(cutoff.get('sensitivity'))}, "
                f"Sp {fmt_estimate(cutoff.get('specificity'))}",
            }
        )
    ctx.tables["roc"] = rows
    ctx.tables["roc_comparisons"] = [
        {
            "label": f"{c.result['label_1']} vs {c.result['label_2']}",
            "difference": fmt_estimate(
                {
                    "estimate": c.result["difference"],
                    "ci_low": c.result["ci_low"],
                    "ci_high": c.result["ci_high"],
                },
                3,
            ),
            "p": fmt_p(c.result["p_value"]),
            "method": c.result["method"],
        }
        for c in roc.comparisons
    ]
    by_time: dict[str, list[RocCurve]] = {}
    first_time = f"{study.time_points_min[0]} min" if study.time_points_min else None
    for entry in roc.lesion:
        label = entry.label
        group = (
            "comparator"
            if entry.column.startswith("comparator_")
            else (label.split()[-2] + " min" if label.endswith("min") else "visual")
        )
        curve = entry.result["curve"]
        band = entry.band
        by_time.setdefault(group, []).append(
            RocCurve(
                f"{label} (AUC {entry.result['auc']:.2f})",
                1.0 - np.asarray(curve["specificity"], dtype=float),
                np.asarray(curve["sensitivity"], dtype=float),
                band=CurveBand(
                    1.0 - np.asarray(band["specificity"], dtype=float),
                    np.asarray(band["ci_low"], dtype=float),
                    np.asarray(band["ci_high"], dtype=float),
                )
                if band
                else None,
            )
        )
    for group, curves in by_time.items():
        if group in ("visual", "comparator"):
            continue
        visual = by_time.get("visual", [])
        shown = (visual if group == first_time else []) + curves
        _add(
            ctx,
            f"roc-{group.replace(' ', '')}",
            roc_figure(shown, title=f"Lesion-level ROC, {group}"),
            f"Lesion-level ROC curves at {group} (non-primary lesions, patients as clusters); "
            "shaded: 95 % cluster-bootstrap band of sensitivity at each specificity.",
            f"ROC curves at {group}",
        )
    if "comparator" in by_time:
        first = [
            c
            for c in by_time.get(first_time or "", [])
            if "SUVmax" in c.label and "liver" not in c.label
        ]
        _add(
            ctx,
            "roc-comparator",
            roc_figure(
                first[:1] + by_time["comparator"],
                title=f"{study.tracer} vs {study.comparator_tracer}",
            ),
            "SUVmax ROC curves of the index tracer and the comparator on the same lesions.",
            "ROC comparison of the two tracers",
        )


def _pdl1(ctx: ReportContext, pdl1: Pdl1Section) -> None:
    if not pdl1.groups:
        return
    groups = [(g.label, list(g.values)) for g in pdl1.groups if g.values]
    if groups:
        _add(
            ctx,
            "pdl1-box",
            box_figure(groups, ylabel="SUVmax (g/ml)", title="Uptake by PD-L1 status"),
            "SUVmax of sampled malignant lesions by PD-L1 status of the lesion's own sample.",
            "Box plot of SUVmax by PD-L1 status",
        )
    rows = []
    for key, name, entry in (("pdl1_tps_pct", "TPS (%)", pdl1.tps), ("pdl1_cps", "CPS", pdl1.cps)):
        if entry is None or not entry.x:
            continue
        rho = entry.spearman or {}
        effect = rho.get("effect") or {}
        note = f"Spearman rho {fmt_estimate(effect)}, {fmt_p(rho.get('p_value'))}"
        rows.append(
            (
                name,
                str(len(entry.x)),
                fmt_estimate(effect),
                fmt_p(rho.get("p_value")),
                effect.get("method", ""),
            )
        )
        _add(
            ctx,
            f"pdl1-{key}",
            scatter_figure(
                list(entry.x),
                list(entry.y),
                xlabel=f"PD-L1 {name}",
                ylabel="SUVmax (g/ml)",
                title=f"Uptake vs PD-L1 {name}",
                annotation=note,
            ),
            f"SUVmax against PD-L1 {name} (sampled malignant lesions).",
            f"Scatter of SUVmax vs {name}",
        )
    ctx.tables["pdl1"] = rows
    target = pdl1.as_target
    if target and (target.roc or target.accuracy):
        ctx.tables["pdl1_target"] = {
            "target": target.target,
            "set": f"{target.lesions} malignant lesions with a PD-L1 result "
            f"({target.positive} positive) in {target.patients} patients",
            "rows": [
                (
                    e.label,
                    "AUC",
                    fmt_estimate(
                        {
                            "estimate": e.result["auc"],
                            "ci_low": e.result["ci_low"],
                            "ci_high": e.result["ci_high"],
                        }
                    ),
                    e.result["ci_method"],
                )
                for e in target.roc
            ]
            + [
                (a.test, label, fmt_estimate(measure), measure["method"])
                for a in target.accuracy
                for key, label in _MEASURES[:2]
                if (measure := a.result["measures"].get(key))
            ],
        }


def _retention(ctx: ReportContext, retention: RetentionSection) -> None:
    groups = retention.groups
    if not groups:
        return
    t1, t2 = retention.time_points_min
    _add(
        ctx,
        "retention-paired",
        paired_figure(
            [(g.label, list(g.suv_max_t1), list(g.suv_max_t2)) for g in groups],
            labels=(f"{t1} min", f"{t2} min"),
            ylabel="SUVmax (g/ml)",
            title="Lesion uptake at both time points",
        ),
        f"SUVmax of each lesion at {t1} and {t2} min, by lesion class "
        "(solid: rising, dashed: falling).",
        "Paired plot of SUVmax at two time points",
    )
    box = [(g.label, [v for v in g.ri_suv_max_pct if v is not None]) for g in groups]
    if retention.ri_liver_pct:
        box.append(("liver reference", list(retention.ri_liver_pct)))
    _add(
        ctx,
        "retention-ri",
        box_figure(box, ylabel="Retention index (%)", title="Retention index"),
        f"Retention index RI = (SUVmax {t2} min − SUVmax {t1} min) / SUVmax {t1} min × 100 %, by "
        "lesion class, and of the liver reference region's mean.",
        "Box plot of retention index",
    )
    ctx.tables["retention"] = [
        (g.label, str(len(g.suv_max_t1)), fmt_iqr(g.ri_suv_max_pct_summary, 1, "%"), _wilcoxon(g))
        for g in groups
    ]
    liver = retention.ri_liver_pct_summary
    if liver is not None:
        ctx.tables["retention"].append(
            ("liver reference", str(liver.n), fmt_iqr(liver, 1, "%"), "—")
        )
    if retention.uncertainty is not None:
        retention_uncertainty(ctx, retention.uncertainty, (t1, t2), _add)


def _wilcoxon(group: RetentionGroup) -> str:
    test = group.wilcoxon or {}
    if test.get("statistic") is None:
        return "—"
    return f"V = {test['statistic']:.0f}, {fmt_p(test['p_value'])}"


def _agreement(ctx: ReportContext, agreement: Sequence[AgreementEntry]) -> None:
    rows = []
    for entry in agreement:
        r = entry.result
        kappa = r["kappa"]
        rows.append(
            (
                entry.level,
                " vs ".join(entry.readers),
                entry.weights,
                str(entry.n),
                fmt_estimate(kappa),
                kappa.get("method", ""),
            )
        )
    ctx.tables["agreement"] = rows


def _survival(ctx: ReportContext, survival: SurvivalSection) -> None:
    rows, cox_rows = [], []
    forest = []
    for n, endpoint in enumerate(survival.endpoints):
        curves = []
        times: tuple[float, ...] = ()
        for g in endpoint.groups:
            times = tuple(g.get("at_risk_times", ()))
            curves.append(
                KaplanMeierCurve(
                    label=f"{g['label']} uptake (n = {g['n']})",
                    times=np.asarray(g["times"], dtype=float),
                    survival=np.asarray(g["survival"], dtype=float),
                    lower=np.asarray(
                        [np.nan if v is None else v for v in g["ci_low"]], dtype=float
                    ),
                    upper=np.asarray(
                        [np.nan if v is None else v for v in g["ci_high"]], dtype=float
                    ),
                    at_risk=tuple(int(v) for v in g.get("at_risk", ())),
                    at_risk_label=f"{g['label']} uptake",
                )
            )
            rows.append(
                (
                    endpoint.endpoint,
                    g["label"],
                    str(g["n"]),
                    str(g["events"]),
                    fmt_median_survival(g["median"], 1),
                )
            )
        logrank = endpoint.logrank or {}
        note = f"log-rank {fmt_p(logrank.get('p_value'))}" if logrank else None
        if curves:
            _add(
                ctx,
                f"km-{n}",
                kaplan_meier_figure(
                    curves,
                    title=endpoint.endpoint,
                    time_unit="months",
                    ylabel=f"{endpoint.endpoint} probability",
                    at_risk_times=times,
                    annotation=note,
                ),
                f"Kaplan-Meier {endpoint.endpoint.lower()} by uptake group (highest non-primary "
                "SUVmax above/below the cohort median), 95 % pointwise intervals (log transform), "
                "numbers at risk below.",
                f"Kaplan-Meier curves of {endpoint.endpoint}",
            )
        cox = endpoint.cox or {}
        for term in cox.get("terms", []):
            hr = term["hazard_ratio"]
            cox_rows.append(
                (
                    endpoint.endpoint,
                    term["term"],
                    fmt_estimate(hr),
                    fmt_p(term["p_value"]),
                    fmt_p(term.get("ph_test_p")),
                )
            )
            if hr and hr.get("ci_low") and hr.get("ci_high"):
                short = "".join(w[0] for w in endpoint.endpoint.replace("-", " ").split()).upper()
                forest.append(
                    (
                        f"{term['term']} ({short})",
                        hr["estimate"],
                        hr["ci_low"],
                        hr["ci_high"],
                    )
                )
        ctx.text[f"logrank_{n}"] = note
    ctx.tables["km"] = rows
    ctx.tables["cox"] = cox_rows
    if forest:
        _add(
            ctx,
            "forest",
            forest_figure(
                forest, title="Cox proportional hazards", xlabel="Hazard ratio (95 % CI), log scale"
            ),
            "Hazard ratios of the multivariable Cox models (Efron ties).",
            "Forest plot of hazard ratios",
        )


def _mips(ctx: ReportContext, study_root: Path, study: StudyInfo, patients: Sequence[str]) -> None:
    """One coronal MIP per patient (first index scan), windowed on the patient's liver
    reference (:func:`~petdx.report.figures.mip_window`), lesions outlined and named."""
    t = study.time_points_min[0] if study.time_points_min else None
    layout = StudyLayout(study_root)
    for patient in patients:
        if t is None:
            continue
        path = layout.scan_mip(patient, study.tracer, int(t))
        if not path.exists():
            continue
        names = _lesion_names(path.parent / "labels.json", patient)
        with np.load(path) as data:
            window, note = mip_window(
                data["suv_mip"], _liver_mean(layout.patient_summary(patient), study.tracer, t)
            )
            fig = mip_figure(
                data["suv_mip"],
                tuple(data["spacing_mm"]),
                label_mip=data["label_mip"],
                title=patient,
                suv_window=window,
                window_note=note,
                lesion_names=names,
                affine=data["affine"] if "affine" in data.files else None,
            )
        lesions = ", ".join(names.values()) or "no registered lesion"
        ctx.mips.append(
            _block(
                f"mip-{patient}",
                fig,
                patient,
                f"Coronal maximum-intensity projection of {patient}, {code_label(study.tracer)} "
                f"{t} min, SUV 0 to {window:.1f}; outlined lesions: {lesions}",
                f"mip-{patient}",
            )
        )


def _lesion_names(labels_json: Path, patient: str) -> dict[int, str]:
    """Label value -> lesion ID without the patient's prefix (``SIM-0001-L02`` -> ``L02``)."""
    if not labels_json.exists():
        return {}
    names = json.loads(labels_json.read_text(encoding="utf-8"))
    return {int(k): str(v).removeprefix(f"{patient}-") for k, v in names.items()}


def _liver_mean(summary_json: Path, tracer: str, time_point: float) -> float | None:
    """The liver reference's mean SUV on that scan, from the quantify stage's summary."""
    if not summary_json.exists():
        return None
    for scan in json.loads(summary_json.read_text(encoding="utf-8")).get("scans", []):
        if scan.get("tracer") == tracer and scan.get("time_point_min") == time_point:
            value = scan.get("liver_mean_suv")
            return None if value is None else float(value)
    return None


#: Where the report answers a STARD 2015 item: (text, status, anchor of the answering section or
#: paragraph in report.html.j2). A test checks that every anchor exists in the written report.
_CHECKLIST_WHERE: dict[str, tuple[str, str, str | None]] = {
    "1": ("Title", "report", None),
    "6": ("Methods: participants and eligibility", "report", "methods-eligibility"),
    "10a": ("Methods: index test", "report", "methods-index-test"),
    "10b": ("Methods: reference standard", "report", "methods-reference-standard"),
    "12a": (
        "Methods: index test (pre-specified cut-offs); ROC analysis (exploratory cut-offs)",
        "report",
        "methods-index-test",
    ),
    "12b": ("Methods: reference standard categories", "report", "methods-reference-standard"),
    "13a": (
        "Methods: visual reads (reads imported: the authors state what readers saw)",
        "partly",
        "methods-reads",
    ),
    "14": ("Methods: statistics", "report", "methods-statistics"),
    "15": ("Methods: indeterminate results", "report", "methods-indeterminate"),
    "16": ("Methods: missing data", "report", "methods-missing"),
    "17": ("Results: inter-reader agreement (pre-specified)", "report", "agreement"),
    "19": ("Results: flow diagram", "report", "flow"),
    "20": ("Results: baseline characteristics", "report", "flow"),
    "21a": ("Results: baseline (target condition, lesions per patient)", "partly", "flow"),
    "21b": (
        "Results: lesions without the target condition (benign lesions)",
        "partly",
        "retention",
    ),
    "22": ("Results: interval between index test and reference standard", "report", "flow"),
    "23": ("Results: 2x2 tables", "report", "accuracy"),
    "24": ("Results: accuracy estimates with 95 % CIs", "report", "accuracy"),
}


def _checklist(config: StudyConfig) -> list[dict[str, str | None]]:
    where_for = dict(_CHECKLIST_WHERE)
    if config.sample_size.intended is not None:
        where_for["18"] = (
            "Methods: intended sample size"
            + (
                ""
                if config.sample_size.basis or config.sample_size.planning
                else " (how it was determined: not given)"
            ),
            "report" if config.sample_size.basis or config.sample_size.planning else "partly",
            "methods-sample-size",
        )
    else:
        where_for["18"] = (
            "Not given (study.toml [sample_size] intended and basis)",
            "authors",
            "methods-sample-size",
        )
    where_for["28"] = (
        (f"Registration: {config.registration}", "report", "registration")
        if config.registration
        else (
            "Registration number not given (study.toml [registration] number)",
            "authors",
            "registration",
        )
    )
    rows: list[dict[str, str | None]] = []
    for item in STARD_2015_ITEMS:
        where, status, anchor = where_for.get(
            item.number, ("Needs the authors' words", "authors", None)
        )
        rows.append(
            {
                "number": item.number,
                "section": item.section,
                "text": item.text,
                "where": where,
                "status": status,
                "anchor": anchor,
            }
        )
    return rows


def build_context(
    results: AnalysisResults,
    *,
    study_root: Path,
    patients: Sequence[str],
    provenance: Sequence[tuple[str, str]],
    methods: Mapping[str, Any],
    config: StudyConfig | None = None,
) -> ReportContext:
    """Lay out every section of the report from the analysis results (``config``: the
    study's registration and intended sample size; none given by default)."""
    config = config or StudyConfig()
    study = results.study
    ctx = ReportContext(study=study, provenance=list(provenance), problems=list(results.problems))
    ctx.text["target"] = _target_name(study)
    ctx.text["methods"] = methods
    ctx.text["analysis_sets"] = results.analysis_sets
    ctx.text["headline"] = results.headline
    # as in results.json: sorted keys
    ctx.text["results_json"] = json.dumps(study.to_dict(), indent=1, sort_keys=True)
    _flow(ctx, results.flow, study)
    _baseline(ctx, results.baseline, results.interval_days)
    _accuracy(ctx, results.accuracy)
    _roc(ctx, results.roc, study)
    _pdl1(ctx, results.pdl1)
    _retention(ctx, results.retention)
    _agreement(ctx, results.agreement)
    _survival(ctx, results.survival)
    _mips(ctx, study_root, study, patients)
    ctx.text["trial"] = _trial(config, results.flow.enrolled)
    ctx.checklist = _checklist(config)
    return ctx


def _trial(config: StudyConfig, enrolled: int) -> dict[str, Any]:
    """Registration (STARD 28) and the intended sample size (STARD 18) as study.toml gives
    them; the size by Buderer's formula when the planning values are given."""
    plan = config.sample_size
    buderer = None
    if plan.planning is not None:
        se, sp, prevalence, precision = plan.planning
        buderer = buderer_sample_size(
            sensitivity=se, specificity=sp, prevalence=prevalence, precision=precision
        )
    return {
        "registration": config.registration,
        "intended": plan.intended,
        "basis": plan.basis,
        "buderer": buderer,
        "enrolled": enrolled,
    }
