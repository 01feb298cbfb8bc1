"""The one JSON sanitiser and the one missing-number text of petdx."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from petdx.jsonsafe import MISSING, dumps, format_or_missing, json_ready


class _Colour(StrEnum):
    RED = "red"


@dataclass(frozen=True)
class _Result:
    value: float

    def to_dict(self) -> dict[str, Any]:
        return {"value": json_ready(self.value)}


def test_json_ready_turns_undefined_numbers_into_null_and_numpy_into_python() -> None:
    value = {
        "nan": math.nan,
        "inf": np.float64(-np.inf),
        "int": np.int64(3),
        "bool": np.bool_(True),
        "float32": np.float32(0.5),
        "array": np.array([1.0, np.nan]),
        "tuple": (1, math.inf),
        "enum": _Colour.RED,
        "result": _Result(math.nan),
        7: "int key",
        "text": "kept",
        "none": None,
    }
    ready = json_ready(value)
    assert ready == {
        "nan": None,
        "inf": None,
        "int": 3,
        "bool": True,
        "float32": 0.5,
        "array": [1.0, None],
        "tuple": [1, None],
        "enum": "red",
        "result": {"value": None},
        "7": "int key",
        "text": "kept",
        "none": None,
    }
    assert type(ready["int"]) is int
    assert type(ready["bool"]) is bool
    # strict JSON: the standard library refuses NaN when told to, and accepts this
    json.dumps(ready, allow_nan=False)


def test_dumps_is_the_standard_layout_of_the_sanitised_value() -> None:
    value = {"b": [np.float64(1.25), math.nan], "a": np.int32(2)}
    assert dumps(value) == json.dumps({"b": [1.25, None], "a": 2}, indent=2)
    assert dumps(value, indent=None, sort_keys=True) == '{"a": 2, "b": [1.25, null]}'


def test_format_or_missing() -> None:
    assert format_or_missing(2.5) == "2.50"
    assert format_or_missing(12.25, ".1f") == format(12.25, ".1f")
    assert format_or_missing(None) == MISSING
    assert format_or_missing(math.nan) == MISSING
    assert format_or_missing(-math.inf, ".1f") == MISSING
    assert MISSING == "—"
