"""``petdx nema analyse``: the EARL check of a NEMA IEC body phantom PET series.

Exit status: 0 when the phantom meets the required standard (``--require``, default
``any``: EARL1 or EARL2), 1 when it does not, 2 on bad input (no PET series, spheres not
found, concentrations missing or unusable).
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from petdx.cli._console import ExitCode, err_console, error_text, out_console
from petdx.errors import PetdxError
from petdx.jsonsafe import dumps

if TYPE_CHECKING:
    from petdx.dicom.frames import Frame
    from petdx.quantify.nema import NemaTruth

__all__ = ["FAILS_EARL", "nema_app"]

#: Exit status when the phantom fails the required EARL standard (the measurement worked).
FAILS_EARL = 1
_REQUIRE = ("any", "earl1", "earl2", "both", "none")

nema_app = typer.Typer(
    help="NEMA IEC body phantom: recovery coefficients against the EARL limits.",
    no_args_is_help=True,
)


def _bad(message: str) -> typer.Exit:
    err_console.print(f"[red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(ExitCode.BAD_INPUT)


def _verdict(value: bool | None) -> str:
    return "-" if value is None else ("pass" if value else "FAIL")


def _decayed(
    filling: NemaTruth, filled_at: datetime, frames: Sequence[Frame], label: str
) -> NemaTruth:
    """The filling decayed from ``filled_at`` to the image's decay reference time."""
    from petdx.suv.inputs import suv_inputs_from_frames
    from petdx.suv.timing import reference_time

    inputs = suv_inputs_from_frames(frames, label)
    if (inputs.decay_correction or "").upper() != "START":
        raise _bad(
            f"{label}: DecayCorrection (0054,1102) {inputs.decay_correction or '(missing)'}, "
            "not START, so --fill-time cannot be applied; give the concentrations at the "
            "image's reference time without --fill-time."
        )
    half_life = inputs.half_life_raw_s or (inputs.nuclide.half_life_s if inputs.nuclide else None)
    if not half_life:
        raise _bad(
            f"{label}: RadionuclideHalfLife (0018,1075) and the radionuclide are missing, so "
            "--fill-time cannot decay the filling; give the concentrations at the reference time."
        )
    reference = reference_time(inputs, half_life).value
    factor = 2.0 ** (-(reference - filled_at).total_seconds() / half_life)
    return dataclasses.replace(
        filling,
        sphere=None if filling.sphere is None else filling.sphere * factor,
        background=None if filling.background is None else filling.background * factor,
    )


@nema_app.command("analyse")
def analyse_command(
    dicom_dir: Annotated[Path, typer.Argument(help="Folder with the phantom's PET series.")],
    sphere_kbq_ml: Annotated[
        float | None,
        typer.Option(
            "--sphere-kbq-ml",
            help="Sphere activity concentration at the image's decay-correction reference "
            "time (kBq/ml; Units BQML images).",
        ),
    ] = None,
    background_kbq_ml: Annotated[
        float | None,
        typer.Option("--background-kbq-ml", help="Background concentration, same time (kBq/ml)."),
    ] = None,
    sphere_to_background: Annotated[
        float | None,
        typer.Option(
            "--sphere-to-background",
            help="Sphere-to-background ratio of the filling; the sphere concentration is "
            "this times --background-kbq-ml, or times the background VOI's mean.",
        ),
    ] = None,
    fill_time: Annotated[
        str | None,
        typer.Option(
            "--fill-time",
            help="When --sphere-kbq-ml/--background-kbq-ml were measured (ISO, e.g. "
            "2026-03-02T09:00): decayed to the image's reference time with the header's "
            "half-life (DecayCorrection START). Without it they are taken at that time.",
        ),
    ] = None,
    truth: Annotated[
        Path | None,
        typer.Option("--truth", help="spheres.csv of petdx simulate-nema (the filling)."),
    ] = None,
    series: Annotated[
        str | None, typer.Option("--series", help="SeriesInstanceUID, when several PET series.")
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Write RC vs diameter with the EARL bands (.png/.pdf/.svg)."),
    ] = None,
    require: Annotated[
        str,
        typer.Option(
            "--require",
            help="Standard for exit status 1: any (EARL1 or EARL2), earl1, earl2, both, none.",
        ),
    ] = "any",
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout, not a table.")] = False,
) -> None:
    """Recovery coefficients RCmax, RCmean (A50) and RCpeak of the six spheres against the
    EARL1 and EARL2 limits; the spheres are found in the image (docs/nema.md).

    Exit status 0 when the required standard is met, 1 when not, 2 on bad input.
    """
    if require not in _REQUIRE:
        raise _bad(f"--require {require!r}: expected one of {', '.join(_REQUIRE)}.")
    given = [sphere_kbq_ml is not None, sphere_to_background is not None, truth is not None]
    if sum(given) != 1:
        raise _bad(
            "Give the filling once: --sphere-kbq-ml (with --background-kbq-ml), or "
            "--sphere-to-background (with --background-kbq-ml or the measured background), "
            "or --truth spheres.csv of petdx simulate-nema."
        )
    filled_at = None
    if fill_time is not None:
        if sphere_kbq_ml is None and background_kbq_ml is None:
            raise _bad("--fill-time applies to --sphere-kbq-ml / --background-kbq-ml; give them.")
        try:
            filled_at = datetime.fromisoformat(fill_time)
        except ValueError:
            raise _bad(
                f"--fill-time {fill_time!r}: expected a date and time, e.g. 2026-03-02T09:00."
            ) from None
    from petdx.dicom import SeriesKind, index_dicom_folder, read_series_volume
    from petdx.quantify.nema import NemaTruth, analyse_nema, truth_from_rows

    try:
        if truth is not None:
            try:
                with truth.open(newline="", encoding="utf-8") as handle:
                    rows = list(csv.DictReader(handle))
            except (OSError, UnicodeDecodeError) as exc:
                raise _bad(f"--truth {truth}: cannot be read ({exc}).") from None
            filling = truth_from_rows(rows, str(truth))
        else:
            filling = NemaTruth(
                sphere=None if sphere_kbq_ml is None else sphere_kbq_ml * 1000.0,
                background=None if background_kbq_ml is None else background_kbq_ml * 1000.0,
                ratio=sphere_to_background,
            )
        if not dicom_dir.is_dir():
            raise _bad(f"{dicom_dir}: not a folder; give the folder of the phantom's PET series.")
        index = index_dicom_folder(dicom_dir)
        pets = index.of_kind(SeriesKind.PT)
        if series is not None:
            pets = [p for p in pets if p.series_instance_uid == series]
        if len(pets) != 1:
            found = ", ".join(p.series_instance_uid for p in index.of_kind(SeriesKind.PT))
            kinds = sorted({s.kind.value for s in index.series.values()})
            raise _bad(
                f"{dicom_dir}: {len(pets)} PET series"
                + (f" with --series {series}" if series else "")
                + f" (PET series: {found or 'none'}; series kinds found: "
                + f"{', '.join(kinds) or 'none'}). Give the folder of one NEMA phantom PET "
                "series, or choose one with --series."
            )
        image = read_series_volume(pets[0])
        units = str(image.frames[0].get("Units") or "").upper()
        if units != "BQML" and (filling.sphere is not None or filling.background is not None):
            raise _bad(
                f"{pets[0].label()}: Units {units or '(missing)'} (0054,1001), not BQML, so "
                "kBq/ml concentrations do not apply; give --sphere-to-background alone (the "
                "background is then measured in the image)."
            )
        if filled_at is not None:
            filling = _decayed(filling, filled_at, image.frames, pets[0].label())
        result = analyse_nema(image.volume, filling, units=units, label=pets[0].label())
    except PetdxError as exc:
        raise _bad(error_text(exc)) from None
    if plot is not None:
        from petdx.fileio import write_atomically
        from petdx.quantify.nema import recovery_figure

        figure = recovery_figure(result)
        fmt = plot.suffix.lstrip(".").lower() or "png"
        if fmt not in ("png", "pdf", "svg"):
            raise _bad(f"--plot {plot}: expected a .png, .pdf or .svg file name.")
        write_atomically(
            plot,
            lambda tmp: figure.savefig(
                tmp, format=fmt, dpi=300, bbox_inches="tight", facecolor="white"
            ),
        )
    if as_json:
        typer.echo(dumps(result.to_dict()))
    else:
        table = Table(title=f"NEMA IEC phantom: recovery vs EARL ({escape(result.label)})")
        for column in ("Sphere", "RCmax", "RCmean A50", "RCpeak", "EARL1", "EARL2"):
            table.add_column(column, justify="right")
        for sphere in result.spheres:
            cells = [f"{sphere.diameter_mm:g} mm"]
            for metric in ("max", "mean", "peak"):
                marks = "/".join(_verdict(sphere.verdicts[s][metric]) for s in ("EARL1", "EARL2"))
                cells.append(f"{sphere.rc[metric]:.3f} ({marks})")
            cells += ["pass" if sphere.passes(s) else "[bold]FAIL[/]" for s in ("EARL1", "EARL2")]
            table.add_row(*cells)
        out_console.print(table)
        out_console.print(
            f"background {result.background_measured:.4g} {units} (VOI, "
            f"{result.background_voxels} voxels); sphere truth "
            f"{result.sphere_concentration:.4g}; ring centre "
            f"({result.ring.centre_mm[0]:.1f}, {result.ring.centre_mm[1]:.1f}) mm, rotation "
            f"{result.ring.rotation_deg:.1f} deg{', mirrored' if result.ring.mirrored else ''}"
        )
    passes = {name: result.passes(name) for name in ("EARL1", "EARL2")}
    err_console.print(
        "EARL1 "
        + ("pass" if passes["EARL1"] else "FAIL")
        + ", EARL2 "
        + ("pass" if passes["EARL2"] else "FAIL")
        + (f"; plot {plot}" if plot else "")
    )
    ok = {
        "any": passes["EARL1"] or passes["EARL2"],
        "earl1": passes["EARL1"],
        "earl2": passes["EARL2"],
        "both": passes["EARL1"] and passes["EARL2"],
        "none": True,
    }[require]
    if not ok:
        raise typer.Exit(FAILS_EARL)
