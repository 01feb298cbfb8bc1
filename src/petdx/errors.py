"""The one exception and warning hierarchy of petdx.

Every error petdx raises on bad input is a :class:`PetdxError`; the command line turns it
into a message and exit status 2. Messages follow one pattern: what was expected, what was
found, where (file, series, row, field), and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "DicomReadError",
    "GeometryError",
    "GeometryWarning",
    "InputValidationError",
    "InvalidSeriesError",
    "MissingAttributeError",
    "NonQuantitativeSeriesError",
    "OptimismWarning",
    "PetdxError",
    "PetdxWarning",
    "SuvWarning",
    "UndefinedStatisticWarning",
]


class PetdxError(Exception):
    """Base class of every error petdx raises on bad input or an impossible request."""


class InputValidationError(PetdxError, ValueError):
    """A value given by the caller (argument, CSV cell, option) is not acceptable."""


class DicomReadError(PetdxError):
    """A file could not be read as DICOM (corrupt, truncated, or unsupported encoding)."""


class InvalidSeriesError(PetdxError):
    """A DICOM series cannot be used as it is (inconsistent slices, unsupported content)."""


class GeometryError(InvalidSeriesError):
    """Slices or masks do not form a regular grid, or two grids do not match."""


class MissingAttributeError(InvalidSeriesError):
    """A DICOM attribute needed for the requested computation is absent or empty."""


class NonQuantitativeSeriesError(InvalidSeriesError):
    """The series is not quantitative (not attenuation- or decay-corrected, relative units)."""


class PetdxWarning(UserWarning):
    """Base class of petdx warnings."""


class SuvWarning(PetdxWarning):
    """A header value was corrected or assumed while computing SUV."""


class GeometryWarning(PetdxWarning):
    """The image geometry is irregular but within tolerance (for example slice steps that
    vary as the vendor wrote them); the series is read and the deviation is stated."""


class UndefinedStatisticWarning(PetdxWarning):
    """A statistic is undefined for the data given (for example a zero denominator); NaN is
    returned in its place."""


class OptimismWarning(PetdxWarning):
    """An estimate is optimistic because it was tuned on the data it is evaluated on (for
    example survival groups split at a cut-off chosen on the same patients' ROC curve)."""
