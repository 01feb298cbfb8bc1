"""``petdx simulate`` (digital phantom cohort) and ``petdx simulate-nema`` (NEMA phantom)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from petdx.cli._console import ExitCode, err_console, error_text, progress_bar
from petdx.errors import PetdxError
from petdx.jsonsafe import dumps

if TYPE_CHECKING:  # the simulator is imported when a command runs, not at start-up
    from petdx.simulate import CohortSummary
    from petdx.simulate.nema import NemaSummary

__all__ = ["register", "simulate_command", "simulate_nema_command"]


def _time_points(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        values = ()
    if not values:
        err_console.print(
            f"[red]error:[/] --time-points {text!r}: expected whole minutes after injection "
            "separated by commas, e.g. 60,120."
        )
        raise typer.Exit(ExitCode.BAD_INPUT)
    return values


@contextmanager
def _bad_input_exits() -> Iterator[None]:
    """Turn petdx's input errors into a message on stderr and exit status 2."""
    try:
        yield
    except PetdxError as exc:
        err_console.print(f"[red]error:[/] {escape(error_text(exc))}")
        raise typer.Exit(ExitCode.BAD_INPUT) from None


def _report(summary: CohortSummary | NemaSummary) -> None:
    typer.echo(dumps(summary.to_dict()))
    err_console.print(escape(str(summary)))


def simulate_command(
    out: Annotated[Path, typer.Argument(help="New (or empty) output folder.")],
    patients: Annotated[int, typer.Option("--patients", help="Number of ENROLLED patients.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same files).")],
    tracer: Annotated[
        str, typer.Option("--tracer", help="Study tracer profile: name or TOML path.")
    ] = "ga68-dota-blp",
    time_points: Annotated[
        str, typer.Option("--time-points", help="Minutes after injection, e.g. 60,120.")
    ] = "60,120",
    with_fdg: Annotated[
        bool, typer.Option("--with-fdg", help="Add a paired FDG PET/CT per patient.")
    ] = False,
    voxel_mm: Annotated[float, typer.Option("--voxel-mm", help="PET voxel size in mm.")] = 4.0,
    small: Annotated[
        bool, typer.Option("--small", help="Test-sized images (coarse voxels, small CT).")
    ] = False,
    noise_alpha: Annotated[
        float | None,
        typer.Option(
            "--noise-alpha",
            help="PET noise constant of the scanner model (default 0.75); 0 gives "
            "noise-free PET, to separate noise from partial-volume and segmentation error.",
        ),
    ] = None,
    null_retention: Annotated[
        bool,
        typer.Option(
            "--null-retention",
            help="No retention difference between PD-L1-positive and -negative lesions "
            "(the negative class takes the positive class's time course): the null "
            "hypothesis of 'petdx stats retention', for its type-I error.",
        ),
    ] = False,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Worker processes (default: up to 2).")
    ] = None,
    modality: Annotated[
        str,
        typer.Option(
            "--modality",
            help="pet-ct (PET and low-dose CT) or pet-mr (PET with MR-based attenuation "
            "correction, a Dixon water/fat pair and a mu-map, no CT).",
        ),
    ] = "pet-ct",
) -> None:
    """Simulate a screened cohort with PET/CT DICOM (PET/MR with --modality pet-mr), ground
    truth and study tables.

    About 20 % more patients than --patients are screened and fail eligibility; enrolled
    patients get PET/CT DICOM of every scan, ground-truth lesion SEG and NIfTI label maps;
    the study tables and data_dictionary.csv follow petdx's exchange format (see
    docs/simulate.md). Prints a JSON summary on stdout; exit status 2 on bad input.
    """
    times = _time_points(time_points)
    with _bad_input_exits(), progress_bar("Simulating patients") as update:
        from petdx.simulate import simulate_cohort

        summary = simulate_cohort(
            out,
            n_patients=patients,
            seed=seed,
            tracer=tracer,
            time_points_min=times,
            with_fdg=with_fdg,
            voxel_mm=voxel_mm,
            small=small,
            noise_alpha=noise_alpha,
            null_retention=null_retention,
            progress=update,
            workers=workers,
            modality=modality,
            fork_workers=True,  # a local command, not a server (pipeline.executors)
        )
    _report(summary)


def simulate_nema_command(
    out: Annotated[Path, typer.Argument(help="New (or empty) output folder.")],
    nuclide: Annotated[
        str, typer.Option("--nuclide", help="Positron emitter, e.g. F-18 or Ga-68.")
    ] = "F-18",
    contrast: Annotated[
        float, typer.Option("--contrast", help="Sphere-to-background activity ratio.")
    ] = 4.0,
    background_kbq_ml: Annotated[
        float, typer.Option("--background-kbq-ml", help="Background activity, kBq/ml.")
    ] = 2.0,
    voxel_mm: Annotated[float, typer.Option("--voxel-mm", help="Voxel size in mm.")] = 4.0,
    seed: Annotated[int, typer.Option("--seed", help="Noise seed.")] = 1,
) -> None:
    """Simulate the NEMA IEC body phantom (six spheres, 10-37 mm) through the cohort's
    scanner model, with spheres.csv as truth, to check recovery against EARL limits."""
    with _bad_input_exits():
        from petdx.simulate.nema import simulate_nema

        summary = simulate_nema(
            out,
            nuclide=nuclide,
            contrast=contrast,
            background_kbq_ml=background_kbq_ml,
            voxel_mm=voxel_mm,
            seed=seed,
        )
    _report(summary)
    err_console.print(
        "EARL check: "
        + escape(f"petdx nema analyse {out / 'dicom'} --truth {out / 'spheres.csv'}")
        + " [--plot rc.png] [--json]"
    )


def register(app: typer.Typer) -> None:
    """Add ``simulate`` and ``simulate-nema`` to the petdx application."""
    app.command("simulate")(simulate_command)
    app.command("simulate-nema")(simulate_nema_command)
