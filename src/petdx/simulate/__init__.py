"""Digital phantom cohort: simulated PET/CT studies as real DICOM with known truth.

``simulate_cohort`` (``petdx simulate``) writes a screened cohort with eligibility evidence,
PET and CT DICOM of every enrolled patient's scans, ground-truth lesion SEG and NIfTI label
maps, and the study tables (pathology, reference standard, reads, follow-up) in the format
of :mod:`petdx.data_dictionary`. ``simulate_nema`` (``petdx simulate-nema``) puts the NEMA
IEC body phantom through the same scanner model. See ``docs/simulate.md``.
"""

from petdx.simulate.anatomy import ORGAN_LABELS, ORGAN_UPTAKE, Phantom, build_phantom
from petdx.simulate.cohort import CohortSummary, simulate_cohort
from petdx.simulate.imaging import HOUNSFIELD, ImagingSettings
from petdx.simulate.lesions import LesionSpec
from petdx.simulate.scanner import POSITRON_PHYSICS, ScannerModel

__all__ = [
    "HOUNSFIELD",
    "ORGAN_LABELS",
    "ORGAN_UPTAKE",
    "POSITRON_PHYSICS",
    "CohortSummary",
    "ImagingSettings",
    "LesionSpec",
    "Phantom",
    "ScannerModel",
    "build_phantom",
    "simulate_cohort",
]
