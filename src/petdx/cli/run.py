"""``petdx run``, ``petdx report`` and ``petdx demo``."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from petdx.cli._console import ExitCode, err_console, error_text, out_console, progress_bar
from petdx.errors import PetdxError
from petdx.jsonsafe import dumps, format_or_missing
from petdx.study.config import open_study
from petdx.study.layout import StudyLayout

if TYPE_CHECKING:  # the pipeline is imported when a command runs, not at start-up
    from petdx.pipeline.demo import DemoAccount
    from petdx.pipeline.run import RunSummary

__all__ = ["register"]


def _headline(summary: RunSummary) -> Table:
    table = Table(title="Headline results", show_lines=False)
    for name in ("Level", "Index test", "Measure"):
        table.add_column(name, overflow="fold")
    table.add_column("Estimate (95 % CI)", no_wrap=True)  # an interval read whole, at 80 columns
    for row in summary.headline:
        est = row.get("estimate")
        text = format_or_missing(est)
        if row.get("ci_low") is not None and row.get("ci_high") is not None:
            text += f" ({row['ci_low']:.2f}–{row['ci_high']:.2f})"
        table.add_row(row["level"], row["test"], row["measure"], text)
    return table


def _finish(summary: RunSummary, as_json: bool) -> None:
    results = StudyLayout(Path(summary.study)).results.results_json
    if results.exists():
        summary.headline = json.loads(results.read_text()).get("headline", [])
    if as_json:
        typer.echo(dumps(summary.to_dict()))
    else:
        for stage in summary.stages:
            err_console.print(
                f"{stage.name}: {stage.done} done, {stage.skipped} unchanged "
                f"({stage.seconds:.1f} s)"
            )
        out_console.print(_headline(summary))
        out_console.print(f"Report: {summary.report_html}")
        if summary.report_pdf:
            out_console.print(f"PDF:    {summary.report_pdf}")
    for problem in summary.problems:
        err_console.print(f"[yellow]note:[/] {problem}")
    if summary.unusable_inputs:
        err_console.print(
            f"[red]error:[/] no PET or CT series could be read from "
            f"{', '.join(summary.unusable_inputs)} (see the notes above)."
        )
        raise typer.Exit(ExitCode.BAD_INPUT)


def _progress(description: str) -> Any:
    return progress_bar(description)


def run_command(
    study: Annotated[Path, typer.Argument(help="Study folder (petdx init).")],
    source: Annotated[
        list[Path] | None,
        typer.Option("--source", help="DICOM folder to ingest (remembered for later runs)."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes for quantification.")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Run ingest copies and quantification on the Dask cluster of this scheduler "
            "(tcp://HOST:PORT; pip install 'petdx[dask]'); workers must see the study folder "
            "at the same path.",
        ),
    ] = None,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also write the PDF report.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run summary as JSON.")] = False,
) -> None:
    """Ingest new series, quantify every registered lesion, run the pre-specified analyses and
    write the report. Only what changed since the last run is redone."""
    from petdx.pipeline.run import run_study

    try:
        with ExitStack() as stack:
            executor = None
            if scheduler is None:
                scheduler = open_study(study).config.scheduler  # [compute] scheduler
            if scheduler is not None:
                from petdx.pipeline.dask_cluster import dask_executor

                cluster = stack.enter_context(dask_executor(scheduler))
                executor = cluster.executor
                err_console.print(
                    f"Dask scheduler {cluster.scheduler}: {cluster.n_workers} worker(s)"
                    + (f", dashboard {cluster.dashboard}" if cluster.dashboard else "")
                )
            summary = run_study(
                study,
                sources=source or [],
                workers=workers,
                pdf=pdf,
                progress=_progress,
                executor=executor,
                fork_ingest_workers=True,  # a local command, not a server (pipeline.executors)
            )
    except PetdxError as exc:
        err_console.print(f"[red]error:[/] {error_text(exc)}")
        raise typer.Exit(ExitCode.BAD_INPUT) from None
    _finish(summary, as_json)


def report_command(
    study: Annotated[Path, typer.Argument(help="Study folder with analysis results.")],
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also write the PDF.")] = False,
) -> None:
    """Write the report (HTML, and PDF with --pdf) from the study's analysis results."""
    from petdx.report import write_report

    try:
        paths = write_report(study, pdf=pdf)
    except PetdxError as exc:
        err_console.print(f"[red]error:[/] {error_text(exc)}")
        raise typer.Exit(ExitCode.BAD_INPUT) from None
    out_console.print(f"Report: {paths.html}")
    if paths.pdf:
        out_console.print(f"PDF:    {paths.pdf}")


def demo_command(
    folder: Annotated[
        Path, typer.Argument(help="Where to put the simulated cohort and the study.")
    ] = Path("demo-study"),
    patients: Annotated[int, typer.Option(help="Enrolled patients to simulate.")] = 50,
    seed: Annotated[int, typer.Option(help="Random seed of the simulation.")] = 1,
    small: Annotated[bool, typer.Option("--small", help="Test-sized images (fast).")] = False,
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also write the PDF report.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run summary as JSON.")] = False,
) -> None:
    """Simulate the default 68Ga-DOTA-BLP cohort, run the whole study on it and write the
    report (the main job of `make demo`)."""
    from petdx.pipeline.demo import DemoSettings, create_demo_accounts, run_demo
    from petdx.study.audit import current_actor

    try:
        summary = run_demo(
            folder,
            DemoSettings(patients, seed, small, workers, pdf, fork_workers=True),
            progress=_progress,
        )
        study = Path(summary.study)
        made = create_demo_accounts(study, actor=current_actor(None))
    except PetdxError as exc:
        err_console.print(f"[red]error:[/] {error_text(exc)}")
        raise typer.Exit(ExitCode.BAD_INPUT) from None
    _finish(summary, as_json)
    _print_demo_accounts(study, made)


def _print_demo_accounts(study: Path, made: list[DemoAccount]) -> None:
    """How to open the web application, and the new accounts' passwords (shown this once;
    on stderr, so that ``--json`` output stays one document)."""
    err_console.print(
        f"\nWeb application: petdx serve {escape(str(study))}  then open http://127.0.0.1:8000/",
        highlight=False,
    )
    if not made:
        err_console.print(
            "The demo accounts exist already (their passwords were shown when they were "
            "made; add others with `petdx users add`).",
            highlight=False,
        )
        return
    table = Table(title="Demo accounts (passwords shown once, not stored: note them now)")
    for name in ("Name", "Role", "Site"):
        table.add_column(name)
    table.add_column("Password", no_wrap=True)  # copied whole, never folded
    for account in made:
        table.add_row(account.name, account.role.value, account.site, account.password)
    err_console.print(table)


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
    app.command("report")(report_command)
    app.command("demo")(demo_command)
