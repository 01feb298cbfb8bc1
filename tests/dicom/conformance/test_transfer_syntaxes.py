"""Conformance: transfer syntaxes a PACS may send (issue 12, build 1).

Every file of the shared MIRP STS_002 PET series (TCIA Soft-tissue-Sarcoma; signed 16-bit,
per-slice RescaleSlope) is re-encoded by an independent encoder — DCMTK's dcmconv, dcmcrle,
dcmcjpeg and dcmcjpls, or imagecodecs' OpenJPEG / OpenJPH for JPEG 2000 — and read back
with ``petdx suv``. Lossless: the SUV factor and SUVmax equal the original's (1e-6 relative)
and the stored values equal the original's exactly. Lossy: the result is flagged and warned
about; JPEG-LS near-lossless with NEAR = 2 must stay within 2 stored units of the original
(the codec's guarantee, ISO/IEC 14495-1), which bounds every SUV.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import imagecodecs
import numpy as np
import pydicom
import pytest
from pydicom.encaps import encapsulate
from pydicom.uid import JPEG2000, UID, HTJ2KLossless, JPEG2000Lossless
from typer.testing import CliRunner

from petdx.cli import app
from petdx.dicom import SeriesKind, index_dicom_folder, read_series_volume

REL = 1e-6


def _sts(shared_data: Path) -> Path:
    return shared_data / "mirp-sts-suv" / "STS_002" / "PET" / "dicom" / "image"


def _dcmtk(*args: str) -> Callable[[Path, Path], None]:
    def run(source: Path, target: Path) -> None:
        subprocess.run([*args, str(source), str(target)], check=True, capture_output=True)

    return run


def _imagecodecs(syntax: UID, encode: Callable[[np.ndarray], bytes], lossy: bool):
    def run(source: Path, target: Path) -> None:
        ds = pydicom.dcmread(source)
        ds.PixelData = encapsulate([encode(ds.pixel_array)])
        ds["PixelData"].VR = "OB"
        ds.file_meta.TransferSyntaxUID = syntax
        if lossy:
            ds.LossyImageCompression = "01"
            ds.LossyImageCompressionMethod = "ISO_15444_1"
        ds.save_as(target, enforce_file_format=True)

    return run


LOSSLESS = {
    "explicit-vr-big-endian": _dcmtk("dcmconv", "+tb"),
    "deflated-explicit-vr": _dcmtk("dcmconv", "+td"),
    "rle-lossless": _dcmtk("dcmcrle"),
    "jpeg-lossless-process-14-sv6": _dcmtk("dcmcjpeg", "+el"),
    "jpeg-lossless-sv1": _dcmtk("dcmcjpeg", "+e1"),
    "jpeg-ls-lossless": _dcmtk("dcmcjpls", "+el"),
    "jpeg-2000-lossless": _imagecodecs(
        JPEG2000Lossless,
        lambda a: imagecodecs.jpeg2k_encode(a, level=0, codecformat="J2K", reversible=True),
        False,
    ),
    "htj2k-lossless": _imagecodecs(
        HTJ2KLossless, lambda a: imagecodecs.htj2k_encode(a, level=0, reversible=True), False
    ),
}


def _transcode(source: Path, target: Path, convert: Callable[[Path, Path], None]) -> Path:
    target.mkdir(parents=True)
    for path in sorted(source.iterdir()):
        convert(path, target / path.name)
    return target


def _suv_cli(folder: Path) -> dict[str, object]:
    run = CliRunner().invoke(app, ["suv", str(folder), "--json"])
    assert run.exit_code == 0, run.output
    (series,) = json.loads(run.stdout)
    assert isinstance(series, dict)
    return series


def _stored(folder: Path) -> np.ndarray:
    (entry,) = index_dicom_folder(folder).of_kind(SeriesKind.PT)
    return read_series_volume(entry).volume.array


@pytest.mark.parametrize("variant", sorted(LOSSLESS))
def test_lossless_syntax_reads_like_the_original(
    variant: str, shared_data: Path, tmp_path: Path
) -> None:
    source = _sts(shared_data)
    folder = _transcode(source, tmp_path / variant, LOSSLESS[variant])
    syntax = pydicom.dcmread(next(folder.iterdir())).file_meta.TransferSyntaxUID
    assert syntax != pydicom.dcmread(next(source.iterdir())).file_meta.TransferSyntaxUID
    clean, coded = _suv_cli(source), _suv_cli(folder)
    for key in ("suv_factor", "suv_max"):
        assert coded[key] == pytest.approx(clean[key], rel=REL), key
    assert np.array_equal(_stored(folder), _stored(source))
    compression = str(coded["pixel_compression"])
    assert compression.startswith("lossless: " if syntax.is_compressed else "uncompressed")
    assert not any("lossy" in w for w in coded["warnings"])  # type: ignore[union-attr]


def test_near_lossless_jpeg_ls_is_flagged_and_within_its_bound(
    shared_data: Path, tmp_path: Path
) -> None:
    unsigned = tmp_path / "unsigned"
    unsigned.mkdir()
    for path in sorted(_sts(shared_data).iterdir()):
        ds = pydicom.dcmread(path)
        assert int(ds.pixel_array.min()) >= 0  # same values as unsigned 16-bit
        ds.PixelRepresentation = 0
        ds.save_as(unsigned / path.name)
    folder = _transcode(unsigned, tmp_path / "near", _dcmtk("dcmcjpls", "+en", "+md", "2"))
    clean, coded = _suv_cli(unsigned), _suv_cli(folder)
    assert "lossy: JPEG-LS Lossy (Near-Lossless)" in str(coded["pixel_compression"])
    assert any("lossy compressed" in w for w in coded["warnings"])  # type: ignore[union-attr]
    (entry,) = index_dicom_folder(folder).of_kind(SeriesKind.PT)
    series = read_series_volume(entry)
    assert series.pixel_encoding.lossy
    slopes = series.rescale_slopes[:, None, None]
    error = np.abs(series.volume.array - _stored(unsigned)) / slopes
    # NEAR = 2 stored units, plus float32 rounding of both rescaled volumes (stored values
    # up to 32767, float32 relative precision 6e-8: at most 0.004 units)
    assert error.max() <= 2 + 4e-3
    factor = float(clean["suv_factor"])  # type: ignore[arg-type]
    assert abs(float(coded["suv_max"]) - float(clean["suv_max"])) <= (  # type: ignore[arg-type]
        2 * float(slopes.max()) * factor * 1.0001
    )


def test_jpeg_2000_without_lossy_flag_is_treated_as_possibly_lossy(
    shared_data: Path, tmp_path: Path
) -> None:
    convert = _imagecodecs(
        JPEG2000,
        lambda a: imagecodecs.jpeg2k_encode(a, level=0, codecformat="J2K", reversible=True),
        False,
    )
    folder = _transcode(_sts(shared_data), tmp_path / "j2k", convert)
    assert _suv_cli(folder)["pixel_compression"] == "lossless: JPEG 2000 Image Compression"
    for path in folder.iterdir():  # the shared files say LossyImageCompression "00"; drop it
        ds = pydicom.dcmread(path)
        del ds.LossyImageCompression
        ds.save_as(path, enforce_file_format=True)
    coded = _suv_cli(folder)
    assert str(coded["pixel_compression"]).startswith("lossy: JPEG 2000 Image Compression")
    assert any("lossy compressed" in w for w in coded["warnings"])  # type: ignore[union-attr]


def test_every_decoder_agrees_on_each_syntax(shared_data: Path, tmp_path: Path) -> None:
    """imagecodecs (petdx's first choice) against pydicom's other plugins, frame by frame."""
    from pydicom.pixels import get_decoder, pixel_array

    source = next(iter(sorted(_sts(shared_data).iterdir())))
    reference = pydicom.dcmread(source).pixel_array
    compared = 0
    for variant, convert in LOSSLESS.items():
        target = tmp_path / f"{variant}.dcm"
        convert(source, target)
        syntax = pydicom.dcmread(target).file_meta.TransferSyntaxUID
        if not syntax.is_compressed:
            continue
        plugins = get_decoder(syntax).available_plugins
        assert "imagecodecs" in plugins, variant
        for plugin in plugins:
            try:
                decoded = pixel_array(target, decoding_plugin=plugin)
            except RuntimeError:
                continue  # e.g. pillow has no 16-bit JPEG; the others must agree
            assert np.array_equal(decoded, reference), (variant, plugin)
            compared += plugin != "imagecodecs"
    assert compared >= 7


def test_corrupt_compressed_file_names_file_and_syntax(shared_data: Path, tmp_path: Path) -> None:
    folder = _transcode(_sts(shared_data), tmp_path / "ls", _dcmtk("dcmcjpls", "+el"))
    broken = sorted(folder.iterdir())[5]
    ds = pydicom.dcmread(broken)
    ds.PixelData = encapsulate([b"\xff\xd8\xff\xf7" + b"\x00" * 64])
    ds.save_as(broken, enforce_file_format=True)
    run = CliRunner().invoke(app, ["suv", str(folder)])
    assert run.exit_code == 2, run.output
    text = " ".join(run.output.split())
    assert broken.name in text
    assert "JPEG-LS Lossless" in text


def test_ingested_copy_keeps_the_compressed_pixels(shared_data: Path, tmp_path: Path) -> None:
    """De-identification does not re-encode: the stored file keeps syntax and pixel bytes."""
    from petdx.dicom.deidentified_file import DeidentifiedFileEncoder
    from petdx.dicom.deidentify import DeidentificationSettings

    folder = _transcode(_sts(shared_data), tmp_path / "ls", _dcmtk("dcmcjpls", "+el"))
    path = sorted(folder.iterdir())[0]
    header = pydicom.dcmread(path)
    encoder = DeidentifiedFileEncoder(DeidentificationSettings(b"s" * 32, "SIM-0001"))
    out = tmp_path / "out.dcm"
    out.write_bytes(encoder.encode(header))
    stored = pydicom.dcmread(out)
    assert stored.file_meta.TransferSyntaxUID == header.file_meta.TransferSyntaxUID
    assert stored.PixelData == header.PixelData
    shutil.rmtree(folder)
