"""``petdx quantify`` against external reference data (../shared/data).

* mirp-sts-suv (MIRP test data, TCIA Soft-tissue-Sarcoma, CC BY 3.0): SUVmax, SUVmean and
  voxel counts inside MIRP's NIfTI mask are listed in ../shared/data/README.md (computed by
  the data's authors with MIRP). The RTSTRUCT route must hold the voxel count within 3 %,
  SUVmax within 1e-3 and SUVmean within 1 %; the NIfTI route exactly (to float32 rounding).
* IBSI SUV DROs (oncoray/suv_computation, CC BY 4.0): inside each DRO mask SUVmin 0.20,
  SUVmax 4.00 (to two decimals, DRO_list.csv). Through ``quantify`` with the NIfTI mask,
  SUVmax and SUVmin are the lesion metrics; the median (1.00) is checked on the same mask.
"""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from typer.testing import CliRunner

from petdx.cli import app
from petdx.dicom import SeriesKind, index_dicom_folder, read_series_volume
from petdx.image import Volume
from petdx.suv import compute_suv, suv_volume
from tests.conftest import SHARED_DATA

MIRP = {  # case: (voxels, SUVmax, SUVmean, volume ml) from ../shared/data/README.md
    "STS_001": (5095, 7.9107, 2.5551, 366.08),
    "STS_002": (555, 21.6757, 7.3696, 54.28),
    "STS_003": (817, 10.2653, 5.8163, 79.90),
}


def _quantify(args: list[str]) -> dict:
    run = CliRunner().invoke(app, ["quantify", *args, "--json"])
    assert run.exit_code == 0, run.output
    return json.loads(run.stdout)


@pytest.mark.parametrize("case", sorted(MIRP))
def test_mirp_rtstruct_and_nifti(shared_data: Path, case: str) -> None:
    voxels, suv_max, suv_mean, volume_ml = MIRP[case]
    base = shared_data / "mirp-sts-suv" / case / "PET"
    image = str(base / "dicom" / "image")
    rt = _quantify(
        [image, "--rtstruct", str(base / "dicom" / "mask" / "RS.dcm"), "--roi", "GTV_Mass_PET"]
    )
    (lesion,) = rt["lesions"]
    assert abs(lesion["voxels"] - voxels) <= 0.03 * voxels
    assert lesion["suv_max"] == pytest.approx(suv_max, abs=1e-3)
    assert lesion["suv_mean"] == pytest.approx(suv_mean, rel=0.01)
    nifti = _quantify([image, "--mask", str(base / "nifti" / "mask" / "mask.nii.gz")])
    (lesion,) = nifti["lesions"]
    assert lesion["voxels"] == voxels
    assert lesion["suv_max"] == pytest.approx(suv_max, abs=5e-5)  # README: 4 decimals
    assert lesion["suv_mean"] == pytest.approx(suv_mean, abs=5e-5)
    assert lesion["volume_ml"] == pytest.approx(volume_ml, abs=5e-3)
    assert nifti["suv_factor"] == 1.0  # Units GML: already SUVbw


DROS = sorted(p.name for p in (SHARED_DATA / "ibsi-suv-dro").glob("DRO_*") if p.is_dir())


def test_all_dros_are_found() -> None:
    assert len(DROS) == 14


@pytest.mark.parametrize("dro", DROS)
def test_ibsi_dro_through_quantify(shared_data: Path, dro: str) -> None:
    folder = shared_data / "ibsi-suv-dro" / dro
    mask_path = folder / "mask" / "DRO_mask.nii.gz"
    data = _quantify([str(folder / "PT"), "--mask", str(mask_path)])
    (lesion,) = data["lesions"]
    # DRO_2_3 stores CM2ML with RescaleSlope 0.01: one stored step is 0.038 SUV (README).
    tol = 0.04 if dro == "DRO_2_3" else 0.005
    assert lesion["suv_max"] == pytest.approx(4.00, abs=tol)
    assert lesion["suv_min"] == pytest.approx(0.20, abs=tol)
    (entry,) = index_dicom_folder(folder / "PT").of_kind(SeriesKind.PT)
    pet = read_series_volume(entry)
    suv = suv_volume(pet, compute_suv(pet))
    mask = Volume.from_nifti(nib.load(mask_path)).array > 0
    assert float(np.median(suv.array[mask])) == pytest.approx(1.00, abs=tol)
