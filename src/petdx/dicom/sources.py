"""Where DICOM images come from: the image-source seam of ingest.

:func:`petdx.pipeline.ingest.ingest` reads its series from an :class:`ImageSource`: it asks
the source for a :class:`~petdx.dicom.discovery.DicomIndex` (the series and their instances'
headers, pixels deferred) and copies each instance from where the index says it lives.
Two sources are local today:

:class:`FolderSource`
    A folder searched recursively (``petdx ingest PATH``, ``petdx run --source PATH``).
:class:`FileListSource`
    An explicit list of files (a C-STORE receiver's inbox, a PACS download).

The hospital PACS over DICOMweb (issue 15) is :class:`petdx.pacs.PacsStudySource`: it
retrieves a study's instances into a local staging folder and indexes that, so the copy,
de-identification and SUV checks downstream are the same for every source. A source only
finds and reads; it never writes into the study.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from petdx.dicom.discovery import (
    DicomIndex,
    ProgressCallback,
    index_dicom_files,
    index_dicom_folder,
)

__all__ = ["FileListSource", "FolderSource", "ImageSource", "as_image_source"]


@runtime_checkable
class ImageSource(Protocol):
    """Something that yields DICOM series to ingest."""

    @property
    def label(self) -> str:
        """How messages and the ingest log name the source."""
        ...

    @property
    def root(self) -> Path | None:
        """The local folder instance locations are shown relative to (None: absolute)."""
        ...

    def index(self, *, progress: ProgressCallback | None = None) -> DicomIndex:
        """Every series of the source, grouped, with their headers."""
        ...


@dataclass(frozen=True)
class FolderSource:
    """A folder of DICOM files, searched recursively (or one file)."""

    folder: Path

    @property
    def label(self) -> str:
        return str(self.folder)

    @property
    def root(self) -> Path | None:
        return self.folder

    def index(self, *, progress: ProgressCallback | None = None) -> DicomIndex:
        return index_dicom_folder(self.folder, progress=progress)


@dataclass(frozen=True)
class FileListSource:
    """An explicit list of DICOM files (``name`` labels the batch in messages)."""

    files: Sequence[Path]
    name: str = "file list"

    @property
    def label(self) -> str:
        return f"{self.name} ({len(self.files)} files)"

    @property
    def root(self) -> Path | None:
        return None

    def index(self, *, progress: ProgressCallback | None = None) -> DicomIndex:
        return index_dicom_files(self.files, progress=progress)


def as_image_source(value: ImageSource | str | os.PathLike[str]) -> ImageSource:
    """A source as given, or the folder at a path."""
    if isinstance(value, ImageSource):
        return value
    return FolderSource(Path(value))
