"""Find DICOM files under a folder, read their headers, group them into series.

Headers are read with large values (pixel data) deferred, so indexing a folder of many
studies reads only the first kilobytes of each file; the file offset of the pixel data is
kept so that :mod:`petdx.dicom.series_volume` can read pixels later, in parallel, without
parsing the header again. Files that are not DICOM are counted and listed, never fatal;
files that look like DICOM but cannot be parsed are listed with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import (
    CTImageStorage,
    EnhancedCTImageStorage,
    EnhancedPETImageStorage,
    LegacyConvertedEnhancedCTImageStorage,
    LegacyConvertedEnhancedPETImageStorage,
    MediaStorageDirectoryStorage,
    PositronEmissionTomographyImageStorage,
    RTStructureSetStorage,
    SegmentationStorage,
)

from petdx.dicom._fastread import element_value
from petdx.errors import DicomReadError, InputValidationError

__all__ = [
    "DEFER_SIZE_BYTES",
    "DicomIndex",
    "DicomInstance",
    "FileProblem",
    "SeriesEntry",
    "SeriesKind",
    "classify",
    "index_dicom_files",
    "index_dicom_folder",
    "read_header",
]

#: Values longer than this are not read while indexing (pixel data, large private blobs).
DEFER_SIZE_BYTES = 4096

ProgressCallback = Callable[[int, int], None]


class SeriesKind(StrEnum):
    """What a series holds, from its SOP Class UID and Modality."""

    PT = "PT"
    CT = "CT"
    SEG = "SEG"
    RTSTRUCT = "RTSTRUCT"
    SR = "SR"
    OTHER = "OTHER"


_PET_SOP_CLASSES = {
    PositronEmissionTomographyImageStorage,
    EnhancedPETImageStorage,
    LegacyConvertedEnhancedPETImageStorage,
}
_CT_SOP_CLASSES = {CTImageStorage, EnhancedCTImageStorage, LegacyConvertedEnhancedCTImageStorage}


def classify(header: Dataset) -> SeriesKind:
    """Classify one instance as PT, CT, SEG, RTSTRUCT, SR or OTHER.

    The SOP Class UID decides; Modality (0008,0060) is used when the SOP class is not one of
    the image storage classes petdx reads (an SR document has Modality ``SR``).
    """
    sop_class = str(element_value(header, "SOPClassUID", ""))
    modality = str(element_value(header, "Modality", "")).upper()
    if sop_class in _PET_SOP_CLASSES:
        return SeriesKind.PT
    if sop_class in _CT_SOP_CLASSES:
        return SeriesKind.CT
    if sop_class == SegmentationStorage:
        return SeriesKind.SEG
    if sop_class == RTStructureSetStorage:
        return SeriesKind.RTSTRUCT
    if modality == "SR" or sop_class.startswith("1.2.840.10008.5.1.4.1.1.88."):
        return SeriesKind.SR
    return SeriesKind.OTHER


@dataclass(frozen=True, eq=False)
class DicomInstance:
    """One DICOM file: its path and its header (pixel data deferred, not in memory)."""

    path: Path
    header: Dataset = field(repr=False)

    @property
    def sop_instance_uid(self) -> str:
        return str(self.header.get("SOPInstanceUID", ""))


@dataclass
class SeriesEntry:
    """All instances of one SeriesInstanceUID found in the folder."""

    series_instance_uid: str
    kind: SeriesKind
    instances: list[DicomInstance] = field(default_factory=list, repr=False)

    @property
    def first_header(self) -> Dataset:
        return self.instances[0].header

    @property
    def modality(self) -> str:
        return str(self.first_header.get("Modality", ""))

    @property
    def description(self) -> str:
        return str(self.first_header.get("SeriesDescription", ""))

    @property
    def manufacturer(self) -> str:
        return str(self.first_header.get("Manufacturer", ""))

    @property
    def study_instance_uid(self) -> str:
        return str(self.first_header.get("StudyInstanceUID", ""))

    @property
    def frame_of_reference_uid(self) -> str:
        return str(self.first_header.get("FrameOfReferenceUID", ""))

    @property
    def folder(self) -> Path:
        """The deepest folder holding every file of the series (for messages)."""
        return Path(os.path.commonpath([str(i.path.parent) for i in self.instances]))

    def label(self) -> str:
        """A short name for messages: description and UID."""
        desc = f"'{self.description}' " if self.description else ""
        return f"{self.kind.value} series {desc}({self.series_instance_uid})"


@dataclass(frozen=True)
class FileProblem:
    """A file that could not be used, and why."""

    path: Path
    message: str


@dataclass
class DicomIndex:
    """The result of indexing: series by UID, plus files that were not usable."""

    series: dict[str, SeriesEntry] = field(default_factory=dict)
    non_dicom: list[Path] = field(default_factory=list)
    unreadable: list[FileProblem] = field(default_factory=list)
    ignored: list[FileProblem] = field(default_factory=list)

    def of_kind(self, kind: SeriesKind) -> list[SeriesEntry]:
        """Series of one kind, ordered by description then UID (stable for output)."""
        found = [s for s in self.series.values() if s.kind == kind]
        return sorted(found, key=lambda s: (s.description, s.series_instance_uid))

    @property
    def n_files(self) -> int:
        return sum(len(s.instances) for s in self.series.values())


def read_header(path: Path) -> Dataset:
    """Read one file's header with pixel data and other large values deferred.

    Raises
    ------
    InvalidDicomError
        The file is not DICOM (no 'DICM' marker after the 128-byte preamble).
    DicomReadError
        The file claims to be DICOM but cannot be parsed.
    """
    try:
        return pydicom.dcmread(path, defer_size=DEFER_SIZE_BYTES)
    except InvalidDicomError:
        raise
    except Exception as exc:  # pydicom raises many types on corrupt input
        raise DicomReadError(
            f"{path}: not a readable DICOM file ({type(exc).__name__}: {exc}). "
            "The file may be truncated or corrupt; copy it again from the source."
        ) from exc


def _iter_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        files.extend(Path(dirpath) / name for name in sorted(filenames))
    return files


def _read_one(path: Path) -> tuple[Path, Dataset | None, str | None, bool]:
    """(path, header, problem message, is_dicom)."""
    try:
        return path, read_header(path), None, True
    except InvalidDicomError:
        return path, None, None, False
    except DicomReadError as exc:
        return path, None, str(exc), True
    except OSError as exc:
        return path, None, f"{path}: cannot be read ({exc.strerror or exc}).", True


def index_dicom_files(
    paths: Iterable[Path],
    *,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
) -> DicomIndex:
    """Index the given files (see :func:`index_dicom_folder`)."""
    file_list = list(paths)
    index = DicomIndex()
    n_workers = workers or 1
    with ExitStack() as stack:
        if n_workers > 1:
            pool = stack.enter_context(ThreadPoolExecutor(max_workers=n_workers))
            results: Iterable[tuple[Path, Dataset | None, str | None, bool]] = pool.map(
                _read_one, file_list
            )
        else:
            results = map(_read_one, file_list)
        for done, (path, header, problem, is_dicom) in enumerate(results, start=1):
            if progress is not None:
                progress(done, len(file_list))
            if not is_dicom:
                index.non_dicom.append(path)
            elif header is None:
                index.unreadable.append(FileProblem(path, problem or "unreadable"))
            else:
                _add_instance(index, path, header)
    for entry in index.series.values():
        entry.instances.sort(key=lambda inst: (_instance_number(inst.header), str(inst.path)))
    return index


def _instance_number(header: Dataset) -> int:
    value = element_value(header, "InstanceNumber", 0)
    return value if isinstance(value, int) else 0


def _add_instance(index: DicomIndex, path: Path, header: Dataset) -> None:
    meta = getattr(header, "file_meta", None)
    media_class = str(getattr(meta, "MediaStorageSOPClassUID", "") if meta is not None else "")
    if media_class == MediaStorageDirectoryStorage:
        index.ignored.append(FileProblem(path, "DICOMDIR media directory (not an image)"))
        return
    uid = str(element_value(header, "SeriesInstanceUID", ""))
    if not uid:
        index.unreadable.append(
            FileProblem(
                path,
                f"{path}: SeriesInstanceUID (0020,000E) is missing, so the file cannot be "
                "grouped into a series. Fix the header.",
            )
        )
        return
    kind = classify(header)
    entry = index.series.get(uid)
    if entry is None:
        entry = index.series[uid] = SeriesEntry(uid, kind)
    elif entry.kind != kind:
        index.unreadable.append(
            FileProblem(
                path,
                f"{path}: instance of kind {kind.value} inside series {uid}, whose other "
                f"instances are {entry.kind.value}; it was left out of the series.",
            )
        )
        return
    entry.instances.append(DicomInstance(path, header))


def index_dicom_folder(
    root: str | os.PathLike[str],
    *,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
) -> DicomIndex:
    """Find every DICOM file under ``root`` (recursively) and group them by series.

    Parameters
    ----------
    root
        A folder (searched recursively) or a single file.
    workers
        Threads reading headers. Default 1: header parsing holds Python's GIL, so more
        threads only help on slow network file systems, where they hide latency.
    progress
        Called as ``progress(files_done, files_total)`` after each file.

    Returns
    -------
    DicomIndex
        Series keyed by SeriesInstanceUID; ``non_dicom`` lists files without a DICOM
        marker; ``unreadable`` lists DICOM files that could not be parsed or grouped.

    Raises
    ------
    InputValidationError
        ``root`` does not exist.
    """
    root_path = Path(root)
    if not root_path.exists():
        raise InputValidationError(
            f"{root_path}: no such file or folder. Give the folder holding the DICOM files."
        )
    return index_dicom_files(_iter_files(root_path), workers=workers, progress=progress)
