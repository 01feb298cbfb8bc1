"""Lesion measurements as a DICOM Structured Report: TID 1500 Measurement Report (highdicom).

Each lesion is one TID 1411 Volumetric ROI Measurements group that references its segment
in the petdx SEG (:func:`petdx.dicom.write_seg`) and holds, with these concept names:

| measurement | concept (scheme code) | derivation / unit |
|---|---|---|
| SUVmax | SUVbw, SUVlbm(Janma), ... (DCM 126401...) | Maximum (SCT 56851009) |
| SUVpeak (local) | same | Peak Value Within ROI (DCM 126031) |
| SUVmean, SUV SD, SUVmin | same | Mean, Standard Deviation, Minimum (SCT) |
| MTV | Metabolic Volume (DCM 126032) | ml |
| TLG | Total Lesion Glycolysis (DCM 126033) | g (SUVbw), else SUV unit x ml |
| longest diameter | Long axis (SCT 103339001) | mm |

Tumour-to-background ratios are kept in the CSV/Parquet table (the SR has no standard way to
name the background tissue of a ratio).

References
----------
DICOM PS3.16 TID 1500 (Measurement Report), TID 1411 (Volumetric ROI Measurements).
Fedorov A, et al. DICOM for quantitative imaging biomarker development. PeerJ 2016;4:e2057.
doi:10.7717/peerj.2057
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import highdicom as hd
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from petdx import __version__
from petdx.errors import InputValidationError
from petdx.fileio import write_atomically

__all__ = ["SrLesion", "write_measurement_report", "write_reader_report"]

#: SUV concept and UCUM unit per petdx normalisation (``SuvNormalization`` values).
_SUV_CONCEPTS: dict[str, tuple[Code, Code]] = {
    "bw": (codes.DCM.Suvbw, codes.UCUM.StandardizedUptakeValueBodyWeight),
    "sul": (codes.DCM.SuvlbmJanma, codes.UCUM.StandardizedUptakeValueLeanBodyMassJanma),
    "sul-james": (
        codes.DCM.SuvlbmJames128,
        codes.UCUM.StandardizedUptakeValueLeanBodyMassJames128Multiplier,
    ),
    "bsa": (codes.DCM.Suvbsa, codes.UCUM.StandardizedUptakeValueBodySurfaceArea),
    "ibw": (codes.DCM.Suvibw, codes.UCUM.StandardizedUptakeValueIdealBodyWeight),
}
_ML = Code("ml", "UCUM", "milliliter")
_GRAM = Code("g", "UCUM", "gram")
_SUV_ML = Code("{SUV}.ml", "UCUM", "SUV x milliliter")


@dataclass(frozen=True)
class SrLesion:
    """What the SR says about one lesion (values in the SUV normalisation of the report)."""

    label: int
    segment_number: int
    suv_max: float
    suv_peak: float
    suv_mean: float
    suv_sd: float
    suv_min: float
    volume_ml: float
    tlg: float
    longest_diameter_mm: float


def write_measurement_report(
    path: str | os.PathLike[str],
    *,
    seg: Dataset,
    source_images: Sequence[Dataset],
    lesions: Sequence[SrLesion],
    normalization: str = "bw",
    method: str = "petdx",
    series_number: int = 901,
) -> Dataset:
    """Write a TID 1500 Measurement Report referencing the SEG and the PET series.

    Parameters
    ----------
    path
        Output file (temporary name, then renamed).
    seg
        The SEG written by :func:`petdx.dicom.write_seg` (its segments are referenced).
    source_images
        The PET instances' headers (:func:`petdx.dicom.source_datasets`).
    lesions
        One entry per lesion, with its segment number in ``seg``.
    normalization
        ``bw``, ``sul``, ``sul-james``, ``bsa`` or ``ibw``.
    method
        Algorithm name (e.g. ``percent:41``), recorded as the algorithm identification.
    """
    _suv_concepts(normalization)
    algorithm = hd.sr.AlgorithmIdentification(name=f"petdx {method}", version=__version__)
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=hd.UID(), name="petdx", manufacturer_name="petdx", model_name="petdx"
        ),
    )
    context = hd.sr.ObservationContext(observer_device_context=observer)
    groups = [
        _lesion_group(
            lesion, seg, source_images, normalization, algorithm, f"lesion {lesion.label}"
        )
        for lesion in lesions
    ]
    return _write_report(
        path,
        context,
        groups,
        evidence=[*source_images, seg],
        series_number=series_number,
        description="petdx lesion measurements",
    )


def _suv_concepts(normalization: str) -> tuple[Code, Code, Code]:
    if normalization not in _SUV_CONCEPTS:
        raise InputValidationError(
            f"SR: normalisation '{normalization}' has no DICOM SUV concept; expected one of "
            f"{', '.join(_SUV_CONCEPTS)}."
        )
    suv_name, suv_unit = _SUV_CONCEPTS[normalization]
    tlg_unit = _GRAM if normalization in ("bw", "sul", "sul-james", "ibw") else _SUV_ML
    return suv_name, suv_unit, tlg_unit


def _lesion_group(
    lesion: SrLesion,
    seg: Dataset,
    source_images: Sequence[Dataset],
    normalization: str,
    algorithm: hd.sr.AlgorithmIdentification,
    tracking_id: str,
) -> hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations:
    """One TID 1411 group: the lesion's measurements, referencing its segment in ``seg``."""
    suv_name, suv_unit, tlg_unit = _suv_concepts(normalization)
    source_series = hd.sr.SourceSeriesForSegmentation(str(source_images[0].SeriesInstanceUID))
    tracking = hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=tracking_id[:64])

    def suv(value: float, derivation: Code) -> hd.sr.Measurement:
        return hd.sr.Measurement(
            name=suv_name, value=value, unit=suv_unit, derivation=derivation, algorithm_id=algorithm
        )

    measurements = [
        suv(lesion.suv_max, codes.SCT.Maximum),
        suv(lesion.suv_peak, codes.DCM.PeakValueWithinROI),
        suv(lesion.suv_mean, codes.SCT.Mean),
        suv(lesion.suv_sd, codes.SCT.StandardDeviation),
        suv(lesion.suv_min, codes.SCT.Minimum),
        hd.sr.Measurement(
            name=codes.DCM.MetabolicVolume, value=lesion.volume_ml, unit=_ML, algorithm_id=algorithm
        ),
        hd.sr.Measurement(
            name=codes.DCM.TotalLesionGlycolysis,
            value=lesion.tlg,
            unit=tlg_unit,
            algorithm_id=algorithm,
        ),
        hd.sr.Measurement(
            name=codes.SCT.LongAxis,
            value=lesion.longest_diameter_mm,
            unit=codes.UCUM.Millimeter,
            algorithm_id=algorithm,
        ),
    ]
    return hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=tracking,
        referenced_segment=hd.sr.ReferencedSegment(
            sop_class_uid=str(seg.SOPClassUID),
            sop_instance_uid=str(seg.SOPInstanceUID),
            segment_number=lesion.segment_number,
            source_series=source_series,
        ),
        finding_type=codes.SCT.Lesion,
        measurements=[m for m in measurements if math.isfinite(float(m.value))],
    )


def write_reader_report(
    path: str | os.PathLike[str],
    *,
    reader_id: str,
    source_images: Sequence[Dataset],
    vois: Sequence[tuple[Dataset, SrLesion, str]],
    normalization: str = "bw",
    series_number: int = 911,
) -> Dataset:
    """A TID 1500 Measurement Report of one reader's VOIs on one PET series.

    Parameters
    ----------
    path
        Output file (temporary name, then renamed).
    reader_id
        The reader's pseudonym: the person observer of the report.
    source_images
        The PET instances' headers (:func:`petdx.dicom.source_datasets`).
    vois
        Per VOI: its SEG (one segment per VOI, :func:`petdx.dicom.write_seg`), what the SR
        says of it, and its tracking identifier (e.g. ``lesion L01`` or ``added VOI 2``).
    normalization
        ``bw``, ``sul``, ``sul-james``, ``bsa`` or ``ibw``.
    """
    if not vois:
        raise InputValidationError(f"reader {reader_id}: no VOI to report on this PET series.")
    _suv_concepts(normalization)
    algorithm = hd.sr.AlgorithmIdentification(name="petdx reader VOI", version=__version__)
    person = hd.sr.ObserverContext(
        observer_type=codes.DCM.Person,
        observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
            name=f"{reader_id[:60]}^"
        ),
    )
    context = hd.sr.ObservationContext(observer_person_context=person)
    groups = [
        _lesion_group(lesion, seg, source_images, normalization, algorithm, tracking)
        for seg, lesion, tracking in vois
    ]
    return _write_report(
        path,
        context,
        groups,
        evidence=[*source_images, *(seg for seg, _, _ in vois)],
        series_number=series_number,
        description=f"petdx reads of {reader_id}"[:64],
    )


def _write_report(
    path: str | os.PathLike[str],
    context: hd.sr.ObservationContext,
    groups: Sequence[hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations],
    *,
    evidence: Sequence[Dataset],
    series_number: int,
    description: str,
) -> Dataset:
    report = hd.sr.MeasurementReport(
        observation_context=context,
        procedure_reported=codes.LN.PETUnspecifiedBodyRegion,
        imaging_measurements=list(groups),
    )
    sr = hd.sr.Comprehensive3DSR(
        evidence=list(evidence),
        content=report,
        series_instance_uid=hd.UID(),
        series_number=series_number,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="petdx",
        is_complete=True,
        series_description=description,
    )
    write_atomically(path, lambda tmp: sr.save_as(tmp))
    return sr
