"""One PET series' SUV summary: the header values, the factor and its rules, SUVmax.

The summary is what ``petdx suv`` prints per series (as a table or JSON) and what a web page
shows; it is built here so that every front end reports the same fields.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from petdx.dicom.discovery import SeriesEntry
from petdx.dicom.series_volume import read_series_volume
from petdx.errors import GeometryWarning, PetdxError
from petdx.suv.enums import SuvNormalization
from petdx.suv.factor import SuvOverrides, compute_suv, suv_volume

__all__ = ["suv_report"]


def _header_fields(entry: SeriesEntry) -> dict[str, Any]:
    header = entry.first_header
    return {
        "series_instance_uid": entry.series_instance_uid,
        "series_description": entry.description,
        "manufacturer": entry.manufacturer,
        "units": str(header.get("Units", "")) or None,
        "decay_correction": str(header.get("DecayCorrection", "")) or None,
        "n_slices": None,
        "normalization": None,
        "suv_unit": None,
        "suv_factor": None,
        "suv_max": None,
        "injection_datetime": None,
        "reference_datetime": None,
        "reference_time_rule": None,
        "injected_activity_bq": None,
        "body_weight_kg": None,
        "half_life_s": None,
        "nuclide": None,
        "vendor": None,
        "vendor_check": None,
        "pixel_compression": None,
        "attenuation_correction_method": str(header.get("AttenuationCorrectionMethod", "")) or None,
        "warnings": [],
        "error": None,
    }


def suv_report(
    entry: SeriesEntry,
    *,
    normalization: SuvNormalization,
    overrides: SuvOverrides,
    describe_error: Callable[[PetdxError], str] = str,
) -> dict[str, Any]:
    """One PET series' SUV summary as a JSON-ready dict (``petdx suv --json`` prints a list
    of them; keys in docs/suv.md); a refused series keeps its header fields and carries the
    message in ``error``, so one bad series does not stop a folder.

    Parameters
    ----------
    entry
        A PET series from :func:`petdx.dicom.index_dicom_folder`.
    normalization, overrides
        As :func:`compute_suv`.
    describe_error
        How a refused series' error becomes the ``error`` text (a front end adds its own
        words for the error's hint; default: the message).

    Returns
    -------
    dict
        Header fields, every key of :meth:`SuvResult.to_dict` that the summary lists, the
        number of slices and SUVmax (g/ml for SUVbw) of the whole volume.
    """
    row = _header_fields(entry)
    try:
        with warnings.catch_warnings():  # the note is in the result's warnings
            warnings.simplefilter("ignore", GeometryWarning)
            series = read_series_volume(entry)
        result = compute_suv(series, normalization=normalization, overrides=overrides)
        suv = suv_volume(series, result)
    except PetdxError as exc:
        row["error"] = describe_error(exc)
        return row
    details = result.to_dict()
    for key in row:
        if key in details:
            row[key] = details[key]
    row["n_slices"] = series.volume.shape[0]
    row["suv_max"] = float(np.max(suv.array))
    return row
