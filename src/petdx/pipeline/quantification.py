"""Quantify every registered lesion of one patient on every PET scan (a ``petdx run`` job).

A job holds plain data only (it runs in a worker process). For one patient it reads the
de-identified PET series stored in the study, converts them to SUV, and measures each lesion
of the lesion registry on each scan with :func:`petdx.quantify.quantify_visit`:

* the first index-test scan (index tracer, earliest time point) is the reference frame; the
  other scans of the index tracer and the comparator scans are rigidly aligned to it (their
  registered centres are mapped through the transform) unless alignment is switched off;
* each lesion is delineated by the study's method (default 41 % of SUVmax) inside its
  volume of interest: a sphere around its registered centre of radius half its registered
  diameter plus a margin (the blur of PET spreads a lesion by about half the system FWHM),
  a voxel within reach of two lesions going to the nearer centre; lesion label *k* on
  every scan is registry lesion *k*. A sphere sized to the lesion keeps a neighbouring hot
  organ (kidney, bladder, heart) out of the lesion's region;
* the liver reference region is placed automatically on the reference scan (documented in
  :func:`petdx.segment.find_liver_centre`) and carried to the other scans, so tumour-to-liver
  ratios and the liver's own retention are measured in the same tissue.

Outputs: measurement rows (lesion x tracer x time point x method x metric) for the database,
and per scan a label map (NIfTI, on the PET grid) and coronal maximum-intensity projections
of SUV and labels for the report, written atomically under ``STUDY/derived/<patient>/``.
"""

from __future__ import annotations

import io
import json
import resource
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from petdx import __version__
from petdx.dicom import SeriesKind, index_dicom_folder, read_series_volume
from petdx.errors import InputValidationError, PetdxError
from petdx.fileio import atomic_output, atomic_write_bytes
from petdx.image import Volume
from petdx.quantify import LesionSource, ReferenceSpec, ScanInput, quantify_visit
from petdx.quantify.results import TimePointResult
from petdx.segment import find_liver_centre
from petdx.study.layout import StudyLayout, scan_folder_name
from petdx.suv import SuvResult, compute_suv, suv_volume

__all__ = [
    "METRICS",
    "PatientJob",
    "PatientMeasurements",
    "QuantificationParams",
    "RegistryLesion",
    "ScanRef",
    "ScanSummary",
    "quantify_patient",
    "scan_folder_name",
]

#: Metrics stored per lesion and scan: name -> unit (SUV in the normalisation's unit).
METRICS: dict[str, str] = {
    "suv_max": "suv",
    "suv_peak_local": "suv",
    "suv_peak_global": "suv",
    "suv_mean": "suv",
    "suv_sd": "suv",
    "volume_ml": "ml",
    "tlg": "suv*ml",
    "tbr_liver": "ratio",
}


@dataclass(frozen=True)
class ScanRef:
    """A stored PET series of the patient."""

    series_uid: str
    folder: str  # relative to the study folder
    tracer: str
    time_point_min: int


@dataclass(frozen=True)
class RegistryLesion:
    """A lesion of the registry: its id, centre in the reference frame (LPS mm) and the
    diameter recorded on CT (mm), when there is one."""

    lesion_id: str
    centre_mm: tuple[float, float, float]
    diameter_mm: float | None = None


@dataclass(frozen=True)
class QuantificationParams:
    """How lesions are measured (from ``study.toml`` ``[quantification]``)."""

    method: str = "percent:41"
    voi_margin_mm: float = 5.0
    seed_radius_mm: float = 20.0
    align: bool = True
    normalization: str = "bw"

    def radius_mm(self, lesion: RegistryLesion) -> float:
        """Radius of a lesion's volume of interest (mm)."""
        if lesion.diameter_mm is None:
            return self.seed_radius_mm
        return lesion.diameter_mm / 2.0 + self.voi_margin_mm

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PatientJob:
    """Everything one worker needs for one patient (picklable plain data)."""

    patient_id: str
    study_root: str
    scans: tuple[ScanRef, ...]  # the reference scan first
    lesions: tuple[RegistryLesion, ...]
    params: QuantificationParams

    def fingerprint(self) -> dict[str, Any]:
        """The job's inputs as plain data, for the run's content hash."""
        return {
            "petdx_version": __version__,  # a new version measures again
            "patient_id": self.patient_id,
            "scans": [asdict(s) for s in self.scans],
            "lesions": [asdict(les) for les in self.lesions],
            "params": self.params.to_dict(),
        }


@dataclass(frozen=True)
class ScanSummary:
    """What the report needs of one scan besides the lesion measurements."""

    series_uid: str
    tracer: str
    time_point_min: int
    liver_mean_suv: float | None
    liver_problem: str | None
    translation_mm: tuple[float, float, float] | None
    derived_folder: str  # relative to the study folder
    warnings: tuple[str, ...] = ()
    #: The PET header's AttenuationCorrectionMethod (0054,1101), e.g. CT- or MR-based: it
    #: says whether the scan was a PET/CT or a PET/MR and goes with every result.
    attenuation_correction_method: str = ""
    #: What computing the scan's SUV corrected or assumed (SuvResult.warnings), and the SUV
    #: scaling the scanner stored beside petdx's (SuvResult.vendor_check.to_dict()).
    suv_warnings: tuple[str, ...] = ()
    suv_vendor_check: dict[str, Any] | None = None
    #: How the PET pixels were stored (PixelEncoding.description); lossy is also a warning.
    pixel_compression: str = "uncompressed"


@dataclass(frozen=True)
class PatientMeasurements:
    """The result of one job."""

    patient_id: str
    rows: tuple[dict[str, Any], ...] = field(repr=False)
    scans: tuple[ScanSummary, ...]
    problems: tuple[str, ...] = ()
    #: Wall time of the task (s) and the peak resident memory of the process that ran it
    #: (MiB, ``getrusage`` ru_maxrss: the worker's peak so far, an upper bound for the
    #: task); set by :func:`quantify_patient_measured`, kept in the run state only.
    seconds: float | None = None
    peak_rss_mib: float | None = None


def _load(root: Path, scan: ScanRef, normalization: str) -> tuple[ScanInput, str, SuvResult]:
    """The scan's SUV input, its AttenuationCorrectionMethod (empty when not stated) and the
    SUV result (for its warnings and vendor cross-check)."""
    index = index_dicom_folder(StudyLayout(root).stored(scan.folder, field="series folder"))
    series = [e for e in index.of_kind(SeriesKind.PT) if e.series_instance_uid == scan.series_uid]
    if not series:
        raise InputValidationError(
            f"PET series {scan.series_uid}: not found under {scan.folder} in the study's "
            "images; run `petdx ingest` again to restore it."
        )
    image = read_series_volume(series[0])
    result = compute_suv(image, normalization=normalization)
    method = result.attenuation_correction_method or ""
    scan_input = ScanInput(
        suv_volume(image, result),
        scan.series_uid,
        result.suv_factor,
        normalization=result.normalization.value,
        suv_unit=result.unit,
        pixel_compression=image.pixel_encoding.description,
        attenuation_correction_method=method,
    )
    return scan_input, method, result


def _write_derived(folder: Path, suv: Any, labels: Any, lesion_ids: Sequence[str]) -> None:
    """Label map (NIfTI) and coronal MIPs (npz) of one scan, written atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_output(folder / "lesions.nii.gz", suffix=".nii.gz") as tmp:
        nib.save(labels.to_nifti(), tmp)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        suv_mip=np.max(np.asarray(suv.array), axis=1).astype(np.float32),
        label_mip=np.max(np.asarray(labels.array), axis=1).astype(np.uint16),
        spacing_mm=np.asarray(suv.spacing_mm),
        affine=np.asarray(suv.affine),  # which side is the patient's right (report MIPs)
    )
    atomic_write_bytes(folder / "mip.npz", buffer.getvalue())
    labels_json = json.dumps({str(k + 1): lid for k, lid in enumerate(lesion_ids)}, indent=1)
    atomic_write_bytes(folder / "labels.json", labels_json.encode())


def lesion_vois(suv: Volume, job: PatientJob) -> Volume:
    """Label map of the lesions' volumes of interest on the reference scan's grid.

    Label *k* is registry lesion *k*: the voxels whose centre lies within its radius
    (:meth:`QuantificationParams.radius_mm`) of its centre; a voxel within reach of several
    lesions goes to the one whose centre is nearest relative to its radius.
    """
    labels = np.zeros(suv.shape, dtype=np.uint32)
    best = np.full(suv.shape, np.inf)
    spacing = np.asarray(suv.spacing_mm)
    missing = []
    for k, lesion in enumerate(job.lesions, start=1):
        radius = job.params.radius_mm(lesion)
        centre = suv.patient_mm_to_index(np.asarray(lesion.centre_mm))
        reach = np.ceil(radius / spacing).astype(int) + 1
        low = np.maximum(np.floor(centre).astype(int) - reach, 0)
        high = np.minimum(np.ceil(centre).astype(int) + reach + 1, suv.shape)
        if np.any(high <= low):
            missing.append(lesion.lesion_id)
            continue
        box = tuple(slice(lo, hi) for lo, hi in zip(low, high, strict=True))
        grid = np.stack(
            np.meshgrid(
                *(np.arange(lo, hi) for lo, hi in zip(low, high, strict=True)), indexing="ij"
            ),
            axis=-1,
        )
        distance = (
            np.linalg.norm(suv.index_to_patient_mm(grid) - np.asarray(lesion.centre_mm), axis=-1)
            / radius
        )
        take = (distance <= 1.0) & (distance < best[box])
        if not take.any():
            missing.append(lesion.lesion_id)
            continue
        labels[box][take] = k
        best[box][take] = distance[take]
    if missing:
        raise InputValidationError(
            f"{job.patient_id}: lesion(s) {', '.join(missing)} lie outside the reference PET "
            f"({suv.describe_grid()}); check their registered centres (LPS mm)."
        )
    return suv.with_array(labels)


def _liver_reference(suv: Volume) -> ReferenceSpec:
    """The liver sphere placed automatically once, on the reference scan (the other scans get
    it through their alignment); no liver reference when no homogeneous liver is found."""
    try:
        return ReferenceSpec(centres_mm={"liver": tuple(find_liver_centre(suv))})
    except PetdxError:
        return ReferenceSpec(auto_liver=True)  # measured per scan; the failure is reported


def quantify_patient(job: PatientJob) -> PatientMeasurements:
    """Measure every registry lesion of one patient on every PET scan (module docstring).

    Errors of one scan are reported in ``problems`` and the others are still measured; an
    unreadable reference scan stops the patient (nothing can be placed without it).
    """
    root = Path(job.study_root)
    layout = StudyLayout(root)
    problems: list[str] = []
    loaded: list[tuple[ScanRef, ScanInput]] = []
    ac_methods: dict[str, str] = {}
    suv_results: dict[str, SuvResult] = {}
    for scan in job.scans:
        try:
            scan_input, ac_methods[scan.series_uid], suv_results[scan.series_uid] = _load(
                root, scan, job.params.normalization
            )
            loaded.append((scan, scan_input))
        except PetdxError as exc:
            if not loaded:
                return PatientMeasurements(
                    job.patient_id, (), (), (f"{job.patient_id}: reference scan: {exc}",)
                )
            problems.append(f"{job.patient_id}: {scan.tracer} {scan.time_point_min} min: {exc}")
    if not job.lesions:
        return PatientMeasurements(job.patient_id, (), (), ("no registered lesions",))
    reference = loaded[0][1]
    try:
        result = quantify_visit(
            [scan_input for _, scan_input in loaded],
            LesionSource(voi_labels=lesion_vois(reference.suv, job)),
            method=job.params.method,
            references=_liver_reference(reference.suv),
            align=job.params.align,
            seed_radius_mm=job.params.seed_radius_mm,
        )
    except PetdxError as exc:
        return PatientMeasurements(job.patient_id, (), (), (*problems, f"{job.patient_id}: {exc}"))

    rows: list[dict[str, Any]] = []
    summaries: list[ScanSummary] = []
    method = str(result.time_points[0].method) if result.time_points else job.params.method
    lesion_ids = [les.lesion_id for les in job.lesions]
    for (scan, scan_input), point in zip(loaded, result.time_points, strict=True):
        unit_suv = scan_input.suv_unit
        for lesion in point.lesions:
            lesion_id = lesion_ids[lesion.label - 1]
            for metric, unit in METRICS.items():
                value = (
                    lesion.tbr.get(metric.removeprefix("tbr_"))
                    if metric.startswith("tbr_")
                    else getattr(lesion, metric)
                )
                rows.append(
                    {
                        "lesion_id": lesion_id,
                        "patient_id": job.patient_id,
                        "tracer": scan.tracer,
                        "time_point_min": scan.time_point_min,
                        "method": method,
                        "metric": metric,
                        "value": None if value is None or not np.isfinite(value) else float(value),
                        "unit": unit.replace("suv", unit_suv),
                        "series_uid": scan.series_uid,
                    }
                )
        rows.extend(
            {
                "lesion_id": lesion_ids[label - 1],
                "patient_id": job.patient_id,
                "tracer": scan.tracer,
                "time_point_min": scan.time_point_min,
                "method": method,
                "metric": metric,
                "value": value,
                "unit": unit_suv,
                "series_uid": scan.series_uid,
            }
            for label, metric, value in _carried_rows(result.time_points[0], point)
        )
        liver = point.references.get("liver")
        scan_folder = layout.derived_scan(job.patient_id, scan.tracer, scan.time_point_min)
        derived = layout.relative(scan_folder)
        _write_derived(scan_folder, scan_input.suv, point.labels, lesion_ids)
        transform = point.transform_to_first
        summaries.append(
            ScanSummary(
                series_uid=scan.series_uid,
                tracer=scan.tracer,
                time_point_min=scan.time_point_min,
                liver_mean_suv=liver.mean_suv if liver is not None else None,
                liver_problem=point.reference_problems.get("liver"),
                translation_mm=transform.translation_mm if transform is not None else None,
                derived_folder=str(derived),
                warnings=tuple(point.warnings),
                attenuation_correction_method=ac_methods[scan.series_uid],
                suv_warnings=suv_results[scan.series_uid].warnings,
                suv_vendor_check=(
                    check.to_dict()
                    if (check := suv_results[scan.series_uid].vendor_check)
                    else None
                ),
                pixel_compression=(
                    encoding.description
                    if (encoding := suv_results[scan.series_uid].pixel_encoding)
                    else "uncompressed"
                ),
            )
        )
    return PatientMeasurements(job.patient_id, tuple(rows), tuple(summaries), tuple(problems))


def _carried_rows(
    first: TimePointResult, point: TimePointResult
) -> list[tuple[int, str, float | None]]:
    """Per first-scan lesion: the mean in its first-scan VOI carried to this scan
    (``suv_mean_carried``; the VOI's own mean on the first scan) and the image-noise SDs of
    that mean and of SUVmax (``..._noise_sd``, petdx.quantify.noise; None without a
    reference region), for the retention CIs of issue 17."""
    out: list[tuple[int, str, float | None]] = []
    for lesion in first.lesions:
        value = (
            lesion.suv_mean if point.index == 0 else point.carried_voi_mean_suv.get(lesion.label)
        )
        factor = first.voi_noise_factor.get(lesion.label)
        mine = point.lesion(lesion.label)
        noise = point.noise
        sd_mean = (
            float(np.sqrt(noise.variance(value, factor)))
            if noise is not None and value is not None and factor is not None
            else None
        )
        sd_max = (
            float(np.sqrt(noise.variance(mine.suv_max, 1.0)))
            if noise is not None and mine is not None
            else None
        )
        out += [
            (lesion.label, "suv_mean_carried", value),
            (lesion.label, "suv_mean_carried_noise_sd", sd_mean),
            (lesion.label, "suv_max_noise_sd", sd_max),
        ]
    return out


def quantify_patient_measured(job: PatientJob) -> PatientMeasurements:
    """:func:`quantify_patient` with its wall time and the worker's peak memory (for the run
    state and sizing cluster workers; the measurements themselves are unchanged)."""
    started = time.perf_counter()
    result = quantify_patient(job)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return replace(result, seconds=time.perf_counter() - started, peak_rss_mib=peak_kib / 1024)
