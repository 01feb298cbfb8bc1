"""Evaluate petdx segmentation and quantification on a simulated cohort against its truth.

``python -m tests.quantify.cohort_eval COHORT_DIR`` prints the figures reported in
docs/validation.md; ``tests/quantify/test_simulated_cohort.py`` checks them.

Per patient and study-tracer scan (truth from ``petdx simulate``: ``lesions.csv``,
``lesion_uptake.csv``, ``truth/<patient>/organs.nii.gz`` and
``truth/<patient>/<tracer>_<t>min/lesions.nii.gz``, all on the PET grid):

* Detection (first time point): PERCIST threshold from the liver (3 cm sphere placed in the
  truth liver mask); physiological-uptake mask = kidneys and bladder plus every other organ
  whose mean SUV is at least the threshold (what a reader would supply). A true lesion is
  found when a candidate overlaps its truth voxels; a candidate overlapping no true lesion
  is false.
* Dice of the 41 % method for lesions >= 20 mm: region = the truth lesion dilated by 10 mm
  (voxels of other lesions removed), as a reader's rough VOI.
* Retention index sign for lesions >= 15 mm: both time points through ``quantify_visit``
  (VOIs carried over by the rigid alignment, 41 % method, matched by centroid), RI of SUVmax
  and of SUVpeak against the sign of the true mean-SUV change.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from scipy import ndimage

from petdx.dicom import SeriesKind, index_dicom_folder, read_series_volume
from petdx.image import Volume
from petdx.quantify import LesionSource, MatchStatus, ScanInput, quantify_visit
from petdx.segment import (
    detect_candidates,
    percent_of_max,
    percist_threshold_suv,
    reference_from_mask,
)
from petdx.simulate import ORGAN_LABELS
from petdx.suv import compute_suv, suv_volume

#: A reader's rough VOI: the true lesion grown by one voxel of the --small grid.
VOI_MARGIN_MM = 6.0


@dataclass(frozen=True)
class CohortFigures:
    patients: int
    mean_threshold_liver: float
    mean_threshold_blood_pool: float
    malignant_10mm: int
    detected_10mm: int
    detected_10mm_liver_threshold: int
    pdl1_positive_10mm: int
    pdl1_positive_detected: int
    false_candidates: int
    dice_lesions_20mm: int
    dice_min: float
    dice_median: float
    dice_at_least_07: int
    dice_pdl1_positive: int
    dice_pdl1_positive_median: float
    dice_pdl1_positive_at_least_07: int
    ri_lesions_15mm: int
    ri_sign_agree_max: int
    ri_sign_agree_peak: int
    ri_sign_agree_mean: int
    ri_lesions_true_change_5pct: int
    ri_sign_agree_max_5pct: int
    ri_unmatched: int

    @property
    def sensitivity(self) -> float:
        return self.detected_10mm / self.malignant_10mm

    @property
    def false_per_patient(self) -> float:
        return self.false_candidates / self.patients

    def __str__(self) -> str:
        lines = [f"{k}: {v}" for k, v in asdict(self).items()]
        lines.append(f"sensitivity: {self.sensitivity:.3f}")
        lines.append(f"false candidates per patient: {self.false_per_patient:.2f}")
        return "\n".join(lines)


def _suv(folder: Path) -> ScanInput:
    (entry,) = index_dicom_folder(folder).of_kind(SeriesKind.PT)
    series = read_series_volume(entry)
    result = compute_suv(series)
    return ScanInput(suv_volume(series, result), series.series_instance_uid, result.suv_factor)


def _nifti(path: Path, grid: Volume) -> np.ndarray:
    volume = Volume.from_nifti(nib.load(path))
    assert volume.shape == grid.shape, f"{path}: not on the PET grid"
    assert np.allclose(volume.affine, grid.affine, atol=0.01), f"{path}: not on the PET grid"
    return np.asarray(volume.array).astype(np.int64)


def _dilate(mask: np.ndarray, margin_mm: float, spacing: tuple[float, ...]) -> np.ndarray:
    return ndimage.distance_transform_edt(~mask, sampling=spacing) <= margin_mm


def evaluate(cohort: Path, *, tracer: str = "ga68-dota-blp") -> CohortFigures:
    lesions = pd.read_csv(cohort / "lesions.csv")
    uptake = pd.read_csv(cohort / "lesion_uptake.csv")
    scans = pd.read_csv(cohort / "scans.csv")
    scans = scans[scans["tracer"] == tracer].sort_values(["patient_id", "time_point_min"])
    keys = (
        "malignant",
        "detected",
        "detected_liver_threshold",
        "positive",
        "positive_detected",
        "false",
        "ri_n",
        "ri_max",
        "ri_peak",
        "ri_mean",
        "ri_n_5pct",
        "ri_max_5pct",
        "ri_unmatched",
        "liver_threshold_sum",
        "threshold_sum",
    )
    counts: dict[str, float] = dict.fromkeys(keys, 0)
    dices: list[float] = []
    positive_dices: list[float] = []
    patients = 0
    for patient, rows in scans.groupby("patient_id"):
        patients += 1
        rows = rows.reset_index(drop=True)
        first = _suv(cohort / rows.loc[0, "dicom_folder"] / "PT")
        suv = first.suv
        truth_dir = cohort / "truth" / str(patient)
        organs = _nifti(truth_dir / "organs.nii.gz", suv)
        folder_1 = Path(rows.loc[0, "dicom_folder"]).name
        truth_1 = _nifti(truth_dir / folder_1 / "lesions.nii.gz", suv)
        liver = reference_from_mask(suv, "liver", suv.with_array(organs == ORGAN_LABELS["liver"]))
        liver_threshold = percist_threshold_suv(liver_mean=liver.mean_suv, liver_sd=liver.sd_suv)
        blood = ndimage.binary_erosion(organs == ORGAN_LABELS["blood_pool"])
        blood_mean = float(np.mean(suv.array[blood]))
        threshold = percist_threshold_suv(
            blood_pool_mean=blood_mean, blood_pool_sd=float(np.std(suv.array[blood]))
        )
        physiological = np.isin(organs, [ORGAN_LABELS["kidney"], ORGAN_LABELS["bladder"]])
        for name, label in ORGAN_LABELS.items():
            inside = organs == label
            if name != "body" and inside.any() and np.mean(suv.array[inside]) >= 1.5 * blood_mean:
                physiological |= inside
        counts["liver_threshold_sum"] += liver_threshold
        counts["threshold_sum"] += threshold
        with_liver = detect_candidates(
            suv, threshold_suv=liver_threshold, physiological_masks=[suv.with_array(physiological)]
        )
        liver_cand = np.asarray(with_liver.labels.array)
        found = detect_candidates(
            suv, threshold_suv=threshold, physiological_masks=[suv.with_array(physiological)]
        )
        cand = np.asarray(found.labels.array)
        mine = lesions[lesions["patient_id"] == patient]
        for _, lesion in mine.iterrows():
            voxels = truth_1 == int(lesion["label"])
            if lesion["malignant"] in (True, "true") and lesion["diameter_mm"] >= 10:
                positive = lesion["lesion_class"] == "pdl1_positive_malignant"
                counts["malignant"] += 1
                counts["detected"] += int((cand[voxels] > 0).any())
                counts["detected_liver_threshold"] += int((liver_cand[voxels] > 0).any())
                counts["positive"] += int(positive)
                counts["positive_detected"] += int(positive and (cand[voxels] > 0).any())
        hit = set(np.unique(cand[truth_1 > 0]).tolist()) - {0}
        counts["false"] += found.n_candidates - len(hit)
        # Dice of 41 % and retention on reader-like VOIs around every lesion >= 15 mm.
        regions = np.zeros(suv.shape, dtype=np.uint32)
        for _, lesion in mine.iterrows():
            if lesion["diameter_mm"] < 15:
                continue
            label = int(lesion["label"])
            voxels = truth_1 == label
            if not voxels.any():
                continue
            region = _dilate(voxels, VOI_MARGIN_MM, suv.spacing_mm) & ((truth_1 == 0) | voxels)
            regions[region & (regions == 0)] = label
            if lesion["diameter_mm"] >= 20:
                seg = np.asarray(
                    percent_of_max(suv, region=suv.with_array(region), percent=41).array
                )
                dice = 2 * (seg & voxels).sum() / (seg.sum() + voxels.sum())
                dices.append(dice)
                if lesion["lesion_class"] == "pdl1_positive_malignant":
                    positive_dices.append(dice)
        if len(rows) < 2 or not regions.any():
            continue
        later = _suv(cohort / rows.loc[1, "dicom_folder"] / "PT")
        result = quantify_visit(
            [first, later],
            LesionSource(voi_labels=suv.with_array(regions)),
            method="percent:41",
        )
        t1, t2 = result.time_points
        matches = {m.label_t1: m for m in result.matches[0] if m.label_t1 is not None}
        times = (int(rows.loc[0, "time_point_min"]), int(rows.loc[1, "time_point_min"]))
        for _, lesion in mine.iterrows():
            label = int(lesion["label"])
            if lesion["diameter_mm"] < 15 or t1.lesion(label) is None:
                continue
            true = uptake[
                (uptake["lesion_id"] == lesion["lesion_id"]) & (uptake["tracer"] == tracer)
            ]
            true_1 = float(true[true["time_point_min"] == times[0]]["true_suv_mean"].iloc[0])
            true_2 = float(true[true["time_point_min"] == times[1]]["true_suv_mean"].iloc[0])
            counts["ri_n"] += 1
            match = matches.get(label)
            if match is None or match.status is not MatchStatus.MATCHED or match.label_t2 is None:
                counts["ri_unmatched"] += 1
                continue
            a, b = t1.lesion(label), t2.lesion(match.label_t2)
            assert a is not None
            assert b is not None
            sign = np.sign(true_2 - true_1)
            counts["ri_max"] += int(np.sign(b.suv_max - a.suv_max) == sign)
            counts["ri_peak"] += int(np.sign(b.suv_peak_local - a.suv_peak_local) == sign)
            counts["ri_mean"] += int(np.sign(b.suv_mean - a.suv_mean) == sign)
            if abs(true_2 - true_1) >= 0.05 * true_1:
                counts["ri_n_5pct"] += 1
                counts["ri_max_5pct"] += int(np.sign(b.suv_max - a.suv_max) == sign)
    dice = np.asarray(dices) if dices else np.array([np.nan])
    positive = np.asarray(positive_dices) if positive_dices else np.array([np.nan])
    return CohortFigures(
        patients=patients,
        mean_threshold_liver=counts["liver_threshold_sum"] / patients,
        mean_threshold_blood_pool=counts["threshold_sum"] / patients,
        malignant_10mm=counts["malignant"],
        detected_10mm=counts["detected"],
        detected_10mm_liver_threshold=counts["detected_liver_threshold"],
        pdl1_positive_10mm=counts["positive"],
        pdl1_positive_detected=counts["positive_detected"],
        false_candidates=int(counts["false"]),
        dice_lesions_20mm=len(dices),
        dice_min=float(dice.min()),
        dice_median=float(np.median(dice)),
        dice_at_least_07=int((dice >= 0.7).sum()),
        dice_pdl1_positive=len(positive_dices),
        dice_pdl1_positive_median=float(np.median(positive)),
        dice_pdl1_positive_at_least_07=int((positive >= 0.7).sum()),
        ri_lesions_15mm=counts["ri_n"],
        ri_sign_agree_max=counts["ri_max"],
        ri_sign_agree_peak=counts["ri_peak"],
        ri_sign_agree_mean=counts["ri_mean"],
        ri_lesions_true_change_5pct=counts["ri_n_5pct"],
        ri_sign_agree_max_5pct=counts["ri_max_5pct"],
        ri_unmatched=counts["ri_unmatched"],
    )


if __name__ == "__main__":
    print(evaluate(Path(sys.argv[1])))
