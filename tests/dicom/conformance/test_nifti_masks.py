"""Conformance: NIfTI masks as other tools write them (issue 12, build 3).

The MIRP STS_002 tumour mask (``PET/nifti/mask/mask.nii.gz`` of the shared data, written by
MIRP, not by petdx) is re-saved by nibabel in the axis orders and directions 3D Slicer
(RAS), dcm2niix and TotalSegmentator (LAS), ITK-SNAP and SimpleITK (LPS-ordered arrays) and
permuted tools write, with the qform only, the sform only, and a cropped extent: every copy
must give the original's 555 voxels on the PET grid, exactly. A copy drawn on a finer
"CT" grid is refused without ``--resample`` and, with it, comes back onto the PET.
"""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from nibabel.orientations import axcodes2ornt, io_orientation, ornt_transform
from typer.testing import CliRunner

from petdx.cli import app
from petdx.dicom import SeriesKind, index_dicom_folder, read_series_volume
from petdx.dicom.masks import read_nifti_mask
from petdx.errors import GeometryWarning
from petdx.image import Volume


def _pet_dir(shared_data: Path) -> Path:
    return shared_data / "mirp-sts-suv" / "STS_002" / "PET" / "dicom" / "image"


def _mirp_mask(shared_data: Path) -> Path:
    return shared_data / "mirp-sts-suv" / "STS_002" / "PET" / "nifti" / "mask" / "mask.nii.gz"


@pytest.fixture(scope="module")
def pet_grid(shared_data: Path) -> Volume:
    (entry,) = index_dicom_folder(_pet_dir(shared_data)).of_kind(SeriesKind.PT)
    return read_series_volume(entry).volume


@pytest.fixture(scope="module")
def reference(shared_data: Path, pet_grid: Volume) -> np.ndarray:
    labels = np.asarray(read_nifti_mask(_mirp_mask(shared_data), pet_grid).array)
    assert int((labels > 0).sum()) == 555  # the MIRP README's voxel count
    return labels


@pytest.mark.parametrize(
    "codes",
    [("R", "A", "S"), ("L", "A", "S"), ("L", "P", "S"), ("P", "S", "R"), ("I", "L", "P")],
    ids=["RAS-slicer", "LAS-dcm2niix", "LPS-itk", "PSR-permuted", "ILP-permuted"],
)
def test_orientations_read_exactly(
    shared_data: Path,
    tmp_path: Path,
    pet_grid: Volume,
    reference: np.ndarray,
    codes: tuple[str, str, str],
) -> None:
    image = nib.load(_mirp_mask(shared_data))
    turned = image.as_reoriented(ornt_transform(io_orientation(image.affine), axcodes2ornt(codes)))
    assert nib.aff2axcodes(turned.affine) == codes
    path = tmp_path / f"mask_{''.join(codes)}.nii.gz"
    nib.save(turned, path)
    assert np.array_equal(read_nifti_mask(path, pet_grid).array, reference)


@pytest.mark.parametrize("keep", ["qform", "sform"])
def test_qform_only_and_sform_only(
    shared_data: Path, tmp_path: Path, pet_grid: Volume, reference: np.ndarray, keep: str
) -> None:
    image = nib.load(_mirp_mask(shared_data))
    data = np.asarray(image.dataobj)
    copy = nib.Nifti1Image(data, None)
    if keep == "qform":
        copy.set_qform(image.affine, code=1)
        copy.set_sform(None, code=0)
    else:
        copy.set_sform(image.affine, code=2)
        copy.set_qform(None, code=0)
    path = tmp_path / f"{keep}.nii.gz"
    nib.save(copy, path)
    reread = nib.load(path)
    assert int(reread.header[f"{keep}_code"]) > 0
    assert int(reread.header[f"{'sform' if keep == 'qform' else 'qform'}_code"]) == 0
    assert np.array_equal(read_nifti_mask(path, pet_grid).array, reference)


def test_cropped_extent_read_exactly(
    shared_data: Path, tmp_path: Path, pet_grid: Volume, reference: np.ndarray
) -> None:
    """3D Slicer saves a segment within its bounding box: the same voxels, a shifted origin."""
    image = nib.load(_mirp_mask(shared_data))
    data = np.asarray(image.dataobj)
    where = np.argwhere(data > 0)
    low, high = where.min(axis=0), where.max(axis=0) + 1
    cropped = image.slicer[low[0] : high[0], low[1] : high[1], low[2] : high[2]]
    path = tmp_path / "cropped.nii.gz"
    nib.save(cropped, path)
    assert cropped.shape != image.shape
    assert np.array_equal(read_nifti_mask(path, pet_grid).array, reference)


def _ct_grid_copy(shared_data: Path, pet_grid: Volume, reference: np.ndarray, path: Path) -> None:
    """The mask drawn on a CT-like grid: 0.977 mm pixels, 1.5 mm slices, origin 0.3 mm off;
    each CT voxel takes the PET mask's label at its centre (numpy look-up)."""
    spacing = np.array([1.5, 0.9765625, 0.9765625])
    box = np.argwhere(reference > 0)
    low = pet_grid.index_to_patient_mm(box.min(axis=0) - 2.0)
    ct_extent = (np.ptp(box, axis=0) + 5) * np.asarray(pet_grid.spacing_mm) / spacing
    shape = tuple(int(v) for v in np.ceil(ct_extent))
    affine = np.eye(4)
    affine[:3, :3] = pet_grid.affine[:3, :3] / np.asarray(pet_grid.spacing_mm) * spacing
    affine[:3, 3] = low + 0.3
    kk, jj, ii = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    centres = np.stack([kk, jj, ii], axis=-1) @ affine[:3, :3].T + affine[:3, 3]
    index = np.rint(pet_grid.patient_mm_to_index(centres)).astype(int)
    inside = np.all((index >= 0) & (index < np.asarray(pet_grid.shape)), axis=-1)
    ct = np.zeros(shape, np.uint8)
    ct[inside] = reference[tuple(index[inside].T)]
    nib.save(Volume(ct, affine).to_nifti(), path)


def _quantify(pet: Path, mask: Path, *extra: str) -> tuple[int, str, dict[str, object] | None]:
    run = CliRunner().invoke(app, ["quantify", str(pet), "--mask", str(mask), "--json", *extra])
    data = json.loads(run.stdout) if run.exit_code == 0 else None
    return run.exit_code, " ".join(run.stderr.split()), data


def test_ct_grid_mask_resampled_only_on_request(
    shared_data: Path, tmp_path: Path, pet_grid: Volume, reference: np.ndarray
) -> None:
    ct_mask = tmp_path / "ct_mask.nii.gz"
    _ct_grid_copy(shared_data, pet_grid, reference, ct_mask)
    code, text, _ = _quantify(_pet_dir(shared_data), ct_mask)
    assert code == 2
    assert "ct_mask.nii.gz" in text
    assert "not on the PET grid" in text
    assert "--resample nearest|fraction" in text

    code, _, original = _quantify(_pet_dir(shared_data), _mirp_mask(shared_data))
    assert code == 0
    assert original is not None
    (want,) = original["lesions"]  # type: ignore[misc]
    for rule in ("fraction", "nearest"):
        code, text, result = _quantify(_pet_dir(shared_data), ct_mask, "--resample", rule)
        assert code == 0, text
        assert f"resampled onto the PET grid by the '{rule}' rule" in text
        assert result is not None
        (got,) = result["lesions"]  # type: ignore[misc]
        # the CT copy holds the PET voxels' own labels: back on the PET, the lesion keeps
        # its voxels up to a boundary layer, its SUVmax exactly
        assert got["suv_max"] == want["suv_max"]
        assert got["volume_ml"] == pytest.approx(want["volume_ml"], rel=0.03), rule
        assert got["suv_mean"] == pytest.approx(want["suv_mean"], rel=0.02), rule

    with pytest.warns(GeometryWarning, match=r"label 1 54\.\d -> 5\d\.\d ml"):
        labels = read_nifti_mask(ct_mask, pet_grid, resample="fraction")
    agree = np.mean((np.asarray(labels.array) > 0) == (reference > 0))
    assert agree > 0.999
