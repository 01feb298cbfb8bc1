"""``petdx quantify PET_DIR``: lesion SUVmax/peak/mean, MTV, TLG, TBR, retention."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from petdx.cli._console import ExitCode, err_console, error_text, out_console
from petdx.dicom import (
    ImageSeries,
    rasterize_rois,
    read_nifti_mask,
    read_rtstruct,
    read_seg,
)
from petdx.errors import GeometryWarning, InputValidationError, PetdxError
from petdx.image import Volume
from petdx.image.resample import MaskResampling
from petdx.jsonsafe import dumps, format_or_missing
from petdx.segment import DetectionMethod
from petdx.suv import SuvNormalization

if TYPE_CHECKING:  # petdx.quantify (SimpleITK, pandas) is imported when the command runs
    from petdx.quantify import ScanInput

__all__ = ["quantify_command"]


def _point(text: str, option: str) -> tuple[float, float, float]:
    parts = text.replace(" ", "").split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        raise InputValidationError(
            f"{option} {text}: expected three numbers X,Y,Z in patient (LPS) mm, e.g. "
            "-40.5,12,-830."
        )
    return (values[0], values[1], values[2])


def _load_scan(folder: Path, normalization: SuvNormalization) -> tuple[ImageSeries, ScanInput]:
    from petdx.quantify.outputs import load_pet_folder

    loaded = load_pet_folder(folder, normalization=normalization)
    for warning in loaded.warnings:
        err_console.print(f"[yellow]warning:[/] {loaded.series.series_instance_uid}: {warning}")
    return loaded.series, loaded.scan


def _vois(
    series: ImageSeries,
    grid: Volume,
    seg: Path | None,
    rtstruct: Path | None,
    rois: list[str],
    mask: Path | None,
    resample: MaskResampling | None,
) -> Volume | None:
    if seg is not None:
        read = read_seg(seg, series, resample=resample)
        for note in read.warnings:
            err_console.print(f"[yellow]warning:[/] {note}")
        return read.labels
    if rtstruct is not None:
        merged = rasterize_rois(
            read_rtstruct(rtstruct),
            grid,
            rois,
            frame_of_reference_uid=series.entry.frame_of_reference_uid,
        )
        for note in merged.warnings:
            err_console.print(f"[yellow]warning:[/] {note}")
        return merged.labels
    if mask is not None:
        return read_nifti_mask(mask, grid, resample=resample)
    return None


def _print_table(data: dict[str, Any]) -> None:
    table = Table(title=f"Lesions of {data['series_instance_uid']} ({data['method']})")
    for name in ("label", "ml", "SUVmax", "peak", "peak glob", "mean", "TLG", "TBR liver", "RI %"):
        table.add_column(name, justify="right")

    for les in data["lesions"]:
        table.add_row(
            str(les["label"]),
            format_or_missing(les["volume_ml"]),
            format_or_missing(les["suv_max"]),
            format_or_missing(les["suv_peak_local"]),
            format_or_missing(les["suv_peak_global"]),
            format_or_missing(les["suv_mean"]),
            format_or_missing(les["tlg"], ".1f"),
            format_or_missing(les["tbr_liver"]),
            format_or_missing(les.get("retention_index_pct"), ".1f"),
        )
    out_console.print(table)


def quantify_command(
    pet_dir: Annotated[Path, typer.Argument(help="Folder of the (first) PET series.")],
    seg: Annotated[Path | None, typer.Option(help="DICOM SEG of the lesions.")] = None,
    rtstruct: Annotated[Path | None, typer.Option(help="RTSTRUCT of the lesions.")] = None,
    roi: Annotated[
        list[str] | None, typer.Option(help="RTSTRUCT ROI name (repeat; default all ROIs).")
    ] = None,
    mask: Annotated[
        Path | None, typer.Option(help="NIfTI label map on the PET grid (0 = background).")
    ] = None,
    resample: Annotated[
        MaskResampling | None,
        typer.Option(
            "--resample",
            help="Resample a --mask, --seg or reference mask drawn on another grid onto the "
            "PET: nearest (label at each PET voxel centre) or fraction (label covering at "
            "least half of the PET voxel). Default: refuse such masks.",
        ),
    ] = None,
    seed: Annotated[
        list[str] | None, typer.Option(help="Seed point X,Y,Z in LPS mm (repeat).")
    ] = None,
    detect: Annotated[
        bool, typer.Option("--detect", help="Whole-body candidate detection.")
    ] = False,
    detect_method: Annotated[
        DetectionMethod,
        typer.Option(
            "--detect-method",
            help="local-contrast (PERCIST threshold plus local hot spots) or percist.",
        ),
    ] = DetectionMethod.LOCAL_CONTRAST,
    method: Annotated[
        str, typer.Option(help="voi, fixed:SUV, percent:PCT, percist, a50, grow[:SUV].")
    ] = "voi",
    time_point: Annotated[
        list[Path] | None, typer.Option(help="Folder of a later PET series (repeat).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write CSV, Parquet, NIfTI, SEG and SR here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    normalization: Annotated[
        SuvNormalization, typer.Option("--normalization", "-n", help="SUV normalisation.")
    ] = SuvNormalization.BW,
    liver_centre: Annotated[
        str | None, typer.Option(help="Liver reference centre X,Y,Z (LPS mm).")
    ] = None,
    blood_pool_centre: Annotated[
        str | None, typer.Option(help="Blood-pool (descending aorta) centre X,Y,Z.")
    ] = None,
    muscle_centre: Annotated[str | None, typer.Option(help="Muscle centre X,Y,Z.")] = None,
    liver_mask: Annotated[Path | None, typer.Option(help="Liver mask (NIfTI).")] = None,
    blood_pool_mask: Annotated[Path | None, typer.Option(help="Aorta mask (NIfTI).")] = None,
    muscle_mask: Annotated[Path | None, typer.Option(help="Muscle mask (NIfTI).")] = None,
    auto_liver: Annotated[
        bool, typer.Option("--auto-liver", help="Place the liver reference automatically.")
    ] = False,
    exclude_mask: Annotated[
        list[Path] | None,
        typer.Option(help="Physiological-uptake mask for --detect (repeat: kidneys, bladder)."),
    ] = None,
    align: Annotated[
        bool, typer.Option("--align/--no-align", help="Rigid alignment of later scans.")
    ] = True,
    psf_fwhm_mm: Annotated[
        float | None,
        typer.Option(
            "--psf-fwhm-mm",
            help="Scanner resolution FWHM (mm): adds the partial-volume-corrected VOI uptake "
            "and retention index (two-compartment model; experimental, trusts the VOI: "
            "docs/quantify.md).",
        ),
    ] = None,
) -> None:
    """Segment and quantify the lesions of one PET scan, or of one visit's time points.

    Give one lesion source (--seg, --rtstruct, --mask, --seed or --detect). Every number has
    a stated definition (docs/quantify.md). Exit status 2 names the input that was refused.
    """
    from petdx.quantify import LesionSource, MethodSpec, ReferenceSpec, quantify_visit

    all_series: list[ImageSeries] = []
    scans: list[ScanInput] = []
    failed = False
    try:
        spec = MethodSpec.parse(method)
        seeds = tuple(_point(s, "--seed") for s in seed or [])
        series, scan = _load_scan(pet_dir, normalization)
        all_series.append(series)
        scans.append(scan)
        grid = scan.suv
        centres = {
            tissue: _point(value, f"--{tissue.replace('_', '-')}-centre")
            for tissue, value in (
                ("liver", liver_centre),
                ("blood_pool", blood_pool_centre),
                ("muscle", muscle_centre),
            )
            if value
        }
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", GeometryWarning)
            vois = _vois(series, grid, seg, rtstruct, roi or [], mask, resample)
            masks = {
                tissue: read_nifti_mask(path, grid, resample=resample)
                for tissue, path in (
                    ("liver", liver_mask),
                    ("blood_pool", blood_pool_mask),
                    ("muscle", muscle_mask),
                )
                if path is not None
            }
            excluded = tuple(
                read_nifti_mask(p, grid, resample=resample) for p in exclude_mask or []
            )
        for caught_warning in caught:
            if issubclass(caught_warning.category, GeometryWarning):
                err_console.print(f"[yellow]warning:[/] {caught_warning.message}")
            else:
                warnings.showwarning(
                    caught_warning.message,
                    caught_warning.category,
                    caught_warning.filename,
                    caught_warning.lineno,
                )
        source = LesionSource(
            voi_labels=vois,
            seeds_mm=seeds,
            detect=detect,
            detection_method=detect_method,
            physiological_masks=excluded,
        )
    except PetdxError as exc:
        err_console.print(f"[red]error:[/] {error_text(exc)}")
        raise typer.Exit(ExitCode.BAD_INPUT) from None
    for folder in time_point or []:
        try:
            later_series, later = _load_scan(folder, normalization)
            all_series.append(later_series)
            scans.append(later)
        except PetdxError as exc:
            err_console.print(f"[red]error:[/] time point {folder}: {error_text(exc)}")
            failed = True
    try:
        result = quantify_visit(
            scans,
            source,
            method=spec,
            references=ReferenceSpec(centres_mm=centres, masks=masks, auto_liver=auto_liver),
            align=align,
            psf_fwhm_mm=psf_fwhm_mm,
        )
        if out is not None:
            from petdx.quantify.outputs import write_visit_outputs

            notes = write_visit_outputs(
                out, result, all_series, method=str(result.time_points[0].method)
            )
            for note in notes:
                err_console.print(f"[yellow]warning:[/] {note}")
    except PetdxError as exc:
        err_console.print(f"[red]error:[/] {error_text(exc)}")
        raise typer.Exit(ExitCode.BAD_INPUT) from None
    data = result.to_dict()
    if as_json:
        typer.echo(dumps(data))
    else:
        _print_table(data)
    for tp in result.time_points:
        for problem in tp.reference_problems.values():
            err_console.print(f"[yellow]warning:[/] time point {tp.index + 1}: {problem}")
        for note in tp.warnings:
            err_console.print(f"time point {tp.index + 1}: {note}")
    raise typer.Exit(ExitCode.BAD_INPUT if failed else ExitCode.OK)
