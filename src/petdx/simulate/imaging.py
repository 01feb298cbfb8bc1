"""Images of one patient: PET and CT of every scan, truth SEG and NIfTI label maps.

Runs in a worker process of the cohort's pool: everything it needs is in a picklable
:class:`PatientPlan`; its randomness comes from the plan's seed, so the output does not
depend on which worker runs it or in which order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import nibabel as nib
import numpy as np
import numpy.typing as npt
from pydicom.uid import generate_uid
from scipy import ndimage

from petdx.errors import Hint, InputValidationError
from petdx.simulate.anatomy import ORGAN_LABELS, ORGAN_UPTAKE, Phantom, build_phantom
from petdx.simulate.dicom_writer import (
    PET_MR_MODEL_NAME,
    PatientInfo,
    PetAcquisition,
    StudyInfo,
    write_ct_series,
    write_mr_series,
    write_pet_series,
)
from petdx.simulate.lesions import LesionFootprint, LesionSpec, lesion_footprints
from petdx.simulate.scanner import POSITRON_PHYSICS, ScannerModel, quantise_int16_per_slice
from petdx.simulate.shapes import Grid
from petdx.simulate.truth_seg import write_truth_seg
from petdx.tracers import TracerProfile, load_tracer_profile

__all__ = [
    "HOUNSFIELD",
    "ImagingSettings",
    "PatientPlan",
    "ScanPlan",
    "ct_grid",
    "pet_grid",
    "simulate_patient_images",
]

#: CT numbers (HU) of each organ label of the low-dose CT.
HOUNSFIELD: dict[str, int] = {
    "body": 45,
    "fat": -100,
    "lung": -830,
    "liver": 58,
    "spleen": 48,
    "kidney": 33,
    "bladder": 8,
    "small_intestine": 28,
    "blood_pool": 42,
    "myocardium": 48,
    "bone": 280,
    "brain": 33,
}
_CORTICAL_HU = 800
_LESION_HU = 42
_NECROSIS_HU = 15
_CT_NOISE_HU = 12.0
_ORGAN_TEXTURE_FWHM_MM = 20.0

#: Hybrid modalities the simulator writes.
MODALITIES = ("pet-ct", "pet-mr")

#: Linear attenuation coefficient at 511 keV (1/cm) of the four tissue classes of the Dixon
#: MR-based attenuation correction of the Biograph mMR: air 0, lung 0.0224, fat 0.0854, soft
#: tissue 0.1 (Martinez-Moeller A, et al. Tissue classification as a potential approach for
#: attenuation correction in whole-body PET/MRI. J Nucl Med 2009;50:520-526). Bone is soft
#: tissue in that method. Stored x 10000 as the mMR writes its mu-map.
_MU_PER_CM = {"air": 0.0, "lung": 0.0224, "fat": 0.0854, "soft": 0.1}
#: Simulated Dixon signal (arbitrary units) of water and fat by tissue class.
_DIXON_SIGNAL = {"air": (0, 0), "lung": (40, 5), "fat": (80, 900), "soft": (700, 60)}


@dataclass(frozen=True)
class ImagingSettings:
    """Grid and scanner settings of a cohort.

    Attributes
    ----------
    voxel_mm
        PET voxel size (cubic), mm.
    small
        Test-sized images: PET voxels at least 6 mm, a 480 mm transaxial field of view and a
        coarse CT (3 PET voxels per CT slice, 128 x 128).
    scanner
        The scanner model.
    modality
        ``pet-ct`` (PET and a low-dose CT) or ``pet-mr`` (PET with MR-based attenuation
        correction, a Dixon water/fat pair and a mu-map on the PET grid, no CT).
    """

    voxel_mm: float = 4.0
    small: bool = False
    scanner: ScannerModel = field(default_factory=ScannerModel)
    modality: str = "pet-ct"

    def __post_init__(self) -> None:
        if self.modality not in MODALITIES:
            raise InputValidationError(
                f"modality {self.modality!r}: not one of {', '.join(MODALITIES)}.",
                hint=Hint("modality", tuple(MODALITIES)),
            )

    @property
    def pet_voxel_mm(self) -> float:
        return max(self.voxel_mm, 6.0) if self.small else self.voxel_mm

    @property
    def fov_mm(self) -> float:
        return 480.0 if self.small else 600.0

    @property
    def ct_matrix(self) -> int:
        return 128 if self.small else 256

    @property
    def ct_slice_mm(self) -> float:
        return 3.0 * self.pet_voxel_mm if self.small else 5.0


@dataclass(frozen=True)
class ScanPlan:
    """One PET/CT acquisition of a patient.

    Attributes
    ----------
    scan_id, tracer, time_point_min
        Identity (``scans.csv``).
    folder
        ``<tracer>_<t>min`` (under ``dicom/<patient>/`` and ``truth/<patient>/``).
    injection, series_start, ct_start
        Injection, PET start (first bed) and CT times.
    administered_activity_mbq
        Injected activity.
    study_uid, frame_of_reference_uid, pet_series_uid, ct_series_uid, seg_series_uid,
    seg_sop_uid, seg_dimension_uid
        UIDs (from the seed).
    series_number
        PET series number within the study (CT is one less, SEG 100 more).
    uid_root
        Entropy for the per-slice SOP Instance UIDs.
    accession_number
        AccessionNumber of the study (synthetic).
    """

    scan_id: str
    tracer: str
    time_point_min: int
    folder: str
    injection: datetime
    series_start: datetime
    ct_start: datetime
    administered_activity_mbq: float
    study_uid: str
    frame_of_reference_uid: str
    pet_series_uid: str
    ct_series_uid: str
    seg_series_uid: str
    seg_sop_uid: str
    seg_dimension_uid: str
    series_number: int
    uid_root: str
    accession_number: str


@dataclass(frozen=True)
class PatientPlan:
    """Everything needed to image one enrolled patient."""

    patient_id: str
    sex: str
    birth_date: date
    height_m: float
    weight_kg: float
    lesions: tuple[LesionSpec, ...]
    scans: tuple[ScanPlan, ...]
    seed: tuple[int, ...]


def pet_grid(phantom: Phantom, settings: ImagingSettings) -> Grid:
    """The patient's PET grid: head to mid-thigh, square field of view."""
    voxel = settings.pet_voxel_mm
    low, high = phantom.scan_z_range_mm
    nz = int(np.ceil((high - low) / voxel)) + 1
    n = round(settings.fov_mm / voxel)
    return Grid.centred((nz, n, n), (voxel, voxel, voxel), z_first_mm=low)


def ct_grid(phantom: Phantom, settings: ImagingSettings) -> Grid:
    """The patient's CT grid: same extent as the PET, its own spacing and offset."""
    low, high = phantom.scan_z_range_mm
    step = settings.ct_slice_mm
    nz = int(np.ceil((high - low) / step)) + 1
    n = settings.ct_matrix
    pixel = settings.fov_mm / n
    return Grid.centred((nz, n, n), (step, pixel, pixel), z_first_mm=low + 1.3)


@dataclass(frozen=True)
class _SlicesUid:
    """SOPInstanceUID of slice ``k`` of a series, derived from the plan's entropy."""

    root: str
    kind: str

    def __call__(self, index: int) -> str:
        return str(generate_uid(entropy_srcs=[self.root, self.kind, str(index)]))


def _organ_texture(
    labels: npt.NDArray[np.uint8], grid: Grid, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """A smooth unit-variance random field (FWHM 20 mm), at most 3.5 SD from 0 (so that
    ``1 + cv t`` stays positive for every CV a profile may hold, <= 0.25)."""
    noise = rng.standard_normal(labels.shape, dtype=np.float32)
    sigma = [_ORGAN_TEXTURE_FWHM_MM / 2.3548 / s for s in grid.spacing_mm]
    field = ndimage.gaussian_filter(noise, sigma, mode="wrap")
    field /= max(float(field.std()), 1e-9)
    clipped: npt.NDArray[np.float32] = np.clip(field, -3.5, 3.5)
    return clipped


def organ_texture_factor(
    labels: npt.NDArray[np.uint8],
    texture: npt.NDArray[np.float32],
    texture_mean: npt.NDArray[np.float64],
    profile: TracerProfile,
) -> npt.NDArray[np.float32]:
    """Multiplicative texture of each organ, ``(1 + cv t) / (1 + cv mean_organ(t))`` with
    the organ's CV from the profile, so that its mean over the organ's voxels is exactly 1.

    ``texture_mean`` is the mean of ``texture`` per label (``np.bincount`` over labels).
    """
    n = max(ORGAN_LABELS.values()) + 1
    cv = np.zeros(n, dtype=np.float32)
    for name, label in ORGAN_LABELS.items():
        cv[label] = profile.organs[ORGAN_UPTAKE[name]].texture_cv
    norm = (1.0 + cv * texture_mean[:n]).astype(np.float32)
    factor: npt.NDArray[np.float32] = (1.0 + cv[labels] * texture) / norm[labels]
    return factor


def _label_means(
    labels: npt.NDArray[np.uint8], values: npt.NDArray[np.float32]
) -> npt.NDArray[np.float64]:
    n = max(ORGAN_LABELS.values()) + 1
    sums = np.bincount(labels.ravel(), weights=values.ravel(), minlength=n)
    counts = np.bincount(labels.ravel(), minlength=n)
    means: npt.NDArray[np.float64] = np.divide(
        sums, counts, out=np.zeros(len(sums)), where=counts > 0
    )
    return means


def organ_suv_map(
    labels: npt.NDArray[np.uint8],
    factor: npt.NDArray[np.float32],
    profile: TracerProfile,
    time_min: float,
) -> npt.NDArray[np.float32]:
    """True SUV of the normal tissue: each organ at its profile mean times its texture
    factor (:func:`organ_texture_factor`), so the organ's mean is the profile value."""
    suv = np.zeros(max(ORGAN_LABELS.values()) + 1, dtype=np.float32)
    for name, label in ORGAN_LABELS.items():
        suv[label] = profile.organ_suv(ORGAN_UPTAKE[name], time_min)
    result: npt.NDArray[np.float32] = suv[labels] * factor
    return result


def lesion_label_map(
    shape: tuple[int, int, int], footprints: list[LesionFootprint]
) -> npt.NDArray[np.uint8]:
    """Lesion labels: voxels at least half inside a lesion (at least its fullest voxel)."""
    labels = np.zeros(shape, dtype=np.uint8)
    for footprint in footprints:
        view = labels[footprint.region]
        inside = footprint.fraction >= 0.5
        if not inside.any():
            inside = footprint.fraction == footprint.fraction.max()
        view[inside] = footprint.spec.label
    return labels


def _pet_activity_suv(
    organ_labels: npt.NDArray[np.uint8],
    factor: npt.NDArray[np.float32],
    footprints: list[LesionFootprint],
    profile: TracerProfile,
    time_min: float,
) -> npt.NDArray[np.float32]:
    activity = organ_suv_map(organ_labels, factor, profile, time_min)
    for footprint in footprints:
        host = activity[footprint.region]
        mean = footprint.spec.true_suv(profile, time_min)
        activity[footprint.region] = footprint.suv_values(host, mean)
    return activity


def _ct_base(
    phantom: Phantom, grid: Grid, lesions: tuple[LesionSpec, ...]
) -> npt.NDArray[np.int16]:
    labels = phantom.label_map(grid)
    lut = np.full(max(ORGAN_LABELS.values()) + 1, -1000, dtype=np.int16)
    for name, label in ORGAN_LABELS.items():
        lut[label] = HOUNSFIELD[name]
    hu = lut[labels]
    bone = labels == ORGAN_LABELS["bone"]
    cortex = bone & ~ndimage.binary_erosion(bone)
    hu[cortex] = _CORTICAL_HU
    for lesion in lesions:
        region, fraction = lesion.ellipsoid.fraction(grid)
        hu[region][fraction > 0.5] = _LESION_HU
        if lesion.necrotic_core:
            region, fraction = lesion.core.fraction(grid)
            hu[region][fraction > 0.5] = _NECROSIS_HU
    return hu


def _tissue_classes(organ_labels: npt.NDArray[np.integer]) -> dict[str, npt.NDArray[np.bool_]]:
    """The Dixon segmentation's four classes from the phantom's organ labels."""
    air = organ_labels == 0
    lung = organ_labels == ORGAN_LABELS["lung"]
    fat = organ_labels == ORGAN_LABELS["fat"]
    return {"air": air, "lung": lung, "fat": fat, "soft": ~(air | lung | fat)}


def _pet_mr_header(settings: ImagingSettings) -> dict[str, str]:
    if settings.modality != "pet-mr":
        return {}
    return {
        "attenuation_correction_method": "MR-based (Dixon segmentation, simulated)",
        "model_name": PET_MR_MODEL_NAME,
    }


def _write_pet_mr_series(
    folder: Path,
    organ_labels: npt.NDArray[np.integer],
    grid: Grid,
    *,
    patient: PatientInfo,
    study: StudyInfo,
    scan: ScanPlan,
) -> int:
    """Write the Dixon water and fat series and the mu-map of one PET/MR scan, on the PET grid
    and in its frame of reference; returns the number of files."""
    classes = _tissue_classes(organ_labels)
    water = np.zeros(grid.shape, np.uint16)
    fat = np.zeros(grid.shape, np.uint16)
    mu = np.zeros(grid.shape, np.uint16)
    for name, mask in classes.items():
        water[mask], fat[mask] = _DIXON_SIGNAL[name]
        mu[mask] = round(_MU_PER_CM[name] * 10000)
    series = (
        ("MR_W", water, "MRAC_PET_AC_Dixon_W (synthetic)", ["DERIVED", "PRIMARY", "DIXON", "W"]),
        ("MR_F", fat, "MRAC_PET_AC_Dixon_F (synthetic)", ["DERIVED", "PRIMARY", "DIXON", "F"]),
        ("MR_UMAP", mu, "MRAC_PET_AC_Dixon_UMAP (synthetic)", ["DERIVED", "PRIMARY", "UMAP"]),
    )
    for offset, (kind, values, description, image_type) in enumerate(series, start=1):
        write_mr_series(
            folder / kind,
            values,
            grid,
            patient=patient,
            study=study,
            series_uid=str(generate_uid(entropy_srcs=[scan.uid_root, kind, "series"])),
            series_number=scan.series_number + 200 + offset,
            description=description,
            image_type=image_type,
            acquired=scan.ct_start,
            sop_uid=_SlicesUid(scan.uid_root, kind),
        )
    return len(series) * grid.shape[0]


def _save_nifti(array: npt.NDArray[np.generic], grid: Grid, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = grid.volume(array).to_nifti()
    image.header.set_data_dtype(array.dtype)
    nib.save(image, path)


def simulate_patient_images(
    plan: PatientPlan, out_dir: Path, settings: ImagingSettings
) -> dict[str, int]:
    """Write the DICOM and truth files of every scan of ``plan`` under ``out_dir``.

    Returns
    -------
    dict
        Counts of files written by kind (``pet``, ``ct``, ``seg``, ``nifti``).
    """
    phantom = build_phantom(sex=plan.sex, height_m=plan.height_m, weight_kg=plan.weight_kg)
    grid = pet_grid(phantom, settings)
    cgrid = ct_grid(phantom, settings)
    rng = np.random.default_rng(np.random.SeedSequence(plan.seed))
    organ_labels = phantom.label_map(grid)
    texture = _organ_texture(organ_labels, grid, rng)
    texture_mean = _label_means(organ_labels, texture)
    footprints = lesion_footprints(grid, plan.lesions)
    lesion_labels = lesion_label_map(grid.shape, footprints)
    # The SEG references the slices that hold lesions (it need not copy empty frames).
    lesion_slices = np.flatnonzero(lesion_labels.any(axis=(1, 2)))
    ct_base = _ct_base(phantom, cgrid, plan.lesions)
    ct_noise = np.rint(rng.standard_normal(ct_base.shape, dtype=np.float32) * _CT_NOISE_HU)
    ct_noise = ct_noise.astype(np.int16)
    truth = out_dir / "truth" / plan.patient_id
    _save_nifti(organ_labels, grid, truth / "organs.nii.gz")
    counts = {"pet": 0, "ct": 0, "seg": 0, "nifti": 1}
    patient = PatientInfo(plan.patient_id, plan.sex, plan.birth_date, plan.weight_kg, plan.height_m)
    profiles: dict[str, TracerProfile] = {}
    factors: dict[str, npt.NDArray[np.float32]] = {}
    for index, scan in enumerate(plan.scans):
        if scan.tracer not in profiles:
            profiles[scan.tracer] = load_tracer_profile(scan.tracer)
            factors[scan.tracer] = organ_texture_factor(
                organ_labels, texture, texture_mean, profiles[scan.tracer]
            )
        profile = profiles[scan.tracer]
        scan_rng = np.random.default_rng(np.random.SeedSequence((*plan.seed, index + 1)))
        hybrid = "PET/MR" if settings.modality == "pet-mr" else "PET/CT"
        study = StudyInfo(
            study_uid=scan.study_uid,
            frame_of_reference_uid=scan.frame_of_reference_uid,
            study_datetime=scan.injection,
            study_id=scan.accession_number[-16:],
            accession_number=scan.accession_number,
            description=f"{profile.radiopharmaceutical} {hybrid} (synthetic)",
        )
        # CT: the shared anatomy plus fresh noise.
        # CT noise: the patient's noise field, shifted at random for each scan.
        shift = (int(scan_rng.integers(ct_base.shape[0])), int(scan_rng.integers(ct_base.shape[1])))
        ct_hu = np.roll(ct_noise, shift, axis=(0, 1))
        ct_hu += ct_base
        np.clip(ct_hu, -1024, 3071, out=ct_hu)
        folder = out_dir / "dicom" / plan.patient_id / scan.folder
        if settings.modality == "pet-mr":
            counts["mr"] = counts.get("mr", 0) + _write_pet_mr_series(
                folder, organ_labels, grid, patient=patient, study=study, scan=scan
            )
        else:
            write_ct_series(
                folder / "CT",
                ct_hu,
                cgrid,
                patient=patient,
                study=study,
                series_uid=scan.ct_series_uid,
                series_number=scan.series_number - 1,
                acquired=scan.ct_start,
                sop_uid=_SlicesUid(scan.uid_root, "CT"),
            )
            counts["ct"] += cgrid.shape[0]
        # PET: true SUV -> Bq/ml at the series start -> scanner -> int16.
        suv = _pet_activity_suv(
            organ_labels, factors[scan.tracer], footprints, profile, scan.time_point_min
        )
        elapsed_s = (scan.series_start - scan.injection).total_seconds()
        activity_bq = scan.administered_activity_mbq * 1e6
        reference_bq = activity_bq * 2.0 ** (-elapsed_s / profile.nuclide.half_life_s)
        suv *= np.float32(reference_bq / (plan.weight_kg * 1000.0))  # now Bq/ml
        beds = settings.scanner.bed_timings(
            grid.shape[0], grid.spacing_mm[0], profile.bed_duration_at_s(scan.time_point_min)
        )
        image = settings.scanner.acquire(
            suv,
            grid.spacing_mm,
            nuclide=profile.nuclide,
            beds=beds,
            body_weight_kg=plan.weight_kg,
            rng=scan_rng,
        )
        stored, slopes = quantise_int16_per_slice(image)
        acquisition = PetAcquisition(
            series_uid=scan.pet_series_uid,
            series_number=scan.series_number,
            description=f"{profile.radiopharmaceutical} {scan.time_point_min} min p.i. (synthetic)",
            series_start=scan.series_start,
            injection=scan.injection,
            injected_activity_bq=activity_bq,
            radiopharmaceutical=profile.radiopharmaceutical,
            nuclide=profile.nuclide,
            positron_fraction=POSITRON_PHYSICS[profile.nuclide.symbol].positron_fraction,
            beds=beds,
            resolution_fwhm_mm=settings.scanner.resolution_fwhm_mm(profile.nuclide),
            **_pet_mr_header(settings),
        )
        sources = write_pet_series(
            folder / "PT",
            stored,
            slopes,
            grid,
            patient=patient,
            study=study,
            acquisition=acquisition,
            sop_uid=_SlicesUid(scan.uid_root, "PT"),
            keep=set(lesion_slices.tolist()),
        )
        counts["pet"] += grid.shape[0]
        scan_truth = truth / scan.folder
        scan_truth.mkdir(parents=True, exist_ok=True)
        end = scan.series_start + timedelta(seconds=sum(b.duration_s for b in beds))
        write_truth_seg(
            scan_truth / "lesions_seg.dcm",
            sources,
            lesion_labels[lesion_slices],
            plan.lesions,
            series_uid=scan.seg_series_uid,
            sop_uid=scan.seg_sop_uid,
            dimension_organization_uid=scan.seg_dimension_uid,
            series_number=scan.series_number + 100,
            created=end,
        )
        _save_nifti(lesion_labels, grid, scan_truth / "lesions.nii.gz")
        counts["seg"] += 1
        counts["nifti"] += 1
    return counts
