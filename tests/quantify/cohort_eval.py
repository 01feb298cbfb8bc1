"""Evaluate petdx detection, segmentation and retention on a simulated cohort against its truth.

``python -m tests.quantify.cohort_eval COHORT_DIR [COHORT_DIR ...]`` prints, per cohort and
pooled, the figures reported in docs/validation.md (``--lesions FILE.csv`` also writes the
per-lesion table); ``tests/quantify/test_simulated_cohort.py`` checks the acceptance items.

Truth from ``petdx simulate`` (``lesions.csv``, ``lesion_uptake.csv``,
``truth/<patient>/organs.nii.gz``, ``truth/<patient>/<tracer>_<t>min/lesions.nii.gz``, all on
the PET grid). Every PET scan at its tracer's first time point is evaluated (the study
tracer, and FDG when the cohort was simulated ``--with-fdg``):

* **Detection**: liver reference = the PERCIST 3 cm sphere placed in the truth liver mask
  (away from lesions, as a reader places it);
  PERCIST threshold from it; physiological-uptake mask = kidneys and bladder plus every organ
  whose uptake in the tracer profile is at least 1.5 x the blood pool's at that time (what
  a reader supplies for the tracer: brain and myocardium for FDG; liver, spleen and small
  intestine for 68Ga-DOTA-BLP), dilated by 10 mm in ``detect_candidates``. Both detection
  methods are run. A true lesion is found when a candidate overlaps its truth voxels; a
  candidate overlapping no true lesion (malignant or benign) is false. A lesion is *masked*
  when at least half its voxels lie in the dilated physiological mask (no detector that is
  told to ignore that region can find it).
* **Dice of the 41 % method** for lesions >= 20 mm: ``percent_of_max(41)`` inside a
  reader-like VOI (the truth lesion grown by one 6 mm voxel, other lesions' voxels removed).
* **Retention** (study tracer, first to second time point) for lesions >= 15 mm: both time
  points through ``quantify_visit`` (the VOIs carried by the rigid alignment, 41 % method,
  lesions matched by centroid); the sign of the change of SUVmax, SUVpeak (local), SUVmean
  (re-segmented) and of the mean in the first scan's VOI carried to the second (no
  re-segmentation) against the sign of the true mean-SUV change. Two references that no
  pipeline can reach, to show what the images allow: the mean over the *true* lesion voxels
  (perfect segmentation, ``ri_true_voxels_pct``) and the two-compartment partial-volume
  correction with the true lesion as its compartment (``ri_pvc_true_voxels_pct``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from scipy import ndimage

from petdx.dicom import SeriesKind, index_dicom_folder, read_series_volume
from petdx.image import Volume
from petdx.quantify import (
    LesionSource,
    MatchStatus,
    ReferenceSpec,
    ScanInput,
    quantify_visit,
    two_compartment_pvc,
)
from petdx.segment import (
    DetectionMethod,
    detect_candidates,
    percent_of_max,
    percist_threshold_suv,
    reference_from_mask,
)
from petdx.simulate import ORGAN_LABELS
from petdx.simulate.scanner import ScannerModel
from petdx.suv import compute_suv, suv_volume
from petdx.tracers import load_tracer_profile

#: A reader's rough VOI: the true lesion grown by one voxel of the --small grid.
VOI_MARGIN_MM = 6.0
#: Exclusion margin around the physiological-uptake masks (detect_candidates' default).
EXCLUSION_MARGIN_MM = 10.0
#: Organ labels (petdx.simulate) -> tracer-profile organ, for the physiological mask rule.
_PROFILE_ORGANS = {
    "liver": "liver",
    "spleen": "spleen",
    "small_intestine": "small_intestine",
    "myocardium": "myocardium",
    "brain": "brain",
    "bone": "bone_marrow",
}


def _scanner_fwhm_mm(tracer: str) -> float:
    """The simulated scanner's image resolution for the tracer's nuclide: what a site knows
    of its own scanner from the NEMA/EARL phantom (``petdx simulate-nema``)."""
    return ScannerModel().resolution_fwhm_mm(load_tracer_profile(tracer).nuclide)


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


def physiological_mask(organs: np.ndarray, tracer: str, time_min: float) -> np.ndarray:
    """Kidneys and bladder, plus organs whose profile uptake is >= 1.5 x the blood pool's."""
    profile = load_tracer_profile(tracer)
    blood = profile.organ_suv("blood_pool", time_min)
    mask = np.isin(organs, [ORGAN_LABELS["kidney"], ORGAN_LABELS["bladder"]])
    for label_name, organ in _PROFILE_ORGANS.items():
        if profile.organ_suv(organ, time_min) >= 1.5 * blood:
            mask |= organs == ORGAN_LABELS[label_name]
    return mask


@dataclass(frozen=True)
class ScanDetection:
    """Candidates of one scan."""

    cohort: str
    patient_id: str
    tracer: str
    percist_threshold_suv: float
    candidates: dict[str, int]
    false_candidates: dict[str, int]


def _liver_sphere(healthy: np.ndarray, spacing: tuple[float, ...]) -> np.ndarray:
    """The reader's PERCIST 3 cm liver sphere: centred where the healthy liver is deepest,
    clipped to it (the reference of the retention CIs, issue 17)."""
    depth = ndimage.distance_transform_edt(healthy, sampling=spacing)
    centre = np.unravel_index(int(np.argmax(depth)), healthy.shape)
    grids = np.meshgrid(
        *[(np.arange(n) - c) * s for n, c, s in zip(healthy.shape, centre, spacing, strict=True)],
        indexing="ij",
        sparse=True,
    )
    return np.asarray(sum(g**2 for g in grids) <= 15.0**2) & healthy


def _detect_scan(
    cohort: Path, row: pd.Series, mine: pd.DataFrame, *, detect: bool = True
) -> tuple[ScanInput, np.ndarray, list[dict], ScanDetection, np.ndarray]:
    scan = _suv(cohort / row["dicom_folder"] / "PT")
    suv = scan.suv
    truth_dir = cohort / "truth" / str(row["patient_id"])
    organs = _nifti(truth_dir / "organs.nii.gz", suv)
    truth = _nifti(truth_dir / Path(row["dicom_folder"]).name / "lesions.nii.gz", suv)
    # The reader places the liver sphere in the liver, away from lesions (> 15 mm).
    healthy = (organs == ORGAN_LABELS["liver"]) & ~_dilate(truth > 0, 15.0, suv.spacing_mm)
    liver = reference_from_mask(suv, "liver", suv.with_array(healthy))
    threshold = percist_threshold_suv(liver_mean=liver.mean_suv, liver_sd=liver.sd_suv)
    physiological = physiological_mask(organs, row["tracer"], float(row["time_point_min"]))
    masked_zone = _dilate(physiological, EXCLUSION_MARGIN_MM, suv.spacing_mm)
    found: dict[str, np.ndarray] = {}
    candidates: dict[str, int] = {}
    false: dict[str, int] = {}
    for method in DetectionMethod if detect else ():
        result = detect_candidates(
            suv,
            threshold_suv=threshold,
            physiological_masks=[suv.with_array(physiological)],
            method=method,
            reference=liver,
            exclusion_margin_mm=EXCLUSION_MARGIN_MM,
        )
        labels = np.asarray(result.labels.array)
        found[method.value] = labels
        hit = set(np.unique(labels[truth > 0]).tolist()) - {0}
        candidates[method.value] = result.n_candidates
        false[method.value] = result.n_candidates - len(hit)
    rows = []
    for _, lesion in mine.iterrows():
        voxels = truth == int(lesion["label"])
        if not voxels.any():
            continue
        entry = {
            "cohort": cohort.name,
            "patient_id": lesion["patient_id"],
            "tracer": row["tracer"],
            "lesion_id": lesion["lesion_id"],
            "label": int(lesion["label"]),
            "site": lesion["site"],
            "lesion_class": lesion["lesion_class"],
            "malignant": lesion["malignant"] in (True, "true"),
            "pdl1_positive": lesion["lesion_class"] == "pdl1_positive_malignant",
            "diameter_mm": float(lesion["diameter_mm"]),
            "masked": bool(masked_zone[voxels].mean() >= 0.5),
            "suv_max_observed": float(np.max(suv.array[voxels])),
        }
        for method, labels in found.items():
            entry[f"found_{method.replace('-', '_')}"] = bool((labels[voxels] > 0).any())
        rows.append(entry)
    detection = ScanDetection(
        cohort.name, str(row["patient_id"]), str(row["tracer"]), threshold, candidates, false
    )
    return scan, truth, rows, detection, _liver_sphere(healthy, suv.spacing_mm)


def _dice_41(scan: ScanInput, truth: np.ndarray, rows: list[dict]) -> dict[int, np.ndarray]:
    """Dice of 41 % of SUVmax in reader VOIs; returns the VOIs of lesions >= 15 mm."""
    suv = scan.suv
    regions: dict[int, np.ndarray] = {}
    for entry in rows:
        if entry["diameter_mm"] < 15:
            continue
        voxels = truth == entry["label"]
        region = _dilate(voxels, VOI_MARGIN_MM, suv.spacing_mm) & ((truth == 0) | voxels)
        regions[entry["label"]] = region
        if entry["diameter_mm"] >= 20:
            seg = np.asarray(percent_of_max(suv, region=suv.with_array(region), percent=41).array)
            entry["dice_41"] = float(2 * (seg & voxels).sum() / (seg.sum() + voxels.sum()))
    return regions


def _retention(
    cohort: Path,
    first: ScanInput,
    truth: np.ndarray,
    later_row: pd.Series,
    times: tuple[float, float],
    regions: dict[int, np.ndarray],
    rows: list[dict],
    uptake: pd.DataFrame,
    liver: np.ndarray,
) -> None:
    labels = np.zeros(first.suv.shape, dtype=np.uint32)
    for label, region in regions.items():
        labels[region & (labels == 0)] = label
    later = _suv(cohort / later_row["dicom_folder"] / "PT")
    fwhm_mm = _scanner_fwhm_mm(str(later_row["tracer"]))
    # References with the true lesion voxels: the first scan's truth serves both time points
    # (the simulator does not move the patient between the scans of a visit).
    wanted = [label for label in regions if (truth == label).any()]
    pvc_true = [two_compartment_pvc(s.suv, truth, fwhm_mm, only=wanted) for s in (first, later)]
    result = quantify_visit(
        [first, later],
        LesionSource(voi_labels=first.suv.with_array(labels)),
        method="percent:41",
        psf_fwhm_mm=fwhm_mm,
        references=ReferenceSpec(masks={"liver": first.suv.with_array(liver)}),
    )
    by_label = {les["label"]: les for les in result.to_dict()["lesions"]}
    t1, t2 = result.time_points
    matches = {m.label_t1: m for m in result.matches[0] if m.label_t1 is not None}
    for entry in rows:
        if entry["label"] not in regions or t1.lesion(entry["label"]) is None:
            continue
        true = uptake[
            (uptake["lesion_id"] == entry["lesion_id"]) & (uptake["tracer"] == entry["tracer"])
        ]
        true_1 = float(true[true["time_point_min"] == times[0]]["true_suv_mean"].iloc[0])
        true_2 = float(true[true["time_point_min"] == times[1]]["true_suv_mean"].iloc[0])
        entry["true_change_pct"] = (true_2 - true_1) / true_1 * 100.0
        voxels = truth == entry["label"]
        mean_1 = float(np.mean(first.suv.array[voxels]))
        mean_2 = float(np.mean(later.suv.array[voxels]))
        entry["ri_true_voxels_pct"] = (mean_2 - mean_1) / mean_1 * 100.0
        estimates = [p.get(entry["label"]) for p in pvc_true]
        if estimates[0] is not None and estimates[1] is not None:
            first_suv, second_suv = (e.lesion_suv for e in estimates)  # type: ignore[union-attr]
            entry["ri_pvc_true_voxels_pct"] = (second_suv - first_suv) / first_suv * 100.0
        a = t1.lesion(entry["label"])
        assert a is not None
        follow = by_label[entry["label"]]["follow_up"][0]
        for estimate in ("", "peak_", "voi_mean_", "pvc_"):
            ci = follow[f"retention_index_{estimate}ci_pct"]
            name = {"": "max_", "peak_": "peak_", "voi_mean_": "voi_mean_", "pvc_": "pvc_"}[
                estimate
            ]
            entry[f"ri_{name}ci_low_pct"] = ci[0] if ci else np.nan
            entry[f"ri_{name}ci_high_pct"] = ci[1] if ci else np.nan
            entry[f"ri_{name}verdict"] = follow[f"retention_{estimate}verdict"]
        carried = t2.carried_voi_mean_suv.get(entry["label"])
        if carried is not None:
            entry["ri_voi_mean_pct"] = (carried - a.suv_mean) / a.suv_mean * 100.0
        pvc_1 = t1.pvc_voi_mean_suv.get(entry["label"])
        pvc_2 = t2.pvc_voi_mean_suv.get(entry["label"])
        if pvc_1 is not None and pvc_2 is not None:
            entry["ri_pvc_pct"] = (pvc_2 - pvc_1) / pvc_1 * 100.0
        match = matches.get(entry["label"])
        entry["matched"] = bool(match and match.status is MatchStatus.MATCHED and match.label_t2)
        if not entry["matched"]:
            continue
        assert match is not None
        assert match.label_t2 is not None
        b = t2.lesion(match.label_t2)
        assert b is not None
        entry["ri_max_pct"] = (b.suv_max - a.suv_max) / a.suv_max * 100.0
        entry["ri_peak_pct"] = (b.suv_peak_local - a.suv_peak_local) / a.suv_peak_local * 100.0
        entry["ri_mean_pct"] = (b.suv_mean - a.suv_mean) / a.suv_mean * 100.0


def evaluate_lesions(
    cohort: Path, *, detect: bool = True
) -> tuple[pd.DataFrame, list[ScanDetection]]:
    """One row per lesion and tracer (first time point), and the candidates of every scan;
    ``detect=False`` skips candidate detection (retention only)."""
    lesions = pd.read_csv(cohort / "lesions.csv")
    uptake = pd.read_csv(cohort / "lesion_uptake.csv")
    scans = pd.read_csv(cohort / "scans.csv").sort_values(
        ["patient_id", "tracer", "time_point_min"]
    )
    rows: list[dict] = []
    detections: list[ScanDetection] = []
    for (patient, _tracer), group in scans.groupby(["patient_id", "tracer"], sort=True):
        group = group.reset_index(drop=True)
        mine = lesions[lesions["patient_id"] == patient]
        first, truth, scan_rows, detection, liver = _detect_scan(
            cohort, group.loc[0], mine, detect=detect
        )
        detections.append(detection)
        regions = _dice_41(first, truth, scan_rows)
        if len(group) > 1 and regions:
            times = (float(group.loc[0, "time_point_min"]), float(group.loc[1, "time_point_min"]))
            _retention(cohort, first, truth, group.loc[1], times, regions, scan_rows, uptake, liver)
        rows.extend(scan_rows)
    return pd.DataFrame(rows), detections


@dataclass(frozen=True)
class ArmFigures:
    """The acceptance figures of one tracer arm (one or more cohorts pooled)."""

    tracer: str
    cohorts: str
    patients: int
    malignant_10mm: int
    found_percist: int
    found_local: int
    masked_10mm: int
    found_local_unmasked: int
    pdl1_positive_10mm: int
    pdl1_positive_found_local: int
    pdl1_positive_unmasked: int
    pdl1_positive_found_local_unmasked: int
    false_candidates_percist: int
    false_candidates_local: int
    max_false_candidates_local_per_patient: int
    dice_n: int
    dice_mean: float
    dice_median: float
    dice_q10: float
    dice_min: float
    dice_at_least_07: int
    dice_pdl1_positive_n: int
    dice_pdl1_positive_mean: float
    dice_pdl1_positive_median: float
    dice_malignant_n: int
    dice_malignant_mean: float
    ri_n: int
    ri_sign_max: int
    ri_sign_peak: int
    ri_sign_mean: int
    ri_sign_voi_mean: int
    ri_sign_pvc: int
    ri_sign_true_voxels: int
    ri_sign_pvc_true_voxels: int
    ri_unmatched: int
    ri_n_change_5pct: int
    ri_sign_voi_mean_change_5pct: int

    @property
    def sensitivity_local(self) -> float:
        return self.found_local / self.malignant_10mm if self.malignant_10mm else float("nan")

    @property
    def false_per_patient_local(self) -> float:
        return self.false_candidates_local / self.patients

    def __str__(self) -> str:
        return "\n".join(f"{k}: {v}" for k, v in asdict(self).items())


def _share(changes: pd.Series, signs: pd.Series) -> int:
    """How many measured changes have the sign of the true change (NaN counts as wrong)."""
    return int((np.sign(changes) == signs).sum())


def arm_figures(
    table: pd.DataFrame, detections: Sequence[ScanDetection], tracer: str
) -> ArmFigures:
    """Pool the per-lesion table and the scan detections of one tracer."""
    arm = table[table["tracer"] == tracer]
    scans = [d for d in detections if d.tracer == tracer]
    big = arm[arm["malignant"] & (arm["diameter_mm"] >= 10)]
    positive = big[big["pdl1_positive"]]
    dice_all = arm.dropna(subset=["dice_41"]) if "dice_41" in arm else arm.iloc[0:0]
    dice = dice_all["dice_41"] if len(dice_all) else pd.Series(dtype=float)
    dice_pos = dice_all[dice_all["pdl1_positive"]]["dice_41"] if len(dice_all) else dice
    dice_mal = dice_all[dice_all["malignant"]]["dice_41"] if len(dice_all) else dice
    ri = arm.dropna(subset=["true_change_pct"]) if "true_change_pct" in arm else arm.iloc[0:0]

    def agree(column: str, rows: pd.DataFrame = ri) -> int:
        if column not in rows or not len(rows):
            return 0
        return _share(rows[column], np.sign(rows["true_change_pct"]))

    big_change = ri[ri["true_change_pct"].abs() >= 5] if len(ri) else ri

    def stat(values: pd.Series, how: str) -> float:
        if not len(values):
            return float("nan")
        return float(getattr(np, how)(values)) if how != "q10" else float(np.quantile(values, 0.1))

    per_patient = [d.false_candidates["local-contrast"] for d in scans]
    return ArmFigures(
        tracer=tracer,
        cohorts=",".join(sorted({d.cohort for d in scans})),
        patients=len(scans),
        malignant_10mm=len(big),
        found_percist=int(big["found_percist"].sum()),
        found_local=int(big["found_local_contrast"].sum()),
        masked_10mm=int(big["masked"].sum()),
        found_local_unmasked=int(big[~big["masked"]]["found_local_contrast"].sum()),
        pdl1_positive_10mm=len(positive),
        pdl1_positive_found_local=int(positive["found_local_contrast"].sum()),
        pdl1_positive_unmasked=int((~positive["masked"]).sum()),
        pdl1_positive_found_local_unmasked=int(
            positive[~positive["masked"]]["found_local_contrast"].sum()
        ),
        false_candidates_percist=sum(d.false_candidates["percist"] for d in scans),
        false_candidates_local=sum(per_patient),
        max_false_candidates_local_per_patient=max(per_patient, default=0),
        dice_n=len(dice),
        dice_mean=stat(dice, "mean"),
        dice_median=stat(dice, "median"),
        dice_q10=stat(dice, "q10"),
        dice_min=stat(dice, "min"),
        dice_at_least_07=int((dice >= 0.7).sum()),
        dice_pdl1_positive_n=len(dice_pos),
        dice_pdl1_positive_mean=stat(dice_pos, "mean"),
        dice_pdl1_positive_median=stat(dice_pos, "median"),
        dice_malignant_n=len(dice_mal),
        dice_malignant_mean=stat(dice_mal, "mean"),
        ri_n=len(ri),
        ri_sign_max=agree("ri_max_pct"),
        ri_sign_peak=agree("ri_peak_pct"),
        ri_sign_mean=agree("ri_mean_pct"),
        ri_sign_voi_mean=agree("ri_voi_mean_pct"),
        ri_sign_pvc=agree("ri_pvc_pct"),
        ri_sign_true_voxels=agree("ri_true_voxels_pct"),
        ri_sign_pvc_true_voxels=agree("ri_pvc_true_voxels_pct"),
        ri_unmatched=int((~ri["matched"].astype(bool)).sum()) if len(ri) else 0,
        ri_n_change_5pct=len(big_change),
        ri_sign_voi_mean_change_5pct=agree("ri_voi_mean_pct", big_change),
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cohorts", nargs="+", type=Path)
    parser.add_argument("--lesions", type=Path, help="write the per-lesion table here (CSV)")
    parser.add_argument(
        "--retention-only",
        action="store_true",
        help="skip candidate detection and its figures (the per-lesion retention table only)",
    )
    args = parser.parse_args(argv)
    tables, detections = [], []
    for cohort in args.cohorts:
        table, scans = evaluate_lesions(cohort, detect=not args.retention_only)
        tables.append(table)
        detections.extend(scans)
        print(f"== {cohort.name}: {len(table)} lesions evaluated", flush=True)
        if args.retention_only:
            continue
        for tracer in sorted(table["tracer"].unique()):
            print(f"== {cohort.name} {tracer}\n{arm_figures(table, scans, tracer)}\n")
    pooled = pd.concat(tables, ignore_index=True)
    if len(args.cohorts) > 1 and not args.retention_only:
        for tracer in sorted(pooled["tracer"].unique()):
            print(f"== pooled {tracer}\n{arm_figures(pooled, detections, tracer)}\n")
    if args.lesions:
        pooled.to_csv(args.lesions, index=False)


if __name__ == "__main__":
    main(sys.argv[1:])
