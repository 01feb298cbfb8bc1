"""SUV from PET DICOM: the factor per frame, body-size normalisations, reference-time rules.

Typical use::

    from petdx.dicom import index_dicom_folder, read_series_volume, SeriesKind
    from petdx.suv import compute_suv, suv_volume

    index = index_dicom_folder("study/")
    pet = read_series_volume(index.of_kind(SeriesKind.PT)[0])
    result = compute_suv(pet, normalization="bw")
    suv = suv_volume(pet, result)          # Volume of SUVbw (g/ml)
"""

from petdx.suv.body_size import (
    body_surface_area_dubois_m2,
    ideal_body_weight_sugawara_kg,
    lean_body_mass_james_kg,
    lean_body_mass_janmahasatian_kg,
)
from petdx.suv.enums import DecayCorrection, ReferenceTimeRule, SuvNormalization, SuvType, Units
from petdx.suv.factor import (
    SuvOverrides,
    SuvResult,
    compute_suv,
    suv_factors_from_inputs,
    suv_volume,
)
from petdx.suv.inputs import FrameTiming, SuvInputs, suv_inputs_from_frames
from petdx.suv.report import suv_report
from petdx.suv.timing import average_count_rate_time_s
from petdx.suv.vendor import ScannerVendor, VendorFactorCheck, scanner_vendor

__all__ = [
    "DecayCorrection",
    "FrameTiming",
    "ReferenceTimeRule",
    "ScannerVendor",
    "SuvInputs",
    "SuvNormalization",
    "SuvOverrides",
    "SuvResult",
    "SuvType",
    "Units",
    "VendorFactorCheck",
    "average_count_rate_time_s",
    "body_surface_area_dubois_m2",
    "compute_suv",
    "ideal_body_weight_sugawara_kg",
    "lean_body_mass_james_kg",
    "lean_body_mass_janmahasatian_kg",
    "scanner_vendor",
    "suv_factors_from_inputs",
    "suv_inputs_from_frames",
    "suv_report",
    "suv_volume",
]
