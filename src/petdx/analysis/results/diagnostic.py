"""Sections 2 and 3 of the results: diagnostic accuracy and ROC analysis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from petdx.analysis.results._common import Doc, StatRecord, records, stat_or_none


@dataclass(frozen=True)
class AccuracyEntry:
    """Accuracy of one index test at one level: ``result`` is the ``DiagnosticAccuracy``
    (patient) or ``ClusteredAccuracy`` (lesion) record; ``cutoff`` the SUV threshold of an
    SUV test (None, and not written, for the visual read)."""

    level: str
    test: str
    column: str
    pre_specified: bool
    result: StatRecord
    cutoff: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "level": self.level,
            "test": self.test,
            "column": self.column,
            "pre_specified": self.pre_specified,
            "result": self.result,
        }
        if self.cutoff is not None:
            out["cutoff"] = self.cutoff
        return out

    @classmethod
    def from_dict(cls, d: Doc) -> AccuracyEntry:
        return cls(
            d["level"],
            d["test"],
            d["column"],
            d.get("pre_specified", True),
            dict(d["result"]),
            d.get("cutoff"),
        )


@dataclass(frozen=True)
class RocEntry:
    """One ROC curve: the ``RocAnalysis`` record, the exploratory Youden cut-off (its
    ``cutoff`` record) and, when ``banded``, the cluster-bootstrap band (None when it could
    not be computed; not written at all when not ``banded``, as at patient level)."""

    level: str
    column: str
    label: str
    result: StatRecord
    cutoff: StatRecord | None
    banded: bool
    band: StatRecord | None = None
    cutoff_exploratory: bool = True

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "level": self.level,
            "column": self.column,
            "label": self.label,
            "result": self.result,
            "cutoff": self.cutoff,
        }
        if self.banded:
            out["band"] = self.band
        out["cutoff_exploratory"] = self.cutoff_exploratory
        return out

    @classmethod
    def from_dict(cls, d: Doc) -> RocEntry:
        return cls(
            d["level"],
            d["column"],
            d["label"],
            dict(d["result"]),
            stat_or_none(d.get("cutoff")),
            "band" in d,
            stat_or_none(d.get("band")),
            d.get("cutoff_exploratory", True),
        )


@dataclass(frozen=True)
class RocComparison:
    """The paired AUC comparison (``AucComparison`` record) of two score columns."""

    columns: tuple[str, str]
    result: StatRecord

    def to_dict(self) -> dict[str, Any]:
        return {"columns": list(self.columns), "result": self.result}

    @classmethod
    def from_dict(cls, d: Doc) -> RocComparison:
        a, b = d["columns"]
        return cls((a, b), dict(d["result"]))


@dataclass(frozen=True)
class RocSection:
    lesion: tuple[RocEntry, ...]
    patient: tuple[RocEntry, ...]
    comparisons: tuple[RocComparison, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "lesion": records(self.lesion, RocEntry.to_dict),
            "patient": records(self.patient, RocEntry.to_dict),
            "comparisons": records(self.comparisons, RocComparison.to_dict),
        }

    @classmethod
    def from_dict(cls, d: Doc) -> RocSection:
        return cls(
            tuple(RocEntry.from_dict(e) for e in d["lesion"]),
            tuple(RocEntry.from_dict(e) for e in d["patient"]),
            tuple(RocComparison.from_dict(c) for c in d["comparisons"]),
        )
