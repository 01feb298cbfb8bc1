"""Shared pieces of the typed analysis results: the statistics' records, and the
summaries and counts of the descriptive sections."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

#: A stats result object's ``to_dict()`` (e.g. ``DiagnosticAccuracy``, ``RocAnalysis``).
StatRecord = Mapping[str, Any]
Doc = Mapping[str, Any]
_T = TypeVar("_T")


def records(items: Sequence[_T], write: Callable[[_T], dict[str, Any]]) -> list[dict[str, Any]]:
    return [write(item) for item in items]


def stat_or_none(value: Any) -> StatRecord | None:
    return None if value is None else dict(value)


@dataclass(frozen=True)
class Summary:
    """n, median, quartiles, min and max of a numeric variable; n = 0 (and no min/max) when
    there are no values."""

    n: int
    median: float | None
    q1: float | None
    q3: float | None
    min: float | None = None
    max: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"n": self.n, "median": self.median, "q1": self.q1, "q3": self.q3}
        if self.n:
            out.update(min=self.min, max=self.max)
        return out

    @classmethod
    def from_dict(cls, d: Doc) -> Summary:
        return cls(d["n"], d["median"], d["q1"], d["q3"], d.get("min"), d.get("max"))


def summaries(d: Doc) -> dict[str, Summary]:
    return {str(k): Summary.from_dict(v) for k, v in d.items()}


@dataclass(frozen=True)
class Count:
    """Patients with one value of a categorical variable."""

    value: str
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "n": self.n}

    @classmethod
    def from_dict(cls, d: Doc) -> Count:
        return cls(d["value"], d["n"])


def counts(items: Sequence[Doc]) -> tuple[Count, ...]:
    return tuple(Count.from_dict(c) for c in items)
