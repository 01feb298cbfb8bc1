"""PET/MR headers as the vendors write them: PET read as PET, MR series classified, mu-maps kept
out of reading and linked to their PET by FrameOfReferenceUID.

The header values follow the vendors' naming (Siemens Biograph mMR Dixon-VIBE MRAC series
"..._in", "..._opp", "..._W", "..._F", "..._UMAP" with ImageType ``DIXON``/``W``/``F``; GE SIGNA
PET/MR ``WATER``/``FAT`` image types and "MRAC" series; UIH uPMR). The expected kinds are the
DICOM SOP classes of PS3.4 Annex B read with pydicom's UID constants, not petdx output.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import MRImageStorage, PositronEmissionTomographyImageStorage, generate_uid

from petdx.dicom import MrContrast, SeriesKind, classify, index_dicom_files, mr_contrast


def _header(
    sop_class: str, modality: str, manufacturer: str, model: str, **values: object
) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.Modality = modality
    ds.Manufacturer = manufacturer
    ds.ManufacturerModelName = model
    for key, value in values.items():
        setattr(ds, key, value)
    return ds


@pytest.mark.parametrize(
    ("manufacturer", "model", "description"),
    [
        ("SIEMENS", "Biograph_mMR", "Head_MRAC_PET_AC Images"),
        ("GE MEDICAL SYSTEMS", "SIGNA PET/MR", "WB MRAC PET"),
        ("UIH", "uPMR 790", "WB_PET_MRAC"),
    ],
)
def test_pet_from_pet_mr_scanners_is_pet(manufacturer: str, model: str, description: str) -> None:
    """The PET reconstruction's name carries "MRAC" on every vendor: it stays a PET."""
    ds = _header(
        PositronEmissionTomographyImageStorage,
        "PT",
        manufacturer,
        model,
        SeriesDescription=description,
        ImageType=["ORIGINAL", "PRIMARY"],
        AttenuationCorrectionMethod="MR-based",
    )
    assert classify(ds) is SeriesKind.PT


@pytest.mark.parametrize(
    ("manufacturer", "image_type", "description", "expected"),
    [
        ("SIEMENS", ["DERIVED", "PRIMARY", "DIXON", "W"], "MRAC_PET_AC_Dixon_W", "dixon_water"),
        ("SIEMENS", ["DERIVED", "PRIMARY", "DIXON", "F"], "MRAC_PET_AC_Dixon_F", "dixon_fat"),
        ("SIEMENS", ["ORIGINAL", "PRIMARY", "DIXON", "IN_PHASE"], "MRAC_PET_AC_Dixon_in", "in"),
        ("SIEMENS", ["ORIGINAL", "PRIMARY", "DIXON", "OPP_PHASE"], "MRAC_PET_AC_Dixon_opp", "opp"),
        ("GE MEDICAL SYSTEMS", ["DERIVED", "PRIMARY", "WATER"], "WATER: LAVA-Flex", "dixon_water"),
        ("GE MEDICAL SYSTEMS", ["DERIVED", "PRIMARY", "FAT"], "FAT: LAVA-Flex", "dixon_fat"),
        ("SIEMENS", ["ORIGINAL", "PRIMARY", "M", "ND"], "t1_vibe_tra", "t1"),
        ("UIH", ["ORIGINAL", "PRIMARY", "M"], "t2_fse_tra", "t2"),
    ],
)
def test_anatomical_mr_series_are_mr_with_their_contrast(
    manufacturer: str, image_type: list[str], description: str, expected: str
) -> None:
    ds = _header(
        MRImageStorage,
        "MR",
        manufacturer,
        "any",
        ImageType=image_type,
        SeriesDescription=description,
    )
    assert classify(ds) is SeriesKind.MR
    aliases = {"in": "dixon_in_phase", "opp": "dixon_opposed_phase"}
    assert mr_contrast(ds) is MrContrast(aliases.get(expected, expected))


@pytest.mark.parametrize(
    ("sop_class", "manufacturer", "image_type", "description"),
    [
        (MRImageStorage, "SIEMENS", ["DERIVED", "PRIMARY", "M", "UMAP"], "MRAC_PET_AC_Dixon_UMAP"),
        (MRImageStorage, "SIEMENS", ["DERIVED", "PRIMARY"], "Head_MRAC_UTE_UMAP"),
        (MRImageStorage, "GE MEDICAL SYSTEMS", ["DERIVED", "SECONDARY"], "MRAC"),
        (MRImageStorage, "GE MEDICAL SYSTEMS", ["DERIVED", "SECONDARY"], "PET AC map"),
        (MRImageStorage, "UIH", ["DERIVED", "SECONDARY"], "mu-map"),
        (PositronEmissionTomographyImageStorage, "SIEMENS", ["DERIVED"], "PET mu-map"),
    ],
)
def test_attenuation_maps_are_recognised(
    sop_class: str, manufacturer: str, image_type: list[str], description: str
) -> None:
    modality = "PT" if sop_class == PositronEmissionTomographyImageStorage else "MR"
    ds = _header(
        sop_class,
        modality,
        manufacturer,
        "any",
        ImageType=image_type,
        SeriesDescription=description,
    )
    assert classify(ds) is SeriesKind.MR_AC


def _instance(tmp_path: Path, name: str, ds: Dataset, study: str, series: str, frame: str) -> Path:
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.FrameOfReferenceUID = frame
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path = tmp_path / name
    ds.save_as(path, enforce_file_format=True)
    return path


def test_a_mu_map_is_linked_to_its_pet_by_frame_of_reference(tmp_path: Path) -> None:
    study, frame, other_frame = generate_uid(), generate_uid(), generate_uid()
    pet = _header(PositronEmissionTomographyImageStorage, "PT", "SIEMENS", "Biograph_mMR")
    umap = _header(MRImageStorage, "MR", "SIEMENS", "Biograph_mMR", SeriesDescription="x_UMAP")
    stray = _header(MRImageStorage, "MR", "SIEMENS", "Biograph_mMR", SeriesDescription="y_UMAP")
    water = _header(
        MRImageStorage, "MR", "SIEMENS", "Biograph_mMR", ImageType=["DERIVED", "DIXON", "W"]
    )
    paths = [
        _instance(tmp_path, "pet.dcm", pet, study, "1.2.3.1", frame),
        _instance(tmp_path, "umap.dcm", umap, study, "1.2.3.2", frame),
        _instance(tmp_path, "stray.dcm", stray, study, "1.2.3.3", other_frame),
        _instance(tmp_path, "water.dcm", water, study, "1.2.3.4", frame),
    ]
    index = index_dicom_files(paths)
    (pet_entry,) = index.of_kind(SeriesKind.PT)
    assert [s.series_instance_uid for s in index.attenuation_maps_of(pet_entry)] == ["1.2.3.2"]
    assert [s.series_instance_uid for s in index.of_kind(SeriesKind.MR)] == ["1.2.3.4"]


def test_attenuation_correction_method_goes_with_every_result(tmp_path: Path) -> None:
    """AttenuationCorrectionMethod (0054,1101) as a Biograph mMR writes it is carried into
    the SUV result, ``petdx suv --json``, the quantify result and its measurement table."""
    import json

    import numpy as np
    from typer.testing import CliRunner

    from petdx.cli import app
    from petdx.dicom import read_series_volume
    from petdx.suv import compute_suv
    from tests.factories import pet_series, save_series

    method = r"measured\MR-based (Dixon)"  # a multi-valued LO as some scanners write it
    series = pet_series(4, stored_value=1000)
    for k, ds in enumerate(series):
        ds.AttenuationCorrectionMethod = method
        pixels = np.full((8, 8), 100, dtype="<i2")
        if k in (1, 2):
            pixels[2:5, 2:5] = 5000  # a hot cube around the seed
        ds.PixelData = pixels.tobytes()
    folder = tmp_path / "pet"
    save_series(series, folder)
    (entry,) = index_dicom_files(sorted(folder.iterdir())).of_kind(SeriesKind.PT)
    stated = str(series[0].AttenuationCorrectionMethod)  # pydicom's text of the value
    result = compute_suv(read_series_volume(entry))
    assert result.attenuation_correction_method == stated
    assert result.to_dict()["attenuation_correction_method"] == stated

    runner = CliRunner()
    run = runner.invoke(app, ["suv", str(folder), "--json"])
    assert run.exit_code == 0, run.output
    rows = json.loads(run.stdout)
    rows = rows if isinstance(rows, list) else rows["series"]
    assert [r["attenuation_correction_method"] for r in rows] == [stated]

    out = tmp_path / "out"
    centre = "12,12,6"  # LPS mm: voxel (k 1.5, j 3, i 3)
    run = runner.invoke(
        app,
        [
            "quantify",
            str(folder),
            "--seed",
            centre,
            "--method",
            "fixed:1",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert run.exit_code == 0, run.output
    (time_point,) = json.loads(run.stdout)["time_points"]
    assert time_point["attenuation_correction_method"] == stated
    import pandas as pd

    table = pd.read_csv(next(out.glob("*.csv")))
    assert set(table["attenuation_correction_method"]) == {stated}
    assert np.isfinite(table["suv_max"]).all()
