"""Section 7 of the results: survival by group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from petdx.analysis.results._common import Doc, StatRecord, records, stat_or_none


@dataclass(frozen=True)
class SurvivalEndpoint:
    """One endpoint: ``KaplanMeier`` records per uptake group, the ``LogRankResult`` and the
    ``CoxResult`` records (None when not computed)."""

    endpoint: str
    time_column: str
    event_column: str
    groups: tuple[StatRecord, ...]
    logrank: StatRecord | None
    cox: StatRecord | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "time_column": self.time_column,
            "event_column": self.event_column,
            "groups": list(self.groups),
            "logrank": self.logrank,
            "cox": self.cox,
        }

    @classmethod
    def from_dict(cls, d: Doc) -> SurvivalEndpoint:
        return cls(
            d["endpoint"],
            d["time_column"],
            d["event_column"],
            tuple(dict(g) for g in d["groups"]),
            stat_or_none(d.get("logrank")),
            stat_or_none(d.get("cox")),
        )


@dataclass(frozen=True)
class SurvivalSection:
    """Survival by uptake group: ``grouping`` is the ``GroupSplit`` record (None, and no
    endpoints, when the patients could not be split)."""

    grouping_column: str
    endpoints: tuple[SurvivalEndpoint, ...] = ()
    grouping: StatRecord | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "grouping_column": self.grouping_column,
            "endpoints": records(self.endpoints, SurvivalEndpoint.to_dict),
        }
        if self.grouping is not None:
            out["grouping"] = self.grouping
        return out

    @classmethod
    def from_dict(cls, d: Doc) -> SurvivalSection:
        return cls(
            d["grouping_column"],
            tuple(SurvivalEndpoint.from_dict(e) for e in d["endpoints"]),
            stat_or_none(d.get("grouping")),
        )
