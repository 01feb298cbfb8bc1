"""``petdx suv PATH``: SUV factor and SUVmax of every PET series under a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from petdx.cli._console import ExitCode, err_console, error_text, out_console, progress_bar
from petdx.dicom import SeriesKind, index_dicom_folder
from petdx.errors import PetdxError
from petdx.jsonsafe import MISSING, dumps
from petdx.suv import SuvNormalization, SuvOverrides, suv_report

__all__ = ["suv_command"]


def _fmt_time(value: str | None) -> str:
    return value.replace("T", " ")[:19] if value else MISSING


def _fmt_factor(row: dict[str, Any]) -> str:
    """petdx's factor, and the scanner's own (with the difference) when it stored one."""
    text = f"{row['suv_factor']:.6g}"
    check = row.get("vendor_check")
    if check:
        colour = "" if check["agrees"] else "[yellow]"
        text += (
            f"\n{colour}scanner SUVbw {check['vendor_suv_factor']:.6g} "
            f"({check['relative_difference']:+.2%}){'[/]' if colour else ''}"
        )
    return text


def _short_uid(uid: str) -> str:
    """The end of a series UID (where UIDs of one study differ): ``…5206895898058``."""
    return uid if len(uid) <= _UID_TAIL + 1 else "…" + uid[-_UID_TAIL:]


_UID_TAIL = 13


def _compact_factor(row: dict[str, Any]) -> str:
    text = f"{row['suv_factor']:.6g}"
    check = row.get("vendor_check")
    if check:
        colour = "" if check["agrees"] else "[yellow]"
        text += f"\n{colour}scanner {check['relative_difference']:+.2%}{'[/]' if colour else ''}"
    return text


def _compact_table(rows: list[dict[str, Any]], normalization: SuvNormalization) -> Table:
    """The table for an 80-column terminal: the series by its description and the end of its
    UID, and what a reader checks (units, weight, dose, factor, SUVmax); the factor and SUVmax
    never wrap. ``--wide`` gives every column, ``--json`` every value."""
    table = Table(
        title=f"SUV{normalization.value} per PET series",
        caption="--wide: injection and reference times, nuclide, full UIDs",
        show_lines=True,
    )
    table.add_column("Series", overflow="fold", ratio=1)
    table.add_column("Units/decay", overflow="fold", max_width=12)
    table.add_column("Weight kg", justify="right", max_width=6)
    table.add_column("Dose MBq", justify="right", max_width=8)
    table.add_column("Factor", no_wrap=True, justify="right")
    table.add_column("SUVmax", no_wrap=True, justify="right")
    for row in rows:
        series = (
            f"{row['series_description'] or '(no description)'}\n"
            f"{_short_uid(row['series_instance_uid'])}"
        )
        if row["error"]:
            table.add_row(f"{series}\n[red]{row['error']}", "", "", "", "", "")
            continue
        dose = row["injected_activity_bq"]
        weight = row["body_weight_kg"]
        table.add_row(
            series,
            f"{row['units']}/{row['decay_correction']}",
            f"{weight:g}" if weight else MISSING,
            f"{dose / 1e6:.4g}" if dose else MISSING,
            _compact_factor(row),
            f"{row['suv_max']:.2f}",
        )
    return table


def _table(rows: list[dict[str, Any]], normalization: SuvNormalization) -> Table:
    table = Table(title=f"SUV{normalization.value} per PET series", show_lines=True)
    table.add_column("Series", min_width=64, overflow="fold")
    for name in (
        "Manufacturer",
        "Units / decay",
        "Injection",
        "Reference (rule)",
        "Dose Bq",
        "Weight kg",
        "Nuclide",
        "Factor",
        "SUVmax",
    ):
        table.add_column(name, overflow="fold")
    for row in rows:
        series = f"{row['series_description'] or '(no description)'}\n{row['series_instance_uid']}"
        if row["error"]:
            table.add_row(series, row["manufacturer"], "", "", f"[red]{row['error']}", *[""] * 5)
            continue
        dose = row["injected_activity_bq"]
        weight = row["body_weight_kg"]
        table.add_row(
            series,
            row["manufacturer"],
            f"{row['units']} / {row['decay_correction']}",
            _fmt_time(row["injection_datetime"]),
            f"{_fmt_time(row['reference_datetime'])}\n({row['reference_time_rule']})",
            f"{dose:.4g}" if dose else MISSING,
            f"{weight:g}" if weight else MISSING,
            row["nuclide"] or MISSING,
            _fmt_factor(row),
            f"{row['suv_max']:.2f}",
        )
    return table


def suv_command(
    path: Annotated[Path, typer.Argument(help="Folder (searched recursively) or DICOM file.")],
    normalization: Annotated[
        SuvNormalization,
        typer.Option("--normalization", "-n", help="Body-size normalisation of the SUV."),
    ] = SuvNormalization.BW,
    weight_kg: Annotated[
        float | None, typer.Option(help="Body weight in kg, replacing PatientWeight.")
    ] = None,
    height_m: Annotated[
        float | None, typer.Option(help="Height in m, replacing PatientSize.")
    ] = None,
    sex: Annotated[str | None, typer.Option(help="M, F or O, replacing PatientSex.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON array (one object per series).")
    ] = False,
    wide: Annotated[
        bool,
        typer.Option("--wide", help="Every column and the full UIDs (needs about 160 columns)."),
    ] = False,
) -> None:
    """SUV factor and SUVmax of every PET series found under PATH.

    Each series reports the rule that fixed its decay reference time and every header value
    that was corrected (grams, MBq, midnight); where the scanner stored its own SUV scaling
    (Philips (7053,1000)), that value is shown beside petdx's factor and a difference over 1 %
    is a warning. A series that fails carries its error and the
    others are still processed; the exit status is 2 when any PET series or file failed.
    """
    try:
        overrides = SuvOverrides(body_weight_kg=weight_kg, height_m=height_m, sex=sex)
        with progress_bar("Indexing DICOM") as update:
            index = index_dicom_folder(path, progress=update)
    except PetdxError as exc:
        err_console.print(f"[red]error:[/] {error_text(exc)}")
        raise typer.Exit(ExitCode.BAD_INPUT) from None

    pet_series = index.of_kind(SeriesKind.PT)
    if not pet_series:
        if as_json:
            typer.echo("[]")
        what = f"{index.n_inputs} file(s)" if index.n_inputs else "no files"
        err_console.print(
            f"[red]error:[/] no PET series could be read under {path} ({what}): "
            f"{index.skipped_summary()}. Give the folder (or file) holding the PET series.",
            highlight=False,
        )
        raise typer.Exit(ExitCode.BAD_INPUT)
    rows = []
    with progress_bar("Computing SUV") as update:
        for done, entry in enumerate(pet_series, start=1):
            rows.append(
                suv_report(
                    entry,
                    normalization=normalization,
                    overrides=overrides,
                    describe_error=error_text,
                )
            )
            update(done, len(pet_series))

    if as_json:
        typer.echo(dumps(rows))
    elif rows:
        out_console.print((_table if wide else _compact_table)(rows, normalization))
    _print_problems(index, rows, path)
    failed = any(row["error"] for row in rows) or bool(index.unreadable)
    raise typer.Exit(ExitCode.BAD_INPUT if failed else ExitCode.OK)


def _print_problems(index: Any, rows: list[dict[str, Any]], path: Path) -> None:
    others = [s for s in index.series.values() if s.kind is not SeriesKind.PT]
    summary = f"{len(rows)} PET series"
    if others:
        kinds = sorted({s.kind.value for s in others})
        summary += f", {len(others)} other series ignored ({', '.join(kinds)})"
    if index.non_dicom:
        summary += f", {len(index.non_dicom)} non-DICOM file(s) skipped"
    n_problems = sum(1 for row in rows if row["error"]) + len(index.unreadable)
    summary += f", {n_problems} problem(s)"
    err_console.print(summary)
    for row in rows:
        for warning in row["warnings"]:
            err_console.print(f"[yellow]warning:[/] {row['series_instance_uid']}: {warning}")
        if row["error"]:
            err_console.print(f"[red]error:[/] {row['error']}")
    for problem in index.unreadable:
        err_console.print(f"[red]error:[/] {problem.message}")
