"""Two-compartment partial-volume correction (``petdx.quantify.pvc``).

Oracle: images built exactly as the model assumes — a voxelised sphere of uptake ``t_L`` in
a uniform background ``t_B``, blurred by a Gaussian of the stated FWHM — so the known
``t_L`` and ``t_B`` are the answer (to the blur's floating-point error), while the uncorrected
VOI mean is visibly biased. The retention test is the reason the correction exists: a lesion
that rises while its background washes out.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from petdx.errors import InputValidationError
from petdx.image import Volume
from petdx.quantify import LesionSource, ScanInput, quantify_visit, two_compartment_pvc
from tests.quantify.phantoms import ball, grid

SPACING_MM = 2.0
FWHM_MM = 8.0
CENTRE_MM = (40.0, 40.0, 40.0)


def _blurred(lesion: np.ndarray, t_lesion: float, t_background: float) -> np.ndarray:
    image = np.where(lesion, t_lesion, t_background).astype(np.float64)
    sigma = FWHM_MM / (2.0 * np.sqrt(2.0 * np.log(2.0))) / SPACING_MM
    return ndimage.gaussian_filter(image, sigma, mode="nearest")


def _scene(radius_mm: float = 7.0) -> tuple[Volume, np.ndarray]:
    volume = grid((41, 41, 41), spacing_mm=(SPACING_MM,) * 3)
    return volume, ball(volume, CENTRE_MM, radius_mm)


@pytest.mark.parametrize(("t_lesion", "t_background"), [(8.0, 2.0), (3.0, 1.5), (1.0, 2.5)])
def test_recovers_lesion_and_background_uptake_exactly_under_the_model(
    t_lesion: float, t_background: float
) -> None:
    volume, lesion = _scene()
    suv = volume.with_array(_blurred(lesion, t_lesion, t_background).astype(np.float32))
    (estimate,) = two_compartment_pvc(suv, lesion.astype(np.int32), FWHM_MM).values()
    assert estimate.lesion_suv == pytest.approx(t_lesion, rel=1e-5)
    assert estimate.background_suv == pytest.approx(t_background, rel=1e-5)
    # the uncorrected mean is far off (14 mm sphere, 8 mm FWHM): what the correction is for
    assert abs(estimate.measured_suv - t_lesion) > 0.1 * abs(t_lesion - t_background)
    assert 0.3 < estimate.recovery < 0.9
    assert 0 < estimate.spill_out < estimate.recovery


def test_partial_volume_corrected_retention_index_through_quantify_visit() -> None:
    """Lesion +15 % (8.0 -> 9.2) while the background washes out -30 % (2.0 -> 1.4): the
    VOI mean understates the rise; the corrected retention index is the true one."""
    volume, lesion = _scene()
    scans = [
        ScanInput(volume.with_array(_blurred(lesion, t_l, t_b).astype(np.float32)), uid, 1.0)
        for uid, t_l, t_b in (("1.2.3.1", 8.0, 2.0), ("1.2.3.2", 9.2, 1.4))
    ]
    voi = volume.with_array(lesion.astype(np.uint32))
    result = quantify_visit(scans, LesionSource(voi_labels=voi), align=False, psf_fwhm_mm=FWHM_MM)
    table = result.table()
    later = table[table["time_point"] == 2].iloc[0]
    assert later["retention_index_pvc_pct"] == pytest.approx(15.0, abs=1e-3)
    assert later["retention_index_voi_mean_pct"] < 12.0  # biased towards the background
    assert table[table["time_point"] == 1].iloc[0]["suv_pvc"] == pytest.approx(8.0, rel=1e-5)
    follow = result.to_dict()["lesions"][0]["follow_up"][0]
    assert follow["retention_index_pvc_pct"] == pytest.approx(15.0, abs=1e-3)
    # without a resolution there is no corrected value, never a silent default
    plain = quantify_visit(scans, LesionSource(voi_labels=voi), align=False).table()
    assert plain["retention_index_pvc_pct"].isna().all()


def test_other_lesions_are_left_out_of_the_shell() -> None:
    volume, lesion = _scene(radius_mm=6.0)
    neighbour = ball(volume, (40.0, 40.0, 58.0), 5.0)  # hot, 18 mm away along x
    image = np.where(lesion, 6.0, np.where(neighbour, 20.0, 2.0))
    sigma = FWHM_MM / (2.0 * np.sqrt(2.0 * np.log(2.0))) / SPACING_MM
    suv = volume.with_array(ndimage.gaussian_filter(image, sigma, mode="nearest"))
    labels = np.where(lesion, 1, np.where(neighbour, 2, 0)).astype(np.int32)
    with_exclusion = two_compartment_pvc(suv, labels, FWHM_MM, only=[1])[1]
    ignoring = two_compartment_pvc(suv, lesion.astype(np.int32), FWHM_MM)[1]
    assert abs(with_exclusion.lesion_suv - 6.0) < abs(ignoring.lesion_suv - 6.0)


def test_refusals_name_the_problem() -> None:
    volume, lesion = _scene()
    suv = volume.with_array(_blurred(lesion, 8.0, 2.0).astype(np.float32))
    with pytest.raises(InputValidationError, match=r"PSF FWHM 0\.0 mm"):
        two_compartment_pvc(suv, lesion.astype(np.int32), 0.0)
    with pytest.raises(InputValidationError, match="not on the SUV grid"):
        two_compartment_pvc(suv, lesion[:-1].astype(np.int32), FWHM_MM)
    # a VOI filling the image has no shell: no estimate rather than a wrong one
    assert two_compartment_pvc(suv, np.ones(suv.shape, np.int32), FWHM_MM) == {}
