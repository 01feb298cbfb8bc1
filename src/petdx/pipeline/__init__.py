"""Ingest and batch orchestration: DICOM folders into the study database and image store."""

from petdx.pipeline.ingest import IngestedSeries, IngestProblem, IngestResult, ingest

__all__ = ["IngestProblem", "IngestResult", "IngestedSeries", "ingest"]
