"""``petdx reads export-sr STUDY --reader R OUT``: a reader's reads as DICOM SR (TID 1500)
with their SEGs (:mod:`petdx.pipeline.reader_sr`, docs/vois.md).

``petdx reads export-mrmc STUDY [--level lesion|patient] [--out FILE]``: the reads as the
long multi-reader table that multi-reader multi-case (MRMC) software reads
(:func:`petdx.study.adjudication.mrmc_rows`, docs/reading.md). Statistician-side: it carries
the truth from the reference standard, so it is made from the command line, never served to
a reader. CSV on stdout or written atomically to ``--out``; counts on stderr.

stdout carries JSON (the files written); messages go to stderr; exit status 2 when an input
was refused (no such study, a reader without VOIs).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from petdx.cli._console import ExitCode, err_console, error_text
from petdx.errors import InputValidationError, PetdxError

__all__ = ["reads_app"]

reads_app = typer.Typer(
    name="reads",
    help="Export the readers' reads: DICOM SR with their SEGs; the MRMC long table.",
    no_args_is_help=True,
    add_completion=False,
)


@reads_app.command("export-sr")
def export_sr_command(
    study: Annotated[Path, typer.Argument(help="Study folder (holds study.toml).")],
    out: Annotated[Path, typer.Argument(help="Folder to write OUT/<reader>/<case>/ into.")],
    reader: Annotated[str, typer.Option("--reader", help="The reader's account name.")],
) -> None:
    """One TID 1500 Measurement Report per case and PET series with the reader's VOIs, beside
    copies of their DICOM SEGs."""
    from petdx.pipeline.reader_sr import export_reader_sr
    from petdx.study.config import open_study
    from petdx.study.database import open_database

    try:
        folder = open_study(study)
        database = open_database(folder)
        try:
            written = export_reader_sr(folder, database, reader, out)
        finally:
            database.dispose()
    except PetdxError as exc:
        err_console.print(f"[red]error:[/] {escape(error_text(exc))}", highlight=False)
        raise typer.Exit(ExitCode.BAD_INPUT) from None
    err_console.print(
        f"{written.vois} VOI(s) of {escape(reader)}: {len(written.reports)} SR(s) and "
        f"{len(written.segs)} SEG(s) in {escape(str(out))}",
        highlight=False,
    )
    typer.echo(
        json.dumps(
            {
                "reader": reader,
                "vois": written.vois,
                "reports": [str(p) for p in written.reports],
                "segs": [str(p) for p in written.segs],
            },
            indent=2,
        )
    )


@reads_app.command("export-mrmc")
def export_mrmc_command(
    study: Annotated[Path, typer.Argument(help="Study folder (holds study.toml).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="CSV file to write (default: stdout).")
    ] = None,
    level: Annotated[
        str,
        typer.Option("--level", help="lesion (a case is a lesion) or patient."),
    ] = "lesion",
) -> None:
    """One row per reader, case, tracer and time point: reader, case, tracer,
    time_point_min, rating (the 1-5 score), truth (1 malignant, 0 benign; reference
    standard)."""
    from petdx.fileio import atomic_write_text
    from petdx.study.adjudication import MRMC_COLUMNS, mrmc_rows
    from petdx.study.config import open_study
    from petdx.study.database import open_database

    try:
        if level not in ("lesion", "patient"):
            raise InputValidationError(f"--level '{level}': expected lesion or patient.")
        folder = open_study(study)
        database = open_database(folder)
        try:
            with database.engine.connect() as connection:
                rows, left_out = mrmc_rows(connection, level=level)
        finally:
            database.dispose()
    except PetdxError as exc:
        err_console.print(f"[red]error:[/] {escape(error_text(exc))}", highlight=False)
        raise typer.Exit(ExitCode.BAD_INPUT) from None
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(MRMC_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    if out is None:
        typer.echo(buffer.getvalue(), nl=False)
    else:
        atomic_write_text(out, buffer.getvalue())
    err_console.print(
        f"{len(rows)} rows ({level} level); {left_out} reads without a reference standard "
        "left out.",
        highlight=False,
    )
