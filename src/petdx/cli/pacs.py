"""``petdx pacs check|pull``: the study's PACS over DICOMweb (:mod:`petdx.pacs`).

stdout carries JSON; messages go to stderr. Exit status 2 for a configuration error (no or
a wrong ``[pacs]``, an unreadable password, a refused account, an unreachable server, a
failing server) and when any series was refused; the good series of a pull are stored.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from petdx.cli._console import ExitCode, err_console, progress_bar
from petdx.cli.study import _echo, _fail  # one JSON and error style for every command
from petdx.errors import PetdxError
from petdx.fileio import atomic_write_text

__all__ = ["pacs_app"]

pacs_app = typer.Typer(
    name="pacs",
    help="The study's PACS (Orthanc or any DICOMweb server): check the connection, pull.",
    no_args_is_help=True,
    add_completion=False,
)

StudyArg = Annotated[Path, typer.Argument(help="Study folder (holds study.toml with [pacs]).")]


@pacs_app.command("check")
def check_command(study: StudyArg) -> None:
    """Say what the [pacs] connection reaches: server, authentication, a QIDO-RS answer."""
    from petdx.pacs import check_pacs, load_pacs_config
    from petdx.study.config import open_study

    try:
        result = check_pacs(load_pacs_config(open_study(study)))
    except PetdxError as exc:
        raise _fail(exc) from None
    for step, ok, detail in result.steps:
        if ok:
            err_console.print(f"[green]ok[/] {step}: {escape(detail)}", highlight=False)
    if result.error is not None:
        err_console.print(f"[red]error:[/] {escape(str(result.error))}", highlight=False)
    _echo(result.to_dict())
    raise typer.Exit(ExitCode.OK if result.ok else ExitCode.BAD_INPUT)


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not a date; expected YYYY-MM-DD.") from None


@pacs_app.command("pull")
def pull_command(
    study: StudyArg,
    patient: Annotated[
        list[str] | None,
        typer.Option("--patient", help="Pseudonym to pull (repeat; default: every patient)."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only studies dated on or after this day (YYYY-MM-DD)."),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option("--user", help="Name recorded in the audit trail (default: login)."),
    ] = None,
) -> None:
    """Find (QIDO-RS), retrieve (WADO-RS) and ingest the patients' PET/CT series."""
    from petdx.pacs import load_pacs_config, pull
    from petdx.study.audit import current_actor
    from petdx.study.config import open_study
    from petdx.study.database import open_database
    from petdx.study.records import Author

    day = _day(since)
    try:
        folder = open_study(study)
        config = load_pacs_config(folder)
        database = open_database(folder)
        with progress_bar("Pulling from the PACS") as update:
            result = pull(
                folder,
                database,
                config,
                author=Author(current_actor(user), "pacs pull"),
                patients=tuple(patient or ()),
                since=day,
                progress=update,
            )
    except PetdxError as exc:
        raise _fail(exc) from None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    log = {"at_utc": stamp, "actor": current_actor(user), "pacs": config.url, **result.to_dict()}
    atomic_write_text(folder.logs / f"pacs-pull-{stamp}.json", json.dumps(log, indent=2))
    err_console.print(escape(str(result)))
    for problem in result.problems:
        err_console.print(f"[red]error:[/] {escape(str(problem))}", highlight=False)
    _echo(result.to_dict())
    raise typer.Exit(ExitCode.OK if result.ok else ExitCode.BAD_INPUT)
