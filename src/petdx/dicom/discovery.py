"""Find DICOM files under a folder, read their headers, group them into series.

Headers are read with large values (pixel data) deferred, so indexing a folder of many
studies reads only the first kilobytes of each file; the file offset of the pixel data is
kept so that :mod:`petdx.dicom.series_volume` can read pixels later, in parallel, without
parsing the header again. Files that are not DICOM are counted and listed, never fatal;
files that look like DICOM but cannot be parsed are listed with the reason.

**Bare data sets.** Older archives and some PACS exports (Orthanc's test archive keeps a Philips
GEMINI TF PET file this way) store a data set with no 128-byte preamble, no ``DICM`` marker and
no File Meta Information. PS3.10 requires the File Meta, but pydicom (``force=True``), DCMTK and
Orthanc read such files, and so does petdx - only after a positive test, so that text files and
random bytes stay non-DICOM (:func:`bare_dataset_syntax`): the first bytes must parse as at
least two consecutive data elements, the first one in group 0008 (Identifying), 0010 (Patient)
or 0002 (File Meta written without its preamble), with strictly ascending tags, even value
lengths that fit in the file and, for Explicit VR, a VR from PS3.5 Table 6.2-1 (with the
reserved bytes of a 4-byte-length VR zero). Explicit VR Little Endian is tried first, then
Implicit VR Little Endian (Big Endian never appears without File Meta: PS3.5 A.1 makes
Implicit VR Little Endian the only default). The File Meta is then completed (transfer
syntax, media storage SOP class and instance) and every instance carries a note, reported
with the series: the file had no File Meta Information and which syntax was inferred.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import pydicom
import pydicom.uid
from pydicom import valuerep
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import (
    CTImageStorage,
    EnhancedCTImageStorage,
    EnhancedMRImageStorage,
    EnhancedPETImageStorage,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    LegacyConvertedEnhancedCTImageStorage,
    LegacyConvertedEnhancedMRImageStorage,
    LegacyConvertedEnhancedPETImageStorage,
    MediaStorageDirectoryStorage,
    MRImageStorage,
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
    "MrContrast",
    "SeriesEntry",
    "SeriesKind",
    "bare_dataset_syntax",
    "classify",
    "index_dicom_files",
    "index_dicom_folder",
    "mr_contrast",
    "read_dicom",
    "read_header",
]

#: Values longer than this are not read while indexing (pixel data, large private blobs).
DEFER_SIZE_BYTES = 4096

ProgressCallback = Callable[[int, int], None]


class SeriesKind(StrEnum):
    """What a series holds, from its SOP Class UID and Modality."""

    PT = "PT"
    CT = "CT"
    #: An anatomical MR series (Dixon water/fat/in/opposed phase, T1, ...), see :func:`mr_contrast`.
    MR = "MR"
    #: An MR-derived attenuation map of a PET/MR scan (Siemens UMAP/MRAC, GE MRAC/PET AC): it is
    #: linked to its PET series by FrameOfReferenceUID and never read as an image to quantify.
    MR_AC = "MR_AC"
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
_MR_SOP_CLASSES = {MRImageStorage, EnhancedMRImageStorage, LegacyConvertedEnhancedMRImageStorage}

#: Words that mark an MR-derived attenuation (mu) map in ImageType values or the series
#: description: Siemens Biograph mMR "..._UMAP" series (ImageType ``UMAP``), "mu-map" names;
#: compared after upper-casing and replacing "-", " " by "_".
_MU_MAP_WORDS = ("UMAP", "MU_MAP", "MUMAP", "AC_MAP", "ATTENUATION_MAP")
#: Words of the MR attenuation-correction acquisition ("MRAC", GE's and UIH's "PET AC"). On the
#: mMR the Dixon images of that acquisition carry them too ("MRAC_PET_AC_Dixon_..._W"), and its
#: PET reconstruction is named "..._MRAC_PET_AC Images": so they mark a mu-map only on an MR
#: image that is none of the Dixon contrasts.
_MRAC_WORDS = ("MRAC", "PET_AC")


class MrContrast(StrEnum):
    """The anatomical content of an MR series, for choosing the series a reader shows with PET."""

    DIXON_WATER = "dixon_water"
    DIXON_FAT = "dixon_fat"
    DIXON_IN_PHASE = "dixon_in_phase"
    DIXON_OPPOSED_PHASE = "dixon_opposed_phase"
    T1 = "t1"
    T2 = "t2"
    OTHER = "other"


def _normalised(text: str) -> str:
    return text.upper().replace("-", "_").replace(" ", "_")


def _image_type(header: Dataset) -> list[str]:
    value = element_value(header, "ImageType", [])
    values = [value] if isinstance(value, str) else list(value or [])
    return [_normalised(str(v)) for v in values]


def _mu_map_words(header: Dataset, markers: tuple[str, ...]) -> bool:
    words = [*_image_type(header), _normalised(str(element_value(header, "SeriesDescription", "")))]
    return any(marker in word for word in words for marker in markers)


def _is_mr_mu_map(header: Dataset) -> bool:
    if _mu_map_words(header, _MU_MAP_WORDS):
        return True
    return _mu_map_words(header, _MRAC_WORDS) and mr_contrast(header) is MrContrast.OTHER


def mr_contrast(header: Dataset) -> MrContrast:
    """What an MR series shows, from ImageType, SeriesDescription and SequenceName.

    Siemens writes Dixon images with ImageType ``...\\DIXON\\W`` (water), ``F`` (fat),
    ``IN_PHASE`` and ``OPP_PHASE``; GE writes ``WATER``, ``FAT``, ``IN_PHASE``, ``OUT_PHASE`` in
    ImageType or the series description; T1/T2 weighting is read from the description or the
    sequence name (``T1``, ``VIBE``, ``LAVA``, ``T2``, ``HASTE``, ``SSFSE``).
    """
    image_type = set(_image_type(header))
    text = " ".join(
        _normalised(str(element_value(header, name, "")))
        for name in ("SeriesDescription", "SequenceName", "ProtocolName")
    )
    words = set(text.replace(":", "_").split("_")) | image_type
    dixon = "DIXON" in image_type or "DIXON" in text
    if "WATER" in words or (dixon and "W" in words):
        return MrContrast.DIXON_WATER
    if "FAT" in words or (dixon and "F" in words):
        return MrContrast.DIXON_FAT
    if {"OPP_PHASE", "OUT_PHASE", "OPP", "OUT"} & words or "OPP_PHASE" in text:
        return MrContrast.DIXON_OPPOSED_PHASE
    if {"IN_PHASE", "IN"} & words or "IN_PHASE" in text:
        return MrContrast.DIXON_IN_PHASE
    if {"T1", "T1W", "VIBE", "LAVA"} & words or "T1" in text:
        return MrContrast.T1
    if {"T2", "T2W", "HASTE", "SSFSE"} & words or "T2" in text:
        return MrContrast.T2
    return MrContrast.OTHER


def classify(header: Dataset) -> SeriesKind:
    """Classify one instance as PT, CT, MR, MR_AC, SEG, RTSTRUCT, SR or OTHER.

    The SOP Class UID decides; Modality (0008,0060) is used when the SOP class is not one of
    the image storage classes petdx reads (an SR document has Modality ``SR``). An MR image
    whose ImageType or description marks a PET/MR attenuation map is ``MR_AC``. A PET-class image
    named as a mu-map ("UMAP", "mu-map") is ``MR_AC`` too, never a PET to quantify.
    """
    sop_class = str(element_value(header, "SOPClassUID", ""))
    modality = str(element_value(header, "Modality", "")).upper()
    if sop_class in _PET_SOP_CLASSES:
        return SeriesKind.MR_AC if _mu_map_words(header, _MU_MAP_WORDS) else SeriesKind.PT
    if sop_class in _CT_SOP_CLASSES:
        return SeriesKind.CT
    if sop_class in _MR_SOP_CLASSES:
        return SeriesKind.MR_AC if _is_mr_mu_map(header) else SeriesKind.MR
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
    #: What was assumed to read the file (a bare data set's inferred transfer syntax).
    notes: tuple[str, ...] = ()

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

    @property
    def warnings(self) -> list[str]:
        """What was assumed to read the series' files, one line per kind of assumption."""
        counts: dict[str, int] = {}
        for instance in self.instances:
            for note in instance.notes:
                counts[note] = counts.get(note, 0) + 1
        return [f"{n} of {len(self.instances)} file(s): {note}" for note, n in counts.items()]

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

    @property
    def n_inputs(self) -> int:
        """Every file that was looked at."""
        return self.n_files + len(self.non_dicom) + len(self.unreadable) + len(self.ignored)

    def skipped_summary(self, *, examples: int = 3) -> str:
        """What was left out and why: a count per reason and the first few files of each."""
        reasons: list[tuple[str, list[str]]] = [
            (
                "not DICOM (no 'DICM' marker after a 128-byte preamble, and not a bare data "
                "set of group 0008/0010 elements)",
                [str(p) for p in self.non_dicom],
            ),
            ("unreadable DICOM", [p.message for p in self.unreadable]),
            ("ignored", [f"{p.path} ({p.message})" for p in self.ignored]),
        ]
        kinds: dict[str, list[str]] = {}
        for entry in self.series.values():
            kinds.setdefault(entry.kind.value, []).append(entry.label())
        parts = []
        for reason, items in reasons:
            if items:
                shown = "; ".join(items[:examples]) + ("; ..." if len(items) > examples else "")
                parts.append(f"{len(items)} file(s) {reason}: {shown}")
        for kind, labels in sorted(kinds.items()):
            parts.append(f"{len(labels)} {kind} series: {'; '.join(labels[:examples])}")
        return ". ".join(parts) if parts else "no files"

    def of_kind(self, kind: SeriesKind) -> list[SeriesEntry]:
        """Series of one kind, ordered by description then UID (stable for output)."""
        found = [s for s in self.series.values() if s.kind == kind]
        return sorted(found, key=lambda s: (s.description, s.series_instance_uid))

    def attenuation_maps_of(self, pet: SeriesEntry) -> list[SeriesEntry]:
        """The MR attenuation maps of a PET series: ``MR_AC`` series of its study sharing its
        FrameOfReferenceUID (PET/MR scanners write the PET and its mu-map in one frame)."""
        return [
            s
            for s in self.of_kind(SeriesKind.MR_AC)
            if s.frame_of_reference_uid
            and s.frame_of_reference_uid == pet.frame_of_reference_uid
            and s.study_instance_uid == pet.study_instance_uid
        ]

    @property
    def n_files(self) -> int:
        return sum(len(s.instances) for s in self.series.values())


#: Value representations of PS3.5 Table 6.2-1, and those whose Explicit VR encoding has two
#: reserved bytes and a 4-byte length (PS3.5 7.1.2), as pydicom lists them.
_VRS = frozenset(str(vr) for vr in valuerep.STANDARD_VR)
_LONG_VRS = frozenset(str(vr) for vr in valuerep.EXPLICIT_VR_LENGTH_32)
_BARE_FIRST_GROUPS = (0x0002, 0x0008, 0x0010)
_UNDEFINED_LENGTH = 0xFFFFFFFF
#: Bytes read to test for a bare data set (many headers are longer; two elements suffice).
_BARE_PROBE_BYTES = 1024


def _walk_elements(head: bytes, file_size: int, explicit: bool) -> int:
    """How many consecutive little-endian elements ``head`` parses as (stops at the first
    that does not, or at an undefined length, whose content is not walked)."""
    offset, count, last_tag = 0, 0, -1
    while offset + 8 <= len(head):
        group, element = struct.unpack_from("<HH", head, offset)
        tag = (group << 16) | element
        if tag <= last_tag or (count == 0 and group not in _BARE_FIRST_GROUPS):
            return count
        if explicit:
            vr = head[offset + 4 : offset + 6].decode("latin-1")
            if vr not in _VRS:
                return count
            if vr in _LONG_VRS:
                if offset + 12 > len(head) or head[offset + 6 : offset + 8] != b"\0\0":
                    return count
                (length,) = struct.unpack_from("<I", head, offset + 8)
                value_at = offset + 12
            else:
                (length,) = struct.unpack_from("<H", head, offset + 6)
                value_at = offset + 8
        else:
            (length,) = struct.unpack_from("<I", head, offset + 4)
            value_at = offset + 8
        if length == _UNDEFINED_LENGTH:
            return count + 1
        if length % 2 or value_at + length > file_size:
            return count
        count, last_tag, offset = count + 1, tag, value_at + length
    return count


def bare_dataset_syntax(head: bytes, file_size: int | None = None) -> str | None:
    """The transfer syntax of a data set stored without preamble and File Meta, or None.

    ``head`` is the start of the file (a kilobyte is enough) and ``file_size`` its size in
    bytes (default ``len(head)``). The test is stated in the module docstring: at least two
    consecutive elements parse, the first in group 0008, 0010 or 0002. A file with the
    ``DICM`` marker at byte 128 is a normal DICOM file (None).
    """
    size = len(head) if file_size is None else file_size
    if head[128:132] == b"DICM":
        return None
    for explicit, syntax in ((True, ExplicitVRLittleEndian), (False, ImplicitVRLittleEndian)):
        n = _walk_elements(head, size, explicit)
        if n >= 2:
            return str(syntax)
    return None


def _complete_file_meta(header: Dataset, syntax: str) -> None:
    meta = getattr(header, "file_meta", None) or FileMetaDataset()
    meta.TransferSyntaxUID = syntax
    if "SOPClassUID" in header and "MediaStorageSOPClassUID" not in meta:
        meta.MediaStorageSOPClassUID = header.SOPClassUID
    if "SOPInstanceUID" in header and "MediaStorageSOPInstanceUID" not in meta:
        meta.MediaStorageSOPInstanceUID = header.SOPInstanceUID
    header.file_meta = meta


def _head_and_size(path: Path, data: bytes | None) -> tuple[bytes, int]:
    if data is not None:
        return data[: _BARE_PROBE_BYTES + 132], len(data)
    with open(path, "rb") as stream:
        return stream.read(_BARE_PROBE_BYTES + 132), os.fstat(stream.fileno()).st_size


def read_dicom(
    path: Path, data: bytes | None = None, *, defer_size: int | None = DEFER_SIZE_BYTES
) -> tuple[Dataset, tuple[str, ...]]:
    """Read one file's header (large values deferred) and what was assumed to read it.

    ``data``, when given, is the whole file already in memory (then nothing is read from
    disk). A bare data set (see the module docstring) is read with its File Meta completed
    and a note naming the inferred transfer syntax; any other file needs the ``DICM`` marker.

    Raises
    ------
    InvalidDicomError
        The file is not DICOM: no 'DICM' marker after the 128-byte preamble, and not a bare
        data set.
    DicomReadError
        The file claims to be DICOM but cannot be parsed.
    """
    source: Any = path if data is None else io.BytesIO(data)
    try:
        try:
            return pydicom.dcmread(source, defer_size=defer_size), ()
        except InvalidDicomError:
            # Only a file pydicom refuses is probed (a normal file is opened once).
            syntax = bare_dataset_syntax(*_head_and_size(path, data))
            if syntax is None:
                raise
            source = path if data is None else io.BytesIO(data)
            header = pydicom.dcmread(source, defer_size=defer_size, force=True)
    except InvalidDicomError:
        raise
    except Exception as exc:  # pydicom raises many types on corrupt input
        raise DicomReadError(
            f"{path}: not a readable DICOM file ({type(exc).__name__}: {exc}). "
            "The file may be truncated or corrupt; copy it again from the source."
        ) from exc
    had_meta = "TransferSyntaxUID" in getattr(header, "file_meta", {})
    if had_meta:
        return header, ("no 128-byte preamble and 'DICM' marker (File Meta present)",)
    _complete_file_meta(header, syntax)
    name = pydicom.uid.UID(syntax).name
    return header, (
        f"no File Meta Information (a bare data set, no preamble or 'DICM' marker); read as "
        f"{name}, inferred from its first elements",
    )


def read_header(path: Path) -> Dataset:
    """Read one file's header with pixel data and other large values deferred.

    See :func:`read_dicom`, which also returns what was assumed to read the file.
    """
    return read_dicom(path)[0]


def _iter_files(root: Path, problems: list[FileProblem] | None = None) -> list[Path]:
    """The files under ``root``, sorted; a folder that cannot be listed goes to
    ``problems`` (never skipped in silence)."""
    if root.is_file():
        return [root]
    files: list[Path] = []

    def unreadable(exc: OSError) -> None:
        folder = Path(exc.filename) if exc.filename else root
        if problems is None:
            raise exc
        problems.append(
            FileProblem(
                folder,
                f"{folder}: folder cannot be read ({exc.strerror or exc}); its files were not "
                "looked at. Give petdx read access to it and run again.",
            )
        )

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
        dirnames.sort()
        files.extend(Path(dirpath) / name for name in sorted(filenames))
    return files


_ReadOutcome = tuple[Path, Dataset | None, tuple[str, ...], str | None, bool]


def _read_one(path: Path, data: bytes | None = None) -> _ReadOutcome:
    """(path, header, notes, problem message, is_dicom); ``data``: the file's bytes, when
    they are in memory already (see :func:`read_dicom`)."""
    try:
        header, notes = read_dicom(path, data)
        return path, header, notes, None, True
    except InvalidDicomError:
        return path, None, (), None, False
    except DicomReadError as exc:
        return path, None, (), str(exc), True
    except OSError as exc:
        return path, None, (), f"{path}: cannot be read ({exc.strerror or exc}).", True


def index_dicom_files(
    paths: Iterable[Path],
    *,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    contents: Mapping[Path, bytes] | None = None,
) -> DicomIndex:
    """Index the given files (see :func:`index_dicom_folder`). ``contents`` holds the
    bytes of files that are in memory already (just written, say): those are parsed from
    memory, not read from disk again."""
    file_list = list(paths)
    data = [None if contents is None else contents.get(path) for path in file_list]
    index = DicomIndex()
    n_workers = workers or 1
    with ExitStack() as stack:
        if n_workers > 1:
            pool = stack.enter_context(ThreadPoolExecutor(max_workers=n_workers))
            results: Iterable[_ReadOutcome] = pool.map(_read_one, file_list, data)
        else:
            results = map(_read_one, file_list, data)
        for done, (path, header, notes, problem, is_dicom) in enumerate(results, start=1):
            if progress is not None:
                progress(done, len(file_list))
            if not is_dicom:
                index.non_dicom.append(path)
            elif header is None:
                index.unreadable.append(FileProblem(path, problem or "unreadable"))
            else:
                _add_instance(index, path, header, notes)
    for entry in index.series.values():
        entry.instances.sort(key=lambda inst: (_instance_number(inst.header), str(inst.path)))
    return index


def _instance_number(header: Dataset) -> int:
    value = element_value(header, "InstanceNumber", 0)
    return value if isinstance(value, int) else 0


def _add_instance(
    index: DicomIndex, path: Path, header: Dataset, notes: tuple[str, ...] = ()
) -> None:
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
    entry.instances.append(DicomInstance(path, header, notes))


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
        marker; ``unreadable`` lists the folders that could not be listed, then the DICOM
        files that could not be parsed or grouped.

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
    folders: list[FileProblem] = []
    index = index_dicom_files(_iter_files(root_path, folders), workers=workers, progress=progress)
    index.unreadable[:0] = folders
    return index
