"""Lesion quantification on a synthetic whole-body SUV volume with 100 lesions.

1. All lesions quantified by petdx (``quantify_lesions``: SUVmax, both SUVpeaks, mean, SD,
   min, MTV, TLG, longest diameter, centroid) and, on the same masks, by PyRadiomics 3.0.1
   (``RadiomicsFeatureExtractor`` with first-order Maximum and Mean and shape VoxelVolume
   only, one ``execute`` per lesion label, as its users call it). PyRadiomics runs in its own
   environment (``.venv-bench``, built by ``make bench``; it is not a petdx dependency) in a
   subprocess, timed inside that process on arrays loaded once. Values must agree to 1e-6.
2. Global SUVpeak of the 100 lesions: petdx (sphere-kernel correlation restricted to each
   lesion's bounding box) against the whole-image approach (``scipy.signal.fftconvolve`` of
   the full volume with the same kernel, then the maximum over each lesion). Equal values.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from scipy import ndimage, signal

from benchmarks._timing import Timing, measure, report
from petdx.image import Volume
from petdx.quantify import quantify_lesions, suv_peak_global
from petdx.segment import SUV_PEAK_RADIUS_MM, ball_kernel

SHAPE = (480, 200, 200)  # z, y, x: a 1.9 m whole-body scan on 4 mm voxels
SPACING_MM = (4.0, 4.0, 4.0)
N_LESIONS = 100
_REPO = Path(__file__).resolve().parents[1]
BENCH_PYTHON = Path(os.environ.get("PETDX_BENCH_PYTHON", _REPO / ".venv-bench" / "bin" / "python"))


def whole_body(seed: int = 0) -> tuple[Volume, Volume]:
    """SUV volume and label map: a body cylinder (SUV ~1 with noise) and 100 spherical
    lesions (radius 4-25 mm, SUV 3-15), not touching each other."""
    rng = np.random.default_rng(seed)
    affine = np.eye(4)
    affine[:3, 0] = (0.0, 0.0, SPACING_MM[0])
    affine[:3, 1] = (0.0, SPACING_MM[1], 0.0)
    affine[:3, 2] = (SPACING_MM[2], 0.0, 0.0)
    _, jj, ii = np.indices(SHAPE, sparse=True)
    body = ((jj - 100) / 60.0) ** 2 + ((ii - 100) / 90.0) ** 2 <= 1.0
    body = np.broadcast_to(body, SHAPE)
    suv = np.where(body, 1.0, 0.02) * rng.gamma(25.0, 1 / 25.0, SHAPE)
    labels = np.zeros(SHAPE, dtype=np.uint16)
    placed = 0
    while placed < N_LESIONS:
        r_mm = rng.uniform(4.0, 25.0)
        r = r_mm / SPACING_MM[0]
        c = np.array([rng.uniform(10, SHAPE[0] - 10), rng.uniform(60, 140), rng.uniform(40, 160)])
        lo = np.maximum(np.floor(c - r - 2).astype(int), 0)
        hi = np.minimum(np.ceil(c + r + 3).astype(int), SHAPE)
        box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
        if labels[box].any():
            continue
        z, y, x = np.ogrid[box]
        inside = (z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2 <= r * r
        if not inside.any():
            continue
        placed += 1
        labels[box][inside] = placed
        suv[box][inside] = rng.uniform(3.0, 15.0) * rng.gamma(25.0, 1 / 25.0, int(inside.sum()))
    suv = ndimage.gaussian_filter(suv, 0.7).astype(np.float32)
    return Volume(suv, affine), Volume(labels, affine)


def _pyradiomics(suv: Volume, labels: Volume, repeat: int) -> tuple[Timing, dict[int, list]]:
    if not BENCH_PYTHON.exists():
        raise SystemExit(
            f"{BENCH_PYTHON} not found: run `make bench` (it builds .venv-bench with "
            "PyRadiomics 3.0.1), or set PETDX_BENCH_PYTHON."
        )
    with tempfile.TemporaryDirectory(prefix="petdx-bench-") as tmp:
        np.save(Path(tmp) / "image.npy", suv.array)
        np.save(Path(tmp) / "labels.npy", labels.array)
        dz, dy, dx = suv.spacing_mm
        run = subprocess.run(
            [
                str(BENCH_PYTHON),
                str(Path(__file__).with_name("_pyradiomics_worker.py")),
                str(Path(tmp) / "image.npy"),
                str(Path(tmp) / "labels.npy"),
                f"{dx},{dy},{dz}",
                str(repeat),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    data = json.loads(run.stdout.strip().splitlines()[-1])
    features = {int(k): v for k, v in data["features"].items()}
    return Timing("PyRadiomics 3.0.1 max+mean+VoxelVolume", data["seconds"]), features


def _fft_peaks(suv: Volume, labels: Volume) -> list[float]:
    kernel = ball_kernel(suv.affine, SUV_PEAK_RADIUS_MM).astype(np.float64)
    values = np.asarray(suv.array, dtype=np.float64)
    sums = signal.fftconvolve(values, kernel, mode="same")
    counts = signal.fftconvolve(np.ones_like(values), kernel, mode="same")
    means = sums / np.maximum(counts, 1e-9)
    array = np.asarray(labels.array)
    return [float(means[array == n].max()) for n in range(1, N_LESIONS + 1)]


def _petdx_peaks(suv: Volume, labels: Volume) -> list[float]:
    array = np.asarray(labels.array)
    peaks = []
    for index, box in enumerate(ndimage.find_objects(array)):
        if box is None:
            continue
        margin = 3
        pad = tuple(slice(max(0, s.start - margin), s.stop + margin) for s in box)
        affine = suv.affine.copy()
        affine[:3, 3] = suv.index_to_patient_mm(np.array([s.start for s in pad], dtype=float))
        sub = Volume(np.asarray(suv.array[pad]), affine)
        peaks.append(suv_peak_global(sub, sub.with_array(array[pad] == index + 1)).suv_peak)
    return peaks


def run() -> str:
    suv, labels = whole_body()
    ours = quantify_lesions(suv, labels)
    peer_timing, peer = _pyradiomics(suv, labels, repeat=1)
    worst = 0.0
    for lesion in ours:
        p_max, p_mean, p_volume_mm3 = peer[lesion.label]
        for a, b in (
            (lesion.suv_max, p_max),
            (lesion.suv_mean, p_mean),
            (lesion.volume_ml, p_volume_mm3 / 1000.0),
        ):
            worst = max(worst, abs(a - b) / max(abs(b), 1e-12))
    assert worst <= 1e-6, f"petdx and PyRadiomics disagree (relative {worst:.2e})"
    text = report(
        f"Quantify {N_LESIONS} lesions of a {SHAPE[0]}x{SHAPE[1]}x{SHAPE[2]} whole-body scan "
        f"(values agree, max relative difference {worst:.1e})",
        measure(
            "petdx quantify_lesions (all metrics)", lambda: quantify_lesions(suv, labels), repeat=3
        ),
        peer_timing,
        goal="petdx >= 20x faster",
    )
    fft, local = _fft_peaks(suv, labels), _petdx_peaks(suv, labels)
    assert np.allclose(fft, local, rtol=1e-6), "SUVpeak: petdx and FFT disagree"
    text += report(
        f"Global SUVpeak of {N_LESIONS} lesions on the same scan",
        measure(
            "petdx suv_peak_global (bounding boxes)", lambda: _petdx_peaks(suv, labels), repeat=3
        ),
        measure(
            "scipy fftconvolve of the whole image",
            lambda: _fft_peaks(suv, labels),
            repeat=1,
            warmup=0,
        ),
        goal="petdx under 1 s for 100 lesions",
    )
    return text
