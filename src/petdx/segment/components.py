"""Connected components (connected-components-3d) and the minimum-volume filter."""

from __future__ import annotations

from typing import Any, cast

import cc3d
import numpy as np
import numpy.typing as npt

from petdx.errors import GeometryError, InputValidationError
from petdx.image import Volume
from petdx.segment.enums import Connectivity

__all__ = ["check_mask_grid", "connected_components", "remove_small_components"]


def to_connectivity(value: int | Connectivity) -> Connectivity:
    """Convert 6, 18 or 26 to :class:`Connectivity`, refusing anything else."""
    try:
        return Connectivity(int(value))
    except ValueError:
        raise InputValidationError(
            f"connectivity {value}: expected 6 (faces), 18 (faces and edges) or 26 "
            "(faces, edges and corners)."
        ) from None


def check_mask_grid(image: Volume, mask: Volume, what: str = "mask") -> None:
    """Refuse a mask whose array shape differs from the image's (grids must be aligned)."""
    if mask.shape != image.shape or not np.allclose(mask.affine, image.affine, atol=1e-3):
        raise GeometryError(
            f"The {what} is not on the PET grid: {what} has {mask.describe_grid()}, the PET "
            f"has {image.describe_grid()}. Resample the {what} onto the PET grid first."
        )


def connected_components(
    mask: Volume, *, connectivity: int | Connectivity = Connectivity.CORNER
) -> Volume:
    """Label the connected components of a boolean mask.

    Parameters
    ----------
    mask
        Foreground where the array is non-zero.
    connectivity
        6, 18 or 26 (see :class:`Connectivity`).

    Returns
    -------
    Volume
        uint32 labels 1..N in the order of the first voxel met in C (z, y, x) scan order;
        0 is background.

    References
    ----------
    Silversmith W. connected-components-3d (cc3d), https://github.com/seung-lab/connected-components-3d
    """
    conn = to_connectivity(connectivity)
    labels = cc3d.connected_components(
        np.ascontiguousarray(mask.array != 0),
        connectivity=cast(Any, int(conn)),
        out_dtype=np.uint32,
    )
    return mask.with_array(np.asarray(labels, dtype=np.uint32))


def remove_small_components(labels: Volume, *, min_volume_ml: float) -> Volume:
    """Drop labelled components smaller than ``min_volume_ml`` and renumber the rest 1..N.

    A component is kept when ``voxel count x voxel volume >= min_volume_ml`` (``>=``).
    """
    if min_volume_ml < 0:
        raise InputValidationError(f"min_volume_ml {min_volume_ml}: expected >= 0 ml.")
    array = np.asarray(labels.array)
    counts = np.bincount(array.ravel().astype(np.int64))
    keep = counts * labels.voxel_volume_ml >= min_volume_ml * (1.0 - 1e-9)  # float rounding
    keep[0] = False
    mapping: npt.NDArray[np.uint32] = np.zeros(counts.size, dtype=np.uint32)
    mapping[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.uint32)
    return labels.with_array(mapping[array.astype(np.int64)])
