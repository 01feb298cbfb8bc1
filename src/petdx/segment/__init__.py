"""Lesion segmentation: threshold methods, connected components, region growing, reference
regions and whole-body candidate detection (PERCIST threshold or local contrast). Every
method works on a SUV :class:`~petdx.image.Volume` and returns masks on the same grid."""

from petdx.segment.components import (
    check_mask_grid,
    connected_components,
    remove_small_components,
)
from petdx.segment.detect import Candidates, detect_candidates
from petdx.segment.enums import (
    Connectivity,
    DetectionMethod,
    ReferenceTissue,
    SegmentationMethod,
)
from petdx.segment.local_contrast import (
    LINE_DIRECTIONS,
    LocalContrast,
    line_opening_background,
    local_contrast,
    peak_image,
)
from petdx.segment.reference import (
    REFERENCE_SHAPES,
    ReferenceRegion,
    ReferenceRegionError,
    ReferenceShape,
    find_liver_centre,
    reference_from_centre,
    reference_from_mask,
    reference_region_mask,
)
from petdx.segment.shapes import (
    SUV_PEAK_RADIUS_MM,
    ball_kernel,
    ball_offsets,
    cylinder_mask,
    sphere_mask,
)
from petdx.segment.threshold import (
    a50_threshold,
    fixed_threshold,
    percent_of_max,
    percist_threshold_suv,
    region_grow,
)

__all__ = [
    "LINE_DIRECTIONS",
    "REFERENCE_SHAPES",
    "SUV_PEAK_RADIUS_MM",
    "Candidates",
    "Connectivity",
    "DetectionMethod",
    "LocalContrast",
    "ReferenceRegion",
    "ReferenceRegionError",
    "ReferenceShape",
    "ReferenceTissue",
    "SegmentationMethod",
    "a50_threshold",
    "ball_kernel",
    "ball_offsets",
    "check_mask_grid",
    "connected_components",
    "cylinder_mask",
    "detect_candidates",
    "find_liver_centre",
    "fixed_threshold",
    "line_opening_background",
    "local_contrast",
    "peak_image",
    "percent_of_max",
    "percist_threshold_suv",
    "reference_from_centre",
    "reference_from_mask",
    "reference_region_mask",
    "region_grow",
    "remove_small_components",
    "sphere_mask",
]
