"""Section 4 of the results: PD-L1 expression against uptake, and PD-L1 as the target condition."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from petdx.analysis.results._common import Doc, StatRecord, records, stat_or_none


@dataclass(frozen=True)
class UptakeGroup:
    """SUVmax values of the lesions of one group (as measured; never converted)."""

    label: str
    values: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "values": list(self.values)}

    @classmethod
    def from_dict(cls, d: Doc) -> UptakeGroup:
        return cls(d["label"], tuple(d["values"]))


@dataclass(frozen=True)
class Pdl1Correlation:
    """A PD-L1 score (``x``) against SUVmax (``y``) and their ``SpearmanResult`` record."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    spearman: StatRecord | None

    def to_dict(self) -> dict[str, Any]:
        return {"x": list(self.x), "y": list(self.y), "spearman": self.spearman}

    @classmethod
    def from_dict(cls, d: Doc) -> Pdl1Correlation:
        return cls(tuple(d["x"]), tuple(d["y"]), stat_or_none(d.get("spearman")))


@dataclass(frozen=True)
class Pdl1Roc:
    column: str
    label: str
    result: StatRecord

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "label": self.label, "result": self.result}

    @classmethod
    def from_dict(cls, d: Doc) -> Pdl1Roc:
        return cls(d["column"], d["label"], dict(d["result"]))


@dataclass(frozen=True)
class Pdl1Accuracy:
    column: str
    test: str
    cutoff: float | None
    result: StatRecord

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "test": self.test,
            "cutoff": self.cutoff,
            "result": self.result,
        }

    @classmethod
    def from_dict(cls, d: Doc) -> Pdl1Accuracy:
        return cls(d["column"], d["test"], d.get("cutoff"), dict(d["result"]))


@dataclass(frozen=True)
class Pdl1Target:
    """PD-L1 positivity as the secondary target condition (:mod:`petdx.analysis.pdl1_target`)."""

    target: str
    lesions: int
    patients: int
    positive: int
    roc: tuple[Pdl1Roc, ...]
    accuracy: tuple[Pdl1Accuracy, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "lesions": self.lesions,
            "patients": self.patients,
            "positive": self.positive,
            "roc": records(self.roc, Pdl1Roc.to_dict),
            "accuracy": records(self.accuracy, Pdl1Accuracy.to_dict),
        }

    @classmethod
    def from_dict(cls, d: Doc) -> Pdl1Target:
        return cls(
            d["target"],
            d["lesions"],
            d["patients"],
            d["positive"],
            tuple(Pdl1Roc.from_dict(e) for e in d["roc"]),
            tuple(Pdl1Accuracy.from_dict(e) for e in d["accuracy"]),
        )


@dataclass(frozen=True)
class Pdl1Section:
    """Uptake by PD-L1 status. ``groups``, ``tps`` and ``cps`` are None (not written) when the
    lesions have no SUVmax at the first time point; ``as_target`` is None unless the primary
    target condition is malignancy."""

    column: str
    groups: tuple[UptakeGroup, ...] | None = None
    tps: Pdl1Correlation | None = None
    cps: Pdl1Correlation | None = None
    as_target: Pdl1Target | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"column": self.column}
        if self.groups is not None:
            out["groups"] = records(self.groups, UptakeGroup.to_dict)
        if self.tps is not None:
            out["pdl1_tps_pct"] = self.tps.to_dict()
        if self.cps is not None:
            out["pdl1_cps"] = self.cps.to_dict()
        if self.as_target is not None:
            out["as_target"] = self.as_target.to_dict()
        return out

    @classmethod
    def from_dict(cls, d: Doc) -> Pdl1Section:
        return cls(
            d["column"],
            tuple(UptakeGroup.from_dict(g) for g in d["groups"]) if "groups" in d else None,
            Pdl1Correlation.from_dict(d["pdl1_tps_pct"]) if "pdl1_tps_pct" in d else None,
            Pdl1Correlation.from_dict(d["pdl1_cps"]) if "pdl1_cps" in d else None,
            Pdl1Target.from_dict(d["as_target"]) if "as_target" in d else None,
        )
