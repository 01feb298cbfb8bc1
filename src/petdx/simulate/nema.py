"""``petdx simulate-nema``: the NEMA IEC body phantom through the cohort's scanner model.

Writes ``OUT/dicom/PT/*.dcm`` (one PET series, Units BQML, DecayCorrection START, as the
cohort's), ``OUT/truth/spheres.nii.gz`` (sphere numbers on the PET grid), ``OUT/spheres.csv``
(the truth: number, diameter, volume, centre, true activity concentration of sphere and
background at the series start) and ``OUT/nema.toml`` (parameters). A physicist checks the
scanner model with it against the EARL accreditation limits: recovery coefficients of the
maximum voxel and of the 50 % isocontour (A50) for each sphere.

Defaults follow the EARL procedure: 18F, background 2.0 kBq/ml at the scan start, spheres
at ``contrast`` times that (4:1 as NEMA NU 2 and issue 3 specify; EARL fills 10:1), two bed
positions of 10 min (a low-noise phantom scan), 4 mm voxels, injection (calibration) 60 min
before the scan.

References
----------
Boellaard R, et al. FDG PET/CT: EANM procedure guidelines for tumour imaging: version 2.0.
Eur J Nucl Med Mol Imaging 2015;42:328-354. doi:10.1007/s00259-014-2961-x
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import tomli_w
from pydicom.uid import generate_uid

from petdx import __version__
from petdx.errors import Hint, InputValidationError
from petdx.nuclides import NUCLIDES
from petdx.simulate._output import check_new_folder, new_folder
from petdx.simulate.dicom_writer import PatientInfo, PetAcquisition, StudyInfo, write_pet_series
from petdx.simulate.nema_phantom import IecBody, nema_activity, nema_spheres
from petdx.simulate.scanner import POSITRON_PHYSICS, ScannerModel, quantise_int16_per_slice
from petdx.simulate.shapes import Grid

__all__ = ["SPHERES_COLUMNS", "NemaSummary", "simulate_nema"]

#: Columns of ``spheres.csv``.
SPHERES_COLUMNS = (
    "sphere",
    "diameter_mm",
    "volume_ml",
    "centre_x_mm",
    "centre_y_mm",
    "centre_z_mm",
    "sphere_bq_ml",
    "background_bq_ml",
    "contrast",
    "label",
)
_SCAN = datetime(2026, 3, 2, 10, 0, 0)
_UPTAKE = timedelta(minutes=60)


@dataclass(frozen=True)
class NemaSummary:
    """What :func:`simulate_nema` wrote."""

    out_dir: Path
    nuclide: str
    resolution_fwhm_mm: float
    voxel_mm: float
    contrast: float
    background_bq_ml: float
    n_slices: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "nuclide": self.nuclide,
            "resolution_fwhm_mm": round(self.resolution_fwhm_mm, 3),
            "voxel_mm": self.voxel_mm,
            "contrast": self.contrast,
            "background_bq_ml": self.background_bq_ml,
            "n_slices": self.n_slices,
        }

    def __str__(self) -> str:
        return (
            f"NEMA IEC body phantom ({self.nuclide}, {self.contrast:g}:1, "
            f"{self.background_bq_ml / 1000:g} kBq/ml background, resolution FWHM "
            f"{self.resolution_fwhm_mm:.2f} mm, {self.voxel_mm:g} mm voxels, "
            f"{self.n_slices} slices) in {self.out_dir}"
        )


def simulate_nema(
    out_dir: str | os.PathLike[str],
    *,
    nuclide: str = "F-18",
    contrast: float = 4.0,
    background_kbq_ml: float = 2.0,
    voxel_mm: float = 4.0,
    bed_duration_s: float = 600.0,
    seed: int = 1,
    scanner: ScannerModel | None = None,
) -> NemaSummary:
    """Simulate the NEMA IEC body phantom with the cohort's scanner model.

    Parameters
    ----------
    out_dir
        New (or empty) output folder.
    nuclide
        ``F-18`` (EARL) or another positron emitter of the scanner model, e.g. ``Ga-68``.
    contrast
        Sphere-to-background activity ratio (> 1).
    background_kbq_ml
        Background activity concentration at the scan start (kBq/ml).
    voxel_mm
        Cubic voxel size (mm).
    bed_duration_s
        Time per bed position (s).
    seed
        Noise seed.
    scanner
        Scanner model (default: the cohort's).

    Raises
    ------
    InputValidationError
        A parameter out of range, an unknown nuclide or a non-empty output folder.
    """
    out = Path(out_dir)
    if nuclide not in POSITRON_PHYSICS:
        raise InputValidationError(
            f"nuclide {nuclide}: expected one of {', '.join(POSITRON_PHYSICS)}.",
            hint=Hint("nuclide", tuple(POSITRON_PHYSICS)),
        )
    if not 1.0 < contrast <= 100.0:
        raise InputValidationError(
            f"contrast {contrast}: expected more than 1, at most 100.", hint=Hint("contrast")
        )
    if not 0.01 <= background_kbq_ml <= 1000.0:
        raise InputValidationError(
            f"background_kbq_ml {background_kbq_ml}: expected 0.01 to 1000 kBq/ml.",
            hint=Hint("background_kbq_ml"),
        )
    if not 1.0 <= voxel_mm <= 10.0:
        raise InputValidationError(
            f"voxel_mm {voxel_mm}: expected 1 to 10 mm.", hint=Hint("voxel_mm")
        )
    check_new_folder(out)
    model = scanner or ScannerModel()
    isotope = NUCLIDES[nuclide]
    n_xy = round(320.0 / voxel_mm)
    n_z = round(240.0 / voxel_mm)
    # The sphere plane (z = 0) falls 1 mm from a voxel centre, as it would on a scanner.
    grid = Grid.centred((n_z, n_xy, n_xy), (voxel_mm,) * 3, z_first_mm=-(n_z // 2) * voxel_mm + 1.0)
    background = background_kbq_ml * 1000.0
    activity, labels = nema_activity(
        grid, background_bq_ml=background, sphere_to_background=contrast
    )
    beds = model.bed_timings(n_z, voxel_mm, bed_duration_s)
    body = IecBody()
    weight_kg = body.volume_ml / 1000.0
    image = model.acquire(
        activity,
        grid.spacing_mm,
        nuclide=isotope,
        beds=beds,
        body_weight_kg=weight_kg,
        rng=np.random.default_rng(np.random.SeedSequence([seed, 77])),
    )
    stored, slopes = quantise_int16_per_slice(image)
    total_bq = float(activity.sum()) * grid.spacing_mm[0] ** 3 / 1000.0
    decay_back = 2.0 ** (_UPTAKE.total_seconds() / isotope.half_life_s)

    def uid(*parts: str) -> str:
        return str(generate_uid(entropy_srcs=["nema", str(seed), *parts]))

    patient = PatientInfo("SIM-NEMA", "O", None, round(weight_kg, 2), 1.0)
    study = StudyInfo(
        study_uid=uid("study"),
        frame_of_reference_uid=uid("for"),
        study_datetime=_SCAN - _UPTAKE,
        study_id="NEMA",
        accession_number="SIMNEMA",
        description="NEMA IEC body phantom (synthetic)",
    )
    acquisition = PetAcquisition(
        series_uid=uid("pet"),
        series_number=1,
        description=f"NEMA IEC {contrast:g}:1 {nuclide} (synthetic)",
        series_start=_SCAN,
        injection=_SCAN - _UPTAKE,
        injected_activity_bq=total_bq * decay_back,
        radiopharmaceutical="phantom fill",
        nuclide=isotope,
        positron_fraction=POSITRON_PHYSICS[nuclide].positron_fraction,
        beds=beds,
        resolution_fwhm_mm=model.resolution_fwhm_mm(isotope),
    )
    with new_folder(out) as temporary:
        write_pet_series(
            temporary / "dicom" / "PT",
            stored,
            slopes,
            grid,
            patient=patient,
            study=study,
            acquisition=acquisition,
            sop_uid=lambda k: uid("slice", str(k)),
        )
        (temporary / "truth").mkdir(parents=True)
        nifti = grid.volume(labels).to_nifti()
        nifti.header.set_data_dtype(np.uint8)
        nib.save(nifti, temporary / "truth" / "spheres.nii.gz")
        _write_spheres(temporary / "spheres.csv", background, contrast)
        document = {
            "description": "NEMA IEC body phantom through the petdx scanner model (synthetic)",
            "petdx_version": __version__,
            "seed": seed,
            "nuclide": nuclide,
            "contrast": contrast,
            "background_kbq_ml": background_kbq_ml,
            "voxel_mm": voxel_mm,
            "bed_duration_s": bed_duration_s,
            "system_fwhm_mm": model.system_fwhm_mm,
            "resolution_fwhm_mm": round(model.resolution_fwhm_mm(isotope), 3),
            "noise_alpha": model.noise_alpha,
        }
        (temporary / "nema.toml").write_text(tomli_w.dumps(document), encoding="utf-8")
    return NemaSummary(
        out, nuclide, model.resolution_fwhm_mm(isotope), voxel_mm, contrast, background, n_z
    )


def _write_spheres(path: Path, background: float, contrast: float) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(SPHERES_COLUMNS)
        for sphere in nema_spheres():
            x, y, z = sphere.centre_mm
            writer.writerow(
                [
                    sphere.number,
                    f"{sphere.diameter_mm:g}",
                    f"{sphere.volume_ml:.4f}",
                    f"{x + 0.0:.3f}",  # + 0.0: no "-0.000"
                    f"{y + 0.0:.3f}",
                    f"{z + 0.0:.3f}",
                    f"{background * contrast:g}",
                    f"{background:g}",
                    f"{contrast:g}",
                    sphere.number,
                ]
            )
