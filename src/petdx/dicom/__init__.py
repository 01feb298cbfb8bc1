"""DICOM input: series discovery and classification, frames, volume assembly.

Later modules of this package read and write SEG, RTSTRUCT and SR objects and de-identify.
"""

from petdx.dicom.discovery import (
    DicomIndex,
    DicomInstance,
    FileProblem,
    SeriesEntry,
    SeriesKind,
    classify,
    index_dicom_files,
    index_dicom_folder,
    read_header,
)
from petdx.dicom.frames import Frame, frames_of, is_multiframe
from petdx.dicom.series_volume import ImageSeries, read_series_volume

__all__ = [
    "DicomIndex",
    "DicomInstance",
    "FileProblem",
    "Frame",
    "ImageSeries",
    "SeriesEntry",
    "SeriesKind",
    "classify",
    "frames_of",
    "index_dicom_files",
    "index_dicom_folder",
    "is_multiframe",
    "read_header",
    "read_series_volume",
]
