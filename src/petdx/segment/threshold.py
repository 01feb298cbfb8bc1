"""Lesion delineation methods: each a function with its definition in its docstring.

Every threshold is inclusive: a voxel is part of the lesion when ``SUV >= threshold``.
Methods that start from a seed-bounded region (a volume of interest drawn around one lesion,
or a sphere around a seed point) keep only the connected component (26-connectivity unless
stated) holding the region's hottest voxel, so a neighbouring hot structure inside the same
region is not merged in.

References
----------
Wahl RL, Jacene H, Kasamon Y, Lodge MA. From RECIST to PERCIST: evolving considerations for
PET response criteria in solid tumors. J Nucl Med 2009;50 Suppl 1:122S-150S.
doi:10.2967/jnumed.108.057307
Boellaard R, et al. FDG PET/CT: EANM procedure guidelines for tumour imaging: version 2.0.
Eur J Nucl Med Mol Imaging 2015;42:328-354. doi:10.1007/s00259-014-2961-x
Frings V, et al. Repeatability of metabolically active tumor volume measurements with FDG
PET/CT in advanced gastrointestinal malignancies: a multicenter study. J Nucl Med
2014;55:1684-1690. doi:10.2967/jnumed.114.143669
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from petdx.errors import Hint, InputValidationError
from petdx.image import Volume
from petdx.segment.components import check_mask_grid, connected_components
from petdx.segment.enums import Connectivity

__all__ = [
    "a50_threshold",
    "fixed_threshold",
    "percent_of_max",
    "percist_threshold_suv",
    "region_grow",
]


def _values(suv: Volume) -> npt.NDArray[np.floating]:
    return np.asarray(suv.array, dtype=np.float32)


def _region(suv: Volume, region: Volume | None) -> npt.NDArray[np.bool_]:
    if region is None:
        return np.ones(suv.shape, dtype=bool)
    check_mask_grid(suv, region, "seed region")
    inside = np.asarray(region.array) != 0
    if not inside.any():
        raise InputValidationError(
            "The seed region is empty (no voxel on the PET grid). Draw it over the lesion, or "
            "give a seed point inside the field of view."
        )
    return inside


def _component_with(
    mask: npt.NDArray[np.bool_],
    index: tuple[int, ...],
    suv: Volume,
    connectivity: int | Connectivity,
) -> Volume:
    labels = np.asarray(connected_components(suv.with_array(mask), connectivity=connectivity).array)
    label = labels[index]
    return suv.with_array(labels == label if label else np.zeros(suv.shape, dtype=bool))


def _hottest(suv: Volume, inside: npt.NDArray[np.bool_]) -> tuple[tuple[int, ...], float]:
    """Index and value of the maximum inside a region (first in C order on ties)."""
    values = np.where(inside, suv.array, -np.inf)
    flat = int(np.argmax(values))
    index = tuple(int(v) for v in np.unravel_index(flat, suv.shape))
    return index, float(values[index])


def fixed_threshold(suv: Volume, *, threshold_suv: float, region: Volume | None = None) -> Volume:
    """Voxels with ``SUV >= threshold_suv`` (inside ``region`` when given).

    Returns every such voxel, in any number of components; label them with
    :func:`~petdx.segment.connected_components`.
    """
    if not math.isfinite(threshold_suv):
        raise InputValidationError(f"threshold_suv {threshold_suv}: expected a finite SUV.")
    inside = _region(suv, region)
    return suv.with_array(inside & (_values(suv) >= threshold_suv))


def percent_of_max(
    suv: Volume,
    *,
    region: Volume,
    percent: float = 41.0,
    connectivity: int | Connectivity = Connectivity.CORNER,
) -> Volume:
    """Fraction-of-SUVmax delineation within a seed-bounded region.

    ``T = percent / 100 x SUVmax(region)``; the lesion is the connected component of
    ``{v in region : SUV(v) >= T}`` that holds the region's SUVmax voxel. 41 % is the EANM
    2.0 recommendation for FDG (Boellaard 2015); 50 % is the other common choice.

    Parameters
    ----------
    suv
        SUV volume.
    region
        Seed-bounded region (non-zero voxels): a VOI drawn around one lesion.
    percent
        Percentage of SUVmax, 0 < percent <= 100.
    connectivity
        6, 18 or 26.
    """
    if not 0 < percent <= 100:
        raise InputValidationError(f"percent {percent}: expected a percentage in (0, 100].")
    inside = _region(suv, region)
    index, peak = _hottest(suv, inside)
    return _component_with(
        inside & (_values(suv) >= percent / 100.0 * peak), index, suv, connectivity
    )


def percist_threshold_suv(
    *,
    liver_mean: float | None = None,
    liver_sd: float | None = None,
    blood_pool_mean: float | None = None,
    blood_pool_sd: float | None = None,
) -> float:
    """The PERCIST 1.0 threshold of measurable disease.

    ``1.5 x liver mean + 2 x liver SD`` (3 cm liver sphere); when the liver is unusable
    (give ``None``), ``2.0 x blood-pool mean + 2 x blood-pool SD`` (descending aorta).
    PERCIST states it in SUL; petdx applies it in the normalisation of the volume given.

    Raises
    ------
    InputValidationError
        Neither reference is given, or a mean without its SD.
    """
    if liver_mean is not None:
        if liver_sd is None:
            raise InputValidationError("The PERCIST threshold needs the liver SD with its mean.")
        return 1.5 * liver_mean + 2.0 * liver_sd
    if blood_pool_mean is not None:
        if blood_pool_sd is None:
            raise InputValidationError(
                "The PERCIST threshold needs the blood-pool SD with its mean."
            )
        return 2.0 * blood_pool_mean + 2.0 * blood_pool_sd
    raise InputValidationError(
        "The PERCIST threshold needs a usable liver reference (or, failing that, a blood-pool "
        "reference). Give the liver centre or a liver mask, or let petdx place it.",
        hint=Hint("liver_centre", alternatives=("liver_mask", "auto_liver")),
    )


def a50_threshold(
    suv: Volume,
    *,
    region: Volume,
    background_suv: float,
    suv_peak: float,
    connectivity: int | Connectivity = Connectivity.CORNER,
) -> Volume:
    """Background-adapted 50 % of SUVpeak (A50P, Frings et al. 2014).

    ``T = 0.5 x (SUVpeak - background) + background``; the lesion is the connected component
    of ``{v in region : SUV(v) >= T}`` that holds the region's SUVmax voxel.

    Parameters
    ----------
    suv
        SUV volume.
    region
        Seed-bounded region around one lesion.
    background_suv
        Background SUV (mean of a reference or of a shell around the lesion).
    suv_peak
        The lesion's SUVpeak (see :func:`petdx.quantify.suv_peak_local`).
    """
    if not (math.isfinite(background_suv) and math.isfinite(suv_peak)):
        raise InputValidationError("a50_threshold: background_suv and suv_peak must be finite.")
    if suv_peak <= background_suv:
        raise InputValidationError(
            f"A50: SUVpeak {suv_peak:.3g} is not above the background {background_suv:.3g}; "
            "the lesion is not distinguishable from background with this method."
        )
    inside = _region(suv, region)
    index, _ = _hottest(suv, inside)
    threshold = 0.5 * (suv_peak - background_suv) + background_suv
    return _component_with(inside & (_values(suv) >= threshold), index, suv, connectivity)


def region_grow(
    suv: Volume,
    *,
    seed_index_zyx: tuple[int, int, int],
    lower_suv: float,
    upper_suv: float = math.inf,
    region: Volume | None = None,
    connectivity: int | Connectivity = Connectivity.CORNER,
) -> Volume:
    """Seeded region growing: the voxels connected to the seed through voxels with
    ``lower_suv <= SUV <= upper_suv`` (inside ``region`` when given).

    Returns an empty mask when the seed voxel itself is outside the interval.
    """
    if lower_suv > upper_suv:
        raise InputValidationError(f"region_grow: lower {lower_suv} > upper {upper_suv}.")
    seed = tuple(int(v) for v in seed_index_zyx)
    if len(seed) != 3 or any(not 0 <= s < n for s, n in zip(seed, suv.shape, strict=True)):
        raise InputValidationError(
            f"Seed index {seed_index_zyx} is outside the PET grid {suv.shape}; give a seed "
            "inside the field of view."
        )
    inside = _region(suv, region)
    candidates = inside & (_values(suv) >= lower_suv) & (_values(suv) <= upper_suv)
    return _component_with(candidates, seed, suv, connectivity)
