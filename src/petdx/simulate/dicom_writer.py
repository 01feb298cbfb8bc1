"""Write simulated PET and CT series as one DICOM file per slice, as a scanner would.

PET Image IOD (PS3.3 A.21) with the PET Series, PET Isotope, NM/PET Patient Orientation and
PET Image modules: Units BQML, DecayCorrection START (to the series time, which is the start
of the first bed), per-slice AcquisitionTime (bed start), ActualFrameDuration, FrameReference
Time (series start to the bed's average-count-rate time), DecayFactor, and a per-slice
RescaleSlope on int16 values. CT Image IOD (PS3.3 A.3) in Hounsfield units with
RescaleIntercept -1024. Both share the study and the frame of reference, each on its own
grid. UIDs are given by the caller (derived from the seed, so runs are reproducible).

References
----------
DICOM PS3.3 C.8.9.1 (PET Series), C.8.9.2 (PET Isotope), C.8.9.4 (PET Image; Frame Reference
Time C.8.9.4.1.5, Decay Factor C.8.9.4.1.6), C.8.2.1 (CT Image), C.7.6.2 (Image Plane).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.uid import CTImageStorage, MRImageStorage, PositronEmissionTomographyImageStorage
from pydicom.valuerep import format_number_as_ds

from petdx import __version__
from petdx.nuclides import Nuclide
from petdx.simulate._fast_dicom import SeriesEncoder
from petdx.simulate.scanner import BedTiming
from petdx.simulate.shapes import Grid
from petdx.suv.timing import average_count_rate_time_s

__all__ = [
    "MANUFACTURER",
    "MODEL_NAME",
    "PatientInfo",
    "PetAcquisition",
    "StudyInfo",
    "write_ct_series",
    "write_pet_series",
]

MANUFACTURER = "petdx"
MODEL_NAME = "petdx digital phantom"
_PIXEL_DATA = 0x7FE00010


@dataclass(frozen=True)
class PatientInfo:
    """Who is imaged (pseudonymous and clearly synthetic)."""

    patient_id: str
    sex: str
    birth_date: date | None
    weight_kg: float
    height_m: float

    @property
    def name(self) -> str:
        return f"SYNTHETIC^{self.patient_id}"


@dataclass(frozen=True)
class StudyInfo:
    """One imaging session (PET and its CT share it and the frame of reference)."""

    study_uid: str
    frame_of_reference_uid: str
    study_datetime: datetime
    study_id: str
    accession_number: str
    description: str


@dataclass(frozen=True)
class PetAcquisition:
    """What the PET series header says about the tracer and the timing."""

    series_uid: str
    series_number: int
    description: str
    series_start: datetime
    injection: datetime
    injected_activity_bq: float
    radiopharmaceutical: str
    nuclide: Nuclide
    positron_fraction: float
    beds: tuple[BedTiming, ...]
    resolution_fwhm_mm: float
    #: (0054,1101): CT-based on the PET/CT, MR-based (Dixon segmentation) on the PET/MR.
    attenuation_correction_method: str = "CT-based (simulated)"
    #: ManufacturerModelName; a PET/MR-like name on the PET/MR variant.
    model_name: str = ""


def _ds(value: float) -> str:
    return format_number_as_ds(float(value))


def _da(value: date) -> str:
    return value.strftime("%Y%m%d")


def _tm(value: datetime) -> str:
    return value.strftime("%H%M%S")


def _dt(value: datetime) -> str:
    return value.strftime("%Y%m%d%H%M%S")


def _age(birth: date | None, on: date) -> str:
    if birth is None:
        return ""
    years = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    return f"{max(0, years):03d}Y"


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def _common(ds: Dataset, patient: PatientInfo, study: StudyInfo, modality: str) -> None:
    ds.PatientName = patient.name
    ds.PatientID = patient.patient_id
    ds.PatientBirthDate = _da(patient.birth_date) if patient.birth_date else ""
    ds.PatientSex = patient.sex
    ds.PatientIdentityRemoved = "NO"
    ds.PatientAge = _age(patient.birth_date, study.study_datetime.date())
    ds.PatientSize = _ds(patient.height_m)
    ds.PatientWeight = _ds(patient.weight_kg)
    ds.StudyInstanceUID = study.study_uid
    ds.StudyDate = _da(study.study_datetime)
    ds.StudyTime = _tm(study.study_datetime)
    ds.StudyID = study.study_id
    ds.AccessionNumber = study.accession_number
    ds.StudyDescription = study.description
    ds.ReferringPhysicianName = ""
    ds.Modality = modality
    ds.BodyPartExamined = "WHOLEBODY"
    if modality == "CT":  # PET says it with the NM/PET Patient Orientation codes instead
        ds.PatientPosition = "HFS"
    ds.FrameOfReferenceUID = study.frame_of_reference_uid
    ds.PositionReferenceIndicator = ""
    ds.Manufacturer = MANUFACTURER
    ds.ManufacturerModelName = MODEL_NAME
    ds.InstitutionName = "petdx simulation (synthetic data)"
    ds.SoftwareVersions = f"petdx {__version__}"
    ds.DeviceSerialNumber = "SIMULATED"
    ds.BurnedInAnnotation = "NO"


def _element(keyword: str, value: object) -> DataElement:
    tag = tag_for_keyword(keyword)
    if tag is None:  # pragma: no cover - keywords are literals of this module
        raise KeyError(keyword)
    return DataElement(tag, dictionary_VR(tag), value)


def _plane(grid: Grid, k: int) -> list[DataElement]:
    x0, y0, z0 = grid.origin_mm
    z = z0 + k * grid.spacing_mm[0]
    return [
        _element("ImagePositionPatient", [_ds(x0), _ds(y0), _ds(z)]),
        _element("SliceLocation", _ds(z)),
    ]


def _pixels(ds: Dataset, grid: Grid) -> None:
    _, ny, nx = grid.shape
    dz, dy, dx = grid.spacing_mm
    ds.Rows, ds.Columns = ny, nx
    ds.PixelSpacing = [_ds(dy), _ds(dx)]
    ds.SliceThickness = _ds(dz)
    ds.SpacingBetweenSlices = _ds(dz)
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1


def write_pet_series(
    folder: Path,
    stored: npt.NDArray[np.int16],
    slopes: Sequence[str],
    grid: Grid,
    *,
    patient: PatientInfo,
    study: StudyInfo,
    acquisition: PetAcquisition,
    sop_uid: Callable[[int], str],
    keep: Collection[int] = (),
) -> list[Dataset]:
    """Write a PET series (one file per slice, ``folder/PT000001.dcm`` ...).

    Parameters
    ----------
    folder
        Output folder (created).
    stored, slopes
        int16 values (z, y, x) and one RescaleSlope (DS string) per slice: Bq/ml =
        stored x slope, decay-corrected to ``acquisition.series_start``.
    grid
        The PET grid.
    patient, study, acquisition
        Header content.
    sop_uid
        SOPInstanceUID of slice ``k``.
    keep
        Slices whose datasets (without pixel data) to return.

    Returns
    -------
    list of Dataset
        The datasets of the ``keep`` slices in slice order, e.g. as SEG sources.
    """
    folder.mkdir(parents=True, exist_ok=True)
    template = Dataset()
    _common(template, patient, study, "PT")
    template.SOPClassUID = PositronEmissionTomographyImageStorage
    template.SeriesInstanceUID = acquisition.series_uid
    template.SeriesNumber = acquisition.series_number
    template.SeriesDescription = acquisition.description
    template.SeriesDate = _da(acquisition.series_start)
    template.SeriesTime = _tm(acquisition.series_start)
    template.ContentDate = _da(acquisition.series_start)
    template.ContentTime = _tm(acquisition.series_start)
    template.InstanceCreationDate = _da(acquisition.series_start)
    template.InstanceCreationTime = _tm(acquisition.series_start)
    template.ImageType = ["ORIGINAL", "PRIMARY"]
    template.Units = "BQML"
    template.CountsSource = "EMISSION"
    template.SeriesType = ["WHOLE BODY", "IMAGE"]
    template.NumberOfSlices = grid.shape[0]
    template.CorrectedImage = ["NORM", "DTIM", "ATTN", "SCAT", "DECY", "RAN"]
    template.RandomsCorrectionMethod = "DLYD"
    template.AttenuationCorrectionMethod = acquisition.attenuation_correction_method
    if acquisition.model_name:
        template.ManufacturerModelName = acquisition.model_name
    template.ScatterCorrectionMethod = "model-based (simulated)"
    template.DecayCorrection = "START"
    template.ReconstructionMethod = (
        f"image-domain model, Gaussian PSF {acquisition.resolution_fwhm_mm:.2f} mm"
    )
    template.ReconstructionDiameter = _ds(grid.shape[2] * grid.spacing_mm[2])
    template.CollimatorType = "NONE"
    template.AcquisitionStartCondition = "MANU"
    item = Dataset()
    item.Radiopharmaceutical = acquisition.radiopharmaceutical
    item.RadiopharmaceuticalRoute = "Intravenous route"
    item.RadiopharmaceuticalStartTime = _tm(acquisition.injection)
    item.RadiopharmaceuticalStartDateTime = _dt(acquisition.injection)
    item.RadionuclideTotalDose = _ds(round(acquisition.injected_activity_bq))
    item.RadionuclideHalfLife = _ds(acquisition.nuclide.half_life_s)
    item.RadionuclidePositronFraction = _ds(acquisition.positron_fraction)
    item.RadionuclideCodeSequence = [
        _code(acquisition.nuclide.sct_code, "SCT", acquisition.nuclide.code_meaning)
    ]
    template.RadiopharmaceuticalInformationSequence = [item]
    orientation = _code("102538003", "SCT", "recumbent")
    orientation.PatientOrientationModifierCodeSequence = [_code("40199007", "SCT", "supine")]
    template.PatientOrientationCodeSequence = [orientation]
    template.PatientGantryRelationshipCodeSequence = [_code("102540008", "SCT", "headfirst")]
    _pixels(template, grid)
    template.RescaleIntercept = "0"

    half_life = acquisition.nuclide.half_life_s
    lam = math.log(2.0) / half_life
    encoder = SeriesEncoder(template, PositronEmissionTomographyImageStorage)
    datasets = []
    for bed in acquisition.beds:
        start = acquisition.series_start + timedelta(seconds=bed.start_offset_s)
        t_avg = average_count_rate_time_s(bed.duration_s, half_life)
        reference_ms = (bed.start_offset_s + t_avg) * 1000.0
        decay_factor = math.exp(lam * (bed.start_offset_s + t_avg))
        bed_encoder = encoder.with_shared(
            [
                _element("AcquisitionDate", _da(start)),
                _element("AcquisitionTime", _tm(start)),
                _element("AcquisitionDateTime", _dt(start)),
                _element("ActualFrameDuration", round(bed.duration_s * 1000)),
                _element("FrameReferenceTime", _ds(round(reference_ms, 3))),
                _element("DecayFactor", _ds(round(decay_factor, 6))),
            ]
        )
        for k in range(bed.first_slice, bed.stop_slice):
            varying = [
                _element("SOPInstanceUID", sop_uid(k)),
                _element("InstanceNumber", k + 1),
                _element("ImageIndex", k + 1),
                *_plane(grid, k),
                _element("RescaleSlope", slopes[k]),
            ]
            pixels = np.ascontiguousarray(stored[k], dtype="<i2").tobytes()
            bed_encoder.write(
                folder / f"PT{k + 1:06d}.dcm", [*varying, DataElement(_PIXEL_DATA, "OW", pixels)]
            )
            if k in keep:
                datasets.append(bed_encoder.merged(varying))
    datasets.sort(key=lambda d: int(d.InstanceNumber))
    return datasets


def write_ct_series(
    folder: Path,
    hounsfield: npt.NDArray[np.int16],
    grid: Grid,
    *,
    patient: PatientInfo,
    study: StudyInfo,
    series_uid: str,
    series_number: int,
    acquired: datetime,
    sop_uid: Callable[[int], str],
) -> None:
    """Write a low-dose CT series (HU, one file per slice, ``folder/CT000001.dcm`` ...)."""
    folder.mkdir(parents=True, exist_ok=True)
    template = Dataset()
    _common(template, patient, study, "CT")
    template.SOPClassUID = CTImageStorage
    template.SeriesInstanceUID = series_uid
    template.SeriesNumber = series_number
    template.SeriesDescription = "Low-dose CT for attenuation correction (synthetic)"
    template.SeriesDate = _da(acquired)
    template.SeriesTime = _tm(acquired)
    template.ContentDate = _da(acquired)
    template.ContentTime = _tm(acquired)
    template.InstanceCreationDate = _da(acquired)
    template.InstanceCreationTime = _tm(acquired)
    template.AcquisitionDate = _da(acquired)
    template.AcquisitionTime = _tm(acquired)
    template.AcquisitionNumber = 1
    template.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    template.KVP = "120"
    template.XRayTubeCurrent = 30
    template.ConvolutionKernel = "SOFT"
    template.ReconstructionDiameter = _ds(grid.shape[2] * grid.spacing_mm[2])
    _pixels(template, grid)
    template.RescaleIntercept = "-1024"
    template.RescaleSlope = "1"
    template.RescaleType = "HU"
    encoder = SeriesEncoder(template, CTImageStorage)
    for k in range(grid.shape[0]):
        stored = (hounsfield[k].astype(np.int32) + 1024).astype("<i2")
        varying = [
            _element("SOPInstanceUID", sop_uid(k)),
            _element("InstanceNumber", k + 1),
            *_plane(grid, k),
            DataElement(_PIXEL_DATA, "OW", stored.tobytes()),
        ]
        encoder.write(folder / f"CT{k + 1:06d}.dcm", varying)


#: ManufacturerModelName of the simulated PET/MR (its series are written as a Biograph mMR-like
#: or SIGNA PET/MR-like scanner would name them, see :func:`write_mr_series`).
PET_MR_MODEL_NAME = "petdx simulated PET/MR"


def write_mr_series(
    folder: Path,
    values: npt.NDArray[np.uint16],
    grid: Grid,
    *,
    patient: PatientInfo,
    study: StudyInfo,
    series_uid: str,
    series_number: int,
    description: str,
    image_type: Sequence[str],
    acquired: datetime,
    sop_uid: Callable[[int], str],
) -> None:
    """Write an MR series (one file per slice, ``folder/MR000001.dcm`` ...).

    Used for the PET/MR variant's Dixon water and fat images (ImageType ``...\\DIXON\\W``
    / ``F`` as Siemens writes them) and its attenuation map (ImageType ``...\\UMAP``,
    linear attenuation coefficient in 1/cm x 10000, as the Biograph mMR's mu-map stores it).
    """
    folder.mkdir(parents=True, exist_ok=True)
    template = Dataset()
    _common(template, patient, study, "MR")
    template.ManufacturerModelName = PET_MR_MODEL_NAME
    template.PatientPosition = "HFS"
    template.SOPClassUID = MRImageStorage
    template.SeriesInstanceUID = series_uid
    template.SeriesNumber = series_number
    template.SeriesDescription = description
    for prefix in ("Series", "Content", "InstanceCreation", "Acquisition"):
        setattr(template, f"{prefix}Date", _da(acquired))
        setattr(template, f"{prefix}Time", _tm(acquired))
    template.AcquisitionNumber = 1
    template.ImageType = list(image_type)
    template.ScanningSequence = "GR"
    template.SequenceVariant = "SP"
    template.ScanOptions = ""
    template.MRAcquisitionType = "3D"
    template.SequenceName = "*fl3d2"
    template.RepetitionTime = "3.6"
    template.EchoTime = "1.23"
    template.EchoTrainLength = 2
    template.MagneticFieldStrength = "3"
    template.ImagedNucleus = "1H"
    _pixels(template, grid)
    template.PixelRepresentation = 0
    encoder = SeriesEncoder(template, MRImageStorage)
    for k in range(grid.shape[0]):
        varying = [
            _element("SOPInstanceUID", sop_uid(k)),
            _element("InstanceNumber", k + 1),
            *_plane(grid, k),
            DataElement(_PIXEL_DATA, "OW", np.ascontiguousarray(values[k], "<u2").tobytes()),
        ]
        encoder.write(folder / f"MR{k + 1:06d}.dcm", varying)
