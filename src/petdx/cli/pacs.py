"""``petdx pacs check|pull|watch``: the study's PACS over DICOMweb (:mod:`petdx.pacs`).

stdout carries JSON; messages go to stderr. Exit status 2 for a configuration error (no or
a wrong ``[pacs]``, an unreadable password, a refused account, an unreachable server, a
failing server) and when any series was refused; the good series of a pull are stored.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from petdx.cli._console import ExitCode, err_console, progress_bar
from petdx.cli.study import _echo, _fail  # one JSON and error style for every command
from petdx.errors import PetdxError
from petdx.fileio import atomic_write_text

__all__ = ["pacs_app"]

pacs_app = typer.Typer(
    name="pacs",
    help="The study's PACS (Orthanc or any DICOMweb server): check, pull, watch, send.",
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
    log = {"actor": current_actor(user), "pacs": config.url, **result.to_dict()}
    _finish(folder.logs, "pull", log, str(result), [str(p) for p in result.problems])
    _echo(result.to_dict())
    raise typer.Exit(ExitCode.OK if result.ok else ExitCode.BAD_INPUT)


def _finish(
    logs: Path, command: str, log: dict[str, Any] | None, summary: str, errors: list[str]
) -> None:
    """Write ``logs/pacs-<command>-<time>.json`` (atomically; not when ``log`` is None) and
    print the summary and the errors to stderr."""
    if log is not None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        text = json.dumps({"at_utc": stamp, **log}, indent=2)
        atomic_write_text(logs / f"pacs-{command}-{stamp}.json", text)
    err_console.print(escape(summary))
    for error in errors:
        err_console.print(f"[red]error:[/] {escape(error)}", highlight=False)


@pacs_app.command("watch")
def watch_command(
    study: StudyArg,
    once: Annotated[
        bool,
        typer.Option("--once", help="Pull what is stable or arriving now, then exit (cron)."),
    ] = False,
    wait: Annotated[
        float,
        typer.Option("--wait", min=0, help="With --once: longest wait for arriving studies (s)."),
    ] = 120.0,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, help="Seconds between polls of the feed.")
    ] = 5.0,
    user: Annotated[
        str | None,
        typer.Option("--user", help="Name recorded in the audit trail (default: login)."),
    ] = None,
) -> None:
    """Follow Orthanc's change feed; pull each study of the study's patients once stable."""
    from petdx.pacs import load_pacs_config
    from petdx.pacs.watch import WatchResult, watch_once
    from petdx.study.audit import current_actor
    from petdx.study.config import open_study
    from petdx.study.database import open_database
    from petdx.study.records import Author

    def report(result: WatchResult) -> None:
        if not once and result.pulls:
            err_console.print(escape(str(result)), highlight=False)

    result = WatchResult()
    try:
        folder = open_study(study)
        config = load_pacs_config(folder)
        database = open_database(folder)
        try:
            result = watch_once(
                folder,
                database,
                config,
                author=Author(current_actor(user), "pacs watch"),
                once=once,
                wait_s=wait,
                interval_s=1.0 if once else interval,
                on_cycle=report,
            )
        except KeyboardInterrupt:  # the state is saved after every study
            err_console.print("stopped; the next watch resumes where this one was.")
    except PetdxError as exc:
        raise _fail(exc) from None
    log = {"actor": current_actor(user), "pacs": config.url, **result.to_dict()}
    pulled = result.studies_pulled or once
    _finish(
        folder.logs,
        "watch",
        log if pulled else None,
        str(result),
        [str(p) for p in result.problems],
    )
    _echo(result.to_dict())
    raise typer.Exit(ExitCode.OK if result.ok else ExitCode.BAD_INPUT)


@pacs_app.command("send")
def send_command(
    study: StudyArg,
    files: Annotated[list[Path], typer.Argument(help="DICOM SEG and SR files written by petdx.")],
    user: Annotated[
        str | None,
        typer.Option("--user", help="Name recorded in the send log (default: login)."),
    ] = None,
) -> None:
    """Store petdx's SEG and SR files in the PACS (STOW-RS), each read back and compared."""
    from petdx.pacs import load_pacs_config
    from petdx.pacs.send import send_results
    from petdx.study.audit import current_actor
    from petdx.study.config import open_study

    try:
        folder = open_study(study)
        result = send_results(load_pacs_config(folder), files)
    except PetdxError as exc:
        raise _fail(exc) from None
    log = {"actor": current_actor(user), **result.to_dict(folder.root)}
    _finish(folder.logs, "send", log, str(result), [f.error for f in result.files if f.error])
    _echo(result.to_dict(folder.root))
    raise typer.Exit(ExitCode.OK if result.ok else ExitCode.BAD_INPUT)
