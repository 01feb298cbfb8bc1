"""``petdx stats ...``: primary-outcome statistics from CSV tables (or counts).

Every column is named by the caller; cells are validated with row-numbered errors (header =
row 1). A refused input prints the reason on stderr and exits with status 2. Tables go to
stdout, or one JSON document with ``--json`` (schemas in docs/stats.md); warnings go to
stderr.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from petdx.cli._console import ExitCode, err_console, error_text, out_console
from petdx.errors import PetdxError, PetdxWarning
from petdx.jsonsafe import MISSING, dumps, json_ready
from petdx.stats import (
    BinomialCi,
    ClusteredCi,
    CutoffRule,
    Estimate,
    KappaWeights,
    KmConfType,
    MissingData,
    RocDirection,
    SpearmanCi,
    accuracy_from_labels,
    auc_power,
    bland_altman,
    buderer_sample_size,
    clustered_accuracy,
    cohen_kappa,
    compare_aucs,
    cox_regression,
    diagnostic_accuracy,
    fleiss_kappa,
    icc,
    kaplan_meier,
    logrank_test,
    roc_analysis,
    spearman,
    summaries,
)
from petdx.stats.accuracy import AccuracyResult
from petdx.stats.results import format_number, format_p
from petdx.stats.retention import RetentionTests, retention_tests
from petdx.stats.table import CsvTable, LeftOutRows, code_key, code_text

__all__ = ["stats_app"]

stats_app = typer.Typer(
    name="stats",
    help="Primary-outcome statistics: accuracy, ROC, survival, agreement, sample size.",
    no_args_is_help=True,
)
sample_size_app = typer.Typer(help="Sample size and power.", no_args_is_help=True)
stats_app.add_typer(sample_size_app, name="sample-size")

T = TypeVar("T")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
ConfidenceOpt = Annotated[
    float, typer.Option("--confidence", help="Two-sided confidence level of every interval.")
]
SeedOpt = Annotated[int, typer.Option(help="Seed of the bootstrap (results are reproducible).")]
MissingOpt = Annotated[
    MissingData,
    typer.Option(
        "--missing",
        help="A row missing a value (empty, NA, NaN) in a column the analysis uses: "
        "exclude leaves it out and reports it (R's default); error refuses the table.",
    ),
]


@contextmanager
def _guarded() -> Iterator[None]:
    """Turn refused input into exit 2; print petdx warnings on stderr once each."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PetdxWarning)
        try:
            yield
        except PetdxError as exc:
            err_console.print(f"[red]error:[/] {escape(error_text(exc))}")
            raise typer.Exit(ExitCode.BAD_INPUT) from None
        finally:
            seen: set[str] = set()
            for w in caught:
                if issubclass(w.category, PetdxWarning) and str(w.message) not in seen:
                    seen.add(str(w.message))
                    err_console.print(f"[yellow]warning:[/] {escape(str(w.message))}")


def _fail(message: str) -> None:
    err_console.print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(ExitCode.BAD_INPUT)


def _emit(document: Any, as_json: bool, render: Callable[[], None]) -> None:
    if as_json:
        typer.echo(dumps(document))
    else:
        render()


def _with_missing(document: dict[str, Any], left: LeftOutRows | None) -> dict[str, Any]:
    """``document`` with the record of the rows left out (``"missing"``; None for counts)."""
    return {**document, "missing": None if left is None else left.to_dict()}


def _print_left_out(left: LeftOutRows | None) -> None:
    if left is not None:
        out_console.print(str(left), markup=False)


def _ci(low: float, high: float) -> str:
    if math.isnan(low) and math.isnan(high):
        return MISSING
    return f"{format_number(low)} to {format_number(high)}"


def _estimate_table(title: str, estimates: dict[str, Estimate], level: float) -> Table:
    table = Table(title=title)
    for name in ("Measure", "Estimate", f"{100 * level:g}% CI", "n", "Method"):
        table.add_column(name, overflow="fold")
    for name, e in estimates.items():
        n = f"{e.numerator}/{e.n}" if e.numerator is not None else str(e.n)
        if e.n_clusters is not None:
            n += f" ({e.n_clusters} patients)"
        table.add_row(
            name, format_number(e.estimate), _ci(e.ci_low, e.ci_high), n, escape(e.method)
        )
    return table


# --------------------------------------------------------------------------- accuracy


@stats_app.command("accuracy")
def accuracy_command(
    data: Annotated[
        Path | None, typer.Argument(help="CSV table with one row per unit (or give counts).")
    ] = None,
    tp: Annotated[int | None, typer.Option("--tp", help="True positives.")] = None,
    fp: Annotated[int | None, typer.Option("--fp", help="False positives.")] = None,
    fn: Annotated[int | None, typer.Option("--fn", help="False negatives.")] = None,
    tn: Annotated[int | None, typer.Option("--tn", help="True negatives.")] = None,
    truth: Annotated[str | None, typer.Option(help="Column of the reference standard.")] = None,
    positive: Annotated[
        str | None, typer.Option(help="Value of --truth that marks disease.")
    ] = None,
    test: Annotated[str | None, typer.Option(help="Column of the test result.")] = None,
    test_positive: Annotated[
        str | None, typer.Option(help="Value of --test that marks a positive test.")
    ] = None,
    cluster: Annotated[
        str | None, typer.Option(help="Column of the patient id (lesion-level data).")
    ] = None,
    ci: Annotated[BinomialCi, typer.Option(help="Interval of the proportions.")] = (
        BinomialCi.EXACT
    ),
    clustered_ci: Annotated[
        ClusteredCi, typer.Option(help="Interval of the proportions with --cluster.")
    ] = ClusteredCi.RAO_SCOTT,
    prevalence: Annotated[
        float | None, typer.Option(help="Also give PPV and NPV at this prevalence.")
    ] = None,
    bootstrap: Annotated[
        int, typer.Option(help="Replicates of the patient bootstrap (with --cluster).")
    ] = 2000,
    seed: SeedOpt = 0,
    confidence: ConfidenceOpt = 0.95,
    missing: MissingOpt = MissingData.EXCLUDE,
    as_json: JsonOpt = False,
) -> None:
    """Sensitivity, specificity, accuracy, PPV, NPV, LR+, LR-, DOR and Youden's J with CIs.

    Give either the four counts (--tp --fp --fn --tn) or a CSV table with --truth/--positive
    and --test/--test-positive. With --cluster (lesions in patients) the intervals account for
    the clustering.
    """
    counts = (tp, fp, fn, tn)
    csv_options = (truth, positive, test, test_positive)
    left: LeftOutRows | None = None
    with _guarded():
        if data is None:
            if any(c is None for c in counts) or any(o is not None for o in csv_options):
                _fail(
                    "give all four counts --tp --fp --fn --tn, or a CSV table with --truth, "
                    "--positive, --test and --test-positive."
                )
            assert tp is not None
            assert fp is not None
            assert fn is not None
            assert tn is not None
            if cluster is not None:
                _fail("--cluster needs a CSV table (one row per lesion), not counts.")
            result: AccuracyResult = diagnostic_accuracy(
                tp, fp, fn, tn, ci_method=ci, confidence_level=confidence, prevalence=prevalence
            )
        else:
            if any(c is not None for c in counts) or any(o is None for o in csv_options):
                _fail(
                    "with a CSV table give --truth, --positive, --test and --test-positive "
                    "(and no counts)."
                )
            assert truth is not None
            assert positive is not None
            assert test is not None
            assert test_positive is not None
            used = [truth, test] + ([cluster] if cluster is not None else [])
            table, left = CsvTable.read(data).complete_cases(used, missing=missing)
            t = table.binary(truth, positive, what="positive")
            r = table.binary(test, test_positive, what="test-positive")
            if cluster is None:
                result = accuracy_from_labels(
                    t, r, ci_method=ci, confidence_level=confidence, prevalence=prevalence
                )
            else:
                ids = table.text(cluster)
                result = clustered_accuracy(
                    t,
                    r,
                    ids,
                    method=clustered_ci,
                    confidence_level=confidence,
                    n_bootstrap=bootstrap,
                    seed=seed,
                )
    measures = result.measures()
    c = result.counts
    title = f"Diagnostic accuracy (TP {c.tp}, FP {c.fp}, FN {c.fn}, TN {c.tn})"

    def render() -> None:
        out_console.print(_estimate_table(title, measures, confidence))
        _print_left_out(left)

    _emit(_with_missing(summaries.accuracy_summary(result), left), as_json, render)


# --------------------------------------------------------------------------- roc


def _roc_inputs(
    table: CsvTable, truth: str, positive: str, scores: list[str], cluster: str | None
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray | None]:
    t = table.binary(truth, positive, what="positive")
    table.require_both(truth, t, positive)
    values = {s: table.numeric(s, allow_empty=True) for s in scores}
    ids = table.text(cluster) if cluster is not None else None
    return t, values, ids


@stats_app.command("roc")
def roc_command(
    data: Annotated[Path, typer.Argument(help="CSV table with one row per unit.")],
    truth: Annotated[str, typer.Option(help="Column of the reference standard.")],
    positive: Annotated[str, typer.Option(help="Value of --truth that marks disease.")],
    score: Annotated[list[str], typer.Option(help="Column of a score; repeat for a second score.")],
    paired: Annotated[
        bool, typer.Option(help="The two scores were read on the same units (paired test).")
    ] = False,
    cluster: Annotated[
        str | None, typer.Option(help="Column of the patient id (Obuchowski's method).")
    ] = None,
    direction: Annotated[
        RocDirection, typer.Option(help="higher: score >= threshold is positive.")
    ] = RocDirection.HIGHER,
    bootstrap: Annotated[
        int, typer.Option(help="Bootstrap replicates for the AUC and cut-off CIs (0: none).")
    ] = 0,
    seed: SeedOpt = 0,
    cutoff: Annotated[CutoffRule, typer.Option(help="Rule of the optimal cut-off.")] = (
        CutoffRule.YOUDEN
    ),
    confidence: ConfidenceOpt = 0.95,
    missing: MissingOpt = MissingData.EXCLUDE,
    as_json: JsonOpt = False,
) -> None:
    """ROC curves: AUC with DeLong (or Obuchowski, or bootstrap) CI, optimal cut-off, and the
    comparison of two scores (paired DeLong / Obuchowski, or unpaired as pROC).

    With --missing exclude a row missing the truth (or the cluster) is left out of every
    curve, and a row missing a score is left out of that score's curve; with --paired only
    rows holding every score are used. Every row left out is reported.
    """
    with _guarded():
        if len(score) > 2:
            _fail(f"give one or two --score columns; got {len(score)}.")
        if paired and len(score) != 2:
            _fail("--paired needs two --score columns.")
        if len(score) == 2 and not paired and cluster is not None:
            _fail(
                "two scores with --cluster must be compared on the same lesions: add "
                "--paired (an unpaired clustered comparison is not available)."
            )
        if bootstrap < 0:
            _fail("--bootstrap must be 0 or a positive number of replicates.")
        full = CsvTable.read(data)
        base = [truth] + ([cluster] if cluster is not None else [])
        listwise = paired or len(score) == 1 or missing is MissingData.ERROR
        table, left = full.complete_cases(base + (score if listwise else []), missing=missing)
        t, values, ids = _roc_inputs(table, truth, positive, score, cluster)
        curves = []
        curve_left: dict[str, LeftOutRows] = {}
        for name, v in values.items():
            if listwise:
                tc, vc, idc, curve_left[name] = t, v, ids, left
            else:
                own, curve_left[name] = full.complete_cases(base + [name], missing=missing)
                tc, own_values, idc = _roc_inputs(own, truth, positive, [name], cluster)
                vc = own_values[name]
            if not (tc.any() and (~tc).any()):
                _fail(
                    f"{table.path}, column {name!r}: after leaving out rows with a missing "
                    "value one group is empty; the ROC curve needs diseased and non-diseased "
                    "rows."
                )
            curves.append(
                roc_analysis(
                    tc,
                    vc,
                    direction=direction,
                    cluster=idc,
                    n_bootstrap=bootstrap,
                    seed=seed,
                    cutoff_rule=cutoff,
                    confidence_level=confidence,
                    label=name,
                )
            )
        comparison = None
        if len(score) == 2:
            a, b = (values[s] for s in score)
            comparison = compare_aucs(
                t,
                a,
                b,
                paired=paired,
                cluster=ids if paired else None,
                direction_1=direction,
                direction_2=direction,
                confidence_level=confidence,
                labels=(score[0], score[1]),
            )
    document = {
        "curves": [{**c.summary(), "missing": curve_left[c.label].to_dict()} for c in curves],
        "comparison": summaries.auc_comparison_summary(comparison),
        "missing": left.to_dict(),
    }

    def render() -> None:
        table = Table(title=f"ROC analysis ({direction.value}: {curves[0].curve.rule})")
        for col in (
            "Score",
            "AUC",
            f"{100 * confidence:g}% CI",
            "CI method",
            "n+/n-",
            "Best threshold",
            "Se / Sp there",
        ):
            table.add_column(col, overflow="fold")
        for c in curves:
            table.add_row(
                escape(c.label),
                format_number(c.auc.estimate),
                _ci(c.auc.ci_low, c.auc.ci_high),
                escape(c.auc.method),
                f"{c.n_positive}/{c.n_negative}",
                f"{format_number(c.cutoff.threshold, 4)} ({c.cutoff.rule.value})",
                f"{format_number(c.cutoff.sensitivity.estimate)} / "
                f"{format_number(c.cutoff.specificity.estimate)}",
            )
        out_console.print(table)
        for c in curves:
            out_console.print(f"{c.label}: {curve_left[c.label]}", markup=False)
        if comparison is not None:
            out_console.print(str(comparison), markup=False)

    _emit(document, as_json, render)


# --------------------------------------------------------------------------- survival


def _events(table: CsvTable, column: str, value: str | None) -> np.ndarray:
    if value is None:
        return table.boolean(column)
    return table.binary(column, value, what="event-value")


@stats_app.command("survival")
def survival_command(
    data: Annotated[Path, typer.Argument(help="CSV table with one row per patient.")],
    time: Annotated[str, typer.Option(help="Column of the follow-up time.")],
    event: Annotated[str, typer.Option(help="Column of the event indicator.")],
    event_value: Annotated[
        str | None,
        typer.Option(help="Value of --event marking an event (default: 1/true/yes)."),
    ] = None,
    group: Annotated[str | None, typer.Option(help="Column of the group (log-rank).")] = None,
    covariates: Annotated[
        str | None, typer.Option(help="Comma-separated numeric columns for a Cox model.")
    ] = None,
    strata: Annotated[
        str | None, typer.Option(help="Column of strata (stratified log-rank and Cox).")
    ] = None,
    conf_type: Annotated[
        KmConfType, typer.Option(help="Transform of the KM interval (log = R survfit's).")
    ] = KmConfType.LOG,
    at: Annotated[
        str | None, typer.Option(help="Comma-separated times for numbers at risk.")
    ] = None,
    confidence: ConfidenceOpt = 0.95,
    missing: MissingOpt = MissingData.EXCLUDE,
    as_json: JsonOpt = False,
) -> None:
    """Kaplan-Meier medians with R-compatible CIs, log-rank test and Cox PH model.

    With --missing exclude (the default) a row missing the time, the event, the group, the
    strata or a covariate is left out of every part of the analysis, and reported.
    """
    with _guarded():
        names = [c.strip() for c in (covariates or "").split(",") if c.strip()]
        used = [time, event] + [c for c in (group, strata) if c is not None] + names
        table, left = CsvTable.read(data).complete_cases(used, missing=missing)
        times = table.numeric(time)
        events = _events(table, event, event_value)
        at_times = _numbers(at, "--at")
        groups = table.text(group) if group is not None else np.array(["all"] * times.size)
        labels = sorted(set(groups))
        if group is not None and len(labels) < 2:
            _fail(
                f"{table.path}, column {group!r}: only one group ({labels[0]!r}); the "
                "log-rank test needs two or more."
            )
        km = [
            kaplan_meier(
                times[groups == g],
                events[groups == g],
                conf_type=conf_type,
                confidence_level=confidence,
                at_times=at_times,
                label=g,
            )
            for g in labels
        ]
        strata_values = table.text(strata) if strata is not None else None
        logrank = None
        if group is not None:
            logrank = logrank_test(times, events, groups, strata=strata_values)
        cox = None
        if names:
            cov = {name: table.numeric(name) for name in names}
            cox = cox_regression(
                times, events, cov, confidence_level=confidence, strata=strata_values
            )
    document = _with_missing(summaries.survival_summary(km, logrank, cox), left)

    def render() -> None:
        tab = Table(title=f"Kaplan-Meier ({conf_type.value} CI)")
        for col in ("Group", "n", "Events", "Median", f"{100 * confidence:g}% CI"):
            tab.add_column(col)
        for k in km:
            med = k.median
            tab.add_row(
                escape(k.label),
                str(k.n),
                str(k.events),
                _median(med.estimate),
                _median_ci(med.estimate, med.ci_low, med.ci_high),
            )
        out_console.print(tab)
        if logrank is not None:
            out_console.print(
                f"{logrank.method}: chi2 = {logrank.statistic:.3f} on "
                f"{logrank.df:g} df, p = {format_p(logrank.p_value)}"
            )
        if cox is not None:
            out_console.print(str(cox), markup=False)
        _print_left_out(left)

    _emit(document, as_json, render)


def _median(value: float) -> str:
    return "NR" if math.isnan(value) else f"{value:g}"


def _median_ci(median: float, low: float, high: float) -> str:
    """``low to high``, NR for a limit not reached; NA (as R prints it) when the median is
    reached but has no interval (e.g. one patient: the log band is undefined at S = 0)."""
    if not math.isnan(median) and math.isnan(low) and math.isnan(high):
        return "NA"
    return f"{_median(low)} to {_median(high)}"


def _numbers(text: str | None, option: str) -> tuple[float, ...]:
    if not text:
        return ()
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        _fail(f"{option}: expected comma-separated numbers (e.g. 12,24); got {text!r}.")
        raise  # unreachable: _fail exits


# --------------------------------------------------------------------------- agreement


@stats_app.command("agreement")
def agreement_command(
    data: Annotated[Path, typer.Argument(help="CSV table with one row per subject.")],
    rater: Annotated[
        list[str], typer.Option(help="Column of a rater or method; repeat (two or more).")
    ],
    measure: Annotated[
        str, typer.Option(help="kappa, fleiss, icc, bland-altman or spearman.")
    ] = "kappa",
    weights: Annotated[KappaWeights, typer.Option(help="Weights of Cohen's kappa.")] = (
        KappaWeights.NONE
    ),
    categories: Annotated[
        str | None, typer.Option(help="Comma-separated category order (weighted kappa).")
    ] = None,
    limits: Annotated[
        str, typer.Option(help="Bland-Altman limit CIs: approximate or exact.")
    ] = "approximate",
    spearman_ci: Annotated[SpearmanCi, typer.Option(help="Interval of Spearman's rho.")] = (
        SpearmanCi.BONETT_WRIGHT
    ),
    bootstrap: Annotated[int, typer.Option(help="Bootstrap replicates (Fleiss, Spearman).")] = (
        2000
    ),
    seed: SeedOpt = 0,
    confidence: ConfidenceOpt = 0.95,
    missing: MissingOpt = MissingData.EXCLUDE,
    as_json: JsonOpt = False,
) -> None:
    """Agreement of readers or methods: Cohen's / Fleiss' kappa, ICC, Bland-Altman, Spearman."""
    allowed = ("kappa", "fleiss", "icc", "bland-altman", "spearman")
    with _guarded():
        if measure not in allowed:
            _fail(f"--measure: expected one of {', '.join(allowed)}; got {measure!r}.")
        pair_only = measure in ("kappa", "bland-altman", "spearman")
        if len(rater) < 2 or (pair_only and len(rater) != 2):
            _fail(
                f"--measure {measure} needs {'exactly' if pair_only else 'at least'} two "
                f"--rater columns; got {len(rater)}."
            )
        table, left = CsvTable.read(data).complete_cases(rater, missing=missing)
        document: dict[str, Any]
        if measure == "kappa":
            a, b = table.codes(rater[0]), table.codes(rater[1])
            order = _category_order(categories, a, b)
            k = cohen_kappa(a, b, weights=weights, categories=order, confidence_level=confidence)
            document = summaries.kappa_summary(k)
        elif measure == "fleiss":
            ratings = np.column_stack([table.codes(r) for r in rater])
            e = fleiss_kappa(ratings, confidence_level=confidence, n_bootstrap=bootstrap, seed=seed)
            document = summaries.fleiss_summary(e)
        elif measure == "icc":
            ratings = np.column_stack([table.numeric(r) for r in rater])
            forms = icc(ratings, confidence_level=confidence)
            document = summaries.icc_summary(forms, n=int(ratings.shape[0]), raters=len(rater))
        elif measure == "bland-altman":
            ba = bland_altman(
                table.numeric(rater[0]),
                table.numeric(rater[1]),
                confidence_level=confidence,
                limits=limits,
            )
            document = summaries.bland_altman_summary(ba, difference=f"{rater[0]} - {rater[1]}")
        else:
            res = spearman(
                table.numeric(rater[0]),
                table.numeric(rater[1]),
                method=spearman_ci,
                confidence_level=confidence,
                n_bootstrap=bootstrap,
                seed=seed,
            )
            document = summaries.spearman_summary(res)
        document = _with_missing(document, left)
    _emit(document, as_json, lambda: out_console.print_json(data=json_ready(document)))


def _category_order(given: str | None, *ratings: np.ndarray) -> list[str] | None:
    """--categories in one spelling per code; without them, numeric labels in numeric order
    (1, 2, 10, not 1, 10, 2) and text labels left to the library (sorted text)."""
    if given:
        return [code_text(c) for c in given.split(",")]
    labels = set().union(*(set(r) for r in ratings))
    if all(isinstance(code_key(v), float) for v in labels):
        return sorted(labels, key=lambda v: float(code_key(v)))
    return None


# --------------------------------------------------------------------------- retention


@stats_app.command("retention")
def retention_command(
    data: Annotated[
        Path, typer.Argument(help="CSV table with one row per lesion (analysis_lesions.csv).")
    ],
    value: Annotated[
        str, typer.Option(help="Column of the retention index (percent).")
    ] = "ri_voi_mean_pct",
    cluster: Annotated[str, typer.Option(help="Column of the patient (cluster).")] = ("patient_id"),
    malignant: Annotated[str, typer.Option(help="Column: malignant true/false.")] = "malignant",
    pdl1: Annotated[
        str, typer.Option(help="Column: PD-L1 positive true/false (empty: not sampled).")
    ] = "pdl1_positive",
    confidence: ConfidenceOpt = 0.95,
    as_json: JsonOpt = False,
) -> None:
    """The pre-specified retention test, lesions clustered in patients: PD-L1-positive
    minus PD-L1-negative malignant lesions (primary) and malignant minus benign (secondary),
    OLS with cluster-robust SEs by patient; Wilcoxon rank-sum tests as descriptive. Rows
    without a retention index or a malignant value are left out and counted."""
    with _guarded():
        table = CsvTable.read(data)
        values = table.numeric(value, allow_empty=True)
        flags = table.text(malignant, allow_empty=True)
        status = table.text(pdl1, allow_empty=True)
        ids = table.text(cluster)
        result = retention_tests(
            values, flags, status, ids, value=value, confidence_level=confidence
        )
        left = int(len(values) - sum(result.n[k] for k in ("malignant", "benign")))
    document = {**result.to_dict(), "rows": len(values), "rows_left_out": left}
    _emit(document, as_json, lambda: _print_retention(result, left, confidence))


def _print_retention(result: RetentionTests, left: int, level: float) -> None:
    table = Table(title=f"Retention ({result.value}), lesions clustered in patients")
    for name in ("Comparison", "Difference", f"{100 * level:g}% CI", "p", "Lesions (patients)"):
        table.add_column(name, overflow="fold")
    for test in (result.primary, result.secondary):
        e = test.effect
        assert e is not None
        table.add_row(
            escape(test.name),
            format_number(e.estimate),
            _ci(e.ci_low, e.ci_high),
            format_p(test.p_value),
            f"{e.n} ({e.n_clusters})",
        )
    out_console.print(table)
    for test in result.descriptive:
        out_console.print(
            f"descriptive: {escape(test.name)}: {escape(test.method)}, "
            f"p = {format_p(test.p_value)}",
            markup=False,
        )
    if left:
        out_console.print(f"{left} row(s) without a retention index or malignant value left out")


# --------------------------------------------------------------------------- sample size


@sample_size_app.command("buderer")
def buderer_command(
    sensitivity: Annotated[float, typer.Option(help="Expected sensitivity.")],
    specificity: Annotated[float, typer.Option(help="Expected specificity.")],
    prevalence: Annotated[float, typer.Option(help="Expected prevalence among enrolled.")],
    precision: Annotated[float, typer.Option(help="CI half-width wanted, e.g. 0.05.")],
    confidence: ConfidenceOpt = 0.95,
    as_json: JsonOpt = False,
) -> None:
    """Patients to enrol to estimate Se and Sp within +/- precision (Buderer 1996)."""
    with _guarded():
        result = buderer_sample_size(
            sensitivity=sensitivity,
            specificity=specificity,
            prevalence=prevalence,
            precision=precision,
            confidence_level=confidence,
        )
    _emit(result.to_dict(), as_json, lambda: out_console.print(str(result), markup=False))


@sample_size_app.command("auc")
def auc_power_command(
    solve: Annotated[str, typer.Option(help="What to solve for: power, n, sig-level or auc.")],
    auc: Annotated[float | None, typer.Option(help="Expected AUC.")] = None,
    cases: Annotated[float | None, typer.Option(help="Number of diseased patients.")] = None,
    controls: Annotated[float | None, typer.Option(help="Number of non-diseased.")] = None,
    power: Annotated[float | None, typer.Option(help="Power wanted.")] = None,
    sig_level: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
    kappa: Annotated[float, typer.Option(help="Controls per case (when solving n).")] = 1.0,
    one_sided: Annotated[bool, typer.Option(help="One-sided test.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Power or sample size of a test of AUC = 0.5 (Obuchowski; as pROC power.roc.test)."""
    choices = {"power", "n", "sig-level", "auc"}
    with _guarded():
        if solve not in choices:
            _fail(f"--solve: expected one of {', '.join(sorted(choices))}; got {solve!r}.")
        result = auc_power(
            auc=None if solve == "auc" else auc,
            n_cases=None if solve == "n" else cases,
            n_controls=None if solve == "n" else controls,
            power=None if solve == "power" else power,
            sig_level=None if solve == "sig-level" else sig_level,
            kappa=kappa,
            alternative="one-sided" if one_sided else "two-sided",
        )
    _emit(result.to_dict(), as_json, lambda: out_console.print(str(result), markup=False))
