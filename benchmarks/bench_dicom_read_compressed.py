"""Read a 600-slice whole-body PET series stored compressed — JPEG Lossless SV1 (DCMTK
``dcmcjpeg +e1``) and JPEG-LS lossless (``dcmcjpls +el``) — with petdx and with SimpleITK's
ImageSeriesReader (GDCM decodes it), in the same run, from the same files (issue 12).

The pixels are a Poisson-noise body ellipse (realistic entropy, unlike uniform noise), with
per-slice RescaleSlope; both sides start from the folder and apply the rescale. The values
must agree before anything is timed.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np
from tests.factories import pet_series, save_series

from benchmarks._timing import measure, report
from benchmarks.bench_dicom_read import _petdx, _simpleitk

N_SLICES = 600
MATRIX = 256
ENCODERS = {
    "JPEG Lossless SV1": ["dcmcjpeg", "+e1"],
    "JPEG-LS lossless": ["dcmcjpls", "+el"],
}


def _write_series(folder: Path) -> None:
    rng = np.random.default_rng(0)
    series = pet_series(N_SLICES, rows=MATRIX, cols=MATRIX, spacing_mm=3.0)
    yy, xx = np.mgrid[:MATRIX, :MATRIX]
    body = ((yy - 128) / 100.0) ** 2 + ((xx - 128) / 120.0) ** 2 < 1
    for k, ds in enumerate(series):
        ds.RescaleSlope = f"{0.5 + 0.001 * k:.4f}"
        ds.PixelData = rng.poisson(body * 800.0 + 50.0).astype("<i2").tobytes()
    save_series(series, folder)


def _encode(source: Path, target: Path, command: list[str]) -> None:
    target.mkdir(parents=True)
    for path in sorted(source.iterdir()):
        subprocess.run([*command, str(path), str(target / path.name)], check=True)


def run() -> str:
    texts = []
    with tempfile.TemporaryDirectory(prefix="petdx-bench-") as tmp:
        raw = Path(tmp) / "raw"
        _write_series(raw)
        for name, command in ENCODERS.items():
            folder = Path(tmp) / name.replace(" ", "-")
            _encode(raw, folder, command)
            ours, peer = _petdx(folder), _simpleitk(folder)
            assert ours.shape == peer.shape == (N_SLICES, MATRIX, MATRIX)
            assert np.allclose(ours, peer, rtol=1e-5), "petdx and SimpleITK disagree"
            assert np.array_equal(ours, _petdx(raw)), "lossless decode differs from original"
            texts.append(
                report(
                    f"Read a {N_SLICES}-slice {MATRIX}x{MATRIX} PET series, {name}",
                    measure("petdx (imagecodecs, threads)", lambda f=folder: _petdx(f), repeat=5),
                    measure(
                        "SimpleITK ImageSeriesReader (GDCM)",
                        lambda f=folder: _simpleitk(f),
                        repeat=5,
                    ),
                    goal="petdx no slower than SimpleITK (ratio >= 1)",
                )
            )
    return "".join(texts)
