"""The ``--method`` specification: a segmentation method and its parameter."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from petdx.errors import Hint, InputValidationError
from petdx.segment import SegmentationMethod

__all__ = ["MethodSpec"]

_DEFAULTS: dict[SegmentationMethod, float | None] = {
    SegmentationMethod.VOI: None,
    SegmentationMethod.FIXED: 2.5,
    SegmentationMethod.PERCENT: 41.0,
    SegmentationMethod.PERCIST: None,
    SegmentationMethod.A50: None,
    SegmentationMethod.GROW: None,
    SegmentationMethod.DETECT: None,
}
_TAKES_VALUE = {SegmentationMethod.FIXED, SegmentationMethod.PERCENT, SegmentationMethod.GROW}


#: Every refusal of a method text names the parameter it came from.
_HINT = Hint("method")


@dataclass(frozen=True)
class MethodSpec:
    """A method and its parameter: ``fixed:2.5`` (SUV), ``percent:41`` (% of SUVmax),
    ``grow:3.0`` (lower SUV bound; default the PERCIST threshold), ``percist``, ``a50``,
    ``voi``, ``detect``."""

    method: SegmentationMethod
    value: float | None = None

    @classmethod
    def parse(cls, text: str | MethodSpec) -> MethodSpec:
        if isinstance(text, MethodSpec):
            return text
        name, _, raw = str(text).strip().partition(":")
        try:
            method = SegmentationMethod(name.strip().lower())
        except ValueError:
            allowed = "fixed:SUV, percent:PCT, percist, a50, grow[:SUV], voi, detect"
            raise InputValidationError(
                f"method {text}: unknown method '{name}'; expected one of {allowed}.",
                hint=_HINT,
            ) from None
        if not raw:
            return cls(method, _DEFAULTS[method])
        if method not in _TAKES_VALUE:
            raise InputValidationError(
                f"method {text}: '{method.value}' takes no value.", hint=_HINT
            )
        try:
            value = float(raw)
        except ValueError:
            raise InputValidationError(
                f"method {text}: '{raw}' is not a number (e.g. fixed:2.5, percent:41).",
                hint=_HINT,
            ) from None
        if not math.isfinite(value) or value <= 0:
            raise InputValidationError(f"method {text}: expected a positive number.", hint=_HINT)
        if method is SegmentationMethod.PERCENT and value > 100:
            raise InputValidationError(f"method {text}: a percentage is at most 100.", hint=_HINT)
        return cls(method, value)

    def parameters(self) -> dict[str, Any]:
        """Parameters for the provenance columns."""
        key = {
            SegmentationMethod.FIXED: "threshold_suv",
            SegmentationMethod.PERCENT: "percent_of_suv_max",
            SegmentationMethod.GROW: "lower_suv",
        }.get(self.method)
        return {key: self.value} if key and self.value is not None else {}

    def __str__(self) -> str:
        if self.value is None:
            return self.method.value
        return f"{self.method.value}:{self.value:g}"
