"""Closed vocabularies of segmentation: connectivity, methods, reference tissues."""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = ["Connectivity", "DetectionMethod", "ReferenceTissue", "SegmentationMethod"]


class Connectivity(IntEnum):
    """Voxel neighbourhood of connected components in 3-D.

    * ``FACE`` (6): voxels sharing a face.
    * ``EDGE`` (18): faces and edges.
    * ``CORNER`` (26): faces, edges and corners (petdx's default, as in most PET tools).
    """

    FACE = 6
    EDGE = 18
    CORNER = 26


class SegmentationMethod(StrEnum):
    """How a lesion volume of interest was delineated (the ``--method`` option).

    * ``voi``: the imported volume of interest as drawn (SEG, RTSTRUCT or NIfTI mask).
    * ``fixed``: SUV >= a fixed threshold.
    * ``percent``: SUV >= a fraction of the SUVmax of a seed-bounded region (41 %, 50 %).
    * ``percist``: SUV >= 1.5 x liver mean + 2 SD (blood pool 2.0 x mean + 2 SD).
    * ``a50``: SUV >= 50 % of (SUVpeak - background) + background.
    * ``grow``: region growing from a seed point over voxels >= a lower SUV bound.
    * ``detect``: whole-body candidates outside physiological uptake, as found by the
      :class:`DetectionMethod` (the candidate regions as detected).
    """

    VOI = "voi"
    FIXED = "fixed"
    PERCENT = "percent"
    PERCIST = "percist"
    A50 = "a50"
    GROW = "grow"
    DETECT = "detect"


class ReferenceTissue(StrEnum):
    """Normal tissue whose mean uptake is the background of tumour-to-background ratios."""

    LIVER = "liver"
    BLOOD_POOL = "blood_pool"
    MUSCLE = "muscle"


class DetectionMethod(StrEnum):
    """How whole-body candidates are found (:func:`petdx.segment.detect_candidates`).

    * ``percist``: every voxel with SUV >= the PERCIST threshold (the global rule).
    * ``local-contrast``: the PERCIST voxels plus every voxel hot against its own
      surroundings (:mod:`petdx.segment.local_contrast`); petdx's default.
    """

    PERCIST = "percist"
    LOCAL_CONTRAST = "local-contrast"
