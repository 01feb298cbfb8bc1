"""The analyses' results as typed objects: one frozen dataclass per section of the results
document, composed into :class:`AnalysisResults`.

The analyses (:mod:`petdx.analysis.outcomes` and its sections) build these objects; they are
written to ``results/results.json`` once, by :func:`results_json`, and read back by
:func:`load_results`, so the report (and any other reader) works from a locked results file
alone. Each statistic is kept as its stats result object's ``to_dict()`` (a
:data:`StatRecord`: estimate, interval, method, n), the form the file holds.

The JSON is the results document petdx has always written (``indent=1``, sorted keys); a key
that a section leaves out when it was not computed (e.g. ``band`` of a patient-level ROC,
``groups`` of the PD-L1 section without SUVmax) stays left out, so the file is byte for byte
what it was before these types existed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from petdx.analysis.results._common import Count, Doc, StatRecord, Summary, records, summaries
from petdx.analysis.results.agreement import AgreementEntry
from petdx.analysis.results.diagnostic import AccuracyEntry, RocComparison, RocEntry, RocSection
from petdx.analysis.results.flow import (
    AnalysisSets,
    Baseline,
    ExclusionReason,
    Flow,
    FlowArm,
    NotPerformedReason,
)
from petdx.analysis.results.headline import HeadlineRow
from petdx.analysis.results.pdl1 import (
    Pdl1Accuracy,
    Pdl1Correlation,
    Pdl1Roc,
    Pdl1Section,
    Pdl1Target,
    UptakeGroup,
)
from petdx.analysis.results.retention import RetentionGroup, RetentionSection
from petdx.analysis.results.study import Quantification, Radiation, StudyInfo
from petdx.analysis.results.survival import SurvivalEndpoint, SurvivalSection
from petdx.errors import InputValidationError
from petdx.jsonsafe import json_ready

__all__ = [
    "AccuracyEntry",
    "AgreementEntry",
    "AnalysisResults",
    "AnalysisSets",
    "Baseline",
    "Count",
    "ExclusionReason",
    "Flow",
    "FlowArm",
    "HeadlineRow",
    "NotPerformedReason",
    "Pdl1Accuracy",
    "Pdl1Correlation",
    "Pdl1Roc",
    "Pdl1Section",
    "Pdl1Target",
    "Quantification",
    "Radiation",
    "RetentionGroup",
    "RetentionSection",
    "RocComparison",
    "RocEntry",
    "RocSection",
    "StatRecord",
    "StudyInfo",
    "Summary",
    "SurvivalEndpoint",
    "SurvivalSection",
    "UptakeGroup",
    "load_results",
    "parse_results",
    "results_json",
]


@dataclass(frozen=True)
class AnalysisResults:
    """Every pre-specified analysis of a study, in report order (:mod:`petdx.analysis.outcomes`)."""

    study: StudyInfo
    flow: Flow
    baseline: Baseline
    interval_days: Mapping[str, Summary]
    analysis_sets: AnalysisSets
    accuracy: tuple[AccuracyEntry, ...]
    roc: RocSection
    pdl1: Pdl1Section
    retention: RetentionSection
    agreement: tuple[AgreementEntry, ...]
    survival: SurvivalSection
    headline: tuple[HeadlineRow, ...]
    problems: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The results document (JSON-ready: NaN as None, numpy values as Python's)."""
        doc = {
            "study": self.study.to_dict(),
            "flow": self.flow.to_dict(),
            "baseline": self.baseline.to_dict(),
            "interval_days": {k: s.to_dict() for k, s in self.interval_days.items()},
            "analysis_sets": self.analysis_sets.to_dict(),
            "accuracy": records(self.accuracy, AccuracyEntry.to_dict),
            "roc": self.roc.to_dict(),
            "pdl1": self.pdl1.to_dict(),
            "retention": self.retention.to_dict(),
            "agreement": records(self.agreement, AgreementEntry.to_dict),
            "survival": self.survival.to_dict(),
            "headline": records(self.headline, HeadlineRow.to_dict),
            "problems": list(self.problems),
        }
        ready: dict[str, Any] = json_ready(doc)
        return ready

    @classmethod
    def from_dict(cls, d: Doc) -> AnalysisResults:
        return cls(
            study=StudyInfo.from_dict(d["study"]),
            flow=Flow.from_dict(d["flow"]),
            baseline=Baseline.from_dict(d["baseline"]),
            interval_days=summaries(d["interval_days"]),
            analysis_sets=AnalysisSets.from_dict(d["analysis_sets"]),
            accuracy=tuple(AccuracyEntry.from_dict(e) for e in d["accuracy"]),
            roc=RocSection.from_dict(d["roc"]),
            pdl1=Pdl1Section.from_dict(d.get("pdl1", {"column": ""})),
            retention=RetentionSection.from_dict(
                d.get("retention", {"time_points_min": [], "groups": []})
            ),
            agreement=tuple(AgreementEntry.from_dict(e) for e in d.get("agreement", [])),
            survival=SurvivalSection.from_dict(
                d.get("survival", {"grouping_column": "", "endpoints": []})
            ),
            headline=tuple(HeadlineRow.from_dict(h) for h in d.get("headline", [])),
            problems=tuple(d.get("problems", [])),
        )


def _json_default(value: Any) -> Any:
    """Dates as ISO text; anything else json_ready left is written as its text."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def results_json(results: AnalysisResults) -> str:
    """The text of ``results.json``: the results document, ``indent=1``, sorted keys."""
    return json.dumps(results.to_dict(), indent=1, sort_keys=True, default=_json_default)


def load_results(path: str | Path) -> AnalysisResults:
    """The results of a ``results.json`` written by :func:`results_json`.

    Raises
    ------
    InputValidationError
        When the file is not JSON or lacks a field the results need (naming the file and
        the field; rerun the analyses to rewrite it).
    """
    path = Path(path)
    return parse_results(path.read_bytes(), path)


def parse_results(text: str | bytes, path: str | Path) -> AnalysisResults:
    """The results of the text of a ``results.json`` (:func:`load_results`; ``path`` names
    the file in errors), e.g. bytes already read to hash them."""
    try:
        doc = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputValidationError(
            f"{path}: not a results file ({exc}). Rerun the analyses (`petdx run`) to rewrite it."
        ) from exc
    try:
        return AnalysisResults.from_dict(doc)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        field = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        raise InputValidationError(
            f"{path}: field {field!r} missing or malformed in the analysis results. "
            "Rerun the analyses (`petdx run`) to rewrite the file."
        ) from exc
