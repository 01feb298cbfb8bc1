"""``petdx reads export-sr STUDY --reader R OUT``: a reader's reads as DICOM SR (TID 1500)
with their SEGs (:mod:`petdx.pipeline.reader_sr`, docs/vois.md).

stdout carries JSON (the files written); messages go to stderr; exit status 2 when an input
was refused (no such study, a reader without VOIs).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from petdx.cli._console import ExitCode, err_console, error_text
from petdx.errors import PetdxError

__all__ = ["reads_app"]

reads_app = typer.Typer(
    name="reads",
    help="Export the readers' reads (DICOM SR with their SEGs).",
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
