"""Study commands: ``petdx init``, ``import``, ``export``, ``ingest`` and ``audit verify|log``.

stdout carries JSON (one object per command); messages and problems go to stderr. Exit status
2 when any input was refused (a bad CSV row, a series that could not be ingested, a broken
audit chain); the rest of the input is still processed where that is safe (ingest), while an
import is all-or-nothing by design.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from petdx.cli._console import ExitCode, err_console, error_text, progress_bar
from petdx.errors import PetdxError
from petdx.fileio import atomic_write_text

__all__ = ["audit_app", "register"]

audit_app = typer.Typer(
    name="audit",
    help="Check and print the study's audit trail.",
    no_args_is_help=True,
    add_completion=False,
)

StudyArg = Annotated[Path, typer.Argument(help="Study folder (holds study.toml).")]
UserOpt = Annotated[
    str | None, typer.Option("--user", help="Name recorded in the audit trail (default: login).")
]


def _echo(payload: dict[str, Any]) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


def _fail(exc: PetdxError) -> typer.Exit:
    err_console.print(f"[red]error:[/] {escape(error_text(exc))}", highlight=False)
    return typer.Exit(ExitCode.BAD_INPUT)


def _shown_url(url: str) -> str:
    from petdx.study.database import _redact

    return _redact(url)


def init_command(
    study: StudyArg,
    db: Annotated[
        str | None,
        typer.Option("--db", help="SQLAlchemy URL (default: SQLite study.sqlite in the folder)."),
    ] = None,
    tracer: Annotated[
        str, typer.Option(help="Tracer profile of the index test.")
    ] = "ga68-dota-blp",
    time_point: Annotated[
        list[int] | None,
        typer.Option("--time-point", help="Uptake time in min (repeat; default: the profile's)."),
    ] = None,
    target: Annotated[
        str, typer.Option(help="Target condition: malignancy or pdl1_positive.")
    ] = "malignancy",
    pdl1_score: Annotated[str, typer.Option(help="PD-L1 score: tps or cps.")] = "tps",
    pdl1_cutoff: Annotated[float, typer.Option(help="PD-L1 positive when score >= this.")] = 1.0,
    visual_score_at_least: Annotated[
        int, typer.Option(help="A read is positive when its score >= this (1-5).")
    ] = 3,
    suv_max_at_least: Annotated[
        float | None, typer.Option(help="SUV-positive when SUVmax >= this (g/ml).")
    ] = None,
    name: Annotated[str, typer.Option(help="Study name for reports.")] = "petdx study",
) -> None:
    """Create a study folder: study.toml, the database (or upgrade it) and images/."""
    from petdx.study.config import PdL1Score, StudyConfig, TargetCondition, load_config
    from petdx.study.database import init_study
    from petdx.tracers import load_tracer_profile

    try:
        existing = (study / "study.toml").exists()
        if existing:
            config = load_config(study / "study.toml")
            if db is not None and db != config.database_url:
                err_console.print(
                    f"[red]error:[/] {escape(str(study / 'study.toml'))} exists and names the "
                    f"database {escape(_shown_url(config.database_url))}; --db "
                    f"{escape(_shown_url(db))} was not applied. Edit [database] url in "
                    "study.toml, or remove the file if this folder holds no study yet.",
                    highlight=False,
                )
                raise typer.Exit(ExitCode.BAD_INPUT)
        else:
            profile = load_tracer_profile(tracer)
            config = StudyConfig(
                name=name,
                database_url=db or "sqlite:///study.sqlite",
                tracer=tracer,
                time_points_min=tuple(time_point or profile.time_points_min),
                target_condition=TargetCondition(target),
                pdl1_score=PdL1Score(pdl1_score),
                pdl1_cutoff=pdl1_cutoff,
                visual_score_at_least=visual_score_at_least,
                suv_max_at_least=suv_max_at_least,
                comparator_tracer="f18-fdg" if tracer != "f18-fdg" else None,
            )
        folder = init_study(study, config)
    except ValueError as exc:  # enum values, and InputValidationError
        if isinstance(exc, PetdxError):
            raise _fail(exc) from None
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(ExitCode.BAD_INPUT) from None
    except PetdxError as exc:
        raise _fail(exc) from None
    if existing:
        err_console.print(f"{folder.root}: existing study.toml kept; database schema upgraded")
    _echo({"study": str(folder.root), "config": folder.config.to_dict()})


def import_command(
    study: StudyArg,
    kind: Annotated[str, typer.Argument(help="Table: patients, screening, exposures, ...")],
    file: Annotated[Path, typer.Argument(help="CSV file in the data-dictionary format.")],
    reason: Annotated[
        str | None, typer.Option(help="Why stored values change (needed for any edit).")
    ] = None,
    user: UserOpt = None,
) -> None:
    """Import one CSV table, all or nothing; every bad row is listed."""
    from petdx.study.audit import current_actor
    from petdx.study.config import open_study
    from petdx.study.database import open_database
    from petdx.study.importing import import_csv
    from petdx.study.records import Author

    try:
        folder = open_study(study)
        database = open_database(folder)
        result = import_csv(database, kind, file, author=Author(current_actor(user), reason))
    except PetdxError as exc:
        raise _fail(exc) from None
    err_console.print(escape(str(result)))
    _echo(result.to_dict())


def export_command(
    study: StudyArg,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default STUDY/export, or STUDY/export-deidentified)."),
    ] = None,
    deidentify: Annotated[
        bool,
        typer.Option(
            "--deidentify",
            help="For data leaving the site: move every patient's dates (birth date "
            "included) by the patient's image date offset; intervals are kept.",
        ),
    ] = False,
) -> None:
    """Write every study table as CSV and Parquet, the screening log, and data dictionaries.

    Without --deidentify the dates are the real ones (the site's own data management)."""
    from petdx.study.config import open_study
    from petdx.study.database import open_database
    from petdx.study.exporting import export_study

    try:
        folder = open_study(study)
        result = export_study(folder, open_database(folder), out=out, deidentify=deidentify)
    except PetdxError as exc:
        raise _fail(exc) from None
    err_console.print(escape(str(result)))
    _echo(result.to_dict())


def _new_log(logs: Path, stem: str) -> Path:
    """``logs/<stem>.json``, or ``<stem>-2.json``... when a run in the same second wrote it."""
    path, n = logs / f"{stem}.json", 1
    while path.exists():
        n += 1
        path = logs / f"{stem}-{n}.json"
    return path


DatesOpt = Annotated[
    bool,
    typer.Option(
        "--dates",
        help="Keep the study's dates (default: days since the patient's index scan, dates "
        "in text as 'day N', none for patients without an index scan).",
    ),
]


def _export_labelled(study: Path, out: Path | None, kind: str, dates: bool) -> None:
    """The analysis sets (results/) written by petdx.analysis.<kind> into ``out`` or the
    study's default folder of that export."""
    from petdx.analysis import rscript, spss, stata
    from petdx.study.config import open_study

    try:
        folder = open_study(study)
        layout = folder.layout
        write, default = {
            "spss": (spss.write_sav_files, layout.export_spss),
            "stata": (stata.write_dta_files, layout.export_stata),
            "r": (rscript.write_r_files, layout.export_r),
        }[kind]
        files = write(layout.results, out or default, dates=dates)
    except PetdxError as exc:
        raise _fail(exc) from None
    for f in files:
        err_console.print(escape(f"{f.path}: {f.rows} rows, {f.variables} variables"))
    _echo({"files": [str(f.path) for f in files]})


def export_spss_command(
    study: StudyArg,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default STUDY/export-spss).")
    ] = None,
    dates: DatesOpt = False,
) -> None:
    """Write the analysis sets (results/) as SPSS .sav files with variable and value labels
    from the analysis data dictionary (results/analysis_dictionary.csv)."""
    _export_labelled(study, out, "spss", dates)


def export_stata_command(
    study: StudyArg,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default STUDY/export-stata).")
    ] = None,
    dates: DatesOpt = False,
) -> None:
    """Write the analysis sets (results/) as Stata .dta files with variable and value labels
    from the analysis data dictionary; stata_variables.csv maps the names (32 characters)."""
    _export_labelled(study, out, "stata", dates)


def export_r_command(
    study: StudyArg,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default STUDY/export-r).")
    ] = None,
    dates: DatesOpt = False,
) -> None:
    """Write the analysis sets (results/) as CSV files and analysis_sets.R, which reads them
    into R (base R only) with factor labels and variable labels from the data dictionary."""
    _export_labelled(study, out, "r", dates)


def ingest_command(
    study: StudyArg,
    path: Annotated[Path, typer.Argument(help="DICOM folder.")],
    user: UserOpt = None,
) -> None:
    """Store de-identified copies of the PET/CT series under PATH and link them."""
    from petdx.pipeline import ingest
    from petdx.study.audit import current_actor
    from petdx.study.config import open_study
    from petdx.study.database import open_database
    from petdx.study.records import Author

    try:
        folder = open_study(study)
        database = open_database(folder)
        with progress_bar("Ingesting DICOM") as update:
            result = ingest(
                folder,
                database,
                path,
                author=Author(current_actor(user)),
                progress=update,
                fork_workers=True,  # a local command, not a server (pipeline.executors)
            )
    except PetdxError as exc:
        raise _fail(exc) from None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    log = {"at_utc": stamp, "actor": current_actor(user), **result.to_dict(with_folders=False)}
    atomic_write_text(_new_log(folder.logs, f"ingest-{stamp}"), json.dumps(log, indent=2))
    err_console.print(escape(str(result)))
    for stored in result.series:
        if stored.suv_error:
            err_console.print(
                f"[yellow]warning:[/] {stored.patient_id} PT series {stored.series_uid} stored "
                f"without SUV: {escape(stored.suv_error)}",
                highlight=False,
            )
    for problem in result.problems:
        err_console.print(f"[red]error:[/] {escape(str(problem))}", highlight=False)
    _echo(result.to_dict(with_folders=False))
    raise typer.Exit(ExitCode.OK if result.ok else ExitCode.BAD_INPUT)


@audit_app.command("verify")
def audit_verify_command(
    study: StudyArg,
    head: Annotated[
        list[str] | None,
        typer.Option(
            "--head",
            help="A head kept from an earlier verify, SEQ:HASH (repeat): that row must still "
            "have that hash.",
        ),
    ] = None,
) -> None:
    """Check the audit trail: the keyed chain, the key, the anchor, and every data table
    against the trail; name the first bad row or table (exit 2)."""
    from petdx.study.config import open_study
    from petdx.study.integrity import parse_head, verify_study

    try:
        recorded = [parse_head(text) for text in head or ()]
        verification = verify_study(open_study(study), recorded_heads=recorded)
    except PetdxError as exc:
        raise _fail(exc) from None
    err_console.print(escape(str(verification)), highlight=False)
    _echo(verification.to_dict())
    raise typer.Exit(ExitCode.OK if verification.ok else ExitCode.BAD_INPUT)


@audit_app.command("log")
def audit_log_command(
    study: StudyArg,
    patient: Annotated[str | None, typer.Option(help="Only this patient's history.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
) -> None:
    """Print the audit trail (who, when, what, old -> new, reason)."""
    from petdx.study.audit import audit_history
    from petdx.study.config import open_study
    from petdx.study.database import open_database

    try:
        database = open_database(open_study(study))
        with database.engine.connect() as connection:
            entries = audit_history(connection, patient_id=patient)
    except PetdxError as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps([e.to_dict() for e in entries], indent=2, default=str))
    else:
        for entry in entries:
            typer.echo(str(entry))


def register(app: typer.Typer) -> None:
    """Add the study commands to the ``petdx`` application."""
    app.command("init")(init_command)
    app.command("import")(import_command)
    app.command("export")(export_command)
    app.command("export-spss")(export_spss_command)
    app.command("export-stata")(export_stata_command)
    app.command("export-r")(export_r_command)
    app.command("ingest")(ingest_command)
    app.add_typer(audit_app, name="audit")
