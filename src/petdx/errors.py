"""The one exception and warning hierarchy of petdx.

Every error petdx raises on bad input is a :class:`PetdxError`; the command line turns it
into a message and exit status 2. A fault of the environment (a full disk, a read-only
folder or database file) stays an ``OSError`` (:class:`StorageError` when petdx words it):
one message naming the path and the cause, exit status 1.

Messages follow one pattern: what was expected, what was found, where (file, series, row,
field), and how to fix it. The fix names the library's own
parameter (``resample``, ``body_weight_kg``); an error may also carry a :class:`Hint`, the same
fix as data, which each front end turns into its own words: the command line into a flag
(``--resample nearest|fraction``), a web form into a field message. No library message
names a command-line flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "DicomReadError",
    "GeometryError",
    "GeometryWarning",
    "Hint",
    "InputValidationError",
    "InvalidSeriesError",
    "MissingAttributeError",
    "NonQuantitativeSeriesError",
    "OptimismWarning",
    "PetdxError",
    "PetdxWarning",
    "StorageError",
    "SuvWarning",
    "UndefinedStatisticWarning",
]


@dataclass(frozen=True)
class Hint:
    """A structured fix of a refused input: the parameter to set and its choices.

    Parameters
    ----------
    parameter
        The keyword of the library call (``"resample"``, ``"body_weight_kg"``); the command
        line maps it to its flag.
    values
        The accepted values when they form a closed set (``("nearest", "fraction")``), else
        empty.
    alternatives
        Other parameters that fix it as well (a liver centre, or a liver mask, or automatic
        placement): set one of ``(parameter, *alternatives)``.
    """

    parameter: str
    values: tuple[str, ...] = ()
    alternatives: tuple[str, ...] = ()

    @property
    def parameters(self) -> tuple[str, ...]:
        """Every parameter that fixes it, the preferred one first."""
        return (self.parameter, *self.alternatives)

    def to_dict(self) -> dict[str, Any]:
        return {
            "parameter": self.parameter,
            "values": list(self.values),
            "alternatives": list(self.alternatives),
        }


class PetdxError(Exception):
    """Base class of every error petdx raises on bad input or an impossible request.

    ``hint`` (keyword-only, optional) is the fix as a :class:`Hint`; the message states the
    same fix in words. It survives pickling (errors of worker processes keep it).
    """

    def __init__(self, *args: object, hint: Hint | None = None) -> None:
        super().__init__(*args)
        self.hint = hint

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_error, (type(self), self.args, self.hint))


def _rebuild_error(cls: type[PetdxError], args: tuple[object, ...], hint: Hint | None) -> Any:
    return cls(*args, hint=hint)


class InputValidationError(PetdxError, ValueError):
    """A value given by the caller (argument, CSV cell, option) is not acceptable."""


class StorageError(OSError):
    """The storage refused petdx's work (a read-only or full database file): an environment
    fault, not bad input, so an ``OSError`` and not a :class:`PetdxError`. The message names
    the file, the cause and the fix; the command line prints it and exits with status 1, as
    for any other ``OSError`` (a full disk, a read-only folder)."""


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
