"""``petdx serve`` (the study's web application) and ``petdx users add|list|disable``."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from petdx.cli._console import ExitCode, err_console, error_text, out_console
from petdx.errors import InputValidationError, PetdxError

__all__ = ["register", "serve_command", "users_app"]

users_app = typer.Typer(
    name="users",
    help="The accounts of the study's web application.",
    no_args_is_help=True,
    add_completion=False,
)

StudyArg = Annotated[Path, typer.Argument(help="Study folder (holds study.toml).")]
UserOpt = Annotated[
    str | None,
    typer.Option("--user", help="Name recorded in the audit trail (default: login)."),
]


def _fail(exc: PetdxError) -> typer.Exit:
    err_console.print(f"[red]error:[/] {escape(error_text(exc))}", highlight=False)
    return typer.Exit(ExitCode.BAD_INPUT)


def _has_terminal() -> bool:
    return sys.stdin.isatty()


def _read_password(name: str, password_file: Path | None) -> str:
    """The password from ``password_file`` (its first line) or typed twice, hidden."""
    if password_file is not None:
        try:
            text = password_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputValidationError(
                f"--password-file {password_file}: no such file; give a file whose first "
                "line is the password."
            ) from None
        except UnicodeDecodeError:
            raise InputValidationError(
                f"--password-file {password_file}: not UTF-8 text; give a text file whose "
                "first line is the password."
            ) from None
        lines = text.splitlines()
        if not lines or not lines[0]:
            raise InputValidationError(
                f"--password-file {password_file}: the first line is empty; put the password on it."
            )
        return lines[0]
    if not _has_terminal():
        raise InputValidationError(
            f"account '{name}': no terminal to type the password at; give --password-file "
            "FILE (first line: the password)."
        )
    first = getpass.getpass(f"Password for {name}: ")
    second = getpass.getpass("Again: ")
    if first != second:
        raise InputValidationError(
            f"account '{name}': the two passwords differ; nothing was stored. Run again."
        )
    return first


@users_app.command("add")
def users_add(
    study: StudyArg,
    name: Annotated[str, typer.Argument(help="Sign-in name (recorded in the audit trail).")],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="admin, coordinator, data_manager, investigator, reader or statistician.",
        ),
    ],
    site: Annotated[str, typer.Option("--site", help="The account's site (data access group).")],
    password_file: Annotated[
        Path | None,
        typer.Option(
            "--password-file",
            help="Read the password from the first line of this file instead of asking.",
        ),
    ] = None,
    user: UserOpt = None,
) -> None:
    """Add an account; the password is asked twice (hidden) unless --password-file is given."""
    from petdx.study.accounts import create_account
    from petdx.study.audit import current_actor
    from petdx.study.config import open_study
    from petdx.study.database import open_database
    from petdx.study.roles import Role

    try:
        if role not in {r.value for r in Role}:
            raise InputValidationError(
                f"--role {role}: not a role; expected one of {', '.join(r.value for r in Role)}."
            )
        database = open_database(open_study(study))
        try:
            password = _read_password(name, password_file)
            account = create_account(
                database,
                name,
                role=role,
                site=site,
                password=password,
                actor=current_actor(user),
            )
        finally:
            database.dispose()
    except PetdxError as exc:
        raise _fail(exc) from None
    err_console.print(
        f"account {escape(account.name)} added: {account.role.value} at {escape(account.site)}",
        highlight=False,
    )


@users_app.command("list")
def users_list(study: StudyArg) -> None:
    """List the accounts: name, role, site, created, status."""
    from petdx.study.accounts import list_accounts
    from petdx.study.config import open_study
    from petdx.study.database import open_database

    try:
        database = open_database(open_study(study))
        try:
            found = list_accounts(database)
        finally:
            database.dispose()
    except PetdxError as exc:
        raise _fail(exc) from None
    table = Table(title=f"{len(found)} account(s)")
    for column in ("Name", "Role", "Site", "Created (UTC)", "Status"):
        table.add_column(column, overflow="fold")
    for account in found:
        table.add_row(
            escape(account.name),
            account.role.value,
            escape(account.site),
            account.created_utc,
            "disabled" if account.disabled else "active",
        )
    out_console.print(table)


@users_app.command("disable")
def users_disable(
    study: StudyArg,
    name: Annotated[str, typer.Argument(help="The account to disable.")],
    user: UserOpt = None,
) -> None:
    """Disable an account (its sessions end at once); the account stays in the audit trail."""
    from petdx.study.accounts import disable_account
    from petdx.study.audit import current_actor
    from petdx.study.config import open_study
    from petdx.study.database import open_database

    try:
        database = open_database(open_study(study))
        try:
            disable_account(database, name, actor=current_actor(user))
        finally:
            database.dispose()
    except PetdxError as exc:
        raise _fail(exc) from None
    err_console.print(f"account {escape(name)} disabled", highlight=False)


def serve_command(
    study: StudyArg,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            help="Server processes (each answers requests; sessions and writes go through the "
            "study database, so any number is safe). One process uses one core.",
            min=1,
            max=64,
        ),
    ] = 1,
) -> None:
    """Serve the study's web application (FastAPI on uvicorn) until interrupted."""
    import uvicorn

    from petdx.study.accounts import list_accounts
    from petdx.web import create_app
    from petdx.web.app import STUDY_ENVIRONMENT

    try:
        app = create_app(study)
    except PetdxError as exc:
        raise _fail(exc) from None
    if not list_accounts(app.state.web.database):
        err_console.print(
            "[yellow]note:[/] the study has no accounts yet; add one with "
            f"`petdx users add {escape(str(study))} NAME --role admin --site SITE`.",
            highlight=False,
        )
    shown = f"[{host}]" if ":" in host else host
    processes = f" ({workers} processes)" if workers > 1 else ""
    err_console.print(
        f"petdx: serving {escape(str(study))} at http://{shown}:{port}/{processes}",
        highlight=False,
    )
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,
    }
    if workers == 1:
        uvicorn.run(app, **options)
        return
    # Each worker process builds its own application (its own database connections) from
    # the study path; the one built above only checked that the study opens.
    app.state.web.database.dispose()
    os.environ[STUDY_ENVIRONMENT] = str(Path(study).resolve())
    uvicorn.run(
        "petdx.web.app:create_app_from_environment", factory=True, workers=workers, **options
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
    app.add_typer(users_app, name="users")
