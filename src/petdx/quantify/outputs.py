"""A visit's inputs from PET folders and its outputs as files: what ``petdx quantify`` reads
and writes, kept in the library so that every front end reads and writes the same.

* :func:`load_pet_folder`: the one PET series of a folder, read, with its SUV
  (:class:`~petdx.quantify.ScanInput`).
* :func:`write_visit_outputs`: the measurement table (CSV and Parquet), and per time point the
  label map (NIfTI), the DICOM SEG and the TID 1500 measurement report (SR).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from petdx.dicom.discovery import SeriesKind, index_dicom_folder
from petdx.dicom.masks import write_nifti_mask
from petdx.dicom.seg import source_datasets, write_seg
from petdx.dicom.series_volume import ImageSeries, read_series_volume
from petdx.dicom.sr import SrLesion, write_measurement_report
from petdx.errors import GeometryWarning, InputValidationError
from petdx.quantify.metrics import LesionMetrics
from petdx.quantify.pipeline import ScanInput
from petdx.quantify.results import QuantificationResult, write_table
from petdx.suv import SuvNormalization, compute_suv, suv_volume

__all__ = ["LoadedScan", "load_pet_folder", "write_visit_outputs"]


@dataclass(frozen=True)
class LoadedScan:
    """One time point read from its folder: the series, its SUV input and the SUV notes."""

    series: ImageSeries = field(repr=False)
    scan: ScanInput = field(repr=False)
    #: The SUV computation's notes (header values corrected or assumed), in order.
    warnings: tuple[str, ...] = ()


def load_pet_folder(
    folder: str | os.PathLike[str], *, normalization: SuvNormalization | str
) -> LoadedScan:
    """Read the one PET series under ``folder`` and compute its SUV volume.

    The slice-step note of an irregular series is not warned: it is among the SUV result's
    notes (``warnings``).

    Raises
    ------
    InputValidationError
        The folder holds no PET series, or more than one.
    InvalidSeriesError
        The series cannot be read, or its SUV cannot be computed (as :func:`compute_suv`).
    """
    source = Path(folder)
    kind = SuvNormalization(normalization)
    index = index_dicom_folder(source)
    pets = index.of_kind(SeriesKind.PT)
    if len(pets) != 1:
        found = ", ".join(s.label() for s in pets) or f"none; {index.skipped_summary()}"
        raise InputValidationError(
            f"{source}: expected exactly one PET series, found {len(pets)} ({found}). Give the "
            "folder of one PET series per time point."
        )
    with warnings.catch_warnings():  # the note is in the result's warnings
        warnings.simplefilter("ignore", GeometryWarning)
        series = read_series_volume(pets[0])
    result = compute_suv(series, normalization=kind)
    scan = ScanInput(
        suv=suv_volume(series, result),
        series_instance_uid=series.series_instance_uid,
        suv_factor=result.suv_factor,
        normalization=kind.value,
        suv_unit=result.unit,
        pixel_compression=series.pixel_encoding.description,
        attenuation_correction_method=result.attenuation_correction_method or "",
    )
    return LoadedScan(series, scan, tuple(result.warnings))


def write_visit_outputs(
    out: str | os.PathLike[str],
    result: QuantificationResult,
    series: Sequence[ImageSeries],
    *,
    method: str,
) -> tuple[str, ...]:
    """Write a visit's measurement table and, per time point, its NIfTI, SEG and SR.

    Files in ``out``: ``measurements.csv`` and ``.parquet``; per time point ``n`` (from 1)
    ``lesions_tpn.nii.gz`` and, when it has lesions, ``lesions_tpn.seg.dcm`` and
    ``measurements_tpn.sr.dcm`` (referencing ``series[n - 1]``).

    Returns
    -------
    tuple of str
        Notes for the reader (a time point without lesions has no SEG or SR).
    """
    folder = Path(out)
    notes: list[str] = []
    table = result.table()
    write_table(table, folder / "measurements.csv")
    write_table(table, folder / "measurements.parquet")
    with warnings.catch_warnings():
        # highdicom warns about source header values (e.g. one-component patient names);
        # the output stays as valid as its source, and dciodvfy is the check that matters.
        warnings.filterwarnings("ignore", category=UserWarning, module=r"highdicom(\.|$)")
        for n, tp in enumerate(result.time_points):
            stem = f"tp{n + 1}"
            write_nifti_mask(tp.labels, folder / f"lesions_{stem}.nii.gz")
            if not tp.lesions:
                notes.append(f"time point {n + 1}: no lesion, no SEG/SR.")
                continue
            seg = write_seg(tp.labels, series[n], folder / f"lesions_{stem}.seg.dcm", method=method)
            numbers = {les.label: k for k, les in enumerate(tp.lesions, start=1)}
            write_measurement_report(
                folder / f"measurements_{stem}.sr.dcm",
                seg=seg,
                source_images=source_datasets(series[n]),
                lesions=[_sr_lesion(les, numbers[les.label]) for les in tp.lesions],
                normalization=tp.normalization,
                method=method,
            )
    return tuple(notes)


#: Measurements the SR carries under the lesion's own name (the peak is the local SUVpeak).
_SR_FIELDS = ("suv_max", "suv_mean", "suv_sd", "suv_min", "volume_ml", "tlg", "longest_diameter_mm")


def _sr_lesion(lesion: LesionMetrics, segment_number: int) -> SrLesion:
    return SrLesion(
        label=lesion.label,
        segment_number=segment_number,
        suv_peak=lesion.suv_peak_local,
        **{name: getattr(lesion, name) for name in _SR_FIELDS},
    )
