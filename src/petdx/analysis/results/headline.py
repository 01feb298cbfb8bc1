"""The headline table of the results: the primary outcomes in one row each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from petdx.analysis.results._common import Doc


@dataclass(frozen=True)
class HeadlineRow:
    """One number the command line prints at the end of a run."""

    level: str
    test: str
    measure: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "test": self.test,
            "measure": self.measure,
            "estimate": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "method": self.method,
        }

    @classmethod
    def from_dict(cls, d: Doc) -> HeadlineRow:
        return cls(
            d["level"],
            d["test"],
            d["measure"],
            d["estimate"],
            d["ci_low"],
            d["ci_high"],
            d["method"],
        )
