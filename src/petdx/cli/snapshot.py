"""``petdx snapshot lock|list|verify|analyse|export``: locked snapshots of the study database
(:mod:`petdx.study.snapshots`).

stdout carries JSON (``list`` also a table on a terminal); messages go to stderr; exit status
2 when an input was refused (no reason, no such snapshot, an altered snapshot).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from petdx.cli._console import ExitCode, err_console, error_text, out_console
from petdx.errors import PetdxError

__all__ = ["snapshot_app"]

snapshot_app = typer.Typer(
    name="snapshot",
    help="Lock snapshots of the study database; analyse and export them.",
    no_args_is_help=True,
    add_completion=False,
)

StudyArg = Annotated[Path, typer.Argument(help="Study folder (holds study.toml).")]
NumberArg = Annotated[int, typer.Argument(help="Snapshot number (petdx snapshot list).")]


def _echo(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


def _fail(exc: PetdxError) -> typer.Exit:
    err_console.print(f"[red]error:[/] {escape(error_text(exc))}", highlight=False)
    return typer.Exit(ExitCode.BAD_INPUT)


@snapshot_app.command("lock")
def lock_command(
    study: StudyArg,
    reason: Annotated[
        str, typer.Option("--reason", help="Why the data are frozen now (audit trail).")
    ],
    user: Annotated[
        str | None,
        typer.Option("--user", help="Name recorded in the audit trail (default: login)."),
    ] = None,
) -> None:
    """Copy every table in one consistent read into snapshots/<n>/ (read-only), audited."""
    from petdx.study.audit import current_actor
    from petdx.study.config import open_study
    from petdx.study.database import open_database
    from petdx.study.snapshots import lock_snapshot

    try:
        folder = open_study(study)
        database = open_database(folder)
        try:
            manifest = lock_snapshot(folder, database, actor=current_actor(user), reason=reason)
        finally:
            database.dispose()
    except PetdxError as exc:
        raise _fail(exc) from None
    err_console.print(escape(str(manifest)), highlight=False)
    _echo(manifest.to_dict())


@snapshot_app.command("list")
def list_command(study: StudyArg) -> None:
    """The study's snapshots: number, time, who, rows, content hash, reason."""
    from petdx.study.config import open_study
    from petdx.study.snapshots import list_snapshots

    try:
        manifests = list_snapshots(open_study(study))
    except PetdxError as exc:
        raise _fail(exc) from None
    if out_console.is_terminal:
        table = Table(title=f"Snapshots of {study}")
        for name in ("#", "Locked (UTC)", "By", "Rows", "Content hash", "Reason"):
            table.add_column(name)
        for m in manifests:
            table.add_row(
                str(m.number),
                m.locked_at_utc,
                escape(m.actor),
                str(sum(m.row_counts.values())),
                m.content_hash[:12],
                escape(m.reason),
            )
        out_console.print(table)
    else:
        _echo([m.to_dict() for m in manifests])


@snapshot_app.command("verify")
def verify_command(study: StudyArg, number: NumberArg) -> None:
    """Check that the snapshot's database is the file and the content that were locked."""
    from petdx.study.config import open_study
    from petdx.study.snapshots import verify_snapshot

    try:
        verification = verify_snapshot(open_study(study), number)
    except PetdxError as exc:
        raise _fail(exc) from None
    err_console.print(escape(str(verification)), highlight=False)
    _echo(verification.to_dict())
    raise typer.Exit(ExitCode.OK if verification.ok else ExitCode.BAD_INPUT)


@snapshot_app.command("analyse")
def analyse_command(
    study: StudyArg,
    number: NumberArg,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also write the PDF.")] = False,
) -> None:
    """Run the pre-specified analyses and the report on the snapshot (its results/, report/)."""
    from petdx.pipeline.snapshots import analyse_snapshot
    from petdx.study.config import open_study

    try:
        analysis = analyse_snapshot(open_study(study), number, pdf=pdf)
    except PetdxError as exc:
        raise _fail(exc) from None
    for problem in analysis.problems:
        err_console.print(f"[yellow]note:[/] {escape(problem)}", highlight=False)
    err_console.print(f"Report: {analysis.report_html}", highlight=False)
    _echo(analysis.to_dict())


@snapshot_app.command("export")
def export_command(
    study: StudyArg,
    number: NumberArg,
    out: Annotated[
        Path | None,
        typer.Option(help="Zip file (default snapshots/<n>/export.zip)."),
    ] = None,
    deidentify: Annotated[
        bool,
        typer.Option(
            "--deidentify",
            help="For data leaving the site: move every patient's dates by the patient's "
            "image date offset (as petdx export --deidentify).",
        ),
    ] = False,
) -> None:
    """Export the snapshot (tables, screening log, data dictionaries) as one reproducible zip."""
    from petdx.study.config import open_study
    from petdx.study.snapshots import export_snapshot

    try:
        exported = export_snapshot(open_study(study), number, out=out, deidentify=deidentify)
    except PetdxError as exc:
        raise _fail(exc) from None
    err_console.print(f"exported snapshot {number} to {exported.zip_path}", highlight=False)
    _echo(exported.to_dict())
