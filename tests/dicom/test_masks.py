"""NIfTI masks checked against the PET grid."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from petdx.dicom import read_nifti_mask, write_nifti_mask
from petdx.errors import GeometryError, GeometryWarning, Hint, InputValidationError
from petdx.image import Volume
from tests.quantify.phantoms import grid


def test_round_trip(tmp_path: Path) -> None:
    pet = grid((6, 7, 8), spacing_mm=(3.27, 4.6875, 4.6875), origin_mm=(-21.1, -86.7, -881.3))
    labels = np.zeros(pet.shape, dtype=np.uint32)
    labels[1:3, 2:5, 3:6] = 4
    labels[5, 6, 7] = 1
    path = write_nifti_mask(pet.with_array(labels), tmp_path / "labels.nii.gz")
    back = read_nifti_mask(path, pet)
    assert np.array_equal(back.array, labels)
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_geometry_mismatch_names_both_grids(tmp_path: Path) -> None:
    pet = grid((6, 7, 8))
    other = grid((6, 7, 8), origin_mm=(2.0, 0.0, 0.0))
    path = tmp_path / "shifted.nii.gz"
    nib.save(other.with_array(np.zeros(other.shape, np.uint8)).to_nifti(), path)
    with pytest.raises(GeometryError, match=r"Mask: shape .* origin LPS \(2\.00.*PET: shape"):
        read_nifti_mask(path, pet)
    spacing = tmp_path / "spacing.nii.gz"
    finer = grid((6, 7, 8), spacing_mm=(4.0, 4.0, 4.004))  # 0.028 mm off at the far edge
    nib.save(finer.with_array(np.zeros(finer.shape, np.uint8)).to_nifti(), spacing)
    with pytest.raises(GeometryError, match=r"resample: nearest or fraction") as refused:
        read_nifti_mask(spacing, pet)
    assert refused.value.hint == Hint("resample", ("nearest", "fraction"))
    assert "--" not in str(refused.value)  # the command line adds its flag


def test_cropped_mask_is_placed_on_the_pet_grid(tmp_path: Path) -> None:
    """A mask saved within its bounding box (whole-voxel offset) lands on its PET voxels;
    the voxels beyond the PET are dropped with a warning."""
    pet = grid((6, 7, 8))
    crop = grid((2, 3, 3), origin_mm=(4.0 * 6, 4.0 * 5, 4.0 * 4))  # starts at (k4, j5, i6)
    values = np.zeros(crop.shape, np.uint8)
    values[1, 1, 1] = 3  # PET (5, 6, 7)
    values[1, 2, 2] = 3  # PET (5, 7, 8): outside the 7 x 8 plane
    path = tmp_path / "crop.nii.gz"
    nib.save(crop.with_array(values).to_nifti(), path)
    with pytest.warns(GeometryWarning, match="1 labelled voxel.*outside the PET"):
        labels = read_nifti_mask(path, pet)
    assert np.argwhere(labels.array).tolist() == [[5, 6, 7]]
    assert labels.array[5, 6, 7] == 3


def test_bad_values_and_files(tmp_path: Path) -> None:
    pet = grid((3, 3, 3))
    fractional = tmp_path / "prob.nii.gz"
    nib.save(pet.with_array(np.full(pet.shape, 0.4, np.float32)).to_nifti(), fractional)
    with pytest.raises(InputValidationError, match="non-integer values"):
        read_nifti_mask(fractional, pet)
    negative = tmp_path / "neg.nii.gz"
    nib.save(pet.with_array(np.full(pet.shape, -1, np.int16)).to_nifti(), negative)
    with pytest.raises(InputValidationError, match="negative"):
        read_nifti_mask(negative, pet)
    junk = tmp_path / "junk.nii.gz"
    junk.write_bytes(b"not a nifti")
    with pytest.raises(InputValidationError, match="not a readable NIfTI"):
        read_nifti_mask(junk, pet)
    float_labels = tmp_path / "float_labels.nii.gz"
    nib.save(pet.with_array(np.full(pet.shape, 2.0, np.float32)).to_nifti(), float_labels)
    assert np.all(read_nifti_mask(float_labels, pet).array == 2)


def test_ibsi_dro_masks_lie_on_their_pet_grid(shared_data: Path) -> None:
    """MIRP wrote the IBSI DRO masks; petdx's LPS/RAS conventions put them on the PET grid."""
    from petdx.dicom import SeriesKind, index_dicom_folder, read_series_volume

    folder = shared_data / "ibsi-suv-dro" / "DRO_0_0"
    (entry,) = index_dicom_folder(folder / "PT").of_kind(SeriesKind.PT)
    pet: Volume = read_series_volume(entry).volume
    mask = read_nifti_mask(folder / "mask" / "DRO_mask.nii.gz", pet)
    assert mask.array.any()
