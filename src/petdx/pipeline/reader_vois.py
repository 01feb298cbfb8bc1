"""A reader's VOIs on a case's PET series: add a missed lesion from a seed, edit a VOI, delete
it, read its mask back; each change a new version with its DICOM SEG and metrics (issue 14).

The reader layer (:mod:`petdx.study.reading`) decides which case a reader may open; these
functions take that case (anything with ``case_id``, ``patient_id`` and ``pet_series_uids``,
e.g. :class:`petdx.study.reading.ReaderCase`) and refuse a series not in it. Segmentation,
edits and metrics are :mod:`petdx.quantify.reader_voi` (the pipeline's own functions); the
SEG (:func:`petdx.dicom.write_seg`) references the de-identified PET series of the study's
``images/``; the record goes to ``reader_vois`` (:mod:`petdx.study.reader_vois`).

One version is stored as: the row inserted (its key ``(voi_id, version)`` refuses a second
writer of the same version), then the SEG written atomically to its own new file
(``StudyLayout.reader_voi_seg``), then the transaction committed; a failure at any step leaves
neither. The SUV volume, the series and the liver reference of a PET series are kept in a
small in-process cache (the de-identified store of a series never changes).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import highdicom as hd
import numpy as np
from sqlalchemy.exc import IntegrityError

from petdx.dicom import ImageSeries, SeriesKind, index_dicom_folder, read_seg, read_series_volume
from petdx.dicom.seg import write_seg
from petdx.errors import InputValidationError, PetdxError
from petdx.image import Volume
from petdx.quantify.metrics import LesionMetrics
from petdx.quantify.reader_voi import (
    apply_edits,
    parse_edits,
    reference_regions,
    seed_index,
    segment_from_seed,
    voi_metrics,
)
from petdx.segment import ReferenceRegion
from petdx.study.config import StudyFolder
from petdx.study.database import StudyDatabase
from petdx.study.reader_vois import (
    ReaderVoi,
    VoiNotFound,
    case_vois,
    new_voi_id,
    next_version,
    record_voi,
    series_folder,
    voi_history,
)
from petdx.study.records import Author
from petdx.suv import compute_suv, suv_volume

__all__ = [
    "CaseRef",
    "PetScan",
    "VoiConflict",
    "add_lesion",
    "current_vois",
    "delete_voi",
    "draw_voi",
    "edit_voi",
    "load_pet",
    "seg_file",
    "voi_mask",
]


class CaseRef(Protocol):
    """What these functions need of a reader case."""

    @property
    def case_id(self) -> str: ...
    @property
    def patient_id(self) -> str: ...
    @property
    def pet_series_uids(self) -> tuple[str, ...]: ...


class VoiConflict(PetdxError):
    """The VOI changed since the version the edit was made on (another tab or window)."""


@dataclass(frozen=True)
class PetScan:
    """A PET series of the study, in SUV, with the liver reference placed on it."""

    series: ImageSeries = field(repr=False)
    suv: Volume = field(repr=False)
    normalization: str
    unit: str
    references: dict[str, ReferenceRegion] = field(repr=False)
    reference_problems: tuple[str, ...] = ()


_CACHE: OrderedDict[tuple[str, str], PetScan] = OrderedDict()
_CACHE_SIZE = 4
_LOCK = threading.Lock()


def _check_series(case: CaseRef, series_uid: str) -> None:
    if series_uid not in case.pet_series_uids:
        raise VoiNotFound(
            f"series {series_uid!r} is not a PET series of case {case.case_id}; draw the VOI "
            "on one of the case's PET series."
        )


def load_pet(
    study: StudyFolder, database: StudyDatabase, case: CaseRef, series_uid: str
) -> PetScan:
    """The case's PET series ``series_uid`` in SUVbw (cached)."""
    _check_series(case, series_uid)
    key = (str(study.root), series_uid)
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    with database.begin() as connection:
        folder = series_folder(connection, case.patient_id, series_uid)
    where = study.layout.stored(folder, field="series folder")
    entries = [
        e
        for e in index_dicom_folder(where).of_kind(SeriesKind.PT)
        if e.series_instance_uid == series_uid
    ]
    if not entries:
        raise InputValidationError(
            f"PET series {series_uid}: not found under {folder} in the study's images; run "
            "`petdx ingest` again to restore it."
        )
    series = read_series_volume(entries[0])
    result = compute_suv(series)
    suv = suv_volume(series, result)
    references, problems = reference_regions(suv)
    scan = PetScan(
        series, suv, result.normalization.value, result.unit, references, tuple(problems)
    )
    with _LOCK:
        _CACHE[key] = scan
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return scan


def _metrics(scan: PetScan, metrics: LesionMetrics) -> dict[str, Any]:
    data = metrics.to_dict()
    liver = scan.references.get("liver")
    data["normalization"] = scan.normalization
    data["suv_unit"] = scan.unit
    data["liver_mean_suv"] = liver.mean_suv if liver is not None else None
    data["reference_problems"] = list(scan.reference_problems)
    return data


def _mask_sha256(mask: Volume) -> str:
    array = np.asarray(mask.array) != 0
    digest = hashlib.sha256(repr(array.shape).encode())
    digest.update(np.packbits(array.ravel()).tobytes())
    return digest.hexdigest()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _store(
    study: StudyFolder,
    database: StudyDatabase,
    case: CaseRef,
    reader_id: str,
    scan: PetScan | None,
    *,
    voi_id: str,
    series_uid: str,
    lesion_id: str | None,
    origin: str,
    reason: str,
    mask: Volume | None,
    metrics: dict[str, Any],
    provenance: dict[str, Any],
    expected_version: int | None,
) -> ReaderVoi:
    sop_uid = str(hd.UID()) if mask is not None else None
    if mask is not None:  # the VOI's bounding box (the threshold tool's default box)
        where = np.argwhere(np.asarray(mask.array))
        if where.size:
            box = [[int(v) for v in where.min(axis=0)], [int(v) for v in where.max(axis=0)]]
            metrics = {**metrics, "box_zyx": box, "grid_zyx": list(mask.shape)}
    try:
        with database.begin_write() as connection:
            version = next_version(connection, voi_id)
            if expected_version is not None and version != expected_version:
                raise VoiConflict(
                    f"VOI {voi_id} is at version {version - 1}, not {expected_version - 1}: it "
                    "was changed meanwhile (another window?). Reload the case and edit again."
                )
            path = (
                study.layout.reader_voi_seg(reader_id, case.case_id, voi_id, version)
                if mask is not None
                else None
            )
            voi = ReaderVoi(
                voi_id=voi_id,
                version=version,
                reader_id=reader_id,
                case_id=case.case_id,
                patient_id=case.patient_id,
                series_uid=series_uid,
                lesion_id=lesion_id,
                origin=origin,
                reason=reason,
                seg_path=str(study.layout.relative(path)) if path is not None else None,
                seg_sop_instance_uid=sop_uid,
                mask_sha256=_mask_sha256(mask) if mask is not None else None,
                voxels=int(np.count_nonzero(np.asarray(mask.array))) if mask is not None else 0,
                metrics=metrics,
                provenance=provenance,
                created_by=reader_id,
                created_at_utc=_now(),
            )
            record_voi(connection, voi, author=Author(reader_id, reason))
            if mask is not None and path is not None and scan is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                name = f"Lesion {lesion_id}" if lesion_id else "Reader-added lesion"
                write_seg(
                    mask.with_array(np.asarray(mask.array).astype(np.uint8)),
                    scan.series,
                    path,
                    segment_names={1: name},
                    method=f"reader {origin}",
                    series_number=910,
                    series_description=f"petdx reader VOI v{version}",
                    sop_instance_uid=sop_uid,
                )
    except IntegrityError as exc:
        raise VoiConflict(
            f"VOI {voi_id}: another change was stored at the same time. Reload the case and "
            "edit again."
        ) from exc
    return voi


def _reason(reason: str | None, default: str) -> str:
    text = (reason or "").strip()
    return text[:500] if text else default


def add_lesion(
    study: StudyFolder,
    database: StudyDatabase,
    case: CaseRef,
    reader_id: str,
    series_uid: str,
    *,
    seed_zyx: Sequence[float] | None = None,
    seed_mm: Sequence[float] | None = None,
    lesion_id: str | None = None,
    reason: str | None = None,
) -> ReaderVoi:
    """A missed lesion segmented from a seed (voxel ``(k, j, i)`` or LPS mm): version 1 of a
    new VOI, segmented with the study's ``[quantification]`` method and seed radius."""
    scan = load_pet(study, database, case, series_uid)
    seed = seed_index(scan.suv, voxel_zyx=seed_zyx, world_mm=seed_mm)
    found = segment_from_seed(
        scan.suv,
        seed,
        method=study.config.quantification_method,
        seed_radius_mm=study.config.seed_radius_mm,
        references=scan.references,
    )
    centre = scan.suv.index_to_patient_mm(np.asarray(seed, dtype=np.float64))
    provenance = {
        "seed_zyx": list(seed),
        "seed_mm": [round(float(v), 3) for v in centre],
        "method": found.method,
        "seed_radius_mm": found.seed_radius_mm,
        "warnings": list(found.warnings),
    }
    return _store(
        study,
        database,
        case,
        reader_id,
        scan,
        voi_id=new_voi_id(),
        series_uid=series_uid,
        lesion_id=lesion_id,
        origin="seed",
        reason=_reason(reason, "missed lesion added from a seed"),
        mask=found.mask,
        metrics=_metrics(scan, found.metrics),
        provenance=provenance,
        expected_version=1,
    )


def _current(
    study: StudyFolder, database: StudyDatabase, case: CaseRef, reader_id: str, voi_id: str
) -> ReaderVoi:
    with database.begin() as connection:
        history = voi_history(connection, reader_id, voi_id)
    latest = history[-1]
    if latest.case_id != case.case_id:
        raise VoiNotFound(f"VOI {voi_id!r} is not a VOI of case {case.case_id}.")
    if latest.deleted:
        raise InputValidationError(f"VOI {voi_id} was deleted; add the lesion again.")
    return latest


def voi_mask(
    study: StudyFolder, database: StudyDatabase, case: CaseRef, reader_id: str, voi: ReaderVoi
) -> Volume:
    """The mask of one version, read back from its SEG onto the PET grid."""
    if voi.reader_id != reader_id or voi.case_id != case.case_id:
        raise VoiNotFound(f"VOI {voi.voi_id!r}: no such VOI of this reader and case.")
    scan = load_pet(study, database, case, voi.series_uid)
    if voi.seg_path is None:
        return scan.suv.with_array(np.zeros(scan.suv.shape, dtype=bool))
    read = read_seg(study.layout.stored(voi.seg_path, field="VOI SEG"), scan.series)
    return scan.suv.with_array(np.asarray(read.labels.array) != 0)


def _store_edit(
    study: StudyFolder,
    database: StudyDatabase,
    case: CaseRef,
    reader_id: str,
    base: ReaderVoi | None,
    new: tuple[str, str | None],
    operations: Any,
    reason: str,
    expected_version: int,
) -> ReaderVoi:
    """Apply the operations to ``base``'s mask (None: an empty mask on series ``new[0]``) and
    store the result as the next version (a new VOI when ``base`` is None)."""
    series_uid, lesion_id = (base.series_uid, base.lesion_id) if base is not None else new
    scan = load_pet(study, database, case, series_uid)
    edits = parse_edits(operations, scan.suv)
    start = voi_mask(study, database, case, reader_id, base) if base is not None else None
    mask = apply_edits(scan.suv, start, edits)
    metrics = voi_metrics(scan.suv, mask, scan.references)
    return _store(
        study,
        database,
        case,
        reader_id,
        scan,
        voi_id=base.voi_id if base is not None else new_voi_id(),
        series_uid=series_uid,
        lesion_id=lesion_id,
        origin="edit",
        reason=reason,
        mask=mask,
        metrics=_metrics(scan, metrics),
        provenance={
            "operations": operations,
            "base_version": base.version if base is not None else 0,
        },
        expected_version=expected_version,
    )


def edit_voi(
    study: StudyFolder,
    database: StudyDatabase,
    case: CaseRef,
    reader_id: str,
    voi_id: str,
    operations: Any,
    *,
    reason: str | None = None,
    base_version: int | None = None,
) -> ReaderVoi:
    """Apply posted edit operations (:func:`petdx.quantify.reader_voi.parse_edits`) to the
    VOI's current mask; a new version with its SEG and metrics. ``base_version``: the version
    the reader edited (a later one stored meanwhile is a :class:`VoiConflict`)."""
    current = _current(study, database, case, reader_id, voi_id)
    scan = load_pet(study, database, case, current.series_uid)
    edits = parse_edits(operations, scan.suv)
    summary = "; ".join(e.describe() for e in edits[:5]) + (" ..." if len(edits) > 5 else "")
    base = base_version if base_version is not None else current.version
    return _store_edit(
        study,
        database,
        case,
        reader_id,
        current,
        (current.series_uid, current.lesion_id),
        operations,
        _reason(reason, f"edited: {summary}"),
        base + 1,
    )


def draw_voi(
    study: StudyFolder,
    database: StudyDatabase,
    case: CaseRef,
    reader_id: str,
    series_uid: str,
    operations: Any,
    *,
    lesion_id: str | None = None,
    reason: str | None = None,
) -> ReaderVoi:
    """A new VOI drawn from nothing with edit operations (brush, threshold, mask)."""
    return _store_edit(
        study,
        database,
        case,
        reader_id,
        None,
        (series_uid, lesion_id),
        operations,
        _reason(reason, "lesion drawn by the reader"),
        1,
    )


def delete_voi(
    study: StudyFolder,
    database: StudyDatabase,
    case: CaseRef,
    reader_id: str,
    voi_id: str,
    *,
    reason: str,
) -> ReaderVoi:
    """Withdraw a VOI: a last version with origin ``delete`` (earlier versions stay)."""
    current = _current(study, database, case, reader_id, voi_id)
    if not reason.strip():
        raise InputValidationError("Deleting a VOI needs a reason; say why it is withdrawn.")
    return _store(
        study,
        database,
        case,
        reader_id,
        None,
        voi_id=voi_id,
        series_uid=current.series_uid,
        lesion_id=current.lesion_id,
        origin="delete",
        reason=_reason(reason, "deleted"),
        mask=None,
        metrics={},
        provenance={"base_version": current.version},
        expected_version=current.version + 1,
    )


def current_vois(database: StudyDatabase, case: CaseRef, reader_id: str) -> list[ReaderVoi]:
    """This reader's current VOIs of the case."""
    with database.begin() as connection:
        return case_vois(connection, reader_id, case.case_id)


def seg_file(study: StudyFolder, voi: ReaderVoi) -> Path | None:
    """The SEG file of a version (inside the study folder), None for a deletion."""
    return None if voi.seg_path is None else study.layout.stored(voi.seg_path, field="VOI SEG")
