"""JSON-ready values and the text of missing numbers: one rule for every output of petdx.

JSON has no NaN or infinity (RFC 8259, section 6), so an undefined number is written as
``null``; numpy scalars and arrays become Python numbers and lists; result objects become
their ``to_dict()``; enums their value. Tables print a missing or undefined number as one
dash. The command line, the analyses and the statistics' ``to_dict()`` all use these two
functions, so a number that is ``null`` in one output is ``—`` in the table of another.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from enum import Enum
from typing import Any

import numpy as np

__all__ = ["MISSING", "dumps", "format_or_missing", "json_ready"]

#: The text of a missing or undefined number in a table.
MISSING = "—"


def json_ready(value: Any) -> Any:
    """``value`` with NaN/inf as None, numpy types as Python types, nested results as dicts.

    Mappings keep their order (keys become ``str``); tuples and arrays become lists; an
    object with a ``to_dict()`` method is replaced by its dict; anything else (str, None,
    dates) is returned unchanged.
    """
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return value.to_dict()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, np.ndarray):
        return [json_ready(v) for v in value.tolist()]
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


def dumps(value: Any, *, indent: int | None = 2, sort_keys: bool = False) -> str:
    """``json.dumps`` of :func:`json_ready` ``(value)``; refuses NaN that slipped through.

    Raises
    ------
    ValueError
        When a value is still not JSON (``allow_nan=False``): a bug, never silent ``NaN``.
    """
    return json.dumps(json_ready(value), indent=indent, sort_keys=sort_keys, allow_nan=False)


def format_or_missing(value: float | None, spec: str = ".2f") -> str:
    """``format(value, spec)``, or :data:`MISSING` when the value is None, NaN or infinite."""
    if value is None or not math.isfinite(value):
        return MISSING
    return format(value, spec)
