"""A reader's seed (petdx.quantify.reader_voi.segment_from_seed) on synthetic volumes: a VOI
that fills the seed sphere is flagged, a lesion well inside it is not."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from petdx.image import Volume
from petdx.quantify.reader_voi import segment_from_seed
from tests.quantify.phantoms import ball, grid

CENTRE_ZYX = (15, 15, 15)
SEED_RADIUS_MM = 20.0


def _lesion(background_suv: float, lesion_suv: float) -> tuple[Volume, npt.NDArray[np.bool_]]:
    suv = grid((31, 31, 31), fill=background_suv)
    centre_mm = suv.index_to_patient_mm(np.asarray(CENTRE_ZYX, dtype=np.float64))
    array = np.asarray(suv.array).copy()
    array[ball(suv, centre_mm, 8.0)] = lesion_suv
    return suv.with_array(array), ball(suv, centre_mm, 8.0)


def test_a_low_contrast_lesion_that_fills_the_seed_sphere_is_flagged() -> None:
    # SUVmax 6.5 in a background of 5.0 (the demo's low-contrast liver lesion): 41 % of 6.5 is
    # 2.7, under the background, so the whole 20 mm sphere is taken in
    suv, truth = _lesion(5.0, 6.5)
    voi = segment_from_seed(suv, CENTRE_ZYX, seed_radius_mm=SEED_RADIUS_MM)
    inside = np.asarray(voi.mask.array)
    assert inside.sum() > 3 * truth.sum()
    assert [w for w in voi.warnings if "reaches the edge of the 20 mm seed sphere" in w]


def test_a_lesion_well_inside_the_sphere_is_not_flagged() -> None:
    suv, truth = _lesion(1.0, 20.0)
    voi = segment_from_seed(suv, CENTRE_ZYX, seed_radius_mm=SEED_RADIUS_MM)
    assert np.array_equal(np.asarray(voi.mask.array), truth)
    assert not [w for w in voi.warnings if "seed sphere" in w]
