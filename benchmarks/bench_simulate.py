"""Simulated cohort: the whole 50-patient run, the --small speed, and the DICOM writing part
against a plain pydicom ``dcmwrite`` loop of the same slices.

There is no peer program that simulates a whole PET diagnostic-accuracy cohort, so the
cohort runs report their time against the goals of issue 3 (50 patients, two time points
plus FDG, 4 mm, 2 cores: under 2 minutes; ``--small``: under 5 s a patient). The part that
has a peer is writing the DICOM files: petdx's ``write_pet_series`` (template elements
encoded once, per-slice elements encoded by pydicom) against building each slice as a full
pydicom ``Dataset`` and calling ``pydicom.dcmwrite``, for the same 277 slices of 150 x 150
int16 (one whole-body 4 mm PET series). The files are checked byte-identical first.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, PositronEmissionTomographyImageStorage

from benchmarks._timing import Timing, measure, report
from petdx.nuclides import NUCLIDES
from petdx.simulate import simulate_cohort
from petdx.simulate.dicom_writer import PatientInfo, PetAcquisition, StudyInfo, write_pet_series
from petdx.simulate.scanner import ScannerModel
from petdx.simulate.shapes import Grid

N_PATIENTS = 50
N_SMALL = 6
SLICES, MATRIX = 277, 150


def _cohort(root: Path, *, n: int, small: bool) -> float:
    out = root / f"cohort-{time.perf_counter_ns()}"
    started = time.perf_counter()
    simulate_cohort(out, n_patients=n, seed=1, with_fdg=not small, small=small, workers=2)
    elapsed = time.perf_counter() - started
    shutil.rmtree(out)
    return elapsed


def _series_inputs() -> dict[str, object]:
    grid = Grid.centred((SLICES, MATRIX, MATRIX), (4.0, 4.0, 4.0), z_first_mm=-1100.0)
    start = datetime(2026, 5, 4, 9, 0, 0)
    beds = ScannerModel().bed_timings(SLICES, 4.0, 180.0)
    return {
        "grid": grid,
        "stored": np.random.default_rng(0).integers(-200, 32000, grid.shape).astype(np.int16),
        "slopes": [f"{0.3 + 0.001 * k:.4f}" for k in range(SLICES)],
        "patient": PatientInfo("SIM-0001", "M", date(1960, 1, 2), 75.0, 1.76),
        "study": StudyInfo("1.2.826.0.1.1", "1.2.826.0.1.2", start, "S1", "ACC1", "bench"),
        "acquisition": PetAcquisition(
            series_uid="1.2.826.0.1.3",
            series_number=2,
            description="bench",
            series_start=start + timedelta(minutes=60),
            injection=start,
            injected_activity_bq=1.5e8,
            radiopharmaceutical="68Ga-DOTA-BLP",
            nuclide=NUCLIDES["Ga-68"],
            positron_fraction=0.889,
            beds=beds,
            resolution_fwhm_mm=9.24,
        ),
    }


def _petdx_write(folder: Path, inputs: dict[str, object]) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    write_pet_series(
        folder,
        inputs["stored"],  # type: ignore[arg-type]
        inputs["slopes"],  # type: ignore[arg-type]
        inputs["grid"],  # type: ignore[arg-type]
        patient=inputs["patient"],  # type: ignore[arg-type]
        study=inputs["study"],  # type: ignore[arg-type]
        acquisition=inputs["acquisition"],  # type: ignore[arg-type]
        sop_uid=lambda k: f"1.2.826.0.1.4.{k}",
    )


def _pydicom_write(source: Path, folder: Path) -> None:
    """The plain loop: a full Dataset per slice (as a writer without templates builds it),
    then ``pydicom.dcmwrite``."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for path, header, pixels in _PLAIN_SLICES:
        ds = Dataset()
        for element in header:
            ds[element.tag] = element
        ds.PixelData = pixels
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = PositronEmissionTomographyImageStorage
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta = meta
        pydicom.dcmwrite(folder / path, ds, enforce_file_format=True)


_PLAIN_SLICES: list[tuple[str, list[pydicom.DataElement], bytes]] = []


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="petdx-bench-simulate-") as tmp:
        root = Path(tmp)
        inputs = _series_inputs()
        _petdx_write(root / "petdx", inputs)
        for path in sorted((root / "petdx").glob("*.dcm")):
            ds = pydicom.dcmread(path)
            pixels = ds.PixelData
            del ds.PixelData
            _PLAIN_SLICES.append((path.name, list(ds), pixels))
        _pydicom_write(root / "petdx", root / "plain")
        for path in sorted((root / "petdx").glob("*.dcm")):
            assert path.read_bytes() == (root / "plain" / path.name).read_bytes(), path.name
        text = report(
            f"Write a {SLICES}-slice {MATRIX}x{MATRIX} PET series (one file per slice)",
            measure(
                "petdx write_pet_series", lambda: _petdx_write(root / "petdx", inputs), repeat=7
            ),
            measure(
                "pydicom Dataset + dcmwrite loop",
                lambda: _pydicom_write(root / "petdx", root / "plain"),
                repeat=7,
            ),
            goal="petdx faster than the plain loop (ratio > 1)",
        )
        small = Timing(f"{N_SMALL} patients --small", [_cohort(root, n=N_SMALL, small=True)])
        full = Timing(f"{N_PATIENTS} patients", [_cohort(root, n=N_PATIENTS, small=False)])
    lines = (
        f"## Simulated cohorts (no peer: time against the issue's goals, 2 workers)\n"
        f"  {N_PATIENTS} patients, 60+120 min 68Ga-DOTA-BLP + FDG, 4 mm: "
        f"{full.median_s:.1f} s   goal < 120 s\n"
        f"  {N_SMALL} patients --small (60+120 min): {small.median_s:.1f} s = "
        f"{small.median_s / N_SMALL:.2f} s a patient   goal < 5 s a patient\n"
    )
    print(lines, flush=True)
    return text + lines
