"""Conformance: DICOM SEGs from other tools (issue 12, build 3).

The look-alike of dcmqi's SEG over a whole-body PET: petdx writes a SEG of the shared MIRP
STS_002 tumour mask (the NIfTI mask of the MIRP test data, rasterised by another tool), then
every SpatialLocationsPreserved (0028,135A) is removed from the frames' references and every
PlanePositionSequence position is moved by up to 0.05 mm (DS rounding). Expected: the same
per-lesion values as the clean SEG (and as the NIfTI mask), with a warning; a SEG shifted by
half a voxel stays refused with exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
from typer.testing import CliRunner

from petdx.cli import app
from petdx.dicom import SeriesKind, index_dicom_folder, read_series_volume
from petdx.dicom.masks import read_nifti_mask
from petdx.dicom.seg import write_seg

REL = 1e-6
METRICS = ("voxels", "volume_ml", "suv_max", "suv_peak_local", "suv_mean", "tlg")


def _pet(shared_data: Path) -> Path:
    return shared_data / "mirp-sts-suv" / "STS_002" / "PET" / "dicom" / "image"


def _clean_seg(shared_data: Path, path: Path) -> Path:
    (entry,) = index_dicom_folder(_pet(shared_data)).of_kind(SeriesKind.PT)
    series = read_series_volume(entry)
    mask = shared_data / "mirp-sts-suv" / "STS_002" / "PET" / "nifti" / "mask" / "mask.nii.gz"
    labels = read_nifti_mask(mask, series.volume)
    write_seg(labels.with_array((labels.array > 0).astype(np.uint32)), series, path)
    return path


def _dcmqi_like(clean: Path, target: Path, shift_mm: float, *, alternate: bool = True) -> Path:
    """Drop SpatialLocationsPreserved; move each frame's position by shift_mm (alternating
    in sign from frame to frame, as rounding does, or all the same way)."""
    ds = pydicom.dcmread(clean)
    for k, item in enumerate(ds.PerFrameFunctionalGroupsSequence):
        for derivation in item.DerivationImageSequence:
            for source in derivation.SourceImageSequence:
                if "SpatialLocationsPreserved" in source:
                    del source.SpatialLocationsPreserved
        plane = item.PlanePositionSequence[0]
        sign = -1 if alternate and k % 2 == 0 else 1
        x, y, z = (float(v) for v in plane.ImagePositionPatient)
        plane.ImagePositionPatient = [x + sign * shift_mm, y, z - sign * shift_mm]
    ds.save_as(target, enforce_file_format=True)
    return target


def _quantify(pet: Path, seg: Path, out: Path) -> tuple[int, str, dict[str, object] | None]:
    run = CliRunner().invoke(
        app, ["quantify", str(pet), "--seg", str(seg), "--out", str(out), "--json"]
    )
    data = json.loads(run.stdout) if run.exit_code == 0 else None
    return run.exit_code, " ".join(run.output.split()), data


def test_seg_without_spatial_locations_preserved_and_rounded_positions(
    shared_data: Path, tmp_path: Path
) -> None:
    clean = _clean_seg(shared_data, tmp_path / "clean.dcm")
    odd = _dcmqi_like(clean, tmp_path / "dcmqi-like.dcm", shift_mm=0.05)
    assert "SpatialLocationsPreserved" not in str(pydicom.dcmread(odd))
    code, _, reference = _quantify(_pet(shared_data), clean, tmp_path / "a")
    assert code == 0
    code, text, result = _quantify(_pet(shared_data), odd, tmp_path / "b")
    assert code == 0, text
    assert reference is not None
    assert result is not None
    (want,), (got,) = reference["lesions"], result["lesions"]  # type: ignore[misc]
    for key in METRICS:
        assert got[key] == pytest.approx(want[key], rel=REL), key
    # the MIRP README's values inside the NIfTI mask: 555 voxels, SUVmax 21.6757
    assert got["suv_max"] == pytest.approx(21.6757, abs=1e-4)
    assert got["voxels"] == 555
    assert "without SpatialLocationsPreserved" in text


def test_seg_shifted_half_a_voxel_is_refused(shared_data: Path, tmp_path: Path) -> None:
    clean = _clean_seg(shared_data, tmp_path / "clean.dcm")
    spacing = float(pydicom.dcmread(next(_pet(shared_data).iterdir())).PixelSpacing[0])
    odd = _dcmqi_like(clean, tmp_path / "shifted.dcm", shift_mm=spacing / 2, alternate=False)
    code, text, _ = _quantify(_pet(shared_data), odd, tmp_path / "c")
    assert code == 2, text
    assert "shifted.dcm" in text
    assert "does not coincide with the PET grid" in text
