"""A reader's reads as DICOM SR (TID 1500) with their SEGs: ``petdx reads export-sr``.

For one reader, every current (not deleted) VOI (:mod:`petdx.study.reader_vois`) is grouped by
case and PET series; each group becomes one Comprehensive 3D SR Measurement Report
(:func:`petdx.dicom.sr.write_reader_report`: the reader as person observer, one TID 1411 group
per VOI with SUVmax, SUVpeak, SUVmean, SD, min, MTV, TLG and longest diameter, referencing
the VOI's segment in its SEG), written beside copies of those SEGs::

    OUT/<reader>/<case>/<pet series uid>.sr.dcm
    OUT/<reader>/<case>/<voi>-v<n>.seg.dcm

Every file is written atomically; the SEGs are byte copies of the study's (the SR references
their SOP Instance UIDs). The study's own files are not changed.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pydicom

from petdx.dicom import source_datasets
from petdx.dicom.sr import SrLesion, write_reader_report
from petdx.errors import InputValidationError
from petdx.fileio import check_path_component, write_atomically
from petdx.pipeline.reader_vois import load_pet, seg_file
from petdx.study.config import StudyFolder
from petdx.study.database import StudyDatabase
from petdx.study.reader_vois import ReaderVoi, reader_voi_rows

__all__ = ["SrExport", "export_reader_sr"]


@dataclass(frozen=True)
class SrExport:
    """What one export wrote."""

    reader_id: str
    reports: tuple[Path, ...]
    segs: tuple[Path, ...]
    vois: int


@dataclass(frozen=True)
class _Case:
    case_id: str
    patient_id: str
    pet_series_uids: tuple[str, ...]


def _lesion(voi: ReaderVoi) -> SrLesion:
    m = voi.metrics
    return SrLesion(
        label=1,
        segment_number=1,
        suv_max=float(m["suv_max"]),
        suv_peak=float(m["suv_peak_local"]),
        suv_mean=float(m["suv_mean"]),
        suv_sd=float(m["suv_sd"]),
        suv_min=float(m["suv_min"]),
        volume_ml=float(m["volume_ml"]),
        tlg=float(m["tlg"]),
        longest_diameter_mm=float(m["longest_diameter_mm"]),
    )


def _copy(source: Path, target: Path) -> None:
    def write(tmp: Path) -> None:
        shutil.copyfile(source, tmp)

    write_atomically(target, write)


def export_reader_sr(
    study: StudyFolder, database: StudyDatabase, reader_id: str, out: Path
) -> SrExport:
    """Write the reader's SRs and SEG copies under ``out`` (module docstring).

    Raises
    ------
    InputValidationError
        The reader has no current VOI.
    """
    check_path_component(reader_id, field="reader")
    with database.begin() as connection:
        vois = [v for v in reader_voi_rows(connection, reader_id) if not v.deleted]
    if not vois:
        raise InputValidationError(
            f"reader {reader_id}: no VOI to export (none drawn, or all deleted); check the "
            "reader's name (`petdx users list`)."
        )
    groups: dict[tuple[str, str, str], list[ReaderVoi]] = defaultdict(list)
    for voi in vois:
        groups[(voi.case_id, voi.patient_id, voi.series_uid)].append(voi)
    reports: list[Path] = []
    segs: list[Path] = []
    for (case_id, patient_id, series_uid), members in sorted(groups.items()):
        scan = load_pet(study, database, _Case(case_id, patient_id, (series_uid,)), series_uid)
        folder = out / reader_id / case_id
        folder.mkdir(parents=True, exist_ok=True)
        entries = []
        for number, voi in enumerate(members, start=1):
            source = seg_file(study, voi)
            assert source is not None  # a current VOI has its SEG
            copy = folder / f"{voi.voi_id}-v{voi.version}.seg.dcm"
            _copy(source, copy)
            segs.append(copy)
            tracking = f"lesion {voi.lesion_id}" if voi.lesion_id else f"added VOI {number}"
            entries.append((pydicom.dcmread(copy), _lesion(voi), tracking))
        normalization = str(members[0].metrics.get("normalization", "bw"))
        path = folder / f"{series_uid}.sr.dcm"
        write_reader_report(
            path,
            reader_id=reader_id,
            source_images=source_datasets(scan.series),
            vois=entries,
            normalization=normalization,
        )
        reports.append(path)
    return SrExport(reader_id, tuple(reports), tuple(segs), len(vois))
