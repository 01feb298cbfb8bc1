"""DICOM input: series discovery and classification, frames, volume assembly.

Later modules of this package read and write SEG, RTSTRUCT and SR objects and de-identify.
"""

from petdx.dicom.deidentify import (
    DeidentificationSettings,
    deidentify_dataset,
    deidentify_uid,
    patient_date_offset_days,
)
from petdx.dicom.discovery import (
    DicomIndex,
    DicomInstance,
    FileProblem,
    MrContrast,
    SeriesEntry,
    SeriesKind,
    classify,
    index_dicom_files,
    index_dicom_folder,
    mr_contrast,
    read_header,
)
from petdx.dicom.frames import Frame, frames_of, is_multiframe
from petdx.dicom.masks import read_nifti_mask, write_nifti_mask
from petdx.dicom.rtstruct import (
    RasterizedRoi,
    RoiContours,
    RoiLabels,
    RtStruct,
    rasterize_roi,
    rasterize_rois,
    read_rtstruct,
)
from petdx.dicom.seg import SegRead, read_seg, source_datasets, write_seg
from petdx.dicom.series_volume import ImageSeries, read_series_volume
from petdx.dicom.sources import FileListSource, FolderSource, ImageSource, as_image_source
from petdx.dicom.sr import SrLesion, write_measurement_report

__all__ = [
    "DeidentificationSettings",
    "DicomIndex",
    "DicomInstance",
    "FileListSource",
    "FileProblem",
    "FolderSource",
    "Frame",
    "ImageSeries",
    "ImageSource",
    "MrContrast",
    "RasterizedRoi",
    "RoiContours",
    "RoiLabels",
    "RtStruct",
    "SegRead",
    "SeriesEntry",
    "SeriesKind",
    "SrLesion",
    "as_image_source",
    "classify",
    "deidentify_dataset",
    "deidentify_uid",
    "frames_of",
    "index_dicom_files",
    "index_dicom_folder",
    "is_multiframe",
    "mr_contrast",
    "patient_date_offset_days",
    "rasterize_roi",
    "rasterize_rois",
    "read_header",
    "read_nifti_mask",
    "read_rtstruct",
    "read_seg",
    "read_series_volume",
    "source_datasets",
    "write_measurement_report",
    "write_nifti_mask",
    "write_seg",
]
