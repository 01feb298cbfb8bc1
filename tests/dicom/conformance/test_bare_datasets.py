"""Bare data sets (no preamble, no 'DICM', no File Meta) and runs that read nothing (issue 22).

The bare files are made from a shared series (IBSI SUV DRO, ../shared/data/ibsi-suv-dro) by
writing its data set with pydicom without preamble or File Meta, in Implicit and in Explicit
VR Little Endian - as Orthanc's test archive keeps a Philips GEMINI TF file. The oracle is the
untouched original series read the normal way (expected SUVmax 4.00 per the data README).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import FileMetaDataset
from typer.testing import CliRunner

from petdx.cli.app import app
from petdx.dicom import SeriesKind, index_dicom_folder, read_series_volume
from petdx.dicom.discovery import bare_dataset_syntax
from petdx.suv import compute_suv, suv_volume


def _dro_series(shared_data: Path) -> Path:
    return shared_data / "ibsi-suv-dro" / "DRO_0_0" / "PT"


def _suv(folder: Path) -> tuple[float, float, list[str]]:
    (entry,) = index_dicom_folder(folder).of_kind(SeriesKind.PT)
    series = read_series_volume(entry)
    result = compute_suv(series)
    return result.suv_factor, float(np.max(suv_volume(series, result).array)), result.warnings


def _write_bare(source: Path, target: Path, *, implicit: bool) -> None:
    target.mkdir(parents=True)
    for path in sorted(source.iterdir()):
        ds = pydicom.dcmread(path)
        ds.file_meta = FileMetaDataset()
        ds.preamble = None
        pydicom.dcmwrite(
            target / path.name,
            ds,
            implicit_vr=implicit,
            little_endian=True,
            enforce_file_format=False,
        )


@pytest.mark.parametrize("implicit", [True, False], ids=["implicit-vr", "explicit-vr"])
def test_bare_dataset_reads_as_the_original(
    shared_data: Path, tmp_path: Path, implicit: bool
) -> None:
    source = _dro_series(shared_data)
    bare = tmp_path / "bare"
    _write_bare(source, bare, implicit=implicit)
    first = sorted(bare.iterdir())[0].read_bytes()
    assert first[128:132] != b"DICM"
    assert first[:2] == b"\x08\x00"
    expected = "1.2.840.10008.1.2" if implicit else "1.2.840.10008.1.2.1"
    assert bare_dataset_syntax(first[:1200], len(first)) == expected

    factor, suv_max, warnings = _suv(bare)
    ref_factor, ref_max, _ = _suv(source)
    assert factor == pytest.approx(ref_factor, rel=1e-12)
    assert suv_max == pytest.approx(ref_max, rel=1e-6)
    assert suv_max == pytest.approx(4.00, abs=0.005)  # the DRO's documented hot sphere
    name = "Implicit" if implicit else "Explicit"
    assert any("no File Meta Information" in w and name in w for w in warnings), warnings


def test_random_and_text_files_stay_non_dicom(tmp_path: Path) -> None:
    rng = np.random.default_rng(22)
    samples = {
        "random.bin": rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "notes.txt": b"Patient list\nSIM-0001, 2026-01-01\n" * 20,
        # Starts like a group 0008 element, then text: neither VR nor length is valid.
        "plausible.txt": b"\x08\x00\x05\x00hello world, this is not DICOM at all\n" * 10,
        "one-element.bin": b"\x08\x00\x16\x00UI\x04\x001.2\x00" + b"\xff" * 64,
    }
    for name, data in samples.items():
        (tmp_path / name).write_bytes(data)
        assert bare_dataset_syntax(data[:1200], len(data)) is None, name
    index = index_dicom_folder(tmp_path)
    assert sorted(p.name for p in index.non_dicom) == sorted(samples)
    assert not index.series


def test_folder_of_unreadable_files_exits_2_naming_the_reasons(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not an image\n")
    (tmp_path / "b.bin").write_bytes(b"\x00" * 300)
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(b"\x00" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\xff\xff")
    run = CliRunner().invoke(app, ["suv", str(tmp_path), "--json"])
    assert run.exit_code == 2, run.output
    text = " ".join(run.output.split())
    assert "no PET series could be read" in text
    assert "2 file(s) not DICOM" in text
    assert "notes.txt" in text
    assert "1 file(s) unreadable DICOM" in text
    assert "broken.dcm" in text


def test_folder_of_only_a_non_pet_series_exits_2(shared_data: Path, tmp_path: Path) -> None:
    rtstruct = next((shared_data / "ibsi-suv-dro" / "DRO_0_0" / "RS").iterdir())
    (tmp_path / rtstruct.name).write_bytes(rtstruct.read_bytes())
    run = CliRunner().invoke(app, ["suv", str(tmp_path)])
    assert run.exit_code == 2, run.output
    assert "1 RTSTRUCT series" in " ".join(run.output.split())
