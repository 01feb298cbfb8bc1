"""Section 6 of the results: agreement between readers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from petdx.analysis.results._common import Doc, StatRecord


@dataclass(frozen=True)
class AgreementEntry:
    """Cohen's kappa (``KappaResult`` record) of two readers at one level."""

    level: str
    readers: tuple[str, str]
    weights: str
    n: int
    result: StatRecord

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "readers": list(self.readers),
            "weights": self.weights,
            "n": self.n,
            "result": self.result,
        }

    @classmethod
    def from_dict(cls, d: Doc) -> AgreementEntry:
        r1, r2 = d["readers"]
        return cls(d["level"], (r1, r2), d["weights"], d["n"], dict(d["result"]))
