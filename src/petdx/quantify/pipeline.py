"""Quantify the lesions of one visit: references, segmentation, metrics, time points.

Lesions of the first time point come from one source: imported volumes of interest (a label
map on its grid: SEG, RTSTRUCT or NIfTI), seed points (LPS mm), or whole-body candidate
detection. The method (``MethodSpec``) then delineates each lesion:

* ``voi``: the imported VOI as drawn (the default for VOIs and for detection);
* ``fixed``, ``percist``: every voxel of the region with SUV >= the threshold;
* ``percent``, ``a50``, ``grow``: the connected component holding the region's hottest
  voxel (see :mod:`petdx.segment.threshold`).

The region of a lesion is its VOI, a sphere of ``seed_radius_mm`` around its seed, or its
detected component dilated by ``candidate_margin_mm``. A50's background is the liver
reference mean (blood pool when the liver is unusable); ``grow`` without a value uses the
PERCIST threshold as its lower bound.

Detection (``LesionSource.detect``) uses :func:`petdx.segment.detect_candidates` with the
PERCIST threshold and, for ``local-contrast`` (the default), the reference region PERCIST
used (liver, else blood pool) to scale the noise.

Later time points: the rigid motion to the first scan is estimated from the images
(:func:`petdx.quantify.align.estimate_rigid_transform`); VOIs are carried over (nearest
neighbour), seeds and reference centres mapped, detection rerun; lesions are then matched by
centroid (:func:`petdx.quantify.match_lesions`). Independently of matching, each lesion of
the first scan, as delineated there, is carried to every later scan through the same
transform (nearest neighbour) and the later scan's mean SUV inside it is recorded without
re-segmenting (``TimePointResult.carried_voi_mean_suv``): the mean uptake of the same
tissue at both time points, from which the VOI-mean retention index is computed. Given the
scanner's resolution (``psf_fwhm_mm``), the same VOIs' means are also corrected for partial
volume (two-compartment model, :mod:`petdx.quantify.pvc`) at every time point
(``TimePointResult.pvc_voi_mean_suv``), for the partial-volume-corrected retention index.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from petdx.errors import Hint, InputValidationError
from petdx.image import Volume
from petdx.quantify.align import RigidTransform, estimate_rigid_transform, resample_labels
from petdx.quantify.method import MethodSpec
from petdx.quantify.metrics import quantify_lesions
from petdx.quantify.noise import NoiseModel, correlation_factor, noise_model
from petdx.quantify.peak import suv_peak_local
from petdx.quantify.pvc import PvcEstimate, two_compartment_pvc
from petdx.quantify.results import QuantificationResult, TimePointResult
from petdx.quantify.timepoints import match_lesions
from petdx.segment import (
    Connectivity,
    DetectionMethod,
    ReferenceRegion,
    ReferenceRegionError,
    ReferenceTissue,
    SegmentationMethod,
    a50_threshold,
    check_mask_grid,
    detect_candidates,
    find_liver_centre,
    fixed_threshold,
    percent_of_max,
    percist_threshold_suv,
    reference_from_centre,
    reference_from_mask,
    region_grow,
    sphere_mask,
)

__all__ = ["LesionSource", "ReferenceSpec", "ScanInput", "quantify_visit"]


@dataclass(frozen=True)
class ScanInput:
    """One time point: its SUV volume and provenance."""

    suv: Volume = field(repr=False)
    series_instance_uid: str
    suv_factor: float
    normalization: str = "bw"
    suv_unit: str = "g/ml"
    #: How the PET pixels were stored (PixelEncoding.description): ``uncompressed``,
    #: ``lossless: <syntax>`` or ``lossy: <syntax>; ratio; method``.
    pixel_compression: str = "uncompressed"
    #: AttenuationCorrectionMethod (0054,1101) of the PET ("" when not stated).
    attenuation_correction_method: str = ""


@dataclass(frozen=True)
class LesionSource:
    """Where the lesions of the first time point come from (exactly one).

    ``detection_method`` (``local-contrast`` or ``percist``) applies with ``detect``.
    """

    voi_labels: Volume | None = field(default=None, repr=False)
    seeds_mm: tuple[tuple[float, float, float], ...] = ()
    detect: bool = False
    physiological_masks: tuple[Volume, ...] = field(default=(), repr=False)
    detection_method: str | DetectionMethod = DetectionMethod.LOCAL_CONTRAST

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "detection_method", DetectionMethod(self.detection_method))
        except ValueError:
            allowed = ", ".join(m.value for m in DetectionMethod)
            raise InputValidationError(
                f"Detection method '{self.detection_method}': expected one of {allowed}."
            ) from None
        given = sum([self.voi_labels is not None, bool(self.seeds_mm), self.detect])
        if given != 1:
            raise InputValidationError(
                "Give exactly one lesion source: a VOI label map (a SEG, RTSTRUCT or mask), "
                f"seed points, or candidate detection; {given} were given.",
                hint=Hint("voi_labels", alternatives=("seeds_mm", "detect")),
            )


@dataclass(frozen=True)
class ReferenceSpec:
    """How to place each reference region on the first time point."""

    centres_mm: Mapping[str, tuple[float, float, float]] = field(default_factory=dict)
    masks: Mapping[str, Volume] = field(default_factory=dict, repr=False)
    auto_liver: bool = False


def _grow_box(
    box: tuple[slice, ...], margin: npt.NDArray[np.int64], shape: tuple[int, ...]
) -> tuple[slice, ...]:
    return tuple(
        slice(max(0, s.start - int(m)), min(n, s.stop + int(m)))
        for s, m, n in zip(box, margin, shape, strict=True)
    )


def _measure_references(
    scan: ScanInput,
    spec: ReferenceSpec,
    transform: RigidTransform | None,
    first_grid: Volume | None,
) -> tuple[dict[str, ReferenceRegion], dict[str, str]]:
    """Reference regions of one scan; ``transform`` maps this scan to the first one."""
    found: dict[str, ReferenceRegion] = {}
    problems: dict[str, str] = {}
    to_here = transform.inverse() if transform is not None else None
    for tissue in ReferenceTissue:
        try:
            if tissue.value in spec.masks:
                mask = spec.masks[tissue.value]
                if transform is not None and first_grid is not None:
                    mask = resample_labels(
                        first_grid.with_array(np.asarray(mask.array)), scan.suv, transform
                    )
                found[tissue.value] = reference_from_mask(scan.suv, tissue, mask)
            elif tissue.value in spec.centres_mm:
                centre = np.asarray(spec.centres_mm[tissue.value], dtype=float)
                if to_here is not None:
                    centre = to_here.apply(centre)
                found[tissue.value] = reference_from_centre(scan.suv, tissue, centre)
            elif tissue is ReferenceTissue.LIVER and spec.auto_liver:
                centre = find_liver_centre(scan.suv)
                found[tissue.value] = reference_from_centre(scan.suv, tissue, centre, method="auto")
        except ReferenceRegionError as exc:
            problems[tissue.value] = str(exc)
    return found, problems


def _percist_reference(references: Mapping[str, ReferenceRegion]) -> ReferenceRegion | None:
    """The region PERCIST's threshold comes from: the liver, else the blood pool."""
    return references.get(ReferenceTissue.LIVER.value) or references.get(
        ReferenceTissue.BLOOD_POOL.value
    )


def _percist(references: Mapping[str, ReferenceRegion]) -> float | None:
    liver = references.get(ReferenceTissue.LIVER.value)
    blood = references.get(ReferenceTissue.BLOOD_POOL.value)
    if liver is None and blood is None:
        return None
    return percist_threshold_suv(
        liver_mean=liver.mean_suv if liver else None,
        liver_sd=liver.sd_suv if liver else None,
        blood_pool_mean=blood.mean_suv if blood and not liver else None,
        blood_pool_sd=blood.sd_suv if blood and not liver else None,
    )


def _need_percist(threshold: float | None, what: str, problems: Mapping[str, str]) -> float:
    if threshold is None:
        why = "; ".join(problems.values()) or "no liver or blood-pool reference was given"
        raise InputValidationError(
            f"{what} needs the PERCIST threshold, which needs a usable liver or blood-pool "
            f"reference ({why}). Give the liver centre or a liver mask, or let petdx place "
            "it.",
            hint=Hint("liver_centre", alternatives=("liver_mask", "auto_liver")),
        )
    return threshold


def _segment_region(
    suv: Volume,
    region: Volume,
    method: MethodSpec,
    percist: float | None,
    background: float | None,
    problems: Mapping[str, str],
) -> npt.NDArray[np.bool_]:
    m = method.method
    if m is SegmentationMethod.FIXED:
        assert method.value is not None
        return np.asarray(fixed_threshold(suv, threshold_suv=method.value, region=region).array)
    if m is SegmentationMethod.PERCIST:
        thr = _need_percist(percist, "method percist", problems)
        return np.asarray(fixed_threshold(suv, threshold_suv=thr, region=region).array)
    if m is SegmentationMethod.PERCENT:
        assert method.value is not None
        return np.asarray(percent_of_max(suv, region=region, percent=method.value).array)
    if m is SegmentationMethod.A50:
        if background is None:
            raise InputValidationError(
                "method a50 needs a background: a usable liver (or blood-pool) reference. "
                f"{'; '.join(problems.values())}",
                hint=Hint("liver_centre", alternatives=("liver_mask", "auto_liver")),
            )
        peak = suv_peak_local(suv, region).suv_peak
        return np.asarray(
            a50_threshold(suv, region=region, background_suv=background, suv_peak=peak).array
        )
    if m is SegmentationMethod.GROW:
        lower = (
            method.value
            if method.value is not None
            else _need_percist(percist, "method grow without a value", problems)
        )
        inside = np.asarray(region.array) != 0
        values = np.where(inside, suv.array, -np.inf)
        seed = np.unravel_index(int(np.argmax(values)), suv.shape)
        return np.asarray(
            region_grow(
                suv,
                seed_index_zyx=(int(seed[0]), int(seed[1]), int(seed[2])),
                lower_suv=lower,
                region=region,
            ).array
        )
    return np.asarray(region.array) != 0  # voi, detect: the region as it is


def _delineate(
    suv: Volume,
    regions: npt.NDArray[np.integer],
    method: MethodSpec,
    percist: float | None,
    background: float | None,
    problems: Mapping[str, str],
) -> npt.NDArray[np.uint32]:
    """Apply the method inside every labelled region; the label numbers are kept."""
    out = np.zeros(suv.shape, dtype=np.uint32)
    if method.method in (SegmentationMethod.VOI, SegmentationMethod.DETECT):
        out[:] = regions
        return out
    for index, box in enumerate(ndimage.find_objects(regions)):
        if box is None:
            continue
        label = index + 1
        sub = suv.crop(box)
        region = sub.with_array(np.asarray(regions[box]) == label)
        lesion = _segment_region(sub, region, method, percist, background, problems)
        target = out[box]
        target[lesion & (target == 0)] = label
    return out


def _seed_regions(
    suv: Volume, seeds: Sequence[npt.NDArray[np.float64]], radius_mm: float
) -> npt.NDArray[np.uint32]:
    regions = np.zeros(suv.shape, dtype=np.uint32)
    for n, seed in enumerate(seeds, start=1):
        ball = np.asarray(sphere_mask(suv, seed, radius_mm).array)
        if not ball.any():
            raise InputValidationError(
                f"Seed {n} at LPS ({', '.join(f'{v:.1f}' for v in seed)}) mm is outside the "
                f"PET volume ({suv.describe_grid()}). Give seeds in patient (LPS) mm."
            )
        regions[ball & (regions == 0)] = n
    return regions


def _time_point(
    n: int,
    scan: ScanInput,
    source: LesionSource,
    references: ReferenceSpec,
    method: MethodSpec,
    transform: RigidTransform | None,
    first: ScanInput | None,
    *,
    seed_radius_mm: float,
    candidate_margin_mm: float,
    connectivity: Connectivity,
) -> TimePointResult:
    first_grid = first.suv if first is not None else None
    refs, problems = _measure_references(scan, references, transform, first_grid)
    percist = _percist(refs)
    bg_ref = refs.get("liver") or refs.get("blood_pool")
    background = bg_ref.mean_suv if bg_ref else None
    notes: list[str] = []
    detection = None
    if source.voi_labels is not None:
        vois = source.voi_labels
        if transform is not None and first_grid is not None:
            vois = resample_labels(
                first_grid.with_array(np.asarray(vois.array)), scan.suv, transform
            )
        else:
            check_mask_grid(scan.suv, vois, "VOI label map")
        regions = np.asarray(vois.array).astype(np.uint32)
    elif source.seeds_mm:
        to_here = transform.inverse() if transform is not None else None
        seeds = [np.asarray(s, dtype=float) for s in source.seeds_mm]
        if to_here is not None:
            seeds = [to_here.apply(s) for s in seeds]
        regions = _seed_regions(scan.suv, seeds, seed_radius_mm)
        if method.method is SegmentationMethod.VOI:
            method = MethodSpec.parse("percent:41")
    else:
        threshold = _need_percist(percist, "candidate detection", problems)
        masks = list(source.physiological_masks)
        if transform is not None and first_grid is not None:
            masks = [
                resample_labels(first_grid.with_array(np.asarray(m.array)), scan.suv, transform)
                for m in masks
            ]
        found = detect_candidates(
            scan.suv,
            threshold_suv=threshold,
            physiological_masks=masks,
            method=source.detection_method,
            reference=_percist_reference(refs),
            connectivity=connectivity,
        )
        detection = found.to_dict()
        notes.append(str(found))
        regions = np.asarray(found.labels.array)
        if method.method not in (SegmentationMethod.VOI, SegmentationMethod.DETECT):
            margin = np.ceil(candidate_margin_mm / np.asarray(scan.suv.spacing_mm)).astype(int)
            grown = ndimage.grey_dilation(regions, size=tuple(2 * margin + 1))
            regions = np.where(regions > 0, regions, grown).astype(np.uint32)
        else:
            method = MethodSpec(SegmentationMethod.DETECT)
    labels = _delineate(scan.suv, regions, method, percist, background, problems)
    missing = sorted(set(np.unique(regions).tolist()) - set(np.unique(labels).tolist()) - {0})
    if missing:
        notes.append(
            f"no voxel met the {method} criterion for region(s) {missing}; no lesion there"
        )
    label_volume = scan.suv.with_array(labels)
    lesions = quantify_lesions(scan.suv, label_volume, references=refs)
    noise_ref = _percist_reference(refs)
    noise = (
        noise_model(np.asarray(scan.suv.array), scan.suv.spacing_mm, noise_ref)
        if noise_ref is not None
        else None
    )
    return TimePointResult(
        index=n,
        series_instance_uid=scan.series_instance_uid,
        suv_factor=scan.suv_factor,
        normalization=scan.normalization,
        suv_unit=scan.suv_unit,
        pixel_compression=scan.pixel_compression,
        attenuation_correction_method=scan.attenuation_correction_method,
        method=method,
        references=refs,
        reference_problems=problems,
        percist_threshold_suv=percist,
        labels=label_volume,
        lesions=tuple(lesions),
        transform_to_first=transform,
        warnings=tuple(notes),
        detection=detection,
        noise=noise,
        voi_noise_factor=_voi_noise_factors(labels, noise) if n == 0 else {},
    )


def _voi_noise_factors(
    labels: npt.NDArray[np.integer], noise: NoiseModel | None
) -> dict[int, float]:
    """``S / N**2`` of each lesion VOI under the scan's noise correlation (issue 17)."""
    if noise is None:
        return {}
    factors = {}
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is not None:
            factors[index] = correlation_factor(labels[box] == index, noise.rho)
    return factors


def _carried_voi_means(
    first: TimePointResult,
    scan: ScanInput,
    transform: RigidTransform,
    psf_fwhm_mm: float | None,
    noise: NoiseModel | None,
) -> tuple[dict[int, float], dict[int, PvcEstimate]]:
    """Mean SUV of ``scan`` inside each first-scan lesion carried there (nearest neighbour),
    and its partial-volume correction when ``psf_fwhm_mm`` is given."""
    carried = np.asarray(resample_labels(first.labels, scan.suv, transform).array)
    labels = [les.label for les in first.lesions]
    if not labels:
        return {}, {}
    values = np.asarray(scan.suv.array, dtype=np.float64)
    counts = ndimage.sum_labels(np.ones_like(values), carried, index=labels)
    sums = ndimage.sum_labels(values, carried, index=labels)
    means = {
        label: float(total / count)
        for label, total, count in zip(labels, sums, counts, strict=True)
        if count > 0
    }
    return means, _pvc(scan.suv, carried, labels, psf_fwhm_mm, noise)


def _pvc(
    suv: Volume,
    labels: npt.NDArray[np.integer],
    wanted: Sequence[int],
    fwhm_mm: float | None,
    noise: NoiseModel | None,
) -> dict[int, PvcEstimate]:
    """Two-compartment correction of each wanted VOI, with its uncertainty terms when the
    scan has a noise model (issue 17, revision 1)."""
    if fwhm_mm is None or not wanted:
        return {}
    rho = noise.rho if noise is not None else None
    return two_compartment_pvc(suv, labels, fwhm_mm, only=wanted, noise_rho=rho)


def quantify_visit(
    scans: Sequence[ScanInput],
    source: LesionSource,
    *,
    method: str | MethodSpec = "voi",
    references: ReferenceSpec | None = None,
    align: bool = True,
    seed_radius_mm: float = 30.0,
    candidate_margin_mm: float = 10.0,
    connectivity: int | Connectivity = Connectivity.CORNER,
    max_match_distance_mm: float = 20.0,
    ambiguity_margin_mm: float = 5.0,
    psf_fwhm_mm: float | None = None,
) -> QuantificationResult:
    """Quantify every lesion at every time point of one visit (see the module docstring).

    Parameters
    ----------
    scans
        The time points in acquisition order (the first is the reference for alignment).
    source
        Lesions of the first time point.
    method
        ``voi``, ``fixed:SUV``, ``percent:PCT``, ``percist``, ``a50``, ``grow[:SUV]``.
    references
        Reference-region placement (liver, blood pool, muscle).
    align
        Estimate the rigid motion between scans (else identity: same frame of reference,
        no motion).
    seed_radius_mm
        Radius of the region around each seed point.
    candidate_margin_mm
        Margin around detected candidates inside which a method re-delineates them.
    connectivity
        Connectivity of detection and components.
    max_match_distance_mm, ambiguity_margin_mm
        Lesion matching across time points (:func:`match_lesions`).
    psf_fwhm_mm
        The scanner's effective image resolution (FWHM, mm). When given, each first-scan
        VOI's mean uptake is also corrected for partial volume at every time point
        (:func:`petdx.quantify.pvc.two_compartment_pvc`), giving the partial-volume-corrected
        retention index.
    """
    if not scans:
        raise InputValidationError("quantify_visit: no scan given.")
    spec = MethodSpec.parse(method)
    refs = references or ReferenceSpec()
    conn = Connectivity(int(connectivity))
    results: list[TimePointResult] = []
    matches = []
    for n, scan in enumerate(scans):
        transform = None
        if n:
            transform = (
                estimate_rigid_transform(scans[0].suv, scan.suv)
                if align
                else RigidTransform.identity()
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = _time_point(
                n,
                scan,
                source,
                refs,
                spec,
                transform,
                scans[0] if n else None,
                seed_radius_mm=seed_radius_mm,
                candidate_margin_mm=candidate_margin_mm,
                connectivity=conn,
            )
        if n:
            assert transform is not None
            means, corrected = _carried_voi_means(
                results[0], scan, transform, psf_fwhm_mm, result.noise
            )
            result = replace(
                result,
                carried_voi_mean_suv=means,
                pvc_voi_mean_suv={k: e.lesion_suv for k, e in corrected.items()},
                pvc_estimates=corrected,
            )
        elif psf_fwhm_mm is not None:
            corrected = _pvc(
                scan.suv,
                np.asarray(result.labels.array),
                [les.label for les in result.lesions],
                psf_fwhm_mm,
                result.noise,
            )
            result = replace(
                result,
                pvc_voi_mean_suv={k: e.lesion_suv for k, e in corrected.items()},
                pvc_estimates=corrected,
            )
        results.append(result)
        if n:
            assert transform is not None
            first = results[0]
            matches.append(
                tuple(
                    match_lesions(
                        [les.label for les in first.lesions],
                        [les.centroid_mm for les in first.lesions],
                        [les.label for les in result.lesions],
                        transform.apply([les.centroid_mm for les in result.lesions])
                        if result.lesions
                        else np.zeros((0, 3)),
                        max_distance_mm=max_match_distance_mm,
                        ambiguity_margin_mm=ambiguity_margin_mm,
                    )
                )
            )
    return QuantificationResult(tuple(results), tuple(matches))
