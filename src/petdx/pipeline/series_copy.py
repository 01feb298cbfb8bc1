"""Copying one series into the study, in a worker process or in this one (the copy step of
:func:`petdx.pipeline.ingest.ingest`; its module docstring gives the design).

A task reads the series (or takes the index's headers, inherited by a forked worker),
refuses duplicate instances and files changed since indexing, computes the SUV of the
original, writes every instance de-identified (:class:`DeidentifiedFileEncoder`) through a
temporary name and a rename, and recomputes the SUV from the stored copies, which must equal
the original's exactly (the copies it wrote are parsed from the encoder's output, the bytes
just written, not read from disk again). :func:`copy_all` runs the tasks on an executor
(:mod:`petdx.pipeline.executors`) and yields the outcomes in task order.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Generator, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from petdx.dicom import (
    DeidentificationSettings,
    DicomInstance,
    Frame,
    SeriesEntry,
    SeriesKind,
    deidentify_uid,
    frames_of,
    index_dicom_files,
    read_series_volume,
)
from petdx.dicom.deidentified_file import DeidentifiedFileEncoder
from petdx.dicom.deidentify import redact_uids
from petdx.dicom.discovery import read_dicom
from petdx.errors import PetdxError
from petdx.fileio import atomic_write_bytes
from petdx.pipeline.executors import inherits_this_process, map_in_order, runs_in_this_process
from petdx.study.layout import StudyLayout
from petdx.suv import SuvResult, compute_suv, suv_factors_from_inputs, suv_inputs_from_frames
from petdx.suv.timing import earliest_acquisition

__all__ = ["CopyOutcome", "CopyTask", "PetSuv", "copy_all", "copy_series", "remove_unrecorded"]

#: SUV factor of each frame, keyed by (de-identified SOP instance UID, frame index).
_Factors = dict[tuple[str, int], float]


@dataclass(frozen=True)
class PetSuv:
    """What the PET plan needs from the SUV of the original (computed in a worker)."""

    result: SuvResult | None
    error: str | None
    acquisition_start: datetime | None


@dataclass(frozen=True)
class CopyTask:
    """One series for a worker: its files, the keys, where the copies go, what exists."""

    series_uid: str
    kind: SeriesKind
    paths: tuple[Path, ...]
    secret: bytes
    pseudonym: str
    study_root: Path
    folder: Path
    recorded: frozenset[str]
    position: int  # in the list of series of this run (_INHERITED when forked)


@dataclass(frozen=True)
class CopyOutcome:
    rows: tuple[dict[str, Any], ...] = ()
    written: int = 0
    pet: PetSuv | None = None
    error: str | None = None


def _read_series(task: CopyTask) -> SeriesEntry:
    """Read every file of the series once, whole: the header is parsed from memory (large
    values deferred, as when indexing) and everything later - pixels for the SUV check,
    the de-identified copy - reads memory or the page cache, not the disk again. The files
    must still hold the series the index found, in its order."""
    instances = []
    for path in task.paths:
        try:
            header, notes = read_dicom(path, path.read_bytes())
        except (OSError, InvalidDicomError, ValueError, EOFError) as exc:
            raise _changed(task, f"a file can no longer be read ({type(exc).__name__})") from exc
        if str(header.get("SeriesInstanceUID", "")) != task.series_uid:
            raise _changed(task, "a file now belongs to another series")
        instances.append(DicomInstance(path, header, notes))
    return SeriesEntry(task.series_uid, task.kind, instances)


def _refuse_duplicates(task: CopyTask, entry: SeriesEntry) -> None:
    sop_uids = [i.sop_instance_uid for i in entry.instances]
    if len(set(sop_uids)) != len(sop_uids):
        twice = sorted({u for u in sop_uids if sop_uids.count(u) > 1})[0]
        raise PetdxError(
            f"{task.kind.value} series: SOPInstanceUID {twice} is in {sop_uids.count(twice)} "
            "files of the series (in the folder shown). Remove the duplicate files and "
            "ingest again."
        )


def _check_unchanged(task: CopyTask, entry: SeriesEntry) -> None:
    """The files of an indexed series must not have changed since they were indexed."""
    for instance in entry.instances:
        try:
            modified = os.stat(instance.path).st_mtime
        except OSError as exc:
            raise _changed(task, f"a file can no longer be read ({type(exc).__name__})") from exc
        if modified != getattr(instance.header, "timestamp", modified):
            raise _changed(task, "a file was modified after it was indexed")


def _changed(task: CopyTask, what: str) -> PetdxError:
    return PetdxError(
        f"{task.kind.value} series: its files changed while petdx was ingesting them ({what}). "
        "Let the copy into the folder finish, then ingest again."
    )


def _factors_by_frame(
    frames: Iterable[Frame], factors: Iterable[float], secret: bytes | None
) -> _Factors:
    """SUV factor of each frame keyed by (de-identified SOP instance UID, frame index)."""
    out = {}
    for frame, factor in zip(frames, factors, strict=True):
        uid = frame.instance.sop_instance_uid
        key = deidentify_uid(secret, uid) if secret is not None else uid
        out[(key, frame.frame_index or 0)] = float(factor)
    return out


def _deidentified_text(entry: SeriesEntry, secret: bytes, text: str) -> str:
    """An SUV error or warning as the study stores it: files named by instance number,
    UIDs de-identified (the label is already the de-identified series UID)."""
    for instance in entry.instances:
        number = instance.header.get("InstanceNumber", "?")
        text = text.replace(str(instance.path), f"instance {number}")
    keep = frozenset((deidentify_uid(secret, entry.series_instance_uid),))
    return redact_uids(text, secret, keep)


def _measure_pet(entry: SeriesEntry, secret: bytes) -> tuple[PetSuv, _Factors | None]:
    """SUV of the original (refusing a series whose geometry or pixels are unusable).

    Its messages (stored in the study: ``series.suv_error``, ``suv_warnings``) name the
    series by its de-identified UID, never by its description, UID or files."""
    image = read_series_volume(entry)
    label = f"PT series {deidentify_uid(secret, entry.series_instance_uid)}"
    try:  # compute_suv in two steps, to keep the inputs for the acquisition start
        inputs = suv_inputs_from_frames(image.frames, label)
        result = suv_factors_from_inputs(inputs, entry.series_instance_uid)
    except PetdxError as exc:
        return PetSuv(None, _deidentified_text(entry, secret, str(exc)), None), None
    result = replace(
        result, warnings=tuple(_deidentified_text(entry, secret, w) for w in result.warnings)
    )
    start = earliest_acquisition(inputs)
    return PetSuv(result, None, start), _factors_by_frame(image.frames, result.factors, secret)


def _check_suv_unchanged(
    targets: list[Path], expected: _Factors, encoded: dict[Path, bytes]
) -> None:
    """Recompute the SUV factors from the stored copies; they must equal the original's.
    The copies written by this task are parsed from the encoder's output (``encoded``, the
    bytes just written), the others (stored by an earlier run) from their files."""
    stored = index_dicom_files(targets, contents=encoded).of_kind(SeriesKind.PT)
    if len(stored) != 1 or len(stored[0].instances) != len(targets):
        raise PetdxError(
            "the stored de-identified copies cannot be read back as the series "
            f"({len(targets)} file(s) written); the series was not recorded. Check the disk "
            "of the study folder and ingest again."
        )
    frames = [frame for instance in stored[0].instances for frame in frames_of(instance)]
    after = _factors_by_frame(frames, compute_suv(frames).factors, None)
    if after != expected:
        differ = [k for k in expected.keys() | after.keys() if after.get(k) != expected.get(k)]
        raise PetdxError(
            f"the SUV factors of {len(differ)} of the {len(expected)} de-identified frames "
            "differ from the original's; the series was not recorded. This is a bug in "
            "petdx's de-identification; please report it."
        )


def _encode(encoder: DeidentifiedFileEncoder, header: Dataset, kind: SeriesKind) -> bytes:
    try:
        return encoder.encode(header)
    except PetdxError:
        raise
    except (AttributeError, KeyError, OverflowError, TypeError, ValueError) as exc:
        number = header.get("InstanceNumber", "?")  # names neither the patient nor the file
        raise PetdxError(
            f"{kind.value} series: instance number {number} cannot be de-identified and "
            f"written ({type(exc).__name__}: {exc}). The file may be malformed; export the "
            "series again from the PACS."
        ) from exc


#: The series of the running ingest, for worker processes that are forked from it: they
#: inherit the index of this process, so no header is parsed twice.
_INHERITED: list[SeriesEntry] = []


def copy_series(task: CopyTask, entry: SeriesEntry | None = None) -> CopyOutcome:
    """De-identify and store one series, then check the SUV of the copies. ``entry`` is
    the indexed series (in this process or inherited by a fork); without it, the files are
    read again."""
    if entry is None and task.position < len(_INHERITED):
        entry = _INHERITED[task.position]
    written: list[Path] = []
    try:
        if entry is not None and entry.series_instance_uid == task.series_uid:
            _check_unchanged(task, entry)
        else:
            entry = _read_series(task)
        _refuse_duplicates(task, entry)
        pet, factors = (
            _measure_pet(entry, task.secret) if task.kind is SeriesKind.PT else (None, None)
        )
        encoder = DeidentifiedFileEncoder(DeidentificationSettings(task.secret, task.pseudonym))
        rows: list[dict[str, Any]] = []
        targets: list[Path] = []
        encoded: dict[Path, bytes] = {}  # the PET copies written, for the SUV check
        series_uid = deidentify_uid(task.secret, task.series_uid)  # once, not per instance
        folder = str(task.folder.relative_to(task.study_root))
        for instance in entry.instances:
            sop_uid = deidentify_uid(task.secret, instance.sop_instance_uid)
            target = task.folder / f"{sop_uid}.dcm"
            targets.append(target)
            if sop_uid in task.recorded and target.exists():
                continue
            data = _encode(encoder, instance.header, task.kind)
            written.append(target)
            atomic_write_bytes(target, data)
            if factors is not None:
                encoded[target] = data
            rows.append(
                {
                    "sop_instance_uid": sop_uid,
                    "series_uid": series_uid,
                    "path": os.path.join(folder, target.name),  # = target below study_root
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "_new": sop_uid not in task.recorded,
                }
            )
        if factors is not None:
            _check_suv_unchanged(targets, factors, encoded)
    except PetdxError as exc:
        remove_unrecorded(written, task.study_root)  # a refused series leaves no file behind
        return CopyOutcome(error=str(exc))
    return CopyOutcome(tuple(rows), len(rows), pet)


def remove_unrecorded(paths: Iterable[Path], study_root: Path) -> None:
    """Remove the files a refused series wrote (never recorded) and the folders they leave
    empty, up to the study's ``images/``."""
    images = StudyLayout(study_root).images
    folders = set()
    for path in paths:
        path.unlink(missing_ok=True)
        folders.add(path.parent)
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        while folder != images and images in folder.parents:
            try:
                folder.rmdir()  # only when empty
            except OSError:
                break
            folder = folder.parent


def copy_all(
    entries: list[SeriesEntry], tasks: list[CopyTask | None], executor: Executor
) -> Generator[CopyOutcome | None, None, None]:
    """Outcomes in task order (None for None), the tasks run on ``executor``
    (:mod:`petdx.pipeline.executors`; the caller owns it and shuts it down).

    In this process (:class:`~petdx.pipeline.executors.SerialExecutor`) a task is given its
    indexed series; workers forked from this process inherit the index (``_INHERITED``,
    set while the tasks are submitted: forked workers start at the first submit); any other
    worker reads the files again. Closing the generator early cancels the tasks not started.
    """
    real = [(t, e) for t, e in zip(tasks, entries, strict=True) if t is not None]
    if runs_in_this_process(executor):
        outcomes = map_in_order(executor, copy_series, [t for t, _ in real], [e for _, e in real])
    else:
        if inherits_this_process(executor):
            _INHERITED[:] = entries
        try:  # every task is submitted (and forked workers started) before this returns
            outcomes = map_in_order(executor, copy_series, [t for t, _ in real])
        finally:
            _INHERITED.clear()  # forked workers have their copy
    try:
        for task in tasks:
            yield None if task is None else next(outcomes)
    finally:
        outcomes.close()  # cancels the tasks not yet started
