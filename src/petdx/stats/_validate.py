"""Validation at the public boundary of petdx.stats: arrays, labels, levels, enums."""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from petdx.errors import InputValidationError

E = TypeVar("E", bound=StrEnum)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]


def as_enum(enum: type[E], value: str | E, what: str) -> E:
    """``value`` as a member of ``enum``; the error lists the allowed values."""
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise InputValidationError(f"{what}: expected one of {allowed}; got {value!r}.") from None


def confidence(level: float) -> float:
    """A two-sided confidence level strictly between 0 and 1."""
    level = float(level)
    if not 0.0 < level < 1.0:
        raise InputValidationError(
            f"confidence_level: expected a number between 0 and 1 (e.g. 0.95); got {level}."
        )
    return level


def scores(values: Any, name: str) -> FloatArray:
    """A 1-D array of finite floats (a test result, a measurement)."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputValidationError(
            f"{name}: expected numbers; got values that are not numeric."
        ) from None
    if array.ndim != 1:
        raise InputValidationError(f"{name}: expected a 1-D sequence; got shape {array.shape}.")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise InputValidationError(
            f"{name}: expected finite numbers; element {int(bad[0])} is {array[bad[0]]}. "
            "Remove missing values before the analysis."
        )
    return array


def labels(values: Any, name: str) -> BoolArray:
    """A 1-D boolean array from booleans or 0/1 (True = positive / diseased / event)."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise InputValidationError(f"{name}: expected a 1-D sequence; got shape {array.shape}.")
    if array.dtype == np.bool_:
        return array
    if array.size and np.issubdtype(array.dtype, np.number):
        ok = np.isin(array, (0, 1))
        if ok.all():
            return array.astype(bool)
        first = int(np.flatnonzero(~ok)[0])
        raise InputValidationError(
            f"{name}: expected booleans or 0/1; element {first} is {array[first]!r}."
        )
    if array.size == 0:
        return np.zeros(0, dtype=bool)
    if array.dtype == object:
        ok = np.array(
            [isinstance(v, (bool, np.bool_, int, np.integer)) and v in (0, 1) for v in array]
        )
        if ok.all():
            return array.astype(bool)
        first = int(np.flatnonzero(~ok)[0])
        raise InputValidationError(
            f"{name}: expected booleans or 0/1; element {first} is {array[first]!r}."
        )
    raise InputValidationError(
        f"{name}: expected booleans or 0/1; got {array.dtype} values. Convert the labels "
        "first (e.g. truth == 'malignant')."
    )


def same_length(**arrays: Sequence[Any] | np.ndarray) -> int:
    """The common length of the named arrays; the error names the mismatch."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise InputValidationError(f"expected arrays of equal length; {described}.")
    return next(iter(lengths.values())) if lengths else 0


def cluster_index(values: Any, name: str = "cluster") -> tuple[IntArray, int]:
    """Cluster ids of any hashable type as integer codes 0..K-1, and K."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise InputValidationError(f"{name}: expected a 1-D sequence; got shape {array.shape}.")
    if array.dtype.kind == "f" and np.isnan(array).any():
        first = int(np.flatnonzero(np.isnan(array))[0])
        raise InputValidationError(f"{name}: element {first} is missing (NaN).")
    _, codes = np.unique(array, return_inverse=True)
    return codes.astype(np.intp).reshape(-1), int(codes.max()) + 1 if codes.size else 0


def count(value: Any, name: str) -> int:
    """A non-negative integer count."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, (bool, np.bool_)) or not number.is_integer() or number < 0:
        raise InputValidationError(f"{name}: expected a non-negative whole number; got {value}.")
    return int(number)
