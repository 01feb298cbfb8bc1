"""A simulated study cohort: screening, enrolment, PET/CT DICOM, ground truth, outcomes.

:func:`simulate_cohort` writes, under ``out_dir``::

    cohort.toml                 parameters, seed, petdx version, counts, label ids
    data_dictionary.csv         petdx.data_dictionary.dictionary_rows()
    <table>.csv                 every table of petdx.data_dictionary.TABLES
    dicom/<patient>/<tracer>_<t>min/PT/*.dcm, .../CT/*.dcm      (enrolled patients)
    truth/<patient>/<tracer>_<t>min/lesions_seg.dcm, lesions.nii.gz
    truth/<patient>/organs.nii.gz

Everything is drawn from ``seed`` through independent streams (screening, each patient's
disease, each patient's images, outcomes), so the same seed gives byte-identical files
whatever the number of worker processes, and the images of one patient do not change when
another patient is added. Files are written to a temporary folder beside ``out_dir`` that is
renamed to ``out_dir`` only when everything succeeded.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w
from pydicom.uid import generate_uid

from petdx import __version__
from petdx.data_dictionary import TABLES
from petdx.errors import Hint, InputValidationError
from petdx.simulate._output import check_new_folder, new_folder
from petdx.simulate.anatomy import ORGAN_LABELS, ORGAN_UPTAKE, build_phantom
from petdx.simulate.disease import plan_lesions, suspicious_kind
from petdx.simulate.imaging import ImagingSettings, PatientPlan, ScanPlan, simulate_patient_images
from petdx.simulate.lesions import LesionSpec
from petdx.simulate.outcomes import (
    ReadContext,
    follow_up_rows,
    pathology_rows,
    read_rows,
    reference_rows,
)
from petdx.simulate.scanner import ScannerModel
from petdx.simulate.screening import (
    ScreenedPatient,
    evaluate_eligibility,
    exposure_rows,
    screen_patients,
)
from petdx.simulate.tables import write_data_dictionary, write_table
from petdx.tracers import LesionClass, TracerProfile, available_tracers, load_tracer_profile

__all__ = [
    "RECRUITMENT_DAYS",
    "STUDY_END",
    "STUDY_START",
    "CohortSummary",
    "null_retention_profile",
    "simulate_cohort",
]

#: Trial record 2026009: study start (estimated) and primary completion (estimated).
STUDY_START = date(2026, 4, 1)
STUDY_END = date(2027, 12, 30)
RECRUITMENT_DAYS = 365
COMPARATOR = "f18-fdg"

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class CohortSummary:
    """What :func:`simulate_cohort` wrote."""

    out_dir: Path
    seed: int
    tracer: str
    time_points_min: tuple[int, ...]
    with_fdg: bool
    n_screened: int
    n_enrolled: int
    n_lesions: int
    n_scans: int
    n_dicom_files: int
    elapsed_s: float = field(compare=False)
    modality: str = "pet-ct"

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "seed": self.seed,
            "tracer": self.tracer,
            "time_points_min": list(self.time_points_min),
            "with_fdg": self.with_fdg,
            "n_screened": self.n_screened,
            "n_enrolled": self.n_enrolled,
            "n_lesions": self.n_lesions,
            "n_scans": self.n_scans,
            "n_dicom_files": self.n_dicom_files,
            "modality": self.modality,
            "elapsed_s": round(self.elapsed_s, 2),
        }

    def __str__(self) -> str:
        times = ", ".join(str(t) for t in self.time_points_min)
        fdg = " + FDG" if self.with_fdg else ""
        return (
            f"{self.n_enrolled} enrolled of {self.n_screened} screened, {self.n_lesions} "
            f"lesions, {self.n_scans} {self.modality.upper().replace('-', '/')} scans "
            f"({self.tracer} at {times} min{fdg}), "
            f"{self.n_dicom_files} DICOM files in {self.out_dir} ({self.elapsed_s:.1f} s, "
            f"seed {self.seed})"
        )


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *stream]))


def _uid(seed: int, *parts: object) -> str:
    return str(generate_uid(entropy_srcs=[str(seed), *(str(p) for p in parts)]))


def _validate(
    out_dir: Path, n_patients: int, seed: int, voxel_mm: float, time_points: Sequence[int]
) -> None:
    if not isinstance(n_patients, int) or not 1 <= n_patients <= 5000:
        raise InputValidationError(
            f"n_patients {n_patients}: expected a whole number of enrolled patients, 1 to 5000.",
            hint=Hint("n_patients"),
        )
    if not isinstance(seed, int) or seed < 0:
        raise InputValidationError(f"seed {seed}: expected a whole number >= 0.", hint=Hint("seed"))
    if not 1.0 <= voxel_mm <= 10.0:
        raise InputValidationError(
            f"voxel_mm {voxel_mm}: expected 1 to 10 mm.", hint=Hint("voxel_mm")
        )
    if not time_points or len(set(time_points)) != len(time_points):
        raise InputValidationError(
            f"time_points_min {','.join(map(str, time_points))}: expected distinct whole "
            "minutes after injection, e.g. 60,120.",
            hint=Hint("time_points_min"),
        )
    check_new_folder(out_dir)


def _host_background(profile: TracerProfile, time_min: int, host: str) -> float:
    """The background a reader compares a lesion with: its host organ, or the blood pool
    for lesions in soft tissue and fat (nodes)."""
    organ = "blood_pool" if host in ("body", "fat") else ORGAN_UPTAKE[host]
    return profile.organ_suv(organ, time_min)


def _scan_plans(
    seed: int,
    index: int,
    patient: ScreenedPatient,
    sessions: Sequence[tuple[TracerProfile, Sequence[int], int]],
    rng: np.random.Generator,
) -> tuple[ScanPlan, ...]:
    """The patient's scans: one injection per tracer (the study tracer on the planned date,
    FDG 1 to 7 days later), one PET/CT per time point."""
    plans = []
    pid = patient.patient_id
    for session, (profile, time_points, day_offset) in enumerate(sessions):
        day = patient.planned_scan_date + timedelta(days=day_offset)
        injection = datetime.combine(day, datetime.min.time()) + timedelta(
            minutes=480 + int(rng.integers(0, 150))
        )
        prescribed = profile.administered_activity_mbq(patient.weight_kg)
        activity = round(prescribed * float(rng.uniform(0.92, 1.0)), 1)
        study_uid = _uid(seed, pid, profile.name, "study")
        for number, t in enumerate(time_points, start=1):
            start = injection + timedelta(minutes=t, seconds=int(rng.integers(-120, 300)))
            key = f"{pid}/{profile.name}/{t}"
            plans.append(
                ScanPlan(
                    scan_id=f"{pid}-{profile.name}-{t}",
                    tracer=profile.name,
                    time_point_min=t,
                    folder=f"{profile.name}_{t}min",
                    injection=injection,
                    series_start=start,
                    ct_start=start - timedelta(seconds=int(rng.integers(120, 240))),
                    administered_activity_mbq=activity,
                    study_uid=study_uid,
                    frame_of_reference_uid=_uid(seed, key, "for"),
                    pet_series_uid=_uid(seed, key, "pet"),
                    ct_series_uid=_uid(seed, key, "ct"),
                    seg_series_uid=_uid(seed, key, "seg-series"),
                    seg_sop_uid=_uid(seed, key, "seg-sop"),
                    seg_dimension_uid=_uid(seed, key, "seg-dimension"),
                    series_number=2 * number,
                    uid_root=_uid(seed, key, "slices"),
                    accession_number=f"SIM{index + 1:05d}{session + 1}",
                )
            )
    return tuple(plans)


def _image_worker(plan: PatientPlan, out_dir: Path, settings: ImagingSettings) -> dict[str, int]:
    return simulate_patient_images(plan, out_dir, settings)


def _run_images(
    plans: Sequence[PatientPlan],
    out_dir: Path,
    settings: ImagingSettings,
    *,
    executor: Executor,
    progress: ProgressCallback | None,
) -> int:
    """Image every patient on ``executor``; returns the number of DICOM image files
    written. A worker's exception is raised here, the patients not yet started cancelled."""
    # Imported here, not above: a spawned worker imports this module to find
    # _image_worker, and needs nothing of petdx.pipeline (the study database, ingest).
    from petdx.pipeline.executors import map_in_order

    total = len(plans)
    files = 0
    if progress:
        progress(0, total)
    counts_of = map_in_order(executor, _image_worker, plans, [out_dir] * total, [settings] * total)
    try:
        for done, counts in enumerate(counts_of, start=1):
            files += counts["pet"] + counts["ct"] + counts["seg"]
            if progress:
                progress(done, total)
    finally:
        counts_of.close()
    return files


def _dose_coefficients(extra: TracerProfile) -> dict[str, float]:
    coefficients = {
        name: load_tracer_profile(name).effective_dose_msv_per_mbq for name in available_tracers()
    }
    coefficients[extra.name] = extra.effective_dose_msv_per_mbq
    return coefficients


def null_retention_profile(profile: TracerProfile) -> TracerProfile:
    """The profile with the PD-L1-negative malignant class given the PD-L1-positive class's
    time course (its ratios between tabulated times, and its retention spread); uptake level
    at the first time and everything else unchanged: no retention difference by PD-L1."""
    classes = dict(profile.lesion_classes)
    positive = classes[LesionClass.PDL1_POSITIVE_MALIGNANT]
    negative = classes[LesionClass.PDL1_NEGATIVE_MALIGNANT]
    start = negative.suv_median[0] / positive.suv_median[0]
    classes[LesionClass.PDL1_NEGATIVE_MALIGNANT] = replace(
        negative,
        suv_median=tuple(start * v for v in positive.suv_median),
        retention_gsd=positive.retention_gsd,
    )
    return replace(profile, lesion_classes=classes)


def simulate_cohort(
    out_dir: str | os.PathLike[str],
    *,
    n_patients: int,
    seed: int,
    tracer: str | os.PathLike[str] = "ga68-dota-blp",
    time_points_min: Sequence[int] = (60, 120),
    with_fdg: bool = False,
    voxel_mm: float = 4.0,
    small: bool = False,
    noise_alpha: float | None = None,
    null_retention: bool = False,
    progress: ProgressCallback | None = None,
    workers: int | None = None,
    modality: str = "pet-ct",
    executor: Executor | None = None,
    fork_workers: bool = False,
) -> CohortSummary:
    """Simulate a screened and enrolled cohort with PET/CT DICOM and ground truth.

    Parameters
    ----------
    out_dir
        New (or empty) output folder.
    n_patients
        Number of ENROLLED patients; about 20 % more (at least 3) are screened and fail
        eligibility, every protocol criterion failing at least once in cohorts of 10 or more.
    seed
        Seed of every random draw; the same seed gives byte-identical files.
    tracer
        Study tracer profile (name or TOML path).
    time_points_min
        Acquisition times after injection of the study tracer (min), within the profile's
        tabulated range.
    with_fdg
        Add a paired FDG PET/CT (its profile's default time points) 1 to 7 days after.
    voxel_mm
        PET voxel size (mm).
    small
        Test-sized images (see :class:`~petdx.simulate.imaging.ImagingSettings`).
    noise_alpha
        PET noise constant of the scanner model (default
        :attr:`ScannerModel.noise_alpha <petdx.simulate.scanner.ScannerModel>`, 0.75); 0 gives
        noise-free PET (blur only), to separate what noise costs a measurement from what
        partial volume and segmentation cost. Lesions, truth and CT do not depend on it.
    progress
        Called as ``progress(done, total)`` as patients are imaged.
    workers
        Worker processes for the images (default: up to 2, one per core); 1 images the
        patients in this process.
    modality
        ``pet-ct`` (default: PET and a low-dose CT) or ``pet-mr`` (PET with MR-based
        attenuation correction, a Dixon water/fat pair and a mu-map, no CT).
    executor
        Image the patients on this executor (:mod:`petdx.pipeline.executors`; the caller
        shuts it down) instead of ``workers`` local (spawned) processes. The files are the
        same on any.
    fork_workers
        Fork the local workers (Linux; spawn elsewhere): they start at once instead of
        importing petdx each. The opt-in of the local command line, never to be set inside a
        server process (:mod:`petdx.pipeline.executors`).

    Returns
    -------
    CohortSummary

    Raises
    ------
    InputValidationError
        A bad parameter, an unknown or invalid tracer profile, a time point outside the
        profile, or a non-empty output folder.
    """
    started = time.perf_counter()
    out = Path(out_dir)
    times = tuple(int(t) for t in time_points_min)
    _validate(out, n_patients, seed, voxel_mm, times)
    profile = load_tracer_profile(tracer if isinstance(tracer, str) else Path(tracer))
    for t in times:
        profile.interpolation_weights(t)  # refuses a time outside the profile's table
    if null_retention:
        profile = null_retention_profile(profile)
    known_tracers = TABLES["scans"].field("tracer").allowed or ()
    if profile.name not in known_tracers:
        raise InputValidationError(
            f"Tracer profile {profile.path}: its name {profile.name!r} is not one of the "
            f"tracers the study tables accept ({', '.join(known_tracers)}; "
            "petdx.data_dictionary). Use one of these names or add the new tracer there."
        )
    fdg = load_tracer_profile(COMPARATOR) if with_fdg else None
    scanner = ScannerModel() if noise_alpha is None else ScannerModel(noise_alpha=noise_alpha)
    settings = ImagingSettings(
        voxel_mm=float(voxel_mm), small=small, scanner=scanner, modality=modality
    )
    worker_count = workers if workers is not None else max(1, min(2, os.cpu_count() or 1))

    screened = screen_patients(
        _rng(seed, 0),
        n_enrolled=n_patients,
        study_start=STUDY_START,
        recruitment_days=RECRUITMENT_DAYS,
    )
    coefficients = _dose_coefficients(profile)
    profiles = {profile.name: profile, **({fdg.name: fdg} if fdg else {})}
    lesions_of: dict[str, list[LesionSpec]] = {}
    plans: list[PatientPlan] = []
    truth_rows: list[dict[str, Any]] = []
    contexts: dict[str, list[ReadContext]] = {}
    backgrounds: dict[str, dict[str, str]] = {}
    for index, patient in enumerate(screened):
        rng = _rng(seed, 1, index)
        if patient.meant_to_enrol:
            phantom = build_phantom(
                sex=patient.sex, height_m=patient.height_m, weight_kg=patient.weight_kg
            )
            lesions = plan_lesions(
                rng,
                phantom,
                patient_id=patient.patient_id,
                tumour_type=patient.tumour_type,
                profiles=profiles,
                min_gap_mm=settings.pet_voxel_mm,
            )
            lesions_of[patient.patient_id] = lesions
            patient.screening["suspicious_lesion_kind"] = suspicious_kind(lesions)
            hosts = {}
            for lesion in lesions:
                x, y, z = (np.array([v]) for v in lesion.centre_mm)
                label = int(phantom.labels_at(x, y, z)[0])
                hosts[lesion.lesion_id] = next(n for n, v in ORGAN_LABELS.items() if v == label)
            backgrounds[patient.patient_id] = hosts
        elif patient.screening["suspicious_lesions"] == "yes":
            patient.screening["suspicious_lesion_kind"] = str(
                rng.choice(["nodal", "distant", "nodal_and_distant"])
            )
        result = evaluate_eligibility(
            patient.patient_row(), patient.screening, exposure_rows(patient), coefficients
        )
        if result.enrolled != patient.meant_to_enrol:  # pragma: no cover - a simulator bug
            raise RuntimeError(
                f"{patient.patient_id}: scenarios {patient.scenarios} gave "
                f"failed={result.failed} unknown={result.unknown}"
            )
        truth_rows.append(
            {
                "patient_id": patient.patient_id,
                "enrolled": result.enrolled,
                "failed_criteria": ";".join(result.failed) or None,
                "unknown_criteria": ";".join(result.unknown) or None,
            }
        )
        if not result.enrolled:
            continue
        sessions: list[tuple[TracerProfile, Sequence[int], int]] = [(profile, times, 0)]
        fdg_day = int(rng.integers(1, 8))  # drawn with or without FDG: same study-tracer scans
        if fdg is not None:
            sessions.append((fdg, fdg.time_points_min, fdg_day))
        scans = _scan_plans(seed, index, patient, sessions, rng)
        plans.append(
            PatientPlan(
                patient_id=patient.patient_id,
                sex=patient.sex,
                birth_date=patient.birth_date,
                height_m=round(patient.height_m, 2),
                weight_kg=round(patient.weight_kg, 1),
                lesions=tuple(lesions_of[patient.patient_id]),
                scans=scans,
                seed=(seed, 2, index),
            )
        )
        contexts[patient.patient_id] = [
            ReadContext(
                profile=profiles[scan.tracer],
                time_point_min=scan.time_point_min,
                background_suv={
                    lesion.lesion_id: _host_background(
                        profiles[scan.tracer],
                        scan.time_point_min,
                        backgrounds[patient.patient_id][lesion.lesion_id],
                    )
                    for lesion in lesions_of[patient.patient_id]
                },
                fwhm_mm=settings.scanner.resolution_fwhm_mm(profiles[scan.tracer].nuclide),
                scan_datetime=scan.series_start,
            )
            for scan in scans
        ]

    with new_folder(out) as temporary, ExitStack() as stack:
        if executor is None:
            from petdx.pipeline.executors import executor_for  # see _run_images

            executor = stack.enter_context(
                executor_for(max(1, min(worker_count, len(plans))), fork=fork_workers)
            )
        n_files = _run_images(plans, temporary, settings, executor=executor, progress=progress)
        _write_tables(
            temporary, seed, screened, plans, truth_rows, contexts, profile, settings.modality
        )
        _write_cohort_toml(
            temporary,
            seed=seed,
            profile=profile,
            fdg=fdg,
            times=times,
            settings=settings,
            n_screened=len(screened),
            plans=plans,
            null_retention=null_retention,
        )
    return CohortSummary(
        out_dir=out,
        seed=seed,
        tracer=profile.name,
        time_points_min=times,
        with_fdg=with_fdg,
        n_screened=len(screened),
        n_enrolled=len(plans),
        n_lesions=sum(len(p.lesions) for p in plans),
        n_scans=sum(len(p.scans) for p in plans),
        n_dicom_files=n_files,
        elapsed_s=time.perf_counter() - started,
        modality=settings.modality,
    )


def _write_tables(
    folder: Path,
    seed: int,
    screened: Sequence[ScreenedPatient],
    plans: Sequence[PatientPlan],
    truth_rows: list[dict[str, Any]],
    contexts: dict[str, list[ReadContext]],
    profile: TracerProfile,
    modality: str,
) -> None:
    by_id = {p.patient_id: p for p in screened}
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    rows["enrolment_truth"] = truth_rows
    for patient in screened:
        rows["patients"].append(patient.patient_row())
        rows["screening"].append(dict(patient.screening))
        rows["exposures"].extend(exposure_rows(patient))
    for index, plan in enumerate(plans):
        rng = _rng(seed, 3, index)
        patient = by_id[plan.patient_id]
        scan_date = plan.scans[0].series_start.date()
        for scan in plan.scans:
            rows["scans"].append(
                {
                    "scan_id": scan.scan_id,
                    "patient_id": plan.patient_id,
                    "tracer": scan.tracer,
                    "time_point_min": scan.time_point_min,
                    "modality": "PET/CT" if modality == "pet-ct" else "PET/MR",
                    "injection_datetime": scan.injection,
                    "administered_activity_mbq": scan.administered_activity_mbq,
                    "scan_datetime": scan.series_start,
                    "pet_series_uid": scan.pet_series_uid,
                    # a PET/MR visit writes no CT: the scan has no CT series to name
                    "ct_series_uid": scan.ct_series_uid if modality == "pet-ct" else None,
                    "dicom_folder": f"dicom/{plan.patient_id}/{scan.folder}",
                }
            )
        tracer_profiles = {c.profile.name: c.profile for c in contexts[plan.patient_id]}
        for lesion in plan.lesions:
            rows["lesions"].append(_lesion_row(plan.patient_id, lesion))
            rows["lesion_registry"].append(_registry_row(plan.patient_id, lesion))
            for scan in plan.scans:
                rows["lesion_uptake"].append(
                    {
                        "lesion_id": lesion.lesion_id,
                        "patient_id": plan.patient_id,
                        "tracer": scan.tracer,
                        "time_point_min": scan.time_point_min,
                        "true_suv_mean": lesion.true_suv(
                            tracer_profiles[scan.tracer], scan.time_point_min
                        ),
                    }
                )
        pathology = pathology_rows(
            rng,
            plan.patient_id,
            patient.tumour_type,
            plan.lesions,
            confirmation_date=patient.screening["confirmation_date"],
            confirmation_method=patient.screening["confirmation_method"],
            scan_date=scan_date,
        )
        rows["pathology"].extend(pathology)
        rows["reference_standard"].extend(
            reference_rows(
                rng,
                plan.patient_id,
                plan.lesions,
                pathology,
                scan_date=scan_date,
                study_end=STUDY_END,
            )
        )
        first_time = plan.scans[0].time_point_min
        rows["follow_up"].extend(
            follow_up_rows(
                rng,
                plan.patient_id,
                plan.lesions,
                scan_date=scan_date,
                study_end=STUDY_END,
                uptake_profile=profile,
                uptake_time_min=first_time,
            )
        )
        # Reads last, the study tracer's scans first: adding FDG changes no earlier draw.
        rows["reads"].extend(
            read_rows(rng, plan.patient_id, plan.lesions, contexts[plan.patient_id])
        )
    for name in TABLES:
        write_table(folder, name, rows[name])
    write_data_dictionary(folder)


def _lesion_row(patient_id: str, lesion: LesionSpec) -> dict[str, Any]:
    row = _registry_row(patient_id, lesion)
    del row["identified_by"], row["diameter_mm"]
    return {
        **row,
        "lesion_class": lesion.lesion_class,
        "malignant": lesion.malignant,
        "pdl1_tps_pct": lesion.pdl1_tps_pct,
        "pdl1_cps": lesion.pdl1_cps,
        "diameter_mm": round(lesion.diameter_mm, 2),
        "volume_ml": round(lesion.volume_ml, 4),
        "shape": lesion.shape,
        "necrotic_core": lesion.necrotic_core,
        "label": lesion.label,
    }


def _registry_row(patient_id: str, lesion: LesionSpec) -> dict[str, Any]:
    """The lesion as the study knows it: where it is, found at the baseline read (R1)."""
    x, y, z = lesion.centre_mm
    return {
        "lesion_id": lesion.lesion_id,
        "patient_id": patient_id,
        "role": lesion.role,
        "site": lesion.site,
        "centre_x_mm": round(x, 3),
        "centre_y_mm": round(y, 3),
        "centre_z_mm": round(z, 3),
        "identified_by": "R1",
        "diameter_mm": round(lesion.diameter_mm, 1),
    }


def _write_cohort_toml(
    folder: Path,
    *,
    seed: int,
    profile: TracerProfile,
    fdg: TracerProfile | None,
    times: tuple[int, ...],
    settings: ImagingSettings,
    n_screened: int,
    plans: Sequence[PatientPlan],
    null_retention: bool = False,
) -> None:
    scanner = settings.scanner
    tracers = [profile, *([fdg] if fdg else [])]
    document: dict[str, Any] = {
        "description": "petdx simulated cohort: synthetic data, no real patient",
        "petdx_version": __version__,
        "seed": seed,
        "parameters": {
            "n_patients": len(plans),
            "tracer": profile.name,
            "time_points_min": list(times),
            "with_fdg": fdg is not None,
            "voxel_mm": settings.voxel_mm,
            "small": settings.small,
            "modality": settings.modality,
            "null_retention": null_retention,
        },
        "study": {"start": STUDY_START, "end": STUDY_END, "recruitment_days": RECRUITMENT_DAYS},
        "counts": {
            "screened": n_screened,
            "enrolled": len(plans),
            "lesions": sum(len(p.lesions) for p in plans),
            "scans": sum(len(p.scans) for p in plans),
        },
        "tracers": {
            t.name: {
                "status": t.status,
                "profile": str(t.path.name),
                "nuclide": t.nuclide.symbol,
                "resolution_fwhm_mm": round(scanner.resolution_fwhm_mm(t.nuclide), 3),
            }
            for t in tracers
        },
        "scanner": {
            "system_fwhm_mm": scanner.system_fwhm_mm,
            "noise_alpha": scanner.noise_alpha,
            "noise_correlation_fwhm_mm": scanner.noise_correlation_fwhm_mm,
            "bed_step_mm": scanner.bed_step_mm,
            "pet_voxel_mm": settings.pet_voxel_mm,
            "pet_fov_mm": settings.fov_mm,
            "ct_matrix": settings.ct_matrix,
            "ct_slice_mm": settings.ct_slice_mm,
        },
        "organ_labels": dict(ORGAN_LABELS),
    }
    (folder / "cohort.toml").write_text(
        "# petdx simulated cohort (synthetic data)\n" + tomli_w.dumps(document), encoding="utf-8"
    )
