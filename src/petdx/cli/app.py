"""The ``petdx`` command: one Typer application, one module per command group."""

from __future__ import annotations

import errno
import sys
import warnings
from typing import Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

from petdx import __version__
from petdx.cli._console import ExitCode, err_console, fault_text
from petdx.cli.nema import nema_app
from petdx.cli.pacs import pacs_app
from petdx.cli.quantify import quantify_command
from petdx.cli.reads import reads_app
from petdx.cli.run import register as register_run_commands
from petdx.cli.simulate import register as register_simulate_commands
from petdx.cli.snapshot import snapshot_app
from petdx.cli.stats import stats_app
from petdx.cli.study import register as register_study_commands
from petdx.cli.suv import suv_command
from petdx.cli.web import register as register_web_commands

__all__ = ["app", "main"]


class _PetdxGroup(TyperGroup):
    """The root command: an environment fault of any command (``OSError``: a full disk, a
    read-only folder or database file) becomes one message and exit status 1, here once.
    A broken pipe is left to Click, which ends quietly."""

    def invoke(self, ctx: Any) -> Any:  # Typer's vendored Click context
        try:
            return super().invoke(ctx)
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise
            err_console.print(f"[red]error:[/] {escape(fault_text(exc))}", highlight=False)
            raise typer.Exit(ExitCode.ENVIRONMENT) from None


app = typer.Typer(
    cls=_PetdxGroup,
    name="petdx",
    help="PET diagnostic-accuracy studies end to end: DICOM, SUV, lesions, study, statistics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"petdx {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """petdx command line."""


app.command("suv")(suv_command)
app.command("quantify")(quantify_command)
register_study_commands(app)  # init, import, export, ingest, audit
app.add_typer(stats_app, name="stats")
app.add_typer(pacs_app, name="pacs")
app.add_typer(snapshot_app, name="snapshot")
app.add_typer(nema_app, name="nema")
app.add_typer(reads_app, name="reads")  # export-sr (petdx.pipeline.reader_sr, issue 14)
register_simulate_commands(app)  # simulate, simulate-nema
register_run_commands(app)  # run, report, demo
register_web_commands(app)  # serve, users


def main() -> None:
    """Console-script entry point: run the app, turning crashes into exit status 1."""
    # pydicom warns about every non-conformant value it reads (common in real data); the
    # checks that matter are petdx's own, reported per series, so these are silenced here.
    warnings.filterwarnings("ignore", category=UserWarning, module=r"pydicom(\.|$)")
    try:
        app()
    except SystemExit:
        raise
    except Exception as exc:  # a bug: say so plainly, keep the traceback for the report
        err_console.print_exception()
        err_console.print(
            f"[red]internal error:[/] {type(exc).__name__}: {exc}. This is a bug in petdx; "
            "please report it with the traceback above."
        )
        sys.exit(ExitCode.INTERNAL_ERROR)
